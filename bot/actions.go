package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/suggest"
)

// The one place that acts on incidents. A button, a slash command, a key
// pressed in a phone call, an API call, the CLI and the console all come
// here, so every change is checked, recorded and followed up (cards, the
// escalation scheduler, metrics) the same way whoever asked and however.

// Ways people reach klaxon besides the chat platforms (Slack, Mattermost,
// Telegram), as Actor.Via.
const (
	ViaAPI   = "api"
	ViaCLI   = "cli"
	ViaWeb   = "web"
	ViaPhone = "phone"
)

// Actor is who acts on an incident, and through what.
type Actor struct {
	// Name is the person (people[].name), or, for someone klaxon does not
	// know, the name their platform or API token gives them.
	Name string
	// Known says Name is a person of people: only they can pass a team's
	// responders check.
	Known bool
	// Via is how they came: a chat platform, ViaAPI, ViaCLI, ViaWeb or
	// ViaPhone.
	Via string
	// Called says klaxon called this person about this incident (a phone
	// key): they may acknowledge or escalate it whoever the responders are.
	Called bool
}

// Label names the actor on the timeline and the cards: the name alone from
// chat ("alice"), with how they came otherwise ("alice (api)").
func (a Actor) Label() string {
	switch a.Via {
	case "", Slack, Mattermost, Telegram:
		return a.Name
	}
	return a.Name + " (" + a.Via + ")"
}

// VerbFeedback answers "was it actionable?" for an incident
// (Command.Actionable, and why in Command.Text): the noise report counts
// the answers.
const VerbFeedback Verb = "feedback"

// changes are the verbs Act carries out: those that change an incident.
var changes = []Verb{VerbAck, VerbUnack, VerbResolve, VerbReopen, VerbEscalate, VerbSnooze, VerbSev, VerbLead, VerbRole, VerbNote, VerbFeedback,
	VerbSilence, VerbUnsilence}

// Act applies c, a verb that changes an incident (ack, unack, resolve,
// reopen, escalate, snooze, sev, lead, role, note, feedback, silence,
// unsilence), to the incident id on
// behalf of who. It refuses people who may not change the incident
// (Forbidden), records the change under who's label, and sets off what
// follows: every card syncs, escalation moves, MTTA and MTTR are measured.
// hint, for a note, is a gentle word about blameless language.
// Silence and unsilence also call the incident's source (a Silencer): its
// refusals and failures come back as errors whose message says what the
// source said.
// Errors: Invalid, NotFound, Conflict (not in this state), Forbidden,
// Unavailable, Internal.
func (s *Server) Act(ctx context.Context, id string, c Command, who Actor) (inc *incidents.Incident, hint string, err error) {
	if !slices.Contains(changes, c.Verb) {
		return nil, "", incidents.Errorf(incidents.Invalid, "%s does not change an incident", c.Verb)
	}
	switch c.Verb {
	case VerbSilence, VerbUnsilence:
		if c.Verb == VerbSilence {
			inc, err = s.silence(ctx, id, c, who)
		} else {
			inc, err = s.unsilence(ctx, id, c, who)
		}
		if err != nil {
			return nil, "", err
		}
		return inc, "", nil
	}
	now := s.clock.Now()
	label := who.Label()
	inc, err = s.store.Update(ctx, id, func(inc *incidents.Incident) error {
		if !(who.Called && (c.Verb == VerbAck || c.Verb == VerbEscalate)) {
			if err := s.mayChange(inc, who.Name, who.Known); err != nil {
				return err
			}
		}
		switch c.Verb {
		case VerbAck:
			return inc.Apply(incidents.Acknowledge, label, "", now)
		case VerbUnack:
			return inc.Apply(incidents.Unacknowledge, label, "", now)
		case VerbResolve:
			text := ""
			if c.Text != "" {
				text = "Resolved by " + label + ": " + clip(c.Text, 500)
			}
			if err := inc.Apply(incidents.Resolve, label, text, now); err != nil {
				return err
			}
			if c.Text != "" {
				inc.SetSummary(c.Text)
			}
			return nil
		case VerbReopen:
			return inc.Apply(incidents.Reopen, label, "", now)
		case VerbEscalate:
			return inc.Escalate(label, now)
		case VerbSnooze:
			return inc.Snooze(c.Duration, label, now)
		case VerbSev:
			return inc.SetSeverity(c.Severity, label, now)
		case VerbLead:
			return inc.SetLead(s.people.mention(who.Via, c.Person), label, now)
		case VerbRole:
			return inc.SetRole(c.Role, s.people.mention(who.Via, c.Person), label, now)
		case VerbFeedback:
			if f := inc.Feedback; c.Once && f != nil {
				word := "not actionable"
				if f.Actionable {
					word = "actionable"
				}
				return incidents.Errorf(incidents.Conflict, "%s was marked %s by %s already; to change the answer: /incident feedback %s yes|no [why]",
					inc.ID, word, clip(f.By, 60), inc.ID)
			}
			return inc.SetFeedback(c.Actionable, c.Text, label, now)
		default: // VerbNote
			hint = s.blameHint(c.Text)
			return inc.AddNote(c.NoteKind, c.Text, label, now)
		}
	})
	if err != nil {
		return nil, "", err
	}
	s.changed(inc.ID)
	switch c.Verb {
	case VerbAck:
		if firstAck(inc) {
			s.metrics.timeToAck.WithLabelValues(inc.Team, inc.Severity.String()).Observe(inc.AckedAt.Sub(inc.CreatedAt).Seconds())
		}
	case VerbResolve:
		s.metrics.timeToResolve.WithLabelValues(inc.Team, inc.Severity.String()).Observe(inc.ResolvedAt.Sub(inc.CreatedAt).Seconds())
	case VerbEscalate, VerbReopen, VerbUnack:
		s.escalator.notify()
	}
	s.log.Info("incident changed", "incident", inc.ID, "verb", c.Verb, "by", label)
	return inc, hint, nil
}

// Declaration is an incident declared by hand.
type Declaration struct {
	Title    string
	Severity incidents.Severity // 0: incidents.severity.default
	Team     string             // "": default_team
	Summary  string             // what is known so far (optional)
}

// Declare opens an incident by hand on behalf of who: a card and
// escalation like any other. Errors: Invalid (no title, no such team),
// Forbidden (not the team's responder), Unavailable, Internal.
func (s *Server) Declare(ctx context.Context, d Declaration, who Actor) (*incidents.Incident, error) {
	title := clip(strings.TrimSpace(d.Title), 200)
	if title == "" {
		return nil, incidents.Errorf(incidents.Invalid, "give the incident a title")
	}
	team := d.Team
	if team == "" {
		team = s.cfg.DefaultTeam
	}
	if team != "" {
		t, ok := s.teams[team]
		if !ok {
			return nil, incidents.Errorf(incidents.Invalid, "there is no team %q%s", clip(team, 40), suggest.Hint(team, s.teamNames()))
		}
		if err := s.mayChange(&incidents.Incident{Team: t.Name, ID: "a new incident"}, who.Name, who.Known); err != nil {
			return nil, err
		}
	}
	sev := d.Severity
	if sev == 0 {
		sev = s.cfg.Incidents.Severity.Default
	}
	if !sev.Valid() {
		return nil, incidents.Errorf(incidents.Invalid, "severity must be 1 (worst) to 4")
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	group := "declared:" + hex.EncodeToString(nonce[:])
	now := s.clock.Now()
	label := who.Label()
	annotations := map[string]string{"summary": title}
	if sum := strings.TrimSpace(d.Summary); sum != "" {
		annotations["description"] = clip(sum, incidents.MaxNoteLen)
	}
	b := &incidents.Batch{
		Source: "declared", GroupKey: group, Title: title, Team: team,
		Alerts: []incidents.Alert{{
			Source: "declared", Fingerprint: group, Status: incidents.AlertFiring, Severity: sev, StartsAt: now,
			Labels:      map[string]string{"alertname": title, "declared_by": who.Name},
			Annotations: annotations,
		}},
	}
	from := ""
	switch who.Via {
	case Slack, Mattermost, Telegram:
		from = " from " + platformTitle(who.Via)
	}
	// Who declared it is on the timeline from the one write that opens
	// it: no window where the incident exists (and escalates) without it,
	// no second write to fail after the first succeeded.
	start := s.startFunc(ctx, now)
	opts := incidents.IngestOptions{Now: now, Start: func(inc *incidents.Incident, now time.Time) {
		inc.AddEvent(now, incidents.EventTriggered, label, "Declared by "+label+from)
		if start != nil {
			start(inc, now)
		}
	}}
	res, err := s.store.Ingest(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	inc := res.Incident
	if inc == nil || !res.Created {
		return nil, incidents.Errorf(incidents.Internal, "declaring %q opened no incident", title)
	}
	s.metrics.incidentsOpened.WithLabelValues("declared", team).Inc()
	s.changed(inc.ID)
	s.escalator.notify()
	s.log.Info("incident declared", "incident", inc.ID, "title", inc.Title, "severity", inc.Severity.String(), "team", team, "by", label)
	return inc, nil
}
