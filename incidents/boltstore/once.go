package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

// bktOnce holds once-only keys: key → state byte ('h' held, 's' spent)
// and the Unix millisecond it lapses at, big-endian.
var bktOnce = []byte("once")

// DurableOnce returns once-only keys kept in the store's file, with
// wall-clock lifetimes: they outlast a restart (the embedded store has
// one process, so nothing else shares them). The server keeps its
// short-lived request signatures in memory; what must not repeat after a
// restart — a shift handover's announcements — uses these.
func (s *Store) DurableOnce() incidents.Once { return durableOnce{s: s, now: time.Now} }

type durableOnce struct {
	s   *Store
	now func() time.Time
}

var _ incidents.Once = durableOnce{}

func onceValue(state byte, until time.Time) []byte {
	v := make([]byte, 9)
	v[0] = state
	binary.BigEndian.PutUint64(v[1:], uint64(until.UnixMilli()))
	return v
}

// live returns the state of a stored value that has not lapsed at now.
func live(v []byte, now time.Time) (byte, bool) {
	if len(v) != 9 || int64(binary.BigEndian.Uint64(v[1:])) <= now.UnixMilli() {
		return 0, false
	}
	return v[0], true
}

// ClaimOnce implements incidents.Once.
func (o durableOnce) ClaimOnce(ctx context.Context, key string, hold time.Duration) (incidents.OnceState, error) {
	st := incidents.OnceNew
	err := o.s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktOnce)
		if err != nil {
			return err
		}
		now := o.now()
		if state, ok := live(b.Get([]byte(key)), now); ok {
			st = incidents.OnceBusy
			if state == 's' {
				st = incidents.OnceSpent
			}
			return nil
		}
		return b.Put([]byte(key), onceValue('h', now.Add(hold)))
	})
	if err != nil {
		return 0, o.s.wrap("boltstore.ClaimOnce", err)
	}
	return st, nil
}

// SpendOnce implements incidents.Once. It also drops keys that lapsed,
// so the bucket holds only live ones.
func (o durableOnce) SpendOnce(ctx context.Context, key string, ttl time.Duration) error {
	err := o.s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktOnce)
		if err != nil {
			return err
		}
		now := o.now()
		var lapsed [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if _, ok := live(v, now); !ok {
				lapsed = append(lapsed, bytes.Clone(k))
			}
		}
		for _, k := range lapsed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put([]byte(key), onceValue('s', now.Add(ttl)))
	})
	return o.s.wrap("boltstore.SpendOnce", err)
}

// ReleaseOnce implements incidents.Once: only a held key is freed.
func (o durableOnce) ReleaseOnce(ctx context.Context, key string) error {
	err := o.s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktOnce)
		if b == nil {
			return nil
		}
		if state, ok := live(b.Get([]byte(key)), o.now()); ok && state == 'h' {
			return b.Delete([]byte(key))
		}
		return nil
	})
	return o.s.wrap("boltstore.ReleaseOnce", err)
}
