package prometheus_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
)

// prometheusGeneratorURL builds a generatorURL the way Prometheus does:
// the external URL, then strutil.TableLinkForExpression.
func prometheusGeneratorURL(externalURL, expr string) string {
	return externalURL + "/graph?g0.expr=" + url.QueryEscape(expr) + "&g0.tab=1"
}

func TestExprFromGeneratorURL(t *testing.T) {
	const rule = `sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m])) > 0.05`
	for _, tc := range []struct {
		name, u, expr, host string
		ok, hostOK          bool
	}{
		{"Prometheus", prometheusGeneratorURL("http://prometheus:9090", rule), rule, "prometheus:9090", true, true},
		{"Prometheus behind a path prefix", prometheusGeneratorURL("https://ops.example.com/prometheus", "up == 0"), "up == 0", "ops.example.com", true, true},
		{"Thanos Ruler links to its querier", "http://thanos-query.monitoring.svc:10902/graph?g0.expr=up+%3D%3D+0&g0.tab=1", "up == 0", "thanos-query.monitoring.svc:10902", true, true},
		{"graph tab, extra panels", "http://prom:9090/graph?g0.expr=up&g0.tab=0&g0.range_input=1h&g1.expr=other", "up", "prom:9090", true, true},
		{"vmalert with a VMUI alert source", "http://victoria:8428/vmui/#/?g0.expr=" + url.QueryEscape("up == 0") + "&g0.range_input=1h", "up == 0", "victoria:8428", true, true},
		{"host in capitals", "HTTP://Prom.Example.COM:9090/graph?g0.expr=up", "up", "prom.example.com:9090", true, true},
		{"relative", "/graph?g0.expr=up", "up", "", true, false},
		{"vmalert's default link", "http://vmalert:8880/vmalert/alert?group_id=1&alert_id=2", "", "vmalert:8880", false, true},
		{"Grafana alert rule", "https://grafana.example.com/alerting/grafana/abc123/view?orgId=1", "", "grafana.example.com", false, true},
		{"no expression", "http://prom:9090/graph?g0.tab=1", "", "prom:9090", false, true},
		{"blank expression", "http://prom:9090/graph?g0.expr=+++&g0.tab=1", "", "prom:9090", false, true},
		{"another scheme", "ftp://prom/graph?g0.expr=up", "", "", false, false},
		{"javascript", "javascript:alert(1)//?g0.expr=up", "", "", false, false},
		{"not UTF-8", "http://prom:9090/graph?g0.expr=%ff%fe", "", "prom:9090", false, true},
		{"malformed", "http://[::1/graph?g0.expr=up", "", "", false, false},
		{"empty", "", "", "", false, false},
	} {
		expr, ok := promds.ExprFromGeneratorURL(tc.u)
		if expr != tc.expr || ok != tc.ok {
			t.Errorf("%s: ExprFromGeneratorURL(%q) = %q, %v; want %q, %v", tc.name, tc.u, expr, ok, tc.expr, tc.ok)
		}
		host, ok := promds.GeneratorHost(tc.u)
		if host != tc.host || ok != tc.hostOK {
			t.Errorf("%s: GeneratorHost(%q) = %q, %v; want %q, %v", tc.name, tc.u, host, ok, tc.host, tc.hostOK)
		}
	}
}

func FuzzGeneratorURL(f *testing.F) {
	f.Add(prometheusGeneratorURL("http://prometheus:9090", "up == 0"), "up == 0")
	f.Add("http://victoria:8428/vmui/#/?g0.expr=up", `rate(x{a="b"}[5m]) > 0.5`)
	f.Add("http://vmalert:8880/vmalert/alert?group_id=1&alert_id=2", "a & b ; c # d")
	f.Add("http://prom:9090/graph?g0.expr=%ff", " \t")
	f.Add("/graph?g0.expr=up&g0.expr=down", "+%2B&=")
	f.Fuzz(func(t *testing.T, u, expr string) {
		// Any URL: no panic, and what comes out is a usable expression.
		got, ok := promds.ExprFromGeneratorURL(u)
		if ok != (got != "") || got != strings.TrimSpace(got) || !utf8.ValidString(got) {
			t.Fatalf("ExprFromGeneratorURL(%q) = %q, %v", u, got, ok)
		}
		if host, ok := promds.GeneratorHost(u); ok != (host != "") || host != strings.ToLower(host) {
			t.Fatalf("GeneratorHost(%q) = %q, %v", u, host, ok)
		}
		// Any expression Prometheus could put in a link comes back whole.
		want := strings.TrimSpace(expr)
		link := prometheusGeneratorURL("http://prometheus.example:9090/sub", expr)
		got, ok = promds.ExprFromGeneratorURL(link)
		if !utf8.ValidString(expr) || want == "" {
			if ok {
				t.Fatalf("ExprFromGeneratorURL(%q) = %q, want not ok", link, got)
			}
			return
		}
		if !ok || got != want {
			t.Fatalf("ExprFromGeneratorURL(%q) = %q, %v; want %q", link, got, ok, want)
		}
		if host, _ := promds.GeneratorHost(link); host != "prometheus.example:9090" {
			t.Fatalf("GeneratorHost(%q) = %q", link, host)
		}
	})
}

func FuzzAnalyze(f *testing.F) {
	for _, tc := range analyzeCases {
		f.Add(tc.expr)
	}
	for _, s := range []string{"(", ")", "{", "[5m:]", "`", `"\`, "'", "#", "x >", "> x", "x > bool", "0x", "1e", "1_", ".5", "5m5", "-inf", "x @ -1", "a:b:c", "AND", "x > 1 or", "((((x))))"} {
		f.Add(s)
	}
	units := map[string]bool{"": true}
	for _, u := range []string{promds.UnitBytes, promds.UnitBytesPerSecond, promds.UnitSeconds, promds.UnitRatio, promds.UnitPercent, promds.UnitCelsius, promds.UnitPerSecond} {
		units[u] = true
	}
	f.Fuzz(func(t *testing.T, expr string) {
		a := promds.Analyze(expr)
		if !strings.Contains(expr, a.Query) {
			t.Fatalf("Query %q is not part of %q", a.Query, expr)
		}
		trim := func(s string) string { return strings.Trim(s, " \t\n\r") }
		if (a.Query == "") != (trim(expr) == "") || a.Query != trim(a.Query) {
			t.Fatalf("Query %q of %q: empty only for a blank expression, and trimmed", a.Query, expr)
		}
		if !units[a.Unit] {
			t.Fatalf("unit %q of %q is not a documented one", a.Unit, expr)
		}
		if a.Threshold != nil {
			switch a.Threshold.Op {
			case ">", ">=", "<", "<=", "==", "!=":
			default:
				t.Fatalf("threshold op %q of %q", a.Threshold.Op, expr)
			}
			if a.Query == trim(expr) {
				t.Fatalf("a threshold, yet the whole expression %q is plotted", expr)
			}
			return
		}
		// Without a threshold, analysing the query again changes nothing.
		if b := promds.Analyze(a.Query); b.Query != a.Query || b.Threshold != nil || b.Unit != a.Unit {
			t.Fatalf("Analyze(%q) = %+v, then Analyze(%q) = %+v", expr, a, a.Query, b)
		}
	})
}
