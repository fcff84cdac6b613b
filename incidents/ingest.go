package incidents

import (
	"strconv"
	"strings"
	"time"
)

// Batch is what one webhook call brings from a monitor: the alerts of one
// group, as the monitor sees them now.
type Batch struct {
	Source      string            // "alertmanager", "grafana", ...
	GroupKey    string            // one incident per group key
	Title       string            // the title a new incident gets
	Team        string            // the team a new incident belongs to
	GroupLabels map[string]string // labels shared by the group
	ExternalURL string            // the monitor's own page
	Truncated   int               // alerts the monitor left out of this batch
	// FiringBeyond says that an alert the monitor left out still fires
	// (Alertmanager: status "firing" with truncated alerts), so the
	// incident must not resolve even if every alert sent has.
	FiringBeyond bool
	// Flapping says when the incident is flapping (zero: never).
	Flapping FlapRule
	Alerts   []Alert
}

// Validate checks what every store relies on.
func (b *Batch) Validate() error {
	if b.Source == "" {
		return Errorf(Invalid, "batch has no source")
	}
	if b.GroupKey == "" {
		return Errorf(Invalid, "batch has no group key")
	}
	if len(b.Alerts) == 0 {
		return Errorf(Invalid, "batch has no alerts")
	}
	for i := range b.Alerts {
		a := &b.Alerts[i]
		if a.Fingerprint == "" {
			return Errorf(Invalid, "alerts[%d] has no fingerprint", i)
		}
		if a.Status != AlertFiring && a.Status != AlertResolved {
			return Errorf(Invalid, "alerts[%d] has status %q (want firing or resolved)", i, a.Status)
		}
	}
	return nil
}

// Firing reports whether any alert of the batch is firing.
func (b *Batch) Firing() bool {
	for i := range b.Alerts {
		if b.Alerts[i].Status == AlertFiring {
			return true
		}
	}
	return false
}

// Decision is what a store does with a batch, given the group's incident.
type Decision int

const (
	// Ignore: nothing to record (only resolved alerts for a group with no incident).
	Ignore Decision = iota
	// ApplyTo: apply the batch to the existing incident (which may reopen it).
	ApplyTo
	// Create: open a new incident for the batch.
	Create
)

// Decide chooses what to do with b when existing is the incident its group
// (or its alerts) last belonged to, or nil. A resolved incident reopens when
// an alert fires anew within reopenWindow of its resolution; after that, a
// new incident is opened.
func Decide(existing *Incident, b *Batch, now time.Time, reopenWindow time.Duration) Decision {
	if existing == nil {
		if b.Firing() {
			return Create
		}
		return Ignore
	}
	if existing.State.Open() || !existing.firesAnew(b) {
		return ApplyTo
	}
	if now.Sub(existing.ResolvedAt) <= reopenWindow {
		return ApplyTo
	}
	return Create
}

// change is what one incoming alert means for the stored one.
type change int

const (
	unchanged change = iota // same status and timing: a re-send
	refresh                 // same status, new details (annotations, labels, endsAt)
	fires                   // new alert, or a new occurrence of a known one, firing
	resolves                // a known firing alert resolved
	stale                   // older than what is stored: a delayed retry
	appears                 // a new alert that is already resolved
)

// classify compares an incoming alert with the stored one (nil if unknown).
// Alertmanager gives a new occurrence of an alert a new startsAt, so equal
// startsAt means the same occurrence and an earlier one means a stale copy.
func classify(old *Alert, in *Alert) change {
	if old == nil {
		if in.Status == AlertFiring {
			return fires
		}
		return appears
	}
	switch {
	case !in.StartsAt.IsZero() && !old.StartsAt.IsZero() && in.StartsAt.Before(old.StartsAt):
		return stale
	case !in.StartsAt.IsZero() && in.StartsAt.After(old.StartsAt):
		if in.Status == AlertFiring {
			return fires
		}
		if old.Status == AlertFiring {
			return resolves
		}
		return refresh
	}
	// The same occurrence.
	switch {
	case old.Status == in.Status:
		if sameMap(old.Annotations, in.Annotations) && sameMap(old.Labels, in.Labels) &&
			old.EndsAt.Equal(in.EndsAt) && old.GeneratorURL == in.GeneratorURL {
			return unchanged
		}
		return refresh
	case in.Status == AlertResolved:
		return resolves
	default:
		// Firing again with the same startsAt after it resolved: a delayed
		// copy of an older notification (retry or HA peer).
		return stale
	}
}

// firesAnew reports whether b makes any alert fire that is not already firing
// in inc: a new alert or a new occurrence.
func (inc *Incident) firesAnew(b *Batch) bool {
	idx := inc.alertIndex()
	for i := range b.Alerts {
		var old *Alert
		if j, ok := idx[b.Alerts[i].Fingerprint]; ok {
			old = &inc.Alerts[j]
		}
		if classify(old, &b.Alerts[i]) == fires {
			return true
		}
	}
	return false
}

func (inc *Incident) alertIndex() map[string]int {
	idx := make(map[string]int, len(inc.Alerts))
	for i := range inc.Alerts {
		idx[inc.Alerts[i].Fingerprint] = i
	}
	return idx
}

// NewIncident opens an incident numbered n for batch b.
func NewIncident(n int64, b *Batch, now time.Time) *Incident {
	now = now.UTC()
	title := strings.TrimSpace(b.Title)
	if title == "" {
		title = b.Alerts[0].Name()
	}
	inc := &Incident{
		ID:          FormatID(n),
		Number:      n,
		Title:       title,
		State:       Triggered,
		Team:        b.Team,
		Source:      b.Source,
		GroupKey:    b.GroupKey,
		GroupLabels: cloneMap(b.GroupLabels),
		ExternalURL: b.ExternalURL,
		CreatedAt:   now,
		UpdatedAt:   now,
		Alerts:      make([]Alert, 0, len(b.Alerts)),
	}
	for i := range b.Alerts {
		if a := &b.Alerts[i]; a.Status == AlertFiring && a.Severity.Higher(inc.Severity) {
			inc.Severity = a.Severity
		}
	}
	inc.addEvent(now, EventTriggered, b.Source, "Incident opened: "+title)
	inc.ApplyBatch(b, now)
	return inc
}

// ApplyBatch records what b says of the incident's alerts and reports
// whether anything stored changed. It is idempotent: applying the same batch
// again, or an older copy of it, changes nothing and adds no event. New
// firing alerts reopen a resolved incident; when every alert has resolved,
// an open incident resolves.
func (inc *Incident) ApplyBatch(b *Batch, now time.Time) bool {
	now = now.UTC()
	idx := inc.alertIndex()
	var fired, resolved []string
	var raised Severity
	changed := false
	for i := range b.Alerts {
		in := b.Alerts[i] // its maps are the batch's until stored below
		if in.Source == "" {
			in.Source = b.Source
		}
		if in.Status == AlertFiring {
			in.EndsAt = time.Time{}
		}
		j, known := idx[in.Fingerprint]
		var old *Alert
		if known {
			old = &inc.Alerts[j]
		}
		c := classify(old, &in)
		switch c {
		case unchanged, stale:
			continue
		case fires:
			fired = append(fired, in.Name())
			if in.Severity.Higher(raised) {
				raised = in.Severity
			}
			inc.countRule(&in)
			if known && old.Status == AlertResolved {
				inc.Flaps++ // resolved, and firing again
				inc.noteFlap(b.Flapping, now)
			}
		case resolves:
			resolved = append(resolved, in.Name())
		}
		changed = true
		if in.StartsAt.IsZero() {
			// A monitor that does not say when the problem began (a
			// generic webhook without starts_at): the first arrival is
			// the start, and stays it.
			if known && !old.StartsAt.IsZero() {
				in.StartsAt = old.StartsAt
			} else {
				in.StartsAt = now
			}
		}
		in.Labels, in.Annotations = cloneMap(in.Labels), cloneMap(in.Annotations)
		if known {
			inc.count(old.Status, -1)
		}
		inc.count(in.Status, +1)
		if known {
			inc.Alerts[j] = in
		} else {
			idx[in.Fingerprint] = len(inc.Alerts)
			inc.Alerts = append(inc.Alerts, in)
		}
	}
	if b.Truncated != inc.TruncatedAlerts {
		inc.TruncatedAlerts = b.Truncated
		changed = true
	}
	if !changed {
		return false
	}
	inc.UpdatedAt = now
	actor := b.Source
	if len(fired) > 0 {
		inc.addEvent(now, EventAlertsFiring, actor, listText(fired, "alert firing", "alerts firing"))
	}
	if len(resolved) > 0 {
		inc.addEvent(now, EventAlertsResolved, actor, listText(resolved, "alert resolved", "alerts resolved"))
	}
	if raised.Higher(inc.Severity) && inc.SeveritySetBy == "" {
		inc.addEvent(now, EventSeverity, actor, "Severity raised from "+inc.Severity.String()+" to "+raised.String())
		inc.Severity = raised
	}
	firing, _ := inc.Counts()
	// A flapping incident keeps its place in the escalation policy across
	// its flaps: resolving keeps the due step (Due is zero while
	// resolved), reopening resumes it rather than starting again.
	var kept *Escalation
	if inc.Flapping && inc.Escalation != nil {
		e := *inc.Escalation
		kept = &e
	}
	switch {
	case len(fired) > 0 && inc.State == Resolved:
		ackedAt, ackedBy := inc.AckedAt, inc.AckedBy
		_ = inc.Apply(Reopen, actor, "Reopened: "+listText(fired, "alert fires again", "alerts fire again"), now)
		if kept != nil && ackedBy != "" {
			// Acknowledged before it resolved: a flap does not take
			// that back (whoever acknowledged it knows).
			inc.State, inc.AckedAt, inc.AckedBy = Acknowledged, ackedAt, ackedBy
			kept.DueAt = time.Time{}
		}
		inc.tagFlap(kept)
	case firing == 0 && inc.State.Open() && !b.FiringBeyond:
		var due time.Time
		if inc.Escalation != nil {
			due = inc.Escalation.DueAt
		}
		_ = inc.Apply(Resolve, actor, "Resolved: all "+plural(inc.AlertsResolved, "alert", "alerts")+" resolved", now)
		if b.Flapping.Count > 0 && inc.Escalation != nil && inc.State == Resolved {
			// Kept (Due is zero while resolved) so that, should this turn
			// out to be a flap, the policy resumes on its own clock.
			inc.Escalation.DueAt = due
		}
		inc.tagFlap(kept)
	}
	inc.settleFlaps(b.Flapping, now)
	return true
}

// listText says "2 alerts firing: A, B" naming at most five.
func listText(names []string, one, many string) string {
	const show = 5
	var sb strings.Builder
	sb.WriteString(plural(len(names), one, many))
	sb.WriteString(": ")
	for i, n := range names {
		if i == show {
			sb.WriteString(", +" + strconv.Itoa(len(names)-show) + " more")
			break
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(truncate(n, 80))
	}
	return sb.String()
}

// tagFlap, on a flapping incident, marks the state change just made as a
// flap and puts the escalation back where it was (kept).
func (inc *Incident) tagFlap(kept *Escalation) {
	if kept == nil {
		return
	}
	if inc.State == Triggered && kept.DueAt.IsZero() {
		// Resolved before it was flapping: the step it was at resumes
		// now, as after an unacknowledge (a finished policy's scheduler
		// takes it out of the index).
		kept.DueAt = inc.UpdatedAt
	}
	inc.Escalation = kept
	if n := len(inc.Timeline); n > 0 {
		inc.Timeline[n-1].Tag = TagFlap
	}
}
