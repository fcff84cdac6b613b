package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Outbox = (*Store)(nil)

// item is a pending outbox entry. The bucket is as small as the number of
// incidents whose cards are behind, so Claim scans it.
type item struct {
	Due   int64 `json:"due"`             // ms; while claimed, when the claim ends
	Seq   int64 `json:"seq"`             // changes marked
	Since int64 `json:"since"`           // ms
	Claim int64 `json:"claim,omitempty"` // the claim's token, 0 when none
}

func getItem(b *bolt.Bucket, k []byte) (item, bool, error) {
	var it item
	v := b.Get(k)
	if v == nil {
		return it, false, nil
	}
	return it, true, json.Unmarshal(v, &it)
}

func putItem(b *bolt.Bucket, k []byte, it item) error {
	v, err := json.Marshal(it)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

// enqueue marks the incident k pending, in the transaction that changes it.
func enqueue(tx *bolt.Tx, k []byte, now time.Time) error {
	b := tx.Bucket(bktOutbox)
	it, ok, err := getItem(b, k)
	if err != nil {
		return err
	}
	if !ok {
		it = item{Due: now.UnixMilli(), Since: now.UnixMilli()}
	}
	if it.Claim == 0 && it.Due > now.UnixMilli() {
		it.Due = now.UnixMilli() // a change cuts a retry's wait short
	}
	it.Seq++
	return putItem(b, k, it)
}

// Claim implements incidents.Outbox.
func (s *Store) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]incidents.Claim, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []incidents.Claim
	// Batch: claims, releases and deliveries of many workers share fsyncs
	// (a batched function may run twice, so it starts afresh).
	err := s.db.Batch(func(tx *bolt.Tx) error {
		out = out[:0]
		b := tx.Bucket(bktOutbox)
		type due struct {
			k  []byte
			it item
		}
		var all []due
		err := b.ForEach(func(k, v []byte) error {
			var it item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if it.Due <= now.UnixMilli() {
				all = append(all, due{append([]byte(nil), k...), it})
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.Slice(all, func(i, j int) bool { return all[i].it.Due < all[j].it.Due })
		for _, d := range all[:min(n, len(all))] {
			d.it.Due = now.Add(lease).UnixMilli()
			d.it.Claim = d.it.Due
			if err := putItem(b, d.k, d.it); err != nil {
				return err
			}
			out = append(out, incidents.Claim{ID: incidents.FormatID(number(d.k)), Seq: d.it.Seq, Since: time.UnixMilli(d.it.Since), Token: d.it.Claim})
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.Claim", err)
	}
	return out, nil
}

func number(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

// Release implements incidents.Outbox.
func (s *Store) Release(ctx context.Context, c incidents.Claim, retryAt time.Time) error {
	_, n, err := incidents.ParseID(c.ID)
	if err != nil {
		return err
	}
	k := key(n)
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktOutbox)
		it, ok, err := getItem(b, k)
		if err != nil || !ok || it.Claim != c.Token {
			return err // gone, or the claim ended and another worker holds it
		}
		it.Claim = 0
		switch {
		case it.Seq != c.Seq: // changed while claimed: due at once
			now := time.Now().UnixMilli()
			it.Due, it.Since = now, now
		case !retryAt.IsZero():
			it.Due = retryAt.UnixMilli()
		default:
			return b.Delete(k)
		}
		return putItem(b, k, it)
	})
	return s.wrap("boltstore.Release", err)
}

func deliveryKey(n int64, dest string) []byte {
	return append(append(key(n), 0), dest...)
}

// Deliveries implements incidents.Outbox.
func (s *Store) Deliveries(ctx context.Context, id string) (map[string]incidents.Delivery, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	out := map[string]incidents.Delivery{}
	prefix := append(key(n), 0)
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktDelivery).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var d incidents.Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out[string(k[len(prefix):])] = d
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.Deliveries", err)
	}
	return out, nil
}

// SaveDelivery implements incidents.Outbox.
func (s *Store) SaveDelivery(ctx context.Context, id, dest string, d incidents.Delivery) error {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return err
	}
	v, err := json.Marshal(d)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "boltstore.SaveDelivery", err)
	}
	err = s.db.Batch(func(tx *bolt.Tx) error {
		if d.Ref != "" {
			if err := tx.Bucket(bktRefs).Put(refKey(dest, d.Ref), key(n)); err != nil {
				return err
			}
		}
		return tx.Bucket(bktDelivery).Put(deliveryKey(n, dest), v)
	})
	return s.wrap("boltstore.SaveDelivery", err)
}

func refKey(dest, ref string) []byte { return []byte(dest + "\x00" + ref) }

// RefIncident implements incidents.Outbox.
func (s *Store) RefIncident(ctx context.Context, dest, ref string) (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		if n := lookup(tx.Bucket(bktRefs), refKey(dest, ref)); n > 0 {
			id = incidents.FormatID(n)
		}
		return nil
	})
	return id, s.wrap("boltstore.RefIncident", err)
}

// OutboxStats implements incidents.Outbox.
func (s *Store) OutboxStats(ctx context.Context) (incidents.OutboxStats, error) {
	var st incidents.OutboxStats
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktOutbox).ForEach(func(k, v []byte) error {
			var it item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			st.Depth++
			if t := time.UnixMilli(it.Since); st.Oldest.IsZero() || t.Before(st.Oldest) {
				st.Oldest = t
			}
			return nil
		})
	})
	if err != nil {
		return st, s.wrap("boltstore.OutboxStats", err)
	}
	return st, nil
}
