package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// Berlin: a daily 09:00 handover between alice and bob; Berlin leaves CET
// for CEST on 2026-03-29.
func handoverConfig(c *bot.Config) {
	c.Server.PublicURL = "https://klaxon.example.com"
	c.Sources.Alertmanager = &bot.HookAuth{AllowUnauthenticated: true}
	c.Server.APIOpen = true
	c.People = []bot.PersonConfig{
		{Name: "alice", Slack: "UALICE"},
		{Name: "bob", Slack: "UBOB", Telegram: "222"},
		{Name: "carol", Telegram: "333"},
	}
	c.Schedules = []bot.ScheduleConfig{{Name: "primary", Timezone: "Europe/Berlin",
		Rotation: &bot.RotationConfig{Every: bot.Duration(24 * time.Hour), Start: "2026-03-02T09:00:00+01:00", People: []string{"alice", "bob"}}}}
	c.Slack = &bot.SlackConfig{BotToken: "xoxb-1-outbox-tests", APIURL: "https://slack.invalid/api/"}
	c.Telegram = &bot.TelegramConfig{BotToken: "1:tg", APIEndpoint: "https://tg.invalid/bot%s/%s"}
	c.Teams = []bot.TeamConfig{{Name: "payments", Schedule: "primary", Slack: &bot.SlackDest{Channel: slackC}, Telegram: &bot.TelegramDest{Chat: tgChat}}}
	c.DefaultTeam = "payments"
}

type hoEnv struct {
	*env
	srv       *bot.Server
	slack, tg *fakeChat
}

// newHoEnv builds a replica (not running: the test looks with
// CheckHandovers) on store, sharing clock and, when given, the fakes.
func newHoEnv(t *testing.T, store incidents.Store, clock *fakeClock, slack, tg *fakeChat, mutate func(*bot.Config)) *hoEnv {
	t.Helper()
	cfg := bot.DefaultConfig()
	handoverConfig(cfg)
	if mutate != nil {
		mutate(cfg)
	}
	if slack == nil {
		slack, tg = newFakeChat(), newFakeChat()
	}
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(),
		Chats:   map[string]bot.Chat{bot.Slack: slack, bot.Telegram: tg},
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse}})
	if err != nil {
		t.Fatal(err)
	}
	return &hoEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv, slack: slack, tg: tg}
}

func (e *hoEnv) look() {
	e.t.Helper()
	if err := bot.CheckHandovers(context.Background(), e.srv); err != nil {
		e.t.Fatal(err)
	}
}

// all lists every announcement and direct message so far, by platform.
func (e *hoEnv) all() []string {
	var out []string
	for _, f := range []struct {
		name string
		c    *fakeChat
	}{{"slack", e.slack}, {"telegram", e.tg}} {
		a, d := f.c.sent()
		for _, s := range a {
			out = append(out, f.name+" channel "+s)
		}
		for _, s := range d {
			out = append(out, f.name+" dm "+s)
		}
	}
	return out
}

func wantSent(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// 2026-03-03 09:00 CET, when bob takes over from alice.
var bobOn = time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)

func TestHandoverAnnounced(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		clock := &fakeClock{now: bobOn.Add(-2 * time.Hour)}
		e := newHoEnv(t, store(t), clock, nil, nil, nil)
		// alice has been on call since yesterday 09:00: not news.
		e.look()
		wantSent(t, e.all())
		if r := e.do("POST", "/hooks/alertmanager", amPayload("g1")); r.code != 200 {
			t.Fatalf("hook: %d %s", r.code, r.body)
		}
		clock.Add(2*time.Hour + 20*time.Second)
		e.look()
		const text = "bob is now on call for payments (until Wed 09:00 CET), taking over from alice; 1 incident open: INC-1 Disk full (triggered)"
		wantSent(t, e.all(),
			"slack channel "+slackC+" "+text,
			"slack dm UBOB "+text,
			"telegram channel "+tgChat+" "+text,
			"telegram dm 222 "+text)
		// Looking again, or later in the shift, sends nothing more.
		for range 3 {
			clock.Add(10 * time.Minute)
			e.look()
		}
		if n := len(e.all()); n != 4 {
			t.Fatalf("%d messages after looking again: %v", n, e.all())
		}
	})
}

// Two replicas on one Redis look at once, many times: each target gets
// the handover once. A replica started afterwards (a restart) sends
// nothing again; a handover that happened while no replica ran is
// announced when one starts within HandoverCatchUp, and not after.
func TestHandoverOnceAcrossReplicasAndRestarts(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("handover")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	newStore := func() incidents.Store {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		return s
	}
	clock := &fakeClock{now: bobOn.Add(time.Minute)}
	slack, tg := newFakeChat(), newFakeChat()
	a := newHoEnv(t, newStore(), clock, slack, tg, nil)
	b := newHoEnv(t, newStore(), clock, slack, tg, nil)
	var wg sync.WaitGroup
	for range 5 {
		for _, r := range []*hoEnv{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := bot.CheckHandovers(context.Background(), r.srv); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if got := a.all(); len(got) != 4 {
		t.Fatalf("two replicas sent %d messages, want 4:\n%s", len(got), strings.Join(got, "\n"))
	}
	// A restart: a new replica on the same store.
	clock.Add(5 * time.Minute)
	c := newHoEnv(t, newStore(), clock, slack, tg, nil)
	c.look()
	if got := c.all(); len(got) != 4 {
		t.Fatalf("after a restart %d messages, want 4", len(got))
	}
	// The next handover (alice, Wed 09:00) happens while nothing runs; a
	// replica that starts 20 minutes later announces it.
	clock.now = bobOn.Add(24*time.Hour + 20*time.Minute)
	d := newHoEnv(t, newStore(), clock, slack, tg, nil)
	d.look()
	got := d.all()
	if len(got) != 7 || !strings.Contains(strings.Join(got, "\n"), "slack channel "+slackC+" alice is now on call for payments (until Thu 09:00 CET), taking over from bob; no incidents open.") {
		t.Fatalf("caught up:\n%s", strings.Join(got, "\n"))
	}
	// Thursday's handover is found only 31 minutes late: left out.
	clock.now = bobOn.Add(48*time.Hour + 31*time.Minute)
	e := newHoEnv(t, newStore(), clock, slack, tg, nil)
	e.look()
	if n := len(e.all()); n != 7 {
		t.Fatalf("a handover older than the catch-up window was announced: %v", e.all())
	}
}

// An override is a handover when it starts and when it ends.
func TestHandoverOverride(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		clock := &fakeClock{now: bobOn.Add(3 * time.Hour)} // 12:00 CET, bob on call
		e := newHoEnv(t, store(t), clock, nil, nil, nil)
		e.look()
		wantSent(t, e.all())
		ov, ok := e.store.(incidents.Overrides)
		if !ok {
			t.Skip("store keeps no overrides")
		}
		now := clock.Now()
		if err := ov.AddOverride(context.Background(), incidents.OnCallOverride{Schedule: "primary", Person: "carol", From: now, Until: now.Add(2 * time.Hour), SetBy: "bob", SetAt: now}); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Second)
		e.look()
		const on = "carol is now on call for payments (until Tue 14:00 CET), taking over from bob; no incidents open."
		wantSent(t, e.all(), "slack channel "+slackC+" "+on, "telegram channel "+tgChat+" "+on, "telegram dm 333 "+on)
		clock.Add(2 * time.Hour)
		e.look()
		const back = "bob is now on call for payments (until Wed 09:00 CET), taking over from carol; no incidents open."
		wantSent(t, e.all(), "slack channel "+slackC+" "+on, "slack channel "+slackC+" "+back, "slack dm UBOB "+back,
			"telegram channel "+tgChat+" "+on, "telegram channel "+tgChat+" "+back, "telegram dm 333 "+on, "telegram dm 222 "+back)
	})
}

// Across the change to summer time the handover stays at 09:00 local:
// 07:00 UTC on 2026-03-29, and the message says CEST.
func TestHandoverDST(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 29, 6, 59, 0, 0, time.UTC)}
	e := newHoEnv(t, boltStore(t), clock, nil, nil, nil)
	e.look()
	wantSent(t, e.all())
	clock.now = time.Date(2026, 3, 29, 7, 0, 5, 0, time.UTC)
	e.look()
	// 2026-03-02 is alice's; 27 days later, bob's.
	a, _ := e.slack.sent()
	if len(a) != 1 || a[0] != slackC+" bob is now on call for payments (until Mon 09:00 CEST), taking over from alice; no incidents open." {
		t.Fatalf("announced %q", a)
	}
	// 08:00 UTC, 09:00 in winter time, is no handover.
	clock.now = time.Date(2026, 3, 29, 8, 0, 5, 0, time.UTC)
	e.look()
	if a, _ := e.slack.sent(); len(a) != 1 {
		t.Fatalf("announced again: %q", a)
	}
}

// A 429 frees the claim and holds the limiter for its Retry-After; the
// next look sends it once. A refusal is not tried again. The rate limiter
// spaces two messages to one channel.
func TestHandoverRateLimits(t *testing.T) {
	clock := &fakeClock{now: bobOn.Add(time.Minute)}
	e := newHoEnv(t, boltStore(t), clock, nil, nil, func(c *bot.Config) {
		c.Slack.ChannelInterval = bot.Duration(time.Second)
	})
	var waits []time.Duration
	bot.HandoverWaits(e.srv, func(d time.Duration) { waits = append(waits, d) })
	e.slack.failNext("announce", &chatErr{code: "ratelimited", retry: true, after: 5 * time.Second})
	e.tg.failNext("direct", &chatErr{code: "dm_not_started"})
	e.look()
	got := e.all()
	if len(got) != 2 || !strings.HasPrefix(got[0], "slack dm UBOB") || !strings.HasPrefix(got[1], "telegram channel") {
		t.Fatalf("first look sent:\n%s", strings.Join(got, "\n"))
	}
	e.look()
	got = e.all()
	if len(got) != 3 || !strings.HasPrefix(got[0], "slack channel "+slackC) {
		t.Fatalf("second look sent:\n%s", strings.Join(got, "\n"))
	}
	// The Slack channel's post waited for the 429's Retry-After.
	var longest time.Duration
	for _, w := range waits {
		longest = max(longest, w)
	}
	if longest < 4*time.Second || longest > 6*time.Second {
		t.Fatalf("waits %v, want one of about 5s (Retry-After)", waits)
	}
	e.look()
	if n := len(e.all()); n != 3 {
		t.Fatalf("a refused direct message was tried again: %v", e.all())
	}
}

// handover: false turns it off; a team without a chat destination has it
// off by default.
func TestHandoverOff(t *testing.T) {
	off := false
	clock := &fakeClock{now: bobOn.Add(time.Minute)}
	e := newHoEnv(t, boltStore(t), clock, nil, nil, func(c *bot.Config) { c.Teams[0].Handover = &off })
	e.look()
	wantSent(t, e.all())
	if (bot.TeamConfig{Schedule: "primary"}).HandoverOn() {
		t.Error("a team with no channel announces handovers by default")
	}
	on := true
	if !(bot.TeamConfig{Schedule: "primary", Handover: &on}).HandoverOn() {
		t.Error("handover: true is off")
	}
}

// Back to winter time on 2026-10-25: the handover is at 09:00 CET, 08:00
// UTC, not at 07:00 UTC (09:00 in summer time).
func TestHandoverDSTFallBack(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 10, 25, 7, 0, 5, 0, time.UTC)}
	e := newHoEnv(t, boltStore(t), clock, nil, nil, nil)
	e.look()
	wantSent(t, e.all())
	clock.now = time.Date(2026, 10, 25, 8, 0, 5, 0, time.UTC)
	e.look()
	a, _ := e.slack.sent()
	if len(a) != 1 || !strings.Contains(a[0], " is now on call for payments (until Mon 09:00 CET), taking over from ") {
		t.Fatalf("announced %q", a)
	}
}

// The embedded store keeps what was announced in its file: a restart
// within the catch-up window sends nothing again.
func TestHandoverRestartEmbedded(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: bobOn.Add(time.Minute)}
	slack, tg := newFakeChat(), newFakeChat()
	st, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := newHoEnv(t, st, clock, slack, tg, nil)
	a.look()
	if n := len(a.all()); n != 4 {
		t.Fatalf("%d messages, want 4", n)
	}
	st.Close()
	clock.Add(10 * time.Minute)
	st, err = boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := newHoEnv(t, st, clock, slack, tg, nil)
	b.look()
	if n := len(b.all()); n != 4 {
		t.Fatalf("after a restart %d messages, want 4: %v", n, b.all())
	}
}

// A rotation restricted to 09:00–17:00: at 17:00 the channels hear that
// nobody is on call until the next morning (nobody is messaged); at 09:00
// the next person comes on.
func TestHandoverToNobody(t *testing.T) {
	clock := &fakeClock{now: bobOn.Add(7*time.Hour + time.Minute)} // Tue 16:01 CET, bob
	e := newHoEnv(t, boltStore(t), clock, nil, nil, func(c *bot.Config) {
		c.Schedules[0].Rotation.From, c.Schedules[0].Rotation.To = "09:00", "17:00"
	})
	e.look()
	wantSent(t, e.all())
	clock.Add(time.Hour) // 17:01
	e.look()
	const off = "Nobody is on call for payments now (until Wed 09:00 CET); bob's shift has ended; no incidents open."
	wantSent(t, e.all(), "slack channel "+slackC+" "+off, "telegram channel "+tgChat+" "+off)
	clock.now = bobOn.Add(24*time.Hour + time.Minute) // Wed 09:01
	e.look()
	const on = "alice is now on call for payments (until Wed 17:00 CET); no incidents open."
	wantSent(t, e.all(), "slack channel "+slackC+" "+off, "slack channel "+slackC+" "+on, "slack dm UALICE "+on,
		"telegram channel "+tgChat+" "+off, "telegram channel "+tgChat+" "+on)
}
