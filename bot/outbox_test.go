package bot_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
	"github.com/klaxonbot/klaxon/templates"
)

// chatErr is a platform failure as the adapters report them.
type chatErr struct {
	code  string
	retry bool
	after time.Duration
}

func (e *chatErr) Error() string             { return "fake: " + e.code }
func (e *chatErr) ErrorCode() string         { return e.code }
func (e *chatErr) Retryable() bool           { return e.retry }
func (e *chatErr) RetryAfter() time.Duration { return e.after }

type fakeMsg struct {
	ref, dest, incident string
	version             int64
	state               incidents.State
	edits               int
	replies             [][]incidents.Event
	postedAt            time.Time
	owner               string // the card's owner line (what holds it: maintenance, flapping)
	compact             bool
}

// fakeChat is an in-memory Chat for the outbox's own tests (the adapters'
// HTTP fakes are driven end to end in cmd/klaxon).
type fakeChat struct {
	mu    sync.Mutex
	msgs  []*fakeMsg
	byRef map[string]*fakeMsg
	calls map[string]int
	fails map[string][]error // op → errors to answer, in order
	seq   int

	mentions, directs []string
	announced         []string // dest + " " + text
}

func newFakeChat() *fakeChat {
	return &fakeChat{byRef: map[string]*fakeMsg{}, calls: map[string]int{}, fails: map[string][]error{}}
}

func (f *fakeChat) failNext(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[op] = append(f.fails[op], errs...)
}

func (f *fakeChat) fail(op string) error {
	f.calls[op]++
	if q := f.fails[op]; len(q) > 0 {
		f.fails[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeChat) Post(ctx context.Context, dest string, card *templates.Card) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("post"); err != nil {
		return "", err
	}
	f.seq++
	m := &fakeMsg{ref: fmt.Sprintf("%s/%d", dest, f.seq), dest: dest, incident: card.IncidentID, version: card.Version, state: card.State, postedAt: time.Now(),
		owner: card.Owner, compact: card.Compact}
	f.msgs = append(f.msgs, m)
	f.byRef[m.ref] = m
	return m.ref, nil
}

func (f *fakeChat) Update(ctx context.Context, ref string, card *templates.Card) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("update"); err != nil {
		return err
	}
	m := f.byRef[ref]
	if m == nil {
		return &chatErr{code: "message_not_found"}
	}
	m.version, m.state = card.Version, card.State
	m.owner, m.compact = card.Owner, card.Compact
	m.edits++
	return nil
}

func (f *fakeChat) Reply(ctx context.Context, ref string, events []incidents.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("reply"); err != nil {
		return err
	}
	m := f.byRef[ref]
	if m == nil {
		return &chatErr{code: "message_not_found"}
	}
	m.replies = append(m.replies, events)
	return nil
}

func (f *fakeChat) Find(ctx context.Context, dest, id string, since time.Time) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("find"); err != nil {
		return "", err
	}
	for _, m := range f.msgs {
		if m.dest == dest && m.incident == id && !m.postedAt.Before(since) {
			return m.ref, nil
		}
	}
	return "", nil
}

func (f *fakeChat) Mention(ctx context.Context, ref, userID, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("mention"); err != nil {
		return err
	}
	f.mentions = append(f.mentions, ref+" @"+userID+" "+text)
	return nil
}

func (f *fakeChat) Direct(ctx context.Context, userID, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("direct"); err != nil {
		return err
	}
	f.directs = append(f.directs, userID+" "+text)
	return nil
}

// sent returns the announcements and direct messages, in order.
func (f *fakeChat) sent() (announces, directs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.announced...), append([]string(nil), f.directs...)
}

// cards returns the top-level messages about id in dest.
func (f *fakeChat) cards(dest, id string) []fakeMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeMsg
	for _, m := range f.msgs {
		if m.dest == dest && m.incident == id {
			out = append(out, *m)
		}
	}
	return out
}

func (f *fakeChat) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

const (
	slackC = "C0123ABCD"
	tgChat = "-100123"
)

// chatConfig has one team with a Slack channel and a Telegram group, with
// klaxon's own rate limits off unless a test sets them.
func chatConfig(c *bot.Config) {
	c.Slack = &bot.SlackConfig{BotToken: "xoxb-1-outbox-tests", APIURL: "https://slack.invalid/api/"}
	c.Telegram = &bot.TelegramConfig{BotToken: "1:tg", APIEndpoint: "https://tg.invalid/bot%s/%s"}
	c.Teams = []bot.TeamConfig{{Name: "payments", Slack: &bot.SlackDest{Channel: slackC}, Telegram: &bot.TelegramDest{Chat: tgChat}}}
	c.DefaultTeam = "payments"
}

type chatEnv struct {
	*env
	cfg       *bot.Config
	slack, tg *fakeChat
	srv       *bot.Server
	cancel    context.CancelFunc
	done      chan struct{}
}

// newChatEnv builds a server whose outbox posts to two fake chats; start
// runs its workers.
func newChatEnv(t *testing.T, store incidents.Store, mutate func(*bot.Config)) *chatEnv {
	cfg := bot.DefaultConfig()
	chatConfig(cfg)
	if mutate != nil {
		mutate(cfg)
	}
	e := &chatEnv{cfg: cfg, slack: newFakeChat(), tg: newFakeChat()}
	clock := &fakeClock{now: time.Now()}
	srv, err := bot.New(cfg, bot.Deps{
		Store: store, Clock: clock, Logger: discardLogger(), Version: "test",
		Chats: map[string]bot.Chat{bot.Slack: e.slack, bot.Telegram: e.tg},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.env = &env{t: t, h: srv.Handler(), clock: clock, store: store}
	return e
}

func (e *chatEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() { defer close(e.done); e.srv.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

func (e *chatEnv) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

func (e *chatEnv) open(group string) *incidents.Incident {
	e.t.Helper()
	b := storetest.Batch(group, storetest.Alert(group+"-a", incidents.AlertFiring, e.clock.Now()))
	b.Team = "payments"
	r, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Incident
}

func (e *chatEnv) act(id string, a incidents.Action) *incidents.Incident {
	e.t.Helper()
	inc, err := e.store.Update(context.Background(), id, func(inc *incidents.Incident) error {
		return inc.Apply(a, "alice", "", e.clock.Now())
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// synced waits until dest shows exactly one card about inc at its version.
func synced(t *testing.T, f *fakeChat, dest string, inc *incidents.Incident) fakeMsg {
	t.Helper()
	var got []fakeMsg
	waitFor(t, 5*time.Second, fmt.Sprintf("%s v%d in %s", inc.ID, inc.Version, dest), func() bool {
		got = f.cards(dest, inc.ID)
		return len(got) >= 1 && got[0].version >= inc.Version
	})
	if len(got) != 1 {
		t.Fatalf("%d cards about %s in %s, want 1", len(got), inc.ID, dest)
	}
	return got[0]
}

func eachStore(t *testing.T, fn func(t *testing.T, store func(testing.TB) incidents.Store)) {
	t.Run("bolt", func(t *testing.T) { fn(t, boltStore) })
	t.Run("redis", func(t *testing.T) { fn(t, redisStore) })
}

func TestOutboxPostsEditsAndThreads(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), nil)
		e.start()
		inc := e.open("g1")
		for _, f := range []*fakeChat{e.slack, e.tg} {
			dest := map[*fakeChat]string{e.slack: slackC, e.tg: tgChat}[f]
			m := synced(t, f, dest, inc)
			if m.state != incidents.Triggered || m.edits != 0 || len(m.replies) != 0 {
				t.Fatalf("new card %+v", m)
			}
		}
		acked := e.act(inc.ID, incidents.Acknowledge)
		for f, dest := range map[*fakeChat]string{e.slack: slackC, e.tg: tgChat} {
			var m fakeMsg
			waitFor(t, 5*time.Second, "the ack in "+dest, func() bool {
				m = synced(t, f, dest, acked)
				return len(m.replies) == 1
			})
			if m.state != incidents.Acknowledged || m.edits != 1 {
				t.Errorf("%s: card %+v, want acknowledged after one edit", dest, m)
			}
			if r := m.replies[0]; len(r) != 1 || r[0].Kind != incidents.EventAcknowledged || r[0].Actor != "alice" {
				t.Errorf("%s: reply %+v, want the acknowledgement", dest, r)
			}
		}
		// An alert joining edits the card but is no thread chatter.
		b := storetest.Batch("g1", storetest.Alert("g1-b", incidents.AlertFiring, e.clock.Now()))
		r, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		m := synced(t, e.slack, slackC, r.Incident)
		if m.edits != 2 || len(m.replies) != 1 {
			t.Errorf("after a join: card %+v, want 2 edits and still 1 reply", m)
		}
		if n := e.slack.count("post"); n != 1 {
			t.Errorf("%d posts to Slack, want 1", n)
		}
		waitFor(t, 5*time.Second, "an empty outbox", func() bool {
			st, _ := e.store.(incidents.Outbox).OutboxStats(context.Background())
			return st.Depth == 0
		})
		metrics := e.do("GET", "/metrics", "").body
		for _, want := range []string{
			`klaxon_deliveries_total{code="",kind="post",platform="slack",result="ok"} 1`,
			`klaxon_deliveries_total{code="",kind="update",platform="telegram",result="ok"} 2`,
			`klaxon_deliveries_total{code="",kind="reply",platform="slack",result="ok"} 1`,
			`klaxon_delivery_latency_seconds_count{platform="slack"} 3`,
			"klaxon_outbox_depth 0", "klaxon_outbox_oldest_age_seconds 0",
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// Changes made while no worker runs (or while the card waits) are sent
// once, as the latest state.
func TestOutboxCoalesces(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), nil)
		inc := e.open("g1")
		for range 5 {
			e.act(inc.ID, incidents.Acknowledge)
			inc = e.act(inc.ID, incidents.Unacknowledge)
		}
		inc = e.act(inc.ID, incidents.Resolve)
		e.start()
		m := synced(t, e.slack, slackC, inc)
		if m.state != incidents.Resolved || m.edits != 0 || len(m.replies) != 0 {
			t.Errorf("card %+v, want one post showing the resolved state and nothing else", m)
		}
		time.Sleep(200 * time.Millisecond)
		if p, u, r := e.slack.count("post"), e.slack.count("update"), e.slack.count("reply"); p != 1 || u != 0 || r != 0 {
			t.Errorf("calls post=%d update=%d reply=%d, want 1/0/0", p, u, r)
		}
	})
}

func TestOutboxHonoursRetryAfter(t *testing.T) {
	e := newChatEnv(t, redisStore(t), nil)
	e.slack.failNext("post", &chatErr{code: "rate_limited", retry: true, after: time.Second})
	e.start()
	start := time.Now()
	inc := e.open("g1")
	tg := synced(t, e.tg, tgChat, inc)
	m := synced(t, e.slack, slackC, inc)
	if d := m.postedAt.Sub(start); d < time.Second {
		t.Errorf("Slack card posted %s after the 429, before its Retry-After of 1s", d)
	}
	if !tg.postedAt.Before(m.postedAt) {
		t.Error("the Telegram card waited for Slack's Retry-After")
	}
	if n := e.slack.count("post"); n != 2 {
		t.Errorf("%d post calls, want 2 (the 429, then the card)", n)
	}
	if !strings.Contains(e.do("GET", "/metrics", "").body, `klaxon_deliveries_total{code="rate_limited",kind="post",platform="slack",result="rate_limited"} 1`) {
		t.Error("no rate_limited delivery counted")
	}
}

// A card waiting out a long Retry-After does not hold back the incident's
// other cards when the incident changes.
func TestOutboxOneCardWaitingHoldsNoOther(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), nil)
		e.slack.failNext("post", &chatErr{code: "rate_limited", retry: true, after: time.Minute})
		e.start()
		inc := e.open("g1")
		synced(t, e.tg, tgChat, inc)
		acked := e.act(inc.ID, incidents.Acknowledge)
		synced(t, e.tg, tgChat, acked) // within seconds, not after Slack's minute
		if n := e.slack.count("post"); n != 1 {
			t.Errorf("%d Slack posts inside its Retry-After, want 1", n)
		}
	})
}

func TestOutboxRetriesServerErrors(t *testing.T) {
	e := newChatEnv(t, boltStore(t), nil)
	e.slack.failNext("post", &chatErr{code: "http_503", retry: true}, &chatErr{code: "network", retry: true})
	e.start()
	inc := e.open("g1")
	waitFor(t, 10*time.Second, "the card after two failures", func() bool { return len(e.slack.cards(slackC, inc.ID)) == 1 })
	if n := e.slack.count("post"); n != 3 {
		t.Errorf("%d post calls, want 3", n)
	}
	if !strings.Contains(e.do("GET", "/metrics", "").body, `klaxon_deliveries_total{code="http_503",kind="post",platform="slack",result="retried"} 1`) {
		t.Error("no retried delivery counted")
	}
}

// A card a platform refuses for good is on the timeline once, is not
// retried in a loop, and is tried again when the incident changes.
func TestOutboxFailsForGood(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), nil)
		e.slack.failNext("post", &chatErr{code: "channel_not_found"}, &chatErr{code: "channel_not_found"})
		e.start()
		inc := e.open("g1")
		var got *incidents.Incident
		waitFor(t, 5*time.Second, "the failure on the timeline", func() bool {
			got, _ = e.store.Get(context.Background(), inc.ID)
			return got.Timeline[len(got.Timeline)-1].Kind == incidents.EventDeliveryFailed
		})
		if last := got.Timeline[len(got.Timeline)-1]; !strings.Contains(last.Text, "Slack card in "+slackC+" could not be posted: channel_not_found") {
			t.Errorf("timeline event %q", last.Text)
		}
		synced(t, e.tg, tgChat, got) // the other platform still gets it, with the failure in it
		time.Sleep(300 * time.Millisecond)
		if n := e.slack.count("post"); n != 1 {
			t.Fatalf("%d Slack posts after a permanent failure, want 1 (no retry loop)", n)
		}
		// A change tries again; the same failure is not recorded twice.
		e.act(inc.ID, incidents.Acknowledge)
		waitFor(t, 5*time.Second, "a second attempt", func() bool { return e.slack.count("post") == 2 })
		time.Sleep(300 * time.Millisecond)
		got, _ = e.store.Get(context.Background(), inc.ID)
		n := 0
		for _, ev := range got.Timeline {
			if ev.Kind == incidents.EventDeliveryFailed {
				n++
			}
		}
		if n != 1 || e.slack.count("post") != 2 {
			t.Errorf("%d failure events and %d posts, want 1 and 2", n, e.slack.count("post"))
		}
		// The channel is fixed: the next change posts the card.
		inc = e.act(inc.ID, incidents.Resolve)
		synced(t, e.slack, slackC, inc)
	})
}

// A card posted late — the bot was added to the channel after the
// incident changed — threads what happened since klaxon first tried to
// post it, in one reply; a card posted at once adds no reply.
func TestOutboxLateCardThreadsEarlierEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), nil)
		e.slack.failNext("post", &chatErr{code: "not_in_channel"}, &chatErr{code: "not_in_channel"})
		e.start()
		inc := e.open("g1")
		waitFor(t, 5*time.Second, "the failure on the timeline", func() bool {
			got, _ := e.store.Get(context.Background(), inc.ID)
			return got.Timeline[len(got.Timeline)-1].Kind == incidents.EventDeliveryFailed
		})
		if tg := synced(t, e.tg, tgChat, inc); tg.edits != 0 {
			t.Fatalf("Telegram card %+v", tg)
		}
		e.act(inc.ID, incidents.Acknowledge) // the second try fails too
		waitFor(t, 5*time.Second, "a second try", func() bool { return e.slack.count("post") == 2 })
		if _, err := e.store.Update(context.Background(), inc.ID, func(inc *incidents.Incident) error {
			return inc.AddNote("factor", "the pool was too small", "bob", e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		// The bot is in the channel now: the next change posts the card.
		inc = e.act(inc.ID, incidents.Resolve)
		var m fakeMsg
		waitFor(t, 5*time.Second, "the late card and its thread", func() bool {
			m = synced(t, e.slack, slackC, inc)
			return len(m.replies) > 0
		})
		var kinds []incidents.EventKind
		for _, ev := range m.replies[0] {
			kinds = append(kinds, ev.Kind)
		}
		want := []incidents.EventKind{incidents.EventDeliveryFailed, incidents.EventAcknowledged, incidents.EventNote, incidents.EventResolved}
		if len(m.replies) != 1 || fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("the late card's thread: %d replies, the first with %v; want one with %v", len(m.replies), kinds, want)
		}
		if m.state != incidents.Resolved || m.edits != 0 {
			t.Errorf("late card %+v, want it posted resolved", m)
		}
		// Telegram's card, posted at once, threaded each change as it came.
		tg := synced(t, e.tg, tgChat, inc)
		n := 0
		for _, r := range tg.replies {
			n += len(r)
		}
		if n != 4 {
			t.Errorf("Telegram thread holds %d events, want the same 4", n)
		}
	})
}

// A card posted at once, and a card whose first try waited for a rate
// limit, add no reply for the lines before their first try.
func TestOutboxPromptCardAddsNoReply(t *testing.T) {
	e := newChatEnv(t, boltStore(t), nil)
	inc := e.open("g1")
	inc = e.act(inc.ID, incidents.Acknowledge) // before any worker runs: the card shows it
	e.start()
	m := synced(t, e.slack, slackC, inc)
	time.Sleep(200 * time.Millisecond)
	if m.state != incidents.Acknowledged || len(m.replies) != 0 || e.slack.count("reply") != 0 {
		t.Errorf("card %+v, %d replies: want the acknowledged card and no reply", m, e.slack.count("reply"))
	}
}

// A worker that stopped between posting and recording the card left its
// mark: the next one finds the card instead of posting a second.
func TestOutboxFindsCardAfterCrash(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), func(c *bot.Config) { c.Teams[0].Telegram = nil })
		inc := e.open("g1")
		card, err := templates.MustBuiltin().Card(inc, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.slack.Post(context.Background(), slackC, card); err != nil {
			t.Fatal(err)
		}
		box := e.store.(incidents.Outbox)
		if err := box.SaveDelivery(context.Background(), inc.ID, "slack:"+slackC, incidents.Delivery{Posting: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
		inc = e.act(inc.ID, incidents.Acknowledge)
		e.start()
		var m fakeMsg
		waitFor(t, 5*time.Second, "the found card edited and the ack threaded", func() bool {
			m = synced(t, e.slack, slackC, inc)
			return len(m.replies) == 1
		})
		if e.slack.count("find") != 1 || e.slack.count("post") != 1 || m.edits != 1 {
			t.Errorf("find=%d post=%d edits=%d, want the card found and edited, not posted again", e.slack.count("find"), e.slack.count("post"), m.edits)
		}
		if r := m.replies[0]; len(r) != 1 || r[0].Kind != incidents.EventAcknowledged {
			t.Errorf("thread %+v, want only the ack (the card showed the rest when posted)", m.replies)
		}
	})
}

// When the platform will not let klaxon look (no history scope), an
// interrupted post is made again: a second card beats none.
func TestOutboxPostsWhenFindIsRefused(t *testing.T) {
	e := newChatEnv(t, boltStore(t), func(c *bot.Config) { c.Teams[0].Telegram = nil })
	inc := e.open("g1")
	if err := e.store.(incidents.Outbox).SaveDelivery(context.Background(), inc.ID, "slack:"+slackC, incidents.Delivery{Posting: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.slack.failNext("find", &chatErr{code: "missing_scope"})
	e.start()
	synced(t, e.slack, slackC, inc)
}

// Without any chat platform the outbox still drains: it never grows.
func TestOutboxDrainsWithoutPlatforms(t *testing.T) {
	store := redisStore(t)
	srv, err := bot.New(bot.DefaultConfig(), bot.Deps{Store: store, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := range 20 {
		b := storetest.Batch(fmt.Sprintf("g%d", i), storetest.Alert("a", incidents.AlertFiring, time.Now()))
		if _, err := store.Ingest(context.Background(), b, storetest.Opts(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "an empty outbox", func() bool {
		st, err := store.(incidents.Outbox).OutboxStats(context.Background())
		return err == nil && st.Depth == 0
	})
}

// A card someone deleted is posted again on the next change.
func TestOutboxRepostsDeletedCard(t *testing.T) {
	e := newChatEnv(t, redisStore(t), func(c *bot.Config) { c.Teams[0].Telegram = nil })
	e.start()
	inc := e.open("g1")
	synced(t, e.slack, slackC, inc)
	e.slack.mu.Lock()
	e.slack.byRef = map[string]*fakeMsg{}
	e.slack.msgs = nil
	e.slack.mu.Unlock()
	inc = e.act(inc.ID, incidents.Acknowledge)
	m := synced(t, e.slack, slackC, inc)
	if m.state != incidents.Acknowledged {
		t.Errorf("reposted card %+v", m)
	}
}

// Two replicas drain one Redis outbox: every card is posted once.
func TestOutboxTwoReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("replicas")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	shared := newFakeChat()
	var envs []*chatEnv
	for range 2 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		e := newChatEnv(t, s, func(c *bot.Config) { c.Teams[0].Telegram = nil; c.Outbox.Workers = 4 })
		e.slack = shared
		envs = append(envs, e)
	}
	// Rebuild the servers around the shared fake.
	for i, e := range envs {
		cfg := bot.DefaultConfig()
		chatConfig(cfg)
		cfg.Teams[0].Telegram = nil
		srv, err := bot.New(cfg, bot.Deps{Store: e.store, Clock: e.clock, Logger: discardLogger(), Chats: map[string]bot.Chat{bot.Slack: shared}})
		if err != nil {
			t.Fatal(err)
		}
		envs[i].srv = srv
		e.start()
	}
	const n = 100
	var incs []*incidents.Incident
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := envs[i%2]
			inc := e.open(fmt.Sprintf("g%d", i))
			inc = e.act(inc.ID, incidents.Acknowledge)
			mu.Lock()
			incs = append(incs, inc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, inc := range incs {
		synced(t, shared, slackC, inc)
	}
	if p := shared.count("post"); p != n {
		t.Errorf("%d posts for %d incidents", p, n)
	}
}

// A worker that claimed cards and died holds them only until its lease
// ends; then another worker syncs them.
func TestOutboxDeadWorker(t *testing.T) {
	e := newChatEnv(t, redisStore(t), func(c *bot.Config) { c.Teams[0].Telegram = nil })
	var incs []*incidents.Incident
	for i := range 5 {
		incs = append(incs, e.open(fmt.Sprintf("g%d", i)))
	}
	dead, err := e.store.(incidents.Outbox).Claim(context.Background(), time.Now(), 10, time.Second)
	if err != nil || len(dead) != 5 {
		t.Fatalf("the dead worker claimed %d, %v", len(dead), err)
	}
	start := time.Now()
	e.start()
	for _, inc := range incs {
		m := synced(t, e.slack, slackC, inc)
		if m.postedAt.Sub(start) < 900*time.Millisecond {
			t.Errorf("%s posted while the dead worker's lease held it", inc.ID)
		}
	}
}

var _ = httptest.NewServer

// countHandler counts warnings.
type countHandler struct {
	mu *sync.Mutex
	n  *int
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		*h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// With the store down, the workers wait longer and longer between claims
// and do not flood the log; they stop promptly.
func TestOutboxStoreDown(t *testing.T) {
	var mu sync.Mutex
	var warnings int
	cfg := bot.DefaultConfig()
	chatConfig(cfg)
	srv, err := bot.New(cfg, bot.Deps{Store: deadStore(t), Logger: slog.New(countHandler{&mu, &warnings}),
		Chats: map[string]bot.Chat{bot.Slack: newFakeChat()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	time.Sleep(2 * time.Second)
	cancel()
	select {
	case <-done:
	case <-time.After(6 * time.Second):
		t.Fatal("workers did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if warnings == 0 || warnings > 6 {
		t.Errorf("%d warnings in 2s of a dead store, want a few", warnings)
	}
}
