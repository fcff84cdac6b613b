package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func claim(t testing.TB, o incidents.Outbox, now time.Time, n int, lease time.Duration) []incidents.Claim {
	t.Helper()
	c, err := o.Claim(context.Background(), now, n, lease)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return c
}

func release(t testing.TB, o incidents.Outbox, c incidents.Claim, at time.Time) {
	t.Helper()
	if err := o.Release(context.Background(), c, at); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

func claimIDs(cs []incidents.Claim) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// The outbox works in wall-clock time (items are stamped when written), so
// these tests claim "now" and far in the future rather than at T0.
func farFuture() time.Time { return time.Now().Add(time.Hour) }

func testOutboxCoalesce(t *testing.T, s incidents.Store, o incidents.Outbox) {
	now := T0
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, now)), now)
	ingest(t, s, Batch("g1", Alert("b", incidents.AlertFiring, now)), now.Add(time.Second))
	if _, err := s.Update(context.Background(), r.Incident.ID, func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Acknowledge, "alice", "", now.Add(2*time.Second))
	}); err != nil {
		t.Fatal(err)
	}
	r2 := ingest(t, s, Batch("g2", Alert("c", incidents.AlertFiring, now)), now)
	st, err := o.OutboxStats(context.Background())
	if err != nil || st.Depth != 2 || st.Oldest.IsZero() {
		t.Fatalf("OutboxStats = %+v, %v; want depth 2 and an oldest time", st, err)
	}
	got := claim(t, o, time.Now(), 10, time.Minute)
	if len(got) != 2 || got[0].ID == got[1].ID {
		t.Fatalf("claimed %v, want %s and %s once each", claimIDs(got), r.Incident.ID, r2.Incident.ID)
	}
	// Claimed items are hidden until their lease ends.
	if again := claim(t, o, time.Now(), 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed again %v while leased", claimIDs(again))
	}
	for _, c := range got {
		release(t, o, c, time.Time{})
	}
	if again := claim(t, o, farFuture(), 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed %v after done", claimIDs(again))
	}
	if st, _ := o.OutboxStats(context.Background()); st.Depth != 0 || !st.Oldest.IsZero() {
		t.Fatalf("OutboxStats after done = %+v", st)
	}
	// A duplicate batch changes nothing, so marks nothing.
	ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, now)), now.Add(time.Minute))
	if again := claim(t, o, farFuture(), 10, time.Minute); len(again) != 0 {
		t.Fatalf("a no-op batch made %v pending", claimIDs(again))
	}
}

func testOutboxChangeDuringClaim(t *testing.T, s incidents.Store, o incidents.Outbox) {
	now := T0
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, now)), now)
	got := claim(t, o, time.Now(), 10, time.Minute)
	if len(got) != 1 {
		t.Fatalf("claimed %v", claimIDs(got))
	}
	// The incident changes while a worker syncs the version it read.
	ingest(t, s, Batch("g1", Alert("b", incidents.AlertFiring, now)), now.Add(time.Second))
	release(t, o, got[0], time.Time{})
	again := claim(t, o, time.Now(), 10, time.Minute)
	if len(again) != 1 || again[0].ID != r.Incident.ID || again[0].Seq <= got[0].Seq {
		t.Fatalf("after a change during the claim, claimed %+v; want %s again with a later seq than %d", again, r.Incident.ID, got[0].Seq)
	}
	release(t, o, again[0], time.Time{})
	if left := claim(t, o, farFuture(), 10, time.Minute); len(left) != 0 {
		t.Fatalf("left pending: %v", claimIDs(left))
	}
}

func testOutboxLease(t *testing.T, s incidents.Store, o incidents.Outbox) {
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	now := time.Now()
	if got := claim(t, o, now, 10, time.Minute); len(got) != 1 {
		t.Fatalf("claimed %v", claimIDs(got))
	}
	// The worker dies; once the lease ends another takes the item over.
	if got := claim(t, o, now.Add(59*time.Second), 10, time.Minute); len(got) != 0 {
		t.Fatalf("claimed %v inside the lease", claimIDs(got))
	}
	got := claim(t, o, now.Add(61*time.Second), 10, time.Minute)
	if len(got) != 1 || got[0].ID != r.Incident.ID {
		t.Fatalf("after the lease claimed %v, want %s", claimIDs(got), r.Incident.ID)
	}
	if !got[0].Since.Before(now.Add(time.Second)) {
		t.Errorf("Since = %v, want when it became pending (before %v)", got[0].Since, now)
	}
}

func testOutboxRetry(t *testing.T, s incidents.Store, o incidents.Outbox) {
	ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	now := time.Now()
	got := claim(t, o, now, 10, time.Minute)
	if len(got) != 1 {
		t.Fatalf("claimed %v", claimIDs(got))
	}
	release(t, o, got[0], now.Add(5*time.Second))
	if c := claim(t, o, now.Add(4*time.Second), 10, time.Minute); len(c) != 0 {
		t.Fatalf("claimed %v before its retry time", claimIDs(c))
	}
	if c := claim(t, o, now.Add(6*time.Second), 10, time.Minute); len(c) != 1 {
		t.Fatalf("claimed %v at its retry time, want it", claimIDs(c))
	}
}

func testOutboxConcurrent(t *testing.T, s incidents.Store, o incidents.Outbox) {
	const n = 60
	for i := range n {
		ingest(t, s, Batch(fmt.Sprintf("g%d", i), Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, T0)), T0)
	}
	claimEachOnce(t, 6, n, func() ([]string, error) {
		c, err := o.Claim(context.Background(), time.Now(), 7, time.Minute)
		return claimIDs(c), err
	})
}

func testOutboxDeliveries(t *testing.T, s incidents.Store, o incidents.Outbox) {
	ctx := context.Background()
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	id := r.Incident.ID
	if d, err := o.Deliveries(ctx, id); err != nil || len(d) != 0 {
		t.Fatalf("Deliveries before any = %v, %v", d, err)
	}
	a := incidents.Delivery{Ref: "C1/1.2", Version: 1, Events: 1}
	b := incidents.Delivery{Posting: T0, Attempts: 2, Error: "ratelimited", NotBefore: T0.Add(time.Second)}
	for dest, d := range map[string]incidents.Delivery{"slack:C1": a, "telegram:-100": b} {
		if err := o.SaveDelivery(ctx, id, dest, d); err != nil {
			t.Fatal(err)
		}
	}
	a.Version = 2
	if err := o.SaveDelivery(ctx, id, "slack:C1", a); err != nil {
		t.Fatal(err)
	}
	got, err := o.Deliveries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["slack:C1"] != a || !got["telegram:-100"].Posting.Equal(T0) || got["telegram:-100"].Error != "ratelimited" {
		t.Fatalf("Deliveries = %+v", got)
	}
	if id2, err := o.RefIncident(ctx, "slack:C1", "C1/1.2"); err != nil || id2 != id {
		t.Fatalf("RefIncident of the card = %q, %v; want %s", id2, err, id)
	}
	if id2, err := o.RefIncident(ctx, "slack:C2", "C1/1.2"); err != nil || id2 != "" {
		t.Fatalf("RefIncident in another destination = %q, %v; want none", id2, err)
	}
	// Deliveries are the incident's own: another incident has none.
	r2 := ingest(t, s, Batch("g2", Alert("b", incidents.AlertFiring, T0)), T0)
	if d, _ := o.Deliveries(ctx, r2.Incident.ID); len(d) != 0 {
		t.Fatalf("a new incident has deliveries %v", d)
	}
}

// A worker whose lease ended (another took the item over) cannot end the
// new holder's claim.
func testOutboxStaleRelease(t *testing.T, s incidents.Store, o incidents.Outbox) {
	ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	now := time.Now()
	old := claim(t, o, now, 10, time.Second)
	if len(old) != 1 {
		t.Fatalf("claimed %v", claimIDs(old))
	}
	cur := claim(t, o, now.Add(2*time.Second), 10, time.Minute)
	if len(cur) != 1 || cur[0].Token == old[0].Token {
		t.Fatalf("after the lease, claimed %+v (old %+v)", cur, old)
	}
	release(t, o, old[0], time.Time{}) // the slow worker finishes late
	if c := claim(t, o, now.Add(3*time.Second), 10, time.Minute); len(c) != 0 {
		t.Fatalf("a stale release freed the item: claimed %v", claimIDs(c))
	}
	release(t, o, cur[0], time.Time{})
	if c := claim(t, o, farFuture(), 10, time.Minute); len(c) != 0 {
		t.Fatalf("left pending after the holder's release: %v", claimIDs(c))
	}
}

// A change to an incident waiting for a retry makes it due at once.
func testOutboxChangeCutsRetry(t *testing.T, s incidents.Store, o incidents.Outbox) {
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	now := time.Now()
	got := claim(t, o, now, 10, time.Minute)
	if len(got) != 1 {
		t.Fatalf("claimed %v", claimIDs(got))
	}
	release(t, o, got[0], now.Add(time.Hour))
	if c := claim(t, o, time.Now(), 10, time.Minute); len(c) != 0 {
		t.Fatalf("claimed %v during its retry wait", claimIDs(c))
	}
	ingest(t, s, Batch("g1", Alert("b", incidents.AlertFiring, T0)), T0.Add(time.Second))
	if c := claim(t, o, time.Now().Add(time.Second), 10, time.Minute); len(c) != 1 || c[0].ID != r.Incident.ID {
		t.Fatalf("after a change claimed %v, want %s at once", claimIDs(c), r.Incident.ID)
	}
}
