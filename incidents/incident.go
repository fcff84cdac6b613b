// Package incidents is klaxon's domain: alerts, incidents, their states and
// timeline, the rules that move an incident from state to state, and the
// Store interface that persists them. It imports only the standard library.
//
// Time is always passed in by the caller (a Clock at the edges), so that the
// rules can be tested with any instant.
package incidents

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clock tells the time. Production uses SystemClock; tests use a fake.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// State is where an incident is in its life.
type State string

const (
	Triggered    State = "triggered"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

// States lists every state, in life order.
var States = []State{Triggered, Acknowledged, Resolved}

// Open reports whether the incident still needs attention.
func (s State) Open() bool { return s == Triggered || s == Acknowledged }

// ParseState parses a state name; "open" is not a state (see ListOptions).
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Errorf(Invalid, "unknown state %q (want triggered, acknowledged or resolved)", s)
}

// Severity ranks impact: 1 is the most severe, 4 the least; 0 is unknown.
type Severity int

const (
	SevUnknown Severity = 0
	Sev1       Severity = 1
	Sev2       Severity = 2
	Sev3       Severity = 3
	Sev4       Severity = 4
)

// Valid reports whether s is one of SEV1..SEV4.
func (s Severity) Valid() bool { return s >= Sev1 && s <= Sev4 }

// Higher reports whether s is more severe than t (unknown is least severe).
func (s Severity) Higher(t Severity) bool {
	return s.Valid() && (!t.Valid() || s < t)
}

func (s Severity) String() string {
	if !s.Valid() {
		return "SEV?"
	}
	return "SEV" + strconv.Itoa(int(s))
}

// AlertStatus is what the monitor says of one alert.
type AlertStatus string

const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Alert is one alert from a monitor, identified within its source by Fingerprint.
type Alert struct {
	Source       string            `json:"source"`
	Fingerprint  string            `json:"fingerprint"`
	Status       AlertStatus       `json:"status"`
	Severity     Severity          `json:"severity,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// AnnotationParseWarnings is the annotation a source's parser sets on an
// alert it accepted although part of the body could not be read (a field
// of a generic webhook mapping that failed on this body): what was left
// out and why. The webhook hook logs and counts it.
const AnnotationParseWarnings = "klaxon_parse_warnings"

// Name is the alert's human name: its alertname label, else its fingerprint.
func (a Alert) Name() string {
	if n := a.Labels["alertname"]; n != "" {
		return n
	}
	return a.Fingerprint
}

// EventKind names what a timeline event records.
type EventKind string

const (
	EventTriggered      EventKind = "triggered"
	EventAlertsFiring   EventKind = "alerts_firing"
	EventAlertsResolved EventKind = "alerts_resolved"
	EventAcknowledged   EventKind = "acknowledged"
	EventUnacknowledged EventKind = "unacknowledged"
	EventResolved       EventKind = "resolved"
	EventReopened       EventKind = "reopened"
	EventSeverity       EventKind = "severity"
	// EventDeliveryFailed records a card that a chat platform refused for
	// good (a missing channel, a revoked token): people see why it is missing.
	EventDeliveryFailed EventKind = "delivery_failed"
	EventLead           EventKind = "lead"       // an incident commander named
	EventRole           EventKind = "role"       // a scribe or comms person named
	EventNote           EventKind = "note"       // a note; Tag says its kind
	EventSnoozed        EventKind = "snoozed"    // escalation paused until a time
	EventEscalated      EventKind = "escalated"  // the next escalation step asked for
	EventFeedback       EventKind = "feedback"   // someone said whether it was worth acting on
	EventSilenced       EventKind = "silenced"   // a silence made at the source
	EventUnsilenced     EventKind = "unsilenced" // a silence of klaxon's expired
	// EventMaintenance records a maintenance window holding the
	// incident's escalation, and its end.
	EventMaintenance EventKind = "maintenance"
	// EventFlapping records that the incident began (or stopped) flapping.
	EventFlapping EventKind = "flapping"
	// EventGraphFailed records a graph of the incident's alert that could
	// not be drawn (its data source failed). A graph drawn is no event:
	// it goes to the cards' threads itself (see Graphs).
	EventGraphFailed EventKind = "graph_failed"
)

// TagFlap marks the resolved and reopened events of a flapping incident:
// the timeline records them, the card's thread does not hear of each.
const TagFlap = "flap"

// Conversational reports whether an event is worth a line in the card's
// thread: what people did and what the incident became, not each alert
// joining (the card itself shows those).
func (k EventKind) Conversational() bool {
	switch k {
	case EventTriggered, EventAlertsFiring, EventAlertsResolved:
		return false
	}
	return true
}

// Event is one line of an incident's timeline.
type Event struct {
	At    time.Time `json:"at"`
	Kind  EventKind `json:"kind"`
	Actor string    `json:"actor,omitempty"`
	Text  string    `json:"text"`
	// Tag is a note's kind (see NoteKinds), TagFlap on a flap's resolved
	// and reopened events; empty for other events.
	Tag string `json:"tag,omitempty"`
}

// Incident is one problem that people respond to, made of one or more alerts.
type Incident struct {
	ID            string            `json:"id"`
	Number        int64             `json:"number"`
	Title         string            `json:"title"`
	Severity      Severity          `json:"severity"`
	SeveritySetBy string            `json:"severitySetBy,omitempty"`
	State         State             `json:"state"`
	Team          string            `json:"team,omitempty"`
	Source        string            `json:"source"`
	GroupKey      string            `json:"groupKey,omitempty"`
	GroupLabels   map[string]string `json:"groupLabels,omitempty"`
	ExternalURL   string            `json:"externalURL,omitempty"`
	Alerts        []Alert           `json:"alerts"`
	// AlertsFiring and AlertsResolved count Alerts by status. ApplyBatch
	// keeps them, so a store may load only the alerts a batch names.
	AlertsFiring    int       `json:"alertsFiring"`
	AlertsResolved  int       `json:"alertsResolved"`
	TruncatedAlerts int       `json:"truncatedAlerts,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	AckedAt         time.Time `json:"ackedAt,omitzero"`
	AckedBy         string    `json:"ackedBy,omitempty"`
	ResolvedAt      time.Time `json:"resolvedAt,omitzero"`
	ResolvedBy      string    `json:"resolvedBy,omitempty"`
	// Summary is what the person who resolved the incident said of it.
	Summary string `json:"summary,omitempty"`
	// Lead is the incident commander; Roles names the scribe and the
	// comms person (role → person).
	Lead  string            `json:"lead,omitempty"`
	Roles map[string]string `json:"roles,omitempty"`
	// SnoozedUntil pauses escalation until then.
	SnoozedUntil time.Time `json:"snoozedUntil,omitzero"`
	// Escalation is where the incident is in its escalation policy; nil
	// when it has none.
	Escalation *Escalation `json:"escalation,omitempty"`
	// Maintenance, when set, holds the escalation until a maintenance
	// window ends (Escalation.DueAt is then): the incident opened or
	// reopened in the window. See HoldFor and ReleaseHold.
	Maintenance *MaintenanceHold `json:"maintenance,omitempty"`
	// Flapping says the incident's alerts resolved and fired again
	// FlapRule.Count times within FlapRule.Within (FlapTimes are the
	// recent flaps): a flap then neither restarts the escalation nor
	// posts to the card's thread, and the card says so.
	Flapping  bool        `json:"flapping,omitempty"`
	FlapTimes []time.Time `json:"flapTimes,omitempty"`
	// Paging are the page attempts of page steps (see paging.go): due,
	// or done and not yet forgotten.
	Paging []PageAttempt `json:"paging,omitempty"`
	// Rules are the alert rules that fired in the incident, with how
	// often; Flaps counts alerts that fired again after resolving; Pages
	// are the times klaxon reached a person about it (see stats.go).
	Rules     []RuleCount `json:"rules,omitempty"`
	Flaps     int         `json:"flaps,omitempty"`
	Pages     []Page      `json:"pages,omitempty"`
	PageCount int         `json:"pageCount,omitempty"`
	// Feedback says whether the incident was worth acting on, and who
	// said so (asked on the resolved card).
	Feedback *Feedback `json:"feedback,omitempty"`
	// Silences are the silences klaxon made at the incident's source for
	// it and has not expired (see AddSilence); some may have ended.
	Silences []Silence `json:"silences,omitempty"`
	Timeline []Event   `json:"timeline"`
	// Events is how many events the timeline holds. Stores set it on
	// every incident they return, so that a summary (which has no
	// timeline) still tells; code that adds events need not keep it.
	Events int `json:"events"`
	// Version increases by one with every stored change; stores use it for
	// optimistic concurrency.
	Version int64 `json:"version"`
}

// Outline returns a copy of inc without its alerts and timeline, Events
// counting the events it had: what Store.List and Store.Summary return.
func (inc *Incident) Outline() *Incident {
	c := *inc
	c.GroupLabels = cloneMap(inc.GroupLabels)
	c.Roles = cloneMap(inc.Roles)
	if inc.Escalation != nil {
		e := *inc.Escalation
		c.Escalation = &e
	}
	c.Paging = append([]PageAttempt(nil), inc.Paging...)
	c.cloneStats(inc)
	c.cloneHolds(inc)
	if inc.Timeline != nil {
		c.Events = len(inc.Timeline)
	}
	c.Alerts, c.Timeline = nil, nil
	return &c
}

// FormatID renders an incident number as an ID: 42 → "INC-42".
func FormatID(n int64) string { return "INC-" + strconv.FormatInt(n, 10) }

// ParseID accepts "INC-42", "inc-42" or "42" and returns the canonical ID
// and its number.
func ParseID(s string) (string, int64, error) {
	t := strings.TrimSpace(s)
	if len(t) > 4 && strings.EqualFold(t[:4], "INC-") {
		t = t[4:]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != t {
		return "", 0, Errorf(Invalid, "%q is not an incident ID (want INC-<number>)", truncate(s, 40))
	}
	return FormatID(n), n, nil
}

// Counts returns how many of the incident's alerts are firing and resolved.
func (inc *Incident) Counts() (firing, resolved int) {
	return inc.AlertsFiring, inc.AlertsResolved
}

// count adds d to the counter of alerts with status st.
func (inc *Incident) count(st AlertStatus, d int) {
	if st == AlertFiring {
		inc.AlertsFiring += d
	} else {
		inc.AlertsResolved += d
	}
}

// Clone returns a deep copy of inc.
func (inc *Incident) Clone() *Incident {
	c := *inc
	c.GroupLabels = cloneMap(inc.GroupLabels)
	c.Roles = cloneMap(inc.Roles)
	if inc.Escalation != nil {
		e := *inc.Escalation
		c.Escalation = &e
	}
	c.Paging = append([]PageAttempt(nil), inc.Paging...)
	c.Alerts = make([]Alert, len(inc.Alerts))
	for i, a := range inc.Alerts {
		a.Labels = cloneMap(a.Labels)
		a.Annotations = cloneMap(a.Annotations)
		c.Alerts[i] = a
	}
	c.Timeline = append([]Event(nil), inc.Timeline...)
	c.cloneStats(inc)
	c.cloneHolds(inc)
	return &c
}

// AddEvent appends an event to the timeline at now.
func (inc *Incident) AddEvent(now time.Time, kind EventKind, actor, text string) {
	inc.addEvent(now, kind, actor, text)
}

func (inc *Incident) addEvent(now time.Time, kind EventKind, actor, text string) {
	inc.Timeline = append(inc.Timeline, Event{At: now.UTC(), Kind: kind, Actor: actor, Text: text})
	inc.UpdatedAt = now.UTC()
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func humanTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (c *Incident) cloneHolds(inc *Incident) {
	if inc.Maintenance != nil {
		h := *inc.Maintenance
		c.Maintenance = &h
	}
	c.FlapTimes = slices.Clone(inc.FlapTimes)
}
