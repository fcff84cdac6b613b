package boltstore

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Heartbeats = (*Store)(nil)

var keyWatched = []byte("watched")

func getBeat(tx *bolt.Tx, name string) (*incidents.Heartbeat, error) {
	b := tx.Bucket(bktBeats) // nil in a file opened read only before heartbeats
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(name))
	if v == nil {
		return nil, nil
	}
	var h incidents.Heartbeat
	if err := json.Unmarshal(v, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// putBeat stores h and files its deadline (or takes it out).
func putBeat(tx *bolt.Tx, h incidents.Heartbeat) error {
	v, err := json.Marshal(h)
	if err != nil {
		return err
	}
	k := []byte(h.Name)
	if err := tx.Bucket(bktBeats).Put(k, v); err != nil {
		return err
	}
	if h.DueAt.IsZero() {
		return tx.Bucket(bktBeatDue).Delete(k)
	}
	return tx.Bucket(bktBeatDue).Put(k, ms(h.DueAt))
}

func watch(tx *bolt.Tx, now time.Time) (time.Time, error) {
	b := tx.Bucket(bktBeatMeta)
	var last time.Time
	if v := b.Get(keyWatched); v != nil {
		last = time.UnixMilli(unms(v)).UTC()
	}
	return last, b.Put(keyWatched, ms(now))
}

// SyncHeartbeats implements incidents.Heartbeats.
func (s *Store) SyncHeartbeats(ctx context.Context, specs []incidents.HeartbeatSpec, now time.Time, gap time.Duration) (*incidents.HeartbeatSync, error) {
	if err := incidents.CheckHeartbeatSpecs(specs); err != nil {
		return nil, err
	}
	var out *incidents.HeartbeatSync
	err := s.db.Update(func(tx *bolt.Tx) error {
		out = &incidents.HeartbeatSync{}
		last, err := watch(tx, now)
		if err != nil {
			return err
		}
		out.Watched, out.Down = last, incidents.HeartbeatsDown(last, now, gap)
		keep := map[string]bool{}
		for _, spec := range specs {
			keep[spec.Name] = true
			stored, err := getBeat(tx, spec.Name)
			if err != nil {
				return err
			}
			if err := putBeat(tx, incidents.SyncHeartbeat(stored, spec, now, out)); err != nil {
				return err
			}
		}
		var gone [][]byte
		if err := tx.Bucket(bktBeats).ForEach(func(k, _ []byte) error {
			if !keep[string(k)] {
				gone = append(gone, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range gone {
			out.Removed = append(out.Removed, string(k))
			if err := tx.Bucket(bktBeats).Delete(k); err != nil {
				return err
			}
			if err := tx.Bucket(bktBeatDue).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.SyncHeartbeats", err)
	}
	return out, nil
}

// Heartbeat implements incidents.Heartbeats.
func (s *Store) Heartbeat(ctx context.Context, name string) (*incidents.Heartbeat, error) {
	var h *incidents.Heartbeat
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		h, err = getBeat(tx, name)
		return err
	})
	if err != nil {
		return nil, s.wrap("boltstore.Heartbeat", err)
	}
	if h == nil {
		return nil, incidents.Errorf(incidents.NotFound, "no heartbeat %q", name)
	}
	return h, nil
}

// Beat implements incidents.Heartbeats.
func (s *Store) Beat(ctx context.Context, name string, at time.Time, window time.Duration) (*incidents.Heartbeat, error) {
	if err := incidents.CheckBeat(name, window); err != nil {
		return nil, err
	}
	var prev *incidents.Heartbeat
	err := s.db.Batch(func(tx *bolt.Tx) error {
		var err error
		if prev, err = getBeat(tx, name); err != nil {
			return err
		}
		h := incidents.Heartbeat{Name: name}
		if prev != nil {
			h = *prev
		}
		h.RecordBeat(at, window)
		return putBeat(tx, h)
	})
	if err != nil {
		return nil, s.wrap("boltstore.Beat", err)
	}
	return prev, nil
}

// ClaimHeartbeats implements incidents.Heartbeats. The due bucket holds
// only the heartbeats with a pending deadline, so it is scanned.
func (s *Store) ClaimHeartbeats(ctx context.Context, now time.Time, n int, lease time.Duration) ([]incidents.Heartbeat, error) {
	var out []incidents.Heartbeat
	err := s.db.Batch(func(tx *bolt.Tx) error {
		out = out[:0]
		if _, err := watch(tx, now); err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		b := tx.Bucket(bktBeatDue)
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
			h, err := getBeat(tx, string(d.k))
			if err != nil {
				return err
			}
			if h == nil || h.DueAt.IsZero() { // a stale entry
				if err := b.Delete(d.k); err != nil {
					return err
				}
				continue
			}
			if err := b.Put(d.k, ms(now.Add(lease))); err != nil {
				return err
			}
			out = append(out, *h)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("boltstore.ClaimHeartbeats", err)
	}
	return out, nil
}

// MissHeartbeat implements incidents.Heartbeats.
func (s *Store) MissHeartbeat(ctx context.Context, name string, due time.Time) (bool, error) {
	missed := false
	err := s.db.Batch(func(tx *bolt.Tx) error {
		missed = false
		h, err := getBeat(tx, name)
		if err != nil {
			return err
		}
		if h == nil {
			return tx.Bucket(bktBeatDue).Delete([]byte(name))
		}
		missed = h.Miss(due)
		// Either way the deadline is filed as stored, ending the claim.
		return putBeat(tx, *h)
	})
	if err != nil {
		return false, s.wrap("boltstore.MissHeartbeat", err)
	}
	return missed, nil
}
