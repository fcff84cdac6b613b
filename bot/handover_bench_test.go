package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
)

// BenchmarkHandoverLook is one look of the handover announcer over 100
// teams, each with its own schedule, when nothing is due (what every
// replica does every 2 seconds nearly always), on the embedded store.
func BenchmarkHandoverLook(b *testing.B) { benchLook(b, bobOn.Add(3*time.Hour)) }

// BenchmarkHandoverLookSettled is a look a minute after every team's
// handover, once it was announced (400 messages): what every replica
// does for half an hour after a handover.
func BenchmarkHandoverLookSettled(b *testing.B) { benchLook(b, bobOn.Add(time.Minute)) }

func benchLook(b *testing.B, at time.Time) {
	clock := &fakeClock{now: at}
	cfg := bot.DefaultConfig()
	handoverConfig(cfg)
	base := cfg.Teams[0]
	cfg.Teams, cfg.Schedules = nil, nil
	for i := range 100 {
		name := fmt.Sprintf("team%d", i)
		cfg.Schedules = append(cfg.Schedules, bot.ScheduleConfig{Name: name, Timezone: "Europe/Berlin",
			Layers: []bot.RotationConfig{{Every: bot.Duration(24 * time.Hour), Start: "2026-03-02T09:00:00+01:00", People: []string{"alice", "bob"}},
				{Every: bot.Duration(168 * time.Hour), Start: "2026-03-02T09:00:00+01:00", People: []string{"carol", "bob"}, From: "09:00", To: "17:00"}}})
		t := base
		t.Name, t.Schedule = name, name
		cfg.Teams = append(cfg.Teams, t)
	}
	cfg.DefaultTeam = "team0"
	srv, err := bot.New(cfg, bot.Deps{Store: boltStore(b), Clock: clock, Logger: discardLogger(),
		Chats: map[string]bot.Chat{bot.Slack: newFakeChat(), bot.Telegram: newFakeChat()}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := bot.CheckHandovers(ctx, srv); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := bot.CheckHandovers(ctx, srv); err != nil {
			b.Fatal(err)
		}
	}
}
