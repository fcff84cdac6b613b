package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// The incidents pages: the list, one incident with every action chat
// has, declaring one, and each platform's card.

// Sizes of what a page shows.
const (
	openShown     = 100  // open incidents on the list's first page
	recentShown   = 50   // resolved incidents a page
	searchWindow  = 1000 // incidents a text or severity filter looks through a page
	searchShown   = 100  // matches a page
	alertsShown   = 100  // alerts a page of an incident
	eventsShown   = 200  // events a page of an incident's timeline
	maxSearchText = 200
)

// listFilter is what the incidents page filters by.
type listFilter struct {
	State, Team, Sev, Q string
	Before              int64
}

func (f listFilter) query(before int64) string {
	v := url.Values{}
	for k, s := range map[string]string{"state": f.State, "team": f.Team, "sev": f.Sev, "q": f.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	return "/ui/?" + v.Encode()
}

type listSection struct {
	Title string
	Rows  []row
	Older string // the next page's URL
	Empty string
}

// row is an incident in a list, its words made once in Go (a template's
// function calls cost more than its fields, on a page of hundreds).
type row struct {
	ID, Title, State, StateWord, Severity, SevClass, Team, AckedBy, Created, CreatedUTC, Age string
	Firing                                                                                   int
}

func rowsOf(list []*incidents.Incident, now time.Time) []row {
	out := make([]row, len(list))
	for i, inc := range list {
		out[i] = row{ID: inc.ID, Title: templates.Clean(inc.Title, 200, false), State: string(inc.State), StateWord: templates.StateWord(inc.State),
			Severity: inc.Severity.String(), SevClass: sevClass(inc.Severity), Team: inc.Team, AckedBy: templates.Clean(inc.AckedBy, 60, false),
			Created: inc.CreatedAt.UTC().Format(time.RFC3339), CreatedUTC: inc.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"),
			Age: templates.Duration(now.Sub(inc.CreatedAt)), Firing: inc.AlertsFiring}
	}
	return out
}

type listView struct {
	Filter   listFilter
	Teams    []string
	States   []string
	Sections []listSection
	Searched int  // incidents the text or severity filter looked through
	Windowed bool // a text or severity filter is on
}

// incidentsPage lists incidents: the open ones first, then the recent
// ones, or those the filters keep; it pages over any history.
func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	q := r.URL.Query()
	f := listFilter{State: q.Get("state"), Team: strings.TrimSpace(q.Get("team")), Sev: q.Get("sev"),
		Q: strings.TrimSpace(templates.Clean(q.Get("q"), maxSearchText, false))}
	lv := listView{Filter: f, States: []string{"open", "triggered", "acknowledged", "resolved", "all"}}
	for _, t := range c.o.Backend.Teams() {
		lv.Teams = append(lv.Teams, t.Name)
	}
	var opts incidents.ListOptions
	switch f.State {
	case "", "all":
	case "open":
		opts.States = incidents.OpenStates
	default:
		st, err := incidents.ParseState(f.State)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		opts.States = []incidents.State{st}
	}
	if f.Team != "" && !slices.Contains(lv.Teams, f.Team) {
		c.fail(w, r, s, incidents.Errorf(incidents.Invalid, "There is no team %q.", templates.Clean(f.Team, 40, false)))
		return
	}
	opts.Team = f.Team
	var sev incidents.Severity
	if f.Sev != "" {
		n, err := strconv.Atoi(f.Sev)
		if err != nil || !incidents.Severity(n).Valid() {
			c.fail(w, r, s, incidents.Errorf(incidents.Invalid, "Severity must be 1 to 4."))
			return
		}
		sev = incidents.Severity(n)
	}
	if v := q.Get("before"); v != "" {
		_, n, err := incidents.ParseID(v)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		opts.Before, f.Before = n, n
	}
	ctx := r.Context()
	switch {
	case f.Q != "" || sev != 0:
		// Neither text nor severity has an index: look through a window
		// of the newest incidents the other filters keep, a page at a time.
		lv.Windowed = true
		opts.Limit = searchWindow
		list, err := c.o.Backend.List(ctx, opts)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		lv.Searched = len(list)
		sec := listSection{Title: "Matching", Empty: "No incident among these matches."}
		needle := strings.ToLower(f.Q)
		var found []*incidents.Incident
		for _, inc := range list {
			if sev != 0 && inc.Severity != sev {
				continue
			}
			if needle != "" && !strings.Contains(strings.ToLower(inc.ID+" "+inc.Title+" "+inc.Team+" "+inc.Summary), needle) {
				continue
			}
			if len(found) == searchShown {
				sec.Older = f.query(found[len(found)-1].Number)
				break
			}
			found = append(found, inc)
		}
		sec.Rows = rowsOf(found, c.clock.Now())
		if sec.Older == "" && len(list) == opts.Limit {
			sec.Older = f.query(list[len(list)-1].Number)
		}
		lv.Sections = []listSection{sec}
	case f.State == "" && opts.Before == 0:
		open, err := c.o.Backend.List(ctx, incidents.ListOptions{States: incidents.OpenStates, Team: f.Team, Limit: openShown + 1})
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		sec := listSection{Title: "Open", Empty: "Nothing is open. 🎉"}
		if len(open) > openShown {
			open = open[:openShown]
			sec.Older = listFilter{State: "open", Team: f.Team}.query(open[openShown-1].Number)
		}
		sec.Rows = rowsOf(open, c.clock.Now())
		recent, err := c.o.Backend.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Resolved}, Team: f.Team, Limit: recentShown})
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		rec := listSection{Title: "Recently resolved", Rows: rowsOf(recent, c.clock.Now()), Empty: "None yet."}
		if len(recent) == recentShown {
			rec.Older = listFilter{State: "resolved", Team: f.Team}.query(recent[len(recent)-1].Number)
		}
		lv.Sections = []listSection{sec, rec}
	default:
		opts.Limit = recentShown
		list, err := c.o.Backend.List(ctx, opts)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		sec := listSection{Title: "Incidents", Rows: rowsOf(list, c.clock.Now()), Empty: "No incident here."}
		if len(list) == opts.Limit {
			sec.Older = f.query(list[len(list)-1].Number)
		}
		lv.Sections = []listSection{sec}
	}
	v := c.view(r, s, "Incidents", lv)
	v.Live, v.Active = "list", "/ui/"
	c.render(w, r, http.StatusOK, "incidents", v)
}

type noteGroup struct {
	Kind  string
	Notes []incidents.Event
}

type incidentView struct {
	Inc         *incidents.Incident
	Alerts      []incidents.Alert
	AlertsTotal int
	AlertsFrom  int
	AlertsPrev  string
	AlertsNext  string
	Events      []incidents.Event
	EventsTotal int
	EventsFrom  int
	EventsEarly string // the earlier events' page
	EventsLate  string // back to the latest events
	Notes       []noteGroup
	Escalation  string
	Cards       []CardLink
	CanAct      bool
	Responders  []string
	People      []string
	Hint        string
	Verbs       map[string]bool // the actions the incident's state allows
	NoteKinds   []string
	Snoozed     bool
	Graph       int64 // the newest graph's version; 0: none
}

// incidentPage shows one incident.
func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	c.showIncident(w, r, s, http.StatusOK, "", "", doneText[r.URL.Query().Get("did")])
}

// doneText is what the page says after an action (the ?did= of the
// redirect: fixed words, never text from the URL).
var doneText = map[string]string{
	VerbAck: "Acknowledged.", VerbUnack: "Acknowledgement taken back.", VerbResolve: "Resolved.", VerbReopen: "Reopened.",
	VerbEscalate: "Escalated: the next step runs now.", VerbSnooze: "Escalation snoozed.", VerbSev: "Severity set.",
	VerbLead: "Incident commander named.", VerbRole: "Role given.", VerbNote: "Note added.", "declare": "Declared.",
	VerbFeedback: "Thank you: the answer counts in the insights.",
}

func (c *Console) showIncident(w http.ResponseWriter, r *http.Request, s *incidents.Session, status int, errMsg, hint, notice string) {
	ctx := r.Context()
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	inc, err := c.o.Backend.Summary(ctx, id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	q := r.URL.Query()
	iv := incidentView{Inc: inc, Hint: hint, NoteKinds: incidents.NoteKinds, Verbs: verbsFor(inc.State)}
	iv.AlertsFrom = max(0, atoiOr(q.Get("alerts"), 0))
	if iv.Alerts, iv.AlertsTotal, err = c.o.Backend.Alerts(ctx, id, iv.AlertsFrom, alertsShown); err != nil {
		c.fail(w, r, s, err)
		return
	}
	base := "/ui/incidents/" + url.PathEscape(id)
	if iv.AlertsFrom+len(iv.Alerts) < iv.AlertsTotal {
		iv.AlertsNext = base + "?alerts=" + strconv.Itoa(iv.AlertsFrom+len(iv.Alerts)) + "#alerts"
	}
	if iv.AlertsFrom > 0 {
		iv.AlertsPrev = base + "?alerts=" + strconv.Itoa(max(0, iv.AlertsFrom-alertsShown)) + "#alerts"
	}
	offset := -eventsShown
	if v := q.Get("events"); v != "" { // a page ending before this offset
		end := max(0, atoiOr(v, 0))
		offset = max(0, end-eventsShown)
	}
	if iv.Events, iv.EventsTotal, err = c.o.Backend.Events(ctx, id, offset, eventsShown); err != nil {
		c.fail(w, r, s, err)
		return
	}
	iv.EventsFrom = iv.EventsTotal - len(iv.Events)
	if offset >= 0 {
		iv.EventsFrom = min(offset, iv.EventsTotal)
		iv.EventsLate = base + "#timeline"
	}
	if iv.EventsFrom > 0 {
		iv.EventsEarly = base + "?events=" + strconv.Itoa(iv.EventsFrom) + "#timeline"
	}
	byKind := map[string][]incidents.Event{}
	for _, e := range iv.Events {
		if e.Kind == incidents.EventNote {
			byKind[e.Tag] = append(byKind[e.Tag], e)
		}
	}
	for _, k := range append([]string{""}, incidents.NoteKinds...) {
		if len(byKind[k]) > 0 {
			iv.Notes = append(iv.Notes, noteGroup{Kind: cmp.Or(k, "note"), Notes: byKind[k]})
		}
	}
	slices.Reverse(iv.Events) // newest first, as people read a timeline
	iv.Escalation = c.o.Backend.EscalationStatus(ctx, inc)
	if iv.Cards, err = c.o.Backend.Cards(ctx, id); err != nil {
		c.log.Warn("console: reading an incident's cards failed", "incident", id, "err", err)
	}
	iv.CanAct, iv.Responders = c.mayAct(s.Person, inc.Team)
	for _, p := range c.o.Backend.People() {
		iv.People = append(iv.People, p.Name)
	}
	iv.Snoozed = inc.SnoozedUntil.After(c.clock.Now())
	iv.Graph = c.graphVersion(ctx, id)
	v := c.view(r, s, inc.ID+" "+templates.Clean(inc.Title, 80, false), iv)
	v.Live, v.Incident, v.Error, v.Notice = "incident", inc.ID, errMsg, notice
	c.render(w, r, status, "incident", v)
}

// verbsFor are the actions an incident in state st allows.
func verbsFor(st incidents.State) map[string]bool {
	m := map[string]bool{VerbSev: true, VerbLead: true, VerbRole: true, VerbNote: true}
	switch st {
	case incidents.Triggered:
		m[VerbAck], m[VerbResolve], m[VerbEscalate], m[VerbSnooze] = true, true, true, true
	case incidents.Acknowledged:
		m[VerbUnack], m[VerbResolve], m[VerbEscalate], m[VerbSnooze] = true, true, true, true
	case incidents.Resolved:
		m[VerbReopen], m[VerbFeedback] = true, true
	}
	return m
}

// mayAct is chat's rule: a team's responders act on its incidents; a
// team without responders lets anyone klaxon knows act.
func (c *Console) mayAct(person, team string) (bool, []string) {
	for _, t := range c.o.Backend.Teams() {
		if t.Name == team && len(t.Responders) > 0 {
			return slices.ContainsFunc(t.Responders, func(r string) bool { return strings.EqualFold(r, person) }), t.Responders
		}
	}
	return true, nil
}

// act carries out one form's action through the bot's one action path.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	f := r.PostForm
	a := Action{Verb: f.Get("verb"), Text: strings.TrimSpace(f.Get("text")), Person: strings.TrimSpace(f.Get("person")),
		Role: f.Get("role"), NoteKind: f.Get("kind")}
	switch a.Verb {
	case VerbAck, VerbUnack, VerbResolve, VerbReopen, VerbEscalate, VerbLead, VerbRole:
	case VerbNote:
		if a.Text == "" {
			err = incidents.Errorf(incidents.Invalid, "Write the note first.")
		}
	case VerbSnooze:
		a.Duration, err = parseDuration(f.Get("duration"))
	case VerbFeedback:
		switch f.Get("actionable") {
		case "yes":
			a.Actionable = true
		case "no":
		default:
			err = incidents.Errorf(incidents.Invalid, "Answer yes or no: was it actionable?")
		}
	case VerbSev:
		n, e := strconv.Atoi(f.Get("severity"))
		if e != nil || !incidents.Severity(n).Valid() {
			err = incidents.Errorf(incidents.Invalid, "Severity must be 1 (worst) to 4.")
		}
		a.Severity = incidents.Severity(n)
	default:
		err = incidents.Errorf(incidents.Invalid, "Unknown action.")
	}
	var hint string
	if err == nil {
		_, hint, err = c.o.Backend.Act(r.Context(), id, a, s.Person)
	}
	if err != nil {
		status, msg := statusOf(err)
		if status == http.StatusNotFound {
			c.fail(w, r, s, err)
			return
		}
		c.showIncident(w, r, s, status, msg, "", "")
		return
	}
	if hint != "" {
		c.showIncident(w, r, s, http.StatusOK, "", hint, doneText[a.Verb])
		return
	}
	http.Redirect(w, r, "/ui/incidents/"+url.PathEscape(id)+"?did="+a.Verb, http.StatusSeeOther)
}

// parseDuration reads 30m, 2h, 1d or 1h30m: from 1 minute to 7 days.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < time.Minute || d > 7*24*time.Hour {
		return 0, incidents.Errorf(incidents.Invalid, "Snooze for 1m to 7d, e.g. 30m, 2h or 1d.")
	}
	return d, nil
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

type declareView struct {
	Teams      []string // the teams the person may declare for
	AnyTeam    bool     // "" (default_team) is one of them
	CanDeclare bool
	Form       Declaration
}

func (c *Console) declarePage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	c.showDeclare(w, r, s, http.StatusOK, Declaration{Severity: 0}, "")
}

func (c *Console) showDeclare(w http.ResponseWriter, r *http.Request, s *incidents.Session, status int, d Declaration, errMsg string) {
	dv := declareView{Form: d}
	teams := c.o.Backend.Teams()
	for _, t := range teams {
		if ok, _ := c.mayAct(s.Person, t.Name); ok {
			dv.Teams = append(dv.Teams, t.Name)
		}
	}
	// The default team is whichever the bot has; let the bot refuse it.
	dv.AnyTeam = len(dv.Teams) == len(teams)
	dv.CanDeclare = len(teams) == 0 || len(dv.Teams) > 0
	v := c.view(r, s, "Declare an incident", dv)
	v.Error, v.Active = errMsg, "/ui/declare"
	c.render(w, r, status, "declare", v)
}

func (c *Console) declare(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	f := r.PostForm
	d := Declaration{Title: strings.TrimSpace(f.Get("title")), Team: f.Get("team"), Summary: strings.TrimSpace(f.Get("summary"))}
	if v := f.Get("severity"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !incidents.Severity(n).Valid() {
			c.showDeclare(w, r, s, http.StatusBadRequest, d, "Severity must be 1 (worst) to 4.")
			return
		}
		d.Severity = incidents.Severity(n)
	}
	inc, err := c.o.Backend.Declare(r.Context(), d, s.Person)
	if err != nil {
		status, msg := statusOf(err)
		c.showDeclare(w, r, s, status, d, msg)
		return
	}
	http.Redirect(w, r, "/ui/incidents/"+url.PathEscape(inc.ID)+"?did=declare", http.StatusSeeOther)
}

type previewView struct {
	Inc      *incidents.Incident
	Previews []previewShown
}

type previewShown struct {
	Preview
	JSON string
}

// previewPage shows each platform's card for the incident as klaxon
// sends it, so that a team tuning templates_dir sees the result.
func (c *Console) previewPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	inc, err := c.o.Backend.Get(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	card, err := c.o.Templates.Card(inc, c.clock.Now())
	if err != nil {
		c.fail(w, r, s, incidents.Wrap(incidents.Internal, "console.preview", err))
		return
	}
	var ps []Preview
	if c.o.Previews != nil {
		ps = c.o.Previews(card)
	}
	if len(ps) == 0 {
		ps = []Preview{CardPreview(card)}
	}
	pv := previewView{Inc: inc}
	for _, p := range ps {
		var b bytes.Buffer
		if json.Indent(&b, p.Payload, "", "  ") != nil {
			b.Reset()
			b.Write(p.Payload)
		}
		pv.Previews = append(pv.Previews, previewShown{Preview: p, JSON: b.String()})
	}
	v := c.view(r, s, "Card preview: "+inc.ID, pv)
	c.render(w, r, http.StatusOK, "preview", v)
}

// CardPreview is the platform-neutral card as a preview: what every
// platform's card is compiled from.
func CardPreview(card *templates.Card) Preview {
	payload, _ := json.Marshal(card)
	p := Preview{Platform: "Card (before a platform compiles it)", Payload: payload}
	p.Parts = append(p.Parts, PreviewPart{Kind: "header", Text: templates.SeverityMark(card.Severity) + " " + card.Title})
	p.Parts = append(p.Parts, PreviewPart{Kind: "context", Text: card.Status})
	if card.Owner != "" {
		p.Parts = append(p.Parts, PreviewPart{Kind: "context", Text: card.Owner})
	}
	if card.Summary != "" {
		p.Parts = append(p.Parts, PreviewPart{Kind: "text", Text: card.Summary})
	}
	if card.WhatToDo != "" {
		p.Parts = append(p.Parts, PreviewPart{Kind: "text", Text: "What to do: " + card.WhatToDo})
	}
	var facts []string
	for _, f := range card.Facts {
		facts = append(facts, f.Name+": "+f.Value)
	}
	if len(facts) > 0 {
		p.Parts = append(p.Parts, PreviewPart{Kind: "fields", Items: facts})
	}
	if len(card.Alerts) > 0 {
		p.Parts = append(p.Parts, PreviewPart{Kind: "text", Text: strings.Join(card.Alerts, "\n")})
	}
	var buttons []string
	for _, l := range card.Links {
		buttons = append(buttons, l.Text)
	}
	for _, a := range card.Actions {
		buttons = append(buttons, a.Label)
	}
	if len(buttons) > 0 {
		p.Parts = append(p.Parts, PreviewPart{Kind: "buttons", Items: buttons})
	}
	return p
}
