package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func claimDue(t testing.TB, e incidents.Escalations, now time.Time, n int) []string {
	t.Helper()
	ids, err := e.ClaimDue(context.Background(), now, n, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDue: %v", err)
	}
	return ids
}

func setDue(t testing.TB, s incidents.Store, id string, due time.Time, step int) {
	t.Helper()
	if _, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error {
		inc.Escalation = &incidents.Escalation{Policy: "default", Step: step, DueAt: due}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func testEscalationDue(t *testing.T, s incidents.Store, e incidents.Escalations) {
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	id := r.Incident.ID
	if got := claimDue(t, e, T0.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("an incident without a policy is due: %v", got)
	}
	setDue(t, s, id, T0.Add(5*time.Minute), 1)
	if got := claimDue(t, e, T0.Add(4*time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %v before it was due", got)
	}
	if got := claimDue(t, e, T0.Add(5*time.Minute), 10); len(got) != 1 || got[0] != id {
		t.Fatalf("claimed %v when due, want %s", got, id)
	}
	if got := claimDue(t, e, T0.Add(5*time.Minute+30*time.Second), 10); len(got) != 0 {
		t.Fatalf("claimed %v again inside the lease", got)
	}
	// The scheduler died: after the lease, another takes the step.
	if got := claimDue(t, e, T0.Add(7*time.Minute), 10); len(got) != 1 {
		t.Fatalf("after the lease claimed %v", got)
	}
	// The step ran: the incident's next step is due later.
	setDue(t, s, id, T0.Add(20*time.Minute), 2)
	if got := claimDue(t, e, T0.Add(19*time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the next step", got)
	}
	if got := claimDue(t, e, T0.Add(20*time.Minute), 10); len(got) != 1 {
		t.Fatalf("the next step: claimed %v", got)
	}
	// Acknowledged incidents keep their position (escalation code clears
	// DueAt); a resolved one is never due.
	setDue(t, s, id, T0.Add(30*time.Minute), 3)
	if _, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Resolve, "alice", "", T0.Add(25*time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	if got := claimDue(t, e, T0.Add(24*time.Hour), 10); len(got) != 0 {
		t.Fatalf("a resolved incident is due: %v", got)
	}
}

func testEscalationConcurrent(t *testing.T, s incidents.Store, e incidents.Escalations) {
	const n = 60
	for i := range n {
		r := ingest(t, s, Batch(fmt.Sprintf("g%d", i), Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, T0)), T0)
		setDue(t, s, r.Incident.ID, T0.Add(time.Minute), 0)
	}
	claimEachOnce(t, 5, n, func() ([]string, error) {
		return e.ClaimDue(context.Background(), T0.Add(time.Minute), 7, time.Hour)
	})
}

// claimEachOnce runs claimers goroutines that claim until nothing is left,
// and checks that n items were claimed, each exactly once.
func claimEachOnce(t *testing.T, claimers, n int, claim func() ([]string, error)) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ids, err := claim()
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					seen[id]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct items claimed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s claimed %d times", id, k)
		}
	}
}

func testStepOnce(t *testing.T, s incidents.Store, e incidents.Escalations) {
	ctx := context.Background()
	a := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	b := ingest(t, s, Batch("g2", Alert("b", incidents.AlertFiring, T0)), T0).Incident.ID
	for _, c := range []struct {
		id, key string
		want    bool
	}{{a, "r0s2", true}, {a, "r0s2", false}, {a, "r0s3", true}, {b, "r0s2", true}} {
		got, err := e.StepOnce(ctx, c.id, c.key, time.Hour)
		if err != nil || got != c.want {
			t.Fatalf("StepOnce(%s, %s) = %v, %v; want %v", c.id, c.key, got, err, c.want)
		}
	}
}

func testOverrides(t *testing.T, s incidents.Store, e incidents.Escalations) {
	o, ok := s.(incidents.Overrides)
	if !ok {
		t.Skip("no overrides")
	}
	ctx := context.Background()
	a := incidents.OnCallOverride{Schedule: "primary", Person: "bob", From: T0, Until: T0.Add(4 * time.Hour), SetBy: "alice", SetAt: T0}
	b := incidents.OnCallOverride{Schedule: "primary", Person: "carol", From: T0.Add(time.Hour), Until: T0.Add(2 * time.Hour), SetBy: "bob", SetAt: T0.Add(time.Minute)}
	c := incidents.OnCallOverride{Schedule: "other", Person: "dan", From: T0, Until: T0.Add(time.Hour), SetBy: "x", SetAt: T0}
	for _, x := range []incidents.OnCallOverride{a, b, c} {
		if err := o.AddOverride(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.Overrides(ctx, "primary", T0.Add(30*time.Minute))
	if err != nil || len(got) != 2 || got[0].Person != "bob" || got[1].Person != "carol" || got[1].SetBy != "bob" {
		t.Fatalf("Overrides = %+v, %v", got, err)
	}
	if got, _ := o.Overrides(ctx, "primary", T0.Add(3*time.Hour)); len(got) != 1 || got[0].Person != "bob" {
		t.Fatalf("after carol's ended: %+v", got)
	}
	if got, _ := o.Overrides(ctx, "primary", T0.Add(5*time.Hour)); len(got) != 0 {
		t.Fatalf("after all ended: %+v", got)
	}
}

// testPagingDue: a page attempt due before the escalation's next step
// makes the incident due then; done, it no longer does; acknowledged,
// nothing is due.
func testPagingDue(t *testing.T, s incidents.Store, e incidents.Escalations) {
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	id := r.Incident.ID
	update := func(fn func(*incidents.Incident)) {
		t.Helper()
		if _, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error { fn(inc); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	update(func(inc *incidents.Incident) {
		inc.Escalation = &incidents.Escalation{Policy: "default", Step: 1, DueAt: T0.Add(time.Hour)}
		inc.AddPages(incidents.PageAttempt{Key: "n0r0s0/alice/0", Person: "alice", Method: incidents.PageSMS, DueAt: T0.Add(2 * time.Minute)})
	})
	if got := claimDue(t, e, T0.Add(time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the attempt was due", got)
	}
	if got := claimDue(t, e, T0.Add(2*time.Minute), 10); len(got) != 1 || got[0] != id {
		t.Fatalf("claimed %v when the attempt was due, want %s", got, id)
	}
	got, err := s.Get(context.Background(), id)
	if err != nil || len(got.Paging) != 1 || got.Paging[0].Method != incidents.PageSMS || !got.Paging[0].DueAt.Equal(T0.Add(2*time.Minute)) {
		t.Fatalf("stored attempts %+v, %v", got.Paging, err)
	}
	update(func(inc *incidents.Incident) { inc.PageAttempt("n0r0s0/alice/0").Done = true })
	if got := claimDue(t, e, T0.Add(59*time.Minute), 10); len(got) != 0 {
		t.Fatalf("claimed %v with the attempt done", got)
	}
	update(func(inc *incidents.Incident) {
		inc.AddPages(incidents.PageAttempt{Key: "n0r0s0/alice/1", Person: "alice", Method: incidents.PageCall, DueAt: T0.Add(10 * time.Minute)})
		_ = inc.Apply(incidents.Acknowledge, "alice", "", T0.Add(3*time.Minute))
	})
	if got := claimDue(t, e, T0.Add(24*time.Hour), 10); len(got) != 0 {
		t.Fatalf("an acknowledged incident is due: %v", got)
	}
}
