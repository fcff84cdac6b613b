package bot_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// BenchmarkNoiseReport is the noise report of one team over 30 days —
// reading the Stats index, the figures, the suggestions and the digest —
// with KLAXON_BENCH_INCIDENTS (default 100,000) incidents stored, on each
// store. "all-in-window": every incident is the team's and within the 30
// days or the 30 before them (the worst case: all are read); "a-year":
// a year of five teams' incidents, this team's share of them (what a team
// usually has). Target: under 500 ms.
//
//	go test -run '^$' -bench BenchmarkNoiseReport -benchtime 10x ./bot/
func BenchmarkNoiseReport(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("KLAXON_BENCH_INCIDENTS")); err == nil && v > 0 {
		n = v
	}
	day := 24 * time.Hour
	for _, st := range []struct {
		name string
		mk   func(testing.TB) incidents.Store
	}{{"redis", redisStore}, {"bolt", boltStore}} {
		for _, c := range []struct {
			name string
			seed storetest.SeedOptions
		}{
			{"all-in-window", storetest.SeedOptions{N: n, Span: 60 * day, Teams: []int{1}, Report: true}},
			{"a-year", storetest.SeedOptions{N: n, Span: 365 * day, Teams: []int{8, 5, 3, 2, 2}, Report: true}},
		} {
			b.Run("store="+st.name+"/"+c.name, func(b *testing.B) {
				store := st.mk(b)
				began := time.Now()
				storetest.SeedWith(b, store, c.seed)
				b.Logf("stored %d incidents in %v", n, time.Since(began).Round(time.Millisecond))
				cfg := bot.DefaultConfig()
				cfg.Teams = []bot.TeamConfig{{Name: "team-0"}}
				cfg.DefaultTeam = "team-0"
				srv, err := bot.New(cfg, bot.Deps{Store: store, Logger: discardLogger(), Version: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				var read int
				b.ResetTimer()
				for b.Loop() {
					r, err := srv.NoiseReport(context.Background(), "team-0", 30, storetest.BenchEnd)
					if err != nil {
						b.Fatal(err)
					}
					if r.Digest() == "" || r.Report.Incidents == 0 {
						b.Fatal("an empty report")
					}
					read = r.Report.Incidents + r.Report.Previous.Incidents
				}
				b.ReportMetric(float64(read), "incidents")
			})
		}
	}
}
