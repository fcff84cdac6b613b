package redisstore

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

// An incident is four keys sharing the {INC-n} hash tag, so that one
// script can change them together on any Cluster slot:
//
//	P:inc:{INC-n}           hash {v: version, d: the incident without its
//	                        alerts and timeline}
//	P:inc:{INC-n}:alerts    hash fingerprint → alert
//	P:inc:{INC-n}:order     list of fingerprints, first seen first
//	P:inc:{INC-n}:timeline  list of events, oldest first
//
// A batch that touches two alerts of a thousand reads and writes those two
// and appends its events: the cost of a change does not grow with the
// incident.
type record struct{ core, alerts, order, timeline string }

func (s *Store) record(id string) record {
	k := s.prefix + ":inc:{" + id + "}"
	return record{core: k, alerts: k + ":alerts", order: k + ":order", timeline: k + ":timeline"}
}

func (r record) keys() []string { return []string{r.core, r.alerts, r.order, r.timeline} }

// writeScript stores a new version of an incident if its version is still
// ARGV[1]. ARGV: prev version, new version, core JSON, then n and n pairs
// (fingerprint, alert JSON) to set, then m and m new fingerprints, then k
// and k events to append.
var writeScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
local i = 4
local n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('HSET', KEYS[2], ARGV[i + 2*j - 1], ARGV[i + 2*j])
end
i = i + 2*n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('RPUSH', KEYS[3], ARGV[i + j])
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('RPUSH', KEYS[4], ARGV[i + j])
end
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
			set = append(set, a.Fingerprint, b)
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
	args := make([]any, 0, 6+len(set)+len(added)+len(events))
	args = append(args, strconv.FormatInt(prevVersion, 10), strconv.FormatInt(next.Version, 10), data, len(set)/2)
	args = append(args, set...)
	args = append(args, len(added))
	args = append(args, added...)
	args = append(args, len(events))
	args = append(args, events...)
	return &write{rec: s.record(next.ID), args: args, added: fps}, nil
}

// queue adds the write to a pipeline; the command's value is 1 when it
// stored, 0 when another writer changed the incident first. Scripts in
// pipelines are sent with EVAL, which needs no script cache on the server.
func (w *write) queue(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
	return writeScript.Eval(ctx, p, w.rec.keys(), w.args...)
}

// loadPart returns the incident with only the alerts named by fps (those it
// has) and none of its timeline, or nil when it does not exist.
func (s *Store) loadPart(ctx context.Context, id string, fps []string) (*incidents.Incident, error) {
	rec := s.record(id)
	var head *redis.SliceCmd
	var alerts *redis.SliceCmd
	err := s.exec(ctx, func(p redis.Pipeliner) []redis.Cmder {
		head = p.HMGet(ctx, rec.core, "d")
		cmds := []redis.Cmder{head}
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

func decodeCore(id string, v any) (*incidents.Incident, error) {
	data, ok := v.(string)
	if !ok || data == "" {
		return nil, nil
	}
	inc := new(incidents.Incident)
	if err := json.Unmarshal([]byte(data), inc); err != nil {
		return nil, incidents.Wrap(incidents.Internal, "redisstore: decode "+id, err)
	}
	inc.Alerts, inc.Timeline = []incidents.Alert{}, nil
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
