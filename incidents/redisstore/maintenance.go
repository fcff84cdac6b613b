package redisstore

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Maintenances = (*Store)(nil)

// maintKey is the hash of ad-hoc maintenance windows: ID → window JSON.
func (s *Store) maintKey() string { return s.prefix + ":maintenance" }

// addMaintScript stores ARGV[2] as window ARGV[1] unless the ID is
// taken (0) or ARGV[3] windows are stored (-1). KEYS: the windows.
var addMaintScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// AddMaintenance implements incidents.Maintenances in one script, so two
// replicas never store the same ID twice. Ended windows are removed by
// Maintenances; if the hash is full of them, they are removed here first.
func (s *Store) AddMaintenance(ctx context.Context, m incidents.Maintenance) error {
	const op = "redisstore.AddMaintenance"
	if err := m.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(m)
	if err != nil {
		return incidents.Wrap(incidents.Internal, op, err)
	}
	for try := 0; ; try++ {
		r, err := addMaintScript.Run(ctx, s.rdb, []string{s.maintKey()}, m.ID, v, strconv.Itoa(incidents.MaxMaintenances)).Int()
		if err != nil {
			return unavailable(op, err)
		}
		switch {
		case r == 1:
			return nil
		case r == 0:
			return incidents.Errorf(incidents.Invalid, "maintenance window %s exists already", m.ID)
		case try == 0:
			now := m.CreatedAt
			if now.IsZero() {
				now = m.Start
			}
			if _, err := s.Maintenances(ctx, now); err != nil { // removes ended ones
				return err
			}
			continue
		}
		return incidents.Errorf(incidents.Invalid, "%d maintenance windows are open already: end some first", incidents.MaxMaintenances)
	}
}

// Maintenances implements incidents.Maintenances; ended windows are
// deleted on the way.
func (s *Store) Maintenances(ctx context.Context, now time.Time) ([]incidents.Maintenance, error) {
	const op = "redisstore.Maintenances"
	all, err := s.rdb.HGetAll(ctx, s.maintKey()).Result()
	if err != nil {
		return nil, unavailable(op, err)
	}
	var out []incidents.Maintenance
	var ended []string
	for id, v := range all {
		var m incidents.Maintenance
		if json.Unmarshal([]byte(v), &m) != nil || !m.End.After(now) {
			ended = append(ended, id)
			continue
		}
		out = append(out, m)
	}
	if len(ended) > 0 {
		s.rdb.HDel(ctx, s.maintKey(), ended...)
	}
	incidents.SortMaintenances(out)
	return out, nil
}

// endMaintScript removes window ARGV[1] if it is still ARGV[2] (nobody
// ended or replaced it meanwhile). KEYS: the windows.
var endMaintScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`)

// EndMaintenance implements incidents.Maintenances: of two replicas
// ending the same window, one does and the other gets NotFound.
func (s *Store) EndMaintenance(ctx context.Context, id, by string, now time.Time) (incidents.Maintenance, error) {
	const op = "redisstore.EndMaintenance"
	var m incidents.Maintenance
	v, err := s.rdb.HGet(ctx, s.maintKey(), id).Result()
	if err == redis.Nil {
		return m, incidents.Errorf(incidents.NotFound, "no maintenance window %s", clipID(id))
	}
	if err != nil {
		return m, unavailable(op, err)
	}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return m, incidents.Wrap(incidents.Internal, op, err)
	}
	if err := incidents.EndWindow(&m, by, now); err != nil {
		return incidents.Maintenance{}, err
	}
	ok, err := endMaintScript.Run(ctx, s.rdb, []string{s.maintKey()}, id, v).Int()
	if err != nil {
		return incidents.Maintenance{}, unavailable(op, err)
	}
	if ok == 0 {
		return incidents.Maintenance{}, incidents.Errorf(incidents.NotFound, "no maintenance window %s (ended meanwhile)", clipID(id))
	}
	return m, nil
}

func clipID(id string) string {
	if len(id) > 64 {
		return id[:64] + "…"
	}
	return id
}
