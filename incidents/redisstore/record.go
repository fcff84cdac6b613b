package redisstore

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
)

// An incident is five keys sharing the {INC-n} hash tag, so that one
// script can change them together on any Cluster slot:
//
//	P:inc:{INC-n}           hash {v: version, d: the incident without its
//	                        alerts and timeline (its summary), e: how many
//	                        events the timeline holds, r: how many alerts
//	                        :rank held when it was last kept, s: its Stat
//	                        (a record of internal/statrec), sv: the
//	                        version s was made from}
//	P:inc:{INC-n}:alerts    hash fingerprint → alert
//	P:inc:{INC-n}:order     list of fingerprints, first seen first
//	P:inc:{INC-n}:rank      zset fingerprint → status × 2^32 + position in
//	                        :order (1-based; status 0 firing, 1 resolved):
//	                        the alerts in the card's order, for paging
//	P:inc:{INC-n}:timeline  list of events, oldest first
//
// A batch that touches two alerts of a thousand reads and writes those two
// and appends its events: the cost of a change does not grow with the
// incident, nor does reading its summary or a page of its alerts or events.
//
// Incidents written before :rank and e existed get e at their next change
// (readers count the timeline meanwhile) and :rank the first time their
// alerts are paged (rankAlerts). So does an incident that a replica of an
// older klaxon changed during a rolling upgrade: its alerts outnumber r.
// Likewise s: Stats makes it from the summary when it is missing or older
// than v, and files it (see stats.go).
type record struct{ core, alerts, order, timeline, rank string }

func (s *Store) record(id string) record {
	k := s.coreKey(id)
	return record{core: k, alerts: k + ":alerts", order: k + ":order", timeline: k + ":timeline", rank: k + ":rank"}
}

// coreKey is the incident's core hash: record(id).core alone.
func (s *Store) coreKey(id string) string { return s.prefix + ":inc:{" + id + "}" }

func (r record) keys() []string { return []string{r.core, r.alerts, r.order, r.timeline, r.rank} }

// rankBase separates the resolved alerts' scores in :rank from the firing
// ones': positions stay below it, and every score is an exact double.
const rankBase = 1 << 32

// writeScript stores a new version of an incident if its version is still
// ARGV[1], its Stat with it. ARGV: prev version, new version, core JSON,
// Stat record, then n and n triples (fingerprint, alert JSON, status: 0
// firing, 1 resolved) to set, then m and m new fingerprints, then k and k
// events to append. A new incident (prev version 0) is ranked from the
// start; an incident stored before ranking existed keeps no partial rank
// (rankAlerts builds it). A ranked incident (r is its alert count) is
// ranked after the write too; one whose rank is not kept is left for
// rankAlerts.
var writeScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
local ranked = ARGV[1] == '0'
if not ranked then
  local r = redis.call('HGET', KEYS[1], 'r')
  ranked = r and tonumber(r) == redis.call('HLEN', KEYS[2])
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 's', ARGV[4], 'sv', ARGV[2])
local base = 4294967296
local n = tonumber(ARGV[5])
local m0 = 5 + 3*n + 1
local m = tonumber(ARGV[m0])
local pos = {}
for j = 1, m do
  pos[ARGV[m0 + j]] = redis.call('RPUSH', KEYS[3], ARGV[m0 + j])
end
for j = 1, n do
  local fp = ARGV[5 + 3*j - 2]
  redis.call('HSET', KEYS[2], fp, ARGV[5 + 3*j - 1])
  if ranked then
    local p = pos[fp]
    if not p then
      local sc = redis.call('ZSCORE', KEYS[5], fp)
      if sc then p = tonumber(sc) % base end
    end
    if p then redis.call('ZADD', KEYS[5], tonumber(ARGV[5 + 3*j]) * base + p, fp) end
  end
end
local k0 = m0 + m + 1
local k = tonumber(ARGV[k0])
for j = 1, k do
  redis.call('RPUSH', KEYS[4], ARGV[k0 + j])
end
redis.call('HSET', KEYS[1], 'e', redis.call('LLEN', KEYS[4]))
if ranked then redis.call('HSET', KEYS[1], 'r', redis.call('HLEN', KEYS[2])) end
return 1`)

// core is the incident without its alerts and timeline.
func core(inc *incidents.Incident) ([]byte, error) {
	c := *inc
	c.Alerts, c.Timeline = nil, nil
	data, err := json.Marshal(&c)
	if err != nil {
		return nil, incidents.Wrap(incidents.Internal, "redisstore: encode "+inc.ID, err)
	}
	return data, nil
}

// write is a prepared compare-and-set of next over prev.
type write struct {
	rec   record
	args  []any
	added []string // fingerprints next has and prev had not
}

// prepareWrite encodes what next changes over prev: prev is what was loaded
// (nil for a new incident; it may hold only some alerts and none of the
// timeline), and next is prev after the change, with Version advanced.
// Alerts whose encoding is unchanged are not written; events beyond prev's
// timeline are appended (events already stored are never rewritten).
func (s *Store) prepareWrite(prev, next *incidents.Incident) (*write, error) {
	next.Events = len(next.Timeline)
	if prev != nil {
		next.Events = prev.Events + len(next.Timeline) - len(prev.Timeline)
	}
	data, err := core(next)
	if err != nil {
		return nil, err
	}
	var prevVersion int64
	old := map[string][]byte{}
	var oldEvents int
	if prev != nil {
		prevVersion, oldEvents = prev.Version, len(prev.Timeline)
		for i := range prev.Alerts {
			b, err := json.Marshal(&prev.Alerts[i])
			if err != nil {
				return nil, incidents.Wrap(incidents.Internal, "redisstore: encode alert", err)
			}
			old[prev.Alerts[i].Fingerprint] = b
		}
	}
	var set, added []any
	var fps []string
	for i := range next.Alerts {
		a := &next.Alerts[i]
		b, err := json.Marshal(a)
		if err != nil {
			return nil, incidents.Wrap(incidents.Internal, "redisstore: encode alert", err)
		}
		was, known := old[a.Fingerprint]
		if !known {
			added = append(added, a.Fingerprint)
			fps = append(fps, a.Fingerprint)
		}
		if !known || string(was) != string(b) {
			set = append(set, a.Fingerprint, b, rankStatus(a.Status))
		}
	}
	var events []any
	for i := oldEvents; i < len(next.Timeline); i++ {
		b, err := json.Marshal(&next.Timeline[i])
		if err != nil {
			return nil, incidents.Wrap(incidents.Internal, "redisstore: encode event", err)
		}
		events = append(events, b)
	}
	st := next.Stat()
	args := make([]any, 0, 7+len(set)+len(added)+len(events))
	args = append(args, strconv.FormatInt(prevVersion, 10), strconv.FormatInt(next.Version, 10), data, statrec.Encode(&st), len(set)/3)
	args = append(args, set...)
	args = append(args, len(added))
	args = append(args, added...)
	args = append(args, len(events))
	args = append(args, events...)
	return &write{rec: s.record(next.ID), args: args, added: fps}, nil
}

// rankStatus is an alert's status as writeScript and rankScript take it.
func rankStatus(st incidents.AlertStatus) string {
	if st == incidents.AlertFiring {
		return "0"
	}
	return "1"
}

// queue adds the write to a pipeline; the command's value is 1 when it
// stored, 0 when another writer changed the incident first. Scripts in
// pipelines are sent with EVAL, which needs no script cache on the server.
func (w *write) queue(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
	return writeScript.Eval(ctx, p, w.rec.keys(), w.args...)
}

// loadPart returns the incident with only the alerts named by fps (those it
// has) and none of its timeline (Events counts it), or nil when it does
// not exist.
func (s *Store) loadPart(ctx context.Context, id string, fps []string) (*incidents.Incident, error) {
	rec := s.record(id)
	var head *redis.SliceCmd
	var events *redis.IntCmd
	var alerts *redis.SliceCmd
	err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		head = p.HMGet(ctx, rec.core, "d")
		events = p.LLen(ctx, rec.timeline)
		cmds := []redis.Cmder{head, events}
		if len(fps) > 0 {
			alerts = p.HMGet(ctx, rec.alerts, fps...)
			cmds = append(cmds, alerts)
		}
		return cmds
	})
	if err != nil {
		return nil, err
	}
	inc, err := decodeCore(id, head.Val()[0])
	if inc == nil || err != nil {
		return nil, err
	}
	inc.Alerts, inc.Events = []incidents.Alert{}, int(events.Val())
	if alerts != nil {
		seen := map[string]bool{}
		for i, v := range alerts.Val() {
			if v == nil || seen[fps[i]] {
				continue
			}
			seen[fps[i]] = true
			if err := appendAlert(inc, v.(string)); err != nil {
				return nil, err
			}
		}
	}
	return inc, nil
}

// fullCmds are the queued reads of a whole incident.
type fullCmds struct {
	id       string
	head     *redis.SliceCmd
	alerts   *redis.MapStringStringCmd
	order    *redis.StringSliceCmd
	timeline *redis.StringSliceCmd
}

func (s *Store) queueFull(ctx context.Context, p redis.Pipeliner, id string) *fullCmds {
	rec := s.record(id)
	return &fullCmds{
		id:       id,
		head:     p.HMGet(ctx, rec.core, "d"),
		alerts:   p.HGetAll(ctx, rec.alerts),
		order:    p.LRange(ctx, rec.order, 0, -1),
		timeline: p.LRange(ctx, rec.timeline, 0, -1),
	}
}

func (f *fullCmds) cmds() []redis.Cmder {
	return []redis.Cmder{f.head, f.alerts, f.order, f.timeline}
}

// incident assembles the read incident, or nil when it does not exist.
func (f *fullCmds) incident() (*incidents.Incident, error) {
	inc, err := decodeCore(f.id, f.head.Val()[0])
	if inc == nil || err != nil {
		return nil, err
	}
	inc.Alerts = []incidents.Alert{}
	alerts := f.alerts.Val()
	for _, fp := range f.order.Val() {
		if v, ok := alerts[fp]; ok {
			if err := appendAlert(inc, v); err != nil {
				return nil, err
			}
		}
	}
	inc.Timeline = make([]incidents.Event, len(f.timeline.Val()))
	for i, v := range f.timeline.Val() {
		if err := json.Unmarshal([]byte(v), &inc.Timeline[i]); err != nil {
			return nil, incidents.Wrap(incidents.Internal, "redisstore: decode event of "+f.id, err)
		}
	}
	inc.Events = len(inc.Timeline)
	return inc, nil
}

// loadFull returns the whole incident, or nil when it does not exist.
func (s *Store) loadFull(ctx context.Context, id string) (*incidents.Incident, error) {
	var f *fullCmds
	if err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		f = s.queueFull(ctx, p, id)
		return f.cmds()
	}); err != nil {
		return nil, err
	}
	return f.incident()
}

// summaryCmd is the queued read of an incident's summary: its core record
// and the count of its events.
type summaryCmd struct {
	id   string
	head *redis.SliceCmd
}

func (s *Store) queueSummary(ctx context.Context, p redis.Pipeliner, id string) *summaryCmd {
	return &summaryCmd{id: id, head: p.HMGet(ctx, s.coreKey(id), "d", "e")}
}

// summary decodes the read summary (nil when the incident does not
// exist). uncounted is true when the record predates the e field: the
// caller counts the timeline (countEvents).
func (c *summaryCmd) summary() (inc *incidents.Incident, uncounted bool, err error) {
	v := c.head.Val()
	if len(v) < 2 {
		return nil, false, nil
	}
	inc, err = decodeCore(c.id, v[0])
	if inc == nil || err != nil {
		return nil, false, err
	}
	e, ok := v[1].(string)
	if !ok {
		return inc, true, nil
	}
	n, err := strconv.Atoi(e)
	if err != nil {
		return nil, false, incidents.Wrap(incidents.Internal, "redisstore: decode event count of "+c.id, err)
	}
	inc.Events = n
	return inc, false, nil
}

// countEvents sets Events of incidents stored before the e field, in one
// round trip.
func (s *Store) countEvents(ctx context.Context, incs []*incidents.Incident) error {
	if len(incs) == 0 {
		return nil
	}
	lens := make([]*redis.IntCmd, len(incs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, inc := range incs {
			lens[i] = p.LLen(ctx, s.record(inc.ID).timeline)
		}
		return nil
	}); err != nil {
		return err
	}
	for i, inc := range incs {
		inc.Events = int(lens[i].Val())
	}
	return nil
}

// summaries reads the summaries of ids in one pipelined round trip (two
// for records stored before the e field), in the order of ids; an
// incident that does not exist is nil. It uses a pipeline of its own, not
// the shared ones, so that a page of a thousand never holds up webhooks.
func (s *Store) summaries(ctx context.Context, ids []string) ([]*incidents.Incident, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*summaryCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = s.queueSummary(ctx, p, id)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]*incidents.Incident, len(ids))
	var uncounted []*incidents.Incident
	for i, c := range cmds {
		inc, old, err := c.summary()
		if err != nil {
			return nil, err
		}
		out[i] = inc
		if old {
			uncounted = append(uncounted, inc)
		}
	}
	return out, s.countEvents(ctx, uncounted)
}

func decodeCore(id string, v any) (*incidents.Incident, error) {
	data, ok := v.(string)
	if !ok || data == "" {
		return nil, nil
	}
	inc := new(incidents.Incident)
	if err := json.Unmarshal([]byte(data), inc); err != nil {
		return nil, incidents.Wrap(incidents.Internal, "redisstore: decode "+id, err)
	}
	inc.Alerts, inc.Timeline = nil, nil
	return inc, nil
}

func appendAlert(inc *incidents.Incident, v string) error {
	var a incidents.Alert
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return incidents.Wrap(incidents.Internal, "redisstore: decode alert of "+inc.ID, err)
	}
	inc.Alerts = append(inc.Alerts, a)
	return nil
}
