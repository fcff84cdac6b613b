package bot

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readYAML loads text as a config file through ReadConfig.
func readYAML(t *testing.T, text string, env map[string]string) (*Config, ConfigErrors) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, errs, err := ReadConfig(path, testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, errs
}

func TestSourcesOpen(t *testing.T) {
	const fix = "set a token, basic or hmac, or allow_unauthenticated: true"
	token := &HookAuth{Token: "am-token-0123456789ab"}
	for _, tt := range []struct {
		name     string
		sources  SourcesConfig
		source   string
		loopback bool
		open     bool
		why      string
	}{
		{"nothing configured, on loopback", SourcesConfig{}, "grafana", true, true, "no source has credentials and klaxon listens on loopback only: requests from this machine only (not through a proxy, not from a web page)"},
		{"nothing configured, beyond loopback", SourcesConfig{}, "alertmanager", false, false, "has no credentials and klaxon is reachable beyond this machine (server.listen beyond loopback, or server.public_url or trusted_proxies set): " + fix},
		{"the source with the token", SourcesConfig{Alertmanager: token}, "alertmanager", false, false, ""},
		// The issue: only Alertmanager's token set left Grafana's hook open.
		{"another source has a token", SourcesConfig{Alertmanager: token}, "grafana", true, false, "has no credentials while sources.alertmanager has: " + fix},
		{"a webhook has a token", SourcesConfig{Webhook: []WebhookSource{{Name: "a"}, {Name: "b", HMAC: &HMACAuth{Secret: "x"}}}}, "webhook/a", true, false,
			"has no credentials while sources.webhook[1] has: " + fix},
		{"allowed explicitly", SourcesConfig{Alertmanager: token, Grafana: &HookAuth{AllowUnauthenticated: true}}, "grafana", false, true,
			"allow_unauthenticated is true: anyone who reaches klaxon may send alerts here"},
		{"a webhook allowed explicitly", SourcesConfig{Alertmanager: token, Webhook: []WebhookSource{{Name: "cron", AllowUnauthenticated: true}}}, "webhook/cron", false, true,
			"allow_unauthenticated is true: anyone who reaches klaxon may send alerts here"},
		{"unknown source", SourcesConfig{}, "webhook/nope", true, false, `no source "webhook/nope"`},
	} {
		open, why := tt.sources.Open(tt.source, tt.loopback)
		if open != tt.open || why != tt.why {
			t.Errorf("%s: Open(%q, %v) = %v, %q; want %v, %q", tt.name, tt.source, tt.loopback, open, why, tt.open, tt.why)
		}
	}
}

func TestListensOnLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.1.2.3:80": true, "[::1]:8080": true, "localhost:8080": true, "LocalHost:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:8080": false, "klaxon:8080": false, "8080": false,
	} {
		if got := listensOnLoopback(listen); got != want {
			t.Errorf("listensOnLoopback(%q) = %v, want %v", listen, got, want)
		}
	}
}

// check-config tells which hooks take requests without credentials and
// which answer 401 to everyone though the file leaves them out.
func TestConfigNotes(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"server: {listen: 127.0.0.1:8080}\n", `
sources.alertmanager: /hooks/alertmanager takes requests without credentials: no source has credentials and klaxon listens on loopback only: requests from this machine only (not through a proxy, not from a web page)
sources.grafana: /hooks/grafana takes requests without credentials: no source has credentials and klaxon listens on loopback only: requests from this machine only (not through a proxy, not from a web page)`},
		{"server: {listen: 127.0.0.1:8080, public_url: https://klaxon.example.com}\n", `
sources.alertmanager: /hooks/alertmanager answers 401 to everyone: has no credentials and klaxon is reachable beyond this machine (server.listen beyond loopback, or server.public_url or trusted_proxies set): set a token, basic or hmac, or allow_unauthenticated: true
sources.grafana: /hooks/grafana answers 401 to everyone: has no credentials and klaxon is reachable beyond this machine (server.listen beyond loopback, or server.public_url or trusted_proxies set): set a token, basic or hmac, or allow_unauthenticated: true`},
		{"sources:\n  alertmanager: {token: am-token-0123456789ab}\n", `
sources.grafana: /hooks/grafana answers 401 to everyone: has no credentials while sources.alertmanager has: set a token, basic or hmac, or allow_unauthenticated: true`},
		{"server: {listen: 0.0.0.0:8080}\nsources:\n  grafana: {allow_unauthenticated: true}\n  webhook: [{name: cron, allow_unauthenticated: true, fields: {title: t}}]\n", `
sources.alertmanager: /hooks/alertmanager answers 401 to everyone: has no credentials and klaxon is reachable beyond this machine (server.listen beyond loopback, or server.public_url or trusted_proxies set): set a token, basic or hmac, or allow_unauthenticated: true
sources.grafana (line 3): /hooks/grafana takes requests without credentials: allow_unauthenticated is true: anyone who reaches klaxon may send alerts here
sources.webhook[0] (line 4): /hooks/webhook/cron takes requests without credentials: allow_unauthenticated is true: anyone who reaches klaxon may send alerts here`},
		{"sources:\n  alertmanager: {token: am-token-0123456789ab}\n  grafana: {token: gf-token-0123456789ab}\n", ""},
	} {
		cfg, errs := readYAML(t, tt.yaml, nil)
		if len(errs) > 0 {
			t.Fatalf("%q: %v", tt.yaml, errs)
		}
		if got := cfg.Notes().Error(); got != strings.TrimPrefix(tt.want, "\n") {
			t.Errorf("%q: notes\n%s\nwant\n%s", tt.yaml, got, strings.TrimPrefix(tt.want, "\n"))
		}
	}
}

func TestPlaceholder(t *testing.T) {
	for _, s := range []string{
		"change-me", "CHANGEME", "xoxb-change-me", "123456:change-me", "change-me-too", "secret", "Password", "token", "TODO",
		"xxx", "xxxxxxxxxxxxxxxxxxxx", "test", "example", "example-token-0123456789", "AC…", "xoxb-…", "xoxb-...",
		"<token>", "<secret>", "${AM_TOKEN}", "prefix-${X}-suffix", "your-token-here", "YOUR_SIGNING_SECRET", "paste-token-here",
		"xoxb-token", "xoxb-secret", "aaaaaaaaaaaaaaaaaaaa", "0000000000000000", "placeholder-0123456789",
	} {
		if placeholderProblem(s) == "" {
			t.Errorf("%q passes for a real secret", s)
		}
	}
	for _, s := range []string{
		"q7Vt2mXc9LrB4sWn8KpZ3yHd", "xoxb-2718281828-3141592653589-Zk8q3VbN7yXw2LpR5tMa9HcD", "3c5f1e9a7b2d4f6081a3c5e7f9b1d3e5",
		"6kbnx4jcybgbmf3xg1hkrdgo1w", "7123456789:AAH3k9QwErTyUiOpAsDfGhJkLzXcVbNm-1Q", "tg_9fK2xQ7mZ4vR1bW8nL3c",
		"a-long-enough-test-secret-0123", "grafana-hmac-secret-0123456789", "x", "ab",
	} {
		if msg := placeholderProblem(s); msg != "" {
			t.Errorf("%q: %s", s, msg)
		}
		if strings.Contains(placeholderProblem(s+"…"), s) {
			t.Errorf("the message quotes the value")
		}
	}
}

// Every secret that authenticates requests to klaxon follows one rule, in
// a Config built in Go too.
func TestInboundSecretRule(t *testing.T) {
	short := Secret("only-15-chars!!")
	cfg := DefaultConfig()
	cfg.Server.APIToken = short
	cfg.Server.ButtonSecret = short
	cfg.Sources.Alertmanager = &HookAuth{Token: short}
	cfg.Sources.Grafana = &HookAuth{Basic: &BasicAuth{Username: "g", Password: short}}
	cfg.Sources.Webhook = []WebhookSource{{Name: "a", HMAC: &HMACAuth{Secret: short, Header: "X-Sig"}}, {Name: "b", Token: "only-15-chars!2"}}
	cfg.APITokens = []APITokenConfig{{Name: "ci", Token: "only-15-chars!3"}}
	cfg.Slack = &SlackConfig{BotToken: "xoxb-1", SigningSecret: short, APIURL: "https://slack.com/api/"}
	cfg.Mattermost = &MattermostConfig{URL: "https://chat.example.com", BotToken: "m", CommandToken: short}
	cfg.Telegram = &TelegramConfig{BotToken: "1:a", APIEndpoint: "https://api.telegram.org/bot%s/%s", WebhookSecret: "only-15-chars__"}
	err := cfg.Validate()
	var paths []string
	for _, e := range err.(ConfigErrors) {
		if strings.Contains(e.Msg, "is 15 characters long: at least 16") {
			paths = append(paths, e.Path)
		}
	}
	slices.Sort(paths)
	want := []string{"api_tokens[0].token", "mattermost.command_token", "server.api_token", "server.button_secret", "slack.signing_secret",
		"sources.alertmanager.token", "sources.grafana.basic.password", "sources.webhook[0].hmac.secret", "sources.webhook[1].token", "telegram.webhook_secret"}
	if !slices.Equal(paths, want) {
		t.Errorf("secrets held to the rule: %v\nwant %v\nall errors:\n%v", paths, want, err)
	}
	// Outbound credentials have no length rule.
	if strings.Contains(err.Error(), "bot_token") {
		t.Errorf("a bot token is held to the inbound rule:\n%v", err)
	}
}

// Telegram's own rule for a webhook's secret is separate from klaxon's.
func TestTelegramWebhookSecret(t *testing.T) {
	for secret, want := range map[string]string{
		"abc":                      "telegram.webhook_secret (line 1): is 3 characters long: at least 16, or anyone could guess it",
		"has space in it 0123":     "telegram.webhook_secret (line 1): holds characters Telegram refuses: it takes only A-Z a-z 0-9 _ and -",
		strings.Repeat("aB3_", 65): "telegram.webhook_secret (line 1): is 260 characters long: Telegram takes at most 256",
		"Valid_Secret-0123456789":  "",
		strings.Repeat("aB3_", 64): "",
	} {
		_, errs := readYAML(t, "telegram: {bot_token: '1:a', webhook_secret: '"+secret+"'}\n", nil)
		if got := errs.Error(); got != want {
			t.Errorf("webhook_secret of %d characters: %q, want %q", len(secret), got, want)
		}
	}
}

func TestSortConfigErrors(t *testing.T) {
	es := ConfigErrors{
		{Path: "twilio", Msg: "no line"},
		{Path: "teams[10].name", Line: 4},
		{Path: "teams[2].name", Line: 4},
		{Path: "teams[2]", Line: 4},
		{Line: 2, Msg: "a"},
		{Path: "server.listen", Line: 2},
		{Path: "sources.webhook[1].token", Line: 3, Msg: "first"},
		{Path: "sources.webhook[1].token", Line: 3, Msg: "second"},
		{Path: "sources.webhook[1]", Line: 3},
	}
	SortConfigErrors(es)
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{"line 2: a", "server.listen (line 2): ", "sources.webhook[1] (line 3): ", "sources.webhook[1].token (line 3): first",
		"sources.webhook[1].token (line 3): second", "teams[2] (line 4): ", "teams[2].name (line 4): ", "teams[10].name (line 4): ", "twilio: no line"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestConfigErrorsAbout(t *testing.T) {
	es := ConfigErrors{{Path: "sources.webhook[1].fields"}, {Line: 3, Msg: "no path"}}
	for path, want := range map[string]bool{
		"sources.webhook[1].fields": true, "sources.webhook[1].fields.title": true, "sources.webhook[1]": true, "sources": true,
		"sources.webhook[10]": false, "sources.webhook[1].name": false, "sources.webhook[1].fieldsx": false, "server": false, "": false,
	} {
		if got := es.About(path); got != want {
			t.Errorf("About(%q) = %v, want %v", path, got, want)
		}
	}
}

// ReadConfig returns what decoded with every problem; a reference into a
// list that did not decode is not reported as well.
func TestReadConfig(t *testing.T) {
	cfg, errs := readYAML(t, "server: {listen: 127.0.0.1:1, listn: x}\nteams: [{name: [a]}]\ndefault_team: a\nstore: {data_dir: /d}\n", nil)
	if cfg == nil || cfg.Server.Listen != "127.0.0.1:1" || cfg.Store.DataDir != "/d" {
		t.Fatalf("config %+v", cfg)
	}
	if want := `server.listn (line 1): unknown key (did you mean "listen"?)
teams[0].name (line 2): want a string, got a sequence`; errs.Error() != want {
		t.Errorf("errors:\n%v\nwant\n%s", errs, want)
	}
	if err := cfg.ErrorAt("server.listen", "x"); err.Line != 1 {
		t.Errorf("ErrorAt on a partial config: %+v", err)
	}
	cfg, errs = readYAML(t, "server:\n\tlisten: x\n", nil)
	if cfg != nil || len(errs) != 1 || errs[0].Line != 2 {
		t.Errorf("a file that is not YAML: %+v %v", cfg, errs)
	}
	if _, _, err := ReadConfig(filepath.Join(t.TempDir(), "none.yaml"), nil); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestBoolKeys(t *testing.T) {
	cfg, errs := readYAML(t, "server: {api_open: true}\nsources: {grafana: {allow_unauthenticated: \"${OPEN}\"}}\n", map[string]string{"OPEN": "TRUE"})
	if len(errs) > 0 || !cfg.Server.APIOpen || !cfg.Sources.Grafana.AllowUnauthenticated {
		t.Errorf("%+v %v", cfg.Server, errs)
	}
	_, errs = readYAML(t, "server: {api_open: [true]}\n", nil)
	if want := "server.api_open (line 1): want true or false, got a sequence"; errs.Error() != want {
		t.Errorf("%v, want %s", errs, want)
	}
}
