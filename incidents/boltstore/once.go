package boltstore

import (
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

// Once-only keys (incidents.Once) in the file: one process holds the file
// (its lock), so this is what makes a key survive a restart — a weekly
// report posted before a crash is not posted again after it.
var (
	bktOnce    = []byte("once")    // key → state (1: 'h' held, 's' spent) expiry ms (8)
	bktOnceExp = []byte("onceexp") // expiry ms (8) key → "": the sweep's order
)

var _ incidents.Once = (*Store)(nil)

// onceSweep bounds the expired keys one call deletes (as sessions'
// sweepMax): keys never pile up, and no call does much.
const onceSweep = 64

func onceRecord(state byte, exp time.Time) []byte {
	return binary.BigEndian.AppendUint64([]byte{state}, uint64(exp.UnixMilli()))
}

// onceState reads a record: its state, or 0 when there is none or it
// expired at now.
func onceState(v []byte, now time.Time) (byte, int64) {
	if len(v) != 9 {
		return 0, 0
	}
	exp := int64(binary.BigEndian.Uint64(v[1:]))
	if exp <= now.UnixMilli() {
		return 0, exp
	}
	return v[0], exp
}

func onceExpKey(exp int64, key string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(exp)), key...)
}

// setOnce writes key's record, moving its place in the sweep's order.
func setOnce(tx *bolt.Tx, key string, state byte, exp time.Time, now time.Time) error {
	b, x := tx.Bucket(bktOnce), tx.Bucket(bktOnceExp)
	if old := b.Get([]byte(key)); len(old) == 9 {
		if err := x.Delete(onceExpKey(int64(binary.BigEndian.Uint64(old[1:])), key)); err != nil {
			return err
		}
	}
	if err := b.Put([]byte(key), onceRecord(state, exp)); err != nil {
		return err
	}
	if err := x.Put(onceExpKey(exp.UnixMilli(), key), nil); err != nil {
		return err
	}
	return sweepOnce(tx, now)
}

// sweepOnce deletes up to onceSweep keys that expired by now.
func sweepOnce(tx *bolt.Tx, now time.Time) error {
	b, x := tx.Bucket(bktOnce), tx.Bucket(bktOnceExp)
	c := x.Cursor()
	var dead [][]byte
	for k, _ := c.First(); k != nil && len(dead) < onceSweep && len(k) >= 8; k, _ = c.Next() {
		if int64(binary.BigEndian.Uint64(k)) > now.UnixMilli() {
			break
		}
		dead = append(dead, append([]byte(nil), k...))
	}
	for _, k := range dead {
		key := k[8:]
		if v := b.Get(key); len(v) == 9 && int64(binary.BigEndian.Uint64(v[1:])) == int64(binary.BigEndian.Uint64(k)) {
			if err := b.Delete(key); err != nil {
				return err
			}
		}
		if err := x.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ClaimOnce implements incidents.Once.
func (s *Store) ClaimOnce(ctx context.Context, key string, hold time.Duration) (incidents.OnceState, error) {
	if err := ctx.Err(); err != nil {
		return 0, incidents.Wrap(incidents.Unavailable, "boltstore.ClaimOnce", err)
	}
	var got incidents.OnceState
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := time.Now()
		switch st, _ := onceState(tx.Bucket(bktOnce).Get([]byte(key)), now); st {
		case 's':
			got = incidents.OnceSpent
			return nil
		case 'h':
			got = incidents.OnceBusy
			return nil
		}
		got = incidents.OnceNew
		return setOnce(tx, key, 'h', now.Add(hold), now)
	})
	if err != nil {
		return 0, incidents.Wrap(incidents.Unavailable, "boltstore.ClaimOnce", err)
	}
	return got, nil
}

// SpendOnce implements incidents.Once.
func (s *Store) SpendOnce(ctx context.Context, key string, ttl time.Duration) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		now := time.Now()
		return setOnce(tx, key, 's', now.Add(ttl), now)
	})
	if err != nil {
		return incidents.Wrap(incidents.Unavailable, "boltstore.SpendOnce", err)
	}
	return nil
}

// ReleaseOnce implements incidents.Once: it frees a held key, never a
// spent one.
func (s *Store) ReleaseOnce(ctx context.Context, key string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, x := tx.Bucket(bktOnce), tx.Bucket(bktOnceExp)
		v := b.Get([]byte(key))
		if st, exp := onceState(v, time.Now()); st != 'h' {
			return nil
		} else if err := x.Delete(onceExpKey(exp, key)); err != nil {
			return err
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return incidents.Wrap(incidents.Unavailable, "boltstore.ReleaseOnce", err)
	}
	return nil
}
