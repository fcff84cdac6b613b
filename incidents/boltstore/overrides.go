package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Overrides = (*Store)(nil)

// AddOverride implements incidents.Overrides.
func (s *Store) AddOverride(ctx context.Context, o incidents.OnCallOverride) error {
	v, err := json.Marshal(o)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "boltstore.AddOverride", err)
	}
	k := append(append([]byte(o.Schedule), 0), ms(o.SetAt)...)
	k = append(k, o.Person...)
	err = s.db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bktOverrides).Put(k, v) })
	return s.wrap("boltstore.AddOverride", err)
}

// Overrides implements incidents.Overrides, in the order they were set.
func (s *Store) Overrides(ctx context.Context, schedule string, now time.Time) ([]incidents.OnCallOverride, error) {
	var out []incidents.OnCallOverride
	prefix := append([]byte(schedule), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktOverrides).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var o incidents.OnCallOverride
			if json.Unmarshal(v, &o) == nil && o.Until.After(now) {
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.Overrides", err)
	}
	return out, nil
}
