package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
)

// Every change of an incident stores its Stat with it, in the fields s
// and sv of its core hash (see record.go), written by the same
// compare-and-set script as its summary: a record of internal/statrec,
// about 150 bytes where the summary's JSON holds several hundred and more.
// Stats reads them by team and creation time from the indexes List reads.
//
// An incident stored before Stats existed has no s; one that a replica of
// an older klaxon changed since (a rolling upgrade) has an sv below its
// version. Stats makes their Stat from the summary and files it (a script
// that files it only if the incident is still at the version it read),
// and BackfillStats does so for every incident once, after an upgrade.

var _ incidents.Stats = (*Store)(nil)

// statsPage is how many IDs one round of Stats reads from an index, and
// how many records one pipeline reads (a variable for tests).
var statsPage = 10000

var (
	// statsScript finds the numbers of the incidents created within a
	// window, as listScript does: (lo, hi) from the creation-time index,
	// widened by incidents.CreationSkew by the caller; then it counts the
	// IDs of the number index in that range and reads the first page of
	// them, lowest number first. Before, it refuses a window that surely
	// holds more than limit incidents: those numbered from the first
	// created at or after since + CreationSkew to the last created before
	// until - CreationSkew were all created within the window (the
	// narrowed window, ARGV[4] and ARGV[5]). KEYS: created, the number
	// index. ARGV: since ms, until ms (exclusive), page size, narrowed
	// since and until ms, limit. Returns {-1} when it refuses; else lo, hi
	// (-1: none), the count, then the IDs.
	statsScript = redis.NewScript(`
if tonumber(ARGV[4]) < tonumber(ARGV[5]) then
  local a = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[4], '+inf', 'LIMIT', 0, 1)
  local b = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[5], '-inf', 'LIMIT', 0, 1)
  if #a > 0 and #b > 0 then
    local na, nb = tonumber(string.sub(a[1], 5)), tonumber(string.sub(b[1], 5))
    if na <= nb and redis.call('ZCOUNT', KEYS[2], na, nb) > tonumber(ARGV[6]) then return {-1} end
  end
end
local lo, hi = 0, nil
local u = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf', 'LIMIT', 0, 1)
if #u > 0 then hi = tonumber(string.sub(u[1], 5)) end
local l = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '-inf', 'LIMIT', 0, 1)
if #l > 0 then lo = tonumber(string.sub(l[1], 5)) end
local max = '+inf'
if hi then
  if hi <= lo + 1 then return {lo, hi, 0} end
  max = '(' .. hi
end
local out = {lo, hi or -1, redis.call('ZCOUNT', KEYS[2], '(' .. lo, max)}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. lo, max, 'LIMIT', 0, tonumber(ARGV[3]))) do
  out[#out + 1] = id
end
return out`)

	// fileStatScript files the Stat made from the summary of version
	// ARGV[1], if the incident is still at that version and its Stat is
	// not. KEYS: core. ARGV: version, record. Returns 1 when it filed.
	fileStatScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'sv') == ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'sv', ARGV[1])
return 1`)
)

// Stats implements incidents.Stats: the Stats of the incidents of
// opts.Team (every team when empty) created within [Since, Until), oldest
// first (by creation time, then number). One script (in the {P} slot)
// turns the window into a range of numbers through the creation-time
// index, as List does (see incidents.CreationSkew), and reads the first
// 10,000 IDs of the team's index (or of every incident's) in that range
// (or refuses at once a window that surely holds more than MaxStats);
// then each round trip reads, in one pipeline, the Stat records of a page
// of IDs (HMGET of each incident's core hash, in its own slot: on
// Cluster, the pipeline goes to every node at once) and the next page of
// IDs. 10,000 incidents take two round trips. Each record is checked
// against opts, so an index entry a crash left stale, or one found
// through the widened window, never shows. It never reads alerts or
// timelines, nor summaries but of incidents whose Stat is missing or
// stale (see above).
// Errors: Invalid (no time range, more than Options.MaxStats incidents),
// Unavailable, Internal.
func (s *Store) Stats(ctx context.Context, opts incidents.StatsOptions) ([]incidents.Stat, error) {
	const op = "redisstore.Stats"
	if err := statrec.Check(opts); err != nil {
		return nil, err
	}
	if err := s.waitBackfill(ctx, op); err != nil {
		return nil, err
	}
	index := s.kAll
	if opts.Team != "" {
		index = s.teamKey(teamName(opts.Team), "")
	}
	skew := incidents.CreationSkew
	since, until := opts.Since.Add(-skew).UnixMilli(), opts.Until.Add(skew).UnixMilli()+1
	// The narrowed window, rounded inwards to the millisecond.
	surelySince, surelyUntil := opts.Since.Add(skew).Add(time.Millisecond-1).UnixMilli(), opts.Until.Add(-skew).UnixMilli()
	res, err := statsScript.Run(ctx, s.rdb, []string{s.kCreated, index}, since, until, statsPage, surelySince, surelyUntil, s.maxStats).Slice()
	if err != nil {
		return nil, unavailable(op, err)
	}
	if len(res) == 1 && res[0] == int64(-1) {
		return nil, statrec.TooMany(opts, s.maxStats)
	}
	if len(res) < 3 {
		return nil, incidents.Errorf(incidents.Internal, "redisstore: stats script answered %v", res)
	}
	hi, _ := res[1].(int64)
	count, _ := res[2].(int64)
	max := "+inf"
	if hi >= 0 {
		max = "(" + strconv.FormatInt(hi, 10)
	}
	ids := make([]string, 0, len(res)-3)
	for _, v := range res[3:] {
		id, _ := v.(string)
		ids = append(ids, id)
	}
	// Room for all, unless the count (which holds the widened window's
	// edges) says the call may be refused after all.
	out := make([]incidents.Stat, 0, min(int(count), s.maxStats, statsPage))
	if int(count) <= s.maxStats {
		out = slices.Grow(out, int(count))
	}
	var stale []string // IDs whose Stat is missing or older than the incident
	var d statrec.Decoder
	for len(ids) > 0 && len(out) <= s.maxStats {
		recs := make([]*redis.SliceCmd, len(ids))
		var next *redis.StringSliceCmd
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				recs[i] = p.HMGet(ctx, s.coreKey(id), "v", "sv", "s")
			}
			if len(ids) == statsPage {
				_, last, err := incidents.ParseID(ids[len(ids)-1])
				if err != nil {
					return incidents.Wrap(incidents.Internal, "redisstore: index holds "+ids[len(ids)-1], err)
				}
				next = p.ZRangeByScore(ctx, index, &redis.ZRangeBy{Min: "(" + strconv.FormatInt(last, 10), Max: max, Count: int64(statsPage)})
			}
			return nil
		}); err != nil {
			return nil, unavailable(op, err)
		}
		for i, c := range recs {
			out = append(out, incidents.Stat{})
			st := &out[len(out)-1]
			if !decodeStat(&d, c.Val(), st) {
				out = out[:len(out)-1]
				stale = append(stale, ids[i])
				continue
			}
			if !statrec.Keeps(opts, st) {
				out = out[:len(out)-1]
			}
		}
		ids = nil
		if next != nil {
			ids = next.Val()
		}
	}
	if len(stale) > 0 && len(out) <= s.maxStats {
		restated, filed, err := s.restat(ctx, stale)
		if err != nil {
			return nil, unavailable(op, err)
		}
		for i := range restated {
			if statrec.Keeps(opts, &restated[i]) {
				out = append(out, restated[i])
			}
		}
		if filed > 0 {
			s.opts.Logger.Info("redis stats made from summaries and filed (incidents stored or changed by an older klaxon)", "incidents", filed)
		}
	}
	if len(out) > s.maxStats {
		return nil, statrec.TooMany(opts, s.maxStats)
	}
	statrec.Sort(out)
	return out, nil
}

// decodeStat decodes into st the Stat record that HMGET v sv s answered,
// and reports whether it was there and is the incident's latest (sv is
// v). One it cannot decode (a later klaxon's) is not.
func decodeStat(d *statrec.Decoder, vals []any, st *incidents.Stat) bool {
	if len(vals) != 3 {
		return false
	}
	v, _ := vals[0].(string)
	sv, _ := vals[1].(string)
	rec, _ := vals[2].(string)
	if v == "" || sv != v || rec == "" {
		return false
	}
	return d.DecodeString(rec, st) == nil
}

// restat makes the Stats of ids from their summaries (an incident that
// does not exist has none), and files each that is missing or stale,
// unless the incident changed meanwhile: a few pipelined round trips.
// filed is how many it filed.
func (s *Store) restat(ctx context.Context, ids []string) (stats []incidents.Stat, filed int, err error) {
	for len(ids) > 0 {
		page := ids[:min(len(ids), statsPage)]
		ids = ids[len(page):]
		heads := make([]*redis.SliceCmd, len(page))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range page {
				heads[i] = p.HMGet(ctx, s.coreKey(id), "v", "d")
			}
			return nil
		}); err != nil {
			return nil, filed, err
		}
		var files []*redis.Cmd
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, h := range heads {
				vals := h.Val()
				if len(vals) != 2 {
					continue
				}
				inc, err := decodeCore(page[i], vals[1])
				if err != nil {
					return err
				}
				v, _ := vals[0].(string)
				if inc == nil || v == "" {
					continue
				}
				st := inc.Stat()
				stats = append(stats, st)
				files = append(files, fileStatScript.Eval(ctx, p, []string{s.coreKey(page[i])}, v, statrec.Encode(&st)))
			}
			return nil
		}); err != nil {
			return nil, filed, err
		}
		for _, c := range files {
			if n, _ := c.Int(); n == 1 {
				filed++
			}
		}
	}
	return stats, filed, nil
}

// kStats holds "1" once every incident stored before Stats existed has
// its Stat (BackfillStats).
func (s *Store) kStats() string { return "{" + s.prefix + "}:idx:stats" }

// BackfillStats files the Stat of every incident that a klaxon before
// Stats stored (or an older replica changed since), made from its summary,
// and returns how many it filed. It reads the index of every incident in
// pages of 1,000 and each one's version and Stat's version (HMGET v sv:
// not the records), then the summaries of those without a current Stat;
// at the end it marks the store ({P}:idx:stats) so that later starts skip
// it. It is safe to run on several replicas at once and again after a
// crash: each Stat is filed by a script that checks the incident's version
// first. New runs it in the background after Backfill; Stats does not wait
// for it (it makes a missing Stat from the summary itself).
func (s *Store) BackfillStats(ctx context.Context) (int, error) {
	const op = "redisstore.BackfillStats"
	done, err := s.rdb.Get(ctx, s.kStats()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, unavailable(op, err)
	}
	if done == "1" {
		return 0, nil
	}
	filed := 0
	after := "-inf"
	for {
		page, err := s.rdb.ZRangeByScoreWithScores(ctx, s.kAll, &redis.ZRangeBy{Min: after, Max: "+inf", Count: 1000}).Result()
		if err != nil {
			return filed, unavailable(op, err)
		}
		if len(page) == 0 {
			break
		}
		after = "(" + strconv.FormatFloat(page[len(page)-1].Score, 'f', -1, 64)
		vers := make([]*redis.SliceCmd, len(page))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, z := range page {
				id, _ := z.Member.(string)
				vers[i] = p.HMGet(ctx, s.coreKey(id), "v", "sv")
			}
			return nil
		}); err != nil {
			return filed, unavailable(op, err)
		}
		var todo []string
		for i, c := range vers {
			vals := c.Val()
			if len(vals) != 2 {
				continue
			}
			v, _ := vals[0].(string)
			sv, _ := vals[1].(string)
			if v != "" && sv != v {
				id, _ := page[i].Member.(string)
				todo = append(todo, id)
			}
		}
		if len(todo) == 0 {
			continue
		}
		_, n, err := s.restat(ctx, todo)
		filed += n
		if err != nil {
			return filed, unavailable(op, err)
		}
	}
	if err := s.rdb.Set(ctx, s.kStats(), "1", 0).Err(); err != nil {
		return filed, unavailable(op, err)
	}
	return filed, nil
}

// runOnce runs fn until it succeeds or the store closes, waiting between
// attempts, and logs what it did; it reports whether fn succeeded.
func (s *Store) runOnce(ctx context.Context, what string, fn func(context.Context) (int, error)) bool {
	wait := time.Second
	for {
		began := time.Now()
		n, err := fn(ctx)
		if err == nil {
			if n > 0 {
				s.opts.Logger.Info("redis "+what+" backfilled", "incidents", n, "took", time.Since(began).Round(time.Millisecond))
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.opts.Logger.Warn("redis "+what+" backfill failed; retrying", "filed", n, "err", err, "retry_in", wait)
		select {
		case <-s.stop:
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
