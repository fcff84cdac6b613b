package bot

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/charts"
	"github.com/klaxonbot/klaxon/incidents"
)

// FuzzGraphTarget: whatever an alert's generator URL and labels hold, the
// graph's data source and expression are found without a panic, only
// among the configured ones, and the data plotted always encodes as JSON
// (NaN and ±Inf included).
func FuzzGraphTarget(f *testing.F) {
	f.Add("http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1", "eu-1", 0.5)
	f.Add("https://VM.example.com/vmui/#/?g0.expr=rate(x%5B5m%5D)", "", math.NaN())
	f.Add("http://[::1]:9090/graph?g0.expr=a", "x", math.Inf(-1))
	f.Add("javascript:alert(1)//?g0.expr=1", "\x00", 1e308)
	cfg := DefaultConfig()
	cfg.Datasources = []DatasourceConfig{
		{Name: "prom", URL: "http://prometheus:9090", Match: DatasourceMatch{Host: "prometheus:9090"}},
		{Name: "eu", URL: "http://eu:9090", Match: DatasourceMatch{Labels: map[string]string{"cluster": "eu-1"}}},
		{Name: "rest", URL: "http://rest:9090"},
	}
	cfg.Teams = []TeamConfig{{Name: "t", Datasource: "rest"}}
	cfg.DefaultTeam = "t"
	s := &Server{cfg: cfg, teams: map[string]TeamConfig{"t": cfg.Teams[0]}}
	g := &grapher{s: s, cfgs: cfg.Datasources, sources: map[string]Datasource{"prom": PromSource{}, "eu": PromSource{}, "rest": PromSource{}}}
	f.Fuzz(func(t *testing.T, gen, cluster string, v float64) {
		at := time.Unix(1772366400, 0)
		inc := &incidents.Incident{ID: "INC-1", Team: "t", Alerts: []incidents.Alert{{GeneratorURL: gen, Labels: map[string]string{"cluster": cluster}, StartsAt: at}}}
		if h := generatorHost(gen); h != strings.ToLower(h) || strings.ContainsAny(h, "/?#") {
			t.Fatalf("generatorHost(%q) = %q", gen, h)
		}
		tg, ok := g.target(inc)
		if !ok {
			return
		}
		if tg.expr == "" || g.sources[tg.name] == nil {
			t.Fatalf("target %+v", tg)
		}
		p := &Plot{Query: tg.expr, Threshold: &charts.Threshold{Op: ">", Value: v},
			Series: []PlotSeries{{Name: cluster, Labels: map[string]string{"cluster": cluster}, Points: []charts.Point{{T: at, V: v}, {T: at, V: math.NaN()}}}}}
		if _, err := json.Marshal(newGraphData(tg, p, at.Add(-time.Hour), at)); err != nil {
			t.Fatalf("graph data does not encode: %v", err)
		}
	})
}
