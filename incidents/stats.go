package incidents

import (
	"context"
	"slices"
	"time"
)

// What the noise report and the console's insights are made of: for each
// incident, which alert rules fired and how often, how often alerts
// flapped, when and how klaxon reached people (pages), and whether the
// team found it worth acting on. The domain keeps these as the incident
// changes; stores keep a compact Stat of every incident, indexed by team
// and creation time, so that a report over months never reads alerts or
// timelines.

// RuleCount is an alert rule (its alertname, per source) and how many
// times it fired in the incident (a new alert, or an alert firing again).
type RuleCount struct {
	Source string `json:"source"`
	Name   string `json:"name"`
	Fired  int    `json:"fired"`
}

// Page is one time klaxon reached a person about the incident: a warning
// (a mention, a direct message) or an alert (a call, a text, a push, an
// e-mail).
type Page struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"` // mention, dm, call, sms, email, push
	Person string    `json:"person,omitempty"`
}

// Feedback is whether an incident was worth acting on.
type Feedback struct {
	Actionable bool      `json:"actionable"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	Why        string    `json:"why,omitempty"`
}

// Caps on what an incident records for the report.
const (
	MaxRules = 20  // distinct rules; later ones count under the last
	MaxPages = 100 // pages kept; PageCount counts them all
)

// OtherRules names the rules past MaxRules in an incident.
const OtherRules = "(other rules)"

// countRule records that the rule of alert a fired once more.
func (inc *Incident) countRule(a *Alert) {
	name := a.Labels["alertname"]
	if name == "" {
		name = a.Name()
	}
	name = truncate(name, 200)
	for i := range inc.Rules {
		if r := &inc.Rules[i]; r.Source == a.Source && r.Name == name {
			r.Fired++
			return
		}
	}
	if len(inc.Rules) >= MaxRules {
		last := &inc.Rules[len(inc.Rules)-1]
		if last.Name != OtherRules {
			last = &inc.Rules[MaxRules-1]
			*last = RuleCount{Source: last.Source, Name: OtherRules, Fired: last.Fired}
		}
		last.Fired++
		return
	}
	inc.Rules = append(inc.Rules, RuleCount{Source: a.Source, Name: name, Fired: 1})
}

// RecordPage records that klaxon reached person about the incident at at
// by kind (mention, dm, call, sms, email, push).
func (inc *Incident) RecordPage(at time.Time, kind, person string) {
	inc.PageCount++
	if len(inc.Pages) < MaxPages {
		inc.Pages = append(inc.Pages, Page{At: at.UTC(), Kind: kind, Person: person})
	}
}

// SetFeedback records whether the incident was worth acting on. Errors:
// Invalid (too long a reason).
func (inc *Incident) SetFeedback(actionable bool, why, by string, now time.Time) error {
	if len(why) > MaxNoteLen {
		return Errorf(Invalid, "keep the reason under %d bytes", MaxNoteLen)
	}
	inc.Feedback = &Feedback{Actionable: actionable, By: by, At: now.UTC(), Why: truncate(why, 500)}
	word := "not actionable"
	if actionable {
		word = "actionable"
	}
	text := "Marked " + word + " by " + orSomeone(by)
	if why != "" {
		text += ": " + truncate(why, 300)
	}
	inc.addEvent(now, EventFeedback, by, text)
	return nil
}

// cloneStats gives c copies of inc's report fields.
func (c *Incident) cloneStats(inc *Incident) {
	c.Rules = slices.Clone(inc.Rules)
	c.Pages = slices.Clone(inc.Pages)
	c.Silences = slices.Clone(inc.Silences)
	if inc.Feedback != nil {
		f := *inc.Feedback
		c.Feedback = &f
	}
}

// Stat is the compact record of an incident that reports read: who owned
// it, when it was opened, acknowledged and resolved, what fired, who was
// paged, whether it was worth it.
type Stat struct {
	Number     int64       `json:"n"`
	Team       string      `json:"team,omitempty"`
	Source     string      `json:"src,omitempty"`
	Title      string      `json:"title,omitempty"`
	Severity   Severity    `json:"sev,omitempty"`
	CreatedAt  time.Time   `json:"created"`
	AckedAt    time.Time   `json:"acked,omitzero"`
	ResolvedAt time.Time   `json:"resolved,omitzero"`
	ResolvedBy string      `json:"resolvedBy,omitempty"`
	Alerts     int         `json:"alerts,omitempty"`
	Rules      []RuleCount `json:"rules,omitempty"`
	Flaps      int         `json:"flaps,omitempty"`
	Pages      []Page      `json:"pages,omitempty"`
	PageCount  int         `json:"pageCount,omitempty"`
	Feedback   *Feedback   `json:"feedback,omitempty"`
}

// Stat returns the incident's compact record (a summary is enough).
func (inc *Incident) Stat() Stat {
	st := Stat{
		Number: inc.Number, Team: inc.Team, Source: inc.Source, Title: truncate(inc.Title, 120), Severity: inc.Severity,
		CreatedAt: inc.CreatedAt, AckedAt: inc.AckedAt, ResolvedAt: inc.ResolvedAt, ResolvedBy: inc.ResolvedBy,
		Alerts: inc.AlertsFiring + inc.AlertsResolved, Rules: slices.Clone(inc.Rules), Flaps: inc.Flaps,
		Pages: slices.Clone(inc.Pages), PageCount: inc.PageCount,
	}
	if inc.Feedback != nil {
		f := *inc.Feedback
		st.Feedback = &f
	}
	return st
}

// StatsOptions picks the incidents of a report: those of Team (every
// team when empty) created in [Since, Until).
type StatsOptions struct {
	Team         string
	Since, Until time.Time
}

// MaxStats bounds how many incidents one Stats call returns: a report
// over more is refused (Invalid) rather than made slowly.
const MaxStats = 500_000

// Stats reads the compact records of incidents by team and creation time,
// from indexes: it never reads every incident, nor any alert or timeline.
// Every store change files the incident's Stat with it. Errors: Invalid
// (no time range, more than MaxStats), Unavailable, Internal.
type Stats interface {
	Stats(ctx context.Context, opts StatsOptions) ([]Stat, error)
}
