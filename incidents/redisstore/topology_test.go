package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// The store runs on Redis Cluster and behind Sentinel too. These tests
// start real servers (redis-server and redis-cli must be on PATH) once per
// test and run the conformance suite against them, each subtest under a
// key prefix of its own.

var topologyPrefixes atomic.Int64

// storesOn returns a storetest.NewStore making stores on rdb under fresh
// prefixes. Keys are left behind: the servers die with the test.
func storesOn(rdb redis.UniversalClient) storetest.NewStore {
	limited := limitedOn(rdb)
	return func(t testing.TB) incidents.Store { return limited(t, 0) }
}

// limitedOn is storesOn for stores whose Stats returns at most max
// records (0: incidents.MaxStats).
func limitedOn(rdb redis.UniversalClient) storetest.NewLimitedStore {
	return func(t testing.TB, max int) incidents.Store {
		prefix := fmt.Sprintf("klaxontopo-%d-%d", os.Getpid(), topologyPrefixes.Add(1))
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1, MaxStats: max})
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// On Redis Cluster every script and multi-key command must touch keys of
// one slot, or Redis answers CROSSSLOT: the suite passing proves the key
// layout's hash tags.
func TestConformanceOnCluster(t *testing.T) {
	top := newTopology(t, "redis-server", "redis-cli")
	began := time.Now()
	addrs, err := top.startCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3-master cluster %v ready in %v", addrs, time.Since(began).Round(time.Millisecond))

	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:       addrs,
		DialTimeout: time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
	})
	t.Cleanup(func() { rdb.Close() }) // before the servers are killed
	var masters atomic.Int32
	if err := rdb.ForEachMaster(top.ctx, func(ctx context.Context, c *redis.Client) error {
		masters.Add(1) // fn runs concurrently
		return c.Ping(ctx).Err()
	}); err != nil {
		t.Fatalf("cluster client: %v", err)
	}
	if n := masters.Load(); n != int32(len(addrs)) {
		t.Fatalf("cluster client sees %d masters, want %d", n, len(addrs))
	}
	t.Run("ChangesReachEveryNode", func(t *testing.T) { testChangesEveryNode(t, rdb, addrs) })

	began = time.Now()
	storetest.Run(t, storesOn(rdb), storetest.WithReplicas(replicasOn(rdb)), storetest.WithMaxStats(limitedOn(rdb)))
	t.Run("Reconcile", func(t *testing.T) { testReconcileOn(t, rdb) })
	t.Run("StatsInSmallPages", func(t *testing.T) {
		defer redisstore.SetStatsPage(3)()
		storetest.RunStats(t, storesOn(rdb), storetest.WithMaxStats(limitedOn(rdb)))
	})
	t.Run("Backfill", func(t *testing.T) {
		testBackfillOn(t, rdb, fmt.Sprintf("klaxontopo-%d-%d", os.Getpid(), topologyPrefixes.Add(1)))
	})
	t.Logf("suite ran in %v", time.Since(began).Round(time.Millisecond))

	// The suite must have spread its keys over the masters, or it proved
	// nothing about slots.
	sizes := map[string]int64{}
	var total int64
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		n, err := c.DBSize(top.ctx).Result()
		c.Close()
		if err != nil {
			t.Fatalf("DBSIZE on %s: %v", addr, err)
		}
		sizes[addr] = n
		total += n
	}
	t.Logf("keys per master: %v", sizes)
	holding := 0
	for _, n := range sizes {
		if n > 0 {
			holding++
		}
	}
	if holding < len(addrs) && !t.Failed() {
		t.Errorf("keys on %d of %d masters (%v): the cluster was not exercised", holding, len(addrs), sizes)
	}
}

// Behind Sentinel the client asks the sentinel where the master is.
func TestConformanceBehindSentinel(t *testing.T) {
	top := newTopology(t, "redis-server")
	began := time.Now()
	master, sentinel, err := top.startSentinel("mymaster")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master %s and sentinel %s ready in %v", master, sentinel, time.Since(began).Round(time.Millisecond))

	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "mymaster",
		SentinelAddrs: []string{sentinel},
		DialTimeout:   time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
	})
	t.Cleanup(func() { rdb.Close() }) // before the servers are killed
	// The client must reach the master through the sentinel.
	port, err := rdb.ConfigGet(top.ctx, "port").Result()
	if err != nil {
		t.Fatalf("failover client: %v", err)
	}
	if want := master[len("127.0.0.1:"):]; port["port"] != want {
		t.Fatalf("failover client reached port %q, want the master's %s", port["port"], want)
	}

	began = time.Now()
	storetest.Run(t, storesOn(rdb), storetest.WithReplicas(replicasOn(rdb)), storetest.WithMaxStats(limitedOn(rdb)))
	t.Run("Reconcile", func(t *testing.T) { testReconcileOn(t, rdb) })
	t.Run("StatsInSmallPages", func(t *testing.T) {
		defer redisstore.SetStatsPage(3)()
		storetest.RunStats(t, storesOn(rdb), storetest.WithMaxStats(limitedOn(rdb)))
	})
	t.Run("Backfill", func(t *testing.T) {
		testBackfillOn(t, rdb, fmt.Sprintf("klaxontopo-%d-%d", os.Getpid(), topologyPrefixes.Add(1)))
	})
	t.Logf("suite ran in %v", time.Since(began).Round(time.Millisecond))
}

// testReconcileOn simulates a writer that died between storing a change of
// state and indexing it, and checks Reconcile repairs the index on rdb.
// (The suite does not cover Reconcile; on Cluster it reads the dirty set
// and runs the index script, in one slot, and loads incidents in others.)
func testReconcileOn(t *testing.T, rdb redis.UniversalClient) {
	prefix := fmt.Sprintf("klaxontopo-%d-%d", os.Getpid(), topologyPrefixes.Add(1))
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var ids []string
	for i := range 5 { // several incidents, so several slots
		r, err := s.Ingest(ctx, storetest.Batch(fmt.Sprintf("g%d", i), storetest.Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Incident.ID)
		// The crash: the incident says acknowledged, the index triggered.
		inc := r.Incident.Clone()
		if err := inc.Apply(incidents.Acknowledge, "alice", "", storetest.T0); err != nil {
			t.Fatal(err)
		}
		inc.Version++
		data, err := json.Marshal(inc)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.HSet(ctx, prefix+":inc:{"+inc.ID+"}", "v", inc.Version, "d", data).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.ZAdd(ctx, "{"+prefix+"}:idx:dirty", redis.Z{Score: float64(time.Now().Add(-time.Minute).UnixMilli()), Member: inc.ID}).Err(); err != nil {
			t.Fatal(err)
		}
	}

	if l, err := s.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Triggered}}); err != nil || len(l) != 0 {
		t.Fatalf("before reconcile, triggered = %d incidents, %v; want stale entries hidden", len(l), err)
	}
	n, err := s.Reconcile(ctx, 30*time.Second)
	if err != nil || n != len(ids) {
		t.Fatalf("Reconcile = %d, %v; want %d repaired", n, err, len(ids))
	}
	l, err := s.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Acknowledged}})
	if err != nil || len(l) != len(ids) {
		t.Fatalf("after reconcile, acknowledged = %d incidents, %v; want %d", len(l), err, len(ids))
	}
	counts, err := s.Count(ctx)
	if err != nil || counts[incidents.Triggered] != 0 || counts[incidents.Acknowledged] != int64(len(ids)) {
		t.Fatalf("counts after reconcile = %v, %v", counts, err)
	}
	if n, err := s.Reconcile(ctx, 0); err != nil || n != 0 {
		t.Fatalf("second Reconcile = %d, %v; want nothing left to repair", n, err)
	}
}
