package boltstore

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

// teamAll names the bucket of all of a team's incidents, next to one
// bucket per state.
var teamAll = []byte("all")

// createdKey orders incidents by creation time (ms, sign bit flipped so
// that times before 1970 sort first), then number.
func createdKey(t time.Time, n int64) []byte {
	return append(msKey(t.UnixMilli()), key(n)...)
}

func msKey(ms int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms)^(1<<63))
	return b[:]
}

// teamBucket is the team's bucket sub ("all" or a state), created when
// asked; nil when the team has none.
func teamBucket(tx *bolt.Tx, team string, sub []byte, create bool) (*bolt.Bucket, error) {
	teams := tx.Bucket(bktTeams)
	t := teams.Bucket([]byte(team))
	if t == nil {
		if !create {
			return nil, nil
		}
		var err error
		if t, err = teams.CreateBucket([]byte(team)); err != nil {
			return nil, err
		}
	}
	if b := t.Bucket(sub); b != nil || !create {
		return b, nil
	}
	return t.CreateBucket(sub)
}

// index files inc under its state, its team (with its state) and its
// creation time, moving it from where prev (nil for a new incident) was.
func index(tx *bolt.Tx, prev, inc *incidents.Incident) error {
	k := key(inc.Number)
	states := tx.Bucket(bktStates)
	if prev != nil && prev.State != inc.State {
		if err := states.Bucket([]byte(prev.State)).Delete(k); err != nil {
			return err
		}
	}
	if prev == nil || prev.State != inc.State {
		if err := states.Bucket([]byte(inc.State)).Put(k, nil); err != nil {
			return err
		}
	}
	if prev != nil && prev.Team != "" && (prev.Team != inc.Team || prev.State != inc.State) {
		subs := [][]byte{[]byte(prev.State)}
		if prev.Team != inc.Team {
			subs = append(subs, teamAll)
		}
		for _, sub := range subs {
			b, err := teamBucket(tx, prev.Team, sub, false)
			if err != nil {
				return err
			}
			if b != nil {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
	}
	if inc.Team != "" && (prev == nil || prev.Team != inc.Team || prev.State != inc.State) {
		for _, sub := range [][]byte{teamAll, []byte(inc.State)} {
			b, err := teamBucket(tx, inc.Team, sub, true)
			if err != nil {
				return err
			}
			if err := b.Put(k, nil); err != nil {
				return err
			}
		}
	}
	created := tx.Bucket(bktCreated)
	if prev != nil && !prev.CreatedAt.Equal(inc.CreatedAt) {
		if err := created.Delete(createdKey(prev.CreatedAt, prev.Number)); err != nil {
			return err
		}
	}
	if prev == nil || !prev.CreatedAt.Equal(inc.CreatedAt) {
		return created.Put(createdKey(inc.CreatedAt, inc.Number), nil)
	}
	return nil
}

// listBuckets are the number-keyed indexes whose union is what opts
// select by state and team: nil when nothing can match (a team with no
// incidents).
func listBuckets(tx *bolt.Tx, opts incidents.ListOptions) ([]*bolt.Bucket, error) {
	var states []incidents.State
	for _, st := range opts.States {
		if !slices.Contains(states, st) {
			states = append(states, st)
		}
	}
	if len(states) == len(incidents.States) {
		states = nil
	}
	subs := [][]byte{teamAll}
	if len(states) > 0 {
		subs = subs[:0]
		for _, st := range states {
			subs = append(subs, []byte(st))
		}
	}
	var out []*bolt.Bucket
	for _, sub := range subs {
		var b *bolt.Bucket
		switch {
		case opts.Team != "":
			var err error
			if b, err = teamBucket(tx, opts.Team, sub, false); err != nil {
				return nil, err
			}
		case len(states) == 0:
			b = tx.Bucket(bktIncidents)
		default:
			b = tx.Bucket(bktStates).Bucket(sub)
		}
		if b != nil {
			out = append(out, b)
		}
	}
	return out, nil
}

// window narrows the numbers that can hold incidents created within
// opts' Since and Until to (lo, hi), through the creation-time index: an
// incident created before Since-CreationSkew bounds them from below (every
// incident numbered below it was created before Since), one created at or
// after Until+CreationSkew from above.
func window(tx *bolt.Tx, opts incidents.ListOptions, lo, hi int64) (int64, int64) {
	c := tx.Bucket(bktCreated).Cursor()
	if !opts.Until.IsZero() {
		if k, _ := c.Seek(msKey(opts.Until.Add(incidents.CreationSkew).UnixMilli() + 1)); len(k) == 16 {
			hi = min(hi, int64(binary.BigEndian.Uint64(k[8:])))
		}
	}
	if !opts.Since.IsZero() {
		k, _ := c.Seek(msKey(opts.Since.Add(-incidents.CreationSkew).UnixMilli()))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		if len(k) == 16 {
			lo = max(lo, int64(binary.BigEndian.Uint64(k[8:])))
		}
	}
	return lo, hi
}

// List implements incidents.Store. It walks the indexes opts select
// (one per state asked for, the team's own when opts name a team) from
// the highest number down, merging them, and decodes the summaries it
// finds, never alerts or events; with Since or Until it walks only the
// numbers the creation-time index allows. Every summary is checked
// against opts (ListOptions.Keeps).
func (s *Store) List(ctx context.Context, opts incidents.ListOptions) ([]*incidents.Incident, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	var out []*incidents.Incident
	err = s.db.View(func(tx *bolt.Tx) error {
		buckets, err := listBuckets(tx, opts)
		if err != nil {
			return err
		}
		lo, hi := int64(0), int64(math.MaxInt64)
		if opts.Before > 0 {
			hi = opts.Before
		}
		if opts.Timed() {
			lo, hi = window(tx, opts, lo, hi)
		}
		type head struct {
			c *bolt.Cursor
			n int64
		}
		heads := make([]head, 0, len(buckets))
		for _, b := range buckets {
			c := b.Cursor()
			k, _ := c.Seek(key(hi))
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			if len(k) == 8 {
				heads = append(heads, head{c, int64(binary.BigEndian.Uint64(k))})
			}
		}
		for len(out) < opts.Limit {
			top := -1
			for i, h := range heads {
				if h.n > lo && h.n < hi && (top < 0 || h.n > heads[top].n) {
					top = i
				}
			}
			if top < 0 {
				return nil
			}
			n := heads[top].n
			for i := range heads { // one incident is in one state: this is for safety
				for heads[i].n == n {
					k, _ := heads[i].c.Prev()
					heads[i].n = 0
					if len(k) == 8 {
						heads[i].n = int64(binary.BigEndian.Uint64(k))
					}
				}
			}
			inc, err := loadCore(tx, n)
			if err != nil {
				return err
			}
			if opts.Keeps(inc) {
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
