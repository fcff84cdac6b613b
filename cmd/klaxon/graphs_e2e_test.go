package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// TestGraphsRealPrometheus: Debian's Prometheus scrapes a gauge of the
// test's own every second and evaluates the rule "test_gauge > 2"; the
// test moves the gauge from 1 to 5, the alert goes through the real
// Alertmanager to klaxon serve, and klaxon draws the incident's graph from
// that Prometheus (matched by its generator URL's host). The values klaxon
// plotted (graph.json) are the samples Prometheus stored, point by point,
// and the graph shows the threshold and where the alert started.
func TestGraphsRealPrometheus(t *testing.T) {
	slowtest.Need(t) // real Prometheus and Alertmanager: CI, or KLAXON_SLOW_TESTS=1
	promBin := e2eBinary(t, "prometheus", "prometheus")
	amBin := e2eBinary(t, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()

	gauge := &movingGauge{v: 1}
	target := httptest.NewServer(gauge)
	defer target.Close()
	addr := freeAddr(t)
	am := startE2EProcess(ctx, t, amBin, "alertmanager", func(dir, listen string) ([]string, string) {
		conf := filepath.Join(dir, "alertmanager.yml")
		writeE2EFile(t, conf, fmt.Sprintf(`route:
  receiver: klaxon
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: klaxon
    webhook_configs: [{url: "http://%s/hooks/alertmanager", send_resolved: true}]
`, addr))
		return []string{"--config.file=" + conf, "--storage.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + listen,
			"--web.external-url=http://" + listen, "--cluster.listen-address="}, ""
	})
	prom := startE2EProcess(ctx, t, promBin, "prometheus", func(dir, listen string) ([]string, string) {
		rules, conf := filepath.Join(dir, "rules.yml"), filepath.Join(dir, "prometheus.yml")
		writeE2EFile(t, rules, "groups:\n  - name: t\n    interval: 1s\n    rules:\n      - {alert: High, expr: test_gauge > 2}\n")
		writeE2EFile(t, conf, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
alerting:
  alertmanagers: [{api_version: v2, static_configs: [{targets: [%q]}]}]
scrape_configs:
  - {job_name: t, static_configs: [{targets: [%q]}]}
`, rules, strings.TrimPrefix(am, "http://"), strings.TrimPrefix(target.URL, "http://")))
		return []string{"--config.file=" + conf, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + listen,
			"--web.external-url=http://" + listen + "/prom"}, "/prom"
	})
	promHost := strings.TrimPrefix(strings.TrimSuffix(prom, "/prom"), "http://")
	// klaxon on the three chat fakes, which accept uploads only as the
	// platforms do: the picture must reach each card's thread.
	f := startFakes(t)
	cfg := writeFile(t, "klaxon.yaml", mustReplace(t, f.config(fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))),
		`server: {listen: "127.0.0.1:0",`, fmt.Sprintf(`server: {listen: %q,`, addr), 1)+fmt.Sprintf(`
datasources:
  - {name: other, url: "http://127.0.0.1:1", match: {host: "prometheus.example:9090"}}
  - {name: local, url: %q, match: {host: %q}, window: 1m}
`, prom, promHost))
	base, logs, stop := startServe(t, cfg)
	defer stop()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("klaxon log:\n%s", logs)
		}
	})
	t.Logf("prometheus %s, alertmanager %s, klaxon %s ready after %v", prom, am, base, time.Since(began).Round(time.Millisecond))

	// Three scrapes at 1, then 5: the rule fires.
	waitUntil(t, 20*time.Second, "three scrapes", func() bool { return gauge.scrapes() >= 3 })
	gauge.set(5)
	var list struct{ Incidents []struct{ ID string } }
	waitUntil(t, 30*time.Second, "the incident", func() bool {
		getJSON(t, base+"/api/v1/incidents", &list)
		return len(list.Incidents) > 0
	})
	id := list.Incidents[0].ID
	var plotted struct {
		Datasource, Query, Unit string
		Threshold               *struct {
			Op    string
			Value float64
		}
		Start, End, AlertStart time.Time
		Step                   string
		Series                 []struct {
			Labels map[string]string
			Points [][2]any
		}
		Previous []json.RawMessage
	}
	waitUntil(t, 15*time.Second, "the graph", func() bool {
		return getJSON(t, base+"/api/v1/incidents/"+id+"/graph.json", &plotted) == 200
	})
	t.Logf("%s's graph after %v", id, time.Since(began).Round(time.Millisecond))
	if plotted.Datasource != "local" || plotted.Query != "test_gauge" || plotted.Threshold == nil || plotted.Threshold.Op != ">" ||
		plotted.Threshold.Value != 2 || plotted.Step != "1s" || plotted.End.Sub(plotted.Start) != time.Minute || len(plotted.Previous) != 0 {
		t.Fatalf("plotted %+v", plotted)
	}
	if len(plotted.Series) != 1 || plotted.Series[0].Labels["__name__"] != "test_gauge" || plotted.Series[0].Labels["job"] != "t" {
		t.Fatalf("series %+v", plotted.Series)
	}
	var inc struct {
		Alerts []struct {
			StartsAt     time.Time
			GeneratorURL string
		}
	}
	getJSON(t, base+"/api/v1/incidents/"+id, &inc)
	if len(inc.Alerts) != 1 || !plotted.AlertStart.Equal(inc.Alerts[0].StartsAt) || !strings.Contains(inc.Alerts[0].GeneratorURL, promHost+"/prom/graph?g0.expr=") {
		t.Errorf("alert start %v, alerts %+v", plotted.AlertStart, inc.Alerts)
	}

	// Point by point: the last sample Prometheus stored at or before the
	// point's time, as the range query's evaluation has it.
	raw := promSamples(ctx, t, prom, "test_gauge[2m]", plotted.End)
	points := plotted.Series[0].Points
	if len(points) < 3 {
		t.Fatalf("%d points plotted; the samples: %v", len(points), raw)
	}
	seen := map[string]bool{}
	for _, p := range points {
		at := time.UnixMilli(int64(p[0].(float64)*1000 + 0.5))
		want := ""
		for _, s := range raw {
			if !s.t.After(at) {
				want = s.v
			}
		}
		if got := p[1].(string); got != want {
			t.Errorf("plotted %s at %v; Prometheus stored %q last before it (samples %v)", got, at.Format("15:04:05.000"), want, raw)
		}
		seen[p[1].(string)] = true
	}
	if !seen["1"] || !seen["5"] {
		t.Errorf("plotted values %v: want the gauge's 1 and 5", seen)
	}
	resp, err := http.Get(base + "/api/v1/incidents/" + id + "/graph.png")
	if err != nil {
		t.Fatal(err)
	}
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
		t.Fatalf("graph.png: %s, %d bytes", resp.Status, len(png))
	}

	// The same picture in each card's thread, on every platform.
	waitUntil(t, 20*time.Second, "the graph on Slack, Mattermost and Telegram", func() bool {
		return len(f.slack.Images(e2eSlack)) > 0 && len(f.mm.Images(e2eMM)) > 0 && len(f.tg.Photos(e2eTG)) > 0
	})
	si, mi, tp := f.slack.Images(e2eSlack)[0], f.mm.Images(e2eMM)[0], f.tg.Photos(e2eTG)[0]
	if !bytes.Equal(si.Bytes, png) || si.ThreadTS == "" {
		t.Errorf("Slack: %d bytes in thread %q; want graph.png's %d bytes under the card", len(si.Bytes), si.ThreadTS, len(png))
	}
	if !bytes.Equal(mi.Bytes, png) || mi.RootID == "" {
		t.Errorf("Mattermost: %d bytes under root %q; want graph.png's %d bytes under the card", len(mi.Bytes), mi.RootID, len(png))
	}
	if !bytes.Equal(tp.Bytes, png) || tp.ReplyTo == 0 {
		t.Errorf("Telegram: %d bytes replying to %d; want graph.png's %d bytes replying to the card", len(tp.Bytes), tp.ReplyTo, len(png))
	}
	if v := f.violations(); len(v) > 0 {
		t.Errorf("platform limit violations: %v", v)
	}
}

// movingGauge serves test_gauge with the value the test sets.
type movingGauge struct {
	mu sync.Mutex
	v  float64
	n  int
}

func (g *movingGauge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	v := g.v
	g.n++
	g.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE test_gauge gauge\ntest_gauge %s\n", strconv.FormatFloat(v, 'g', -1, 64))
}

func (g *movingGauge) set(v float64) { g.mu.Lock(); g.v = v; g.mu.Unlock() }

func (g *movingGauge) scrapes() int { g.mu.Lock(); defer g.mu.Unlock(); return g.n }

type promSample struct {
	t time.Time
	v string
}

// promSamples reads the raw samples of a range selector at time at.
func promSamples(ctx context.Context, t *testing.T, prom, selector string, at time.Time) []promSample {
	t.Helper()
	u := prom + "/api/v1/query?query=" + url.QueryEscape(selector) + "&time=" + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct{ Values [][2]any }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data.Result) != 1 {
		t.Fatalf("raw samples: %v %+v", err, body)
	}
	var out []promSample
	for _, p := range body.Data.Result[0].Values {
		out = append(out, promSample{t: time.UnixMilli(int64(p[0].(float64)*1000 + 0.5)), v: p[1].(string)})
	}
	return out
}

// e2eBinary finds one of names on PATH; without it the test fails on CI
// and is skipped elsewhere.
func e2eBinary(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not on PATH; install package %s", names[0], pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: this test must run)")
	}
	t.Skip(msg)
	return ""
}

func writeE2EFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startE2EProcess runs bin with the arguments args gives for a free
// loopback address, until /-/ready (under the path prefix args returns)
// answers 200; it retries on a port taken meanwhile, kills the process
// when the test ends and shows its output if the test failed. It returns
// the base URL, prefix included.
func startE2EProcess(ctx context.Context, t *testing.T, bin, name string, args func(dir, listen string) ([]string, string)) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		dir := t.TempDir()
		listen := freeAddr(t)
		argv, prefix := args(dir, listen)
		base := "http://" + listen + prefix
		out := &syncBuffer{}
		cmd := exec.Command(bin, argv...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() { _ = cmd.Process.Kill(); <-exited }
		ready := false
		for !ready {
			select {
			case <-exited:
			case <-ctx.Done():
				stop()
				t.Fatalf("%s not ready: %v\n%s", name, ctx.Err(), out)
			case <-time.After(50 * time.Millisecond):
				if resp, err := http.Get(base + "/-/ready"); err == nil {
					resp.Body.Close()
					ready = resp.StatusCode == 200
				}
				continue
			}
			break
		}
		if !ready {
			if attempt < 3 && strings.Contains(out.String(), "address already in use") {
				continue
			}
			t.Fatalf("%s exited early:\n%s", name, out)
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("%s output:\n%s", name, out)
			}
		})
		return base
	}
}

// check-config reports the data sources' problems with the rest, each
// once, and names a team's unknown data source; secrets stay out.
func TestCheckConfigDatasources(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", `datasources:
  - name: prom
    url: http://admin:hunter2@prometheus:9090
  - name: thanos
    url: https://thanos.example.com
    token: hunter3-token
    basic: {username: k, password: hunter4}
    match: {host: "https://thanos.example.com"}
teams:
  - {name: ops, datasource: thanso}
default_team: ops
`)
	var out bytes.Buffer
	err := run(context.Background(), []string{"check-config", "-c", cfg}, &out, &bytes.Buffer{})
	want := []string{
		`datasources[0].url (line 3): must not hold credentials: give token or basic`,
		`datasources[1] (line 4): give token or basic, not both`,
		`datasources[1].match.host (line 8): want a host or host:port as in the alerts' generator URL (prometheus:9090), got "https://thanos.example.com"`,
		`teams[0].datasource (line 10): no datasource "thanso" (did you mean "thanos"?)`,
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.Contains(l, ": note: ") {
			got = append(got, strings.TrimPrefix(l, cfg+": "))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check-config:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err == nil || strings.Contains(out.String(), "hunter") {
		t.Errorf("err %v; output shows a secret: %v", err, strings.Contains(out.String(), "hunter"))
	}
}
