package boltstore_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// A copy of the file opens no session: no session ID is in it.
func TestNoSessionIDInFile(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := storetest.SessionSecrets(t, s)
	for _, id := range ids[:1] { // deleted ones leave nothing either
		if err := s.DeleteSession(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, boltstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if id, found := storetest.Contains(data, ids); found {
		t.Fatalf("the session ID %s is in the file", id)
	}
	if found := len(data) > 0; !found {
		t.Fatal("empty file")
	}
}

// Close ends every subscription, and a closed store subscribes no one.
func TestCloseEndsSubscriptions(t *testing.T) {
	s, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.SubscribeChanges(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a change delivered after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription is still open 5 s after Close")
	}
	if _, err := s.SubscribeChanges(t.Context()); incidents.ErrorKind(err) != incidents.Unavailable {
		t.Fatalf("SubscribeChanges after Close: %v, want Unavailable", err)
	}
}

// BenchmarkGetSession reads one session (what the console does on every
// request): a read transaction, no fsync.
//
//	go test -run '^$' -bench GetSession -benchtime 20000x ./incidents/boltstore/
func BenchmarkGetSession(b *testing.B) {
	s := newStore(b).(*boltstore.Store)
	storetest.BenchGetSession(b, s)
}
