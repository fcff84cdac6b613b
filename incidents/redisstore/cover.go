package redisstore

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.CoverRequests = (*Store)(nil)

// Cover requests: a hash id → request JSON and a sorted set of ids by
// expiry (ms), both in one slot ({cover}) so one script takes a request
// from both.
func (s *Store) coverKeys() []string {
	return []string{s.prefix + ":cover:{cover}:req", s.prefix + ":cover:{cover}:due"}
}

// coverTakeScript takes one request: HGET then HDEL and ZREM; nil when
// it is not there.
var coverTakeScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return v
`)

// coverExpiredScript takes up to ARGV[2] requests due at or before ARGV[1].
var coverExpiredScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[1], id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  if v then table.insert(out, v) end
end
return out
`)

// coverAddScript files a request in both keys.
var coverAddScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`)

// AddCoverRequest implements incidents.CoverRequests.
func (s *Store) AddCoverRequest(ctx context.Context, r incidents.CoverRequest) error {
	v, err := json.Marshal(r)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "redisstore.AddCoverRequest", err)
	}
	err = coverAddScript.Run(ctx, s.rdb, s.coverKeys(), r.ID, v, strconv.FormatInt(r.Expires.UnixMilli(), 10)).Err()
	return unavailable("redisstore.AddCoverRequest", err)
}

// CoverRequest implements incidents.CoverRequests.
func (s *Store) CoverRequest(ctx context.Context, id string) (*incidents.CoverRequest, error) {
	v, err := s.rdb.HGet(ctx, s.coverKeys()[0], id).Result()
	if err == redis.Nil {
		return nil, incidents.Errorf(incidents.NotFound, "no cover request %s is pending", id)
	}
	if err != nil {
		return nil, unavailable("redisstore.CoverRequest", err)
	}
	var r incidents.CoverRequest
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, incidents.Wrap(incidents.Internal, "redisstore.CoverRequest", err)
	}
	return &r, nil
}

// TakeCoverRequest implements incidents.CoverRequests.
func (s *Store) TakeCoverRequest(ctx context.Context, id string) (*incidents.CoverRequest, error) {
	v, err := coverTakeScript.Run(ctx, s.rdb, s.coverKeys(), id).Text()
	if err == redis.Nil {
		return nil, incidents.Errorf(incidents.NotFound, "no cover request %s is pending", id)
	}
	if err != nil {
		return nil, unavailable("redisstore.TakeCoverRequest", err)
	}
	var r incidents.CoverRequest
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, incidents.Wrap(incidents.Internal, "redisstore.TakeCoverRequest", err)
	}
	return &r, nil
}

// TakeExpiredCoverRequests implements incidents.CoverRequests.
func (s *Store) TakeExpiredCoverRequests(ctx context.Context, now time.Time, n int) ([]incidents.CoverRequest, error) {
	vs, err := coverExpiredScript.Run(ctx, s.rdb, s.coverKeys(), strconv.FormatInt(now.UnixMilli(), 10), n).StringSlice()
	if err != nil && err != redis.Nil {
		return nil, unavailable("redisstore.TakeExpiredCoverRequests", err)
	}
	out := make([]incidents.CoverRequest, 0, len(vs))
	for _, v := range vs {
		var r incidents.CoverRequest
		if json.Unmarshal([]byte(v), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}
