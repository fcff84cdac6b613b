package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

func coverConfig(c *bot.Config) {
	c.People = append(c.People[:2], bot.PersonConfig{Name: "carol", Slack: "UCAROL", Telegram: "333"})
	c.People[0].Slack, c.People[1].Slack = "UALICE", "UBOB"
}

// ask has bob ask carol to cover in the Slack channel; it returns the
// reply and the Accept and Decline keys.
func (e *hoEnv) ask(text string) (chatops.Reply, string, string) {
	e.t.Helper()
	rep := e.srv.Handle(context.Background(), chatops.Request{Platform: bot.Slack, UserID: "UBOB", Channel: slackC, Text: text})
	if len(rep.Choices) != 2 || rep.Ephemeral {
		e.t.Fatalf("asked %q: %+v", text, rep)
	}
	return rep, rep.Choices[0].Key, rep.Choices[1].Key
}

func (e *hoEnv) press(user, key string) chatops.Reply {
	return e.srv.Handle(context.Background(), chatops.Request{Platform: bot.Slack, UserID: user, Channel: slackC, Button: key})
}

func (e *hoEnv) directs(f *fakeChat, user string) []string {
	_, ds := f.sent()
	var out []string
	for _, d := range ds {
		if after, ok := strings.CutPrefix(d, user+" "); ok {
			out = append(out, after)
		}
	}
	return out
}

// Saturday 09:00–18:00 in the schedule's zone (Berlin, CET): bob asks on
// Tuesday, carol is told by DM, a stranger cannot answer, carol accepts:
// the override is set, bob is told, and a second press does nothing.
func TestCoverAccept(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		clock := &fakeClock{now: bobOn.Add(3 * time.Hour)} // Tue 3 Mar 12:00 CET
		e := newHoEnv(t, store(t), clock, nil, nil, coverConfig)
		rep, accept, decline := e.ask("oncall cover @carol Sat 09:00–18:00")
		if want := "carol: bob asks you to be on call for payments Sat 7 Mar 09:00–18:00 CET. Accept or decline below; with no answer by Sat 09:00 CET nothing changes."; rep.Text != want {
			t.Fatalf("reply %q\nwant  %q", rep.Text, want)
		}
		waitFor(t, 5*time.Second, "carol's DM", func() bool { return len(e.directs(e.slack, "UCAROL")) == 1 && len(e.directs(e.tg, "333")) == 1 })
		if r := e.press("UALICE", accept); !strings.Contains(r.Text, "Only carol can answer") {
			t.Fatalf("alice pressed Accept: %+v", r)
		}
		r := e.press("UCAROL", accept)
		if r.Text != "carol accepted: carol is on call for payments Sat 7 Mar 09:00–18:00 CET (covering for bob)." {
			t.Fatalf("accept: %+v", r)
		}
		ovs, err := e.store.(incidents.Overrides).Overrides(context.Background(), "primary", clock.Now())
		sat := time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC)
		if err != nil || len(ovs) != 1 || ovs[0].Person != "carol" || !ovs[0].From.Equal(sat) || !ovs[0].Until.Equal(sat.Add(9*time.Hour)) || ovs[0].SetBy != "carol (covering for bob)" {
			t.Fatalf("overrides %+v %v", ovs, err)
		}
		waitFor(t, 5*time.Second, "bob told", func() bool { return len(e.directs(e.slack, "UBOB")) == 1 })
		if d := e.directs(e.slack, "UBOB")[0]; !strings.HasPrefix(d, "carol accepted") {
			t.Fatalf("bob was told %q", d)
		}
		for _, k := range []string{accept, decline} {
			if r := e.press("UCAROL", k); !strings.Contains(r.Text, "answered already") {
				t.Fatalf("second press: %+v", r)
			}
		}
		// Saturday 09:00 is a handover to carol, and 18:00 back.
		clock.now = sat.Add(time.Second)
		e.look()
		if a, _ := e.slack.sent(); len(a) != 1 || !strings.Contains(a[0], "carol is now on call for payments (until Sat 18:00 CET), taking over from ") {
			t.Fatalf("handover at the cover's start: %q", a)
		}
	})
}

// Declined, or unanswered by the start: nothing changes and the asker is
// told, once.
func TestCoverDeclineAndExpire(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		clock := &fakeClock{now: bobOn.Add(3 * time.Hour)}
		e := newHoEnv(t, store(t), clock, nil, nil, coverConfig)
		_, _, decline := e.ask("oncall cover @carol 4h")
		if r := e.press("UCAROL", decline); r.Text != "carol declined: payments Tue 3 Mar 12:00–16:00 CET; nothing changed." {
			t.Fatalf("decline: %+v", r)
		}
		waitFor(t, 5*time.Second, "bob told", func() bool { return len(e.directs(e.slack, "UBOB")) == 1 })
		if d := e.directs(e.slack, "UBOB")[0]; d != "carol declined to be on call for payments Tue 3 Mar 12:00–16:00 CET; nothing changed." {
			t.Fatalf("bob was told %q", d)
		}

		// Unanswered: a 4h cover from now waits coverMinAnswer (30m).
		_, accept, _ := e.ask("oncall cover @carol tomorrow 09:00-10:00 payments")
		clock.Add(29 * time.Minute)
		if err := bot.CheckCoverRequests(context.Background(), e.srv); err != nil {
			t.Fatal(err)
		}
		clock.now = bobOn.Add(24*time.Hour + time.Second) // Wed 09:00:01 CET
		for range 2 {
			if err := bot.CheckCoverRequests(context.Background(), e.srv); err != nil {
				t.Fatal(err)
			}
		}
		if d := e.directs(e.slack, "UBOB"); len(d) != 2 || d[1] != "carol did not answer your request to be on call for payments Wed 4 Mar 09:00–10:00 CET; nothing changed." {
			t.Fatalf("bob was told %q", d)
		}
		if r := e.press("UCAROL", accept); !strings.Contains(r.Text, "answered already, or has expired") {
			t.Fatalf("accept after expiry: %+v", r)
		}
		if ovs, _ := e.store.(incidents.Overrides).Overrides(context.Background(), "primary", clock.Now()); len(ovs) != 0 {
			t.Fatalf("overrides %+v", ovs)
		}
	})
}

func TestCoverRefusals(t *testing.T) {
	clock := &fakeClock{now: bobOn.Add(3 * time.Hour)}
	e := newHoEnv(t, boltStore(t), clock, nil, nil, func(c *bot.Config) {
		coverConfig(c)
		c.Teams[0].Responders = []string{"alice", "bob"}
	})
	for text, want := range map[string]string{
		"oncall cover @dave 4h":                 "dave is not in people",
		"oncall cover @bob 4h":                  "ask someone else",
		"oncall cover @carol 400h":              "cover for 1m to 14d",
		"oncall cover @carol soon":              "cover when?",
		"oncall cover @carol today 08:00-09:00": "that time has passed",
	} {
		r := e.srv.Handle(context.Background(), chatops.Request{Platform: bot.Slack, UserID: "UBOB", Channel: slackC, Text: text})
		if !strings.Contains(r.Text, want) || len(r.Choices) != 0 {
			t.Errorf("%q: %+v, want %q", text, r, want)
		}
	}
	// carol is no responder: her Accept changes nothing and the request
	// stays for a responder's answer... of hers, which cannot come.
	_, accept, _ := e.ask("oncall cover @carol 4h")
	if r := e.press("UCAROL", accept); r.Text == "" || strings.Contains(r.Text, "accepted") {
		t.Fatalf("a non-responder accepted: %+v", r)
	}
	// A forged key.
	if r := e.press("UCAROL", "c1.s.abcdefghij.a.AAAAAAAAAAAAAAAA"); !r.Unauthorized {
		t.Fatalf("forged key: %+v", r)
	}
}

// Two replicas on one Redis: carol's Accept pressed on both at once (and
// the expiry run on both) sets one override; a replica started later
// (a restart) still has a pending request and answers it.
func TestCoverOnceAcrossReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("cover")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	newStore := func() incidents.Store {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		return s
	}
	clock := &fakeClock{now: bobOn.Add(3 * time.Hour)}
	slack, tg := newFakeChat(), newFakeChat()
	a := newHoEnv(t, newStore(), clock, slack, tg, coverConfig)
	b := newHoEnv(t, newStore(), clock, slack, tg, coverConfig)
	_, accept, _ := a.ask("oncall cover @carol Sat 09:00-18:00")
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range 4 {
		for _, r := range []*hoEnv{a, b} {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if strings.Contains(r.press("UCAROL", accept).Text, "accepted") {
					accepted.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				_ = bot.CheckCoverRequests(context.Background(), r.srv)
			}()
		}
	}
	wg.Wait()
	ovs, _ := a.store.(incidents.Overrides).Overrides(context.Background(), "primary", clock.Now())
	if accepted.Load() != 1 || len(ovs) != 1 {
		t.Fatalf("%d accepted, %d overrides", accepted.Load(), len(ovs))
	}
	// A restart: the request asked on a replica that is gone is answered
	// on a new one.
	_, _, decline := a.ask("oncall cover @carol Sun 09:00-18:00")
	c := newHoEnv(t, newStore(), clock, slack, tg, coverConfig)
	if r := c.press("UCAROL", decline); !strings.HasPrefix(r.Text, "carol declined") {
		t.Fatalf("after a restart: %+v", r)
	}
}

// Mattermost's keys are bound to the channel and expire with the request;
// a Slack key is no good on Telegram.
func TestCoverKeys(t *testing.T) {
	s := bot.NewButtonSigner([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Now()
	k := s.SignCover(bot.Mattermost, "chan1", "abc123", true, now.Add(time.Hour))
	if k == "" || len(k) > bot.MaxButtonKey {
		t.Fatalf("key %q", k)
	}
	if id, ok, err := s.VerifyCover(bot.Mattermost, "chan1", k, now); err != nil || id != "abc123" || !ok {
		t.Fatalf("verify: %q %v %v", id, ok, err)
	}
	if _, _, err := s.VerifyCover(bot.Mattermost, "chan2", k, now); err == nil {
		t.Error("another channel's key accepted")
	}
	if _, _, err := s.VerifyCover(bot.Mattermost, "chan1", k, now.Add(2*time.Hour)); !errors.Is(err, bot.ErrButtonExpired) {
		t.Errorf("expired key: %v", err)
	}
	sk := s.SignCover(bot.Slack, "", "abc123", false, time.Time{})
	if id, ok, err := s.VerifyCover(bot.Slack, "C1", sk, now); err != nil || id != "abc123" || ok {
		t.Fatalf("slack verify: %q %v %v", id, ok, err)
	}
	for _, bad := range []string{sk[:len(sk)-1] + "x", strings.Replace(sk, ".d.", ".a.", 1), ""} {
		if _, _, err := s.VerifyCover(bot.Slack, "C1", bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, _, err := s.VerifyCover(bot.Telegram, "C1", sk, now); err == nil {
		t.Error("a Slack key accepted on Telegram")
	}
	if s.SignCover(bot.Slack, "", "UPPER", true, time.Time{}) != "" {
		t.Error("a key for an id that is no key word")
	}
}
