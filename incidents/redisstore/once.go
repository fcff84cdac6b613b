package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Once = (*Store)(nil)

// onceKey is a request key's record: "held" while its request is handled,
// "spent" after, each with a TTL. One key per record, so any slot.
func (s *Store) onceKey(key string) string {
	return s.prefix + ":once:{" + hashed("once", key) + "}"
}

// onceClaimScript: SET NX held; else report what is there.
var onceClaimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], 'held', 'NX', 'PX', ARGV[1]) then return 'new' end
return redis.call('GET', KEYS[1]) or 'new-race'
`)

// onceReleaseScript frees a key only while it is held (never a spent one).
var onceReleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == 'held' then return redis.call('DEL', KEYS[1]) end
return 0
`)

// ClaimOnce implements incidents.Once.
func (s *Store) ClaimOnce(ctx context.Context, key string, hold time.Duration) (incidents.OnceState, error) {
	for range 3 {
		v, err := onceClaimScript.Run(ctx, s.rdb, []string{s.onceKey(key)}, hold.Milliseconds()).Text()
		if err != nil {
			return 0, unavailable("redisstore.ClaimOnce", err)
		}
		switch v {
		case "new":
			return incidents.OnceNew, nil
		case "spent":
			return incidents.OnceSpent, nil
		case "held":
			return incidents.OnceBusy, nil
		}
		// The key expired between SET and GET: try again.
	}
	return incidents.OnceBusy, nil
}

// SpendOnce implements incidents.Once.
func (s *Store) SpendOnce(ctx context.Context, key string, ttl time.Duration) error {
	return unavailable("redisstore.SpendOnce", s.rdb.Set(ctx, s.onceKey(key), "spent", ttl).Err())
}

// ReleaseOnce implements incidents.Once.
func (s *Store) ReleaseOnce(ctx context.Context, key string) error {
	return unavailable("redisstore.ReleaseOnce", onceReleaseScript.Run(ctx, s.rdb, []string{s.onceKey(key)}).Err())
}
