package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// The run, on the wall clock: three replicas on one Redis, each
// running its scheduler; a beat every second (interval 3 s, grace 1 s),
// to each replica in turn; then silence: exactly one incident, opened no
// earlier than the deadline; a beat resolves it.
func TestHeartbeatWallClockReplicas(t *testing.T) {
	slowtest.Need(t)
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("hbwall")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	var handlers []*env
	var store incidents.Store
	for range 3 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		store = s
		cfg := bot.DefaultConfig()
		cfg.Heartbeats = []bot.HeartbeatConfig{{Name: "cron", Interval: bot.Duration(3 * time.Second), Grace: bot.Duration(time.Second), Token: hbToken}}
		srv, err := bot.New(cfg, bot.Deps{Store: s, Logger: discardLogger(), Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); srv.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		handlers = append(handlers, &env{t: t, h: srv.Handler()})
	}
	beat := func(i int) map[string]any {
		t.Helper()
		r := handlers[i%3].do("GET", "/hooks/heartbeat/cron", "", "Authorization", "Bearer "+hbToken)
		if r.code != 200 {
			t.Fatalf("beat %d: %d %s", i, r.code, r.body)
		}
		return r.json(t)
	}
	for i := range 6 {
		beat(i)
		time.Sleep(time.Second) // the job's cadence, not a wait for klaxon
	}
	last := time.Now()
	beat(6)
	var list []*incidents.Incident
	waitFor(t, 20*time.Second, "the incident", func() bool {
		var err error
		list, err = store.List(context.Background(), incidents.ListOptions{})
		return err == nil && len(list) > 0
	})
	inc, err := store.Get(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	due := inc.Alerts[0].StartsAt
	if late := inc.CreatedAt.Sub(due); late < 0 || due.Before(last.Add(4*time.Second-50*time.Millisecond)) {
		t.Fatalf("opened at %v for the deadline %v (last beat %v)", inc.CreatedAt, due, last)
	} else {
		t.Logf("opened %v after the deadline (the scheduler ticks every second)", late.Round(time.Millisecond))
	}
	time.Sleep(3 * time.Second) // more checks by every replica: still one
	if list, _ = store.List(context.Background(), incidents.ListOptions{}); len(list) != 1 {
		t.Fatalf("%d incidents across three replicas, want 1", len(list))
	}
	if got := beat(7); got["resolved"] != inc.ID {
		t.Fatalf("the beat after the silence answered %v", got)
	}
	if inc, _ = store.Get(context.Background(), inc.ID); inc.State != incidents.Resolved || !strings.HasPrefix(inc.Title, "No heartbeat from cron for ") {
		t.Fatalf("incident %s %q", inc.State, inc.Title)
	}
}
