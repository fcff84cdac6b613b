package redisstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var (
	// alertsPageScript reads a page of an incident's alerts in the card's
	// order and their count, together. KEYS: core, alerts, rank. ARGV:
	// first and last rank (0-based, inclusive). Returns -1 when the
	// incident does not exist, -2 when its rank is not kept (stored
	// before ranking, or changed by an older klaxon since: rankAlerts),
	// else the count and the alerts' JSON.
	alertsPageScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'd') == 0 then return {-1} end
local r = redis.call('HGET', KEYS[1], 'r')
if not r or tonumber(r) ~= redis.call('HLEN', KEYS[2]) then return {-2} end
local out = {redis.call('ZCARD', KEYS[3])}
local fps = redis.call('ZRANGE', KEYS[3], ARGV[1], ARGV[2])
if #fps > 0 then
  local vals = redis.call('HMGET', KEYS[2], unpack(fps))
  for i = 1, #fps do out[#out + 1] = vals[i] end
end
return out`)

	// eventsPageScript reads a page of an incident's timeline and its
	// length, together. KEYS: core, timeline. ARGV: offset (negative:
	// from the end), limit. Returns -1 when the incident does not exist,
	// else the length and the events' JSON.
	eventsPageScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[2])
if n == 0 and redis.call('HEXISTS', KEYS[1], 'd') == 0 then return {-1} end
local start = tonumber(ARGV[1])
if start < 0 then start = math.max(n + start, 0) end
if start >= n then return {n} end
local out = redis.call('LRANGE', KEYS[2], start, math.min(start + tonumber(ARGV[2]), n) - 1)
table.insert(out, 1, n)
return out`)

	// rankScript ranks every alert of an incident anew, if the incident
	// is still at version ARGV[1]. ARGV[2] holds one character per entry
	// of :order: its alert's status (0 firing, 1 resolved, x missing).
	// KEYS: core, order, rank, alerts. Returns 1 when ranked, 0 when the
	// incident changed meanwhile.
	rankScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
local fps = redis.call('LRANGE', KEYS[2], 0, -1)
local st = ARGV[2]
if #fps ~= #st then return 0 end
redis.call('DEL', KEYS[3])
local base = 4294967296
local args = {}
for i = 1, #fps do
  local c = string.sub(st, i, i)
  if c ~= 'x' then
    args[#args + 1] = tonumber(c) * base + i
    args[#args + 1] = fps[i]
    if #args >= 1000 then
      redis.call('ZADD', KEYS[3], unpack(args))
      args = {}
    end
  end
end
if #args > 0 then redis.call('ZADD', KEYS[3], unpack(args)) end
redis.call('HSET', KEYS[1], 'r', redis.call('HLEN', KEYS[4]))
return 1`)
)

// Summary implements incidents.Store: the core record and the event count,
// one round trip.
func (s *Store) Summary(ctx context.Context, id string) (*incidents.Incident, error) {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return nil, err
	}
	sums, err := s.summaries(ctx, []string{id})
	if err != nil {
		return nil, unavailable("redisstore.Summary", err)
	}
	if sums[0] == nil {
		return nil, incidents.Errorf(incidents.NotFound, "%s not found", id)
	}
	return sums[0], nil
}

// Alerts implements incidents.Store: one script reads the page from the
// incident's :rank and :alerts. An incident whose rank is not kept (see
// record) is ranked first (rankAlerts).
func (s *Store) Alerts(ctx context.Context, id string, offset, limit int) ([]incidents.Alert, int, error) {
	const op = "redisstore.Alerts"
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return nil, 0, err
	}
	if err := incidents.CheckPage(offset, limit, false); err != nil {
		return nil, 0, err
	}
	rec := s.record(id)
	for attempt := 0; attempt < 5; attempt++ {
		res, err := alertsPageScript.Run(ctx, s.rdb, []string{rec.core, rec.alerts, rec.rank}, offset, offset+limit-1).Slice()
		if err != nil {
			return nil, 0, unavailable(op, err)
		}
		total, _ := res[0].(int64)
		switch total {
		case -1:
			return nil, 0, incidents.Errorf(incidents.NotFound, "%s not found", id)
		case -2:
			if err := s.rankAlerts(ctx, rec); err != nil {
				return nil, 0, unavailable(op, err)
			}
			continue
		}
		out := make([]incidents.Alert, 0, len(res)-1)
		for _, v := range res[1:] {
			data, ok := v.(string)
			if !ok {
				continue // ranked but gone: cannot happen while scripts keep both
			}
			var a incidents.Alert
			if err := json.Unmarshal([]byte(data), &a); err != nil {
				return nil, 0, incidents.Wrap(incidents.Internal, "redisstore: decode alert of "+id, err)
			}
			out = append(out, a)
		}
		return out, int(total), nil
	}
	return nil, 0, incidents.Errorf(incidents.Unavailable, "%s changed too often while its alerts were being ranked; try again", id)
}

// rankAlerts builds the :rank of an incident whose rank is not kept (see
// record): it reads the incident's alerts once (the cost of one Get), and
// files them in a script that checks the incident did not change
// meanwhile.
func (s *Store) rankAlerts(ctx context.Context, rec record) error {
	var head *redis.SliceCmd
	var order *redis.StringSliceCmd
	var alerts *redis.MapStringStringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		head = p.HMGet(ctx, rec.core, "v")
		order = p.LRange(ctx, rec.order, 0, -1)
		alerts = p.HGetAll(ctx, rec.alerts)
		return nil
	}); err != nil {
		return err
	}
	v, _ := head.Val()[0].(string)
	if v == "" {
		return nil // gone: the page says so
	}
	all := alerts.Val()
	var st strings.Builder
	st.Grow(len(order.Val()))
	for _, fp := range order.Val() {
		data, ok := all[fp]
		if !ok {
			st.WriteByte('x')
			continue
		}
		var a struct {
			Status incidents.AlertStatus `json:"status"`
		}
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return incidents.Wrap(incidents.Internal, "redisstore: decode alert of "+rec.core, err)
		}
		st.WriteString(rankStatus(a.Status))
	}
	return rankScript.Run(ctx, s.rdb, []string{rec.core, rec.order, rec.rank, rec.alerts}, v, st.String()).Err()
}

// Events implements incidents.Store: one script reads the page and the
// timeline's length.
func (s *Store) Events(ctx context.Context, id string, offset, limit int) ([]incidents.Event, int, error) {
	const op = "redisstore.Events"
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return nil, 0, err
	}
	if err := incidents.CheckPage(offset, limit, true); err != nil {
		return nil, 0, err
	}
	rec := s.record(id)
	res, err := eventsPageScript.Run(ctx, s.rdb, []string{rec.core, rec.timeline}, offset, limit).Slice()
	if err != nil {
		return nil, 0, unavailable(op, err)
	}
	total, _ := res[0].(int64)
	if total == -1 {
		return nil, 0, incidents.Errorf(incidents.NotFound, "%s not found", id)
	}
	out := make([]incidents.Event, len(res)-1)
	for i, v := range res[1:] {
		data, _ := v.(string)
		if err := json.Unmarshal([]byte(data), &out[i]); err != nil {
			return nil, 0, incidents.Wrap(incidents.Internal, "redisstore: decode event of "+id, err)
		}
	}
	return out, int(total), nil
}
