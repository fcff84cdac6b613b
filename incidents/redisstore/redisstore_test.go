package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// newStore returns a store under a fresh key prefix, deleted after the test.
func newStore(t testing.TB) incidents.Store { return newLimitedStore(t, 0) }

// newLimitedStore returns a store under a fresh key prefix whose Stats
// returns at most max records (0: incidents.MaxStats).
func newLimitedStore(t testing.TB, max int) incidents.Store {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("store")
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1, MaxStats: max})
	t.Cleanup(func() {
		s.Close()
		storetest.DeleteKeys(rdb, prefix)
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore, storetest.WithReplicas(newReplicas), storetest.WithMaxStats(newLimitedStore))
}

// Stats reads IDs and records in pages; with pages of 3 the suite's
// Stats tests cross many of them, and the limit is reached mid-way.
func TestStatsInSmallPages(t *testing.T) {
	defer redisstore.SetStatsPage(3)()
	storetest.RunStats(t, newStore, storetest.WithMaxStats(newLimitedStore))
}

// A writer that dies between storing a change of state and indexing it
// leaves a dirty mark; Reconcile files the incident under its real state.
func TestReconcileRepairsIndex(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("reconcile")
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	defer storetest.DeleteKeys(rdb, prefix)
	ctx := context.Background()
	r, err := s.Ingest(ctx, storetest.Batch("g", storetest.Alert("a", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0))
	if err != nil {
		t.Fatal(err)
	}
	// Simulate the crash: the incident says acknowledged, the index triggered.
	key := prefix + ":inc:{" + r.Incident.ID + "}"
	inc := r.Incident.Clone()
	if err := inc.Apply(incidents.Acknowledge, "alice", "", storetest.T0); err != nil {
		t.Fatal(err)
	}
	inc.Version++
	data := mustJSON(t, inc)
	rdb.HSet(ctx, key, "v", inc.Version, "d", data)
	rdb.ZAdd(ctx, "{"+prefix+"}:idx:dirty", redis.Z{Score: float64(time.Now().Add(-time.Minute).UnixMilli()), Member: inc.ID})

	if l, _ := s.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Triggered}}); len(l) != 0 {
		t.Fatalf("stale index entry shown as triggered: %v", l[0].State)
	}
	n, err := s.Reconcile(ctx, 30*time.Second)
	if err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v; want 1 repaired", n, err)
	}
	l, err := s.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Acknowledged}})
	if err != nil || len(l) != 1 || l[0].ID != inc.ID {
		t.Fatalf("after reconcile, acknowledged = %v, %v", l, err)
	}
	counts, _ := s.Count(ctx)
	if counts[incidents.Triggered] != 0 || counts[incidents.Acknowledged] != 1 {
		t.Fatalf("counts after reconcile = %v", counts)
	}
}

// A store whose Redis is down answers Unavailable, so webhooks answer 503.
func TestUnreachableIsUnavailable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s := redisstore.New(rdb, redisstore.Options{ReconcileEvery: -1})
	defer s.Close()
	ctx := context.Background()
	_, err := s.Ingest(ctx, storetest.Batch("g", storetest.Alert("a", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0))
	if incidents.ErrorKind(err) != incidents.Unavailable {
		t.Fatalf("Ingest error = %v, want Unavailable", err)
	}
	if err := s.Ping(ctx); incidents.ErrorKind(err) != incidents.Unavailable {
		t.Fatalf("Ping error = %v, want Unavailable", err)
	}
	if _, err := s.Get(ctx, "INC-1"); incidents.ErrorKind(err) != incidents.Unavailable {
		t.Fatalf("Get error = %v, want Unavailable", err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkList: see storetest.BenchList.
//
//	go test -v -run '^$' -bench BenchmarkList -benchtime 200x -timeout 60m ./incidents/redisstore/
func BenchmarkList(b *testing.B) { storetest.BenchList(b, newStore) }

// Every change files the incident's Stat with it, so Stats never reads a
// summary (which it would do, and log, for a missing or stale Stat).
func TestStatsFiledWithEveryChange(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("stats")
	var logs syncBuffer
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer s.Close()
	defer storetest.DeleteKeys(rdb, prefix)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		at := storetest.T0.Add(time.Duration(i) * time.Minute)
		r, err := s.Ingest(ctx, storetest.TeamBatch(fmt.Sprintf("g%d", i), "payments", storetest.Alert(fmt.Sprint("a", i), incidents.AlertFiring, at)), storetest.Opts(at))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Incident.ID)
	}
	later := storetest.T0.Add(time.Hour)
	if _, err := s.Ingest(ctx, storetest.TeamBatch("g0", "payments", storetest.Alert("a0", incidents.AlertResolved, storetest.T0)), storetest.Opts(later)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "INC-2", func(inc *incidents.Incident) error {
		inc.RecordPage(later, "call", "alice")
		return inc.Apply(incidents.Acknowledge, "alice", "", later)
	}); err != nil {
		t.Fatal(err)
	}
	storedStats(t, ctx, rdb, prefix, ids)
	got, err := s.Stats(ctx, incidents.StatsOptions{Team: "payments", Since: storetest.T0, Until: later})
	if err != nil || len(got) != 5 || got[1].PageCount != 1 || got[0].ResolvedAt.IsZero() {
		t.Fatalf("Stats = %+v, %v", got, err)
	}
	if strings.Contains(logs.String(), "made from summaries") {
		t.Fatalf("Stats made Stats from summaries of incidents this klaxon stored:\n%s", logs.String())
	}
}

// BenchmarkStats: see storetest.BenchStats.
//
//	go test -v -run '^$' -bench BenchmarkStats -benchtime 50x -timeout 60m ./incidents/redisstore/
func BenchmarkStats(b *testing.B) { storetest.BenchStats(b, newStore) }

func BenchmarkThrottle(b *testing.B) { storetest.BenchThrottle(b, newStore) }

// A graph's key expires incidents.GraphRetention after its last write:
// graphs are large, and Redis holds them in memory.
func TestGraphExpires(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("graph")
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	defer storetest.DeleteKeys(rdb, prefix)
	ctx := context.Background()
	for i, write := range []func() error{
		func() error { return s.GraphTried(ctx, "INC-7", "open", storetest.T0) },
		func() error {
			_, err := s.SaveGraph(ctx, "INC-7", incidents.Graph{GraphState: incidents.GraphState{Phase: "open", DrawnAt: storetest.T0}, PNG: []byte("png")})
			return err
		},
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
		ttl := rdb.PTTL(ctx, prefix+":graph:{INC-7}").Val()
		if ttl <= incidents.GraphRetention-time.Minute || ttl > incidents.GraphRetention {
			t.Errorf("write %d: the graph's TTL is %v, want %v", i, ttl, incidents.GraphRetention)
		}
	}
}
