package bot_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// BenchmarkGraphJob is one graph job end to end, as a worker runs it: the
// two range queries (the last hour and the day before, 241 points a
// series) against promfake over HTTP, picking the series, drawing the PNG,
// storing it with its data (bolt) and the timeline event. png-bytes is the
// image's size.
func BenchmarkGraphJob(b *testing.B) {
	for _, n := range []int{1, 5, 50} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			prom := newFakeProm(b, n)
			e := newGraphEnv(b, boltStore(b), prom, nil, nil)
			inc := e.openGraphed("g1")
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if ok, err := bot.DrawGraph(ctx, e.srv, inc.ID); !ok || err != nil {
					b.Fatalf("no graph: %v", err)
				}
			}
			b.StopTimer()
			g, err := e.store.(incidents.Graphs).Graph(ctx, inc.ID)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(g.PNG)), "png-bytes")
		})
	}
}
