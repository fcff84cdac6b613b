package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// BenchmarkIngest measures POST /hooks/alertmanager through the real handler
// (auth, body limit, parse, severity, store commit, JSON answer) on each
// store, for single-alert and 100-alert payloads, with 0 and with
// KLAXON_BENCH_RESOLVED (default 100000) resolved incidents already stored.
// It reports alerts/s and the p50/p99 handler latency.
//
//	go test -run '^$' -bench BenchmarkIngest -benchtime 20000x -timeout 60m ./bot/
//
// 32 requests are in flight at once (b.SetParallelism(16) on 2 cores).
func BenchmarkIngest(b *testing.B) {
	resolved := 100000
	if v := os.Getenv("KLAXON_BENCH_RESOLVED"); v != "" {
		resolved, _ = strconv.Atoi(v)
	}
	stores := []struct {
		name string
		mk   func(testing.TB) incidents.Store
	}{{"redis", redisStore}, {"bolt", boltStore}}
	for _, st := range stores {
		b.Run("store="+st.name, func(b *testing.B) {
			for _, pre := range []int{0, resolved} {
				b.Run(fmt.Sprintf("stored=%d", pre), func(b *testing.B) {
					// One store for the cases below: preloading 100,000
					// incidents takes a while, and the cases only add.
					store := st.mk(b)
					if pre > 0 {
						start := time.Now()
						preload(b, store, pre)
						b.Logf("stored %d resolved incidents in %v", pre, time.Since(start).Round(time.Millisecond))
					}
					for _, c := range []struct {
						kind string
						size int
					}{{"new", 1}, {"join", 1}, {"repeat", 1}, {"new", 100}} {
						b.Run(fmt.Sprintf("%s/alerts=%d", c.kind, c.size), func(b *testing.B) {
							benchIngest(b, newEnv(b, store, nil), c.kind, c.size)
						})
					}
				})
			}
		})
	}
}

// inParallel calls fn(0) … fn(n-1), at most width at once.
func inParallel(n, width int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// preload stores n incidents that opened and resolved, in parallel.
func preload(b *testing.B, s incidents.Store, n int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				fp := "old-" + strconv.FormatInt(i, 10)
				a := incidents.Alert{Source: "alertmanager", Fingerprint: fp, Status: incidents.AlertFiring, StartsAt: now,
					Labels: map[string]string{"alertname": "Old", "i": fp}}
				bt := &incidents.Batch{Source: "alertmanager", GroupKey: "old/" + fp, Title: "old", Alerts: []incidents.Alert{a}}
				opts := incidents.IngestOptions{Now: now, ReopenWindow: time.Hour}
				if _, err := s.Ingest(context.Background(), bt, opts); err != nil {
					b.Error(err)
					return
				}
				bt.Alerts[0].Status = incidents.AlertResolved
				if _, err := s.Ingest(context.Background(), bt, opts); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// makeBody renders an Alertmanager notification of size alerts, all new.
func makeBody(group, prefix string, size int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"version":"4","groupKey":%q,"status":"firing","receiver":"klaxon","truncatedAlerts":0,`+
		`"groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency","severity":"critical"},`+
		`"commonAnnotations":{"summary":"p99 latency above 2s"},"externalURL":"http://am:9093","alerts":[`, group)
	for i := range size {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"status":"firing","labels":{"alertname":"HighLatency","severity":"critical","instance":"%s-%d:9100","service":"payments"},`+
			`"annotations":{"summary":"p99 latency above 2s","description":"p99 is 2.7s"},"startsAt":"2026-03-01T11:58:30Z",`+
			`"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"%s-%d"}`, prefix, i, prefix, i)
	}
	sb.WriteString("]}")
	return sb.String()
}

// benchGroups is how many open incidents the join and repeat cases spread
// their alerts over.
const benchGroups = 1000

// benchIngest posts b.N payloads of size alerts from 16×GOMAXPROCS goroutines:
//   - new: each payload is a new group, so a new incident: the costliest
//     path (group lease, counter, index);
//   - join: each payload brings a new alert to one of 1,000 open incidents;
//   - repeat: each payload repeats one of 1,000 groups' notification
//     (repeat_interval, retries, an HA pair): nothing to write.
//
// benchRuns tells each run of benchIngest's groups from every other's, as
// runs share a store.
var benchRuns atomic.Int64

func benchIngest(b *testing.B, e *env, kind string, size int) {
	run := "bench" + strconv.FormatInt(benchRuns.Add(1), 10)
	group := func(i int) string { return run + "/g" + strconv.Itoa(i) }
	bodies := make([]string, b.N)
	for i := range bodies {
		switch kind {
		case "new":
			bodies[i] = makeBody(group(i), run+"n"+strconv.Itoa(i), size)
		case "join":
			bodies[i] = makeBody(group(i%benchGroups), run+"j"+strconv.Itoa(i), size)
		case "repeat":
			bodies[i] = makeBody(group(i%benchGroups), run+"r"+strconv.Itoa(i%benchGroups), size)
		}
	}
	if kind != "new" {
		for g := range benchGroups {
			body := makeBody(group(g), run+"r"+strconv.Itoa(g), size)
			if r := e.do("POST", "/hooks/alertmanager", body); r.code != 200 {
				b.Fatalf("setup: %d %s", r.code, r.body)
			}
		}
	}
	hammer(b, e, size, func(i int) *http.Request {
		return httptest.NewRequest("POST", "/hooks/alertmanager", strings.NewReader(bodies[i]))
	})
}

// hammer sends the b.N requests req makes through e's handler, 16 per CPU
// at once, each of size alerts, and reports alerts/s and latency. A 503
// (klaxon shed the request: its budgets, its deadline) is sent again, as
// Alertmanager would; the latency counts until the 200, and "shed" says
// how many 503s there were.
func hammer(b *testing.B, e *env, size int, req func(i int) *http.Request) {
	lat := make([]time.Duration, b.N)
	var next, shed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			t0 := time.Now()
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req(int(i)))
			for try := 0; rec.Code == 503 && try < 20; try++ {
				shed.Add(1)
				time.Sleep(10 * time.Millisecond)
				rec = httptest.NewRecorder()
				e.h.ServeHTTP(rec, req(int(i)))
			}
			lat[i] = time.Since(t0)
			if rec.Code != 200 {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N*size)/elapsed.Seconds(), "alerts/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	if n := shed.Load(); n > 0 {
		b.ReportMetric(float64(n), "shed")
	}
}
