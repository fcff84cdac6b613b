package incidents

import (
	"context"
	"time"
)

// Escalation is an incident's position in its escalation policy: the step
// to run next, and when. Stores keep an index of due steps, so that a
// scheduler on any replica finds them without scanning.
type Escalation struct {
	Policy string    `json:"policy"`
	Run    int       `json:"run,omitempty"`   // how many times the policy started (reopen starts it again)
	Step   int       `json:"step"`            // the next step to run, from 0
	Round  int       `json:"round,omitempty"` // how many times the steps have repeated
	DueAt  time.Time `json:"dueAt,omitzero"`  // when the next step runs; zero: nothing due
}

// Due returns when the incident's next escalation step or page attempt
// is due, whichever is first: zero when none is (no policy, no due time,
// or the incident is acknowledged or resolved).
func (inc *Incident) Due() time.Time {
	if inc.Escalation == nil || inc.State != Triggered {
		return time.Time{}
	}
	due := inc.Escalation.DueAt
	if p := inc.NextPage(); !p.IsZero() && (due.IsZero() || p.Before(due)) {
		due = p
	}
	return due
}

// StepDue returns when the incident's next escalation step is due (page
// attempts aside): zero when none is.
func (inc *Incident) StepDue() time.Time {
	if inc.Escalation == nil || inc.State != Triggered {
		return time.Time{}
	}
	return inc.Escalation.DueAt
}

// Escalations is the durable schedule of escalation steps. Every store
// change to an incident files its Due time (or takes it out) with the
// change, in the same atomic step or one a crash cannot separate from it.
// Errors: Unavailable, Internal.
type Escalations interface {
	// ClaimDue takes up to n incidents whose step is due at now and hides
	// each until now+lease: a scheduler that dies holding one loses it
	// when the lease ends. Running the step and storing the incident's new
	// position (a new Due) ends the claim.
	ClaimDue(ctx context.Context, now time.Time, n int, lease time.Duration) ([]string, error)

	// StepOnce records that the step named key of the incident is being
	// run, and reports whether this caller is the first: a step (a phone
	// call) runs once even when two schedulers race past a lease. Keys are
	// kept for ttl.
	StepOnce(ctx context.Context, id, key string, ttl time.Duration) (bool, error)
}

// StepKind is what an escalation step does.
type StepKind string

const (
	StepNotify  StepKind = "notify"  // a card in the team's channels (a notification)
	StepMention StepKind = "mention" // mention and message whoever is named (a warning)
	StepCall    StepKind = "call"    // phone whoever is named (an alert)
	StepWait    StepKind = "wait"    // wait before the next step
)

// Step is one step of a policy. Target names who: "channel", "oncall",
// a person or a team.
type Step struct {
	Kind   StepKind
	Target string
	Wait   time.Duration
}

// Policy walks an unacknowledged incident through its steps, then
// repeats them Repeat more times.
type Policy struct {
	Name  string
	Steps []Step
	// Repeat is how many more times the steps run after the first pass.
	Repeat int
	// StartAt, by severity, is the step an incident of that severity
	// starts at (e.g. SEV1 straight to the call).
	StartAt map[Severity]int
	// MinFiring holds every step but notify until the incident has been
	// open this long: a blip that resolves sooner only notifies.
	MinFiring time.Duration
}

// Validate checks p.
func (p *Policy) Validate() error {
	acts := 0
	for i, s := range p.Steps {
		switch s.Kind {
		case StepWait:
			if s.Wait <= 0 {
				return Errorf(Invalid, "step %d: wait must be positive", i+1)
			}
		case StepNotify, StepMention, StepCall, StepPage:
			acts++
			if s.Target == "" {
				return Errorf(Invalid, "step %d: %s whom?", i+1, s.Kind)
			}
		default:
			return Errorf(Invalid, "step %d: unknown kind %q (notify, mention, call, page, wait)", i+1, s.Kind)
		}
	}
	if acts == 0 {
		return Errorf(Invalid, "a policy needs at least one notify, mention, call or page step")
	}
	if p.Repeat < 0 || p.Repeat > 100 {
		return Errorf(Invalid, "repeat must be between 0 and 100")
	}
	for sev, i := range p.StartAt {
		if !sev.Valid() || i < 0 || i >= len(p.Steps) {
			return Errorf(Invalid, "start_at %s: step %d does not exist", sev, i+1)
		}
	}
	if p.MinFiring < 0 {
		return Errorf(Invalid, "min_firing must not be negative")
	}
	return nil
}

// BeginEscalation puts a newly opened (or reopened) incident at the
// start of p: the step its severity starts at, due now.
func (inc *Incident) BeginEscalation(p *Policy, now time.Time) {
	run := 0
	if inc.Escalation != nil {
		run = inc.Escalation.Run + 1
	}
	inc.Escalation = &Escalation{Policy: p.Name, Run: run, Step: p.StartAt[inc.Severity], DueAt: now.UTC()}
	inc.Paging = nil // a reopened incident pages afresh
	inc.holdForMinFiring(p)
}

// StepKey names the incident's current step for Escalations.StepOnce.
func (e *Escalation) StepKey() string {
	return "n" + itoa(e.Run) + "r" + itoa(e.Round) + "s" + itoa(e.Step)
}

// CurrentStep is the step the incident's escalation runs next; ok is
// false when the policy has finished or is not p.
func (inc *Incident) CurrentStep(p *Policy) (Step, bool) {
	e := inc.Escalation
	if p == nil || e == nil || e.Policy != p.Name || e.Step < 0 || e.Step >= len(p.Steps) {
		return Step{}, false
	}
	return p.Steps[e.Step], true
}

// AdvanceEscalation moves past the current step at now: the next acting
// step is due after any waits in between; after the last step the steps
// repeat (Repeat times), and then nothing is due. It reports whether the
// policy has more to do.
func (inc *Incident) AdvanceEscalation(p *Policy, now time.Time) bool {
	e := inc.Escalation
	if e == nil {
		return false
	}
	due := now.UTC()
	for {
		e.Step++
		if e.Step >= len(p.Steps) {
			if e.Round >= p.Repeat {
				e.DueAt = time.Time{}
				return false
			}
			e.Round++
			e.Step = 0
		}
		s := p.Steps[e.Step]
		if s.Kind != StepWait {
			break
		}
		due = due.Add(s.Wait)
	}
	e.DueAt = due
	inc.holdForMinFiring(p)
	return true
}

// holdForMinFiring delays a step beyond notify until the incident has
// been open p.MinFiring.
func (inc *Incident) holdForMinFiring(p *Policy) {
	e := inc.Escalation
	if p.MinFiring <= 0 || e.Step >= len(p.Steps) || p.Steps[e.Step].Kind == StepNotify {
		return
	}
	if hold := inc.CreatedAt.Add(p.MinFiring); e.DueAt.Before(hold) {
		e.DueAt = hold.UTC()
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// OnCallOverride puts Person on call for Schedule from From until Until,
// whatever the rotation says; SetBy and SetAt say who decided it.
type OnCallOverride struct {
	Schedule string    `json:"schedule"`
	Person   string    `json:"person"`
	From     time.Time `json:"from"`
	Until    time.Time `json:"until"`
	SetBy    string    `json:"setBy"`
	SetAt    time.Time `json:"setAt"`
}

// Overrides stores on-call overrides, shared by every replica.
// Errors: Unavailable, Internal.
type Overrides interface {
	AddOverride(ctx context.Context, o OnCallOverride) error
	// Overrides returns the schedule's overrides that have not ended at now.
	Overrides(ctx context.Context, schedule string, now time.Time) ([]OnCallOverride, error)
}
