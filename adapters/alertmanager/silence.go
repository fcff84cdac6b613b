package alertmanager

// The silence client: Alertmanager's API v2 (/api/v2/silences), which
// Grafana's built-in Alertmanager serves too, under
// <grafana>/api/alertmanager/grafana. It neither retries nor logs: every
// failure is an *incidents.Error whose Kind says whether a retry may help
// and whose Message can be shown to the person who asked.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// DefaultSilenceTimeout bounds each call of a SilenceClient when
// SilenceOptions.Timeout is 0.
const DefaultSilenceTimeout = 10 * time.Second

// GrafanaPath is where Grafana serves its built-in Alertmanager's API,
// below Grafana's own URL. An Alertmanager data source of Grafana is
// reached the same way with its UID in place of "grafana".
const GrafanaPath = "/api/alertmanager/grafana"

// GrafanaAlertmanagerURL returns the SilenceOptions.URL of the
// Alertmanager built into the Grafana at grafanaURL, e.g.
// https://grafana.example.com → https://grafana.example.com/api/alertmanager/grafana.
func GrafanaAlertmanagerURL(grafanaURL string) string {
	return strings.TrimRight(grafanaURL, "/") + GrafanaPath
}

// SilenceOptions configure a SilenceClient.
type SilenceOptions struct {
	// URL is the Alertmanager's base URL, the one its web UI has: e.g.
	// http://alertmanager:9093, or https://example.com/alertmanager when it
	// runs with --web.route-prefix=/alertmanager. For Grafana's built-in
	// Alertmanager it is GrafanaAlertmanagerURL(grafana). The client adds
	// /api/v2/...; a URL that already ends in /api/v2 is taken too.
	// Credentials in the URL (http://user:pass@host) are used as basic
	// auth. Required.
	URL string
	// Token, if set, is sent as "Authorization: Bearer <Token>": for a
	// proxy in front of Alertmanager, or a Grafana service account token
	// (role Editor, or the alert.silences:create and :write permissions).
	Token string
	// Username and Password, if set, are sent as basic auth (Alertmanager's
	// own --web.config.file basic_auth_users). Set them or Token, not both.
	Username, Password string
	// HTTPClient makes the requests; default a new http.Client. Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Timeout bounds each call; default DefaultSilenceTimeout.
	Timeout time.Duration
	// Clock tells the time a silence starts when Silence.StartsAt is zero;
	// default incidents.SystemClock.
	Clock incidents.Clock
}

// SilenceClient creates, reads and expires silences through Alertmanager's
// API v2. It is safe for concurrent use.
type SilenceClient struct {
	base    string // scheme://host/prefix, no trailing slash, no credentials
	auth    string // the Authorization header, or ""
	hc      *http.Client
	timeout time.Duration
	clock   incidents.Clock
	grafana bool
}

// NewSilenceClient validates o and returns a client. It does not call the
// network. Its errors never show a token or password.
func NewSilenceClient(o SilenceOptions) (*SilenceClient, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("alertmanager: API URL %q is not an http(s) URL like http://alertmanager:9093", redactURL(o.URL))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("alertmanager: API URL %s has a query or #fragment: give the base URL only, like http://alertmanager:9093", u.Redacted())
	}
	if u.User != nil {
		if o.Token != "" || o.Username != "" || o.Password != "" {
			return nil, fmt.Errorf("alertmanager: API URL %s carries credentials and the options give some too: give them once", u.Redacted())
		}
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
		u.User = nil
	}
	switch {
	case o.Token != "" && (o.Username != "" || o.Password != ""):
		return nil, errors.New("alertmanager: give a bearer token or a username and password, not both")
	case o.Password != "" && o.Username == "":
		return nil, errors.New("alertmanager: a password without a username: basic auth needs both")
	case o.Username != "" && o.Password == "":
		return nil, fmt.Errorf("alertmanager: username %q has no password: basic auth needs both", o.Username)
	case strings.ContainsFunc(o.Token, badSecretRune):
		return nil, errors.New("alertmanager: the bearer token contains spaces or control characters")
	case strings.ContainsRune(o.Username, ':') || strings.ContainsFunc(o.Username, unicode.IsControl):
		return nil, errors.New("alertmanager: the basic auth username contains a colon or a control character")
	case strings.ContainsFunc(o.Password, unicode.IsControl):
		return nil, errors.New("alertmanager: the basic auth password contains control characters")
	case o.Timeout < 0:
		return nil, fmt.Errorf("alertmanager: timeout %v is negative", o.Timeout)
	}
	c := &SilenceClient{hc: o.HTTPClient, timeout: o.Timeout, clock: o.Clock}
	if o.Token != "" {
		c.auth = "Bearer " + o.Token
	} else if o.Username != "" {
		req := &http.Request{Header: http.Header{}}
		req.SetBasicAuth(o.Username, o.Password)
		c.auth = req.Header.Get("Authorization")
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultSilenceTimeout
	}
	if c.clock == nil {
		c.clock = incidents.SystemClock{}
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v2")
	u.RawPath = ""
	c.base = strings.TrimRight(u.String(), "/")
	c.grafana = strings.Contains(u.Path, "/api/alertmanager/")
	return c, nil
}

func badSecretRune(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsControl(r) }

// redactURL shows a URL that may not parse, without what could be a password.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return "…@" + s[i+1:]
	}
	return s
}

// URL is the base URL the client calls, without credentials.
func (c *SilenceClient) URL() string { return c.base }

// SilenceState is where a silence is in its life, as Alertmanager says.
type SilenceState string

const (
	// SilencePending starts in the future.
	SilencePending SilenceState = "pending"
	// SilenceActive mutes matching alerts now.
	SilenceActive SilenceState = "active"
	// SilenceExpired has ended (or was expired); Alertmanager keeps it for
	// its retention (--data.retention, 120h by default), then forgets it.
	SilenceExpired SilenceState = "expired"
)

// Silence is an Alertmanager silence.
type Silence struct {
	// ID is Alertmanager's (a UUID); empty for Create.
	ID string
	// Matchers select the alerts silenced: all must match.
	Matchers []Matcher
	// StartsAt is when the silence begins; zero means now in Create.
	StartsAt time.Time
	// EndsAt is when it ends; it must be after StartsAt and now.
	EndsAt time.Time
	// CreatedBy names who asked, e.g. "alice (klaxon)". Required.
	CreatedBy string
	// Comment says why, e.g. "INC-42: disk cleanup running". Required.
	Comment string
	// State and UpdatedAt are Alertmanager's, read by Get and List.
	State     SilenceState
	UpdatedAt time.Time
}

// Covers reports whether s mutes an alert with these labels: every
// matcher matches (a missing label counts as the empty value). It does
// not look at State or the times.
func (s Silence) Covers(labels map[string]string) bool {
	if len(s.Matchers) == 0 {
		return false
	}
	for _, m := range s.Matchers {
		if !m.Matches(labels[m.Name]) {
			return false
		}
	}
	return true
}

// The wire forms of API v2.
type (
	wireMatcher struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		// IsEqual is absent from Alertmanager before 0.22, which means true.
		IsEqual *bool `json:"isEqual,omitempty"`
	}
	postableSilence struct {
		Matchers  []wireMatcher `json:"matchers"`
		StartsAt  time.Time     `json:"startsAt"`
		EndsAt    time.Time     `json:"endsAt"`
		CreatedBy string        `json:"createdBy"`
		Comment   string        `json:"comment"`
	}
	gettableSilence struct {
		ID     string `json:"id"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
		UpdatedAt time.Time     `json:"updatedAt"`
		Matchers  []wireMatcher `json:"matchers"`
		StartsAt  time.Time     `json:"startsAt"`
		EndsAt    time.Time     `json:"endsAt"`
		CreatedBy string        `json:"createdBy"`
		Comment   string        `json:"comment"`
	}
)

func toWire(m Matcher) wireMatcher {
	eq := !m.Type.negative()
	return wireMatcher{Name: m.Name, Value: m.Value, IsRegex: m.Type.regex(), IsEqual: &eq}
}

func fromWire(w wireMatcher) Matcher {
	neg := w.IsEqual != nil && !*w.IsEqual
	t := MatchEqual
	switch {
	case w.IsRegex && neg:
		t = MatchNotRegexp
	case w.IsRegex:
		t = MatchRegexp
	case neg:
		t = MatchNotEqual
	}
	return Matcher{Name: w.Name, Value: w.Value, Type: t}
}

func (g *gettableSilence) silence() Silence {
	s := Silence{
		ID: g.ID, StartsAt: g.StartsAt, EndsAt: g.EndsAt, CreatedBy: g.CreatedBy,
		Comment: g.Comment, State: SilenceState(g.Status.State), UpdatedAt: g.UpdatedAt,
		Matchers: make([]Matcher, len(g.Matchers)),
	}
	for i, w := range g.Matchers {
		s.Matchers[i] = fromWire(w)
	}
	return s
}

// Create checks s and creates it as a new silence, returning its ID.
//
// Errors: Invalid when s is incomplete (no matchers, a bad matcher, every
// matcher matching the empty string, no CreatedBy or Comment, EndsAt not
// after StartsAt and now, an ID set) or when Alertmanager refuses it (its
// message is kept); Unauthorized when it refuses the credentials;
// Unavailable when it cannot be reached, times out or fails (5xx).
//
// A silence with a != or !~ matcher is read back: an Alertmanager older
// than 0.22 ignores isEqual and would mute the opposite alerts, so such a
// silence is expired again at once and Create fails (Invalid).
func (c *SilenceClient) Create(ctx context.Context, s Silence) (string, error) {
	const op = "alertmanager.Create"
	if err := c.checkNew(&s); err != nil {
		return "", incidents.Wrap(incidents.Invalid, op, err)
	}
	body := postableSilence{StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC(), CreatedBy: s.CreatedBy, Comment: s.Comment}
	negative := false
	for _, m := range s.Matchers {
		body.Matchers = append(body.Matchers, toWire(m))
		negative = negative || m.Type.negative()
	}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	r, err := c.do(ctx, op, http.MethodPost, "/silences", nil, body)
	if err != nil {
		return "", err
	}
	if !r.ok() {
		return "", c.statusError(op, r, "the silence")
	}
	if err := r.decode(op, c, &out); err != nil {
		return "", err
	}
	if out.SilenceID == "" {
		return "", &incidents.Error{Kind: incidents.Unavailable, Op: op,
			Message: c.where() + " answered without a silenceID: is " + c.base + " an Alertmanager?"}
	}
	if negative {
		if err := c.checkNegative(ctx, op, out.SilenceID, s.Matchers); err != nil {
			return "", err
		}
	}
	return out.SilenceID, nil
}

// checkNew fills in StartsAt and checks s before it is sent.
func (c *SilenceClient) checkNew(s *Silence) error {
	now := c.clock.Now()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	switch {
	case s.ID != "":
		return incidents.Errorf(incidents.Invalid, "a new silence has no ID yet (%s was given): Create does not update silences", s.ID)
	case len(s.Matchers) == 0:
		return incidents.Errorf(incidents.Invalid, "a silence needs at least one matcher: without one it would hide every alert")
	case strings.TrimSpace(s.CreatedBy) == "":
		return incidents.Errorf(incidents.Invalid, "a silence needs CreatedBy: who asked for it")
	case strings.TrimSpace(s.Comment) == "":
		return incidents.Errorf(incidents.Invalid, "a silence needs a comment: why it was set")
	case !utf8.ValidString(s.CreatedBy) || !utf8.ValidString(s.Comment):
		return incidents.Errorf(incidents.Invalid, "the silence's author or comment is not valid UTF-8")
	case !s.EndsAt.After(s.StartsAt):
		return incidents.Errorf(incidents.Invalid, "the silence ends (%s) before it starts (%s)",
			s.EndsAt.UTC().Format(time.RFC3339), s.StartsAt.UTC().Format(time.RFC3339))
	case !s.EndsAt.After(now):
		return incidents.Errorf(incidents.Invalid, "the silence ends in the past (%s)", s.EndsAt.UTC().Format(time.RFC3339))
	}
	allEmpty := true
	for _, m := range s.Matchers {
		if err := m.Validate(); err != nil {
			return err
		}
		allEmpty = allEmpty && m.Matches("")
	}
	if allEmpty {
		return incidents.Errorf(incidents.Invalid,
			"every matcher of %s also matches a missing label, so the silence would hide alerts that have none of them: add one that needs a value",
			describe(s.Matchers))
	}
	return nil
}

// checkNegative reads a new silence back and expires it when Alertmanager
// dropped a != or !~ (isEqual, 0.22 and newer).
func (c *SilenceClient) checkNegative(ctx context.Context, op, id string, want []Matcher) error {
	got, err := c.Get(ctx, id)
	if err != nil {
		return incidents.Wrap(incidents.Unavailable, op, fmt.Errorf("reading back silence %s to check its != matchers: %w", id, err))
	}
	n := 0
	for _, m := range got.Matchers {
		if m.Type.negative() {
			n++
		}
	}
	wantN := 0
	for _, m := range want {
		if m.Type.negative() {
			wantN++
		}
	}
	if n == wantN {
		return nil
	}
	msg := c.where() + " ignored the != and !~ matchers (isEqual needs Alertmanager 0.22 or newer), so the silence would have muted the opposite alerts"
	if _, err := c.expire(ctx, op, id); err != nil {
		return &incidents.Error{Kind: incidents.Unavailable, Op: op,
			Message: msg + "; expiring it failed too: expire silence " + id + " by hand", Err: err}
	}
	return &incidents.Error{Kind: incidents.Invalid, Op: op, Message: msg + "; it was expired again"}
}

// Get returns the silence with this ID, whatever its state.
//
// Errors: NotFound when Alertmanager does not know it (never created there,
// or forgotten after its retention); Invalid for an ID it refuses (not a
// UUID); Unauthorized; Unavailable.
func (c *SilenceClient) Get(ctx context.Context, id string) (Silence, error) {
	const op = "alertmanager.Get"
	if err := checkID(id); err != nil {
		return Silence{}, incidents.Wrap(incidents.Invalid, op, err)
	}
	r, err := c.do(ctx, op, http.MethodGet, "/silence/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return Silence{}, err
	}
	if r.status == http.StatusNotFound {
		return Silence{}, c.notFound(op, id)
	}
	if !r.ok() {
		return Silence{}, c.statusError(op, r, "silence "+id)
	}
	var g gettableSilence
	if err := r.decode(op, c, &g); err != nil {
		return Silence{}, err
	}
	return g.silence(), nil
}

// Expire ends the silence with this ID now, so that its alerts notify
// again, and returns the silence as it was found before. Its State tells
// what Expire did: SilenceExpired means it had already ended (or someone
// expired it first) and nothing changed, which is no error; active or
// pending means this call expired it.
//
// Errors: NotFound when Alertmanager does not know the ID (never created
// there, or forgotten after its retention); Invalid for an ID it refuses;
// Unauthorized; Unavailable (nothing changed unless the message says it
// may have).
func (c *SilenceClient) Expire(ctx context.Context, id string) (Silence, error) {
	return c.expire(ctx, "alertmanager.Expire", id)
}

func (c *SilenceClient) expire(ctx context.Context, op, id string) (Silence, error) {
	s, err := c.Get(ctx, id)
	if err != nil {
		return Silence{}, incidents.Wrap(incidents.Unavailable, op, err)
	}
	if s.State == SilenceExpired {
		return s, nil
	}
	r, err := c.do(ctx, op, http.MethodDelete, "/silence/"+url.PathEscape(id), nil, nil)
	if err != nil {
		return Silence{}, err
	}
	if r.ok() {
		return s, nil
	}
	// Alertmanager 0.25 answers an unknown ID with 500 "silence not found";
	// it was there a moment ago, so someone or the retention removed it.
	if r.status == http.StatusNotFound || strings.Contains(serverMessage(r.body), "not found") {
		return Silence{}, c.notFound(op, id)
	}
	return Silence{}, c.statusError(op, r, "silence "+id)
}

// List returns the active and pending silences that carry every matcher
// of filter, as Alertmanager's filter parameter means it: the same name,
// type and value, not a match. alertname="DiskFull" finds the silences
// with that very matcher (among others); alertname=~"Disk.*" finds those
// with that very regular expression, not those for DiskFull. No filter
// lists them all. Errors: Invalid for a bad filter; Unauthorized;
// Unavailable.
func (c *SilenceClient) List(ctx context.Context, filter ...Matcher) ([]Silence, error) {
	return c.list(ctx, "alertmanager.List", false, filter)
}

// ListAll is List with the expired silences Alertmanager still keeps.
func (c *SilenceClient) ListAll(ctx context.Context, filter ...Matcher) ([]Silence, error) {
	return c.list(ctx, "alertmanager.ListAll", true, filter)
}

func (c *SilenceClient) list(ctx context.Context, op string, expired bool, filter []Matcher) ([]Silence, error) {
	q := url.Values{}
	for _, m := range filter {
		if err := m.Validate(); err != nil {
			return nil, incidents.Wrap(incidents.Invalid, op, err)
		}
		q.Add("filter", m.String())
	}
	r, err := c.do(ctx, op, http.MethodGet, "/silences", q, nil)
	if err != nil {
		return nil, err
	}
	if !r.ok() {
		return nil, c.statusError(op, r, "the silence filter "+describe(filter))
	}
	var gs []gettableSilence
	if err := r.decode(op, c, &gs); err != nil {
		return nil, err
	}
	out := make([]Silence, 0, len(gs))
	for i := range gs {
		s := gs[i].silence()
		if expired || s.State != SilenceExpired {
			out = append(out, s)
		}
	}
	return out, nil
}

// checkID refuses what cannot be a silence ID before it reaches a URL.
func checkID(id string) error {
	switch {
	case id == "":
		return incidents.Errorf(incidents.Invalid, "the silence ID is empty")
	case len(id) > 100 || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || unicode.IsControl(r) }):
		return incidents.Errorf(incidents.Invalid, "%.40q is not a silence ID (those look like 8f3c2a10-5d1e-4c7b-9a0e-2b6f1d4e8c3a)", id)
	}
	return nil
}

// maxSilenceResponse bounds how much of an answer is read: a list of
// 30,000 silences fits.
const maxSilenceResponse = 32 << 20

type reply struct {
	status int
	phrase string
	body   []byte
}

func (r *reply) ok() bool { return r.status >= 200 && r.status < 300 }

func (r *reply) decode(op string, c *SilenceClient, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return &incidents.Error{Kind: incidents.Unavailable, Op: op,
			Message: fmt.Sprintf("%s answered %d with something that is not Alertmanager's JSON (%s): is %s the Alertmanager's base URL?",
				c.where(), r.status, snippet(r.body), c.base),
			Err: err}
	}
	return nil
}

// where names the server in messages, without credentials.
func (c *SilenceClient) where() string {
	if c.grafana {
		return "Grafana's Alertmanager at " + c.base
	}
	return "Alertmanager at " + c.base
}

// do sends one request under the client's timeout. Failing to get an
// answer is an Unavailable error that says whether the request may have
// taken effect.
func (c *SilenceClient) do(ctx context.Context, op, method, path string, q url.Values, in any) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, &incidents.Error{Kind: incidents.Invalid, Op: op, Message: "the silence cannot be encoded", Err: err}
		}
		body = bytes.NewReader(b)
	}
	target := c.base + "/api/v2" + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &incidents.Error{Kind: incidents.Internal, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "klaxon")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.netError(ctx, op, method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSilenceResponse+1))
	if err != nil {
		return nil, c.netError(ctx, op, method, err)
	}
	if len(b) > maxSilenceResponse {
		return nil, &incidents.Error{Kind: incidents.Unavailable, Op: op,
			Message: fmt.Sprintf("%s answered more than %d MiB", c.where(), maxSilenceResponse>>20)}
	}
	return &reply{status: resp.StatusCode, phrase: http.StatusText(resp.StatusCode), body: b}, nil
}

// netError explains a request that got no answer.
func (c *SilenceClient) netError(ctx context.Context, op, method string, err error) error {
	var (
		why  string
		sent = true // whether the request may have reached Alertmanager
		dns  *net.DNSError
		oe   *net.OpError
		ne   net.Error
	)
	switch {
	case errors.As(err, &dns):
		why, sent = "cannot resolve "+dns.Name, false
	case errors.Is(err, syscall.ECONNREFUSED):
		why, sent = "connection refused", false
	case errors.As(err, &oe) && oe.Op == "dial":
		why, sent = "cannot connect", false
		if oe.Timeout() {
			why = fmt.Sprintf("cannot connect within %v", c.timeout)
		}
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		why = fmt.Sprintf("no answer within %v", c.timeout)
	case errors.Is(err, context.Canceled):
		why = "the request was cancelled"
	default:
		why = "the connection failed"
	}
	msg := fmt.Sprintf("%s is unreachable (%s): nothing changed", c.where(), why)
	if sent && method != http.MethodGet {
		msg = fmt.Sprintf("%s is unreachable (%s): the change may or may not have been made; check its silences", c.where(), why)
	}
	return &incidents.Error{Kind: incidents.Unavailable, Op: op, Message: msg, Err: err}
}

// statusError explains an answer that is not 2xx; what names the object.
func (c *SilenceClient) statusError(op string, r *reply, what string) error {
	msg := serverMessage(r.body)
	said := fmt.Sprintf("%d %s", r.status, r.phrase)
	if msg != "" {
		said += ": " + msg
	}
	e := &incidents.Error{Op: op}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		e.Kind = incidents.Unauthorized
		e.Message = fmt.Sprintf("%s refused klaxon's credentials (%s): check the token or username and password klaxon uses for it", c.where(), said)
	case r.status == http.StatusNotFound:
		e.Kind = incidents.NotFound
		e.Message = fmt.Sprintf("%s answered %s: is %s its base URL? (Grafana's built-in one is <grafana>%s)", c.where(), said, c.base, GrafanaPath)
	case r.status == http.StatusBadRequest || r.status == http.StatusUnprocessableEntity:
		e.Kind = incidents.Invalid
		e.Message = fmt.Sprintf("%s refused %s (%s)", c.where(), what, said)
	case r.status == http.StatusConflict || r.status == http.StatusTooManyRequests || r.status == http.StatusRequestTimeout || r.status >= 500:
		// Grafana answers 409 while its Alertmanager is not ready.
		e.Kind = incidents.Unavailable
		e.Message = fmt.Sprintf("%s failed (%s): nothing changed, try again", c.where(), said)
	default:
		e.Kind = incidents.Invalid
		e.Message = fmt.Sprintf("%s refused %s (%s)", c.where(), what, said)
	}
	return e
}

func (c *SilenceClient) notFound(op, id string) error {
	return &incidents.Error{Kind: incidents.NotFound, Op: op,
		Message: fmt.Sprintf("%s has no silence %s: it was never created there, or was removed after its retention (expired silences are kept 5 days by default)", c.where(), id)}
}

// serverMessage finds the message in an error body: Alertmanager's is a
// JSON string, go-swagger's and Grafana's an object with "message".
func serverMessage(body []byte) string {
	var s string
	if json.Unmarshal(body, &s) == nil {
		return clean(s, 300)
	}
	var o struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &o) == nil {
		switch {
		case o.Message != "" && o.Error != "" && !strings.Contains(o.Message, o.Error):
			return clean(o.Message+": "+o.Error, 300)
		case o.Message != "":
			return clean(o.Message, 300)
		default:
			return clean(o.Error, 300)
		}
	}
	return clean(string(body), 300)
}

func snippet(body []byte) string {
	s := clean(string(body), 80)
	if s == "" {
		return "an empty body"
	}
	return fmt.Sprintf("%q", s)
}

// clean makes server text fit for a message: valid UTF-8, no control
// characters, spaces collapsed, at most n runes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}
