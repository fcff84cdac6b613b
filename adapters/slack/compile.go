// Package slack is klaxon's Slack adapter. This file compiles the
// platform-neutral templates.Card into a Block Kit message that always fits
// Slack's limits, and renders timeline events as thread replies.
//
// Safety: everything a Card holds came from alerts, so it is data. It goes
// only into plain_text text objects, which Slack never parses for
// formatting, mentions or links; the compiler emits no mrkdwn at all. The
// notification fallback (Message.Text) and EventText are mrkdwn by nature,
// so they escape & < > (no "<!channel>", "<@U1>" or "<url|text>" survives).
// URLs appear only in link buttons, after templates.SafeURL.
//
// Limits: lengths are counted in UTF-16 code units, which is never less than
// the count of characters (code points) and so is safe whichever of the two
// Slack counts. Every Block Kit limit is enforced here, whatever the Card
// holds, and the marshaled blocks are kept within Budget bytes by showing
// fewer alert lines and labels first, then shortening the summary: the card
// says "+N more" or "…" instead of being refused.
package slack

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Slack's Block Kit limits (PLATFORM-NOTES.md), in characters unless said.
const (
	MaxBlocks        = 50
	MaxTextLen       = 3000 // a section's text; any text object; Message.Text
	MaxHeaderLen     = 150
	MaxFields        = 10
	MaxFieldLen      = 2000
	MaxButtonTextLen = 75
	MaxActionIDLen   = 255
	MaxValueLen      = 2000
	MaxURLLen        = 3000
	MaxElements      = 25 // per actions block
	MaxContext       = 10 // elements per context block

	// Budget bounds the JSON of a message's blocks, in bytes as
	// encoding/json writes them (so at least the characters Slack counts).
	// Messages near 13,000 characters have failed with msg_blocks_too_long.
	Budget = 10000
)

// Layout caps: far below Slack's limits, they keep one long item from
// crowding out the rest of a card.
const (
	maxID       = 64 // the incident ID in the status line
	maxStatus   = 1000
	maxOwner    = 1000
	maxLine     = 300 // one alert line
	maxLabel    = 200 // one "name=value" label element
	maxFactName = 100
	maxFact     = 500 // one "Name: value" field
	maxSummary  = MaxTextLen
	minText     = 16 // a summary or what-to-do cut shorter than this is left out

	// Floors: what the budget leaves of a part while others can give way.
	floorItems  = 3   // alert lines, labels
	floorText   = 500 // summary, what to do
	floorFacts  = 4
	floorStatus = 300
)

// ActionIDPrefix starts the action_id of every button that acts on an
// incident: "klaxon:" + the templates.ActionID. A second button with the
// same ActionID (e.g. two snoozes) gets ":2", ":3"… after it, because Slack
// refuses a block whose action_ids repeat; the signed value, not the
// action_id, says what a button does.
const ActionIDPrefix = "klaxon:"

// LinkActionIDPrefix starts the action_id of link buttons ("klaxon-link-0"…).
// Slack sends block_actions for them too: acknowledge and ignore them.
const LinkActionIDPrefix = "klaxon-link-"

// Block IDs, stable across updates of a card.
const (
	BlockHeader  = "header"
	BlockStatus  = "status"
	BlockSummary = "summary"
	BlockToDo    = "todo"
	BlockFacts   = "facts"
	BlockActions = "actions"
	BlockAlerts  = "alerts" // "alerts", then "alerts2", "alerts3"… when the lines need more sections
	BlockLabels  = "labels"
)

// Message is a card compiled for chat.postMessage / chat.update.
type Message struct {
	Text   string        `json:"text"`   // notification fallback (plain, escaped), ≤ 3000 chars
	Blocks []slack.Block `json:"blocks"` // Block Kit
}

// Key returns the opaque value a button carries (a short signed key made
// by the caller; ≤ 64 ASCII bytes). The compiler puts it verbatim in the
// button's value and uses "klaxon:"+string(action.ID) as action_id. An
// action whose key is empty, not printable ASCII or longer than Slack's
// value limit gets no button.
type Key func(a templates.Action) string

// MsgOptions returns the options that post (chat.postMessage) or update
// (chat.update) m: its blocks, so that an update never drops them; its
// text as already escaped (slack.MsgOptionText(m.Text, true) would escape
// it twice); parse=none and link_names=false, so that nothing in the text
// becomes a mention or a link.
func (m Message) MsgOptions() []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
	}
}

// Compile lays out c for Slack: header (severity, title; resolved cards say
// so first), status and owner, summary, what to do, facts, buttons (the
// card's actions, then its links with the runbook first), alert lines and
// labels. key signs each action's button; a nil key leaves only the link
// buttons. The result always fits Slack's limits and Budget.
func Compile(c *templates.Card, key Key) Message {
	if c == nil {
		c = &templates.Card{}
	}
	head := headerText(c)
	parts := []*part{
		newPart(func(int) []slack.Block { return header(head) }, 0, 0),
		statusPart(c),
		textPart(BlockSummary, "", c.Summary, maxSummary, floorText),
		textPart(BlockToDo, "What to do: ", c.WhatToDo, MaxTextLen, floorText),
		factsPart(c.Facts),
		buttonsPart(c, key),
		alertsPart(c.Alerts, c.MoreAlerts),
		labelsPart(c.Labels, c.MoreLabels),
	}
	// What gives way when the card is over Budget, first to last: each
	// part down to its floor first, then, if that is not enough, further.
	status, summary, todo, facts, buttons, alerts, labels := parts[1], parts[2], parts[3], parts[4], parts[5], parts[6], parts[7]
	total := 1 // "[" and, per block, its JSON and a "," or "]"
	for _, p := range parts {
		total += p.size
	}
	for _, toFloor := range []bool{true, false} {
		for _, p := range []*part{alerts, labels, summary, todo, buttons, facts, status} {
			if total <= Budget {
				break
			}
			low := 0
			if toFloor {
				low = p.floor
			}
			before := p.size
			p.shrink(p.size-(total-Budget), low)
			total += p.size - before
		}
	}
	var blocks []slack.Block
	for _, p := range parts {
		blocks = append(blocks, p.blocks...)
	}
	if len(blocks) > MaxBlocks { // cannot happen with the parts above; a guard
		blocks = blocks[:MaxBlocks]
	}
	return Message{Text: fallback(c, head), Blocks: blocks}
}

// EventText renders one timeline event as a short thread reply (plain text,
// escaped, ≤ 3000 chars): e.g. "12:04 UTC · Acknowledged by alice".
func EventText(e incidents.Event) string {
	body := fit(e.Text, MaxTextLen, false)
	if body == "" {
		body = eventWord(e.Kind)
		if actor := fit(e.Actor, 200, false); actor != "" {
			body += " by " + actor
		}
	}
	if !e.At.IsZero() {
		body = e.At.UTC().Format("15:04 UTC") + " · " + body
	}
	return escapeFit(body, MaxTextLen)
}

func eventWord(k incidents.EventKind) string {
	switch k {
	case incidents.EventTriggered:
		return "Incident opened"
	case incidents.EventAlertsFiring:
		return "Alerts firing"
	case incidents.EventAlertsResolved:
		return "Alerts resolved"
	case incidents.EventAcknowledged:
		return "Acknowledged"
	case incidents.EventUnacknowledged:
		return "Unacknowledged"
	case incidents.EventResolved:
		return "Resolved"
	case incidents.EventReopened:
		return "Reopened"
	case incidents.EventSeverity:
		return "Severity changed"
	}
	w := fit(strings.ReplaceAll(string(k), "_", " "), 100, false)
	if w == "" {
		return "Update"
	}
	if c := w[0]; c >= 'a' && c <= 'z' {
		w = string(c-'a'+'A') + w[1:]
	}
	return w
}

// part is one piece of the card: blocks made from an amount n (lines,
// labels, characters…) that the budget may lower, to floor while other
// parts can give way too, and to 0 when they cannot. Its blocks' JSON
// grows with n.
type part struct {
	build    func(n int) []slack.Block
	n, floor int
	blocks   []slack.Block
	size     int // bytes of the blocks' JSON, one separator each
}

func newPart(build func(int) []slack.Block, n, floor int) *part {
	p := &part{build: build, n: n, floor: min(floor, n)}
	p.blocks = build(n)
	p.size = size(p.blocks)
	return p
}

// shrink lowers n to the largest amount not below low whose blocks take
// at most allowed bytes, or to low when none does.
func (p *part) shrink(allowed, low int) {
	if p.size <= allowed || p.n <= low {
		return
	}
	lo, hi := low, p.n-1 // the answer is in [lo, hi], or is low
	best := low
	var bestBlocks []slack.Block
	bestSize := -1
	for lo <= hi {
		mid := lo + (hi-lo)/2
		b := p.build(mid)
		if s := size(b); s <= allowed {
			best, bestBlocks, bestSize = mid, b, s
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	if bestSize < 0 {
		bestBlocks = p.build(low)
		bestSize = size(bestBlocks)
	}
	p.n, p.blocks, p.size = best, bestBlocks, bestSize
}

func size(blocks []slack.Block) int {
	n := 0
	for _, b := range blocks {
		j, err := json.Marshal(b)
		if err != nil { // the block types used here always marshal
			return 1 << 30
		}
		n += len(j) + 1
	}
	return n
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func section(id, text string) []slack.Block {
	if text == "" {
		return nil
	}
	return []slack.Block{slack.NewSectionBlock(plain(text), nil, nil, slack.SectionBlockOptionBlockID(id))}
}

// headerText is "🔴 SEV1 · Title", "🔴 SEV1 · Acknowledged · Title" or
// "✅ Resolved · SEV1 · Title", within the header's limit.
func headerText(c *templates.Card) string {
	sev := ""
	if c.Severity.Valid() {
		sev = c.Severity.String() + " · "
	}
	var prefix string
	switch c.State {
	case incidents.Resolved:
		prefix = "✅ Resolved · " + sev
	case incidents.Acknowledged:
		prefix = templates.SeverityMark(c.Severity) + " " + sev + "Acknowledged · "
	default:
		prefix = templates.SeverityMark(c.Severity) + " " + sev
	}
	title := fit(c.Title, MaxHeaderLen-units(prefix), false)
	if title == "" {
		title = fit(c.IncidentID, MaxHeaderLen-units(prefix), false)
	}
	if title == "" {
		title = "Incident"
	}
	return prefix + title
}

func header(text string) []slack.Block {
	return []slack.Block{slack.NewHeaderBlock(plain(text), slack.HeaderBlockOptionBlockID(BlockHeader))}
}

// statusLine is "INC-42 · <status>" and the owner on a second line.
func statusLine(c *templates.Card) string {
	var lines []string
	first := fit(c.Status, maxStatus, false)
	if id := fit(c.IncidentID, maxID, false); id != "" {
		if first != "" {
			first = id + " · " + first
		} else {
			first = id
		}
	}
	if first != "" {
		lines = append(lines, first)
	}
	if o := fit(c.Owner, maxOwner, false); o != "" {
		lines = append(lines, o)
	}
	return strings.Join(lines, "\n")
}

func statusPart(c *templates.Card) *part {
	s := statusLine(c)
	full := units(s)
	return newPart(func(n int) []slack.Block {
		if n < full && n < minText {
			return nil
		}
		return section(BlockStatus, fit(s, n, true))
	}, full, floorStatus)
}

// textPart is a section of prefix+text, the text cut to n characters.
func textPart(id, prefix, text string, max, floor int) *part {
	t := fit(text, max-units(prefix), true)
	full := units(t)
	return newPart(func(n int) []slack.Block {
		if n < full && n < minText {
			return nil
		}
		s := fit(t, n, true)
		if s == "" {
			return nil
		}
		return section(id, prefix+s)
	}, full, floor)
}

// factsPart is a section of "Name: value" fields, n of them, then
// "+N more facts" when some are not shown.
func factsPart(facts []templates.Fact) *part {
	fields := make([]string, 0, min(len(facts), MaxFields))
	for _, f := range facts {
		if len(fields) == MaxFields { // beyond what can be shown
			break
		}
		if s := factText(f); s != "" {
			fields = append(fields, s)
		}
	}
	shown := len(fields)
	if len(facts) > MaxFields || shown < len(facts) {
		shown = min(shown, MaxFields-1) // room for the "+N more" field
	}
	return newPart(func(n int) []slack.Block {
		var objs []*slack.TextBlockObject
		for _, f := range fields[:n] {
			objs = append(objs, plain(f))
		}
		if more := len(facts) - n; more > 0 {
			objs = append(objs, plain(moreText(more, "fact", "facts")))
		}
		if len(objs) == 0 {
			return nil
		}
		return []slack.Block{slack.NewSectionBlock(nil, objs, nil, slack.SectionBlockOptionBlockID(BlockFacts))}
	}, shown, floorFacts)
}

func factText(f templates.Fact) string {
	name := fit(f.Name, maxFactName, false)
	value := fit(f.Value, maxFact, false)
	switch {
	case value == "":
		return ""
	case name == "":
		return value
	}
	return fit(name+": "+value, maxFact, false)
}

// buttonsPart is the actions block: a button per action with a key, then
// the links, the runbook first; the budget drops them from the end.
func buttonsPart(c *templates.Card, key Key) *part {
	links := linkButtons(c.Links)
	var acts []slack.BlockElement
	if key != nil {
		acts = actionButtons(c.Actions, key, MaxElements-min(len(links), 1))
	}
	els := append(acts, links...)
	if len(els) > MaxElements {
		els = els[:MaxElements]
	}
	return newPart(func(n int) []slack.Block {
		if n == 0 {
			return nil
		}
		return []slack.Block{slack.NewActionBlock(BlockActions, els[:n]...)}
	}, len(els), len(acts)+min(len(links), 1)) // the actions and the runbook
}

func actionButtons(actions []templates.Action, key Key, max int) []slack.BlockElement {
	var out []slack.BlockElement
	seen := map[string]bool{}
	for _, a := range actions {
		if len(out) == max {
			break
		}
		id := string(a.ID)
		if id == "" || !printable(id) {
			continue
		}
		value := key(a)
		if value == "" || len(value) > MaxValueLen || !printable(value) {
			continue
		}
		actionID := ActionIDPrefix + id
		for i := 2; seen[actionID]; i++ {
			actionID = ActionIDPrefix + id + ":" + strconv.Itoa(i)
		}
		if units(actionID) > MaxActionIDLen {
			continue
		}
		seen[actionID] = true
		text := fit(a.Label, MaxButtonTextLen, false)
		if text == "" {
			text = fit(id, MaxButtonTextLen, false)
		}
		b := slack.NewButtonBlockElement(actionID, value, plain(text))
		switch a.Style {
		case "primary":
			b.Style = slack.StylePrimary
		case "danger":
			b.Style = slack.StyleDanger
		}
		out = append(out, b)
	}
	return out
}

// printable reports whether s is printable ASCII without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func linkButtons(links []templates.Link) []slack.BlockElement {
	ordered := make([]templates.Link, 0, len(links))
	for _, l := range links {
		if l.Kind == templates.LinkRunbook {
			ordered = append(ordered, l)
		}
	}
	for _, l := range links {
		if l.Kind != templates.LinkRunbook {
			ordered = append(ordered, l)
		}
	}
	var out []slack.BlockElement
	seen := map[string]bool{}
	for _, l := range ordered {
		if len(out) == MaxElements {
			break
		}
		u, ok := templates.SafeURL(l.URL)
		if !ok || units(u) > MaxURLLen || seen[u] {
			continue
		}
		seen[u] = true
		text := fit(l.Text, MaxButtonTextLen, false)
		if text == "" {
			text = "Link"
		}
		b := slack.NewButtonBlockElement(LinkActionIDPrefix+strconv.Itoa(len(out)), "", plain(text))
		b.URL = u
		out = append(out, b)
	}
	return out
}

// alertsPart shows n alert lines, then "+N more alerts" counting the lines
// not shown and the card's MoreAlerts, in as few sections as they fit.
func alertsPart(alerts []string, moreAlerts int) *part {
	// Every character takes at least a byte of JSON: lines beyond Budget
	// characters can never be shown, so they are not even cleaned.
	var lines []string
	total := 0
	for _, a := range alerts {
		l := fit(a, maxLine, false)
		if l == "" {
			continue
		}
		l = "• " + l
		if total += units(l) + 1; total > Budget {
			break
		}
		lines = append(lines, l)
	}
	hidden := add(max(moreAlerts, 0), len(alerts)-len(lines)) // not shown whatever the budget
	return newPart(func(n int) []slack.Block {
		out := append([]string(nil), lines[:n]...)
		if more := add(hidden, len(lines)-n); more > 0 {
			out = append(out, moreText(more, "alert", "alerts"))
		}
		return packSections(out)
	}, len(lines), floorItems)
}

// packSections puts lines into sections of at most MaxTextLen characters.
func packSections(lines []string) []slack.Block {
	var blocks []slack.Block
	var sb strings.Builder
	n := 0
	flush := func() {
		if sb.Len() > 0 {
			id := BlockAlerts
			if len(blocks) > 0 {
				id += strconv.Itoa(len(blocks) + 1)
			}
			blocks = append(blocks, section(id, sb.String())...)
			sb.Reset()
			n = 0
		}
	}
	for _, l := range lines {
		u := units(l)
		if n > 0 && n+1+u > MaxTextLen {
			flush()
		}
		if n > 0 {
			sb.WriteByte('\n')
			n++
		}
		sb.WriteString(l)
		n += u
	}
	flush()
	return blocks
}

// labelsPart is a context block of "name=value" elements, n of them, then
// "+N more labels".
func labelsPart(labels []templates.Fact, moreLabels int) *part {
	limit := min(len(labels), MaxContext)
	els := make([]string, 0, limit)
	for _, l := range labels[:limit] {
		if s := labelText(l); s != "" {
			els = append(els, s)
		}
	}
	hidden := add(max(moreLabels, 0), len(labels)-len(els))
	shown := len(els)
	if hidden > 0 || shown > MaxContext {
		shown = min(shown, MaxContext-1)
	}
	return newPart(func(n int) []slack.Block {
		var objs []slack.MixedElement
		for _, e := range els[:n] {
			objs = append(objs, plain(e))
		}
		if more := add(hidden, len(els)-n); more > 0 {
			objs = append(objs, plain(moreText(more, "label", "labels")))
		}
		if len(objs) == 0 {
			return nil
		}
		return []slack.Block{slack.NewContextBlock(BlockLabels, objs...)}
	}, shown, floorItems)
}

func labelText(l templates.Fact) string {
	name := fit(l.Name, maxLabel, false)
	if name == "" {
		return ""
	}
	if v := fit(l.Value, maxLabel, false); v != "" {
		return fit(name+"="+v, maxLabel, false)
	}
	return name
}

func moreText(n int, one, many string) string {
	if n == 1 {
		return "+1 more " + one
	}
	return "+" + strconv.Itoa(n) + " more " + many
}

// add is a + b for counts, saturating instead of overflowing.
func add(a, b int) int {
	if b > 0 && a > int(^uint(0)>>1)-b {
		return int(^uint(0) >> 1)
	}
	return a + b
}

// fallback is the notification text: the header, then the status and
// owner, escaped for mrkdwn.
func fallback(c *templates.Card, head string) string {
	s := head
	if st := statusLine(c); st != "" {
		s += "\n" + st
	}
	return escapeFit(s, MaxTextLen)
}

// units counts s as Slack may: UTF-16 code units, never fewer than
// characters.
func units(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// fit returns s as clean plain text of at most max units: valid UTF-8
// (invalid bytes become U+FFFD), no control characters (newlines and tabs
// kept only when multiline, and no more than one blank line in a row;
// other line breaks become spaces when not), no bidi overrides or
// isolates, trimmed, and cut with "…" when too long. It reads no more of s
// than it needs.
func fit(s string, max int, multiline bool) string {
	if max <= 0 {
		return ""
	}
	if clean(s, max, multiline) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	n, mark := 0, 0 // units written; bytes that leave room for "…"
	for i, r := range s {
		r = cleanRune(r, multiline)
		if r < 0 || (b.Len() == 0 && unicode.IsSpace(r)) || (r == '\n' && strings.HasSuffix(b.String(), "\n\n")) {
			continue
		}
		u := runeUnits(r)
		if n+u > max {
			if blank(s[i:], multiline) {
				break
			}
			return cutAt(b.String(), mark) + "…"
		}
		b.WriteRune(r)
		n += u
		if n <= max-1 {
			mark = b.Len()
		}
	}
	return strings.TrimRightFunc(b.String(), unicode.IsSpace)
}

// clean reports whether fit would keep every character of s and not cut
// it (the common case: a Card's text is clean already).
func clean(s string, max int, multiline bool) bool {
	if multiline && strings.Contains(s, "\n\n\n") {
		return false
	}
	n := 0
	for i, r := range s {
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
				return false
			}
		}
		if cleanRune(r, multiline) != r {
			return false
		}
		if n += runeUnits(r); n > max {
			return false
		}
	}
	return true
}

// cleanRune maps r as fit shows it; -1 drops it.
func cleanRune(r rune, multiline bool) rune {
	switch {
	case r == utf8.RuneError:
		return '\uFFFD'
	case r == '\r' || isBidiControl(r):
		return -1
	case r == '\n' || r == '\t':
		if multiline {
			return r
		}
		return ' '
	case r == '\u2028' || r == '\u2029' || r == '\u0085': // line and paragraph breaks
		if multiline {
			return '\n'
		}
		return ' '
	case unicode.IsControl(r):
		return ' '
	}
	return r
}

// blank reports whether s cleans to nothing but white space.
func blank(s string, multiline bool) bool {
	for _, r := range s {
		if r = cleanRune(r, multiline); r >= 0 && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// cutAt returns s[:i] without trailing white space or a dangling zero
// width joiner, ready for "…".
func cutAt(s string, i int) string {
	return strings.TrimRightFunc(s[:i], func(r rune) bool { return unicode.IsSpace(r) || r == '\u200D' })
}

// isBidiControl reports the directional embeddings, overrides, isolates
// and marks that can make text read otherwise than it is.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// mrkdwnRune is r as mrkdwn text: & < > escaped, the rest as it is.
func mrkdwnRune(r rune) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	}
	return string(r)
}

// escapeFit cleans s, escapes & < > for mrkdwn and cuts the result to max
// units without splitting an entity.
func escapeFit(s string, max int) string {
	s = fit(s, max, true)
	var b strings.Builder
	n, mark := 0, 0
	for _, r := range s {
		tok := mrkdwnRune(r)
		u := units(tok)
		if n+u > max {
			return cutAt(b.String(), mark) + "…"
		}
		b.WriteString(tok)
		n += u
		if n <= max-1 {
			mark = b.Len()
		}
	}
	return b.String()
}
