package prometheus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// TestRealPrometheus runs Debian's Prometheus under a path prefix
// (/prom, as behind a proxy), scraping a gauge of the test's own every
// second whose value goes 1, 2, 3 … one step a scrape, with the alerting
// rule "test_gauge > 2" and a fake Alertmanager. It checks that:
//   - QueryRange answers, at every evaluation time, the last sample
//     Prometheus stored at or before it (read back raw), at two steps;
//   - the alert fires, and the generatorURL Prometheus sends to
//     Alertmanager is external URL + /graph?g0.expr=…&g0.tab=1 of the
//     rule's query, which ExprFromGeneratorURL reads back;
//   - Analyze's split of the rule agrees with Prometheus: the rule's
//     answer is exactly the plotted query's points past the threshold;
//   - every Analyze table case that Prometheus parses has a Query that it
//     parses too and that is a part of the rule as Prometheus prints it,
//     and no case it refuses gets a threshold.
func TestRealPrometheus(t *testing.T) {
	bin := prometheusBinary(t)
	budget := 20 * time.Second
	if d, ok := t.Deadline(); ok && time.Until(d)-2*time.Second < budget {
		budget = time.Until(d) - 2*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	began := time.Now()

	target := &gaugeTarget{}
	targetSrv := httptest.NewServer(target)
	defer targetSrv.Close()
	am := &fakeAlertmanager{}
	amSrv := httptest.NewServer(am)
	defer amSrv.Close()

	base := startPrometheus(ctx, t, bin, hostOf(targetSrv.URL), hostOf(amSrv.URL))
	t.Logf("prometheus ready at %s after %v", base, time.Since(began).Round(time.Millisecond))
	hc := &http.Client{Timeout: 5 * time.Second}

	// Wait for four scrapes and the alert's notification (Prometheus
	// applies its targets and Alertmanagers up to 5 s after it starts).
	var alert amAlert
	for {
		if n := target.served(); n >= 4 {
			if a, ok := am.first("High"); ok {
				alert = a
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %v: %d scrapes, alerts received: %d", time.Since(began), target.served(), len(am.all()))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("4 scrapes and the alert after %v", time.Since(began).Round(time.Millisecond))

	// The raw samples, as Prometheus stored them.
	raw := rawSamples(ctx, t, hc, base, "test_gauge[1m]")
	if len(raw) < 3 {
		t.Fatalf("%d raw samples, want at least 3: %v", len(raw), raw)
	}
	scrapes := target.times()
	for i, s := range raw {
		if s.v != float64(i+1) {
			t.Fatalf("raw sample %d is %v, want %d (served 1, 2, 3 …): %v", i, s.v, i+1, raw)
		}
		// Prometheus stamps a sample with the scrape's start, just before
		// the request reached the target.
		if d := scrapes[i].Sub(s.t); d < -time.Millisecond || d > time.Second {
			t.Errorf("sample %d stamped %v, served at %v", i+1, s.t, scrapes[i])
		}
	}

	c := newClient(t, promds.Options{URL: base, Timeout: 5 * time.Second})
	start, end := raw[0].t, raw[len(raw)-1].t.Add(500*time.Millisecond)
	for _, step := range []time.Duration{time.Second, 300 * time.Millisecond} {
		r, err := c.QueryRange(ctx, "test_gauge", start, end, step)
		if err != nil {
			t.Fatalf("step %v: %v", step, err)
		}
		if len(r.Series) != 1 || r.Series[0].Labels["__name__"] != "test_gauge" || r.Series[0].Labels["job"] != "t" {
			t.Fatalf("step %v: %+v", step, r)
		}
		ps := r.Series[0].Points
		if int64(len(ps)) != promds.Points(start, end, step) {
			t.Errorf("step %v: %d points, want %d", step, len(ps), promds.Points(start, end, step))
		}
		for i, p := range ps {
			at := start.Add(time.Duration(i) * step)
			want := 0.0
			for _, s := range raw {
				if !s.t.After(at) {
					want = s.v
				}
			}
			if !p.T.Equal(at) || p.V != want {
				t.Errorf("step %v, point %d: %v = %v, want %v = %v", step, i, p.T, p.V, at, want)
			}
		}
	}
	if r, err := c.DayBefore(ctx, "test_gauge", start, end, time.Second); err != nil || len(r.Series) != 0 {
		t.Errorf("the day before: %+v, %v; want no series", r, err)
	}
	if _, err := c.QueryRange(ctx, "test_gauge[", start, end, time.Second); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("a bad query: %v", err)
	}

	// The alert, its rule, and the generatorURL Prometheus sent.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Query, State string
				}
			}
		}
	}
	getJSON(ctx, t, hc, base+"/api/v1/rules", &rules)
	if len(rules.Data.Groups) != 1 || len(rules.Data.Groups[0].Rules) != 1 || rules.Data.Groups[0].Rules[0].State != "firing" {
		t.Fatalf("rules: %+v", rules)
	}
	query := rules.Data.Groups[0].Rules[0].Query
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string
				State  string
			}
		}
	}
	getJSON(ctx, t, hc, base+"/api/v1/alerts", &alerts)
	if len(alerts.Data.Alerts) != 1 || alerts.Data.Alerts[0].State != "firing" || alerts.Data.Alerts[0].Labels["alertname"] != "High" {
		t.Fatalf("alerts: %+v", alerts)
	}
	if want := prometheusGeneratorURL(base, query); alert.GeneratorURL != want {
		t.Errorf("generatorURL %q, want %q", alert.GeneratorURL, want)
	}
	expr, ok := promds.ExprFromGeneratorURL(alert.GeneratorURL)
	if !ok || expr != "test_gauge > 2" {
		t.Fatalf("ExprFromGeneratorURL(%q) = %q, %v", alert.GeneratorURL, expr, ok)
	}
	if host, _ := promds.GeneratorHost(alert.GeneratorURL); host != hostOf(base) {
		t.Errorf("GeneratorHost = %q, want %q", host, hostOf(base))
	}
	a := promds.Analyze(expr)
	if a.Query != "test_gauge" || a.Threshold == nil || a.Threshold.Op != ">" || a.Threshold.Value != 2 {
		t.Fatalf("Analyze(%q) = %+v", expr, a)
	}
	plotted, err := c.QueryRange(ctx, a.Query, start, end, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{expr, "2 < test_gauge", "(test_gauge) > (4 / 2)"} {
		b := promds.Analyze(rule)
		if b.Query == "" || b.Threshold == nil || *b.Threshold != *a.Threshold {
			t.Fatalf("Analyze(%q) = %+v", rule, b)
		}
		fired, err := c.QueryRange(ctx, rule, start, end, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var want, got []promds.Point
		for _, p := range plotted.Series[0].Points {
			if p.V > b.Threshold.Value {
				want = append(want, p)
			}
		}
		if len(fired.Series) == 1 {
			got = fired.Series[0].Points
		}
		if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q answered %v; the plotted query's points > 2 are %v", rule, got, want)
		}
	}

	// Prometheus's parser on the Analyze table.
	for _, tc := range analyzeCases {
		exprF, exprOK := formatQuery(ctx, t, hc, base, tc.expr)
		a := promds.Analyze(tc.expr)
		if !exprOK {
			if a.Threshold != nil {
				t.Errorf("%s: Prometheus refuses %q, yet Analyze found a threshold", tc.name, tc.expr)
			}
			continue
		}
		queryF, ok := formatQuery(ctx, t, hc, base, a.Query)
		if !ok {
			t.Errorf("%s: Prometheus refuses the plotted query %q of %q", tc.name, a.Query, tc.expr)
			continue
		}
		if !strings.Contains(squeeze(exprF), squeeze(queryF)) {
			t.Errorf("%s: the plotted query %q is not part of the rule %q (as Prometheus prints them)", tc.name, queryF, exprF)
		}
		if a.Threshold != nil {
			v := promfakeF(a.Threshold.Value)
			if _, ok := formatQuery(ctx, t, hc, base, a.Query+" "+a.Threshold.Op+" "+v); !ok {
				t.Errorf("%s: Prometheus refuses %q %s %s", tc.name, a.Query, a.Threshold.Op, v)
			}
		}
	}
	t.Logf("done after %v", time.Since(began).Round(time.Millisecond))
}

// squeeze drops white space, which Prometheus's printer indents by depth.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

func promfakeF(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func prometheusBinary(t *testing.T) string {
	t.Helper()
	slowtest.Need(t) // a real Prometheus: CI, or KLAXON_SLOW_TESTS=1
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	const msg = "prometheus is not on PATH; install package prometheus (apt-get install prometheus)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: this test must run)")
	}
	t.Skip(msg)
	return ""
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return p.Host
}

// gaugeTarget serves test_gauge, one higher at each scrape, and records
// when each scrape arrived.
type gaugeTarget struct {
	mu sync.Mutex
	at []time.Time
}

func (g *gaugeTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	g.mu.Lock()
	g.at = append(g.at, time.Now())
	n := len(g.at)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP test_gauge A gauge the test moves.\n# TYPE test_gauge gauge\ntest_gauge %d\n", n)
}

func (g *gaugeTarget) times() []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Time(nil), g.at...)
}

func (g *gaugeTarget) served() int { return len(g.times()) }

// amAlert is an alert as Prometheus posts it to Alertmanager's API v2.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	GeneratorURL string            `json:"generatorURL"`
}

// fakeAlertmanager takes POST /api/v2/alerts and keeps the alerts.
type fakeAlertmanager struct {
	mu     sync.Mutex
	alerts []amAlert
}

func (f *fakeAlertmanager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
		http.NotFound(w, r)
		return
	}
	var as []amAlert
	if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.alerts = append(f.alerts, as...)
	f.mu.Unlock()
}

func (f *fakeAlertmanager) all() []amAlert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]amAlert(nil), f.alerts...)
}

func (f *fakeAlertmanager) first(name string) (amAlert, bool) {
	for _, a := range f.all() {
		if a.Labels["alertname"] == name {
			return a, true
		}
	}
	return amAlert{}, false
}

// startPrometheus writes the config and rules, starts Prometheus on a free
// loopback port under the path prefix /prom and returns its external URL
// once it is ready. Prometheus is killed when the test ends.
func startPrometheus(ctx context.Context, t *testing.T, bin, target, alertmanager string) string {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(rules, []byte(`groups:
  - name: t
    interval: 1s
    rules:
      - alert: High
        expr: test_gauge > 2
`), 0o600); err != nil {
		t.Fatal(err)
	}
	yml := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs: [{targets: [%q]}]
scrape_configs:
  - job_name: t
    static_configs: [{targets: [%q]}]
`, rules, alertmanager, target)
	if err := os.WriteFile(conf, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		base, out, err := tryPrometheus(ctx, t, bin, conf, filepath.Join(dir, fmt.Sprintf("data%d", attempt)))
		if err == nil {
			return base
		}
		if attempt < 3 && strings.Contains(out, "address already in use") {
			t.Logf("prometheus could not bind, retrying: %v", err)
			continue
		}
		t.Fatalf("prometheus did not start: %v\nconfig:\n%s\noutput:\n%s", err, yml, out)
	}
}

func tryPrometheus(ctx context.Context, t *testing.T, bin, conf, storage string) (base, output string, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base = "http://" + addr + "/prom"

	out := &lockedBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+conf,
		"--storage.tsdb.path="+storage,
		"--web.listen-address="+addr,
		"--web.external-url="+base,
		"--log.level=info",
	)
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
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/-/ready", nil)
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
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	return base, "", nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func getJSON(ctx context.Context, t *testing.T, hc *http.Client, u string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, body)
	}
}

type rawSample struct {
	t time.Time
	v float64
}

// rawSamples reads a range selector's raw samples with an instant query.
func rawSamples(ctx context.Context, t *testing.T, hc *http.Client, base, selector string) []rawSample {
	t.Helper()
	var ans struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			}
		}
	}
	getJSON(ctx, t, hc, base+"/api/v1/query?query="+url.QueryEscape(selector), &ans)
	if len(ans.Data.Result) != 1 {
		t.Fatalf("%s: %d series", selector, len(ans.Data.Result))
	}
	var out []rawSample
	for _, v := range ans.Data.Result[0].Values {
		ts, _ := v[0].(float64)
		s, _ := v[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rawSample{t: time.UnixMilli(int64(ts*1000 + 0.5)).UTC(), v: f})
	}
	return out
}

// formatQuery asks Prometheus to parse and print expr; ok is false when
// Prometheus refuses it.
func formatQuery(ctx context.Context, t *testing.T, hc *http.Client, base, expr string) (string, bool) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/format_query", strings.NewReader(url.Values{"query": {expr}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Status    string `json:"status"`
		Data      string `json:"data"`
		ErrorType string `json:"errorType"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatalf("format_query %q: %v", expr, err)
	}
	if ans.Status != "success" && ans.ErrorType != "bad_data" {
		t.Fatalf("format_query %q: %+v", expr, ans)
	}
	return ans.Data, ans.Status == "success"
}
