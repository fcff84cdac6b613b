package mattermost

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
	"unicode"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = cardtest.T0

const testActionURL = "https://klaxon.example.com/mattermost/actions"

// testKey stands in for the caller's signed key.
func testKey(a templates.Action) string {
	return "k1." + strings.ToValidUTF8(string(a.ID), "") + "." + strings.ToValidUTF8(a.Arg, "") + ".c2ln"
}

func card(t testing.TB, inc *incidents.Incident, now time.Time) *templates.Card {
	t.Helper()
	c, err := templates.MustBuiltin().Card(inc, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func golden(t *testing.T, name string, p *Post) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		t.Fatal(err)
	}
	// Readable: the props' own marshaling escapes these; JSON reads them alike.
	got := strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(buf.String())
	buf.Reset()
	buf.WriteString(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/mattermost -update to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs from %s (go test ./adapters/mattermost -update rewrites it)\ngot:\n%s", name, path, buf.Bytes())
	}
}

// TestGoldenHolds: the compact "in maintenance" post and the flapping one.
func TestGoldenHolds(t *testing.T) {
	for name, inc := range cardtest.Holds() {
		c := card(t, inc, cardtest.Now)
		p, st := compile(c, testKey, testActionURL)
		check(t, p, st, c)
		if st.alertsShown != len(c.Alerts) || st.linksShown != len(c.Links) {
			t.Errorf("%s: %+v: something was cut", name, st)
		}
		golden(t, "post-"+name, p)
	}
}

func TestGoldenPosts(t *testing.T) {
	now, cases := cardtest.Now, cardtest.Lifecycle()
	colors := map[string]string{"triggered": colorCritical, "acknowledged": colorAcked, "resolved": colorResolved}
	for name, inc := range cases {
		c := card(t, inc, now)
		p, st := compile(c, testKey, testActionURL)
		check(t, p, st, c)
		a := attachment(t, p)
		if a.Color != colors[name] {
			t.Errorf("%s: color %s, want %s", name, a.Color, colors[name])
		}
		if a.Title != "SEV1 · Payments p99 latency above 2s" {
			t.Errorf("%s: title %q", name, a.Title)
		}
		if len(a.Actions) != len(c.Actions) || len(a.Fields) != len(c.Facts) || st.alertsShown != 3 || st.linksShown != len(c.Links) {
			t.Errorf("%s: %d actions, %d fields, %+v: something was cut", name, len(a.Actions), len(a.Fields), st)
		}
		if !strings.HasPrefix(render(t, a.Text), c.Status) {
			t.Errorf("%s: the text does not start with the status line:\n%s", name, a.Text)
		}
		golden(t, "post-"+name, p)
	}
}

// attachment returns the post's attachment as Mattermost reads it (see
// asModel).
func attachment(t testing.TB, p *Post) *model.SlackAttachment {
	t.Helper()
	atts, ok := p.Props[PropAttachments].([]*MessageAttachment)
	if !ok || len(atts) != 1 || atts[0] == nil {
		t.Fatalf("props[attachments] = %#v, want one *MessageAttachment", p.Props[PropAttachments])
	}
	m := asModel(t, p).Attachments()
	if len(m) != 1 {
		t.Fatalf("Mattermost reads %d attachments", len(m))
	}
	return m[0]
}

// asModel is p as Mattermost reads it: its JSON decoded into a model.Post,
// the attachments typed as the server types them.
func asModel(t testing.TB, p *Post) *model.Post {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q model.Post
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatalf("Mattermost cannot decode the post: %v", err)
	}
	if q.GetProp(model.PostPropsAttachments) != nil {
		q.AddProp(model.PostPropsAttachments, q.Attachments())
	}
	return &q
}

// ---- the checker ----

var (
	reHexColor  = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
	reActionID  = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	reWWW       = regexp.MustCompile(`(?i)(^|[^\pL\pN])www\d{0,3}\.`)
	reScheme    = regexp.MustCompile(`(^|[^A-Za-z0-9])[A-Za-z][A-Za-z0-9]*:[\pL\pN%]`)
	reHashtag   = regexp.MustCompile(`#\pL`)
	reMoreAlert = regexp.MustCompile(`^\\\+(\d+) more alerts?$`)
)

// check asserts every Mattermost limit and every escaping rule on a
// compiled post, and that st tells the truth about it.
func check(t testing.TB, p *Post, st stats, c *templates.Card) {
	t.Helper()
	if c == nil {
		c = &templates.Card{}
	}
	a := attachment(t, p)

	// Sizes.
	runes := utf8.RuneCountInString(p.Message) + utf8.RuneCountInString(a.Fallback) +
		utf8.RuneCountInString(a.Title) + utf8.RuneCountInString(a.Text)
	for _, f := range a.Fields {
		v, ok := f.Value.(string)
		if !ok {
			t.Fatalf("field value %#v is not a string", f.Value)
		}
		runes += utf8.RuneCountInString(f.Title) + utf8.RuneCountInString(v)
	}
	for _, pa := range a.Actions {
		runes += utf8.RuneCountInString(pa.Name)
	}
	if runes > MaxRunes {
		t.Fatalf("message and attachment hold %d runes, limit %d", runes, MaxRunes)
	}
	props, err := json.Marshal(p.Props)
	if err != nil {
		t.Fatal(err)
	}
	if len(props) > MaxPropsBytes {
		t.Fatalf("props are %d bytes as JSON, limit %d", len(props), MaxPropsBytes)
	}
	// The estimate may only err high, and by little: it decides when to
	// measure.
	if st.propsBytes < len(props) || st.propsBytes > len(props)+512 {
		t.Fatalf("props estimated at %d bytes, are %d", st.propsBytes, len(props))
	}
	if _, err := json.Marshal(p); err != nil {
		t.Fatal(err)
	}

	// What Mattermost itself validates.
	if err := a.IsValid(); err != nil {
		t.Fatalf("attachment invalid: %v", err)
	}
	q := &model.Post{Id: model.NewId(), CreateAt: 1, UpdateAt: 1, UserId: model.NewId(), ChannelId: model.NewId(), Message: p.Message}
	q.SetProps(asModel(t, p).GetProps())
	if err := q.IsValid(MaxRunes); err != nil {
		t.Fatalf("post invalid: %v", err)
	}

	// The attachment.
	if strings.TrimSpace(a.Title) == "" {
		t.Fatal("empty attachment title")
	}
	if !reHexColor.MatchString(a.Color) {
		t.Fatalf("color %q", a.Color)
	}
	if a.TitleLink != "" {
		t.Fatalf("title_link %q makes the title plain text", a.TitleLink)
	}
	ids := map[string]bool{}
	for _, pa := range a.Actions {
		if pa.Name == "" || strings.TrimSpace(pa.Name) == "" {
			t.Fatalf("action %q without a name", pa.Id)
		}
		if !reActionID.MatchString(pa.Id) || ids[pa.Id] {
			t.Fatalf("action id %q is not alphanumeric or not unique", pa.Id)
		}
		ids[pa.Id] = true
		if pa.Type != model.PostActionTypeButton || (pa.Style != "primary" && pa.Style != "danger" && pa.Style != "default") {
			t.Fatalf("action %q: type %q, style %q", pa.Id, pa.Type, pa.Style)
		}
		if err := pa.IsValid(); err != nil {
			t.Fatalf("action %q: %v", pa.Id, err)
		}
		if pa.Integration.URL != testActionURL || pa.Integration.Context["action"] != pa.Id {
			t.Fatalf("action %q: integration %+v", pa.Id, pa.Integration)
		}
		if k, _ := pa.Integration.Context["key"].(string); k == "" {
			t.Fatalf("action %q has no key", pa.Id)
		}
		checkPlain(t, "button name", pa.Name)
	}
	if len(a.Actions) != st.actions {
		t.Fatalf("%d actions, stats say %d", len(a.Actions), st.actions)
	}

	// Escaping.
	checkMarkdown(t, "message", p.Message)
	checkMarkdown(t, "title", a.Title)
	checkMarkdown(t, "text", a.Text)
	checkPlain(t, "fallback", a.Fallback)
	for _, f := range a.Fields {
		checkPlain(t, "field title", f.Title)
		checkMarkdown(t, "field value", f.Value.(string))
	}

	// "+N more" tells the truth.
	total := satAdd(max(c.MoreAlerts, 0), len(c.Alerts))
	if st.alertsShown+st.alertsMore != total || st.alertsShown > len(c.Alerts) {
		t.Fatalf("alerts: %d shown + %d more, the card has %d (+%d)", st.alertsShown, st.alertsMore, len(c.Alerts), c.MoreAlerts)
	}
	shown, more := alertsBlock(t, a.Text)
	if shown != st.alertsShown || more != st.alertsMore {
		t.Fatalf("the text shows %d alerts and +%d more, stats say %d and %d\n%s", shown, more, st.alertsShown, st.alertsMore, a.Text)
	}
	if total := satAdd(max(c.MoreLabels, 0), len(c.Labels)); st.labelsShown+st.labelsMore != total || st.labelsShown > len(c.Labels) {
		t.Fatalf("labels: %d shown + %d more, the card has %d (+%d)", st.labelsShown, st.labelsMore, len(c.Labels), c.MoreLabels)
	}
	if st.labelsMore > 0 && !strings.HasSuffix(a.Text, moreText(st.labelsMore, "", "")) {
		t.Fatalf("the text does not end with +%d more (labels):\n%s", st.labelsMore, a.Text)
	}
	facts := 0
	for _, f := range c.Facts {
		if f.Name != "" || f.Value != "" {
			facts++
		}
	}
	if st.factsShown+st.factsMore != facts {
		t.Fatalf("facts: %d shown + %d more, the card has %d", st.factsShown, st.factsMore, facts)
	}
	if wantFields := st.factsShown + min(st.factsMore, 1); len(a.Fields) != wantFields {
		t.Fatalf("%d fields for %d facts shown, %d more", len(a.Fields), st.factsShown, st.factsMore)
	}
	if st.factsMore > 0 && a.Fields[len(a.Fields)-1].Value != moreText(st.factsMore, "fact", "facts") {
		t.Fatalf("last field %+v, want +%d more facts", a.Fields[len(a.Fields)-1], st.factsMore)
	}
	links := 0
	for _, l := range c.Links {
		if u, ok := templates.SafeURL(l.URL); ok && linkable(u) {
			links++
		}
	}
	if st.linksShown+st.linksMore != links && st.linksShown+st.linksMore != 0 {
		t.Fatalf("links: %d shown + %d more, the card has %d safe ones", st.linksShown, st.linksMore, links)
	}
	if got := strings.Count(a.Text, "]("); got != st.linksShown {
		t.Fatalf("%d links in the text, stats say %d", got, st.linksShown)
	}
}

// alertsBlock finds the alerts in a card's text and returns how many lines
// it shows and the N of its "+N more alerts".
func alertsBlock(t testing.TB, text string) (shown, more int) {
	t.Helper()
	i := strings.Index(text, "\n\n"+alertsHeader)
	if i < 0 {
		return 0, 0
	}
	block := text[i+2:]
	if j := strings.Index(block, "\n\n"); j >= 0 {
		block = block[:j]
	}
	lines := strings.Split(block, "\n")
	head, rest := lines[0], lines[1:]
	last := ""
	if h := strings.TrimPrefix(head, alertsHeader+" "); h != head {
		last = h
	} else if head != alertsHeader {
		t.Fatalf("alerts header %q", head)
	}
	for k, l := range rest {
		if strings.HasPrefix(l, "• ") {
			shown++
			continue
		}
		if k != len(rest)-1 || last != "" {
			t.Fatalf("stray line %q in the alerts", l)
		}
		last = l
	}
	if last != "" {
		m := reMoreAlert.FindStringSubmatch(last)
		if m == nil {
			t.Fatalf("alerts end with %q, want +N more alerts", last)
		}
		more, _ = strconv.Atoi(m[1])
	}
	return shown, more
}

// checkPlain asserts what text shown without Markdown (field titles,
// button names, the fallback) must hold: one line, no mention, channel
// link, hashtag or link.
func checkPlain(t testing.TB, what, s string) {
	t.Helper()
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || isBidiControl(r) }) {
		t.Fatalf("%s holds a control character: %q", what, s)
	}
	checkLiteral(t, what, s)
}

// checkLiteral asserts that rendered text can notify or link nobody.
func checkLiteral(t testing.TB, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s is not valid UTF-8: %q", what, s)
	}
	for i, r := range s {
		if (r == '@' || r == '~') && !strings.HasPrefix(s[i+1:], string(wordJoiner)) {
			t.Fatalf("%s: %q not followed by a word joiner in %q", what, r, s)
		}
	}
	for _, re := range []*regexp.Regexp{reWWW, reScheme, reHashtag} {
		if m := re.FindString(s); m != "" {
			t.Fatalf("%s: %q would link: %q", what, m, s)
		}
	}
	if strings.Contains(s, "://") {
		t.Fatalf("%s: a bare URL: %q", what, s)
	}
	for i := range s {
		if s[i] == '@' {
			if r, _ := utf8.DecodeRuneInString(s[i+1:]); unicode.IsLetter(r) || unicode.IsDigit(r) {
				t.Fatalf("%s: @ directly before %q", what, r)
			}
		}
	}
}

// checkMarkdown renders s the way Mattermost's Markdown would and asserts
// that only klaxon's own markup formats anything and the rest is literal.
func checkMarkdown(t testing.TB, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s is not valid UTF-8: %q", what, s)
	}
	if got := model.ParseSlackLinksToMarkdown(s); got != s {
		t.Fatalf("%s changes under Mattermost's Slack-link parsing:\n%q\n%q", what, s, got)
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			t.Fatalf("%s: an indented line (a code block): %q", what, line)
		}
	}
	out, err := renderMarkdown(s, true)
	if err != nil {
		t.Fatalf("%s: %v in %q", what, err, s)
	}
	checkLiteral(t, what, out)
}

// render returns the text a Markdown string shows (links as their text).
func render(t testing.TB, s string) string {
	t.Helper()
	out, err := renderMarkdown(s, true)
	if err != nil {
		t.Fatalf("%v in %q", err, s)
	}
	return out
}

const (
	backslashEscapable = "`*_{}[]()#+-.!|~" // escapes in both marked (Mattermost's fork) and CommonMark
	specials           = "\\`*_{}[]()#+-.!|~<>&$="
)

var entities = map[string]string{"&#92;": `\`, "&lt;": "<", "&gt;": ">", "&amp;": "&", "&#36;": "$", "&#61;": "="}

// renderMarkdown is a strict reader of the Markdown klaxon writes: escapes
// and entities, "**" for bold, "[text](url)" links to safe URLs, one
// leading "`HH:MM UTC`" code span, and nothing else: any other special
// character would be markup and is an error.
func renderMarkdown(s string, links bool) (string, error) {
	var out strings.Builder
	bold := 0
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == '\\':
			if i+1 >= len(s) || !strings.ContainsRune(backslashEscapable, rune(s[i+1])) {
				return "", fmt.Errorf("a backslash that escapes nothing at %d", i)
			}
			out.WriteByte(s[i+1])
			i += 2
			continue
		case c == '&':
			ok := false
			for e, r := range entities {
				if strings.HasPrefix(s[i:], e) {
					out.WriteString(r)
					i += len(e)
					ok = true
					break
				}
			}
			if !ok {
				return "", fmt.Errorf("a raw & at %d", i)
			}
			continue
		case c == '*':
			if !strings.HasPrefix(s[i:], "**") {
				return "", fmt.Errorf("a raw * at %d", i)
			}
			bold++
			i += 2
			continue
		case c == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if i != 0 || end < 0 || !regexp.MustCompile(`^\d\d:\d\d UTC$`).MatchString(s[1:1+end]) {
				return "", fmt.Errorf("a raw ` at %d", i)
			}
			out.WriteString("[time]") // code: nothing in it links or mentions
			i += end + 2
			continue
		case c == '[' && links:
			j := i + 1
			for j < len(s) && s[j] != ']' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) || !strings.HasPrefix(s[j:], "](") {
				return "", fmt.Errorf("a raw [ at %d", i)
			}
			k := strings.IndexByte(s[j+2:], ')')
			if k < 0 {
				return "", fmt.Errorf("an unclosed link at %d", i)
			}
			u := s[j+2 : j+2+k]
			if strings.ContainsAny(u, "( \\`@~<>\"\n") || strings.Contains(strings.ReplaceAll(u, "&amp;", ""), "&") {
				return "", fmt.Errorf("link URL %q holds markup", u)
			}
			if _, ok := templates.SafeURL(strings.ReplaceAll(u, "&amp;", "&")); !ok {
				return "", fmt.Errorf("link to an unsafe URL %q", u)
			}
			text, err := renderMarkdown(s[i+1:j], false)
			if err != nil {
				return "", fmt.Errorf("link text: %w", err)
			}
			out.WriteString(text)
			i = j + 2 + k + 1
			continue
		case strings.ContainsRune(specials, c):
			return "", fmt.Errorf("an unescaped %q at %d", c, i)
		case c == '\r' || isBidiControl(c) || (unicode.IsControl(c) && c != '\n'):
			return "", fmt.Errorf("control character %U at %d", c, i)
		}
		out.WriteRune(c)
		i += n
	}
	if bold%2 != 0 {
		return "", fmt.Errorf("unbalanced **")
	}
	return out.String(), nil
}

// ---- inputs ----

func compileChecked(t testing.TB, c *templates.Card) (*Post, stats) {
	t.Helper()
	p, st := compile(c, testKey, testActionURL)
	check(t, p, st, c)
	return p, st
}

func TestManyAlerts(t *testing.T) {
	inc := cardtest.Payments()
	var alerts []incidents.Alert
	for i := range 1000 {
		alerts = append(alerts, incidents.Alert{Fingerprint: fmt.Sprint(i), Status: incidents.AlertFiring, StartsAt: t0,
			Labels: map[string]string{"alertname": "Disk", "instance": fmt.Sprintf("db-%d", i)}})
	}
	inc.ApplyBatch(&incidents.Batch{Source: "alertmanager", GroupKey: "g", Alerts: alerts}, t0.Add(time.Minute))
	c := card(t, inc, t0.Add(time.Hour))
	p, st := compileChecked(t, c)
	if st.alertsShown != len(c.Alerts) || st.alertsMore != c.MoreAlerts || st.alertsMore != 1003-len(c.Alerts) {
		t.Fatalf("%+v for %d alerts +%d", st, len(c.Alerts), c.MoreAlerts)
	}
	if !strings.Contains(attachment(t, p).Text, "\n"+moreText(st.alertsMore, "alert", "alerts")) {
		t.Fatalf("no +%d more alerts in\n%s", st.alertsMore, attachment(t, p).Text)
	}
}

func TestLongInputs(t *testing.T) {
	labels := map[string]string{"alertname": "Many"}
	for i := range 300 {
		labels[fmt.Sprintf("label_%03d", i)] = strings.Repeat("v", i)
	}
	rtl := "שלום עולם — مرحبا بالعالم @channel"
	emoji := "🔥🚨 db on fire 🧯 👩🏽‍🚒 🇩🇪"
	for name, a := range map[string]incidents.Alert{
		"300 labels":          {Labels: labels},
		"10,000-char summary": {Annotations: map[string]string{"description": strings.Repeat("Lorem ipsum dolor sit amet. ", 358)[:10000]}},
		"emoji":               {Labels: map[string]string{"alertname": emoji, "instance": emoji}, Annotations: map[string]string{"description": strings.Repeat(emoji, 1000), "what_to_do": emoji}},
		"rtl":                 {Labels: map[string]string{"alertname": rtl, "dir": rtl}, Annotations: map[string]string{"description": rtl + "\u202Etxt.exe", "summary": rtl}},
		"invalid utf-8":       {Labels: map[string]string{"alertname": "bad \xff\xfe", "x\xc3": "\xed\xa0\x80"}, Annotations: map[string]string{"description": "a\xffb\n\xc3", "runbook_url": "https://x/\xff"}},
	} {
		t.Run(name, func(t *testing.T) {
			a.Fingerprint, a.Status, a.StartsAt = "f", incidents.AlertFiring, t0
			inc := incidents.NewIncident(7, &incidents.Batch{Source: "alertmanager", GroupKey: "g", Title: a.Labels["alertname"], Alerts: []incidents.Alert{a}}, t0)
			c := card(t, inc, t0.Add(time.Minute))
			p, st := compileChecked(t, c)
			if name == "300 labels" && (st.labelsShown+st.labelsMore != 300 || st.labelsMore < 270) {
				t.Errorf("labels %+v", st)
			}
			if name == "emoji" && !strings.Contains(attachment(t, p).Title, "🔥🚨 db on fire") {
				t.Errorf("title %q", attachment(t, p).Title)
			}
			if name == "rtl" && !strings.Contains(render(t, attachment(t, p).Text), "שלום עולם — مرحبا بالعالم @\u2060channel") {
				t.Errorf("RTL text lost:\n%s", attachment(t, p).Text)
			}
		})
	}
}

// huge is a card built directly, far beyond the templates' caps: 100,000-
// rune strings everywhere (shared, to keep the test fast), 500 facts, 500
// links, 500 labels, 2,000 alerts, 100 actions.
func huge() *templates.Card {
	long := func(seed string) string { return strings.Repeat(seed, 100_000/len(seed)+1)[:100_000] }
	value, name, alert := long("value <b> "), long("name "), long("alert @here ")
	c := &templates.Card{IncidentID: long("INC-"), Severity: incidents.Sev2, State: incidents.Triggered,
		Title: long("Title @channel "), Status: long("Status · "), Owner: long("Owner "), Summary: long("Summary *x*\n"),
		WhatToDo: long("Do [this](http://evil) "), MoreAlerts: 5, MoreLabels: 7}
	for i := range 500 {
		c.Facts = append(c.Facts, templates.Fact{Name: name, Value: value})
		c.Links = append(c.Links, templates.Link{Text: name, URL: "https://example.com/" + strings.Repeat("a", 1900) + fmt.Sprint(i)})
		c.Labels = append(c.Labels, templates.Fact{Name: name, Value: value})
	}
	for range 2000 {
		c.Alerts = append(c.Alerts, alert)
	}
	press := long("Press ")
	for i := range 100 {
		c.Actions = append(c.Actions, templates.Action{ID: templates.ActionID(fmt.Sprintf("act-%d", i%7)), Label: press, Style: "danger"})
	}
	return c
}

func TestHugeCard(t *testing.T) {
	c := huge()
	p, st := compileChecked(t, c)
	a := attachment(t, p)
	// Labels go first, then alerts: here the labels are all cut.
	if len(a.Actions) != maxActions || st.alertsShown == 0 || st.factsShown == 0 || st.linksShown == 0 || st.labelsMore != 507 {
		t.Errorf("%d actions, %+v: the budget went to the wrong places", len(a.Actions), st)
	}
	if !strings.Contains(a.Text, "**What to do:** ") || !strings.Contains(a.Text, "…") {
		t.Errorf("what to do missing or nothing cut:\n%.500s", a.Text)
	}
	// Every big string, one at a time, also fits.
	for _, f := range []func(*templates.Card){
		func(c *templates.Card) { c.Facts, c.Links, c.Labels, c.Alerts = nil, nil, nil, nil },
		func(c *templates.Card) { c.Summary, c.WhatToDo, c.Facts, c.Links, c.Labels = "", "", nil, nil, nil },
		func(c *templates.Card) { c.Summary, c.WhatToDo, c.Alerts, c.Links, c.Labels = "", "", nil, nil, nil },
		func(c *templates.Card) { c.Summary, c.WhatToDo, c.Alerts, c.Facts, c.Labels = "", "", nil, nil, nil },
	} {
		c := huge()
		f(c)
		compileChecked(t, c)
	}
}

// TestMultiByteBudget fills a card with text that costs most as JSON per
// rune, so that the byte limit, not the rune limit, binds.
func TestMultiByteBudget(t *testing.T) {
	for _, seed := range []string{"🔥", "<", "&", "\u2028", "\\", "@", "a:b", "\xff"} {
		long := strings.Repeat(seed, 20_000)
		c := &templates.Card{IncidentID: "INC-1", State: incidents.Acknowledged, Title: long, Status: long, Owner: long,
			Summary: long, WhatToDo: long}
		for range 40 {
			c.Alerts = append(c.Alerts, long)
			c.Facts = append(c.Facts, templates.Fact{Name: long, Value: long})
			c.Labels = append(c.Labels, templates.Fact{Name: long, Value: long})
		}
		compileChecked(t, c)
	}
}

func TestAdversarial(t *testing.T) {
	evil := []string{"@channel", "@all", "@here", "@alice", "~town-square", "[x](http://evil)", "<http://evil>",
		"**b**", "# h", "![i](http://x)", `back\slash\`, `\*not bold\*`, "<http://evil|click>", "`code`", "~~strike~~",
		"$x^2$", "<b>html</b>", "&lt;entity&gt;", "a@b.com", "www.evil.com", "tel:5551234", "mailto:x@y.z", "#hashtag",
		"| a | b |", "1. item", "- item", "+ item", "> quote", "___", "===", ":smile:", "@@channel", "@\u200bchannel"}
	joined := strings.Join(evil, " ")
	var facts, labels []templates.Fact
	var links []templates.Link
	for _, e := range evil {
		facts = append(facts, templates.Fact{Name: e, Value: e})
		labels = append(labels, templates.Fact{Name: e, Value: e})
		links = append(links, templates.Link{Text: e, URL: "https://example.com/" + e})
	}
	links = append(links, templates.Link{Kind: templates.LinkRunbook, Text: "Runbook", URL: "https://example.com/a_(b)~c@d?e=1&f=`g`"},
		templates.Link{Kind: templates.LinkRunbook, Text: "Runbook", URL: "https://(evil)/"}, templates.Link{Kind: templates.LinkRunbook, Text: "Runbook", URL: "javascript:alert(1)"})
	c := &templates.Card{IncidentID: "INC-@here", Severity: incidents.Sev3, State: incidents.Triggered,
		Title: joined, Status: joined, Owner: "Acknowledged by @alice", Summary: strings.Join(evil, "\n"), WhatToDo: joined,
		Facts: facts[:10], Links: links, Alerts: evil, Labels: labels,
		Actions: []templates.Action{{ID: "ack", Label: "@channel Ack"}, {ID: "x_y-z", Label: "[x](http://evil)", Style: "primary"},
			{ID: "ack", Label: "again"}, {ID: "!!!", Label: ""}, {ID: "", Label: ""}, {ID: "resolve", Label: "Resolve", Style: "bogus"}}}
	p, _ := compileChecked(t, c)
	a := attachment(t, p)
	// Rendered, each string reads as it was written (word joiners aside).
	plain := strings.ReplaceAll(render(t, a.Text), string(wordJoiner), "")
	for _, e := range evil {
		if !strings.Contains(plain, e) {
			t.Errorf("%q does not read literally in\n%s", e, plain)
		}
	}
	if got := strings.ReplaceAll(render(t, a.Title), string(wordJoiner), ""); !strings.HasPrefix(got, "SEV3 · @channel @all") {
		t.Errorf("title reads %q", got)
	}
	var ids []string
	for _, pa := range a.Actions {
		ids = append(ids, pa.Id+"="+pa.Style)
	}
	if got := strings.Join(ids, ","); got != "ack=default,xyz=primary,ack3=default,action4=default,resolve=default" {
		t.Errorf("buttons %s", got)
	}
	if !strings.Contains(a.Text, "**Links:** [Runbook](https://example.com/a_%28b%29%7Ec%40d?e=1&amp;f=%60g%60) · ") {
		t.Errorf("the runbook link is not first or not encoded:\n%s", a.Text)
	}
}

func TestMoreSaturates(t *testing.T) {
	c := &templates.Card{Title: "x", Alerts: []string{"a", "b"}, MoreAlerts: math.MaxInt, Labels: []templates.Fact{{Name: "n", Value: "v"}},
		MoreLabels: math.MaxInt - 1}
	_, st := compileChecked(t, c)
	if st.alertsMore != math.MaxInt-2 || st.labelsMore != math.MaxInt-1 {
		t.Errorf("%+v", st)
	}
	c.MoreAlerts, c.MoreLabels, c.Alerts = -5, -1, nil
	if _, st := compileChecked(t, c); st.alertsMore != 0 || st.labelsMore != 0 {
		t.Errorf("%+v", st)
	}
	// Blank lines are not shown but counted, and looking stops somewhere.
	c.Alerts = append(make([]string, 5000), "late")
	for i := range c.Alerts[:5000] {
		c.Alerts[i] = " \t\u202E "
	}
	if _, st := compileChecked(t, c); st.alertsShown != 0 || st.alertsMore != 5001 {
		t.Errorf("%+v", st)
	}
}

func TestNoButtonsWithoutKeyOrURL(t *testing.T) {
	c := card(t, cardtest.Payments(), t0)
	for _, tc := range []struct {
		key Key
		url string
	}{
		{nil, testActionURL}, {testKey, ""}, {testKey, "/relative"}, {testKey, "javascript:alert(1)"},
		{testKey, "https://x/" + strings.Repeat("a", MaxActionURLBytes)},
		{func(templates.Action) string { return "" }, testActionURL},
		{func(templates.Action) string { return strings.Repeat("k", MaxKeyBytes+1) }, testActionURL},
		{func(templates.Action) string { return "\xff" }, testActionURL},
	} {
		if p := Compile(c, tc.key, tc.url); len(attachment(t, p).Actions) != 0 {
			t.Errorf("url %q: buttons %v", tc.url, attachment(t, p).Actions)
		}
	}
	if p := Compile(nil, nil, ""); attachment(t, p).Title != "Incident" {
		t.Errorf("nil card: title %q", attachment(t, p).Title)
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct {
		in   string
		m    mode
		max  int
		want string
	}{
		{"a.b", md, 100, `a\.b`},
		{`<x> & $ = \`, md, 100, `&lt;x&gt; &amp; &#36; &#61; &#92;`},
		{"@channel ~town", md, 100, "@\u2060channel \\~\u2060town"},
		{"@channel ~town #tag #1", 0, 100, "@\u2060channel ~\u2060town #\u2060tag #1"},
		{"http://x www.y.com tel:1 12:30 note: x", 0, 100, "http:\u2060//x www\u2060.y.com tel:\u20601 12:30 note: x"},
		{"pay-1:9100 10.0.0.1:80 host:9100 h1:x WWW2.x a:/b", md, 200, "pay\\-1:9100 10\\.0\\.0\\.1:80 host:\u20609100 h1:\u2060x WWW2\u2060\\.x a:\u2060/b"},
		{"  a \t b \n\n\n   c  ", md | ml, 100, "a b\n\nc"},
		{"a\nb", md, 100, "a b"},
		{"x\u202Ey\rz\x00w", 0, 100, "xyz w"},
		{"bad\xffutf", 0, 100, "bad\uFFFDutf"},
		{"abcdef", 0, 4, "abc…"},
		{"ab.cd", md, 4, "ab…"}, // the escape is kept whole
		{"a<bcd", md, 5, "a…"},  // so is the entity
		{"a<bcd", md, 6, "a&lt;…"},
		{"🔥🔥🔥🔥", 0, 3, "🔥🔥…"}, // whole runes
		{"a.", md, 3, `a\.`},
	} {
		got, used, _ := escape(tc.in, tc.m, limit{tc.max, 1 << 20})
		if got != tc.want {
			t.Errorf("escape(%q, %d, %d) = %q, want %q", tc.in, tc.m, tc.max, got, tc.want)
		}
		if used != measure(got) {
			t.Errorf("escape(%q) says it used %+v, it is %+v", tc.in, used, measure(got))
		}
	}
	if got, _, cut := escape("x", md, limit{0, 10}); got != "" || !cut {
		t.Errorf("no room: %q", got)
	}
	if got, _, cut := escape("x", md, limit{-5, -5}); got != "" || !cut {
		t.Errorf("negative room: %q", got)
	}
	// The byte limit binds too.
	if got, used, cut := escape(strings.Repeat("<", 10), md, limit{100, 20}); got != "&lt;…" || !cut || used.bytes > 20 {
		t.Errorf("byte-limited: %q %+v", got, used)
	}
}

func TestEventText(t *testing.T) {
	for _, tc := range []struct {
		e    incidents.Event
		want string
	}{
		{incidents.Event{At: t0.Add(4 * time.Minute), Kind: incidents.EventAcknowledged, Actor: "alice", Text: "Acknowledged by alice"},
			"`12:04 UTC` · Acknowledged by alice"},
		{incidents.Event{At: time.Date(2026, 3, 1, 19, 4, 0, 0, time.FixedZone("WIB", 7*3600)), Text: "Resolved by @channel [x](http://evil)"},
			"`12:04 UTC` · Resolved by @\u2060channel \\[x\\]\\(http:\u2060//evil\\)"},
		{incidents.Event{Kind: incidents.EventReopened}, "reopened"},
		{incidents.Event{}, "Timeline event"},
	} {
		got := EventText(tc.e)
		if got != tc.want {
			t.Errorf("EventText(%+v) = %q, want %q", tc.e, got, tc.want)
		}
		checkMarkdown(t, "event", got)
	}
	long := EventText(incidents.Event{At: t0, Text: strings.Repeat("x.", 100_000)})
	if n := utf8.RuneCountInString(long); n > maxEvent+20 {
		t.Errorf("event text of %d runes", n)
	}
	checkMarkdown(t, "event", long)
}

// FuzzCompile compiles generated cards and checks every rule, including
// the "+N more" arithmetic.
func FuzzCompile(f *testing.F) {
	f.Add("Payments slow", "p99 is 3s\nsee runbook", "Firing: x on pay-1:9100", "env", "https://runbooks.example.com/x", 3, 0, 4, 0, 5, 4, uint8(1), uint8(0), uint16(1))
	f.Add("@channel [x](http://evil)", strings.Repeat("<&\\ ", 3000), "\xff\xfe@here", "~town", "javascript:alert(1)", 1000, 17, 300, 9, 500, 100, uint8(2), uint8(1), uint16(5000))
	f.Add("🔥\u202E", "שלום\n\n\n# h", "**b**", "a=b", "http://x/(a)", 0, -5, 0, -1, 0, 0, uint8(0), uint8(2), uint16(64000))
	f.Fuzz(func(t *testing.T, title, summary, line, label, link string, nAlerts, moreAlerts, nLabels, moreLabels, nFacts, nActions int, sev, state uint8, repeat uint16) {
		clamp := func(n, hi int) int { return min(max(n, 0), hi) }
		nAlerts, nLabels, nFacts, nActions = clamp(nAlerts, 3000), clamp(nLabels, 1000), clamp(nFacts, 600), clamp(nActions, 120)
		moreAlerts, moreLabels = min(max(moreAlerts, -1000), 1<<40), min(max(moreLabels, -1000), 1<<40)
		rep := func(s string) string { return strings.Repeat(s, min(int(repeat%2000)+1, 200_000/(len(s)+1)+1)) }
		longLine := rep(line) // shared by the alerts and labels that use it
		c := &templates.Card{IncidentID: "INC-" + label, Severity: incidents.Severity(sev % 6), State: []incidents.State{"triggered", "acknowledged", "resolved", "bogus"}[state%4],
			Title: rep(title), Status: title, Owner: line, Summary: rep(summary), WhatToDo: summary, MoreAlerts: moreAlerts, MoreLabels: moreLabels}
		for i := range nAlerts {
			if i%3 == 0 {
				c.Alerts = append(c.Alerts, longLine)
			} else {
				c.Alerts = append(c.Alerts, line+strconv.Itoa(i))
			}
		}
		for i := range nLabels {
			c.Labels = append(c.Labels, templates.Fact{Name: label + strconv.Itoa(i), Value: longLine})
		}
		for i := range nFacts {
			c.Facts = append(c.Facts, templates.Fact{Name: label, Value: title + strconv.Itoa(i)})
			c.Links = append(c.Links, templates.Link{Text: title, URL: link + strconv.Itoa(i)})
		}
		for i := range nActions {
			c.Actions = append(c.Actions, templates.Action{ID: templates.ActionID(label), Label: title + strconv.Itoa(i), Style: line})
		}
		p, st := compileChecked(t, c)
		a := attachment(t, p)
		if st.alertsShown+st.alertsMore != len(c.Alerts)+max(moreAlerts, 0) {
			t.Fatalf("alerts: %d + %d != %d + %d", st.alertsShown, st.alertsMore, len(c.Alerts), max(moreAlerts, 0))
		}
		if st.labelsShown+st.labelsMore != len(c.Labels)+max(moreLabels, 0) {
			t.Fatalf("labels: %d + %d != %d + %d", st.labelsShown, st.labelsMore, len(c.Labels), max(moreLabels, 0))
		}
		if len(a.Actions) > maxActions || (nActions > 0 && len(a.Actions) == 0 && strings.TrimSpace(title) != "" && strings.TrimSpace(label) != "" && !strings.ContainsRune(label, utf8.RuneError) && len(testKey(c.Actions[0])) <= MaxKeyBytes) {
			t.Fatalf("%d buttons for %d actions", len(a.Actions), nActions)
		}
	})
}

// BenchmarkCompile renders and compiles the card of a 1-alert and a
// 1,000-alert incident (issue target, template render included: 200 µs and
// 5 ms).
func BenchmarkCompile(b *testing.B) {
	s := templates.MustBuiltin()
	for _, n := range []int{1, 1000} {
		inc := cardtest.Storm(n)
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := s.Card(inc, t0.Add(time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				if p := Compile(c, testKey, testActionURL); p == nil {
					b.Fatal("nil post")
				}
			}
		})
	}
	b.Run("compile-only/payments", func(b *testing.B) {
		c, err := s.Card(cardtest.Payments(), t0.Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			Compile(c, testKey, testActionURL)
		}
	})
	b.Run("compile-only/huge", func(b *testing.B) {
		c := huge()
		b.ReportAllocs()
		for b.Loop() {
			Compile(c, testKey, testActionURL)
		}
	})
}
