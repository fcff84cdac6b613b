package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// BenchmarkHeartbeatCheck is one pass of the heartbeat scheduler (every
// replica runs one a second) with 10,000 heartbeats, none due: the cost
// of watching them. cpu-%/s is the pass's time as a share of the second
// between passes (the target: under 5 % of one core).
func BenchmarkHeartbeatCheck(b *testing.B) {
	for _, st := range []struct {
		name  string
		store func(testing.TB) incidents.Store
	}{{"bolt", boltStore}, {"redis", redisStore}} {
		b.Run(st.name, func(b *testing.B) {
			cfg := bot.DefaultConfig()
			for i := range 10000 {
				cfg.Heartbeats = append(cfg.Heartbeats, bot.HeartbeatConfig{Name: fmt.Sprintf("hb-%05d", i), Interval: bot.Duration(time.Hour)})
			}
			clock := &fakeClock{now: t0}
			srv, err := bot.New(cfg, bot.Deps{Store: st.store(b), Clock: clock, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := bot.CheckHeartbeats(ctx, srv); err != nil { // the sync at start
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				clock.Add(time.Second)
				if err := bot.CheckHeartbeats(ctx, srv); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(time.Second)*100, "cpu-%/s")
		})
	}
}
