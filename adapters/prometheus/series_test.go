package prometheus_test

import (
	"math"
	"slices"
	"testing"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
)

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		window, want time.Duration
	}{
		{0, time.Second},
		{time.Second, time.Second},
		{5 * time.Minute, time.Second},
		{10 * time.Minute, 2 * time.Second},
		{30 * time.Minute, 10 * time.Second},
		{time.Hour, 15 * time.Second},
		{75 * time.Minute, 15 * time.Second},
		{3 * time.Hour, time.Minute},
		{6 * time.Hour, 2 * time.Minute},
		{24 * time.Hour, 5 * time.Minute},
		{7 * 24 * time.Hour, time.Hour},
		{30 * 24 * time.Hour, 3 * time.Hour},
		{90 * 24 * time.Hour, 12 * time.Hour},
		{365 * 24 * time.Hour, 48 * time.Hour},
	} {
		got := promds.Step(tc.window)
		if got != tc.want {
			t.Errorf("Step(%v) = %v, want %v", tc.window, got, tc.want)
		}
		end := t0.Add(tc.window)
		if n := promds.Points(t0, end, got); n > promds.TargetPoints+1 || n > promds.MaxPoints {
			t.Errorf("Step(%v) = %v gives %d points", tc.window, got, n)
		}
		if got <= 24*time.Hour && (24*time.Hour)%got != 0 {
			t.Errorf("Step(%v) = %v does not divide a day", tc.window, got)
		}
	}
	// Every window up to ten years stays within the limits.
	for w := time.Second; w < 10*365*24*time.Hour; w = w*3/2 + time.Second {
		s := promds.Step(w)
		if n := promds.Points(t0, t0.Add(w), s); n > promds.TargetPoints+1 {
			t.Fatalf("Step(%v) = %v gives %d points", w, s, n)
		}
	}
}

func series(labels map[string]string, vs ...float64) promds.Series {
	s := promds.Series{Labels: labels}
	for i, v := range vs {
		s.Points = append(s.Points, promds.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
	}
	return s
}

func instances(ss []promds.Series) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Labels["instance"])
	}
	return out
}

func TestTop(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	ss := []promds.Series{
		series(map[string]string{"instance": "a"}, 1, 2, 3),
		series(map[string]string{"instance": "b"}, 9, 0, 0), // a spike that passed
		series(map[string]string{"instance": "c"}, nan, nan),
		series(map[string]string{"instance": "d"}, 5, 5),
		series(map[string]string{"instance": "e"}, 0.5, inf),
		series(map[string]string{"instance": "f"}, 5, nan), // ties with d: by name
		series(map[string]string{"instance": "g"}),
		series(map[string]string{"instance": "h"}, -1, -7),
	}
	for _, tc := range []struct {
		name string
		n    int
		th   *promds.Threshold
		want []string
		more int
	}{
		{"highest", 5, nil, []string{"e", "b", "d", "f", "a"}, 3},
		{"highest, >", 8, &promds.Threshold{Op: ">", Value: 4}, []string{"e", "b", "d", "f", "a", "h", "c", "g"}, 0},
		{"lowest, <", 3, &promds.Threshold{Op: "<", Value: 0}, []string{"h", "b", "e"}, 5},
		{"meets ==", 2, &promds.Threshold{Op: "==", Value: 0}, []string{"b", "e"}, 6},
		{"meets !=", 3, &promds.Threshold{Op: "!=", Value: 5}, []string{"b", "a", "e"}, 5},
		{"more than there are", 20, nil, []string{"e", "b", "d", "f", "a", "h", "c", "g"}, 0},
		{"none", 0, nil, nil, 8},
	} {
		in := slices.Clone(ss)
		kept, more := promds.Top(in, tc.n, tc.th)
		if got := instances(kept); !slices.Equal(got, tc.want) || more != tc.more {
			t.Errorf("%s: %v +%d more, want %v +%d more", tc.name, got, more, tc.want, tc.more)
		}
		if !slices.EqualFunc(in, ss, func(a, b promds.Series) bool { return a.Labels["instance"] == b.Labels["instance"] }) {
			t.Errorf("%s: Top reordered its argument", tc.name)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []map[string]string
		want []string
	}{
		{"common labels dropped", []map[string]string{
			{"__name__": "node_filesystem_avail_bytes", "job": "node", "instance": "db-1", "mountpoint": "/", "fstype": "ext4"},
			{"__name__": "node_filesystem_avail_bytes", "job": "node", "instance": "db-2", "mountpoint": "/data", "fstype": "ext4"},
		}, []string{`{instance="db-1", mountpoint="/"}`, `{instance="db-2", mountpoint="/data"}`}},
		{"a label missing from one series", []map[string]string{
			{"job": "api", "code": "500"},
			{"job": "api"},
		}, []string{`{code="500"}`, `{}`}},
		{"one series keeps its labels", []map[string]string{
			{"__name__": "up", "job": "api", "instance": "10.0.0.1:9090"},
		}, []string{`{instance="10.0.0.1:9090", job="api"}`}},
		{"metric names tell them apart", []map[string]string{
			{"__name__": "node_load1", "instance": "a"},
			{"__name__": "node_load5", "instance": "a"},
		}, []string{`node_load1{}`, `node_load5{}`}},
		{"quotes escaped", []map[string]string{
			{"path": `C:\"x"`}, {"path": "y"},
		}, []string{`{path="C:\\\"x\""}`, `{path="y"}`}},
		{"none", nil, []string{}},
	} {
		var ss []promds.Series
		for _, l := range tc.in {
			ss = append(ss, promds.Series{Labels: l})
		}
		if got := promds.Names(ss); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
