package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Escalations = (*Store)(nil)

// claimDueScript takes up to ARGV[2] incidents due at ARGV[1] and hides
// each until ARGV[3]. KEYS: escalations.
var claimDueScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
end
return ids`)

// ClaimDue implements incidents.Escalations: one script, so two
// schedulers never take the same step.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.kEsc}, now.UnixMilli(), n, now.Add(lease).UnixMilli()).StringSlice()
	if err != nil {
		return nil, unavailable("redisstore.ClaimDue", err)
	}
	return ids, nil
}

// StepOnce implements incidents.Escalations.
func (s *Store) StepOnce(ctx context.Context, id, key string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.record(id).core+":step:"+key, time.Now().UnixMilli(), ttl).Result()
	if err != nil {
		return false, unavailable("redisstore.StepOnce", err)
	}
	return ok, nil
}
