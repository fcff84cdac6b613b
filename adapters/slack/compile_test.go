package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = cardtest.T0

// testKey stands in for the bot's signer.
func testKey(a templates.Action) string {
	k := "k1.42." + string(a.ID)
	if a.Arg != "" {
		k += "." + a.Arg
	}
	return k + ".MAC"
}

func card(t testing.TB, inc *incidents.Incident, now time.Time) *templates.Card {
	t.Helper()
	c, err := templates.MustBuiltin().Card(inc, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, m Message) {
	t.Helper()
	got := marshal(t, m)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/slack -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from %s (go test ./adapters/slack -update rewrites it)\ngot:\n%s", name, path, got)
	}
}

// paymentsCards are the triggered, acknowledged and resolved cards of
// payments, built as templates_test.go builds its golden cards.
func paymentsCards(t testing.TB) map[string]*templates.Card {
	cards := map[string]*templates.Card{}
	for name, inc := range cardtest.Lifecycle() {
		cards[name] = card(t, inc, cardtest.Now)
	}
	return cards
}

func TestGolden(t *testing.T) {
	cards := paymentsCards(t)
	for name, inc := range cardtest.Holds() { // the compact maintenance card and the flapping one
		cards[name] = card(t, inc, cardtest.Now)
	}
	for name, c := range cards {
		m := Compile(c, testKey)
		checkMessage(t, m)
		golden(t, "message-"+name, m)
	}
}

func TestLayout(t *testing.T) {
	cards := paymentsCards(t)
	for name, want := range map[string]struct{ header, text, first string }{
		"triggered":    {"🔴 SEV1 · Payments p99 latency above 2s", "INC-42 · Triggered · SEV1", "klaxon:ack"},
		"acknowledged": {"🔴 SEV1 · Acknowledged · Payments p99 latency above 2s", "Acknowledged by alice 7m ago", "klaxon:resolve"},
		"resolved":     {"✅ Resolved · SEV1 · Payments p99 latency above 2s", "Resolved by bob 2m ago", "klaxon:feedback"},
	} {
		m := Compile(cards[name], testKey)
		blocks := checkMessage(t, m).blocks
		if got := text(blocks[0]["text"]); got != want.header {
			t.Errorf("%s: header %q, want %q", name, got, want.header)
		}
		if !strings.HasPrefix(m.Text, want.header+"\n") || !strings.Contains(m.Text, want.text) {
			t.Errorf("%s: text %q, want the header and %q", name, m.Text, want.text)
		}
		var ids []string
		for _, b := range blocks {
			ids = append(ids, b["block_id"].(string))
			if b["type"] == "actions" {
				if id := b["elements"].([]any)[0].(map[string]any)["action_id"]; id != want.first {
					t.Errorf("%s: first button %v, want %s", name, id, want.first)
				}
			}
		}
		if got := strings.Join(ids, ","); got != "header,status,summary,todo,facts,actions,alerts,labels" {
			t.Errorf("%s: blocks %s", name, got)
		}
	}
}

// checked is what checkMessage found in a message.
type checked struct {
	blocks []map[string]any
	plain  []string // every plain_text object's text
	mrkdwn []string // every mrkdwn object's text
}

// units counts like Slack at its most demanding: UTF-16 code units.
func u16(s string) int { return len(utf16.Encode([]rune(s))) }

// checkMessage walks m's JSON as Slack would receive it and fails the test
// on anything Slack refuses or that breaks klaxon's promises.
func checkMessage(t testing.TB, m Message) checked {
	t.Helper()
	var out checked
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nmessage: %.4000s", fmt.Sprintf(format, args...), marshal(t, m))
	}
	// The fallback text.
	if m.Text == "" || !utf8.ValidString(m.Text) || u16(m.Text) > 3000 {
		fail("text: empty, invalid or %d units long", u16(m.Text))
	}
	if strings.ContainsAny(m.Text, "<>") || strings.Contains(m.Text, "<!") {
		fail("text holds < or >: %q", m.Text)
	}
	for i := strings.IndexByte(m.Text, '&'); i >= 0; i = strings.IndexByte(m.Text[i+1:], '&') + i + 1 {
		rest := m.Text[i:]
		if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
			fail("text holds an unescaped &: %q", m.Text)
		}
		if strings.IndexByte(m.Text[i+1:], '&') < 0 {
			break
		}
	}
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		fail("marshal: %v", err)
	}
	if len(raw) > Budget || utf8.RuneCount(raw) >= 12000 || !utf8.Valid(raw) {
		fail("blocks JSON is %d bytes (budget %d)", len(raw), Budget)
	}
	if err := json.Unmarshal(raw, &out.blocks); err != nil {
		fail("unmarshal: %v", err)
	}
	if len(out.blocks) == 0 || len(out.blocks) > 50 {
		fail("%d blocks", len(out.blocks))
	}
	textObj := func(where string, v any, max int) string {
		t.Helper()
		o, ok := v.(map[string]any)
		if !ok {
			fail("%s: not a text object: %v", where, v)
		}
		s, _ := o["text"].(string)
		if s == "" || !utf8.ValidString(s) || u16(s) > max || u16(s) > 3000 {
			fail("%s: text empty or %d units (max %d): %q", where, u16(s), max, s)
		}
		switch o["type"] {
		case "plain_text":
			out.plain = append(out.plain, s)
		case "mrkdwn":
			out.mrkdwn = append(out.mrkdwn, s)
		default:
			fail("%s: text object of type %v", where, o["type"])
		}
		return s
	}
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	for i, b := range out.blocks {
		where := fmt.Sprintf("block %d (%v)", i, b["type"])
		if id, ok := b["block_id"].(string); ok {
			if id == "" || len(id) > 255 || blockIDs[id] {
				fail("%s: block_id %q empty, long or repeated", where, id)
			}
			blockIDs[id] = true
		}
		switch b["type"] {
		case "header":
			if o, _ := b["text"].(map[string]any); o == nil || o["type"] != "plain_text" {
				fail("%s: header text must be plain_text", where)
			}
			textObj(where, b["text"], 150)
		case "section":
			fields, _ := b["fields"].([]any)
			if b["text"] == nil && len(fields) == 0 {
				fail("%s: empty section", where)
			}
			if b["text"] != nil {
				textObj(where, b["text"], 3000)
			}
			if len(fields) > 10 {
				fail("%s: %d fields", where, len(fields))
			}
			for _, f := range fields {
				textObj(where+" field", f, 2000)
			}
			if b["accessory"] != nil {
				fail("%s: unexpected accessory", where)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				fail("%s: %d elements", where, len(els))
			}
			for _, e := range els {
				e := e.(map[string]any)
				if e["type"] != "button" {
					fail("%s: element of type %v", where, e["type"])
				}
				if o, _ := e["text"].(map[string]any); o == nil || o["type"] != "plain_text" {
					fail("%s: button text must be plain_text", where)
				}
				textObj(where+" button", e["text"], 75)
				id, _ := e["action_id"].(string)
				if id == "" || u16(id) > 255 || actionIDs[id] {
					fail("%s: action_id %q empty, long or repeated", where, id)
				}
				actionIDs[id] = true
				value, hasValue := e["value"].(string)
				url, hasURL := e["url"].(string)
				if hasValue == hasURL || (hasValue && (value == "" || u16(value) > 2000)) {
					fail("%s: button %q has value %q and url %q", where, id, value, url)
				}
				if hasURL {
					if _, ok := templates.SafeURL(url); !ok || u16(url) > 3000 || !strings.HasPrefix(id, LinkActionIDPrefix) {
						fail("%s: bad link button %q %q", where, id, url)
					}
				} else if !strings.HasPrefix(id, ActionIDPrefix) {
					fail("%s: action button %q", where, id)
				}
				if st, ok := e["style"]; ok && st != "primary" && st != "danger" {
					fail("%s: style %v", where, st)
				}
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				fail("%s: %d elements", where, len(els))
			}
			for _, e := range els {
				textObj(where+" element", e, 3000)
			}
		case "divider":
		default:
			fail("%s: unexpected block type", where)
		}
	}
	return out
}

// text is a text object's text.
func text(v any) string {
	o, _ := v.(map[string]any)
	s, _ := o["text"].(string)
	return s
}

var (
	moreAlertsRE = regexp.MustCompile(`^\+(\d+) more alerts?$`)
	moreLabelsRE = regexp.MustCompile(`^\+(\d+) more labels?$`)
	moreFactsRE  = regexp.MustCompile(`^\+(\d+) more facts?$`)
)

// more parses "+N more things", checking its plural.
func more(t testing.TB, re *regexp.Regexp, s string) (int, bool) {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 || (n == 1) != !strings.HasSuffix(s, "s") {
		t.Fatalf("bad count %q", s)
	}
	return n, true
}

// counts returns how many alert lines, labels and facts m shows and how
// many its "+N more" say it does not.
type counts struct{ alerts, moreAlerts, labels, moreLabels, facts, moreFacts int }

func countsOf(t testing.TB, ch checked) counts {
	t.Helper()
	var c counts
	for _, b := range ch.blocks {
		id := b["block_id"].(string)
		switch {
		case strings.HasPrefix(id, BlockAlerts):
			for _, l := range strings.Split(text(b["text"]), "\n") {
				if strings.HasPrefix(l, "• ") {
					if c.moreAlerts > 0 {
						t.Fatalf("alert line after +N more: %q", l)
					}
					c.alerts++
				} else if n, ok := more(t, moreAlertsRE, l); ok && c.moreAlerts == 0 {
					c.moreAlerts = n
				} else {
					t.Fatalf("unexpected alerts line %q", l)
				}
			}
		case id == BlockLabels:
			els := b["elements"].([]any)
			c.labels = len(els)
			if n, ok := more(t, moreLabelsRE, text(els[len(els)-1])); ok {
				c.labels, c.moreLabels = len(els)-1, n
			}
		case id == BlockFacts:
			fields := b["fields"].([]any)
			c.facts = len(fields)
			if n, ok := more(t, moreFactsRE, text(fields[len(fields)-1])); ok {
				c.facts, c.moreFacts = len(fields)-1, n
			}
		}
	}
	return c
}

// checkCounts checks the "+N more" arithmetic of m compiled from c.
func checkCounts(t testing.TB, c *templates.Card, ch checked) counts {
	t.Helper()
	got := countsOf(t, ch)
	if want := len(c.Alerts) + max(c.MoreAlerts, 0); got.alerts+got.moreAlerts != want || got.alerts > len(c.Alerts) {
		t.Fatalf("%d alert lines shown + %d more, want %d in all", got.alerts, got.moreAlerts, want)
	}
	// A label named "+2 more labels" may pass for the count: accept either reading.
	if want := len(c.Labels) + max(c.MoreLabels, 0); got.labels+got.moreLabels != want && got.labels+got.moreLabels+1 != want+got.moreLabels {
		t.Fatalf("%d labels shown + %d more, want %d in all", got.labels, got.moreLabels, want)
	}
	if got.facts+got.moreFacts != len(c.Facts) && got.facts+1 != len(c.Facts) {
		t.Fatalf("%d facts shown + %d more, want %d in all", got.facts, got.moreFacts, len(c.Facts))
	}
	return got
}

func TestManyAlerts(t *testing.T) {
	inc := cardtest.Payments()
	var alerts []incidents.Alert
	for i := range 1000 {
		alerts = append(alerts, incidents.Alert{Fingerprint: fmt.Sprint(i), Status: incidents.AlertFiring, StartsAt: t0,
			Labels:      map[string]string{"alertname": "Disk", "instance": fmt.Sprintf("db-%d", i)},
			Annotations: map[string]string{"summary": strings.Repeat("disk almost full ", 20)}})
	}
	inc.ApplyBatch(&incidents.Batch{Source: "alertmanager", GroupKey: "g", Alerts: alerts}, t0.Add(time.Minute))
	c := card(t, inc, t0.Add(time.Hour))
	ch := checkMessage(t, Compile(c, testKey))
	got := checkCounts(t, c, ch)
	if got.alerts == 0 || got.alerts+got.moreAlerts != 1003 {
		t.Fatalf("%+v", got)
	}
}

// TestLimits compiles cards from hostile incidents and hostile cards and
// checks every limit.
func TestLimits(t *testing.T) {
	manyLabels := cardtest.Payments()
	for i := range 300 {
		manyLabels.Alerts[0].Labels[fmt.Sprintf("label_%03d", i)] = strings.Repeat("v", i)
	}
	longDesc := cardtest.Payments()
	longDesc.Alerts[0].Annotations["description"] = strings.Repeat("Ünïcödé & <b> text. ", 500)
	emoji := cardtest.Payments()
	emoji.Title = strings.Repeat("🔥👩‍👩‍👧‍👦🏳️‍🌈", 100)
	emoji.Alerts[0].Annotations["description"] = strings.Repeat("🚨", 5000)
	emoji.Alerts[0].Labels["instance"] = strings.Repeat("😀", 400)
	rtl := cardtest.Payments()
	rtl.Title = strings.Repeat("שלום עולם مرحبا بالعالم ", 20)
	rtl.Alerts[0].Annotations["description"] = "‮exe.txt " + strings.Repeat("تحذير: الخادم متوقف ", 300)
	invalid := cardtest.Payments()
	invalid.Title = "bad ÿþ utf8 Ã"
	invalid.Alerts[0].Annotations["description"] = strings.Repeat("â", 4000)
	invalid.Alerts[0].Labels["ÿ"] = "À¯"
	for name, inc := range map[string]*incidents.Incident{
		"300 labels": manyLabels, "10000-char description": longDesc, "emoji": emoji, "rtl": rtl, "invalid utf-8": invalid,
	} {
		t.Run(name, func(t *testing.T) {
			for _, st := range []incidents.Action{"", incidents.Acknowledge, incidents.Resolve} {
				inc := inc.Clone()
				if st != "" {
					_ = inc.Apply(st, "alice", "", t0.Add(time.Minute))
				}
				c := card(t, inc, t0.Add(time.Hour))
				checkCounts(t, c, checkMessage(t, Compile(c, testKey)))
			}
		})
	}
	t.Run("huge card", func(t *testing.T) {
		c := hugeCard(100000, 500, 500, 100)
		ch := checkMessage(t, Compile(c, testKey))
		checkCounts(t, c, ch)
		// The buttons survive: the acknowledge button and the runbook.
		var ids []string
		for _, b := range ch.blocks {
			if b["type"] == "actions" {
				for _, e := range b["elements"].([]any) {
					ids = append(ids, e.(map[string]any)["action_id"].(string))
				}
			}
		}
		if len(ids) < 2 || ids[0] != "klaxon:ack" || !slicesContain(ids, "klaxon-link-0") {
			t.Errorf("buttons %v", ids)
		}
	})
}

// TestWorstTemplatedCard fills every part of a templates-made card to its
// caps, with long link URLs: the budget keeps some of everything.
func TestWorstTemplatedCard(t *testing.T) {
	inc := cardtest.Payments()
	var alerts []incidents.Alert
	for i := range 30 {
		a := inc.Alerts[0]
		a.Fingerprint = fmt.Sprint("x", i)
		a.Labels = map[string]string{"alertname": strings.Repeat("Name", 30), "instance": fmt.Sprint("host-", i)}
		a.Annotations = map[string]string{"summary": strings.Repeat("summary ", 50)}
		alerts = append(alerts, a)
	}
	inc.ApplyBatch(&incidents.Batch{Source: "alertmanager", GroupKey: "g", Alerts: alerts}, t0.Add(time.Minute))
	a := inc.Alerts[0]
	a.Annotations["description"] = strings.Repeat("A long description. ", 600)
	a.Annotations["what_to_do"] = strings.Repeat("Do this, then that. ", 300)
	for _, k := range []string{"runbook_url", "dashboard_url", "panel_url", "silence_url"} {
		a.Annotations[k] = "https://" + k + ".example.com/" + strings.Repeat("q", 1950)
	}
	a.GeneratorURL = "https://graph.example.com/" + strings.Repeat("g", 1970)
	inc.ExternalURL = "https://am.example.com/" + strings.Repeat("e", 1970)
	for i := range 60 {
		a.Labels[fmt.Sprintf("label_%02d", i)] = strings.Repeat("v", 300)
	}
	c := card(t, inc, t0.Add(time.Hour))
	ch := checkMessage(t, Compile(c, testKey))
	got := checkCounts(t, c, ch)
	if got.alerts < floorItems || got.labels < floorItems || got.facts != len(c.Facts) {
		t.Errorf("the budget cut too much: %+v", got)
	}
	var summary, todo string
	var buttons []string
	for _, b := range ch.blocks {
		switch b["block_id"] {
		case BlockSummary:
			summary = text(b["text"])
		case BlockToDo:
			todo = text(b["text"])
		case BlockActions:
			for _, e := range b["elements"].([]any) {
				buttons = append(buttons, text(e.(map[string]any)["text"]))
			}
		}
	}
	if u16(summary) < floorText || u16(todo) < floorText {
		t.Errorf("summary of %d, what to do of %d units", u16(summary), u16(todo))
	}
	if len(buttons) < 5 || buttons[0] != "Acknowledge" || buttons[4] != "Runbook" {
		t.Errorf("buttons %v", buttons)
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// hugeCard is a Card built directly, ignoring every templates cap: n-char
// strings, facts facts, links links (the runbook last) and actions actions.
func hugeCard(n, facts, links, actions int) *templates.Card {
	cache := map[string]string{}
	long := func(s string) string {
		if l, ok := cache[s]; ok {
			return l
		}
		l := strings.Repeat(s, n/len(s)+1)[:n]
		cache[s] = l
		return l
	}
	c := &templates.Card{IncidentID: "INC-" + long("9"), Severity: incidents.Sev2, State: incidents.Triggered,
		Title: long("Title "), Status: long("Status "), Owner: long("Owner "), Summary: long("Summary\n"), WhatToDo: long("Do "),
		MoreAlerts: 5, MoreLabels: 7}
	for i := range facts {
		c.Facts = append(c.Facts, templates.Fact{Name: long("Name"), Value: long("Value ") + strconv.Itoa(i)})
		c.Labels = append(c.Labels, templates.Fact{Name: long("name"), Value: long("value")})
		c.Alerts = append(c.Alerts, long("Firing: alert "))
	}
	for i := range links {
		c.Links = append(c.Links, templates.Link{Text: long("Graph"), URL: "https://example.com/" + strconv.Itoa(i) + "/" + strings.Repeat("p", 1900)})
	}
	c.Links = append(c.Links, templates.Link{Kind: templates.LinkRunbook, Text: "Runbook", URL: "https://runbooks.example.com/x"})
	ids := []templates.ActionID{templates.ActAck, templates.ActResolve, templates.ActEscalate, templates.ActSnooze}
	for i := range actions {
		c.Actions = append(c.Actions, templates.Action{ID: ids[i%len(ids)], Label: long("Label"), Style: "primary"})
	}
	return c
}

var adversarial = []string{"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C1>", "<https://x|y>", "&amp;", "*b*", "_i_", "~s~", "`code`", "```block```", "<!subteam^S1>", "@here", "@channel"}

// TestAdversarial puts markup in every field of an incident and a card:
// none of it may reach a mrkdwn object, or Text unescaped.
func TestAdversarial(t *testing.T) {
	evil := strings.Join(adversarial, " ")
	inc := cardtest.Payments()
	inc.Title = evil
	inc.Team = evil
	for i := range inc.Alerts {
		a := &inc.Alerts[i]
		for k := range a.Annotations {
			if !strings.HasSuffix(k, "_url") {
				a.Annotations[k] = evil
			}
		}
		a.Annotations["runbook_url"] = "https://x/<!channel>"
		a.Labels["instance"] = evil
		a.Labels[evil] = evil
	}
	_ = inc.Apply(incidents.Acknowledge, evil, "", t0.Add(time.Minute))
	direct := hugeCard(40, 3, 2, 4)
	for _, p := range []*string{&direct.IncidentID, &direct.Title, &direct.Status, &direct.Owner, &direct.Summary, &direct.WhatToDo} {
		*p = evil
	}
	direct.Alerts = []string{evil, evil}
	direct.Facts = []templates.Fact{{Name: evil, Value: evil}}
	direct.Labels = []templates.Fact{{Name: evil, Value: evil}}
	direct.Links = append(direct.Links, templates.Link{Text: evil, URL: "javascript:alert(1)"}, templates.Link{Text: evil, URL: "https://ok.example.com/" + evil})
	direct.Actions = []templates.Action{{ID: "ack", Label: evil, Style: evil}}
	for name, c := range map[string]*templates.Card{"incident": card(t, inc, t0.Add(time.Hour)), "card": direct} {
		m := Compile(c, testKey)
		ch := checkMessage(t, m)
		for _, s := range ch.mrkdwn {
			for _, a := range adversarial {
				if strings.Contains(s, a) {
					t.Errorf("%s: %q inside a mrkdwn object: %q", name, a, s)
				}
			}
		}
		if len(ch.mrkdwn) > 0 {
			t.Errorf("%s: the compiler emits mrkdwn: %q", name, ch.mrkdwn)
		}
		for _, a := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C1>", "<https://x|y>"} {
			if strings.Contains(m.Text, a) {
				t.Errorf("%s: text holds %q: %q", name, a, m.Text)
			}
		}
		if !strings.Contains(m.Text, "&lt;!channel&gt;") || !strings.Contains(m.Text, "&amp;amp;") {
			t.Errorf("%s: text %q does not show the markup escaped", name, m.Text)
		}
		// The data is shown as it is, not lost.
		if all := strings.Join(ch.plain, "\n"); !strings.Contains(all, evil) {
			t.Errorf("%s: the plain text does not show %q", name, evil)
		}
		raw, _ := json.Marshal(m.Blocks)
		for _, bad := range []string{"javascript:", "https://x/\u003c!channel"} {
			if strings.Contains(string(raw), bad) {
				t.Errorf("%s: %q reached the blocks", name, bad)
			}
		}
	}
}

func TestButtons(t *testing.T) {
	c := &templates.Card{Title: "t", Actions: []templates.Action{
		{ID: "ack", Label: "Acknowledge", Style: "primary"},
		{ID: "snooze", Label: "Snooze 1h", Arg: "1h", Style: "bold"},
		{ID: "snooze", Label: "Snooze 4h", Arg: "4h"},
		{ID: "snooze:2", Label: "Colliding"},
		{ID: "nokey", Label: "No key"},
		{ID: "has space", Label: "Bad ID"},
		{ID: templates.ActionID(strings.Repeat("x", 300)), Label: "Long ID"},
		{ID: "escalate", Label: ""},
	}, Links: []templates.Link{
		{Text: "Graph", URL: "https://g.example.com/"},
		{Text: "", URL: "https://blank.example.com/"},
		{Text: "Evil", URL: "javascript:alert(1)"},
		{Text: "Same", URL: "https://g.example.com/"},
		{Kind: templates.LinkRunbook, Text: "Runbook", URL: " https://runbooks.example.com/x "},
	}}
	key := func(a templates.Action) string {
		switch a.ID {
		case "nokey":
			return ""
		case "escalate":
			return "k1.1.escalate.MAC"
		}
		return "k1.1." + string(a.ID) + "." + a.Arg
	}
	ch := checkMessage(t, Compile(c, key))
	var got []string
	for _, b := range ch.blocks {
		if b["type"] == "actions" {
			for _, e := range b["elements"].([]any) {
				e := e.(map[string]any)
				got = append(got, fmt.Sprintf("%v|%v|%v%v|%v", e["action_id"], text(e["text"]), e["value"], e["url"], e["style"]))
			}
		}
	}
	want := []string{
		"klaxon:ack|Acknowledge|k1.1.ack.<nil>|primary",
		"klaxon:snooze|Snooze 1h|k1.1.snooze.1h<nil>|<nil>",
		"klaxon:snooze:2|Snooze 4h|k1.1.snooze.4h<nil>|<nil>",
		"klaxon:snooze:2:2|Colliding|k1.1.snooze:2.<nil>|<nil>",
		"klaxon:escalate|escalate|k1.1.escalate.MAC<nil>|<nil>",
		"klaxon-link-0|Runbook|<nil>https://runbooks.example.com/x|<nil>",
		"klaxon-link-1|Graph|<nil>https://g.example.com/|<nil>",
		"klaxon-link-2|Link|<nil>https://blank.example.com/|<nil>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("buttons:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// No key: only links.
	for _, b := range checkMessage(t, Compile(c, nil)).blocks {
		if b["type"] == "actions" && len(b["elements"].([]any)) != 3 {
			t.Errorf("nil key: %v", b["elements"])
		}
	}
}

func TestEmptyCard(t *testing.T) {
	for _, c := range []*templates.Card{nil, {}, {Title: "   ", Summary: "\n\t", Alerts: []string{"", " "}, Labels: []templates.Fact{{}}, Facts: []templates.Fact{{Name: "x"}}}} {
		m := Compile(c, testKey)
		ch := checkMessage(t, m)
		if c != nil {
			checkCounts(t, c, ch)
		}
		if text(ch.blocks[0]["text"]) != "⚪ Incident" {
			t.Errorf("header %q", text(ch.blocks[0]["text"]))
		}
	}
}

func TestShortTexts(t *testing.T) {
	c := &templates.Card{IncidentID: "INC-1", Title: "t", Status: "Up", Summary: "Disk full", WhatToDo: "Wait", Facts: []templates.Fact{{Name: "V", Value: "1"}}}
	var got []string
	for _, b := range checkMessage(t, Compile(c, nil)).blocks {
		got = append(got, b["block_id"].(string)+"="+text(b["text"]))
	}
	if want := "header=⚪ t,status=INC-1 · Up,summary=Disk full,todo=What to do: Wait,facts="; strings.Join(got, ",") != want {
		t.Errorf("blocks %s, want %s", strings.Join(got, ","), want)
	}
}

func TestMoreCounts(t *testing.T) {
	c := &templates.Card{Title: "t", Alerts: []string{"a", "b"}, MoreAlerts: 1, Labels: []templates.Fact{{Name: "a", Value: "1"}}, MoreLabels: math.MaxInt}
	ch := checkMessage(t, Compile(c, nil))
	got := countsOf(t, ch)
	if got.alerts != 2 || got.moreAlerts != 1 || got.labels != 1 || got.moreLabels != math.MaxInt {
		t.Errorf("%+v", got)
	}
	c.MoreAlerts, c.MoreLabels = -5, -1
	if got := countsOf(t, checkMessage(t, Compile(c, nil))); got.moreAlerts != 0 || got.moreLabels != 0 {
		t.Errorf("negative counts: %+v", got)
	}
	c.Alerts = make([]string, 40)
	for i := range c.Alerts {
		c.Alerts[i] = strings.Repeat("x", 290)
	}
	// 40 lines of 292 units need more than one section: the alerts take two.
	ch = checkMessage(t, Compile(c, nil))
	if got := countsOf(t, ch); got.alerts+got.moreAlerts != 40 || got.alerts < 11 {
		t.Errorf("%+v", got)
	}
}

func TestEventText(t *testing.T) {
	at := time.Date(2026, 3, 1, 19, 4, 0, 0, time.FixedZone("WIB", 7*3600))
	for _, c := range []struct {
		e    incidents.Event
		want string
	}{
		{incidents.Event{At: at, Kind: incidents.EventAcknowledged, Actor: "alice", Text: "Acknowledged by alice"}, "12:04 UTC · Acknowledged by alice"},
		{incidents.Event{At: at, Kind: incidents.EventTriggered, Text: "Incident opened: <!channel> & <@U1> *b*"}, "12:04 UTC · Incident opened: &lt;!channel&gt; &amp; &lt;@U1&gt; *b*"},
		{incidents.Event{At: at, Kind: incidents.EventResolved, Actor: "bob"}, "12:04 UTC · Resolved by bob"},
		{incidents.Event{Kind: "custom_thing"}, "Custom thing"},
		{incidents.Event{}, "Update"},
		{incidents.Event{At: at, Text: "line\none\r\x07 \u202Eevil\xff"}, "12:04 UTC · line one  evil\uFFFD"},
	} {
		if got := EventText(c.e); got != c.want {
			t.Errorf("EventText(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
	long := EventText(incidents.Event{At: at, Text: strings.Repeat("<", 5000)})
	if u16(long) > 3000 || !strings.HasSuffix(long, "&lt;…") || strings.Contains(long, "<") {
		t.Errorf("long event: %d units, ends %q", u16(long), long[len(long)-20:])
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct {
		in        string
		max       int
		multiline bool
		want      string
	}{
		{"  plain  ", 10, false, "plain"},
		{"a\nb\tc", 10, false, "a b c"},
		{"a\nb\tc", 10, true, "a\nb\tc"},
		{"a\n\n\n\n\nb\r\n\r\n\r\nc", 10, true, "a\n\nb\n\nc"},
		{"\n\na\n\n", 10, true, "a"},
		{"a\u2028b", 10, false, "a b"},
		{"bad \xff utf8", 20, false, "bad \uFFFD utf8"},
		{"abcdefghij", 5, false, "abcd…"},
		{"abcd      ", 5, false, "abcd"},
		{"abcd\x07\x07\x07", 5, false, "abcd"},
		{"abc defgh", 5, false, "abc…"},
		{"🔥🔥🔥🔥", 5, false, "🔥🔥…"},
		{"🔥🔥", 4, false, "🔥🔥"},
		{"👩‍👩‍👧", 5, false, "👩…"},
		{"evil\u202Etxt", 20, false, "eviltxt"},
		{"x", 0, false, ""},
		{"xy", 1, false, "…"},
	} {
		if got := fit(c.in, c.max, c.multiline); got != c.want {
			t.Errorf("fit(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
	if got := escapeFit("a&b<c>", 100); got != "a&amp;b&lt;c&gt;" {
		t.Errorf("escapeFit = %q", got)
	}
	if got := escapeFit("ab&&", 8); got != "ab&amp;…" {
		t.Errorf("escapeFit cut = %q", got)
	}
}

// FuzzCompile compiles Cards built from fuzzed strings and counts.
func FuzzCompile(f *testing.F) {
	f.Add("Payments slow", "p99 is 3s\nsee runbook", "Firing: X on pay-1", "env", "prod", "https://runbooks.example.com/x", "Ack", "k1", uint16(3), uint16(4), uint16(5), uint16(4), uint16(4), int32(2), int32(0), uint8(0), uint8(1))
	f.Add(strings.Repeat("🔥", 200), strings.Repeat("<!channel> ", 1000), "\xff\xfe", "", "\u202E", "javascript:alert(1)", "", "", uint16(1000), uint16(300), uint16(500), uint16(500), uint16(100), int32(-3), int32(70000), uint8(2), uint8(9))
	f.Add("שלום", "&amp; *b* _i_", strings.Repeat("x", 3000), strings.Repeat("n", 3000), strings.Repeat("v", 3000), "http://x/"+strings.Repeat("a", 1990), strings.Repeat("L", 100), strings.Repeat("k", 2001), uint16(50), uint16(20), uint16(20), uint16(30), uint16(30), int32(0), int32(1), uint8(1), uint8(4))
	f.Fuzz(func(t *testing.T, title, summary, line, name, value, url, label, keyText string, nAlerts, nLabels, nFacts, nLinks, nActions uint16, moreAlerts, moreLabels int32, state, sev uint8) {
		c := &templates.Card{IncidentID: "INC-" + name, Severity: incidents.Severity(sev % 6), State: incidents.States[int(state)%3],
			Title: title, Status: summary + line, Owner: label, Summary: summary, WhatToDo: line + summary,
			MoreAlerts: int(moreAlerts), MoreLabels: int(moreLabels)}
		for i := range int(nAlerts % 2000) {
			c.Alerts = append(c.Alerts, line+strconv.Itoa(i))
		}
		for i := range int(nLabels % 400) {
			c.Labels = append(c.Labels, templates.Fact{Name: name + strconv.Itoa(i), Value: value})
		}
		for i := range int(nFacts % 600) {
			c.Facts = append(c.Facts, templates.Fact{Name: name, Value: value + strconv.Itoa(i)})
		}
		for i := range int(nLinks % 600) {
			c.Links = append(c.Links, templates.Link{Text: label, URL: url + strconv.Itoa(i)})
		}
		for i := range int(nActions % 120) {
			c.Actions = append(c.Actions, templates.Action{ID: templates.ActionID(label + strconv.Itoa(i%7)), Label: label, Style: []string{"primary", "danger", "", value}[i%4]})
		}
		key := func(a templates.Action) string { return keyText + string(a.ID) }
		m := Compile(c, key)
		ch := checkMessage(t, m)
		checkCounts(t, c, ch)
		// Each action button carries its action's key, verbatim.
		ids := map[string]string{}
		for _, a := range c.Actions {
			ids[key(a)] = string(a.ID)
		}
		for _, b := range ch.blocks {
			if b["type"] != "actions" {
				continue
			}
			for _, e := range b["elements"].([]any) {
				e := e.(map[string]any)
				v, ok := e["value"].(string)
				if id, known := ids[v]; ok && (!known || !strings.HasPrefix(e["action_id"].(string), ActionIDPrefix+id)) {
					t.Fatalf("button %v carries %q", e["action_id"], v)
				}
			}
		}
		ev := EventText(incidents.Event{At: t0, Kind: incidents.EventKind(name), Actor: label, Text: summary})
		if ev == "" || u16(ev) > 3000 || strings.ContainsAny(ev, "<>") || !utf8.ValidString(ev) {
			t.Fatalf("EventText = %q", ev)
		}
	})
}

// BenchmarkCompile renders and compiles the card of a 1-alert and a
// 1,000-alert incident (targets: 200 µs and 5 ms).
func BenchmarkCompile(b *testing.B) {
	s := templates.MustBuiltin()
	for _, n := range []int{1, 1000} {
		inc := cardtest.Storm(n)
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
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
		b.Run(fmt.Sprintf("compile-only/alerts=%d", n), func(b *testing.B) {
			for b.Loop() {
				Compile(c, testKey)
			}
		})
	}
	huge := hugeCard(100000, 500, 500, 100)
	b.Run("compile-only/huge-card", func(b *testing.B) {
		for b.Loop() {
			Compile(huge, testKey)
		}
	})
}
