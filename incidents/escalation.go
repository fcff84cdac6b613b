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
	Step   int       `json:"step"`            // the next step to run, from 0
	Round  int       `json:"round,omitempty"` // how many times the steps have repeated
	DueAt  time.Time `json:"dueAt,omitzero"`  // when the next step runs; zero: nothing due
}

// Due returns when the incident's next escalation step is due: zero when
// none is (no policy, no due time, or the incident is resolved).
func (inc *Incident) Due() time.Time {
	if inc.Escalation == nil || !inc.State.Open() {
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
