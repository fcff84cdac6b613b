// Package console is klaxon's web UI: server-rendered html/template pages
// behind sign-in (a one-time link sent by chat, or OIDC), static assets
// embedded in the binary, and server-sent events that keep pages live.
//
// The console knows klaxon only through Backend, which the bot implements:
// it acts on incidents through the same path as a chat button, so every
// card follows and the timeline names the person "(web)". Pages work
// without JavaScript; a little script of our own adds live updates and
// keyboard shortcuts. No framework, no CDN, no Node toolchain.
//
// Every page follows one pattern: a handler wrapped by authed (the
// session, and CSRF on POST) fills a view and calls render with the name
// of its template in templates/, which the one layout frames. Add a page
// with one route in routes, one template file and, for the menu, one
// entry in nav.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
	"github.com/klaxonbot/klaxon/templates"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Person is someone klaxon knows (people in the config).
type Person struct {
	Name  string
	Email string // "" when not configured
	// Accounts are the person's chat accounts by platform ("slack" →
	// "U123"), where a sign-in link can be sent.
	Accounts map[string]string
}

// Team is a team as configured: read-only in the console.
type Team struct {
	Name string
	// Responders may act on the team's incidents; empty: anyone klaxon
	// knows may.
	Responders []string
	// Destinations are where its cards go ("slack:C0123").
	Destinations []string
	Policy       string
	Schedule     string
	// Steps are the policy's, when it is configured (nil else).
	Steps *incidents.Policy
	// Routes are the routes that lead to the team, in the order they
	// are tried; Default says that what no route takes comes here too
	// (default_team).
	Routes  []Route
	Default bool
	// Location is the team's time zone (its schedule's; nil: UTC): the
	// insights count days and working hours there.
	Location *time.Location
}

// Route sends the alerts whose labels equal every Match value and fully
// match every MatchRE expression to a team (both empty: every alert).
type Route struct {
	Index   int // its position among the routes, from 1
	Match   map[string]string
	MatchRE map[string]string
}

// Schedule is an on-call schedule as configured, with the overrides
// stored for it.
type Schedule struct {
	Name string
	// Location is the schedule's time zone (nil: UTC).
	Location *time.Location
	// Teams are the teams whose schedule it is.
	Teams []string
	// Rota is the schedule: its layers and, as oncall.Overrides, the
	// overrides in Overrides.
	Rota *oncall.Schedule
	// Overrides are the stored overrides that had not ended at the time
	// asked.
	Overrides []incidents.OnCallOverride
}

// Verbs of Action: the changes chat's /incident command makes.
const (
	VerbAck      = "ack"
	VerbUnack    = "unack"
	VerbResolve  = "resolve"
	VerbReopen   = "reopen"
	VerbEscalate = "escalate"
	VerbSnooze   = "snooze"
	VerbSev      = "sev"
	VerbLead     = "lead"
	VerbRole     = "role"
	VerbNote     = "note"
	// VerbFeedback answers "was it actionable?" (Action.Actionable, and
	// why in Action.Text).
	VerbFeedback = "feedback"
)

// Action is one change to an incident, as a form asks for it.
type Action struct {
	Verb     string
	Text     string             // resolve: the summary; note: the note
	Duration time.Duration      // snooze
	Severity incidents.Severity // sev
	Person   string             // lead, role
	Role     string             // role: incidents.RoleScribe or RoleComms
	NoteKind string             // note: "" or one of incidents.NoteKinds
	// Actionable is the answer of feedback: was the incident worth
	// acting on?
	Actionable bool
}

// Declaration is an incident declared in the console.
type Declaration struct {
	Title    string
	Severity incidents.Severity // 0: the configured default
	Team     string             // "": default_team
	Summary  string
}

// CardLink is one of an incident's chat cards.
type CardLink struct {
	Platform string // "slack", "mattermost", "telegram"
	Dest     string // the channel or chat
	// URL opens the card on its platform, when klaxon can tell; "" else.
	URL    string
	Posted bool
	// Error is the code of the card's last failure, if any.
	Error string
}

// Backend is what the console needs of klaxon (bot.Server implements
// it). Its errors carry incidents' Kinds: Invalid, NotFound, Conflict and
// Forbidden are shown to the person as they are; Unavailable and Internal
// as "try again".
type Backend interface {
	// People lists everyone klaxon knows.
	People() []Person
	// FindPerson finds a person by name, chat account ID or e-mail,
	// ignoring case and a leading "@".
	FindPerson(who string) (Person, bool)
	// Teams lists the configured teams.
	Teams() []Team
	// List returns incident summaries (no alerts, no timeline).
	List(ctx context.Context, opts incidents.ListOptions) ([]*incidents.Incident, error)
	// Summary returns one incident without alerts and timeline.
	Summary(ctx context.Context, id string) (*incidents.Incident, error)
	// Alerts pages an incident's alerts, firing first.
	Alerts(ctx context.Context, id string, offset, limit int) ([]incidents.Alert, int, error)
	// Events pages an incident's timeline (negative offset: from the end).
	Events(ctx context.Context, id string, offset, limit int) ([]incidents.Event, int, error)
	// Get returns a whole incident (for its card preview).
	Get(ctx context.Context, id string) (*incidents.Incident, error)
	// Act changes an incident on behalf of person (people[].name), as a
	// chat button or command would; hint is the blameless nudge for a
	// note. Errors: Invalid, NotFound, Conflict, Forbidden, Unavailable.
	Act(ctx context.Context, id string, a Action, person string) (inc *incidents.Incident, hint string, err error)
	// Declare opens an incident by hand on behalf of person.
	Declare(ctx context.Context, d Declaration, person string) (*incidents.Incident, error)
	// EscalationStatus says where the incident's escalation stands, for
	// a person ("next: call alice in 4 min"); "" when it has none.
	EscalationStatus(ctx context.Context, inc *incidents.Incident) string
	// Cards lists the incident's chat cards.
	Cards(ctx context.Context, id string) ([]CardLink, error)
	// SendSignIn sends person a direct message on each of their chat
	// accounts holding text and the link to follow. It fails when no
	// message could be sent.
	SendSignIn(ctx context.Context, person Person, text, link string) error

	// SavePostmortem stores text as the next version of the incident's
	// postmortem on behalf of person, who must be allowed to change the
	// incident; base is the version the editor started from (0: the
	// generated draft). Errors: Invalid, NotFound, Conflict (a version
	// was saved since base: nothing is stored), Forbidden, Unavailable.
	SavePostmortem(ctx context.Context, id string, base int, text, person string) (incidents.PostmortemVersion, error)
	// Postmortem returns a saved version with its text (0: the latest).
	// Errors: NotFound (never saved, or no such version), Unavailable.
	Postmortem(ctx context.Context, id string, version int) (incidents.PostmortemVersion, error)
	// PostmortemVersions lists the saved versions, newest first, without
	// their text.
	PostmortemVersions(ctx context.Context, id string) ([]incidents.PostmortemVersion, error)
	// BlameHint is chat's gentle nudge toward blameless language for
	// text, with the phrases in it that earned it; "" and nil when none.
	BlameHint(text string) (hint string, phrases []string)

	// Schedules lists the configured on-call schedules, each with the
	// overrides stored for it that had not ended at since.
	Schedules(ctx context.Context, since time.Time) ([]Schedule, error)
	// AddOverride puts o.Person on call for o.Schedule from o.From until
	// o.Until on behalf of person, who must be one of the responders of
	// a team whose schedule it is (as chat's /incident oncall override).
	// Errors: Invalid, NotFound (no such schedule), Forbidden, Unavailable.
	AddOverride(ctx context.Context, o incidents.OnCallOverride, person string) error
	// RemoveOverride removes the stored override o (its Schedule,
	// Person, From and Until) on behalf of person, as AddOverride.
	// Errors: NotFound, Forbidden, Unavailable.
	RemoveOverride(ctx context.Context, o incidents.OnCallOverride, person string) error

	// Stats reads the compact records of the team's incidents created in
	// [since, until), for the insights. Errors: Invalid, Unavailable;
	// NotFound when the store keeps no such records.
	Stats(ctx context.Context, team string, since, until time.Time) ([]incidents.Stat, error)

	// Maintenances lists the maintenance windows at now: those opened
	// from chat or the API that have not ended, and each configured
	// weekly window's current or next occurrence, first to start first.
	// Errors: Unavailable.
	Maintenances(ctx context.Context, now time.Time) ([]incidents.Maintenance, error)
}

// Preview is one chat platform's card for an incident, as klaxon sends it.
type Preview struct {
	Platform string // "Slack", "Mattermost", "Telegram"
	// Payload is what klaxon sends the platform's API, as JSON.
	Payload []byte
	// Parts are an approximate rendering, top to bottom.
	Parts []PreviewPart
}

// PreviewPart is one piece of an approximate card rendering.
type PreviewPart struct {
	Kind  string   // "header", "text", "fields", "buttons", "context"
	Text  string   // header, text, context
	Items []string // fields ("name: value"), buttons (labels)
}

// Options configure a Console.
type Options struct {
	Backend Backend
	// Sessions keep sign-ins (every replica's, through the store); nil
	// keeps them in this process only.
	Sessions incidents.Sessions
	// Once makes a sign-in link work once across replicas; nil: in this
	// process only.
	Once incidents.Once
	// Changes tell live pages that incidents changed; nil: pages do not
	// update by themselves.
	Changes incidents.Changes
	// Feeds keep the secret tokens of the calendar feeds; nil: no feeds.
	Feeds incidents.Feeds
	// Secret signs sign-in links and the OIDC state cookie; every replica
	// needs the same (at least 32 bytes).
	Secret []byte
	// PublicURL is where people reach klaxon (links in messages, the
	// OIDC redirect); https makes cookies Secure.
	PublicURL string
	// LocalToken, when set, lets this machine's user in as LocalPerson
	// without signing in: a GET from this machine (internal/localtrust)
	// that carries ?local=LocalToken starts a session, so the link
	// `klaxon serve` prints opens the console. For a klaxon reachable from
	// this machine only that knows no people yet (a first try on a
	// laptop); reaching 127.0.0.1 alone proves nothing (a proxy on the
	// same host, a page of another site).
	LocalToken string
	// SessionTTL is how long a sign-in lasts; 0: 12 hours.
	SessionTTL time.Duration
	// OIDC, when set, offers sign-in with an OpenID Connect provider.
	OIDC *OIDCOptions
	// Templates render cards for the preview; nil: the built-in ones.
	Templates *templates.Set
	// Previews compile a card for each chat platform (cmd wires the
	// adapters' compilers); nil: the preview shows the card's fields.
	Previews func(*templates.Card) []Preview
	// ClientIP names a request's client for rate limits; nil: the peer's
	// address.
	ClientIP func(*http.Request) string
	// MaxStreams bounds the live-update streams this process serves at
	// once (503 beyond); 0: 1,000.
	MaxStreams int
	// Heartbeat is how often an idle stream is pinged; 0: 15 s.
	Heartbeat time.Duration
	Clock     incidents.Clock
	Logger    *slog.Logger
	// HTTPClient reaches the OIDC provider; nil: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// OIDCOptions name an OpenID Connect provider and klaxon's client there.
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string
}

// Console serves the web UI.
type Console struct {
	o        Options
	log      *slog.Logger
	clock    incidents.Clock
	mux      *http.ServeMux
	pages    map[string]*template.Template
	static   map[string][]byte // the assets by name (console.css with charts.CSS)
	secure   bool              // cookies are Secure (public_url is https)
	base     string            // public URL without a trailing slash, or ""
	sessions incidents.Sessions
	once     incidents.Once
	limiter  *limiter
	hub      *hub
	oidc     *oidcClient // nil without OIDC
	sends    sync.WaitGroup
	sendSem  chan struct{}
	assetTag string
}

// DefaultSessionTTL is how long a sign-in lasts unless configured.
const DefaultSessionTTL = 12 * time.Hour

// New checks o and builds a Console.
func New(o Options) (*Console, error) {
	if o.Backend == nil {
		return nil, errors.New("console: no Backend")
	}
	if len(o.Secret) < 32 {
		return nil, errors.New("console: the secret must be at least 32 bytes")
	}
	if o.Clock == nil {
		o.Clock = incidents.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Templates == nil {
		o.Templates = templates.MustBuiltin()
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 1000
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.ClientIP == nil {
		o.ClientIP = peerIP
	}
	c := &Console{o: o, log: o.Logger, clock: o.Clock, mux: http.NewServeMux(), sessions: o.Sessions, once: o.Once,
		limiter: newLimiter(), sendSem: make(chan struct{}, 16)}
	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("console: public URL %q is not an absolute http(s) URL", o.PublicURL)
		}
		c.secure = u.Scheme == "https"
		c.base = strings.TrimRight(o.PublicURL, "/")
	}
	if c.sessions == nil {
		c.sessions = newMemorySessions(o.Clock)
	}
	if c.once == nil {
		c.once = newMemoryOnce(o.Clock)
	}
	if o.OIDC != nil {
		if c.base == "" {
			return nil, errors.New("console: OIDC needs the public URL (server.public_url) for its redirect")
		}
		c.oidc = newOIDCClient(*o.OIDC, c.base+"/ui/oidc/callback", o.HTTPClient)
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if c.static, err = loadStatic(); err != nil {
		return nil, err
	}
	c.assetTag = assetTag(c.static)
	c.hub = newHub(o.MaxStreams)
	c.routes()
	return c, nil
}

// routes serves every page. A new page: one line here.
func (c *Console) routes() {
	c.mux.Handle("GET /ui/static/{file}", http.HandlerFunc(c.serveStatic))
	c.mux.HandleFunc("GET /ui/signin", c.signInPage)
	c.mux.HandleFunc("POST /ui/signin", c.signInRequest)
	c.mux.HandleFunc("GET /ui/signin/link", c.linkPage)
	c.mux.HandleFunc("POST /ui/signin/link", c.linkSignIn)
	c.mux.HandleFunc("POST /ui/signin/code", c.codeSignIn)
	c.mux.HandleFunc("GET /ui/oidc/login", c.oidcLogin)
	c.mux.HandleFunc("GET /ui/oidc/callback", c.oidcCallback)
	c.mux.Handle("POST /ui/signout", c.authed(c.signOut))
	c.mux.Handle("GET /ui/{$}", c.authed(c.incidentsPage))
	c.mux.Handle("GET /ui/incidents/{id}", c.authed(c.incidentPage))
	c.mux.Handle("POST /ui/incidents/{id}/act", c.authed(c.act))
	c.mux.Handle("GET /ui/incidents/{id}/preview", c.authed(c.previewPage))
	c.mux.Handle("GET /ui/incidents/{id}/graph.png", c.authed(c.graphImage))
	c.mux.Handle("GET /ui/declare", c.authed(c.declarePage))
	c.mux.Handle("POST /ui/declare", c.authed(c.declare))
	c.mux.Handle("GET /ui/events", c.authed(c.events))
	c.mux.Handle("GET /ui/incidents/{id}/postmortem", c.authed(c.postmortemPage))
	c.mux.Handle("POST /ui/incidents/{id}/postmortem", c.authedLimit(c.postmortemPost, maxPostmortemForm))
	c.mux.Handle("GET /ui/incidents/{id}/postmortem/{version}", c.authed(c.postmortemVersionPage))
	c.mux.Handle("GET /ui/incidents/{id}/postmortem.md", c.authed(c.postmortemDownload))
	c.mux.Handle("GET /ui/oncall", c.authed(c.oncallPage))
	c.mux.Handle("POST /ui/oncall/overrides", c.authed(c.addOverride))
	c.mux.Handle("POST /ui/oncall/overrides/remove", c.authed(c.removeOverride))
	c.mux.Handle("POST /ui/oncall/feeds/rotate", c.authed(c.rotateFeed))
	c.mux.Handle("GET /ui/teams", c.authed(c.teamsPage))
	c.mux.Handle("GET /ui/insights", c.authed(c.insightsPage))
	c.mux.HandleFunc("GET /ical/{file}", c.feed)
	c.mux.Handle("/ui/", c.authed(func(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
		c.fail(w, r, s, incidents.Errorf(incidents.NotFound, "There is no page at %s.", r.URL.Path))
	}))
}

// navItem is an entry of the menu.
type navItem struct{ Name, Path string }

// nav is the menu, in order.
var nav = []navItem{{"Incidents", "/ui/"}, {"On-call", "/ui/oncall"}, {"Teams", "/ui/teams"}, {"Insights", "/ui/insights"}, {"Declare", "/ui/declare"}}

// Handler serves /ui/... with the console's security headers, and the
// calendar feeds at /ical/<token>.ics (no session: a calendar app has no
// cookie; the secret token in the URL is the key).
func (c *Console) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		c.mux.ServeHTTP(w, r)
	})
}

// CSP is the console's Content-Security-Policy: scripts and styles from
// klaxon only, never inline; no framing; forms post to klaxon only.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// Run feeds live pages with the changes klaxon publishes until ctx ends;
// it resubscribes after a failure. Without Changes it only waits.
func (c *Console) Run(ctx context.Context) {
	defer c.sends.Wait()
	if c.o.Changes == nil {
		<-ctx.Done()
		return
	}
	wait := time.Second
	for ctx.Err() == nil {
		ch, err := c.o.Changes.SubscribeChanges(ctx)
		if err != nil {
			c.log.Warn("console: subscribing to incident changes failed; live pages wait", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
			continue
		}
		wait = time.Second
		for id := range ch {
			c.hub.publish(id)
		}
		// The subscription ended: tell pages to look again, as changes
		// may have been missed meanwhile.
		c.hub.publish("*")
	}
}

// Changed tells this process's live pages that an incident changed (the
// bot calls it when there is no shared Changes).
func (c *Console) Changed(id string) { c.hub.publish(id) }

// Streams is how many live-update streams are open.
func (c *Console) Streams() int { return c.hub.count() }

// WaitSends waits for the sign-in messages being sent (tests).
func (c *Console) WaitSends() { c.sends.Wait() }

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
