package templates

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// Card is what every chat platform shows for an incident, as plain text:
// every string is valid UTF-8 without control or bidi-override characters
// and within the caps below; the adapters escape it for their markup and
// fit it into their platform's limits.
type Card struct {
	IncidentID string             `json:"incidentID"`
	Version    int64              `json:"version"` // the incident version the card shows
	Severity   incidents.Severity `json:"severity"`
	State      incidents.State    `json:"state"`
	Title      string             `json:"title"`              // what is happening, in a line
	Status     string             `json:"status"`             // state, severity, how long, alert counts
	Owner      string             `json:"owner,omitempty"`    // who acknowledged or resolved it, when; what holds it (maintenance, flapping)
	Summary    string             `json:"summary,omitempty"`  // the description
	WhatToDo   string             `json:"whatToDo,omitempty"` // from a what_to_do or action annotation
	Facts      []Fact             `json:"facts,omitempty"`    // the data monitored: value, threshold, service...
	Links      []Link             `json:"links,omitempty"`    // most useful first (the runbook); http(s) only
	Alerts     []string           `json:"alerts"`             // one line per alert, firing first
	MoreAlerts int                `json:"moreAlerts,omitempty"`
	Labels     []Fact             `json:"labels,omitempty"` // the first alert's labels, by name
	MoreLabels int                `json:"moreLabels,omitempty"`
	Actions    []Action           `json:"actions"` // the buttons, for the incident's state
	// Compact says the card is the short "in maintenance" variant: no
	// description, what to do, facts or labels, at most MaxCompactAlerts
	// alerts and only the runbook link (the incident is held by a
	// maintenance window; everything is in the API and the console).
	Compact bool `json:"compact,omitempty"`
}

// MaxCompactAlerts is how many alerts a compact card lists.
const MaxCompactAlerts = 3

// Fact is a name and a value.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Link is a button or link to an http(s) URL.
type Link struct {
	Kind LinkKind `json:"kind"`
	Text string   `json:"text"`
	URL  string   `json:"url"`
}

// LinkKind says what a link leads to, whatever its text says.
type LinkKind string

const (
	LinkRunbook   LinkKind = "runbook"
	LinkDashboard LinkKind = "dashboard"
	LinkPanel     LinkKind = "panel"
	LinkGraph     LinkKind = "graph"
	LinkSilence   LinkKind = "silence"
	LinkSource    LinkKind = "source" // the monitor's own page (Alertmanager)
)

// ActionID names what a card's button does.
type ActionID string

const (
	ActAck      ActionID = "ack"
	ActUnack    ActionID = "unack"
	ActResolve  ActionID = "resolve"
	ActReopen   ActionID = "reopen"
	ActEscalate ActionID = "escalate"
	ActSnooze   ActionID = "snooze"
	// ActSilence silences the incident's alerts at their source for Arg
	// ("4h"; empty: klaxon asks how long). Open cards show Silence 1h, 4h
	// and 24h when the Set has WithSilences for the incident's source.
	ActSilence ActionID = "silence"
	// ActUnsilence expires the silences klaxon made for the incident.
	ActUnsilence ActionID = "unsilence"
	// ActFeedback answers "was it actionable?" on a resolved card, Arg
	// "yes" or "no"; asked once: a card whose incident has an answer shows
	// it (in Owner) instead of the buttons.
	ActFeedback ActionID = "feedback"
)

// Action is a button on a card.
type Action struct {
	ID    ActionID `json:"id"`
	Label string   `json:"label"`
	Style string   `json:"style,omitempty"` // "primary" or "danger"
	Arg   string   `json:"arg,omitempty"`   // e.g. "1h" for snooze
}

// SeverityMark is the colour emoji cards put before a severity: 🔴 SEV1,
// 🟠 SEV2, 🟡 SEV3, 🔵 SEV4, ⚪ unknown.
func SeverityMark(s incidents.Severity) string {
	switch s {
	case incidents.Sev1:
		return "🔴"
	case incidents.Sev2:
		return "🟠"
	case incidents.Sev3:
		return "🟡"
	case incidents.Sev4:
		return "🔵"
	}
	return "⚪"
}

// Caps, in runes: generous for a card, far below every platform's limits,
// so that compiling never has to cut more than a little.
const (
	MaxTitle    = 250
	MaxLine     = 300 // status, owner, an alert's line
	MaxSummary  = 3000
	MaxWhatToDo = 1500
	MaxValue    = 300 // a fact's or label's value
	MaxName     = 100 // a fact's or label's name
	MaxAlerts   = 20
	MaxLabels   = 30
	MaxURL      = 2000 // bytes
)

// cardData is what the card templates see.
type cardData struct {
	*incidents.Incident
	Now time.Time
	// Held says a maintenance window holds the incident now.
	Held             bool
	Firing, Resolved int
	Alert            incidents.Alert
	Annotations      map[string]string
	Labels           map[string]string
	// Silenced says what silences the incident's alerts at their source:
	// "Silenced for 4h by alice (silence 1a2b3c4d…)", or "".
	Silenced string
}

// alertData is what the "alert" template sees.
type alertData struct {
	A   incidents.Alert
	Now time.Time
}

// Card renders the card of inc as of now.
func (s *Set) Card(inc *incidents.Incident, now time.Time) (*Card, error) {
	return s.render(inc, now)
}

func (s *Set) render(inc *incidents.Incident, now time.Time) (*Card, error) {
	t, err := s.card.Clone()
	if err != nil {
		return nil, err
	}
	t.Funcs(funcs(now))
	rep := representative(inc)
	firing, resolved := inc.Counts()
	data := &cardData{Incident: inc, Now: now, Held: held(inc, now), Firing: firing, Resolved: resolved,
		Alert: rep, Annotations: rep.Annotations, Labels: rep.Labels, Silenced: SilencedText(inc, now)}
	c := &Card{IncidentID: inc.ID, Version: inc.Version, Severity: inc.Severity, State: inc.State,
		Compact: held(inc, now)}
	notice := ""
	for _, p := range []struct {
		name string
		dst  *string
		max  int
	}{
		{"title", &c.Title, MaxTitle}, {"status", &c.Status, MaxLine}, {"owner", &c.Owner, MaxLine}, {"notice", &notice, MaxLine},
		{"summary", &c.Summary, MaxSummary}, {"what_to_do", &c.WhatToDo, MaxWhatToDo},
	} {
		out, err := exec(t, p.name, data)
		if err != nil {
			return nil, err
		}
		*p.dst = Clean(out, p.max, p.name == "summary" || p.name == "what_to_do")
	}
	if c.Title == "" {
		c.Title = inc.ID
	}
	if notice != "" {
		// Every platform shows the owner line: what holds the incident
		// goes there.
		c.Owner = Clean(strings.TrimPrefix(c.Owner+" · "+notice, " · "), MaxLine, false)
	}
	maxAlerts := MaxAlerts
	if c.Compact {
		c.Summary, c.WhatToDo, maxAlerts = "", "", MaxCompactAlerts
	}
	// Firing alerts first, each group in the incident's order.
	order := make([]int, 0, len(inc.Alerts))
	for _, want := range []incidents.AlertStatus{incidents.AlertFiring, incidents.AlertResolved} {
		for i := range inc.Alerts {
			if inc.Alerts[i].Status == want {
				order = append(order, i)
			}
		}
	}
	c.Alerts = []string{}
	for _, i := range order {
		if len(c.Alerts) == maxAlerts {
			c.MoreAlerts = len(order) - maxAlerts
			break
		}
		out, err := exec(t, "alert", alertData{A: inc.Alerts[i], Now: now})
		if err != nil {
			return nil, err
		}
		c.Alerts = append(c.Alerts, Clean(out, MaxLine, false))
	}
	c.Facts = facts(rep)
	c.Links = links(inc, rep)
	c.Labels, c.MoreLabels = labels(rep.Labels)
	c.Actions = actions(inc.State)
	silenced := len(inc.ActiveSilences(now)) > 0
	switch {
	case silenced:
		c.Actions = append(c.Actions, Action{ID: ActUnsilence, Label: "Unsilence"})
	case inc.State.Open() && slices.Contains(s.silences, inc.Source):
		for _, d := range []string{"1h", "4h", "24h"} {
			c.Actions = append(c.Actions, Action{ID: ActSilence, Label: "Silence " + d, Arg: d})
		}
	}
	if c.Compact {
		c.Facts, c.Labels, c.MoreLabels = nil, []Fact{}, 0
		c.Links = slices.DeleteFunc(c.Links, func(l Link) bool { return l.Kind != LinkRunbook })
		// Snoozing means nothing while the window holds the escalation;
		// Escalate overrides the window.
		c.Actions = slices.DeleteFunc(c.Actions, func(a Action) bool { return a.ID == ActSnooze })
	}
	if inc.State == incidents.Resolved && inc.Feedback == nil {
		// The question first: two buttons side by side (one row on
		// Telegram), Reopen after them.
		c.Actions = append([]Action{{ID: ActFeedback, Label: "Actionable", Arg: "yes"},
			{ID: ActFeedback, Label: "Not actionable", Arg: "no"}}, c.Actions...)
	}
	return c, nil
}

// SilencedText says what silences inc's alerts at their source as of now:
// "Silenced for 4h by alice (silence 1a2b3c4d…)" (the one that lasts
// longest, "+1 more" for others), or "" when none is active.
func SilencedText(inc *incidents.Incident, now time.Time) string {
	active := inc.ActiveSilences(now)
	if len(active) == 0 {
		return ""
	}
	last := active[0]
	for _, s := range active[1:] {
		if s.Until.After(last.Until) {
			last = s
		}
	}
	text := "Silenced for " + Duration(last.Until.Sub(last.At)) + " by " + last.By + " (silence " + incidents.ShortSilenceID(last.ID) + ")"
	if last.At.IsZero() || !last.At.Before(last.Until) {
		text = "Silenced until " + last.Until.UTC().Format("15:04 UTC") + " by " + last.By + " (silence " + incidents.ShortSilenceID(last.ID) + ")"
	}
	if len(active) > 1 {
		text += fmt.Sprintf(" +%d more", len(active)-1)
	}
	return text
}

// held reports whether a maintenance window holds inc at now.
func held(inc *incidents.Incident, now time.Time) bool {
	return inc.Maintenance != nil && inc.State.Open() && now.Before(inc.Maintenance.Until)
}

// representative is the alert a card describes: the first firing one,
// else the first.
func representative(inc *incidents.Incident) incidents.Alert {
	for _, a := range inc.Alerts {
		if a.Status == incidents.AlertFiring {
			return a
		}
	}
	if len(inc.Alerts) > 0 {
		return inc.Alerts[0]
	}
	return incidents.Alert{}
}

func first(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(m[k]); v != "" {
			return v
		}
	}
	return ""
}

// facts are the monitored data; the team is on the status line.
func facts(a incidents.Alert) []Fact {
	var out []Fact
	add := func(name, value string) {
		if value = Clean(value, MaxValue, false); value != "" {
			out = append(out, Fact{Name: name, Value: value})
		}
	}
	add("Value", first(a.Annotations, "value", "current_value", "valueString"))
	add("Threshold", first(a.Annotations, "threshold"))
	add("Service", first(a.Labels, "service", "job"))
	add("Environment", first(a.Labels, "env", "environment"))
	return out
}

func links(inc *incidents.Incident, a incidents.Alert) []Link {
	var out []Link
	add := func(kind LinkKind, text, raw string) {
		u, ok := SafeURL(raw)
		if !ok || slices.ContainsFunc(out, func(l Link) bool { return l.URL == u }) {
			return
		}
		out = append(out, Link{Kind: kind, Text: text, URL: u})
	}
	add(LinkRunbook, "Runbook", first(a.Annotations, "runbook_url", "runbook"))
	add(LinkDashboard, "Dashboard", first(a.Annotations, "dashboard_url", "dashboard", "grafana_url", "dashboardURL"))
	add(LinkPanel, "Panel", first(a.Annotations, "panel_url", "panelURL"))
	add(LinkGraph, "Graph", a.GeneratorURL)
	add(LinkSilence, "Silence", first(a.Annotations, "silence_url", "silenceURL"))
	source := "Source"
	if inc.Source == "alertmanager" {
		source = "Alertmanager"
	}
	add(LinkSource, source, inc.ExternalURL)
	return out
}

// SafeURL returns u when it is an absolute http or https URL of at most
// MaxURL bytes, without spaces, control characters or credentials.
func SafeURL(u string) (string, bool) {
	u = strings.TrimSpace(u)
	if u == "" || len(u) > MaxURL || !utf8.ValidString(u) || strings.ContainsFunc(u, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == '|' || r == '"'
	}) {
		return "", false
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return "", false
	}
	return u, true
}

func labels(m map[string]string) ([]Fact, int) {
	names := make([]string, 0, len(m))
	for k := range m {
		if k != "alertname" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	more := 0
	if len(names) > MaxLabels {
		more, names = len(names)-MaxLabels, names[:MaxLabels]
	}
	out := make([]Fact, 0, len(names))
	for _, k := range names {
		out = append(out, Fact{Name: Clean(k, MaxName, false), Value: Clean(m[k], MaxValue, false)})
	}
	return out, more
}

func actions(st incidents.State) []Action {
	switch st {
	case incidents.Triggered:
		return []Action{{ID: ActAck, Label: "Acknowledge", Style: "primary"}, {ID: ActResolve, Label: "Resolve"},
			{ID: ActEscalate, Label: "Escalate", Style: "danger"}, {ID: ActSnooze, Label: "Snooze 1h", Arg: "1h"}}
	case incidents.Acknowledged:
		return []Action{{ID: ActResolve, Label: "Resolve", Style: "primary"}, {ID: ActUnack, Label: "Unacknowledge"},
			{ID: ActEscalate, Label: "Escalate", Style: "danger"}, {ID: ActSnooze, Label: "Snooze 1h", Arg: "1h"}}
	case incidents.Resolved:
		return []Action{{ID: ActReopen, Label: "Reopen"}}
	}
	return []Action{}
}

// Clean makes outside text safe to lay out: valid UTF-8, no control
// characters (newlines and tabs kept only when multiline, at most one blank
// line in a row) and no bidi
// overrides (which can disguise text), spaces trimmed, at most max runes
// (cut with "…").
func Clean(s string, max int, multiline bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	clean := strings.Map(func(r rune) rune {
		switch {
		case (r == '\n' || r == '\t') && multiline:
			return r
		case r == '\r' || isBidiControl(r):
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
	clean = strings.TrimSpace(clean)
	if multiline {
		for strings.Contains(clean, "\n\n\n") {
			clean = strings.ReplaceAll(clean, "\n\n\n", "\n\n")
		}
	}
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(clean) <= max {
		return clean
	}
	n, cut := 0, 0
	for i := range clean {
		if n == max-1 {
			cut = i
			break
		}
		n++
	}
	return strings.TrimRightFunc(clean[:cut], unicode.IsSpace) + "…"
}

// isBidiControl reports the directional embeddings, overrides and
// isolates, which can make text read otherwise than it is ("Trojan
// Source"); right-to-left letters themselves are kept.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// CallText is what an escalation phone call about inc says, as of now
// (phone.tmpl), cleaned to one line of at most 1000 characters.
func (s *Set) CallText(inc *incidents.Incident, now time.Time) (string, error) {
	t, err := s.phone.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(funcs(now))
	firing, resolved := inc.Counts()
	out, err := exec(t, "call", &cardData{Incident: inc, Now: now, Firing: firing, Resolved: resolved})
	if err != nil {
		return "", err
	}
	return Clean(out, 1000, false), nil
}
