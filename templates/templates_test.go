package templates

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = cardtest.T0

func golden(t *testing.T, name string, c *Card) {
	t.Helper()
	got, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates -update to create it)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("%s differs from %s (go test ./templates -update rewrites it)\ngot:\n%s", name, path, got)
	}
}

func TestGoldenCards(t *testing.T) {
	s := MustBuiltin()
	for name, inc := range cardtest.Lifecycle() {
		c, err := s.Card(inc, cardtest.Now)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "card-"+name, c)
	}
}

// TestGoldenHolds: the compact "in maintenance" card (no description,
// facts or labels, three alerts, the runbook only, no snooze) and the
// flapping card, each saying so on the owner line.
func TestGoldenHolds(t *testing.T) {
	s := MustBuiltin()
	holds := cardtest.Holds()
	for name, inc := range holds {
		c, err := s.Card(inc, cardtest.Now)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "card-"+name, c)
	}
	c, _ := s.Card(holds["maintenance"], cardtest.Now)
	if !c.Compact || c.Summary != "" || c.WhatToDo != "" || len(c.Facts) != 0 || len(c.Labels) != 0 || len(c.Links) != 1 || c.Links[0].Kind != LinkRunbook ||
		slices.ContainsFunc(c.Actions, func(a Action) bool { return a.ID == ActSnooze }) ||
		c.Owner != "🔧 In maintenance (mw-1a2b3c4d: pay-db failover drill <@channel>) until Sun 14:00 UTC: escalation waits for its end" {
		t.Fatalf("compact card %+v", c)
	}
	c, _ = s.Card(holds["flapping"], cardtest.Now)
	if c.Compact || !strings.HasSuffix(c.Owner, " · 〰️ Flapping: resolves and fires again; flaps do not re-notify") || c.Summary == "" {
		t.Fatalf("flapping card %+v", c)
	}
	// Resolved, a window's hold no longer shows.
	done := holds["maintenance"].Clone()
	if err := done.Apply(incidents.Resolve, "bob", "", cardtest.Now); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Card(done, cardtest.Now); c.Compact || strings.Contains(c.Owner, "maintenance") {
		t.Fatalf("resolved card %+v", c)
	}
}

func TestManyAlertsShowMore(t *testing.T) {
	inc := cardtest.Payments()
	var alerts []incidents.Alert
	for i := range 1000 {
		alerts = append(alerts, incidents.Alert{Fingerprint: fmt.Sprint(i), Status: incidents.AlertFiring, StartsAt: t0,
			Labels: map[string]string{"alertname": "Disk", "instance": fmt.Sprintf("db-%d", i)}})
	}
	inc.ApplyBatch(&incidents.Batch{Source: "alertmanager", GroupKey: "g", Alerts: alerts}, t0.Add(time.Minute))
	c, err := MustBuiltin().Card(inc, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Alerts) != MaxAlerts || c.MoreAlerts != 1003-MaxAlerts {
		t.Fatalf("%d alerts shown, %d more; want %d and %d", len(c.Alerts), c.MoreAlerts, MaxAlerts, 1003-MaxAlerts)
	}
	if !strings.HasPrefix(c.Alerts[0], "Firing: HighLatency on pay-1:9100") || !strings.Contains(c.Status, "1002 firing, 1 resolved") {
		t.Fatalf("first line %q, status %q", c.Alerts[0], c.Status)
	}
}

func TestActionsFollowState(t *testing.T) {
	ids := func(st incidents.State) string {
		var s []string
		for _, a := range actions(st) {
			s = append(s, string(a.ID))
		}
		return strings.Join(s, ",")
	}
	for st, want := range map[incidents.State]string{
		incidents.Triggered:    "ack,resolve,escalate,snooze",
		incidents.Acknowledged: "resolve,unack,escalate,snooze",
		incidents.Resolved:     "reopen",
	} {
		if got := ids(st); got != want {
			t.Errorf("%s: actions %s, want %s", st, got, want)
		}
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("card.tmpl", `{{define "title"}}[{{.Severity}}] {{.Title}} ({{.Labels.service}}){{end}}`)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Card(cardtest.Payments(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "[SEV1] Payments p99 latency above 2s (payments)" {
		t.Fatalf("overridden title = %q", c.Title)
	}
	if c.Summary == "" || !strings.HasPrefix(c.Status, "Triggered · SEV1") {
		t.Fatalf("the parts not overridden changed: %+v", c)
	}
	for body, want := range map[string]string{
		`{{define "title"}}{{.Nope}}{{end}}`:             `can't evaluate field Nope`,
		`{{define "title"}}{{since "yesterday"}}{{end}}`: `can't handle "yesterday" for arg of type time.Time`,
		`{{define "title"}}{{if}}{{end}}`:                `card.tmpl:1: missing value for if`,
	} {
		write("card.tmpl", body)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load with %s: %v, want an error containing %q", body, err, want)
		}
	}
	write("card.tmpl", `{{define "title"}}ok{{end}}`)
	write("pager.tmpl", `x`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "pager.tmpl is not a klaxon template") {
		t.Errorf("unknown template file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing templates_dir loads")
	}
}

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in, want  string
		max       int
		multiline bool
	}{
		{"  plain  ", "plain", 10, false},
		{"a\nb\tc", "a b c", 10, false},
		{"a\nb\tc", "a\nb\tc", 10, true},
		{"bad \xff utf8", "bad \uFFFD utf8", 20, false},
		{"abcdefghij", "abcd…", 5, false},
		{"שלום עולם", "שלום עולם", 20, false},
		{"evil\u202Etxt.exe", "eviltxt.exe", 20, false},
		{"bell\x07\r\n", "bell", 20, true},
		{"a\n\n\n\n\nb", "a\n\nb", 20, true},
		{"🔥🔥🔥🔥", "🔥🔥…", 3, false},
	} {
		if got := Clean(c.in, c.max, c.multiline); got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestSafeURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://runbooks.example.com/a?b=c#d":   true,
		"http://prometheus:9090/graph":           true,
		"javascript:alert(1)":                    false,
		"https://user:pw@example.com/":           false,
		"/relative":                              false,
		"https://example.com/a b":                false,
		"https://example.com/<!channel>":         false,
		"https://example.com/a|b":                false,
		"ftp://example.com/":                     false,
		"https://" + strings.Repeat("a", MaxURL): false,
	} {
		if _, got := SafeURL(u); got != ok {
			t.Errorf("SafeURL(%q) = %v, want %v", u, got, ok)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12 * time.Minute: "12m", 3*time.Hour + 5*time.Minute: "3h 5m",
		2 * time.Hour: "2h", 52 * time.Hour: "2d 4h", 48 * time.Hour: "2d",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// checkCard asserts the Card's promises whatever the incident held.
func checkCard(t *testing.T, c *Card) {
	t.Helper()
	check := func(what, s string, max int, multiline bool) {
		if !utf8.ValidString(s) {
			t.Fatalf("%s is not valid UTF-8: %q", what, s)
		}
		if n := utf8.RuneCountInString(s); n > max {
			t.Fatalf("%s has %d runes, cap %d", what, n, max)
		}
		for _, r := range s {
			if (unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t'))) || isBidiControl(r) {
				t.Fatalf("%s holds %U: %q", what, r, s)
			}
		}
	}
	check("title", c.Title, MaxTitle, false)
	check("status", c.Status, MaxLine, false)
	check("owner", c.Owner, MaxLine, false)
	check("summary", c.Summary, MaxSummary, true)
	check("what to do", c.WhatToDo, MaxWhatToDo, true)
	if len(c.Alerts) > MaxAlerts || len(c.Labels) > MaxLabels {
		t.Fatalf("%d alerts, %d labels", len(c.Alerts), len(c.Labels))
	}
	for _, a := range c.Alerts {
		check("alert", a, MaxLine, false)
	}
	for _, f := range append(c.Facts, c.Labels...) {
		check("name", f.Name, MaxName, false)
		check("value", f.Value, MaxValue, false)
	}
	for _, l := range c.Links {
		if _, ok := SafeURL(l.URL); !ok {
			t.Fatalf("unsafe link %q", l.URL)
		}
	}
}

func FuzzCard(f *testing.F) {
	f.Add("Payments slow", "p99 is 3s\nsee runbook", "https://runbooks.example.com/x", "pay-1", 3, uint8(1))
	f.Add("\u202Eevil", strings.Repeat("long ", 3000), "javascript:alert(1)", "\xff\xfe", 1000, uint8(0))
	f.Add("<!channel> @here", "<script>", "http://x/<!here>", "שלום", 0, uint8(2))
	s := MustBuiltin()
	f.Fuzz(func(t *testing.T, title, desc, runbook, label string, n int, state uint8) {
		n = min(max(n, 0), 1200)
		alerts := []incidents.Alert{{Fingerprint: "first", Status: incidents.AlertFiring, StartsAt: t0,
			Labels:       map[string]string{"alertname": title, label: label, "instance": desc},
			Annotations:  map[string]string{"summary": title, "description": desc, "runbook_url": runbook, "value": label, "what_to_do": desc},
			GeneratorURL: runbook}}
		for i := range n {
			alerts = append(alerts, incidents.Alert{Fingerprint: fmt.Sprint(i), Status: incidents.AlertStatus([]string{"firing", "resolved"}[i%2]),
				Labels: map[string]string{"alertname": label + title}})
		}
		inc := incidents.NewIncident(7, &incidents.Batch{Source: "alertmanager", GroupKey: "g", Title: title, ExternalURL: runbook, Alerts: alerts}, t0)
		switch state % 3 {
		case 1:
			_ = inc.Apply(incidents.Acknowledge, label, "", t0.Add(time.Minute))
		case 2:
			_ = inc.Apply(incidents.Resolve, title, "", t0.Add(time.Minute))
		}
		c, err := s.Card(inc, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		checkCard(t, c)
		if want := max(0, n+1-MaxAlerts); c.MoreAlerts != want {
			t.Fatalf("MoreAlerts = %d, want %d", c.MoreAlerts, want)
		}
	})
}

// BenchmarkCard renders the card of a 1-alert and a 1,000-alert incident
// (issue 3's target for render plus compile: 200 µs and 5 ms).
func BenchmarkCard(b *testing.B) {
	s := MustBuiltin()
	for _, n := range []int{1, 1000} {
		inc := cardtest.Storm(n)
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Card(inc, t0.Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// postmortemIncident is a whole incident run from chat: acknowledged,
// led, noted and resolved.
func postmortemIncident(t testing.TB) *incidents.Incident {
	inc := cardtest.Payments()
	inc.Severity = incidents.Sev2 // as the alert said; people raise it
	at := func(m int) time.Time { return cardtest.T0.Add(time.Duration(m) * time.Minute) }
	steps := []func() error{
		func() error { return inc.Apply(incidents.Acknowledge, "alice", "", at(4)) },
		func() error { return inc.SetLead("bob", "alice", at(6)) },
		func() error { return inc.SetRole("scribe", "carol", "bob", at(7)) },
		func() error { return inc.SetSeverity(incidents.Sev1, "bob", at(9)) },
		func() error {
			return inc.AddNote("", "Checkout errors at 4% and rising; pool at 100/100", "carol", at(10))
		},
		func() error {
			return inc.AddNote("factor", "The DB pool size was fixed at 100 while traffic doubled since March", "carol", at(21))
		},
		func() error {
			return inc.AddNote("factor", "No alert on pool saturation, only on latency", "bob", at(22))
		},
		func() error { return inc.AddNote("went-well", "Paging reached alice in 4 minutes", "bob", at(30)) },
		func() error {
			return inc.AddNote("went-wrong", "The runbook's scale command was out of date", "alice", at(31))
		},
		func() error { return inc.AddNote("lucky", "It happened outside the sale peak", "carol", at(32)) },
		func() error {
			return inc.AddNote("action", "@dave alert on DB pool saturation above 90%", "bob", at(40))
		},
		func() error { return inc.AddNote("action", "Update the *scale* runbook | pay-api", "alice", at(41)) },
		func() error {
			return inc.Apply(incidents.Resolve, "alice", "Resolved by alice: pool raised to 300", at(47))
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	inc.SetSummary("Checkout was slow for 47 minutes because the payments DB connection pool was exhausted; raising it to 300 fixed it.")
	return inc
}

func TestPostmortemGolden(t *testing.T) {
	inc := postmortemIncident(t)
	got, err := MustBuiltin().Postmortem(inc, inc.ResolvedAt.Add(20*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "postmortem.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("postmortem differs from %s (run go test ./templates -update to accept):\n%s", path, got)
	}
	// An open incident with nothing noted still renders, with prompts.
	bare, err := MustBuiltin().Postmortem(cardtest.Payments(), cardtest.T0.Add(time.Hour))
	if err != nil || !strings.Contains(bare, "not acknowledged") || !strings.Contains(bare, "_none yet_") || !strings.Contains(bare, "Resolved | not yet") {
		t.Errorf("bare postmortem: %v\n%s", err, bare)
	}
}

func TestPostmortemOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "postmortem.md.tmpl"), []byte("# {{.Incident.ID}} took {{.Duration}}\n"), 0o600)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	inc := postmortemIncident(t)
	got, err := s.Postmortem(inc, inc.ResolvedAt)
	if err != nil || got != "# INC-42 took 47m\n" {
		t.Fatalf("override = %q, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "postmortem.md.tmpl"), []byte("{{.Incident.NoSuchField}}"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "postmortem.md.tmpl") {
		t.Fatalf("a broken postmortem template loaded: %v", err)
	}
}

func TestMarkdownEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain words":            "plain words",
		"- not a list":           `\- not a list`,
		"+ not a list":           `\+ not a list`,
		"1. not a list":          `1\. not a list`,
		"12) not a list":         `12\) not a list`,
		"*b* _i_ [l](u) `c` <x>": "\\*b\\* \\_i\\_ \\[l\\](u) \\`c\\` &lt;x&gt;",
		"# h | t ~s~":            `\# h \| t \~s\~`,
		"line\nbreak":            "line break",
		"ping @team":             "ping @\u200bteam",
	} {
		if got := markdown(in); got != want {
			t.Errorf("markdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCallText(t *testing.T) {
	inc := cardtest.Payments()
	got, err := MustBuiltin().CallText(inc, inc.CreatedAt.Add(12*time.Minute))
	want := "This is klaxon. SEV1 incident I N C 42 for team payments: Payments p99 latency above 2s. 2 alerts firing for 12m. Press 1 to acknowledge. Press 2 to escalate."
	if err != nil || got != want {
		t.Fatalf("CallText = %q, %v\nwant %q", got, err, want)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "phone.tmpl"), []byte(`{{define "call"}}Wake up: {{.Title}}{{end}}`), 0o600)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CallText(inc, inc.CreatedAt); got != "Wake up: Payments p99 latency above 2s" {
		t.Fatalf("override = %q", got)
	}
}

// An alert stored without a start (before klaxon took the arrival as the
// start) shows no duration rather than "for 106751d 23h".
func TestCardAlertWithoutStart(t *testing.T) {
	inc := cardtest.Payments()
	inc.Alerts[0].StartsAt = time.Time{}
	c, err := MustBuiltin().Card(inc, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range c.Alerts {
		if strings.Contains(line, "(for ") && strings.Contains(line, inc.Alerts[0].Name()) && strings.Contains(line, "106751d") {
			t.Fatalf("alert line %q shows a duration from the zero time", line)
		}
	}
	if !strings.HasPrefix(c.Alerts[0], "Firing: HighLatency") || strings.Contains(c.Alerts[0], "(for") {
		t.Fatalf("first line %q: want no duration for an alert without a start", c.Alerts[0])
	}
}

// A Set WithSilences offers Silence 1h, 4h, 24h on the open incidents of those
// sources; a silenced incident says so on its owner line and offers
// Unsilence instead, resolved or not.
func TestSilenceActions(t *testing.T) {
	ids := func(c *Card) string {
		var s []string
		for _, a := range c.Actions {
			s = append(s, string(a.ID))
		}
		return strings.Join(s, ",")
	}
	inc := cardtest.Payments() // from Alertmanager
	now := inc.CreatedAt.Add(time.Minute)
	plain, with := MustBuiltin(), MustBuiltin().WithSilences("alertmanager")
	for _, tc := range []struct {
		set  *Set
		want string
	}{{plain, "ack,resolve,escalate,snooze"}, {with, "ack,resolve,escalate,snooze,silence,silence,silence"}, {MustBuiltin().WithSilences("grafana"), "ack,resolve,escalate,snooze"}} {
		c, err := tc.set.Card(inc, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(c); got != tc.want {
			t.Errorf("actions %s, want %s", got, tc.want)
		}
	}
	if err := inc.AddSilence(incidents.Silence{ID: "1a2b3c4d-5e6f-4000-8000-000000000001", Source: "alertmanager", By: "alice", Until: now.Add(4 * time.Hour)}, now); err != nil {
		t.Fatal(err)
	}
	for _, st := range []incidents.State{incidents.Triggered, incidents.Resolved} {
		if st == incidents.Resolved {
			if err := inc.Apply(incidents.Resolve, "bob", "", now); err != nil {
				t.Fatal(err)
			}
		}
		c, err := with.Card(inc, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := "Silenced for 4h by alice (silence 1a2b3c4d…)"
		if st == incidents.Resolved {
			want = "Resolved by bob 1m ago · " + want
		}
		if c.Owner != want || !strings.HasSuffix(ids(c), ",unsilence") || strings.Contains(ids(c), "silence,") {
			t.Errorf("%s: owner %q, actions %s; want %q and Unsilence", st, c.Owner, ids(c), want)
		}
	}
	// Once it ended, the card forgets it.
	if c, _ := with.Card(inc, now.Add(5*time.Hour)); strings.Contains(c.Owner, "Silenced") || strings.Contains(ids(c), "silence") {
		t.Errorf("after the silence ended: owner %q, actions %s", c.Owner, ids(c))
	}
}
