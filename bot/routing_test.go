package bot_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/bot"
)

const routingYAML = `
teams:
  - {name: payments}
  - {name: db}
  - {name: ops}
routes:
  - {match: {team: payments}, team: payments}
  - {match_re: {service: "pay.*"}, team: payments}
  - {match: {service: postgres}, match_re: {instance: "db-[0-9]+"}, team: db}
default_team: ops
`

func TestRouting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.yaml")
	if err := os.WriteFile(path, []byte(routingYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := bot.LoadConfig(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, boltStore(t), func(c *bot.Config) { c.Teams, c.Routes, c.DefaultTeam = cfg.Teams, cfg.Routes, cfg.DefaultTeam })
	for i, c := range []struct{ labels, team string }{
		{`"team":"payments","service":"x"`, "payments"},
		{`"service":"payments-api"`, "payments"},
		{`"service":"xpayments"`, "ops"}, // match_re is anchored
		{`"service":"postgres","instance":"db-12"`, "db"},
		{`"service":"postgres","instance":"db-12:5432"`, "ops"},
		{`"service":"checkout"`, "ops"},
	} {
		body := `{"version":"4","groupKey":"g` + string(rune('a'+i)) + `","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A` +
			string(rune('a'+i)) + `",` + c.labels + `}}]}`
		r := e.do("POST", "/hooks/alertmanager", body)
		if r.code != 200 {
			t.Fatalf("%s: %d %s", c.labels, r.code, r.body)
		}
		inc, err := e.store.Get(context.Background(), r.json(t)["incident"].(string))
		if err != nil || inc.Team != c.team {
			t.Errorf("labels {%s}: team %q (%v), want %q", c.labels, inc.Team, err, c.team)
		}
	}
	m := e.do("GET", "/metrics", "").body
	for _, want := range []string{
		`klaxon_alerts_unrouted_total{source="alertmanager"} 3`,
		`klaxon_incidents_opened_total{source="alertmanager",team="payments"} 2`,
		`klaxon_incidents_opened_total{source="alertmanager",team="ops"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestRoutingConfigErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"teams: [{name: a}]\n":                                                             "default_team: must name the team that gets alerts no route matches",
		"teams: [{name: a}, {name: a}]\ndefault_team: a\n":                                 `teams[1].name (line 1): team "a" is defined twice`,
		"teams: [{name: a}]\ndefault_team: b\n":                                            `default_team (line 2): no team "b" (choose from a)`,
		"teams: [{name: a}]\ndefault_team: a\nroutes: [{team: z}]\n":                       `routes[0].team (line 3): no team "z" (choose from a)`,
		"teams: [{name: payments}]\ndefault_team: paymnts\n":                               `default_team (line 2): no team "paymnts" (did you mean "payments"?)`,
		"teams: [{name: a}]\ndefault_team: a\nroutes: [{match_re: {x: \"(\"}, team: a}]\n": "routes[0].match_re.x (line 3): error parsing regexp",
		"teams: [{name: 'a b'}]\ndefault_team: 'a b'\n":                                    `teams[0].name (line 1): want 1 to 64 of A-Z`,
		"routes: [{team: a}]\n":                                                            `routes[0].team (line 1): no team "a" (there are no teams)`,
		"teams: [{name: a, slack: {channel: C1}}]\ndefault_team: a\n":                      "teams[0].slack (line 1): needs the slack section (bot_token)\nteams[0].slack.channel (line 1): want a Slack channel id such as C0123ABCD (channel details → About → Channel ID), got \"C1\"",
	} {
		path := filepath.Join(t.TempDir(), "k.yaml")
		os.WriteFile(path, []byte(yaml), 0o600)
		_, err := bot.LoadConfig(path, func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}

// Without teams, incidents have no team and nothing counts as unrouted.
func TestNoTeams(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	r := e.do("POST", "/hooks/alertmanager", payload(t))
	inc, _ := e.store.Get(context.Background(), r.json(t)["incident"].(string))
	if inc.Team != "" || strings.Contains(e.do("GET", "/metrics", "").body, "klaxon_alerts_unrouted_total{") {
		t.Fatalf("team %q", inc.Team)
	}
}
