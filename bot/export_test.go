package bot

import (
	"context"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/charts"
	"github.com/klaxonbot/klaxon/incidents"
)

// PromSource is the data source cmd/klaxon wires (its graphs.go), for
// bot's own tests: adapters/prometheus, against promfake.
type PromSource struct{ C *promds.Client }

func (p PromSource) Expr(a incidents.Alert) (string, bool) {
	return promds.ExprFromGeneratorURL(a.GeneratorURL)
}

func (p PromSource) Plot(ctx context.Context, expr string, start, end time.Time, max int) (*Plot, error) {
	r, err := p.C.Plot(ctx, expr, start, end, max)
	if err != nil {
		return nil, err
	}
	out := &Plot{Query: r.Query, Unit: charts.Unit(r.Unit), Step: r.Step, More: r.More}
	if r.Threshold != nil {
		out.Threshold = &charts.Threshold{Op: r.Threshold.Op, Value: r.Threshold.Value}
	}
	conv := func(s promds.Series, name string) PlotSeries {
		ps := PlotSeries{Name: name, Labels: s.Labels, Points: make([]charts.Point, len(s.Points))}
		for i, pt := range s.Points {
			ps.Points[i] = charts.Point{T: pt.T, V: pt.V}
		}
		return ps
	}
	for i, s := range r.Series {
		out.Series = append(out.Series, conv(s, r.Names[i]))
	}
	for i, s := range r.Previous {
		out.Previous = append(out.Previous, conv(s, r.PreviousNames[i]))
	}
	if r.PreviousErr != nil {
		out.PreviousError = r.PreviousErr.Error()
	}
	return out, nil
}

// DrawGraph runs incident id's graph job now, as a graph worker would once
// it holds the job's key: the query, the drawing, storing it and its
// timeline event. It reports whether a graph was stored.
func DrawGraph(ctx context.Context, s *Server, id string) (bool, error) {
	inc, err := s.store.Get(ctx, id)
	if err != nil {
		return false, err
	}
	t, ok := s.grapher.target(inc)
	if !ok {
		return false, nil
	}
	before, _ := s.grapher.graphs.GraphState(ctx, id)
	s.grapher.draw(ctx, inc, t, graphPhase(inc), s.clock.Now())
	after, err := s.grapher.graphs.GraphState(ctx, id)
	return after.Version > before.Version, err
}
