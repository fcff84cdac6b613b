package redisstore

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Overrides = (*Store)(nil)

func (s *Store) overridesKey(schedule string) string {
	return s.prefix + ":oncall:{" + hashed("schedule", schedule) + "}"
}

// AddOverride implements incidents.Overrides.
func (s *Store) AddOverride(ctx context.Context, o incidents.OnCallOverride) error {
	v, err := json.Marshal(o)
	if err != nil {
		return incidents.Wrap(incidents.Internal, "redisstore.AddOverride", err)
	}
	field := strconv.FormatInt(o.SetAt.UnixNano(), 10) + ":" + o.Person
	return unavailable("redisstore.AddOverride", s.rdb.HSet(ctx, s.overridesKey(o.Schedule), field, v).Err())
}

// Overrides implements incidents.Overrides; ended ones are deleted.
func (s *Store) Overrides(ctx context.Context, schedule string, now time.Time) ([]incidents.OnCallOverride, error) {
	key := s.overridesKey(schedule)
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, unavailable("redisstore.Overrides", err)
	}
	var out []incidents.OnCallOverride
	var ended []string
	for field, v := range m {
		var o incidents.OnCallOverride
		if json.Unmarshal([]byte(v), &o) != nil || !o.Until.After(now) {
			ended = append(ended, field)
			continue
		}
		out = append(out, o)
	}
	if len(ended) > 0 {
		s.rdb.HDel(ctx, key, ended...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SetAt.Before(out[j].SetAt) })
	return out, nil
}
