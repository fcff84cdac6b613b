package incidents

import (
	"slices"
	"strings"
	"time"
)

// Silences made at an incident's source (Alertmanager, Grafana) from
// klaxon: the incident records the ones klaxon made and has not expired,
// so that its card can say so and offer to lift them.

// Silence is a silence klaxon created at the incident's source.
type Silence struct {
	// ID is the source's (Alertmanager's UUID).
	ID string `json:"id"`
	// Source is the incident source that holds it ("alertmanager",
	// "grafana").
	Source string `json:"source"`
	// By is who asked for it; At when; Until when it ends by itself.
	By    string    `json:"by"`
	At    time.Time `json:"at"`
	Until time.Time `json:"until"`
	// Matchers is what it matches, as amtool writes it:
	// {alertname="DiskFull", instance="db-1"}.
	Matchers string `json:"matchers,omitempty"`
}

// MaxSilences bounds the silences an incident records.
const MaxSilences = 20

// ShortSilenceID is the start of a silence ID, as cards show it: "1a2b3c4d…".
func ShortSilenceID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

// ActiveSilences returns the recorded silences that have not ended by now.
func (inc *Incident) ActiveSilences(now time.Time) []Silence {
	var out []Silence
	for _, s := range inc.Silences {
		if s.Until.After(now) {
			out = append(out, s)
		}
	}
	return out
}

// AddSilence records a silence made at the source for the incident, and
// says so on the timeline: "Silenced for 4h by alice (silence 1a2b3c4d…)".
// Silences that have ended are forgotten. Errors: Invalid (no ID, an end
// not after now).
func (inc *Incident) AddSilence(s Silence, now time.Time) error {
	if s.ID == "" || !s.Until.After(now) {
		return Errorf(Invalid, "a silence needs an ID and an end after now")
	}
	s.At, s.Until = now.UTC(), s.Until.UTC()
	inc.Silences = slices.DeleteFunc(inc.Silences, func(o Silence) bool { return !o.Until.After(now) || o.ID == s.ID })
	if len(inc.Silences) >= MaxSilences {
		inc.Silences = inc.Silences[len(inc.Silences)-MaxSilences+1:]
	}
	inc.Silences = append(inc.Silences, s)
	text := "Silenced for " + shortDuration(s.Until.Sub(now).Round(time.Minute)) + " by " + orSomeone(s.By) + " (silence " + ShortSilenceID(s.ID) + ")"
	if s.Matchers != "" {
		text += ": " + truncate(s.Matchers, 300)
	}
	inc.addEvent(now, EventSilenced, s.By, text)
	return nil
}

// RemoveSilence forgets the silence with this ID (or whose ID starts with
// it), which actor expired at the source, and says so on the timeline.
// It returns the silence removed. Errors: NotFound when the incident
// records none such.
func (inc *Incident) RemoveSilence(id, actor string, now time.Time) (Silence, error) {
	i := slices.IndexFunc(inc.Silences, func(s Silence) bool { return s.ID == id })
	if i < 0 {
		return Silence{}, Errorf(NotFound, "%s has no silence %s", inc.ID, truncate(id, 40))
	}
	s := inc.Silences[i]
	inc.Silences = slices.Delete(inc.Silences, i, i+1)
	text := "Silence " + ShortSilenceID(s.ID) + " expired by " + orSomeone(actor) + ": its alerts notify again"
	if !s.Until.After(now) {
		text = "Silence " + ShortSilenceID(s.ID) + " had ended"
	}
	inc.addEvent(now, EventUnsilenced, actor, text)
	return s, nil
}

// FindSilence returns the recorded silence whose ID is id or starts with
// it (at least 4 characters), and whether exactly one does.
func (inc *Incident) FindSilence(id string) (Silence, bool) {
	var found []Silence
	for _, s := range inc.Silences {
		if s.ID == id {
			return s, true
		}
		if len(id) >= 4 && strings.HasPrefix(s.ID, id) {
			found = append(found, s)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return Silence{}, false
}
