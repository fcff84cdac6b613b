package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
	"github.com/klaxonbot/klaxon/templates"
)

// The web console (package console) mounted on the server: its config,
// the Backend it reads and acts through (Act and Declare, like a chat
// button, with Via "web"), and the news of changed incidents that keeps
// its pages live on every replica.

// ConsoleConfig is the web console at /ui/.
type ConsoleConfig struct {
	// Session is how long a sign-in lasts; 0 means 12h.
	Session Duration `yaml:"session"`
	// Secret signs sign-in links; every replica needs the same. Default:
	// derived from the chat platforms' secrets (see ConsoleSecret).
	Secret Secret `yaml:"secret"`
	// OIDC, when set, offers single sign-on with an OpenID Connect
	// provider; its verified e-mail claim names the person (people[].email).
	OIDC *OIDCConfig `yaml:"oidc"`
}

// OIDCConfig names an OpenID Connect provider and klaxon's client there
// (redirect URL: <server.public_url>/ui/oidc/callback).
type OIDCConfig struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
}

// ConsoleDeps are what only cmd can give the console: the chat adapters'
// work, which bot may not import.
type ConsoleDeps struct {
	// Previews compile a card for each configured platform.
	Previews func(*templates.Card) []console.Preview
	// CardURL opens a card on its platform (platform, destination, the
	// adapter's reference); "" when there is no link.
	CardURL func(platform, dest, ref string) string
	// Secret signs sign-in links when the config gives nothing to derive
	// one from (Config.ConsoleSecret); nil then: the console is off.
	Secret []byte
}

// console checks the console's config.
func (v *configValidator) console(c *Config) {
	cc := c.Console
	if d := cc.Session.D(); d != 0 && (d < 5*time.Minute || d > 30*24*time.Hour) {
		v.errorf("console.session", "must be between 5m and 720h (30 days), got %s", cc.Session)
	}
	if msg := placeholderProblem(cc.Secret.Reveal()); cc.Secret != "" && msg != "" {
		v.errorf("console.secret", "%s", msg)
	} else if cc.Secret != "" && len(cc.Secret.Reveal()) < 32 {
		v.errorf("console.secret", "is %d characters long: at least 32 (it signs sign-in links)", len(cc.Secret.Reveal()))
	}
	if o := cc.OIDC; o != nil {
		u, err := url.Parse(o.Issuer)
		switch {
		case o.Issuer == "":
			v.errorf("console.oidc.issuer", "must not be empty (the provider's issuer URL, e.g. https://accounts.google.com)")
		case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
			v.errorf("console.oidc.issuer", "want an absolute https URL without query, got %q", clipValue(o.Issuer))
		case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
			v.errorf("console.oidc.issuer", "must be https (http only to a loopback address, for tests), got %q", clipValue(o.Issuer))
		}
		if strings.TrimSpace(o.ClientID) == "" {
			v.errorf("console.oidc.client_id", "must not be empty")
		}
		if o.ClientSecret == "" {
			v.errorf("console.oidc.client_secret", "must not be empty")
		}
		v.outboundSecret("console.oidc.client_secret", o.ClientSecret)
		if c.Server.PublicURL == "" {
			v.errorf("console.oidc", "needs server.public_url: the provider sends people back to <public_url>/ui/oidc/callback")
		}
	}
}

func loopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

// ErrNoConsoleSecret says that nothing secret in the config can sign
// sign-in links.
var ErrNoConsoleSecret = errors.New("nothing in the config can sign console sign-in links: set console.secret (32 characters or more, the same on every replica)")

// ConsoleSecret is the key that signs console sign-in links: console.secret,
// else one derived from the secrets chat already needs (a chat platform's
// token, server.button_secret), so that every replica with the same
// config has the same. Without any of them there is nothing secret to
// derive from: ErrNoConsoleSecret (cmd then keeps a random one beside the
// embedded store, see ConsoleDeps.Secret).
func (c *Config) ConsoleSecret() ([]byte, error) {
	if c.Console.Secret != "" {
		return []byte(c.Console.Secret.Reveal()), nil
	}
	if c.Server.ButtonSecret == "" && c.Slack == nil && c.Mattermost == nil && c.Telegram == nil {
		return nil, ErrNoConsoleSecret
	}
	m := hmac.New(sha256.New, c.ButtonKeySecret())
	m.Write([]byte("klaxon console sign-in links"))
	return m.Sum(nil), nil
}

// LinkSender is a Chat that can send a person a direct message with a
// link to follow (a console sign-in link). Chats without it get the link
// in the text of a Direct message, which some platforms' escaping leaves
// unclickable.
type LinkSender interface {
	DirectLink(ctx context.Context, userID, text, label, link string) error
}

// mountConsole serves the console at /ui/ and sends GET / there. Without
// a secret to sign links it still serves OIDC and links printed by no one:
// the console is mounted only when it can sign.
func (s *Server) mountConsole(d Deps) error {
	secret, err := s.cfg.ConsoleSecret()
	if err != nil && len(d.Console.Secret) >= 32 {
		secret, err = d.Console.Secret, nil
	}
	if err != nil {
		s.log.Info("console: off (" + err.Error() + ")")
		s.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "klaxon's console is off: set console.secret in klaxon's config (32 characters or more).", http.StatusNotFound)
		})
		return nil
	}
	o := console.Options{
		Backend: newConsoleBackend(s, d.Console.CardURL), Secret: secret, PublicURL: s.cfg.Server.PublicURL,
		SessionTTL: s.cfg.Console.Session.D(), Templates: s.tmpl, Previews: d.Console.Previews, Clock: s.clock, Logger: s.log,
		ClientIP: s.gates.proxies.Client, Once: s.once,
	}
	if len(s.cfg.People) == 0 && s.cfg.LocalOnly() {
		// A first try on a laptop: nobody to sign in yet, nobody but this
		// machine to reach klaxon; its user has the local token.
		o.LocalToken = d.LocalToken
	}
	if st, ok := s.store.(incidents.Sessions); ok {
		o.Sessions = st
	}
	if ch, ok := s.store.(incidents.Changes); ok {
		o.Changes = ch
	}
	if f, ok := s.store.(incidents.Feeds); ok {
		o.Feeds = f
	}
	if oc := s.cfg.Console.OIDC; oc != nil {
		o.OIDC = &console.OIDCOptions{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret.Reveal()}
	}
	c, err := console.New(o)
	if err != nil {
		return err
	}
	s.console = c
	s.changes = &changeFeed{ch: make(chan string, 4096), store: o.Changes, local: c.Changed, log: s}
	if s.outbox != nil {
		// Changes are published where they are made (changed); every
		// change also passes the outbox, whose claim publishes it again:
		// the one place that sees them all (a delivery failure on the
		// timeline too), and the card links once cards are posted.
		s.outbox.box = publishingOutbox{Outbox: s.outbox.box, publish: s.changes.publish}
	}
	h := http.MaxBytesHandler(c.Handler(), 1<<20)
	s.mux.Handle("/ui/", h)
	s.mux.Handle("GET /ical/", h) // calendar feeds: the token is the key, no session
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
	return nil
}

// changed says that incident id changed here: the outbox syncs its cards
// at once, and the console's live pages (every replica's) hear of it.
func (s *Server) changed(id string) {
	if s.outbox != nil {
		s.outbox.notify()
	}
	if s.changes != nil {
		s.changes.publish(id)
	}
}

// runConsole keeps the console's pages live until ctx ends.
func (s *Server) runConsole(ctx context.Context) {
	if s.console == nil {
		return
	}
	done := make(chan struct{})
	go func() { defer close(done); s.changes.run(ctx) }()
	s.console.Run(ctx)
	<-done
}

// Console returns the web console, or nil when it is off.
func (s *Server) Console() *console.Console { return s.console }

// publishingOutbox announces each incident an outbox worker claims.
type publishingOutbox struct {
	incidents.Outbox
	publish func(id string)
}

func (p publishingOutbox) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]incidents.Claim, error) {
	claims, err := p.Outbox.Claim(ctx, now, n, lease)
	for _, c := range claims {
		p.publish(c.ID)
	}
	return claims, err
}

// changeFeed publishes changed incidents: to the store (every replica's
// pages) or, without one that carries them, to this process's pages. It
// never blocks the outbox: when its queue is full a change is dropped,
// and pages see it at the next.
type changeFeed struct {
	ch    chan string
	store incidents.Changes
	local func(id string)
	log   *Server
}

func (f *changeFeed) publish(id string) {
	select {
	case f.ch <- id:
	default:
	}
}

func (f *changeFeed) run(ctx context.Context) {
	failing := false
	batch := map[string]struct{}{}
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-f.ch:
			// What queued meanwhile goes too, each incident once.
			batch[id] = struct{}{}
		more:
			for len(batch) < 1024 {
				select {
				case id := <-f.ch:
					batch[id] = struct{}{}
				default:
					break more
				}
			}
		}
		for id := range batch {
			delete(batch, id)
			if f.store == nil {
				f.local(id)
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := f.store.PublishChange(pctx, id)
			cancel()
			if err != nil && !failing && ctx.Err() == nil {
				f.log.log.Warn("console: publishing a change failed; live pages miss it", "incident", id, "err", err)
			}
			failing = err != nil
		}
	}
}

// consoleBackend is what the console reads and does, as the bot.
type consoleBackend struct {
	s       *Server
	cardURL func(platform, dest, ref string) string
	// teams are the teams as the console shows them, made once: the
	// config does not change while klaxon runs.
	teams     []console.Team
	locations map[string]*time.Location // schedule → time zone
}

func newConsoleBackend(s *Server, cardURL func(platform, dest, ref string) string) *consoleBackend {
	b := &consoleBackend{s: s, cardURL: cardURL, locations: map[string]*time.Location{}}
	for _, sc := range s.cfg.Schedules {
		loc, err := time.LoadLocation(sc.Timezone) // "" is UTC; Validate checked the name
		if err != nil {
			loc = time.UTC
		}
		b.locations[sc.Name] = loc
	}
	dests := teamDests(s.cfg)
	policies := map[string]*incidents.Policy{}
	for _, p := range s.cfg.Policies {
		policies[p.Name] = p.Policy()
	}
	for _, t := range s.cfg.Teams {
		ct := console.Team{Name: t.Name, Responders: t.Responders, Policy: t.Policy, Schedule: t.Schedule, Steps: policies[t.Policy],
			Default: s.cfg.DefaultTeam == t.Name, Location: b.locations[t.Schedule]}
		for _, d := range dests[t.Name] {
			ct.Destinations = append(ct.Destinations, d.key())
		}
		for i, r := range s.cfg.Routes {
			if r.Team == t.Name {
				ct.Routes = append(ct.Routes, console.Route{Index: i + 1, Match: r.Match, MatchRE: r.MatchRE})
			}
		}
		b.teams = append(b.teams, ct)
	}
	return b
}

var _ console.Backend = (*consoleBackend)(nil)

func (b *consoleBackend) person(p PersonConfig) console.Person {
	acc := map[string]string{}
	for platform, id := range map[string]string{Slack: p.Slack, Mattermost: p.Mattermost, Telegram: p.Telegram} {
		if id != "" {
			acc[platform] = id
		}
	}
	return console.Person{Name: p.Name, Email: p.Email, Accounts: acc}
}

func (b *consoleBackend) People() []console.Person {
	out := make([]console.Person, 0, len(b.s.cfg.People))
	for _, p := range b.s.cfg.People {
		out = append(out, b.person(p))
	}
	return out
}

func (b *consoleBackend) FindPerson(who string) (console.Person, bool) {
	who = strings.TrimPrefix(strings.TrimSpace(who), "@")
	if who == "" {
		return console.Person{}, false
	}
	for _, p := range b.s.cfg.People {
		if strings.EqualFold(p.Name, who) || (p.Email != "" && strings.EqualFold(p.Email, who)) ||
			slices.Contains([]string{p.Slack, p.Mattermost, p.Telegram}, who) {
			return b.person(p), true
		}
	}
	return console.Person{}, false
}

func (b *consoleBackend) Teams() []console.Team { return b.teams }

func (b *consoleBackend) List(ctx context.Context, opts incidents.ListOptions) ([]*incidents.Incident, error) {
	return b.s.store.List(ctx, opts)
}

func (b *consoleBackend) Summary(ctx context.Context, id string) (*incidents.Incident, error) {
	return b.s.store.Summary(ctx, id)
}

func (b *consoleBackend) Alerts(ctx context.Context, id string, offset, limit int) ([]incidents.Alert, int, error) {
	return b.s.store.Alerts(ctx, id, offset, limit)
}

func (b *consoleBackend) Events(ctx context.Context, id string, offset, limit int) ([]incidents.Event, int, error) {
	return b.s.store.Events(ctx, id, offset, limit)
}

func (b *consoleBackend) Get(ctx context.Context, id string) (*incidents.Incident, error) {
	return b.s.store.Get(ctx, id)
}

func (b *consoleBackend) actor(person string) Actor {
	if n, ok := b.s.people.byName[strings.ToLower(person)]; ok {
		return Actor{Name: n, Known: true, Via: ViaWeb}
	}
	return Actor{Name: person, Via: ViaWeb}
}

// consoleVerbs map the console's verbs to the bot's.
var consoleVerbs = map[string]Verb{
	console.VerbAck: VerbAck, console.VerbUnack: VerbUnack, console.VerbResolve: VerbResolve, console.VerbReopen: VerbReopen,
	console.VerbEscalate: VerbEscalate, console.VerbSnooze: VerbSnooze, console.VerbSev: VerbSev, console.VerbLead: VerbLead,
	console.VerbRole: VerbRole, console.VerbNote: VerbNote, console.VerbFeedback: VerbFeedback,
}

func (b *consoleBackend) Act(ctx context.Context, id string, a console.Action, person string) (*incidents.Incident, string, error) {
	v, ok := consoleVerbs[a.Verb]
	if !ok {
		return nil, "", incidents.Errorf(incidents.Invalid, "unknown action %q", clip(a.Verb, 20))
	}
	if a.NoteKind != "" && !slices.Contains(incidents.NoteKinds, a.NoteKind) {
		return nil, "", incidents.Errorf(incidents.Invalid, "a note's kind is one of %s", strings.Join(incidents.NoteKinds, ", "))
	}
	if (v == VerbLead || v == VerbRole) && a.Person == "" {
		return nil, "", incidents.Errorf(incidents.Invalid, "name a person")
	}
	c := Command{Verb: v, ID: id, Severity: a.Severity, Duration: a.Duration, Person: a.Person, Role: a.Role, NoteKind: a.NoteKind, Text: a.Text,
		Actionable: a.Actionable}
	inc, hint, err := b.s.Act(ctx, id, c, b.actor(person))
	if incidents.ErrorKind(err) == incidents.Forbidden {
		// Chat's words name a slash command; say it for the web.
		if t, ok := b.s.teams[teamOfErr(ctx, b, id)]; ok && len(t.Responders) > 0 {
			err = incidents.Errorf(incidents.Forbidden, "Only the %s team's responders (%s) can change %s. You can still look.", t.Name, strings.Join(t.Responders, ", "), id)
		}
	}
	return inc, hint, err
}

// teamOfErr is the team of incident id, for a refusal's words.
func teamOfErr(ctx context.Context, b *consoleBackend, id string) string {
	inc, err := b.s.store.Summary(ctx, id)
	if err != nil {
		return ""
	}
	return inc.Team
}

func (b *consoleBackend) Declare(ctx context.Context, d console.Declaration, person string) (*incidents.Incident, error) {
	return b.s.Declare(ctx, Declaration{Title: d.Title, Severity: d.Severity, Team: d.Team, Summary: d.Summary}, b.actor(person))
}

// EscalationStatus says what the incident's policy does next, and when.
func (b *consoleBackend) EscalationStatus(ctx context.Context, inc *incidents.Incident) string {
	e := inc.Escalation
	if e == nil || b.s.escalator == nil {
		return ""
	}
	p := b.s.escalator.policies[e.Policy]
	switch {
	case p == nil:
		return "policy " + e.Policy + " is no longer configured"
	case inc.State == incidents.Resolved:
		return "ended: resolved"
	case inc.State == incidents.Acknowledged:
		return "stopped: acknowledged (unacknowledge to resume " + p.Name + ")"
	}
	st, ok := inc.CurrentStep(p)
	now := b.s.clock.Now()
	pages := pendingPages(inc, now)
	if !ok || inc.StepDue().IsZero() {
		if pages != "" {
			return "policy " + p.Name + ": every step run; pages pending: " + pages
		}
		return "policy " + p.Name + " finished: nobody acknowledged"
	}
	due := inc.StepDue()
	what := ""
	switch st.Kind {
	case incidents.StepNotify:
		what = "notify the team's channels"
	case incidents.StepMention, incidents.StepCall, incidents.StepPage:
		verb := "warn"
		switch st.Kind {
		case incidents.StepCall:
			verb = "call"
		case incidents.StepPage:
			verb = "page"
		}
		who := b.s.escalator.resolve(ctx, inc, st.Target, now)
		switch {
		case len(who) == 0:
			what = verb + " " + st.Target + " (nobody now)"
		case st.Kind == incidents.StepCall:
			what = verb + " " + who[0]
		default:
			what = verb + " " + strings.Join(who, ", ")
		}
	}
	when := "now"
	if d := due.Sub(now); d > 0 {
		when = "in " + templates.Duration(d)
	}
	out := fmt.Sprintf("next: %s %s (%s, step %d of %d", what, when, p.Name, e.Step+1, len(p.Steps))
	if p.Repeat > 0 {
		out += fmt.Sprintf(", round %d of %d", e.Round+1, p.Repeat+1)
	}
	out += ")"
	if pages != "" {
		out += "; pages pending: " + pages
	}
	if inc.SnoozedUntil.After(now) {
		out += "; snoozed until " + inc.SnoozedUntil.UTC().Format("15:04 UTC")
	}
	if h := inc.Maintenance; h != nil && h.Until.After(now) {
		out += "; held by maintenance window " + h.Window + " until " + h.Until.UTC().Format("15:04 UTC")
	}
	if inc.Flapping {
		out += "; flapping: flaps do not restart it"
	}
	return out
}

// pendingPages lists the page attempts not yet sent: "alice by SMS in 2m,
// alice by phone call in 5m".
func pendingPages(inc *incidents.Incident, now time.Time) string {
	var parts []string
	for _, a := range inc.Paging {
		if a.Done {
			continue
		}
		when := "now"
		if d := a.DueAt.Sub(now); d > 0 {
			when = "in " + templates.Duration(d)
		}
		parts = append(parts, a.Person+" by "+methodTitle(a.Method)+" "+when)
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("%d more", len(parts)-5))
	}
	return strings.Join(parts, ", ")
}

// Cards lists the incident's cards, one per destination of its team.
func (b *consoleBackend) Cards(ctx context.Context, id string) ([]console.CardLink, error) {
	if b.s.outbox == nil {
		return nil, nil
	}
	inc, err := b.s.store.Summary(ctx, id)
	if err != nil {
		return nil, err
	}
	dlv, err := b.s.outbox.box.Deliveries(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []console.CardLink
	for _, d := range b.s.outbox.dests[inc.Team] {
		if b.s.outboxChat(d.platform) == nil {
			continue
		}
		got := dlv[d.key()]
		l := console.CardLink{Platform: d.platform, Dest: d.id, Posted: got.Ref != "", Error: got.Error}
		if got.Ref != "" && b.cardURL != nil {
			l.URL = b.cardURL(d.platform, d.id, got.Ref)
		}
		out = append(out, l)
	}
	return out, nil
}

// SendSignIn sends the link by direct message on each of the person's
// chat accounts, as escalation's warnings do.
func (b *consoleBackend) SendSignIn(ctx context.Context, p console.Person, text, link string) error {
	var errs []error
	sent := 0
	for _, platform := range []string{Slack, Mattermost, Telegram} {
		id := p.Accounts[platform]
		chat := b.s.outboxChat(platform)
		if id == "" || chat == nil {
			continue
		}
		var err error
		switch c := chat.(type) {
		case LinkSender:
			err = c.DirectLink(ctx, id, text, "Sign in as "+p.Name, link)
		case Mentioner:
			err = c.Direct(ctx, id, text+"\n"+link)
		default:
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", platformTitle(platform), err))
			continue
		}
		sent++
	}
	if sent == 0 {
		if len(errs) == 0 {
			return fmt.Errorf("%s has no chat account klaxon can message", p.Name)
		}
		return errors.Join(errs...)
	}
	return nil
}

// --- postmortems ---

// errNoPostmortems says the store keeps no edited postmortems.
var errNoPostmortems = incidents.Errorf(incidents.Internal, "this store keeps no postmortem versions")

// SavePostmortem stores a version on behalf of person, who must be allowed
// to change the incident (a team's responders, as chat's rule).
func (b *consoleBackend) SavePostmortem(ctx context.Context, id string, base int, text, person string) (incidents.PostmortemVersion, error) {
	pm, ok := b.s.store.(incidents.Postmortems)
	if !ok {
		return incidents.PostmortemVersion{}, errNoPostmortems
	}
	inc, err := b.s.store.Summary(ctx, id)
	if err != nil {
		return incidents.PostmortemVersion{}, err
	}
	who := b.actor(person)
	if err := b.s.mayChange(inc, who.Name, who.Known); err != nil {
		return incidents.PostmortemVersion{}, b.webRefusal(inc)
	}
	v, err := pm.SavePostmortem(ctx, inc.ID, base, text, who.Name, b.s.clock.Now())
	if err == nil {
		b.s.log.Info("postmortem saved", "incident", inc.ID, "version", v.Version, "by", who.Label())
	}
	return v, err
}

// webRefusal is chat's refusal in the web's words.
func (b *consoleBackend) webRefusal(inc *incidents.Incident) error {
	t := b.s.teams[inc.Team]
	return incidents.Errorf(incidents.Forbidden, "Only the %s team's responders (%s) can change %s. You can still look.", t.Name, strings.Join(t.Responders, ", "), inc.ID)
}

func (b *consoleBackend) Postmortem(ctx context.Context, id string, version int) (incidents.PostmortemVersion, error) {
	pm, ok := b.s.store.(incidents.Postmortems)
	if !ok {
		return incidents.PostmortemVersion{}, incidents.Errorf(incidents.NotFound, "%s has no saved postmortem", id)
	}
	return pm.Postmortem(ctx, id, version)
}

func (b *consoleBackend) PostmortemVersions(ctx context.Context, id string) ([]incidents.PostmortemVersion, error) {
	pm, ok := b.s.store.(incidents.Postmortems)
	if !ok {
		return nil, nil
	}
	return pm.PostmortemVersions(ctx, id)
}

// BlameHint is the hint a note gets in chat, with the configured blame
// phrases found in text (each once, as written first).
func (b *consoleBackend) BlameHint(text string) (string, []string) {
	hint := b.s.blameHint(text)
	if hint == "" {
		return "", nil
	}
	var found []string
	seen := map[string]bool{}
	for _, m := range b.s.blame.FindAllString(text, 20) {
		if k := strings.ToLower(m); !seen[k] {
			seen[k] = true
			found = append(found, m)
		}
	}
	return hint, found
}

// --- on-call ---

// Schedules lists the configured schedules with their stored overrides
// that had not ended at since.
func (b *consoleBackend) Schedules(ctx context.Context, since time.Time) ([]console.Schedule, error) {
	ov, _ := b.s.store.(incidents.Overrides)
	out := make([]console.Schedule, 0, len(b.s.cfg.Schedules))
	for _, cfg := range b.s.cfg.Schedules {
		base := b.s.schedules[cfg.Name]
		sc := console.Schedule{Name: cfg.Name, Location: b.locations[cfg.Name], Rota: &oncall.Schedule{Name: cfg.Name, Layers: base.Layers}}
		for _, t := range b.s.cfg.Teams {
			if t.Schedule == cfg.Name {
				sc.Teams = append(sc.Teams, t.Name)
			}
		}
		if ov != nil {
			list, err := ov.Overrides(ctx, cfg.Name, since)
			if err != nil {
				return nil, err
			}
			sc.Overrides = list
			for _, o := range list {
				sc.Rota.Overrides = append(sc.Rota.Overrides, oncall.Override{Person: o.Person, From: o.From, Until: o.Until, SetBy: o.SetBy, SetAt: o.SetAt})
			}
		}
		out = append(out, sc)
	}
	return out, nil
}

// mayChangeSchedule is chat's rule for /incident oncall override: the
// responders of a team whose schedule it is (anyone klaxon knows for a
// team without responders, or a schedule no team has).
func (b *consoleBackend) mayChangeSchedule(schedule string, who Actor) error {
	var responders []string
	for _, t := range b.s.cfg.Teams {
		if t.Schedule != schedule {
			continue
		}
		if b.s.mayChange(&incidents.Incident{Team: t.Name}, who.Name, who.Known) == nil {
			return nil
		}
		responders = append(responders, t.Responders...)
	}
	if responders == nil {
		return nil
	}
	slices.Sort(responders)
	return incidents.Errorf(incidents.Forbidden, "Only the responders of the teams on %s (%s) can change who is on call.", schedule, strings.Join(slices.Compact(responders), ", "))
}

// AddOverride puts o.Person on call, as /incident oncall override does,
// for any time within the bounds the console offers.
func (b *consoleBackend) AddOverride(ctx context.Context, o incidents.OnCallOverride, person string) error {
	if b.s.schedules[o.Schedule] == nil {
		return incidents.Errorf(incidents.NotFound, "there is no schedule %q", clip(o.Schedule, 64))
	}
	who := b.actor(person)
	if err := b.mayChangeSchedule(o.Schedule, who); err != nil {
		return err
	}
	name, ok := b.s.people.byName[strings.ToLower(o.Person)]
	if !ok {
		return incidents.Errorf(incidents.Invalid, "%s is not in people: klaxon could not call or message them", clip(o.Person, 40))
	}
	now := b.s.clock.Now()
	switch d := o.Until.Sub(o.From); {
	case !o.Until.After(now):
		return incidents.Errorf(incidents.Invalid, "the override's end has passed")
	case d < time.Minute || d > 14*24*time.Hour:
		return incidents.Errorf(incidents.Invalid, "override for 1m to 14d")
	}
	ov, ok := b.s.store.(incidents.Overrides)
	if !ok {
		return incidents.Errorf(incidents.Internal, "this store keeps no overrides")
	}
	o.Person, o.SetBy, o.SetAt = name, who.Label(), now.UTC()
	if err := ov.AddOverride(ctx, o); err != nil {
		return err
	}
	b.s.log.Info("on-call override", "schedule", o.Schedule, "person", o.Person, "from", o.From, "until", o.Until, "by", o.SetBy)
	return nil
}

// RemoveOverride ends an override early, for whom AddOverride lets set one.
func (b *consoleBackend) RemoveOverride(ctx context.Context, o incidents.OnCallOverride, person string) error {
	if b.s.schedules[o.Schedule] == nil {
		return incidents.Errorf(incidents.NotFound, "there is no schedule %q", clip(o.Schedule, 64))
	}
	who := b.actor(person)
	if err := b.mayChangeSchedule(o.Schedule, who); err != nil {
		return err
	}
	rm, ok := b.s.store.(incidents.OverrideRemover)
	if !ok {
		return incidents.Errorf(incidents.Internal, "this store cannot remove overrides")
	}
	if err := rm.RemoveOverride(ctx, o); err != nil {
		return err
	}
	b.s.log.Info("on-call override removed", "schedule", o.Schedule, "person", o.Person, "from", o.From, "until", o.Until, "by", who.Label())
	return nil
}

// --- maintenance ---

// Maintenances lists the windows as /incident maintenance does.
func (b *consoleBackend) Maintenances(ctx context.Context, now time.Time) ([]incidents.Maintenance, error) {
	return b.s.listWindows(ctx, now, "")
}

// --- insights ---

// Stats reads the team's incidents' records through the store's index
// (incidents.Stats); a store without one cannot report.
func (b *consoleBackend) Stats(ctx context.Context, team string, since, until time.Time) ([]incidents.Stat, error) {
	st, ok := b.s.store.(incidents.Stats)
	if !ok {
		return nil, incidents.Errorf(incidents.NotFound, "This klaxon's store cannot report yet: the insights need its statistics index (incidents.Stats), which this version's store does not keep.")
	}
	return st.Stats(ctx, incidents.StatsOptions{Team: team, Since: since, Until: until})
}

// GraphVersion implements console.GraphBackend.
func (b *consoleBackend) GraphVersion(ctx context.Context, id string) (int64, error) {
	gs, ok := b.s.store.(incidents.Graphs)
	if !ok {
		return 0, nil
	}
	st, err := gs.GraphState(ctx, id)
	return st.Version, err
}

// Graph implements console.GraphBackend.
func (b *consoleBackend) Graph(ctx context.Context, id string) (incidents.Graph, error) {
	return b.s.graphOf(ctx, id)
}
