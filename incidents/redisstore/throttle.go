package redisstore

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Throttles = (*Store)(nil)

// throttleKeys are a throttle key's window (a sorted set of admitted
// messages scored by ms) and its held incidents (a sorted set of IDs
// scored by when they were first held), in one slot.
func (s *Store) throttleKeys(key string) []string {
	base := s.prefix + ":throttle:{" + hashed("throttle", key) + "}"
	return []string{base + ":sent", base + ":held"}
}

// throttleScript is Throttle in one step. ARGV: now ms, per ms, count,
// incident ID, a member unique to this call, the held set's TTL (ms).
var throttleScript = redis.NewScript(`
local now, per, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[6]))
if redis.call('ZCARD', KEYS[1]) < count then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], per)
  local held = redis.call('ZRANGE', KEYS[2], 0, -1)
  redis.call('DEL', KEYS[2])
  return {1, 0, held}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {0, tonumber(oldest[2]) + per, {}, redis.call('ZRANK', KEYS[2], ARGV[4])}
`)

// Throttle implements incidents.Throttles.
func (s *Store) Throttle(ctx context.Context, key, id string, now time.Time, limit incidents.Limit) (incidents.ThrottleResult, error) {
	var res incidents.ThrottleResult
	if err := incidents.CheckThrottle(key, id, limit); err != nil {
		return res, err
	}
	at := now.UnixMilli()
	member := strconv.FormatInt(at, 10) + ":" + id + ":" + strconv.FormatUint(rand.Uint64(), 36)
	v, err := throttleScript.Run(ctx, s.rdb, s.throttleKeys(key), at, limit.Per.Milliseconds(), limit.Count, id, member,
		incidents.ThrottleHold.Milliseconds()).Slice()
	if err != nil {
		return res, unavailable("redisstore.Throttle", err)
	}
	if len(v) < 3 {
		return res, incidents.Errorf(incidents.Internal, "redisstore.Throttle: unexpected reply %v", v)
	}
	if n, _ := v[0].(int64); n == 1 {
		res.Admitted, res.Slot = true, member
		held, _ := v[2].([]any)
		for _, h := range held {
			if h, ok := h.(string); ok && h != id {
				res.Held = append(res.Held, h)
			}
		}
		return res, nil
	}
	next, _ := v[1].(int64)
	res.Next = time.UnixMilli(next).UTC()
	if len(v) == 4 {
		rank, ok := v[3].(int64)
		res.First = ok && rank == 0
	}
	return res, nil
}

// ReleaseThrottle implements incidents.Throttles.
func (s *Store) ReleaseThrottle(ctx context.Context, key, slot string) error {
	if key == "" || slot == "" {
		return incidents.Errorf(incidents.Invalid, "no throttle slot %q under %q", slot, key)
	}
	return unavailable("redisstore.ReleaseThrottle", s.rdb.ZRem(ctx, s.throttleKeys(key)[0], slot).Err())
}
