package incidents

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Maintenance is a window of planned work: incidents that open (or
// reopen) in it and match it are stored and shown as usual, but their
// escalation policy is held until the window ends (see Hold). Windows
// come from config (weekly, computed) or are opened ad hoc from chat or
// the API (stored through Maintenances, shared by every replica).
type Maintenance struct {
	// ID names the window: "mw-…" for an ad-hoc window, the config
	// window's name (or "config-N") for a weekly one.
	ID string `json:"id"`
	// Team, when set, limits the window to the team's incidents.
	Team string `json:"team,omitempty"`
	// Match, when set, limits the window to incidents with an alert that
	// carries every one of these labels with these values.
	Match map[string]string `json:"match,omitempty"`
	// Start and End bound the window: it holds from Start until before End.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Reason says what the planned work is.
	Reason    string    `json:"reason,omitempty"`
	CreatedBy string    `json:"createdBy,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// EndedBy is who ended the window early (End is then when).
	EndedBy string `json:"endedBy,omitempty"`
	// Weekly is the config window's recurrence ("Sun 02:00-04:00"), and
	// Timezone its zone; empty for an ad-hoc window.
	Weekly   string `json:"weekly,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// MaxMaintenances caps the ad-hoc windows open at once.
const MaxMaintenances = 500

// Active reports whether the window holds at now.
func (m *Maintenance) Active(now time.Time) bool {
	return !now.Before(m.Start) && now.Before(m.End)
}

// Validate checks an ad-hoc window before it is stored.
func (m *Maintenance) Validate() error {
	if m.ID == "" || len(m.ID) > 64 || strings.ContainsAny(m.ID, " \t\r\n\x00") {
		return Errorf(Invalid, "a maintenance window needs an ID without spaces (at most 64 bytes)")
	}
	if m.Start.IsZero() || !m.End.After(m.Start) {
		return Errorf(Invalid, "maintenance window %s must end after it starts", m.ID)
	}
	return nil
}

// Matches reports whether the window covers inc: its team (when the
// window names one) and, when the window has labels to match, an alert
// of inc that is firing (or any alert, if none fires) carrying them all.
func (m *Maintenance) Matches(inc *Incident) bool {
	if m.Team != "" && m.Team != inc.Team {
		return false
	}
	if len(m.Match) == 0 {
		return true
	}
	has := func(labels map[string]string) bool {
		for k, v := range m.Match {
			if got, ok := labels[k]; !ok || got != v {
				return false
			}
		}
		return true
	}
	firing := false
	for i := range inc.Alerts {
		if inc.Alerts[i].Status == AlertFiring {
			firing = true
			if has(inc.Alerts[i].Labels) {
				return true
			}
		}
	}
	if !firing {
		for i := range inc.Alerts {
			if has(inc.Alerts[i].Labels) {
				return true
			}
		}
	}
	return len(inc.Alerts) == 0 && has(inc.GroupLabels)
}

// Clone returns a deep copy of m.
func (m Maintenance) Clone() Maintenance {
	m.Match = cloneMap(m.Match)
	return m
}

// MaintenanceHold says an incident's escalation waits for a maintenance
// window to end: Until is when (Escalation.DueAt is then too).
type MaintenanceHold struct {
	Window string    `json:"window"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// Covering returns the window among ws that covers inc at now and lasts
// longest, or nil.
func Covering(ws []Maintenance, inc *Incident, now time.Time) *Maintenance {
	var best *Maintenance
	for i := range ws {
		if w := &ws[i]; w.Active(now) && w.Matches(inc) && (best == nil || w.End.After(best.End)) {
			best = w
		}
	}
	return best
}

// HoldFor holds the incident's escalation until w ends: its next step
// becomes due then, and the timeline says so (once a window). It does
// nothing to an incident without an escalation.
func (inc *Incident) HoldFor(w *Maintenance, now time.Time) {
	e := inc.Escalation
	if e == nil || w == nil {
		return
	}
	end := w.End.UTC()
	if e.DueAt.Before(end) {
		e.DueAt = end
	}
	if h := inc.Maintenance; h != nil && h.Window == w.ID && h.Until.Equal(end) {
		return
	}
	inc.Maintenance = &MaintenanceHold{Window: w.ID, Reason: w.Reason, Since: now.UTC(), Until: end}
	text := "In maintenance (" + w.ID
	if w.Reason != "" {
		text += ": " + truncate(w.Reason, 120)
	}
	inc.addEvent(now, EventMaintenance, "klaxon", text+") until "+humanTime(end)+": escalation held until then")
}

// ReleaseHold ends the incident's maintenance hold at now, noting it on
// the timeline; it reports whether there was one.
func (inc *Incident) ReleaseHold(now time.Time, why string) bool {
	h := inc.Maintenance
	if h == nil {
		return false
	}
	inc.Maintenance = nil
	if inc.Escalation != nil && inc.Escalation.DueAt.After(now) && inc.Escalation.DueAt.Equal(h.Until) {
		inc.Escalation.DueAt = now.UTC()
	}
	text := "Maintenance window " + h.Window + " " + why
	if inc.State == Triggered && inc.Escalation != nil && !inc.Escalation.DueAt.IsZero() {
		text += ": escalation policy " + inc.Escalation.Policy + " starts"
	}
	inc.addEvent(now, EventMaintenance, "klaxon", text)
	return true
}

// Maintenances stores ad-hoc maintenance windows, shared by every
// replica. Errors: Invalid, NotFound, Unavailable, Internal.
type Maintenances interface {
	// AddMaintenance stores a new window. Errors: Invalid (m fails
	// Validate, its ID is taken, or MaxMaintenances windows are open).
	AddMaintenance(ctx context.Context, m Maintenance) error
	// Maintenances returns the windows that have not ended at now, those
	// that start first first (then by ID).
	Maintenances(ctx context.Context, now time.Time) ([]Maintenance, error)
	// EndMaintenance ends the window id at now, on by's word, and returns
	// it as ended. Errors: NotFound (no such window, or it has ended).
	EndMaintenance(ctx context.Context, id, by string, now time.Time) (Maintenance, error)
}

// SortMaintenances orders windows as Maintenances returns them.
func SortMaintenances(ws []Maintenance) {
	slices.SortFunc(ws, func(a, b Maintenance) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// EndWindow applies EndMaintenance's change to m: it must not have ended.
func EndWindow(m *Maintenance, by string, now time.Time) error {
	if !now.Before(m.End) {
		return Errorf(NotFound, "maintenance window %s has already ended", m.ID)
	}
	m.EndedBy = by
	if now.Before(m.Start) {
		m.Start = now.UTC()
	}
	m.End = now.UTC()
	return nil
}

// FlapRule says when an incident is flapping: its alerts resolved and
// fired again Count times within Within. A zero Count never flaps.
type FlapRule struct {
	Count  int
	Within time.Duration
}

// noteFlap records a flap at now and reports whether the incident just
// began flapping.
func (inc *Incident) noteFlap(r FlapRule, now time.Time) {
	if r.Count <= 0 {
		return
	}
	inc.FlapTimes = append(inc.FlapTimes, now.UTC())
	inc.trimFlaps(r, now)
	if !inc.Flapping && len(inc.FlapTimes) >= r.Count {
		inc.Flapping = true
		inc.addEvent(now, EventFlapping, "klaxon", "Flapping: fired again "+strconv.Itoa(len(inc.FlapTimes))+
			" times within "+shortDuration(r.Within)+"; flaps no longer restart escalation or post to the thread")
	}
}

// settleFlaps ends flapping when no flap came within r.Within of now.
func (inc *Incident) settleFlaps(r FlapRule, now time.Time) {
	inc.trimFlaps(r, now)
	if inc.Flapping && len(inc.FlapTimes) == 0 {
		inc.Flapping = false
		inc.addEvent(now, EventFlapping, "klaxon", "Stopped flapping: no flap for "+shortDuration(r.Within))
	}
}

func (inc *Incident) trimFlaps(r FlapRule, now time.Time) {
	keep := inc.FlapTimes[:0]
	for _, t := range inc.FlapTimes {
		if r.Count > 0 && now.Sub(t) < r.Within {
			keep = append(keep, t)
		}
	}
	if len(keep) > r.Count {
		keep = keep[len(keep)-r.Count:]
	}
	if len(keep) == 0 {
		keep = nil
	}
	inc.FlapTimes = keep
}
