// Package boltstore is the embedded incidents.Store on bbolt: one file in a
// data directory, for a single klaxon process with no Redis. Every change is
// one bbolt transaction, fsynced before it returns; concurrent changes are
// committed together (bbolt's Batch) so that a burst of webhooks shares
// fsyncs.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/consolestore"
)

var (
	bktIncidents = []byte("incidents") // number (8 bytes, big-endian) → incident JSON
	bktGroups    = []byte("groups")    // source \x00 group key → number
	bktAlerts    = []byte("alerts")    // source \x00 fingerprint → number
	bktStates    = []byte("states")    // nested: state → number → ""
	bktOutbox    = []byte("outbox")    // number → pending item JSON (see outbox.go)
	bktDelivery  = []byte("delivery")  // number \x00 destination → delivery JSON
	bktRefs      = []byte("refs")      // destination \x00 card ref → number
	bktEsc       = []byte("esc")       // number → escalation due (ms; while claimed, its lease end)
	bktSteps     = []byte("steps")     // number \x00 step key → expiry (ms)
	bktOverrides = []byte("overrides") // schedule \x00 set-at ms person → on-call override JSON
)

// FileName is the database's name inside the data directory.
const FileName = "klaxon.db"

// Store is an incidents.Store in a bbolt file.
type Store struct {
	db      *bolt.DB
	changes consolestore.Hub // the console's live changes (console.go)
}

var _ incidents.Store = (*Store)(nil)

// Open opens (creating when needed) the store in dir. It fails fast, rather
// than waiting, when another process holds the file.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, incidents.Wrap(incidents.Unavailable, "boltstore.Open", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			err = fmt.Errorf("%s is locked by another process (is klaxon already running?)", path)
		}
		return nil, incidents.Wrap(incidents.Unavailable, "boltstore.Open", err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktIncidents, bktGroups, bktAlerts, bktOutbox, bktDelivery, bktRefs, bktEsc, bktSteps, bktOverrides} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, b := range consoleBuckets { // console.go
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		states, err := tx.CreateBucketIfNotExists(bktStates)
		if err != nil {
			return err
		}
		for _, s := range incidents.States {
			if _, err := states.CreateBucketIfNotExists([]byte(s)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, incidents.Wrap(incidents.Internal, "boltstore.Open", err)
	}
	return &Store{db: db}, nil
}

// OpenReadOnly opens the store in dir to read it, creating nothing: for
// a command that only looks (klaxon postmortem with no klaxon running).
// Errors: NotFound when there is no store in dir, Unavailable when
// another process holds it.
func OpenReadOnly(dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, incidents.Errorf(incidents.NotFound, "there is no klaxon store at %s", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: true})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			err = fmt.Errorf("%s is locked by another process (is klaxon running? then ask it: --url)", path)
		}
		return nil, incidents.Wrap(incidents.Unavailable, "boltstore.OpenReadOnly", err)
	}
	return &Store{db: db}, nil
}

// Close ends the subscriptions to changes and closes the database file.
func (s *Store) Close() error {
	s.changes.Close()
	return s.db.Close()
}

// Ping reports whether the database is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap("boltstore.Ping", s.db.View(func(*bolt.Tx) error { return nil }))
}

func (s *Store) wrap(op string, err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return incidents.Wrap(incidents.Unavailable, op, err)
	}
	return incidents.Wrap(incidents.Internal, op, err)
}

func key(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

func sourceKey(source, k string) []byte {
	return []byte(source + "\x00" + k)
}

func load(tx *bolt.Tx, n int64) (*incidents.Incident, error) {
	v := tx.Bucket(bktIncidents).Get(key(n))
	if v == nil {
		return nil, nil
	}
	inc := new(incidents.Incident)
	if err := json.Unmarshal(v, inc); err != nil {
		return nil, fmt.Errorf("decode incident %d: %w", n, err)
	}
	return inc, nil
}

func lookup(b *bolt.Bucket, k []byte) int64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// put stores inc (its Version already advanced), moves its state index
// entry from prev (nil for a new incident) and marks it pending in the
// outbox, all in tx.
func put(tx *bolt.Tx, prev, inc *incidents.Incident) error {
	data, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	k := key(inc.Number)
	if err := tx.Bucket(bktIncidents).Put(k, data); err != nil {
		return err
	}
	if err := enqueue(tx, k, time.Now()); err != nil {
		return err
	}
	if err := fileDue(tx, k, inc.Due()); err != nil {
		return err
	}
	states := tx.Bucket(bktStates)
	if prev != nil && prev.State != inc.State {
		if err := states.Bucket([]byte(prev.State)).Delete(k); err != nil {
			return err
		}
	}
	if prev == nil || prev.State != inc.State {
		return states.Bucket([]byte(inc.State)).Put(k, nil)
	}
	return nil
}

// Ingest implements incidents.Store.
func (s *Store) Ingest(ctx context.Context, b *incidents.Batch, opts incidents.IngestOptions) (*incidents.IngestResult, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	gk := sourceKey(b.Source, b.GroupKey)
	// Most notifications change nothing (repeat_interval, retries, an HA
	// pair): answer those from a read transaction, without a write and its
	// fsync. Anything else is decided again inside the write transaction.
	var res *incidents.IngestResult
	err := s.db.View(func(tx *bolt.Tx) error {
		mapped, cur, err := current(tx, b, gk)
		if err != nil {
			return err
		}
		switch incidents.Decide(cur, b, opts.Now, opts.ReopenWindow) {
		case incidents.Ignore:
			res = &incidents.IngestResult{}
		case incidents.ApplyTo:
			if mapped == cur.Number && !cur.Clone().ApplyBatch(b, opts.Now) {
				res = incidents.Outcome(cur, cur, false, false)
			}
		}
		return nil
	})
	if err != nil || res != nil {
		return res, s.wrap("boltstore.Ingest", err)
	}
	// A caller that gave up gets no write: it would report as failed a
	// change that was made. Once begun, the write is waited for.
	if err := ctx.Err(); err != nil {
		return nil, incidents.Wrap(incidents.Unavailable, "boltstore.Ingest", err)
	}
	err = s.db.Batch(func(tx *bolt.Tx) error {
		res = nil // Batch may run this function more than once
		groups, alerts := tx.Bucket(bktGroups), tx.Bucket(bktAlerts)
		mapped, cur, err := current(tx, b, gk)
		if err != nil {
			return err
		}
		var next *incidents.Incident
		created := false
		switch incidents.Decide(cur, b, opts.Now, opts.ReopenWindow) {
		case incidents.Ignore:
			res = &incidents.IngestResult{}
			return nil
		case incidents.ApplyTo:
			next = cur.Clone()
			if !next.ApplyBatch(b, opts.Now) {
				res = incidents.Outcome(cur, cur, false, false)
				if mapped != cur.Number {
					return groups.Put(gk, key(cur.Number))
				}
				return nil
			}
			next.Version++
			opts.Started(cur, next)
			if err := put(tx, cur, next); err != nil {
				return err
			}
		case incidents.Create:
			seq, err := tx.Bucket(bktIncidents).NextSequence()
			if err != nil {
				return err
			}
			next = incidents.NewIncident(int64(seq), b, opts.Now)
			next.Version = 1
			opts.Started(nil, next)
			if err := put(tx, nil, next); err != nil {
				return err
			}
			cur, created = nil, true
		}
		nk := key(next.Number)
		if mapped != next.Number {
			if err := groups.Put(gk, nk); err != nil {
				return err
			}
		}
		for i := range b.Alerts {
			ak := sourceKey(b.Source, b.Alerts[i].Fingerprint)
			if !bytes.Equal(alerts.Get(ak), nk) {
				if err := alerts.Put(ak, nk); err != nil {
					return err
				}
			}
		}
		res = incidents.Outcome(cur, next, created, true)
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.Ingest", err)
	}
	return res, nil
}

// current returns the incident number the group maps to and the incident
// the batch belongs to: the group's, or for a group not seen before, an
// open incident that already holds one of its alerts (Alertmanager
// regrouped them).
func current(tx *bolt.Tx, b *incidents.Batch, gk []byte) (int64, *incidents.Incident, error) {
	mapped := lookup(tx.Bucket(bktGroups), gk)
	if mapped != 0 {
		cur, err := load(tx, mapped)
		if cur != nil || err != nil {
			return mapped, cur, err
		}
	}
	alerts := tx.Bucket(bktAlerts)
	for i := range b.Alerts {
		n := lookup(alerts, sourceKey(b.Source, b.Alerts[i].Fingerprint))
		if n == 0 {
			continue
		}
		c, err := load(tx, n)
		if err != nil {
			return mapped, nil, err
		}
		if c != nil && c.State.Open() {
			return mapped, c, nil
		}
	}
	return mapped, nil, nil
}

// Get implements incidents.Store.
func (s *Store) Get(ctx context.Context, id string) (*incidents.Incident, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	var inc *incidents.Incident
	err = s.db.View(func(tx *bolt.Tx) error {
		inc, err = load(tx, n)
		return err
	})
	if err != nil {
		return nil, s.wrap("boltstore.Get", err)
	}
	if inc == nil {
		return nil, incidents.Errorf(incidents.NotFound, "%s not found", incidents.FormatID(n))
	}
	return inc, nil
}

// Update implements incidents.Store.
func (s *Store) Update(ctx context.Context, id string, fn func(*incidents.Incident) error) (*incidents.Incident, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	var out *incidents.Incident
	var fnErr error
	err = s.db.Batch(func(tx *bolt.Tx) error {
		out, fnErr = nil, nil
		cur, err := load(tx, n)
		if err != nil {
			return err
		}
		if cur == nil {
			fnErr = incidents.Errorf(incidents.NotFound, "%s not found", incidents.FormatID(n))
			return nil
		}
		next := cur.Clone()
		if fnErr = fn(next); fnErr != nil {
			return nil
		}
		next.Version = cur.Version + 1
		out = next
		return put(tx, cur, next)
	})
	if err != nil {
		return nil, s.wrap("boltstore.Update", err)
	}
	if fnErr != nil {
		return nil, fnErr
	}
	return out, nil
}

// List implements incidents.Store.
func (s *Store) List(ctx context.Context, opts incidents.ListOptions) ([]*incidents.Incident, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	want := map[incidents.State]bool{}
	for _, st := range opts.States {
		want[st] = true
	}
	var out []*incidents.Incident
	err = s.db.View(func(tx *bolt.Tx) error {
		// Walk the smallest index that answers: one state's bucket, or all.
		bucket := tx.Bucket(bktIncidents)
		if len(want) == 1 {
			bucket = tx.Bucket(bktStates).Bucket([]byte(opts.States[0]))
		}
		c := bucket.Cursor()
		var k []byte
		if opts.Before > 0 {
			c.Seek(key(opts.Before))
			k, _ = c.Prev()
		} else {
			k, _ = c.Last()
		}
		for ; k != nil && len(out) < opts.Limit; k, _ = c.Prev() {
			inc, err := load(tx, int64(binary.BigEndian.Uint64(k)))
			if err != nil {
				return err
			}
			if inc != nil && (len(want) == 0 || want[inc.State]) {
				out = append(out, inc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.List", err)
	}
	return out, nil
}

// Count implements incidents.Store.
func (s *Store) Count(ctx context.Context) (map[incidents.State]int64, error) {
	counts := map[incidents.State]int64{}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, st := range incidents.OpenStates {
			var n int64
			c := tx.Bucket(bktStates).Bucket([]byte(st)).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				n++
			}
			counts[st] = n
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.Count", err)
	}
	return counts, nil
}
