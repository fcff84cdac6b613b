package bot_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// After its incident is resolved, a channel's "show" without an ID means
// its latest incident, however many newer ones other teams opened (the
// team's index, not the newest 200 of all).
func TestChatLatestHereAmongManyOthers(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), nil)
		ours := e.open("ours")
		e.act(ours.ID, incidents.Resolve)
		for i := range 250 {
			b := storetest.TeamBatch(fmt.Sprintf("other-%d", i), "elsewhere", storetest.Alert(fmt.Sprintf("o%d", i), incidents.AlertFiring, e.clock.Now()))
			if _, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now())); err != nil {
				t.Fatal(err)
			}
		}
		wantReply(t, e.say("U1", "show"), ours.ID+" ·")
		wantReply(t, e.say("U1", "list"), "No open incidents here")
	})
}
