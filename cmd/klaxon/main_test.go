package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var addrRE = regexp.MustCompile(`msg="klaxon listening" addr=(\S+)`)

// startServe runs `klaxon serve -c cfg` and returns its base URL, its log
// and a stop function that returns serve's error.
func startServe(t testing.TB, cfg string) (string, *syncBuffer, func() error) {
	t.Helper()
	return startServeArgs(t, "serve", "-c", cfg)
}

// startServeArgs runs klaxon with args (serve and its flags), as
// startServe does.
func startServeArgs(t testing.TB, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &bytes.Buffer{}, logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			stop := func() error {
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(10 * time.Second):
					return errors.New("serve did not stop within 10s")
				}
			}
			t.Cleanup(func() { cancel() })
			return "http://" + m[1], logs, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

type incidentList struct {
	Incidents []struct {
		ID, State, Title string
		Alerts           []json.RawMessage
	} `json:"incidents"`
}

func TestServeFireResolveAndShutdown(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s}
store: {data_dir: %q}
sources:
  alertmanager: {token: "${TEST_AM_TOKEN:-t0ken-0123456789ab}"}
`, filepath.Join(dir, "data")))
	base, logs, stop := startServe(t, cfg)
	if !strings.Contains(logs.String(), "point Alertmanager's webhook_configs url at "+base+"/hooks/alertmanager") {
		t.Errorf("log does not say where to point Alertmanager:\n%s", logs)
	}

	var out bytes.Buffer
	err := run(context.Background(), []string{"fire", "--url", base}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("fire without the token: %v, want a 401", err)
	}
	if err := run(context.Background(), []string{"fire", "--url", base, "--token", "t0ken-0123456789ab"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("fire: %v", err)
	}
	if !strings.Contains(out.String(), "INC-1 opened, now triggered") || !strings.Contains(out.String(), base+"/api/v1/incidents/INC-1") {
		t.Fatalf("fire output:\n%s", out.String())
	}
	var list incidentList
	if code := getJSON(t, base+"/api/v1/incidents?state=open", &list); code != 200 || len(list.Incidents) != 1 || list.Incidents[0].ID != "INC-1" {
		t.Fatalf("open incidents: %d %+v", code, list)
	}
	out.Reset()
	if err := run(context.Background(), []string{"fire", "--url", base, "--token", "t0ken-0123456789ab"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "INC-1 unchanged (a duplicate)") {
		t.Fatalf("second fire: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"fire", "--url", base, "--token", "t0ken-0123456789ab", "--resolve"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "INC-1 updated, now resolved") {
		t.Fatalf("fire --resolve: %v\n%s", err, out.String())
	}
	if err := stop(); err != nil {
		t.Fatalf("serve after SIGTERM-like cancel: %v", err)
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs)
	}
	if strings.Contains(logs.String(), "t0ken") {
		t.Fatal("the token reached the log")
	}

	// Restarted on the same data, the incident is still there.
	base, _, stop = startServe(t, cfg)
	if code := getJSON(t, base+"/api/v1/incidents?state=resolved", &list); code != 200 || len(list.Incidents) != 1 {
		t.Fatalf("after restart: %d %+v", code, list)
	}
	stop()
}

func TestServeRefusesBusyPort(t *testing.T) {
	dir := t.TempDir()
	base, _, stop := startServe(t, writeFile(t, "a.yaml", fmt.Sprintf("server: {listen: \"127.0.0.1:0\"}\nstore: {data_dir: %q}\n", filepath.Join(dir, "a"))))
	defer stop()
	busy := strings.TrimPrefix(base, "http://")
	cfg := writeFile(t, "b.yaml", fmt.Sprintf("server: {listen: %q}\nstore: {data_dir: %q}\n", busy, filepath.Join(dir, "b")))
	err := run(context.Background(), []string{"serve", "-c", cfg}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+busy) {
		t.Fatalf("serve on a busy port: %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	good := writeFile(t, "good.yaml", "server: {listen: 127.0.0.1:9000}\nincidents: {reopen_window: 30m}\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "-c", good}, &out, &bytes.Buffer{}); err != nil || !strings.HasSuffix(out.String(), ": ok\n") {
		t.Fatalf("good config: %v %q", err, out.String())
	}
	bad := writeFile(t, "bad.yaml", "server:\n  listn: 127.0.0.1:9000\nincidents:\n  reopen_window: soon\n")
	out.Reset()
	err := run(context.Background(), []string{"check-config", "-c", bad}, &out, &bytes.Buffer{})
	if err == nil || err.Error() != bad+": 2 errors" {
		t.Fatalf("bad config: %v", err)
	}
	for _, want := range []string{`server.listn (line 2): unknown key (did you mean "listen"?)`, "incidents.reopen_window (line 4):"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out.String())
		}
	}
	tdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tdir, "card.tmpl"), []byte(`{{define "title"}}{{.Nope}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := writeFile(t, "tmpl.yaml", fmt.Sprintf("templates_dir: %q\n", tdir))
	out.Reset()
	err = run(context.Background(), []string{"check-config", "-c", broken}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(out.String(), "templates_dir (line 1): "+tdir+": ") || !strings.Contains(out.String(), "can't evaluate field Nope") {
		t.Fatalf("broken template: %v\n%s", err, out.String())
	}
	var u usageError
	if err := run(context.Background(), []string{"check-config"}, &out, &bytes.Buffer{}); !errors.As(err, &u) {
		t.Fatalf("check-config without a file: %v, want a usage error", err)
	}
}

// One run reports the errors of every section and of every check serve
// makes (bot's validation, templates, webhook mappings), sorted by line.
func TestCheckConfigAllErrors(t *testing.T) {
	tdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tdir, "card.tmpl"), []byte(`{{define "title"}}{{.Nope}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`server:
  listen: 127.0.0.1:8080
  shutdown_timeout: 25
sources:
  alertmanager:
    token: short
  webhook:
    - name: uptime
      token: uptime-token-0123456789
      fields: {title: '{{ lowr .name }}'}
teams:
  - name: payments
    policy: defualt
    slack: {channel: C0123ABCD}
default_team: payments
people:
  - {name: alice, phone: "555-0100"}
policies:
  - name: default
    steps: [{notify: channel}, {wait: 1d}, {mention: alcie}]
slack: {bot_token: "${KLAXON_TEST_UNSET_TOKEN}"}
templates_dir: %q
`, tdir))
	var out bytes.Buffer
	err := run(context.Background(), []string{"check-config", "-c", cfg}, &out, &bytes.Buffer{})
	want := []string{
		`server.shutdown_timeout (line 3): want a duration with a unit, such as "25s" or "25m", got "25"`,
		`sources.alertmanager.token (line 6): is 5 characters long: at least 16, or anyone could guess it`,
		`sources.webhook[0].fields.title (line 10): at 1: function "lowr" not defined`,
		`teams[0].policy (line 13): no policy "defualt" (did you mean "default"?)`,
		`people[0].phone (line 17): want an E.164 number such as +15551230001, got "555-0100"`,
		`policies[0].steps[1].wait (line 20): want a duration such as "24h" (Go durations have no "d": 1d is 24h)`,
		`policies[0].steps[2].mention (line 20): want oncall, a person or a team, got "alcie" (did you mean "alice"?)`,
		`slack.bot_token (line 21): environment variable KLAXON_TEST_UNSET_TOKEN is not set (give a default with ${KLAXON_TEST_UNSET_TOKEN:-default})`,
		`templates_dir (line 22): ` + tdir + `: `,
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var errLines []string
	for _, l := range lines {
		if !strings.Contains(l, ": note: ") {
			errLines = append(errLines, strings.TrimPrefix(l, cfg+": "))
		}
	}
	if len(errLines) != len(want) {
		t.Fatalf("%d errors, want %d (the slack client's \"a bot token is required\" echoes slack.bot_token):\n%s", len(errLines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(errLines[i], w) {
			t.Errorf("error %d:\n%s\nwant\n%s", i, errLines[i], w)
		}
	}
	if err == nil || err.Error() != fmt.Sprintf("%s: %d errors", cfg, len(want)) {
		t.Errorf("err = %v, want the count", err)
	}
	if !strings.Contains(out.String(), cfg+": sources.grafana: note: /hooks/grafana answers 401 to everyone: has no credentials while sources.alertmanager has") {
		t.Errorf("no note on Grafana's closed hook:\n%s", out.String())
	}
}

// A file that is not YAML stops the checks, and says so once.
func TestCheckConfigNotYAML(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", "server:\n  listen: 127.0.0.1:8080\nsources:\n  alertmanager:\n\ttoken: x\n")
	var out bytes.Buffer
	err := run(context.Background(), []string{"check-config", "-c", cfg}, &out, &bytes.Buffer{})
	if want := cfg + ": line 5: has a tab: YAML indents with spaces only\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if err == nil || err.Error() != cfg+": 1 error (nothing else is checked until the file parses as YAML)" {
		t.Errorf("err = %v", err)
	}
}

// The example config passes check-config with its secrets from the
// environment, and fails it without one of them.
func TestCheckConfigExample(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	t.Setenv("KLAXON_API_TOKEN", "")
	t.Setenv("REDIS_URL", "")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "-c", "../../deploy/klaxon.example.yaml"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("check-config of the example: %v\n%s", err, out.String())
	}
	if want := "../../deploy/klaxon.example.yaml: ok\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	t.Setenv("GRAFANA_TOKEN", "change-me")
	out.Reset()
	err := run(context.Background(), []string{"check-config", "-c", "../../deploy/klaxon.example.yaml"}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(out.String(), "sources.grafana.token (line 47): is a placeholder: set the real one") {
		t.Errorf("a placeholder in $GRAFANA_TOKEN: %v\n%s", err, out.String())
	}
}

func TestCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "klaxon ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	var u usageError
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve", "--nope"}, {"serve", "extra"}, {"serve", "-log-level", "loud"}} {
		if err := run(context.Background(), args, &out, &errb); !errors.As(err, &u) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
	err := run(context.Background(), []string{"fire", "--url", "http://127.0.0.1:1"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "is `klaxon serve` running?") {
		t.Fatalf("fire with nothing listening: %v", err)
	}
}

func TestServeOnRedis(t *testing.T) {
	rdb := storetest.Redis(t)
	url := storetest.RedisURL()
	prefix := storetest.Prefix("cmd")
	cfg := writeFile(t, "redis.yaml", fmt.Sprintf("server: {listen: \"127.0.0.1:0\"}\nstore:\n  redis: {url: %q, key_prefix: %q}\n", url, prefix))
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	base, _, stop := startServe(t, cfg)
	defer stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"fire", "--url", base, "--alertname", "RedisE2E"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var list incidentList
	if getJSON(t, base+"/api/v1/incidents", &list); len(list.Incidents) != 1 || list.Incidents[0].State != "triggered" {
		t.Fatalf("incidents on Redis: %+v", list)
	}
	var ready map[string]string
	if code := getJSON(t, base+"/readyz", &ready); code != 200 {
		t.Fatalf("readyz on Redis: %d %v", code, ready)
	}
}
