package report_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/report"
)

// seed makes n records spread over span before end, as a busy team's would be: 40 rules,
// most acknowledged, some still open, a page or three each, a few flaps
// and votes.
func seed(n int, span time.Duration, end time.Time) []incidents.Stat {
	rng := rand.New(rand.NewPCG(7, 8))
	out := make([]incidents.Stat, n)
	for i := range out {
		created := end.Add(-1 - time.Duration(rng.Int64N(int64(span))))
		st := incidents.Stat{Number: int64(i + 1), Team: "payments", Source: "alertmanager", CreatedAt: created,
			Rules: []incidents.RuleCount{{Source: "alertmanager", Name: fmt.Sprintf("Rule%02d", rng.IntN(40)), Fired: 1 + rng.IntN(4)}}}
		if rng.IntN(10) < 8 {
			st.AckedAt = created.Add(time.Duration(rng.IntN(1800)) * time.Second)
		}
		if rng.IntN(10) < 9 {
			st.ResolvedAt = created.Add(time.Duration(rng.IntN(7200)) * time.Second)
		}
		for p := range rng.IntN(4) {
			st.Pages = append(st.Pages, incidents.Page{At: created.Add(time.Duration(p) * 5 * time.Minute), Kind: "mention"})
		}
		st.PageCount = len(st.Pages)
		st.Flaps = rng.IntN(3) / 2
		if rng.IntN(5) == 0 {
			st.Feedback = &incidents.Feedback{Actionable: rng.IntN(2) == 0}
		}
		out[i] = st
	}
	return out
}

// BenchmarkBuild is the insights of 90 days over 100,000 records (the 90
// days and the 90 before them), in a time zone with DST:
//
//	go test -run '^$' -bench BenchmarkBuild -benchmem ./report/
func BenchmarkBuild(b *testing.B) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		loc = time.UTC
	}
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	o := report.Options{From: end.AddDate(0, 0, -90), To: end, Location: loc}
	stats := seed(100_000, 2*end.Sub(o.From), end)
	b.ResetTimer()
	for b.Loop() {
		r := report.Build(stats, o)
		if r.Incidents+r.Previous.Incidents != len(stats) {
			b.Fatalf("%d + %d incidents of %d", r.Incidents, r.Previous.Incidents, len(stats))
		}
	}
}
