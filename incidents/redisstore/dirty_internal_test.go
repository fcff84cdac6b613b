package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

func drain(t *testing.T, s *Store) {
	t.Helper()
	cs, err := s.Claim(context.Background(), time.Now(), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := s.Release(context.Background(), c, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

// One writer filing its version must not clear the dirty mark of a later
// version another writer is about to write: if that writer then dies after
// its compare-and-set, Reconcile still files the change (and its cards are
// synced).
func TestDirtyMarkOfALaterVersionSurvives(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("dirty")
	s := New(rdb, Options{Prefix: prefix, ReconcileEvery: -1})
	defer s.Close()
	defer storetest.DeleteKeys(rdb, prefix)
	ctx := context.Background()
	r, err := s.Ingest(ctx, storetest.Batch("g", storetest.Alert("a", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0))
	if err != nil {
		t.Fatal(err)
	}
	id := r.Incident.ID
	v2, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Acknowledge, "alice", "", storetest.T0)
	})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)

	// Writer B marks version 3; writer A's index of version 2 runs after.
	if err := s.mark(ctx, rdb, id, 3).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.index(ctx, rdb, v2).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.ZScore(ctx, s.kDirty, id).Result(); err == redis.Nil {
		t.Fatal("filing version 2 cleared the mark of version 3")
	}
	// B's compare-and-set wins, then B dies before filing.
	cur, err := s.loadFull(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	v3 := cur.Clone()
	if err := v3.Apply(incidents.Resolve, "bob", "", storetest.T0); err != nil {
		t.Fatal(err)
	}
	v3.Version = 3
	w, err := s.prepareWrite(cur, v3)
	if err != nil {
		t.Fatal(err)
	}
	p := rdb.TxPipeline()
	cas := w.queue(ctx, p)
	if _, err := p.Exec(ctx); err != nil || cas.Val() != int64(1) {
		t.Fatalf("writing version 3: %v %v", cas.Val(), err)
	}
	if cs, _ := s.Claim(ctx, time.Now(), 10, time.Minute); len(cs) != 0 {
		t.Fatalf("version 3 pending before it was filed: %+v", cs)
	}
	n, err := s.Reconcile(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	cs, err := s.Claim(ctx, time.Now(), 10, time.Minute)
	if err != nil || len(cs) != 1 || cs[0].ID != id {
		t.Fatalf("after reconcile claimed %+v, %v; want %s pending", cs, err, id)
	}
	if l, _ := s.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Resolved}}); len(l) != 1 {
		t.Fatalf("version 3 not filed as resolved: %v", l)
	}
	if _, err := rdb.ZScore(ctx, s.kDirty, id).Result(); err != redis.Nil {
		t.Fatal("the mark outlived its reconcile")
	}
}
