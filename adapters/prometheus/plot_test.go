package prometheus_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
	"github.com/klaxonbot/klaxon/incidents"
)

// TestPlot: the expression's plotted side is asked for over the window and
// the day before, at the same step; the top series are kept with their
// names, and the day before keeps only theirs.
func TestPlot(t *testing.T) {
	fake := promfake.New(promfake.Options{Answer: func(q promfake.Query) promfake.Response {
		var ss []promfake.Series
		for i := range 8 {
			s := promfake.Series{Metric: map[string]string{"__name__": "errors_ratio", "job": "api", "instance": "i" + strconv.Itoa(i)}}
			for _, ts := range q.Times() {
				s.Points = append(s.Points, promfake.Point{T: ts, V: strconv.Itoa(i)})
			}
			ss = append(ss, s)
		}
		return promfake.Response{Series: ss}
	}})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL()})
	end := t0
	p, err := c.Plot(context.Background(), `errors_ratio > 5`, end.Add(-time.Hour), end, 3)
	if err != nil {
		t.Fatal(err)
	}
	qs := fake.Queries()
	if len(qs) != 2 {
		t.Fatalf("%d queries, want 2", len(qs))
	}
	for _, q := range qs {
		if q.Expr != "errors_ratio" || q.Step != 15*time.Second {
			t.Errorf("query %+v", q)
		}
	}
	if p.Query != "errors_ratio" || p.Threshold == nil || p.Threshold.Value != 5 || p.Unit != promds.UnitRatio || p.Step != 15*time.Second {
		t.Errorf("plot analysis %+v", p.Analysis)
	}
	if len(p.Series) != 3 || p.More != 5 || p.Names[0] != `{instance="i7"}` || p.Names[2] != `{instance="i5"}` {
		t.Fatalf("kept %d series, names %q, more %d", len(p.Series), p.Names, p.More)
	}
	if len(p.Previous) != 3 || p.PreviousErr != nil {
		t.Fatalf("previous: %d, %v", len(p.Previous), p.PreviousErr)
	}
	for i, s := range p.Previous {
		if s.Points[0].T.After(end.Add(-promds.Day)) || p.PreviousNames[i] == "" {
			t.Errorf("previous %d: starts %v, name %q", i, s.Points[0].T, p.PreviousNames[i])
		}
	}
}

// TestPlotErrors: the window's failure is Plot's; the day before's only
// leaves it out.
func TestPlotErrors(t *testing.T) {
	end := t0
	fake := promfake.New(promfake.Options{Answer: func(q promfake.Query) promfake.Response {
		if q.End.Before(end) {
			return promfake.Response{Status: 503, Body: promfake.Error("unavailable", "down")}
		}
		return promfake.Response{Series: []promfake.Series{{Metric: map[string]string{"a": "b"}, Points: []promfake.Point{{T: q.Start, V: "1"}}}}}
	}})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL()})
	p, err := c.Plot(context.Background(), `up == 0`, end.Add(-time.Hour), end, 5)
	if err != nil || len(p.Series) != 1 || p.PreviousErr == nil || len(p.Previous) != 0 {
		t.Fatalf("Plot = %+v, %v; want the series without the day before", p, err)
	}
	fake2 := promfake.New(promfake.Options{Answer: func(q promfake.Query) promfake.Response {
		return promfake.Response{Status: 400, Body: promfake.Error("bad_data", "parse error")}
	}})
	defer fake2.Close()
	c2 := newClient(t, promds.Options{URL: fake2.URL()})
	if _, err := c2.Plot(context.Background(), `up ==`, end.Add(-time.Hour), end, 5); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("Plot of a bad expression: %v, want Invalid", err)
	}
}

// TestPlotTooManySeries: an answer over the size cap is asked for again
// as the top series, and the rest are counted.
func TestPlotTooManySeries(t *testing.T) {
	const n = 300
	fake := promfake.New(promfake.Options{Answer: func(q promfake.Query) promfake.Response {
		series := func(from, to int) []promfake.Series {
			var ss []promfake.Series
			for i := from; i < to; i++ {
				s := promfake.Series{Metric: map[string]string{"__name__": "free_bytes", "volume": strconv.Itoa(i)}}
				for _, ts := range q.Times() {
					s.Points = append(s.Points, promfake.Point{T: ts, V: strconv.Itoa(i)})
				}
				ss = append(ss, s)
			}
			return ss
		}
		switch q.Expr {
		case "bottomk(5, free_bytes)":
			return promfake.Response{Series: series(0, 5)}
		case "count(free_bytes)":
			s := promfake.Series{Metric: map[string]string{}}
			for _, ts := range q.Times() {
				s.Points = append(s.Points, promfake.Point{T: ts, V: strconv.Itoa(n)})
			}
			return promfake.Response{Series: []promfake.Series{s}}
		}
		return promfake.Response{Series: series(0, n)}
	}})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL(), MaxBytes: 64 << 10, Timeout: 10 * time.Second})
	p, err := c.Plot(context.Background(), `free_bytes < 10`, t0.Add(-time.Hour), t0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Series) != 5 || p.More != n-5 || p.Series[0].Labels["volume"] != "0" || len(p.Previous) != 5 || p.PreviousErr != nil {
		t.Fatalf("kept %d (first %v), more %d, previous %d (%v)", len(p.Series), p.Series[0].Labels, p.More, len(p.Previous), p.PreviousErr)
	}
	var exprs []string
	for _, q := range fake.Queries() {
		exprs = append(exprs, q.Expr)
	}
	if want := 5; len(exprs) != want {
		t.Errorf("queries %q, want %d (the window and the day before, both again as bottomk, and the count)", exprs, want)
	}
}
