package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// NewLimitedStore returns an empty store whose Stats refuses calls that
// would return more than max records (a store's own option; the suite
// cannot store incidents.MaxStats incidents to reach the real limit).
type NewLimitedStore func(t testing.TB, max int) incidents.Store

// WithMaxStats lets the suite check that Stats refuses (Invalid) a call
// that would return more records than the store's limit.
func WithMaxStats(f NewLimitedStore) Option {
	return func(o *options) { o.maxStats = f }
}

// RunStats runs the part of the suite that tests incidents.Stats (Run
// runs it too): for a store's own tests of its Stats with other settings.
func RunStats(t *testing.T, newStore NewStore, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	runStats(t, newStore, o)
}

// runStats runs the tests of incidents.Stats, each skipped when the store
// lacks it.
func runStats(t *testing.T, newStore NewStore, o options) {
	tests := []struct {
		name string
		fn   func(*testing.T, incidents.Store, incidents.Stats)
	}{
		{"StatsEqualGet", testStatsEqualGet},
		{"StatsWindowEdgesAndOrder", testStatsWindow},
		{"StatsFollowTeamChanges", testStatsFollowTeam},
		{"StatsInvalid", testStatsInvalid},
		{"StatsAfterConcurrentChanges", testStatsConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			st, ok := s.(incidents.Stats)
			if !ok {
				t.Skip("store has no Stats")
			}
			tc.fn(t, s, st)
		})
	}
	t.Run("StatsRefusesMoreThanMax", func(t *testing.T) {
		if o.maxStats == nil {
			t.Skip("no store with a lower limit (WithMaxStats)")
		}
		s := o.maxStats(t, 5)
		st, ok := s.(incidents.Stats)
		if !ok {
			t.Skip("store has no Stats")
		}
		testStatsLimit(t, s, st)
	})
}

func stats(t testing.TB, st incidents.Stats, opts incidents.StatsOptions) []incidents.Stat {
	t.Helper()
	out, err := st.Stats(context.Background(), opts)
	if err != nil {
		t.Fatalf("Stats(team %q, %s … %s): %v", opts.Team, opts.Since.Format(time.DateTime), opts.Until.Format(time.DateTime), err)
	}
	return out
}

// wantStats is what Stats must return for opts: the Stat of every
// incident among ids that opts keep, as Get has it, oldest first.
func wantStats(t testing.TB, s incidents.Store, opts incidents.StatsOptions, ids []string) []incidents.Stat {
	t.Helper()
	var out []incidents.Stat
	for _, id := range ids {
		st := get(t, s, id).Stat()
		if (opts.Team == "" || st.Team == opts.Team) && !st.CreatedAt.Before(opts.Since) && st.CreatedAt.Before(opts.Until) {
			out = append(out, st)
		}
	}
	slices.SortStableFunc(out, func(a, b incidents.Stat) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.Number - b.Number)
	})
	return out
}

func numbers(stats []incidents.Stat) []int64 {
	out := make([]int64, len(stats))
	for i, st := range stats {
		out[i] = st.Number
	}
	return out
}

// checkStats fails unless Stats(opts) is exactly wantStats.
func checkStats(t testing.TB, s incidents.Store, st incidents.Stats, opts incidents.StatsOptions, ids []string) []incidents.Stat {
	t.Helper()
	got := stats(t, st, opts)
	want := wantStats(t, s, opts, ids)
	if fmt.Sprint(numbers(got)) != fmt.Sprint(numbers(want)) {
		t.Fatalf("Stats(team %q, %s … %s) = %v, want %v (oldest first)",
			opts.Team, opts.Since.Format(time.DateTime), opts.Until.Format(time.DateTime), numbers(got), numbers(want))
	}
	for i := range got {
		if g, w := mustJSON(t, got[i]), mustJSON(t, want[i]); g != w {
			t.Fatalf("Stat of INC-%d:\n got %s\nwant %s (Get(...).Stat())", want[i].Number, g, w)
		}
	}
	return got
}

func update(t testing.TB, s incidents.Store, id string, fn func(*incidents.Incident) error) {
	t.Helper()
	if _, err := s.Update(context.Background(), id, fn); err != nil {
		t.Fatalf("Update(%s): %v", id, err)
	}
}

// Every change an incident goes through after it opens (alerts joining,
// resolving and firing again, acknowledged, resolved, reopened, paged,
// feedback, a new severity, a lead) shows in its Stat: Stats returns for
// each incident of the team created in the window what Get(...).Stat()
// says, and nothing else.
func testStatsEqualGet(t *testing.T, s incidents.Store, st incidents.Stats) {
	hour := func(h int) time.Time { return T0.Add(time.Duration(h) * time.Hour) }
	teams := []string{"payments", "search", "", "ops"}
	var ids []string
	for i := range 12 {
		at := hour(i)
		r := ingest(t, s, TeamBatch(fmt.Sprintf("g%d", i), teams[i%len(teams)], Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, at)), at)
		ids = append(ids, r.Incident.ID)
	}
	later := hour(20)
	// INC-1: more alerts join, one resolves and fires again (a flap), a
	// second rule fires; then every alert resolves.
	second := Alert("x1", incidents.AlertFiring, later)
	second.Labels = map[string]string{"alertname": "ErrorRate"}
	ingest(t, s, TeamBatch("g0", "payments", Alert("a0", incidents.AlertResolved, hour(0)), second), later)
	ingest(t, s, TeamBatch("g0", "payments", Alert("a0", incidents.AlertFiring, later.Add(time.Minute))), later.Add(time.Minute))
	ingest(t, s, TeamBatch("g0", "payments", Alert("a0", incidents.AlertResolved, later.Add(time.Minute)), func() incidents.Alert {
		a := second
		a.Status = incidents.AlertResolved
		return a
	}()), later.Add(2*time.Minute))
	// INC-2 acknowledged, INC-3 resolved by hand, INC-4 paged twice.
	update(t, s, "INC-2", func(inc *incidents.Incident) error { return inc.Apply(incidents.Acknowledge, "alice", "", later) })
	update(t, s, "INC-3", func(inc *incidents.Incident) error { return inc.Apply(incidents.Resolve, "bob", "fixed", later) })
	update(t, s, "INC-4", func(inc *incidents.Incident) error {
		inc.RecordPage(later, "mention", "alice")
		inc.RecordPage(later.Add(5*time.Minute), "call", "alice")
		return nil
	})
	// INC-5: acknowledged, resolved, feedback; INC-6 reopened by a new alert.
	update(t, s, "INC-5", func(inc *incidents.Incident) error {
		if err := inc.Apply(incidents.Acknowledge, "carol", "", later); err != nil {
			return err
		}
		return inc.Apply(incidents.Resolve, "carol", "", later.Add(time.Minute))
	})
	update(t, s, "INC-5", func(inc *incidents.Incident) error {
		return inc.SetFeedback(false, "it fixed itself", "carol", later.Add(2*time.Minute))
	})
	update(t, s, "INC-6", func(inc *incidents.Incident) error { return inc.Apply(incidents.Resolve, "dave", "", later) })
	ingest(t, s, TeamBatch("g5", "search", Alert("b5", incidents.AlertFiring, later)), later.Add(time.Minute))
	// INC-7: a new severity, a lead, a page after it was acknowledged.
	update(t, s, "INC-7", func(inc *incidents.Incident) error {
		if err := inc.SetSeverity(incidents.Sev1, "erin", later); err != nil {
			return err
		}
		if err := inc.SetLead("erin", "erin", later); err != nil {
			return err
		}
		if err := inc.Apply(incidents.Acknowledge, "erin", "", later); err != nil {
			return err
		}
		inc.RecordPage(later.Add(time.Minute), "sms", "frank")
		return inc.SetFeedback(true, "", "erin", later.Add(time.Hour))
	})
	if got := get(t, s, "INC-1").Stat(); got.Flaps != 1 || len(got.Rules) != 2 || got.ResolvedAt.IsZero() {
		t.Fatalf("the suite's INC-1 is not what it means to test: %+v", got)
	}
	whole := incidents.StatsOptions{Since: hour(0), Until: hour(12)}
	if got := checkStats(t, s, st, whole, ids); len(got) != 12 {
		t.Fatalf("Stats of every team = %d incidents, want 12", len(got))
	}
	for _, team := range []string{"payments", "search", "ops", "nobody"} {
		opts := whole
		opts.Team = team
		got := checkStats(t, s, st, opts, ids)
		want := map[string]int{"payments": 3, "search": 3, "ops": 3}[team]
		if len(got) != want {
			t.Fatalf("Stats of %s = %v, want %d incidents", team, numbers(got), want)
		}
	}
	for _, w := range [][2]int{{0, 1}, {3, 7}, {5, 12}, {11, 30}, {12, 30}} {
		checkStats(t, s, st, incidents.StatsOptions{Since: hour(w[0]), Until: hour(w[1])}, ids)
		checkStats(t, s, st, incidents.StatsOptions{Team: "payments", Since: hour(w[0]), Until: hour(w[1])}, ids)
	}
	if got := stats(t, st, incidents.StatsOptions{Since: hour(30), Until: hour(40)}); len(got) != 0 {
		t.Fatalf("Stats of a window with no incidents = %v, want none", numbers(got))
	}
}

// The window is exact at its edges, to the nanosecond; incidents
// numbered out of creation order (by less than CreationSkew) are found,
// and Stats returns them oldest first by creation time.
func testStatsWindow(t *testing.T, s incidents.Store, st incidents.Stats) {
	hour := func(h float64) time.Time { return T0.Add(time.Duration(h * float64(time.Hour))) }
	var ids []string
	open := func(group, team string, at time.Time) {
		ids = append(ids, ingest(t, s, TeamBatch(group, team, Alert(group, incidents.AlertFiring, at)), at).Incident.ID)
	}
	for i := range 10 { // INC-1 … INC-10 at T0+0h … T0+9h
		open(fmt.Sprintf("g%d", i), []string{"payments", "search"}[i%2], hour(float64(i)))
	}
	// INC-11 is numbered after INC-10 but opened 2 minutes before it;
	// INC-12 a nanosecond after INC-10.
	open("late", "payments", hour(9).Add(-2*time.Minute))
	open("nano", "search", hour(9).Add(time.Nanosecond))
	// INC-13 … INC-42 open a second apart at T0+10h, in bursts.
	for i := range 30 {
		open(fmt.Sprintf("burst%d", i), "burst", hour(10).Add(time.Duration(i)*time.Second))
	}
	cases := []struct {
		opts incidents.StatsOptions
		want string
	}{
		{incidents.StatsOptions{Since: hour(3), Until: hour(7)}, "[4 5 6 7]"},
		{incidents.StatsOptions{Since: hour(3).Add(time.Nanosecond), Until: hour(6).Add(time.Nanosecond)}, "[5 6 7]"},
		{incidents.StatsOptions{Since: hour(3), Until: hour(6)}, "[4 5 6]"},
		{incidents.StatsOptions{Since: hour(3), Until: hour(7), Team: "payments"}, "[5 7]"},
		{incidents.StatsOptions{Since: hour(8), Until: hour(10)}, "[9 11 10 12]"},
		{incidents.StatsOptions{Since: hour(8), Until: hour(10), Team: "payments"}, "[9 11]"},
		{incidents.StatsOptions{Since: hour(9), Until: hour(9).Add(time.Nanosecond)}, "[10]"},
		{incidents.StatsOptions{Since: hour(9).Add(time.Nanosecond), Until: hour(9).Add(time.Minute)}, "[12]"},
		{incidents.StatsOptions{Since: hour(9).Add(-3 * time.Minute), Until: hour(9)}, "[11]"},
		{incidents.StatsOptions{Since: hour(10).Add(5 * time.Second), Until: hour(10).Add(8 * time.Second)}, "[18 19 20]"},
		{incidents.StatsOptions{Since: hour(10).Add(27 * time.Second), Until: hour(11), Team: "burst"}, "[40 41 42]"},
		{incidents.StatsOptions{Since: hour(10).Add(28 * time.Second), Until: hour(11), Team: "payments"}, "[]"},
		{incidents.StatsOptions{Since: hour(-100), Until: hour(0)}, "[]"},
		{incidents.StatsOptions{Since: hour(-100), Until: hour(0).Add(time.Nanosecond)}, "[1]"},
		{incidents.StatsOptions{Since: hour(20), Until: hour(30)}, "[]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(numbers(checkStats(t, s, st, c.opts, ids))); got != c.want {
			t.Errorf("Stats(team %q, %s … %s) = %s, want %s", c.opts.Team, c.opts.Since.Format(time.TimeOnly), c.opts.Until.Format(time.TimeOnly), got, c.want)
		}
	}
	all := checkStats(t, s, st, incidents.StatsOptions{Since: hour(-1), Until: hour(11)}, ids)
	if len(all) != len(ids) {
		t.Fatalf("Stats of every incident = %d, want %d", len(all), len(ids))
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt.Before(all[i-1].CreatedAt) {
			t.Fatalf("Stats not oldest first: INC-%d (%v) after INC-%d (%v)", all[i].Number, all[i].CreatedAt, all[i-1].Number, all[i-1].CreatedAt)
		}
	}
}

// An incident handed to another team (or to none) is reported under its
// new team only, with its new team in its Stat.
func testStatsFollowTeam(t *testing.T, s incidents.Store, st incidents.Stats) {
	var ids []string
	for i := range 4 {
		at := T0.Add(time.Duration(i) * time.Minute)
		ids = append(ids, ingest(t, s, TeamBatch(fmt.Sprintf("g%d", i), "payments", Alert(fmt.Sprint("a", i), incidents.AlertFiring, at)), at).Incident.ID)
	}
	move := func(id, team string) {
		update(t, s, id, func(inc *incidents.Incident) error {
			inc.Team = team
			return nil
		})
	}
	move("INC-2", "search")
	move("INC-3", "")
	move("INC-4", "search")
	move("INC-4", "ops")
	update(t, s, "INC-4", func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Acknowledge, "alice", "", T0.Add(time.Hour))
	})
	window := incidents.StatsOptions{Since: T0, Until: T0.Add(time.Hour)}
	for team, want := range map[string]string{"payments": "[1]", "search": "[2]", "ops": "[4]", "": "[1 2 3 4]"} {
		opts := window
		opts.Team = team
		got := checkStats(t, s, st, opts, ids)
		if fmt.Sprint(numbers(got)) != want {
			t.Errorf("Stats of team %q = %v, want %s", team, numbers(got), want)
		}
		for _, x := range got {
			if team != "" && x.Team != team {
				t.Errorf("Stats of team %q holds INC-%d of team %q", team, x.Number, x.Team)
			}
		}
	}
	// And back.
	move("INC-2", "payments")
	opts := window
	opts.Team = "payments"
	if got := checkStats(t, s, st, opts, ids); fmt.Sprint(numbers(got)) != "[1 2]" {
		t.Fatalf("Stats of payments after INC-2 came back = %v", numbers(got))
	}
	opts.Team = "search"
	if got := checkStats(t, s, st, opts, ids); len(got) != 0 {
		t.Fatalf("Stats of search after INC-2 left = %v", numbers(got))
	}
}

func testStatsInvalid(t *testing.T, s incidents.Store, st incidents.Stats) {
	ingest(t, s, TeamBatch("g", "payments", Alert("a", incidents.AlertFiring, T0)), T0)
	for _, opts := range []incidents.StatsOptions{
		{},
		{Team: "payments"},
		{Since: T0},
		{Until: T0.Add(time.Hour)},
		{Since: T0, Until: T0},
		{Since: T0, Until: T0.Add(-time.Nanosecond), Team: "payments"},
	} {
		if _, err := st.Stats(context.Background(), opts); incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("Stats(%+v) = %v, want Invalid", opts, err)
		}
	}
}

// Changes made at once, each by one writer, are all in the Stat: each
// store change files the Stat of the version it stores.
func testStatsConcurrent(t *testing.T, s incidents.Store, st incidents.Stats) {
	var ids []string
	for i := range 3 {
		ids = append(ids, ingest(t, s, TeamBatch(fmt.Sprintf("g%d", i), "payments", Alert(fmt.Sprint("a", i), incidents.AlertFiring, T0)), T0).Incident.ID)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 5 {
					if _, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error {
						inc.RecordPage(T0.Add(time.Duration(w*10+k)*time.Second), "call", fmt.Sprintf("p%d", w))
						return nil
					}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	got := checkStats(t, s, st, incidents.StatsOptions{Team: "payments", Since: T0, Until: T0.Add(time.Hour)}, ids)
	for _, x := range got {
		if x.PageCount != 20 {
			t.Fatalf("INC-%d counts %d pages, want 20", x.Number, x.PageCount)
		}
	}
}

// A call that would return more records than the limit is refused; one
// that returns the limit is not, however many incidents lie around it. A
// store may refuse without reading the records of a window that surely
// holds too many, or count them: both are checked.
func testStatsLimit(t *testing.T, s incidents.Store, st incidents.Stats) {
	hour := func(h float64) time.Time { return T0.Add(time.Duration(h * float64(time.Hour))) }
	var ids []string
	open := func(group, team string, at time.Time) {
		ids = append(ids, ingest(t, s, TeamBatch(group, team, Alert(group, incidents.AlertFiring, at)), at).Incident.ID)
	}
	for i := range 12 { // an hour apart; every other one payments
		open(fmt.Sprintf("g%d", i), []string{"payments", "search"}[i%2], hour(float64(i)))
	}
	for i := range 7 { // a burst: a minute apart at T0+20h
		open(fmt.Sprintf("burst%d", i), "burst", hour(20).Add(time.Duration(i)*time.Minute))
	}
	for _, c := range []struct {
		opts incidents.StatsOptions
		ok   bool
	}{
		{incidents.StatsOptions{Since: hour(0), Until: hour(5)}, true},
		{incidents.StatsOptions{Since: hour(-1), Until: hour(5)}, true},
		{incidents.StatsOptions{Since: hour(3), Until: hour(8)}, true},
		{incidents.StatsOptions{Since: hour(0), Until: hour(6)}, false},
		{incidents.StatsOptions{Since: hour(0), Until: hour(12)}, false},
		{incidents.StatsOptions{Since: hour(-100), Until: hour(100)}, false},
		{incidents.StatsOptions{Team: "payments", Since: hour(0), Until: hour(10)}, true},
		{incidents.StatsOptions{Team: "payments", Since: hour(0), Until: hour(12)}, false},
		{incidents.StatsOptions{Team: "search", Since: hour(1), Until: hour(11)}, true},
		{incidents.StatsOptions{Since: hour(20), Until: hour(20).Add(5 * time.Minute)}, true},
		{incidents.StatsOptions{Since: hour(20), Until: hour(20).Add(6 * time.Minute)}, false},
		{incidents.StatsOptions{Team: "burst", Since: hour(20), Until: hour(21)}, false},
		{incidents.StatsOptions{Team: "burst", Since: hour(20).Add(2 * time.Minute), Until: hour(21)}, true},
	} {
		got, err := st.Stats(context.Background(), c.opts)
		if !c.ok {
			if incidents.ErrorKind(err) != incidents.Invalid {
				t.Errorf("Stats(team %q, hours %v … %v) = %d records, %v; want Invalid (more than 5)",
					c.opts.Team, c.opts.Since.Sub(T0).Hours(), c.opts.Until.Sub(T0).Hours(), len(got), err)
			}
			continue
		}
		if err != nil || len(got) != 5 {
			t.Errorf("Stats(team %q, hours %v … %v) = %d records, %v; want 5",
				c.opts.Team, c.opts.Since.Sub(T0).Hours(), c.opts.Until.Sub(T0).Hours(), len(got), err)
			continue
		}
		checkStats(t, s, st, c.opts, ids)
	}
}
