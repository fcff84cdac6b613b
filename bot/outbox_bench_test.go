package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// BenchmarkOutboxThroughput measures card syncs per second: n incidents
// wait in the outbox, then the workers post every card to a zero-latency
// chat with rate limits off (and, in the "update" case, edit every card
// after each incident is acknowledged). One card sync = one card brought
// up to date on one destination: claim, load, render, call, record,
// release.
//
//	CI=true go test -run '^$' -bench OutboxThroughput -benchtime 4000x ./bot
func BenchmarkOutboxThroughput(b *testing.B) {
	for _, store := range []struct {
		name string
		open func(testing.TB) incidents.Store
	}{{"redis", redisStore}, {"bolt", boltStore}} {
		for _, workers := range []int{8, 32} {
			for _, kind := range []string{"post", "update"} {
				b.Run(fmt.Sprintf("%s/workers=%d/%s", store.name, workers, kind), func(b *testing.B) {
					benchOutbox(b, store.open(b), workers, kind)
				})
			}
		}
	}
}

func benchOutbox(b *testing.B, store incidents.Store, workers int, kind string) {
	chat := newFakeChat()
	cfg := bot.DefaultConfig()
	cfg.Slack = &bot.SlackConfig{BotToken: "xoxb-bench", APIURL: "https://slack.invalid/api/"}
	cfg.Teams = []bot.TeamConfig{{Name: "payments", Slack: &bot.SlackDest{Channel: slackC}}}
	cfg.DefaultTeam = "payments"
	cfg.Outbox.Workers = workers
	srv, err := bot.New(cfg, bot.Deps{Store: store, Logger: discardLogger(), Chats: map[string]bot.Chat{bot.Slack: chat}})
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	now := time.Now()
	ids := make([]string, n)
	inParallel(n, 32, func(i int) {
		batch := storetest.Batch(fmt.Sprintf("bench-%d", i), storetest.Alert(fmt.Sprintf("fp-%d", i), incidents.AlertFiring, now))
		batch.Team = "payments"
		r, err := store.Ingest(context.Background(), batch, storetest.Opts(now))
		if err != nil {
			b.Error(err)
			return
		}
		ids[i] = r.Incident.ID
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	wait := func(op string, want int) {
		for chat.count(op) < want {
			time.Sleep(time.Millisecond)
		}
	}
	if kind == "update" {
		// Post every card first (not timed), then change every incident.
		go func() { defer close(done); srv.Run(ctx) }()
		wait("post", n)
		cancel()
		<-done
		inParallel(n, 32, func(i int) {
			if _, err := store.Update(context.Background(), ids[i], func(inc *incidents.Incident) error {
				return inc.Apply(incidents.Acknowledge, "bench", "", now)
			}); err != nil {
				b.Error(err)
			}
		})
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan struct{})
	}
	b.ResetTimer()
	start := time.Now()
	go func() { defer close(done); srv.Run(ctx) }()
	wait(kind, n)
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(n)/elapsed.Seconds(), "syncs/s")
	if p := chat.count("post"); p != n {
		b.Errorf("%d posts for %d incidents", p, n)
	}
}
