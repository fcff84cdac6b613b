package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// fakeSenders records the pages of every method, failing as told.
type fakeSenders struct {
	mu    sync.Mutex
	sent  []string           // "sms alice-number body", "email to", "push url"
	fails map[string][]error // method → errors to answer, in order
	calls map[string]int
}

func newFakeSenders() *fakeSenders {
	return &fakeSenders{fails: map[string][]error{}, calls: map[string]int{}}
}

func (f *fakeSenders) failNext(method string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[method] = append(f.fails[method], errs...)
}

func (f *fakeSenders) record(method, line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if q := f.fails[method]; len(q) > 0 {
		f.fails[method] = q[1:]
		return q[0]
	}
	f.sent = append(f.sent, method+" "+line)
	return nil
}

func (f *fakeSenders) list(method string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sent {
		if strings.HasPrefix(s, method+" ") {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeSenders) SendSMS(ctx context.Context, to, body, cb string) (string, error) {
	return "SM1", f.record("sms", to+" "+body)
}

func (f *fakeSenders) Mail(ctx context.Context, m bot.MailPage) error {
	return f.record("email", fmt.Sprintf("%s update=%v ack=%s card=%s", m.To, m.Update, m.AckURL, m.Card.Title))
}

func (f *fakeSenders) Push(ctx context.Context, to bot.PushTarget, p bot.PushPage) error {
	line := fmt.Sprintf("%s token=%s ack=%s", to.URL, to.Token.Reveal(), p.AckURL)
	if p.More != "" {
		line += " more=" + p.More
	}
	return f.record("push", line)
}

func pagingConfig(c *bot.Config) {
	escalationConfig(c)
	c.People = []bot.PersonConfig{
		{Name: "alice", Slack: "UALICE", Phone: "+15551230001", Email: "alice@example.com", Push: "https://ntfy.example.com/alice",
			Rules: []bot.RuleConfig{{DM: dur(0)}, {Push: dur(0)}, {SMS: dur(2 * time.Minute)}, {Call: dur(5 * time.Minute)}}},
		{Name: "bob", Phone: "+15551230002", Email: "bob@example.com"},
	}
	c.SMTP = &bot.SMTPConfig{Host: "smtp.example.com", From: "klaxon@example.com", TLS: "starttls"}
	c.Ntfy = &bot.NtfyConfig{Token: "tk_default"}
	c.Policies = []bot.PolicyConfig{{Name: "default", Steps: []bot.StepConfig{{Notify: "channel"}, {Page: "oncall"}}}}
	c.Teams[0].Rules = []bot.RuleConfig{{Email: dur(0)}, {SMS: dur(time.Minute)}}
}

func dur(d time.Duration) *bot.Duration { x := bot.Duration(d); return &x }

type pageEnv struct {
	*escEnv
	senders *fakeSenders
	stop    func()
}

func newPageEnv(t *testing.T, store incidents.Store, clock *fakeClock) *pageEnv {
	return newPageEnvWith(t, store, clock, nil)
}

// newPageEnvWith is newPageEnv with the config changed by change.
func newPageEnvWith(t *testing.T, store incidents.Store, clock *fakeClock, change func(*bot.Config)) *pageEnv {
	cfg := bot.DefaultConfig()
	pagingConfig(cfg)
	if change != nil {
		change(cfg)
	}
	if clock == nil {
		clock = &fakeClock{now: t0}
	}
	phone, slack, senders := &fakePhone{}, newFakeChat(), newFakeSenders()
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Phone: phone, Chats: map[string]bot.Chat{bot.Slack: slack},
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse},
		SMS:     senders, Mailer: senders, Pusher: senders,
		VerifyPhone: func(r *http.Request, body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return &pageEnv{escEnv: &escEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv, phone: phone, slack: slack},
		senders: senders, stop: stop}
}

func (e *pageEnv) paged(id string) []string {
	var out []string
	for _, s := range e.events(id, incidents.EventEscalated) {
		if !strings.HasPrefix(s, "Escalation") {
			out = append(out, s)
		}
	}
	return out
}

// settle lets the schedulers run whatever is due now: nothing more may
// happen without the clock moving.
func settle() { time.Sleep(300 * time.Millisecond) }

// alice's rules: a DM and a push at once, an SMS after 2 minutes, a call
// after 5; acknowledging after the SMS stops the call.
func TestPagingWalkAndAck(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newPageEnv(t, store(t), nil)
		inc := e.openAt("g1") // alice is on call
		waitFor(t, 5*time.Second, "the DM and the push", func() bool { return len(e.paged(inc.ID)) == 2 })
		if got := e.events(inc.ID, incidents.EventEscalated); !slices.Contains(got, "Escalation: paging alice (direct message now, push now, SMS in 2m, phone call in 5m)") {
			t.Fatalf("timeline: %q", got)
		}
		if got := e.paged(inc.ID); !slices.Contains(got, "Paged alice by direct message") || !slices.Contains(got, "Paged alice by push") {
			t.Fatalf("paged: %q", got)
		}
		e.slack.mu.Lock()
		directs := e.slack.directs
		e.slack.mu.Unlock()
		if len(directs) != 1 || !strings.HasPrefix(directs[0], "UALICE You are paged: "+inc.ID) {
			t.Fatalf("direct messages %q", directs)
		}
		if p := e.senders.list("push"); len(p) != 1 || !strings.HasPrefix(p[0], "push https://ntfy.example.com/alice token=tk_default ack=") {
			t.Fatalf("pushes %q", p)
		}
		e.clock.Add(time.Minute + 59*time.Second)
		settle()
		if n := len(e.senders.list("sms")); n != 0 {
			t.Fatalf("%d SMS before their delay", n)
		}
		e.clock.Add(time.Second)
		waitFor(t, 5*time.Second, "the SMS", func() bool { return len(e.paged(inc.ID)) == 3 })
		if s := e.senders.list("sms"); len(s) != 1 || !strings.HasPrefix(s[0], "sms +15551230001 klaxon SEV3 "+inc.ID+" payments: ") {
			t.Fatalf("SMS %q", s)
		}
		if _, _, err := e.srv.Act(context.Background(), inc.ID, bot.Command{Verb: bot.VerbAck}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaAPI}); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Hour)
		settle()
		if n := len(e.phone.list()); n != 0 {
			t.Fatalf("%d calls after the acknowledgement", n)
		}
		got, _ := e.store.Get(context.Background(), inc.ID)
		if len(got.Pages) != 3 || !got.Due().IsZero() {
			t.Fatalf("pages %+v, due %v", got.Pages, got.Due())
		}
		if !strings.Contains(e.do("GET", "/metrics", "").body, `klaxon_pages_total{method="sms",outcome="sent"} 1`) {
			t.Error("the SMS is not counted")
		}
	})
}

// A failure worth retrying is retried with backoff as the clock moves;
// one that is not goes on the timeline at once; the team's rules page a
// person with none of their own.
func TestPagingRetryAndFailure(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newPageEnv(t, store(t), nil)
		e.clock.Add(24 * time.Hour) // bob's day: the team's rules (e-mail now, SMS after a minute)
		e.senders.failNext("email", &chatErr{code: "smtp_451", retry: true}, &chatErr{code: "network", retry: true})
		e.senders.failNext("sms", &chatErr{code: "twilio_21211", retry: false})
		inc := e.openAt("g2")
		waitFor(t, 5*time.Second, "the first e-mail try", func() bool { e.senders.mu.Lock(); defer e.senders.mu.Unlock(); return e.senders.calls["email"] == 1 })
		settle()
		if got := e.paged(inc.ID); len(got) != 0 {
			t.Fatalf("timeline after a retryable failure: %q", got)
		}
		for i := 0; i < 4 && len(e.senders.list("email")) == 0; i++ {
			e.clock.Add(time.Minute) // the backoff (up to 2m) passes; the SMS falls due
			settle()
		}
		waitFor(t, 5*time.Second, "the e-mail and the SMS failure", func() bool { return len(e.paged(inc.ID)) == 2 })
		got := e.paged(inc.ID)
		if !slices.Contains(got, "Paged bob by e-mail") || !slices.Contains(got, "SMS to bob failed: fake: twilio_21211") {
			t.Fatalf("timeline %q", got)
		}
		if m := e.senders.list("email"); len(m) != 1 || !strings.HasPrefix(m[0], "email bob@example.com update=false") {
			t.Fatalf("mails %q", m)
		}
		e.senders.mu.Lock()
		tries := e.senders.calls["sms"]
		e.senders.mu.Unlock()
		e.clock.Add(time.Hour)
		settle()
		e.senders.mu.Lock()
		defer e.senders.mu.Unlock()
		if e.senders.calls["email"] != 3 || e.senders.calls["sms"] != tries || tries != 1 {
			t.Fatalf("calls %v: 3 e-mail tries and 1 SMS, no more", e.senders.calls)
		}
	})
}

// A replica that stops mid-walk: the next one resumes it where it was,
// sending nothing twice.
func TestPagingRestartResumes(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		st := store(t)
		clock := &fakeClock{now: t0}
		e1 := newPageEnv(t, st, clock)
		inc := e1.openAt("g3")
		waitFor(t, 5*time.Second, "the DM and the push", func() bool { return len(e1.paged(inc.ID)) == 2 })
		e1.stop()
		e2 := newPageEnv(t, st, clock)
		clock.Add(2 * time.Minute)
		waitFor(t, 5*time.Second, "the SMS from the second replica", func() bool { return len(e2.paged(inc.ID)) == 3 })
		clock.Add(3 * time.Minute)
		waitFor(t, 5*time.Second, "the call", func() bool { return len(e2.phone.list()) == 1 })
		settle()
		if n := len(e2.senders.list("push")) + len(e2.senders.list("sms")); n != 1 {
			t.Fatalf("the second replica sent %d push and SMS, want the SMS only", n)
		}
		if got := e2.paged(inc.ID); len(got) != 4 || got[3] != "Paged alice by phone call" {
			t.Fatalf("timeline %q", got)
		}
	})
}

// Three replicas on one Redis, 60 incidents paging at once: each message
// is sent exactly once.
func TestPagingThreeReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("page3")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	clock := &fakeClock{now: t0}
	var envs []*pageEnv
	for range 3 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		// Without throttles: every incident's push and SMS is sent.
		envs = append(envs, newPageEnvWith(t, s, clock, noThrottles))
	}
	const n = 60
	ids := make([]string, n)
	inParallel(n, 8, func(i int) {
		r := envs[i%3].do("POST", "/hooks/alertmanager", amPayload(fmt.Sprintf("g%d", i)))
		id, ok := r.json(t)["incident"].(string)
		if !ok {
			t.Errorf("webhook answered %d: %s", r.code, r.body)
			return
		}
		ids[i] = id
	})
	count := func(method string) int {
		total := 0
		for _, e := range envs {
			total += len(e.senders.list(method))
		}
		return total
	}
	waitFor(t, 30*time.Second, "every push", func() bool { return count("push") >= n })
	clock.Add(2 * time.Minute)
	waitFor(t, 30*time.Second, "every SMS", func() bool { return count("sms") >= n })
	settle()
	if p, s := count("push"), count("sms"); p != n || s != n {
		t.Fatalf("%d pushes and %d SMS for %d incidents", p, s, n)
	}
	for _, id := range ids {
		if got := envs[0].paged(id); len(got) != 3 {
			t.Fatalf("%s: %q", id, got)
		}
	}
}

// The push's acknowledge link: GET only shows a confirmation page (a
// mail scanner's prefetch acknowledges nothing); POST acknowledges as the
// person paged, once; a forged or expired link does nothing.
func TestPagingAckLink(t *testing.T) {
	e := newPageEnv(t, boltStore(t), nil)
	inc := e.openAt("g4")
	waitFor(t, 5*time.Second, "the push", func() bool { return len(e.senders.list("push")) == 1 })
	_, link, ok := strings.Cut(e.senders.list("push")[0], " ack=")
	if !ok || !strings.HasPrefix(link, "https://klaxon.example.com/page/ack/"+inc.ID+".alice.push.") {
		t.Fatalf("push %q", e.senders.list("push"))
	}
	path := strings.TrimPrefix(link, "https://klaxon.example.com")
	r := e.do("GET", path, "")
	if r.code != 200 || !strings.Contains(r.body, `<form method="post" action="`+path+`"><button type="submit">Acknowledge as alice</button></form>`) {
		t.Fatalf("GET: %d %s", r.code, r.body)
	}
	if got, _ := e.store.Get(context.Background(), inc.ID); got.State != incidents.Triggered {
		t.Fatal("a GET acknowledged")
	}
	forged := path[:len(path)-3] + "xyz"
	if r := e.do("POST", forged, ""); r.code != 404 || !strings.Contains(r.body, "This acknowledge link is not valid.") {
		t.Fatalf("forged: %d %s", r.code, r.body)
	}
	other := strings.Replace(path, ".alice.", ".bob.", 1)
	if r := e.do("POST", other, ""); r.code != 404 {
		t.Fatalf("another person's: %d", r.code)
	}
	r = e.do("POST", path, "")
	if r.code != 200 || !strings.Contains(r.body, "is acknowledged by alice (push)") {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	got, _ := e.store.Get(context.Background(), inc.ID)
	if got.State != incidents.Acknowledged || got.AckedBy != "alice (push)" {
		t.Fatalf("%s by %q", got.State, got.AckedBy)
	}
	if r := e.do("POST", path, ""); r.code != 410 || !strings.Contains(r.body, "used already") {
		t.Fatalf("again: %d %s", r.code, r.body)
	}
	e.clock.Add(bot.PageAckTTL + time.Second)
	if r := e.do("GET", path, ""); r.code != 409 || !strings.Contains(r.body, "has expired") {
		t.Fatalf("expired: %d %s", r.code, r.body)
	}
}

// blockingPusher holds every push until released: an ntfy server that
// hangs.
type blockingPusher struct {
	release chan struct{}
	started chan struct{}
	once    sync.Once
}

func (p *blockingPusher) Push(ctx context.Context, _ bot.PushTarget, _ bot.PushPage) error {
	p.once.Do(func() { close(p.started) })
	select {
	case <-p.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A push that hangs holds back neither the card nor the other methods.
func TestPagingNeverBlocksCards(t *testing.T) {
	cfg := bot.DefaultConfig()
	pagingConfig(cfg)
	clock := &fakeClock{now: t0}
	slack, senders := newFakeChat(), newFakeSenders()
	push := &blockingPusher{release: make(chan struct{}), started: make(chan struct{})}
	store := boltStore(t)
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Phone: &fakePhone{}, Chats: map[string]bot.Chat{bot.Slack: slack},
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse}, SMS: senders, Mailer: senders, Pusher: push})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	defer func() { close(push.release); cancel(); <-done }()
	e := &escEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv, slack: slack}
	inc := e.openAt("g5")
	<-push.started
	waitFor(t, 5*time.Second, "the card and the DM while the push hangs", func() bool {
		slack.mu.Lock()
		defer slack.mu.Unlock()
		return len(slack.msgs) == 1 && len(slack.directs) == 1
	})
	// The incident changes while the push hangs: the card follows.
	if _, _, err := srv.Act(context.Background(), inc.ID, bot.Command{Verb: bot.VerbAck}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaAPI}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the card edited while the push hangs", func() bool {
		slack.mu.Lock()
		defer slack.mu.Unlock()
		return slack.msgs[0].state == incidents.Acknowledged
	})
}

// A snooze holds the rules' next attempts until it ends.
func TestPagingSnooze(t *testing.T) {
	e := newPageEnv(t, boltStore(t), nil)
	inc := e.openAt("g6")
	waitFor(t, 5*time.Second, "the DM and the push", func() bool { return len(e.paged(inc.ID)) == 2 })
	if _, _, err := e.srv.Act(context.Background(), inc.ID, bot.Command{Verb: bot.VerbSnooze, Duration: 10 * time.Minute}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaAPI}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5 * time.Minute) // the SMS and the call were due by now
	settle()
	if n := len(e.senders.list("sms")) + len(e.phone.list()); n != 0 {
		t.Fatalf("%d SMS and calls while snoozed", n)
	}
	e.clock.Add(5 * time.Minute)
	waitFor(t, 5*time.Second, "the SMS and the call after the snooze", func() bool { return len(e.paged(inc.ID)) == 4 })
}

// A scheduler that claims an attempt, marks it sent and dies (it may or
// may not have sent it): the others wait a lease for it, then say so on
// the timeline, never sending it a second time.
func TestPagingKilledScheduler(t *testing.T) {
	store := redisStore(t)
	e := newPageEnv(t, store, nil)
	inc := e.openAt("g7")
	waitFor(t, 5*time.Second, "the DM and the push", func() bool { return len(e.paged(inc.ID)) == 2 })
	box := store.(incidents.Escalations)
	ids, err := box.ClaimDue(context.Background(), t0.Add(2*time.Minute), 10, time.Minute)
	if err != nil || len(ids) != 1 {
		t.Fatalf("the dead scheduler claimed %v, %v", ids, err)
	}
	got, _ := store.Get(context.Background(), inc.ID)
	var sms incidents.PageAttempt
	for _, a := range got.Paging {
		if a.Method == incidents.PageSMS {
			sms = a
		}
	}
	if first, _ := box.StepOnce(context.Background(), inc.ID, "page:"+sms.Key+"#0", time.Hour); !first || sms.Key == "" {
		t.Fatalf("the SMS attempt %+v ran before the dead scheduler", sms)
	}
	e.clock.Add(2*time.Minute + 30*time.Second) // inside its lease
	settle()
	e.clock.Add(time.Minute) // after it: one more lease for a send still running
	waitFor(t, 5*time.Second, "the attempt's second lease", func() bool {
		got, _ := store.Get(context.Background(), inc.ID)
		a := got.PageAttempt(sms.Key)
		return a != nil && a.DueAt.After(t0.Add(3*time.Minute+30*time.Second))
	})
	e.clock.Add(time.Minute + time.Second)
	waitFor(t, 5*time.Second, "the attempt given up", func() bool { return len(e.paged(inc.ID)) == 3 })
	if got := e.paged(inc.ID); got[2] != "Paging alice by SMS: not confirmed (the replica sending it stopped)" {
		t.Fatalf("timeline %q", got)
	}
	e.clock.Add(time.Minute)
	waitFor(t, 5*time.Second, "the call", func() bool { return len(e.phone.list()) == 1 })
	if n := len(e.senders.list("sms")); n != 0 {
		t.Fatalf("%d SMS sent again", n)
	}
}
