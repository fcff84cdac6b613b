package boltstore

import (
	"context"
	"encoding/binary"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
)

var _ incidents.Stats = (*Store)(nil)

// Stats implements incidents.Stats: the Stats of the incidents of
// opts.Team (every team when empty) created within [Since, Until), oldest
// first (by creation time, then number). It reads, in one read
// transaction, the creation-time index over the window (every team), or
// the team's index over the numbers the creation-time index allows (as
// List does, see incidents.CreationSkew), and decodes the Stat records of
// what it finds, never an alert or event, nor a summary unless the
// record is missing (a file opened read only before Migrate filed them).
// Errors: Invalid (no time range, more than Options.MaxStats incidents),
// Unavailable, Internal.
func (s *Store) Stats(ctx context.Context, opts incidents.StatsOptions) ([]incidents.Stat, error) {
	if err := statrec.Check(opts); err != nil {
		return nil, err
	}
	out := []incidents.Stat{}
	var tooMany bool
	err := s.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bktStats) // nil in a file opened read only before Migrate
		var d statrec.Decoder
		read := 0
		// add decodes the Stat of incident n (v its record, or nil) and
		// keeps it if opts do.
		add := func(n int64, v []byte) error {
			if read++; read%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			out = append(out, incidents.Stat{})
			st := &out[len(out)-1]
			if v == nil || d.Decode(v, st) != nil {
				// No record (a file opened read only before Migrate) or
				// one this klaxon cannot read: the summary tells.
				inc, err := loadCore(tx, n)
				if err != nil {
					return err
				}
				if inc == nil {
					out = out[:len(out)-1]
					return nil
				}
				*st = inc.Stat()
			}
			if !statrec.Keeps(opts, st) {
				out = out[:len(out)-1]
			} else if len(out) > s.maxStats {
				tooMany = true
			}
			return nil
		}
		stat := func(k []byte) []byte {
			if recs == nil {
				return nil
			}
			return recs.Get(k)
		}
		if opts.Team == "" {
			// Every team: the creation-time index holds the window
			// itself (to the millisecond; Keeps cuts the rest).
			c := tx.Bucket(bktCreated).Cursor()
			until := opts.Until.UnixMilli()
			for k, _ := c.Seek(msKey(opts.Since.UnixMilli())); len(k) == 16 && !tooMany; k, _ = c.Next() {
				if int64(binary.BigEndian.Uint64(k[:8])^(1<<63)) > until {
					break
				}
				if err := add(int64(binary.BigEndian.Uint64(k[8:])), stat(k[8:])); err != nil {
					return err
				}
			}
			return nil
		}
		idx, err := teamBucket(tx, opts.Team, teamAll, false)
		if idx == nil || err != nil {
			return err
		}
		lo, hi := window(tx, statrec.Window(opts), 0, math.MaxInt64)
		c := idx.Cursor()
		for k, _ := c.Seek(key(lo + 1)); len(k) == 8 && !tooMany; k, _ = c.Next() {
			n := int64(binary.BigEndian.Uint64(k))
			if n >= hi {
				break
			}
			if err := add(n, stat(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, incidents.Wrap(incidents.Unavailable, "boltstore.Stats", err)
		}
		return nil, s.wrap("boltstore.Stats", err)
	}
	if tooMany {
		return nil, statrec.TooMany(opts, s.maxStats)
	}
	statrec.Sort(out)
	return out, nil
}
