package incidents

import (
	"context"
	"time"
)

// Graph is the picture of what an incident's alert monitors, drawn from
// its data source when the incident opens and again when it resolves: a
// PNG for the chat cards, the console and the API, and the plotted data
// (JSON) it was drawn from.
type Graph struct {
	GraphState
	PNG  []byte
	Data []byte
}

// GraphState is what a store knows of an incident's graphs, without the
// image: how many were drawn, the last, and the last attempt (drawn or
// failed) that decides when the next may be tried.
type GraphState struct {
	// Version counts the graphs drawn for the incident: 0 when none, 1
	// for the first. A card whose delivery shows a lower version is
	// given the newest one.
	Version int64 `json:"version,omitempty"`
	// Phase is what the last graph drawn shows ("open", "resolved"),
	// DrawnAt when it was drawn.
	Phase   string    `json:"phase,omitempty"`
	DrawnAt time.Time `json:"drawnAt,omitzero"`
	// Tried is the phase of the last attempt, drawn or failed, and
	// TriedAt its time.
	Tried   string    `json:"tried,omitempty"`
	TriedAt time.Time `json:"triedAt,omitzero"`
}

// Size caps of a stored graph.
const (
	MaxGraphPNG  = 200 << 10
	MaxGraphData = 512 << 10
)

// GraphRetention is how long a store must keep an incident's graph after
// it was last drawn or tried; a store may forget it after that (Redis
// does, to bound its memory: a graph is 50 to 300 KB).
const GraphRetention = 30 * 24 * time.Hour

// Graphs stores each incident's latest graph. It is optional: a store
// without it draws no graphs. Only the worker holding an incident's graph
// job writes its graph.
type Graphs interface {
	// SaveGraph stores g as the incident's graph, replacing the one
	// before, with the next version; g's Phase and DrawnAt are also the
	// last attempt. It returns the state after.
	// Errors: Invalid (a bad ID, an empty or oversized PNG, oversized
	// data), Unavailable, Internal.
	SaveGraph(ctx context.Context, id string, g Graph) (GraphState, error)

	// GraphTried records an attempt at a graph for phase that drew
	// nothing (the data source failed): the graph stays as it was.
	// Errors: Invalid, Unavailable, Internal.
	GraphTried(ctx context.Context, id, phase string, at time.Time) error

	// GraphState returns the incident's graph state; the zero state when
	// none was tried. Errors: Invalid, Unavailable, Internal.
	GraphState(ctx context.Context, id string) (GraphState, error)

	// Graph returns the incident's latest graph.
	// Errors: NotFound (none drawn), Invalid, Unavailable, Internal.
	Graph(ctx context.Context, id string) (Graph, error)
}

// CheckGraph checks what SaveGraph is given.
func CheckGraph(g Graph) error {
	switch {
	case len(g.PNG) == 0:
		return Errorf(Invalid, "a graph needs an image")
	case len(g.PNG) > MaxGraphPNG:
		return Errorf(Invalid, "the graph's image is %d bytes, over the cap of %d", len(g.PNG), MaxGraphPNG)
	case len(g.Data) > MaxGraphData:
		return Errorf(Invalid, "the graph's data is %d bytes, over the cap of %d", len(g.Data), MaxGraphData)
	case g.Phase == "":
		return Errorf(Invalid, "a graph needs a phase")
	}
	return nil
}
