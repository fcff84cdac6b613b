package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// The weekly noise report, made by klaxon from alerts with hostile names,
// lands once on each platform within its limits, with nothing in it a
// mention or a link (the strict fakes refuse violations); a restart does
// not post it again (the embedded store keeps the once-only key).
func TestNoiseReportEndToEnd(t *testing.T) {
	f := startFakes(t)
	dir := filepath.Join(t.TempDir(), "data")
	store := fmt.Sprintf("store: {data_dir: %q}", dir)
	// Four incidents an hour ago, from alerts with hostile names, in the
	// store klaxon will open.
	hostile := `<!channel> @here @all <https://evil.example|click> [x](https://evil.example) <b>bold</b>`
	db, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ago := time.Now().Add(-time.Hour)
	for i := range 4 {
		a := storetest.Alert(fmt.Sprintf("f%d", i), incidents.AlertFiring, ago)
		a.Labels["alertname"] = hostile
		b := storetest.Batch(fmt.Sprintf("g%d", i), a)
		b.Team = "payments"
		if _, err := db.Ingest(t.Context(), b, storetest.Opts(ago)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The weekly report is due a minute ago.
	due := time.Now().UTC().Add(-time.Minute)
	weekly := fmt.Sprintf("    report: {weekly: %q, timezone: UTC}\n", due.Format("Mon 15:04"))
	cfg := strings.Replace(f.config(store), "    telegram: {chat: ", weekly+"    telegram: {chat: ", 1)
	if !strings.Contains(cfg, "report: {weekly") {
		t.Fatalf("config edit missed:\n%s", cfg)
	}
	path := writeFile(t, "klaxon.yaml", cfg)
	_, logs2, stop := startServe(t, path)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs2.String())
		}
	})
	card := func(n int) func() bool {
		return func() bool {
			return len(f.slack.Messages(e2eSlack)) == 4+n && len(f.mm.Messages(e2eMM)) == 4+n && len(f.tg.Messages(e2eTG)) == 4+n
		}
	}
	waitUntil(t, 20*time.Second, "the report on each platform", card(1))
	report := func(ms []string) string {
		for _, m := range ms {
			if strings.HasPrefix(m, "Noise report") {
				return m
			}
		}
		return ""
	}
	var st, mt, gt, gh []string
	for _, m := range f.slack.Messages(e2eSlack) {
		st = append(st, m.Text)
	}
	for _, m := range f.mm.Messages(e2eMM) {
		mt = append(mt, m.Text)
	}
	for _, m := range f.tg.Messages(e2eTG) {
		gt, gh = append(gt, m.Text), append(gh, m.HTML)
	}
	s, m, g := report(st), report(mt), report(gt)
	html := ""
	for i := range gt {
		if gt[i] == g {
			html = gh[i]
		}
	}
	for name, text := range map[string]string{"slack": s, "mattermost": m, "telegram": g} {
		if !strings.Contains(text, "Noise report") || !strings.Contains(text, "Incidents: 4") || !strings.Contains(text, "fired 4 times") {
			t.Errorf("%s report:\n%s", name, text)
		}
	}
	if strings.Contains(s, "<!channel>") || strings.Contains(s, "<https://") {
		t.Errorf("live Slack markup: %s", s)
	}
	if strings.Contains(m, "@here") || strings.Contains(m, "@all") || strings.Contains(m, "](https://") {
		t.Errorf("live Mattermost mention or link: %s", m)
	}
	if html == "" || strings.Contains(html, "<b>") || strings.Contains(html, "<a ") {
		t.Errorf("live Telegram markup: %s", html)
	}
	if v := f.violations(); len(v) > 0 {
		t.Errorf("limit violations: %v", v)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A restart within the hour: not posted again.
	base, logs, stop3 := startServe(t, path)
	waitUntil(t, 10*time.Second, "the reporter's first look", func() bool {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return res.StatusCode == 200
	})
	time.Sleep(500 * time.Millisecond) // no event marks "nothing posted": give it the chance
	if err := stop3(); err != nil {
		t.Fatal(err)
	}
	if !card(1)() {
		t.Fatalf("the report was posted again after a restart (%d Slack messages)\n%s", len(f.slack.Messages(e2eSlack)), logs.String())
	}
}
