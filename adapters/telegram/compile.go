// Package telegram is klaxon's Telegram chat adapter. Compile turns the
// platform-neutral templates.Card into a Telegram message: HTML text for
// sendMessage / editMessageText (parse_mode HTML) and an inline keyboard;
// EventText renders a timeline event as a reply.
//
// Whatever the card holds, the result fits Telegram's limits:
//
//   - the text is at most MaxText UTF-16 code units, counted both on the raw
//     HTML and on the text Telegram shows (tags removed, entities decoded);
//     it is never empty and always well-formed: only <b>, <i> and <code>,
//     never nested, closed in order, and the entities &amp; &lt; &gt; &quot;.
//     It is built from pieces against a budget, so a cut never falls inside
//     a tag, an entity, a UTF-8 sequence or a UTF-16 surrogate pair; a cut
//     field ends with "…" and a cut list with "+N more".
//   - every card string is data: escaped, stripped of control and bidi
//     override characters, and neutralised with U+2060 WORD JOINER so that
//     Telegram finds no mention (@admin), bot command (/start), URL
//     (https://…) or bare domain (evil.com) in it. Links are url buttons,
//     never text.
//   - callback_data is 1–64 bytes of UTF-8 (a button whose key is not is
//     dropped, never truncated); url buttons carry only URLs that pass
//     templates.SafeURL; button texts are 1–MaxButtonText UTF-16 units.
//
// Send with parse_mode HTML and disable_web_page_preview: SendConfig,
// EditConfig and EventReply do.
//
// Client sends cards: Post (sendMessage), Update (editMessageText) and
// Reply (sendMessage replying to the card). It uses tgbotapi's config types
// and Send/Request, with a tgbotapi.BotAPI made for each call (never
// NewBotAPI, which calls getMe) whose HTTP client binds the request to the
// call's ctx: v5.5.1 has no ctx, and this way a cancelled ctx ends the
// request at once. Find cannot work on Telegram (no history, no hidden
// tags on messages): it returns "". Every error is an *Error.
package telegram

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Telegram's limits, and the ones klaxon keeps below them.
const (
	// MaxText is the longest message text, in UTF-16 code units.
	MaxText = 4096
	// MaxCallbackData is the longest callback_data, in bytes.
	MaxCallbackData = 64
	// MaxButtonText is the longest button text klaxon makes, in UTF-16 units.
	MaxButtonText = 64
	// MaxActionButtons and MaxLinkButtons bound the keyboard: a phone shows
	// a few rows of ButtonsPerRow buttons well, and Telegram refuses more
	// than 100 buttons.
	MaxActionButtons = 8 // an open card with silences has 7
	MaxLinkButtons   = 6
	ButtonsPerRow    = 2
)

// Budgets of the text's parts, in UTF-16 units of HTML. Together they
// leave room for a few alert lines even when every part is at its cap.
const (
	capTitle     = 256
	capID        = 64
	capLine      = 300 // status, owner, an alert line
	capSummary   = 1000
	capWhatToDo  = 600
	capFacts     = 800 // all the facts together
	capFactName  = 64
	capFactValue = 256
	capLabelName = 64
	capLabelVal  = 128
	maxFacts     = 10
	// minShow is the least of a cut text worth showing: below it the part
	// is left out (a list then says "+N more").
	minShow = 12
	// A string is blank when its first blankScan bytes show nothing, and a
	// part of at most max units reads no more than 4*max+slack bytes of it
	// (a rune shows as at least one unit per 2 bytes; slack is for spaces
	// and dropped characters): a card of thousands of huge strings
	// compiles quickly.
	blankScan = 2 << 10
	slack     = 1 << 10
)

// wj is U+2060 WORD JOINER: invisible, and not part of any mention, command,
// URL or domain as Telegram finds them.
const wj = "\u2060"

// Message is a card compiled for sendMessage / editMessageText with parse_mode HTML.
type Message struct {
	Text     string                        // HTML, ≤ MaxText UTF-16 units raw and as shown
	Keyboard tgbotapi.InlineKeyboardMarkup // action buttons (callback_data) and link buttons (url)
}

// Key returns the opaque value a button carries (a short signed key made by
// the caller). It must be 1–64 bytes of UTF-8: the compiler drops (never
// truncates) a button whose key is longer, empty or not UTF-8.
type Key func(a templates.Action) string

// Compile lays out c for Telegram, most important first: severity and
// title, status, owner, summary, what to do, facts, alerts ("+N more
// alerts" for those that did not fit or were not on the card) and labels;
// actions (signed by key; none when key is nil) and links (the runbook
// first) as buttons. A nil card compiles to a minimal message.
func Compile(c *templates.Card, key Key) Message {
	m, _ := compile(c, key)
	return m
}

// counts says how many items of each list the text shows and how many its
// "+N more" line counts.
type counts struct {
	facts, moreFacts   int
	alerts, moreAlerts int
	labels, moreLabels int
}

func compile(c *templates.Card, key Key) (Message, counts) {
	if c == nil {
		c = &templates.Card{}
	}
	text, n := layout(c)
	return Message{Text: text, Keyboard: keyboard(c, key)}, n
}

func layout(c *templates.Card) (string, counts) {
	var n counts
	b := &builder{buf: make([]byte, 0, 2048), limit: MaxText}

	factTotal := 0
	for _, f := range c.Facts {
		if showFact(f) {
			factTotal++
		}
	}
	alertTotal := 0
	for _, a := range c.Alerts {
		if !isBlank(a) {
			alertTotal++
		}
	}
	alertTotal = addSat(alertTotal, max(c.MoreAlerts, 0))
	labelTotal := 0
	for _, l := range c.Labels {
		if showLabel(l) {
			labelTotal++
		}
	}
	labelTotal = addSat(labelTotal, max(c.MoreLabels, 0))

	// Room for every list's "+N more" is set aside first (for the largest
	// N it could say), so that a list cut by the budget can always say so.
	factTail := moreLen("\n\n+", factTotal, " more facts")
	alertTail := moreLen("\n\n+", alertTotal, " more alerts")
	labelTail := moreLen(labelsHead+"+", labelTotal, " more")
	b.reserved = factTail + alertTail + labelTail

	// Severity and title: what is happening, in the notification preview.
	b.markup(stateMark(c.State, c.Severity) + " <b>")
	if c.State == incidents.Resolved {
		b.markup("RESOLVED · ")
	}
	b.markup(c.Severity.String() + " · ")
	b.reserved += len("</b>")
	wrote := false
	for _, t := range []string{c.Title, c.IncidentID} {
		if !isBlank(t) && b.text(t, capTitle, 1, false) {
			wrote = true
			break
		}
	}
	if !wrote {
		b.markup("Incident")
	}
	b.reserved -= len("</b>")
	b.must("</b>")

	// The incident's ID (tap to copy) and status; who owns it.
	sep := "\n"
	if b.field("\n", "<code>", "</code>", c.IncidentID, capID, 1, false) {
		sep = " · "
	}
	b.field(sep, "", "", c.Status, capLine, minShow, false)
	b.field("\n", "<i>", "</i>", c.Owner, capLine, minShow, false)

	b.field("\n\n", "", "", c.Summary, capSummary, minShow, true)
	b.field("\n\n<b>What to do</b>\n", "", "", c.WhatToDo, capWhatToDo, minShow, true)

	// Facts, within their own budget; their tail stays reserved meanwhile.
	limit := b.limit
	b.limit = min(limit, b.units+b.reserved+capFacts)
	for _, f := range c.Facts {
		if !showFact(f) {
			continue
		}
		if n.facts == maxFacts || !b.fact(f, n.facts == 0) {
			break
		}
		n.facts++
	}
	b.limit = limit
	b.reserved -= factTail
	if n.moreFacts = factTotal - n.facts; n.moreFacts > 0 {
		b.more(n.facts == 0, "\n\n+", "\n+", n.moreFacts, plural(n.moreFacts, " more fact", " more facts"))
	}

	for _, a := range c.Alerts {
		if isBlank(a) {
			continue
		}
		prefix := "\n• "
		if n.alerts == 0 {
			prefix = "\n\n<b>Alerts</b>\n• "
		}
		if !b.field(prefix, "", "", a, capLine, minShow, false) {
			break
		}
		n.alerts++
	}
	b.reserved -= alertTail
	if n.moreAlerts = alertTotal - n.alerts; n.moreAlerts > 0 {
		b.more(n.alerts == 0, "\n\n+", "\n+", n.moreAlerts, plural(n.moreAlerts, " more alert", " more alerts"))
	}

	for _, l := range c.Labels {
		if !showLabel(l) {
			continue
		}
		if !b.label(l, n.labels == 0) {
			break
		}
		n.labels++
	}
	b.reserved -= labelTail
	if n.moreLabels = labelTotal - n.labels; n.moreLabels > 0 {
		b.more(n.labels == 0, labelsHead+"+", " · +", n.moreLabels, " more")
	}
	return string(b.buf), n
}

const labelsHead = "\n\n<i>Labels:</i> "

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// stateMark is the emoji that starts the card: done, being handled, or the
// severity's colour while nobody has it.
func stateMark(st incidents.State, sev incidents.Severity) string {
	switch st {
	case incidents.Resolved:
		return "✅"
	case incidents.Acknowledged:
		return "👀"
	}
	return templates.SeverityMark(sev)
}

// showFact reports whether a fact is shown (or counted): one with a value.
func showFact(f templates.Fact) bool { return !isBlank(f.Value) }

// showLabel reports whether a label is shown (or counted): one with a name or a value.
func showLabel(l templates.Fact) bool { return !isBlank(l.Name) || !isBlank(l.Value) }

func (b *builder) fact(f templates.Fact, first bool) bool {
	sep := "\n"
	if first {
		sep = "\n\n"
	}
	if isBlank(f.Name) {
		return b.field(sep, "", "", f.Value, capFactValue, minShow, false)
	}
	m := b.mark()
	if !b.field(sep, "<b>", ":</b> ", f.Name, capFactName, 1, false) || !b.text(f.Value, capFactValue, minShow, false) {
		b.reset(m)
		return false
	}
	return true
}

func (b *builder) label(l templates.Fact, first bool) bool {
	m := b.mark()
	prefix := " · "
	if first {
		prefix = labelsHead
	}
	ok := b.markup(prefix)
	name := !isBlank(l.Name)
	if ok && name {
		ok = b.text(l.Name, capLabelName, 1, false)
	}
	if ok && !isBlank(l.Value) {
		ok = (!name || b.markup("=")) && b.text(l.Value, capLabelVal, minShow, false)
	}
	if !ok {
		b.reset(m)
	}
	return ok
}

// keyboard makes the action rows, then the link rows.
func keyboard(c *templates.Card, key Key) tgbotapi.InlineKeyboardMarkup {
	var actions, links []tgbotapi.InlineKeyboardButton
	if key != nil {
		for _, a := range c.Actions {
			if len(actions) == MaxActionButtons {
				break
			}
			text := buttonText(a.Label)
			if text == "" {
				text = buttonText(actionLabel(a.ID))
			}
			if text == "" {
				continue
			}
			k := key(a)
			if len(k) < 1 || len(k) > MaxCallbackData || !utf8.ValidString(k) {
				continue
			}
			actions = append(actions, tgbotapi.NewInlineKeyboardButtonData(text, k))
		}
	}
	// The runbook first: it says what to do.
	var seen []string
	for _, runbook := range []bool{true, false} {
		for _, l := range c.Links {
			if len(links) == MaxLinkButtons {
				break
			}
			if (l.Kind == templates.LinkRunbook) != runbook {
				continue
			}
			if len(l.URL) > templates.MaxURL+64 { // SafeURL would trim it in vain
				continue
			}
			u, ok := templates.SafeURL(l.URL)
			if !ok || contains(seen, u) {
				continue
			}
			text := buttonText(l.Text)
			if text == "" {
				if p, err := url.Parse(u); err == nil {
					text = buttonText(p.Hostname())
				}
			}
			if text == "" {
				text = "Link"
			}
			seen = append(seen, u)
			links = append(links, tgbotapi.NewInlineKeyboardButtonURL(text, u))
		}
	}
	rows := [][]tgbotapi.InlineKeyboardButton{}
	for _, bs := range [][]tgbotapi.InlineKeyboardButton{actions, links} {
		for len(bs) > 0 {
			n := min(len(bs), ButtonsPerRow)
			rows = append(rows, bs[:n:n])
			bs = bs[n:]
		}
	}
	return tgbotapi.InlineKeyboardMarkup{InlineKeyboard: rows}
}

func contains(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

// actionLabel names an action whose card gave it no label.
func actionLabel(id templates.ActionID) string {
	switch id {
	case templates.ActAck:
		return "Acknowledge"
	case templates.ActUnack:
		return "Unacknowledge"
	case templates.ActResolve:
		return "Resolve"
	case templates.ActReopen:
		return "Reopen"
	case templates.ActEscalate:
		return "Escalate"
	case templates.ActSnooze:
		return "Snooze"
	}
	return string(id)
}

// buttonText is s as a button shows it: plain text (Telegram parses no
// markup in buttons) on one line, at most MaxButtonText UTF-16 units.
func buttonText(s string) string {
	if isBlank(s) {
		return ""
	}
	b := &builder{limit: MaxButtonText, plain: true}
	b.text(s, MaxButtonText, 1, false)
	return string(b.buf)
}

// EventText renders one timeline event as a short HTML reply, e.g.
// "<i>12:04 UTC</i> · Acknowledged by alice": escaped and neutralised like
// a card, at most MaxText UTF-16 units, never empty.
func EventText(e incidents.Event) string {
	b := &builder{buf: make([]byte, 0, 128), limit: MaxText}
	sep := ""
	if !e.At.IsZero() {
		b.markup("<i>" + e.At.UTC().Format("15:04 UTC") + "</i>")
		sep = " · "
	}
	if b.field(sep, "", "", e.Text, MaxText, 1, true) {
		return string(b.buf)
	}
	what := strings.ReplaceAll(string(e.Kind), "_", " ")
	if isBlank(what) {
		what = "updated"
	}
	if !isBlank(e.Actor) {
		what += " by " + e.Actor
	}
	if !b.field(sep, "", "", "Incident "+what, MaxText, 1, false) {
		b.markup(sep + "Incident updated")
	}
	return string(b.buf)
}

// SendConfig is the sendMessage request that posts m to a chat: parse mode
// HTML, no link preview, and the keyboard when it has buttons.
func (m Message) SendConfig(chatID int64) tgbotapi.MessageConfig {
	cfg := tgbotapi.NewMessage(chatID, m.Text)
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	if len(m.Keyboard.InlineKeyboard) > 0 {
		cfg.ReplyMarkup = m.Keyboard
	}
	return cfg
}

// EditConfig is the editMessageText request that replaces a card's text and
// keyboard with m's; an empty keyboard removes the old buttons. Telegram
// answers 400 "message is not modified" when nothing changed: a success.
func (m Message) EditConfig(chatID int64, messageID int) tgbotapi.EditMessageTextConfig {
	kb := m.Keyboard
	if kb.InlineKeyboard == nil {
		kb.InlineKeyboard = [][]tgbotapi.InlineKeyboardButton{}
	}
	cfg := tgbotapi.NewEditMessageTextAndMarkup(chatID, messageID, m.Text, kb)
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	return cfg
}

// EventReply is the sendMessage request that posts EventText(e) as a reply
// to the card (message replyTo), sent even if the card was deleted.
func EventReply(chatID int64, replyTo int, e incidents.Event) tgbotapi.MessageConfig {
	cfg := tgbotapi.NewMessage(chatID, EventText(e))
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	cfg.ReplyToMessageID = replyTo
	cfg.AllowSendingWithoutReply = true
	return cfg
}

// builder appends HTML within a budget of UTF-16 units. reserved units are
// set aside for what must come later (closing tags, "+N more" lines):
// every write checks units+reserved ≤ limit, except must, which writes
// what was reserved.
type builder struct {
	buf      []byte
	units    int
	limit    int
	reserved int
	plain    bool // no escaping or neutralising: button text
}

type mark struct{ n, units int }

func (b *builder) mark() mark   { return mark{len(b.buf), b.units} }
func (b *builder) reset(m mark) { b.buf, b.units = b.buf[:m.n], m.units }
func (b *builder) avail() int   { return b.limit - b.reserved - b.units }

// markup appends klaxon's own s when it fits.
func (b *builder) markup(s string) bool {
	n := utf16Len(s)
	if n > b.avail() {
		return false
	}
	b.buf = append(b.buf, s...)
	b.units += n
	return true
}

// must appends s, whose room was reserved.
func (b *builder) must(s string) {
	b.buf = append(b.buf, s...)
	b.units += utf16Len(s)
}

// more appends a "+N more" line, whose room was reserved.
func (b *builder) more(alone bool, aloneSep, sep string, n int, noun string) {
	if alone {
		sep = aloneSep
	}
	b.must(sep)
	b.buf = strconv.AppendInt(b.buf, int64(n), 10)
	b.units += digits(n)
	b.must(noun)
}

// field appends prefix, open, s as text and close; or nothing, when s is
// blank or does not fit.
func (b *builder) field(prefix, open, close, s string, max, minShow int, multiline bool) bool {
	if isBlank(s) {
		return false
	}
	m := b.mark()
	if !b.markup(prefix) || !b.markup(open) {
		b.reset(m)
		return false
	}
	b.reserved += len(close)
	ok := b.text(s, max, minShow, multiline)
	b.reserved -= len(close)
	if !ok {
		b.reset(m)
		return false
	}
	b.must(close)
	return true
}

// text appends s, cleaned, escaped and neutralised, in at most max units
// (and what is available): whole, or cut at a piece boundary (preferably a
// space) and ended with "…". Spaces are collapsed and trimmed; in multiline
// text newlines are kept, at most two in a row. It appends nothing and
// returns false when nothing visible fits or a cut would keep less than
// minShow units.
func (b *builder) text(s string, max, minShow int, multiline bool) bool {
	max = min(max, b.avail())
	if max <= 0 {
		return false
	}
	read := len(s) <= 4*max+slack
	if !read {
		n := 4*max + slack
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	start := b.mark()
	fit := start        // the last cut point that leaves room for "…"
	word := mark{n: -1} // the last such point before a space
	used, nl, sp := 0, 0, false
	prev := ' ' // the last rune shown: what precedes s never joins it (see appendShown)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r = cleanRune(r, multiline); r < 0 {
			continue
		}
		if r == '\n' {
			nl++
			continue
		}
		if unicode.IsSpace(r) {
			sp = true
			continue
		}
		if used > 0 && (nl > 0 || sp) {
			ws := " "
			if nl == 1 {
				ws = "\n"
			} else if nl > 1 {
				ws = "\n\n"
			}
			if fit.n == len(b.buf) {
				word = fit
			}
			b.buf = append(b.buf, ws...)
			b.units += len(ws)
			used += len(ws)
			prev = rune(ws[0])
		}
		nl, sp = 0, false
		var n int
		b.buf, n = b.appendShown(b.buf, r, prev, s, i, multiline)
		b.units += n
		used += n
		prev = r
		if used <= max-1 {
			fit = b.mark()
		}
		if used > max {
			break
		}
	}
	if used <= max && (read || used == 0) {
		return used > 0
	}
	if used <= max-1 { // all that was read fits: say that more was not
		b.buf = append(b.buf, "…"...)
		b.units++
		return true
	}
	cut := fit
	if word.n > start.n && fit.units-word.units <= 16 && word.units-start.units >= minShow {
		cut = word
	}
	if cut.units-start.units < minShow || cut.n == start.n {
		b.reset(start)
		return false
	}
	b.reset(cut)
	b.buf = append(b.buf, "…"...)
	b.units++
	return true
}

// appendShown appends r, the rune of s before s[i:], as the message shows
// it, and returns its UTF-16 units. In HTML it escapes & < > " and puts a
// word joiner after what would start a mention ("@admin"), a URL scheme
// ("://"), a domain ("evil.com", "www.evil.com/x") or a bot command
// ("/resolve"), so that Telegram does not find them; these rules look only
// at the card string itself, so klaxon's own markup around a string must
// end with a space or punctuation other than "/", ":", "@" and ".".
func (b *builder) appendShown(buf []byte, r, prev rune, s string, i int, multiline bool) ([]byte, int) {
	if !b.plain {
		switch r {
		case '&':
			return append(buf, "&amp;"...), 5
		case '<':
			return append(buf, "&lt;"...), 4
		case '>':
			return append(buf, "&gt;"...), 4
		case '"':
			return append(buf, "&quot;"...), 6
		case '@':
			if next, _ := peek(s, i, multiline); isWord(next) {
				return append(buf, "@"+wj...), 2
			}
		case ':':
			if n1, j := peek(s, i, multiline); n1 == '/' {
				if n2, _ := peek(s, j, multiline); n2 == '/' {
					return append(buf, ":"+wj...), 2
				}
			}
		case '.':
			if isDomainRune(prev) {
				if next, _ := peek(s, i, multiline); unicode.IsLetter(next) {
					return append(buf, "."+wj...), 2
				}
			}
		case '/':
			if !isWord(prev) && prev != '/' && prev != '<' && prev != '>' && commandFollows(s, i, multiline) {
				return append(buf, "/"+wj...), 2
			}
		}
	}
	buf = utf8.AppendRune(buf, r)
	if r >= 0x10000 {
		return buf, 2
	}
	return buf, 1
}

// peek returns the next rune of s from i as shown (-1 at the end) and the
// index after it.
func peek(s string, i int, multiline bool) (rune, int) {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r = cleanRune(r, multiline); r >= 0 {
			return r, i
		}
	}
	return -1, i
}

// commandFollows reports whether s from i reads like the name of a bot
// command: ASCII letters, digits or "_", not followed by "/" (a path such
// as /var/log is no command).
func commandFollows(s string, i int, multiline bool) bool {
	for n := 0; ; n++ {
		r, j := peek(s, i, multiline)
		if r >= 0 && r < utf8.RuneSelf && (isASCIIAlnum(byte(r)) || r == '_') {
			if n == MaxCallbackData {
				return true // longer than a command: neutralise anyway
			}
			i = j
			continue
		}
		return n > 0 && r != '/'
	}
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isWord is Telegram's word character: a letter, a number or "_".
func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// isDomainRune reports whether r may end a domain label: an ASCII letter,
// digit, "-", "_" or "~", or any non-ASCII character but a space.
func isDomainRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && (isASCIIAlnum(byte(r)) || r == '-' || r == '_' || r == '~')
	}
	return !unicode.IsSpace(r)
}

// cleanRune maps r as shown; -1 drops it. Invalid UTF-8 is U+FFFD already;
// carriage returns and bidi overrides (which can disguise text) go; other
// control characters and line separators become spaces (newlines in
// multiline text).
func cleanRune(r rune, multiline bool) rune {
	switch {
	case r == '\n' || r == '\u2028' || r == '\u2029':
		if multiline {
			return '\n'
		}
		return ' '
	case r == '\r' || isBidiControl(r):
		return -1
	case unicode.IsControl(r):
		return ' '
	}
	return r
}

// isBidiControl reports the directional embeddings, overrides and isolates.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// isBlank reports whether s shows nothing: only spaces and control, bidi
// and format characters (zero-width spaces, joiners) in its first blankScan
// bytes.
func isBlank(s string) bool {
	if len(s) > blankScan {
		s = s[:blankScan]
	}
	i := 0
	for ; i < len(s) && s[i] < utf8.RuneSelf; i++ { // fast: ASCII controls and spaces
		if c := s[i]; c > ' ' && c != 0x7f {
			return false
		}
	}
	for _, r := range s[i:] {
		if r = cleanRune(r, true); r >= 0 && !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// moreLen is the length of prefix+N+suffix, or 0 when n is 0.
func moreLen(prefix string, n int, suffix string) int {
	if n <= 0 {
		return 0
	}
	return utf16Len(prefix) + digits(n) + utf16Len(suffix)
}

func addSat(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
