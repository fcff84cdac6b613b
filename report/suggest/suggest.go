// Package suggest turns a noisy alert rule's figures (report.RuleFigures)
// into one concrete change to try: a longer `for:`, hysteresis, a
// warning instead of a page, a better runbook, deleting the rule. The
// suggestions come from the rules below, each a function of the figures
// with its thresholds in code and a test, never free text: the same
// figures always give the same advice, and the README explains each.
//
// It is pure: no clock, no I/O. It imports only the standard library and
// report.
package suggest

import (
	"fmt"
	"time"

	"github.com/klaxonbot/klaxon/report"
)

// Suggestion is one change to try on a rule.
type Suggestion struct {
	// Kind names the rule that made it (one of the Kind constants), for
	// metrics, tests and the README.
	Kind string `json:"kind"`
	// Text is the suggestion: the figure that prompted it, then what to
	// do, in one sentence.
	Text string `json:"text"`
}

// Kinds of suggestion, in the order they are tried: the first that
// applies is the rule's suggestion.
const (
	// NotActionable: the team said so, most of the time.
	NotActionable = "not-actionable"
	// SelfResolving: it resolves by itself before anyone looks.
	SelfResolving = "self-resolving"
	// Flapping: its alerts resolve and fire again.
	Flapping = "flapping"
	// AfterHoursSlow: it pages at night or on weekends and nobody answers
	// soon.
	AfterHoursSlow = "after-hours-slow"
	// Ignored: people are reached but do not acknowledge it.
	Ignored = "ignored"
	// Refiring: it fires many times within one incident.
	Refiring = "refiring"
)

// Thresholds of the rules. A rule needs MinIncidents incidents to say
// anything: two firings are an anecdote.
const (
	MinIncidents = 3
	// SelfResolving: at least SelfResolvedShare of its incidents resolved
	// before an acknowledgement, all within SelfResolvedWithin.
	SelfResolvedShare  = 0.6
	SelfResolvedWithin = 15 * time.Minute
	// Flapping: at least FlapsPerIncident flaps an incident on average.
	FlapsPerIncident = 1.0
	// AfterHoursSlow: at least MinAfterHoursPages pages after hours, and
	// at most AfterHoursSoonShare of those incidents acknowledged within
	// report.AckSoon.
	MinAfterHoursPages  = 3
	AfterHoursSoonShare = 0.25
	// Ignored: acknowledged in at most IgnoredAckShare of its incidents
	// (and not resolving by itself: that is SelfResolving).
	IgnoredAckShare = 0.3
	// Refiring: fired at least RefiresPerIncident times an incident.
	RefiresPerIncident = 4.0
)

// rule is one suggestion rule: the suggestion for f, or ok false.
type rule struct {
	kind string
	fn   func(f report.RuleFigures) (text string, ok bool)
}

// rules, in order of precedence: the team's own verdict first, then what
// the figures say most surely.
var rules = []rule{
	{NotActionable, notActionable},
	{SelfResolving, selfResolving},
	{Flapping, flapping},
	{AfterHoursSlow, afterHoursSlow},
	{Ignored, ignored},
	{Refiring, refiring},
}

// For returns the first suggestion that applies to f, or ok false when
// the figures call for no change (or are too few to say).
func For(f report.RuleFigures) (Suggestion, bool) {
	for _, r := range rules {
		if text, ok := r.fn(f); ok {
			return Suggestion{Kind: r.kind, Text: text}, true
		}
	}
	return Suggestion{}, false
}

// All returns every suggestion that applies to f, in order of precedence.
func All(f report.RuleFigures) []Suggestion {
	var out []Suggestion
	for _, r := range rules {
		if text, ok := r.fn(f); ok {
			out = append(out, Suggestion{Kind: r.kind, Text: text})
		}
	}
	return out
}

// notActionable: at least two "not actionable" votes, and more than
// twice the "actionable" ones.
func notActionable(f report.RuleFigures) (string, bool) {
	if f.NotActionable < 2 || f.NotActionable <= 2*f.Actionable {
		return "", false
	}
	return fmt.Sprintf("voted not actionable %d of %d times: delete the rule, or demote it to a warning or a ticket (no page)",
		f.NotActionable, f.Actionable+f.NotActionable), true
}

// selfResolving: most of its incidents resolved before anyone
// acknowledged them, and quickly.
func selfResolving(f report.RuleFigures) (string, bool) {
	if f.Incidents < MinIncidents || f.ResolvedUnacked == 0 || f.UnackedShare() < SelfResolvedShare ||
		f.SelfResolveMax > SelfResolvedWithin {
		return "", false
	}
	wait := forFor(f.SelfResolveMax)
	return fmt.Sprintf("resolved by itself within %s in %d of %d firings: give the rule `for: %s` or make it a warning (no page)",
		Duration(f.SelfResolveMax), f.ResolvedUnacked, f.Incidents, wait), true
}

// forFor is the `for:` that outlasts a blip of d: twice d, rounded up to
// 5 minutes, at least 10 minutes.
func forFor(d time.Duration) string {
	w := max(2*d, 10*time.Minute)
	w = (w + 5*time.Minute - 1).Truncate(5 * time.Minute)
	return Duration(w)
}

// flapping: its alerts flap about once an incident or more.
func flapping(f report.RuleFigures) (string, bool) {
	if f.Incidents < MinIncidents || f.Flaps < MinIncidents || float64(f.Flaps) < FlapsPerIncident*float64(f.Incidents) {
		return "", false
	}
	return fmt.Sprintf("flapped %d times in %d incidents: add hysteresis (`keep_firing_for: 10m`, or a lower threshold to resolve than to fire)",
		f.Flaps, f.Incidents), true
}

// afterHoursSlow: it pages out of hours and is rarely acknowledged soon.
func afterHoursSlow(f report.RuleFigures) (string, bool) {
	if f.PagesAfterHours < MinAfterHoursPages || f.PagedAfterHours == 0 ||
		float64(f.AfterHoursAckedSoon) > AfterHoursSoonShare*float64(f.PagedAfterHours) {
		return "", false
	}
	soon := "never acknowledged"
	if f.AfterHoursAckedSoon > 0 {
		soon = fmt.Sprintf("acknowledged in %d of %d", f.AfterHoursAckedSoon, f.PagedAfterHours)
	}
	return fmt.Sprintf("paged %d times out of hours, %s within %s: is the runbook enough to act on? If it can wait, page only in working hours",
		f.PagesAfterHours, soon, Duration(report.AckSoon)), true
}

// ignored: people are reached about it and hardly ever acknowledge it.
func ignored(f report.RuleFigures) (string, bool) {
	if f.Incidents < MinIncidents || f.AckShare() > IgnoredAckShare {
		return "", false
	}
	return fmt.Sprintf("acknowledged in %d of %d incidents: if nobody acts on it, make it a warning or a ticket; if someone should, route it to them",
		f.Acknowledged, f.Incidents), true
}

// refiring: it fires again and again within an incident.
func refiring(f report.RuleFigures) (string, bool) {
	if f.Incidents < MinIncidents || float64(f.Fired) < RefiresPerIncident*float64(f.Incidents) {
		return "", false
	}
	return fmt.Sprintf("fired %d times in %d incidents: its alerts come and go; group them (`group_by`, a longer `group_interval`) or alert on a rate over a window",
		f.Fired, f.Incidents), true
}

// Duration writes d shortly, as people and Prometheus read it: "45s",
// "4m", "1h30m", "2h".
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		if d%time.Minute >= 30*time.Second && d < 10*time.Minute {
			return fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second))
		}
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}
