package incidents

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseID(t *testing.T) {
	for _, c := range []struct {
		in   string
		id   string
		n    int64
		fail bool
	}{
		{"INC-42", "INC-42", 42, false},
		{"inc-7", "INC-7", 7, false},
		{" 12 ", "INC-12", 12, false},
		{"INC-0", "", 0, true},
		{"INC--1", "", 0, true},
		{"INC-01", "", 0, true},
		{"INC-", "", 0, true},
		{"INC-4x", "", 0, true},
		{"", "", 0, true},
		{"INC-99999999999999999999", "", 0, true},
	} {
		id, n, err := ParseID(c.in)
		if (err != nil) != c.fail || id != c.id || n != c.n {
			t.Errorf("ParseID(%q) = %q, %d, %v", c.in, id, n, err)
		}
		if err != nil && ErrorKind(err) != Invalid {
			t.Errorf("ParseID(%q) error kind = %v, want invalid", c.in, ErrorKind(err))
		}
	}
}

func TestTransitions(t *testing.T) {
	for _, c := range []struct {
		from   State
		action Action
		to     State
		msg    string
	}{
		{Triggered, Acknowledge, Acknowledged, ""},
		{Triggered, Resolve, Resolved, ""},
		{Triggered, Unacknowledge, "", "INC-1 is not acknowledged"},
		{Triggered, Reopen, "", "INC-1 is not resolved, it is triggered"},
		{Acknowledged, Unacknowledge, Triggered, ""},
		{Acknowledged, Resolve, Resolved, ""},
		{Acknowledged, Acknowledge, "", "INC-1 is already acknowledged (by alice at 2026-03-01 11:00 UTC)"},
		{Resolved, Reopen, Triggered, ""},
		{Resolved, Resolve, "", "INC-1 is already resolved (by bob at 2026-03-01 11:30 UTC)"},
		{Resolved, Acknowledge, "", "INC-1 is already resolved (by bob at 2026-03-01 11:30 UTC)"},
		{Triggered, "explode", "", "unknown action \"explode\""},
	} {
		inc := &Incident{ID: "INC-1", State: c.from}
		if c.from == Acknowledged {
			inc.AckedBy, inc.AckedAt = "alice", t0.Add(-time.Hour)
		}
		if c.from == Resolved {
			inc.ResolvedBy, inc.ResolvedAt = "bob", t0.Add(-30*time.Minute)
		}
		err := inc.Apply(c.action, "carol", "", t0)
		if c.msg != "" {
			if err == nil || ErrorMessage(err) != c.msg {
				t.Errorf("%s→%s: error %v, want %q", c.from, c.action, err, c.msg)
			}
			if inc.State != c.from || len(inc.Timeline) != 0 {
				t.Errorf("%s→%s: refused action changed the incident", c.from, c.action)
			}
			continue
		}
		if err != nil || inc.State != c.to {
			t.Errorf("%s→%s: state %s, err %v; want %s", c.from, c.action, inc.State, err, c.to)
			continue
		}
		if len(inc.Timeline) != 1 || inc.Timeline[0].Actor != "carol" || !inc.Timeline[0].At.Equal(t0) {
			t.Errorf("%s→%s: timeline %+v", c.from, c.action, inc.Timeline)
		}
	}
}

func TestReopenClearsAckAndResolve(t *testing.T) {
	inc := &Incident{ID: "INC-1", State: Triggered}
	for _, a := range []Action{Acknowledge, Resolve, Reopen} {
		if err := inc.Apply(a, "x", "", t0); err != nil {
			t.Fatal(err)
		}
	}
	if inc.AckedBy != "" || !inc.AckedAt.IsZero() || inc.ResolvedBy != "" || !inc.ResolvedAt.IsZero() {
		t.Fatalf("reopened incident keeps %+v", inc)
	}
}

func alert(fp string, st AlertStatus, starts time.Time) Alert {
	return Alert{Fingerprint: fp, Status: st, StartsAt: starts, Labels: map[string]string{"alertname": fp}}
}

func TestClassify(t *testing.T) {
	firing := alert("a", AlertFiring, t0)
	resolved := alert("a", AlertResolved, t0)
	later := alert("a", AlertFiring, t0.Add(time.Hour))
	laterResolved := alert("a", AlertResolved, t0.Add(time.Hour))
	annotated := alert("a", AlertFiring, t0)
	annotated.Annotations = map[string]string{"value": "3"}
	for _, c := range []struct {
		name    string
		old, in *Alert
		want    change
	}{
		{"new firing", nil, &firing, fires},
		{"new resolved", nil, &resolved, appears},
		{"resend", &firing, &firing, unchanged},
		{"details", &firing, &annotated, refresh},
		{"resolves", &firing, &resolved, resolves},
		{"stale firing copy after resolve", &resolved, &firing, stale},
		{"new occurrence", &resolved, &later, fires},
		{"new occurrence while firing", &firing, &later, fires},
		{"older occurrence", &later, &resolved, stale},
		{"missed firing, resolved later", &firing, &laterResolved, resolves},
		{"resolved twice", &resolved, &resolved, unchanged},
	} {
		if got := classify(c.old, c.in); got != c.want {
			t.Errorf("%s: classify = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	b := &Batch{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertFiring, t0.Add(time.Hour))}}
	resolvedOnly := &Batch{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertResolved, t0)}}
	open := &Incident{State: Triggered, Alerts: []Alert{alert("a", AlertFiring, t0)}}
	closed := &Incident{State: Resolved, ResolvedAt: t0, Alerts: []Alert{alert("a", AlertResolved, t0)}}
	for _, c := range []struct {
		name string
		inc  *Incident
		b    *Batch
		now  time.Time
		want Decision
	}{
		{"unknown group fires", nil, b, t0, Create},
		{"unknown group resolved only", nil, resolvedOnly, t0, Ignore},
		{"open incident", open, b, t0, ApplyTo},
		{"refires within window", closed, b, t0.Add(59 * time.Minute), ApplyTo},
		{"refires at the window's edge", closed, b, t0.Add(time.Hour), ApplyTo},
		{"refires after window", closed, b, t0.Add(61 * time.Minute), Create},
		{"resolved resend after window", closed, resolvedOnly, t0.Add(5 * time.Hour), ApplyTo},
	} {
		if got := Decide(c.inc, c.b, c.now, time.Hour); got != c.want {
			t.Errorf("%s: Decide = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestApplyBatchEventsAreAggregated(t *testing.T) {
	b := &Batch{Source: "am", GroupKey: "g"}
	for _, fp := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		b.Alerts = append(b.Alerts, alert(fp, AlertFiring, t0))
	}
	inc := NewIncident(1, b, t0)
	if len(inc.Timeline) != 2 {
		t.Fatalf("timeline = %+v", inc.Timeline)
	}
	if got, want := inc.Timeline[1].Text, "7 alerts firing: a, b, c, d, e, +2 more"; got != want {
		t.Fatalf("event text = %q, want %q", got, want)
	}
	if inc.Title != "a" {
		t.Fatalf("title without summary = %q, want the first alert's name", inc.Title)
	}
}

func TestSeverityKeptWhenSetByHuman(t *testing.T) {
	low := alert("a", AlertFiring, t0)
	low.Severity = Sev3
	inc := NewIncident(1, &Batch{Source: "am", GroupKey: "g", Alerts: []Alert{low}}, t0)
	if inc.Severity != Sev3 {
		t.Fatalf("severity = %v", inc.Severity)
	}
	inc.Severity, inc.SeveritySetBy = Sev4, "alice"
	high := alert("b", AlertFiring, t0)
	high.Severity = Sev1
	inc.ApplyBatch(&Batch{Source: "am", GroupKey: "g", Alerts: []Alert{high}}, t0)
	if inc.Severity != Sev4 {
		t.Fatalf("ingest overrode a human's severity: %v", inc.Severity)
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	err := Wrap(Unavailable, "redisstore.Get", cause)
	if ErrorKind(err) != Unavailable || !errors.Is(err, cause) {
		t.Fatalf("Wrap lost kind or cause: %v", err)
	}
	if msg := ErrorMessage(err); msg != "the store is unavailable, try again" {
		t.Fatalf("user message leaks the cause: %q", msg)
	}
	if ErrorKind(cause) != Internal || ErrorMessage(cause) != "internal error" {
		t.Fatalf("plain error: %v %q", ErrorKind(cause), ErrorMessage(cause))
	}
	inner := Errorf(NotFound, "INC-9 not found")
	if w := Wrap(Internal, "op", inner); ErrorKind(w) != NotFound || ErrorMessage(w) != "INC-9 not found" {
		t.Fatalf("Wrap changed an existing kind: %v", w)
	}
}

// With Alertmanager's max_alerts, the alerts sent may all be resolved while
// one left out still fires: the incident stays open.
func TestNoResolveWhileTruncatedAlertsFire(t *testing.T) {
	b := &Batch{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertFiring, t0)}}
	inc := NewIncident(1, b, t0)
	resolved := &Batch{Source: "am", GroupKey: "g", Truncated: 3, FiringBeyond: true,
		Alerts: []Alert{alert("a", AlertResolved, t0)}}
	if !inc.ApplyBatch(resolved, t0.Add(time.Minute)) || inc.State != Triggered {
		t.Fatalf("state %s, want triggered while truncated alerts fire", inc.State)
	}
	if inc.TruncatedAlerts != 3 {
		t.Fatalf("truncated = %d", inc.TruncatedAlerts)
	}
	resolved.FiringBeyond, resolved.Truncated = false, 0
	inc.ApplyBatch(resolved, t0.Add(2*time.Minute))
	if inc.State != Resolved {
		t.Fatalf("state %s, want resolved once nothing fires", inc.State)
	}
}

// The counters ApplyBatch keeps always equal a recount of the alerts.
func TestCountersMatchAlerts(t *testing.T) {
	inc := NewIncident(1, &Batch{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertFiring, t0), alert("b", AlertFiring, t0)}}, t0)
	steps := []*Batch{
		{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertResolved, t0), alert("c", AlertResolved, t0)}},
		{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertFiring, t0)}},                // stale copy
		{Source: "am", GroupKey: "g", Alerts: []Alert{alert("a", AlertFiring, t0.Add(time.Hour))}}, // new occurrence
		{Source: "am", GroupKey: "g", Alerts: []Alert{alert("b", AlertResolved, t0), alert("a", AlertResolved, t0.Add(time.Hour))}},
	}
	for i, b := range steps {
		inc.ApplyBatch(b, t0.Add(time.Duration(i+1)*time.Minute))
		var firing, resolved int
		for _, a := range inc.Alerts {
			if a.Status == AlertFiring {
				firing++
			} else {
				resolved++
			}
		}
		if f, r := inc.Counts(); f != firing || r != resolved {
			t.Fatalf("step %d: counters %d/%d, recount %d/%d", i, f, r, firing, resolved)
		}
	}
	if inc.State != Resolved || inc.Timeline[len(inc.Timeline)-1].Text != "Resolved: all 3 alerts resolved" {
		t.Fatalf("state %s, last event %q", inc.State, inc.Timeline[len(inc.Timeline)-1].Text)
	}
}

// An alert whose monitor does not say when it began (a generic webhook
// without starts_at) starts when it first arrives, and keeps that start:
// a card must not say "for 106751d", and a repeat is no change.
func TestUnknownStartIsTheFirstArrival(t *testing.T) {
	a := alert("a", AlertFiring, time.Time{})
	inc := NewIncident(1, &Batch{Source: "webhook/x", GroupKey: "g", Alerts: []Alert{a}}, t0)
	if got := inc.Alerts[0].StartsAt; !got.Equal(t0) {
		t.Fatalf("StartsAt = %v, want the arrival %v", got, t0)
	}
	if inc.ApplyBatch(&Batch{Source: "webhook/x", GroupKey: "g", Alerts: []Alert{a}}, t0.Add(5*time.Minute)) {
		t.Fatal("the same alert again, without a start, changed the incident")
	}
	if got := inc.Alerts[0].StartsAt; !got.Equal(t0) {
		t.Fatalf("StartsAt moved to %v on a repeat", got)
	}
	b := a
	b.Annotations = map[string]string{"summary": "worse"}
	if !inc.ApplyBatch(&Batch{Source: "webhook/x", GroupKey: "g", Alerts: []Alert{b}}, t0.Add(6*time.Minute)) {
		t.Fatal("new details were not stored")
	}
	if got := inc.Alerts[0].StartsAt; !got.Equal(t0) {
		t.Fatalf("StartsAt moved to %v on a refresh", got)
	}
}

func TestListOptionsKeeps(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inc := &Incident{Number: 7, State: Acknowledged, Team: "payments", CreatedAt: t0}
	for _, c := range []struct {
		opts ListOptions
		want bool
	}{
		{ListOptions{}, true},
		{ListOptions{Before: 8}, true},
		{ListOptions{Before: 7}, false},
		{ListOptions{States: OpenStates}, true},
		{ListOptions{States: []State{Resolved}}, false},
		{ListOptions{Team: "payments"}, true},
		{ListOptions{Team: "search"}, false},
		{ListOptions{Since: t0}, true},
		{ListOptions{Since: t0.Add(time.Nanosecond)}, false},
		{ListOptions{Until: t0}, false},
		{ListOptions{Until: t0.Add(time.Nanosecond)}, true},
		{ListOptions{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour), Team: "payments", States: OpenStates, Before: 100}, true},
	} {
		if got := c.opts.Keeps(inc); got != c.want {
			t.Errorf("%+v keeps %v, want %v", c.opts, got, c.want)
		}
	}
	if (ListOptions{}).Keeps(nil) {
		t.Error("a missing incident is kept")
	}
	if _, err := (ListOptions{Since: t0, Until: t0}).Normalize(); ErrorKind(err) != Invalid {
		t.Errorf("until = since: %v, want Invalid", err)
	}
}

func TestPages(t *testing.T) {
	for _, c := range []struct{ offset, limit, total, start, end int }{
		{0, 10, 5, 0, 5}, {3, 10, 5, 3, 5}, {5, 10, 5, 5, 5}, {9, 10, 5, 5, 5},
		{-2, 10, 5, 3, 5}, {-2, 1, 5, 3, 4}, {-9, 2, 5, 0, 2}, {0, 3, 0, 0, 0}, {-1, 3, 0, 0, 0},
	} {
		if s, e := PageBounds(c.offset, c.limit, c.total); s != c.start || e != c.end {
			t.Errorf("PageBounds(%d, %d, %d) = [%d, %d), want [%d, %d)", c.offset, c.limit, c.total, s, e, c.start, c.end)
		}
	}
	for _, c := range []struct {
		offset, limit int
		negative, ok  bool
	}{
		{0, 1, false, true}, {0, MaxPageLimit, false, true}, {0, 0, false, false}, {0, MaxPageLimit + 1, true, false},
		{-1, 10, false, false}, {-1, 10, true, true},
	} {
		if err := CheckPage(c.offset, c.limit, c.negative); (err == nil) != c.ok || (err != nil && ErrorKind(err) != Invalid) {
			t.Errorf("CheckPage(%d, %d, %v) = %v", c.offset, c.limit, c.negative, err)
		}
	}
}

func TestOutline(t *testing.T) {
	inc := &Incident{ID: "INC-1", Alerts: []Alert{{Fingerprint: "a"}}, Timeline: []Event{{Text: "x"}, {Text: "y"}},
		Roles: map[string]string{"scribe": "bob"}, Escalation: &Escalation{Step: 1}}
	o := inc.Outline()
	if o.Alerts != nil || o.Timeline != nil || o.Events != 2 || o.ID != "INC-1" {
		t.Fatalf("outline %+v", o)
	}
	o.Roles["scribe"], o.Escalation.Step = "eve", 2
	if inc.Roles["scribe"] != "bob" || inc.Escalation.Step != 1 || len(inc.Alerts) != 1 {
		t.Fatal("the outline shares the incident's maps or escalation")
	}
}

// The report's raw material: which rules fired how often, flaps, pages
// and feedback, kept as the incident changes and projected into its Stat.
func TestStatsFields(t *testing.T) {
	a := alert("a", AlertFiring, t0)
	a.Labels = map[string]string{"alertname": "DiskFull", "instance": "db-1"}
	b := alert("b", AlertFiring, t0)
	b.Labels = map[string]string{"alertname": "DiskFull", "instance": "db-2"}
	inc := NewIncident(1, &Batch{Source: "alertmanager", GroupKey: "g", Alerts: []Alert{a, b}}, t0)
	if len(inc.Rules) != 1 || inc.Rules[0] != (RuleCount{Source: "alertmanager", Name: "DiskFull", Fired: 2}) {
		t.Fatalf("rules %+v", inc.Rules)
	}
	// a resolves and fires again (a new occurrence): one more firing, a flap.
	ra := a
	ra.Status, ra.EndsAt = AlertResolved, t0.Add(time.Minute)
	inc.ApplyBatch(&Batch{Source: "alertmanager", GroupKey: "g", Alerts: []Alert{ra}}, t0.Add(time.Minute))
	fa := a
	fa.StartsAt = t0.Add(2 * time.Minute)
	inc.ApplyBatch(&Batch{Source: "alertmanager", GroupKey: "g", Alerts: []Alert{fa}}, t0.Add(2*time.Minute))
	if inc.Flaps != 1 || inc.Rules[0].Fired != 3 {
		t.Fatalf("flaps %d, rules %+v", inc.Flaps, inc.Rules)
	}
	// The same notification again counts nothing.
	inc.ApplyBatch(&Batch{Source: "alertmanager", GroupKey: "g", Alerts: []Alert{fa}}, t0.Add(3*time.Minute))
	if inc.Flaps != 1 || inc.Rules[0].Fired != 3 {
		t.Fatalf("a repeat counted: flaps %d, rules %+v", inc.Flaps, inc.Rules)
	}
	// Many rules: the ones past MaxRules count under OtherRules.
	var many []Alert
	for i := range MaxRules + 5 {
		x := alert(fmt.Sprintf("r%d", i), AlertFiring, t0)
		x.Labels = map[string]string{"alertname": fmt.Sprintf("Rule%d", i)}
		many = append(many, x)
	}
	inc.ApplyBatch(&Batch{Source: "alertmanager", GroupKey: "g", Alerts: many}, t0.Add(4*time.Minute))
	if len(inc.Rules) != MaxRules || inc.Rules[MaxRules-1].Name != OtherRules || inc.Rules[MaxRules-1].Fired != 7 { // the 20th rule and the 6 past it
		t.Fatalf("rules past the cap: %d, last %+v", len(inc.Rules), inc.Rules[len(inc.Rules)-1])
	}
	for i := range MaxPages + 3 {
		inc.RecordPage(t0.Add(time.Duration(i)*time.Second), "call", "alice")
	}
	if len(inc.Pages) != MaxPages || inc.PageCount != MaxPages+3 {
		t.Fatalf("%d pages kept, %d counted", len(inc.Pages), inc.PageCount)
	}
	if err := inc.SetFeedback(false, "it fixed itself", "alice", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	st := inc.Stat()
	if st.Number != 1 || st.Flaps != 1 || st.PageCount != MaxPages+3 || st.Feedback == nil || st.Feedback.Actionable || st.Alerts != 2+MaxRules+5 {
		t.Fatalf("stat %+v", st)
	}
	c := inc.Clone()
	c.Rules[0].Fired, c.Pages[0].Person, c.Feedback.By = 99, "bob", "bob"
	if inc.Rules[0].Fired == 99 || inc.Pages[0].Person == "bob" || inc.Feedback.By == "bob" {
		t.Fatal("Clone shares the report fields")
	}
	if last := inc.Timeline[len(inc.Timeline)-1]; last.Kind != EventFeedback || !strings.Contains(last.Text, "not actionable by alice: it fixed itself") {
		t.Fatalf("feedback event %+v", last)
	}
}
