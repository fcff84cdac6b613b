package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// benchTeams is how many teams the benchmark's incidents spread over.
const benchTeams = 10

// BenchEnd is when the benchmark's incidents end: they open over the 90
// days before it.
var BenchEnd = T0

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// BenchList measures what a console, the API and a report ask of a store
// that holds many incidents: List of 100 summaries (newest, by state, by
// team, by team and state, by creation time, deep pages), a report's read
// of a team's 30 and 90 days, and one incident's first alerts and last
// events (what GET /api/v1/incidents/{id} reads) on an incident of 50,000
// alerts. It reports the p50 and p99 latency of each, and logs what a Get
// of the whole 50,000-alert incident costs, for contrast.
//
// The store holds KLAXON_BENCH_INCIDENTS incidents (default 100,000)
// opened over 90 days across 10 teams, six in seven resolved, and
// KLAXON_BENCH_BIG (default 3) of them, among the newest, with 50,000
// alerts each (KLAXON_BENCH_BIG_ALERTS). Storing them takes a minute or
// two; each store's own benchmark calls this:
//
//	go test -v -run '^$' -bench BenchmarkList -benchtime 200x -timeout 60m ./incidents/boltstore/ ./incidents/redisstore/
func BenchList(b *testing.B, newStore NewStore) {
	n := envInt("KLAXON_BENCH_INCIDENTS", 100000)
	bigs := envInt("KLAXON_BENCH_BIG", 3)
	bigAlerts := envInt("KLAXON_BENCH_BIG_ALERTS", 50000)
	s := newStore(b)
	began := time.Now()
	big := Seed(b, s, n, bigs, bigAlerts)
	b.Logf("stored %d incidents (%d of %d alerts) in %v", n, bigs, bigAlerts, time.Since(began).Round(time.Millisecond))
	if big != "" {
		logGet(b, s, big)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	day := 24 * time.Hour
	team := "team-3"
	cases := []struct {
		name string
		opts func() incidents.ListOptions
	}{
		{"list/newest", func() incidents.ListOptions { return incidents.ListOptions{} }},
		{"list/deep", func() incidents.ListOptions { return incidents.ListOptions{Before: 1 + rng.Int64N(int64(n))} }},
		{"list/open", func() incidents.ListOptions { return incidents.ListOptions{States: incidents.OpenStates} }},
		{"list/team", func() incidents.ListOptions { return incidents.ListOptions{Team: team} }},
		{"list/team-open", func() incidents.ListOptions { return incidents.ListOptions{Team: team, States: incidents.OpenStates} }},
		{"list/team-resolved-deep", func() incidents.ListOptions {
			return incidents.ListOptions{Team: team, States: []incidents.State{incidents.Resolved}, Before: 1 + rng.Int64N(int64(n))}
		}},
		{"list/last-7d", func() incidents.ListOptions { return incidents.ListOptions{Since: BenchEnd.Add(-7 * day)} }},
		{"list/team-30d", func() incidents.ListOptions { return incidents.ListOptions{Team: team, Since: BenchEnd.Add(-30 * day)} }},
		{"list/a-day-deep", func() incidents.ListOptions {
			since := BenchEnd.Add(-time.Duration(1+rng.IntN(88)) * day)
			return incidents.ListOptions{Since: since, Until: since.Add(day)}
		}},
		{"list/team-open-a-week", func() incidents.ListOptions {
			since := BenchEnd.Add(-time.Duration(7+rng.IntN(80)) * day)
			return incidents.ListOptions{Team: team, States: incidents.OpenStates, Since: since, Until: since.Add(7 * day)}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			timed(b, func() {
				opts := c.opts()
				l, err := s.List(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(l) == 0 {
					b.Fatalf("List(%+v) is empty", opts)
				}
			})
		})
	}
	for _, days := range []int{30, 90} {
		b.Run(fmt.Sprintf("report/team-%dd", days), func(b *testing.B) {
			count := 0
			timed(b, func() {
				opts := incidents.ListOptions{Team: team, Since: BenchEnd.Add(-time.Duration(days) * day), Limit: incidents.MaxListLimit}
				count = 0
				for {
					l, err := s.List(ctx, opts)
					if err != nil {
						b.Fatal(err)
					}
					count += len(l)
					if len(l) < opts.Limit {
						return
					}
					opts.Before = l[len(l)-1].Number
				}
			})
			b.ReportMetric(float64(count), "incidents")
		})
	}
	b.Run("incident/summary+100-alerts+200-events", func(b *testing.B) {
		timed(b, func() {
			if _, err := s.Summary(ctx, big); err != nil {
				b.Fatal(err)
			}
			if a, _, err := s.Alerts(ctx, big, 0, 100); err != nil || len(a) != 100 {
				b.Fatal(len(a), err)
			}
			if _, _, err := s.Events(ctx, big, -200, 200); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("incident/alerts-last-page", func(b *testing.B) {
		timed(b, func() {
			if a, _, err := s.Alerts(ctx, big, bigAlerts-100, 100); err != nil || len(a) != 100 {
				b.Fatal(len(a), err)
			}
		})
	})
}

// logGet logs how long Get of the incident id takes (the median of
// five): what reading a whole big incident costs, which lists and pages
// no longer pay.
func logGet(b *testing.B, s incidents.Store, id string) {
	var lat []time.Duration
	for range 5 {
		t0 := time.Now()
		inc, err := s.Get(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		if len(lat) == 5 {
			slices.Sort(lat)
			b.Logf("Get of %s (%d alerts): %v", id, len(inc.Alerts), lat[2].Round(time.Millisecond))
		}
	}
}

// timed runs fn b.N times and reports its p50 and p99 latency. It starts
// from a collected heap, so that one case does not pay for the garbage of
// the one before (or of storing the incidents).
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

// Seed stores n incidents opened over the 90 days before BenchEnd, 16 at
// a time (each round at one instant, so numbers follow creation times),
// of teams team-0 … team-9, six in seven resolved; bigs of them, among
// the newest and of team-3, with bigAlerts alerts. It returns the ID of
// the last big one. Benchmarks of what reads many incidents (a console,
// a report) share it.
func Seed(b testing.TB, s incidents.Store, n, bigs, bigAlerts int) string {
	return SeedWith(b, s, SeedOptions{N: n, Bigs: bigs, BigAlerts: bigAlerts})
}

// SeedOptions say what SeedWith stores.
type SeedOptions struct {
	// N incidents open over Span before BenchEnd (default 90 days), 16
	// at a time (each round at one instant, so numbers follow creation
	// times); six in seven are resolved.
	N    int
	Span time.Duration
	// Teams weighs the teams team-0, team-1, …: of every sum(Teams)
	// incidents, Teams[k] are team-k's. Default: ten teams alike.
	Teams []int
	// Bigs of them, among the newest and of team-3, hold BigAlerts alerts.
	Bigs, BigAlerts int
	// Report makes the incidents what a report reads: each paged when it
	// opens (a mention; a call too for one in four), one in three
	// acknowledged three minutes in, the resolved ones resolved twenty
	// minutes in (else at once), one in ten given feedback.
	Report bool
}

// SeedWith stores what o says (see SeedOptions), and returns the ID of
// the last big incident.
func SeedWith(b testing.TB, s incidents.Store, o SeedOptions) string {
	const width = 16
	n := o.N
	if o.Span <= 0 {
		o.Span = 90 * 24 * time.Hour
	}
	if len(o.Teams) == 0 {
		o.Teams = slices.Repeat([]int{1}, benchTeams)
	}
	var teamOf []int // incident i's team is teamOf[i % len(teamOf)]
	for k, w := range o.Teams {
		teamOf = append(teamOf, slices.Repeat([]int{k}, w)...)
	}
	step := o.Span / time.Duration(max(n, 1))
	start := BenchEnd.Add(-o.Span)
	isBig := map[int]bool{}
	for k := range o.Bigs {
		isBig[n-1-k*37] = true
	}
	var big string
	var mu sync.Mutex
	ctx := context.Background()
	for r := 0; r < n; r += width {
		now := start.Add(time.Duration(r) * step)
		var wg sync.WaitGroup
		for i := r; i < min(r+width, n); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fp := "b" + strconv.Itoa(i)
				alerts := []incidents.Alert{Alert(fp, incidents.AlertFiring, now)}
				if isBig[i] {
					alerts = ManyAlerts(fp+"-", o.BigAlerts, now)
				}
				bt := TeamBatch("bench/"+fp, fmt.Sprintf("team-%d", teamOf[i%len(teamOf)]), alerts...)
				if isBig[i] {
					bt.Team = "team-3"
				}
				person := fmt.Sprintf("person-%d", i%12)
				opts := Opts(now)
				if o.Report {
					opts.Start = func(inc *incidents.Incident, now time.Time) {
						inc.RecordPage(now, "mention", person)
						if i%4 == 0 {
							inc.RecordPage(now.Add(5*time.Minute), "call", person)
						}
					}
				}
				res, err := s.Ingest(ctx, bt, opts)
				if err != nil {
					b.Error(err)
					return
				}
				if isBig[i] {
					mu.Lock()
					big = res.Incident.ID
					mu.Unlock()
					return
				}
				id := res.Incident.ID
				if o.Report && i%3 == 0 {
					if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
						return inc.Apply(incidents.Acknowledge, person, "", now.Add(3*time.Minute))
					}); err != nil {
						b.Error(err)
						return
					}
				}
				if i%7 != 0 { // one in seven stays open, in every team
					bt.Alerts[0].Status = incidents.AlertResolved
					at := now
					if o.Report {
						at = now.Add(20 * time.Minute)
					}
					if _, err := s.Ingest(ctx, bt, Opts(at)); err != nil {
						b.Error(err)
						return
					}
				}
				if o.Report && i%10 == 0 {
					if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
						return inc.SetFeedback(i%20 == 0, "flapping threshold", person, now.Add(time.Hour))
					}); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
	}
	return big
}

// BenchStats measures what the console's insights and the noise report
// ask of a store: Stats of a team over 7, 30 and 90 days, with p50 and
// p99 latency, on two stores of KLAXON_BENCH_INCIDENTS incidents (default
// 100,000) made as a report reads them (SeedOptions.Report):
//
//   - year: opened over the year before BenchEnd across five teams
//     (weights 8, 5, 3, 2, 2), so that team-0's 90 days hold about 10,000
//     of them; also its 180 days (the insights page's 90 days read with
//     the 90 before, to compare) and every team over 90 days (about
//     25,000);
//   - one-team: opened over 90 days, all of team-0: its 90 days hold all.
//
// Storing them takes a few minutes; each store's own benchmark calls this:
//
//	go test -v -run '^$' -bench BenchmarkStats -benchtime 50x -timeout 60m ./incidents/boltstore/ ./incidents/redisstore/
func BenchStats(b *testing.B, newStore NewStore) {
	n := envInt("KLAXON_BENCH_INCIDENTS", 100000)
	day := 24 * time.Hour
	type report struct {
		name string
		team string
		days int
	}
	for _, c := range []struct {
		name    string
		seed    SeedOptions
		reports []report
	}{
		{"year", SeedOptions{N: n, Span: 365 * day, Teams: []int{8, 5, 3, 2, 2}, Report: true}, []report{
			{"team-7d", "team-0", 7}, {"team-30d", "team-0", 30}, {"team-90d", "team-0", 90},
			{"team-180d", "team-0", 180}, {"every-team-90d", "", 90},
		}},
		{"one-team", SeedOptions{N: n, Span: 90 * day, Teams: []int{1}, Report: true}, []report{
			{"team-7d", "team-0", 7}, {"team-30d", "team-0", 30}, {"team-90d", "team-0", 90},
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newStore(b)
			st, ok := s.(incidents.Stats)
			if !ok {
				b.Skip("store has no Stats")
			}
			began := time.Now()
			SeedWith(b, s, c.seed)
			b.Logf("stored %d incidents in %v", n, time.Since(began).Round(time.Millisecond))
			for _, r := range c.reports {
				b.Run(r.name, func(b *testing.B) {
					opts := incidents.StatsOptions{Team: r.team, Since: BenchEnd.Add(-time.Duration(r.days) * day), Until: BenchEnd}
					count := 0
					timed(b, func() {
						got, err := st.Stats(context.Background(), opts)
						if err != nil {
							b.Fatal(err)
						}
						if len(got) == 0 {
							b.Fatalf("Stats(%+v) is empty", opts)
						}
						count = len(got)
					})
					b.ReportMetric(float64(count), "incidents")
				})
			}
		})
	}
}
