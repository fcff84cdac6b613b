package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// testGraphs checks incidents.Graphs: no graph at first, an attempt that
// drew nothing, graphs numbered in turn and read back whole, and the caps.
func testGraphs(t *testing.T, s incidents.Store, gs incidents.Graphs) {
	ctx := context.Background()
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	st, err := gs.GraphState(ctx, id)
	if err != nil || st != (incidents.GraphState{}) {
		t.Fatalf("GraphState before any = %+v, %v; want zero", st, err)
	}
	if _, err := gs.Graph(ctx, id); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Graph before any: %v, want NotFound", err)
	}
	t1 := T0.Add(time.Minute)
	if err := gs.GraphTried(ctx, id, "open", t1); err != nil {
		t.Fatal(err)
	}
	st, err = gs.GraphState(ctx, id)
	if err != nil || st.Version != 0 || st.Tried != "open" || !st.TriedAt.Equal(t1) {
		t.Fatalf("GraphState after a failed try = %+v, %v", st, err)
	}
	if _, err := gs.Graph(ctx, id); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Graph after a failed try: %v, want NotFound", err)
	}

	png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 0xff}, 1000)
	t2 := T0.Add(2 * time.Minute)
	st, err = gs.SaveGraph(ctx, id, incidents.Graph{GraphState: incidents.GraphState{Phase: "open", DrawnAt: t2}, PNG: png, Data: []byte(`{"a":1}`)})
	if err != nil || st.Version != 1 || st.Phase != "open" || !st.DrawnAt.Equal(t2) || st.Tried != "open" || !st.TriedAt.Equal(t2) {
		t.Fatalf("SaveGraph = %+v, %v", st, err)
	}
	t3 := T0.Add(4 * time.Minute)
	st, err = gs.SaveGraph(ctx, id, incidents.Graph{GraphState: incidents.GraphState{Phase: "resolved", DrawnAt: t3}, PNG: png[:10], Data: []byte(`{"b":2}`)})
	if err != nil || st.Version != 2 || st.Phase != "resolved" {
		t.Fatalf("second SaveGraph = %+v, %v", st, err)
	}
	g, err := gs.Graph(ctx, id)
	if err != nil || g.Version != 2 || g.Phase != "resolved" || !g.DrawnAt.Equal(t3) || !bytes.Equal(g.PNG, png[:10]) || string(g.Data) != `{"b":2}` {
		t.Fatalf("Graph = %+v, %v", g.GraphState, err)
	}
	if err := gs.GraphTried(ctx, id, "open", t3.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st, _ := gs.GraphState(ctx, id); st.Version != 2 || st.Phase != "resolved" || st.Tried != "open" {
		t.Fatalf("a failed try changed the graph: %+v", st)
	}

	// Caps and bad input change nothing.
	for name, bad := range map[string]incidents.Graph{
		"empty":    {GraphState: incidents.GraphState{Phase: "open", DrawnAt: t3}},
		"big png":  {GraphState: incidents.GraphState{Phase: "open", DrawnAt: t3}, PNG: make([]byte, incidents.MaxGraphPNG+1)},
		"big data": {GraphState: incidents.GraphState{Phase: "open", DrawnAt: t3}, PNG: png, Data: make([]byte, incidents.MaxGraphData+1)},
		"no phase": {GraphState: incidents.GraphState{DrawnAt: t3}, PNG: png},
	} {
		if _, err := gs.SaveGraph(ctx, id, bad); incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("SaveGraph(%s): %v, want Invalid", name, err)
		}
	}
	if _, err := gs.SaveGraph(ctx, "nope", incidents.Graph{GraphState: incidents.GraphState{Phase: "open"}, PNG: png}); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("SaveGraph(bad id): %v, want Invalid", err)
	}
	if g, _ := gs.Graph(ctx, id); g.Version != 2 {
		t.Fatalf("refused saves changed the graph: %+v", g.GraphState)
	}
	// Another incident's graph is its own.
	other := ingest(t, s, Batch("g2", Alert("b", incidents.AlertFiring, T0)), T0).Incident.ID
	if _, err := gs.Graph(ctx, other); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Graph(%s): %v, want NotFound", other, err)
	}
}
