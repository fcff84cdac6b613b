package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// BenchmarkHeldWebhook is a firing webhook that opens an incident while
// windows are stored: the cost of reading the windows (one Redis round
// trip or one bolt read) on top of ingesting, with policies configured
// so that the window check runs. Figures in the branch's report:
//
//	go test -run '^$' -bench BenchmarkHeldWebhook -benchtime 2000x ./bot/
func BenchmarkHeldWebhook(b *testing.B) {
	for _, st := range []struct {
		name string
		mk   func(testing.TB) incidents.Store
	}{{"redis", redisStore}, {"bolt", boltStore}} {
		for _, windows := range []int{0, 20} {
			b.Run(fmt.Sprintf("store=%s/windows=%d", st.name, windows), func(b *testing.B) {
				store := st.mk(b)
				now := time.Now().UTC()
				for i := range windows {
					w := incidents.Maintenance{ID: fmt.Sprintf("mw-%d", i), Team: "payments", Match: map[string]string{"service": fmt.Sprint("db", i)},
						Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour), CreatedAt: now}
					if err := store.(incidents.Maintenances).AddMaintenance(context.Background(), w); err != nil {
						b.Fatal(err)
					}
				}
				e := newEnv(b, store, func(c *bot.Config) {
					c.Policies = []bot.PolicyConfig{{Name: "default", Steps: []bot.StepConfig{{Notify: "channel"}}}}
					c.Teams = []bot.TeamConfig{{Name: "payments", Policy: "default"}}
					c.DefaultTeam = "payments"
				})
				b.ResetTimer()
				for i := range b.N {
					r := e.do("POST", "/hooks/alertmanager", amPayload(fmt.Sprintf("bench-%d", i)))
					if r.code != 200 {
						b.Fatalf("%d %s", r.code, r.body)
					}
				}
			})
		}
	}
}
