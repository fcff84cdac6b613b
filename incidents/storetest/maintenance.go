package storetest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// testMaintenances checks incidents.Maintenances: windows are stored once
// by ID, listed until they end (first to start first), ended early once
// (of racing enders, one succeeds), and bad windows are refused.
func testMaintenances(t *testing.T, m incidents.Maintenances) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := "mw-" + strconv.FormatInt(now.UnixNano(), 36)
	w := incidents.Maintenance{ID: id, Team: "payments", Match: map[string]string{"service": "db"},
		Start: now, End: now.Add(time.Hour), Reason: "db upgrade", CreatedBy: "alice", CreatedAt: now}
	if err := m.AddMaintenance(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := m.AddMaintenance(ctx, w); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("adding %s twice: %v, want Invalid", id, err)
	}
	for _, bad := range []incidents.Maintenance{{ID: "", Start: now, End: now.Add(time.Hour)}, {ID: id + "-x", Start: now, End: now}} {
		if err := m.AddMaintenance(ctx, bad); incidents.ErrorKind(err) != incidents.Invalid {
			t.Fatalf("AddMaintenance(%+v) = %v, want Invalid", bad, err)
		}
	}
	early := incidents.Maintenance{ID: id + "-early", Start: now.Add(-time.Minute), End: now.Add(10 * time.Minute), CreatedAt: now}
	later := incidents.Maintenance{ID: id + "-later", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour), CreatedAt: now}
	for _, x := range []incidents.Maintenance{later, early} {
		if err := m.AddMaintenance(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(at time.Time) []string {
		t.Helper()
		ws, err := m.Maintenances(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ws {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(now); len(got) != 3 || got[0] != early.ID || got[1] != id || got[2] != later.ID {
		t.Fatalf("Maintenances = %v; want %s, %s, %s", got, early.ID, id, later.ID)
	}
	ws, _ := m.Maintenances(ctx, now)
	if g := ws[1]; !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.Match["service"] != "db" || g.Reason != w.Reason || g.CreatedBy != "alice" {
		t.Fatalf("stored %+v; want %+v", g, w)
	}
	// The early one has ended by now+10m; the hour-long one at now+1h.
	if got := ids(now.Add(30 * time.Minute)); len(got) != 2 || got[0] != id {
		t.Fatalf("Maintenances(+30m) = %v", got)
	}
	// Ending early: one of many racing enders succeeds.
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.EndMaintenance(ctx, id, "person"+strconv.Itoa(i), now.Add(5*time.Minute))
			switch incidents.ErrorKind(err) {
			case incidents.NotFound:
			default:
				if err != nil {
					t.Error(err)
					return
				}
				won.Add(1)
				if !got.End.Equal(now.Add(5*time.Minute)) || got.EndedBy == "" || got.Reason != w.Reason {
					t.Errorf("ended %+v", got)
				}
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d enders succeeded, want 1", won.Load())
	}
	// (A store may drop windows that ended before the latest time it was
	// asked about: the early one may be gone.)
	if got := ids(now.Add(6 * time.Minute)); slices.Contains(got, id) || !slices.Contains(got, later.ID) {
		t.Fatalf("after ending %s: %v", id, got)
	}
	if _, err := m.EndMaintenance(ctx, id+"-nope", "alice", now); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("ending an unknown window: %v", err)
	}
	// Ending one that has not started yet ends it before it starts.
	got, err := m.EndMaintenance(ctx, later.ID, "bob", now.Add(6*time.Minute))
	if err != nil || got.End.After(got.Start) {
		t.Fatalf("ending a future window: %+v, %v", got, err)
	}
	// The ID is free again once its window is gone.
	again := w
	again.Start, again.End = now.Add(3*time.Hour), now.Add(4*time.Hour)
	if err := m.AddMaintenance(ctx, again); err != nil {
		t.Fatalf("reusing an ended window's ID: %v", err)
	}
}
