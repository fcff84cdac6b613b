package redisstore

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

// schemaVersion is what {P}:idx:schema holds once every incident is filed
// in the team and creation-time indexes (Backfill).
const schemaVersion = "2"

// teamName is a team as it appears in keys: escaped, so that no team's
// name can end in ":triggered" and read as another team's state set.
func teamName(team string) string { return url.QueryEscape(team) }

// teamKey is the set of a team's incidents (state ""), or of those in one
// state; name is escaped (teamName).
func (s *Store) teamKey(name string, state incidents.State) string {
	if state == "" {
		return s.kTeam + name
	}
	return s.kTeam + name + ":" + string(state)
}

// listKeys are the number-scored indexes whose union is what opts select
// by state and team: one set per state asked for (all states: the one
// set of every incident), the team's own sets when opts name a team.
func (s *Store) listKeys(opts incidents.ListOptions) []string {
	var states []incidents.State
	for _, st := range opts.States {
		if !slices.Contains(states, st) {
			states = append(states, st)
		}
	}
	if len(states) == len(incidents.States) {
		states = nil
	}
	var keys []string
	switch {
	case opts.Team != "" && len(states) == 0:
		keys = append(keys, s.teamKey(teamName(opts.Team), ""))
	case opts.Team != "":
		for _, st := range states {
			keys = append(keys, s.teamKey(teamName(opts.Team), st))
		}
	case len(states) == 0:
		keys = append(keys, s.kAll)
	default:
		for _, st := range states {
			keys = append(keys, s.kState[st])
		}
	}
	return keys
}

// listScript reads one round of List. It narrows the numbers to read to
// (lo, hi): with since or until, the creation-time index names an
// incident created before since (every incident numbered below it was
// created before since too, give or take incidents.CreationSkew, which
// the caller took off since) and one created at or after until (likewise
// above it). Then it reads up to count of the highest numbers in that
// range from each number index. KEYS: created, then the number indexes.
// ARGV: since ms or ”, until ms or ”, hi (exclusive) or ”, lo
// (exclusive), count. Returns lo, hi (-1: none), then for each index how
// many IDs follow and the IDs, highest number first.
var listScript = redis.NewScript(`
local hi = nil
if ARGV[3] ~= '' then hi = tonumber(ARGV[3]) end
local lo = tonumber(ARGV[4])
if ARGV[2] ~= '' then
  local u = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf', 'LIMIT', 0, 1)
  if #u > 0 then
    local n = tonumber(string.sub(u[1], 5))
    if not hi or n < hi then hi = n end
  end
end
if ARGV[1] ~= '' then
  local l = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '-inf', 'LIMIT', 0, 1)
  if #l > 0 then
    local n = tonumber(string.sub(l[1], 5))
    if n > lo then lo = n end
  end
end
local out = {lo, hi or -1}
if hi and hi <= lo + 1 then return out end
local max = '+inf'
if hi then max = '(' .. hi end
for i = 2, #KEYS do
  local r = redis.call('ZREVRANGEBYSCORE', KEYS[i], max, '(' .. lo, 'LIMIT', 0, tonumber(ARGV[5]))
  out[#out + 1] = #r
  for _, id in ipairs(r) do out[#out + 1] = id end
end
return out`)

type entry struct {
	id string
	n  int64
}

// List implements incidents.Store. Each round reads the number indexes
// that opts select in one script (in the {P} slot) and the summaries of
// what it found in one pipelined round trip: the incidents' core records,
// never their alerts or timelines. Every summary is checked against opts
// (ListOptions.Keeps), so an index entry a crash left stale never shows
// and the creation-time window is exact; a round that drops entries is
// followed by another, so a page is short only at the end of the list.
func (s *Store) List(ctx context.Context, opts incidents.ListOptions) ([]*incidents.Incident, error) {
	const op = "redisstore.List"
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	if opts.Team != "" || opts.Timed() {
		if err := s.waitBackfill(ctx, op); err != nil {
			return nil, err
		}
	}
	keys := append([]string{s.kCreated}, s.listKeys(opts)...)
	since, until, hi, lo := "", "", "", int64(0)
	if !opts.Since.IsZero() {
		since = strconv.FormatInt(opts.Since.Add(-incidents.CreationSkew).UnixMilli(), 10)
	}
	if !opts.Until.IsZero() {
		until = strconv.FormatInt(opts.Until.Add(incidents.CreationSkew).UnixMilli()+1, 10)
	}
	if opts.Before > 0 {
		hi = strconv.FormatInt(opts.Before, 10)
	}
	var out []*incidents.Incident
	for len(out) < opts.Limit {
		count := opts.Limit - len(out)
		if opts.Timed() {
			count += count/4 + 8 // the window's edges are read and dropped
		}
		count = min(count, incidents.MaxListLimit)
		res, err := listScript.Run(ctx, s.rdb, keys, since, until, hi, lo, count).Slice()
		if err != nil {
			return nil, unavailable(op, err)
		}
		since, until = "", "" // the window is now (lo, hi)
		page, more, err := mergeRound(res, count)
		if err != nil {
			return nil, err
		}
		lo = res[0].(int64)
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = e.id
		}
		sums, err := s.summaries(ctx, ids)
		if err != nil {
			return nil, unavailable(op, err)
		}
		for _, inc := range sums {
			if opts.Keeps(inc) && len(out) < opts.Limit {
				out = append(out, inc)
			}
		}
		if !more || len(page) == 0 {
			break
		}
		hi = strconv.FormatInt(page[len(page)-1].n, 10)
	}
	return out, nil
}

// mergeRound merges the ID lists of one listScript answer, highest number
// first, keeping only the part every list answered fully: a list that
// returned count IDs may hold more below its last. more says whether any
// did.
func mergeRound(res []any, count int) ([]entry, bool, error) {
	var all []entry
	var floor int64 // entries below it may be missing from a full list
	more := false
	for i := 2; i < len(res); {
		n, ok := res[i].(int64)
		if !ok || i+1+int(n) > len(res) {
			return nil, false, incidents.Errorf(incidents.Internal, "redisstore: list script answered %v", res)
		}
		var last int64
		for _, v := range res[i+1 : i+1+int(n)] {
			id, _ := v.(string)
			_, num, err := incidents.ParseID(id)
			if err != nil {
				return nil, false, incidents.Wrap(incidents.Internal, "redisstore: index holds "+id, err)
			}
			all = append(all, entry{id, num})
			last = num
		}
		if int(n) == count {
			more = true
			floor = max(floor, last)
		}
		i += 1 + int(n)
	}
	slices.SortFunc(all, func(a, b entry) int {
		switch {
		case a.n > b.n:
			return -1
		case a.n < b.n:
			return 1
		}
		return 0
	})
	all = slices.CompactFunc(all, func(a, b entry) bool { return a.n == b.n })
	if more {
		for len(all) > 0 && all[len(all)-1].n < floor {
			all = all[:len(all)-1]
		}
	}
	if len(all) > count {
		all, more = all[:count], true
	}
	return all, more, nil
}

// backfillScript files one incident stored before the team and
// creation-time indexes existed under them, unless it is filed already
// (indexScript and the create path file every change since) or not
// indexed at all (its dirty mark is Reconcile's). Its state is the one the
// state sets give it, which indexScript keeps in the same slot. KEYS: all,
// triggered, acknowledged, resolved, created, teamof. ARGV: id, number,
// created ms, team (escaped; ” for none), team key prefix, the three
// state names.
var backfillScript = redis.NewScript(`
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[6], ARGV[1], ARGV[4])
  local k = ARGV[5] .. ARGV[4]
  redis.call('ZADD', k, ARGV[2], ARGV[1])
  for i = 1, 3 do
    if redis.call('ZSCORE', KEYS[1 + i], ARGV[1]) then
      redis.call('ZADD', k .. ':' .. ARGV[5 + i], ARGV[2], ARGV[1])
    end
  end
end
return 1`)

// backfillPage is how many incidents Backfill reads at once.
const backfillPage = 500

// Backfill files the incidents that a klaxon before the team and
// creation-time indexes stored under them, and returns how many it filed.
// It reads the index of every incident in pages (memory stays bounded by
// one page of summaries), skips what is filed already, and at the end
// marks the store ({P}:idx:schema) so that later starts skip it. It is
// safe to run on several replicas at once and again after a crash: each
// incident is filed by one script that checks first. New starts it in the
// background; until it is done, List by team or time waits for it.
//
// A replica of an older klaxon still running after the backfill (a rolling
// upgrade) changes incidents without filing them by team: upgrade every
// replica, or delete {P}:idx:schema once the last old one is gone and
// restart one, to file them.
func (s *Store) Backfill(ctx context.Context) (int, error) {
	const op = "redisstore.Backfill"
	done, err := s.rdb.Get(ctx, s.kSchema).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, unavailable(op, err)
	}
	if done == schemaVersion {
		return 0, nil
	}
	filed := 0
	after := "-inf"
	for {
		page, err := s.rdb.ZRangeByScoreWithScores(ctx, s.kAll, &redis.ZRangeBy{Min: after, Max: "+inf", Count: backfillPage}).Result()
		if err != nil {
			return filed, unavailable(op, err)
		}
		if len(page) == 0 {
			break
		}
		after = "(" + strconv.FormatFloat(page[len(page)-1].Score, 'f', -1, 64)
		ids := make([]string, len(page))
		for i, z := range page {
			ids[i], _ = z.Member.(string)
		}
		have, err := s.rdb.ZMScore(ctx, s.kCreated, ids...).Result()
		if err != nil {
			return filed, unavailable(op, err)
		}
		var todo []string
		for i, id := range ids {
			if have[i] == 0 { // ZMSCORE answers 0 for a missing member
				todo = append(todo, id)
			}
		}
		if len(todo) == 0 {
			continue
		}
		sums, err := s.summaries(ctx, todo)
		if err != nil {
			return filed, unavailable(op, err)
		}
		keys := []string{s.kAll, s.kState[incidents.Triggered], s.kState[incidents.Acknowledged], s.kState[incidents.Resolved], s.kCreated, s.kTeamOf}
		cmds := make([]*redis.Cmd, 0, len(sums))
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, inc := range sums {
				if inc != nil {
					cmds = append(cmds, backfillScript.Eval(ctx, p, keys, inc.ID, inc.Number, inc.CreatedAt.UnixMilli(),
						teamName(inc.Team), s.kTeam, string(incidents.Triggered), string(incidents.Acknowledged), string(incidents.Resolved)))
				}
			}
			return nil
		})
		if err != nil {
			return filed, unavailable(op, err)
		}
		for _, c := range cmds {
			if n, _ := c.Int(); n == 1 {
				filed++
			}
		}
	}
	if err := s.rdb.Set(ctx, s.kSchema, schemaVersion, 0).Err(); err != nil {
		return filed, unavailable(op, err)
	}
	return filed, nil
}

// backfillLoop runs Backfill once at start, then BackfillStats, each
// retried until it succeeds or the store closes.
func (s *Store) backfillLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if !s.runOnce(ctx, "team and creation-time indexes", s.Backfill) {
		return
	}
	close(s.backfilled)
	s.runOnce(ctx, "stats", s.BackfillStats)
}

// waitBackfill returns once Backfill has run, or Unavailable when ctx
// ends first.
func (s *Store) waitBackfill(ctx context.Context, op string) error {
	select {
	case <-s.backfilled:
		return nil
	default:
	}
	select {
	case <-s.backfilled:
		return nil
	case <-s.stop:
		return incidents.Wrap(incidents.Unavailable, op, errClosed)
	case <-ctx.Done():
		return incidents.Errorf(incidents.Unavailable, "incidents are still being filed by team and time after an upgrade; try again in a minute")
	}
}
