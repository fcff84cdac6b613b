package console_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/incidents"
)

func TestSignInByLink(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	res, _ := e.do(c, "GET", "/ui/incidents/INC-1", nil)
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/signin?next=%2Fui%2Fincidents%2FINC-1",
		"signed out, a page sends to sign-in: %s %s", res.Status, res.Header.Get("Location"))

	// By chat handle: the link goes to the person whose account it is.
	res, page := e.do(c, "POST", "/ui/signin", url.Values{"who": {"@UALICE"}, "next": {"/ui/incidents/INC-1"}}, "X-Forwarded-For", "1.1.1.1")
	must(t, res.StatusCode == 200 && strings.Contains(page, "a sign-in link and code are on their way"), "request: %s\n%s", res.Status, page)
	e.c.WaitSends()
	links := e.b.links("alice")
	must(t, len(links) == 1 && strings.HasPrefix(links[0], "https://klaxon.example.com/ui/signin/link?t="), "links sent: %q", links)
	must(t, strings.Contains(links[0], "&next=%2Fui%2Fincidents%2FINC-1"), "the link keeps where the person was going: %s", links[0])

	// Opening the link asks to confirm (a link preview does not use it).
	u, _ := url.Parse(links[0])
	res, page = e.do(c, "GET", u.RequestURI(), nil)
	must(t, res.StatusCode == 200 && strings.Contains(page, "Sign in as alice"), "link page: %s", res.Status)
	res, _ = e.do(c, "POST", "/ui/signin/link", url.Values{"t": {u.Query().Get("t")}, "next": {u.Query().Get("next")}})
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/incidents/INC-1", "sign-in: %s → %s", res.Status, res.Header.Get("Location"))

	var ck *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == console.SessionCookie {
			ck = k
		}
	}
	must(t, ck != nil, "no session cookie")
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/ui/" || ck.MaxAge != int(12*time.Hour/time.Second) || len(ck.Value) < 40 {
		t.Errorf("session cookie flags: HttpOnly %v Secure %v SameSite %v Path %q MaxAge %d len %d", ck.HttpOnly, ck.Secure, ck.SameSite, ck.Path, ck.MaxAge, len(ck.Value))
	}
	res, page = e.do(c, "GET", "/ui/", nil)
	must(t, res.StatusCode == 200 && strings.Contains(page, "<span>alice</span>"), "signed in: %s", res.Status)

	// Sign-out ends the session, in the store too.
	m := csrfRE.FindStringSubmatch(page)
	res, _ = e.do(c, "POST", "/ui/signout", url.Values{"csrf": {m[1]}})
	must(t, res.StatusCode == http.StatusSeeOther, "sign-out: %s", res.Status)
	stale := e.client()
	stale.Jar.SetCookies(mustURL(e.url("/ui/")), []*http.Cookie{{Name: console.SessionCookie, Value: ck.Value, Path: "/ui/"}})
	res, _ = e.do(stale, "GET", "/ui/", nil)
	must(t, res.StatusCode == http.StatusSeeOther, "the signed-out session still opens pages: %s", res.Status)
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// The page says the same whether or not the name is someone's, and
// sends nothing for an unknown one.
func TestSignInNoEnumeration(t *testing.T) {
	e := newEnv(t)
	_, known := e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"bob"}}, "X-Forwarded-For", "1.1.1.1")
	_, unknown := e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"mallory"}}, "X-Forwarded-For", "1.1.1.2")
	// The pages differ only by the sealed request, which both have.
	mask := func(s string) string { return requestRE.ReplaceAllString(s, `name="r" value="…"`) }
	must(t, requestRE.MatchString(known) && requestRE.MatchString(unknown) && mask(known) == mask(unknown), "the answers differ:\n%s\n---\n%s", known, unknown)
	e.c.WaitSends()
	must(t, len(e.b.links("bob")) == 1, "bob got no link")
}

func TestSignInRateLimited(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		res, _ := e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"nobody"}}, "X-Forwarded-For", "9.9.9.9")
		must(t, res.StatusCode == 200, "request %d: %s", i+1, res.Status)
	}
	res, _ := e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"nobody"}}, "X-Forwarded-For", "9.9.9.9")
	must(t, res.StatusCode == http.StatusTooManyRequests, "the 6th request in a minute: %s", res.Status)
	res, _ = e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"nobody"}}, "X-Forwarded-For", "8.8.8.8")
	must(t, res.StatusCode == 200, "another client: %s", res.Status)

	// A person gets at most 3 links in a row, from however many clients.
	for i := range 5 {
		e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"carol-not"}}, "X-Forwarded-For", "7.7.7."+string(rune('0'+i)))
		e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"bob"}}, "X-Forwarded-For", "6.6.6."+string(rune('0'+i)))
	}
	e.c.WaitSends()
	must(t, len(e.b.links("bob")) == 3, "bob got %d links", len(e.b.links("bob")))
}

var (
	codeRE    = regexp.MustCompile(`the code ([A-Z2-7]{4}-[A-Z2-7]{4})`)
	requestRE = regexp.MustCompile(`name="r" value="([^"]+)"`)
)

// Where a platform's messages cannot carry a link to follow, the code in
// the same message signs in, once.
func TestSignInByCode(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	_, page := e.do(c, "POST", "/ui/signin", url.Values{"who": {"bob"}}, "X-Forwarded-For", "1")
	e.c.WaitSends()
	req := requestRE.FindStringSubmatch(page)
	m := codeRE.FindStringSubmatch(e.b.texts["bob"][0])
	must(t, req != nil && m != nil, "no request on the page or no code in the message: %q", e.b.texts["bob"])
	wrong := "AAAA-AAAA"
	if m[1] == wrong {
		wrong = "BBBB-BBBB"
	}
	res, _ := e.do(c, "POST", "/ui/signin/code", url.Values{"r": {req[1]}, "code": {wrong}}, "X-Forwarded-For", "2")
	must(t, res.StatusCode == http.StatusUnauthorized && !sessionOf(res), "a wrong code: %s", res.Status)
	// A request for someone else does not take bob's code.
	_, other := e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"alice"}}, "X-Forwarded-For", "3")
	res, _ = e.do(c, "POST", "/ui/signin/code", url.Values{"r": {requestRE.FindStringSubmatch(other)[1]}, "code": {m[1]}}, "X-Forwarded-For", "4")
	must(t, res.StatusCode == http.StatusUnauthorized, "bob's code against alice's request: %s", res.Status)
	typed := strings.ToLower(strings.ReplaceAll(m[1], "-", " "))
	res, _ = e.do(c, "POST", "/ui/signin/code", url.Values{"r": {req[1]}, "code": {typed}}, "X-Forwarded-For", "5")
	must(t, res.StatusCode == http.StatusSeeOther && sessionOf(res), "the code, typed loosely: %s", res.Status)
	res, _ = e.do(e.client(), "POST", "/ui/signin/code", url.Values{"r": {req[1]}, "code": {m[1]}}, "X-Forwarded-For", "6")
	must(t, res.StatusCode == http.StatusUnauthorized && !sessionOf(res), "the code again: %s", res.Status)
	// Nor after 15 minutes.
	_, page = e.do(e.client(), "POST", "/ui/signin", url.Values{"who": {"bob"}}, "X-Forwarded-For", "7")
	e.c.WaitSends()
	m = codeRE.FindStringSubmatch(e.b.texts["bob"][1])
	e.clock.Add(console.LinkTTL)
	res, _ = e.do(e.client(), "POST", "/ui/signin/code", url.Values{"r": {requestRE.FindStringSubmatch(page)[1]}, "code": {m[1]}}, "X-Forwarded-For", "8")
	must(t, res.StatusCode == http.StatusUnauthorized, "an expired code: %s", res.Status)
}

func TestLinkRefused(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	good := console.SignLink(secret, "alice", now.Add(console.LinkTTL))
	for _, tc := range []struct{ name, token string }{
		{"expired", console.SignLink(secret, "alice", now.Add(-time.Second))},
		{"other secret", console.SignLink([]byte("another secret of thirty-two bytes!!"), "alice", now.Add(time.Minute))},
		{"too far ahead", console.SignLink(secret, "alice", now.Add(time.Hour))},
		{"someone unknown", console.SignLink(secret, "mallory", now.Add(time.Minute))},
		{"cut short", good[:len(good)-3]},
		{"payload changed", "Ym9i" + good[4:]},
		{"empty", ""},
	} {
		res, page := e.do(e.client(), "POST", "/ui/signin/link", url.Values{"t": {tc.token}}, "X-Forwarded-For", tc.name)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "This sign-in link does not work") || len(res.Cookies()) > 0 {
			t.Errorf("%s: %s, cookies %v", tc.name, res.Status, res.Cookies())
		}
	}
	// A link works once.
	res, _ := e.do(e.client(), "POST", "/ui/signin/link", url.Values{"t": {good}}, "X-Forwarded-For", "first")
	must(t, res.StatusCode == http.StatusSeeOther, "first use: %s", res.Status)
	res, page := e.do(e.client(), "POST", "/ui/signin/link", url.Values{"t": {good}}, "X-Forwarded-For", "second")
	must(t, res.StatusCode == http.StatusUnauthorized && len(res.Cookies()) == 0, "second use: %s\n%.500s", res.Status, page)
	// And not after 15 minutes.
	late := console.SignLink(secret, "alice", now.Add(console.LinkTTL))
	e.clock.Add(console.LinkTTL + time.Second)
	res, _ = e.do(e.client(), "GET", "/ui/signin/link?t="+url.QueryEscape(late), nil)
	must(t, res.StatusCode == http.StatusUnauthorized, "an expired link's page: %s", res.Status)
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, func(o *console.Options) { o.SessionTTL = time.Hour })
	c, _ := e.signIn("alice")
	res, _ := e.do(c, "GET", "/ui/", nil)
	must(t, res.StatusCode == 200, "signed in: %s", res.Status)
	e.clock.Add(time.Hour)
	res, _ = e.do(c, "GET", "/ui/", nil)
	must(t, res.StatusCode == http.StatusSeeOther, "after its hour: %s", res.Status)
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "payments", incidents.AlertFiring))
	c, csrf := e.signIn("alice")
	path := "/ui/incidents/" + inc.ID + "/act"
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{"verb": {"ack"}}, nil},
		{"wrong token", url.Values{"verb": {"ack"}, "csrf": {csrf[:len(csrf)-2] + "xx"}}, nil},
		{"another site", url.Values{"verb": {"ack"}, "csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
		{"cross-site fetch", url.Values{"verb": {"ack"}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		res, _ := e.do(c, "POST", path, tc.form, tc.hdr...)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s", tc.name, res.Status)
		}
	}
	// The token of another session does not do either.
	_, other := e.signIn("bob")
	res, _ := e.do(c, "POST", path, url.Values{"verb": {"ack"}, "csrf": {other}})
	must(t, res.StatusCode == http.StatusForbidden, "another session's token: %s", res.Status)
	must(t, len(e.b.acts) == 0, "acted: %v", e.b.acts)

	res, _ = e.do(c, "POST", path, url.Values{"verb": {"ack"}, "csrf": {csrf}}, "Origin", "https://klaxon.example.com")
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/incidents/"+inc.ID+"?did=ack", "with the token: %s", res.Status)
	got, _ := e.b.store.Summary(context.Background(), inc.ID)
	must(t, got.State == incidents.Acknowledged && got.AckedBy == "alice (web)", "not acknowledged by alice (web): %s %q", got.State, got.AckedBy)
}

// Someone who is not the team's responder sees no buttons, and a forged
// form is refused with the bot's words.
func TestViewerCannotAct(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "payments", incidents.AlertFiring))
	c, csrf := e.signIn("bob")
	_, page := e.do(c, "GET", "/ui/incidents/"+inc.ID, nil)
	must(t, !strings.Contains(page, `value="ack"`) && strings.Contains(page, "Only the payments team's responders (alice) can change"), "bob is offered actions:\n%s", page)
	res, page := e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"ack"}, "csrf": {csrf}})
	must(t, res.StatusCode == http.StatusForbidden && strings.Contains(page, "only alice may change"), "forged ack: %s\n%.3000s", res.Status, page)
	got, _ := e.b.store.Summary(context.Background(), inc.ID)
	must(t, got.State == incidents.Triggered, "bob acknowledged it")
	// A team without responders: anyone klaxon knows may act.
	web := e.b.ingest(t, batch("g2", "slow pages", "web", incidents.AlertFiring))
	_, page = e.do(c, "GET", "/ui/incidents/"+web.ID, nil)
	must(t, strings.Contains(page, `value="ack"`), "bob cannot act on web's incident")
}

// Incident text from a monitor is data: it never runs, links only to
// http(s), and loses its bidi overrides.
func TestHostileTextInert(t *testing.T) {
	e := newEnv(t)
	hostile := "<script>alert(1)</script>\"'><img src=x onerror=alert(2)> \u202Egnp.exe"
	bt := batch("evil", hostile, "web", incidents.AlertFiring)
	a := &bt.Alerts[0]
	a.Labels["x\"><script>alert(3)</script>"] = "<b>bold</b>"
	a.Annotations = map[string]string{"runbook_url": "javascript:alert(4)", "dashboard_url": "https://grafana.example.com/d/1?a=1&b=2'",
		"description": "see <a href=\"javascript:alert(5)\">here</a> \u2066rtl\u2069"}
	a.GeneratorURL = "data:text/html,<script>alert(6)</script>"
	inc := e.b.ingest(t, bt)
	c, csrf := e.signIn("alice")
	e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"note"}, "text": {"<script>alert(7)</script>"}, "csrf": {csrf}})
	for _, path := range []string{"/ui/", "/ui/incidents/" + inc.ID, "/ui/?q=" + url.QueryEscape("<script>"), "/ui/incidents/" + inc.ID + "/preview"} {
		res, page := e.do(c, "GET", path, nil)
		must(t, res.StatusCode == 200, "%s: %s", path, res.Status)
		for _, bad := range []string{"<script>alert", "<img src=x", "\u202E", "\u2066", "<b>bold", `"><script`} {
			if strings.Contains(page, bad) {
				t.Errorf("%s shows %q", path, bad)
			}
		}
		for _, m := range hrefRE.FindAllStringSubmatch(page, -1) {
			if !strings.HasPrefix(m[1], "/") && !strings.HasPrefix(m[1], "https://") && !strings.HasPrefix(m[1], "#") {
				t.Errorf("%s links to %q", path, m[1])
			}
		}
	}
	_, page := e.do(c, "GET", "/ui/incidents/"+inc.ID, nil)
	must(t, strings.Contains(page, `href="https://grafana.example.com/d/1?a=1&amp;b=2%27"`), "the dashboard link is missing or unescaped:\n%s", page)
	must(t, strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;"), "the title is not shown as text")
}

var hrefRE = regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)

func TestSecurityHeadersEveryPage(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "web", incidents.AlertFiring))
	c, _ := e.signIn("alice")
	anon := e.client()
	for _, tc := range []struct {
		c    *http.Client
		path string
	}{{anon, "/ui/signin"}, {anon, "/ui/"}, {anon, "/ui/signin/link?t=x"}, {anon, "/ui/static/console.css"}, {c, "/ui/"}, {c, "/ui/incidents/" + inc.ID},
		{c, "/ui/incidents/" + inc.ID + "/preview"}, {c, "/ui/declare"}, {c, "/ui/nowhere"}, {c, "/ui/incidents/INC-999"}, {c, "/ui/?state=bogus"},
		{c, "/ui/incidents/" + inc.ID + "/postmortem"}, {c, "/ui/incidents/" + inc.ID + "/postmortem.md"}, {c, "/ui/oncall"}, {c, "/ui/teams"},
		{c, "/ui/insights"}, {anon, "/ical/nope.ics"}, {anon, "/ui/oncall"}} {
		res, _ := e.do(tc.c, "GET", tc.path, nil)
		h := res.Header
		if h.Get("Content-Security-Policy") != console.CSP || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s (%s): CSP %q, nosniff %q, referrer %q", tc.path, res.Status, h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
	want := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
	must(t, console.CSP == want, "CSP: %s", console.CSP)
}

// No page has inline script or style (the CSP would block them).
func TestNoInlineScriptOrStyle(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "web", incidents.AlertFiring))
	c, _ := e.signIn("alice")
	for _, path := range []string{"/ui/", "/ui/incidents/" + inc.ID, "/ui/incidents/" + inc.ID + "/preview", "/ui/declare"} {
		_, page := e.do(c, "GET", path, nil)
		for _, bad := range []string{"<script>", "style=", "<style", "onclick", "onload"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s has %q", path, bad)
			}
		}
	}
}

func TestIncidentsListAndFilters(t *testing.T) {
	e := newEnv(t)
	for i := range 60 {
		bt := batch("r"+string(rune('a'+i%26))+string(rune('a'+i/26)), "resolved thing", "web", incidents.AlertFiring)
		e.b.ingest(t, bt)
		bt.Alerts[0].Status = incidents.AlertResolved
		e.b.ingest(t, bt)
	}
	open := e.b.ingest(t, batch("o1", "checkout errors", "payments", incidents.AlertFiring))
	c, _ := e.signIn("alice")
	_, page := e.do(c, "GET", "/ui/", nil)
	iOpen, iRecent := strings.Index(page, ">Open"), strings.Index(page, ">Recently resolved")
	must(t, iOpen >= 0 && iRecent > iOpen && strings.Index(page, open.ID) < iRecent, "open is not first:\n%s", page)
	must(t, strings.Contains(page, "/ui/?before=11&amp;state=resolved"), "no page of older resolved incidents:\n%s", page)
	_, page = e.do(c, "GET", "/ui/?before=11&state=resolved", nil)
	must(t, strings.Contains(page, "INC-10<") && !strings.Contains(page, "INC-11<") && strings.Contains(page, "INC-1<"), "older page:\n%s", page)
	_, page = e.do(c, "GET", "/ui/?q=checkout", nil)
	must(t, strings.Contains(page, open.ID) && !strings.Contains(page, "resolved thing") && strings.Contains(page, "look through 61 incidents"), "search:\n%s", page)
	_, page = e.do(c, "GET", "/ui/?team=payments&state=open", nil)
	must(t, strings.Contains(page, open.ID) && !strings.Contains(page, "resolved thing"), "team filter")
	_, page = e.do(c, "GET", "/ui/?sev=1", nil)
	must(t, !strings.Contains(page, "INC-"), "severity filter kept SEV2s:\n%s", page)
	res, _ := e.do(c, "GET", "/ui/?team=nope", nil)
	must(t, res.StatusCode == 400, "unknown team: %s", res.Status)
}

func TestIncidentPage(t *testing.T) {
	e := newEnv(t)
	bt := batch("big", "checkout errors", "payments", incidents.AlertFiring)
	for i := range 150 {
		bt.Alerts = append(bt.Alerts, incidents.Alert{Source: "test", Fingerprint: "big-" + string(rune(0x4e00+i)), Status: incidents.AlertFiring,
			Labels: map[string]string{"alertname": "Err", "pod": "p"}, Annotations: map[string]string{"runbook_url": "https://wiki.example.com/rb"}})
	}
	inc := e.b.ingest(t, bt)
	c, csrf := e.signIn("alice")
	_, page := e.do(c, "GET", "/ui/incidents/"+inc.ID, nil)
	for _, want := range []string{"next: call alice in 4m", "Alerts <span class=\"count\">151</span>", "?alerts=100#alerts", `href="https://wiki.example.com/rb"`,
		`href="https://slack.com/archives/C1/p1"`, "/ui/incidents/" + inc.ID + "/preview", `data-key="a"`, `data-key="r"`, `data-live="incident"`} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	res, page := e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"note"}, "kind": {"factor"}, "text": {"it was bob's fault"}, "csrf": {csrf}})
	must(t, res.StatusCode == 200 && strings.Contains(page, "Blameless notes help us learn") && strings.Contains(page, "<h3>factor</h3>"), "note with a hint: %s", res.Status)
	res, page = e.do(c, "POST", "/ui/incidents/"+inc.ID+"/act", url.Values{"verb": {"snooze"}, "duration": {"9y"}, "csrf": {csrf}})
	must(t, res.StatusCode == 400 && strings.Contains(page, "Snooze for 1m to 7d"), "bad snooze: %s", res.Status)
}

func TestDeclare(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.signIn("alice")
	res, _ := e.do(c, "POST", "/ui/declare", url.Values{"title": {"payments down"}, "team": {"payments"}, "severity": {"1"}, "csrf": {csrf}})
	must(t, res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/ui/incidents/INC-1?did=declare"), "declare: %s %s", res.Status, res.Header.Get("Location"))
}

// A change published anywhere reaches an open stream; the stream ends
// when its client leaves, and the hub refuses streams beyond its bound.
func TestEventStream(t *testing.T) {
	e := newEnv(t, func(o *console.Options) { o.MaxStreams = 2 })
	c, _ := e.signIn("alice")
	res, _ := e.do(e.client(), "GET", "/ui/events", nil)
	must(t, res.StatusCode == http.StatusUnauthorized, "a stream without a session: %s", res.Status)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url("/ui/events"), nil)
	resp, err := c.Do(req)
	must(t, err == nil && resp.StatusCode == 200 && resp.Header.Get("Content-Type") == "text/event-stream", "stream: %v %v", err, resp)
	sc := bufio.NewScanner(resp.Body)
	waitFor(t, func() bool { return e.c.Streams() == 1 })
	e.changes.PublishChange(ctx, "INC-7")
	e.changes.PublishChange(ctx, "not an incident\ndata: x")
	got := ""
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "data: ") {
			got = l
			break
		}
	}
	must(t, got == "data: INC-7", "stream said %q", got)
	second, _ := c.Do(mustReq(ctx, e.url("/ui/events")))
	third, _ := c.Do(mustReq(ctx, e.url("/ui/events")))
	must(t, second.StatusCode == 200 && third.StatusCode == http.StatusServiceUnavailable, "bound: %s %s", second.Status, third.Status)
	cancel()
	resp.Body.Close()
	second.Body.Close()
	waitFor(t, func() bool { return e.c.Streams() == 0 })
}

func mustReq(ctx context.Context, u string) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	return r
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The incident page with 100 alerts, its CSS and its JS weigh under
// 100 KB together.
func TestPageWeight(t *testing.T) {
	e := newEnv(t)
	bt := batch("w", "checkout errors on the payment gateway", "payments", incidents.AlertFiring)
	for i := range 99 {
		bt.Alerts = append(bt.Alerts, incidents.Alert{Source: "test", Fingerprint: "w-" + strings.Repeat("x", i%5) + string(rune('A'+i%26)) + string(rune('a'+i/26)),
			Status: incidents.AlertFiring, Severity: incidents.Sev2, StartsAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
			Labels:      map[string]string{"alertname": "HighErrorRate", "service": "checkout", "pod": "checkout-7d9f8-x" + string(rune('a'+i%26)), "namespace": "prod", "cluster": "eu-1"},
			Annotations: map[string]string{"summary": "Error rate above 5% for 10m", "runbook_url": "https://wiki.example.com/runbooks/checkout-errors", "value": "7.3%"}})
	}
	inc := e.b.ingest(t, bt)
	c, _ := e.signIn("alice")
	total := 0
	for _, p := range []string{"/ui/incidents/" + inc.ID, "/ui/static/console.css", "/ui/static/console.js"} {
		_, body := e.do(c, "GET", p, nil)
		t.Logf("%s: %d bytes", p, len(body))
		total += len(body)
	}
	t.Logf("incident page with 100 alerts, CSS and JS: %d bytes", total)
	must(t, total < 100_000, "the incident page with 100 alerts weighs %d bytes", total)
}

// On a klaxon reachable from this machine only that knows no people (a
// first try), the console lets this machine's user in as "local" with the
// link klaxon serve prints (the local token) — never a request without
// it, never one through a proxy on this host, never a page of another site
// (DNS rebinding, a cross-site link) — and its forms still need their CSRF
// token.
func TestLocalConsole(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	e := newEnv(t, func(o *console.Options) { o.LocalToken = token })
	getOn := func(e *env, c *http.Client, path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url(path), nil)
		for i := 0; i+1 < len(header); i += 2 {
			if header[i] == "Host" {
				req.Host = header[i+1]
				continue
			}
			req.Header.Set(header[i], header[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	get := func(c *http.Client, path string, header ...string) *http.Response {
		t.Helper()
		return getOn(e, c, path, header...)
	}
	toSignIn := func(what string, res *http.Response) {
		t.Helper()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/ui/signin") {
			t.Errorf("%s: %d (Location %q), want the sign-in page", what, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// Reaching 127.0.0.1 is not enough: the sign-in page says what is.
	toSignIn("no token", get(e.client(), "/ui/"))
	if _, body := e.do(e.client(), "GET", "/ui/signin", nil); !strings.Contains(body, "klaxon serve</code> printed") {
		t.Errorf("the sign-in page of a local console does not point at serve's link:\n%.500s", body)
	}
	toSignIn("a wrong token", get(e.client(), "/ui/?local=x"+token[1:]))
	toSignIn("a proxy on this host", get(e.client(), "/ui/?local="+token, "X-Forwarded-For", "203.0.113.7"))
	toSignIn("DNS rebinding", get(e.client(), "/ui/?local="+token, "Host", "evil.example:8080"))
	toSignIn("a link on another site", get(e.client(), "/ui/?local="+token, "Sec-Fetch-Site", "cross-site"))

	// serve's link: signed in, and sent to the page without the token.
	c := e.client()
	res := get(c, "/ui/incidents?state=open&local="+token, "Sec-Fetch-Site", "none")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/incidents?state=open" {
		t.Fatalf("serve's link: %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := e.do(c, "GET", "/ui/", nil)
	if res.StatusCode != 200 || !strings.Contains(body, console.LocalPerson) {
		t.Fatalf("GET /ui/ after serve's link: %d\n%.300s", res.StatusCode, body)
	}
	if m := csrfRE.FindStringSubmatch(body); m == nil {
		t.Fatalf("the local page has no CSRF token")
	}
	// A form without its token is refused, local or not.
	if res, _ := e.do(c, "POST", "/ui/declare", url.Values{"title": {"x"}}); res.StatusCode == 200 || res.StatusCode == http.StatusSeeOther {
		t.Errorf("a local form without its CSRF token: %d", res.StatusCode)
	}
	// Without a local token, the same link is sent to sign in.
	closed := newEnv(t)
	toSignIn("a console that is not local", getOn(closed, closed.client(), "/ui/?local="+token))
}
