package console_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// BenchmarkInsightsPage times the insights page for 90 days (and the 90
// before) over 100,000 incidents of one team, from the handler's request
// to the whole HTML: the figures (package report), the charts and the
// page. The records come from memory here (the stores' Stats index is
// timed by their own benchmarks):
//
//	go test -run '^$' -bench BenchmarkInsightsPage -benchtime 20x ./console/
func BenchmarkInsightsPage(b *testing.B) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	be := newBackend(b, &clock{now: now})
	be.teams[0].Location = time.UTC
	rng := rand.New(rand.NewPCG(3, 4))
	span := int64(181 * 24 * time.Hour)
	for i := range 100_000 {
		at := now.Add(-time.Duration(rng.Int64N(span)))
		st := incidents.Stat{Number: int64(i + 1), Team: "payments", Source: "alertmanager", CreatedAt: at,
			Rules: []incidents.RuleCount{{Source: "alertmanager", Name: fmt.Sprintf("Rule%02d", rng.IntN(60)), Fired: 1 + rng.IntN(3)}}}
		if rng.IntN(10) < 8 {
			st.AckedAt = at.Add(time.Duration(rng.IntN(1800)) * time.Second)
		}
		if rng.IntN(10) < 9 {
			st.ResolvedAt = at.Add(time.Duration(rng.IntN(7200)) * time.Second)
		}
		for p := range rng.IntN(3) {
			st.Pages = append(st.Pages, incidents.Page{At: at.Add(time.Duration(p) * time.Minute), Kind: "mention"})
		}
		st.PageCount = len(st.Pages)
		be.stats = append(be.stats, st)
	}
	e := newEnvOn(b, be)
	c, _ := e.signIn("alice")
	cookies := c.Jar.Cookies(mustURL(e.url("/ui/")))
	h := e.c.Handler()
	size := 0
	timed(b, func() {
		req := httptest.NewRequest("GET", "/ui/insights?team=payments&days=90", nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d\n%.500s", rec.Code, rec.Body)
		}
		size = rec.Body.Len()
	})
	b.ReportMetric(float64(size), "bytes")
}
