package main

// Tests of the deploy kit in deploy/ and docs/runbook.md: the alert rules and
// the Grafana dashboard name only metrics klaxon exports, every alert has
// its runbook section, the configs in the kit load, and the files that refer
// to each other (Compose, Kubernetes, Dockerfile) agree.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonbot/klaxon/bot"
)

// repo is the repository root, from this package's folder.
const repo = "../.."

const runbookPrefix = "https://github.com/klaxonbot/klaxon/blob/main/docs/runbook.md#"

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeYAML(t *testing.T, name string, data []byte, v any) {
	t.Helper()
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// sourceMetrics returns the metric families bot/metrics.go defines, with
// their types: the list of what klaxon can export, whether or not an event
// has made a family appear yet.
func sourceMetrics(t *testing.T) map[string]string {
	t.Helper()
	src := string(readRepoFile(t, "bot/metrics.go"))
	fams := map[string]string{}
	opts := regexp.MustCompile(`prometheus\.New(Counter|Gauge|Histogram|Summary)(?:Vec|Func)?\(\s*prometheus\.\w+Opts\{\s*Name:\s*"(klaxon_[a-z0-9_]+)"`)
	for _, m := range opts.FindAllStringSubmatch(src, -1) {
		fams[m[2]] = strings.ToLower(m[1])
	}
	// Collected at scrape time from the store (open incidents, store_up,
	// the outbox): const gauges.
	for _, m := range regexp.MustCompile(`prometheus\.NewDesc\(\s*"(klaxon_[a-z0-9_]+)"`).FindAllStringSubmatch(src, -1) {
		fams[m[1]] = "gauge"
	}
	// Every klaxon_ name in the source must have been understood above.
	for _, m := range regexp.MustCompile(`"(klaxon_[a-z0-9_]+)"`).FindAllStringSubmatch(src, -1) {
		if _, ok := fams[m[1]]; !ok {
			t.Errorf("bot/metrics.go defines %s in a way this test does not recognise: teach sourceMetrics", m[1])
		}
	}
	if len(fams) < 20 {
		t.Fatalf("found only %d metric families in bot/metrics.go: %v", len(fams), slices.Sorted(maps.Keys(fams)))
	}
	return fams
}

// scrape is what one GET /metrics returned: the families with their types,
// and each family's label values by label name.
type scrape struct {
	types  map[string]string
	labels map[string]map[string][]string
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func scrapeMetrics(t *testing.T, base string) scrape {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	s := scrape{types: map[string]string{}, labels: map[string]map[string][]string{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			s.types[f[2]] = f[3]
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		if s.labels[m[1]] == nil {
			s.labels[m[1]] = map[string][]string{}
		}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(s.labels[m[1]][l[1]], l[2]) {
				s.labels[m[1]][l[1]] = append(s.labels[m[1]][l[1]], l[2])
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// startDeployServe runs klaxon serve on the embedded store with an
// Alertmanager token, and sends it what makes the webhook families appear:
// an alert, a refused alert, an API call.
func startDeployServe(t *testing.T) string {
	t.Helper()
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s}
store: {data_dir: %q}
sources:
  alertmanager: {token: deploy-t0ken-0123456789}
`, filepath.Join(t.TempDir(), "data")))
	base, _, stop := startServe(t, cfg)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	if err := run(context.Background(), []string{"fire", "--url", base, "--token", "deploy-t0ken-0123456789"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("fire: %v", err)
	}
	if err := run(context.Background(), []string{"fire", "--url", base, "--token", "wrong"}, io.Discard, io.Discard); err == nil {
		t.Fatal("fire with a wrong token succeeded")
	}
	var list incidentList
	if code := getJSON(t, base+"/api/v1/incidents", &list); code != 200 {
		t.Fatalf("GET /api/v1/incidents: %d", code)
	}
	return base
}

// Prometheus rule files, as far as these tests read them.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T, name string) ruleFile {
	t.Helper()
	var rf ruleFile
	decodeYAML(t, name, readRepoFile(t, name), &rf)
	if len(rf.Groups) == 0 {
		t.Fatalf("%s: no rule groups", name)
	}
	return rf
}

// dashboardExprs returns every PromQL expression in the Grafana dashboard:
// the panels' targets (rows included) and the template variables' queries.
func dashboardExprs(t *testing.T, dash map[string]any) []string {
	t.Helper()
	var exprs []string
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			p := p.(map[string]any)
			targets, _ := p["targets"].([]any)
			for _, tg := range targets {
				if e, _ := tg.(map[string]any)["expr"].(string); e != "" {
					exprs = append(exprs, e)
				}
			}
			if sub, ok := p["panels"].([]any); ok {
				walk(sub)
			}
		}
	}
	panels, _ := dash["panels"].([]any)
	walk(panels)
	templating, _ := dash["templating"].(map[string]any)
	vars, _ := templating["list"].([]any)
	for _, v := range vars {
		v := v.(map[string]any)
		switch q := v["query"].(type) {
		case string:
			exprs = append(exprs, q)
		case map[string]any:
			if s, _ := q["query"].(string); s != "" {
				exprs = append(exprs, s)
			}
		}
	}
	return exprs
}

func loadDashboard(t *testing.T) map[string]any {
	t.Helper()
	var dash map[string]any
	if err := json.Unmarshal(readRepoFile(t, "deploy/grafana/klaxon-dashboard.json"), &dash); err != nil {
		t.Fatalf("deploy/grafana/klaxon-dashboard.json: %v", err)
	}
	return dash
}

var metricNameRE = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:])(klaxon_[a-zA-Z0-9_:]+)`)

// familyOf returns the family a metric name in PromQL belongs to: the name
// itself, or a histogram's (or summary's) family for its _bucket, _sum and
// _count series.
func familyOf(name string, fams map[string]string) (string, bool) {
	if _, ok := fams[name]; ok {
		return name, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		switch fams[base] {
		case "histogram":
			return base, true
		case "summary":
			return base, suf != "_bucket"
		}
	}
	return "", false
}

func TestDeployMetricNames(t *testing.T) {
	fams := sourceMetrics(t)
	base := startDeployServe(t)
	sc := scrapeMetrics(t, base)

	// The scrape and the source agree on every klaxon_ family and its type.
	for name, typ := range sc.types {
		if !strings.HasPrefix(name, "klaxon_") {
			continue
		}
		if want, ok := fams[name]; !ok {
			t.Errorf("/metrics has %s, which bot/metrics.go does not define as this test reads it", name)
		} else if want != typ {
			t.Errorf("%s is a %s in /metrics and a %s in bot/metrics.go", name, typ, want)
		}
	}
	// What every scrape has, and what the alert, the refused alert and the
	// API call above made appear.
	for _, name := range []string{"klaxon_build_info", "klaxon_store_up", "klaxon_incidents_open", "klaxon_outbox_depth",
		"klaxon_outbox_oldest_age_seconds", "klaxon_webhooks_in_flight", "klaxon_escalation_lateness_seconds",
		"klaxon_http_requests_total", "klaxon_http_request_duration_seconds", "klaxon_http_request_errors_total",
		"klaxon_alerts_received_total", "klaxon_incidents_opened_total", "klaxon_webhook_auth_failures_total"} {
		if _, ok := sc.types[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// Every metric the rules and the dashboard use is one klaxon exports.
	uses := map[string][]string{} // file → expressions
	for _, f := range []string{"deploy/prometheus/klaxon-rules.yml", "deploy/compose/demo-rules.yml"} {
		for _, g := range loadRules(t, f).Groups {
			for _, r := range g.Rules {
				uses[f] = append(uses[f], r.Expr)
			}
		}
	}
	uses["deploy/grafana/klaxon-dashboard.json"] = dashboardExprs(t, loadDashboard(t))
	used, routeMatchers := map[string]bool{}, map[string]string{}
	routeRE := regexp.MustCompile(`route\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"`)
	for _, f := range slices.Sorted(maps.Keys(uses)) {
		for _, e := range uses[f] {
			for _, m := range metricNameRE.FindAllStringSubmatch(e, -1) {
				fam, ok := familyOf(m[1], fams)
				if !ok {
					t.Errorf("%s uses %s, which klaxon does not export (families: %s)", f, m[1], strings.Join(slices.Sorted(maps.Keys(fams)), ", "))
					continue
				}
				used[fam] = true
			}
			for _, m := range routeRE.FindAllStringSubmatch(e, -1) {
				routeMatchers[m[1]+m[2]] = f
			}
		}
	}
	for _, name := range []string{"klaxon_http_request_duration_seconds", "klaxon_http_requests_total", "klaxon_alerts_received_total",
		"klaxon_http_request_errors_total", "klaxon_deliveries_total", "klaxon_webhooks_in_flight", "klaxon_outbox_depth",
		"klaxon_outbox_oldest_age_seconds", "klaxon_time_to_acknowledge_seconds", "klaxon_time_to_resolve_seconds",
		"klaxon_escalation_steps_total", "klaxon_phone_calls_total", "klaxon_pages_total", "klaxon_pages_throttled_total", "klaxon_store_up", "klaxon_chat_rejected_total",
		"klaxon_escalation_lateness_seconds", "klaxon_incidents_opened_total", "klaxon_incidents_open"} {
		if !used[name] {
			t.Errorf("neither the rules nor the dashboard use %s", name)
		}
	}
	var unseen []string
	for name := range used {
		if _, ok := sc.types[name]; !ok {
			unseen = append(unseen, name)
		}
	}
	t.Logf("%d families used; not in this scrape (they appear after their first event): %v", len(used), slices.Sorted(slices.Values(unseen)))

	// A route matcher must match a route label klaxon really reports (the
	// ServeMux pattern, such as "POST /hooks/alertmanager").
	routes := sc.labels["klaxon_http_requests_total"]["route"]
	for m, f := range routeMatchers {
		op, val := m[:1], m[1:]
		if op == "=" && strings.HasPrefix(val, "~") {
			op, val = "=~", val[1:]
		}
		re := regexp.MustCompile("^(?:" + regexp.QuoteMeta(val) + ")$")
		if op == "=~" {
			var err error
			if re, err = regexp.Compile("^(?:" + val + ")$"); err != nil {
				t.Errorf("%s: route=~%q: %v", f, val, err)
				continue
			}
		}
		if !slices.ContainsFunc(routes, re.MatchString) {
			t.Errorf("%s: route%s%q matches none of the routes klaxon reports: %q", f, op, val, routes)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDeployPrometheusRules(t *testing.T) {
	rf := loadRules(t, "deploy/prometheus/klaxon-rules.yml")
	sections := map[string]bool{}
	for _, line := range strings.Split(string(readRepoFile(t, "docs/runbook.md")), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			sections[githubAnchor(h)] = false
		}
	}
	alerts := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "what_to_do", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookPrefix)
			if !ok {
				t.Errorf("%s: runbook_url %q, want %s<anchor>", r.Alert, r.Annotations["runbook_url"], runbookPrefix)
				continue
			}
			if anchor != githubAnchor(r.Alert) {
				t.Errorf("%s: runbook_url anchor %q, want %q (the alert's name)", r.Alert, anchor, githubAnchor(r.Alert))
			}
			if _, ok := sections[anchor]; !ok {
				t.Errorf("%s: docs/runbook.md has no section for #%s", r.Alert, anchor)
			}
			sections[anchor] = true
		}
	}
	if alerts < 8 {
		t.Errorf("only %d alerts in klaxon-rules.yml", alerts)
	}
	for s, used := range sections {
		if !used {
			t.Errorf("docs/runbook.md section #%s belongs to no alert", s)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus): the rules were not checked or unit-tested with it")
	}
	for _, args := range [][]string{
		{"check", "rules", "klaxon-rules.yml", "../compose/demo-rules.yml"},
		{"test", "rules", "klaxon-rules.test.yml"},
		{"check", "config", "../compose/prometheus.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Join(repo, "deploy/prometheus")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestDeployGrafanaDashboard(t *testing.T) {
	dash := loadDashboard(t)
	if v, _ := dash["schemaVersion"].(float64); v < 36 {
		t.Errorf("schemaVersion %v, want 36 or later", dash["schemaVersion"])
	}
	if uid, _ := dash["uid"].(string); uid == "" {
		t.Error("the dashboard has no uid")
	}
	inputs, _ := dash["__inputs"].([]any)
	if !slices.ContainsFunc(inputs, func(in any) bool {
		m, _ := in.(map[string]any)
		return m["name"] == "DS_PROMETHEUS" && m["pluginId"] == "prometheus"
	}) {
		t.Error("__inputs lacks the DS_PROMETHEUS datasource")
	}
	ids := map[float64]bool{}
	count := 0
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			p := p.(map[string]any)
			title, _ := p["title"].(string)
			id, _ := p["id"].(float64)
			if ids[id] {
				t.Errorf("panel %q: id %v is taken", title, id)
			}
			ids[id] = true
			grid, _ := p["gridPos"].(map[string]any)
			if x, w := grid["x"].(float64), grid["w"].(float64); x+w > 24 || w <= 0 {
				t.Errorf("panel %q: gridPos x=%v w=%v outside the 24 columns", title, x, w)
			}
			if p["type"] == "row" {
				sub, _ := p["panels"].([]any)
				walk(sub)
				continue
			}
			count++
			ds, _ := p["datasource"].(map[string]any)
			if ds["uid"] != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: datasource %v, want ${DS_PROMETHEUS}", title, p["datasource"])
			}
			targets, _ := p["targets"].([]any)
			if len(targets) == 0 {
				t.Errorf("panel %q has no query", title)
			}
			for _, tg := range targets {
				if e, _ := tg.(map[string]any)["expr"].(string); strings.TrimSpace(e) == "" {
					t.Errorf("panel %q: a target without expr", title)
				}
			}
		}
	}
	panels, _ := dash["panels"].([]any)
	walk(panels)
	if count < 12 {
		t.Errorf("only %d panels", count)
	}
}

// exampleSecret writes the example Secret's keys as files, as Kubernetes
// mounts them, and returns the folder and the Secret's values by key.
func exampleSecret(t *testing.T) (string, map[string]string) {
	t.Helper()
	var s struct {
		Kind       string `yaml:"kind"`
		Metadata   struct{ Name string }
		StringData map[string]string `yaml:"stringData"`
	}
	decodeYAML(t, "secret.example.yaml", readRepoFile(t, "deploy/kubernetes/secret.example.yaml"), &s)
	if s.Kind != "Secret" || s.Metadata.Name != "klaxon" || len(s.StringData) == 0 {
		t.Fatalf("secret.example.yaml: %+v", s)
	}
	dir := t.TempDir()
	for k, v := range s.StringData {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, s.StringData
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas     int `yaml:"replicas"`
		MinAvailable int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Ports []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
						Items      []struct{ Key, Path string }
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		ValueFrom struct {
			SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	ReadinessProbe k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  k8sProbe `yaml:"livenessProbe"`
	Resources      struct {
		Requests, Limits map[string]string
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             bool  `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

func loadK8s(t *testing.T, name string) k8sObject {
	t.Helper()
	var o k8sObject
	decodeYAML(t, name, readRepoFile(t, "deploy/kubernetes/"+name), &o)
	return o
}

func TestDeployKubernetes(t *testing.T) {
	dep, cm, svc, pdb := loadK8s(t, "deployment.yaml"), loadK8s(t, "configmap.yaml"), loadK8s(t, "service.yaml"), loadK8s(t, "pdb.yaml")
	if dep.Kind != "Deployment" || cm.Kind != "ConfigMap" || svc.Kind != "Service" || pdb.Kind != "PodDisruptionBudget" {
		t.Fatalf("kinds: %s %s %s %s", dep.Kind, cm.Kind, svc.Kind, pdb.Kind)
	}
	spec := dep.Spec.Template.Spec
	if dep.Spec.Replicas < 2 || len(spec.Containers) != 1 {
		t.Fatalf("deployment: %d replicas, %d containers", dep.Spec.Replicas, len(spec.Containers))
	}
	c := spec.Containers[0]
	podLabels := dep.Spec.Template.Metadata.Labels
	for what, sel := range map[string]map[string]string{"deployment": dep.Spec.Selector.MatchLabels, "pdb": pdb.Spec.Selector.MatchLabels} {
		if len(sel) == 0 {
			t.Errorf("%s: no selector", what)
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%s, which the pods do not have (%v)", what, k, v, podLabels)
			}
		}
	}
	var svcSel struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
		} `yaml:"spec"`
	}
	decodeYAML(t, "service.yaml", readRepoFile(t, "deploy/kubernetes/service.yaml"), &svcSel)
	for k, v := range svcSel.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("the service selects %s=%s, which the pods do not have", k, v)
		}
	}
	if pdb.Spec.MinAvailable != 1 {
		t.Errorf("pdb minAvailable %d", pdb.Spec.MinAvailable)
	}
	portNames := map[string]bool{}
	for _, p := range c.Ports {
		portNames[p.Name] = true
	}
	for _, p := range svc.Spec.Ports {
		if !portNames[p.TargetPort] {
			t.Errorf("the service targets port %q, which the container does not name", p.TargetPort)
		}
	}
	sc := c.SecurityContext
	if !spec.SecurityContext.RunAsNonRoot || !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("securityContext: pod %+v, container %+v", spec.SecurityContext, sc)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("resources: %+v", c.Resources)
	}

	// The probes answer 200 on a running klaxon.
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %q, liveness %q", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	base := startDeployServe(t)
	for _, p := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
	}

	// The config: the container reads -c from the ConfigMap's mount, the
	// ConfigMap's klaxon.yaml loads with the environment and the files the
	// Secret provides.
	mounts := map[string]string{} // volume → mountPath
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	i := slices.Index(c.Args, "-c")
	if len(c.Args) == 0 || c.Args[0] != "serve" || i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("container args %q, want serve -c FILE", c.Args)
	}
	cfgPath := c.Args[i+1]
	secretDir, secret := exampleSecret(t)
	text, found := "", false
	var replacements []string
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != cm.Metadata.Name {
				t.Errorf("volume %s uses ConfigMap %q, configmap.yaml makes %q", v.Name, v.ConfigMap.Name, cm.Metadata.Name)
			}
			if key, ok := strings.CutPrefix(cfgPath, mounts[v.Name]+"/"); ok {
				text, found = cm.Data[key], true
			}
		case v.Secret != nil:
			if v.Secret.SecretName != "klaxon" {
				t.Errorf("volume %s uses Secret %q, secret.example.yaml makes klaxon", v.Name, v.Secret.SecretName)
			}
			for _, it := range v.Secret.Items {
				if _, ok := secret[it.Key]; !ok {
					t.Errorf("volume %s mounts Secret key %q, which secret.example.yaml lacks", v.Name, it.Key)
				}
				if it.Key != it.Path {
					t.Errorf("volume %s: this test expects each item's path to be its key (%s → %s)", v.Name, it.Key, it.Path)
				}
			}
			if mounts[v.Name] == "" {
				t.Errorf("secret volume %s is not mounted", v.Name)
			}
			replacements = append(replacements, mounts[v.Name], secretDir)
		}
	}
	if !found || text == "" {
		t.Fatalf("-c %s is no key of the mounted ConfigMap", cfgPath)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			v, ok := secret[ref.Key]
			if !ok || ref.Name != "klaxon" {
				t.Errorf("env %s: Secret %s key %s, which secret.example.yaml lacks", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		}
	}
	text = strings.NewReplacer(replacements...).Replace(text)
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// Applied as it is, the example Secret's placeholders keep klaxon from
	// starting; with real values in their place, the config loads.
	_, err := bot.LoadConfig(writeFile(t, "klaxon.yaml", text), getenv)
	if err == nil || !strings.Contains(err.Error(), "sources.alertmanager.token") || !strings.Contains(err.Error(), "placeholder") {
		t.Errorf("configmap.yaml's %s with the example Secret as it is: %v, want its placeholder refused", path.Base(cfgPath), err)
	}
	for k, v := range map[string]string{"alertmanager-token": "9c1f4e7a2b5d8c0e3f6a9b2c5d8e1f4a", "api-token": "4b7e0a3d6c9f2e5b8a1d4c7f0e3b6a9d"} {
		if _, ok := secret[k]; !ok {
			t.Fatalf("secret.example.yaml lacks %s", k)
		}
		secret[k] = v
		if err := os.WriteFile(filepath.Join(secretDir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := bot.LoadConfig(writeFile(t, "klaxon.yaml", text), getenv)
	if err != nil {
		t.Fatalf("configmap.yaml's %s with the example Secret's real values:\n%v", path.Base(cfgPath), err)
	}
	if cfg.Store.Redis == nil || cfg.Store.Redis.URL.Reveal() != secret["redis-url"] {
		t.Errorf("store.redis does not take the Secret's redis-url: %+v", cfg.Store.Redis)
	}
	if cfg.Sources.Alertmanager == nil || cfg.Sources.Alertmanager.Token.Reveal() != secret["alertmanager-token"] {
		t.Error("sources.alertmanager.token is not the Secret's alertmanager-token")
	}
	if !strings.HasSuffix(cfg.Server.Listen, fmt.Sprintf(":%d", c.Ports[0].ContainerPort)) || strings.HasPrefix(cfg.Server.Listen, "127.") {
		t.Errorf("server.listen %s, want all interfaces on the container port %d", cfg.Server.Listen, c.Ports[0].ContainerPort)
	}
}

// composeFile is deploy/docker-compose.yml, as far as these tests read it.
type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
	} `yaml:"services"`
}

// hostFile returns the file of the repository that service mounts at
// target, from its volumes.
func (c composeFile) hostFile(t *testing.T, service, target string) string {
	t.Helper()
	for _, v := range c.Services[service].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target && strings.HasPrefix(parts[0], ".") {
			return filepath.Join(repo, "deploy", parts[0])
		}
	}
	t.Fatalf("compose: %s mounts nothing from the repository at %s", service, target)
	return ""
}

func TestDeployCompose(t *testing.T) {
	var c composeFile
	decodeYAML(t, "deploy/docker-compose.yml", readRepoFile(t, "deploy/docker-compose.yml"), &c)
	for _, s := range []string{"klaxon", "redis", "prometheus", "alertmanager"} {
		if _, ok := c.Services[s]; !ok {
			t.Fatalf("compose: no %s service", s)
		}
	}
	// Every file the services mount exists.
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			if src := strings.Split(v, ":")[0]; strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(repo, "deploy", src)); err != nil {
					t.Errorf("compose: %s mounts %s: %v", name, src, err)
				}
			}
		}
	}

	// klaxon's config loads with the service's environment.
	k := c.Services["klaxon"]
	i := slices.Index(k.Command, "-c")
	if i < 0 || i+1 >= len(k.Command) || k.Command[0] != "serve" {
		t.Fatalf("compose: klaxon command %q, want serve -c FILE", k.Command)
	}
	cfgFile := c.hostFile(t, "klaxon", k.Command[i+1])
	cfg, err := bot.LoadConfig(cfgFile, func(key string) (string, bool) { v, ok := k.Environment[key]; return v, ok })
	if err != nil {
		t.Fatalf("%s: %v", cfgFile, err)
	}
	if cfg.Store.Redis == nil || !strings.Contains(cfg.Store.Redis.URL.Reveal(), "redis:6379") {
		t.Errorf("compose klaxon does not use the redis service: %+v", cfg.Store.Redis)
	}
	if cfg.Sources.Alertmanager == nil || cfg.Sources.Alertmanager.Token.Reveal() == "" {
		t.Fatal("compose klaxon has no Alertmanager token")
	}
	_, port, _ := strings.Cut(cfg.Server.Listen, ":")

	// Alertmanager posts to klaxon's service and port with the token klaxon expects.
	var am struct {
		Receivers []struct {
			WebhookConfigs []struct {
				URL        string `yaml:"url"`
				HTTPConfig struct {
					Authorization struct {
						Type            string `yaml:"type"`
						CredentialsFile string `yaml:"credentials_file"`
					} `yaml:"authorization"`
				} `yaml:"http_config"`
			} `yaml:"webhook_configs"`
		} `yaml:"receivers"`
	}
	amFile := c.hostFile(t, "alertmanager", "/etc/alertmanager/alertmanager.yml")
	b, err := os.ReadFile(amFile)
	if err != nil {
		t.Fatal(err)
	}
	decodeYAML(t, amFile, b, &am)
	if len(am.Receivers) == 0 || len(am.Receivers[0].WebhookConfigs) == 0 {
		t.Fatalf("%s: no webhook receiver", amFile)
	}
	wh := am.Receivers[0].WebhookConfigs[0]
	if want := "http://klaxon:" + port + "/hooks/alertmanager"; wh.URL != want {
		t.Errorf("alertmanager posts to %s, want %s", wh.URL, want)
	}
	tok, err := os.ReadFile(c.hostFile(t, "alertmanager", wh.HTTPConfig.Authorization.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if wh.HTTPConfig.Authorization.Type != "Bearer" || strings.TrimRight(string(tok), "\r\n") != cfg.Sources.Alertmanager.Token.Reveal() {
		t.Error("alertmanager's bearer token is not the one klaxon expects")
	}

	// Prometheus scrapes klaxon and sends to Alertmanager; the demo alert
	// always fires.
	prom, err := os.ReadFile(c.hostFile(t, "prometheus", "/etc/prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"klaxon:` + port + `"`, `"alertmanager:9093"`, "/etc/prometheus/rules/*.yml"} {
		if !bytes.Contains(prom, []byte(want)) {
			t.Errorf("compose prometheus.yml lacks %s", want)
		}
	}
	c.hostFile(t, "prometheus", "/etc/prometheus/rules/klaxon-rules.yml")
	demo := loadRules(t, "deploy/compose/demo-rules.yml")
	if r := demo.Groups[0].Rules[0]; r.Alert != "KlaxonDemo" || r.Expr != "vector(1)" {
		t.Errorf("demo rule: %+v", r)
	}

	if amtool, err := exec.LookPath("amtool"); err == nil {
		if out, err := exec.Command(amtool, "check-config", amFile).CombinedOutput(); err != nil {
			t.Errorf("amtool check-config %s: %v\n%s", amFile, err, out)
		}
	}
}

// dockerfileInstructions returns the Dockerfile's instructions, with
// continuation lines joined.
func dockerfileInstructions(t *testing.T) []string {
	t.Helper()
	var out []string
	cur := ""
	for _, line := range strings.Split(string(readRepoFile(t, "deploy/Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur += s + " "
			continue
		}
		out = append(out, cur+trimmed)
		cur = ""
	}
	return out
}

func execForm(t *testing.T, instr, s string) []string {
	t.Helper()
	var args []string
	if err := json.Unmarshal([]byte(s), &args); err != nil {
		t.Fatalf("Dockerfile %s %s: want the exec (JSON) form: %v", instr, s, err)
	}
	return args
}

func TestDeployDockerfile(t *testing.T) {
	var entry, cmd, health []string
	copies := map[string]string{} // destination → source
	final := false
	for _, in := range dockerfileInstructions(t) {
		word, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			final = strings.Contains(rest, "distroless") || strings.HasPrefix(rest, "scratch")
		case "ENTRYPOINT":
			entry = execForm(t, word, rest)
		case "CMD":
			cmd = execForm(t, word, rest)
		case "HEALTHCHECK":
			if _, c, ok := strings.Cut(rest, "CMD "); ok {
				health = execForm(t, "HEALTHCHECK CMD", c)
			}
		case "COPY":
			if f := strings.Fields(rest); final && len(f) >= 2 && !strings.HasPrefix(f[0], "--") {
				copies[f[len(f)-1]] = f[0]
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/klaxon"} {
					if !strings.Contains(rest, want) {
						t.Errorf("the build step lacks %s: %s", want, rest)
					}
				}
			}
		case "USER":
			if !strings.HasPrefix(rest, "nonroot") && !strings.HasPrefix(rest, "65532") {
				t.Errorf("USER %s, want nonroot", rest)
			}
		}
	}
	_ = version // the variable -X main.version sets
	if len(entry) != 1 || len(cmd) < 3 || cmd[0] != "serve" || cmd[1] != "-c" {
		t.Fatalf("ENTRYPOINT %q CMD %q, want [/klaxon] [serve -c FILE]", entry, cmd)
	}
	src, ok := copies[cmd[2]]
	if !ok {
		t.Fatalf("the image has no config at %s (COPY into it: %v)", cmd[2], copies)
	}
	cfg, err := bot.LoadConfig(filepath.Join(repo, src), func(k string) (string, bool) {
		switch k {
		case "AM_TOKEN":
			return "image-t0ken-0123456789", true
		case "KLAXON_API_TOKEN":
			return "image-api-t0ken-0123456789", true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if cfg.Server.Listen != "0.0.0.0:8080" || cfg.Sources.Alertmanager == nil {
		t.Errorf("the image's config: listen %s, alertmanager %v", cfg.Server.Listen, cfg.Sources.Alertmanager)
	}
	for _, f := range []string{".dockerignore", "deploy/Dockerfile.dockerignore"} {
		if b := readRepoFile(t, f); !bytes.Contains(b, []byte("!/deploy/docker/klaxon.yaml")) {
			t.Errorf("%s keeps %s out of the build context", f, src)
		}
	}
	if !bytes.Equal(readRepoFile(t, ".dockerignore"), readRepoFile(t, "deploy/Dockerfile.dockerignore")) {
		t.Error(".dockerignore and deploy/Dockerfile.dockerignore differ")
	}

	// The HEALTHCHECK runs klaxon itself (distroless has no shell): it must
	// succeed against a running klaxon.
	if len(health) < 2 || health[0] != entry[0] {
		t.Fatalf("HEALTHCHECK CMD %q, want %s and its arguments", health, entry[0])
	}
	base := startDeployServe(t)
	args := slices.Clone(health[1:])
	for i, a := range args {
		args[i] = strings.Replace(a, "http://127.0.0.1:8080", base, 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	err = run(ctx, args, io.Discard, &stderr)
	var u usageError
	if errors.As(err, &u) && strings.HasPrefix(u.msg, "unknown command") {
		t.Skipf("the Dockerfile's HEALTHCHECK needs `klaxon %s`, which klaxon does not have yet (%v)", args[0], err)
	}
	if err != nil {
		t.Fatalf("HEALTHCHECK klaxon %q: %v\n%s", args, err, stderr.String())
	}
}
