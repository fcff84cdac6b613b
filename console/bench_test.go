package console_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// BenchmarkPages times the console's pages (the handler, from request to
// the whole HTML in memory) over a store holding KLAXON_BENCH_INCIDENTS
// incidents (default 100,000, as storetest.Seed stores them: 10 teams,
// one in seven open, one of 50,000 alerts), on the embedded store and on
// Redis, and reports p50 and p99:
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 300x -timeout 60m ./console/
func BenchmarkPages(b *testing.B) {
	for _, st := range []struct {
		name string
		open func(b *testing.B) incidents.Store
	}{
		{"bolt", func(b *testing.B) incidents.Store {
			s, err := boltstore.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"redis", func(b *testing.B) incidents.Store {
			rdb := storetest.Redis(b)
			prefix := storetest.Prefix("console-bench")
			s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
			b.Cleanup(func() { s.Close(); storetest.DeleteKeys(rdb, prefix) })
			return s
		}},
	} {
		b.Run(st.name, func(b *testing.B) {
			n := envInt("KLAXON_BENCH_INCIDENTS", 100000)
			s := st.open(b)
			began := time.Now()
			big := storetest.Seed(b, s, n, 1, envInt("KLAXON_BENCH_BIG_ALERTS", 50000))
			b.Logf("stored %d incidents in %v", n, time.Since(began).Round(time.Second))
			be := backendOn(s, &clock{now: storetest.BenchEnd})
			be.teams = nil
			for i := range 10 {
				be.teams = append(be.teams, console.Team{Name: fmt.Sprintf("team-%d", i)})
			}
			e := newEnvOn(b, be)
			c, _ := e.signIn("alice")
			cookies := c.Jar.Cookies(mustURL(e.url("/ui/")))
			h := e.c.Handler()
			rng := rand.New(rand.NewPCG(1, 2))
			pages := []struct {
				name string
				path func() string
			}{
				{"incidents", func() string { return "/ui/" }},
				{"incidents/team", func() string { return "/ui/?team=team-3" }},
				{"incidents/resolved-deep", func() string {
					return fmt.Sprintf("/ui/?state=resolved&team=team-%d&before=%d", rng.IntN(10), 1+rng.IntN(n))
				}},
				{"incidents/search", func() string { return "/ui/?q=b9" }},
				{"incident", func() string { return fmt.Sprintf("/ui/incidents/INC-%d", 1+rng.IntN(n)) }},
				{"incident/50000-alerts", func() string { return "/ui/incidents/" + big }},
			}
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					size := 0
					timed(b, func() {
						req := httptest.NewRequest("GET", p.path(), nil)
						for _, ck := range cookies {
							req.AddCookie(ck)
						}
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d\n%.500s", req.URL, rec.Code, rec.Body)
						}
						size = rec.Body.Len()
					})
					b.ReportMetric(float64(size), "bytes")
				})
			}
		})
	}
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}

// timed runs fn b.N times and reports its p50 and p99 latency.
func timed(b *testing.B, fn func()) {
	lat := make([]time.Duration, b.N)
	runtime.GC()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		fn()
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
