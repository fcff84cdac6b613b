package incidents

import "time"

// Action is a change of state that a person or a monitor asks for.
type Action string

const (
	Acknowledge   Action = "acknowledge"
	Unacknowledge Action = "unacknowledge"
	Resolve       Action = "resolve"
	Reopen        Action = "reopen"
)

// transitions is the one place that says which action moves an incident
// from which state to which.
var transitions = map[Action]struct {
	from  []State
	to    State
	event EventKind
}{
	Acknowledge:   {from: []State{Triggered}, to: Acknowledged, event: EventAcknowledged},
	Unacknowledge: {from: []State{Acknowledged}, to: Triggered, event: EventUnacknowledged},
	Resolve:       {from: []State{Triggered, Acknowledged}, to: Resolved, event: EventResolved},
	Reopen:        {from: []State{Resolved}, to: Triggered, event: EventReopened},
}

// CanApply reports whether action is allowed from the incident's current state.
func (inc *Incident) CanApply(action Action) bool {
	t, ok := transitions[action]
	if !ok {
		return false
	}
	for _, s := range t.from {
		if s == inc.State {
			return true
		}
	}
	return false
}

// Apply moves the incident by action on behalf of actor, recording an event
// with text (or a default text). It returns an error of kind Conflict, with
// a message fit for the person who asked, when the action is not allowed
// from the current state, and Invalid for an unknown action.
func (inc *Incident) Apply(action Action, actor, text string, now time.Time) error {
	t, ok := transitions[action]
	if !ok {
		return Errorf(Invalid, "unknown action %q", action)
	}
	if !inc.CanApply(action) {
		return inc.refusal(action)
	}
	now = now.UTC()
	e := inc.Escalation
	switch action {
	case Acknowledge:
		inc.AckedAt, inc.AckedBy = now, actor
		if e != nil {
			e.DueAt = time.Time{} // stopped where it was; unack resumes
		}
		// Someone owns it now: a maintenance window no longer holds it
		// (unacknowledging resumes the policy, as anywhere).
		inc.ReleaseHold(now, "no longer holds it: acknowledged by "+orSomeone(actor))
	case Unacknowledge:
		inc.AckedAt, inc.AckedBy = time.Time{}, ""
		if e != nil && e.Step >= 0 {
			e.DueAt = now // resume from where it stopped
		}
	case Resolve:
		inc.ResolvedAt, inc.ResolvedBy = now, actor
		if e != nil {
			e.DueAt = time.Time{}
		}
	case Reopen:
		inc.ResolvedAt, inc.ResolvedBy = time.Time{}, ""
		inc.AckedAt, inc.AckedBy = time.Time{}, ""
		if e != nil {
			e.Run, e.Step, e.Round, e.DueAt = e.Run+1, 0, 0, now // from the start, a new run
		}
	}
	inc.State = t.to
	if text == "" {
		text = defaultText(action, actor)
	}
	inc.addEvent(now, t.event, actor, text)
	return nil
}

func defaultText(action Action, actor string) string {
	if actor == "" {
		actor = "someone"
	}
	switch action {
	case Acknowledge:
		return "Acknowledged by " + actor
	case Unacknowledge:
		return "Unacknowledged by " + actor
	case Resolve:
		return "Resolved by " + actor
	default:
		return "Reopened by " + actor
	}
}

// refusal explains why action cannot be applied now.
func (inc *Incident) refusal(action Action) error {
	switch inc.State {
	case Resolved:
		if action == Resolve || action == Acknowledge || action == Unacknowledge {
			return Errorf(Conflict, "%s is already resolved (by %s at %s)", inc.ID, orSomeone(inc.ResolvedBy), humanTime(inc.ResolvedAt))
		}
	case Acknowledged:
		if action == Acknowledge {
			return Errorf(Conflict, "%s is already acknowledged (by %s at %s)", inc.ID, orSomeone(inc.AckedBy), humanTime(inc.AckedAt))
		}
	case Triggered:
		if action == Unacknowledge {
			return Errorf(Conflict, "%s is not acknowledged", inc.ID)
		}
	}
	if action == Reopen {
		return Errorf(Conflict, "%s is not resolved, it is %s", inc.ID, inc.State)
	}
	return Errorf(Conflict, "cannot %s %s: it is %s", action, inc.ID, inc.State)
}

func orSomeone(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}
