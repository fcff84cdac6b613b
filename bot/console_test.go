package bot_test

import (
	"bufio"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// consoleEnv is a server with chat (fakes), people, a team with
// responders, its workers running, served over HTTP.
type consoleEnv struct {
	*chatEnv
	http *httptest.Server
}

func newConsoleEnv(t *testing.T, store incidents.Store) *consoleEnv {
	e := newChatEnv(t, store, func(c *bot.Config) {
		c.Server.PublicURL = "http://klaxon.example.com"
		c.People = []bot.PersonConfig{{Name: "alice", Slack: "UALICE", Email: "alice@example.com"}, {Name: "bob", Telegram: "42"}}
		c.Teams[0].Responders = []string{"alice"}
		c.Policies = []bot.PolicyConfig{{Name: "default", Steps: []bot.StepConfig{{Notify: "channel"}, {Wait: bot.Duration(5 * time.Minute)}, {Mention: "alice"}}}}
		c.Teams[0].Policy = "default"
	})
	e.start()
	ce := &consoleEnv{chatEnv: e, http: httptest.NewServer(e.srv.Handler())}
	t.Cleanup(ce.http.Close)
	return ce
}

func (e *consoleEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *consoleEnv) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	res, err := c.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func (e *consoleEnv) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	res, err := c.PostForm(e.http.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

var (
	linkRE = regexp.MustCompile(`http://klaxon\.example\.com(/ui/signin/link\?t=[A-Za-z0-9_.-]+)`)
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// signIn asks for a link as person, reads it from the DM the fake chat
// got, and uses it.
func (e *consoleEnv) signIn(person string, dms func() []string) (*http.Client, string) {
	e.t.Helper()
	c := e.browser()
	n := len(dms())
	e.post(c, "/ui/signin", url.Values{"who": {person}})
	e.srv.Console().WaitSends()
	got := dms()
	if len(got) != n+1 {
		e.t.Fatalf("no DM with a sign-in link for %s: %q", person, got)
	}
	m := linkRE.FindStringSubmatch(got[len(got)-1])
	if m == nil {
		e.t.Fatalf("the DM has no link: %q", got[len(got)-1])
	}
	u, _ := url.Parse(m[1])
	res, _ := e.post(c, "/ui/signin/link", url.Values{"t": {u.Query().Get("t")}})
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in: %s", res.Status)
	}
	_, page := e.get(c, "/ui/")
	cm := csrfRE.FindStringSubmatch(page)
	if cm == nil {
		e.t.Fatalf("not signed in:\n%.1000s", page)
	}
	return c, cm[1]
}

func (f *fakeChat) dms() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.directs...)
}

// The console acts through Act: the responders check, "alice (web)" on
// the timeline, the cards follow; a non-responder is refused; a change
// reaches an open event stream.
func TestConsoleActs(t *testing.T) {
	e := newConsoleEnv(t, boltStore(t))
	res, _ := e.get(e.browser(), "/")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET / = %s → %q, want a redirect to /ui/", res.Status, res.Header.Get("Location"))
	}
	inc, err := e.srv.Declare(context.Background(), bot.Declaration{Title: "disk full", Team: "payments"}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaCLI})
	if err != nil {
		t.Fatal(err)
	}
	alice, csrf := e.signIn("alice", e.slack.dms)
	if dm := e.slack.dms()[0]; !strings.HasPrefix(dm, "UALICE Sign in to klaxon as alice") {
		t.Errorf("DM: %q", dm)
	}
	bob, bobCSRF := e.signIn("bob", e.tg.dms)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/ui/events", nil)
	stream, err := bob.Do(req)
	if err == nil {
		defer stream.Body.Close()
	}
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- l
			}
		}
	}()

	_, page := e.get(bob, "/ui/incidents/"+inc.ID)
	if strings.Contains(page, `value="ack"`) || !strings.Contains(page, "Only the payments team's responders (alice)") {
		t.Errorf("bob is offered actions on payments' incident")
	}
	esc := regexp.MustCompile(`class="esc">([^<]*)<`).FindStringSubmatch(page)
	if esc == nil || (html.UnescapeString(esc[1]) != "next: notify the team's channels now (default, step 1 of 3)" &&
		html.UnescapeString(esc[1]) != "next: warn alice in 5m (default, step 3 of 3)") {
		t.Errorf("the page does not say where escalation stands: %q", esc)
	}
	res, page = e.post(bob, "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"ack"}, "csrf": {bobCSRF}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only the payments team&#39;s responders (alice) can change "+inc.ID) &&
		!strings.Contains(page, "Only the payments team's responders (alice) can change "+inc.ID) {
		t.Errorf("bob's ack: %s\n%.2000s", res.Status, page)
	}
	res, _ = e.post(alice, "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"ack"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("an ack without the CSRF token: %s", res.Status)
	}
	got, _ := e.store.Get(context.Background(), inc.ID)
	if got.State != incidents.Triggered {
		t.Fatalf("acknowledged by a refused request")
	}

	res, _ = e.post(alice, "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"ack"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's ack: %s", res.Status)
	}
	got, _ = e.store.Get(context.Background(), inc.ID)
	last := got.Timeline[len(got.Timeline)-1]
	if got.State != incidents.Acknowledged || got.AckedBy != "alice (web)" || !strings.Contains(last.Text, "alice (web)") {
		t.Errorf("after alice's ack: %s by %q, %q", got.State, got.AckedBy, last.Text)
	}
	deadline := time.After(5 * time.Second)
	for seen := false; !seen; {
		select {
		case id := <-events:
			seen = id == inc.ID
		case <-deadline:
			t.Fatal("no change event for the ack")
		}
	}
	waitFor(t, 5*time.Second, "the cards to follow", func() bool {
		for _, f := range []*fakeChat{e.slack, e.tg} {
			f.mu.Lock()
			ok := len(f.msgs) == 1 && f.msgs[0].state == incidents.Acknowledged
			f.mu.Unlock()
			if !ok {
				return false
			}
		}
		return true
	})
	_, page = e.get(alice, "/ui/incidents/"+inc.ID)
	for _, want := range []string{"stopped: acknowledged", "slack " + slackC + ": posted", "telegram " + tgChat + ": posted"} {
		if !strings.Contains(page, want) {
			t.Errorf("the incident page lacks %q", want)
		}
	}
	// A note, a resolve with a summary and a declaration, all as alice (web).
	for _, f := range []url.Values{{"verb": {"note"}, "kind": {"factor"}, "text": {"the disk filled up"}}, {"verb": {"resolve"}, "text": {"cleaned the disk"}}} {
		f.Set("csrf", csrf)
		if res, page := e.post(alice, "/ui/incidents/"+inc.ID+"/act", f); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %s\n%.1000s", f.Get("verb"), res.Status, page)
		}
	}
	got, _ = e.store.Get(context.Background(), inc.ID)
	if got.State != incidents.Resolved || got.Summary != "cleaned the disk" || got.ResolvedBy != "alice (web)" {
		t.Errorf("resolve: %s %q %q", got.State, got.Summary, got.ResolvedBy)
	}
	res, _ = e.post(alice, "/ui/declare", url.Values{"title": {"checkout is slow"}, "severity": {"2"}, "team": {"payments"}, "csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("declare: %s", res.Status)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(res.Header.Get("Location"), "/ui/incidents/"), "?did=declare")
	dec, err := e.store.Get(context.Background(), id)
	if err != nil || dec.Severity != incidents.Sev2 || !strings.Contains(dec.Timeline[len(dec.Timeline)-1].Text, "Declared by alice (web)") {
		t.Errorf("declared: %v %+v", err, dec)
	}
	res, _ = e.post(bob, "/ui/declare", url.Values{"title": {"x"}, "team": {"payments"}, "csrf": {bobCSRF}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("bob declared for payments: %s", res.Status)
	}
}

func TestConsoleSecret(t *testing.T) {
	cfg := bot.DefaultConfig()
	if _, err := cfg.ConsoleSecret(); err != bot.ErrNoConsoleSecret {
		t.Errorf("no chat, no secret: %v", err)
	}
	chatConfig(cfg)
	a, err := cfg.ConsoleSecret()
	if err != nil || len(a) != 32 {
		t.Fatalf("derived: %v %d", err, len(a))
	}
	if string(a) == string(cfg.ButtonKeySecret()) {
		t.Error("the console's key is the buttons' key")
	}
	cfg.Console.Secret = "a console secret of thirty-two chars"
	if b, _ := cfg.ConsoleSecret(); string(b) != "a console secret of thirty-two chars" {
		t.Errorf("console.secret not used: %q", b)
	}
	// A link signed with the config's key signs in on the server.
	cfg = bot.DefaultConfig()
	chatConfig(cfg)
	cfg.People = []bot.PersonConfig{{Name: "alice"}}
	srv, err := bot.New(cfg, bot.Deps{Store: boltStore(t), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := cfg.ConsoleSecret()
	link := console.SignInLink(key, "http://x", "alice", time.Now())
	u, _ := url.Parse(link)
	req := httptest.NewRequest("POST", "/ui/signin/link", strings.NewReader(url.Values{"t": {u.Query().Get("t")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Set-Cookie"), console.SessionCookie+"=") {
		t.Errorf("signing in with a link of the config's key: %d %v", rec.Code, rec.Header())
	}
}

func TestConsoleConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *bot.Config)
		want   string
	}{
		{"short session", func(c *bot.Config) { c.Console.Session = bot.Duration(time.Minute) }, "console.session: must be between 5m and 720h"},
		{"short secret", func(c *bot.Config) { c.Console.Secret = "short" }, "console.secret: is 5 characters long: at least 32"},
		{"oidc http issuer", func(c *bot.Config) {
			c.Server.PublicURL = "https://k.example.com"
			c.Console.OIDC = &bot.OIDCConfig{Issuer: "http://idp.example.com", ClientID: "k", ClientSecret: "s"}
		}, "console.oidc.issuer: must be https"},
		{"oidc without client", func(c *bot.Config) {
			c.Server.PublicURL = "https://k.example.com"
			c.Console.OIDC = &bot.OIDCConfig{Issuer: "https://idp.example.com"}
		}, "console.oidc.client_id: must not be empty"},
		{"oidc without public url", func(c *bot.Config) {
			c.Console.OIDC = &bot.OIDCConfig{Issuer: "https://idp.example.com", ClientID: "k", ClientSecret: "s"}
		}, "console.oidc: needs server.public_url"},
		{"bad email", func(c *bot.Config) { c.People = []bot.PersonConfig{{Name: "a", Email: "Alice <a@example.com>"}} }, "people[0].email: want an e-mail address"},
		{"duplicate email", func(c *bot.Config) {
			c.People = []bot.PersonConfig{{Name: "a", Email: "a@example.com"}, {Name: "b", Email: "A@example.com"}}
		}, `people[1].email: "A@example.com" is also a's`},
	} {
		cfg := bot.DefaultConfig()
		tc.mutate(cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	cfg := bot.DefaultConfig()
	cfg.Server.PublicURL = "https://k.example.com"
	cfg.Console = bot.ConsoleConfig{Session: bot.Duration(8 * time.Hour), OIDC: &bot.OIDCConfig{Issuer: "http://127.0.0.1:5556/dex", ClientID: "k", ClientSecret: "s"}}
	cfg.People = []bot.PersonConfig{{Name: "a", Email: "a@example.com"}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid console config: %v", err)
	}
}

// Two replicas on one Redis: a session made on one opens pages on the
// other, and a change made on one reaches a live page on the other.
func TestConsoleAcrossReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("console-replicas")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	var servers []*httptest.Server
	var srvs []*bot.Server
	for range 2 {
		st := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { st.Close() })
		cfg := bot.DefaultConfig()
		cfg.Console.Secret = "a console secret shared by the replicas"
		cfg.People = []bot.PersonConfig{{Name: "alice"}}
		cfg.Teams = []bot.TeamConfig{{Name: "payments"}}
		cfg.DefaultTeam = "payments"
		srv, err := bot.New(cfg, bot.Deps{Store: st, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); srv.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		servers, srvs = append(servers, hs), append(srvs, srv)
	}
	a, b := servers[0], servers[1]
	key := []byte("a console secret shared by the replicas")
	link, _ := url.Parse(console.SignInLink(key, a.URL, "alice", time.Now()))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(a.URL+"/ui/signin/link", url.Values{"t": {link.Query().Get("t")}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in on the first replica: %v %v", err, res)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == console.SessionCookie {
			cookie = c
		}
	}
	// The link is spent for both.
	res, _ = client.PostForm(b.URL+"/ui/signin/link", url.Values{"t": {link.Query().Get("t")}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the link again, on the second replica: %s", res.Status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.URL+"/ui/events", nil)
	req.AddCookie(cookie)
	stream, err := client.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("a stream on the second replica with the first's session: %v %v", err, stream)
	}
	defer stream.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- l
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the second replica's subscription is up
	inc, err := srvs[0].Declare(context.Background(), bot.Declaration{Title: "disk full"}, bot.Actor{Name: "alice", Known: true, Via: bot.ViaWeb})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-events:
		if id != inc.ID && id != "*" {
			t.Errorf("the second replica's page heard of %q, want %s", id, inc.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a change on the first replica did not reach a page on the second")
	}
}
