package boltstore

import (
	"context"
	"encoding/binary"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Escalations = (*Store)(nil)

func ms(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixMilli()))
	return b[:]
}

func unms(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// fileDue files the incident k's escalation due time, in the transaction
// that changes it.
func fileDue(tx *bolt.Tx, k []byte, due time.Time) error {
	b := tx.Bucket(bktEsc)
	if due.IsZero() {
		return b.Delete(k)
	}
	return b.Put(k, ms(due))
}

// ClaimDue implements incidents.Escalations. The bucket holds only the
// incidents with a step due, so it is scanned.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []string
	err := s.db.Batch(func(tx *bolt.Tx) error {
		out = out[:0]
		b := tx.Bucket(bktEsc)
		type due struct {
			k  []byte
			at int64
		}
		var all []due
		if err := b.ForEach(func(k, v []byte) error {
			if at := unms(v); at <= now.UnixMilli() {
				all = append(all, due{append([]byte(nil), k...), at})
			}
			return nil
		}); err != nil {
			return err
		}
		sort.Slice(all, func(i, j int) bool { return all[i].at < all[j].at })
		for _, d := range all[:min(n, len(all))] {
			if err := b.Put(d.k, ms(now.Add(lease))); err != nil {
				return err
			}
			out = append(out, incidents.FormatID(number(d.k)))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.ClaimDue", err)
	}
	return out, nil
}

// StepOnce implements incidents.Escalations.
func (s *Store) StepOnce(ctx context.Context, id, step string, ttl time.Duration) (bool, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return false, err
	}
	k := append(append(key(n), 0), step...)
	first := false
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSteps)
		now := time.Now()
		if v := b.Get(k); v != nil && unms(v) > now.UnixMilli() {
			first = false
			return nil
		}
		first = true
		return b.Put(k, ms(now.Add(ttl)))
	})
	if err != nil {
		return false, s.wrap("boltstore.StepOnce", err)
	}
	return first, nil
}
