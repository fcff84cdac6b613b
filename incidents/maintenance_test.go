package incidents

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func TestParseWeekly(t *testing.T) {
	for _, c := range []struct {
		spec       string
		days       string // the days held, Sun first
		start, end int
		err        string
	}{
		{spec: "Sun 02:00-04:00", days: "1000000", start: 120, end: 240},
		{spec: "sunday 02:00-04:00", days: "1000000", start: 120, end: 240},
		{spec: "Mon-Fri 22:00-06:00", days: "0111110", start: 1320, end: 360},
		{spec: "Fri-Mon 00:00-24:00", days: "1100011", start: 0, end: 1440},
		{spec: "Sat,Sun 9:30-10:00", days: "1000001", start: 570, end: 600},
		{spec: "Sun", err: "want days and times"},
		{spec: "Sun 02:00-04:00 extra", err: "want days and times"},
		{spec: "Sonntag 02:00-04:00", err: `unknown day "Sonntag"`},
		{spec: "Mon-Xyz 02:00-04:00", err: `unknown day "Xyz"`},
		{spec: "Sun 02:00", err: "want a time range"},
		{spec: "Sun 2-4", err: "want a time of day"},
		{spec: "Sun 24:00-02:00", err: "want a time of day"},
		{spec: "Sun 02:60-04:00", err: "want a time of day"},
		{spec: "Sun 03:00-03:00", err: "is empty"},
	} {
		w, err := ParseWeekly(c.spec, time.UTC)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || ErrorKind(err) != Invalid {
				t.Errorf("ParseWeekly(%q) = %v; want an Invalid error with %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseWeekly(%q): %v", c.spec, err)
			continue
		}
		var days strings.Builder
		for _, on := range w.Days {
			if on {
				days.WriteByte('1')
			} else {
				days.WriteByte('0')
			}
		}
		if days.String() != c.days || w.Start != c.start || w.End != c.end {
			t.Errorf("ParseWeekly(%q) = days %s %d-%d; want %s %d-%d", c.spec, days.String(), w.Start, w.End, c.days, c.start, c.end)
		}
	}
}

// TestWeeklyAcrossDST checks the windows on the days the clocks change:
// Europe/Berlin went forward 2026-03-29 02:00 → 03:00 and goes back
// 2026-10-25 03:00 → 02:00; America/New_York goes forward 2026-03-08
// 02:00 → 03:00; Australia/Lord_Howe moves by half an hour.
func TestWeeklyAcrossDST(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name, zone, spec string
		at               string // UTC
		start, end       string // UTC; empty: not in a window
	}{
		{"a plain Sunday, CET", "Europe/Berlin", "Sun 02:00-04:00", "2026-03-22 01:30", "2026-03-22 01:00", "2026-03-22 03:00"},
		{"spring forward: 02:00 is skipped, one hour", "Europe/Berlin", "Sun 02:00-04:00", "2026-03-29 01:00", "2026-03-29 01:00", "2026-03-29 02:00"},
		{"spring forward: before the window", "Europe/Berlin", "Sun 02:00-04:00", "2026-03-29 00:59", "", ""},
		{"spring forward: just ended", "Europe/Berlin", "Sun 02:00-04:00", "2026-03-29 02:00", "", ""},
		{"spring forward: a window inside the gap starts at the jump", "Europe/Berlin", "Sun 02:15-02:45", "2026-03-29 01:00", "", ""},
		{"spring forward: a window ending in the gap", "Europe/Berlin", "Sun 01:00-02:30", "2026-03-29 00:30", "2026-03-29 00:00", "2026-03-29 01:00"},
		{"fall back: three hours", "Europe/Berlin", "Sun 02:00-04:00", "2026-10-25 00:00", "2026-10-25 00:00", "2026-10-25 03:00"},
		{"fall back: the repeated hour is still in", "Europe/Berlin", "Sun 02:00-04:00", "2026-10-25 01:30", "2026-10-25 00:00", "2026-10-25 03:00"},
		{"fall back: a window in the repeated hour ends the first time", "Europe/Berlin", "Sun 02:00-02:30", "2026-10-25 01:10", "", ""},
		{"fall back: ... and holds the first time", "Europe/Berlin", "Sun 02:00-02:30", "2026-10-25 00:10", "2026-10-25 00:00", "2026-10-25 00:30"},
		{"a plain Sunday, CEST", "Europe/Berlin", "Sun 02:00-04:00", "2026-11-01 01:00", "2026-11-01 01:00", "2026-11-01 03:00"},
		{"across midnight, Saturday evening", "Europe/Berlin", "Sat 23:00-01:00", "2026-03-21 22:30", "2026-03-21 22:00", "2026-03-22 00:00"},
		{"across midnight, Sunday morning", "Europe/Berlin", "Sat 23:00-01:00", "2026-03-21 23:59", "2026-03-21 22:00", "2026-03-22 00:00"},
		{"across midnight into the spring change", "Europe/Berlin", "Sat 22:00-03:00", "2026-03-29 00:30", "2026-03-28 21:00", "2026-03-29 01:00"},
		{"across midnight, weekdays, Friday night holds", "Europe/Berlin", "Mon-Fri 22:00-06:00", "2026-03-28 04:00", "2026-03-27 21:00", "2026-03-28 05:00"},
		{"across midnight, weekdays, Saturday night does not", "Europe/Berlin", "Mon-Fri 22:00-06:00", "2026-03-28 22:00", "", ""},
		{"to midnight", "Europe/Berlin", "Sun 20:00-24:00", "2026-03-29 21:00", "2026-03-29 18:00", "2026-03-29 22:00"},
		{"New York spring forward", "America/New_York", "Sun 01:30-03:30", "2026-03-08 06:45", "2026-03-08 06:30", "2026-03-08 07:30"},
		{"Lord Howe half-hour change", "Australia/Lord_Howe", "Sun 01:45-02:15", "2026-10-03 15:20", "2026-10-03 15:15", "2026-10-03 15:30"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := ParseWeekly(c.spec, mustLoc(t, c.zone))
			if err != nil {
				t.Fatal(err)
			}
			s, e, ok := w.Occurrence(utc(c.at))
			if c.start == "" {
				if ok {
					t.Fatalf("Occurrence(%s) = %s – %s; want none", c.at, s.UTC(), e.UTC())
				}
				return
			}
			if !ok || !s.Equal(utc(c.start)) || !e.Equal(utc(c.end)) {
				t.Fatalf("Occurrence(%s) = %s – %s, %v; want %s – %s", c.at, s.UTC(), e.UTC(), ok, c.start, c.end)
			}
		})
	}
}

func TestWeeklyNext(t *testing.T) {
	w, err := ParseWeekly("Sun 02:00-04:00", mustLoc(t, "Europe/Berlin"))
	if err != nil {
		t.Fatal(err)
	}
	// Wednesday → the coming Sunday, the spring change's.
	s, e, ok := w.Next(time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC))
	if !ok || !s.Equal(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("Next = %s – %s, %v", s, e, ok)
	}
	// Sunday after the window → next Sunday.
	s, _, ok = w.Next(time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC))
	if !ok || !s.Equal(time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("Next = %s, %v", s, ok)
	}
}

func TestMaintenanceMatchesAndHolds(t *testing.T) {
	inc := NewIncident(1, &Batch{Source: "alertmanager", GroupKey: "g", Team: "payments", Alerts: []Alert{
		{Fingerprint: "a", Status: AlertFiring, Labels: map[string]string{"alertname": "DBDown", "service": "db"}},
	}}, t0)
	inc.Team = "payments"
	w := Maintenance{ID: "mw-1", Team: "payments", Match: map[string]string{"service": "db"}, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Reason: "db upgrade"}
	if !w.Matches(inc) {
		t.Fatal("window should match")
	}
	for _, other := range []Maintenance{
		{ID: "x", Team: "search", Start: w.Start, End: w.End},
		{ID: "y", Match: map[string]string{"service": "api"}, Start: w.Start, End: w.End},
		{ID: "z", Match: map[string]string{"service": "db", "env": "prod"}, Start: w.Start, End: w.End},
	} {
		if other.Matches(inc) {
			t.Errorf("window %s should not match", other.ID)
		}
	}
	if got := Covering([]Maintenance{{ID: "old", Start: t0.Add(-3 * time.Hour), End: t0.Add(-time.Hour)}, w}, inc, t0); got == nil || got.ID != "mw-1" {
		t.Fatalf("Covering = %v", got)
	}
	p := &Policy{Name: "default", Steps: []Step{{Kind: StepNotify, Target: "channel"}, {Kind: StepWait, Wait: 5 * time.Minute}, {Kind: StepMention, Target: "oncall"}}}
	inc.BeginEscalation(p, t0)
	inc.HoldFor(&w, t0)
	if inc.Due() != w.End || inc.Maintenance == nil || inc.Maintenance.Until != w.End {
		t.Fatalf("held: due %s, hold %+v", inc.Due(), inc.Maintenance)
	}
	n := len(inc.Timeline)
	inc.HoldFor(&w, t0.Add(time.Minute)) // the same window again: nothing new
	if len(inc.Timeline) != n {
		t.Fatal("holding again added an event")
	}
	if last := inc.Timeline[n-1]; last.Kind != EventMaintenance || !strings.Contains(last.Text, "db upgrade") {
		t.Fatalf("event %+v", last)
	}
	// Acknowledged: the window no longer holds it.
	acked := inc.Clone()
	if err := acked.Apply(Acknowledge, "alice", "", t0.Add(time.Minute)); err != nil || acked.Maintenance != nil {
		t.Fatalf("acknowledged: %v, hold %+v", err, acked.Maintenance)
	}
	if last := acked.Timeline[len(acked.Timeline)-2]; last.Kind != EventMaintenance || last.Text != "Maintenance window mw-1 no longer holds it: acknowledged by alice" {
		t.Fatalf("ack event %+v", last)
	}
	// Ended early: due now.
	c := inc.Clone()
	if !c.ReleaseHold(t0.Add(10*time.Minute), "ended early by alice") || c.Maintenance != nil || !c.Due().Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("release: %+v %s", c.Maintenance, c.Due())
	}
	if last := c.Timeline[len(c.Timeline)-1]; !strings.Contains(last.Text, "escalation policy default starts") {
		t.Fatalf("release event %q", last.Text)
	}
	// Released at its end: due stays then.
	if !inc.ReleaseHold(w.End, "ended") || !inc.Due().Equal(w.End) {
		t.Fatalf("release at end: due %s", inc.Due())
	}
	if inc.ReleaseHold(w.End, "ended") {
		t.Fatal("released twice")
	}
}

func TestMaintenanceEndWindow(t *testing.T) {
	m := Maintenance{ID: "mw-1", Start: t0, End: t0.Add(time.Hour)}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := EndWindow(&m, "alice", t0.Add(10*time.Minute)); err != nil || !m.End.Equal(t0.Add(10*time.Minute)) || m.EndedBy != "alice" {
		t.Fatalf("EndWindow: %v %+v", err, m)
	}
	if err := EndWindow(&m, "bob", t0.Add(20*time.Minute)); ErrorKind(err) != NotFound {
		t.Fatalf("ending twice: %v", err)
	}
	for _, bad := range []Maintenance{{Start: t0, End: t0.Add(time.Hour)}, {ID: "a b", Start: t0, End: t0.Add(time.Hour)}, {ID: "x", Start: t0, End: t0}} {
		if err := bad.Validate(); ErrorKind(err) != Invalid {
			t.Errorf("Validate(%+v) = %v", bad, err)
		}
	}
}

// TestFlapping moves a clock through an alert that resolves and fires
// again: the fourth flap within 30 minutes marks the incident flapping;
// from then on a flap keeps the escalation where it was and its events
// are tagged for the timeline only; a quiet spell ends it.
func TestFlapping(t *testing.T) {
	rule := FlapRule{Count: 4, Within: 30 * time.Minute}
	p := &Policy{Name: "default", Steps: []Step{{Kind: StepNotify, Target: "channel"}, {Kind: StepWait, Wait: 5 * time.Minute},
		{Kind: StepMention, Target: "oncall"}, {Kind: StepWait, Wait: 10 * time.Minute}, {Kind: StepCall, Target: "oncall"}}}
	now := t0
	starts := now
	batch := func(st AlertStatus) *Batch {
		return &Batch{Source: "alertmanager", GroupKey: "g", Flapping: rule,
			Alerts: []Alert{{Fingerprint: "a", Status: st, StartsAt: starts, Labels: map[string]string{"alertname": "Blip"}}}}
	}
	opts := IngestOptions{Now: now, Start: func(inc *Incident, now time.Time) { inc.BeginEscalation(p, now) }}
	inc := NewIncident(1, batch(AlertFiring), now)
	opts.Started(nil, inc)
	// The notify step ran; the mention is due at +5m.
	inc.AdvanceEscalation(p, now)
	restarts := 0
	for i := 1; i <= 6; i++ {
		now = now.Add(2 * time.Minute)
		inc.ApplyBatch(batch(AlertResolved), now)
		if inc.State != Resolved {
			t.Fatalf("flap %d: state %s after resolving", i, inc.State)
		}
		now = now.Add(time.Minute)
		starts = now
		before := inc.Clone()
		inc.ApplyBatch(batch(AlertFiring), now)
		opts.Now = now
		run := inc.Escalation.Run
		opts.Started(before, inc)
		if inc.Escalation.Run != run {
			restarts++
		}
		if want := i >= 4; inc.Flapping != want {
			t.Fatalf("flap %d: flapping %v, want %v", i, inc.Flapping, want)
		}
	}
	if inc.Flaps != 6 || restarts != 3 {
		t.Fatalf("flaps %d, restarts %d; want 6 and 3 (the first three flaps restart the policy)", inc.Flaps, restarts)
	}
	// Since it flaps, the escalation resumes where it was: still due.
	if e := inc.Escalation; e.Run != 6 || inc.Due().IsZero() {
		t.Fatalf("escalation %+v", e)
	}
	var tagged, flapping int
	for _, e := range inc.Timeline {
		if e.Tag == TagFlap {
			tagged++
			if e.Kind != EventResolved && e.Kind != EventReopened {
				t.Errorf("tagged %s", e.Kind)
			}
		}
		if e.Kind == EventFlapping {
			flapping++
		}
	}
	// Flap 4 reopens tagged, then flaps 5 and 6 resolve and reopen tagged.
	if tagged != 5 || flapping != 1 {
		t.Fatalf("tagged %d (want 5), flapping events %d (want 1)", tagged, flapping)
	}
	// Acknowledged, a flap does not take that back, nor restart anything.
	if err := inc.Apply(Acknowledge, "alice", "", now); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	inc.ApplyBatch(batch(AlertResolved), now)
	now = now.Add(time.Minute)
	starts = now
	inc.ApplyBatch(batch(AlertFiring), now)
	if inc.State != Acknowledged || inc.AckedBy != "alice" || !inc.Due().IsZero() || inc.Escalation.Run != 6 {
		t.Fatalf("acknowledged flap: %s by %q, due %s, %+v", inc.State, inc.AckedBy, inc.Due(), inc.Escalation)
	}
	// Quiet for 30 minutes: the next change ends flapping.
	now = now.Add(31 * time.Minute)
	inc.ApplyBatch(batch(AlertResolved), now)
	if inc.Flapping || inc.FlapTimes != nil {
		t.Fatalf("still flapping after a quiet spell: %v", inc.FlapTimes)
	}
	if last := inc.Timeline[len(inc.Timeline)-1]; last.Kind != EventFlapping || !strings.Contains(last.Text, "Stopped flapping") {
		t.Fatalf("last event %+v", last)
	}
	// No rule: never flaps.
	starts = t0
	off := NewIncident(2, batch(AlertFiring), t0)
	for i := range 10 {
		b := batch(AlertResolved)
		b.Flapping = FlapRule{}
		off.ApplyBatch(b, starts.Add(time.Second))
		starts = t0.Add(time.Duration(i+1) * time.Minute)
		b = batch(AlertFiring)
		b.Flapping = FlapRule{}
		off.ApplyBatch(b, starts)
	}
	if off.Flapping || off.Flaps != 10 {
		t.Fatalf("no rule: flapping %v, flaps %d", off.Flapping, off.Flaps)
	}
}

func FuzzParseWeekly(f *testing.F) {
	for _, s := range []string{"Sun 02:00-04:00", "Mon-Fri 22:00-06:00", "Sat,Sun 00:00-24:00", "Fri-Mon 9:30-10:00", "x"} {
		f.Add(s)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.UTC
	}
	f.Fuzz(func(t *testing.T, spec string) {
		w, err := ParseWeekly(spec, berlin)
		if err != nil {
			if ErrorKind(err) != Invalid {
				t.Fatalf("error kind %v", ErrorKind(err))
			}
			return
		}
		now := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
		for range 50 {
			s, e, ok := w.Next(now)
			if !ok {
				t.Fatalf("%q: no next window", spec)
			}
			if !e.After(s) || !e.After(now) || e.Sub(s) > 26*time.Hour {
				t.Fatalf("%q at %s: window %s – %s", spec, now, s, e)
			}
			if s2, e2, ok := w.Occurrence(s); s.After(now) && (!ok || !s2.Equal(s) || !e2.Equal(e)) {
				t.Fatalf("%q: the window from %s is not held at its start (%s – %s, %v)", spec, s, s2, e2, ok)
			}
			now = e
		}
	})
}
