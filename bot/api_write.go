package bot

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/localtrust"
	"github.com/klaxonbot/klaxon/internal/suggest"
)

// The HTTP API's authentication and its writes: tokens with a name, a
// person they act as and a scope (api_tokens; server.api_token is a read
// token), and the actions, which go through Act and Declare like a button.

// apiAuth knows the API's tokens.
type apiAuth struct {
	// tokens by the SHA-256 of the token: a lookup that tells a timing
	// attacker nothing about the tokens.
	tokens map[[32]byte]apiToken
	// openRead: reading needs no token (server.api_open).
	openRead bool
	// local: no token is configured and klaxon is reachable from this
	// machine only (Config.LocalOnly): requests from this machine may read
	// without a token (internal/localtrust), and the local token, kept
	// where only this machine's user can read it, may act.
	local  bool
	people *directory
}

type apiToken struct {
	name  string
	as    string // a person of people, or ""
	write bool
	// local: the local token, whose holder (this machine's user) names
	// who they are with X-Klaxon-As.
	local bool
}

func newAPIAuth(cfg *Config, people *directory, localToken string) *apiAuth {
	a := &apiAuth{tokens: map[[32]byte]apiToken{}, people: people}
	if t := cfg.Server.APIToken; t != "" {
		a.tokens[sha256.Sum256([]byte(t.Reveal()))] = apiToken{name: "api"}
	}
	for _, t := range cfg.APITokens {
		a.tokens[sha256.Sum256([]byte(t.Token.Reveal()))] = apiToken{name: t.Name, as: t.As, write: t.Scope == ScopeWrite}
	}
	if len(a.tokens) == 0 {
		a.openRead = cfg.Server.APIOpen
		a.local = cfg.LocalOnly()
		if a.local && localToken != "" {
			a.tokens[sha256.Sum256([]byte(localToken))] = apiToken{name: "local", write: true, local: true}
		}
	}
	return a
}

// callerKey holds the caller of an API request in its context.
type callerKey struct{}

// caller is who called the API, as Act needs them.
func caller(r *http.Request) Actor {
	a, _ := r.Context().Value(callerKey{}).(Actor)
	return a
}

// authenticate returns the actor of r, or an Unauthorized or Forbidden
// error saying what is missing.
func (a *apiAuth) authenticate(r *http.Request, write bool) (Actor, error) {
	via := ViaAPI
	if strings.EqualFold(r.Header.Get("X-Klaxon-Via"), ViaCLI) {
		via = ViaCLI // the CLI says so; the token says who
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		switch {
		case !write && a.openRead:
			return Actor{Name: "anonymous", Via: via}, nil
		case !write && a.local && localtrust.Request(r):
			return Actor{Name: "local", Via: via}, nil
		case a.local && localtrust.Request(r):
			return Actor{}, incidents.Errorf(incidents.Unauthorized, "changes need a token: the klaxon command on this machine sends the local token klaxon serve keeps for its user (or configure api_tokens)")
		case a.local:
			return Actor{}, incidents.Errorf(incidents.Unauthorized, "klaxon has no API token configured and lets in requests from this machine only, not through a proxy or from a web page (configure api_tokens)")
		case write && a.openRead:
			return Actor{}, incidents.Errorf(incidents.Unauthorized, "changes need a token with scope write (api_tokens in klaxon's config)")
		case len(a.tokens) == 0:
			return Actor{}, incidents.Errorf(incidents.Unauthorized, "the API needs a token: klaxon is reachable beyond this machine and none is configured (set api_tokens or server.api_token, or server.api_open: true to let anyone who can reach it read)")
		}
		return Actor{}, incidents.Errorf(incidents.Unauthorized, "the API needs a token: send Authorization: Bearer <token> (klaxon CLI: --token or $KLAXON_TOKEN)")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Actor{}, incidents.Errorf(incidents.Unauthorized, "send the token as Authorization: Bearer <token>")
	}
	t, found := a.tokens[sha256.Sum256([]byte(strings.TrimSpace(token)))]
	if !found {
		return Actor{}, incidents.Errorf(incidents.Unauthorized, "wrong token")
	}
	if write && !t.write {
		return Actor{}, incidents.Errorf(incidents.Forbidden, "token %s may only read (scope: read); changes need a token with scope write", t.name)
	}
	if t.local {
		// This machine's user, who started klaxon: the CLI names them.
		name := clip(strings.TrimSpace(r.Header.Get("X-Klaxon-As")), 48)
		if !personRE.MatchString(name) {
			name = "local"
		}
		if n, known := a.people.byName[strings.ToLower(name)]; known {
			return Actor{Name: n, Known: true, Via: via}, nil
		}
		return Actor{Name: name, Via: via}, nil
	}
	if t.as != "" {
		if n, known := a.people.byName[strings.ToLower(t.as)]; known {
			return Actor{Name: n, Known: true, Via: via}, nil
		}
	}
	return Actor{Name: t.name, Via: via}, nil
}

// apiRead and apiWrite serve h to callers who may read, or change.
func (s *Server) apiRead(h http.HandlerFunc) http.Handler  { return s.apiGuard(false, h) }
func (s *Server) apiWrite(h http.HandlerFunc) http.Handler { return s.apiGuard(true, h) }

func (s *Server) apiGuard(write bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := s.api.authenticate(r, write)
		if err != nil {
			if incidents.ErrorKind(err) == incidents.Unauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon"`)
			}
			writeError(w, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, who)))
	})
}

// maxAPIBody bounds an API request's JSON body.
const maxAPIBody = 64 << 10

// readJSON decodes r's body into v strictly (unknown fields are errors);
// an empty body leaves v as it is.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return incidents.Errorf(incidents.Invalid, "the request body is over %d bytes", maxAPIBody)
		}
		return incidents.Errorf(incidents.Invalid, "could not read the request body")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return incidents.Errorf(incidents.Invalid, "the body is not the JSON this endpoint takes: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return incidents.Errorf(incidents.Invalid, "the body holds more than one JSON value")
	}
	return nil
}

// actionBody is every field an action may take; each action reads its own.
type actionBody struct {
	Summary  string `json:"summary,omitempty"`  // resolve
	Duration string `json:"duration,omitempty"` // snooze: 30m, 2h, 1d
	Severity any    `json:"severity,omitempty"` // severity: 1..4 or "sev1"
	Person   string `json:"person,omitempty"`   // lead, role
	Role     string `json:"role,omitempty"`     // role: scribe or comms
	Text     string `json:"text,omitempty"`     // notes
	Kind     string `json:"kind,omitempty"`     // notes: factor, action, went-well, went-wrong, lucky
	// silence: label=value added to its matchers
	Labels  map[string]string `json:"labels,omitempty"`
	Silence string            `json:"silence,omitempty"` // unsilence: one silence's ID
	// feedback: was it actionable, and why (optional)
	Actionable *bool  `json:"actionable,omitempty"`
	Why        string `json:"why,omitempty"`
}

// apiAction is one POST /api/v1/incidents/{id}/<path>.
type apiAction struct {
	path   string
	verb   Verb
	fields []string // the body fields it takes
}

var apiActions = []apiAction{
	{"ack", VerbAck, nil},
	{"unack", VerbUnack, nil},
	{"resolve", VerbResolve, []string{"summary"}},
	{"reopen", VerbReopen, nil},
	{"escalate", VerbEscalate, nil},
	{"snooze", VerbSnooze, []string{"duration"}},
	{"severity", VerbSev, []string{"severity"}},
	{"lead", VerbLead, []string{"person"}},
	{"role", VerbRole, []string{"role", "person"}},
	{"notes", VerbNote, []string{"text", "kind"}},
	{"silence", VerbSilence, []string{"duration", "labels"}},
	{"unsilence", VerbUnsilence, []string{"silence"}},
	{"feedback", VerbFeedback, []string{"actionable", "why"}},
}

// command turns an action's body into the Command Act carries out.
func (a apiAction) command(b actionBody) (Command, error) {
	c := Command{Verb: a.verb}
	given := map[string]bool{"summary": b.Summary != "", "duration": b.Duration != "", "severity": b.Severity != nil,
		"person": b.Person != "", "role": b.Role != "", "text": b.Text != "", "kind": b.Kind != "",
		"labels": len(b.Labels) > 0, "silence": b.Silence != "",
		"actionable": b.Actionable != nil, "why": b.Why != ""}
	for f, set := range given {
		if set && !slices.Contains(a.fields, f) {
			return c, incidents.Errorf(incidents.Invalid, "%s takes %s, not %q", a.path, fieldList(a.fields), f)
		}
	}
	switch a.verb {
	case VerbResolve:
		c.Text = strings.TrimSpace(b.Summary)
	case VerbSnooze:
		d, err := parseDuration(b.Duration)
		if err != nil {
			return c, incidents.Errorf(incidents.Invalid, `snooze takes {"duration": "30m"} (30m, 2h, 1d)`)
		}
		c.Duration = d
	case VerbSev:
		var s string
		switch v := b.Severity.(type) {
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		case string:
			s = v
		}
		sev, err := parseSeverity(s)
		if err != nil {
			return c, incidents.Errorf(incidents.Invalid, `severity takes {"severity": 1} (1 is worst, 4 least)`)
		}
		c.Severity = sev
	case VerbLead, VerbRole:
		if strings.TrimSpace(b.Person) == "" {
			return c, incidents.Errorf(incidents.Invalid, `%s takes {"person": "alice"%s}`, a.path, map[bool]string{true: `, "role": "scribe"`}[a.verb == VerbRole])
		}
		c.Person, c.Role = b.Person, strings.ToLower(strings.TrimSpace(b.Role))
	case VerbSilence:
		d, err := parseDuration(b.Duration)
		if err != nil || d < MinSilence || d > MaxSilence {
			return c, incidents.Errorf(incidents.Invalid, `silence takes {"duration": "4h"} (1m to 7d) and optionally {"labels": {"instance": "db-1"}}`)
		}
		if len(b.Labels) > maxSilenceLabels {
			return c, incidents.Errorf(incidents.Invalid, "silence takes at most %d labels", maxSilenceLabels)
		}
		for name, v := range b.Labels {
			if !labelNameRE.MatchString(name) || v == "" {
				return c, incidents.Errorf(incidents.Invalid, "labels: %q=%q is not a label name with a value", clip(name, 40), clip(v, 40))
			}
		}
		c.Duration, c.Labels = d, b.Labels
	case VerbUnsilence:
		if b.Silence != "" && !silenceIDRE.MatchString(b.Silence) {
			return c, incidents.Errorf(incidents.Invalid, `unsilence takes {"silence": "<id>"} (optional: all the incident's silences without it)`)
		}
		c.SilenceID = strings.ToLower(b.Silence)
	case VerbFeedback:
		if b.Actionable == nil {
			return c, incidents.Errorf(incidents.Invalid, `feedback takes {"actionable": true, "why": "..."} (why optional)`)
		}
		c.Actionable, c.Text = *b.Actionable, strings.TrimSpace(b.Why)
	case VerbNote:
		c.Text, c.NoteKind = strings.TrimSpace(b.Text), strings.ToLower(strings.TrimSpace(b.Kind))
		if c.Text == "" {
			return c, incidents.Errorf(incidents.Invalid, `notes takes {"text": "...", "kind": "factor"} (kind optional: %s)`, strings.Join(incidents.NoteKinds, ", "))
		}
	}
	return c, nil
}

func fieldList(fields []string) string {
	if len(fields) == 0 {
		return "no body"
	}
	return `"` + strings.Join(fields, `", "`) + `"`
}

// actOn serves POST /api/v1/incidents/{id}/<action>.
func (s *Server) actOn(a apiAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b actionBody
		if err := readJSON(w, r, &b); err != nil {
			writeError(w, err)
			return
		}
		c, err := a.command(b)
		if err != nil {
			writeError(w, err)
			return
		}
		id, _, err := incidents.ParseID(r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		inc, hint, err := s.Act(r.Context(), id, c, caller(r))
		if err != nil {
			s.logStoreError(r, err)
			writeError(w, err)
			return
		}
		out := map[string]any{"incident": summary(inc), "message": confirmation(inc, c)}
		if hint != "" {
			out["hint"] = hint
		}
		writeJSONIndented(w, http.StatusOK, out)
	}
}

// declareBody is POST /api/v1/incidents.
type declareBody struct {
	Title    string `json:"title"`
	Severity any    `json:"severity,omitempty"`
	Team     string `json:"team,omitempty"`
	Summary  string `json:"summary,omitempty"`
}

// declareIncident serves POST /api/v1/incidents: 201 with the incident.
func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request) {
	var b declareBody
	if err := readJSON(w, r, &b); err != nil {
		writeError(w, err)
		return
	}
	var sev incidents.Severity
	if b.Severity != nil {
		var v string
		switch x := b.Severity.(type) {
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			v = x
		}
		var err error
		if sev, err = parseSeverity(v); err != nil {
			writeError(w, incidents.Errorf(incidents.Invalid, `severity is 1 (worst) to 4`))
			return
		}
	}
	inc, err := s.Declare(r.Context(), Declaration{Title: b.Title, Severity: sev, Team: b.Team, Summary: b.Summary}, caller(r))
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.ID)
	writeJSONIndented(w, http.StatusCreated, map[string]any{"incident": summary(inc), "message": "Declared " + inc.ID + " (" + inc.Severity.String() + "): " + inc.Title})
}

// summary is an incident without its alerts and timeline, for answers
// that say what changed (GET /api/v1/incidents/{id} has the rest).
func summary(inc *incidents.Incident) *incidents.Incident {
	c := *inc
	c.Alerts, c.Timeline = nil, nil
	return &c
}

// oncallAnswer is one schedule in GET /api/v1/oncall.
type oncallAnswer struct {
	Team      string           `json:"team"`
	Schedule  string           `json:"schedule"`
	Now       *oncallShift     `json:"now,omitempty"`
	Next      *oncallShift     `json:"next,omitempty"`
	Overrides []oncallOverride `json:"overrides,omitempty"`
}

type oncallShift struct {
	Person string    `json:"person"`
	From   time.Time `json:"from,omitzero"`
	Until  time.Time `json:"until,omitzero"`
}

type oncallOverride struct {
	Person string    `json:"person"`
	From   time.Time `json:"from"`
	Until  time.Time `json:"until"`
	SetBy  string    `json:"setBy"`
}

// getOncall serves GET /api/v1/oncall[?team=T]: who is on call now and
// next for each team with a schedule.
func (s *Server) getOncall(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("team")
	if want != "" {
		if _, ok := s.teams[want]; !ok {
			writeError(w, incidents.Errorf(incidents.NotFound, "there is no team %q%s", clip(want, 40), suggest.Hint(want, s.teamNames())))
			return
		}
	}
	now := s.clock.Now()
	out := []oncallAnswer{}
	for _, t := range s.cfg.Teams {
		if t.Schedule == "" || (want != "" && t.Name != want) {
			continue
		}
		sc, err := s.schedule(r.Context(), t.Schedule, now)
		if err != nil {
			s.logStoreError(r, err)
			writeError(w, err)
			return
		}
		a := oncallAnswer{Team: t.Name, Schedule: t.Schedule}
		if who, until, ok := sc.OnCall(now); ok {
			a.Now = &oncallShift{Person: who, Until: until.UTC()}
		}
		if next, from, ok := sc.Next(now); ok {
			a.Next = &oncallShift{Person: next, From: from.UTC()}
		}
		for _, o := range sc.Overrides {
			a.Overrides = append(a.Overrides, oncallOverride{Person: o.Person, From: o.From.UTC(), Until: o.Until.UTC(), SetBy: o.SetBy})
		}
		out = append(out, a)
	}
	if want != "" && len(out) == 0 {
		writeError(w, incidents.Errorf(incidents.NotFound, "team %s has no on-call schedule (teams[].schedule)", want))
		return
	}
	writeJSONIndented(w, http.StatusOK, map[string]any{"oncall": out})
}
