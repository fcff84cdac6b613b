package bot_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

const hbToken = "backup-token-0123456789"

type hbEnv struct {
	*env
	srv *bot.Server
}

// heartbeatConfig: the escalation tests' team and policy, and a nightly
// backup's heartbeat (1 h + 10 min here) with a token.
func heartbeatConfig(c *bot.Config) {
	escalationConfig(c)
	c.Heartbeats = []bot.HeartbeatConfig{{Name: "backup-cron", Team: "payments", Interval: bot.Duration(time.Hour),
		Grace: bot.Duration(10 * time.Minute), Token: hbToken, Severity: incidents.Sev2}}
}

// newHBEnv is a server on store with a fake clock at now; it does not run
// its scheduler: tests call tick.
func newHBEnv(t *testing.T, store incidents.Store, now time.Time, mutate ...func(*bot.Config)) *hbEnv {
	t.Helper()
	cfg := bot.DefaultConfig()
	heartbeatConfig(cfg)
	for _, m := range mutate {
		m(cfg)
	}
	clock := &fakeClock{now: now}
	srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(),
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse}})
	if err != nil {
		t.Fatal(err)
	}
	return &hbEnv{env: &env{t: t, h: srv.Handler(), clock: clock, store: store}, srv: srv}
}

func (e *hbEnv) tick() {
	e.t.Helper()
	if err := bot.CheckHeartbeats(context.Background(), e.srv); err != nil {
		e.t.Fatalf("heartbeat check: %v", err)
	}
}

// advance moves the clock by d, the scheduler checking along the way as
// a running klaxon does (every 50 s here; klaxon checks every second):
// a replica that stops checking for over a minute takes the time it did
// not watch for an outage.
func (e *hbEnv) advance(d time.Duration) {
	e.t.Helper()
	for d > 0 {
		step := min(d, 50*time.Second)
		e.clock.Add(step)
		d -= step
		e.tick()
	}
}

func (e *hbEnv) beat(method, body string) response {
	e.t.Helper()
	r := e.do(method, "/hooks/heartbeat/backup-cron", body, "Authorization", "Bearer "+hbToken)
	if r.code != 200 {
		e.t.Fatalf("%s beat: %d %s", method, r.code, r.body)
	}
	return r
}

func (e *hbEnv) incidents() []*incidents.Incident {
	e.t.Helper()
	list, err := e.store.List(context.Background(), incidents.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *hbEnv) open() []*incidents.Incident {
	e.t.Helper()
	list, err := e.store.List(context.Background(), incidents.ListOptions{States: incidents.OpenStates})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// metric returns the value of the metric line that starts with prefix.
func (e *env) metric(prefix string) string {
	e.t.Helper()
	r := e.do("GET", "/metrics", "")
	for line := range strings.SplitSeq(r.body, "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return strings.TrimPrefix(line, prefix+" ")
		}
	}
	e.t.Fatalf("no metric %s in\n%s", prefix, r.body)
	return ""
}

// A beat, silence past interval + grace: one incident for the team,
// titled with the silence, escalating by the team's policy; more checks
// open nothing more; the next beat resolves it and says so.
func TestHeartbeatMissAndResolve(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newHBEnv(t, store(t), t0)
		e.tick()
		e.advance(5 * time.Minute)
		r := e.beat("GET", "")
		if got := r.json(t); got["status"] != "beat" || got["deadline"] != "2026-03-02T13:15:00Z" {
			t.Fatalf("beat answered %s", r.body)
		}
		if got, _ := strconv.ParseFloat(e.metric(`klaxon_heartbeat_last_beat_timestamp_seconds{heartbeat="backup-cron"}`), 64); got != float64(t0.Add(5*time.Minute).Unix()) {
			t.Errorf("last beat gauge = %v", got)
		}
		e.advance(70*time.Minute - time.Second) // a second before the deadline
		if got := e.incidents(); len(got) != 0 {
			t.Fatalf("an incident before the deadline: %+v", got[0])
		}
		e.advance(16*time.Minute + time.Second) // to 13:31, 16 min past the deadline
		open := e.open()
		if len(open) != 1 {
			t.Fatalf("%d open incidents after the deadline, want 1", len(open))
		}
		inc, err := e.store.Get(context.Background(), open[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		// Opened at the first check past the deadline (13:15:49 here).
		if want := "No heartbeat from backup-cron for 1 h 10 min; last seen 2026-03-02 12:05 UTC"; inc.Title != want {
			t.Errorf("title = %q, want %q", inc.Title, want)
		}
		if inc.Team != "payments" || inc.Source != "heartbeat" || inc.Severity != incidents.Sev2 || inc.State != incidents.Triggered {
			t.Errorf("incident = team %q source %q severity %v state %s", inc.Team, inc.Source, inc.Severity, inc.State)
		}
		if inc.Escalation == nil || inc.Escalation.Policy != "default" || inc.Due().IsZero() {
			t.Errorf("the incident does not escalate by the team's policy: %+v", inc.Escalation)
		}
		if a := inc.Alerts[0]; a.Fingerprint != "heartbeat/backup-cron" || a.Labels["heartbeat"] != "backup-cron" || !a.StartsAt.Equal(t0.Add(75*time.Minute)) {
			t.Errorf("alert = %+v", a)
		}
		// Checked again and again: still one incident.
		for range 3 {
			e.advance(2 * time.Minute)
		}
		if got := e.incidents(); len(got) != 1 {
			t.Fatalf("%d incidents after more checks, want 1", len(got))
		}
		if got := e.metric(`klaxon_heartbeat_missed_total{heartbeat="backup-cron"}`); got != "1" {
			t.Errorf("missed_total = %s", got)
		}
		// The job is back.
		r = e.beat("POST", "")
		if got := r.json(t); got["resolved"] != inc.ID {
			t.Fatalf("beat after the miss answered %s", r.body)
		}
		inc, _ = e.store.Get(context.Background(), inc.ID)
		if inc.State != incidents.Resolved {
			t.Fatalf("state after the beat = %s", inc.State)
		}
		last := inc.Timeline[len(inc.Timeline)-1]
		if want := "Heartbeat from backup-cron received at 2026-03-02 13:37 UTC, after 1 h 32 min of silence: resolved"; last.Text != want || last.Actor != "heartbeat/backup-cron" {
			t.Errorf("last timeline event = %+v, want %q", last, want)
		}
		if got := e.metric(`klaxon_heartbeat_beats_total{heartbeat="backup-cron"}`); got != "2" {
			t.Errorf("beats_total = %s", got)
		}
		// A second beat changes nothing more.
		if got := e.beat("POST", "").json(t); got["resolved"] != nil {
			t.Errorf("a second beat resolved %v", got["resolved"])
		}
		// The next silence opens the next incident.
		e.advance(71 * time.Minute)
		if got := e.open(); len(got) != 1 {
			t.Fatalf("%d open incidents after the second silence, want 1", len(got))
		}
	})
}

// A heartbeat klaxon has never heard from: its first deadline counts
// from when klaxon first knew it.
func TestHeartbeatNeverSeen(t *testing.T) {
	e := newHBEnv(t, boltStore(t), t0)
	e.tick()
	e.advance(70*time.Minute - time.Second)
	if got := e.incidents(); len(got) != 0 {
		t.Fatalf("an incident before the first deadline: %q", got[0].Title)
	}
	e.advance(time.Second)
	open := e.open()
	if len(open) != 1 {
		t.Fatalf("%d incidents at the first deadline, want 1", len(open))
	}
	if want := "No heartbeat from backup-cron for 1 h 10 min; none since klaxon began watching at 2026-03-02 12:00 UTC"; open[0].Title != want {
		t.Errorf("title = %q, want %q", open[0].Title, want)
	}
}

// What is not a beat, and who may beat.
func TestHeartbeatHook(t *testing.T) {
	e := newHBEnv(t, boltStore(t), t0, func(c *bot.Config) {
		c.Heartbeats = append(c.Heartbeats, bot.HeartbeatConfig{Name: "watchdog", Interval: bot.Duration(time.Minute),
			Basic: &bot.BasicAuth{Username: "am", Password: "watchdog-password-0123"}, Title: "Alertmanager is silent"})
	})
	e.tick()
	path := "/hooks/heartbeat/backup-cron"
	for _, tt := range []struct {
		name, method string
		hdr          []string
		code         int
		err          string
	}{
		{"no token", "GET", nil, 401, "bearer token required"},
		{"wrong token", "POST", []string{"Authorization", "Bearer nope-nope-nope-nope"}, 401, "wrong credentials"},
		{"another heartbeat's credentials", "GET", []string{"Authorization", "Basic YW06d2F0Y2hkb2ctcGFzc3dvcmQtMDEyMw=="}, 401, "bearer token required"},
		{"PUT", "PUT", []string{"Authorization", "Bearer " + hbToken}, 405, "not allowed"},
	} {
		if r := e.do(tt.method, path, "", tt.hdr...); r.code != tt.code || !strings.Contains(r.body, tt.err) {
			t.Errorf("%s: %d %s", tt.name, r.code, r.body)
		}
	}
	if r := e.do("GET", "/hooks/heartbeat/backup", "", "Authorization", "Bearer "+hbToken); r.code != 404 ||
		r.json(t)["error"] != `no heartbeat "backup": heartbeats are listed under heartbeats: in klaxon's config, each at /hooks/heartbeat/<name>` {
		t.Errorf("unknown heartbeat: %d %s", r.code, r.body)
	}
	// Alertmanager's notification that the watched alert resolved is
	// not a sign of life; HEAD is no beat either.
	am := `{"version":"4","status":"resolved","receiver":"klaxon-heartbeat","alerts":[{"status":"resolved","labels":{"alertname":"Watchdog"}}]}`
	if r := e.do("POST", path, am, "Authorization", "Bearer "+hbToken); r.code != 200 || r.json(t)["status"] != "ignored" {
		t.Errorf("resolved body: %d %s", r.code, r.body)
	}
	if r := e.do("HEAD", path, "", "Authorization", "Bearer "+hbToken); r.code != 200 {
		t.Errorf("HEAD: %d %s", r.code, r.body)
	}
	if got := e.metric(`klaxon_heartbeat_ignored_total{heartbeat="backup-cron"}`); got != "2" {
		t.Errorf("ignored_total = %s", got)
	}
	if got := e.metric(`klaxon_heartbeat_beats_total{heartbeat="backup-cron"}`); got != "0" {
		t.Errorf("beats_total = %s after no beat", got)
	}
	// A firing notification is a beat.
	if r := e.do("POST", "/hooks/heartbeat/watchdog", strings.ReplaceAll(am, "resolved", "firing"), "Authorization", "Basic YW06d2F0Y2hkb2ctcGFzc3dvcmQtMDEyMw=="); r.code != 200 || r.json(t)["status"] != "beat" {
		t.Errorf("firing body: %d %s", r.code, r.body)
	}
	// A store that is down: 503, so that the sender tries again.
	d := newHBEnv(t, deadStore(t), t0)
	if r := d.do("GET", path, "", "Authorization", "Bearer "+hbToken); r.code != 503 {
		t.Errorf("store down: %d %s", r.code, r.body)
	}
}

// Without credentials a heartbeat follows the rules of every hook: on a
// klaxon reachable from this machine only, it takes beats from this
// machine only; when another hook has credentials, it answers 401.
func TestHeartbeatLocal(t *testing.T) {
	local := func(c *bot.Config) {
		*c = *bot.DefaultConfig()
		c.Heartbeats = []bot.HeartbeatConfig{{Name: "backup-cron", Interval: bot.Duration(time.Hour)}}
	}
	e := newHBEnv(t, boltStore(t), t0, local)
	if r := e.do("GET", "/hooks/heartbeat/backup-cron", ""); r.code != 200 {
		t.Errorf("from this machine: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/hooks/heartbeat/backup-cron", "", "X-Forwarded-For", "203.0.113.9"); r.code != 401 {
		t.Errorf("through a proxy: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/hooks/heartbeat/backup-cron", "", "RemoteAddr", "192.0.2.1:5555"); r.code != 401 {
		t.Errorf("from elsewhere: %d %s", r.code, r.body)
	}
	// The Go config is checked as a file is: Alertmanager with a token
	// closes the heartbeat without one (Validate refuses it; a hook that
	// answered 401 by accident would hide a dead job).
	cfg := bot.DefaultConfig()
	local(cfg)
	cfg.Sources.Alertmanager = &bot.HookAuth{Token: "am-token-0123456789ab"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "heartbeats[0]: has no credentials while sources.alertmanager has") {
		t.Errorf("Validate = %v", err)
	}
}

// klaxon down for longer than interval + grace: the deadline that passed
// while it could hear no beat gets a fresh window from the start, with a
// metric, instead of an incident. A restart mid-interval keeps the
// deadline.
func TestHeartbeatDowntime(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		s := store(t)
		a := newHBEnv(t, s, t0)
		a.tick()
		a.beat("GET", "") // due at 13:10
		// Restarted (kill -9) at 12:30, mid-interval: the deadline stands.
		b := newHBEnv(t, s, t0.Add(30*time.Minute))
		b.tick()
		b.advance(40*time.Minute - time.Second)
		if got := b.incidents(); len(got) != 0 {
			t.Fatalf("an incident before the deadline kept across the restart: %q", got[0].Title)
		}
		// That klaxon dies at 13:09:59 and is down for five hours.
		down := t0.Add(70*time.Minute - time.Second)
		c := newHBEnv(t, s, down.Add(5*time.Hour))
		c.tick()
		if got := c.incidents(); len(got) != 0 {
			t.Fatalf("klaxon opened %q for a deadline that passed while it was down", got[0].Title)
		}
		if got := c.metric(`klaxon_heartbeat_deferred_total{heartbeat="backup-cron"}`); got != "1" {
			t.Errorf("deferred_total = %s", got)
		}
		c.advance(70*time.Minute - time.Second)
		if got := c.incidents(); len(got) != 0 {
			t.Fatalf("an incident before the fresh window ended: %q", got[0].Title)
		}
		c.advance(time.Second)
		open := c.open()
		if len(open) != 1 || !strings.HasPrefix(open[0].Title, "No heartbeat from backup-cron for 7 h 19 min; last seen 2026-03-02 12:00 UTC") {
			t.Fatalf("after the fresh window: %d open, %q", len(open), open[0].Title)
		}
	})
}

// Three replicas on one Redis: the missed deadline opens one incident,
// however often each checks; a beat at another resolves it.
func TestHeartbeatReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("hb2")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	var envs []*hbEnv
	for range 3 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		envs = append(envs, newHBEnv(t, s, t0))
	}
	for _, e := range envs {
		e.tick()
	}
	envs[0].beat("GET", "")
	// The replicas check in turn up to a second before the deadline, then
	// all at once 30 s past it.
	for i := range 84 { // 84 × 50 s = 70 min
		for _, e := range envs {
			e.clock.Add(50 * time.Second)
		}
		envs[i%3].tick()
	}
	for _, e := range envs {
		e.clock.Add(30 * time.Second)
	}
	var wg sync.WaitGroup
	for _, e := range envs {
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := bot.CheckHeartbeats(context.Background(), e.srv); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if got := envs[0].incidents(); len(got) != 1 {
		t.Fatalf("%d incidents across three replicas, want 1", len(got))
	}
	missed := 0
	for _, e := range envs {
		if e.metric(`klaxon_heartbeat_missed_total{heartbeat="backup-cron"}`) == "1" {
			missed++
		}
	}
	if missed != 1 {
		t.Errorf("%d replicas counted the miss, want 1", missed)
	}
	if r := envs[2].beat("GET", ""); r.json(t)["resolved"] == nil {
		t.Errorf("the beat at the other replica: %s", r.body)
	}
	if got := envs[0].open(); len(got) != 0 {
		t.Errorf("%d open after the beat", len(got))
	}
}

// A signed heartbeat: the signature covers the timestamp and the (empty)
// body, and a replay is not a second beat.
func TestHeartbeatSigned(t *testing.T) {
	const secret = "hb-hmac-secret-0123456789"
	e := newHBEnv(t, boltStore(t), t0, func(c *bot.Config) {
		c.Heartbeats = []bot.HeartbeatConfig{{Name: "backup-cron", Team: "payments", Interval: bot.Duration(time.Hour),
			HMAC: &bot.HMACAuth{Secret: secret, Header: "X-Signature", Prefix: "sha256=", TimestampHeader: "X-Timestamp"}}}
	})
	e.tick()
	ts := strconv.FormatInt(t0.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + ":"))
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	path := "/hooks/heartbeat/backup-cron"
	if r := e.do("GET", path, "", "X-Timestamp", ts); r.code != 401 {
		t.Errorf("unsigned: %d %s", r.code, r.body)
	}
	if r := e.do("GET", path, "", "X-Timestamp", ts, "X-Signature", sig); r.code != 200 || r.json(t)["status"] != "beat" {
		t.Errorf("signed: %d %s", r.code, r.body)
	}
	if r := e.do("GET", path, "", "X-Timestamp", ts, "X-Signature", sig); r.code != 200 || r.json(t)["status"] != "duplicate" {
		t.Errorf("replayed: %d %s", r.code, r.body)
	}
	if got := e.metric(`klaxon_heartbeat_beats_total{heartbeat="backup-cron"}`); got != "1" {
		t.Errorf("beats_total = %s", got)
	}
}

// raceStore lets a test act between a scheduler's claim of a deadline and
// its MissHeartbeat.
type raceStore struct {
	*boltstore.Store
	before func()
}

func (s *raceStore) MissHeartbeat(ctx context.Context, name string, due time.Time) (bool, error) {
	if f := s.before; f != nil {
		s.before = nil
		f()
	}
	return s.Store.MissHeartbeat(ctx, name, due)
}

// A beat that lands after the scheduler opened the incident but before it
// marked the deadline missed: the beat resolves the incident, the miss is
// refused, and the heartbeat runs on from the beat.
func TestHeartbeatBeatDuringMiss(t *testing.T) {
	bs, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	s := &raceStore{Store: bs}
	e := newHBEnv(t, s, t0)
	e.tick()
	e.advance(70*time.Minute - time.Second)
	e.clock.Add(30 * time.Second)
	beatAt := e.clock.Now()
	var answer map[string]any
	s.before = func() { answer = e.beat("GET", "").json(t) }
	e.tick()
	list := e.incidents()
	if len(list) != 1 || list[0].State != incidents.Resolved || answer["resolved"] != list[0].ID {
		t.Fatalf("incidents %d, beat answered %v", len(list), answer)
	}
	if got := e.metric(`klaxon_heartbeat_missed_total{heartbeat="backup-cron"}`); got != "0" {
		t.Errorf("missed_total = %s after a beat won", got)
	}
	hb, err := s.Heartbeat(context.Background(), "backup-cron")
	if err != nil || hb.Missed() || !hb.DueAt.Equal(beatAt.Add(70*time.Minute)) {
		t.Fatalf("heartbeat = %+v, %v", hb, err)
	}
	// Its next deadline fires as usual.
	e.advance(70 * time.Minute)
	if got := e.open(); len(got) != 1 {
		t.Fatalf("%d open at the next deadline, want 1", len(got))
	}
}

// Resolved by hand while the job stays silent: no other incident opens
// (the heartbeat waits for its next beat), and that beat is noted on the
// incident's timeline without resolving anything again.
func TestHeartbeatResolvedByHand(t *testing.T) {
	e := newHBEnv(t, boltStore(t), t0)
	e.tick()
	e.advance(70 * time.Minute)
	open := e.open()
	if len(open) != 1 {
		t.Fatalf("%d open, want 1", len(open))
	}
	id := open[0].ID
	if _, err := e.store.Update(context.Background(), id, func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Resolve, "alice", "", e.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	e.advance(3 * time.Hour)
	if got := e.incidents(); len(got) != 1 || got[0].State != incidents.Resolved {
		t.Fatalf("after 3 more hours of silence: %d incidents", len(got))
	}
	e.beat("GET", "")
	inc, _ := e.store.Get(context.Background(), id)
	last := inc.Timeline[len(inc.Timeline)-1]
	if want := "Heartbeat from backup-cron received at 2026-03-02 16:10 UTC, after 4 h 10 min of silence"; last.Text != want || inc.ResolvedBy != "alice" {
		t.Errorf("last event %q (resolved by %s), want %q", last.Text, inc.ResolvedBy, want)
	}
}

// flakyStore's heartbeat calls fail while down is set: an unreachable store.
type flakyStore struct {
	*boltstore.Store
	down atomic.Bool
}

func (s *flakyStore) ClaimHeartbeats(ctx context.Context, now time.Time, n int, lease time.Duration) ([]incidents.Heartbeat, error) {
	if s.down.Load() {
		return nil, incidents.Errorf(incidents.Unavailable, "store unreachable")
	}
	return s.Store.ClaimHeartbeats(ctx, now, n, lease)
}

func (s *flakyStore) SyncHeartbeats(ctx context.Context, specs []incidents.HeartbeatSpec, now time.Time, gap time.Duration) (*incidents.HeartbeatSync, error) {
	if s.down.Load() {
		return nil, incidents.Errorf(incidents.Unavailable, "store unreachable")
	}
	return s.Store.SyncHeartbeats(ctx, specs, now, gap)
}

func (s *flakyStore) Heartbeat(ctx context.Context, name string) (*incidents.Heartbeat, error) {
	if s.down.Load() {
		return nil, incidents.Errorf(incidents.Unavailable, "store unreachable")
	}
	return s.Store.Heartbeat(ctx, name)
}

// A store that klaxon cannot reach for 20 minutes while it runs: the beat
// sent then is answered 503 and not stored, so the deadline that passed
// meanwhile gets a fresh window, as after an outage of klaxon itself.
func TestHeartbeatStoreOutage(t *testing.T) {
	bs, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	s := &flakyStore{Store: bs}
	e := newHBEnv(t, s, t0)
	e.tick()
	e.beat("GET", "") // due at 13:10
	e.advance(time.Hour)
	s.down.Store(true)
	for range 24 { // 20 minutes of failing checks
		e.clock.Add(50 * time.Second)
		if err := bot.CheckHeartbeats(context.Background(), e.srv); err == nil {
			t.Fatal("a check worked with the store down")
		}
	}
	if r := e.do("GET", "/hooks/heartbeat/backup-cron", "", "Authorization", "Bearer "+hbToken); r.code != 503 {
		t.Fatalf("a beat with the store down: %d %s", r.code, r.body)
	}
	s.down.Store(false)
	e.tick() // 13:20
	if got := e.incidents(); len(got) != 0 {
		t.Fatalf("an incident for the deadline that passed while the store was down: %q", got[0].Title)
	}
	if got := e.metric(`klaxon_heartbeat_deferred_total{heartbeat="backup-cron"}`); got != "1" {
		t.Errorf("deferred_total = %s", got)
	}
	e.advance(70*time.Minute - time.Second)
	if got := e.incidents(); len(got) != 0 {
		t.Fatalf("an incident before the fresh window ended: %q", got[0].Title)
	}
	e.advance(time.Second)
	if got := e.open(); len(got) != 1 {
		t.Fatalf("%d open after the fresh window, want 1", len(got))
	}
}

// A heartbeat's incident opened during a maintenance window of its team
// is held like a webhook's: it is stored and shown, and pages nobody
// until the window ends.
func TestHeartbeatHeldByMaintenance(t *testing.T) {
	e := newHBEnv(t, boltStore(t), t0, func(c *bot.Config) {
		c.Maintenance = []bot.MaintenanceConfig{{Name: "patching", Team: "payments", Weekly: "Mon 00:00-23:59"}}
	})
	e.tick()
	e.advance(80 * time.Minute) // past 13:10, the first deadline
	open := e.open()
	if len(open) != 1 {
		t.Fatalf("%d open incidents after the deadline, want 1", len(open))
	}
	inc, err := e.store.Get(context.Background(), open[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Maintenance == nil || inc.Escalation == nil || inc.Due().Before(t0.Add(11*time.Hour)) {
		t.Fatalf("the heartbeat's incident is not held by the window: maintenance %+v, due %v", inc.Maintenance, inc.Due())
	}
}
