package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/oncall"
)

// backend is a Backend over a real embedded store, with the bot's rule
// for who may act (a team's responders), and sign-in messages recorded.
type backend struct {
	store  incidents.Store
	clock  *clock
	people []console.Person
	teams  []console.Team
	// schedules are the configured ones (their Rota without overrides:
	// Schedules adds the stored ones).
	schedules []console.Schedule
	// stats are what Stats reads; statsErr, when set, its error.
	stats    []incidents.Stat
	statsErr error

	mu    sync.Mutex
	sent  map[string][]string // person → links sent
	texts map[string][]string // person → the messages' text
	acts  []string            // "INC-1 ack alice"
}

func newBackend(t testing.TB, clk *clock) *backend {
	st, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return backendOn(st, clk)
}

func backendOn(st incidents.Store, clk *clock) *backend {
	return &backend{store: st, clock: clk, sent: map[string][]string{}, texts: map[string][]string{},
		people: []console.Person{
			{Name: "alice", Email: "alice@example.com", Accounts: map[string]string{"slack": "UALICE"}},
			{Name: "bob", Email: "bob@example.com", Accounts: map[string]string{"telegram": "42"}},
			{Name: "carol", Accounts: map[string]string{}},
		},
		teams: []console.Team{{Name: "payments", Responders: []string{"alice"}, Destinations: []string{"slack:C1"}}, {Name: "web"}},
	}
}

func (b *backend) People() []console.Person { return b.people }

func (b *backend) FindPerson(who string) (console.Person, bool) {
	who = strings.TrimPrefix(strings.TrimSpace(who), "@")
	for _, p := range b.people {
		if who != "" && (strings.EqualFold(p.Name, who) || strings.EqualFold(p.Email, who) || slices.Contains(mapValues(p.Accounts), who)) {
			return p, true
		}
	}
	return console.Person{}, false
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (b *backend) Teams() []console.Team { return b.teams }

func (b *backend) List(ctx context.Context, o incidents.ListOptions) ([]*incidents.Incident, error) {
	return b.store.List(ctx, o)
}
func (b *backend) Summary(ctx context.Context, id string) (*incidents.Incident, error) {
	return b.store.Summary(ctx, id)
}
func (b *backend) Alerts(ctx context.Context, id string, off, lim int) ([]incidents.Alert, int, error) {
	return b.store.Alerts(ctx, id, off, lim)
}
func (b *backend) Events(ctx context.Context, id string, off, lim int) ([]incidents.Event, int, error) {
	return b.store.Events(ctx, id, off, lim)
}
func (b *backend) Get(ctx context.Context, id string) (*incidents.Incident, error) {
	return b.store.Get(ctx, id)
}

func (b *backend) Act(ctx context.Context, id string, a console.Action, person string) (*incidents.Incident, string, error) {
	now := b.clock.Now()
	inc, err := b.store.Update(ctx, id, func(inc *incidents.Incident) error {
		for _, t := range b.teams {
			if t.Name == inc.Team && len(t.Responders) > 0 && !slices.Contains(t.Responders, person) {
				return incidents.Errorf(incidents.Forbidden, "only %s may change %s", strings.Join(t.Responders, ", "), inc.ID)
			}
		}
		label := person + " (web)"
		switch a.Verb {
		case console.VerbAck:
			return inc.Apply(incidents.Acknowledge, label, "", now)
		case console.VerbResolve:
			return inc.Apply(incidents.Resolve, label, "", now)
		case console.VerbNote:
			return inc.AddNote(a.NoteKind, a.Text, label, now)
		case console.VerbFeedback:
			return inc.SetFeedback(a.Actionable, a.Text, label, now)
		}
		return incidents.Errorf(incidents.Invalid, "the fake does not %s", a.Verb)
	})
	if err != nil {
		return nil, "", err
	}
	b.mu.Lock()
	b.acts = append(b.acts, id+" "+a.Verb+" "+person)
	b.mu.Unlock()
	hint := ""
	if strings.Contains(a.Text, "fault") {
		hint = "Kept as written. Blameless notes help us learn."
	}
	return inc, hint, nil
}

func (b *backend) Declare(ctx context.Context, d console.Declaration, person string) (*incidents.Incident, error) {
	res, err := b.store.Ingest(ctx, batch("declared-"+d.Title, d.Title, d.Team, incidents.AlertFiring), incidents.IngestOptions{Now: b.clock.Now()})
	if err != nil {
		return nil, err
	}
	return res.Incident, nil
}

func (b *backend) EscalationStatus(ctx context.Context, inc *incidents.Incident) string {
	if inc.State == incidents.Triggered {
		return "next: call alice in 4m"
	}
	return ""
}

func (b *backend) Cards(ctx context.Context, id string) ([]console.CardLink, error) {
	return []console.CardLink{{Platform: "slack", Dest: "C1", URL: "https://slack.com/archives/C1/p1", Posted: true}}, nil
}

// mayChange is the bot's rule: a team's responders, where it has them.
func (b *backend) mayChange(team, person string) error {
	for _, t := range b.teams {
		if t.Name == team && len(t.Responders) > 0 && !slices.Contains(t.Responders, person) {
			return incidents.Errorf(incidents.Forbidden, "only %s may change %s's things", strings.Join(t.Responders, ", "), team)
		}
	}
	return nil
}

func (b *backend) SavePostmortem(ctx context.Context, id string, base int, text, person string) (incidents.PostmortemVersion, error) {
	inc, err := b.store.Summary(ctx, id)
	if err != nil {
		return incidents.PostmortemVersion{}, err
	}
	if err := b.mayChange(inc.Team, person); err != nil {
		return incidents.PostmortemVersion{}, err
	}
	return b.store.(incidents.Postmortems).SavePostmortem(ctx, id, base, text, person, b.clock.Now())
}

func (b *backend) Postmortem(ctx context.Context, id string, version int) (incidents.PostmortemVersion, error) {
	return b.store.(incidents.Postmortems).Postmortem(ctx, id, version)
}

func (b *backend) PostmortemVersions(ctx context.Context, id string) ([]incidents.PostmortemVersion, error) {
	return b.store.(incidents.Postmortems).PostmortemVersions(ctx, id)
}

func (b *backend) BlameHint(text string) (string, []string) {
	var found []string
	for _, p := range []string{"fault", "human error"} {
		if strings.Contains(strings.ToLower(text), p) {
			found = append(found, p)
		}
	}
	if found == nil {
		return "", nil
	}
	return "Kept as written. Blameless notes help us learn.", found
}

func (b *backend) Schedules(ctx context.Context, since time.Time) ([]console.Schedule, error) {
	var out []console.Schedule
	for _, sc := range b.schedules {
		list, err := b.store.(incidents.Overrides).Overrides(ctx, sc.Name, since)
		if err != nil {
			return nil, err
		}
		rota := &oncall.Schedule{Name: sc.Name, Layers: sc.Rota.Layers}
		for _, o := range list {
			rota.Overrides = append(rota.Overrides, oncall.Override{Person: o.Person, From: o.From, Until: o.Until, SetBy: o.SetBy, SetAt: o.SetAt})
		}
		sc.Rota, sc.Overrides = rota, list
		for _, t := range b.teams {
			if t.Schedule == sc.Name {
				sc.Teams = append(sc.Teams, t.Name)
			}
		}
		out = append(out, sc)
	}
	return out, nil
}

// maySchedule: a responder of any team on the schedule.
func (b *backend) maySchedule(schedule, person string) error {
	restricted := false
	for _, t := range b.teams {
		if t.Schedule == schedule {
			if b.mayChange(t.Name, person) == nil {
				return nil
			}
			restricted = true
		}
	}
	if restricted {
		return incidents.Errorf(incidents.Forbidden, "%s may not change %s", person, schedule)
	}
	return nil
}

func (b *backend) AddOverride(ctx context.Context, o incidents.OnCallOverride, person string) error {
	if err := b.maySchedule(o.Schedule, person); err != nil {
		return err
	}
	o.SetBy, o.SetAt = person, b.clock.Now()
	b.mu.Lock()
	b.acts = append(b.acts, "override "+o.Schedule+" "+o.Person+" "+person)
	b.mu.Unlock()
	return b.store.(incidents.Overrides).AddOverride(ctx, o)
}

func (b *backend) RemoveOverride(ctx context.Context, o incidents.OnCallOverride, person string) error {
	if err := b.maySchedule(o.Schedule, person); err != nil {
		return err
	}
	return b.store.(incidents.OverrideRemover).RemoveOverride(ctx, o)
}

func (b *backend) Stats(ctx context.Context, team string, since, until time.Time) ([]incidents.Stat, error) {
	if b.statsErr != nil {
		return nil, b.statsErr
	}
	out := make([]incidents.Stat, 0, len(b.stats))
	for _, st := range b.stats {
		if (team == "" || st.Team == team) && !st.CreatedAt.Before(since) && st.CreatedAt.Before(until) {
			out = append(out, st)
		}
	}
	return out, nil
}

func (b *backend) Maintenances(ctx context.Context, now time.Time) ([]incidents.Maintenance, error) {
	return b.store.(incidents.Maintenances).Maintenances(ctx, now)
}

func (b *backend) SendSignIn(ctx context.Context, p console.Person, text, link string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent[p.Name] = append(b.sent[p.Name], link)
	b.texts[p.Name] = append(b.texts[p.Name], text)
	return nil
}

func (b *backend) links(person string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sent[person])
}

// batch is a batch of one alert of group, titled title.
func batch(group, title, team string, st incidents.AlertStatus, extra ...incidents.Alert) *incidents.Batch {
	a := incidents.Alert{Source: "test", Fingerprint: group, Status: st, Severity: incidents.Sev2,
		Labels: map[string]string{"alertname": title, "service": "pay"}, StartsAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	return &incidents.Batch{Source: "test", GroupKey: group, Title: title, Team: team, Alerts: append([]incidents.Alert{a}, extra...)}
}

func (b *backend) ingest(t testing.TB, bt *incidents.Batch) *incidents.Incident {
	t.Helper()
	res, err := b.store.Ingest(context.Background(), bt, incidents.IngestOptions{Now: b.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return res.Incident
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var secret = []byte("0123456789abcdef0123456789abcdef-test")

// env is a console served over HTTP with its backend.
type env struct {
	t       testing.TB
	b       *backend
	c       *console.Console
	srv     *httptest.Server
	clock   *clock
	changes *memChanges
}

type envOpt func(*console.Options)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	clk := &clock{now: time.Now()}
	return newEnvOn(t, newBackend(t, clk), opts...)
}

// newEnvOn serves a console over b.
func newEnvOn(t testing.TB, b *backend, opts ...envOpt) *env {
	t.Helper()
	clk := b.clock
	e := &env{t: t, clock: clk, b: b, changes: newMemChanges()}
	o := console.Options{Backend: e.b, Secret: secret, PublicURL: "https://klaxon.example.com", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Changes: e.changes, Heartbeat: 50 * time.Millisecond,
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Forwarded-For") }}
	if f, ok := b.store.(incidents.Feeds); ok {
		o.Feeds = f
	}
	for _, f := range opts {
		f(&o)
	}
	c, err := console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	e.srv = httptest.NewServer(c.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { e.srv.Close(); cancel(); <-done })
	return e
}

// client is a browser without JavaScript: cookies, no redirects
// followed unless asked.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: &secureJar{jar}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// secureJar keeps Secure cookies over the test's plain http (the console
// believes it is served at https://klaxon.example.com).
type secureJar struct{ *cookiejar.Jar }

func (j *secureJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		c.Secure = false
	}
	j.Jar.SetCookies(u, cs)
}

func (e *env) url(p string) string { return e.srv.URL + p }

// do sends a request and returns the response with its body read.
func (e *env) do(c *http.Client, method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.url(path), body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs person in on a new client through a link sent to them,
// and returns the client and the session's CSRF token.
func (e *env) signIn(person string) (*http.Client, string) {
	e.t.Helper()
	c := e.client()
	before := len(e.b.links(person))
	e.do(c, "POST", "/ui/signin", url.Values{"who": {person}}, "X-Forwarded-For", person)
	e.c.WaitSends()
	links := e.b.links(person)
	if len(links) != before+1 {
		e.t.Fatalf("no sign-in link sent to %s", person)
	}
	tok := linkToken(e.t, links[len(links)-1])
	res, _ := e.do(c, "POST", "/ui/signin/link", url.Values{"t": {tok}})
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("using the link: %s", res.Status)
	}
	_, page := e.do(c, "GET", "/ui/", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token on the incidents page:\n%.2000s", page)
	}
	return c, m[1]
}

func linkToken(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("t") == "" {
		t.Fatalf("not a sign-in link: %q", link)
	}
	return u.Query().Get("t")
}

// memChanges is incidents.Changes in one process.
type memChanges struct {
	mu   sync.Mutex
	subs map[chan string]struct{}
}

func newMemChanges() *memChanges { return &memChanges{subs: map[chan string]struct{}{}} }

func (m *memChanges) PublishChange(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- id:
		default:
		}
	}
	return nil
}

func (m *memChanges) SubscribeChanges(ctx context.Context) (<-chan string, error) {
	ch := make(chan string, 1024)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		delete(m.subs, ch)
		close(ch)
		m.mu.Unlock()
	}()
	return ch, nil
}

func must(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

var _ = fmt.Sprint
