package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// TeamBatch returns a batch for group, of team, with the given alerts.
func TeamBatch(group, team string, alerts ...incidents.Alert) *incidents.Batch {
	b := Batch(group, alerts...)
	b.Team = team
	return b
}

// ManyAlerts returns n firing alerts named prefix0 … prefix<n-1>.
func ManyAlerts(prefix string, n int, startsAt time.Time) []incidents.Alert {
	out := make([]incidents.Alert, n)
	for i := range out {
		out[i] = Alert(fmt.Sprintf("%s%d", prefix, i), incidents.AlertFiring, startsAt)
	}
	return out
}

func list(t testing.TB, s incidents.Store, opts incidents.ListOptions) []*incidents.Incident {
	t.Helper()
	l, err := s.List(context.Background(), opts)
	if err != nil {
		t.Fatalf("List(%+v): %v", opts, err)
	}
	return l
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameSummary fails unless sum is the outline of the whole incident.
func sameSummary(t testing.TB, what string, sum, whole *incidents.Incident) {
	t.Helper()
	if sum.Alerts != nil || sum.Timeline != nil {
		t.Fatalf("%s of %s holds %d alerts and %d events, want none (a summary)", what, sum.ID, len(sum.Alerts), len(sum.Timeline))
	}
	if got, want := mustJSON(t, sum), mustJSON(t, whole.Outline()); got != want {
		t.Fatalf("%s of %s:\n got %s\nwant %s", what, sum.ID, got, want)
	}
	if sum.Events != len(whole.Timeline) || whole.Events != len(whole.Timeline) {
		t.Fatalf("%s of %s counts %d events, Get %d; the timeline has %d", what, sum.ID, sum.Events, whole.Events, len(whole.Timeline))
	}
}

// cardOrder is the fingerprints of inc's alerts in the card's order:
// firing first, each part in the incident's order.
func cardOrder(inc *incidents.Incident) []string {
	var out []string
	for _, st := range []incidents.AlertStatus{incidents.AlertFiring, incidents.AlertResolved} {
		for _, a := range inc.Alerts {
			if a.Status == st {
				out = append(out, a.Fingerprint)
			}
		}
	}
	return out
}

// pagedAlerts reads every alert of id in pages of size and checks the
// totals each page gives.
func pagedAlerts(t testing.TB, s incidents.Store, id string, size int) []incidents.Alert {
	t.Helper()
	var out []incidents.Alert
	for offset := 0; ; offset += size {
		page, total, err := s.Alerts(context.Background(), id, offset, size)
		if err != nil {
			t.Fatalf("Alerts(%s, %d, %d): %v", id, offset, size, err)
		}
		out = append(out, page...)
		if len(page) < size {
			if total != len(out) {
				t.Fatalf("Alerts(%s) pages hold %d alerts, total says %d", id, len(out), total)
			}
			return out
		}
	}
}

func fingerprints(alerts []incidents.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.Fingerprint
	}
	return out
}

// checkPages checks that the pages of id's alerts and timeline are what
// Get holds, in the card's order and the timeline's.
func checkPages(t testing.TB, s incidents.Store, id string, size int) {
	t.Helper()
	whole := get(t, s, id)
	paged := pagedAlerts(t, s, id, size)
	if got, want := fingerprints(paged), cardOrder(whole); !slices.Equal(got, want) {
		t.Fatalf("%s alerts paged by %d:\n got %v\nwant %v (firing first, first seen first)", id, size, got, want)
	}
	byFP := map[string]incidents.Alert{}
	for _, a := range whole.Alerts {
		byFP[a.Fingerprint] = a
	}
	for _, a := range paged {
		if mustJSON(t, a) != mustJSON(t, byFP[a.Fingerprint]) {
			t.Fatalf("%s alert %s paged differs from Get's", id, a.Fingerprint)
		}
	}
	var events []incidents.Event
	for offset := 0; ; offset += size {
		page, total, err := s.Events(context.Background(), id, offset, size)
		if err != nil {
			t.Fatalf("Events(%s, %d, %d): %v", id, offset, size, err)
		}
		if total != len(whole.Timeline) {
			t.Fatalf("Events(%s) total %d, Get has %d events", id, total, len(whole.Timeline))
		}
		events = append(events, page...)
		if len(page) < size {
			break
		}
	}
	if mustJSON(t, events) != mustJSON(t, whole.Timeline) {
		t.Fatalf("%s timeline paged by %d differs from Get's", id, size)
	}
}

// Lists hold summaries: every field but alerts and timeline, and the
// counts; Summary reads one.
func testListSummaries(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	ingest(t, s, TeamBatch("g1", "payments", ManyAlerts("a", 3, T0)...), T0)
	ingest(t, s, TeamBatch("g1", "payments", Alert("a1", incidents.AlertResolved, T0), Alert("n", incidents.AlertFiring, T0)), T0.Add(time.Minute))
	ingest(t, s, TeamBatch("g2", "search", Alert("b", incidents.AlertFiring, T0)), T0.Add(2*time.Minute))
	if _, err := s.Update(ctx, "INC-2", func(inc *incidents.Incident) error {
		inc.Lead, inc.Roles = "alice", map[string]string{"scribe": "bob"}
		inc.Escalation = &incidents.Escalation{Policy: "default", Step: 1, DueAt: T0.Add(time.Hour)}
		return inc.Apply(incidents.Acknowledge, "alice", "", T0.Add(3*time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	l := list(t, s, incidents.ListOptions{})
	if len(l) != 2 {
		t.Fatalf("List = %v, want 2 incidents", ids(l))
	}
	for _, sum := range l {
		whole := get(t, s, sum.ID)
		sameSummary(t, "List", sum, whole)
		one, err := s.Summary(ctx, sum.ID)
		if err != nil {
			t.Fatalf("Summary(%s): %v", sum.ID, err)
		}
		sameSummary(t, "Summary", one, whole)
	}
	if f, r := l[1].Counts(); f != 3 || r != 1 || l[1].Events != 4 {
		t.Fatalf("INC-1 summary counts %d firing, %d resolved, %d events; want 3, 1, 4", f, r, l[1].Events)
	}
	if _, err := s.Summary(ctx, "INC-99"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Summary(unknown) = %v, want NotFound", err)
	}
	if _, err := s.Summary(ctx, "nope"); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("Summary(nope) = %v, want Invalid", err)
	}
}

// An incident of 50,000 alerts lists as a summary, and its alerts page.
func testHugeIncident(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	const n = 50000
	for i := range 3 {
		ingest(t, s, TeamBatch(fmt.Sprintf("small%d", i), "payments", Alert(fmt.Sprintf("s%d", i), incidents.AlertFiring, T0)), T0)
	}
	huge := ingest(t, s, TeamBatch("huge", "payments", ManyAlerts("h", n, T0)...), T0.Add(time.Minute)).Incident.ID
	ingest(t, s, TeamBatch("small3", "payments", Alert("s3", incidents.AlertFiring, T0)), T0.Add(2*time.Minute))
	// Some alerts resolve: they move behind the firing ones.
	var resolve []incidents.Alert
	for _, i := range []int{0, 7, 49999} {
		resolve = append(resolve, Alert(fmt.Sprintf("h%d", i), incidents.AlertResolved, T0))
	}
	ingest(t, s, TeamBatch("huge", "payments", resolve...), T0.Add(3*time.Minute))

	for _, opts := range []incidents.ListOptions{{}, {Team: "payments"}, {States: incidents.OpenStates}, {Since: T0, Until: T0.Add(time.Hour)}} {
		l := list(t, s, opts)
		if got := fmt.Sprint(ids(l)); got != "[INC-5 INC-4 INC-3 INC-2 INC-1]" {
			t.Fatalf("List(%+v) = %s", opts, got)
		}
		if sum := l[1]; sum.ID != huge || sum.Alerts != nil || sum.AlertsFiring != n-3 || sum.AlertsResolved != 3 || sum.Events != 3 {
			t.Fatalf("List(%+v) holds %s with %d alerts, counts %d/%d, %d events; want no alerts, %d/3, 3 events",
				opts, sum.ID, len(sum.Alerts), sum.AlertsFiring, sum.AlertsResolved, sum.Events, n-3)
		}
	}
	sum, err := s.Summary(ctx, huge)
	if err != nil || sum.Alerts != nil || sum.AlertsFiring != n-3 {
		t.Fatalf("Summary(%s) = %d alerts, %d firing, %v", huge, len(sum.Alerts), sum.AlertsFiring, err)
	}
	first, total, err := s.Alerts(ctx, huge, 0, 100)
	if err != nil || total != n || len(first) != 100 || first[0].Fingerprint != "h1" || first[6].Fingerprint != "h8" {
		t.Fatalf("first page: %d alerts from %v, total %d, %v", len(first), fingerprints(first[:min(8, len(first))]), total, err)
	}
	last, total, err := s.Alerts(ctx, huge, n-100, 1000)
	if err != nil || total != n || len(last) != 100 {
		t.Fatalf("last page: %d alerts, total %d, %v", len(last), total, err)
	}
	if got := fingerprints(last[97:]); fmt.Sprint(got) != "[h0 h7 h49999]" || last[96].Fingerprint != "h49998" {
		t.Fatalf("last page ends %v (after %s), want the resolved h0 h7 h49999 after the firing h49998", got, last[96].Fingerprint)
	}
	if page, total, err := s.Alerts(ctx, huge, n, 10); err != nil || len(page) != 0 || total != n {
		t.Fatalf("page past the end: %d alerts, total %d, %v", len(page), total, err)
	}
	events, total, err := s.Events(ctx, huge, -200, 200)
	if err != nil || total != 3 || len(events) != 3 || events[2].Kind != incidents.EventAlertsResolved {
		t.Fatalf("Events(%s, -200, 200) = %d events, total %d, %v", huge, len(events), total, err)
	}
}

// Alerts page in the card's order; an alert moves when its status does.
func testAlertsPaging(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	id := ingest(t, s, Batch("g", ManyAlerts("a", 4, T0)...), T0).Incident.ID
	for i := 4; i < 10; i++ { // one at a time, as a generic webhook sends them
		at := T0.Add(time.Duration(i) * time.Minute)
		ingest(t, s, Batch("g", Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, at)), at)
	}
	ingest(t, s, Batch("g", Alert("a2", incidents.AlertResolved, T0), Alert("a5", incidents.AlertResolved, T0.Add(5*time.Minute))), T0.Add(time.Hour))
	want := "[a0 a1 a3 a4 a6 a7 a8 a9 a2 a5]"
	for _, size := range []int{1, 3, 10, 1000} {
		if got := fmt.Sprint(fingerprints(pagedAlerts(t, s, id, size))); got != want {
			t.Fatalf("alerts in pages of %d: %s, want %s", size, got, want)
		}
	}
	checkPages(t, s, id, 3)
	// a2 fires again: it goes back among the firing ones, in its place.
	again := T0.Add(2 * time.Hour)
	ingest(t, s, Batch("g", Alert("a2", incidents.AlertFiring, again)), again)
	if got := fmt.Sprint(fingerprints(pagedAlerts(t, s, id, 4))); got != "[a0 a1 a2 a3 a4 a6 a7 a8 a9 a5]" {
		t.Fatalf("after a2 fired again: %s", got)
	}
	// An Update that resolves the incident by hand keeps the alerts' order.
	if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error { return inc.Apply(incidents.Resolve, "alice", "", again) }); err != nil {
		t.Fatal(err)
	}
	checkPages(t, s, id, 4)

	for _, c := range []struct{ offset, limit int }{{0, 0}, {0, incidents.MaxPageLimit + 1}, {-1, 10}} {
		if _, _, err := s.Alerts(ctx, id, c.offset, c.limit); incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("Alerts(offset %d, limit %d) = %v, want Invalid", c.offset, c.limit, err)
		}
	}
	if _, _, err := s.Alerts(ctx, "INC-99", 0, 10); incidents.ErrorKind(err) != incidents.NotFound {
		t.Errorf("Alerts(unknown) = %v, want NotFound", err)
	}
}

// The timeline pages oldest first; an event keeps its offset; a negative
// offset counts from the end.
func testEventsPaging(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	id := ingest(t, s, Batch("g", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	for i := 1; i <= 10; i++ {
		if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
			inc.AddEvent(T0.Add(time.Duration(i)*time.Minute), incidents.EventNote, "alice", fmt.Sprintf("note %d", i))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	texts := func(ev []incidents.Event) string {
		var s []string
		for _, e := range ev {
			s = append(s, e.Text)
		}
		return fmt.Sprint(s)
	}
	cases := []struct {
		offset, limit int
		want          string
	}{
		{2, 3, "[note 1 note 2 note 3]"},
		{-3, 2, "[note 8 note 9]"},
		{-2, 100, "[note 9 note 10]"},
		{-100, 1, "[Incident opened: Latency on g]"},
		{11, 5, "[note 10]"},
		{12, 5, "[]"},
		{500, 5, "[]"},
	}
	for _, c := range cases {
		ev, total, err := s.Events(ctx, id, c.offset, c.limit)
		if err != nil || total != 12 || texts(ev) != c.want {
			t.Errorf("Events(%d, %d) = %s, total %d, %v; want %s of 12", c.offset, c.limit, texts(ev), total, err, c.want)
		}
	}
	checkPages(t, s, id, 5)
	// A reader that has seen 12 events asks for what came since.
	if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
		inc.AddEvent(T0.Add(time.Hour), incidents.EventNote, "bob", "since")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ev, total, err := s.Events(ctx, id, 12, 100); err != nil || total != 13 || texts(ev) != "[since]" {
		t.Fatalf("Events(12, 100) = %s, total %d, %v", texts(ev), total, err)
	}
	if sum, err := s.Summary(ctx, id); err != nil || sum.Events != 13 {
		t.Fatalf("Summary counts %d events, %v; want 13", sum.Events, err)
	}
	for _, limit := range []int{0, incidents.MaxPageLimit + 1} {
		if _, _, err := s.Events(ctx, id, 0, limit); incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("Events(limit %d) = %v, want Invalid", limit, err)
		}
	}
	if _, _, err := s.Events(ctx, "INC-99", 0, 10); incidents.ErrorKind(err) != incidents.NotFound {
		t.Errorf("Events(unknown) = %v, want NotFound", err)
	}
}

// Lists by team, alone and with states, page with Before; a team's name
// never reads as another's (ops and ops:triggered).
func testListByTeam(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	teams := []string{"payments", "search", "", "ops", "ops:triggered", "payments"}
	for i := range 18 {
		team := teams[i%len(teams)]
		ingest(t, s, TeamBatch(fmt.Sprintf("g%d", i), team, Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, T0)), T0)
	}
	act := func(id string, a incidents.Action) {
		if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error { return inc.Apply(a, "alice", "", T0) }); err != nil {
			t.Fatal(err)
		}
	}
	// payments: 1 2 6 7 8 12 13 14 18 (numbers i+1 with i%6 in {0, 5})
	act("INC-1", incidents.Resolve)
	act("INC-6", incidents.Acknowledge)
	act("INC-13", incidents.Resolve)
	act("INC-4", incidents.Resolve) // ops
	open := incidents.OpenStates
	cases := []struct {
		opts incidents.ListOptions
		want string
	}{
		{incidents.ListOptions{Team: "payments"}, "[INC-18 INC-13 INC-12 INC-7 INC-6 INC-1]"},
		{incidents.ListOptions{Team: "payments", States: open}, "[INC-18 INC-12 INC-7 INC-6]"},
		{incidents.ListOptions{Team: "payments", States: []incidents.State{incidents.Resolved}}, "[INC-13 INC-1]"},
		{incidents.ListOptions{Team: "payments", States: []incidents.State{incidents.Acknowledged}}, "[INC-6]"},
		{incidents.ListOptions{Team: "payments", States: incidents.States}, "[INC-18 INC-13 INC-12 INC-7 INC-6 INC-1]"},
		{incidents.ListOptions{Team: "payments", Limit: 2}, "[INC-18 INC-13]"},
		{incidents.ListOptions{Team: "payments", Limit: 2, Before: 13}, "[INC-12 INC-7]"},
		{incidents.ListOptions{Team: "payments", States: open, Limit: 3, Before: 12}, "[INC-7 INC-6]"},
		{incidents.ListOptions{Team: "ops"}, "[INC-16 INC-10 INC-4]"},
		{incidents.ListOptions{Team: "ops", States: []incidents.State{incidents.Triggered}}, "[INC-16 INC-10]"},
		{incidents.ListOptions{Team: "ops:triggered"}, "[INC-17 INC-11 INC-5]"},
		{incidents.ListOptions{Team: "search", States: []incidents.State{incidents.Resolved}}, "[]"},
		{incidents.ListOptions{Team: "nobody"}, "[]"},
		{incidents.ListOptions{States: []incidents.State{incidents.Resolved}}, "[INC-13 INC-4 INC-1]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(ids(list(t, s, c.opts))); got != c.want {
			t.Errorf("List(%+v) = %s, want %s", c.opts, got, c.want)
		}
	}
	for _, inc := range list(t, s, incidents.ListOptions{Team: "payments"}) {
		if inc.Team != "payments" || inc.Alerts != nil {
			t.Fatalf("List by team holds %s of team %q with %d alerts", inc.ID, inc.Team, len(inc.Alerts))
		}
	}
}

// Lists by creation time are exact at the window's edges, combine with
// team, state and Before, and find incidents numbered out of creation
// order by less than CreationSkew.
func testListByTime(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	hour := func(h float64) time.Time { return T0.Add(time.Duration(h * float64(time.Hour))) }
	// INC-1 … INC-10 open at T0+0h … T0+9h, teams alternating.
	for i := range 10 {
		team := []string{"payments", "search"}[i%2]
		ingest(t, s, TeamBatch(fmt.Sprintf("g%d", i), team, Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, hour(float64(i)))), hour(float64(i)))
	}
	// INC-11 is numbered after INC-10 but opened 2 minutes before it.
	ingest(t, s, TeamBatch("late", "payments", Alert("late", incidents.AlertFiring, hour(9).Add(-2*time.Minute))), hour(9).Add(-2*time.Minute))
	if _, err := s.Update(ctx, "INC-5", func(inc *incidents.Incident) error { return inc.Apply(incidents.Resolve, "alice", "", hour(5)) }); err != nil {
		t.Fatal(err)
	}
	// INC-12 … INC-41 open a second apart at T0+10h: many incidents near
	// a window's edge, within CreationSkew of it.
	for i := range 30 {
		at := hour(10).Add(time.Duration(i) * time.Second)
		ingest(t, s, TeamBatch(fmt.Sprintf("burst%d", i), "burst", Alert(fmt.Sprintf("b%d", i), incidents.AlertFiring, at)), at)
	}
	cases := []struct {
		opts incidents.ListOptions
		want string
	}{
		{incidents.ListOptions{Since: hour(3), Until: hour(7)}, "[INC-7 INC-6 INC-5 INC-4]"},
		{incidents.ListOptions{Since: hour(3).Add(time.Nanosecond), Until: hour(6).Add(-time.Nanosecond)}, "[INC-6 INC-5]"},
		{incidents.ListOptions{Since: hour(3), Until: hour(7), Team: "payments"}, "[INC-7 INC-5]"},
		{incidents.ListOptions{Since: hour(3), Until: hour(7), Team: "payments", States: incidents.OpenStates}, "[INC-7]"},
		{incidents.ListOptions{Since: hour(3), Until: hour(7), States: []incidents.State{incidents.Resolved}}, "[INC-5]"},
		{incidents.ListOptions{Since: hour(3), Until: hour(7), Limit: 2}, "[INC-7 INC-6]"},
		{incidents.ListOptions{Since: hour(3), Until: hour(7), Limit: 2, Before: 6}, "[INC-5 INC-4]"},
		{incidents.ListOptions{Until: hour(2)}, "[INC-2 INC-1]"},
		{incidents.ListOptions{Since: hour(8), Until: hour(10)}, "[INC-11 INC-10 INC-9]"},
		{incidents.ListOptions{Since: hour(9).Add(-3 * time.Minute), Until: hour(9)}, "[INC-11]"},
		{incidents.ListOptions{Since: hour(9).Add(-2 * time.Minute), Until: hour(9).Add(-time.Minute)}, "[INC-11]"},
		{incidents.ListOptions{Since: hour(8.5), Team: "payments"}, "[INC-11]"},
		{incidents.ListOptions{Since: hour(10).Add(20 * time.Second), Limit: 3}, "[INC-41 INC-40 INC-39]"},
		{incidents.ListOptions{Since: hour(10), Until: hour(10).Add(10 * time.Second), Limit: 4}, "[INC-21 INC-20 INC-19 INC-18]"},
		{incidents.ListOptions{Since: hour(10), Until: hour(10).Add(10 * time.Second), Limit: 4, Before: 16}, "[INC-15 INC-14 INC-13 INC-12]"},
		{incidents.ListOptions{Since: hour(9).Add(time.Minute), Until: hour(10)}, "[]"},
		{incidents.ListOptions{Since: hour(20)}, "[]"},
		{incidents.ListOptions{Until: T0}, "[]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(ids(list(t, s, c.opts))); got != c.want {
			t.Errorf("List(since %s, until %s, team %q, states %v, limit %d, before %d) = %s, want %s",
				c.opts.Since.Format(time.TimeOnly), c.opts.Until.Format(time.TimeOnly), c.opts.Team, c.opts.States, c.opts.Limit, c.opts.Before, got, c.want)
		}
	}
	// Paging through a window with Before gives every incident in it once.
	var all []string
	opts := incidents.ListOptions{Since: hour(10).Add(5 * time.Second), Until: hour(10).Add(25 * time.Second), Limit: 3}
	for {
		page := list(t, s, opts)
		all = append(all, ids(page)...)
		if len(page) < opts.Limit {
			break
		}
		opts.Before = page[len(page)-1].Number
	}
	if len(all) != 20 || all[0] != "INC-36" || all[19] != "INC-17" {
		t.Fatalf("paged window = %v, want INC-36 … INC-17", all)
	}
	if _, err := s.List(ctx, incidents.ListOptions{Since: hour(2), Until: hour(2)}); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("List with until = since: %v, want Invalid", err)
	}
}

// An incident handed to another team (or to none) moves between the
// teams' lists, in its state.
func testListFollowsTeam(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	for i := range 3 {
		ingest(t, s, TeamBatch(fmt.Sprintf("g%d", i), "payments", Alert(fmt.Sprint("a", i), incidents.AlertFiring, T0)), T0)
	}
	move := func(id, team string, a incidents.Action) {
		if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
			inc.Team = team
			if a != "" {
				return inc.Apply(a, "alice", "", T0)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	move("INC-2", "search", incidents.Acknowledge)
	move("INC-3", "", "")
	cases := []struct {
		opts incidents.ListOptions
		want string
	}{
		{incidents.ListOptions{Team: "payments"}, "[INC-1]"},
		{incidents.ListOptions{Team: "payments", States: []incidents.State{incidents.Triggered}}, "[INC-1]"},
		{incidents.ListOptions{Team: "search"}, "[INC-2]"},
		{incidents.ListOptions{Team: "search", States: []incidents.State{incidents.Acknowledged}}, "[INC-2]"},
		{incidents.ListOptions{Team: "search", States: []incidents.State{incidents.Triggered}}, "[]"},
		{incidents.ListOptions{States: incidents.OpenStates}, "[INC-3 INC-2 INC-1]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(ids(list(t, s, c.opts))); got != c.want {
			t.Errorf("List(team %q, states %v) = %s, want %s", c.opts.Team, c.opts.States, got, c.want)
		}
	}
}
