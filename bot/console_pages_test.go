package bot_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/ical/icaltest"
	"github.com/klaxonbot/klaxon/incidents"
)

// newConsolePagesEnv is the console on a server with a schedule (New
// York, alice and bob weekly, alice's shift begun two days ago at 09:00),
// a route, a policy, and payments' responder alice. The clock is the
// real one's time (the stores check sessions against it), to the minute.
func newConsolePagesEnv(t *testing.T, store incidents.Store) (*consoleEnv, time.Time) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	now := time.Now().UTC().Truncate(time.Minute)
	l := now.In(ny)
	start := time.Date(l.Year(), l.Month(), l.Day()-2, 9, 0, 0, 0, ny)
	e := newChatEnv(t, store, func(c *bot.Config) {
		c.Server.PublicURL = "http://klaxon.example.com"
		c.People = []bot.PersonConfig{{Name: "alice", Slack: "UALICE"}, {Name: "bob", Telegram: "42"}, {Name: "carol"}}
		c.Teams[0].Responders = []string{"alice"}
		c.Teams[0].Schedule = "primary"
		c.Teams[0].Policy = "default"
		c.Policies = []bot.PolicyConfig{{Name: "default", Repeat: 2, Steps: []bot.StepConfig{{Notify: "channel"}, {Wait: bot.Duration(5 * time.Minute)},
			{Mention: "oncall"}, {Wait: bot.Duration(10 * time.Minute)}, {Mention: "alice"}}}}
		c.Schedules = []bot.ScheduleConfig{{Name: "primary", Timezone: "America/New_York",
			Rotation: &bot.RotationConfig{Every: bot.Duration(168 * time.Hour), Start: start.Format(time.RFC3339), People: []string{"alice", "bob"}}}}
		c.Routes = []bot.RouteConfig{{Match: map[string]string{"team": "payments"}, Team: "payments"}}
		c.Incidents.BlamePhrases = []string{"fault", "human error"}
	})
	e.clock.mu.Lock()
	e.clock.now = now
	e.clock.mu.Unlock()
	e.start()
	ce := &consoleEnv{chatEnv: e, http: httptest.NewServer(e.srv.Handler())}
	t.Cleanup(ce.http.Close)
	// alice is on call until her week ends (a calendar week in New York).
	return ce, time.Date(start.Year(), start.Month(), start.Day()+7, 9, 0, 0, 0, ny)
}

// The new pages through the bot, on both stores: overrides (responders
// only, "alice (web)"), the feed outside the session, the postmortem's
// versions and hint, the teams page, insights, feedback through Act.
func TestConsolePagesThroughTheBot(t *testing.T) {
	for name, open := range map[string]func(testing.TB) incidents.Store{"bolt": boltStore, "redis": redisStore} {
		t.Run(name, func(t *testing.T) {
			e, handover := newConsolePagesEnv(t, open(t))
			ctx := context.Background()
			now := e.clock.Now()
			ny := handover.Location()
			until := now.Add(2 * time.Hour).In(ny).Format("2006-01-02T15:04")
			alice, acsrf := e.signIn("alice", e.slack.dms)
			bob, bcsrf := e.signIn("bob", e.tg.dms)

			// On call.
			res, page := e.get(alice, "/ui/oncall")
			if res.StatusCode != 200 || !strings.Contains(page, "<strong>alice</strong>, until "+handover.Format("Mon Jan 2 15:04 MST")) {
				t.Fatalf("on-call: %s\n%.3000s", res.Status, page)
			}
			m := regexp.MustCompile(`id="feed-s-primary" class="feed" type="text" readonly value="http://klaxon\.example\.com(/ical/[^"]+)"`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no feed URL:\n%s", page)
			}
			feed := html.UnescapeString(m[1])
			res, page = e.post(bob, "/ui/oncall/overrides", url.Values{"csrf": {bcsrf}, "schedule": {"primary"}, "person": {"bob"}, "until": {until}})
			if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only the responders of the teams on primary (alice)") {
				t.Errorf("bob's override: %s", res.Status)
			}
			res, _ = e.post(alice, "/ui/oncall/overrides", url.Values{"csrf": {acsrf}, "schedule": {"primary"}, "person": {"carol"}, "until": {until}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("alice's override: %s", res.Status)
			}
			ovs, _ := e.store.(incidents.Overrides).Overrides(ctx, "primary", e.clock.Now())
			if len(ovs) != 1 || ovs[0].Person != "carol" || ovs[0].SetBy != "alice (web)" || !ovs[0].Until.Equal(now.Add(2*time.Hour)) {
				t.Fatalf("stored overrides: %+v", ovs)
			}
			res, page = e.get(&http.Client{}, feed)
			cal, err := icaltest.Parse([]byte(page))
			if res.StatusCode != 200 || err != nil || !strings.Contains(page, "On call (override): primary (carol)") {
				t.Fatalf("the feed without a session: %s %v\n%s", res.Status, err, page)
			}
			if len(cal.Subs) < 5 {
				t.Errorf("%d events in the feed", len(cal.Subs))
			}
			res, _ = e.post(alice, "/ui/oncall/overrides/remove", url.Values{"csrf": {acsrf}, "schedule": {"primary"}, "person": {"carol"},
				"from": {ovs[0].From.Format(time.RFC3339Nano)}, "until": {ovs[0].Until.Format(time.RFC3339Nano)}})
			if res.StatusCode != http.StatusSeeOther {
				t.Errorf("removal: %s", res.Status)
			}
			if ovs, _ = e.store.(incidents.Overrides).Overrides(ctx, "primary", e.clock.Now()); len(ovs) != 0 {
				t.Errorf("still stored: %+v", ovs)
			}
			if res, _ := e.post(alice, "/ui/oncall/feeds/rotate", url.Values{"csrf": {acsrf}, "feed": {"schedule:primary"}}); res.StatusCode != http.StatusSeeOther {
				t.Errorf("renewal: %s", res.Status)
			}
			if res, _ := e.get(&http.Client{}, feed); res.StatusCode != http.StatusNotFound {
				t.Errorf("the old feed after renewal: %s", res.Status)
			}

			// The postmortem.
			inc, err := e.srv.Declare(ctx, bot.Declaration{Title: "disk full", Team: "payments"}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaCLI})
			if err != nil {
				t.Fatal(err)
			}
			pm := "/ui/incidents/" + inc.ID + "/postmortem"
			res, page = e.post(bob, pm, url.Values{"csrf": {bcsrf}, "base": {"0"}, "do": {"save"}, "text": {"bob's"}})
			if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only the payments team") {
				t.Errorf("bob's save: %s", res.Status)
			}
			res, page = e.post(alice, pm, url.Values{"csrf": {acsrf}, "base": {"0"}, "do": {"save"}, "text": {"# Disk\n\nNobody's FAULT."}})
			if res.StatusCode != 200 || !strings.Contains(page, "Saved as version 1.") || !strings.Contains(page, "blameless notes help us learn") || !strings.Contains(page, "“FAULT”") {
				t.Errorf("alice's save with a blame phrase: %s\n%.3000s", res.Status, page)
			}
			v, err := e.store.(incidents.Postmortems).Postmortem(ctx, inc.ID, 0)
			if err != nil || v.Version != 1 || v.By != "alice" {
				t.Errorf("stored: %+v %v", v, err)
			}
			res, page = e.post(alice, pm, url.Values{"csrf": {acsrf}, "base": {"0"}, "do": {"save"}, "text": {"again from the draft"}})
			if res.StatusCode != http.StatusConflict || !strings.Contains(page, "alice saved a newer version (1) at "+now.Format("15:04 UTC")) {
				t.Errorf("a stale save: %s", res.Status)
			}

			// Teams.
			_, page = e.get(bob, "/ui/teams")
			for _, want := range []string{"notify the channel · wait 5m · warn whoever is on call · wait 10m · warn alice · repeat 2×",
				"route 1: alerts with team = &#34;payments&#34;", "default_team", "Slack channel " + slackC, "Telegram chat " + tgChat,
				`<a href="/ui/oncall#s-primary">primary</a>: alice until ` + handover.Format("Mon Jan 2 15:04 MST")} {
				if !strings.Contains(page, want) {
					t.Errorf("the teams page lacks %q", want)
				}
			}

			// Insights: through the store's Stats, or its words that it has none.
			res, page = e.get(bob, "/ui/insights")
			if _, ok := e.store.(incidents.Stats); ok {
				if res.StatusCode != 200 || !strings.Contains(page, "Incidents a day") {
					t.Errorf("insights: %s", res.Status)
				}
			} else if res.StatusCode != http.StatusNotFound || !strings.Contains(page, "store cannot report yet") {
				t.Errorf("insights without Stats: %s\n%.2000s", res.Status, page)
			}

			// Feedback goes through Act: the responders check, the timeline.
			if _, _, err := e.srv.Act(ctx, inc.ID, bot.Command{Verb: bot.VerbResolve}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaCLI}); err != nil {
				t.Fatal(err)
			}
			res, _ = e.post(bob, "/ui/incidents/"+inc.ID+"/act", url.Values{"csrf": {bcsrf}, "verb": {"feedback"}, "actionable": {"no"}})
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("bob's feedback: %s", res.Status)
			}
			res, _ = e.post(alice, "/ui/incidents/"+inc.ID+"/act", url.Values{"csrf": {acsrf}, "verb": {"feedback"}, "actionable": {"no"}, "text": {"it fixed itself"}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("alice's feedback: %s", res.Status)
			}
			got, _ := e.store.Get(ctx, inc.ID)
			last := got.Timeline[len(got.Timeline)-1]
			if got.Feedback == nil || got.Feedback.Actionable || got.Feedback.By != "alice (web)" || last.Kind != incidents.EventFeedback ||
				last.Text != "Marked not actionable by alice (web): it fixed itself" {
				t.Errorf("feedback: %+v, last event %+v", got.Feedback, last)
			}
		})
	}
}

// VerbFeedback through Act, as chat will use it.
func TestActFeedback(t *testing.T) {
	e, _ := newConsolePagesEnv(t, boltStore(t))
	ctx := context.Background()
	inc, err := e.srv.Declare(ctx, bot.Declaration{Title: "x", Team: "payments"}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaCLI})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.srv.Act(ctx, inc.ID, bot.Command{Verb: bot.VerbFeedback, Actionable: true}, bot.Actor{Name: "bob", Known: true, Via: bot.Slack}); incidents.ErrorKind(err) != incidents.Forbidden {
		t.Errorf("bob's feedback: %v", err)
	}
	got, _, err := e.srv.Act(ctx, inc.ID, bot.Command{Verb: bot.VerbFeedback, Actionable: true, Text: "paged the right person"}, bot.Actor{Name: "alice", Known: true, Via: bot.Slack})
	if err != nil || got.Feedback == nil || !got.Feedback.Actionable || got.Feedback.By != "alice" || got.Feedback.Why != "paged the right person" {
		t.Errorf("alice's feedback: %+v %v", got, err)
	}
	if _, _, err := e.srv.Act(ctx, inc.ID, bot.Command{Verb: bot.VerbFeedback, Text: strings.Repeat("x", incidents.MaxNoteLen+1)}, bot.Actor{Name: "alice", Known: true, Via: bot.Slack}); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("too long a reason: %v", err)
	}
}
