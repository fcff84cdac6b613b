package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

const (
	readToken  = "read-token-0123456789abcdef"
	aliceToken = "alice-token-0123456789abcdef"
	bobToken   = "bob-token-0123456789abcdefgh"
	ciToken    = "ci-token-0123456789abcdefghi"
)

// apiEnv is klaxon beyond loopback with a read token, alice's and bob's
// write tokens, a machine's write token acting as no one, and a team
// whose responders are alice only.
func apiEnv(t *testing.T) *env {
	return newEnv(t, boltStore(t), func(c *bot.Config) {
		c.Server.Listen = "0.0.0.0:8080"
		c.Sources.Alertmanager = &bot.HookAuth{AllowUnauthenticated: true}
		c.People = []bot.PersonConfig{{Name: "alice"}, {Name: "bob"}}
		c.APITokens = []bot.APITokenConfig{
			{Name: "dashboards", Token: readToken},
			{Name: "alice-laptop", Token: aliceToken, As: "alice", Scope: bot.ScopeWrite},
			{Name: "bob-laptop", Token: bobToken, As: "bob", Scope: bot.ScopeWrite},
			{Name: "ci", Token: ciToken, Scope: bot.ScopeWrite},
		}
		c.Teams = []bot.TeamConfig{{Name: "payments", Responders: []string{"alice"}}, {Name: "web"}}
		c.DefaultTeam = "payments"
	})
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestAPIWriteAuthorization(t *testing.T) {
	e := apiEnv(t)
	r := e.do("POST", "/hooks/alertmanager", amPayload("g1"))
	if r.code != 200 {
		t.Fatalf("webhook: %d %s", r.code, r.body)
	}
	id := r.json(t)["incident"].(string)
	ack := "/api/v1/incidents/" + id + "/ack"

	for _, c := range []struct {
		name string
		hdr  []string
		want int
		msg  string
	}{
		{"no token", nil, 401, "Authorization: Bearer"},
		{"wrong token", bearer("nope-nope-nope-nope-nope"), 401, "wrong token"},
		{"basic auth", []string{"Authorization", "Basic YTpi"}, 401, "Bearer"},
		{"read token", bearer(readToken), 403, "scope: read"},
		{"bob, not a responder", bearer(bobToken), 403, "only the payments team's responders (alice)"},
		{"a machine token acting as no one", bearer(ciToken), 403, "responders"},
	} {
		got := e.do("POST", ack, "", c.hdr...)
		if got.code != c.want || !strings.Contains(got.body, c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, got.code, got.body, c.want, c.msg)
		}
		if c.want == 401 && got.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	// Reading: any valid token.
	for _, tok := range []string{readToken, aliceToken, ciToken} {
		if got := e.do("GET", "/api/v1/incidents/"+id, "", bearer(tok)...); got.code != 200 {
			t.Errorf("GET with a valid token: %d %s", got.code, got.body)
		}
	}
	// alice acknowledges: the timeline says so, by the API.
	got := e.do("POST", ack, "", bearer(aliceToken)...)
	if got.code != 200 || !strings.Contains(got.body, "Acknowledged by alice (api)") {
		t.Fatalf("alice's ack: %d %s", got.code, got.body)
	}
	if inc := got.json(t)["incident"].(map[string]any); inc["state"] != "acknowledged" || inc["ackedBy"] != "alice (api)" {
		t.Fatalf("answer: %v", inc)
	}
	// The same again is a conflict, an unknown incident is not found.
	if got := e.do("POST", ack, "", bearer(aliceToken)...); got.code != 409 || !strings.Contains(got.body, "already acknowledged") {
		t.Errorf("second ack: %d %s", got.code, got.body)
	}
	if got := e.do("POST", "/api/v1/incidents/INC-999/ack", "", bearer(aliceToken)...); got.code != 404 {
		t.Errorf("unknown incident: %d %s", got.code, got.body)
	}
	if got := e.do("POST", "/api/v1/incidents/nope/ack", "", bearer(aliceToken)...); got.code != 400 {
		t.Errorf("bad ID: %d %s", got.code, got.body)
	}
	if got := e.do("GET", ack, "", bearer(aliceToken)...); got.code != 405 || got.header.Get("Allow") != "POST" {
		t.Errorf("GET on an action: %d %s (Allow %q)", got.code, got.body, got.header.Get("Allow"))
	}
	// The CLI says it is the CLI: the timeline says so.
	got = e.do("POST", "/api/v1/incidents/"+id+"/unack", "", append(bearer(aliceToken), "X-Klaxon-Via", "cli")...)
	if got.code != 200 || !strings.Contains(got.body, "Unacknowledged by alice (cli)") {
		t.Fatalf("unack from the CLI: %d %s", got.code, got.body)
	}
	// A team without responders: any write token acts, a machine's under
	// its own name.
	e.clock.Add(time.Minute)
	decl := e.do("POST", "/api/v1/incidents", `{"title": "Checkout slow", "team": "web", "severity": 2}`, bearer(ciToken)...)
	if decl.code != 201 || decl.header.Get("Location") == "" {
		t.Fatalf("declare: %d %s", decl.code, decl.body)
	}
	webID := decl.json(t)["incident"].(map[string]any)["id"].(string)
	if got := e.do("POST", "/api/v1/incidents/"+webID+"/ack", "", bearer(ciToken)...); got.code != 200 || !strings.Contains(got.body, "ci (api)") {
		t.Fatalf("ci acks a web incident: %d %s", got.code, got.body)
	}
}

func TestAPIActions(t *testing.T) {
	e := apiEnv(t)
	post := func(path, body string) response {
		t.Helper()
		return e.do("POST", path, body, bearer(aliceToken)...)
	}
	r := post("/api/v1/incidents", `{"title": "Payments down", "severity": "sev1", "summary": "card payments fail"}`)
	if r.code != 201 {
		t.Fatalf("declare: %d %s", r.code, r.body)
	}
	inc := r.json(t)["incident"].(map[string]any)
	id := inc["id"].(string)
	if inc["severity"] != 1.0 || inc["team"] != "payments" || inc["title"] != "Payments down" {
		t.Fatalf("declared: %v", inc)
	}
	base := "/api/v1/incidents/" + id + "/"
	for _, c := range []struct {
		action, body string
		want         int
		text         string // in the answer
	}{
		{"severity", `{"severity": 2}`, 200, "Severity SEV1 → SEV2 (set by alice (api))"},
		{"severity", `{"severity": 7}`, 400, "1 is worst"},
		{"severity", `{"sev": 2}`, 400, `unknown field "sev"`},
		{"lead", `{"person": "@bob"}`, 200, "bob is incident commander (named by alice (api))"},
		{"role", `{"role": "scribe", "person": "alice"}`, 200, "alice is scribe"},
		{"role", `{"role": "chef", "person": "alice"}`, 400, "the roles are scribe and comms"},
		{"notes", `{"text": "the pool was too small", "kind": "factor"}`, 200, "Note (factor) added"},
		{"notes", `{"text": "bob was careless"}`, 200, "blameless"},
		{"notes", `{}`, 400, `notes takes {"text"`},
		{"snooze", `{"duration": "2h"}`, 200, "snoozed for 2h"},
		{"snooze", `{"duration": "forever"}`, 400, "30m, 2h, 1d"},
		{"escalate", ``, 200, "Escalation to the next step asked for by alice (api)"},
		{"ack", `{"summary": "x"}`, 400, `ack takes no body, not "summary"`},
		{"resolve", `{"summary": "pool resized"}`, 200, "Resolved by alice (api): pool resized"},
		{"resolve", ``, 409, "already resolved"},
		{"reopen", ``, 200, "Reopened by alice (api)"},
		{"ack", `not json`, 400, "not the JSON"},
		{"ack", `{} {}`, 400, "more than one"},
	} {
		got := post(base+c.action, c.body)
		text := got.body
		if got.code >= 400 {
			text, _ = got.json(t)["error"].(string)
		}
		if got.code != c.want || !strings.Contains(text, c.text) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.action, c.body, got.code, got.body, c.want, c.text)
		}
	}
	full := e.do("GET", "/api/v1/incidents/"+id, "", bearer(readToken)...).json(t)
	if full["summary"] != "pool resized" || full["lead"] != "bob" {
		t.Errorf("after the actions: summary %v, lead %v", full["summary"], full["lead"])
	}
	if got := post("/api/v1/incidents", `{"title": "x", "team": "paymnets"}`); got.code != 400 || !strings.Contains(got.body, `did you mean \"payments\"`) {
		t.Errorf("declare for a misspelt team: %d %s", got.code, got.body)
	}
	if got := post("/api/v1/incidents", `{"severity": 1}`); got.code != 400 || !strings.Contains(got.body, "title") {
		t.Errorf("declare without a title: %d %s", got.code, got.body)
	}
}

// On loopback with no token configured, this machine may read, and the
// CLI on it acts with the local token klaxon serve keeps for its user,
// naming who they are. Reaching 127.0.0.1 is not enough: not through a
// proxy on this host, not from a page of another site (a form, DNS
// rebinding), not without the token.
func TestAPIOpenOnLoopback(t *testing.T) {
	e := newEnv(t, boltStore(t), func(c *bot.Config) { c.People = []bot.PersonConfig{{Name: "alice"}} })
	id := e.do("POST", "/hooks/alertmanager", amPayload("g1")).json(t)["incident"].(string)
	local := []string{"Authorization", "Bearer " + testLocalToken}
	got := e.do("POST", "/api/v1/incidents/"+id+"/ack", "", append(local, "X-Klaxon-Via", "cli", "X-Klaxon-As", "alice")...)
	if got.code != 200 || !strings.Contains(got.body, "Acknowledged by alice (cli)") {
		t.Fatalf("ack with the local token: %d %s", got.code, got.body)
	}
	if got := e.do("POST", "/api/v1/incidents/"+id+"/note", `{"text": "x"}`, local...); got.code != 404 && got.code != 405 {
		t.Errorf("a misspelt action: %d %s", got.code, got.body)
	}
	if got := e.do("GET", "/api/v1/incidents/"+id, ""); got.code != 200 {
		t.Errorf("a read from this machine: %d %s", got.code, got.body)
	}
	for _, c := range []struct {
		what string
		hdr  []string
	}{
		{"no token", nil},
		{"a token in another header", []string{"X-Klaxon-As", "alice"}},
		{"a wrong token", []string{"Authorization", "Bearer " + strings.Repeat("0", 64)}},
	} {
		if got := e.do("POST", "/api/v1/incidents/"+id+"/unack", "", c.hdr...); got.code != 401 {
			t.Errorf("a change with %s: %d %s", c.what, got.code, got.body)
		}
	}
	for _, c := range []struct {
		what string
		hdr  []string
	}{
		{"another machine", []string{"RemoteAddr", "192.0.2.7:5000"}},
		{"a proxy on this host", []string{"X-Forwarded-For", "203.0.113.7"}},
		{"DNS rebinding", []string{"Host", "evil.example:8080"}},
		{"a page of another site", []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}},
	} {
		if got := e.do("GET", "/api/v1/incidents", "", c.hdr...); got.code != 401 {
			t.Errorf("a read from %s: %d %.200s", c.what, got.code, got.body)
		}
		if got := e.do("POST", "/hooks/alertmanager", amPayload("g-"+c.what), c.hdr...); got.code != 401 || !strings.Contains(got.body, "this machine only") {
			t.Errorf("an alert from %s: %d %.200s", c.what, got.code, got.body)
		}
	}
	// A public URL says something forwards requests from elsewhere:
	// nothing local is trusted.
	p := newEnv(t, boltStore(t), func(c *bot.Config) { c.Server.PublicURL = "https://klaxon.example.com" })
	if got := p.do("GET", "/api/v1/incidents", ""); got.code != 401 {
		t.Errorf("a read with server.public_url set: %d", got.code)
	}
	if got := p.do("POST", "/api/v1/incidents", `{"title": "x"}`, local...); got.code != 401 {
		t.Errorf("the local token with server.public_url set: %d", got.code)
	}
	if got := p.do("POST", "/hooks/alertmanager", amPayload("g1")); got.code != 401 {
		t.Errorf("an alert without credentials with server.public_url set: %d", got.code)
	}
	// Beyond loopback, server.api_open opens reading only.
	o := newEnv(t, boltStore(t), func(c *bot.Config) {
		c.Server.Listen, c.Server.APIOpen = "0.0.0.0:8080", true
		c.Sources.Alertmanager = &bot.HookAuth{AllowUnauthenticated: true}
	})
	oid := o.do("POST", "/hooks/alertmanager", amPayload("g1")).json(t)["incident"].(string)
	if got := o.do("GET", "/api/v1/incidents/"+oid, ""); got.code != 200 {
		t.Errorf("api_open read: %d", got.code)
	}
	if got := o.do("POST", "/api/v1/incidents/"+oid+"/ack", ""); got.code != 401 || !strings.Contains(got.body, "scope write") {
		t.Errorf("api_open write: %d %s", got.code, got.body)
	}
}

func TestAPIOncall(t *testing.T) {
	e := newEscEnv(t, boltStore(t))
	r := e.do("GET", "/api/v1/oncall", "")
	if r.code != 200 {
		t.Fatalf("oncall: %d %s", r.code, r.body)
	}
	list := r.json(t)["oncall"].([]any)
	if len(list) != 1 {
		t.Fatalf("oncall: %s", r.body)
	}
	first := list[0].(map[string]any)
	if first["team"] != "payments" || first["now"].(map[string]any)["person"] != "alice" || first["next"].(map[string]any)["person"] != "bob" {
		t.Errorf("oncall: %s", r.body)
	}
	if r := e.do("GET", "/api/v1/oncall?team=paymnts", ""); r.code != 404 || !strings.Contains(r.body, "did you mean") {
		t.Errorf("misspelt team: %d %s", r.code, r.body)
	}
}

// noUpdateStore fails every Update, as Redis blinking after a write would.
type noUpdateStore struct{ incidents.Store }

func (noUpdateStore) Update(context.Context, string, func(*incidents.Incident) error) (*incidents.Incident, error) {
	return nil, incidents.Errorf(incidents.Unavailable, "the store blinked")
}

// Declaring is one write: the incident and who declared it are stored
// together, so a failure after it cannot answer 5xx for an incident that
// exists (and pages), and the timeline always says who declared it.
func TestDeclareIsOneWrite(t *testing.T) {
	st := boltStore(t)
	e := newEnv(t, noUpdateStore{st}, nil)
	r := e.do("POST", "/api/v1/incidents", `{"title": "Payments down", "severity": 1}`, "Authorization", "Bearer "+testLocalToken, "X-Klaxon-As", "alice")
	if r.code != 201 {
		t.Fatalf("declare with Update failing: %d %s", r.code, r.body)
	}
	id := r.json(t)["incident"].(map[string]any)["id"].(string)
	inc, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if last := inc.Timeline[len(inc.Timeline)-1]; last.Text != "Declared by alice (api)" {
		t.Errorf("the timeline ends with %q", last.Text)
	}
}
