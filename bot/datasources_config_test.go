package bot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDatasourcesConfig(t *testing.T) {
	cfg := loadFixture(t, "datasources_valid.yaml", map[string]string{"PROM_TOKEN": "hunter-prom-token"})
	if len(cfg.Datasources) != 2 {
		t.Fatalf("datasources = %+v", cfg.Datasources)
	}
	p, th := cfg.Datasources[0], cfg.Datasources[1]
	if p.Name != "prom" || p.URL != "http://prometheus:9090" || p.Token.Reveal() != "hunter-prom-token" || p.Match.Host != "prometheus:9090" || p.QueryTimeout() != 2*time.Second {
		t.Errorf("datasources[0] = %+v", p)
	}
	if th.Basic == nil || th.Basic.Username != "klaxon" || th.Basic.Password.Reveal() != "hunter-prom-password" || th.Match.Labels["cluster"] != "eu-1" || th.QueryTimeout() != 1500*time.Millisecond || th.GraphWindow() != 6*time.Hour || p.GraphWindow() != time.Hour {
		t.Errorf("datasources[1] = %+v", th)
	}
	if cfg.Teams[0].Datasource != "thanos" || cfg.Teams[1].Datasource != "none" {
		t.Errorf("teams = %+v", cfg.Teams)
	}
	for _, s := range []string{fmt.Sprintf("%v", cfg.Datasources), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", *th.Basic)} {
		if strings.Contains(s, "hunter") {
			t.Errorf("a secret is printed: %s", s)
		}
	}
}

func TestDatasourcesConfigErrors(t *testing.T) {
	_, err := LoadConfig(configFixture("datasources_bad.yaml"), testEnv(nil))
	var ce ConfigErrors
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want ConfigErrors", err)
	}
	want := `
datasources[0] (line 2): give token or basic, not both
datasources[0].type (line 3): want prometheus (the only type so far), got "influx"
datasources[0].url (line 4): want an absolute http or https URL, got "ftp://prometheus:9090"
datasources[1].name (line 7): datasource "prom" is defined twice
datasources[1].url (line 8): must not hold credentials: give token or basic
datasources[1].match.host (line 9): want a host or host:port as in the alerts' generator URL (prometheus:9090), got "http://prometheus:9090/graph"
datasources[1].match.labels.bad-label (line 9): is not a label name
datasources[1].timeout (line 10): must be between 100ms and 30s, got 1m0s
datasources[1].window (line 11): must be between 1m and 168h (a week), got 10s
datasources[2].name (line 12): "none" is reserved: a team's datasource: none turns its graphs off
datasources[2].url (line 13): want the base URL, without a query or fragment, got "http://p:9090/?x=1"
datasources[2].basic.password (line 14): must not be empty
datasources[2].basic.username (line 14): must not be empty
datasources[3].url (line 15): must be set: the API's base URL, such as http://prometheus:9090
datasources[3].token (line 16): is a placeholder ("<…>"): set the real one
datasources[3].match.hosts (line 17): unknown key (did you mean "host"?)
teams[0].datasource (line 19): no datasource "thanos" (choose from prom, nourl)`
	if got := err.Error(); got != strings.TrimPrefix(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.TrimPrefix(want, "\n"))
	}
	if strings.Contains(err.Error(), "hunter") {
		t.Errorf("an error shows a secret: %v", err)
	}
}
