package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// testCoverRequests: a request is taken once, by its answer or its
// expiry, however many take it at once.
func testCoverRequests(t *testing.T, c incidents.CoverRequests) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	req := func(id string, expires time.Duration) incidents.CoverRequest {
		return incidents.CoverRequest{ID: id, Team: "payments", Schedule: "primary", Person: "carol", Asker: "bob",
			From: t0.Add(expires), Until: t0.Add(expires + 9*time.Hour), AskedAt: t0, Expires: t0.Add(expires)}
	}
	for _, r := range []incidents.CoverRequest{req("a1", time.Hour), req("b2", 2*time.Hour), req("c3", 30*time.Minute)} {
		if err := c.AddCoverRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.CoverRequest(ctx, "a1"); err != nil || got.Asker != "bob" {
		t.Fatalf("read a1: %+v %v", got, err)
	}
	if got, err := c.CoverRequest(ctx, "a1"); err != nil || got.ID != "a1" {
		t.Fatalf("read a1 again (reading takes nothing): %+v %v", got, err)
	}
	got, err := c.TakeCoverRequest(ctx, "a1")
	if err != nil || got.Person != "carol" || !got.Until.Equal(t0.Add(10*time.Hour)) || got.Asker != "bob" {
		t.Fatalf("take a1: %+v %v", got, err)
	}
	if _, err := c.TakeCoverRequest(ctx, "a1"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("a1 taken twice: %v", err)
	}
	if _, err := c.CoverRequest(ctx, "a1"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("read a taken request: %v", err)
	}
	if _, err := c.TakeCoverRequest(ctx, "zz"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("unknown: %v", err)
	}
	exp, err := c.TakeExpiredCoverRequests(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(exp) != 1 || exp[0].ID != "c3" {
		t.Fatalf("expired at +1h: %+v %v", exp, err)
	}
	if exp, _ := c.TakeExpiredCoverRequests(ctx, t0.Add(time.Hour), 10); len(exp) != 0 {
		t.Fatalf("expired twice: %+v", exp)
	}
	// Eight takers race for each of 20 requests: one wins each.
	for i := range 20 {
		if err := c.AddCoverRequest(ctx, req(fmt.Sprintf("r%d", i), 3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var won atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if w%2 == 0 {
					if _, err := c.TakeCoverRequest(ctx, fmt.Sprintf("r%d", i)); err == nil {
						won.Add(1)
					}
				} else if exp, err := c.TakeExpiredCoverRequests(ctx, t0.Add(3*time.Hour), 1); err == nil {
					won.Add(int64(len(exp)))
				}
			}
		}()
	}
	wg.Wait()
	if exp, _ := c.TakeExpiredCoverRequests(ctx, t0.Add(3*time.Hour), 100); len(exp)+int(won.Load()) != 21 {
		t.Fatalf("taken %d + %d left, want 21 (b2 and r0–r19)", won.Load(), len(exp))
	}
}
