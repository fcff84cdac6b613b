package incidents

import (
	"strings"
	"testing"
	"time"
)

func defaultPolicy() *Policy {
	return &Policy{Name: "default", Repeat: 1, MinFiring: 30 * time.Second, StartAt: map[Severity]int{Sev1: 4},
		Steps: []Step{{Kind: StepNotify, Target: "channel"}, {Kind: StepWait, Wait: 5 * time.Minute},
			{Kind: StepMention, Target: "oncall"}, {Kind: StepWait, Wait: 10 * time.Minute}, {Kind: StepCall, Target: "oncall"}}}
}

func TestPolicyWalk(t *testing.T) {
	p := defaultPolicy()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inc := &Incident{ID: "INC-1", State: Triggered, Severity: Sev2, CreatedAt: t0}
	inc.BeginEscalation(p, t0)
	type pos struct {
		kind StepKind
		due  time.Duration
		key  string
	}
	check := func(want pos) {
		t.Helper()
		s, ok := inc.CurrentStep(p)
		if !ok || s.Kind != want.kind || !inc.Due().Equal(t0.Add(want.due)) || inc.Escalation.StepKey() != want.key {
			t.Fatalf("at %+v (%s, due %v), want %+v", inc.Escalation, s.Kind, inc.Due().Sub(t0), want)
		}
	}
	check(pos{StepNotify, 0, "n0r0s0"})
	inc.AdvanceEscalation(p, t0)
	check(pos{StepMention, 5 * time.Minute, "n0r0s2"})
	inc.AdvanceEscalation(p, t0.Add(5*time.Minute))
	check(pos{StepCall, 15 * time.Minute, "n0r0s4"})
	// Acknowledged mid-wait: nothing due; unacknowledged: it resumes there.
	if err := inc.Apply(Acknowledge, "alice", "", t0.Add(7*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !inc.Due().IsZero() {
		t.Fatalf("due %v while acknowledged", inc.Due())
	}
	if err := inc.Apply(Unacknowledge, "alice", "", t0.Add(8*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(pos{StepCall, 8 * time.Minute, "n0r0s4"})
	// Snoozed: paused until the snooze ends; escalate: now.
	if err := inc.Snooze(time.Hour, "bob", t0.Add(8*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(pos{StepCall, 68 * time.Minute, "n0r0s4"})
	if err := inc.Escalate("bob", t0.Add(9*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(pos{StepCall, 9 * time.Minute, "n0r0s4"})
	// After the last step the steps repeat once, then nothing is due.
	inc.AdvanceEscalation(p, t0.Add(9*time.Minute))
	check(pos{StepNotify, 9 * time.Minute, "n0r1s0"})
	inc.AdvanceEscalation(p, t0.Add(9*time.Minute))
	inc.AdvanceEscalation(p, t0.Add(14*time.Minute))
	check(pos{StepCall, 24 * time.Minute, "n0r1s4"})
	if inc.AdvanceEscalation(p, t0.Add(24*time.Minute)) || !inc.Due().IsZero() {
		t.Fatalf("the policy did not finish: %+v", inc.Escalation)
	}
	// Reopened: from the start, a new run (its steps run again).
	if err := inc.Apply(Resolve, "bob", "", t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := inc.Apply(Reopen, "bob", "", t0.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(pos{StepNotify, 40 * time.Minute, "n1r0s0"})
}

// A SEV1 starts at the call, but a blip shorter than min_firing is never
// called about.
func TestPolicyStartAtAndMinFiring(t *testing.T) {
	p := defaultPolicy()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inc := &Incident{ID: "INC-1", State: Triggered, Severity: Sev1, CreatedAt: t0}
	inc.BeginEscalation(p, t0)
	if s, _ := inc.CurrentStep(p); s.Kind != StepCall || !inc.Due().Equal(t0.Add(30*time.Second)) {
		t.Fatalf("SEV1 starts at %s due %v, want the call after min_firing", s.Kind, inc.Due().Sub(t0))
	}
	if err := inc.Apply(Resolve, "alertmanager", "", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !inc.Due().IsZero() {
		t.Fatal("a resolved blip is still due")
	}
}

func TestPolicyValidate(t *testing.T) {
	for want, p := range map[string]Policy{
		"needs at least one":         {Steps: []Step{{Kind: StepWait, Wait: time.Minute}}},
		"wait must be positive":      {Steps: []Step{{Kind: StepWait}}},
		"call whom?":                 {Steps: []Step{{Kind: StepCall}}},
		`unknown kind "shout"`:       {Steps: []Step{{Kind: "shout", Target: "x"}}},
		"page whom?":                 {Steps: []Step{{Kind: StepPage}}},
		"repeat must be":             {Steps: []Step{{Kind: StepNotify, Target: "channel"}}, Repeat: -1},
		"start_at SEV1: step 3 does": {Steps: []Step{{Kind: StepNotify, Target: "channel"}}, StartAt: map[Severity]int{Sev1: 2}},
	} {
		if err := p.Validate(); err == nil || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
	if err := defaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPagingDue(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	inc := &Incident{ID: "INC-1", State: Triggered, CreatedAt: now}
	inc.BeginEscalation(&Policy{Name: "p", Steps: []Step{{Kind: StepPage, Target: "oncall"}}}, now)
	inc.Escalation.DueAt = time.Time{} // the policy finished
	inc.AddPages(PageAttempt{Key: "a", Person: "alice", Method: PageSMS, DueAt: now.Add(2 * time.Minute)},
		PageAttempt{Key: "b", Person: "alice", Method: PageDM, DueAt: now})
	if d := inc.Due(); !d.Equal(now) {
		t.Fatalf("Due = %v, want the DM's %v", d, now)
	}
	if got := inc.DuePages(now); len(got) != 1 || got[0].Key != "b" {
		t.Fatalf("DuePages = %+v", got)
	}
	inc.PageAttempt("b").Done = true
	if d := inc.Due(); !d.Equal(now.Add(2 * time.Minute)) {
		t.Fatalf("Due = %v, want the SMS's", d)
	}
	c := inc.Clone()
	c.PageAttempt("a").Done = true
	if inc.PageAttempt("a").Done {
		t.Fatal("Clone shares the attempts")
	}
	if err := inc.Snooze(10*time.Minute, "bob", now); err != nil {
		t.Fatal(err)
	}
	if d := inc.Due(); !d.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("snoozed: Due = %v", d)
	}
	inc.AddPages(PageAttempt{Key: "c", Person: "bob", Method: PageCall, DueAt: now})
	if len(inc.Paging) != 2 {
		t.Fatalf("AddPages kept done attempts: %+v", inc.Paging)
	}
	inc.State = Acknowledged
	if !inc.Due().IsZero() {
		t.Fatal("an acknowledged incident pages on")
	}
	inc.State = Triggered
	inc.BeginEscalation(&Policy{Name: "p", Steps: []Step{{Kind: StepPage, Target: "oncall"}}}, now)
	if len(inc.Paging) != 0 {
		t.Fatal("a reopened incident keeps the old walk")
	}
}
