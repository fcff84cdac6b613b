package bot_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// BenchmarkEscalationScheduler: 100,000 pending escalations in Redis, of
// which 1,000 a second come due for -benchtime seconds' worth (b.N
// steps); reports the scheduler's lateness (due → step run) and the
// process's heap with all of them pending.
//
//	CI=true go test -run '^$' -bench EscalationScheduler -benchtime 10000x ./bot
func BenchmarkEscalationScheduler(b *testing.B) {
	const pending = 100_000
	store := redisStore(b)
	cfg := bot.DefaultConfig()
	cfg.Policies = []bot.PolicyConfig{{Name: "p", Steps: []bot.StepConfig{{Notify: "channel"}, {Wait: bot.Duration(24 * time.Hour)}, {Notify: "channel"}}}}
	cfg.Teams = []bot.TeamConfig{{Name: "t", Policy: "p"}}
	cfg.DefaultTeam = "t"
	due := b.N
	// Loading 100,000 incidents takes ~20 s here: the due steps start after.
	start := time.Now().Add(45 * time.Second)
	// b.N of them come due at 1,000/s from start; the rest a day later.
	dueAt := func(i int) time.Time {
		if i < due {
			return start.Add(time.Duration(i) * time.Millisecond)
		}
		return start.Add(24 * time.Hour)
	}
	now := time.Now()
	ids := make([]string, pending)
	inParallel(pending, 64, func(i int) {
		batch := storetest.Batch(fmt.Sprintf("esc-%d", i), storetest.Alert(fmt.Sprintf("fp-%d", i), incidents.AlertFiring, now))
		batch.Team = "t"
		opts := storetest.Opts(now)
		opts.Start = func(inc *incidents.Incident, _ time.Time) {
			inc.Escalation = &incidents.Escalation{Policy: "p", DueAt: dueAt(i)}
		}
		r, err := store.Ingest(context.Background(), batch, opts)
		if err != nil {
			b.Error(err)
			return
		}
		ids[i] = r.Incident.ID
	})
	if time.Now().After(start) {
		b.Fatalf("loading took longer than the 45 s allowed")
	}
	srv, err := bot.New(cfg, bot.Deps{Store: store, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.ResetTimer()
	go func() { defer close(done); srv.Run(ctx) }()
	// The due steps come at 1,000/s; then give the last five seconds (the
	// lateness comes from the events' times, not from this wait; one second
	// was too short for a scheduler still warming up when b.N is small).
	time.Sleep(time.Until(start.Add(time.Duration(due)*time.Millisecond + 5*time.Second)))
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapRunning := ms.HeapAlloc
	cancel()
	<-done
	var late []time.Duration
	for i := range due {
		inc, err := store.Get(context.Background(), ids[i])
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range inc.Timeline {
			if ev.Kind == incidents.EventEscalated {
				late = append(late, ev.At.Sub(dueAt(i)))
				break
			}
		}
	}
	if len(late) < due*99/100 {
		b.Fatalf("only %d of %d due steps ran", len(late), due)
	}
	slices.Sort(late)
	b.ReportMetric(float64(late[len(late)/2].Milliseconds()), "lateness-p50-ms")
	b.ReportMetric(float64(late[len(late)*99/100].Milliseconds()), "lateness-p99-ms")
	b.ReportMetric(float64(heapBefore)/(1<<20), "heap-MiB-pending")
	b.ReportMetric(float64(heapRunning)/(1<<20), "heap-MiB-running")
	b.ReportMetric(float64(len(late)), "steps")
}
