package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Outbox = (*Store)(nil)

var (
	// claimScript takes up to ARGV[2] items due at ARGV[1] and hides each
	// until ARGV[3], the claim's token. KEYS: outbox, seq, since, claim.
	// Returns id, seq, since triples.
	claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  redis.call('HSET', KEYS[4], id, ARGV[3])
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or '0'
  out[#out + 1] = redis.call('ZSCORE', KEYS[3], id) or ARGV[1]
end
return out`)

	// releaseScript ends a claim if it still holds the item. KEYS: outbox,
	// seq, since, claim. ARGV: id, claimed seq, token, retry at ms ('' =
	// done), now ms. A seq that moved on (the incident changed during the
	// claim) makes the item due at once.
	releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[4], ARGV[1])
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur ~= false and cur ~= ARGV[2] then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
elseif ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1`)
)

func (s *Store) outboxKeys() []string {
	return []string{s.kOutbox, s.kOutSeq, s.kOutSince, s.kOutClaim}
}

func (s *Store) dlvKey(id string) string { return s.record(id).core + ":dlv" }

// Claim implements incidents.Outbox: one script, so two replicas never
// take the same item.
func (s *Store) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]incidents.Claim, error) {
	const op = "redisstore.Claim"
	if n <= 0 {
		return nil, nil
	}
	token := now.Add(lease).UnixMilli()
	vals, err := claimScript.Run(ctx, s.rdb, s.outboxKeys(), now.UnixMilli(), n, token).Slice()
	if err != nil {
		return nil, unavailable(op, err)
	}
	out := make([]incidents.Claim, 0, len(vals)/3)
	for i := 0; i+2 < len(vals); i += 3 {
		id, _ := vals[i].(string)
		seq, _ := strconv.ParseInt(str(vals[i+1]), 10, 64)
		since, _ := strconv.ParseFloat(str(vals[i+2]), 64)
		out = append(out, incidents.Claim{ID: id, Seq: seq, Since: time.UnixMilli(int64(since)), Token: token})
	}
	return out, nil
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// Release implements incidents.Outbox.
func (s *Store) Release(ctx context.Context, c incidents.Claim, retryAt time.Time) error {
	at := ""
	if !retryAt.IsZero() {
		at = strconv.FormatInt(retryAt.UnixMilli(), 10)
	}
	err := releaseScript.Run(ctx, s.rdb, s.outboxKeys(), c.ID, strconv.FormatInt(c.Seq, 10), strconv.FormatInt(c.Token, 10), at, time.Now().UnixMilli()).Err()
	return unavailable("redisstore.Release", err)
}

// Deliveries implements incidents.Outbox.
func (s *Store) Deliveries(ctx context.Context, id string) (map[string]incidents.Delivery, error) {
	m, err := s.rdb.HGetAll(ctx, s.dlvKey(id)).Result()
	if err != nil {
		return nil, unavailable("redisstore.Deliveries", err)
	}
	out := make(map[string]incidents.Delivery, len(m))
	for dest, v := range m {
		var d incidents.Delivery
		if err := json.Unmarshal([]byte(v), &d); err != nil {
			return nil, incidents.Wrap(incidents.Internal, "redisstore.Deliveries", err)
		}
		out[dest] = d
	}
	return out, nil
}

// SaveDelivery implements incidents.Outbox.
func (s *Store) SaveDelivery(ctx context.Context, id, dest string, d incidents.Delivery) error {
	v, err := json.Marshal(d)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "redisstore.SaveDelivery", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.dlvKey(id), dest, v)
		if d.Ref != "" {
			p.Set(ctx, s.refKey(dest, d.Ref), id, 0)
		}
		return nil
	})
	return unavailable("redisstore.SaveDelivery", err)
}

func (s *Store) refKey(dest, ref string) string {
	return s.prefix + ":ref:{" + hashed(dest, ref) + "}"
}

// RefIncident implements incidents.Outbox.
func (s *Store) RefIncident(ctx context.Context, dest, ref string) (string, error) {
	id, err := s.rdb.Get(ctx, s.refKey(dest, ref)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, unavailable("redisstore.RefIncident", err)
}

// OutboxStats implements incidents.Outbox.
func (s *Store) OutboxStats(ctx context.Context) (incidents.OutboxStats, error) {
	var depth *redis.IntCmd
	var oldest *redis.ZSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		depth = p.ZCard(ctx, s.kOutbox)
		oldest = p.ZRangeWithScores(ctx, s.kOutSince, 0, 0)
		return nil
	})
	if err != nil {
		return incidents.OutboxStats{}, unavailable("redisstore.OutboxStats", err)
	}
	st := incidents.OutboxStats{Depth: depth.Val()}
	if z := oldest.Val(); len(z) > 0 {
		st.Oldest = time.UnixMilli(int64(z[0].Score))
	}
	return st, nil
}
