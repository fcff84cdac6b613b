// Package mattermost compiles klaxon's platform-neutral cards into
// Mattermost posts (a short Markdown message plus one message attachment
// with color, title, text, fields and buttons) and renders timeline events
// as thread replies.
//
// Everything a card holds is data, never markup: every string is escaped for
// the place Mattermost shows it, so that alert text can never format, link,
// mention (@channel, @here, @all, @user), link a channel (~town-square) or
// auto-link a URL. The compiled post always fits Mattermost's limits,
// whatever the card holds: what does not fit is cut and counted ("+N more",
// "…"); compiling never fails.
//
// Where Mattermost renders what:
//
//   - post message, attachment text, field values: full Markdown (the web
//     app's fork of marked, the mobile app's fork of commonmark.js);
//   - attachment title (without title_link): Markdown that renders only
//     links, so escapes are processed;
//   - field titles and button names: plain text (markdown: false), where a
//     backslash would show; they are only neutralised, not escaped.
package mattermost

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Key returns the opaque value a button carries (a short signed key made by
// the caller; Mattermost's action calls are unauthenticated, so the
// Inbound's CheckButton verifies it, for the call's channel and post). The
// compiler puts it in the action's integration context as {"key": value}.
//
// A key should be ASCII (base64url, hex): the compiler leaves out a button
// whose key is empty, longer than MaxKeyBytes or not valid UTF-8, because
// such a button could never be verified.
type Key func(a templates.Action) string

// Mattermost's limits as the compiler enforces them.
const (
	// MaxRunes bounds the post message plus every text of its attachment
	// (title, fallback, text, field titles and values, button names)
	// together: Mattermost's post limit (model.PostMessageMaxRunesV2:
	// 65535 bytes counted as runes of up to 4). Versions differ in what
	// they count, so the compiler counts it all.
	MaxRunes = 65535 / 4
	// MaxPropsBytes bounds the post's props as JSON (encoding/json, the way
	// the Client sends them).
	MaxPropsBytes = 64 << 10
	// MaxKeyBytes bounds a button's key (see Key).
	MaxKeyBytes = 256
	// MaxActionURLBytes bounds the URL Mattermost posts button clicks to.
	MaxActionURLBytes = 1024
)

// Caps, in runes of compiled (escaped) text: what a phone screen at 3 a.m.
// can use. The budget (MaxRunes, MaxPropsBytes) may cut further.
const (
	maxTitle      = 250 // attachment title, severity included
	maxMsgTitle   = 120 // the card title within the post message
	maxState      = 30
	maxID         = 40 // the incident ID in the message
	maxFallback   = 250
	maxLine       = 400 // status, owner, one alert
	maxWhatToDo   = 1500
	maxSummary    = 3500
	maxLinks      = 8
	maxLinkText   = 40
	maxLinksRunes = 3000 // a URL may take up to templates.MaxURL bytes
	maxFacts      = 15
	maxFactName   = 60
	maxFactValue  = 300
	maxFactsRunes = 3000
	maxAlertLines = 25
	maxLabels     = 30
	maxLabelName  = 60
	maxLabelValue = 150
	maxActions    = 8
	maxButton     = 40
	maxActionID   = 32
	maxEvent      = 1000 // a timeline reply
	maxScan       = 1000 // alerts, labels, facts, links looked at; the rest is "more"
)

// Attachment colors by state and severity.
const (
	colorCritical  = "#D0021B" // triggered SEV1-2
	colorTriggered = "#F5A623" // other triggered
	colorAcked     = "#F2C94C" // acknowledged
	colorResolved  = "#2EA44F" // resolved
	colorUnknown   = "#9B9B9B"
)

// wordJoiner is invisible and breaks what Mattermost would otherwise
// recognise: a mention after "@", a channel link after "~", a hashtag after
// "#", a URL after "scheme:" or "www".
const wordJoiner = '\u2060'

// Compile returns the post for a card: Message (markdown, may be short or
// empty) and Props["attachments"] (a []*MessageAttachment with color,
// title, text, fields and actions). actionURL is where Mattermost posts
// button clicks (klaxon's /mattermost/actions).
//
// The message is one line (state, incident ID, severity, title) so that
// push and desktop notifications say what happened. The attachment's color
// tells the state (red: triggered SEV1-2, orange: other triggered, yellow:
// acknowledged, green: resolved), its title the severity and the title; its
// text reads: the status line, the owner, the summary, what to do, the
// links (runbook first), the alerts ("+N more alerts"), the labels; the
// facts are short fields; the card's actions are buttons. Links are
// Markdown links in the text: Mattermost's buttons always call an
// integration (the server's PostAction.IsValid requires one), they cannot open a
// URL.
//
// Each part has a cap; when the post's budget (MaxRunes, MaxPropsBytes)
// runs short, labels are cut first, then alerts, then the summary, the
// facts, the links and what to do, each with "+N more" or "…". The title,
// the status, the owner and the buttons always fit.
//
// Buttons are left out when key is nil or actionURL is not an absolute
// http(s) URL of at most MaxActionURLBytes: Mattermost would refuse them.
// A nil card compiles as an empty one.
func Compile(c *templates.Card, key Key, actionURL string) *Post {
	p, _ := compile(c, key, actionURL)
	return p
}

// EventText renders one timeline event as a short markdown reply (escaped):
// e.g. "`12:04 UTC` · Acknowledged by alice".
func EventText(e incidents.Event) string {
	text, _, _ := escape(e.Text, md, limit{maxEvent, MaxPropsBytes})
	if text == "" {
		text, _, _ = escape(string(e.Kind), md, limit{maxEvent, MaxPropsBytes})
	}
	if text == "" {
		text = "Timeline event"
	}
	if e.At.IsZero() {
		return text
	}
	return "`" + e.At.UTC().Format("15:04") + " UTC` · " + text
}

// limit is an amount of text: runes, and bytes as JSON.
type limit struct{ runes, bytes int }

func (l limit) fits(c limit) bool        { return c.runes <= l.runes && c.bytes <= l.bytes }
func (l limit) minus(c limit) limit      { return limit{l.runes - c.runes, l.bytes - c.bytes} }
func (l limit) plus(c limit) limit       { return limit{l.runes + c.runes, l.bytes + c.bytes} }
func (l limit) atMost(runes int) limit   { return limit{min(l.runes, runes), l.bytes} }
func measure(s string) limit             { return limit{utf8.RuneCountInString(s), jsonLen(s)} }
func measureRunes(s string) limit        { return limit{utf8.RuneCountInString(s), 0} }
func (l *limit) spend(c limit)           { *l = l.minus(c) }
func (l *limit) spendString(s string)    { l.spend(measure(s)) }
func (l *limit) refund(c limit)          { *l = l.plus(c) }
func (l limit) fitsString(s string) bool { return l.fits(measure(s)) }

// stats says what a compiled post shows and leaves out.
type stats struct {
	alertsShown, alertsMore int
	labelsShown, labelsMore int
	factsShown, factsMore   int
	linksShown, linksMore   int
	actions                 int
	propsBytes              int
}

// Structure sizes as JSON, measured once.
var (
	attachmentSkeleton = func() int {
		b, _ := json.Marshal(map[string]any{PropAttachments: []*MessageAttachment{{}}})
		return len(b)
	}()
	fieldSkeleton = func() int {
		b, _ := json.Marshal(&MessageAttachmentField{Short: true})
		return len(b) + 1 // and a comma
	}()
)

const (
	sep2        = "\n\n"
	actionsWrap = len(`,"actions":[]`)
)

// compile builds the post within the budget, checks the props' size and
// rebuilds with a smaller byte budget in the (unexpected) case that the
// estimate was short.
func compile(c *templates.Card, key Key, actionURL string) (*Post, stats) {
	if c == nil {
		c = &templates.Card{}
	}
	lim := limit{MaxRunes, MaxPropsBytes - 512}
	for attempt := 0; ; attempt++ {
		p, st, estimate := build(c, key, actionURL, lim)
		st.propsBytes = estimate
		if estimate <= MaxPropsBytes/2 {
			return p, st
		}
		b, err := json.Marshal(p.Props)
		if err == nil {
			st.propsBytes = len(b)
			if len(b) <= MaxPropsBytes {
				return p, st
			}
			lim.bytes -= len(b) - MaxPropsBytes + 1024
		}
		if err != nil || attempt == 3 || lim.bytes < 8192 {
			// Last resort, never reached by any card seen so far: the
			// essentials only.
			p, st, _ = build(&templates.Card{IncidentID: c.IncidentID, Severity: c.Severity, State: c.State,
				Title: c.Title, Status: c.Status}, nil, "", limit{4000, 16000})
			return p, st
		}
	}
}

// build lays the card out within lim and returns the post, what it shows,
// and the props' size as JSON by estimate.
func build(c *templates.Card, key Key, actionURL string, lim limit) (*Post, stats, int) {
	var st stats
	b := lim.minus(limit{0, attachmentSkeleton})

	state, _, _ := escape(stateWord(c.State), md, limit{maxState, MaxPropsBytes})
	if state == "" {
		state = "Unknown"
	}
	sev := ""
	if c.Severity.Valid() {
		sev = c.Severity.String()
	}

	// The title, the message and the fallback: never empty.
	name, _, _ := escape(c.Title, md, limit{maxTitle - 10, MaxPropsBytes})
	if name == "" {
		name, _, _ = escape(c.IncidentID, md, limit{maxTitle - 10, MaxPropsBytes})
	}
	if name == "" {
		name = "Incident"
	}
	title := name
	if sev != "" {
		title = sev + " · " + name
	}
	b.spendString(title)

	msgTitle, _, _ := escape(c.Title, md, limit{maxMsgTitle, MaxPropsBytes})
	id, _, _ := escape(c.IncidentID, md, limit{maxID, MaxPropsBytes})
	msg := []string{stateEmoji(c) + " " + state}
	if id != "" {
		msg[0] = stateEmoji(c) + " **" + id + "** · " + state
	}
	if sev != "" {
		msg = append(msg, sev)
	}
	if msgTitle != "" {
		msg = append(msg, msgTitle)
	}
	message := strings.Join(msg, " · ")
	b.spend(measureRunes(message))

	fallback, _, _ := escape(strings.Join(nonEmpty(stateWord(c.State), sev, c.IncidentID, c.Title), " · "), 0, limit{maxFallback, MaxPropsBytes})
	b.spendString(fallback)

	status, _, _ := escape(c.Status, md, limit{maxLine, MaxPropsBytes})
	if status == "" {
		status, _, _ = escape(strings.Join(nonEmpty(state, sev), " · "), md, limit{maxLine, MaxPropsBytes})
	}
	b.spendString(status)
	owner, ownerCost, _ := escape(c.Owner, md, limit{maxLine, MaxPropsBytes})
	if owner != "" {
		b.spend(ownerCost.plus(measure("\n")))
	}

	// Room for the alerts' and labels' headers and "+N more", so that
	// what is cut is always counted.
	totalAlerts := satAdd(max(c.MoreAlerts, 0), len(c.Alerts))
	totalLabels := satAdd(max(c.MoreLabels, 0), len(c.Labels))
	var alertsReserve, labelsReserve limit
	if totalAlerts > 0 {
		alertsReserve = measure(sep2 + alertsHeader + "\n" + moreText(totalAlerts, "alert", "alerts"))
	}
	if totalLabels > 0 {
		labelsReserve = measure(sep2 + labelsHeader + moreText(totalLabels, "", ""))
	}
	b.spend(alertsReserve.plus(labelsReserve))

	// Buttons.
	var actions []*PostAction
	if key != nil && validActionURL(actionURL) {
		seen := map[string]bool{}
		for i, a := range c.Actions {
			if len(actions) == maxActions {
				break
			}
			pa := action(a, i, key, actionURL, seen)
			if pa == nil {
				continue
			}
			enc, err := json.Marshal(pa)
			if err != nil {
				continue
			}
			cost := limit{utf8.RuneCountInString(pa.Name), len(enc) + 1}
			if len(actions) == 0 {
				cost.bytes += actionsWrap
			}
			if !b.fits(cost) {
				break
			}
			b.spend(cost)
			seen[pa.Id] = true
			actions = append(actions, pa)
		}
	}
	st.actions = len(actions)

	// What to do.
	var whatToDo string
	if head := sep2 + "**What to do:** "; c.WhatToDo != "" && b.fitsString(head) {
		s, used, _ := escape(c.WhatToDo, md|ml, b.minus(measure(head)).atMost(maxWhatToDo))
		if s != "" {
			whatToDo = "**What to do:** " + s
			b.spend(used.plus(measure(head)))
		}
	}

	// Links, the runbook first.
	linksLine := buildLinks(c.Links, &b, &st)

	// Facts as short fields.
	fields := buildFacts(c.Facts, &b, &st)

	// The summary.
	var summary string
	if c.Summary != "" && b.fitsString(sep2) {
		s, used, _ := escape(c.Summary, md|ml, b.minus(measure(sep2)).atMost(maxSummary))
		if s != "" {
			summary = s
			b.spend(used.plus(measure(sep2)))
		}
	}

	// The alerts, as many as fit.
	b.refund(alertsReserve)
	alerts := ""
	if totalAlerts > 0 {
		var sb strings.Builder
		sb.WriteString(alertsHeader)
		b.spend(measure(sep2 + alertsHeader))
		room := b.minus(measure("\n" + moreText(totalAlerts, "alert", "alerts")))
		for i, line := range c.Alerts {
			if st.alertsShown == maxAlertLines || i == maxScan {
				break
			}
			s, used, _ := escape(line, md, limit{maxLine, MaxPropsBytes})
			if s == "" {
				continue // counted in "+N more"
			}
			cost := used.plus(measure(bullet))
			if !room.fits(cost) {
				break
			}
			room.spend(cost)
			b.spend(cost)
			sb.WriteString(bullet)
			sb.WriteString(s)
			st.alertsShown++
		}
		st.alertsMore = totalAlerts - st.alertsShown
		if st.alertsMore > 0 {
			more := moreText(st.alertsMore, "alert", "alerts")
			if st.alertsShown > 0 {
				more = "\n" + more
			} else {
				more = " " + more
			}
			sb.WriteString(more)
			b.spendString(more)
		}
		alerts = sb.String()
	}

	// The labels, compact.
	b.refund(labelsReserve)
	labels := ""
	if totalLabels > 0 {
		var sb strings.Builder
		sb.WriteString(labelsHeader)
		b.spend(measure(sep2 + labelsHeader))
		room := b.minus(measure(" · " + moreText(totalLabels, "", "")))
		for i, l := range c.Labels {
			if st.labelsShown == maxLabels || i == maxScan {
				break
			}
			n, nu, _ := escape(l.Name, md, limit{maxLabelName, MaxPropsBytes})
			v, vu, _ := escape(l.Value, md, limit{maxLabelValue, MaxPropsBytes})
			if n == "" && v == "" {
				continue // counted in "+N more"
			}
			item := n + "&#61;" + v
			cost := nu.plus(vu).plus(measure("&#61;"))
			if st.labelsShown > 0 {
				item = " · " + item
				cost = cost.plus(measure(" · "))
			}
			if !room.fits(cost) {
				break
			}
			room.spend(cost)
			b.spend(cost)
			sb.WriteString(item)
			st.labelsShown++
		}
		st.labelsMore = totalLabels - st.labelsShown
		if st.labelsMore > 0 {
			more := moreText(st.labelsMore, "", "")
			if st.labelsShown > 0 {
				more = " · " + more
			}
			sb.WriteString(more)
			b.spendString(more)
		}
		labels = sb.String()
	}

	// The text, in reading order.
	var text strings.Builder
	text.WriteString(status)
	if owner != "" {
		text.WriteString("\n" + owner)
	}
	for _, part := range []string{summary, whatToDo} {
		if part != "" {
			text.WriteString(sep2 + part)
		}
	}
	if linksLine != "" {
		if whatToDo != "" {
			text.WriteString("\n")
		} else {
			text.WriteString(sep2)
		}
		text.WriteString(linksLine)
	}
	for _, part := range []string{alerts, labels} {
		if part != "" {
			text.WriteString(sep2 + part)
		}
	}

	att := &MessageAttachment{
		Fallback: fallback,
		Color:    color(c),
		Title:    title,
		Text:     text.String(),
		Fields:   fields,
		Actions:  actions,
	}
	p := &Post{Message: message, Props: map[string]any{PropAttachments: []*MessageAttachment{att}}}
	spent := lim.minus(b) // the skeleton included
	return p, st, spent.bytes + len(att.Color)
}

const (
	alertsHeader = "**Alerts**"
	labelsHeader = "**Labels:** "
	linksHeader  = "**Links:** "
	bullet       = "\n• "
)

// buildLinks renders the card's safe links as one line of Markdown links,
// the runbook first, as many as fit.
func buildLinks(links []templates.Link, b *limit, st *stats) string {
	var safe []templates.Link
	unchecked := max(len(links)-maxScan, 0) // counted as more, unchecked
	links = links[:len(links)-unchecked]
	for pass := range 2 {
		for _, l := range links {
			if isRunbook(l) != (pass == 0) {
				continue
			}
			u, ok := templates.SafeURL(l.URL)
			if !ok || !linkable(u) {
				continue
			}
			safe = append(safe, templates.Link{Text: l.Text, URL: u})
		}
	}
	if len(safe) == 0 {
		return ""
	}
	total := satAdd(len(safe), unchecked)
	head := sep2 + linksHeader
	reserve := measure(head + " · " + moreText(total, "link", "links"))
	if !b.fits(reserve) {
		return ""
	}
	room := b.minus(reserve).atMost(maxLinksRunes)
	var sb strings.Builder
	sb.WriteString(linksHeader)
	for _, l := range safe {
		if st.linksShown == maxLinks {
			break
		}
		text, _, _ := escape(l.Text, md, limit{maxLinkText, MaxPropsBytes})
		if text == "" {
			text = "Link"
		}
		item := "[" + text + "](" + linkURL(l.URL) + ")"
		if st.linksShown > 0 {
			item = " · " + item
		}
		cost := measure(item)
		if !room.fits(cost) {
			break
		}
		room.spend(cost)
		b.spend(cost)
		sb.WriteString(item)
		st.linksShown++
	}
	st.linksMore = total - st.linksShown
	b.spend(measure(head))
	if st.linksMore > 0 {
		more := moreText(st.linksMore, "link", "links")
		if st.linksShown > 0 {
			more = " · " + more
		}
		sb.WriteString(more)
		b.spendString(more)
	}
	return sb.String()
}

func isRunbook(l templates.Link) bool {
	return l.Kind == templates.LinkRunbook
}

// linkable reports whether a safe URL's host can be written in a Markdown
// link as it is: linkURL encodes only after the host.
func linkable(u string) bool {
	host, _ := splitAuthority(u)
	return host != "" && !strings.ContainsAny(host, "()\\`@~&")
}

// splitAuthority splits an absolute URL after its scheme://host[:port].
func splitAuthority(u string) (string, string) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", u
	}
	i += 3
	j := strings.IndexAny(u[i:], "/?#")
	if j < 0 {
		return u[i:], ""
	}
	return u[i : i+j], u[i+j:]
}

// linkURL makes a safe, linkable URL safe inside a Markdown link's
// parentheses and for Mattermost's mention and channel parsers, without
// changing where it leads: after the host, parentheses, backslashes,
// backticks, "@" and "~" are percent-encoded; "&" is written as an entity,
// which Markdown decodes.
func linkURL(u string) string {
	_, rest := splitAuthority(u)
	var sb strings.Builder
	sb.WriteString(u[:len(u)-len(rest)])
	for i := 0; i < len(rest); i++ {
		switch ch := rest[i]; ch {
		case '(', ')', '\\', '`', '@', '~':
			fmt.Fprintf(&sb, "%%%02X", ch)
		case '&':
			sb.WriteString("&amp;")
		default:
			sb.WriteByte(ch)
		}
	}
	return sb.String()
}

// buildFacts returns the card's facts as short fields, as many as fit, and
// a last field "+N more facts" when some did not.
func buildFacts(facts []templates.Fact, b *limit, st *stats) []*MessageAttachmentField {
	total := 0
	for _, f := range facts {
		if f.Name != "" || f.Value != "" {
			total++
		}
	}
	if total == 0 {
		return nil
	}
	moreField := func(n int) (*MessageAttachmentField, limit) {
		f := &MessageAttachmentField{Title: "More", Value: moreText(n, "fact", "facts"), Short: true}
		return f, limit{utf8.RuneCountInString(f.Title) + utf8.RuneCountInString(f.Value.(string)),
			fieldSkeleton + jsonLen(f.Title) + jsonLen(f.Value.(string))}
	}
	_, reserve := moreField(total)
	if !b.fits(reserve) {
		return nil
	}
	room := b.minus(reserve).atMost(maxFactsRunes)
	var out []*MessageAttachmentField
	for i, f := range facts {
		if st.factsShown == maxFacts || i == maxScan {
			break
		}
		if f.Name == "" && f.Value == "" {
			continue
		}
		name, nu, _ := escape(f.Name, 0, limit{maxFactName, MaxPropsBytes})
		value, vu, _ := escape(f.Value, md, limit{maxFactValue, MaxPropsBytes})
		if name == "" && value == "" {
			continue // counted in "+N more"
		}
		cost := limit{nu.runes + vu.runes, fieldSkeleton + nu.bytes + vu.bytes}
		if !room.fits(cost) {
			break
		}
		room.spend(cost)
		b.spend(cost)
		out = append(out, &MessageAttachmentField{Title: name, Value: value, Short: true})
		st.factsShown++
	}
	st.factsMore = total - st.factsShown
	if st.factsMore > 0 {
		f, cost := moreField(st.factsMore)
		b.spend(cost)
		out = append(out, f)
	}
	return out
}

// action returns the button for a, or nil when it has no name or no usable
// key. Its id is alphanumeric (Mattermost routes action calls by
// /actions/{id:[A-Za-z0-9]+}) and unique among seen.
func action(a templates.Action, i int, key Key, actionURL string, seen map[string]bool) *PostAction {
	name, _, _ := escape(a.Label, 0, limit{maxButton, MaxPropsBytes})
	if name == "" {
		name, _, _ = escape(string(a.ID), 0, limit{maxButton, MaxPropsBytes})
	}
	if name == "" {
		return nil
	}
	k := key(a)
	if k == "" || len(k) > MaxKeyBytes || !utf8.ValidString(k) {
		return nil
	}
	id := actionID(a.ID, i, seen)
	return &PostAction{
		Id:    id,
		Type:  PostActionTypeButton,
		Name:  name,
		Style: buttonStyle(a.Style),
		Integration: &PostActionIntegration{
			URL:     actionURL,
			Context: map[string]any{"key": k, "action": id},
		},
	}
}

// actionID derives an alphanumeric id from the card's ActionID: "ack",
// "resolve"... as they are; other characters dropped; "action3" when none
// is left; a number appended when taken.
func actionID(id templates.ActionID, i int, seen map[string]bool) string {
	var sb strings.Builder
	for _, r := range string(id) {
		if sb.Len() == maxActionID-4 {
			break
		}
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			sb.WriteRune(r)
		}
	}
	base := sb.String()
	if base == "" {
		base = "action" + strconv.Itoa(i+1)
	}
	cand := base
	for n := i + 1; seen[cand]; n++ {
		cand = base + strconv.Itoa(n)
	}
	return cand
}

func buttonStyle(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "primary":
		return "primary"
	case "danger":
		return "danger"
	}
	// An empty style shows as "primary" in the web app.
	return "default"
}

func validActionURL(u string) bool {
	return len(u) <= MaxActionURLBytes && utf8.ValidString(u) && validHTTPURL(u) &&
		!strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

func color(c *templates.Card) string {
	switch c.State {
	case incidents.Triggered:
		if c.Severity == incidents.Sev1 || c.Severity == incidents.Sev2 {
			return colorCritical
		}
		return colorTriggered
	case incidents.Acknowledged:
		return colorAcked
	case incidents.Resolved:
		return colorResolved
	}
	return colorUnknown
}

func stateEmoji(c *templates.Card) string {
	switch color(c) {
	case colorCritical:
		return "🔴"
	case colorTriggered:
		return "🟠"
	case colorAcked:
		return "🟡"
	case colorResolved:
		return "✅"
	}
	return "⚪"
}

// stateWord names a state as the cards do, as text to escape; a card
// with no state says "Unknown".
func stateWord(s incidents.State) string {
	if s == "" {
		return "Unknown"
	}
	return templates.StateWord(s)
}

// moreText says "+N more alerts" (escaped), or "+N more" without nouns.
func moreText(n int, one, many string) string {
	s := `\+` + strconv.Itoa(n) + " more"
	switch {
	case n == 1 && one != "":
		s += " " + one
	case many != "":
		s += " " + many
	}
	return s
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func satAdd(a, b int) int {
	if s := a + b; s >= a {
		return s
	}
	return int(^uint(0) >> 1)
}

// escape modes
type mode uint8

const (
	md mode = 1 << iota // a Markdown context: escape; else plain text: only neutralise
	ml                  // keep line breaks (at most one blank line)
)

// escape returns s cleaned and escaped for m, cut with "…" to fit lim, with
// its size and whether it was cut.
//
// Cleaning: invalid UTF-8 becomes U+FFFD; bidi overrides and isolates and
// carriage returns go; other control characters and Unicode spaces become
// spaces; runs of spaces collapse; lines lose their indentation (which
// Markdown would make a code block); the ends are trimmed.
//
// Escaping (Markdown): the specials ` * _ { } [ ] ( ) # + - . ! | ~ get a
// backslash (each is an escape in both Mattermost's marked and CommonMark);
// \ < > & $ = become entities (&#92; &lt; &gt; &amp; &#36; &#61;), because
// Mattermost's marked does not treat "\<", "\$", "\=" or "\\" before a word
// character as escapes: a backslash would show and "<", "$" (inline LaTeX)
// would still be markup.
//
// Neutralising (both modes): a word joiner (U+2060) follows every "@" and
// "~" (no mention, no channel link), a "#" before a letter (no hashtag), a
// ":" before "/" or after a scheme-like word ("http:⁠//", "tel:⁠123",
// "mailto:⁠x": no auto-link; "pay-1:9100" and "12:30" stay as they are, to
// copy) and precedes the "." of a "www." (no auto-link).
//
// A cut never splits an escape or an entity, so the result is valid UTF-8
// and never ends in a dangling backslash.
func escape(s string, m mode, lim limit) (string, limit, bool) {
	if s == "" {
		return "", limit{}, false
	}
	if lim.runes <= 0 || lim.bytes <= 0 {
		return "", limit{}, true
	}
	const ellipsis = "…"
	room := lim.minus(measure(ellipsis))
	var (
		out            strings.Builder
		used, keepUsed limit
		keep           int
		cut            bool
		spaces, nls    int
		prev           rune = ' ' // the previous cleaned rune, spaces included
		schemeLike     bool       // the word before is ASCII alphanumerics from a letter on
		wwwDot         = -1       // the offset of the "." of a "www."
		tok            []byte
		buf            [24]byte
	)
	r := reader{s: s, ml: m&ml != 0}
	out.Grow(min(len(s)+len(s)/4, 3*lim.runes, lim.bytes) + 16)
	for {
		c, at := r.next()
		if c < 0 {
			break
		}
		if c == ' ' || c == '\n' {
			if c == '\n' {
				nls++
			} else {
				spaces++
			}
			prev = c
			continue
		}
		tok = buf[:0]
		if out.Len() > 0 {
			switch {
			case nls > 1:
				tok = append(tok, sep2...)
			case nls == 1:
				tok = append(tok, '\n')
			case spaces > 0:
				tok = append(tok, ' ')
			}
		}
		spaces, nls = 0, 0
		if (c == 'w' || c == 'W') && !isAlnum(prev) {
			if dot := r.www(); dot >= 0 {
				wwwDot = dot
			}
		}
		if c == '.' && at == wwwDot {
			tok = utf8.AppendRune(tok, wordJoiner)
		}
		if m&md != 0 {
			switch c {
			case '\\':
				tok = append(tok, "&#92;"...)
			case '<':
				tok = append(tok, "&lt;"...)
			case '>':
				tok = append(tok, "&gt;"...)
			case '&':
				tok = append(tok, "&amp;"...)
			case '$':
				tok = append(tok, "&#36;"...)
			case '=':
				tok = append(tok, "&#61;"...)
			case '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '+', '-', '.', '!', '|', '~':
				tok = append(tok, '\\', byte(c))
			default:
				tok = utf8.AppendRune(tok, c)
			}
		} else {
			tok = utf8.AppendRune(tok, c)
		}
		switch c {
		case '@', '~':
			tok = utf8.AppendRune(tok, wordJoiner)
		case '#':
			if unicode.IsLetter(r.peek()) {
				tok = utf8.AppendRune(tok, wordJoiner)
			}
		case ':':
			if next := r.peek(); next == '/' || schemeLike && (isAlnum(next) || next == '%') {
				tok = utf8.AppendRune(tok, wordJoiner)
			}
		}
		if isASCIIAlnum(c) {
			if !isASCIIAlnum(prev) {
				schemeLike = c > '9'
			}
		} else {
			schemeLike = false
		}
		prev = c
		cost := limit{utf8.RuneCount(tok), jsonLenBytes(tok)}
		if !lim.fits(used.plus(cost)) {
			cut = true
			break
		}
		out.Write(tok)
		used = used.plus(cost)
		if room.fits(used) {
			keep, keepUsed = out.Len(), used
		}
	}
	if !cut {
		return out.String(), used, false
	}
	if !lim.fits(measure(ellipsis)) {
		return "", limit{}, true
	}
	return out.String()[:keep] + ellipsis, keepUsed.plus(measure(ellipsis)), true
}

// reader yields the cleaned runes of s with their offsets.
type reader struct {
	s  string
	i  int
	ml bool
}

func (r *reader) next() (rune, int) {
	for r.i < len(r.s) {
		at := r.i
		c, n := utf8.DecodeRuneInString(r.s[r.i:])
		r.i += n
		if c = clean(c, r.ml); c >= 0 {
			return c, at
		}
	}
	return -1, len(r.s)
}

func (r *reader) peek() rune {
	save := r.i
	c, _ := r.next()
	r.i = save
	return c
}

// www returns the offset of the "." when what follows the current "w" is
// "ww", up to three digits and "." (an auto-linked "www." host), else -1.
func (r *reader) www() int {
	rr := *r
	for range 2 {
		if c, _ := rr.next(); c != 'w' && c != 'W' {
			return -1
		}
	}
	for range 4 {
		c, at := rr.next()
		switch {
		case c == '.':
			return at
		case c < '0' || c > '9':
			return -1
		}
	}
	return -1
}

// clean maps a rune of outside text to what may be laid out: -1 to drop it.
func clean(c rune, ml bool) rune {
	switch {
	case c == utf8.RuneError:
		return '\uFFFD'
	case c == '\n' || c == '\u2028' || c == '\u2029' || c == '\u0085':
		if ml {
			return '\n'
		}
		return ' '
	case c == '\r' || isBidiControl(c):
		return -1
	case unicode.IsControl(c) || unicode.IsSpace(c):
		return ' '
	}
	return c
}

// isBidiControl reports the directional embeddings, overrides and isolates
// ("Trojan Source"); right-to-left letters are kept.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isAlnum(r rune) bool {
	return r >= 0 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// jsonLen is the length of s as a JSON string's content, escaped as
// encoding/json escapes it (HTML-safe).
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n += jsonRuneLen(c, size)
	}
	return n
}

func jsonLenBytes(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c, size := utf8.DecodeRune(b[i:])
		i += size
		n += jsonRuneLen(c, size)
	}
	return n
}

func jsonRuneLen(c rune, size int) int {
	switch {
	case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
		return 2
	case c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029':
		return 6
	case c == utf8.RuneError && size == 1:
		return 6 // written as \ufffd
	}
	return size
}
