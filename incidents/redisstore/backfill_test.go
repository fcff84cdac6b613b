package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/incidents"
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
// indexes, the event count and the alert rank did not write, so that the
// data under prefix reads as that klaxon left it.
func downgrade(t *testing.T, rdb redis.UniversalClient, prefix string, ids, teams []string) {
	t.Helper()
	ctx := context.Background()
	tag := "{" + prefix + "}"
	keys := []string{tag + ":idx:created", tag + ":idx:teamof", tag + ":idx:schema"}
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
		if err := rdb.HDel(ctx, core, "e", "r").Err(); err != nil {
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

	var logs bytes.Buffer
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
