package incidents

import (
	"strconv"
	"strings"
	"time"
)

// The incident response: who leads, who else has a role, what people
// noted, and what they asked of escalation. Each change is a timeline
// event naming who made it. Errors are Invalid for bad input and Conflict,
// with a message fit for the person who asked, when the change makes no
// sense now.

// Roles people can take besides incident commander.
const (
	RoleScribe = "scribe"
	RoleComms  = "comms"
)

// NoteKinds are the kinds of note a postmortem sorts notes by; "" is a
// plain note.
var NoteKinds = []string{"factor", "action", "went-well", "went-wrong", "lucky"}

// MaxNoteLen bounds a note, in bytes.
const MaxNoteLen = 4000

// SetSeverity sets the incident's severity by hand.
func (inc *Incident) SetSeverity(sev Severity, actor string, now time.Time) error {
	if !sev.Valid() {
		return Errorf(Invalid, "severity must be 1 (worst) to 4")
	}
	if sev == inc.Severity {
		return Errorf(Conflict, "%s is already %s", inc.ID, sev)
	}
	old := inc.Severity
	inc.Severity, inc.SeveritySetBy = sev, actor
	inc.addEvent(now, EventSeverity, actor, "Severity "+old.String()+" → "+sev.String()+" (set by "+orSomeone(actor)+")")
	return nil
}

// SetLead names the incident commander.
func (inc *Incident) SetLead(person, actor string, now time.Time) error {
	person = strings.TrimSpace(person)
	if person == "" {
		return Errorf(Invalid, "name the incident commander, e.g. @alice")
	}
	if person == inc.Lead {
		return Errorf(Conflict, "%s already leads %s", person, inc.ID)
	}
	inc.Lead = person
	inc.addEvent(now, EventLead, actor, person+" is incident commander (named by "+orSomeone(actor)+")")
	return nil
}

// SetRole gives person the role (RoleScribe or RoleComms).
func (inc *Incident) SetRole(role, person, actor string, now time.Time) error {
	role = strings.ToLower(strings.TrimSpace(role))
	if role != RoleScribe && role != RoleComms {
		return Errorf(Invalid, "the roles are scribe and comms (the commander is set with lead)")
	}
	person = strings.TrimSpace(person)
	if person == "" {
		return Errorf(Invalid, "name who takes the %s role, e.g. @alice", role)
	}
	if inc.Roles[role] == person {
		return Errorf(Conflict, "%s is already %s of %s", person, role, inc.ID)
	}
	if inc.Roles == nil {
		inc.Roles = map[string]string{}
	}
	inc.Roles[role] = person
	inc.addEvent(now, EventRole, actor, person+" is "+role+" (named by "+orSomeone(actor)+")")
	return nil
}

// AddNote records a note of kind ("" or one of NoteKinds) on the timeline.
func (inc *Incident) AddNote(kind, text, actor string, now time.Time) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return Errorf(Invalid, "the note is empty")
	}
	if len(text) > MaxNoteLen {
		return Errorf(Invalid, "the note is %d bytes long; keep it under %d", len(text), MaxNoteLen)
	}
	if kind != "" && !validNoteKind(kind) {
		return Errorf(Invalid, "unknown note kind %q (kinds: %s)", truncate(kind, 20), strings.Join(NoteKinds, ", "))
	}
	inc.Timeline = append(inc.Timeline, Event{At: now.UTC(), Kind: EventNote, Actor: actor, Text: text, Tag: kind})
	inc.UpdatedAt = now.UTC()
	return nil
}

func validNoteKind(k string) bool {
	for _, n := range NoteKinds {
		if n == k {
			return true
		}
	}
	return false
}

// Snooze pauses the escalation of an open incident for d (1 minute to 24
// hours).
func (inc *Incident) Snooze(d time.Duration, actor string, now time.Time) error {
	if d < time.Minute || d > 24*time.Hour {
		return Errorf(Invalid, "snooze for 1m to 24h, e.g. 30m or 2h")
	}
	if !inc.State.Open() {
		return Errorf(Conflict, "%s is resolved: nothing to snooze", inc.ID)
	}
	inc.SnoozedUntil = now.Add(d).UTC()
	if e := inc.Escalation; e != nil && !e.DueAt.IsZero() && e.DueAt.Before(inc.SnoozedUntil) {
		e.DueAt = inc.SnoozedUntil // paused until the snooze ends
	}
	inc.addEvent(now, EventSnoozed, actor, "Escalation snoozed for "+shortDuration(d)+", until "+humanTime(inc.SnoozedUntil)+" (by "+orSomeone(actor)+")")
	return nil
}

// Escalate asks for the next escalation step now (ending a snooze).
func (inc *Incident) Escalate(actor string, now time.Time) error {
	if !inc.State.Open() {
		return Errorf(Conflict, "%s is resolved: reopen it first", inc.ID)
	}
	inc.SnoozedUntil = time.Time{}
	if e := inc.Escalation; e != nil {
		e.DueAt = now.UTC() // the next step, now
	}
	// Asking overrides a maintenance window's hold.
	inc.ReleaseHold(now, "overridden: "+orSomeone(actor)+" asked to escalate")
	inc.addEvent(now, EventEscalated, actor, "Escalation to the next step asked for by "+orSomeone(actor))
	return nil
}

// SetSummary records what the incident was, in the words of whoever
// resolved it.
func (inc *Incident) SetSummary(text string) {
	inc.Summary = truncate(strings.TrimSpace(text), MaxNoteLen)
}

// shortDuration renders d as "2h", "1h30m" or "45m".
func shortDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h > 0 && m > 0:
		return strconv.Itoa(h) + "h" + strconv.Itoa(m) + "m"
	case h > 0:
		return strconv.Itoa(h) + "h"
	}
	return strconv.Itoa(m) + "m"
}
