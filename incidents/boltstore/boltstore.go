// Package boltstore is the embedded incidents.Store on bbolt: one file in a
// data directory, for a single klaxon process with no Redis. Every change is
// one bbolt transaction, fsynced before it returns; concurrent changes are
// committed together (bbolt's Batch) so that a burst of webhooks shares
// fsyncs.
//
// An incident is a summary record (the incident without its alerts and
// timeline) and one record per alert and per event, so that a change
// writes what it changes, List decodes summaries only and a page of an
// incident's alerts or timeline reads that page (see record.go). Indexes
// by state, team and creation time are buckets written in the transaction
// of the change (index.go), and so is the incident's Stat, the compact
// record reports read (stats.go).
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/consolestore"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
)

var (
	bktIncidents = []byte("incidents") // number (8 bytes, big-endian) → the incident's summary JSON (record.go)
	bktGroups    = []byte("groups")    // source \x00 group key → number
	bktAlerts    = []byte("alerts")    // source \x00 fingerprint → number
	bktStates    = []byte("states")    // nested: state → number → ""
	bktIAlerts   = []byte("incalerts") // number fingerprint → position (4) status (1) alert JSON
	bktIOrder    = []byte("incorder")  // number position (4) → fingerprint: first seen first
	bktIRank     = []byte("incrank")   // number status (1) position (4) → fingerprint: the card's order
	bktIEvents   = []byte("incevents") // number index (4) → event JSON, oldest first
	bktCreated   = []byte("created")   // created ms (8, sign flipped) number → ""
	bktTeams     = []byte("teams")     // nested: team → "all" or a state → number → ""
	bktMeta      = []byte("meta")      // "schema" → the layout version (migrate.go)
	bktOutbox    = []byte("outbox")    // number → pending item JSON (see outbox.go)
	bktDelivery  = []byte("delivery")  // number \x00 destination → delivery JSON
	bktRefs      = []byte("refs")      // destination \x00 card ref → number
	bktEsc       = []byte("esc")       // number → escalation due (ms; while claimed, its lease end)
	bktSteps     = []byte("steps")     // number \x00 step key → expiry (ms)
	bktOverrides = []byte("overrides") // schedule \x00 set-at ms person → on-call override JSON
	bktStats     = []byte("stats")     // number → the incident's Stat (a record of internal/statrec)
	bktBeats     = []byte("beats")     // heartbeat name → its incidents.Heartbeat JSON (heartbeats.go)
	bktBeatDue   = []byte("beatdue")   // heartbeat name → its deadline (ms; while claimed, its lease end)
	bktBeatMeta  = []byte("beatmeta")  // "watched" → when a scheduler last watched (ms)
	bktGraphs    = []byte("graphs")    // number part (1) → the incident's graph: state, PNG, data (graph.go)
)

// FileName is the database's name inside the data directory.
const FileName = "klaxon.db"

// Store is an incidents.Store in a bbolt file.
type Store struct {
	db       *bolt.DB
	log      *slog.Logger
	maxStats int              // the most records one Stats call returns
	changes  consolestore.Hub // the console's live changes (console.go)
}

var _ incidents.Store = (*Store)(nil)

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives the progress of a migration of the file's layout;
	// default slog.Default().
	Logger *slog.Logger
	// MaxStats is the most records one Stats call returns (a report over
	// more is refused); default, and at most, incidents.MaxStats.
	MaxStats int
}

// Open opens (creating when needed) the store in dir, with default
// Options.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens (creating when needed) the store in dir. It fails fast,
// rather than waiting, when another process holds the file. A file that
// an older klaxon wrote is migrated to the current layout first (see
// Migrate), once: that may take a while for a big file, and is logged.
func OpenWith(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
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
		for _, b := range [][]byte{bktIncidents, bktGroups, bktAlerts, bktOutbox, bktDelivery, bktRefs, bktEsc, bktSteps, bktOverrides, bktMaint,
			bktIAlerts, bktIOrder, bktIRank, bktIEvents, bktCreated, bktTeams, bktMeta, bktStats, bktBeats, bktBeatDue, bktBeatMeta, bktGraphs, bktOnce, bktOnceExp, bktThrottle} {
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
	s := &Store{db: db, log: opts.Logger, maxStats: statrec.Limit(opts.MaxStats)}
	if _, err := s.Migrate(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
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
	return &Store{db: db, log: slog.Default(), maxStats: incidents.MaxStats}, nil
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

func lookup(b *bolt.Bucket, k []byte) int64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
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
		aks := make([][]byte, len(b.Alerts))
		for i := range b.Alerts {
			aks[i] = sourceKey(b.Source, b.Alerts[i].Fingerprint)
		}
		slices.SortFunc(aks, bytes.Compare) // bbolt appends keys in order, shifts others
		for _, ak := range aks {
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
// regrouped them). The incident holds only the batch's alerts (those it
// has) and none of its timeline: a batch costs what it touches.
func current(tx *bolt.Tx, b *incidents.Batch, gk []byte) (int64, *incidents.Incident, error) {
	fps := make([]string, len(b.Alerts))
	for i := range b.Alerts {
		fps[i] = b.Alerts[i].Fingerprint
	}
	mapped := lookup(tx.Bucket(bktGroups), gk)
	if mapped != 0 {
		cur, err := loadPart(tx, mapped, fps)
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
		c, err := loadPart(tx, n, fps)
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
		inc, err = loadFull(tx, n)
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
		cur, err := loadFull(tx, n)
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
