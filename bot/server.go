// Package bot is klaxon's orchestration: it takes a Config and the stores
// and adapters chosen in main, routes alerts into incidents, and serves the
// HTTP interface (webhooks, API, health, metrics).
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
	"github.com/klaxonbot/klaxon/templates"
)

// Parser turns a webhook body into a batch of alerts. Its errors should be
// of kind Invalid and say what is wrong with the body. A nil batch with a
// nil error means the body is accepted and asks for nothing (a status the
// mapping ignores): the hook answers 200 "ignored".
type Parser func(body []byte) (*incidents.Batch, error)

// Deps are what a Server works with; main chooses them.
type Deps struct {
	Store incidents.Store
	// Sources maps a source name ("alertmanager") to its parser; each is
	// served at POST /hooks/<name>.
	Sources map[string]Parser
	// Gatherer and Registerer hold klaxon's metrics (often one
	// prometheus.Registry); nil means a new private registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Clock      incidents.Clock
	Logger     *slog.Logger
	Version    string
	// Chats maps a platform (Slack, Mattermost, Telegram) to its sender;
	// a team's destinations on a platform missing here get no cards.
	Chats map[string]Chat
	// Templates render cards; nil means the built-in ones.
	Templates *templates.Set
	// Phone places escalation calls; VerifyPhone checks its callbacks
	// (the form they carry, or an error). Both nil when none is set up.
	Phone       Phone
	VerifyPhone func(r *http.Request, body []byte) (url.Values, error)
	// Silencers maps an incident source ("alertmanager", "grafana") to
	// what silences alerts there: its open incidents' cards get a Silence
	// button, and /incident silence works on them.
	Silencers map[string]Silencer
	// SMS, Mailer and Pusher send the pages of page steps (nil: none of
	// that method is sent; the attempt fails on the timeline).
	SMS    SMSSender
	Mailer Mailer
	Pusher Pusher
	// SMSInbox reads the texts people send to the Twilio number (replies
	// to pages): with VerifyPhone, POST /twilio/sms is served.
	SMSInbox SMSInbox
	// Console is what the web console needs of the adapters.
	Console ConsoleDeps
	// Datasources are the data sources of graphs, by their config name
	// (datasources[].name); none means no graphs.
	Datasources map[string]Datasource
	// LocalToken is the local token (internal/localtrust) of a klaxon
	// reachable from this machine only (no API token configured, listening
	// on loopback, no public URL or trusted proxy): the klaxon command's
	// credential on this machine and the console's local sign-in. Empty:
	// nothing acts without a configured token.
	LocalToken string
}

// Server serves klaxon's HTTP interface.
type Server struct {
	cfg     *Config
	store   incidents.Store
	clock   incidents.Clock
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	allowed map[string][]string // path → the methods route serves there
	handler http.Handler
	api     *apiAuth
	// hookSlots holds one token per webhook being handled, bounding the
	// memory a storm of large bodies can take (server.max_webhooks).
	hookSlots chan struct{}
	gates     *gates // admission: budgets, the unauthenticated gate
	router    *router
	once      incidents.Once // signed webhooks' signatures, spent on acceptance
	outbox    *syncer        // nil when the store has no outbox
	escalator *escalator     // nil without policies
	beats     *heartbeats    // nil without heartbeats
	handovers *handovers     // nil when no team announces handovers
	silencers map[string]Silencer
	sms       SMSSender
	inbox     SMSInbox
	mailer    Mailer
	pusher    Pusher
	ackKey    []byte   // signs page acknowledge links; nil: none
	grapher   *grapher // nil without data sources

	tmpl        *templates.Set
	signer      *ButtonSigner
	people      *directory
	teams       map[string]TeamConfig
	teamsByDest map[string][]string // "slack:C0123" → team names
	schedules   map[string]*oncall.Schedule
	blame       *regexp.Regexp // blame phrases as whole words; nil when none

	weekly []weeklyWindow         // the config's maintenance windows
	maint  incidents.Maintenances // ad-hoc windows; nil when the store keeps none

	console *console.Console // nil when off
	changes *changeFeed
}

// New checks cfg and builds a Server.
func New(cfg *Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil {
		return nil, errors.New("bot.New: no store")
	}
	if d.Clock == nil {
		d.Clock = incidents.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registerer == nil || d.Gatherer == nil {
		reg := prometheus.NewRegistry()
		d.Registerer, d.Gatherer = reg, reg
	}
	s := &Server{cfg: cfg, store: d.Store, clock: d.Clock, log: d.Logger, mux: http.NewServeMux(), allowed: map[string][]string{},
		hookSlots: make(chan struct{}, cfg.Server.MaxWebhooks), router: newRouter(cfg)}
	g, err := newGates(cfg)
	if err != nil {
		return nil, err
	}
	s.gates = g
	m, err := newMetrics(d.Registerer, d.Store, d.Version, g)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if o, ok := d.Store.(incidents.Once); ok {
		s.once = o // every replica sees the same signatures
	} else {
		s.once = memoryOnce{c: &replayCache{}, now: s.clock.Now}
	}
	if d.Templates == nil {
		d.Templates = templates.MustBuiltin()
	}
	s.silencers = map[string]Silencer{}
	for name, sil := range d.Silencers {
		if sil != nil {
			s.silencers[name] = sil
		}
	}
	if len(s.silencers) > 0 {
		d.Templates = d.Templates.WithSilences(s.silenceSources()...)
	}
	s.tmpl = d.Templates
	s.signer = NewButtonSigner(cfg.ButtonKeySecret())
	s.people = newDirectory(cfg)
	s.teams, s.teamsByDest = map[string]TeamConfig{}, map[string][]string{}
	for _, t := range cfg.Teams {
		s.teams[t.Name] = t
	}
	dests := teamDests(cfg)
	for _, t := range cfg.Teams { // in config order: the first team of a shared channel is its own
		for _, d := range dests[t.Name] {
			s.teamsByDest[d.key()] = append(s.teamsByDest[d.key()], t.Name)
		}
	}
	s.blame = blameRE(cfg.Incidents.BlamePhrases)
	s.schedules = map[string]*oncall.Schedule{}
	for _, sc := range cfg.Schedules {
		s.schedules[sc.Name] = sc.Schedule() // time zones loaded once
	}
	s.sms, s.mailer, s.pusher = d.SMS, d.Mailer, d.Pusher
	s.ackKey = pageAckKey(cfg, d)
	s.route("GET", "/page/ack/{token}", s.unauthenticated(http.HandlerFunc(s.pageAck), 4<<10))
	s.route("POST", "/page/ack/{token}", s.unauthenticated(http.HandlerFunc(s.pageAck), 4<<10))
	s.escalator = newEscalator(s, d)
	if s.beats, err = newHeartbeats(s, d); err != nil {
		return nil, err
	}
	s.handovers = newHandovers(s)
	s.weekly = compileWeekly(cfg)
	s.maint, _ = d.Store.(incidents.Maintenances)
	if d.VerifyPhone != nil {
		s.route("POST", "/twilio/gather", s.unauthenticated(s.phoneCallback(d.VerifyPhone, s.gather), maxPhoneBody))
		s.route("POST", "/twilio/status", s.unauthenticated(s.phoneCallback(d.VerifyPhone, s.callStatus), maxPhoneBody))
		if d.SMSInbox != nil {
			s.inbox = d.SMSInbox
			verify := func(r *http.Request, body []byte) (url.Values, error) {
				form, err := d.VerifyPhone(r, body)
				if err != nil {
					s.metrics.smsInbound.WithLabelValues("bad_signature").Inc()
				}
				return form, err
			}
			s.route("POST", "/twilio/sms", s.unauthenticated(s.phoneCallback(verify, s.smsReply), maxPhoneBody))
		}
	}
	s.grapher = newGrapher(s, d)
	if _, ok := d.Store.(incidents.Outbox); ok {
		s.outbox = newSyncer(s, d)
	} else if len(d.Chats) > 0 {
		return nil, errors.New("bot.New: chat platforms need a store with an outbox")
	}
	for name, parse := range d.Sources {
		auth := cfg.Sources.auth(name)
		h := s.hook(name, parse, auth)
		if !auth.hasCredentials() {
			// A source without credentials is served only when that is
			// no accident (see SourcesConfig.Open); otherwise 401.
			if open, why := cfg.HookOpen(name, cfg.LocalOnly()); !open {
				h = s.closedHook(name, why)
			} else if !cfg.allows(name) {
				h = s.localHook(name, h)
			}
		}
		s.route("POST", "/hooks/"+name, h)
	}
	// Heartbeats: GET too, for cron's curl.
	beat := http.HandlerFunc(heartbeatsNotFound)
	if s.beats != nil {
		beat = s.beats.serve
	}
	s.route("GET", "/hooks/heartbeat/{name}", beat)
	s.route("POST", "/hooks/heartbeat/{name}", beat)
	s.api = newAPIAuth(cfg, s.people, d.LocalToken)
	s.route("GET", "/api/v1/incidents", s.apiRead(s.listIncidents))
	s.route("GET", "/api/v1/incidents/{id}", s.apiRead(s.getIncident))
	s.routeIncidentPages() // GET /api/v1/incidents/{id}/alerts and /timeline (api.go)
	s.route("GET", "/api/v1/incidents/{id}/postmortem.md", s.apiRead(s.getPostmortem))
	s.route("GET", "/api/v1/incidents/{id}/graph.png", s.apiRead(s.serveGraph(false)))
	s.route("GET", "/api/v1/incidents/{id}/graph.json", s.apiRead(s.serveGraph(true)))
	s.route("GET", "/api/v1/oncall", s.apiRead(s.getOncall))
	s.route("GET", "/api/v1/silences", s.apiRead(s.getSilences))
	s.route("GET", "/api/v1/maintenance", s.apiRead(s.getMaintenance))
	s.route("POST", "/api/v1/maintenance", s.apiWrite(s.postMaintenance))
	s.route("GET", "/api/v1/report", s.apiRead(s.getReport))
	s.route("POST", "/api/v1/incidents", s.apiWrite(s.declareIncident))
	for _, a := range apiActions {
		s.route("POST", "/api/v1/incidents/{id}/"+a.path, s.apiWrite(s.actOn(a)))
	}
	if err := s.mountConsole(d); err != nil {
		return nil, err
	}
	s.route("GET", "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	s.route("GET", "/readyz", http.HandlerFunc(s.ready))
	s.route("GET", "/metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{Registry: d.Registerer}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, incidents.Errorf(incidents.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	s.handler = s.instrument(s.mux)
	return s, nil
}

// route serves h for method at path, and a JSON 405 naming the allowed
// methods for any other method there (GET routes also answer HEAD).
func (s *Server) route(method, path string, h http.Handler) {
	s.mux.Handle(method+" "+path, h)
	if _, seen := s.allowed[path]; !seen {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			allow := strings.Join(s.allowed[path], ", ")
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed here; use " + allow})
		})
	}
	s.allowed[path] = append(s.allowed[path], method)
}

// Run keeps cards in sync (the outbox workers) until ctx ends, then waits
// for the syncs in flight. Every replica runs it.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if s.escalator != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.escalator.run(ctx) }()
	}
	if s.beats != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.beats.run(ctx) }()
	}
	if s.grapher != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.grapher.run(ctx) }()
	}
	if s.handovers != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.handovers.run(ctx) }()
	}
	if _, ok := s.store.(incidents.CoverRequests); ok && len(s.schedules) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); s.runCovers(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.runConsole(ctx) }()
	if s.weeklyTeams() {
		wg.Add(1)
		go func() { defer wg.Done(); s.runReports(ctx) }()
	}
	if s.outbox != nil {
		// With no chat platform configured the workers still drain the
		// outbox (each item is done at once), so it never grows.
		s.outbox.run(ctx)
	}
	<-ctx.Done()
	wg.Wait()
}

// Handler returns the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for the handler with timeouts fit for
// webhooks from the open network.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.cfg.Server.Listen,
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// readyTimeout bounds /readyz's look at the store: a probe (Kubernetes'
// default timeout is 1 s) must hear "not ready", not time out.
const readyTimeout = 800 * time.Millisecond

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready: store unreachable", "err", err)
		writeError(w, incidents.Errorf(incidents.Unavailable, "store unreachable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// statusOf maps an error's kind to the HTTP status that tells the caller
// whether to retry: 4xx never, 5xx yes.
func statusOf(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	switch incidents.ErrorKind(err) {
	case incidents.Invalid:
		return http.StatusBadRequest
	case incidents.NotFound:
		return http.StatusNotFound
	case incidents.Conflict:
		return http.StatusConflict
	case incidents.Unauthorized:
		return http.StatusUnauthorized
	case incidents.Forbidden:
		return http.StatusForbidden
	case incidents.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers {"error": "..."} with the user-safe message of err.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	msg := incidents.ErrorMessage(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		msg = "request body is larger than server.max_body_bytes"
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON answers v as compact JSON (webhook senders, errors).
func writeJSON(w http.ResponseWriter, status int, v any) { encodeJSON(w, status, v, false) }

// writeJSONIndented answers v as indented JSON, for people reading the API
// with curl.
func writeJSONIndented(w http.ResponseWriter, status int, v any) { encodeJSON(w, status, v, true) }

func encodeJSON(w http.ResponseWriter, status int, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}
