package boltstore_test

import (
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

func newStore(t testing.TB) incidents.Store {
	s, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newLimitedStore(t testing.TB, max int) incidents.Store {
	s, err := boltstore.OpenWith(t.TempDir(), boltstore.Options{MaxStats: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore, storetest.WithMaxStats(newLimitedStore))
}

func TestSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.Batch("g", storetest.Alert("a", incidents.AlertFiring, storetest.T0))
	if _, err := s.Ingest(t.Context(), b, storetest.Opts(storetest.T0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	r, err := s.Ingest(t.Context(), b, storetest.Opts(storetest.T0))
	if err != nil || r.Created || r.Changed || r.Incident.ID != "INC-1" {
		t.Fatalf("resend after restart: %+v, %v; want INC-1 unchanged", r, err)
	}
	r, err = s.Ingest(t.Context(), storetest.Batch("h", storetest.Alert("b", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0))
	if err != nil || r.Incident.ID != "INC-2" {
		t.Fatalf("numbering after restart: %+v, %v; want INC-2", r, err)
	}
}

func TestLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = boltstore.Open(dir)
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Open = %v, want Unavailable naming the lock", err)
	}
}

// BenchmarkList: see storetest.BenchList.
//
//	go test -v -run '^$' -bench BenchmarkList -benchtime 200x -timeout 60m ./incidents/boltstore/
func BenchmarkList(b *testing.B) { storetest.BenchList(b, newStore) }

// BenchmarkStats: see storetest.BenchStats.
//
//	go test -v -run '^$' -bench BenchmarkStats -benchtime 50x -timeout 60m ./incidents/boltstore/
func BenchmarkStats(b *testing.B) { storetest.BenchStats(b, newStore) }

func TestDurableOnce(t *testing.T) {
	storetest.RunOnce(t, newStore(t).(*boltstore.Store).DurableOnce())
}
