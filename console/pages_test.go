package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// The new pages, filled: no inline script or style (the CSP would block
// them), and each under 100 KB with the CSS and the JS.
func TestPagesNoInlineScriptAndWeight(t *testing.T) {
	e := newOncallEnv(t)
	var stats []incidents.Stat
	for i := range 3000 {
		at := oncallNow.Add(-time.Duration(i) * 43 * time.Minute)
		st := incidents.Stat{Number: int64(i + 1), Team: "payments", CreatedAt: at, AckedAt: at.Add(3 * time.Minute), ResolvedAt: at.Add(time.Hour),
			Rules: []incidents.RuleCount{{Source: "alertmanager", Name: "Rule" + strings.Repeat("x", i%30), Fired: 1 + i%4}}, PageCount: 1,
			Pages: []incidents.Page{{At: at, Kind: "mention"}}}
		stats = append(stats, st)
	}
	e.b.stats = stats
	inc := e.b.ingest(t, batch("g1", "disk full", "payments", incidents.AlertFiring))
	c, _ := e.signIn("alice")
	for i := range 6 {
		o := incidents.OnCallOverride{Schedule: "primary", Person: "carol", From: oncallNow.Add(time.Duration(i) * 30 * time.Hour),
			Until: oncallNow.Add(time.Duration(i)*30*time.Hour + 5*time.Hour), SetBy: "alice", SetAt: oncallNow}
		if err := e.b.store.(incidents.Overrides).AddOverride(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	_, core := e.do(c, "GET", "/ui/static/console.css", nil)
	_, more := e.do(c, "GET", "/ui/static/pages.css", nil)
	_, js := e.do(c, "GET", "/ui/static/console.js", nil)
	must(t, strings.Contains(more, ".kc-bar{") && strings.Contains(more, ".tl-sh"), "the pages' stylesheet lacks the charts' or the timeline's rules")
	css := core + more
	for _, p := range []string{"/ui/oncall", "/ui/teams", "/ui/insights?days=90", "/ui/insights?days=7", "/ui/incidents/" + inc.ID + "/postmortem"} {
		res, page := e.do(c, "GET", p, nil)
		must(t, res.StatusCode == 200 && strings.Contains(page, `href="/ui/static/pages.css?v=`), "%s: %s", p, res.Status)
		for _, bad := range []string{"<script>", "style=", "<style", "onclick", "onload"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s has %q", p, bad)
			}
		}
		total := len(page) + len(css) + len(js)
		t.Logf("%s: %d bytes, %d with the CSS and JS", p, len(page), total)
		must(t, total < 100_000, "%s weighs %d bytes with its CSS and JS", p, total)
	}
}

// The teams page lists the maintenance windows, the ones holding now
// marked, their text escaped.
func TestTeamsPageListsMaintenance(t *testing.T) {
	e := newOncallEnv(t)
	w := incidents.Maintenance{ID: "mw-1a2b3c4d", Team: "payments", Match: map[string]string{"service": "db"}, Start: oncallNow.Add(-time.Hour),
		End: oncallNow.Add(time.Hour), Reason: "<b>db</b> upgrade", CreatedBy: "alice", CreatedAt: oncallNow}
	if err := e.b.store.(incidents.Maintenances).AddMaintenance(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	c, _ := e.signIn("alice")
	res, page := e.do(c, "GET", "/ui/teams", nil)
	must(t, res.StatusCode == 200, "teams: %s", res.Status)
	for _, want := range []string{"Maintenance windows", "mw-1a2b3c4d <strong>now</strong>", `team payments, service = &#34;db&#34;`, "&lt;b&gt;db&lt;/b&gt; upgrade", "<td>alice</td>"} {
		must(t, strings.Contains(page, want), "the teams page lacks %q", want)
	}
}
