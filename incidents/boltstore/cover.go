package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.CoverRequests = (*Store)(nil)

// bktCover holds pending cover requests: id → request JSON (few at a
// time: a scan finds the expired ones).
var bktCover = []byte("cover")

// AddCoverRequest implements incidents.CoverRequests.
func (s *Store) AddCoverRequest(ctx context.Context, r incidents.CoverRequest) error {
	v, err := json.Marshal(r)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "boltstore.AddCoverRequest", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktCover)
		if err != nil {
			return err
		}
		return b.Put([]byte(r.ID), v)
	})
	return s.wrap("boltstore.AddCoverRequest", err)
}

// CoverRequest implements incidents.CoverRequests.
func (s *Store) CoverRequest(ctx context.Context, id string) (*incidents.CoverRequest, error) {
	var out *incidents.CoverRequest
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktCover)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(id)); v != nil {
			var r incidents.CoverRequest
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = &r
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.CoverRequest", err)
	}
	if out == nil {
		return nil, incidents.Errorf(incidents.NotFound, "no cover request %s is pending", id)
	}
	return out, nil
}

// TakeCoverRequest implements incidents.CoverRequests.
func (s *Store) TakeCoverRequest(ctx context.Context, id string) (*incidents.CoverRequest, error) {
	var out *incidents.CoverRequest
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktCover)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		var r incidents.CoverRequest
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		out = &r
		return b.Delete([]byte(id))
	})
	if err != nil {
		return nil, s.wrap("boltstore.TakeCoverRequest", err)
	}
	if out == nil {
		return nil, incidents.Errorf(incidents.NotFound, "no cover request %s is pending", id)
	}
	return out, nil
}

// TakeExpiredCoverRequests implements incidents.CoverRequests.
func (s *Store) TakeExpiredCoverRequests(ctx context.Context, now time.Time, n int) ([]incidents.CoverRequest, error) {
	var out []incidents.CoverRequest
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktCover)
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r incidents.CoverRequest
			if json.Unmarshal(v, &r) == nil && !r.Expires.After(now) {
				out = append(out, r)
				keys = append(keys, bytes.Clone(k))
			}
		}
		sortCover(out, keys)
		if len(out) > n {
			out, keys = out[:n], keys[:n]
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.TakeExpiredCoverRequests", err)
	}
	return out, nil
}

// sortCover orders requests (and their keys alike) by Expires.
func sortCover(rs []incidents.CoverRequest, keys [][]byte) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Expires.Before(rs[j-1].Expires); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}
