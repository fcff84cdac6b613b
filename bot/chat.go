package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// People run incidents from chat: every platform's commands and buttons
// arrive here as chatops.Requests, already authenticated by their adapter.

var _ chatops.Handler = (*Server)(nil)

// chatTimeout bounds the work of one request (Slack wants an answer in 3s;
// its adapter gives a shorter deadline).
const chatTimeout = 10 * time.Second

// Handle implements chatops.Handler: it acts on a command or a button
// press and says what happened.
func (s *Server) Handle(ctx context.Context, r chatops.Request) chatops.Reply {
	start := time.Now()
	kind := "command"
	if r.Button != "" {
		kind = "button"
	}
	ctx, cancel := context.WithTimeout(ctx, chatTimeout)
	defer cancel()
	reply, verb, result := s.handle(ctx, r)
	s.metrics.chatRequests.WithLabelValues(r.Platform, kind, string(verb), result).Inc()
	s.metrics.chatDuration.WithLabelValues(r.Platform, kind).Observe(time.Since(start).Seconds())
	return reply
}

func (s *Server) handle(ctx context.Context, r chatops.Request) (chatops.Reply, Verb, string) {
	actor, known := s.people.actor(r.Platform, r.UserID, r.UserName)
	if len(s.teamsHere(r)) == 0 && !known {
		// A chat that is no team's (a direct message to the bot, a channel
		// it was added to) is open to the people klaxon knows only.
		s.log.Info("chat request from an unknown person in a chat of no team", "platform", r.Platform, "user", r.UserID, "channel", r.Channel)
		return ephemeral("This chat is not one of klaxon's team channels, and klaxon does not know you yet: ask for your account to be added to people in klaxon's config, or use a team channel."), "", "refused"
	}
	var c Command
	if isCoverKey(r.Button) {
		reply, result := s.coverButton(ctx, r, actor, known)
		return reply, VerbOncall, result
	}
	if r.Button != "" {
		id, a, err := s.signer.Verify(r.Platform, r.Button)
		if err != nil {
			s.log.Warn("a button press carried a key that is not klaxon's", "platform", r.Platform, "user", r.UserID, "channel", r.Channel)
			return chatops.Reply{Text: "This button is not valid (is it from another klaxon?).", Ephemeral: true, Unauthorized: true}, "", "unauthorized"
		}
		var ok bool
		if c, ok = buttonCommand(id, a); !ok {
			return ephemeral("This button does nothing any more; use /incident help."), "", "usage"
		}
	} else {
		var err error
		if c, err = ParseCommand(r.Text); err != nil {
			return ephemeral(incidents.ErrorMessage(err)), "", "usage"
		}
	}
	reply, err := s.act(ctx, r, actor, known, c)
	if err != nil {
		return ephemeral(chatError(err)), c.Verb, resultOf(err)
	}
	if len(reply.Choices) > 0 {
		return reply, c.Verb, "choices"
	}
	return reply, c.Verb, "ok"
}

// buttonCommand is what a card's button does.
func buttonCommand(id string, a templates.Action) (Command, bool) {
	c := Command{ID: id}
	switch a.ID {
	case templates.ActAck:
		c.Verb = VerbAck
	case templates.ActUnack:
		c.Verb = VerbUnack
	case templates.ActResolve:
		c.Verb = VerbResolve
	case templates.ActReopen:
		c.Verb = VerbReopen
	case templates.ActEscalate:
		c.Verb = VerbEscalate
	case templates.ActSnooze:
		d, err := parseDuration(a.Arg)
		if err != nil {
			return c, false
		}
		c.Verb, c.Duration = VerbSnooze, d
	case actSev:
		n, err := strconv.Atoi(a.Arg)
		if err != nil || !incidents.Severity(n).Valid() {
			return c, false
		}
		c.Verb, c.Severity = VerbSev, incidents.Severity(n)
	case templates.ActSilence:
		c.Verb = VerbSilence
		if a.Arg != "" { // "" asks how long
			d, err := parseDuration(a.Arg)
			if err != nil || d < MinSilence || d > MaxSilence {
				return c, false
			}
			c.Duration = d
		}
	case templates.ActUnsilence:
		c.Verb = VerbUnsilence
	case templates.ActFeedback:
		switch a.Arg {
		case "yes":
			c.Actionable = true
		case "no":
		default:
			return c, false
		}
		c.Verb, c.Once = VerbFeedback, true
	case actShow, actTimeline, actPostmortem:
		c.Verb = Verb(a.ID)
	default:
		return c, false
	}
	return c, true
}

// The actions of choice buttons beyond a card's (templates.ActAck…): a
// button key names its action, and buttonCommand reads it back.
const (
	actSev        templates.ActionID = "sev" // Arg: 1 to 4
	actShow       templates.ActionID = "show"
	actTimeline   templates.ActionID = "timeline"
	actPostmortem templates.ActionID = "postmortem"
)

// choiceAction is the button action that carries out c on an incident
// chosen by pressing it; ok is false for a command a button cannot carry
// (its text: a note, a resolve summary, a person).
func choiceAction(c Command) (a templates.Action, ok bool) {
	switch c.Verb {
	case VerbAck:
		return templates.Action{ID: templates.ActAck}, true
	case VerbUnack:
		return templates.Action{ID: templates.ActUnack}, true
	case VerbResolve:
		return templates.Action{ID: templates.ActResolve}, c.Text == ""
	case VerbReopen:
		return templates.Action{ID: templates.ActReopen}, true
	case VerbEscalate:
		return templates.Action{ID: templates.ActEscalate}, true
	case VerbSnooze:
		arg := durationArg(c.Duration)
		return templates.Action{ID: templates.ActSnooze, Arg: arg}, arg != ""
	case VerbSev:
		return templates.Action{ID: actSev, Arg: strconv.Itoa(int(c.Severity))}, c.Severity.Valid()
	case VerbSilence:
		arg := ""
		if c.Duration != 0 {
			arg = durationArg(c.Duration)
		}
		return templates.Action{ID: templates.ActSilence, Arg: arg}, len(c.Labels) == 0 && (c.Duration == 0 || arg != "")
	case VerbUnsilence:
		return templates.Action{ID: templates.ActUnsilence}, c.SilenceID == ""
	case VerbFeedback:
		arg := "no"
		if c.Actionable {
			arg = "yes"
		}
		return templates.Action{ID: templates.ActFeedback, Arg: arg}, c.Text == ""
	case VerbShow:
		return templates.Action{ID: actShow}, true
	case VerbTimeline:
		return templates.Action{ID: actTimeline}, true
	case VerbPostmortem:
		return templates.Action{ID: actPostmortem}, true
	}
	return templates.Action{}, false
}

// durationArg writes d as parseDuration reads it back, in letters and
// digits only (a key's field): "7d", "2h", "90m", "45s"; "" when d is not
// a whole number of seconds.
func durationArg(d time.Duration) string {
	switch {
	case d <= 0 || d%time.Second != 0:
		return ""
	case d%(24*time.Hour) == 0 && d <= 7*24*time.Hour:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// choiceKeyTTL is how long a Mattermost choice button holds: it answers
// the command just typed (Slack's and Telegram's keys do not expire, as
// their cards' do not).
const choiceKeyTTL = 15 * time.Minute

// offer answers c, which could mean any of the open incidents (newest
// first), with a button per incident, the newest chatops.MaxChoices, each
// carrying out c on its incident; ok is false when c cannot be a button
// or no key could be made. text says the same in words.
func (s *Server) offer(ctx context.Context, r chatops.Request, c Command, open []*incidents.Incident, text string) (chatops.Reply, bool) {
	a, ok := choiceAction(c)
	if !ok {
		return chatops.Reply{}, false
	}
	dest := r.Platform + ":" + r.Channel
	var choices []chatops.Choice
	for _, inc := range open[:min(chatops.MaxChoices, len(open))] {
		key := s.signer.Sign(r.Platform, inc.ID, a)
		if key == "" {
			// A platform whose keys are bound to their channel.
			key = s.signer.SignBound(r.Platform, r.Channel, inc.ID, a, s.clock.Now().Add(choiceKeyTTL))
		}
		if key == "" {
			continue
		}
		ch := chatops.Choice{Label: inc.ID + " · " + clip(inc.Title, 60), Key: key}
		if s.outbox != nil {
			if dl, err := s.outbox.box.Deliveries(ctx, inc.ID); err == nil {
				ch.Card = dl[dest].Ref
			} else {
				s.log.Warn("cannot read the card of a choice", "incident", inc.ID, "err", err)
			}
		}
		choices = append(choices, ch)
	}
	if len(choices) == 0 {
		return chatops.Reply{}, false
	}
	return chatops.Reply{Text: text, Ephemeral: true, Choices: choices}, true
}

func ephemeral(text string) chatops.Reply { return chatops.Reply{Text: text, Ephemeral: true} }

// chatError is what a person is told when their request failed.
func chatError(err error) string {
	if silenceFailure(err) {
		return incidents.ErrorMessage(err) // the source's words, not the store's
	}
	switch incidents.ErrorKind(err) {
	case incidents.Unavailable:
		return "klaxon cannot reach its store right now, so nothing changed. Try again in a moment."
	case incidents.Internal:
		return "Something went wrong inside klaxon, so nothing changed; it is in klaxon's log."
	}
	return incidents.ErrorMessage(err)
}

func resultOf(err error) string {
	switch incidents.ErrorKind(err) {
	case incidents.Invalid:
		return "usage"
	case incidents.NotFound:
		return "not_found"
	case incidents.Conflict:
		return "conflict"
	case incidents.Unauthorized, incidents.Forbidden:
		return "refused"
	}
	return "error"
}

// act carries out c for actor.
func (s *Server) act(ctx context.Context, r chatops.Request, actor string, known bool, c Command) (chatops.Reply, error) {
	switch c.Verb {
	case VerbHelp:
		return ephemeral(usage), nil
	case VerbList:
		return s.listHere(ctx, r)
	case VerbDeclare:
		return s.declare(ctx, r, actor, known, c)
	case VerbOncall:
		return s.oncallHere(ctx, r, actor, known, c)
	case VerbSilences:
		return s.silencesHere(ctx, r, known, c)
	case VerbMaintenance:
		return s.maintenanceHere(ctx, r, actor, known, c)
	case VerbReport:
		return s.reportHere(ctx, r, c)
	}
	id, err := s.incidentHere(ctx, r, c.ID, c.Verb)
	if amb := (*ambiguous)(nil); errors.As(err, &amb) {
		if reply, ok := s.offer(ctx, r, c, amb.open, amb.choose); ok {
			return reply, nil
		}
	}
	if err != nil {
		return chatops.Reply{}, err
	}
	switch c.Verb {
	case VerbShow, VerbTimeline, VerbPostmortem:
		inc, err := s.store.Get(ctx, id)
		if err != nil {
			return chatops.Reply{}, err
		}
		switch c.Verb {
		case VerbShow:
			return ephemeral(describe(inc, s.clock.Now())), nil
		case VerbTimeline:
			return ephemeral(timelineText(inc, 30)), nil
		}
		text := "Postmortem draft of " + inc.ID + ": edit it, review it together, keep it blameless."
		var md string
		if v, ok, err := s.savedPostmortem(ctx, inc.ID); err != nil {
			return chatops.Reply{}, err
		} else if ok {
			// The team's own text, saved in the console, beats the draft.
			md = v.Text
			text = fmt.Sprintf("Postmortem of %s, version %d saved by %s on %s.", inc.ID, v.Version, v.By, v.At.UTC().Format("2006-01-02 15:04 UTC"))
		} else if md, err = s.tmpl.Postmortem(inc, s.clock.Now()); err != nil {
			s.log.Error("postmortem template failed", "incident", id, "err", err)
			return chatops.Reply{}, incidents.Wrap(incidents.Internal, "postmortem", err)
		}
		reply := chatops.Reply{
			Text: text, Ephemeral: true,
			Document: &chatops.Document{Name: inc.ID + "-postmortem.md", Title: "Postmortem: " + inc.ID + " " + clip(inc.Title, 80), Content: md},
		}
		if base := s.cfg.Server.PublicURL; base != "" {
			// klaxon's own link: a real link on every platform, unlike
			// the URLs in incident text.
			reply.Links = []chatops.Link{{Text: inc.ID + "-postmortem.md (the latest version)",
				URL: strings.TrimRight(base, "/") + "/api/v1/incidents/" + inc.ID + "/postmortem.md"}}
		}
		return reply, nil
	}
	if c.Verb == VerbSilence && c.Duration == 0 {
		return s.offerSilence(ctx, r, id, Actor{Name: actor, Known: known, Via: r.Platform})
	}
	inc, hint, err := s.Act(ctx, id, c, Actor{Name: actor, Known: known, Via: r.Platform})
	if err != nil {
		return chatops.Reply{}, err
	}
	now := s.clock.Now()
	reply := ephemeral(confirmation(inc, c))
	if hint != "" {
		reply.Text += "\n" + hint
	}
	if card, err := s.tmpl.Card(inc, now); err == nil {
		reply.Card = card
	}
	return reply, nil
}

// confirmation tells the requester what changed (every card shows it too).
func confirmation(inc *incidents.Incident, c Command) string {
	last := inc.Timeline[len(inc.Timeline)-1]
	switch c.Verb {
	case VerbNote:
		kind := "Note"
		if c.NoteKind != "" {
			kind = "Note (" + c.NoteKind + ")"
		}
		return kind + " added to " + inc.ID + "."
	case VerbResolve:
		if c.Text == "" {
			return inc.ID + " resolved. Add a summary with /incident resolve " + inc.ID + " <what happened> next time, or a note now."
		}
	}
	return inc.ID + ": " + last.Text + "."
}

// mayChange refuses people who are not the team's responders, when the
// team names them.
func (s *Server) mayChange(inc *incidents.Incident, actor string, known bool) error {
	t, ok := s.teams[inc.Team]
	if !ok || len(t.Responders) == 0 {
		return nil
	}
	if known && slices.ContainsFunc(t.Responders, func(r string) bool { return strings.EqualFold(r, actor) }) {
		return nil
	}
	return incidents.Errorf(incidents.Forbidden, "Sorry, only the %s team's responders (%s) can change %s. You can still look: /incident show %s.",
		inc.Team, strings.Join(t.Responders, ", "), inc.ID, inc.ID)
}

// blameHint returns a gentle nudge when a note blames a person.
func (s *Server) blameHint(note string) string {
	if s.blame == nil || !s.blame.MatchString(note) {
		return ""
	}
	return "Kept as written. A thought for the postmortem: blameless notes help us learn — what about the system made this easy to get wrong, and what would catch it next time?"
}

// teamOf is the team a command means: the one it names, else the
// channel's (its first), else default_team.
func (s *Server) teamOf(r chatops.Request, named string) string {
	if named != "" {
		return named
	}
	if here := s.teamsHere(r); len(here) > 0 {
		return here[0]
	}
	return s.cfg.DefaultTeam
}

// teamsHere are the teams whose cards go to the request's channel.
func (s *Server) teamsHere(r chatops.Request) []string {
	return s.teamsByDest[r.Platform+":"+r.Channel]
}

// openHere lists the open incidents of the channel's teams, newest first,
// from the store's per-team index of open incidents. A chat that is no
// team's has none of its own (for list: the newest 1,000 open incidents
// of every team, to the people klaxon knows, who alone may ask there).
func (s *Server) openHere(ctx context.Context, r chatops.Request, all bool) ([]*incidents.Incident, error) {
	teams := s.teamsHere(r)
	if len(teams) == 0 {
		if !all {
			return nil, nil
		}
		return s.store.List(ctx, incidents.ListOptions{States: incidents.OpenStates, Limit: incidents.MaxListLimit})
	}
	var out []*incidents.Incident
	for _, team := range teams {
		opts := incidents.ListOptions{States: incidents.OpenStates, Team: team, Limit: incidents.MaxListLimit}
		for page := 0; page < maxOpenPages; page++ {
			open, err := s.store.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			out = append(out, open...)
			if len(open) < opts.Limit {
				break
			}
			opts.Before = open[len(open)-1].Number
		}
	}
	if len(teams) > 1 { // a channel several teams share
		slices.SortFunc(out, func(a, b *incidents.Incident) int { return cmp.Compare(b.Number, a.Number) })
	}
	return out, nil
}

// maxOpenPages bounds how many pages of a team's open incidents a command
// reads (50,000 incidents): past that, name the incident.
const maxOpenPages = 50

// afterwards are the verbs that make sense once an incident is resolved:
// left without an ID where none is open, they mean the latest one.
var afterwards = []Verb{VerbShow, VerbTimeline, VerbPostmortem, VerbReopen, VerbNote}

// incidentHere finds the incident a command means: the one it names, the
// one whose card it came from, or the only one open in the channel (for
// afterwards verbs, the channel's latest when none is open).
func (s *Server) incidentHere(ctx context.Context, r chatops.Request, id string, verb Verb) (string, error) {
	if id != "" {
		return id, nil
	}
	if r.Thread != "" && s.outbox != nil {
		found, err := s.outbox.box.RefIncident(ctx, r.Platform+":"+r.Channel, r.Thread)
		if err != nil {
			return "", err
		}
		if found != "" {
			return found, nil
		}
	}
	open, err := s.openHere(ctx, r, false)
	if err != nil {
		return "", err
	}
	switch len(open) {
	case 1:
		return open[0].ID, nil
	case 0:
		if len(s.teamsHere(r)) == 0 {
			return "", incidents.Errorf(incidents.Invalid, "This chat is no team's: name the incident, e.g. /incident %s INC-42.", verb)
		}
		if slices.Contains(afterwards, verb) {
			if latest, err := s.latestHere(ctx, r); err != nil || latest != "" {
				return latest, err
			}
		}
		return "", incidents.Errorf(incidents.Invalid, "No incident is open here. Name one, e.g. /incident show INC-42, or see /incident list.")
	}
	ids := make([]string, 0, chatops.MaxChoices)
	for _, inc := range open[:min(chatops.MaxChoices, len(open))] {
		ids = append(ids, inc.ID)
	}
	more := ""
	if len(open) > chatops.MaxChoices {
		more = fmt.Sprintf(" and %d more", len(open)-chatops.MaxChoices)
	}
	head := fmt.Sprintf("%d incidents are open here (%s%s): which one?", len(open), strings.Join(ids, ", "), more)
	example := "/incident " + string(verb) + " " + ids[0]
	switch verb {
	case VerbSev, VerbSnooze, VerbNote, VerbLead, VerbRole:
		example += " …"
	}
	return "", &ambiguous{
		err:    incidents.Errorf(incidents.Invalid, "%s e.g. %s", head, example),
		choose: head + " Choose below, or name it: " + example,
		open:   open,
	}
}

// ambiguous is incidentHere's error when several incidents are open in
// the channel and the request names none: act offers them as buttons
// when the command can be one.
type ambiguous struct {
	err    error                 // Invalid, naming them
	choose string                // the text that goes with the buttons
	open   []*incidents.Incident // newest first
}

func (a *ambiguous) Error() string { return a.err.Error() }
func (a *ambiguous) Unwrap() error { return a.err }

// latestHere is the newest incident of the channel's teams, or "": one
// read of each team's index.
func (s *Server) latestHere(ctx context.Context, r chatops.Request) (string, error) {
	var latest *incidents.Incident
	for _, team := range s.teamsHere(r) {
		l, err := s.store.List(ctx, incidents.ListOptions{Team: team, Limit: 1})
		if err != nil {
			return "", err
		}
		if len(l) == 1 && (latest == nil || l[0].Number > latest.Number) {
			latest = l[0]
		}
	}
	if latest == nil {
		return "", nil
	}
	return latest.ID, nil
}

func (s *Server) listHere(ctx context.Context, r chatops.Request) (chatops.Reply, error) {
	open, err := s.openHere(ctx, r, true)
	if err != nil {
		return chatops.Reply{}, err
	}
	if len(open) == 0 {
		return ephemeral("No open incidents here. 🎉"), nil
	}
	now := s.clock.Now()
	lines := []string{fmt.Sprintf("%d open:", len(open))}
	for i, inc := range open {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("… and %d more", len(open)-20))
			break
		}
		lines = append(lines, oneLine(inc, now))
	}
	return ephemeral(strings.Join(lines, "\n")), nil
}

func oneLine(inc *incidents.Incident, now time.Time) string {
	who := ""
	if inc.State == incidents.Acknowledged {
		who = " by " + inc.AckedBy
	}
	return fmt.Sprintf("%s · %s · %s%s · %s · open %s", inc.ID, inc.Severity, templates.StateWord(inc.State), who,
		clip(inc.Title, 80), templates.Duration(now.Sub(inc.CreatedAt)))
}

// describe is /incident show.
func describe(inc *incidents.Incident, now time.Time) string {
	firing, resolved := inc.Counts()
	lines := []string{
		inc.ID + " · " + clip(inc.Title, 200),
		fmt.Sprintf("%s · %s · opened %s ago · %d firing, %d resolved", templates.StateWord(inc.State), inc.Severity,
			templates.Duration(now.Sub(inc.CreatedAt)), firing, resolved),
	}
	if inc.Team != "" {
		lines = append(lines, "Team: "+inc.Team)
	}
	if inc.AckedBy != "" {
		lines = append(lines, "Acknowledged by "+inc.AckedBy+" at "+inc.AckedAt.UTC().Format("15:04 UTC"))
	}
	if inc.ResolvedBy != "" {
		lines = append(lines, "Resolved by "+inc.ResolvedBy+" at "+inc.ResolvedAt.UTC().Format("15:04 UTC"))
	}
	if inc.Lead != "" {
		lines = append(lines, "Incident commander: "+inc.Lead)
	}
	for _, role := range []string{incidents.RoleScribe, incidents.RoleComms} {
		if who := inc.Roles[role]; who != "" {
			lines = append(lines, strings.ToUpper(role[:1])+role[1:]+": "+who)
		}
	}
	if !inc.SnoozedUntil.IsZero() && inc.SnoozedUntil.After(now) {
		lines = append(lines, "Escalation snoozed until "+inc.SnoozedUntil.UTC().Format("15:04 UTC"))
	}
	if inc.Summary != "" {
		lines = append(lines, "Summary: "+clip(inc.Summary, 500))
	}
	return strings.Join(lines, "\n")
}

// timelineText is the last n events, oldest first.
func timelineText(inc *incidents.Incident, n int) string {
	events := inc.Timeline
	lines := []string{inc.ID + " timeline (UTC):"}
	if len(events) > n {
		lines = append(lines, fmt.Sprintf("… %d earlier events (all of them: /incident postmortem %s)", len(events)-n, inc.ID))
		events = events[len(events)-n:]
	}
	for _, e := range events {
		line := e.At.UTC().Format("15:04") + " " + clip(e.Text, 300)
		if e.Tag != "" {
			line = e.At.UTC().Format("15:04") + " [" + e.Tag + "] " + clip(e.Text, 300)
		}
		if e.Actor != "" && !strings.Contains(e.Text, e.Actor) {
			line += " — " + e.Actor
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// declare opens an incident by hand: a card and escalation like any other.
func (s *Server) declare(ctx context.Context, r chatops.Request, actor string, known bool, c Command) (chatops.Reply, error) {
	team := s.teamOf(r, c.Team)
	inc, err := s.Declare(ctx, Declaration{Title: c.Text, Severity: c.Severity, Team: team}, Actor{Name: actor, Known: known, Via: r.Platform})
	if err != nil {
		return chatops.Reply{}, err
	}
	text := fmt.Sprintf("%s declared %s (%s", actor, inc.ID, inc.Severity)
	if inc.Team != "" {
		text += ", team " + inc.Team
	}
	return chatops.Reply{Text: text + "): " + inc.Title}, nil
}

func (s *Server) teamNames() []string {
	var out []string
	for _, t := range s.cfg.Teams {
		out = append(out, t.Name)
	}
	return out
}

// Rejected counts a chat request refused before it reached Handle
// (chatops.Rejected), and logs it without secrets.
func (s *Server) Rejected(platform, reason string) {
	s.metrics.chatRejected.WithLabelValues(platform, reason).Inc()
	s.log.Warn("chat request refused", "platform", platform, "reason", reason)
}

// Mount serves h at method and path (a chat adapter's endpoint, which
// authenticates what it reads) behind the unauthenticated gate, reading
// at most maxChatBody bytes; call it before serving.
func (s *Server) Mount(method, path string, h http.Handler) {
	s.route(method, path, s.unauthenticated(h, maxChatBody))
}

// maxChatBody bounds what a chat platform may send in one request (the
// adapters bound it too).
const maxChatBody = 1 << 20
