package boltstore

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

var _ incidents.Graphs = (*Store)(nil)

// Keys of bktGraphs: number then one byte, 's' the state JSON, 'p' the
// PNG, 'd' the plotted data.
func graphKey(n int64, part byte) []byte { return append(key(n), part) }

func readGraphState(b *bolt.Bucket, n int64) (incidents.GraphState, error) {
	var st incidents.GraphState
	if b == nil { // a file opened read-only that an older klaxon wrote
		return st, nil
	}
	if v := b.Get(graphKey(n, 's')); v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func putGraphState(b *bolt.Bucket, n int64, st incidents.GraphState) error {
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return b.Put(graphKey(n, 's'), v)
}

// SaveGraph implements incidents.Graphs.
func (s *Store) SaveGraph(ctx context.Context, id string, g incidents.Graph) (incidents.GraphState, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return incidents.GraphState{}, err
	}
	if err := incidents.CheckGraph(g); err != nil {
		return incidents.GraphState{}, err
	}
	var st incidents.GraphState
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktGraphs)
		old, err := readGraphState(b, n)
		if err != nil {
			return err
		}
		st = incidents.GraphState{Version: old.Version + 1, Phase: g.Phase, DrawnAt: g.DrawnAt.UTC(), Tried: g.Phase, TriedAt: g.DrawnAt.UTC()}
		if err := b.Put(graphKey(n, 'p'), g.PNG); err != nil {
			return err
		}
		if err := b.Put(graphKey(n, 'd'), g.Data); err != nil {
			return err
		}
		return putGraphState(b, n, st)
	})
	if err != nil {
		return incidents.GraphState{}, s.wrap("boltstore.SaveGraph", err)
	}
	return st, nil
}

// GraphTried implements incidents.Graphs.
func (s *Store) GraphTried(ctx context.Context, id, phase string, at time.Time) error {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktGraphs)
		st, err := readGraphState(b, n)
		if err != nil {
			return err
		}
		st.Tried, st.TriedAt = phase, at.UTC()
		return putGraphState(b, n, st)
	})
	return s.wrap("boltstore.GraphTried", err)
}

// GraphState implements incidents.Graphs.
func (s *Store) GraphState(ctx context.Context, id string) (incidents.GraphState, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return incidents.GraphState{}, err
	}
	var st incidents.GraphState
	err = s.db.View(func(tx *bolt.Tx) error {
		st, err = readGraphState(tx.Bucket(bktGraphs), n)
		return err
	})
	return st, s.wrap("boltstore.GraphState", err)
}

// Graph implements incidents.Graphs.
func (s *Store) Graph(ctx context.Context, id string) (incidents.Graph, error) {
	_, n, err := incidents.ParseID(id)
	if err != nil {
		return incidents.Graph{}, err
	}
	var g incidents.Graph
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktGraphs)
		st, err := readGraphState(b, n)
		if err != nil {
			return err
		}
		g.GraphState = st
		if st.Version == 0 {
			return nil
		}
		// Bytes from a read transaction are valid only within it: copy.
		g.PNG = append([]byte(nil), b.Get(graphKey(n, 'p'))...)
		g.Data = append([]byte(nil), b.Get(graphKey(n, 'd'))...)
		return nil
	})
	if err != nil {
		return incidents.Graph{}, s.wrap("boltstore.Graph", err)
	}
	if g.Version == 0 || len(g.PNG) == 0 {
		return incidents.Graph{}, incidents.Errorf(incidents.NotFound, "%s has no graph", id)
	}
	return g, nil
}
