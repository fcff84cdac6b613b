package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// runHeartbeats checks incidents.Heartbeats, when the store has it.
func runHeartbeats(t *testing.T, newStore NewStore) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, incidents.Heartbeats)
	}{
		{"HeartbeatDeadlines", testHeartbeatDeadlines},
		{"HeartbeatBeatBeatsTheMiss", testHeartbeatBeatWinsRace},
		{"HeartbeatSyncAfterDowntime", testHeartbeatSync},
		{"HeartbeatConcurrentClaimers", testHeartbeatConcurrent},
		{"HeartbeatInvalid", testHeartbeatInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := newStore(t).(incidents.Heartbeats)
			if !ok {
				t.Skip("store has no heartbeats")
			}
			tc.fn(t, h)
		})
	}
}

func claimBeats(t testing.TB, h incidents.Heartbeats, now time.Time) []string {
	t.Helper()
	got, err := h.ClaimHeartbeats(context.Background(), now, 10, time.Minute)
	if err != nil {
		t.Fatalf("ClaimHeartbeats: %v", err)
	}
	var names []string
	for _, b := range got {
		names = append(names, b.Name)
	}
	return names
}

func syncBeats(t testing.TB, h incidents.Heartbeats, now time.Time, specs ...incidents.HeartbeatSpec) *incidents.HeartbeatSync {
	t.Helper()
	out, err := h.SyncHeartbeats(context.Background(), specs, now, time.Minute)
	if err != nil {
		t.Fatalf("SyncHeartbeats: %v", err)
	}
	return out
}

func getBeat(t testing.TB, h incidents.Heartbeats, name string) *incidents.Heartbeat {
	t.Helper()
	b, err := h.Heartbeat(context.Background(), name)
	if err != nil {
		t.Fatalf("Heartbeat(%s): %v", name, err)
	}
	return b
}

func testHeartbeatDeadlines(t *testing.T, h incidents.Heartbeats) {
	ctx := context.Background()
	const w = 10 * time.Minute
	out := syncBeats(t, h, T0, incidents.HeartbeatSpec{Name: "backup", Window: w})
	if !slices.Equal(out.Added, []string{"backup"}) || len(out.Heartbeats) != 1 || !out.Heartbeats[0].DueAt.Equal(T0.Add(w)) {
		t.Fatalf("first sync = %+v, want backup added, due at %v", out, T0.Add(w))
	}
	if _, err := h.Heartbeat(ctx, "nope"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Heartbeat(unknown) error = %v, want NotFound", err)
	}
	// Never heard from: the first deadline counts from the sync.
	if got := claimBeats(t, h, T0.Add(w-time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v before the deadline", got)
	}
	// A beat moves the deadline.
	prev, err := h.Beat(ctx, "backup", T0.Add(5*time.Minute), w)
	if err != nil || prev == nil || !prev.LastBeat.IsZero() || !prev.KnownAt.Equal(T0) {
		t.Fatalf("Beat = %+v, %v; want the heartbeat as synced", prev, err)
	}
	if got := claimBeats(t, h, T0.Add(w)); len(got) != 0 {
		t.Fatalf("claimed %v at the old deadline", got)
	}
	due := T0.Add(5*time.Minute + w)
	claimed, err := h.ClaimHeartbeats(ctx, due, 10, time.Minute)
	if err != nil || len(claimed) != 1 || !claimed[0].DueAt.Equal(due) || !claimed[0].LastBeat.Equal(T0.Add(5*time.Minute)) {
		t.Fatalf("claim at the deadline = %+v, %v", claimed, err)
	}
	if got := claimBeats(t, h, due.Add(30*time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v again inside the lease", got)
	}
	// The scheduler died: after the lease, another claims it.
	if got := claimBeats(t, h, due.Add(2*time.Minute)); !slices.Equal(got, []string{"backup"}) {
		t.Fatalf("after the lease claimed %v", got)
	}
	if ok, err := h.MissHeartbeat(ctx, "backup", due); !ok || err != nil {
		t.Fatalf("MissHeartbeat = %v, %v; want true", ok, err)
	}
	if ok, err := h.MissHeartbeat(ctx, "backup", due); ok || err != nil {
		t.Fatalf("MissHeartbeat again = %v, %v; want false", ok, err)
	}
	b := getBeat(t, h, "backup")
	if !b.Missed() || !b.MissedAt.Equal(due) || !b.DueAt.IsZero() || !b.Overdue(due) {
		t.Fatalf("missed heartbeat = %+v", b)
	}
	// Missed: nothing is due until the next beat.
	if got := claimBeats(t, h, due.Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("a missed heartbeat is due again: %v", got)
	}
	late := due.Add(time.Hour)
	prev, err = h.Beat(ctx, "backup", late, w)
	if err != nil || prev == nil || !prev.Missed() {
		t.Fatalf("beat after the miss: prev = %+v, %v; want it missed", prev, err)
	}
	b = getBeat(t, h, "backup")
	if b.Missed() || !b.DueAt.Equal(late.Add(w)) || !b.LastBeat.Equal(late) {
		t.Fatalf("after the beat = %+v", b)
	}
	// A beat from a replica whose clock is behind keeps the latest.
	if _, err := h.Beat(ctx, "backup", late.Add(-time.Minute), w); err != nil {
		t.Fatal(err)
	}
	if b := getBeat(t, h, "backup"); !b.LastBeat.Equal(late) {
		t.Fatalf("an older beat moved LastBeat to %v", b.LastBeat)
	}
	if got := claimBeats(t, h, late.Add(w)); !slices.Equal(got, []string{"backup"}) {
		t.Fatalf("the next deadline: claimed %v", got)
	}
	// A beat for a heartbeat the store does not know files it.
	if prev, err := h.Beat(ctx, "new", T0, w); prev != nil || err != nil {
		t.Fatalf("Beat(new) = %+v, %v", prev, err)
	}
	if b := getBeat(t, h, "new"); !b.KnownAt.Equal(T0) || !b.DueAt.Equal(T0.Add(w)) {
		t.Fatalf("new heartbeat = %+v", b)
	}
}

// A beat that lands between a claim and MissHeartbeat wins: the miss is
// refused and the new deadline stands.
func testHeartbeatBeatWinsRace(t *testing.T, h incidents.Heartbeats) {
	ctx := context.Background()
	const w = time.Minute
	syncBeats(t, h, T0, incidents.HeartbeatSpec{Name: "cron", Window: w})
	claimed, err := h.ClaimHeartbeats(ctx, T0.Add(w), 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	if _, err := h.Beat(ctx, "cron", T0.Add(w+time.Second), w); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.MissHeartbeat(ctx, "cron", claimed[0].DueAt); ok || err != nil {
		t.Fatalf("MissHeartbeat after a beat = %v, %v; want false", ok, err)
	}
	b := getBeat(t, h, "cron")
	if b.Missed() || !b.DueAt.Equal(T0.Add(2*w+time.Second)) {
		t.Fatalf("after the refused miss = %+v", b)
	}
	if got := claimBeats(t, h, T0.Add(2*w+time.Second)); !slices.Equal(got, []string{"cron"}) {
		t.Fatalf("the new deadline: claimed %v", got)
	}
	if ok, err := h.MissHeartbeat(ctx, "gone", T0); ok || err != nil {
		t.Fatalf("MissHeartbeat(unknown) = %v, %v", ok, err)
	}
}

func testHeartbeatSync(t *testing.T, h incidents.Heartbeats) {
	ctx := context.Background()
	const w = 10 * time.Minute
	a := incidents.HeartbeatSpec{Name: "a", Window: w}
	b := incidents.HeartbeatSpec{Name: "b", Window: w}
	c := incidents.HeartbeatSpec{Name: "c", Window: w}
	out := syncBeats(t, h, T0, a, b, c)
	if !out.Watched.IsZero() || out.Down || len(out.Added) != 3 {
		t.Fatalf("first sync = %+v", out)
	}
	// b and c beat; a's deadline passes and a scheduler sees it (claims,
	// then dies before acting).
	if _, err := h.Beat(ctx, "b", T0.Add(time.Minute), w); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Beat(ctx, "c", T0.Add(2*time.Minute), w); err != nil {
		t.Fatal(err)
	}
	if got := claimBeats(t, h, T0.Add(w)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("claimed %v, want a", got)
	}
	// A restart within the gap: nothing is deferred.
	out = syncBeats(t, h, T0.Add(w+30*time.Second), a, b, c)
	if out.Down || len(out.Deferred) != 0 || !out.Watched.Equal(T0.Add(w)) {
		t.Fatalf("sync after a short restart = %+v", out)
	}
	// klaxon is down from T0+w+30s for an hour: b's and c's deadlines
	// pass while nobody watches, a's had passed before.
	start := T0.Add(w + 30*time.Second + time.Hour)
	out = syncBeats(t, h, start, a, b)
	if !out.Down || !slices.Equal(out.Deferred, []string{"b"}) || !slices.Equal(out.Removed, []string{"c"}) {
		t.Fatalf("sync after downtime = %+v; want b deferred, c removed", out)
	}
	if got := getBeat(t, h, "b"); !got.DueAt.Equal(start.Add(w)) || !got.LastBeat.Equal(T0.Add(time.Minute)) {
		t.Fatalf("deferred b = %+v; want due at %v", got, start.Add(w))
	}
	if _, err := h.Heartbeat(ctx, "c"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("removed c: %v", err)
	}
	// a (seen passing before the outage) fires; b waits its fresh window.
	if got := claimBeats(t, h, start); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after the downtime claimed %v, want a", got)
	}
	if ok, err := h.MissHeartbeat(ctx, "a", T0.Add(w)); !ok || err != nil {
		t.Fatalf("MissHeartbeat(a) = %v, %v", ok, err)
	}
	if got := claimBeats(t, h, start.Add(w)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("at b's fresh deadline claimed %v", got)
	}
	// A new window moves a pending deadline, counted from the last beat.
	out = syncBeats(t, h, start.Add(w+time.Second), a, incidents.HeartbeatSpec{Name: "b", Window: 2 * time.Hour})
	if got := getBeat(t, h, "b"); got.Window != 2*time.Hour || !got.DueAt.Equal(T0.Add(time.Minute+2*time.Hour)) {
		t.Fatalf("b after a new window = %+v (sync %+v)", got, out)
	}
}

func testHeartbeatConcurrent(t *testing.T, h incidents.Heartbeats) {
	const n = 40
	var specs []incidents.HeartbeatSpec
	for i := range n {
		specs = append(specs, incidents.HeartbeatSpec{Name: fmt.Sprintf("hb%d", i), Window: time.Minute})
	}
	syncBeats(t, h, T0, specs...)
	claimEachOnce(t, 5, n, func() ([]string, error) {
		got, err := h.ClaimHeartbeats(context.Background(), T0.Add(time.Minute), 7, time.Hour)
		var names []string
		for _, b := range got {
			names = append(names, b.Name)
		}
		return names, err
	})
}

func testHeartbeatInvalid(t *testing.T, h incidents.Heartbeats) {
	ctx := context.Background()
	if _, err := h.Beat(ctx, "", T0, time.Minute); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("Beat with no name: %v, want Invalid", err)
	}
	if _, err := h.Beat(ctx, "x", T0, 0); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("Beat with no window: %v, want Invalid", err)
	}
	if _, err := h.SyncHeartbeats(ctx, []incidents.HeartbeatSpec{{Name: "x"}}, T0, time.Minute); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("Sync with no window: %v, want Invalid", err)
	}
}
