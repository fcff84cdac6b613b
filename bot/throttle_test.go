package bot_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

func noThrottles(c *bot.Config) { c.Paging.Throttle = bot.ThrottleConfig{} }

// openStorm opens n incidents at once through envs' webhooks, in turn.
func openStorm(t *testing.T, envs []*pageEnv, n int) []string {
	t.Helper()
	ids := make([]string, n)
	inParallel(n, 8, func(i int) {
		r := envs[i%len(envs)].do("POST", "/hooks/alertmanager", amPayload(fmt.Sprintf("storm%d", i)))
		id, ok := r.json(t)["incident"].(string)
		if !ok {
			t.Errorf("webhook answered %d: %s", r.code, r.body)
			return
		}
		ids[i] = id
	})
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// settled waits until no page attempt of ids is due at the clock's now
// (each was sent, held back until later, or folded).
func settled(t *testing.T, e *pageEnv, ids []string) {
	t.Helper()
	waitFor(t, 60*time.Second, "the pages due at "+e.clock.Now().Format("15:04"), func() bool {
		for _, id := range ids {
			inc, err := e.store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if d := inc.Due(); inc.State == incidents.Triggered && !d.IsZero() && !d.After(e.clock.Now()) {
				return false
			}
		}
		return true
	})
}

var moreRE = regexp.MustCompile(`klaxon: (\d+) more incidents? for you|There (?:is|are) (\d+) more incidents? for you`)

// folded sums the "N more incidents for you" of messages.
func folded(msgs []string) int {
	n := 0
	for _, m := range msgs {
		if g := moreRE.FindStringSubmatch(m); g != nil {
			k, _ := strconv.Atoi(g[1] + g[2])
			n += k
		}
	}
	return n
}

func metric(t *testing.T, e *pageEnv, name string) int {
	t.Helper()
	body := e.do("GET", "/metrics", "").body
	g := regexp.MustCompile(regexp.QuoteMeta(name) + ` (\d+)`).FindStringSubmatch(body)
	if g == nil {
		return 0
	}
	n, _ := strconv.Atoi(g[1])
	return n
}

// stormMethods are alice's throttled methods: how the test counts what
// was sent, and the timeline's words.
type stormMethod struct {
	method incidents.PageMethod
	title  string // "Push", "SMS", "Phone call"
	paged  string // "Paged alice by push"
	sent   func(envs []*pageEnv) []string
}

func stormMethods() []stormMethod {
	all := func(pick func(*pageEnv) []string) func([]*pageEnv) []string {
		return func(envs []*pageEnv) []string {
			var out []string
			for _, e := range envs {
				out = append(out, pick(e)...)
			}
			return out
		}
	}
	return []stormMethod{
		{incidents.PagePush, "Push", "Paged alice by push", all(func(e *pageEnv) []string { return e.senders.list("push") })},
		{incidents.PageSMS, "SMS", "Paged alice by SMS", all(func(e *pageEnv) []string { return e.senders.list("sms") })},
		{incidents.PageCall, "Phone call", "Paged alice by phone call", all(func(e *pageEnv) []string {
			var out []string
			for _, c := range e.phone.list() {
				out = append(out, c.say)
			}
			return out
		})},
	}
}

// runStorm walks 50 incidents for alice (a DM and a push at once, an SMS
// after 2 minutes, a call after 5) through a fake clock, one minute at a
// time until no page is pending (at least 21 minutes), on envs sharing one store, and checks that no
// window of any method's throttle saw more messages than its count, that
// every incident's page by each method was sent or folded into another's
// by the time none is pending, and that the counts say so.
func runStorm(t *testing.T, envs []*pageEnv) {
	const n, minutes = 50, 60
	e := envs[0]
	ids := openStorm(t, envs, n)
	methods := stormMethods()
	perMinute := make([][]int, len(methods)) // messages sent at each minute
	pending := func() bool {
		for _, id := range ids {
			inc, err := e.store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !inc.NextPage().IsZero() {
				return true
			}
		}
		return false
	}
	for m := range minutes {
		if m > 0 {
			e.clock.Add(time.Minute)
		}
		settled(t, e, ids)
		for i, sm := range methods {
			before := 0
			for _, k := range perMinute[i] {
				before += k
			}
			perMinute[i] = append(perMinute[i], len(sm.sent(envs))-before)
		}
		if m >= 20 && !pending() {
			break // every page of the storm was sent or folded
		}
	}
	throttle := bot.DefaultConfig().Paging.Throttle
	for i, sm := range methods {
		limit := throttle.For(sm.method)
		per := int(limit.Per.D() / time.Minute)
		for start := range perMinute[i] {
			sum := 0
			for _, k := range perMinute[i][start:min(start+per, len(perMinute[i]))] {
				sum += k
			}
			if sum > limit.Count {
				t.Errorf("%s: %d messages in the %dm from minute %d, throttle %s: %v", sm.method, sum, per, start, limit, perMinute[i])
			}
		}
		msgs := sm.sent(envs)
		// Each incident's page by the method was sent, or folded into a
		// message about another, once.
		sent, fold, held := 0, 0, 0
		for _, id := range ids {
			var ev []string
			for _, s := range e.paged(id) {
				if strings.HasPrefix(s, sm.title+" to alice") || s == sm.paged || strings.HasPrefix(s, sm.paged+", with ") {
					ev = append(ev, s)
				}
			}
			h := 0
			if len(ev) > 0 && strings.HasSuffix(ev[0], "held back by the throttle ("+limit.String()+"); folded into the next") {
				h = 1
				ev = ev[1:]
			}
			held += h
			switch {
			case len(ev) == 1 && strings.HasPrefix(ev[0], "Paged alice by"):
				sent++
			case len(ev) == 1 && strings.HasPrefix(ev[0], sm.title+" to alice folded into the one about INC-") && h == 1:
				fold++
			default:
				t.Errorf("%s %s: %q", sm.method, id, e.paged(id))
			}
		}
		if sent != len(msgs) || sent+fold != n {
			t.Errorf("%s: %d messages, the timelines say %d sent and %d folded, of %d", sm.method, len(msgs), sent, fold, n)
		}
		if got := folded(msgs); got != fold {
			t.Errorf("%s: the messages tell of %d more incidents, %d were folded:\n%s", sm.method, got, fold, strings.Join(msgs, "\n"))
		}
		throttled, foldedMetric := 0, 0
		for _, x := range envs {
			throttled += metric(t, x, `klaxon_pages_throttled_total{method="`+string(sm.method)+`"}`)
			foldedMetric += metric(t, x, `klaxon_pages_total{method="`+string(sm.method)+`",outcome="folded"}`)
		}
		if throttled != held || foldedMetric != fold || held < fold {
			t.Errorf("%s: klaxon_pages_throttled_total %d (timelines: %d held back), folded %d (timelines: %d)", sm.method, throttled, held, foldedMetric, fold)
		}
		t.Logf("%s (%s): %d messages for %d incidents, %d held back, %d folded; per minute %v", sm.method, limit, len(msgs), n, held, fold, perMinute[i])
	}
	dms := 0
	for _, id := range ids {
		for _, s := range e.paged(id) {
			if s == "Paged alice by direct message" {
				dms++
			}
		}
	}
	if dms != n {
		t.Errorf("%d DMs, want %d (no throttle)", dms, n)
	}
}

// A storm of 50 incidents for alice: a bounded number of messages per
// method, the rest folded into them and counted.
func TestThrottleStorm(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		runStorm(t, []*pageEnv{newPageEnv(t, store(t), &fakeClock{now: t0})})
	})
}

// Two servers on one Redis share the throttles: the bound holds across them.
func TestThrottleStormTwoServers(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("throttle2")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	clock := &fakeClock{now: t0}
	var envs []*pageEnv
	for range 2 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		envs = append(envs, newPageEnv(t, s, clock))
	}
	runStorm(t, envs)
}

// Acknowledging an incident while its SMS is held back takes it out of
// what is pending: the next SMS does not tell of it.
func TestThrottleAckDuringHold(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		clock := &fakeClock{now: t0}
		e := newPageEnvWith(t, store(t), clock, func(c *bot.Config) {
			c.People[0].Rules = []bot.RuleConfig{{SMS: dur(0)}}
		})
		ids := openStorm(t, []*pageEnv{e}, 3)
		settled(t, e, ids)
		if got := e.senders.list("sms"); len(got) != 1 || strings.Contains(got[0], "more incident") {
			t.Fatalf("first SMS: %q", got)
		}
		var held []string
		for _, id := range ids {
			for _, s := range e.paged(id) {
				if s == "SMS to alice held back by the throttle (1 a minute); folded into the next" {
					held = append(held, id)
				}
			}
		}
		if len(held) != 2 {
			t.Fatalf("held back: %v", held)
		}
		if _, err := e.store.Update(context.Background(), held[0], func(inc *incidents.Incident) error {
			return inc.Apply(incidents.Acknowledge, "alice", "", clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		clock.Add(30 * time.Second)
		settled(t, e, ids)
		if got := e.senders.list("sms"); len(got) != 1 {
			t.Fatalf("within the minute: %q", got)
		}
		clock.Add(30 * time.Second)
		settled(t, e, ids)
		clock.Add(30 * time.Second) // if the first held back was acknowledged, the other asks now
		settled(t, e, ids)
		got := e.senders.list("sms")
		if len(got) != 2 || strings.Contains(got[1], "more incident") || !strings.Contains(got[1], held[1]) {
			t.Fatalf("after the minute: %q (acknowledged %s, held %s)", got, held[0], held[1])
		}
		for _, s := range e.paged(held[0]) {
			if strings.Contains(s, "folded into") && !strings.Contains(s, "held back") || strings.HasPrefix(s, "Paged") {
				t.Fatalf("the acknowledged incident was paged or folded: %q", e.paged(held[0]))
			}
		}
		if n := metric(t, e, `klaxon_pages_throttled_total{method="sms"}`); n != 2 {
			t.Fatalf("throttled %d, want 2", n)
		}
	})
}

// Incidents held back: a later SMS tells of them, within the 3 segments
// a page's text is fitted to, and they are folded (on their timelines).
func TestThrottleDigestSMS(t *testing.T) {
	clock := &fakeClock{now: t0}
	e := newPageEnvWith(t, boltStore(t), clock, func(c *bot.Config) {
		c.People[0].Rules = []bot.RuleConfig{{SMS: dur(0)}}
	})
	ids := openStorm(t, []*pageEnv{e}, 6)
	settled(t, e, ids)
	for range 4 {
		clock.Add(time.Minute)
		settled(t, e, ids)
	}
	got := e.senders.list("sms")
	digests := 0
	for _, d := range got {
		if strings.Contains(d, "\nklaxon: ") {
			digests++
			if !regexp.MustCompile(`\nklaxon: \d+ more incidents? for you: INC-\d+ payments SEV3 Disk full`).MatchString(d) {
				t.Errorf("digest SMS %q", d)
			}
		}
		if len(d) > 459 {
			t.Errorf("SMS of %d characters (3 segments: 459): %q", len(d), d)
		}
	}
	if digests == 0 || len(got) > 5 || len(got)+folded(got) != len(ids) {
		t.Fatalf("%d SMS (%d digests) telling of %d more, for %d incidents:\n%s", len(got), digests, folded(got), len(ids), strings.Join(got, "\n"))
	}
	clock.Add(10 * time.Minute)
	settled(t, e, ids)
	if n := len(e.senders.list("sms")); n != len(got) {
		t.Fatalf("%d SMS sent after everything was folded", n-len(got))
	}
}

// The message that carries a fold fails (worth retrying): the pages it
// would have told of are held again, and every incident's SMS is still
// sent or folded into a later one, within the throttle.
func TestThrottleFoldSendFails(t *testing.T) {
	clock := &fakeClock{now: t0}
	e := newPageEnvWith(t, boltStore(t), clock, func(c *bot.Config) {
		c.People[0].Rules = []bot.RuleConfig{{SMS: dur(0)}}
	})
	ids := openStorm(t, []*pageEnv{e}, 4)
	settled(t, e, ids)
	e.senders.failNext("sms", &chatErr{code: "twilio_20429", retry: true})
	var perMinute []int
	for m := range 5 {
		clock.Add(time.Minute)
		settled(t, e, ids)
		perMinute = append(perMinute, len(e.senders.list("sms"))-1-sum(perMinute))
		if m == 0 && perMinute[0] != 0 {
			t.Fatalf("the failed digest counted as sent: %q", e.senders.list("sms"))
		}
	}
	for i, k := range perMinute {
		if k > 1 {
			t.Fatalf("%d SMS in minute %d: %v", k, i+1, perMinute)
		}
	}
	msgs := e.senders.list("sms")
	sent, fold := 0, 0
	for _, id := range ids {
		for _, s := range e.paged(id) {
			switch {
			case strings.HasPrefix(s, "Paged alice by SMS"):
				sent++
			case strings.HasPrefix(s, "SMS to alice folded into"):
				fold++
			}
		}
	}
	if sent != len(msgs) || sent+fold != len(ids) || folded(msgs) != fold {
		t.Fatalf("%d SMS (telling of %d more), timelines: %d sent, %d folded, of %d:\n%s", len(msgs), folded(msgs), sent, fold, len(ids), strings.Join(msgs, "\n"))
	}
	if !strings.Contains(e.do("GET", "/metrics", "").body, `klaxon_pages_total{method="sms",outcome="retried"} 1`) {
		t.Fatal("the failed send was not counted as retried")
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// Held-back pages are durable: a restart while they wait, and the
// replica that comes up sends them or the digest that folds them, one
// SMS a minute at most.
func TestThrottleHoldSurvivesRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		st := store(t)
		clock := &fakeClock{now: t0}
		sms := func(c *bot.Config) { c.People[0].Rules = []bot.RuleConfig{{SMS: dur(0)}} }
		e1 := newPageEnvWith(t, st, clock, sms)
		ids := openStorm(t, []*pageEnv{e1}, 4)
		settled(t, e1, ids)
		if got := e1.senders.list("sms"); len(got) != 1 {
			t.Fatalf("before the restart: %q", got)
		}
		e1.stop()
		e2 := newPageEnvWith(t, st, clock, sms)
		for m := range 3 {
			clock.Add(time.Minute)
			settled(t, e2, ids)
			if n := len(e2.senders.list("sms")); n > m+1 {
				t.Fatalf("%d SMS in %d minutes after the restart: %q", n, m+1, e2.senders.list("sms"))
			}
		}
		msgs := append(e1.senders.list("sms"), e2.senders.list("sms")...)
		sent, fold := 0, 0
		for _, id := range ids {
			inc, err := st.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !inc.NextPage().IsZero() {
				t.Fatalf("%s still has a page pending: %q", id, e2.paged(id))
			}
			for _, s := range e2.paged(id) {
				switch {
				case strings.HasPrefix(s, "Paged alice by SMS"):
					sent++
				case strings.HasPrefix(s, "SMS to alice folded into the one about INC-"):
					fold++
				}
			}
		}
		if sent != len(msgs) || sent+fold != len(ids) || folded(msgs) != fold {
			t.Fatalf("%d SMS telling of %d more; timelines: %d sent, %d folded:\n%s", len(msgs), folded(msgs), sent, fold, strings.Join(msgs, "\n"))
		}
	})
}
