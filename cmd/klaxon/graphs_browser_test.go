package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// The console's incident page shows the graph in a real browser: the
// <img> loads under the console's Content-Security-Policy.
func TestGraphConsoleBrowser(t *testing.T) {
	slowtest.Need(t)
	ctx := browser(t)
	prom := promfake.New(promfake.Options{Answer: func(q promfake.Query) promfake.Response {
		s := promfake.Series{Metric: map[string]string{"__name__": "queue_depth", "queue": "payments"}}
		for i, ts := range q.Times() {
			s.Points = append(s.Points, promfake.Point{T: ts, V: strconv.Itoa(i % 40)})
		}
		return promfake.Response{Series: []promfake.Series{s}}
	}})
	defer prom.Close()
	cfg := writeFile(t, "klaxon.yaml", `
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s}
sources: {alertmanager: {allow_unauthenticated: true}}
store: {data_dir: "`+filepath.Join(t.TempDir(), "data")+`"}
datasources: [{name: prom, url: "`+prom.URL()+`"}]
`)
	base, logs, stop := startServe(t, cfg)
	defer stop()
	gen := "http://prometheus:9090/graph?g0.expr=" + url.QueryEscape("queue_depth > 30")
	body := `{"version":"4","groupKey":"{}:{alertname=\"QueueDeep\"}","status":"firing","receiver":"klaxon","groupLabels":{"alertname":"QueueDeep"},
"alerts":[{"status":"firing","labels":{"alertname":"QueueDeep","severity":"warning"},"annotations":{"summary":"The payments queue is deep"},
"startsAt":"` + time.Now().Add(-5*time.Minute).UTC().Format(time.RFC3339) + `","endsAt":"0001-01-01T00:00:00Z","generatorURL":"` + gen + `","fingerprint":"q1"}]}`
	if code, out := post(t, base+"/hooks/alertmanager", "application/json", []byte(body), nil); code != 200 {
		t.Fatalf("webhook: %d %s", code, out)
	}
	waitUntil(t, 10*time.Second, "the graph", func() bool {
		resp, err := http.Get(base + "/api/v1/incidents/INC-1/graph.png")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	link := regexp.MustCompile(`console \(this machine's user\): (http://\S+/ui/\?local=[0-9a-f]{64})`).FindStringSubmatch(logs.String())
	if link == nil {
		t.Fatalf("serve printed no console link:\n%s", logs)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(link[1]), chromedp.WaitVisible(`//a[contains(., "INC-1")]`),
		chromedp.Navigate(base+"/ui/incidents/INC-1"), chromedp.WaitVisible(chromedp.CSS("figure.graph img"))); err != nil {
		screenshot(t, ctx, "graph-failed")
		t.Fatal(err)
	}
	var width string
	waitUntil(t, 10*time.Second, "the image to load", func() bool {
		width, _ = chromedp.Run(tctx, chromedp.Evaluate[string](`(() => { const i = document.querySelector("figure.graph img"); return i.complete ? String(i.naturalWidth) : "loading" })()`))
		return width != "loading" && width != ""
	})
	if width != "720" {
		screenshot(t, ctx, "graph-failed")
		t.Fatalf("the graph's <img> loaded %s px wide, want 720 (blocked by the CSP?)", width)
	}
	if alt, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.querySelector("figure.graph img").alt`)); !strings.Contains(alt, "INC-1") {
		t.Errorf("alt %q", alt)
	}
	screenshot(t, ctx, "incident-graph")
}
