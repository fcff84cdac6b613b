package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// writeV1 writes incs in dir as the klaxon before summaries stored them:
// each a whole JSON document, under its state, its group and alerts
// mapped to it, nothing else.
func writeV1(t *testing.T, dir string, incs []*incidents.Incident) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktIncidents, bktGroups, bktAlerts, bktOutbox, bktDelivery, bktRefs, bktEsc, bktSteps, bktOverrides} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		states, err := tx.CreateBucketIfNotExists(bktStates)
		if err != nil {
			return err
		}
		for _, st := range incidents.States {
			if _, err := states.CreateBucketIfNotExists([]byte(st)); err != nil {
				return err
			}
		}
		for _, inc := range incs {
			data, err := json.Marshal(inc)
			if err != nil {
				return err
			}
			k := key(inc.Number)
			if _, err := tx.Bucket(bktIncidents).NextSequence(); err != nil {
				return err
			}
			if err := tx.Bucket(bktIncidents).Put(k, data); err != nil {
				return err
			}
			if err := states.Bucket([]byte(inc.State)).Put(k, nil); err != nil {
				return err
			}
			if err := tx.Bucket(bktGroups).Put(sourceKey(inc.Source, inc.GroupKey), k); err != nil {
				return err
			}
			for _, a := range inc.Alerts {
				if err := tx.Bucket(bktAlerts).Put(sourceKey(inc.Source, a.Fingerprint), k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// v1Incidents are incidents as the klaxon before would have made them:
// INC-n opened n hours after T0, teams alternating, INC-2 acknowledged,
// INC-3 with 2,000 alerts of which some resolved.
func v1Incidents(t *testing.T, n int) []*incidents.Incident {
	t.Helper()
	var out []*incidents.Incident
	for i := 1; i <= n; i++ {
		at := storetest.T0.Add(time.Duration(i) * time.Hour)
		alerts := storetest.ManyAlerts(fmt.Sprintf("i%d-", i), 2, at)
		if i == 3 {
			alerts = storetest.ManyAlerts("big-", 2000, at)
		}
		inc := incidents.NewIncident(int64(i), storetest.TeamBatch(fmt.Sprintf("g%d", i), []string{"payments", "search"}[i%2], alerts...), at)
		inc.Version = 1
		switch i {
		case 2:
			if err := inc.Apply(incidents.Acknowledge, "alice", "", at.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		case 3:
			inc.ApplyBatch(storetest.Batch("g3", storetest.Alert("big-5", incidents.AlertResolved, at), storetest.Alert("big-1", incidents.AlertResolved, at)), at.Add(time.Minute))
		}
		inc.Events = 0 // the old layout had no count
		out = append(out, inc)
	}
	return out
}

func TestMigrateFromWholeDocuments(t *testing.T) {
	dir := t.TempDir()
	old := v1Incidents(t, 6)
	writeV1(t, dir, old)
	var logs bytes.Buffer
	s, err := OpenWith(dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "migrated") || !strings.Contains(logs.String(), "incidents=6") {
		t.Fatalf("the migration was not logged with its count:\n%s", logs.String())
	}
	ctx := context.Background()
	for _, want := range old {
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		want = want.Clone()
		want.Events = len(want.Timeline)
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Fatalf("%s after the migration:\n got %s\nwant %s", want.ID, g, w)
		}
	}
	l, err := s.List(ctx, incidents.ListOptions{Team: "search", States: incidents.OpenStates})
	if got := fmt.Sprint(idsOf(l)); err != nil || got != "[INC-5 INC-3 INC-1]" {
		t.Fatalf("open of search after the migration = %s, %v", got, err)
	}
	l, err = s.List(ctx, incidents.ListOptions{Since: storetest.T0.Add(2 * time.Hour), Until: storetest.T0.Add(4 * time.Hour)})
	if got := fmt.Sprint(idsOf(l)); err != nil || got != "[INC-3 INC-2]" {
		t.Fatalf("by time after the migration = %s, %v", got, err)
	}
	if l[0].Alerts != nil || l[0].AlertsFiring != 1998 || l[0].Events != 3 {
		t.Fatalf("summary of INC-3: %d alerts, %d firing, %d events", len(l[0].Alerts), l[0].AlertsFiring, l[0].Events)
	}
	alerts, total, err := s.Alerts(ctx, "INC-3", 1997, 5)
	if got := fmt.Sprint(fingerprints(alerts)); err != nil || total != 2000 || got != "[big-1999 big-1 big-5]" {
		t.Fatalf("last alerts of INC-3 = %s (total %d), %v", got, total, err)
	}
	// The migrated incidents take changes: the group finds its incident,
	// a new alert comes after the old ones.
	r, err := s.Ingest(ctx, storetest.TeamBatch("g3", "search", storetest.Alert("late", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0.Add(10*time.Hour)))
	if err != nil || r.Incident.ID != "INC-3" || r.Created {
		t.Fatalf("ingest into a migrated incident: %+v, %v", r, err)
	}
	alerts, total, _ = s.Alerts(ctx, "INC-3", 1997, 5)
	if got := fmt.Sprint(fingerprints(alerts)); total != 2001 || got != "[big-1999 late big-1 big-5]" {
		t.Fatalf("alerts of INC-3 after a change = %s (total %d)", got, total)
	}
	r, err = s.Ingest(ctx, storetest.TeamBatch("g7", "search", storetest.Alert("n", incidents.AlertFiring, storetest.T0)), storetest.Opts(storetest.T0.Add(10*time.Hour)))
	if err != nil || r.Incident.ID != "INC-7" {
		t.Fatalf("a new incident after the migration: %+v, %v", r, err)
	}
	if n, err := s.Migrate(); err != nil || n != 0 {
		t.Fatalf("Migrate again = %d, %v; want 0", n, err)
	}
	checkStatsOf(t, s, 7)
}

// A migration cut short (a crash) leaves some incidents migrated and the
// file unmarked: the next one migrates the rest, in transactions of a
// bounded size.
func TestMigrateResumes(t *testing.T) {
	dir := t.TempDir()
	old := v1Incidents(t, 40)
	writeV1(t, dir, old)
	// Migrate the first ten as an interrupted run would have.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktIAlerts, bktIOrder, bktIRank, bktIEvents, bktCreated, bktTeams, bktMeta, bktStats} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, inc := range old[:10] {
			if err := migrateOne(tx, inc.Clone()); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func(b int) { migrateBytes = b }(migrateBytes)
	migrateBytes = 4 << 10 // several transactions
	var logs bytes.Buffer
	s, err := OpenWith(dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "incidents=30") {
		t.Fatalf("the resumed migration did not migrate the 30 left:\n%s", logs.String())
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktMeta).Delete(schemaKey) }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Migrate(); err != nil || n != 0 {
		t.Fatalf("Migrate of a migrated file = %d, %v; want 0", n, err)
	}
	l, err := s.List(context.Background(), incidents.ListOptions{Team: "payments", Limit: 1000})
	if err != nil || len(l) != 20 {
		t.Fatalf("payments after the migration: %d incidents, %v; want 20", len(l), err)
	}
	for _, want := range old {
		got, err := s.Summary(context.Background(), want.ID)
		if err != nil || got.Events != len(want.Timeline) || got.AlertsFiring+got.AlertsResolved != len(want.Alerts) {
			t.Fatalf("%s after the migration: %+v, %v", want.ID, got, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func idsOf(l []*incidents.Incident) []string {
	var out []string
	for _, inc := range l {
		out = append(out, inc.ID)
	}
	return out
}

func fingerprints(alerts []incidents.Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Fingerprint)
	}
	return out
}

// stored opens a store in dir, stores incidents in it the way a klaxon
// before the stats bucket did (changes included), and closes it: then it
// takes the file back to version 2, without Stats.
func storedWithoutStats(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		at := storetest.T0.Add(time.Duration(i) * time.Minute)
		b := storetest.TeamBatch(fmt.Sprintf("g%d", i), []string{"payments", "search", ""}[i%3], storetest.Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, at))
		if _, err := s.Ingest(ctx, b, storetest.Opts(at)); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			if _, err := s.Update(ctx, incidents.FormatID(int64(i+1)), func(inc *incidents.Incident) error {
				inc.RecordPage(at.Add(time.Minute), "call", "alice")
				if err := inc.Apply(incidents.Acknowledge, "alice", "", at.Add(2*time.Minute)); err != nil {
					return err
				}
				return inc.SetFeedback(true, "real", "alice", at.Add(3*time.Minute))
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bktStats); err != nil {
			return err
		}
		return tx.Bucket(bktMeta).Put(schemaKey, []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// checkStatsOf fails unless Stats of every team over the whole of time
// is, for each of the n incidents, the Stat of its summary.
func checkStatsOf(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	got, err := s.Stats(ctx, incidents.StatsOptions{Since: storetest.T0.Add(-time.Hour), Until: storetest.T0.Add(1000 * time.Hour)})
	if err != nil || len(got) != n {
		t.Fatalf("Stats = %d records, %v; want %d", len(got), err, n)
	}
	for _, st := range got {
		inc, err := s.Get(ctx, incidents.FormatID(st.Number))
		if err != nil {
			t.Fatal(err)
		}
		if g, w := mustJSON(t, st), mustJSON(t, inc.Outline().Stat()); g != w {
			t.Fatalf("Stat of INC-%d:\n got %s\nwant %s", st.Number, g, w)
		}
	}
}

// A file that a klaxon before the stats bucket wrote gets the Stat of
// every incident at Open, from its summary, once, logged; a crash midway
// resumes; Stats reads the same before and after.
func TestMigrateFilesStats(t *testing.T) {
	dir := t.TempDir()
	storedWithoutStats(t, dir, 25)
	// Read only, before the migration: Stats reads the summaries.
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkStatsOf(t, ro, 25)
	ro.Close()
	// A migration cut short: the first ten filed, the file unmarked.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket(bktStats); err != nil {
			return err
		}
		for n := int64(1); n <= 10; n++ {
			inc, err := loadCore(tx, n)
			if err != nil {
				return err
			}
			if err := putStat(tx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { migrateStats = n }(migrateStats)
	migrateStats = 4 // several transactions
	var logs bytes.Buffer
	s, err := OpenWith(dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "stats filed") || !strings.Contains(logs.String(), "incidents=15") {
		t.Fatalf("the resumed filing of stats did not file the 15 left, or was not logged:\n%s", logs.String())
	}
	checkStatsOf(t, s, 25)
	if n, err := s.Migrate(); err != nil || n != 0 {
		t.Fatalf("Migrate again = %d, %v; want 0", n, err)
	}
	// Without the mark, it finds every Stat filed.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktMeta).Put(schemaKey, schemaRecords) }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Migrate(); err != nil || n != 0 {
		t.Fatalf("Migrate of a file with every Stat = %d, %v; want 0", n, err)
	}
	// A Stat record lost (or one a later klaxon wrote): the summary tells.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktStats).Delete(key(3)); err != nil {
			return err
		}
		return tx.Bucket(bktStats).Put(key(4), []byte{99, 1, 2})
	}); err != nil {
		t.Fatal(err)
	}
	checkStatsOf(t, s, 25)
}
