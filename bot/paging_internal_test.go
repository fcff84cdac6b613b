package bot

import (
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func TestPendingPages(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	inc := &incidents.Incident{}
	inc.AddPages(incidents.PageAttempt{Key: "a", Person: "alice", Method: incidents.PageSMS, DueAt: now.Add(2 * time.Minute)},
		incidents.PageAttempt{Key: "b", Person: "alice", Method: incidents.PageCall, DueAt: now.Add(-time.Second)},
		incidents.PageAttempt{Key: "c", Person: "alice", Method: incidents.PageDM, DueAt: now, Done: true})
	if got, want := pendingPages(inc, now), "alice by SMS in 2m, alice by phone call now"; got != want {
		t.Fatalf("pendingPages = %q, want %q", got, want)
	}
}
