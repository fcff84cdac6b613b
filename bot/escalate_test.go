package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

type fakePhone struct {
	mu    sync.Mutex
	calls []phoneCall
	// fail: how many more calls to each number fail (not in calls).
	fail map[string]int
}

type phoneCall struct{ to, say, gather, status string }

func (p *fakePhone) Call(ctx context.Context, to, say, gather, status string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail[to] > 0 {
		p.fail[to]--
		return "", fmt.Errorf("twilio: 500 internal error")
	}
	p.calls = append(p.calls, phoneCall{to, say, gather, status})
	return fmt.Sprintf("CA%d", len(p.calls)), nil
}

func (p *fakePhone) list() []phoneCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]phoneCall(nil), p.calls...)
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func escalationConfig(c *bot.Config) {
	c.Server.PublicURL = "https://klaxon.example.com"
	// Reachable from elsewhere (a public URL): nothing is open by
	// accident, so the tests open what they use.
	c.Sources.Alertmanager = &bot.HookAuth{AllowUnauthenticated: true}
	c.Server.APIOpen = true
	c.People = []bot.PersonConfig{{Name: "alice", Slack: "UALICE", Phone: "+15551230001"}, {Name: "bob", Phone: "+15551230002"}}
	c.Schedules = []bot.ScheduleConfig{{Name: "primary", Timezone: "Europe/Berlin",
		Rotation: &bot.RotationConfig{Every: bot.Duration(24 * time.Hour), Start: "2026-03-02T09:00:00+01:00", People: []string{"alice", "bob"}}}}
	c.Policies = []bot.PolicyConfig{{Name: "default", Steps: []bot.StepConfig{
		{Notify: "channel"}, {Wait: bot.Duration(5 * time.Minute)}, {Mention: "oncall"},
		{Wait: bot.Duration(10 * time.Minute)}, {Call: "oncall"}}}}
	c.Twilio = &bot.TwilioConfig{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "twilio-auth-0123456789abcdef", From: "+15550000000", APIURL: "https://api.twilio.invalid"}
	c.Slack = &bot.SlackConfig{BotToken: "xoxb-1-outbox-tests", APIURL: "https://slack.invalid/api/"}
	c.Teams = []bot.TeamConfig{{Name: "payments", Policy: "default", Schedule: "primary", Slack: &bot.SlackDest{Channel: slackC}}}
	c.DefaultTeam = "payments"
}

type escEnv struct {
	*env
	srv   *bot.Server
	phone *fakePhone
	slack *fakeChat
}

func newEscEnv(t *testing.T, store incidents.Store, mods ...func(*bot.Config)) *escEnv {
	cfg := bot.DefaultConfig()
	escalationConfig(cfg)
	for _, m := range mods {
		m(cfg)
	}
	clock := &fakeClock{now: t0}
	phone := &fakePhone{}
	slack := newFakeChat()
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Phone: phone, Chats: map[string]bot.Chat{bot.Slack: slack},
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse},
		VerifyPhone: func(r *http.Request, body []byte) (url.Values, error) {
			if r.Header.Get("X-Test-Signed") != "yes" {
				return nil, incidents.Errorf(incidents.Unauthorized, "bad signature")
			}
			return url.ParseQuery(string(body))
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &escEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv, phone: phone, slack: slack}
}

func (e *escEnv) openAt(group string) *incidents.Incident {
	e.t.Helper()
	r := e.do("POST", "/hooks/alertmanager", amPayload(group))
	if r.code != 200 {
		e.t.Fatalf("hook: %d %s", r.code, r.body)
	}
	inc, err := e.store.Get(context.Background(), r.json(e.t)["incident"].(string))
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func amPayload(group string) string {
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"" + group + "\"}", "status": "firing", "receiver": "k",
		"groupLabels": map[string]string{"alertname": group},
		"alerts": []map[string]any{{"status": "firing", "fingerprint": group, "startsAt": "2026-03-02T11:59:00Z",
			"labels": map[string]string{"alertname": group, "severity": "warning"}, "annotations": map[string]string{"summary": "Disk full"}}},
	})
	return string(b)
}

func (e *escEnv) events(id string, kind incidents.EventKind) []string {
	inc, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range inc.Timeline {
		if ev.Kind == kind {
			out = append(out, ev.Text)
		}
	}
	return out
}

// The default policy: notify now, warn the on-call person after 5
// minutes, call them 10 minutes later; pressing 1 acknowledges.
func TestEscalationWalk(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newEscEnv(t, store(t))
		inc := e.openAt("g1")
		waitFor(t, 5*time.Second, "the notify step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 1 })
		e.clock.Add(4 * time.Minute)
		time.Sleep(400 * time.Millisecond)
		if n := len(e.events(inc.ID, incidents.EventEscalated)); n != 1 {
			t.Fatalf("%d steps before the wait ended", n)
		}
		e.clock.Add(time.Minute)
		waitFor(t, 5*time.Second, "the mention step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 2 })
		if got := e.events(inc.ID, incidents.EventEscalated)[1]; got != "Escalation: warning alice (Slack thread and DM)" {
			t.Fatalf("mention step: %q (alice is on call on 2026-03-02 at 13:00 Berlin)", got)
		}
		e.slack.mu.Lock()
		mentions, directs := e.slack.mentions, e.slack.directs
		e.slack.mu.Unlock()
		if len(mentions) != 1 || !strings.Contains(mentions[0], "@UALICE "+inc.ID+" (SEV3, team payments) is not acknowledged") || len(directs) != 1 || !strings.HasPrefix(directs[0], "UALICE ") {
			t.Fatalf("mentions %q, direct messages %q", mentions, directs)
		}
		e.clock.Add(10 * time.Minute)
		waitFor(t, 5*time.Second, "the call", func() bool { return len(e.phone.list()) == 1 })
		call := e.phone.list()[0]
		if call.to != "+15551230001" || !strings.Contains(call.say, "Press 1 to acknowledge") ||
			!strings.HasPrefix(call.gather, "https://klaxon.example.com/twilio/gather?incident="+inc.ID+"&person=alice&oncall=1&exp=") {
			t.Fatalf("call %+v", call)
		}
		// Unsigned callbacks change nothing.
		if r := e.do("POST", "/twilio/gather?incident="+inc.ID+"&person=alice&exp=9999999999", "Digits=1"); r.code != 401 {
			t.Fatalf("unsigned gather: %d", r.code)
		}
		req, _ := http.NewRequest("POST", "/twilio/gather?incident="+inc.ID+"&person=alice&exp=9999999999", strings.NewReader("Digits=1"))
		req.Header.Set("X-Test-Signed", "yes")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "<Say>Acknowledged. Thank you.</Say>") {
			t.Fatalf("gather: %d %s", w.Code, w.Body.String())
		}
		got, _ := e.store.Get(context.Background(), inc.ID)
		if got.State != incidents.Acknowledged || got.AckedBy != "alice (phone)" || !got.Due().IsZero() {
			t.Fatalf("after pressing 1: %s by %q, due %v", got.State, got.AckedBy, got.Due())
		}
		e.clock.Add(time.Hour)
		time.Sleep(400 * time.Millisecond)
		if n := len(e.phone.list()); n != 1 {
			t.Fatalf("%d calls after the acknowledgement", n)
		}
		if !strings.Contains(e.do("GET", "/metrics", "").body, `klaxon_time_to_acknowledge_seconds_count{severity="SEV3",team="payments"} 1`) {
			t.Error("no time to acknowledge observed")
		}
	})
}

// Three schedulers on one Redis, 1,000 incidents due at the same instant:
// each step runs exactly once.
func TestEscalationThreeSchedulers(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("esc3")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	var envs []*escEnv
	for range 3 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		envs = append(envs, newEscEnv(t, s))
	}
	const n = 1000
	ids := make([]string, n)
	inParallel(n, 32, func(i int) {
		// As Alertmanager does, a 503 is sent again (a loaded machine may
		// shed some): every alert must end up stored once.
		r := envs[i%3].do("POST", "/hooks/alertmanager", amPayload(fmt.Sprintf("g%d", i)))
		for try := 0; r.code == 503 && try < 10; try++ {
			time.Sleep(100 * time.Millisecond)
			r = envs[(i+try+1)%3].do("POST", "/hooks/alertmanager", amPayload(fmt.Sprintf("g%d", i)))
		}
		id, ok := r.json(t)["incident"].(string)
		if !ok {
			t.Errorf("webhook answered %d: %s", r.code, r.body)
			return
		}
		ids[i] = id
	})
	// Every incident is at the mention step, due at t0+5m: move every
	// scheduler's clock there at once.
	waitFor(t, 30*time.Second, "every notify step", func() bool {
		for _, id := range ids {
			if len(envs[0].events(id, incidents.EventEscalated)) != 1 {
				return false
			}
		}
		return true
	})
	for _, e := range envs {
		e.clock.Add(5 * time.Minute)
	}
	waitFor(t, 60*time.Second, "every mention step", func() bool {
		for _, id := range ids {
			if len(envs[0].events(id, incidents.EventEscalated)) < 2 {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids {
		if ev := envs[0].events(id, incidents.EventEscalated); len(ev) != 2 {
			t.Fatalf("%s ran %d steps, want 2 (notify, mention) exactly once each: %q", id, len(ev), ev)
		}
	}
}

func (e *escEnv) signed(path, body string) *httptest.ResponseRecorder {
	req, _ := http.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("X-Test-Signed", "yes")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

// A call to whoever is on call that finds nobody calls the next person in
// the rotation, once; an override decides who is on call.
func TestEscalationNoAnswerAndOverride(t *testing.T) {
	e := newEscEnv(t, redisStore(t))
	say := func(user, text string) string {
		return e.srv.Handle(context.Background(), chatops.Request{Platform: "slack", UserID: user, UserName: "someone", Channel: "D0DIRECT1", Text: text}).Text
	}
	if r := say("UZED", "oncall override @bob 4h payments"); !strings.Contains(r, "not one of klaxon's team channels") {
		t.Fatalf("an unknown person overrode the schedule: %q", r)
	}
	if r := say("UALICE", "oncall payments"); !strings.Contains(r, "On call for payments now: alice") {
		t.Fatalf("oncall: %q", r)
	}
	// bob takes over for 4 hours, as alice says.
	if r := say("UALICE", "oncall override @bob 4h payments"); !strings.Contains(r, "bob is on call for payments until Mon 16:00 UTC (override set by alice)") {
		t.Fatalf("override: %q", r)
	}
	if r := say("UALICE", "oncall payments"); !strings.Contains(r, "On call for payments now: bob") || !strings.Contains(r, "Override: bob until Mon 16:00 UTC (set by alice at Mon 12:00 UTC)") {
		t.Fatalf("oncall after the override: %q", r)
	}
	inc := e.openAt("g1")
	waitFor(t, 5*time.Second, "the notify step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 1 })
	e.clock.Add(5 * time.Minute)
	waitFor(t, 5*time.Second, "the mention step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 2 })
	if ev := e.events(inc.ID, incidents.EventEscalated)[1]; ev != "Escalation: warning bob" { // bob has no chat account
		t.Fatalf("mention %q, want bob (the override)", ev)
	}
	e.clock.Add(10 * time.Minute)
	waitFor(t, 10*time.Second, "the call", func() bool { return len(e.phone.list()) == 1 })
	if c := e.phone.list()[0]; c.to != "+15551230002" {
		t.Fatalf("called %s, want bob (+15551230002): the override", c.to)
	}
	w := e.signed("/twilio/status?incident="+inc.ID+"&person=bob&oncall=1&exp=9999999999", "CallSid=CA1&CallStatus=no-answer")
	if w.Code != 204 {
		t.Fatalf("status callback: %d", w.Code)
	}
	calls := e.phone.list()
	if len(calls) != 2 || calls[1].to != "+15551230001" || !strings.Contains(calls[1].gather, "fallback=1") {
		t.Fatalf("after no answer: %+v, want alice called next", calls)
	}
	// The fallback call unanswered too: no third call (the policy goes on).
	e.signed("/twilio/status?incident="+inc.ID+"&person=alice&oncall=1&fallback=1&exp=9999999999", "CallSid=CA2&CallStatus=busy")
	e.signed("/twilio/status?incident="+inc.ID+"&person=bob&oncall=1&exp=9999999999", "CallSid=CA1&CallStatus=no-answer") // Twilio retried its callback
	if n := len(e.phone.list()); n != 2 {
		t.Fatalf("%d calls, want 2: %+v", n, e.phone.list())
	}
	// Alice answers the second call: 9 asks again, 2 escalates.
	if w := e.signed("/twilio/gather?incident="+inc.ID+"&person=alice&oncall=1&fallback=1&exp=9999999999", "Digits=9"); !strings.Contains(w.Body.String(), `<Gather numDigits="1"`) || !strings.Contains(w.Body.String(), "Press 1 to acknowledge") {
		t.Fatalf("pressing 9: %s", w.Body.String())
	}
	if w := e.signed("/twilio/gather?incident="+inc.ID+"&person=alice&oncall=1&fallback=1&exp=9999999999", "CallSid=CA2&Digits=2"); !strings.Contains(w.Body.String(), "<Say>Escalating to the next step.</Say>") {
		t.Fatalf("pressing 2: %s", w.Body.String())
	}
	// A replayed callback does not act again; an expired one not at all.
	if w := e.signed("/twilio/gather?incident="+inc.ID+"&person=alice&oncall=1&fallback=1&exp=9999999999", "CallSid=CA2&Digits=2"); !strings.Contains(w.Body.String(), "Already done") {
		t.Fatalf("replayed press: %s", w.Body.String())
	}
	if w := e.signed("/twilio/gather?incident="+inc.ID+"&person=alice&exp=1", "CallSid=CA3&Digits=1"); !strings.Contains(w.Body.String(), "expired") {
		t.Fatalf("expired press: %s", w.Body.String())
	}
	ev := e.events(inc.ID, incidents.EventEscalated)
	if !strings.Contains(strings.Join(ev, "\n"), "Escalation to the next step asked for by alice (phone)") {
		t.Fatalf("timeline %q", ev)
	}
	if !strings.Contains(strings.Join(ev, "\n"), "calling alice (bob did not answer; next in the rotation)") || !strings.Contains(strings.Join(ev, "\n"), "alice did not answer the call (busy)") {
		t.Fatalf("timeline %q", ev)
	}
}

// A signed status callback acts once however often it is sent, and not
// at all once its URL has expired (issue 13: one busy callback sent four
// times made four timeline events).
func TestCallStatusReplayed(t *testing.T) {
	e := newEscEnv(t, redisStore(t))
	inc := e.openAt("g1")
	waitFor(t, 5*time.Second, "the notify step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 1 })
	unanswered := func() int {
		n := 0
		for _, ev := range e.events(inc.ID, incidents.EventEscalated) {
			if strings.Contains(ev, "did not answer the call (busy)") {
				n++
			}
		}
		return n
	}
	for range 4 {
		if w := e.signed("/twilio/status?incident="+inc.ID+"&person=alice&fallback=1&exp=9999999999", "CallSid=CA9&CallStatus=busy"); w.Code != 204 {
			t.Fatalf("status callback: %d", w.Code)
		}
	}
	if n := unanswered(); n != 1 {
		t.Fatalf("%d timeline events for one busy call sent four times, want 1", n)
	}
	// Another status of the same call, and the same status of another
	// call, are new.
	e.signed("/twilio/status?incident="+inc.ID+"&person=alice&fallback=1&exp=9999999999", "CallSid=CA10&CallStatus=busy")
	if n := unanswered(); n != 2 {
		t.Fatalf("%d events after a second call's busy, want 2", n)
	}
	// An expired callback records nothing.
	e.signed("/twilio/status?incident="+inc.ID+"&person=alice&fallback=1&exp=1", "CallSid=CA11&CallStatus=busy")
	e.signed("/twilio/status?incident="+inc.ID+"&person=alice&fallback=1", "CallSid=CA12&CallStatus=busy")
	if n := unanswered(); n != 2 {
		t.Fatalf("%d events after expired callbacks, want 2", n)
	}
}

// A scheduler that claimed a step, ran it and died before moving the
// incident on: after its lease the next one moves it on without running
// the step again.
func TestEscalationKilledScheduler(t *testing.T) {
	store := redisStore(t)
	e := newEscEnv(t, store)
	inc := e.openAt("g1")
	waitFor(t, 5*time.Second, "the notify step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 1 })
	// The dead scheduler's clock is 5 minutes ahead: it claims the mention
	// step (a 1-minute lease), runs it, and dies.
	box := store.(incidents.Escalations)
	ids, err := box.ClaimDue(context.Background(), t0.Add(5*time.Minute), 10, time.Minute)
	if err != nil || len(ids) != 1 {
		t.Fatalf("the dead scheduler claimed %v, %v", ids, err)
	}
	got, _ := store.Get(context.Background(), inc.ID)
	if first, _ := box.StepOnce(context.Background(), inc.ID, got.Escalation.StepKey(), time.Hour); !first {
		t.Fatal("the step ran before the dead scheduler")
	}
	// Inside its lease, nobody touches the step.
	e.clock.Add(5*time.Minute + 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got, _ := store.Get(context.Background(), inc.ID); got.Escalation.Step != 2 {
		t.Fatalf("moved on to step %d inside the dead scheduler's lease", got.Escalation.Step)
	}
	// After it, the live scheduler first gives a possibly still running
	// step one more lease, then moves the incident on, without running the
	// step a second time.
	e.clock.Add(time.Minute)
	waitFor(t, 5*time.Second, "the step's second lease", func() bool {
		got, _ := store.Get(context.Background(), inc.ID)
		return got.Due().After(t0.Add(6*time.Minute + 30*time.Second))
	})
	e.clock.Add(time.Minute + time.Second)
	waitFor(t, 5*time.Second, "the incident moved on", func() bool {
		got, _ := store.Get(context.Background(), inc.ID)
		return got.Escalation.Step == 4
	})
	if ev := e.events(inc.ID, incidents.EventEscalated); len(ev) != 1 {
		t.Fatalf("the step ran again: %q", ev)
	}
}

// An incident on a policy that was removed from the config is taken out
// of the schedule, not crashed on nor looped over.
func TestEscalationUnknownPolicy(t *testing.T) {
	store := redisStore(t)
	e := newEscEnv(t, store)
	inc := e.openAt("g1")
	waitFor(t, 5*time.Second, "the notify step", func() bool { return len(e.events(inc.ID, incidents.EventEscalated)) == 1 })
	if _, err := store.Update(context.Background(), inc.ID, func(cur *incidents.Incident) error {
		cur.Escalation = &incidents.Escalation{Policy: "removed", Step: 3, DueAt: t0}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the incident out of the schedule", func() bool {
		got, _ := store.Get(context.Background(), inc.ID)
		return got.Due().IsZero()
	})
	got, _ := store.Get(context.Background(), inc.ID)
	v := got.Version
	time.Sleep(600 * time.Millisecond)
	if got, _ := store.Get(context.Background(), inc.ID); got.Version != v {
		t.Fatalf("the incident keeps being rewritten: version %d → %d", v, got.Version)
	}
}
