// Package storetest is the conformance suite every incidents.Store must pass.
// Each store's own tests call Run with a constructor of empty stores.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// NewStore returns an empty store; it registers its own cleanup with t.
type NewStore func(t testing.TB) incidents.Store

// T0 is the instant the suite's clock starts at.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Opts are the ingest options the suite uses at instant now.
func Opts(now time.Time) incidents.IngestOptions {
	return incidents.IngestOptions{Now: now, ReopenWindow: time.Hour}
}

// Alert returns a realistic alert.
func Alert(fp string, status incidents.AlertStatus, startsAt time.Time) incidents.Alert {
	a := incidents.Alert{
		Source: "alertmanager", Fingerprint: fp, Status: status, Severity: incidents.Sev2,
		Labels:      map[string]string{"alertname": "HighLatency-" + fp, "service": "payments", "severity": "high"},
		Annotations: map[string]string{"summary": "p99 latency above 2s on " + fp},
		StartsAt:    startsAt, GeneratorURL: "http://prometheus:9090/graph?g0.expr=x",
	}
	if status == incidents.AlertResolved {
		a.EndsAt = startsAt.Add(10 * time.Minute)
	}
	return a
}

// Batch returns a batch for group with the given alerts.
func Batch(group string, alerts ...incidents.Alert) *incidents.Batch {
	return &incidents.Batch{
		Source: "alertmanager", GroupKey: group, Title: "Latency on " + group,
		GroupLabels: map[string]string{"alertname": group}, Alerts: alerts,
	}
}

// Run runs the conformance suite against stores made by newStore; opts add
// to what it checks (WithReplicas, WithMaxStats).
func Run(t *testing.T, newStore NewStore, opts ...Option) {
	tests := []struct {
		name string
		fn   func(*testing.T, incidents.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"NumbersAreMonotonic", testNumbers},
		{"ResendIsNoop", testResend},
		{"NewAlertJoinsGroup", testJoin},
		{"ResolvesWhenAllResolved", testResolveAll},
		{"StaleFiringAfterResolveIgnored", testStale},
		{"ReopenWithinWindow", testReopenWindow},
		{"NewIncidentAfterWindow", testAfterWindow},
		{"ResolvedOnlyUnknownGroupIgnored", testIgnoreResolvedOnly},
		{"RegroupedAlertJoinsOpenIncident", testFingerprintJoin},
		{"InvalidBatch", testInvalid},
		{"Transitions", testTransitions},
		{"UpdateErrorStoresNothing", testUpdateError},
		{"UpdateNotFound", testNotFound},
		{"ListByStateAndPaging", testList},
		{"TimelineOrder", testTimelineOrder},
		{"PartialBatchesOnABigIncident", testBigIncident},
		{"ConcurrentIngestSameGroup", testConcurrentIngest},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdate},
		{"ConcurrentIngestAndUpdate", testConcurrentMixed},
		{"ListReturnsSummaries", testListSummaries},
		{"HugeIncidentListsAsSummary", testHugeIncident},
		{"AlertsPageInCardOrder", testAlertsPaging},
		{"EventsPageOldestFirst", testEventsPaging},
		{"ListByTeam", testListByTeam},
		{"ListByCreationTime", testListByTime},
		{"ListFollowsTeamChanges", testListFollowsTeam},
		{"Silences", testSilences},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
	outbox := []struct {
		name string
		fn   func(*testing.T, incidents.Store, incidents.Outbox)
	}{
		{"OutboxPendingOncePerIncident", testOutboxCoalesce},
		{"OutboxChangeDuringClaim", testOutboxChangeDuringClaim},
		{"OutboxLeaseExpiry", testOutboxLease},
		{"OutboxRetryAt", testOutboxRetry},
		{"OutboxConcurrentClaimers", testOutboxConcurrent},
		{"OutboxDeliveries", testOutboxDeliveries},
		{"OutboxStaleReleaseIsIgnored", testOutboxStaleRelease},
		{"OutboxChangeCutsRetryShort", testOutboxChangeCutsRetry},
	}
	escalations := []struct {
		name string
		fn   func(*testing.T, incidents.Store, incidents.Escalations)
	}{
		{"EscalationDueIndex", testEscalationDue},
		{"EscalationConcurrentClaimers", testEscalationConcurrent},
		{"PagingDueIndex", testPagingDue},
		{"EscalationStepOnce", testStepOnce},
		{"OnCallOverrides", testOverrides},
	}
	for _, tc := range escalations {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			e, ok := s.(incidents.Escalations)
			if !ok {
				t.Skip("store has no escalation index")
			}
			tc.fn(t, s, e)
		})
	}
	runHeartbeats(t, newStore)
	t.Run("MaintenanceWindows", func(t *testing.T) {
		s := newStore(t)
		m, ok := s.(incidents.Maintenances)
		if !ok {
			t.Skip("store keeps no maintenance windows")
		}
		testMaintenances(t, m)
	})
	t.Run("CoverRequests", func(t *testing.T) {
		s := newStore(t)
		c, ok := s.(incidents.CoverRequests)
		if !ok {
			t.Skip("store keeps no cover requests")
		}
		testCoverRequests(t, c)
	})
	t.Run("OnceAcrossReplicas", func(t *testing.T) {
		s := newStore(t)
		o, ok := s.(incidents.Once)
		if !ok {
			t.Skip("store has no shared once-only keys")
		}
		testOnce(t, o)
	})
	t.Run("Throttles", func(t *testing.T) {
		s := newStore(t)
		th, ok := s.(incidents.Throttles)
		if !ok {
			t.Skip("store keeps no throttles")
		}
		testThrottles(t, th)
	})
	t.Run("Graphs", func(t *testing.T) {
		s := newStore(t)
		g, ok := s.(incidents.Graphs)
		if !ok {
			t.Skip("store keeps no graphs")
		}
		testGraphs(t, s, g)
	})
	for _, tc := range outbox {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			o, ok := s.(incidents.Outbox)
			if !ok {
				t.Skip("store has no outbox")
			}
			tc.fn(t, s, o)
		})
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	runConsole(t, newStore, o)
	runStats(t, newStore, o)
}

func ingest(t testing.TB, s incidents.Store, b *incidents.Batch, now time.Time) *incidents.IngestResult {
	t.Helper()
	r, err := s.Ingest(context.Background(), b, Opts(now))
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return r
}

func get(t testing.TB, s incidents.Store, id string) *incidents.Incident {
	t.Helper()
	inc, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return inc
}

func kinds(inc *incidents.Incident) []incidents.EventKind {
	var k []incidents.EventKind
	for _, e := range inc.Timeline {
		k = append(k, e.Kind)
	}
	return k
}

func wantKinds(t testing.TB, inc *incidents.Incident, want ...incidents.EventKind) {
	t.Helper()
	got := kinds(inc)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s timeline kinds = %v, want %v", inc.ID, got, want)
	}
}

func testCreateAndGet(t *testing.T, s incidents.Store) {
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	if !r.Created || !r.Changed || r.Incident == nil {
		t.Fatalf("result = %+v, want created", r)
	}
	inc := get(t, s, r.Incident.ID)
	if inc.ID != "INC-1" || inc.Number != 1 || inc.State != incidents.Triggered || inc.Title != "Latency on g1" ||
		inc.Severity != incidents.Sev2 || inc.GroupKey != "g1" || inc.Source != "alertmanager" || inc.Version < 1 {
		t.Fatalf("stored incident = %+v", inc)
	}
	if len(inc.Alerts) != 1 || inc.Alerts[0].Labels["service"] != "payments" || !inc.Alerts[0].StartsAt.Equal(T0) {
		t.Fatalf("alerts = %+v", inc.Alerts)
	}
	if !inc.CreatedAt.Equal(T0) {
		t.Fatalf("CreatedAt = %v, want %v", inc.CreatedAt, T0)
	}
	wantKinds(t, inc, incidents.EventTriggered, incidents.EventAlertsFiring)
	if _, err := s.Get(context.Background(), "INC-999"); incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Get(unknown) error = %v, want NotFound", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testNumbers(t *testing.T, s incidents.Store) {
	for i := 1; i <= 5; i++ {
		r := ingest(t, s, Batch(fmt.Sprintf("g%d", i), Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, T0)), T0)
		if want := incidents.FormatID(int64(i)); r.Incident.ID != want {
			t.Fatalf("incident %d got ID %s, want %s", i, r.Incident.ID, want)
		}
	}
}

func testResend(t *testing.T, s incidents.Store) {
	b := Batch("g1", Alert("a", incidents.AlertFiring, T0), Alert("b", incidents.AlertFiring, T0))
	first := ingest(t, s, b, T0)
	for i := 1; i <= 3; i++ { // retries, repeat_interval, an HA peer
		r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0), Alert("b", incidents.AlertFiring, T0)), T0.Add(time.Duration(i)*4*time.Hour))
		if r.Created || r.Changed || r.Incident.ID != first.Incident.ID {
			t.Fatalf("resend %d: result %+v, want unchanged %s", i, r, first.Incident.ID)
		}
	}
	inc := get(t, s, first.Incident.ID)
	if inc.Version != first.Incident.Version || len(inc.Timeline) != len(first.Incident.Timeline) {
		t.Fatalf("resend changed the incident: version %d→%d, timeline %d→%d", first.Incident.Version, inc.Version, len(first.Incident.Timeline), len(inc.Timeline))
	}
}

func testJoin(t *testing.T, s incidents.Store) {
	first := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	c := Alert("c", incidents.AlertFiring, T0.Add(time.Minute))
	c.Severity = incidents.Sev1
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0), c), T0.Add(time.Minute))
	if r.Created || !r.Changed || r.Incident.ID != first.Incident.ID {
		t.Fatalf("join result = %+v", r)
	}
	inc := get(t, s, first.Incident.ID)
	if len(inc.Alerts) != 2 || inc.Alerts[1].Fingerprint != "c" {
		t.Fatalf("alerts = %+v", inc.Alerts)
	}
	if inc.Severity != incidents.Sev1 {
		t.Fatalf("severity = %v, want raised to SEV1", inc.Severity)
	}
	wantKinds(t, inc, incidents.EventTriggered, incidents.EventAlertsFiring, incidents.EventAlertsFiring, incidents.EventSeverity)
	if inc.Version <= first.Incident.Version {
		t.Fatalf("version did not grow: %d → %d", first.Incident.Version, inc.Version)
	}
}

func testResolveAll(t *testing.T, s incidents.Store) {
	first := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0), Alert("b", incidents.AlertFiring, T0)), T0)
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0), Alert("b", incidents.AlertFiring, T0)), T0.Add(5*time.Minute))
	if r.Incident.State != incidents.Triggered {
		t.Fatalf("one of two resolved: state %s, want triggered", r.Incident.State)
	}
	r = ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0), Alert("b", incidents.AlertResolved, T0)), T0.Add(10*time.Minute))
	inc := get(t, s, first.Incident.ID)
	if inc.State != incidents.Resolved || inc.ResolvedBy != "alertmanager" || !inc.ResolvedAt.Equal(T0.Add(10*time.Minute)) {
		t.Fatalf("after all resolved: state %s by %q at %v", inc.State, inc.ResolvedBy, inc.ResolvedAt)
	}
	wantKinds(t, inc, incidents.EventTriggered, incidents.EventAlertsFiring, incidents.EventAlertsResolved, incidents.EventAlertsResolved, incidents.EventResolved)
	// The resolved notification again changes nothing.
	r = ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0), Alert("b", incidents.AlertResolved, T0)), T0.Add(11*time.Minute))
	if r.Changed {
		t.Fatalf("repeated resolve changed the incident")
	}
}

func testStale(t *testing.T, s incidents.Store) {
	first := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0)), T0.Add(time.Minute))
	// A delayed retry of the first notification arrives after the resolve.
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0.Add(2*time.Minute))
	if r.Changed || r.Created || r.Reopened {
		t.Fatalf("stale firing copy: %+v, want no change", r)
	}
	if inc := get(t, s, first.Incident.ID); inc.State != incidents.Resolved {
		t.Fatalf("state = %s, want resolved", inc.State)
	}
	// An older occurrence resolving after a newer one fired is stale too.
	r = ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0.Add(3*time.Minute))), T0.Add(3*time.Minute))
	if !r.Reopened {
		t.Fatalf("new occurrence did not reopen: %+v", r)
	}
	r = ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0)), T0.Add(4*time.Minute))
	if r.Changed || r.Incident.State != incidents.Triggered {
		t.Fatalf("stale resolve: %+v state %s", r, r.Incident.State)
	}
}

func testReopenWindow(t *testing.T, s incidents.Store) {
	first := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0)), T0.Add(time.Minute))
	again := T0.Add(50 * time.Minute)
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, again)), again)
	if r.Created || !r.Reopened || r.Incident.ID != first.Incident.ID || r.Incident.State != incidents.Triggered {
		t.Fatalf("fire within window: %+v", r)
	}
	inc := get(t, s, first.Incident.ID)
	if !inc.ResolvedAt.IsZero() || inc.ResolvedBy != "" {
		t.Fatalf("reopened incident still says resolved at %v by %q", inc.ResolvedAt, inc.ResolvedBy)
	}
	wantKinds(t, inc, incidents.EventTriggered, incidents.EventAlertsFiring, incidents.EventAlertsResolved,
		incidents.EventResolved, incidents.EventAlertsFiring, incidents.EventReopened)
	open, err := s.List(context.Background(), incidents.ListOptions{States: incidents.OpenStates})
	if err != nil || len(open) != 1 || open[0].ID != first.Incident.ID {
		t.Fatalf("open list after reopen = %v, %v", ids(open), err)
	}
}

func testAfterWindow(t *testing.T, s incidents.Store) {
	first := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0)
	ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0)), T0.Add(time.Minute))
	later := T0.Add(3 * time.Hour)
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, later)), later)
	if !r.Created || r.Incident.ID == first.Incident.ID {
		t.Fatalf("fire after window: %+v, want a new incident", r)
	}
	// The group now follows the new incident.
	r2 := ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, later)), later.Add(time.Minute))
	if r2.Incident.ID != r.Incident.ID || r2.Incident.State != incidents.Resolved {
		t.Fatalf("resolve after regroup went to %s (%s)", r2.Incident.ID, r2.Incident.State)
	}
	if old := get(t, s, first.Incident.ID); old.State != incidents.Resolved || len(old.Timeline) != 4 {
		t.Fatalf("old incident changed: %s, %d events", old.State, len(old.Timeline))
	}
}

func testIgnoreResolvedOnly(t *testing.T, s incidents.Store) {
	r := ingest(t, s, Batch("g1", Alert("a", incidents.AlertResolved, T0)), T0)
	if r.Created || r.Changed || r.Incident != nil {
		t.Fatalf("resolved-only for unknown group: %+v, want ignored", r)
	}
	if l, _ := s.List(context.Background(), incidents.ListOptions{}); len(l) != 0 {
		t.Fatalf("store has %d incidents, want 0", len(l))
	}
}

func testFingerprintJoin(t *testing.T, s incidents.Store) {
	first := ingest(t, s, Batch("old-grouping", Alert("a", incidents.AlertFiring, T0)), T0)
	// Alertmanager's group_by changed: the same alert arrives in a new group.
	r := ingest(t, s, Batch("new-grouping", Alert("a", incidents.AlertFiring, T0), Alert("b", incidents.AlertFiring, T0)), T0.Add(time.Minute))
	if r.Created || r.Incident.ID != first.Incident.ID {
		t.Fatalf("regrouped alert opened %s (created=%v), want it to join %s", r.Incident.ID, r.Created, first.Incident.ID)
	}
	r = ingest(t, s, Batch("new-grouping", Alert("c", incidents.AlertFiring, T0)), T0.Add(2*time.Minute))
	if r.Incident.ID != first.Incident.ID {
		t.Fatalf("new group was not mapped to %s: got %s", first.Incident.ID, r.Incident.ID)
	}
}

func testInvalid(t *testing.T, s incidents.Store) {
	for _, b := range []*incidents.Batch{
		{Source: "alertmanager", GroupKey: "g"},
		{Source: "alertmanager", Alerts: []incidents.Alert{Alert("a", incidents.AlertFiring, T0)}},
		{Source: "alertmanager", GroupKey: "g", Alerts: []incidents.Alert{{Fingerprint: "x", Status: "burning"}}},
		{Source: "alertmanager", GroupKey: "g", Alerts: []incidents.Alert{{Status: incidents.AlertFiring}}},
	} {
		if _, err := s.Ingest(context.Background(), b, Opts(T0)); incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("Ingest(%+v) error = %v, want Invalid", b, err)
		}
	}
}

func testTransitions(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	act := func(a incidents.Action, who string, at time.Time) (*incidents.Incident, error) {
		return s.Update(ctx, id, func(inc *incidents.Incident) error { return inc.Apply(a, who, "", at) })
	}
	inc, err := act(incidents.Acknowledge, "alice", T0.Add(time.Minute))
	if err != nil || inc.State != incidents.Acknowledged || inc.AckedBy != "alice" {
		t.Fatalf("ack: %v, %+v", err, inc)
	}
	if _, err := act(incidents.Acknowledge, "bob", T0.Add(2*time.Minute)); incidents.ErrorKind(err) != incidents.Conflict {
		t.Fatalf("second ack error = %v, want Conflict", err)
	}
	if inc, err = act(incidents.Unacknowledge, "alice", T0.Add(3*time.Minute)); err != nil || inc.State != incidents.Triggered {
		t.Fatalf("unack: %v %s", err, inc.State)
	}
	if inc, err = act(incidents.Resolve, "bob", T0.Add(4*time.Minute)); err != nil || inc.State != incidents.Resolved {
		t.Fatalf("resolve: %v", err)
	}
	_, err = act(incidents.Resolve, "carol", T0.Add(5*time.Minute))
	if incidents.ErrorKind(err) != incidents.Conflict || incidents.ErrorMessage(err) != id+" is already resolved (by bob at 2026-03-01 12:04 UTC)" {
		t.Fatalf("resolve twice: %v", err)
	}
	if inc, err = act(incidents.Reopen, "carol", T0.Add(6*time.Minute)); err != nil || inc.State != incidents.Triggered {
		t.Fatalf("reopen: %v", err)
	}
	got := get(t, s, id)
	wantKinds(t, got, incidents.EventTriggered, incidents.EventAlertsFiring, incidents.EventAcknowledged,
		incidents.EventUnacknowledged, incidents.EventResolved, incidents.EventReopened)
	if got.Timeline[4].Actor != "bob" || got.Timeline[5].Actor != "carol" {
		t.Fatalf("actors = %q, %q", got.Timeline[4].Actor, got.Timeline[5].Actor)
	}
}

func testUpdateError(t *testing.T, s incidents.Store) {
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	before := get(t, s, id)
	boom := errors.New("boom")
	_, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error {
		inc.Title = "changed"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want fn's error", err)
	}
	if after := get(t, s, id); after.Title != before.Title || after.Version != before.Version {
		t.Fatalf("failed update was stored: %q v%d", after.Title, after.Version)
	}
}

func testNotFound(t *testing.T, s incidents.Store) {
	_, err := s.Update(context.Background(), "INC-404", func(*incidents.Incident) error { return nil })
	if incidents.ErrorKind(err) != incidents.NotFound {
		t.Fatalf("Update(unknown) error = %v, want NotFound", err)
	}
}

func ids(l []*incidents.Incident) []string {
	var s []string
	for _, inc := range l {
		s = append(s, inc.ID)
	}
	return s
}

func testList(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		ingest(t, s, Batch(fmt.Sprintf("g%d", i), Alert(fmt.Sprintf("a%d", i), incidents.AlertFiring, T0)), T0)
	}
	for _, id := range []string{"INC-2", "INC-4"} {
		if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error { return inc.Apply(incidents.Acknowledge, "alice", "", T0) }); err != nil {
			t.Fatal(err)
		}
	}
	ingest(t, s, Batch("g5", Alert("a5", incidents.AlertResolved, T0)), T0.Add(time.Minute))
	cases := []struct {
		opts incidents.ListOptions
		want string
	}{
		{incidents.ListOptions{}, "[INC-6 INC-5 INC-4 INC-3 INC-2 INC-1]"},
		{incidents.ListOptions{States: []incidents.State{incidents.Triggered}}, "[INC-6 INC-3 INC-1]"},
		{incidents.ListOptions{States: []incidents.State{incidents.Acknowledged}}, "[INC-4 INC-2]"},
		{incidents.ListOptions{States: []incidents.State{incidents.Resolved}}, "[INC-5]"},
		{incidents.ListOptions{States: incidents.OpenStates}, "[INC-6 INC-4 INC-3 INC-2 INC-1]"},
		{incidents.ListOptions{States: incidents.OpenStates, Limit: 2}, "[INC-6 INC-4]"},
		{incidents.ListOptions{States: incidents.OpenStates, Limit: 2, Before: 4}, "[INC-3 INC-2]"},
		{incidents.ListOptions{Before: 2}, "[INC-1]"},
	}
	for _, c := range cases {
		l, err := s.List(ctx, c.opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", c.opts, err)
		}
		if got := fmt.Sprint(ids(l)); got != c.want {
			t.Errorf("List(%+v) = %s, want %s", c.opts, got, c.want)
		}
	}
	if _, err := s.List(ctx, incidents.ListOptions{Limit: incidents.MaxListLimit + 1}); incidents.ErrorKind(err) != incidents.Invalid {
		t.Errorf("List over max limit: %v, want Invalid", err)
	}
	counts, err := s.Count(ctx)
	if err != nil || counts[incidents.Triggered] != 3 || counts[incidents.Acknowledged] != 2 {
		t.Fatalf("Count = %v, %v; want 3 triggered, 2 acknowledged", counts, err)
	}
}

func testTimelineOrder(t *testing.T, s incidents.Store) {
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	for i := 1; i <= 10; i++ {
		at := T0.Add(time.Duration(i) * time.Minute)
		ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0), Alert(fmt.Sprintf("n%d", i), incidents.AlertFiring, at)), at)
	}
	inc := get(t, s, id)
	if len(inc.Timeline) != 12 {
		t.Fatalf("timeline has %d events, want 12", len(inc.Timeline))
	}
	for i := 1; i < len(inc.Timeline); i++ {
		if inc.Timeline[i].At.Before(inc.Timeline[i-1].At) {
			t.Fatalf("timeline out of order at %d: %v after %v", i, inc.Timeline[i].At, inc.Timeline[i-1].At)
		}
	}
	if last := inc.Timeline[11].Text; last != "1 alert firing: HighLatency-n10" {
		t.Fatalf("last event text = %q", last)
	}
}

func testConcurrentIngest(t *testing.T, s incidents.Store) {
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Ingest(context.Background(), Batch("same", Alert("a", incidents.AlertFiring, T0), Alert("b", incidents.AlertFiring, T0)), Opts(T0))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Ingest: %v", err)
		}
	}
	all, err := s.List(context.Background(), incidents.ListOptions{})
	if err != nil || len(all) != 1 {
		t.Fatalf("after %d concurrent ingests: %v incidents (%v), want 1", n, ids(all), err)
	}
	wantKinds(t, get(t, s, all[0].ID), incidents.EventTriggered, incidents.EventAlertsFiring)
}

func testConcurrentUpdate(t *testing.T, s incidents.Store) {
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error {
				inc.Timeline = append(inc.Timeline, incidents.Event{At: T0, Kind: "test", Text: fmt.Sprint(i)})
				return nil
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		}()
	}
	wg.Wait()
	if inc := get(t, s, id); len(inc.Timeline) != 2+n {
		t.Fatalf("timeline has %d events after %d concurrent updates, want %d", len(inc.Timeline), n, 2+n)
	}
}

func testConcurrentMixed(t *testing.T, s incidents.Store) {
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			at := T0.Add(time.Duration(i+1) * time.Second)
			if _, err := s.Ingest(context.Background(), Batch("g1", Alert(fmt.Sprintf("x%d", i), incidents.AlertFiring, at)), Opts(at)); err != nil {
				t.Errorf("Ingest: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			_, err := s.Update(context.Background(), id, func(inc *incidents.Incident) error {
				inc.Timeline = append(inc.Timeline, incidents.Event{At: T0, Kind: "test", Text: "note"})
				return nil
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		}()
	}
	wg.Wait()
	inc := get(t, s, id)
	if len(inc.Alerts) != 11 || len(inc.Timeline) != 2+10+10 {
		t.Fatalf("after mixed writers: %d alerts, %d events; want 11 and 22", len(inc.Alerts), len(inc.Timeline))
	}
	checkPages(t, s, id, 4)
}

// Alertmanager may send a group's alerts in any subset (max_alerts, a
// generic webhook sends one at a time): the stored incident keeps every
// alert once, in first-seen order, with the right counts.
func testBigIncident(t *testing.T, s incidents.Store) {
	var first []incidents.Alert
	for i := range 50 {
		first = append(first, Alert(fmt.Sprintf("a%02d", i), incidents.AlertFiring, T0))
	}
	id := ingest(t, s, Batch("big", first...), T0).Incident.ID
	for i := range 10 {
		at := T0.Add(time.Duration(i+1) * time.Minute)
		r := ingest(t, s, Batch("big", Alert(fmt.Sprintf("b%02d", i), incidents.AlertFiring, at)), at)
		if r.Incident.ID != id || !r.Changed {
			t.Fatalf("join %d: %+v", i, r)
		}
	}
	var resolve []incidents.Alert
	for _, fp := range []string{"a07", "b03", "a49", "a00", "b09"} {
		a := Alert(fp, incidents.AlertResolved, T0)
		if fp[0] == 'b' {
			a = Alert(fp, incidents.AlertResolved, T0.Add(time.Duration(fp[2]-'0'+1)*time.Minute))
		}
		resolve = append(resolve, a)
	}
	ingest(t, s, Batch("big", resolve...), T0.Add(time.Hour))
	inc := get(t, s, id)
	if len(inc.Alerts) != 60 {
		t.Fatalf("%d alerts, want 60", len(inc.Alerts))
	}
	for i, a := range inc.Alerts {
		want := fmt.Sprintf("a%02d", i)
		if i >= 50 {
			want = fmt.Sprintf("b%02d", i-50)
		}
		if a.Fingerprint != want {
			t.Fatalf("alert %d is %s, want %s (first-seen order)", i, a.Fingerprint, want)
		}
	}
	if f, r := inc.Counts(); f != 55 || r != 5 || inc.State != incidents.Triggered {
		t.Fatalf("counts %d firing / %d resolved, state %s; want 55/5 triggered", f, r, inc.State)
	}
	if inc.Alerts[7].Status != incidents.AlertResolved || inc.Alerts[8].Status != incidents.AlertFiring {
		t.Fatalf("statuses a07 %s a08 %s", inc.Alerts[7].Status, inc.Alerts[8].Status)
	}
	if len(inc.Timeline) != 2+10+1 {
		t.Fatalf("timeline has %d events, want 13", len(inc.Timeline))
	}
	checkPages(t, s, id, 7)
}
