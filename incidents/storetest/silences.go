package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// testSilences: an incident keeps the silences recorded on it, through a
// later batch and in List's summaries, and forgets one removed.
func testSilences(t *testing.T, s incidents.Store) {
	ctx := context.Background()
	id := ingest(t, s, Batch("g1", Alert("a", incidents.AlertFiring, T0)), T0).Incident.ID
	at := T0.Add(time.Minute)
	one := incidents.Silence{ID: "1a2b3c4d-0000-4000-8000-000000000001", Source: "alertmanager", By: "alice",
		Until: at.Add(4 * time.Hour), Matchers: `{alertname="HighLatency-a", note="say \"hi\" 🔥"}`}
	two := incidents.Silence{ID: "5e6f7a8b-0000-4000-8000-000000000002", Source: "grafana", By: "bob", Until: at.Add(time.Hour)}
	for _, sil := range []incidents.Silence{one, two} {
		if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error { return inc.AddSilence(sil, at) }); err != nil {
			t.Fatal(err)
		}
	}
	// A new alert of the group leaves them be.
	ingest(t, s, Batch("g1", Alert("b", incidents.AlertFiring, T0)), at.Add(time.Second))
	one.At, two.At = at, at
	got := get(t, s, id)
	if !slices.Equal(got.Silences, []incidents.Silence{one, two}) {
		t.Fatalf("Silences = %+v\nwant %+v", got.Silences, []incidents.Silence{one, two})
	}
	if n := len(got.ActiveSilences(at.Add(2 * time.Hour))); n != 1 {
		t.Fatalf("%d silences active after two hours, want 1", n)
	}
	wantLast(t, got, incidents.EventSilenced, "Silenced for 1h by bob (silence 5e6f7a8b…)")
	l, err := s.List(ctx, incidents.ListOptions{Limit: 10})
	if err != nil || len(l) != 1 || len(l[0].Silences) != 2 {
		t.Fatalf("List = %+v, %v; want the incident with its 2 silences", l, err)
	}
	if _, err := s.Update(ctx, id, func(inc *incidents.Incident) error {
		_, err := inc.RemoveSilence(one.ID, "carol", at.Add(time.Minute))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got = get(t, s, id)
	if !slices.Equal(got.Silences, []incidents.Silence{two}) {
		t.Fatalf("after removing %s: %+v", one.ID, got.Silences)
	}
	wantLast(t, got, incidents.EventUnsilenced, "Silence 1a2b3c4d… expired by carol: its alerts notify again")
}

func wantLast(t *testing.T, inc *incidents.Incident, kind incidents.EventKind, text string) {
	t.Helper()
	for i := len(inc.Timeline) - 1; i >= 0; i-- {
		if e := inc.Timeline[i]; e.Kind == kind {
			if e.Text != text {
				t.Fatalf("last %s event %q, want %q", kind, e.Text, text)
			}
			return
		}
	}
	t.Fatalf("no %s event in %+v", kind, inc.Timeline)
}
