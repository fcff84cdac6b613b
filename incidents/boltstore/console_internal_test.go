package boltstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/consolestore"
)

func count(t *testing.T, s *Store, bucket []byte) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func putSession(t *testing.T, s *Store, ttl time.Duration) incidents.Session {
	t.Helper()
	now := time.Now()
	x := incidents.Session{ID: rand.Text(), Person: "alice", Method: "link", CSRF: rand.Text(), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.PutSession(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return x
}

// Each PutSession deletes at most sweepMax expired sessions, oldest expiry
// first, so that a backlog drains over a few puts and live sessions stay.
func TestSweepExpiredSessions(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const expired = 3*sweepMax + 10
	// Put them in one transaction, as puts within their lives would.
	now := time.Now()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range expired {
			x := incidents.Session{ID: rand.Text(), Person: "p", CSRF: "c", ExpiresAt: now.Add(time.Duration(i) * time.Millisecond)}
			h := sha(x.ID)
			v, err := json.Marshal(&x)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bktSessions).Put(h, v); err != nil {
				return err
			}
			if err := tx.Bucket(bktSessionExp).Put(expKey(x.ExpiresAt, h), nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(now.Add(expired * time.Millisecond)))
	live := putSession(t, s, time.Hour) // sweeps the first sweepMax
	if n := count(t, s, bktSessions); n != expired-sweepMax+1 {
		t.Fatalf("after one put, %d sessions stored, want %d", n, expired-sweepMax+1)
	}
	for range 3 {
		putSession(t, s, time.Hour)
	}
	if n, m := count(t, s, bktSessions), count(t, s, bktSessionExp); n != 4 || m != 4 {
		t.Fatalf("after four puts, %d sessions and %d expiry entries, want the 4 live ones", n, m)
	}
	if _, err := s.GetSession(context.Background(), live.ID); err != nil {
		t.Fatalf("the live session was swept: %v", err)
	}
	// Putting a session again moves its expiry entry; deleting removes it.
	live.ExpiresAt = live.ExpiresAt.Add(time.Hour)
	if err := s.PutSession(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(context.Background(), live.ID); err != nil {
		t.Fatal(err)
	}
	if n, m := count(t, s, bktSessions), count(t, s, bktSessionExp); n != 3 || m != 3 {
		t.Fatalf("after a re-put and a delete, %d sessions and %d expiry entries, want 3 and 3", n, m)
	}
}

func sha(id string) []byte {
	h := consolestore.Secret(id)
	return h[:]
}

// A file written before the console's buckets existed, opened read-only
// (klaxon postmortem with no klaxon running), answers NotFound.
func TestReadOnlyFileWithoutConsoleBuckets(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bktIncidents)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Postmortem(ctx, "INC-1", 0); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Postmortem: %v, want NotFound", err)
	}
	if vs, err := s.PostmortemVersions(ctx, "INC-1"); err != nil || len(vs) != 0 {
		t.Fatalf("PostmortemVersions = %v, %v", vs, err)
	}
	if _, err := s.GetSession(ctx, "x"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("GetSession: %v, want NotFound", err)
	}
	if _, err := s.FeedOf(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("FeedOf: %v, want NotFound", err)
	}
}

// Rotating a token deletes the old one's lookup entry: the bucket holds
// one entry per feed, however often its token changed.
func TestRotateLeavesNoOldToken(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, feed := range []string{"person:alice", "schedule:primary"} {
		if _, err := s.FeedToken(ctx, feed); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := s.RotateFeedToken(ctx, feed); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, m := count(t, s, bktFeeds), count(t, s, bktFeedTokens); n != 2 || m != 2 {
		t.Fatalf("after rotations: %d feeds and %d token entries, want 2 and 2", n, m)
	}
}
