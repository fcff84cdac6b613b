package prometheus_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
)

// BenchmarkQueryRange is a whole query of 5 series × 300 points over
// loopback HTTP: request, answer, decoding.
func BenchmarkQueryRange(b *testing.B) {
	start := t0
	end := start.Add(75 * time.Minute)
	step := promds.Step(end.Sub(start))
	q := promfake.Query{Start: start, End: end, Step: step}
	var ss []promfake.Series
	for i := range 5 {
		s := promfake.Series{Metric: map[string]string{"__name__": "node_load1", "instance": "db-" + string(rune('1'+i)), "job": "node"}}
		for j, ts := range q.Times() {
			s.Points = append(s.Points, promfake.Point{T: ts, V: promfake.F(float64(j) * 0.37)})
		}
		ss = append(ss, s)
	}
	body := promfake.Matrix(ss, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c, err := promds.New(promds.Options{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.QueryRange(context.Background(), "node_load1", start, end, step)
		if err != nil || len(r.Series) != 5 || len(r.Series[0].Points) != 301 {
			b.Fatalf("%v, %d series", err, len(r.Series))
		}
	}
}

// BenchmarkAnalyze analyses every rule of the Analyze table once per
// iteration; ns/op divided by the table's size is the time per rule.
func BenchmarkAnalyze(b *testing.B) {
	var n int
	for _, tc := range analyzeCases {
		n += len(tc.expr)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, tc := range analyzeCases {
			promds.Analyze(tc.expr)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(analyzeCases)), "ns/rule")
}

// BenchmarkAnalyzeLongRule is the longest real rule of the table,
// KubePersistentVolumeFillingUp.
func BenchmarkAnalyzeLongRule(b *testing.B) {
	var expr string
	for _, tc := range analyzeCases {
		if strings.HasPrefix(tc.name, "KubePersistentVolumeFillingUp") {
			expr = tc.expr
		}
	}
	b.SetBytes(int64(len(expr)))
	b.ReportAllocs()
	for b.Loop() {
		promds.Analyze(expr)
	}
}
