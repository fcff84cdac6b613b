package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

func TestBackfillAfterUpgrade(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("backfill")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	testBackfillOn(t, rdb, prefix)
}

// downgrade removes what a klaxon before the team and creation-time
// indexes, the event count, the alert rank and the Stats did not write, so
// that the data under prefix reads as that klaxon left it.
func downgrade(t *testing.T, rdb redis.UniversalClient, prefix string, ids, teams []string) {
	t.Helper()
	ctx := context.Background()
	tag := "{" + prefix + "}"
	keys := []string{tag + ":idx:created", tag + ":idx:teamof", tag + ":idx:schema", tag + ":idx:stats"}
	for _, team := range teams {
		keys = append(keys, tag+":idx:team:"+team)
		for _, st := range incidents.States {
			keys = append(keys, tag+":idx:team:"+team+":"+string(st))
		}
	}
	for _, k := range keys {
		if err := rdb.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		core := prefix + ":inc:{" + id + "}"
		if err := rdb.HDel(ctx, core, "e", "r", "s", "sv").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Del(ctx, core+":rank").Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// testBackfillOn stores incidents, takes them back to the layout of the
// klaxon before (downgrade), and checks that a store started on them files
// them by team and time (Backfill, in the background, once), counts their
// events and ranks their alerts when first paged.
func testBackfillOn(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	var ids []string
	for i := range 12 {
		team := []string{"payments", "search", ""}[i%3]
		at := storetest.T0.Add(time.Duration(i) * time.Hour)
		r, err := old.Ingest(ctx, storetest.TeamBatch(fmt.Sprintf("g%d", i), team, storetest.ManyAlerts(fmt.Sprintf("a%d-", i), 3, at)...), storetest.Opts(at))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Incident.ID)
	}
	if _, err := old.Update(ctx, "INC-4", func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Acknowledge, "alice", "", storetest.T0)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Ingest(ctx, storetest.TeamBatch("g0", "payments", storetest.Alert("a0-1", incidents.AlertResolved, storetest.T0)), storetest.Opts(storetest.T0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	old.Close()
	downgrade(t, rdb, prefix, ids, []string{"payments", "search"})

	var logs syncBuffer
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer s.Close()
	// List by team waits for the backfill the store started.
	l, err := s.List(ctx, incidents.ListOptions{Team: "payments"})
	if got := fmt.Sprint(storetestIDs(l)); err != nil || got != "[INC-10 INC-7 INC-4 INC-1]" {
		t.Fatalf("List by team after the upgrade = %s, %v", got, err)
	}
	l, err = s.List(ctx, incidents.ListOptions{Team: "payments", States: []incidents.State{incidents.Acknowledged}})
	if got := fmt.Sprint(storetestIDs(l)); err != nil || got != "[INC-4]" {
		t.Fatalf("acknowledged of the team after the upgrade = %s, %v", got, err)
	}
	l, err = s.List(ctx, incidents.ListOptions{Since: storetest.T0.Add(2 * time.Hour), Until: storetest.T0.Add(5 * time.Hour)})
	if got := fmt.Sprint(storetestIDs(l)); err != nil || got != "[INC-5 INC-4 INC-3]" {
		t.Fatalf("List by time after the upgrade = %s, %v", got, err)
	}
	if !strings.Contains(logs.String(), "backfilled") || !strings.Contains(logs.String(), "incidents=12") {
		t.Fatalf("the backfill was not logged with its count:\n%s", logs.String())
	}
	for _, inc := range l {
		want := 2 // opened, alerts firing
		if inc.ID == "INC-4" {
			want = 3 // acknowledged
		}
		if inc.Events != want {
			t.Fatalf("%s of the old layout counts %d events, want %d", inc.ID, inc.Events, want)
		}
	}
	// A change made before the first page of its alerts is read: the
	// incident is not ranked yet, and the write must not rank it partly.
	if _, err := s.Ingest(ctx, storetest.TeamBatch("g0", "payments", storetest.Alert("new", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0.Add(2*time.Minute))); err != nil {
		t.Fatal(err)
	}
	// Its alerts are ranked when first paged: firing first, the new one last.
	alerts, total, err := s.Alerts(ctx, "INC-1", 0, 10)
	if got := fmt.Sprint(fingerprintsOf(alerts)); err != nil || total != 4 || got != "[a0-0 a0-2 new a0-1]" {
		t.Fatalf("alerts of INC-1 after the upgrade = %s (total %d), %v", got, total, err)
	}
	sum, err := s.Summary(ctx, "INC-1")
	if err != nil || sum.Events != 4 {
		t.Fatalf("INC-1 counts %d events, %v; want 4", sum.Events, err)
	}
	// Later changes keep the rank.
	if _, err := s.Ingest(ctx, storetest.TeamBatch("g0", "payments", storetest.Alert("a0-0", incidents.AlertResolved, storetest.T0)), storetest.Opts(storetest.T0.Add(3*time.Minute))); err != nil {
		t.Fatal(err)
	}
	alerts, _, err = s.Alerts(ctx, "INC-1", 0, 10)
	if got := fmt.Sprint(fingerprintsOf(alerts)); err != nil || got != "[a0-2 new a0-0 a0-1]" {
		t.Fatalf("alerts of INC-1 after a change = %s, %v", got, err)
	}
	// A replica of the klaxon before (a rolling upgrade) adds an alert
	// without ranking it: the next page ranks the incident anew, and a
	// write in between does not hide it.
	core := prefix + ":inc:{INC-1}"
	if err := rdb.HSet(ctx, core+":alerts", "old-replica", mustJSON(t, storetest.Alert("old-replica", incidents.AlertFiring, storetest.T0))).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.RPush(ctx, core+":order", "old-replica").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, storetest.TeamBatch("g0", "payments", storetest.Alert("after", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0.Add(4*time.Minute))); err != nil {
		t.Fatal(err)
	}
	alerts, total, err = s.Alerts(ctx, "INC-1", 0, 10)
	if got := fmt.Sprint(fingerprintsOf(alerts)); err != nil || total != 6 || got != "[a0-2 new old-replica after a0-0 a0-1]" {
		t.Fatalf("alerts of INC-1 after an older replica's change = %s (total %d), %v", got, total, err)
	}
	// Once done, later starts skip it.
	if n, err := s.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("Backfill again = %d, %v; want 0", n, err)
	}
	// Done again from scratch (the mark lost), it finds all filed.
	if err := rdb.Del(ctx, "{"+prefix+"}:idx:schema").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("Backfill without the mark = %d, %v; want 0 (all filed)", n, err)
	}
	testStatsBackfill(t, ctx, rdb, prefix, s, &logs, ids)
}

// testStatsBackfill checks, on a store started on data without Stats
// (downgrade), that BackfillStats filed every incident's Stat from its
// summary (in the background, logged), that Stats reads them, and that a
// change an older replica makes (a rolling upgrade) is in the next Stats.
func testStatsBackfill(t *testing.T, ctx context.Context, rdb redis.UniversalClient, prefix string, s *redisstore.Store, logs *syncBuffer, ids []string) {
	t.Helper()
	mark := "{" + prefix + "}:idx:stats"
	for rdb.Get(ctx, mark).Val() != "1" {
		select {
		case <-ctx.Done():
			t.Fatalf("the stats backfill is not done: %v\n%s", ctx.Err(), logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !strings.Contains(logs.String(), "redis stats backfilled") || !strings.Contains(logs.String(), "incidents=12") {
		t.Fatalf("the stats backfill was not logged with its count:\n%s", logs.String())
	}
	window := incidents.StatsOptions{Since: storetest.T0.Add(-time.Hour), Until: storetest.T0.Add(24 * time.Hour)}
	checkStored := func(what string) {
		t.Helper()
		got, err := s.Stats(ctx, window)
		if err != nil || len(got) != len(ids) {
			t.Fatalf("%s: Stats = %d records, %v; want %d", what, len(got), err, len(ids))
		}
		for _, st := range got {
			sum, err := s.Summary(ctx, incidents.FormatID(st.Number))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, st), mustJSON(t, sum.Stat()); string(g) != string(w) {
				t.Fatalf("%s: Stat of INC-%d:\n got %s\nwant %s", what, st.Number, g, w)
			}
		}
	}
	checkStored("after the backfill")
	if strings.Contains(logs.String(), "made from summaries") {
		t.Fatalf("Stats read summaries after the backfill:\n%s", logs.String())
	}
	storedStats(t, ctx, rdb, prefix, ids)
	if n, err := s.BackfillStats(ctx); err != nil || n != 0 {
		t.Fatalf("BackfillStats again = %d, %v; want 0", n, err)
	}
	if err := rdb.Del(ctx, mark).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.BackfillStats(ctx); err != nil || n != 0 {
		t.Fatalf("BackfillStats without the mark = %d, %v; want 0 (all filed)", n, err)
	}
	// An older replica acknowledges INC-2: it writes the summary and the
	// version, not the Stat. Stats reads the summary for it, and files it.
	core := prefix + ":inc:{INC-2}"
	inc, err := s.Get(ctx, "INC-2")
	if err != nil {
		t.Fatal(err)
	}
	if err := inc.Apply(incidents.Acknowledge, "old-replica", "", storetest.T0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	inc.Version++
	sum := inc.Outline()
	if err := rdb.HSet(ctx, core, "v", inc.Version, "d", mustJSON(t, sum)).Err(); err != nil {
		t.Fatal(err)
	}
	checkStored("after an older replica's change")
	if !strings.Contains(logs.String(), "made from summaries") {
		t.Fatalf("Stats did not file the Stat it made from a summary:\n%s", logs.String())
	}
	storedStats(t, ctx, rdb, prefix, ids)
}

// storedStats fails unless every incident of ids holds its latest Stat: sv
// is its version and s decodes to the Stat of its summary.
func storedStats(t *testing.T, ctx context.Context, rdb redis.UniversalClient, prefix string, ids []string) {
	t.Helper()
	for _, id := range ids {
		vals, err := rdb.HMGet(ctx, prefix+":inc:{"+id+"}", "v", "sv", "s", "d").Result()
		if err != nil {
			t.Fatal(err)
		}
		if vals[0] == nil || vals[1] != vals[0] || vals[2] == nil {
			t.Fatalf("%s holds version %v, a Stat of version %v", id, vals[0], vals[1])
		}
		var st incidents.Stat
		var d statrec.Decoder
		if err := d.Decode([]byte(vals[2].(string)), &st); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var sum incidents.Incident
		if err := json.Unmarshal([]byte(vals[3].(string)), &sum); err != nil {
			t.Fatal(err)
		}
		if g, w := mustJSON(t, st), mustJSON(t, sum.Stat()); string(g) != string(w) {
			t.Fatalf("%s stores the Stat\n %s\nits summary's is\n %s", id, g, w)
		}
	}
}

// syncBuffer is a bytes.Buffer that a store's goroutines may log to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func storetestIDs(l []*incidents.Incident) []string {
	var out []string
	for _, inc := range l {
		out = append(out, inc.ID)
	}
	return out
}

func fingerprintsOf(alerts []incidents.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Fingerprint)
	}
	return out
}

// Until the backfill is done, List by team waits for it, and answers
// Unavailable when its deadline comes first.
func TestListByTeamWaitsForBackfill(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	defer rdb.Close()
	s := redisstore.New(rdb, redisstore.Options{ReconcileEvery: -1, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.List(ctx, incidents.ListOptions{Team: "payments"})
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("List by team before the backfill = %v, want Unavailable", err)
	}
}
