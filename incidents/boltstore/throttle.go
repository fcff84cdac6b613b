package boltstore

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Throttles = (*Store)(nil)

// bktThrottle: throttle key → throttleRec JSON. One record a person and
// method, so the bucket stays as small as the people list.
var bktThrottle = []byte("throttle")

// throttleRec is a key's window and its held incidents.
type throttleRec struct {
	Sent []int64    `json:"sent,omitempty"` // admitted messages (ms), oldest first
	Held []heldItem `json:"held,omitempty"` // oldest first
}

type heldItem struct {
	ID string `json:"id"`
	At int64  `json:"at"` // ms
}

// Throttle implements incidents.Throttles.
func (s *Store) Throttle(ctx context.Context, key, id string, now time.Time, limit incidents.Limit) (incidents.ThrottleResult, error) {
	var res incidents.ThrottleResult
	if err := incidents.CheckThrottle(key, id, limit); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, incidents.Wrap(incidents.Unavailable, "boltstore.Throttle", err)
	}
	at, per := now.UnixMilli(), limit.Per.Milliseconds()
	err := s.db.Batch(func(tx *bolt.Tx) error {
		res = incidents.ThrottleResult{} // Batch may run fn again
		b := tx.Bucket(bktThrottle)
		var r throttleRec
		if v := b.Get([]byte(key)); v != nil {
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
		}
		r.Sent = slices.DeleteFunc(r.Sent, func(t int64) bool { return t <= at-per })
		hold := incidents.ThrottleHold.Milliseconds()
		r.Held = slices.DeleteFunc(r.Held, func(h heldItem) bool { return h.At <= at-hold })
		if len(r.Sent) < limit.Count {
			r.Sent = append(r.Sent, at)
			slices.Sort(r.Sent)
			res.Admitted, res.Slot = true, strconv.FormatInt(at, 10)
			for _, h := range r.Held {
				if h.ID != id {
					res.Held = append(res.Held, h.ID)
				}
			}
			r.Held = nil
		} else {
			res.Next = time.UnixMilli(slices.Min(r.Sent) + per).UTC()
			if !slices.ContainsFunc(r.Held, func(h heldItem) bool { return h.ID == id }) {
				r.Held = append(r.Held, heldItem{ID: id, At: at})
			}
			res.First = r.Held[0].ID == id
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
	if err != nil {
		return incidents.ThrottleResult{}, s.wrap("boltstore.Throttle", err)
	}
	return res, nil
}

// ReleaseThrottle implements incidents.Throttles. A slot is its
// admission's time: one admission at that time is given back.
func (s *Store) ReleaseThrottle(ctx context.Context, key, slot string) error {
	at, err := strconv.ParseInt(slot, 10, 64)
	if key == "" || err != nil {
		return incidents.Errorf(incidents.Invalid, "no throttle slot %q under %q", slot, key)
	}
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktThrottle)
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		var r throttleRec
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		i := slices.Index(r.Sent, at)
		if i < 0 {
			return nil
		}
		r.Sent = slices.Delete(r.Sent, i, i+1)
		nv, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), nv)
	})
	if err != nil {
		return s.wrap("boltstore.ReleaseThrottle", err)
	}
	return nil
}
