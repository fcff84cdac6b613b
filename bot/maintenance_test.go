package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// startEsc runs a klaxon like newEscEnv's on store and clock, config
// changed by mutate; stop ends its scheduler and outbox.
func startEsc(t *testing.T, store incidents.Store, clock *fakeClock, mutate func(*bot.Config)) (*escEnv, func()) {
	t.Helper()
	cfg := bot.DefaultConfig()
	escalationConfig(cfg)
	if mutate != nil {
		mutate(cfg)
	}
	phone := &fakePhone{}
	slack := newFakeChat()
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Phone: phone, Chats: map[string]bot.Chat{bot.Slack: slack},
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse},
		VerifyPhone: func(r *http.Request, body []byte) (url.Values, error) {
			return url.ParseQuery(string(body))
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &escEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv, phone: phone, slack: slack}, stop
}

// amAlert is an Alertmanager webhook of one alert of group with labels
// (and alertname group), firing or resolved, that started at starts.
func amAlert(group, status string, starts time.Time, labels map[string]string) string {
	l := map[string]string{"alertname": group, "severity": "warning"}
	for k, v := range labels {
		l[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"" + group + "\"}", "status": status, "receiver": "k",
		"groupLabels": map[string]string{"alertname": group},
		"alerts": []map[string]any{{"status": status, "fingerprint": group, "startsAt": starts.Format(time.RFC3339),
			"labels": l, "annotations": map[string]string{"summary": "DB maintenance test"}}},
	})
	return string(b)
}

func (e *escEnv) hook(body string) *incidents.Incident {
	e.t.Helper()
	r := e.do("POST", "/hooks/alertmanager", body)
	if r.code != 200 {
		e.t.Fatalf("hook: %d %s", r.code, r.body)
	}
	id, _ := r.json(e.t)["incident"].(string)
	if id == "" {
		return nil
	}
	inc, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// say runs a chat command as user in the payments channel.
func (e *escEnv) say(user, text string) string {
	return e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: user, UserName: strings.ToLower(user), Channel: slackC, Text: text}).Text
}

// quiet lets the scheduler look (it polls every 250 ms) and checks that
// inc took no escalation step.
func (e *escEnv) noSteps(id string) {
	e.t.Helper()
	time.Sleep(400 * time.Millisecond)
	if ev := e.events(id, incidents.EventEscalated); len(ev) != 0 {
		e.t.Fatalf("%s escalated during maintenance: %q", id, ev)
	}
}

// A matching alert during an ad-hoc window is stored and shown, never
// escalates while it holds, and starts its policy when the window ends; an
// alert the window does not match escalates as usual; one that resolved
// meanwhile does not start.
func TestMaintenanceHoldsUntilTheWindowEnds(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e, _ := startEsc(t, store(t), &fakeClock{now: t0}, nil)
		r := e.say("UALICE", "maintenance 1h payments service=db db upgrade")
		if !strings.Contains(r, "Maintenance window opened by alice: mw-") || !strings.Contains(r, "team payments · service=db · until Mon 13:00 UTC (1h left) · db upgrade · by alice") {
			t.Fatalf("opening: %q", r)
		}
		id := strings.Fields(strings.TrimPrefix(r, "Maintenance window opened by alice: "))[0]
		if l := e.say("UALICE", "maintenance"); !strings.Contains(l, "• now: "+id+" · team payments · service=db") {
			t.Fatalf("list: %q", l)
		}
		held := e.hook(amAlert("DBDown", "firing", t0, map[string]string{"service": "db"}))
		gone := e.hook(amAlert("DBSlow", "firing", t0, map[string]string{"service": "db"}))
		other := e.hook(amAlert("APIDown", "firing", t0, map[string]string{"service": "api"}))
		if held.State != incidents.Triggered || held.Maintenance == nil || held.Maintenance.Window != id || !held.Due().Equal(t0.Add(time.Hour)) {
			t.Fatalf("held incident: %s, hold %+v, due %s", held.State, held.Maintenance, held.Due())
		}
		if ev := e.events(held.ID, incidents.EventMaintenance); len(ev) != 1 || !strings.Contains(ev[0], "In maintenance ("+id+": db upgrade) until 2026-03-02 13:00 UTC") {
			t.Fatalf("timeline %q", ev)
		}
		if other.Maintenance != nil {
			t.Fatalf("the api alert is held: %+v", other.Maintenance)
		}
		// Shown: listed with the open incidents, and its card is posted.
		if r := e.do("GET", "/api/v1/incidents?state=open", ""); !strings.Contains(r.body, held.ID) {
			t.Fatalf("open incidents: %s", r.body)
		}
		waitFor(t, 5*time.Second, "the held incident's card", func() bool { return len(e.slack.cards(slackC, held.ID)) == 1 })
		waitFor(t, 5*time.Second, "the api alert's notify step", func() bool { return len(e.events(other.ID, incidents.EventEscalated)) == 1 })
		e.noSteps(held.ID)
		// Resolved during the window: nothing starts at its end.
		e.hook(amAlert("DBSlow", "resolved", t0, map[string]string{"service": "db"}))
		e.clock.Add(59 * time.Minute)
		e.noSteps(held.ID)
		e.clock.Add(time.Minute)
		waitFor(t, 5*time.Second, "the policy at the window's end", func() bool { return len(e.events(held.ID, incidents.EventEscalated)) == 1 })
		if ev := e.events(held.ID, incidents.EventMaintenance); len(ev) != 2 || ev[1] != "Maintenance window "+id+" ended: escalation policy default starts" {
			t.Fatalf("timeline %q", ev)
		}
		e.clock.Add(5 * time.Minute)
		waitFor(t, 5*time.Second, "the mention after the window", func() bool { return len(e.events(held.ID, incidents.EventEscalated)) == 2 })
		if ev := e.events(gone.ID, incidents.EventEscalated); len(ev) != 0 {
			t.Fatalf("a resolved incident escalated at the window's end: %q", ev)
		}
		if got, _ := e.store.Get(context.Background(), held.ID); got.Maintenance != nil {
			t.Fatalf("still held: %+v", got.Maintenance)
		}
		if l := e.say("UALICE", "maintenance"); !strings.Contains(l, "No maintenance windows") {
			t.Fatalf("list after the end: %q", l)
		}
	})
}

// Ending a window early starts the policy of what it held, at once;
// responders only; a config window cannot be ended from chat.
func TestMaintenanceEndedEarly(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) { testEndedEarly(t, store(t)) })
}

func testEndedEarly(t *testing.T, store incidents.Store) {
	e, _ := startEsc(t, store, &fakeClock{now: t0}, func(c *bot.Config) {
		c.Teams[0].Responders = []string{"alice"}
		c.Maintenance = []bot.MaintenanceConfig{{Name: "nightly", Team: "payments", Match: map[string]string{"service": "batch"}, Weekly: "Mon 23:00-01:00"}}
	})
	if r := e.say("UZED", "maintenance 2h payments"); !strings.Contains(r, "only the payments team's responders (alice)") {
		t.Fatalf("a stranger opened a window: %q", r)
	}
	r := e.say("UALICE", "maintenance 2h")
	if !strings.Contains(r, "team payments · until Mon 14:00 UTC (2h left) · by alice") {
		t.Fatalf("opening: %q", r)
	}
	held := e.hook(amAlert("Anything", "firing", t0, nil))
	if held.Maintenance == nil {
		t.Fatal("not held")
	}
	e.clock.Add(10 * time.Minute)
	if r := e.say("UALICE", "maintenance end nightly"); !strings.Contains(r, "comes from the config: change the config to end it") {
		t.Fatalf("ending a config window: %q", r)
	}
	if r := e.say("UZED", "maintenance end"); !strings.Contains(r, "only the payments team's responders") {
		t.Fatalf("a stranger ended a window: %q", r)
	}
	if r := e.say("UALICE", "maintenance end"); !strings.Contains(r, "ended early by alice. 1 held incident(s) start their escalation now.") {
		t.Fatalf("ending: %q", r)
	}
	waitFor(t, 5*time.Second, "the notify step", func() bool { return len(e.events(held.ID, incidents.EventEscalated)) == 1 })
	if ev := e.events(held.ID, incidents.EventMaintenance); len(ev) != 2 || !strings.Contains(ev[1], "ended early by alice: escalation policy default starts") {
		t.Fatalf("timeline %q", ev)
	}
	if r := e.say("UALICE", "maintenance end"); !strings.Contains(r, "no maintenance window opened from chat is running here") {
		t.Fatalf("ending again: %q", r)
	}
	if l := e.say("UALICE", "maintenance"); !strings.Contains(l, "• next: nightly · team payments · service=batch · Mon 2 Mar 23:00–01:00 UTC, weekly Mon 23:00-01:00") {
		t.Fatalf("list: %q", l)
	}
}

// A weekly window from config holds what opens in it, in its time zone.
func TestMaintenanceWeeklyFromConfig(t *testing.T) {
	// t0 is Monday 2026-03-02 12:00 UTC, 13:00 in Berlin.
	e, _ := startEsc(t, boltStore(t), &fakeClock{now: t0}, func(c *bot.Config) {
		c.Maintenance = []bot.MaintenanceConfig{{Team: "payments", Match: map[string]string{"service": "db"}, Weekly: "Mon 12:30-14:00", Timezone: "Europe/Berlin", Reason: "patching"}}
	})
	held := e.hook(amAlert("DBDown", "firing", t0, map[string]string{"service": "db"}))
	if h := held.Maintenance; h == nil || h.Window != "config-1" || !h.Until.Equal(t0.Add(time.Hour)) || h.Reason != "patching" {
		t.Fatalf("hold %+v", h)
	}
	e.noSteps(held.ID)
	e.clock.Add(time.Hour)
	waitFor(t, 5*time.Second, "the policy at the window's end", func() bool { return len(e.events(held.ID, incidents.EventEscalated)) == 1 })
}

// Two klaxons on one Redis: at the window's end every held incident
// starts its policy exactly once — one release line, one notify step.
func TestMaintenanceEndOnceAcrossReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("maint2")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	var envs []*escEnv
	for range 2 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		e, _ := startEsc(t, s, &fakeClock{now: t0}, nil)
		envs = append(envs, e)
	}
	// Opened on one, seen by the other.
	if r := envs[0].say("UALICE", "maintenance 30m payments"); !strings.Contains(r, "opened by alice") {
		t.Fatalf("opening: %q", r)
	}
	const n = 40
	ids := make([]string, n)
	for i := range n {
		inc := envs[i%2].hook(amAlert(fmt.Sprintf("g%d", i), "firing", t0, nil))
		if inc.Maintenance == nil {
			t.Fatalf("%s not held (opened on replica %d)", inc.ID, i%2)
		}
		ids[i] = inc.ID
	}
	envs[0].noSteps(ids[0])
	for _, e := range envs {
		e.clock.Add(30 * time.Minute)
	}
	waitFor(t, 20*time.Second, "every notify step", func() bool {
		for _, id := range ids {
			if len(envs[0].events(id, incidents.EventEscalated)) != 1 {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids {
		if ev := envs[0].events(id, incidents.EventEscalated); len(ev) != 1 {
			t.Fatalf("%s: %d steps, want 1: %q", id, len(ev), ev)
		}
		if ev := envs[0].events(id, incidents.EventMaintenance); len(ev) != 2 {
			t.Fatalf("%s: maintenance lines %q, want the hold and one release", id, ev)
		}
	}
}

// A klaxon that is down when the window ends starts the held policies
// when it comes back (the due time is stored, not a timer).
func TestMaintenanceEndAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	s1, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: t0}
	e1, stop := startEsc(t, s1, clock, nil)
	if r := e1.say("UALICE", "maintenance 1h payments"); !strings.Contains(r, "opened by alice") {
		t.Fatalf("opening: %q", r)
	}
	held := e1.hook(amAlert("DBDown", "firing", t0, nil))
	e1.noSteps(held.ID)
	stop()
	s1.Close()
	clock.Add(3 * time.Hour) // down across the window's end
	s2, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	e2, _ := startEsc(t, s2, clock, nil)
	waitFor(t, 5*time.Second, "the policy after the restart", func() bool { return len(e2.events(held.ID, incidents.EventEscalated)) >= 1 })
	if ev := e2.events(held.ID, incidents.EventMaintenance); len(ev) != 2 || !strings.HasSuffix(ev[1], "ended: escalation policy default starts") {
		t.Fatalf("timeline %q", ev)
	}
}

// An alert that resolves and fires again every two minutes: the first
// three flaps reopen the incident as usual (the policy starts again, the
// thread hears of it); the fourth within 30 minutes marks it flapping —
// the card says so, and from then on a flap neither restarts the policy
// nor posts to the thread, while the timeline records each one.
func TestFlappingStopsRenotifying(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e, _ := startEsc(t, store(t), &fakeClock{now: t0}, nil)
		notified := func(id string) int {
			n := 0
			for _, ev := range e.events(id, incidents.EventEscalated) {
				if strings.Contains(ev, "the team's channels are notified") {
					n++
				}
			}
			return n
		}
		starts := t0
		inc := e.hook(amAlert("Blip", "firing", starts, nil))
		waitFor(t, 5*time.Second, "the first notify step", func() bool { return notified(inc.ID) == 1 })
		for i := 1; i <= 6; i++ {
			e.clock.Add(time.Minute)
			e.hook(amAlert("Blip", "resolved", starts, nil))
			e.clock.Add(time.Minute)
			starts = e.clock.Now()
			got := e.hook(amAlert("Blip", "firing", starts, nil))
			if got.State != incidents.Triggered || got.ID != inc.ID {
				t.Fatalf("flap %d: %s %s", i, got.ID, got.State)
			}
			if i < 4 {
				waitFor(t, 5*time.Second, fmt.Sprintf("the policy restarting at flap %d", i), func() bool { return notified(inc.ID) == i+1 })
				continue
			}
			if !got.Flapping {
				t.Fatalf("flap %d: not flapping", i)
			}
			time.Sleep(400 * time.Millisecond)
			if n := notified(inc.ID); n != 4 {
				t.Fatalf("flap %d restarted the policy: %d notify steps, want 4", i, n)
			}
		}
		cur, _ := e.store.Get(context.Background(), inc.ID)
		if cur.Flaps != 6 || len(e.events(inc.ID, incidents.EventReopened)) != 6 || len(e.events(inc.ID, incidents.EventFlapping)) != 1 {
			t.Fatalf("timeline: %d flaps, %d reopened, flapping %q", cur.Flaps, len(e.events(inc.ID, incidents.EventReopened)), e.events(inc.ID, incidents.EventFlapping))
		}
		// The card says so; the thread heard the first three flaps and
		// the flapping notice, not the flaps after.
		var m fakeMsg
		waitFor(t, 5*time.Second, "the flapping card", func() bool {
			m = synced(t, e.slack, slackC, cur)
			return strings.Contains(m.owner, "Flapping") && len(m.replies) > 0
		})
		waitFor(t, 5*time.Second, "the thread", func() bool {
			m = synced(t, e.slack, slackC, cur)
			n := 0
			for _, r := range m.replies {
				for _, ev := range r {
					if ev.Kind == incidents.EventFlapping {
						n++
					}
				}
			}
			return n == 1
		})
		reopened := 0
		for _, r := range m.replies {
			for _, ev := range r {
				if ev.Kind == incidents.EventReopened {
					reopened++
				}
				if ev.Tag == incidents.TagFlap {
					t.Fatalf("a flap was posted to the thread: %+v", ev)
				}
			}
		}
		if reopened != 3 {
			t.Fatalf("%d reopenings in the thread, want 3 (before it was flapping)", reopened)
		}
	})
}

// The compact card goes to the channel while a window holds the
// incident, and the full card replaces it when the window ends.
func TestMaintenanceCompactCard(t *testing.T) {
	e, _ := startEsc(t, boltStore(t), &fakeClock{now: t0}, nil)
	e.say("UALICE", "maintenance 1h payments")
	inc := e.hook(amAlert("DBDown", "firing", t0, nil))
	m := synced(t, e.slack, slackC, inc)
	if !m.compact || !strings.Contains(m.owner, "🔧 In maintenance (mw-") {
		t.Fatalf("card %+v", m)
	}
	e.clock.Add(time.Hour)
	waitFor(t, 5*time.Second, "the full card", func() bool {
		cs := e.slack.cards(slackC, inc.ID)
		return len(cs) == 1 && !cs[0].compact && cs[0].owner == ""
	})
}

// GET and POST /api/v1/maintenance: open (responders only for their
// team), list, end early; bad bodies are 400 with a reason.
func TestMaintenanceAPI(t *testing.T) {
	e := apiEnv(t)
	for _, c := range []struct {
		body, want string
		code       int
		auth       []string
	}{
		{`{"duration": "2h", "team": "payments"}`, "may only read", 403, bearer(readToken)},
		{`{"duration": "2h", "team": "payments"}`, "only the payments team's responders (alice)", 403, bearer(bobToken)},
		// No team holds every team's matching incidents: every team's
		// responders must agree, so bob may not hold payments this way.
		{`{"duration": "168h", "match": {"severity": "critical"}}`, "only the payments team's responders (alice)", 403, bearer(bobToken)},
		{`{"duration": "soon", "team": "payments"}`, `duration: \"soon\" is not a duration`, 400, bearer(aliceToken)},
		{`{"duration": "30d", "team": "payments"}`, "not a duration", 400, bearer(aliceToken)},
		{`{"duration": "2h"}`, "say which team or labels", 400, bearer(aliceToken)},
		{`{"duration": "2h", "team": "nope"}`, `no team \"nope\"`, 400, bearer(aliceToken)},
		{`{"duration": "2h", "match": {"": "x"}}`, "must not be empty", 400, bearer(aliceToken)},
		{`{"end": "mw-x", "team": "payments"}`, "end takes a window's ID alone", 400, bearer(aliceToken)},
		{`{"end": "mw-nope"}`, "no maintenance window mw-nope", 404, bearer(aliceToken)},
	} {
		r := e.do("POST", "/api/v1/maintenance", c.body, c.auth...)
		if r.code != c.code || !strings.Contains(r.body, c.want) {
			t.Errorf("POST %s: %d %s; want %d with %q", c.body, r.code, r.body, c.code, c.want)
		}
	}
	r := e.do("POST", "/api/v1/maintenance", `{"duration": "90m", "team": "payments", "match": {"service": "db"}, "reason": "db upgrade"}`, bearer(aliceToken)...)
	if r.code != 201 || !strings.Contains(r.body, `"message": "Maintenance window opened: mw-`) {
		t.Fatalf("open: %d %s", r.code, r.body)
	}
	id := r.json(t)["window"].(map[string]any)["id"].(string)
	r = e.do("GET", "/api/v1/maintenance?team=payments", "", bearer(readToken)...)
	if r.code != 200 || !strings.Contains(r.body, `"id": "`+id+`"`) || !strings.Contains(r.body, `"active": true`) || !strings.Contains(r.body, `"reason": "db upgrade"`) {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/api/v1/maintenance?team=web", "", bearer(readToken)...); !strings.Contains(r.body, `"windows": []`) {
		t.Fatalf("list for web: %s", r.body)
	}
	if r := e.do("POST", "/api/v1/maintenance", `{"end": "`+id+`"}`, bearer(bobToken)...); r.code != 403 {
		t.Fatalf("bob ended alice's team's window: %d %s", r.code, r.body)
	}
	if r := e.do("POST", "/api/v1/maintenance", `{"end": "`+id+`"}`, bearer(aliceToken)...); r.code != 200 || !strings.Contains(r.body, "ended early by alice; 0 held incident(s)") {
		t.Fatalf("end: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/api/v1/maintenance", "", bearer(readToken)...); !strings.Contains(r.body, `"windows": []`) {
		t.Fatalf("list after the end: %s", r.body)
	}
}

// The console, through bot's backend: the teams page lists the window,
// and a held incident's page says the window holds its escalation.
func TestMaintenanceOnTheConsole(t *testing.T) {
	e := newConsoleEnv(t, boltStore(t))
	r := e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: "UALICE", UserName: "alice", Channel: slackC, Text: "maintenance 1h payments db work"})
	if !strings.Contains(r.Text, "opened by alice") {
		t.Fatalf("opening: %q", r.Text)
	}
	inc, err := e.srv.Declare(context.Background(), bot.Declaration{Title: "disk full", Team: "payments"}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaCLI})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Maintenance == nil {
		t.Fatal("a declared incident in the window is not held")
	}
	alice, _ := e.signIn("alice", e.slack.dms)
	_, page := e.get(alice, "/ui/incidents/"+inc.ID)
	if !strings.Contains(page, "in 1h (default, step 1 of 3); held by maintenance window "+inc.Maintenance.Window+" until "+inc.Maintenance.Until.Format("15:04 UTC")) {
		t.Errorf("the incident page does not say it is held:\n%.3000s", page)
	}
	_, page = e.get(alice, "/ui/teams")
	if !strings.Contains(page, inc.Maintenance.Window+" <strong>now</strong>") || !strings.Contains(page, "db work") {
		t.Errorf("the teams page does not list the window:\n%.3000s", page)
	}
}

// Windows one after another: at the first one's end the scheduler finds
// the second still holding the incident and waits for its end instead.
func TestMaintenanceWindowsInARow(t *testing.T) {
	e, _ := startEsc(t, boltStore(t), &fakeClock{now: t0}, nil)
	e.say("UALICE", "maintenance 30m payments first")
	held := e.hook(amAlert("DBDown", "firing", t0, nil))
	if !held.Due().Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("due %s", held.Due())
	}
	e.clock.Add(20 * time.Minute)
	second := e.say("UALICE", "maintenance 1h payments second")
	id := strings.Fields(strings.TrimPrefix(second, "Maintenance window opened by alice: "))[0]
	e.clock.Add(10 * time.Minute) // the first ends
	waitFor(t, 5*time.Second, "the hold moving to the second window", func() bool {
		got, _ := e.store.Get(context.Background(), held.ID)
		return got.Maintenance != nil && got.Maintenance.Window == id
	})
	got, _ := e.store.Get(context.Background(), held.ID)
	if !got.Due().Equal(t0.Add(80*time.Minute)) || len(e.events(held.ID, incidents.EventEscalated)) != 0 {
		t.Fatalf("due %s, steps %q", got.Due(), e.events(held.ID, incidents.EventEscalated))
	}
	e.clock.Add(50 * time.Minute)
	waitFor(t, 5*time.Second, "the policy at the second window's end", func() bool { return len(e.events(held.ID, incidents.EventEscalated)) == 1 })
	if ev := e.events(held.ID, incidents.EventMaintenance); len(ev) != 3 || !strings.Contains(ev[1], "In maintenance ("+id+": second)") {
		t.Fatalf("timeline %q", ev)
	}
}
