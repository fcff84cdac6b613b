package telegram

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = cardtest.T0

// testKey stands for the bot's signer: short, deterministic keys.
func testKey(a templates.Action) string {
	k := "k1.42." + string(a.ID)
	if a.Arg != "" {
		k += "." + a.Arg
	}
	return k + ".sig"
}

func card(t testing.TB, inc *incidents.Incident, now time.Time) *templates.Card {
	t.Helper()
	c, err := templates.MustBuiltin().Card(inc, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGolden(t *testing.T) {
	now := cardtest.Now
	for name, inc := range cardtest.All() { // the compact maintenance card and the flapping one too
		t.Run(name, func(t *testing.T) {
			m := Compile(card(t, inc, now), testKey)
			check(t, m)
			kb, err := json.MarshalIndent(m.Keyboard, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got := m.Text + "\n\n--- keyboard ---\n" + string(kb) + "\n"
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./adapters/telegram -update creates it)", err)
			}
			if string(want) != got {
				t.Errorf("%s differs from %s (go test ./adapters/telegram -update rewrites it)\ngot:\n%s", name, path, got)
			}
		})
	}
}

// TestLayout checks what an on-call engineer relies on, beyond the goldens.
func TestLayout(t *testing.T) {
	inc := cardtest.Payments()
	m := Compile(card(t, inc, t0.Add(12*time.Minute)), testKey)
	for _, want := range []string{
		"🔴 <b>SEV1 · Payments p99 latency above 2s</b>\n<code>INC-42</code> · Triggered · SEV1",
		"\n\n<b>What to do</b>\nCheck the payments DB",
		"\n<b>Value:</b> 3.2s\n<b>Threshold:</b> 2s\n",
		"\n\n<b>Alerts</b>\n• Firing: HighLatency on pay-1:9100",
		"<i>Labels:</i> env=prod · instance=pay-1:9100",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	rows := m.Keyboard.InlineKeyboard
	if len(rows) != 4 || *rows[0][0].CallbackData != "k1.42.ack.sig" || rows[0][0].Text != "Acknowledge" ||
		*rows[2][0].URL != "https://runbooks.example.com/payments/latency" || rows[2][0].Text != "Runbook" {
		t.Errorf("keyboard: actions first, then the runbook: %s", keyboardJSON(t, m))
	}

	_ = inc.Apply(incidents.Resolve, "bob", "", t0.Add(10*time.Minute))
	m = Compile(card(t, inc, t0.Add(12*time.Minute)), testKey)
	if !strings.HasPrefix(m.Text, "✅ <b>RESOLVED · SEV1 · ") || !strings.Contains(m.Text, "\n<i>Resolved by bob 2m ago</i>") {
		t.Errorf("a resolved card must say so first:\n%s", m.Text)
	}
	if kb := m.Keyboard.InlineKeyboard; len(kb[0]) != 2 || *kb[0][0].CallbackData != "k1.42.feedback.yes.sig" || kb[0][1].Text != "Not actionable" ||
		len(kb[1]) != 1 || *kb[1][0].CallbackData != "k1.42.reopen.sig" {
		t.Errorf("resolved keyboard: %s", keyboardJSON(t, m))
	}

	// Without a signer there are no action buttons, only links.
	m = Compile(card(t, cardtest.Payments(), t0), nil)
	for _, row := range m.Keyboard.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil {
				t.Fatalf("nil key made an action button: %s", keyboardJSON(t, m))
			}
		}
	}
}

func keyboardJSON(t testing.TB, m Message) string {
	b, err := json.Marshal(m.Keyboard)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// check asserts every promise of a compiled message.
func check(t testing.TB, m Message) {
	t.Helper()
	if err := checkText(m.Text); err != nil {
		t.Fatalf("text: %v\n%q", err, m.Text)
	}
	if err := checkKeyboard(m.Keyboard); err != nil {
		t.Fatalf("keyboard: %v", err)
	}
}

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

// checkText checks a message text: valid UTF-8, well-formed HTML as
// Telegram parses it (only b, i and code; balanced; nothing inside code;
// only four named entities), within MaxText raw and shown, at most 100
// entities, not empty, and showing nothing Telegram would turn into a
// mention, command or link.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	plain, tags, err := parseHTML(s)
	if err != nil {
		return err
	}
	if n := u16(s); n > MaxText {
		return fmt.Errorf("%d UTF-16 units of HTML", n)
	}
	if n := u16(plain); n > MaxText {
		return fmt.Errorf("%d UTF-16 units shown", n)
	}
	if tags > 100 {
		return fmt.Errorf("%d entities", tags)
	}
	if strings.TrimSpace(plain) == "" {
		return fmt.Errorf("empty text")
	}
	return checkPlain(plain)
}

// parseHTML is a small tokenizer of Telegram's HTML as klaxon writes it. It
// returns the text shown and the number of entities.
func parseHTML(s string) (string, int, error) {
	var plain strings.Builder
	var stack []string
	tags := 0
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return "", 0, fmt.Errorf("unterminated tag at byte %d", i)
			}
			tag := s[i+1 : i+j]
			name, closing := strings.CutPrefix(tag, "/")
			if name != "b" && name != "i" && name != "code" {
				return "", 0, fmt.Errorf("tag <%s> at byte %d", tag, i)
			}
			if closing {
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return "", 0, fmt.Errorf("</%s> at byte %d closes %v", name, i, stack)
				}
				stack = stack[:len(stack)-1]
			} else {
				for _, open := range stack {
					if open == name || open == "code" {
						return "", 0, fmt.Errorf("<%s> inside <%s> at byte %d", name, open, i)
					}
				}
				stack = append(stack, name)
				tags++
			}
			i += j + 1
		case '&':
			ok := false
			for ent, r := range map[string]string{"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": `"`} {
				if strings.HasPrefix(s[i:], ent) {
					plain.WriteString(r)
					i += len(ent)
					ok = true
					break
				}
			}
			if !ok {
				return "", 0, fmt.Errorf("bad entity at byte %d: %.10q", i, s[i:])
			}
		case '>', '"':
			return "", 0, fmt.Errorf("unescaped %q at byte %d", c, i)
		default:
			plain.WriteByte(c)
			i++
		}
	}
	if len(stack) > 0 {
		return "", 0, fmt.Errorf("unclosed %v", stack)
	}
	return plain.String(), tags, nil
}

// checkPlain applies Telegram's own rules (tdlib MessageEntity.cpp) for
// finding mentions, bot commands, URLs and domains, to the text shown.
func checkPlain(p string) error {
	rs := []rune(p)
	at := func(i int) rune {
		if i < 0 || i >= len(rs) {
			return -1
		}
		return rs[i]
	}
	word := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }
	ascii := func(r rune) bool { return r < 128 && r >= 0 && (word(r)) }
	for i, r := range rs {
		switch {
		case r == '\n':
		case unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			return fmt.Errorf("shows %U", r)
		case r == '@' && ascii(at(i+1)):
			return fmt.Errorf("a mention at rune %d: %q", i, string(rs[i:min(len(rs), i+20)]))
		case r == ':' && at(i+1) == '/' && at(i+2) == '/':
			return fmt.Errorf("a URL at rune %d: %q", i, string(rs[max(0, i-10):min(len(rs), i+20)]))
		case r == '.' && unicode.IsLetter(at(i+1)) && at(i-1) >= 0 && (ascii(at(i-1)) || at(i-1) == '-' || at(i-1) == '~' || (at(i-1) >= 0xC0 && !unicode.IsSpace(at(i-1)))):
			return fmt.Errorf("a domain at rune %d: %q", i, string(rs[max(0, i-10):min(len(rs), i+20)]))
		case r == '/':
			if p := at(i - 1); p >= 0 && (word(p) || p == '/' || p == '<' || p == '>') {
				continue
			}
			j := i + 1
			for j < len(rs) && ascii(rs[j]) {
				j++
			}
			if n := j - i - 1; n < 1 || n > 64 {
				continue
			}
			if next := at(j); !(word(next) || next == '/' || next == '<' || next == '>') {
				return fmt.Errorf("a bot command at rune %d: %q", i, string(rs[i:j]))
			}
		}
	}
	return nil
}

func checkKeyboard(kb tgbotapi.InlineKeyboardMarkup) error {
	if kb.InlineKeyboard == nil {
		return fmt.Errorf("nil inline_keyboard (JSON null)")
	}
	actions, links := 0, 0
	for i, row := range kb.InlineKeyboard {
		if len(row) < 1 || len(row) > 3 {
			return fmt.Errorf("row %d has %d buttons", i, len(row))
		}
		for _, b := range row {
			if strings.TrimSpace(b.Text) == "" || !utf8.ValidString(b.Text) || u16(b.Text) > MaxButtonText ||
				strings.ContainsFunc(b.Text, unicode.IsControl) {
				return fmt.Errorf("button text %q", b.Text)
			}
			if b.LoginURL != nil || b.SwitchInlineQuery != nil || b.SwitchInlineQueryCurrentChat != nil || b.CallbackGame != nil || b.Pay {
				return fmt.Errorf("button %q of another kind", b.Text)
			}
			switch {
			case b.CallbackData != nil && b.URL == nil:
				if d := *b.CallbackData; len(d) < 1 || len(d) > MaxCallbackData || !utf8.ValidString(d) {
					return fmt.Errorf("callback_data %q (%d bytes)", d, len(d))
				}
				actions++
			case b.URL != nil && b.CallbackData == nil:
				if u, ok := templates.SafeURL(*b.URL); !ok || u != *b.URL {
					return fmt.Errorf("unsafe url %q", *b.URL)
				}
				links++
			default:
				return fmt.Errorf("button %q needs exactly one of url and callback_data", b.Text)
			}
		}
	}
	if actions > MaxActionButtons || links > MaxLinkButtons {
		return fmt.Errorf("%d action and %d link buttons", actions, links)
	}
	if _, err := json.Marshal(kb); err != nil {
		return err
	}
	return nil
}

func TestManyAlerts(t *testing.T) {
	inc := cardtest.Payments()
	var alerts []incidents.Alert
	for i := range 1000 {
		alerts = append(alerts, incidents.Alert{Fingerprint: fmt.Sprint(i), Status: incidents.AlertFiring, StartsAt: t0,
			Labels:      map[string]string{"alertname": "Disk", "instance": fmt.Sprintf("db-%d", i)},
			Annotations: map[string]string{"summary": strings.Repeat("disk almost full on a very busy database host ", 4)}})
	}
	inc.ApplyBatch(&incidents.Batch{Source: "alertmanager", GroupKey: "g", Alerts: alerts}, t0.Add(time.Minute))
	c := card(t, inc, t0.Add(time.Hour))
	m, n := compile(c, testKey)
	check(t, m)
	if n.alerts < 3 || n.alerts+n.moreAlerts != 1003 {
		t.Fatalf("%d alerts shown and %d more, want at least 3 and 1003 in all", n.alerts, n.moreAlerts)
	}
	if want := fmt.Sprintf("\n+%d more alerts", n.moreAlerts); !strings.Contains(m.Text, want) {
		t.Fatalf("text lacks %q:\n%s", want, m.Text)
	}
}

func TestManyLabels(t *testing.T) {
	inc := cardtest.Payments()
	for i := range 300 {
		inc.Alerts[0].Labels[fmt.Sprintf("label_%03d", i)] = strings.Repeat("v", i%40)
	}
	c := card(t, inc, t0)
	m, n := compile(c, testKey)
	check(t, m)
	if n.labels+n.moreLabels != len(c.Labels)+c.MoreLabels || n.labels == 0 || n.moreLabels == 0 {
		t.Fatalf("%d labels shown, %d more; the card has %d and %d more", n.labels, n.moreLabels, len(c.Labels), c.MoreLabels)
	}
	if want := fmt.Sprintf(" · +%d more", n.moreLabels); !strings.HasSuffix(m.Text, want) {
		t.Fatalf("text does not end with %q:\n%s", want, m.Text)
	}

	// Labels the text cannot hold at all still count.
	big := &templates.Card{Title: "t", Summary: strings.Repeat("long summary ", 10000), Alerts: []string{strings.Repeat("x", 5000)}}
	for i := range 300 {
		big.Labels = append(big.Labels, templates.Fact{Name: fmt.Sprint("name", i), Value: strings.Repeat("value ", 50)})
	}
	big.MoreLabels = 7
	m, n = compile(big, testKey)
	check(t, m)
	if n.labels+n.moreLabels != 307 {
		t.Fatalf("%d labels shown, %d more, want 307 in all", n.labels, n.moreLabels)
	}
}

func TestLongDescription(t *testing.T) {
	inc := cardtest.Payments()
	for i := range inc.Alerts {
		inc.Alerts[i].Annotations["description"] = strings.Repeat("The checkout & payment path is slow. ", 300)[:10000]
	}
	m := Compile(card(t, inc, t0), testKey)
	check(t, m)
	_, summary, _ := strings.Cut(m.Text, "\n\n")
	summary, _, _ = strings.Cut(summary, "\n\n")
	if !strings.HasSuffix(summary, "…") || u16(summary) > capSummary || u16(summary) < capSummary-20 {
		t.Fatalf("summary (%d units) not cut at a word near its budget: %q", u16(summary), summary)
	}
	if !strings.Contains(m.Text, "<b>Alerts</b>") || !strings.Contains(m.Text, "<i>Labels:</i>") {
		t.Fatalf("a long summary crowded out the alerts or labels:\n%s", m.Text)
	}
}

func TestEmojiAndRTL(t *testing.T) {
	inc := cardtest.Payments()
	inc.Title = strings.Repeat("🔥", 3000)
	for i := range inc.Alerts {
		inc.Alerts[i].Annotations["description"] = strings.Repeat("🔥a", 3000)
		inc.Alerts[i].Annotations["summary"] = "שלום עולם — مرحبا بالعالم \u202Eevil\u202C"
		inc.Alerts[i].Labels["צוות"] = "תשלומים"
	}
	m := Compile(card(t, inc, t0), testKey)
	check(t, m)
	if !strings.Contains(m.Text, "שלום עולם — مرحبا بالعالم evil") || !strings.Contains(m.Text, "צוות=תשלומים") {
		t.Fatalf("RTL text lost:\n%s", m.Text)
	}

	// Every budget, odd or even, cuts between whole runes and pieces.
	for _, s := range []string{strings.Repeat("🔥", 100), strings.Repeat("a🔥&<@x", 40), strings.Repeat("é.com https://x ", 30)} {
		for max := 1; max < 120; max++ {
			b := &builder{limit: MaxText}
			ok := b.text(s, max, 1, false)
			out := string(b.buf)
			if b.units > max || b.units != u16(out) || (ok && out == "") || (!ok && out != "") {
				t.Fatalf("text(%.20q, %d) = %q (%d units, ok %v)", s, max, out, b.units, ok)
			}
			if _, _, err := parseHTML(out); err != nil || !utf8.ValidString(out) {
				t.Fatalf("text(%.20q, %d) = %q: %v", s, max, out, err)
			}
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		in        string
		max       int
		multiline bool
		want      string
	}{
		{"  plain  text  ", 100, false, "plain text"},
		{"a\n\n\n\nb\r\n\tc", 100, true, "a\n\nb\nc"},
		{"a\nb", 100, false, "a b"},
		{"one two three four five six", 20, false, "one two three four…"},
		{"abcdefghijklmnopqrstuvwxyz", 10, false, "abcdefghi…"},
		{"a" + strings.Repeat(" ", 100_000) + "b", 100, false, "a…"}, // reads 4*max+slack bytes at most
		{"&&&", 11, false, "&amp;&amp;…"},
		{"🔥🔥🔥", 5, false, "🔥🔥…"},
		{"🔥🔥🔥", 4, false, "🔥…"},
		{"x@y /start a.io", 100, false, "x@\u2060y /\u2060start a.\u2060io"},
	} {
		b := &builder{limit: MaxText}
		b.text(c.in, c.max, 1, c.multiline)
		if got := string(b.buf); got != c.want || b.units != u16(got) {
			t.Errorf("text(%.30q, %d) = %q (%d units), want %q", c.in, c.max, got, b.units, c.want)
		}
	}
	m, n := compile(&templates.Card{Title: "t", Alerts: []string{"a"}, MoreAlerts: 1, Facts: []templates.Fact{{Name: "n", Value: "v"}}}, nil)
	if n.moreAlerts != 1 || !strings.HasSuffix(m.Text, "\n• a\n+1 more alert") {
		t.Errorf("one more alert: %q", m.Text)
	}
}

func TestInvalidUTF8(t *testing.T) {
	bad := "bad \xff\xfe\xfd utf8 \xc3"
	c := &templates.Card{IncidentID: bad, Title: bad, Status: bad, Owner: bad, Summary: bad, WhatToDo: bad,
		Facts: []templates.Fact{{Name: bad, Value: bad}}, Alerts: []string{bad}, Labels: []templates.Fact{{Name: bad, Value: bad}},
		Links:   []templates.Link{{Text: bad, URL: "https://example.com/\xff"}, {Text: bad, URL: "https://example.com/ok"}},
		Actions: []templates.Action{{ID: templates.ActAck, Label: bad}, {ID: templates.ActResolve, Label: "Resolve"}}}
	m := Compile(c, func(a templates.Action) string {
		if a.ID == templates.ActAck {
			return "\xff\xfe"
		}
		return "ok"
	})
	check(t, m)
	if !strings.Contains(m.Text, "bad \uFFFD\uFFFD\uFFFD utf8 \uFFFD") {
		t.Fatalf("invalid UTF-8 not replaced:\n%q", m.Text)
	}
	if got := keyboardJSON(t, m); got != "{\"inline_keyboard\":[[{\"text\":\"Resolve\",\"callback_data\":\"ok\"}],[{\"text\":\"bad \uFFFD\uFFFD\uFFFD utf8 \uFFFD\",\"url\":\"https://example.com/ok\"}]]}" {
		t.Fatalf("keyboard %s", got)
	}
}

// hugeCard is built directly, ignoring every cap of templates.
func hugeCard(keyLen int) (*templates.Card, Key) {
	long := strings.Repeat("x", 100_000)
	c := &templates.Card{IncidentID: long, Severity: 99, State: "weird", Title: long, Status: long, Owner: long,
		Summary: long, WhatToDo: long, MoreAlerts: math.MaxInt, MoreLabels: -5}
	for i := range 500 {
		c.Facts = append(c.Facts, templates.Fact{Name: long, Value: long})
		c.Links = append(c.Links, templates.Link{Text: long, URL: fmt.Sprintf("https://example.com/%d", i)})
		c.Labels = append(c.Labels, templates.Fact{Name: long, Value: long})
		c.Alerts = append(c.Alerts, long)
	}
	for i := range 100 {
		c.Actions = append(c.Actions, templates.Action{ID: templates.ActionID(fmt.Sprint("a", i)), Label: long})
	}
	return c, func(templates.Action) string { return strings.Repeat("k", keyLen) }
}

func TestHugeCard(t *testing.T) {
	c, key := hugeCard(65)
	m, n := compile(c, key)
	check(t, m)
	for _, row := range m.Keyboard.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil {
				t.Fatalf("a 65-byte key was kept: %s", keyboardJSON(t, m))
			}
		}
	}
	if n.alerts+n.moreAlerts != math.MaxInt || n.labels+n.moreLabels != 500 || n.facts+n.moreFacts != 500 {
		t.Fatalf("counts %+v", n)
	}
	if !strings.Contains(m.Text, "+"+strconv.Itoa(n.moreAlerts)+" more alerts") || !strings.Contains(m.Text, " more facts") {
		t.Fatalf("no +N more lines:\n%s", m.Text)
	}
	if u16(m.Text) < MaxText-200 {
		t.Fatalf("the budget was not used: %d units", u16(m.Text))
	}

	c, key = hugeCard(64)
	m = Compile(c, key)
	check(t, m)
	if rows := m.Keyboard.InlineKeyboard; len(rows) != (MaxActionButtons+MaxLinkButtons)/ButtonsPerRow || *rows[0][0].CallbackData != strings.Repeat("k", 64) {
		t.Fatalf("64-byte keys: %s", keyboardJSON(t, m))
	}

	c, key = hugeCard(0)
	check(t, Compile(c, key))
}

// TestBlankHugeCard: thousands of huge blank or spaced-out strings (which
// a scan to the end of every one would make slow) compile quickly.
func TestBlankHugeCard(t *testing.T) {
	for _, s := range []string{strings.Repeat(" ", 100_000), strings.Repeat("\u202e\n", 50_000), "a" + strings.Repeat(" ", 100_000) + "b"} {
		c := &templates.Card{Title: s, Summary: s, Status: s}
		for range 1200 {
			c.Alerts = append(c.Alerts, s)
			c.Labels = append(c.Labels, templates.Fact{Name: s, Value: s})
			c.Facts = append(c.Facts, templates.Fact{Name: s, Value: s})
			c.Links = append(c.Links, templates.Link{Text: s, URL: s})
			c.Actions = append(c.Actions, templates.Action{ID: templates.ActAck, Label: s})
		}
		start := time.Now()
		m := Compile(c, testKey)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("compiling took %v", d)
		}
		check(t, m)
	}
}

func TestLinks(t *testing.T) {
	c := &templates.Card{Title: "t", Links: []templates.Link{
		{Text: "Dashboard", URL: "https://grafana.example.com/d/x"},
		{Text: "Evil", URL: "javascript:alert(1)"},
		{Text: "Creds", URL: "https://user:pw@example.com/"},
		{Text: "Dup", URL: "https://grafana.example.com/d/x"},
		{Text: "", URL: "http://prometheus:9090/graph"},
		{Kind: templates.LinkRunbook, Text: "runbook", URL: "  https://runbooks.example.com/x  "},
	}}
	m := Compile(c, testKey)
	check(t, m)
	want := `{"inline_keyboard":[[{"text":"runbook","url":"https://runbooks.example.com/x"},{"text":"Dashboard","url":"https://grafana.example.com/d/x"}],[{"text":"prometheus","url":"http://prometheus:9090/graph"}]]}`
	if got := keyboardJSON(t, m); got != want {
		t.Fatalf("keyboard\n got %s\nwant %s", got, want)
	}
	if strings.Contains(m.Text, "http") {
		t.Fatalf("links belong in buttons, not text:\n%s", m.Text)
	}
}

// adversarial strings, each of a bug other tools shipped.
var adversarial = []string{
	`</b><a href="x">click</a>`, `&amp;`, `&#x3c;`, `@admin`, `@channel @all @here`, `https://evil.example/x`,
	`<script>alert(1)</script>`, `evil.com/login`, `www.evil.com`, `mail me: a@b.co`, `/resolve INC-42`,
	`tg://resolve?domain=x`, `<b>`, `&`, `"quoted"`, "\u202Eevil", "line\nbreak\r\n", `<code>x</code>`,
}

func TestAdversarial(t *testing.T) {
	all := strings.Join(adversarial, " ")
	var c templates.Card
	for _, s := range append(adversarial, all) {
		c = templates.Card{IncidentID: s, Title: s, Status: s, Owner: s, Summary: s, WhatToDo: s,
			Facts: []templates.Fact{{Name: s, Value: s}}, Alerts: []string{s}, Labels: []templates.Fact{{Name: s, Value: s}},
			Links:   []templates.Link{{Text: s, URL: s}, {Text: s, URL: "https://example.com/"}},
			Actions: []templates.Action{{ID: templates.ActAck, Label: s}}}
		check(t, Compile(&c, testKey))
		e := EventText(incidents.Event{At: t0, Kind: incidents.EventAcknowledged, Actor: s, Text: s})
		if err := checkText(e); err != nil {
			t.Fatalf("EventText: %v\n%q", err, e)
		}
	}
	m := Compile(&c, testKey)
	for _, want := range []string{"&lt;/b&gt;&lt;a href=&quot;x&quot;&gt;", "&amp;amp;", "&amp;#x3c;", "@\u2060admin",
		"https:\u2060//evil.\u2060example/x", "&lt;script&gt;", "evil.\u2060com/login", "/\u2060resolve"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "<a") || strings.Contains(m.Text, "<script") {
		t.Errorf("markup injected:\n%s", m.Text)
	}
	// Numbers, paths and host:port stay as they are: copyable.
	c = templates.Card{Title: "p99 is 3.2s", Summary: "see /var/log/syslog on pay-1:9100 and 10.0.3.4:9100, v1.2.3"}
	m = Compile(&c, testKey)
	if !strings.Contains(m.Text, "see /var/log/syslog on pay-1:9100 and 10.0.3.4:9100, v1.2.3") || !strings.Contains(m.Text, "p99 is 3.2s") {
		t.Errorf("harmless text changed:\n%q", m.Text)
	}
}

func TestNilAndEmpty(t *testing.T) {
	for _, c := range []*templates.Card{nil, {}, {Title: " \u200b\u202e ", IncidentID: "\t"}} {
		m := Compile(c, nil)
		check(t, m)
		if m.Text != "⚪ <b>SEV? · Incident</b>" {
			t.Errorf("Compile(%+v) = %q", c, m.Text)
		}
	}
	m := Compile(&templates.Card{IncidentID: "INC-7", Title: " "}, nil)
	if m.Text != "⚪ <b>SEV? · INC-7</b>\n<code>INC-7</code>" {
		t.Errorf("a blank title falls back to the ID: %q", m.Text)
	}
}

func TestEventText(t *testing.T) {
	for _, c := range []struct {
		e    incidents.Event
		want string
	}{
		{incidents.Event{At: time.Date(2026, 3, 1, 19, 4, 0, 0, time.FixedZone("WIB", 7*3600)), Kind: incidents.EventAcknowledged, Actor: "alice", Text: "Acknowledged by alice"},
			"<i>12:04 UTC</i> · Acknowledged by alice"},
		{incidents.Event{At: t0, Kind: incidents.EventAlertsFiring, Actor: "@alertmanager"},
			"<i>12:00 UTC</i> · Incident alerts firing by @\u2060alertmanager"},
		{incidents.Event{Text: "Resolved <by> bob & co"}, "Resolved &lt;by&gt; bob &amp; co"},
		{incidents.Event{}, "Incident updated"},
	} {
		got := EventText(c.e)
		if got != c.want {
			t.Errorf("EventText(%+v) = %q, want %q", c.e, got, c.want)
		}
		if err := checkText(got); err != nil {
			t.Errorf("EventText(%+v): %v", c.e, err)
		}
	}
	long := EventText(incidents.Event{At: t0, Text: strings.Repeat("🔥 & @all ", 2000)})
	if err := checkText(long); err != nil || !strings.HasSuffix(long, "…") {
		t.Fatalf("long event: %v\n%q", err, long)
	}
}

func TestConfigs(t *testing.T) {
	m := Compile(card(t, cardtest.Payments(), t0), testKey)
	s := m.SendConfig(-1001234)
	if s.ParseMode != "HTML" || !s.DisableWebPagePreview || s.ReplyMarkup == nil || s.Text != m.Text || s.ChatID != -1001234 {
		t.Errorf("SendConfig: %+v", s)
	}
	e := m.EditConfig(-1001234, 77)
	if e.ParseMode != "HTML" || !e.DisableWebPagePreview || e.ReplyMarkup == nil || e.MessageID != 77 {
		t.Errorf("EditConfig: %+v", e)
	}
	// An edit to a card without buttons removes the old ones.
	e = Message{Text: "x"}.EditConfig(1, 2)
	if b, _ := json.Marshal(e.ReplyMarkup); string(b) != `{"inline_keyboard":[]}` {
		t.Errorf("EditConfig without buttons sends %s", b)
	}
	if s := (Message{Text: "x"}).SendConfig(1); s.ReplyMarkup != nil {
		t.Errorf("SendConfig without buttons sends %v", s.ReplyMarkup)
	}
	r := EventReply(1, 77, incidents.Event{At: t0, Text: "Acknowledged by alice"})
	if r.ReplyToMessageID != 77 || !r.AllowSendingWithoutReply || r.ParseMode != "HTML" || !r.DisableWebPagePreview {
		t.Errorf("EventReply: %+v", r)
	}
}

func addSatTest(a, b int) int {
	if b > 0 && a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func FuzzCompile(f *testing.F) {
	f.Add("Payments slow", "p99 is 3s\nsee runbook", "Firing: x on pay-1", "service", "https://runbooks.example.com/x", 3, 0, 5, 0, 5, 20, uint8(0))
	f.Add("\u202Eevil", strings.Repeat("long ", 3000), "🔥", "\xff\xfe", "javascript:alert(1)", 1200, 5000, 400, 17, 600, 64, uint8(1))
	f.Add(`</b><a href="x">`, "&amp; &#x3c; <script>", "@admin https://evil.example/x", "שלום", "http://x/<!here>", 40, -3, 30, math.MaxInt, 0, 65, uint8(2))
	f.Add("", "", "", "", "", 0, math.MaxInt, 0, -1, 0, 0, uint8(3))
	f.Fuzz(func(t *testing.T, title, summary, line, label, link string, nAlerts, moreAlerts, nLabels, moreLabels, nFacts, keyLen int, state uint8) {
		nAlerts, nLabels, nFacts = min(max(nAlerts, 0), 1200), min(max(nLabels, 0), 400), min(max(nFacts, 0), 600)
		keyLen = min(max(keyLen, 0), 100)
		c := &templates.Card{IncidentID: label, Severity: incidents.Severity(state % 6),
			State: []incidents.State{incidents.Triggered, incidents.Acknowledged, incidents.Resolved, "other"}[state%4],
			Title: title, Status: line, Owner: label, Summary: summary, WhatToDo: summary + title,
			MoreAlerts: moreAlerts, MoreLabels: moreLabels,
			Links: []templates.Link{{Text: label, URL: link}, {Kind: templates.LinkRunbook, Text: "Runbook", URL: "https://runbooks.example.com/" + label}},
			Actions: []templates.Action{{ID: templates.ActAck, Label: title}, {ID: templates.ActResolve, Label: label},
				{ID: templates.ActSnooze, Label: "Snooze 1h", Arg: "1h"}}}
		for i := range nFacts {
			c.Facts = append(c.Facts, templates.Fact{Name: label, Value: line + strings.Repeat("!", i%2)})
		}
		for i := range nAlerts {
			if i%7 == 3 {
				c.Alerts = append(c.Alerts, strings.Repeat(" ", i%3)) // blank lines are not alerts
			} else {
				c.Alerts = append(c.Alerts, line+" "+strconv.Itoa(i))
			}
		}
		for i := range nLabels {
			c.Labels = append(c.Labels, templates.Fact{Name: label + strconv.Itoa(i), Value: title})
		}
		key := func(templates.Action) string { return strings.Repeat("k", keyLen) }
		m, n := compile(c, key)
		check(t, m)

		facts, alerts, labels := 0, 0, 0
		for _, f := range c.Facts {
			if showFact(f) {
				facts++
			}
		}
		for _, a := range c.Alerts {
			if !isBlank(a) {
				alerts++
			}
		}
		for _, l := range c.Labels {
			if showLabel(l) {
				labels++
			}
		}
		wantAlerts := addSatTest(alerts, max(moreAlerts, 0))
		if n.alerts < 0 || n.moreAlerts < 0 || n.alerts+n.moreAlerts != wantAlerts {
			t.Fatalf("%d alerts shown + %d more, want %d", n.alerts, n.moreAlerts, wantAlerts)
		}
		if n.labels < 0 || n.moreLabels < 0 || n.labels+n.moreLabels != addSatTest(labels, max(moreLabels, 0)) {
			t.Fatalf("%d labels shown + %d more, want %d + %d", n.labels, n.moreLabels, labels, moreLabels)
		}
		if n.facts > maxFacts || n.moreFacts < 0 || n.facts+n.moreFacts != facts {
			t.Fatalf("%d facts shown + %d more, want %d", n.facts, n.moreFacts, facts)
		}
		if n.moreAlerts > 0 && !strings.Contains(m.Text, "+"+strconv.Itoa(n.moreAlerts)+" more alert") {
			t.Fatalf("no +%d more alerts:\n%s", n.moreAlerts, m.Text)
		}
		if n.moreLabels > 0 && !strings.Contains(m.Text, "+"+strconv.Itoa(n.moreLabels)+" more") {
			t.Fatalf("no +%d more labels:\n%s", n.moreLabels, m.Text)
		}
		if n.moreFacts > 0 && !strings.Contains(m.Text, "+"+strconv.Itoa(n.moreFacts)+" more fact") {
			t.Fatalf("no +%d more facts:\n%s", n.moreFacts, m.Text)
		}
		if strings.Count(m.Text, "\n• ") < n.alerts {
			t.Fatalf("%d alerts counted as shown:\n%s", n.alerts, m.Text)
		}
		// Alerts and labels are cut only when the text is full.
		if (n.alerts < alerts && u16(m.Text) < MaxText-120) || (n.labels < labels && u16(m.Text) < MaxText-200) {
			t.Fatalf("cut at %d units: %+v\n%s", u16(m.Text), n, m.Text)
		}
		buttons := 0
		for _, row := range m.Keyboard.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != nil {
					buttons++
				}
			}
		}
		if want := map[bool]int{true: 3, false: 0}[keyLen >= 1 && keyLen <= MaxCallbackData]; buttons != want {
			t.Fatalf("%d action buttons with %d-byte keys, want %d", buttons, keyLen, want)
		}
		if err := checkText(EventText(incidents.Event{At: t0, Kind: incidents.EventKind(title), Actor: label, Text: summary})); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkCompile renders and compiles the card of a 1-alert and a
// 1,000-alert incident (issue target: 200 µs and 5 ms), and compiles a
// card at every cap.
func BenchmarkCompile(b *testing.B) {
	s := templates.MustBuiltin()
	for _, n := range []int{1, 1000} {
		inc := cardtest.Storm(n)
		b.Run(fmt.Sprintf("render+compile/alerts=%d", n), func(b *testing.B) {
			for b.Loop() {
				c, err := s.Card(inc, t0.Add(time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				Compile(c, testKey)
			}
		})
		c, err := s.Card(inc, t0.Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("compile/alerts=%d", n), func(b *testing.B) {
			for b.Loop() {
				Compile(c, testKey)
			}
		})
	}
	c, key := hugeCard(64)
	b.Run("compile/huge", func(b *testing.B) {
		for b.Loop() {
			Compile(c, key)
		}
	})
}
