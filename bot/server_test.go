package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/adapters/grafana"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func boltStore(t testing.TB) incidents.Store {
	s, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// redisStore returns a store on storetest.Redis under a fresh prefix.
func redisStore(t testing.TB) incidents.Store {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("bot")
	s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
	t.Cleanup(func() {
		s.Close()
		storetest.DeleteKeys(rdb, prefix)
	})
	return s
}

// deadStore is a Redis store whose server does not answer.
func deadStore(t testing.TB) incidents.Store {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	s := redisstore.New(rdb, redisstore.Options{ReconcileEvery: -1, Logger: discardLogger()})
	t.Cleanup(func() { s.Close(); rdb.Close() })
	return s
}

type env struct {
	t     testing.TB
	h     http.Handler
	clock *fakeClock
	store incidents.Store
}

func newEnv(t testing.TB, store incidents.Store, mutate func(*bot.Config)) *env {
	cfg := bot.DefaultConfig()
	if mutate != nil {
		mutate(cfg)
	}
	return newEnvSources(t, store, cfg, map[string]bot.Parser{"alertmanager": alertmanager.Parse})
}

// newEnvSources is a server for cfg on store, serving sources, on a fake
// clock at 2026-03-01 12:00 UTC.
func newEnvSources(t testing.TB, store incidents.Store, cfg *bot.Config, sources map[string]bot.Parser) *env {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	srv, err := bot.New(cfg, bot.Deps{
		Store:   store,
		Sources: sources,
		Clock:   clock,
		Logger:  discardLogger(),
		Version: "test",
		// What klaxon serve keeps for this machine's user when no API
		// token is configured and klaxon listens on loopback.
		LocalToken: testLocalToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: srv.Handler(), clock: clock, store: store}
}

// testLocalToken is the local token (internal/localtrust) of the test
// servers.
const testLocalToken = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"

type response struct {
	code   int
	header http.Header
	body   string
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request from this machine (a loopback peer, to
// 127.0.0.1:8080); the pseudo-headers "RemoteAddr" and "Host" in hdr say
// otherwise.
func (e *env) do(method, path, body string, hdr ...string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:8080"
	for i := 0; i+1 < len(hdr); i += 2 {
		switch hdr[i] {
		case "RemoteAddr":
			req.RemoteAddr = hdr[i+1]
		case "Host":
			req.Host = hdr[i+1]
		default:
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func payload(t testing.TB) string {
	b, err := os.ReadFile("testdata/am-firing.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHookStatusCodes(t *testing.T) {
	valid := payload(t)
	withToken := func(c *bot.Config) { c.Sources.Alertmanager = &bot.HookAuth{Token: "s3cret-token-0123456789"} }
	withBasic := func(c *bot.Config) {
		c.Sources.Alertmanager = &bot.HookAuth{Basic: &bot.BasicAuth{Username: "am", Password: "pa55-long-enough-0"}}
	}
	small := func(c *bot.Config) { c.Server.MaxBodyBytes = 512 }
	cases := []struct {
		name   string
		store  func(testing.TB) incidents.Store
		cfg    func(*bot.Config)
		method string
		body   string
		hdr    []string
		code   int
		errMsg string
	}{
		{"stored", boltStore, nil, "POST", valid, nil, 200, ""},
		{"malformed JSON", boltStore, nil, "POST", `{"version":`, nil, 400, "malformed JSON at byte 11"},
		{"wrong version", boltStore, nil, "POST", strings.Replace(valid, `"version": "4"`, `"version": "2"`, 1), nil, 400, `version is "2"`},
		{"missing group key", boltStore, nil, "POST", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, nil, 400, "groupKey is missing"},
		{"no bearer token", boltStore, withToken, "POST", valid, nil, 401, "bearer token required"},
		{"wrong bearer token", boltStore, withToken, "POST", valid, []string{"Authorization", "Bearer nope"}, 401, "wrong credentials"},
		{"right bearer token", boltStore, withToken, "POST", valid, []string{"Authorization", "Bearer s3cret-token-0123456789"}, 200, ""},
		{"no basic credentials", boltStore, withBasic, "POST", valid, nil, 401, "basic credentials required"},
		{"wrong basic password", boltStore, withBasic, "POST", valid, []string{"Authorization", "Basic YW06d3Jvbmc="}, 401, "wrong credentials"},
		{"right basic credentials", boltStore, withBasic, "POST", valid, []string{"Authorization", "Basic YW06cGE1NS1sb25nLWVub3VnaC0w"}, 200, ""},
		{"body too large", boltStore, small, "POST", valid, nil, 413, "request body is larger than server.max_body_bytes"},
		{"store unreachable", deadStore, nil, "POST", valid, nil, 503, "the store is unavailable, try again"},
		{"wrong method", boltStore, nil, "GET", "", nil, 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.store(t), c.cfg)
			r := e.do(c.method, "/hooks/alertmanager", c.body, c.hdr...)
			if r.code != c.code {
				t.Fatalf("status %d, want %d; body %s", r.code, c.code, r.body)
			}
			if c.errMsg != "" {
				if got := r.json(t)["error"]; got == nil || !strings.Contains(got.(string), c.errMsg) {
					t.Fatalf("error %q, want it to contain %q", got, c.errMsg)
				}
			}
			switch c.code {
			case 200:
				m := r.json(t)
				if m["incident"] != "INC-1" || m["created"] != true || m["state"] != "triggered" {
					t.Fatalf("body = %v", m)
				}
				if _, err := e.store.Get(context.Background(), "INC-1"); err != nil {
					t.Fatalf("200 answered but not stored: %v", err)
				}
			case 401:
				if r.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				if strings.Contains(r.body, "s3cret") || strings.Contains(r.body, "pa55") {
					t.Fatal("401 body leaks the secret")
				}
				fallthrough
			case 400, 413:
				if l, _ := e.store.List(context.Background(), incidents.ListOptions{}); len(l) != 0 {
					t.Fatalf("refused request stored %d incidents", len(l))
				}
			case 503:
				if r.header.Get("Retry-After") == "" {
					t.Fatal("503 without Retry-After")
				}
			}
		})
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	r := e.do("GET", "/nope", "")
	if r.code != 404 || r.json(t)["error"] != "no such endpoint: GET /nope" {
		t.Fatalf("%d %s", r.code, r.body)
	}
}

// Alertmanager retries, HA peers and repeat_interval all send the same
// notification again: 20 at once must make one incident and one timeline
// entry per change.
func TestConcurrentReplayMakesOneIncident(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) incidents.Store{"bolt": boltStore, "redis": redisStore} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk(t), nil)
			body := payload(t)
			var wg sync.WaitGroup
			codes := make(chan int, 20)
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes <- e.do("POST", "/hooks/alertmanager", body).code
				}()
			}
			wg.Wait()
			close(codes)
			for c := range codes {
				if c != 200 {
					t.Fatalf("a replay got %d", c)
				}
			}
			list, err := e.store.List(context.Background(), incidents.ListOptions{})
			if err != nil || len(list) != 1 {
				t.Fatalf("%d incidents (%v), want 1", len(list), err)
			}
			inc, err := e.store.Get(context.Background(), list[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(inc.Timeline) != 2 || inc.Timeline[0].Kind != incidents.EventTriggered || inc.Timeline[1].Kind != incidents.EventAlertsFiring {
				t.Fatalf("timeline = %+v, want opened + one firing entry", inc.Timeline)
			}
			if len(inc.Alerts) != 2 || inc.Severity != incidents.Sev1 {
				t.Fatalf("alerts %d severity %v", len(inc.Alerts), inc.Severity)
			}
		})
	}
}

func TestLifecycleThroughWebhook(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	body := payload(t)
	if r := e.do("POST", "/hooks/alertmanager", body); r.code != 200 {
		t.Fatal(r.body)
	}
	e.clock.Add(10 * time.Minute)
	resolved := strings.ReplaceAll(body, `"status": "firing"`, `"status": "resolved"`)
	r := e.do("POST", "/hooks/alertmanager", resolved)
	if m := r.json(t); m["state"] != "resolved" || m["changed"] != true {
		t.Fatalf("resolve: %v", m)
	}
	// Fires again 20 minutes later, a new occurrence: reopens INC-1.
	e.clock.Add(20 * time.Minute)
	again := strings.ReplaceAll(body, "2026-03-01T11:5", "2026-03-01T12:3")
	if m := e.do("POST", "/hooks/alertmanager", again).json(t); m["incident"] != "INC-1" || m["reopened"] != true {
		t.Fatalf("refire within window: %v", m)
	}
	e.clock.Add(5 * time.Minute)
	e.do("POST", "/hooks/alertmanager", strings.ReplaceAll(again, `"status": "firing"`, `"status": "resolved"`))
	// Three hours later, past the 1h reopen window: a new incident.
	e.clock.Add(3 * time.Hour)
	later := strings.ReplaceAll(body, "2026-03-01T11:5", "2026-03-01T15:5")
	if m := e.do("POST", "/hooks/alertmanager", later).json(t); m["incident"] != "INC-2" || m["created"] != true {
		t.Fatalf("refire after window: %v", m)
	}
}

func TestAPI(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	for i := 1; i <= 3; i++ {
		b := strings.ReplaceAll(payload(t), "HighLatency", fmt.Sprintf("Alert%d", i))
		b = strings.ReplaceAll(b, `"fingerprint": "`, fmt.Sprintf(`"fingerprint": "%d`, i))
		if r := e.do("POST", "/hooks/alertmanager", b); r.code != 200 {
			t.Fatal(r.body)
		}
	}
	if _, err := e.store.Update(context.Background(), "INC-2", func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Acknowledge, "alice", "", e.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	ids := func(path string) string {
		r := e.do("GET", path, "")
		if r.code != 200 {
			t.Fatalf("GET %s: %d %s", path, r.code, r.body)
		}
		var out struct {
			Incidents []incidents.Incident `json:"incidents"`
			Next      string               `json:"next_before"`
		}
		json.Unmarshal([]byte(r.body), &out)
		var s []string
		for _, inc := range out.Incidents {
			s = append(s, inc.ID)
		}
		return fmt.Sprint(s) + out.Next
	}
	for path, want := range map[string]string{
		"/api/v1/incidents":                          "[INC-3 INC-2 INC-1]",
		"/api/v1/incidents?state=open":               "[INC-3 INC-2 INC-1]",
		"/api/v1/incidents?state=acknowledged":       "[INC-2]",
		"/api/v1/incidents?state=triggered":          "[INC-3 INC-1]",
		"/api/v1/incidents?state=resolved":           "[]",
		"/api/v1/incidents?limit=2":                  "[INC-3 INC-2]INC-2",
		"/api/v1/incidents?limit=2&before=INC-2":     "[INC-1]",
		"/api/v1/incidents?state=triggered,resolved": "[INC-3 INC-1]",
	} {
		if got := ids(path); got != want {
			t.Errorf("GET %s = %s, want %s", path, got, want)
		}
	}
	for path, code := range map[string]int{
		"/api/v1/incidents?state=bogus":  400,
		"/api/v1/incidents?limit=0":      400,
		"/api/v1/incidents?limit=100000": 400,
		"/api/v1/incidents?before=x":     400,
		"/api/v1/incidents/INC-99":       404,
		"/api/v1/incidents/banana":       400,
	} {
		if r := e.do("GET", path, ""); r.code != code || r.json(t)["error"] == "" {
			t.Errorf("GET %s = %d %s, want %d with an error", path, r.code, r.body, code)
		}
	}
	r := e.do("GET", "/api/v1/incidents/inc-2", "")
	var inc incidents.Incident
	if err := json.Unmarshal([]byte(r.body), &inc); err != nil || inc.ID != "INC-2" || inc.AckedBy != "alice" || len(inc.Alerts) != 2 || len(inc.Timeline) != 3 {
		t.Fatalf("GET INC-2: %d %+v", r.code, inc)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	up := newEnv(t, boltStore(t), nil)
	if r := up.do("GET", "/healthz", ""); r.code != 200 {
		t.Fatalf("healthz %d", r.code)
	}
	if r := up.do("GET", "/readyz", ""); r.code != 200 {
		t.Fatalf("readyz with a live store: %d", r.code)
	}
	down := newEnv(t, deadStore(t), nil)
	if r := down.do("GET", "/healthz", ""); r.code != 200 {
		t.Fatalf("healthz must not depend on the store: %d", r.code)
	}
	if r := down.do("GET", "/readyz", ""); r.code != 503 {
		t.Fatalf("readyz with a dead store: %d", r.code)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	e.do("POST", "/hooks/alertmanager", payload(t))
	e.do("POST", "/hooks/alertmanager", payload(t))
	e.do("POST", "/hooks/alertmanager", "{")
	e.do("GET", "/api/v1/incidents/INC-7", "")
	r := e.do("GET", "/metrics", "")
	for _, want := range []string{
		`klaxon_alerts_received_total{source="alertmanager",status="firing"} 4`,
		`klaxon_incidents_opened_total{source="alertmanager",team=""} 1`,
		`klaxon_incidents_open{state="triggered"} 1`,
		`klaxon_incidents_open{state="acknowledged"} 0`,
		`klaxon_store_up 1`,
		`klaxon_http_requests_total{code="200",method="POST",route="POST /hooks/alertmanager"} 2`,
		`klaxon_http_requests_total{code="400",method="POST",route="POST /hooks/alertmanager"} 1`,
		`klaxon_http_request_errors_total{class="client",route="POST /hooks/alertmanager"} 1`,
		`klaxon_http_request_errors_total{class="client",route="GET /api/v1/incidents/{id}"} 1`,
		`klaxon_http_request_duration_seconds_count{route="POST /hooks/alertmanager"} 3`,
		`klaxon_build_info{version="test"} 1`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAPIToken(t *testing.T) {
	e := newEnv(t, boltStore(t), func(c *bot.Config) { c.Server.APIToken = "api-s3cret-0123456789" })
	if r := e.do("GET", "/api/v1/incidents", ""); r.code != 401 || !strings.Contains(r.json(t)["error"].(string), "send Authorization: Bearer") {
		t.Fatalf("no token: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/api/v1/incidents/INC-1", "", "Authorization", "Bearer nope"); r.code != 401 {
		t.Fatalf("wrong token: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/api/v1/incidents", "", "Authorization", "Bearer api-s3cret-0123456789"); r.code != 200 {
		t.Fatalf("right token: %d %s", r.code, r.body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := e.do("GET", path, ""); r.code != 200 {
			t.Errorf("%s needs no token, got %d", path, r.code)
		}
	}
}

// Incident data is not public: beyond loopback the API needs a token,
// unless server.api_open says otherwise (issue 13: /api/ was open by
// default, and the deploy kit listened on 0.0.0.0 without one).
func TestAPIClosedBeyondLoopback(t *testing.T) {
	for _, c := range []struct {
		listen string
		open   bool
		want   int
	}{
		{"0.0.0.0:8080", false, 401},
		{":8080", false, 401},
		{"[::]:8080", false, 401},
		{"10.1.2.3:8080", false, 401},
		{"0.0.0.0:8080", true, 200},
		{"127.0.0.1:8080", false, 200},
		{"localhost:8080", false, 200},
		{"[::1]:8080", false, 200},
	} {
		e := newEnv(t, boltStore(t), func(cfg *bot.Config) { cfg.Server.Listen, cfg.Server.APIOpen = c.listen, c.open })
		for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/INC-1", "/api/v1/incidents/INC-1/postmortem.md"} {
			r := e.do("GET", path, "")
			if got := r.code; (c.want == 401) != (got == 401) {
				t.Errorf("listen %s, api_open %v: GET %s = %d, want %d", c.listen, c.open, path, got, c.want)
			}
			if r.code == 401 && (!strings.Contains(r.body, "server.api_token") || r.header.Get("WWW-Authenticate") == "") {
				t.Errorf("listen %s: 401 does not say what to set: %s", c.listen, r.body)
			}
		}
	}
}

// slowStore holds every Ingest until released, to fill the webhook slots.
type slowStore struct {
	incidents.Store
	release chan struct{}
	entered chan struct{}
}

func (s *slowStore) Ingest(ctx context.Context, b *incidents.Batch, o incidents.IngestOptions) (*incidents.IngestResult, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.Ingest(ctx, b, o)
}

func TestMaxWebhooks(t *testing.T) {
	slow := &slowStore{Store: boltStore(t), release: make(chan struct{}), entered: make(chan struct{}, 8)}
	e := newEnv(t, slow, func(c *bot.Config) { c.Server.MaxWebhooks = 2 })
	body := payload(t)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- e.do("POST", "/hooks/alertmanager", body).code }()
	}
	<-slow.entered
	<-slow.entered
	start := time.Now()
	r := e.do("POST", "/hooks/alertmanager", body)
	if r.code != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.json(t)["error"].(string), "server.max_webhooks") {
		t.Fatalf("third webhook with 2 slots busy: %d %s", r.code, r.body)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("refused after %v, want a wait for a free slot first", waited)
	}
	close(slow.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("a held webhook got %d", c)
		}
	}
	if r := e.do("GET", "/metrics", ""); !strings.Contains(r.body, `klaxon_webhooks_busy_total{source="alertmanager"} 1`) ||
		!strings.Contains(r.body, "klaxon_webhooks_in_flight 0") {
		t.Fatalf("metrics after the storm:\n%s", r.body)
	}
}

// Issue 14: with only sources.alertmanager.token set, an unauthenticated
// POST to /hooks/grafana answered by opening an incident. A source
// without credentials is served only when that is no accident.
func TestUnauthenticatedHookIsNoAccident(t *testing.T) {
	const body = `{"version":"1","groupKey":"{}:{alertname=\"x\"}","status":"firing","orgId":1,"alerts":[{"status":"firing","labels":{"alertname":"x"},"fingerprint":"f1","startsAt":"2026-03-01T11:00:00Z"}]}`
	sources := map[string]bot.Parser{"alertmanager": alertmanager.Parse, "grafana": grafana.Parse}
	for _, c := range []struct {
		name   string
		listen string
		auth   func(*bot.Config)
		want   int
	}{
		{"only alertmanager has a token", "127.0.0.1:8080", func(c *bot.Config) { c.Sources.Alertmanager = &bot.HookAuth{Token: "am-token-0123456789abcdef"} }, 401},
		{"no credentials, beyond loopback", "0.0.0.0:8080", nil, 401},
		{"no credentials, on loopback", "127.0.0.1:8080", nil, 200},
		{"opened on purpose", "0.0.0.0:8080", func(c *bot.Config) {
			c.Sources.Alertmanager = &bot.HookAuth{Token: "am-token-0123456789abcdef"}
			c.Sources.Grafana = &bot.HookAuth{AllowUnauthenticated: true}
		}, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := bot.DefaultConfig()
			cfg.Server.Listen = c.listen
			cfg.Server.APIOpen = true
			if c.auth != nil {
				c.auth(cfg)
			}
			e := newEnvSources(t, boltStore(t), cfg, sources)
			r := e.do("POST", "/hooks/grafana", body)
			if r.code != c.want {
				t.Fatalf("POST /hooks/grafana: %d %s, want %d", r.code, r.body, c.want)
			}
			if c.want == 401 {
				if !strings.Contains(r.body, "/hooks/grafana") || r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 does not say why: %s", r.body)
				}
				if n := storedCount(e); n != 0 {
					t.Errorf("%d incidents opened by an unauthenticated POST", n)
				}
			}
		})
	}
}
