package boltstore

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Maintenances = (*Store)(nil)

var bktMaint = []byte("maintenance") // window ID → maintenance window JSON (ended ones removed)

// AddMaintenance implements incidents.Maintenances. Windows that ended
// before m was made are removed on the way.
func (s *Store) AddMaintenance(ctx context.Context, m incidents.Maintenance) error {
	const op = "boltstore.AddMaintenance"
	if err := m.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(m)
	if err != nil {
		return incidents.Wrap(incidents.Internal, op, err)
	}
	now := m.CreatedAt
	if now.IsZero() {
		now = m.Start
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMaint)
		if b.Get([]byte(m.ID)) != nil {
			return incidents.Errorf(incidents.Invalid, "maintenance window %s exists already", m.ID)
		}
		open := 0
		var ended [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var x incidents.Maintenance
			if json.Unmarshal(v, &x) != nil || !x.End.After(now) {
				ended = append(ended, k)
			} else {
				open++
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range ended {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		if open >= incidents.MaxMaintenances {
			return incidents.Errorf(incidents.Invalid, "%d maintenance windows are open already: end some first", open)
		}
		return b.Put([]byte(m.ID), v)
	})
	return s.wrap(op, err)
}

// Maintenances implements incidents.Maintenances.
func (s *Store) Maintenances(ctx context.Context, now time.Time) ([]incidents.Maintenance, error) {
	var out []incidents.Maintenance
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMaint)
		if b == nil {
			return nil // a file opened read-only from before maintenance windows
		}
		return b.ForEach(func(_, v []byte) error {
			var m incidents.Maintenance
			if json.Unmarshal(v, &m) == nil && m.End.After(now) {
				out = append(out, m)
			}
			return nil
		})
	})
	if err != nil {
		return nil, s.wrap("boltstore.Maintenances", err)
	}
	incidents.SortMaintenances(out)
	return out, nil
}

// EndMaintenance implements incidents.Maintenances: the window is
// removed, and returned as it ended.
func (s *Store) EndMaintenance(ctx context.Context, id, by string, now time.Time) (incidents.Maintenance, error) {
	var m incidents.Maintenance
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMaint)
		v := b.Get([]byte(id))
		if v == nil {
			return incidents.Errorf(incidents.NotFound, "no maintenance window %s", clipID(id))
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if err := incidents.EndWindow(&m, by, now); err != nil {
			return err
		}
		return b.Delete([]byte(id))
	})
	if err != nil {
		return incidents.Maintenance{}, s.wrap("boltstore.EndMaintenance", err)
	}
	return m, nil
}

func clipID(id string) string {
	if len(id) > 64 {
		return id[:64] + "…"
	}
	return id
}
