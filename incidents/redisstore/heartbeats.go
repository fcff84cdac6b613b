package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Heartbeats = (*Store)(nil)

// Heartbeats live in one hash slot (the store's tag): a record of each
// (incidents.Heartbeat JSON), the set of their names, a sorted set of
// pending deadlines (ms; while claimed, the lease end) and the time a
// scheduler last watched. A beat watches its own record only, so beats of
// different heartbeats never make each other retry.
func (s *Store) beatKeys() (names, due, watched string) {
	tag := "{" + s.prefix + "}"
	return tag + ":hb:names", tag + ":hb:due", tag + ":hb:watched"
}

func (s *Store) beatKey(name string) string { return "{" + s.prefix + "}:hb:r:" + name }

// beatTx runs fn in a WATCH transaction over keys, again when another
// writer changed them in between.
func (s *Store) beatTx(ctx context.Context, op string, fn func(tx *redis.Tx) error, keys ...string) error {
	for range 50 {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return unavailable(op, err)
		}
	}
	return incidents.Errorf(incidents.Unavailable, "%s: too many concurrent changes, try again", op)
}

func decodeBeat(v string) (*incidents.Heartbeat, error) {
	var h incidents.Heartbeat
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return nil, incidents.Wrap(incidents.Internal, "redisstore: heartbeat record", err)
	}
	return &h, nil
}

func (s *Store) readBeat(ctx context.Context, c redis.Cmdable, name string) (*incidents.Heartbeat, error) {
	v, err := c.Get(ctx, s.beatKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeBeat(v)
}

// putBeat queues h's record and its deadline (or its removal) on p.
func (s *Store) putBeat(ctx context.Context, p redis.Pipeliner, h incidents.Heartbeat) error {
	kn, kd, _ := s.beatKeys()
	v, err := json.Marshal(h)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "redisstore: heartbeat record", err)
	}
	p.Set(ctx, s.beatKey(h.Name), v, 0)
	p.SAdd(ctx, kn, h.Name)
	if h.DueAt.IsZero() {
		p.ZRem(ctx, kd, h.Name)
	} else {
		p.ZAdd(ctx, kd, redis.Z{Score: float64(h.DueAt.UnixMilli()), Member: h.Name})
	}
	return nil
}

// SyncHeartbeats implements incidents.Heartbeats.
func (s *Store) SyncHeartbeats(ctx context.Context, specs []incidents.HeartbeatSpec, now time.Time, gap time.Duration) (*incidents.HeartbeatSync, error) {
	if err := incidents.CheckHeartbeatSpecs(specs); err != nil {
		return nil, err
	}
	kn, kd, kw := s.beatKeys()
	var out *incidents.HeartbeatSync
	for range 50 {
		known, err := s.rdb.SMembers(ctx, kn).Result()
		if err != nil {
			return nil, unavailable("redisstore.SyncHeartbeats", err)
		}
		slices.Sort(known)
		keys := []string{kn, kw}
		for _, n := range known {
			keys = append(keys, s.beatKey(n))
		}
		for _, spec := range specs {
			keys = append(keys, s.beatKey(spec.Name))
		}
		err = s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			out = &incidents.HeartbeatSync{}
			now2, err := tx.SMembers(ctx, kn).Result()
			if err != nil {
				return err
			}
			slices.Sort(now2)
			if !slices.Equal(now2, known) {
				return redis.TxFailedErr // a heartbeat came or went: watch it too
			}
			w, err := tx.Get(ctx, kw).Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			if w > 0 {
				out.Watched = time.UnixMilli(w).UTC()
			}
			out.Down = incidents.HeartbeatsDown(out.Watched, now, gap)
			var put []incidents.Heartbeat
			keep := map[string]bool{}
			for _, spec := range specs {
				keep[spec.Name] = true
				stored, err := s.readBeat(ctx, tx, spec.Name)
				if err != nil {
					return err
				}
				put = append(put, incidents.SyncHeartbeat(stored, spec, now, out))
			}
			for _, name := range now2 {
				if !keep[name] {
					out.Removed = append(out.Removed, name)
				}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, h := range put {
					if err := s.putBeat(ctx, p, h); err != nil {
						return err
					}
				}
				for _, name := range out.Removed {
					p.Del(ctx, s.beatKey(name))
					p.SRem(ctx, kn, name)
					p.ZRem(ctx, kd, name)
				}
				p.Set(ctx, kw, now.UnixMilli(), 0)
				return nil
			})
			return err
		}, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return nil, unavailable("redisstore.SyncHeartbeats", err)
			}
			return out, nil
		}
	}
	return nil, incidents.Errorf(incidents.Unavailable, "redisstore.SyncHeartbeats: too many concurrent changes, try again")
}

// Heartbeat implements incidents.Heartbeats.
func (s *Store) Heartbeat(ctx context.Context, name string) (*incidents.Heartbeat, error) {
	h, err := s.readBeat(ctx, s.rdb, name)
	if err != nil {
		return nil, unavailable("redisstore.Heartbeat", err)
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
	err := s.beatTx(ctx, "redisstore.Beat", func(tx *redis.Tx) error {
		var err error
		if prev, err = s.readBeat(ctx, tx, name); err != nil {
			return err
		}
		h := incidents.Heartbeat{Name: name}
		if prev != nil {
			h = *prev
		}
		h.RecordBeat(at, window)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { return s.putBeat(ctx, p, h) })
		return err
	}, s.beatKey(name))
	if err != nil {
		return nil, err
	}
	return prev, nil
}

// claimBeatsScript takes up to ARGV[2] heartbeats due at ARGV[1] and
// hides each until ARGV[3]; it records ARGV[1] as the last watch. KEYS:
// due, watched.
var claimBeatsScript = redis.NewScript(`
redis.call('SET', KEYS[2], ARGV[1])
local names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, name in ipairs(names) do
  redis.call('ZADD', KEYS[1], ARGV[3], name)
end
return names`)

// ClaimHeartbeats implements incidents.Heartbeats: one script, so two
// schedulers never take the same deadline.
func (s *Store) ClaimHeartbeats(ctx context.Context, now time.Time, n int, lease time.Duration) ([]incidents.Heartbeat, error) {
	_, kd, kw := s.beatKeys()
	names, err := claimBeatsScript.Run(ctx, s.rdb, []string{kd, kw},
		now.UnixMilli(), strconv.Itoa(max(n, 0)), now.Add(lease).UnixMilli()).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("redisstore.ClaimHeartbeats", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = s.beatKey(n)
	}
	recs, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("redisstore.ClaimHeartbeats", err)
	}
	out := make([]incidents.Heartbeat, 0, len(recs))
	for i, v := range recs {
		str, ok := v.(string)
		if !ok { // gone: a stale entry
			s.rdb.ZRem(ctx, kd, names[i])
			continue
		}
		h, err := decodeBeat(str)
		if err != nil {
			return nil, err
		}
		switch {
		case h.DueAt.IsZero(): // not pending: a stale entry
			s.rdb.ZRem(ctx, kd, h.Name)
			continue
		case h.DueAt.After(now):
			// A beat came between the claim and the read: not due. Its
			// deadline goes back in place of the claim's lease.
			s.rdb.ZAdd(ctx, kd, redis.Z{Score: float64(h.DueAt.UnixMilli()), Member: h.Name})
			continue
		}
		out = append(out, *h)
	}
	return out, nil
}

// MissHeartbeat implements incidents.Heartbeats.
func (s *Store) MissHeartbeat(ctx context.Context, name string, due time.Time) (bool, error) {
	_, kd, _ := s.beatKeys()
	missed := false
	err := s.beatTx(ctx, "redisstore.MissHeartbeat", func(tx *redis.Tx) error {
		missed = false
		h, err := s.readBeat(ctx, tx, name)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if h == nil {
				p.ZRem(ctx, kd, name)
				return nil
			}
			missed = h.Miss(due)
			// Either way the deadline is filed as stored, ending the claim.
			return s.putBeat(ctx, p, *h)
		})
		return err
	}, s.beatKey(name))
	if err != nil {
		return false, err
	}
	return missed, nil
}
