package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/suggest"
	"github.com/klaxonbot/klaxon/templates"
)

// Silences at the source: a person silences an incident's alerts where
// they come from (Alertmanager, Grafana's Alertmanager) for a while, from
// a card's button, a command or the API, through Act like every change.

// Silencer creates and expires silences at one incident source. main
// wires one per source that has an API configured
// (sources.alertmanager.api_url, sources.grafana.api_url).
type Silencer interface {
	// Silence creates a silence of the alerts with these label sets
	// (matchers: the labels they share, with Extra added) until r.Ends.
	// Errors: Invalid (nothing specific to match on, a bad label; the
	// source refused it), Unavailable (unreachable, 5xx, refused
	// klaxon's credentials), each with a message fit for the person.
	Silence(ctx context.Context, r SilenceRequest) (SilenceInfo, error)
	// Expire ends the silence now. One already expired is no error;
	// NotFound when the source does not know it (any more).
	Expire(ctx context.Context, id string) error
	// Silences lists the active and pending silences.
	Silences(ctx context.Context) ([]SilenceInfo, error)
}

// SilenceRequest is a silence to create.
type SilenceRequest struct {
	Alerts    []map[string]string // the incident's alerts' labels
	Extra     map[string]string   // label=value a person added
	Ends      time.Time
	CreatedBy string
	Comment   string
}

// SilenceInfo is a silence at a source.
type SilenceInfo struct {
	ID        string
	Matchers  string // as amtool writes them: {alertname="X", instance="y"}
	StartsAt  time.Time
	EndsAt    time.Time
	CreatedBy string
	Comment   string
}

// Verbs of silences.
const (
	VerbSilence   Verb = "silence"
	VerbUnsilence Verb = "unsilence"
	VerbSilences  Verb = "silences"
)

// Silence durations: what a card offers, and the bounds of any.
var silenceChoices = []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour}

const (
	// MinSilence and MaxSilence bound how long a silence klaxon makes
	// lasts: a week at most, so that none is forgotten for good.
	MinSilence = time.Minute
	MaxSilence = 7 * 24 * time.Hour
	// maxSilenceLabels bounds the label=value a command adds.
	maxSilenceLabels = 10
)

// silenceTimeout bounds the calls to a source when the request's own
// deadline is further.
const silenceTimeout = 8 * time.Second

// sourceError is a failure of an outside system klaxon called for the
// person (not of klaxon's store): its message is shown as it is.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// fromSource wraps an error of a Silencer. A refusal of klaxon's own
// credentials, or a 404 from a wrong api_url, is no fault of the
// person's and says nothing of the incident: it becomes Unavailable (its
// message says what to check).
func fromSource(err error) error {
	if err == nil {
		return nil
	}
	switch incidents.ErrorKind(err) {
	case incidents.Unauthorized, incidents.Forbidden, incidents.NotFound, incidents.Internal:
		return &sourceError{&incidents.Error{Kind: incidents.Unavailable, Message: incidents.ErrorMessage(err), Err: err}}
	}
	return &sourceError{err}
}

// silenceMarker ends the comment of every silence klaxon makes: it tells
// klaxon's silences, and their team, from others.
var silenceMarker = regexp.MustCompile(`\[klaxon (INC-[0-9]+) team=(\S*)\]\s*$`)

// silenceComment is the comment of a silence for inc: the incident, who,
// a link to it, and the marker.
func (s *Server) silenceComment(inc *incidents.Incident, by string) string {
	text := inc.ID + ": " + clip(inc.Title, 150) + " (silenced from klaxon by " + by + ")"
	if link := s.incidentLink(inc.ID); link != "" {
		text += " " + link
	}
	return text + " [klaxon " + inc.ID + " team=" + inc.Team + "]"
}

// incidentLink is klaxon's page of the incident: the console's, else the
// API's; "" without server.public_url.
func (s *Server) incidentLink(id string) string {
	base := strings.TrimRight(s.cfg.Server.PublicURL, "/")
	switch {
	case base == "":
		return ""
	case s.console != nil:
		return base + "/ui/incidents/" + id
	}
	return base + "/api/v1/incidents/" + id
}

// silenceSources are the incident sources klaxon can silence at, sorted.
func (s *Server) silenceSources() []string {
	out := make([]string, 0, len(s.silencers))
	for name := range s.silencers {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (s *Server) silencerOf(inc *incidents.Incident) (Silencer, error) {
	if sil := s.silencers[inc.Source]; sil != nil {
		return sil, nil
	}
	if len(s.silencers) == 0 {
		return nil, incidents.Errorf(incidents.Invalid,
			"klaxon cannot silence alerts: give it the API of their source (sources.alertmanager.api_url or sources.grafana.api_url)")
	}
	return nil, incidents.Errorf(incidents.Invalid, "%s came from %s: klaxon silences alerts only at %s",
		inc.ID, orWord(inc.Source, "no monitor"), strings.Join(s.silenceSources(), " and "))
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

// silence creates a silence at the incident's source and records it on
// the incident (Act's VerbSilence). Nothing is recorded when the source
// refuses; a silence made whose record fails is expired again.
func (s *Server) silence(ctx context.Context, id string, c Command, who Actor) (*incidents.Incident, error) {
	if c.Duration < MinSilence || c.Duration > MaxSilence {
		return nil, incidents.Errorf(incidents.Invalid, "silence for 1m to 7d, e.g. 1h, 4h or 24h")
	}
	inc, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayChange(inc, who.Name, who.Known); err != nil {
		return nil, err
	}
	sil, err := s.silencerOf(inc)
	if err != nil {
		return nil, err
	}
	var alerts []map[string]string
	for _, a := range inc.Alerts {
		if a.Source == inc.Source || a.Source == "" {
			alerts = append(alerts, a.Labels)
		}
	}
	label := who.Label()
	now := s.clock.Now()
	sctx, cancel := context.WithTimeout(ctx, silenceTimeout)
	defer cancel()
	info, err := sil.Silence(sctx, SilenceRequest{Alerts: alerts, Extra: c.Labels, Ends: now.Add(c.Duration),
		CreatedBy: label, Comment: s.silenceComment(inc, label)})
	if err != nil {
		s.log.Warn("silence refused", "incident", id, "source", inc.Source, "by", label, "err", err)
		return nil, fromSource(err)
	}
	rec := incidents.Silence{ID: info.ID, Source: inc.Source, By: label, Until: now.Add(c.Duration), Matchers: info.Matchers}
	if !info.EndsAt.IsZero() {
		rec.Until = info.EndsAt
	}
	out, err := s.store.Update(ctx, id, func(inc *incidents.Incident) error {
		return inc.AddSilence(rec, now)
	})
	if err != nil {
		// The silence holds at the source but the incident cannot say so:
		// lift it again, so that nothing is silenced that no card shows.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), silenceTimeout)
		defer cancel()
		if xerr := sil.Expire(ectx, info.ID); xerr != nil {
			s.log.Error("a silence was made but neither recorded nor expired", "incident", id, "silence", info.ID, "err", err, "expire", xerr)
			return nil, incidents.Wrap(incidents.Unavailable, "silence", fmt.Errorf("%w (silence %s was made at %s and could not be recorded or expired: expire it there)", err, info.ID, inc.Source))
		}
		return nil, err
	}
	s.log.Info("silenced", "incident", id, "source", inc.Source, "silence", info.ID, "for", c.Duration, "by", label, "matchers", info.Matchers)
	s.changed(id)
	return out, nil
}

// unsilence expires the incident's silences (the one named by
// c.SilenceID, or all that are active) at the source and forgets them
// (Act's VerbUnsilence). Those expired before a failure are forgotten
// still.
func (s *Server) unsilence(ctx context.Context, id string, c Command, who Actor) (*incidents.Incident, error) {
	inc, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayChange(inc, who.Name, who.Known); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var targets []incidents.Silence
	if c.SilenceID != "" {
		sil, ok := inc.FindSilence(c.SilenceID)
		if !ok {
			return nil, incidents.Errorf(incidents.NotFound, "%s has no silence %s of klaxon's (/incident silences lists them)", inc.ID, clip(c.SilenceID, 40))
		}
		targets = []incidents.Silence{sil}
	} else if targets = inc.ActiveSilences(now); len(targets) == 0 {
		return nil, incidents.Errorf(incidents.Conflict, "%s is not silenced by klaxon (/incident silences lists the team's silences)", inc.ID)
	}
	label := who.Label()
	var done []string
	var failed error
	for _, t := range targets {
		sil := s.silencers[t.Source]
		if sil == nil {
			failed = incidents.Errorf(incidents.Invalid, "silence %s is at %s, which klaxon no longer has an API for: expire it there", t.ID, t.Source)
			break
		}
		sctx, cancel := context.WithTimeout(ctx, silenceTimeout)
		err := sil.Expire(sctx, t.ID)
		cancel()
		if err != nil && incidents.ErrorKind(err) != incidents.NotFound {
			s.log.Warn("unsilence failed", "incident", id, "silence", t.ID, "err", err)
			failed = fromSource(err)
			break
		}
		done = append(done, t.ID)
	}
	if len(done) == 0 {
		return nil, failed
	}
	out, err := s.store.Update(ctx, id, func(inc *incidents.Incident) error {
		for _, sid := range done {
			if _, err := inc.RemoveSilence(sid, label, now); err != nil && incidents.ErrorKind(err) != incidents.NotFound {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("unsilenced", "incident", id, "silences", done, "by", label)
	s.changed(id)
	if failed != nil {
		return nil, failed
	}
	return out, nil
}

// silencesHere answers /incident silences: the active silences klaxon made
// for the channel's teams (or the named one), at every source.
func (s *Server) silencesHere(ctx context.Context, r chatops.Request, known bool, c Command) (chatops.Reply, error) {
	if len(s.silencers) == 0 {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid,
			"klaxon cannot silence alerts: give it the API of their source (sources.alertmanager.api_url or sources.grafana.api_url)")
	}
	teams := s.teamsHere(r)
	if c.Team != "" {
		teams = []string{c.Team}
	}
	all := len(teams) == 0 && known // a known person, in a chat of no team
	list, err := s.Silences(ctx, teams, all)
	if err != nil {
		return chatops.Reply{}, err
	}
	now := s.clock.Now()
	what := "the team " + strings.Join(teams, ", ")
	if all {
		what = "any team"
	}
	if len(list) == 0 {
		return ephemeral("No silences of klaxon's are active for " + what + "."), nil
	}
	lines := []string{fmt.Sprintf("%d silences of klaxon's for %s:", len(list), what)}
	for i, l := range list {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("… and %d more", len(list)-20))
			break
		}
		lines = append(lines, l.line(now))
	}
	return ephemeral(strings.Join(lines, "\n")), nil
}

// TeamSilence is an active silence klaxon made for a team's incident.
type TeamSilence struct {
	SilenceInfo
	Source   string
	Incident string
	Team     string
}

func (t TeamSilence) line(now time.Time) string {
	state := "until " + t.EndsAt.UTC().Format("Jan 2 15:04 UTC") + " (" + templates.Duration(t.EndsAt.Sub(now)) + " left)"
	if t.StartsAt.After(now) {
		state = "from " + t.StartsAt.UTC().Format("Jan 2 15:04 UTC") + " " + state
	}
	return fmt.Sprintf("%s · %s · %s · by %s · %s", incidents.ShortSilenceID(t.ID), t.Incident, state, clip(t.CreatedBy, 60), clip(t.Matchers, 300))
}

// Silences lists the active and pending silences klaxon made for these
// teams' incidents (for every team's when all), at every source, the
// soonest to end first. Errors: Unavailable (a source), Invalid.
func (s *Server) Silences(ctx context.Context, teams []string, all bool) ([]TeamSilence, error) {
	var out []TeamSilence
	for _, src := range s.silenceSources() {
		sctx, cancel := context.WithTimeout(ctx, silenceTimeout)
		list, err := s.silencers[src].Silences(sctx)
		cancel()
		if err != nil {
			return nil, fromSource(err)
		}
		for _, l := range list {
			m := silenceMarker.FindStringSubmatch(l.Comment)
			if m == nil || (!all && !slices.Contains(teams, m[2])) {
				continue
			}
			out = append(out, TeamSilence{SilenceInfo: l, Source: src, Incident: m[1], Team: m[2]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].EndsAt.Before(out[j].EndsAt) })
	return out, nil
}

// offerSilence answers a Silence… button (or /incident silence without a
// duration): how long, as buttons.
func (s *Server) offerSilence(ctx context.Context, r chatops.Request, id string, who Actor) (chatops.Reply, error) {
	inc, err := s.store.Summary(ctx, id)
	if err != nil {
		return chatops.Reply{}, err
	}
	if err := s.mayChange(inc, who.Name, who.Known); err != nil {
		return chatops.Reply{}, err
	}
	if _, err := s.silencerOf(inc); err != nil {
		return chatops.Reply{}, err
	}
	card := ""
	if s.outbox != nil {
		if dl, err := s.outbox.box.Deliveries(ctx, id); err == nil {
			card = dl[r.Platform+":"+r.Channel].Ref
		}
	}
	var choices []chatops.Choice
	for _, d := range silenceChoices {
		a := templates.Action{ID: templates.ActSilence, Arg: durationArg(d)}
		key := s.signer.Sign(r.Platform, id, a)
		if key == "" {
			key = s.signer.SignBound(r.Platform, r.Channel, id, a, s.clock.Now().Add(choiceKeyTTL))
		}
		if key != "" {
			choices = append(choices, chatops.Choice{Label: "Silence " + templates.Duration(d), Key: key, Card: card})
		}
	}
	text := "Silence " + id + "'s alerts at " + inc.Source + " for how long? Or: /incident silence " + id + " 2h [label=value …]"
	return chatops.Reply{Text: text, Ephemeral: true, Choices: choices}, nil
}

// silenceFailure reports whether err came from a silence source.
func silenceFailure(err error) bool {
	var se *sourceError
	return errors.As(err, &se)
}

// silenceAnswer is one silence of GET /api/v1/silences.
type silenceAnswer struct {
	ID        string    `json:"id"`
	Incident  string    `json:"incident"`
	Team      string    `json:"team"`
	Source    string    `json:"source"`
	Matchers  string    `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

// getSilences serves GET /api/v1/silences[?team=T]: the active silences
// klaxon made, of one team or of all, soonest to end first.
func (s *Server) getSilences(w http.ResponseWriter, r *http.Request) {
	team := r.URL.Query().Get("team")
	if team != "" {
		if _, ok := s.teams[team]; !ok {
			writeError(w, incidents.Errorf(incidents.NotFound, "there is no team %q%s", clip(team, 40), suggest.Hint(team, s.teamNames())))
			return
		}
	}
	if len(s.silencers) == 0 {
		writeError(w, incidents.Errorf(incidents.NotFound,
			"klaxon cannot silence alerts: give it the API of their source (sources.alertmanager.api_url or sources.grafana.api_url)"))
		return
	}
	list, err := s.Silences(r.Context(), []string{team}, team == "")
	if err != nil {
		s.log.Warn("listing silences failed", "err", err)
		writeError(w, err)
		return
	}
	out := make([]silenceAnswer, 0, len(list))
	for _, l := range list {
		out = append(out, silenceAnswer{ID: l.ID, Incident: l.Incident, Team: l.Team, Source: l.Source, Matchers: l.Matchers,
			StartsAt: l.StartsAt.UTC(), EndsAt: l.EndsAt.UTC(), CreatedBy: l.CreatedBy, Comment: l.Comment})
	}
	writeJSONIndented(w, http.StatusOK, map[string]any{"silences": out})
}
