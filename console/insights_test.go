package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
)

func TestTeamsPage(t *testing.T) {
	b := newBackend(t, &clock{now: oncallNow})
	b.teams[0].Steps = &incidents.Policy{Name: "default", Repeat: 2, MinFiring: 2 * time.Minute, StartAt: map[incidents.Severity]int{incidents.Sev1: 4},
		Steps: []incidents.Step{{Kind: incidents.StepNotify, Target: "channel"}, {Kind: incidents.StepWait, Wait: 5 * time.Minute},
			{Kind: incidents.StepMention, Target: "oncall"}, {Kind: incidents.StepWait, Wait: 10 * time.Minute}, {Kind: incidents.StepCall, Target: "oncall"},
			{Kind: incidents.StepMention, Target: "web"}}}
	b.teams[0].Policy = "default"
	b.teams[0].Destinations = []string{"slack:C1", "mattermost:abcd", "telegram:-1001"}
	b.teams[0].Routes = []console.Route{{Index: 1, Match: map[string]string{"team": "payments"}}, {Index: 3, MatchRE: map[string]string{"service": `pay.*"><script>alert(1)</script>`}}}
	b.teams[1].Default = true
	b.teams[1].Policy = "gone"
	e := newEnvOn(t, b)
	c, _ := e.signIn("bob")
	res, page := e.do(c, "GET", "/ui/teams", nil)
	must(t, res.StatusCode == 200, "teams: %s", res.Status)
	for _, want := range []string{
		"Slack channel C1", "Mattermost channel abcd", "Telegram chat -1001",
		`route 1: alerts with team = &#34;payments&#34;`, `route 3: alerts with service =~ &#34;pay.*\&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`,
		"<strong>default</strong>: notify the channel · wait 5m · warn whoever is on call · wait 10m · call whoever is on call · warn team web&#39;s on-call · repeat 2×",
		"SEV1 starts at step 5 (call whoever is on call)", "only notifies until an incident has been open for 2m",
		"Responders</dt><dd>alice</dd>", "what no route takes (default_team)", "gone (not configured)", "anyone klaxon knows",
	} {
		must(t, strings.Contains(page, want), "the teams page lacks %q:\n%s", want, page)
	}
	must(t, !strings.Contains(page, "<script>alert"), "a route's text runs")
}

// stats is a fortnight of payments' incidents before oncallNow (a
// Thursday, in UTC), and one of web's.
func seededStats() []incidents.Stat {
	day := func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	return []incidents.Stat{
		{Number: 1, Team: "payments", CreatedAt: day(3, 2), AckedAt: day(3, 2).Add(4 * time.Minute), ResolvedAt: day(3, 3),
			Rules: []incidents.RuleCount{{Source: "alertmanager", Name: "DiskFull", Fired: 3}}, PageCount: 1,
			Pages: []incidents.Page{{At: day(3, 2), Kind: "call"}}, Feedback: &incidents.Feedback{Actionable: false}},
		{Number: 2, Team: "payments", CreatedAt: day(4, 11), ResolvedAt: day(4, 11).Add(3 * time.Minute), Flaps: 2,
			Rules: []incidents.RuleCount{{Source: "alertmanager", Name: "DiskFull", Fired: 2}}, PageCount: 1, Pages: []incidents.Page{{At: day(4, 11), Kind: "mention"}}},
		{Number: 3, Team: "payments", CreatedAt: day(5, 9), Rules: []incidents.RuleCount{{Source: "grafana", Name: `<script>alert("rule")</script>`, Fired: 1}}},
		// The week before.
		{Number: 4, Team: "payments", CreatedAt: time.Date(2026, 2, 25, 9, 0, 0, 0, time.UTC), AckedAt: time.Date(2026, 2, 25, 9, 10, 0, 0, time.UTC),
			ResolvedAt: time.Date(2026, 2, 25, 10, 0, 0, 0, time.UTC), Rules: []incidents.RuleCount{{Source: "alertmanager", Name: "DiskFull", Fired: 1}}},
		{Number: 5, Team: "web", CreatedAt: day(4, 12), Rules: []incidents.RuleCount{{Source: "alertmanager", Name: "SlowPages", Fired: 7}}},
	}
}

func TestInsightsPage(t *testing.T) {
	b := newBackend(t, &clock{now: oncallNow})
	b.stats = seededStats()
	e := newEnvOn(t, b)
	c, _ := e.signIn("bob")
	res, page := e.do(c, "GET", "/ui/insights?team=payments&days=7", nil)
	must(t, res.StatusCode == 200, "insights: %s\n%s", res.Status, page)
	for _, want := range []string{
		"Team payments: incidents opened Fri Feb 27 to Thu Mar 5 2026, days and hours in UTC",
		`<span class="fig-label">Incidents</span> <span class="fig-value">3</span> <span class="change worse" title="was 1">▲ 2`,
		`<span class="fig-label">MTTA, median</span> <span class="fig-value">4m</span> <span class="change better" title="was 10m">▼ 6m`,
		`<span class="fig-label">MTTR, median</span> <span class="fig-value">3m</span>`,
		"1 still open", `Pages after hours</span> <span class="fig-value">1</span>`, "50% of the pages",
		`Not actionable</span> <span class="fig-value">1</span>`,
		`<svg`, "Incidents a day", "Pages by hour of day", "1 of 2 pages after hours (50%)", "outside 09:00–18:00 Monday to Friday, in UTC",
		"<th scope=\"row\">DiskFull <span class=\"meta\">alertmanager</span></th>\n" + `<td>5 <span class="change worse">▲ 4</span></td><td>50% <span class="change worse">▼ 50 pts</span></td><td>3m <span class="change better">▼ 57m</span></td><td>50% <span class="change worse">▲ 50 pts</span></td><td>2 <span class="change worse">▲ 2</span></td><td>1 <span class="change worse">▲ 1</span></td>`,
		`&lt;script&gt;alert(&#34;rule&#34;)&lt;/script&gt; <span class="meta">grafana</span> <span class="badge">new</span>`,
	} {
		must(t, strings.Contains(page, want), "insights lack %q:\n%s", want, page)
	}
	must(t, !strings.Contains(page, "SlowPages") && !strings.Contains(page, `<script>alert("rule")`), "another team's rule, or a script")

	_, page = e.do(c, "GET", "/ui/insights?team=&days=90", nil)
	must(t, strings.Contains(page, "Every team") && strings.Contains(page, "SlowPages") && strings.Contains(page, "last 90 days"), "every team, 90 days:\n%.3000s", page)
	_, page = e.do(c, "GET", "/ui/insights", nil)
	must(t, strings.Contains(page, "Team payments") && strings.Contains(page, `<option value="30" selected>`), "the defaults: the first team, 30 days")
	for _, q := range []string{"?days=8", "?days=x", "?team=nope"} {
		res, _ := e.do(c, "GET", "/ui/insights"+q, nil)
		must(t, res.StatusCode == http.StatusBadRequest, "%s: %s", q, res.Status)
	}
}

// A team's days and working hours are its time zone's.
func TestInsightsInTheTeamsZone(t *testing.T) {
	b := newBackend(t, &clock{now: oncallNow})
	b.teams[0].Location = mustLoc(t, "Asia/Tokyo")
	// 01:00 UTC is 10:00 in Tokyo: working hours there.
	b.stats = []incidents.Stat{{Number: 1, Team: "payments", CreatedAt: time.Date(2026, 3, 4, 1, 0, 0, 0, time.UTC), PageCount: 1,
		Pages: []incidents.Page{{At: time.Date(2026, 3, 4, 1, 0, 0, 0, time.UTC), Kind: "call"}}}}
	e := newEnvOn(t, b)
	c, _ := e.signIn("bob")
	_, page := e.do(c, "GET", "/ui/insights?team=payments&days=7", nil)
	must(t, strings.Contains(page, "days and hours in Asia/Tokyo") && strings.Contains(page, "0 of 1 pages after hours (0%)") &&
		strings.Contains(page, "Sat Feb 28 to Fri Mar 6 2026"), "in Tokyo:\n%.4000s", page)
}

// A store that keeps no statistics says so, on the page.
func TestInsightsStoreCannotReport(t *testing.T) {
	b := newBackend(t, &clock{now: oncallNow})
	b.statsErr = incidents.Errorf(incidents.NotFound, "This klaxon's store cannot report yet.")
	e := newEnvOn(t, b)
	c, _ := e.signIn("bob")
	res, page := e.do(c, "GET", "/ui/insights", nil)
	must(t, res.StatusCode == http.StatusNotFound && strings.Contains(page, "This klaxon&#39;s store cannot report yet.") && strings.Contains(page, `id="in-team"`),
		"no stats: %s\n%s", res.Status, page)
	b.statsErr = incidents.Errorf(incidents.Unavailable, "down")
	res, page = e.do(c, "GET", "/ui/insights", nil)
	must(t, res.StatusCode == http.StatusServiceUnavailable && strings.Contains(page, "Try again"), "store down: %s", res.Status)
}

// "Was it actionable?" on a resolved incident, through the action path.
func TestFeedbackForm(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "payments", incidents.AlertFiring))
	c, csrf := e.signIn("alice")
	_, page := e.do(c, "GET", "/ui/incidents/"+inc.ID, nil)
	must(t, !strings.Contains(page, "Was it actionable?"), "feedback asked of an open incident")
	e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"csrf": {csrf}, "verb": {"resolve"}})
	_, page = e.do(c, "GET", "/ui/incidents/"+inc.ID, nil)
	must(t, strings.Contains(page, "<legend>Was it actionable?</legend>") && strings.Contains(page, `value="feedback"`), "no feedback form:\n%s", page)
	res, _ := e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"csrf": {csrf}, "verb": {"feedback"}, "text": {"flapped"}})
	must(t, res.StatusCode == http.StatusBadRequest, "no answer: %s", res.Status)
	res, _ = e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"feedback"}, "actionable": {"no"}})
	must(t, res.StatusCode == http.StatusForbidden, "no token: %s", res.Status)
	res, _ = e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"csrf": {csrf}, "verb": {"feedback"}, "actionable": {"no"}, "text": {"it <b>flapped</b>"}})
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/incidents/"+inc.ID+"?did=feedback", "feedback: %s", res.Status)
	got, _ := e.b.store.Summary(context.Background(), inc.ID)
	must(t, got.Feedback != nil && !got.Feedback.Actionable && got.Feedback.By == "alice (web)" && got.Feedback.Why == "it <b>flapped</b>", "stored: %+v", got.Feedback)
	_, page = e.do(c, "GET", "/ui/incidents/"+inc.ID+"?did=feedback", nil)
	must(t, strings.Contains(page, "the answer counts in the insights") && strings.Contains(page, "no, said alice (web)") &&
		strings.Contains(page, "it &lt;b&gt;flapped&lt;/b&gt;") && strings.Contains(page, `value="no" checked`) && strings.Contains(page, "Answer again"),
		"after the feedback:\n%s", page)
	// bob is not payments' responder.
	bob, bcsrf := e.signIn("bob")
	res, _ = e.do(bob, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"csrf": {bcsrf}, "verb": {"feedback"}, "actionable": {"yes"}})
	must(t, res.StatusCode == http.StatusForbidden, "bob's feedback: %s", res.Status)
}

// Each rule's suggestion (report/suggest) is under its row.
func TestInsightsSuggestions(t *testing.T) {
	b := newBackend(t, &clock{now: oncallNow})
	for i := range 4 {
		created := time.Date(2026, 3, 2+i, 12, 0, 0, 0, time.UTC)
		b.stats = append(b.stats, incidents.Stat{Number: int64(i + 1), Team: "payments", CreatedAt: created, ResolvedAt: created.Add(3 * time.Minute),
			Rules: []incidents.RuleCount{{Source: "alertmanager", Name: "Blip", Fired: 1}}})
	}
	e := newEnvOn(t, b)
	c, _ := e.signIn("bob")
	_, page := e.do(c, "GET", "/ui/insights?team=payments&days=7", nil)
	want := `<tr class="suggestion"><td colspan="7"><span class="meta">Suggestion:</span> resolved by itself within 3m in 4 of 4 firings: give the rule ` + "`for: 10m`" + ` or make it a warning (no page)</td></tr>`
	must(t, strings.Contains(page, want), "insights lack the suggestion %q:\n%.6000s", want, page)
}
