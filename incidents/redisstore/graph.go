package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Graphs = (*Store)(nil)

// graphKey is the hash of an incident's graph: version, phase, drawnAt,
// tried, triedAt (ms), png, data. It shares the incident's hash tag, and
// expires incidents.GraphRetention after its last write.
func (s *Store) graphKey(id string) string { return s.prefix + ":graph:{" + id + "}" }

// saveGraphScript numbers the new graph and stores it in one step.
var saveGraphScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'phase', ARGV[1], 'drawnAt', ARGV[2], 'tried', ARGV[1], 'triedAt', ARGV[2], 'png', ARGV[3], 'data', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return v
`)

// SaveGraph implements incidents.Graphs.
func (s *Store) SaveGraph(ctx context.Context, id string, g incidents.Graph) (incidents.GraphState, error) {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return incidents.GraphState{}, err
	}
	if err := incidents.CheckGraph(g); err != nil {
		return incidents.GraphState{}, err
	}
	at := g.DrawnAt.UTC()
	v, err := saveGraphScript.Run(ctx, s.rdb, []string{s.graphKey(id)}, g.Phase, at.UnixMilli(), g.PNG, g.Data,
		incidents.GraphRetention.Milliseconds()).Int64()
	if err != nil {
		return incidents.GraphState{}, unavailable("redisstore.SaveGraph", err)
	}
	at = time.UnixMilli(at.UnixMilli()).UTC()
	return incidents.GraphState{Version: v, Phase: g.Phase, DrawnAt: at, Tried: g.Phase, TriedAt: at}, nil
}

// GraphTried implements incidents.Graphs.
func (s *Store) GraphTried(ctx context.Context, id, phase string, at time.Time) error {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return err
	}
	key := s.graphKey(id)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "tried", phase, "triedAt", at.UnixMilli())
		p.PExpire(ctx, key, incidents.GraphRetention)
		return nil
	})
	return unavailable("redisstore.GraphTried", err)
}

var graphStateFields = []string{"version", "phase", "drawnAt", "tried", "triedAt"}

func graphState(vs []any) incidents.GraphState {
	str := func(i int) string {
		s, _ := vs[i].(string)
		return s
	}
	num := func(i int) int64 {
		n, _ := strconv.ParseInt(str(i), 10, 64)
		return n
	}
	t := func(i int) time.Time {
		if str(i) == "" {
			return time.Time{}
		}
		return time.UnixMilli(num(i)).UTC()
	}
	return incidents.GraphState{Version: num(0), Phase: str(1), DrawnAt: t(2), Tried: str(3), TriedAt: t(4)}
}

// GraphState implements incidents.Graphs.
func (s *Store) GraphState(ctx context.Context, id string) (incidents.GraphState, error) {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return incidents.GraphState{}, err
	}
	vs, err := s.rdb.HMGet(ctx, s.graphKey(id), graphStateFields...).Result()
	if err != nil {
		return incidents.GraphState{}, unavailable("redisstore.GraphState", err)
	}
	return graphState(vs), nil
}

// Graph implements incidents.Graphs.
func (s *Store) Graph(ctx context.Context, id string) (incidents.Graph, error) {
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return incidents.Graph{}, err
	}
	vs, err := s.rdb.HMGet(ctx, s.graphKey(id), append(graphStateFields, "png", "data")...).Result()
	if err != nil {
		return incidents.Graph{}, unavailable("redisstore.Graph", err)
	}
	g := incidents.Graph{GraphState: graphState(vs)}
	png, _ := vs[5].(string)
	data, _ := vs[6].(string)
	if g.Version == 0 || png == "" {
		return incidents.Graph{}, incidents.Errorf(incidents.NotFound, "%s has no graph", id)
	}
	g.PNG, g.Data = []byte(png), []byte(data)
	return g, nil
}
