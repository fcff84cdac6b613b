package alertmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// e2eToken is the bearer token Alertmanager must send (http_config.authorization).
const e2eToken = "e2e-bearer-token-7f3a"

// TestRealAlertmanager runs Debian's real Alertmanager against klaxon's
// handler on a loopback listener: alerts posted to Alertmanager's API must
// reach klaxon through the webhook receiver (with its bearer token) and
// open, grow and resolve exactly one incident.
func TestRealAlertmanager(t *testing.T) {
	bin := e2eAlertmanagerBinary(t)

	// Nothing below may outlive this, whatever Alertmanager does.
	budget := 25 * time.Second
	if d, ok := t.Deadline(); ok && time.Until(d)-2*time.Second < budget {
		budget = time.Until(d) - 2*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	began := time.Now()

	// klaxon: bolt store, real clock, bearer token on the Alertmanager hook.
	store, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := bot.DefaultConfig()
	cfg.Sources.Alertmanager = &bot.HookAuth{Token: bot.Secret(e2eToken)}
	klaxonLog := &e2eBuffer{}
	srv, err := bot.New(cfg, bot.Deps{
		Store:   store,
		Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse},
		Clock:   incidents.SystemClock{},
		Logger:  slog.New(slog.NewTextHandler(klaxonLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version: "e2e",
	})
	if err != nil {
		t.Fatal(err)
	}
	hooks := &e2eHookRecorder{next: srv.Handler()}
	klaxon := httptest.NewServer(hooks)
	t.Cleanup(klaxon.Close) // registered before Alertmanager's kill, so it runs after it
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("klaxon log:\n%s", klaxonLog.String())
			for i, c := range hooks.snapshot() {
				t.Logf("webhook call #%d: %d (authorization ok: %v)\n%s", i+1, c.status, c.authOK, c.body)
			}
		}
	})

	am := e2eStartAlertmanager(ctx, t, bin, klaxon.URL+"/hooks/alertmanager")
	t.Logf("alertmanager ready at %s after %v", am, time.Since(began).Round(time.Millisecond))

	client := &http.Client{Timeout: 5 * time.Second}
	now := time.Now().UTC().Truncate(time.Millisecond)
	const summary = "Disk almost full on the db service"
	db1 := e2eAlert{
		Labels:       map[string]string{"alertname": "DiskFull", "service": "db", "severity": "warning", "instance": "db-1"},
		Annotations:  map[string]string{"summary": summary},
		StartsAt:     now,
		GeneratorURL: "http://prometheus.example:9090/graph?g0.expr=disk_free_ratio+%3C+0.1",
	}

	// 1. One alert: one triggered incident.
	e2ePostAlerts(ctx, t, client, am, db1)
	list := e2eWaitIncidents(ctx, t, client, klaxon.URL, hooks, "an incident for DiskFull db-1",
		func(l []incidents.Incident) bool { return len(l) > 0 })
	if len(list) != 1 {
		t.Fatalf("want 1 incident, got %d: %s", len(list), e2eJSON(list))
	}
	inc := list[0]
	if inc.Title != summary || inc.Severity != incidents.Sev3 || inc.State != incidents.Triggered ||
		inc.Source != alertmanager.Source || inc.GroupKey == "" || inc.ExternalURL != am ||
		inc.GroupLabels["alertname"] != "DiskFull" || inc.GroupLabels["service"] != "db" || len(inc.GroupLabels) != 2 {
		t.Fatalf("incident after the first alert:\n%s", e2eJSON(inc))
	}
	if len(inc.Alerts) != 1 {
		t.Fatalf("want 1 alert, got %d:\n%s", len(inc.Alerts), e2eJSON(inc))
	}
	if a := inc.Alerts[0]; a.Status != incidents.AlertFiring || a.Labels["instance"] != "db-1" || a.Fingerprint == "" ||
		a.Source != alertmanager.Source || a.Severity != incidents.Sev3 || !a.StartsAt.Equal(db1.StartsAt) ||
		!a.EndsAt.IsZero() || a.GeneratorURL != db1.GeneratorURL || a.Annotations["summary"] != summary {
		t.Fatalf("alert after the first alert:\n%s", e2eJSON(a))
	}
	id, groupKey := inc.ID, inc.GroupKey
	t.Logf("%s opened after %v: group key %s", id, time.Since(began).Round(time.Millisecond), groupKey)

	// 2. A second alert of the same group joins the same incident.
	db2 := db1
	db2.Labels = map[string]string{"alertname": "DiskFull", "service": "db", "severity": "warning", "instance": "db-2"}
	db2.StartsAt = time.Now().UTC().Truncate(time.Millisecond)
	e2ePostAlerts(ctx, t, client, am, db2)
	list = e2eWaitIncidents(ctx, t, client, klaxon.URL, hooks, "db-2 to join "+id,
		func(l []incidents.Incident) bool { return len(l) != 1 || len(l[0].Alerts) >= 2 })
	if len(list) != 1 || list[0].ID != id {
		t.Fatalf("want only %s, got %d incidents: %s", id, len(list), e2eJSON(list))
	}
	inc = list[0]
	if inc.State != incidents.Triggered || inc.GroupKey != groupKey || len(inc.Alerts) != 2 {
		t.Fatalf("incident after the second alert:\n%s", e2eJSON(inc))
	}
	var instances []string
	for _, a := range inc.Alerts {
		if a.Status != incidents.AlertFiring {
			t.Fatalf("alert %s is %s, want firing:\n%s", a.Labels["instance"], a.Status, e2eJSON(inc))
		}
		instances = append(instances, a.Labels["instance"])
	}
	slices.Sort(instances)
	if !slices.Equal(instances, []string{"db-1", "db-2"}) || inc.Alerts[0].Fingerprint == inc.Alerts[1].Fingerprint {
		t.Fatalf("alerts after the second alert:\n%s", e2eJSON(inc.Alerts))
	}

	// 3. Resolve both (same startsAt, endsAt a second ago): the incident resolves.
	ends := time.Now().UTC().Add(-time.Second).Truncate(time.Millisecond)
	if ends.Before(db2.StartsAt) {
		ends = db2.StartsAt // Alertmanager refuses endsAt before startsAt
	}
	r1, r2 := db1, db2
	r1.EndsAt, r2.EndsAt = ends, ends
	e2ePostAlerts(ctx, t, client, am, r1, r2)
	list = e2eWaitIncidents(ctx, t, client, klaxon.URL, hooks, id+" to resolve",
		func(l []incidents.Incident) bool { return len(l) != 1 || l[0].State == incidents.Resolved })
	if len(list) != 1 || list[0].ID != id {
		t.Fatalf("want only %s, got %d incidents: %s", id, len(list), e2eJSON(list))
	}
	inc = list[0]
	if inc.State != incidents.Resolved || inc.ResolvedBy != alertmanager.Source || inc.ResolvedAt.IsZero() || len(inc.Alerts) != 2 {
		t.Fatalf("incident after resolving:\n%s", e2eJSON(inc))
	}
	for _, a := range inc.Alerts {
		if a.Status != incidents.AlertResolved || !a.EndsAt.Equal(ends) {
			t.Fatalf("alert %s: status %s endsAt %v, want resolved at %v:\n%s",
				a.Labels["instance"], a.Status, a.EndsAt, ends, e2eJSON(inc))
		}
	}

	// Every webhook call was authorised and stored.
	calls := hooks.snapshot()
	if len(calls) < 3 {
		t.Fatalf("klaxon got %d webhook calls, want at least 3 (firing, firing, resolved)", len(calls))
	}
	for i, c := range calls {
		if c.status != http.StatusOK || !c.authOK {
			t.Errorf("webhook call #%d: status %d, authorization ok %v: %s", i+1, c.status, c.authOK, c.body)
		}
	}
	t.Logf("klaxon got %d webhook calls in %v, all 200; first payload:\n%s",
		len(calls), time.Since(began).Round(time.Millisecond), calls[0].body)
	for i, c := range calls[1:] {
		t.Logf("payload #%d:\n%s", i+2, c.body)
	}
}

// e2eAlertmanagerBinary finds Alertmanager on PATH: it skips the test when
// there is none, and fails it when CI=true.
func e2eAlertmanagerBinary(t *testing.T) string {
	t.Helper()
	slowtest.Need(t) // a real Alertmanager: CI, or KLAXON_SLOW_TESTS=1
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "neither prometheus-alertmanager nor alertmanager is on PATH; install package prometheus-alertmanager (apt-get install prometheus-alertmanager)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: this test must run)")
	}
	t.Skip(msg)
	return ""
}

// e2eStartAlertmanager starts Alertmanager (see e2eRunAlertmanager) with
// a config whose only receiver is hookURL.
func e2eStartAlertmanager(ctx context.Context, t *testing.T, bin, hookURL string) string {
	t.Helper()
	yml := fmt.Sprintf(`route:
  receiver: klaxon
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: klaxon
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: %q
`, hookURL, e2eToken)
	return e2eRunAlertmanager(ctx, t, bin, e2eAM{config: yml})
}

// e2eAM is an Alertmanager for e2eRunAlertmanager to start.
type e2eAM struct {
	config    string // alertmanager.yml
	webConfig string // --web.config.file, if not empty
	// user and pass are the basic auth of webConfig, for the readiness probe.
	user, pass string
}

// e2eRunAlertmanager starts Alertmanager with am's configuration on a free
// loopback port, waits until it is ready and returns its base URL. It
// kills Alertmanager when the test ends, and shows its output if the test
// failed.
func e2eRunAlertmanager(ctx context.Context, t *testing.T, bin string, am e2eAM) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte(am.config), 0o600); err != nil {
		t.Fatal(err)
	}
	if am.webConfig != "" {
		web := filepath.Join(dir, "web.yml")
		if err := os.WriteFile(web, []byte(am.webConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		am.webConfig = web
	}
	// The free port is found by closing a listener, so another process may
	// take it first: try again with a new one when the bind fails.
	for attempt := 1; ; attempt++ {
		base, out, err := e2eTryAlertmanager(ctx, t, bin, conf, filepath.Join(dir, fmt.Sprintf("data%d", attempt)), am)
		if err == nil {
			return base
		}
		if attempt < 3 && strings.Contains(out, "address already in use") {
			t.Logf("alertmanager could not bind, retrying: %v", err)
			continue
		}
		t.Fatalf("alertmanager did not start: %v\nconfig:\n%s\noutput:\n%s", err, am.config, out)
	}
}

func e2eTryAlertmanager(ctx context.Context, t *testing.T, bin, conf, storage string, am e2eAM) (base, output string, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base = "http://" + addr

	out := &e2eBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+conf,
		"--storage.path="+storage,
		"--web.listen-address="+addr,
		"--web.external-url="+base,
		"--cluster.listen-address=", // no gossip, no settle wait
		"--log.level=debug",
	)
	if am.webConfig != "" {
		cmd.Args = append(cmd.Args, "--web.config.file="+am.webConfig)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return "", out.String(), fmt.Errorf("exited early: %v", waitErr)
		case <-ctx.Done():
			stop()
			return "", out.String(), fmt.Errorf("not ready at %s/-/ready: %w", base, ctx.Err())
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/-/ready", nil)
		if am.user != "" {
			req.SetBasicAuth(am.user, am.pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out.String())
		}
	})
	return base, "", nil
}

// e2eAlert is an alert as Alertmanager's API v2 takes it.
type e2eAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func e2ePostAlerts(ctx context.Context, t *testing.T, client *http.Client, am string, alerts ...e2eAlert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", am+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST /api/v2/alerts: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s: %s\nsent: %s", resp.Status, b, body)
	}
}

// e2eWaitIncidents polls klaxon's incident list every 100ms, for at most
// 20s, until done accepts it; it fails at once when klaxon has answered a
// webhook call with anything but 200.
func e2eWaitIncidents(ctx context.Context, t *testing.T, client *http.Client, klaxon string,
	hooks *e2eHookRecorder, what string, done func([]incidents.Incident) bool) []incidents.Incident {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var last []incidents.Incident
	var lastErr error
	for {
		last, lastErr = e2eListIncidents(ctx, client, klaxon)
		if lastErr == nil && done(last) {
			return last
		}
		// Alertmanager sends a refused notification again every
		// group_interval, so waiting longer would only repeat the failure.
		for i, c := range hooks.snapshot() {
			if c.status != http.StatusOK {
				t.Fatalf("waiting for %s: webhook call #%d got %d from klaxon (authorization ok: %v): %s",
					what, i+1, c.status, c.authOK, c.body)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s (%d webhook calls so far); last error: %v; last list:\n%s",
				what, len(hooks.snapshot()), lastErr, e2eJSON(last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// e2eListIncidents lists the incidents and reads each in full: the list
// holds summaries (counts, not alerts), GET /api/v1/incidents/{id} the
// alerts.
func e2eListIncidents(ctx context.Context, client *http.Client, klaxon string) ([]incidents.Incident, error) {
	var out struct {
		Incidents []incidents.Incident `json:"incidents"`
	}
	if err := e2eGetJSON(ctx, client, klaxon+"/api/v1/incidents", &out); err != nil {
		return nil, err
	}
	for i, sum := range out.Incidents {
		if err := e2eGetJSON(ctx, client, klaxon+"/api/v1/incidents/"+url.PathEscape(sum.ID), &out.Incidents[i]); err != nil {
			return nil, err
		}
	}
	return out.Incidents, nil
}

func e2eGetJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %v: %s", u, err, b)
	}
	return nil
}

// e2eHookRecorder passes requests on to klaxon and records every webhook
// call: its body, whether it carried the token, and klaxon's status.
type e2eHookRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	calls []e2eCall
}

type e2eCall struct {
	status int
	authOK bool
	body   string
}

func (h *e2eHookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/hooks/") {
		h.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &e2eStatusWriter{ResponseWriter: w, status: http.StatusOK}
	h.next.ServeHTTP(sw, r)
	pretty := string(body)
	var buf bytes.Buffer
	if json.Indent(&buf, body, "", "  ") == nil {
		pretty = buf.String()
	}
	h.mu.Lock()
	h.calls = append(h.calls, e2eCall{
		status: sw.status,
		authOK: r.Header.Get("Authorization") == "Bearer "+e2eToken,
		body:   pretty,
	})
	h.mu.Unlock()
}

func (h *e2eHookRecorder) snapshot() []e2eCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

type e2eStatusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *e2eStatusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *e2eStatusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// e2eBuffer is a bytes.Buffer safe for a process or logger to write while
// the test reads it.
type e2eBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *e2eBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func e2eJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%+v (%v)", v, err)
	}
	return string(b)
}
