package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

// Summary implements incidents.Store: the summary record alone.
func (s *Store) Summary(ctx context.Context, id string) (*incidents.Incident, error) {
	id, n, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	var inc *incidents.Incident
	err = s.db.View(func(tx *bolt.Tx) error {
		inc, err = loadCore(tx, n)
		return err
	})
	if err != nil {
		return nil, s.wrap("boltstore.Summary", err)
	}
	if inc == nil {
		return nil, incidents.Errorf(incidents.NotFound, "%s not found", id)
	}
	return inc, nil
}

// Alerts implements incidents.Store. It walks the incident's rank index
// past offset keys (decoding nothing) and decodes the page.
func (s *Store) Alerts(ctx context.Context, id string, offset, limit int) ([]incidents.Alert, int, error) {
	id, n, err := incidents.ParseID(id)
	if err != nil {
		return nil, 0, err
	}
	if err := incidents.CheckPage(offset, limit, false); err != nil {
		return nil, 0, err
	}
	var out []incidents.Alert
	total := -1
	err = s.db.View(func(tx *bolt.Tx) error {
		inc, err := loadCore(tx, n)
		if inc == nil || err != nil {
			return err
		}
		total = inc.AlertsFiring + inc.AlertsResolved
		alerts := tx.Bucket(bktIAlerts)
		prefix := key(n)
		c := tx.Bucket(bktIRank).Cursor()
		k, fp := c.Seek(prefix)
		for i := 0; i < offset && k != nil && bytes.HasPrefix(k, prefix); i++ {
			k, fp = c.Next()
		}
		out = make([]incidents.Alert, 0, min(limit, max(total-offset, 0)))
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, fp = c.Next() {
			v := alerts.Get(subKey(n, fp))
			if v == nil {
				return fmt.Errorf("incident %d ranks alert %q it does not have", n, fp)
			}
			a, err := decodeAlert(n, v)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.wrap("boltstore.Alerts", err)
	}
	if total < 0 {
		return nil, 0, incidents.Errorf(incidents.NotFound, "%s not found", id)
	}
	return out, total, nil
}

// Events implements incidents.Store: a seek to the first event of the
// page.
func (s *Store) Events(ctx context.Context, id string, offset, limit int) ([]incidents.Event, int, error) {
	id, n, err := incidents.ParseID(id)
	if err != nil {
		return nil, 0, err
	}
	if err := incidents.CheckPage(offset, limit, true); err != nil {
		return nil, 0, err
	}
	var out []incidents.Event
	total := -1
	err = s.db.View(func(tx *bolt.Tx) error {
		inc, err := loadCore(tx, n)
		if inc == nil || err != nil {
			return err
		}
		total = inc.Events
		start, end := incidents.PageBounds(offset, limit, total)
		out = make([]incidents.Event, 0, end-start)
		prefix := key(n)
		c := tx.Bucket(bktIEvents).Cursor()
		for k, v := c.Seek(subKey(n, u32(start))); k != nil && bytes.HasPrefix(k, prefix) && len(out) < end-start; k, v = c.Next() {
			var e incidents.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event of incident %d: %w", n, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.wrap("boltstore.Events", err)
	}
	if total < 0 {
		return nil, 0, incidents.Errorf(incidents.NotFound, "%s not found", id)
	}
	return out, total, nil
}
