package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"go.yaml.in/yaml/v3"
)

// testEnv returns a getenv that serves only vars.
func testEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func configFixture(name string) string { return filepath.Join("testdata", "config", name) }

// loadFixture loads a fixture and fails the test on any error.
func loadFixture(t *testing.T, name string, vars map[string]string) *Config {
	t.Helper()
	cfg, err := LoadConfig(configFixture(name), testEnv(vars))
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", name, err)
	}
	cfg.lines = nil // compare content only
	return cfg
}

func TestDefaultConfig(t *testing.T) {
	cfg, err := LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sev := cfg.Server, cfg.Incidents.Severity
	if s.Listen != "127.0.0.1:8080" || s.PublicURL != "" || s.MaxBodyBytes != 4<<20 || s.ShutdownTimeout.D() != 25*time.Second {
		t.Errorf("server defaults = %+v", s)
	}
	if cfg.Store.Redis != nil || cfg.Store.DataDir != "./data" || cfg.Sources.Alertmanager != nil {
		t.Errorf("store/sources defaults = %+v %+v", cfg.Store, cfg.Sources)
	}
	if cfg.Incidents.ReopenWindow.D() != time.Hour || sev.Label != "severity" || sev.Default != incidents.Sev3 {
		t.Errorf("incidents defaults = %+v", cfg.Incidents)
	}
	want := map[incidents.Severity][]string{
		1: {"critical", "page", "emergency", "fatal", "1", "sev1", "p1"},
		2: {"high", "error", "major", "2", "sev2", "p2"},
		3: {"warning", "warn", "medium", "minor", "3", "sev3", "p3"},
		4: {"info", "low", "informational", "none", "4", "sev4", "p4", "p5"},
	}
	n := 0
	for s, keys := range want {
		for _, k := range keys {
			n++
			if got, ok := sev.Map[k]; !ok || got != s {
				t.Errorf("default map[%q] = %v, %v; want %v", k, got, ok, s)
			}
		}
	}
	if len(sev.Map) != n {
		t.Errorf("default map has %d keys, want %d", len(sev.Map), n)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	if DefaultConfig().Incidents.Severity.Map["critical"] = 4; DefaultConfig().Incidents.Severity.Map["critical"] != 1 {
		t.Error("DefaultConfig shares its severity map between calls")
	}

	if got := loadFixture(t, "empty.yaml", nil); !reflect.DeepEqual(got, DefaultConfig()) {
		t.Errorf("empty file: got %+v, want the defaults", got)
	}
	// Missing keys keep their defaults; a redis block gets its own defaults.
	got := loadFixture(t, "defaults_partial.yaml", nil)
	want2 := DefaultConfig()
	want2.Server.Listen = ":8081"
	want2.Store.Redis = &RedisConfig{URL: "rediss://cache.internal:6380/1", KeyPrefix: "klaxon"}
	if !reflect.DeepEqual(got, want2) {
		t.Errorf("partial file:\n got %#v\nwant %#v", got, want2)
	}
}

func TestLoadConfigValid(t *testing.T) {
	got := loadFixture(t, "valid.yaml", map[string]string{"MASTER_PASSWORD": "m4ster"})
	want := &Config{
		Server: ServerConfig{
			Listen:          "0.0.0.0:9090",
			PublicURL:       "https://klaxon.example.com",
			MaxBodyBytes:    1 << 20,
			MaxWebhooks:     64,
			ShutdownTimeout: Duration(90 * time.Second),
			Limits:          DefaultConfig().Server.Limits,
		},
		Store: StoreConfig{
			Redis: &RedisConfig{
				Sentinel: &SentinelConfig{
					Master:           "mymaster",
					Addrs:            []string{"sentinel-0:26379", "sentinel-1:26379"},
					Password:         "m4ster",
					SentinelPassword: "s3ntinel", // from the file, "\r\n" trimmed
					DB:               2,
				},
				Username:  "klaxon",
				Password:  "pa$word",
				KeyPrefix: "klaxon-prod",
			},
			DataDir: "/var/lib/klaxon",
		},
		Sources: SourcesConfig{Alertmanager: &HookAuth{Basic: &BasicAuth{Username: "alertmanager", Password: "am-basic-password-0123"}}},
		Incidents: IncidentsConfig{
			ReopenWindow: Duration(30 * time.Minute),
			Severity: SeverityConfig{
				Label:   "priority",
				Default: incidents.Sev2,
				Map:     map[string]incidents.Severity{"critical": 1, "warning": 3, "p5": 4}, // replaces the defaults
			},
			BlamePhrases: DefaultConfig().Incidents.BlamePhrases,
			Flapping:     DefaultConfig().Incidents.Flapping,
		},
		Outbox: DefaultConfig().Outbox,
		Paging: DefaultConfig().Paging,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", dumpConfig(t, got), dumpConfig(t, want))
	}
}

// dumpConfig shows a config with its secrets, for test failures only.
func dumpConfig(t *testing.T, c *Config) string {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if r := c.Store.Redis; r != nil {
		s += fmt.Sprintf(" redis=%q/%q", r.URL.Reveal(), r.Password.Reveal())
		if r.Sentinel != nil {
			s += fmt.Sprintf(" sentinel=%q/%q", r.Sentinel.Password.Reveal(), r.Sentinel.SentinelPassword.Reveal())
		}
	}
	if h := c.Sources.Alertmanager; h != nil {
		s += fmt.Sprintf(" token=%q", h.Token.Reveal())
		if h.Basic != nil {
			s += fmt.Sprintf(" basic=%q", h.Basic.Password.Reveal())
		}
	}
	return s
}

func TestLoadConfigEnv(t *testing.T) {
	cfg := loadFixture(t, "env.yaml", map[string]string{
		"HOST":  "10.0.0.1",
		"EMPTY": "",               // ":-" treats empty like unset
		"TOKEN": "{x: [1]}\nq: 1", // YAML in a variable stays text
	})
	if got, want := cfg.Server.Listen, "10.0.0.1:8080"; got != want {
		t.Errorf("listen = %q, want %q", got, want)
	}
	if got, want := cfg.Server.PublicURL, "https://klaxon.example.com/${base}/x"; got != want {
		t.Errorf("public_url = %q, want %q", got, want)
	}
	if got, want := cfg.Store.DataDir, "/srv/klaxon"; got != want {
		t.Errorf("data_dir = %q, want %q", got, want)
	}
	if got, want := cfg.Sources.Alertmanager.Token.Reveal(), "a$b$c{x: [1]}\nq: 1$"; got != want {
		t.Errorf("token = %q, want %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	get := testEnv(map[string]string{"A": "1", "E": "", "LONG_name_2": "x"})
	for _, tt := range []struct{ in, want, err string }{
		{in: "plain", want: "plain"},
		{in: "${A}${A}", want: "11"},
		{in: "${LONG_name_2}", want: "x"},
		{in: "${E}", want: ""},
		{in: "${E:-d}", want: "d"},
		{in: "${U:-}", want: ""},
		{in: "${U:-a b:c}", want: "a b:c"},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "p$ss$", want: "p$ss$"},
		{in: "$A", want: "$A"},
		{in: "${U}", err: "environment variable U is not set (give a default with ${U:-default})"},
		{in: "${A", err: badEnvRef},
		{in: "${}", err: badEnvRef},
		{in: "${1A}", err: badEnvRef},
	} {
		got, err := expandEnv(tt.in, get)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("expandEnv(%q) error = %v, want %q", tt.in, err, tt.err)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestLoadConfigSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("am-token", "tok$en-0123456789abcdef\n\n")
	write("redis-url", "redis://:p%40ss@redis:6379/0\r\n")
	cfg := loadFixture(t, "secret_file.yaml", map[string]string{"SECRETS": dir})
	if got, want := cfg.Sources.Alertmanager.Token.Reveal(), "tok$en-0123456789abcdef"; got != want {
		t.Errorf("token = %q, want %q", got, want)
	}
	if got, want := cfg.Store.Redis.URL.Reveal(), "redis://:p%40ss@redis:6379/0"; got != want {
		t.Errorf("redis url = %q, want %q", got, want)
	}
}

// The APIs for silences: api_url with basic auth from a file, and a
// Grafana section that gives only its API, which leaves its webhook as if
// the section were not there.
func TestLoadConfigSilenceAPIs(t *testing.T) {
	cfg := loadFixture(t, "silence_api.yaml", map[string]string{"GRAFANA_SA_TOKEN": "glsa_0123456789abcdef"})
	got := cfg.Sources.SilenceAPIs()
	want := map[string]SilenceAPI{
		"alertmanager": {URL: "http://alertmanager:9093", Username: "klaxon", Password: "am-basic-password-0123"},
		"grafana":      {URL: "https://grafana.example.com", Token: "glsa_0123456789abcdef"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SilenceAPIs = %+v\nwant %+v", got, want)
	}
	if cfg.Sources.auth("grafana") != nil || cfg.Sources.auth("alertmanager") == nil {
		t.Fatalf("the webhooks' credentials: %v, %v", cfg.Sources.auth("grafana"), cfg.Sources.auth("alertmanager"))
	}
	if s := fmt.Sprintf("%v %+v %s", cfg.Sources.Alertmanager, cfg.Sources.Grafana, cfg.Sources.Grafana); strings.Contains(s, "am-basic-password") || strings.Contains(s, "glsa_") {
		t.Fatalf("a secret printed: %s", s)
	}
	// Grafana's webhook answers 401 (another source has credentials), as without the section.
	if open, _ := cfg.Sources.Open("grafana", false); open {
		t.Fatal("grafana's webhook is open")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		file string
		env  map[string]string
		want string
	}{
		{file: "unknown_nested.yaml", want: `
server.listn (line 3): unknown key (did you mean "listen"?)
store.redis.sentinal (line 7): unknown key (did you mean "sentinel"?)`},
		{file: "unknown_top.yaml", want: `
pagerduty (line 3): unknown key (known keys: server, store, sources, incidents, templates_dir, teams, routes, default_team, people, api_tokens, policies, schedules, twilio, smtp, ntfy, paging, slack, mattermost, telegram, outbox, console, heartbeats, maintenance, datasources)
sever (line 5): unknown key (did you mean "server"?)`},
		{file: "api_tokens.yaml", want: `
api_tokens[1].name (line 5): "ci" is defined twice
api_tokens[1].scope (line 5): want read or write, got "admin"
api_tokens[1].token (line 5): is 5 characters long: at least 16, or anyone could guess it
api_tokens[2].as (line 6): no person "alcie" (did you mean "alice"?)
api_tokens[2].token (line 6): is the same as api_tokens[0]'s: give each token its own
api_tokens[3].token (line 7): is a placeholder: set the real one`},
		{file: "wrong_type.yaml", want: `
server.public_url (line 3): want a string, got a sequence
server.max_body_bytes (line 4): want an integer, got "abc"
store.redis.cluster.addrs (line 8): want a sequence, got a string
sources (line 9): want a mapping, got a number
incidents (line 10): want a mapping, got a boolean`},
		{file: "bad_duration.yaml", want: `
server.shutdown_timeout (line 2): want a duration with a unit, such as "30s" or "30m", got "30"
incidents.reopen_window (line 4): want a duration such as "168h" (Go durations have no "d": 7d is 168h)`},
		{file: "env_missing.yaml", env: map[string]string{}, want: `
server.public_url (line 3): environment variable PUBLIC_HOST is not set (give a default with ${PUBLIC_HOST:-default})
sources.alertmanager.token (line 6): environment variable AM_TOKEN is not set (give a default with ${AM_TOKEN:-default})`},
		{file: "env_bad_ref.yaml", want: `
sources.alertmanager.token (line 3): "${" must be followed by a variable name and "}" (write "$$" for a literal "$")`},
		{file: "secret_both.yaml", want: `
sources.alertmanager.token_file (line 4): give either token or token_file, not both`},
		{file: "secret_file_missing.yaml", want: `
sources.alertmanager.token_file (line 3): cannot read secret file: open testdata/config/no-such-token: no such file or directory`},
		{file: "redis_url_cluster.yaml", want: `
store.redis (line 2): give only one of url, sentinel or cluster, not url and cluster`},
		{file: "redis_empty.yaml", want: `
store.redis (line 2): give one of url, sentinel or cluster`},
		{file: "redis_bad.yaml", want: `
store.redis.url (line 3): want redis://[user:password@]host[:port][/db] or rediss://...
store.redis.key_prefix (line 4): must be 1 to 64 of A-Z a-z 0-9 _ . -, got "klaxon prod"`},
		{file: "redis_sentinel_bad.yaml", want: `
store.redis.sentinel.master (line 3): must not be empty
store.redis.sentinel.addrs[1] (line 4): want host:port, got "sentinel-1"
store.redis.sentinel.db (line 5): must not be negative, got -1`},
		{file: "basic_no_password.yaml", want: `
sources.alertmanager.basic.password (line 3): must not be empty`},
		{file: "hook_token_and_basic.yaml", want: `
sources.alertmanager (line 2): give one of token, basic and hmac, not more`},
		{file: "hook_scalar.yaml", want: `
sources.alertmanager (line 2): want a mapping, got a string`},
		{file: "silence_api_bad.yaml", want: `
sources.alertmanager.api_url (line 4): want an absolute http or https URL such as http://alertmanager:9093, got "alertmanager:9093"
sources.alertmanager.api_tokn (line 5): unknown key (did you mean "api_token"?)
sources.grafana (line 6): give api_token or api_basic, not both
sources.grafana.api_url (line 7): holds credentials: give them as api_basic (or api_token), which are kept secret`},
		{file: "silence_api_bad2.yaml", want: `
sources.alertmanager.api_token (line 3): needs api_url: the API it is for
sources.grafana.api_token (line 6): is empty: give the token, or leave api_token out`},
		{file: "silence_api_bad3.yaml", want: `
sources.alertmanager.api_url (line 3): has a query or #fragment: give the base URL only, such as http://alertmanager:9093
sources.alertmanager.api_basic.password (line 4): must not be empty
sources.alertmanager.api_basic.username (line 4): must not hold a colon`},
		{file: "hook_empty_token.yaml", want: `
sources.alertmanager (line 2): give token, basic or hmac, or allow_unauthenticated: true (an empty token is not allowed)`},
		{file: "severity_range.yaml", want: `
incidents.severity.default (line 3): must be between 1 and 4, got 0
incidents.severity.map.bogus (line 6): must be between 1 and 4, got 5
incidents.severity.map.worse (line 7): want a severity 1..4, got "sev1"`},
		{file: "maintenance_bad.yaml", want: `
incidents.flapping.count (line 3): must be 0 (off) or between 2 and 1000, got 1
maintenance[0].weekly (line 9): unknown day "Sonntag" (want Mon, Tue, Wed, Thu, Fri, Sat or Sun)
maintenance[0].timezone (line 10): unknown time zone "Europe/Berlni" (an IANA name such as Europe/Berlin)
maintenance[1].name (line 11): maintenance window "nightly" is defined twice
maintenance[1].team (line 12): no team "paymnets" (did you mean "payments"?)
maintenance[1].weekly (line 13): want a time of day such as 02:00, got "25:00"
maintenance[2] (line 14): give team, match or both: a window for every alert of every team is too easy to leave on
maintenance[2].name (line 14): names starting with mw- are for windows opened from chat, got "mw-1"
maintenance[2].weekly (line 14): must say when, such as "Sun 02:00-04:00"
maintenance[3].name (line 16): maintenance window "nightly" is defined twice
maintenance[4].weekly (line 18): must say when, such as "Sun 02:00-04:00"
maintenance[4].matchx (line 19): unknown key (did you mean "match"?)`},
		{file: "severity_case_conflict.yaml", want: `
incidents.severity.map.critical (line 4): maps to 1, but a key that differs only in case maps to 2`},
		{file: "multiple.yaml", want: `
server.listen (line 2): want host:port, got "localhost"
server.public_url (line 3): want an absolute http or https URL, got "ftp://files.example.com"
server.max_body_bytes (line 4): must be between 1 and 1073741824 (1 GiB), got 0
server.shutdown_timout (line 5): unknown key (did you mean "shutdown_timeout"?)
store.redis (line 7): give only one of url, sentinel or cluster, not url and cluster
store.redis.cluster.addrs (line 9): give at least one host:port
sources.alertmanager.token (line 12): environment variable AM_TOKEN is not set (give a default with ${AM_TOKEN:-default})
incidents.reopen_window (line 14): must not be negative, got -5m0s`},
		{file: "tab.yaml", want: `
line 5: has a tab: YAML indents with spaces only`},
		{file: "tab_in_block.yaml", want: `
line 9: found character that cannot start any token (a value that starts with @ or ` + "`" + ` must be quoted)`},
		{file: "at_sign.yaml", want: `
line 3: found character that cannot start any token (a value that starts with @ or ` + "`" + ` must be quoted)`},
		{file: "day_duration.yaml", want: `
schedules[0].rotation.every (line 5): want a duration such as "24h" (Go durations have no "d": 1d is 24h)
incidents.reopen_window (line 7): want a duration such as "216h" (Go durations have no "w" or "d": 1w2d is 216h)
outbox.lease (line 9): want a duration such as "36h" (Go durations have no "d": 1.5d is 36h)`},
		{file: "handover.yaml", want: `
teams[0].handover (line 8): want true or false, got "maybe"
teams[1].handover (line 9): announces who comes on call: the team needs a schedule (teams[].schedule)
teams[2].handovr (line 10): unknown key (did you mean "handover"?)`},
		{file: "references.yaml", env: map[string]string{"CI_TOKEN": "ci-token-0123456789ab"}, want: `
policies[0].steps[0].notify (line 6): the only target is channel (the team's cards), got "chanel" (did you mean "channel"?)
policies[0].steps[1].mention (line 6): want oncall, a person or a team, got "alcie" (did you mean "alice"?)
policies[0].steps[2].call (line 6): want oncall or a person, got "oncal" (did you mean "oncall"?)
teams[0].policy (line 9): no policy "defualt" (did you mean "default"?)
teams[0].schedule (line 10): no schedule "payments-primry" (did you mean "payments-primary"?)
teams[0].responders[1] (line 11): no person "bbo" (did you mean "bob"?)
teams[1].policy (line 12): no policy "urgent" (choose from default)
schedules[0].rotation.people[1] (line 15): no person "carol" (choose from alice, bob)
schedules[0].layers[0].people[1] (line 16): no person "alcie" (did you mean "alice"?)
routes[0].team (line 18): no team "paymnts" (did you mean "payments"?)
default_team (line 19): no team "opps" (did you mean "ops"?)
api_tokens[0].as (line 21): no person "bobb" (did you mean "bob"?)
twilio: policies have call steps: configure twilio (account_sid, auth_token, from)`},
		{file: "secrets_inbound.yaml", want: `
server.api_token (line 2): is 11 characters long: at least 16, or anyone could guess it
server.button_secret (line 3): is a placeholder: set the real one
api_tokens[0].token (line 5): is a placeholder ("<…>"): set the real one
sources.alertmanager.token (line 7): is 1 character long: at least 16, or anyone could guess it
sources.grafana.basic.password (line 8): is a placeholder: set the real one
sources.webhook[0].token (line 10): holds "…", so it is a placeholder: set the real one
sources.webhook[1].hmac.secret (line 11): holds "${", a variable that was not expanded (a value read from a file or from another variable is not expanded again): set the real one
sources.webhook[2].basic.password (line 12): is 15 characters long: at least 16, or anyone could guess it
slack.bot_token (line 13): holds "...", so it is a placeholder: set the real one
slack.signing_secret (line 13): is a placeholder: set the real one
mattermost.bot_token (line 14): is a placeholder: set the real one
mattermost.command_token (line 14): holds "your-", so it is a placeholder: set the real one
telegram.bot_token (line 15): is a placeholder: set the real one
telegram.webhook_secret (line 15): holds characters Telegram refuses: it takes only A-Z a-z 0-9 _ and -
twilio (line 16): needs server.public_url: Twilio calls klaxon back there with the keys pressed
twilio.account_sid (line 16): want AC followed by 32 hex digits (Twilio console → Account Info), got the placeholder "AC…"
twilio.auth_token (line 16): is a placeholder ("<…>"): set the real one`},
		{file: "unauthenticated.yaml", env: map[string]string{"AM_TOKEN": "am-token-0123456789ab"}, want: `
sources.webhook[0] (line 6): has no credentials while sources.alertmanager has: set a token, basic or hmac, or allow_unauthenticated: true
sources.webhook[2].allow_unauthenticated (line 8): give credentials or allow_unauthenticated: true, not both
sources.webhook[3].allow_unauthenticated (line 9): want true or false, got "yes"`},
		// One error in each of five sections: all five, in one run.
		{file: "five_sections.yaml", want: `
server.shutdown_timeout (line 3): want a duration with a unit, such as "25s" or "25m", got "25"
sources.alertmanager.token (line 6): is 5 characters long: at least 16, or anyone could guess it
teams[0].policy (line 9): no policy "defualt" (did you mean "default"?)
people[0].phone (line 12): want an E.164 number such as +15551230001, got "555-0100"
policies[0].steps[2].mention (line 15): want oncall, a person or a team, got "alcie" (did you mean "alice"?)`},
		{file: "team_report.yaml", want: `
teams[1].report.timezone (line 4): unknown time zone "Mars/Olympus" (an IANA name such as Europe/Berlin)
teams[1].report.weekly (line 4): want a day and a time such as "Mon 09:00", got "Someday 9am"
teams[2].report.weekly (line 5): the team has no channel to post to (slack, mattermost or telegram)
teams[3].report.timezon (line 6): unknown key (did you mean "timezone"?)
teams[3].report.weekly (line 6): want a day and a time such as "Mon 09:00", got "Tue 25:00"`},
		{file: "duplicate_key.yaml", want: `
server.listen (line 3): duplicate key`},
		{file: "syntax.yaml", want: `
line 3: mapping values are not allowed in this context`},
		{file: "not_mapping.yaml", want: `
line 1: want a mapping, got a sequence`},
		{file: "two_documents.yaml", want: `
line 2: want one YAML document, found more`},
	} {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			cfg, err := LoadConfig(configFixture(tt.file), testEnv(tt.env))
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("config %+v returned with an error", cfg)
			}
			var ce ConfigErrors
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not ConfigErrors: %v", err, err)
			}
			if got, want := err.Error(), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(configFixture("no-such.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestLoadConfigMerge(t *testing.T) {
	cfg := loadFixture(t, "merge.yaml", nil)
	if s := cfg.Server; s.Listen != "127.0.0.1:7001" || s.MaxBodyBytes != 2048 {
		t.Errorf("server = %+v; want listen from the mapping, max_body_bytes from the merge", s)
	}
}

func TestConfigErrorFields(t *testing.T) {
	_, err := LoadConfig(configFixture("unknown_nested.yaml"), nil)
	var ce ConfigErrors
	if !errors.As(err, &ce) || len(ce) != 2 {
		t.Fatalf("err = %v", err)
	}
	if want := (ConfigError{Path: "server.listn", Line: 3, Msg: `unknown key (did you mean "listen"?)`}); ce[0] != want {
		t.Errorf("first error = %#v, want %#v", ce[0], want)
	}
	for _, tt := range []struct {
		e    ConfigError
		want string
	}{
		{ConfigError{"a.b", 2, "bad"}, "a.b (line 2): bad"},
		{ConfigError{"a.b", 0, "bad"}, "a.b: bad"},
		{ConfigError{"", 7, "bad"}, "line 7: bad"},
		{ConfigError{"", 0, "bad"}, "bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	// Built in Go: no lines.
	cfg := DefaultConfig()
	cfg.Server.Listen = "8080"
	cfg.Server.ShutdownTimeout = 0
	cfg.Store.Redis = &RedisConfig{Cluster: &ClusterConfig{Addrs: []string{"r0:6379", ":6379"}}}
	cfg.Sources.Alertmanager = &HookAuth{Basic: &BasicAuth{Password: "hunter2-long-password"}}
	cfg.Incidents.Severity.Label = ""
	want := `server.listen: want host:port, got "8080"
server.shutdown_timeout: must be positive, got 0s
store.redis.cluster.addrs[1]: want host:port, got ":6379"
store.redis.key_prefix: must be 1 to 64 of A-Z a-z 0-9 _ . -, got ""
sources.alertmanager.basic.username: must not be empty
incidents.severity.label: must not be empty`
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}

	// Loaded, then changed: errors carry the line of the path or of its
	// nearest ancestor in the file.
	cfg, err := LoadConfig(configFixture("valid.yaml"), testEnv(map[string]string{"MASTER_PASSWORD": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.Redis.Sentinel.Addrs[1] = "nope"
	cfg.Store.Redis.Sentinel.Master = ""
	cfg.Sources.Alertmanager.Basic.Password = ""
	cfg.Server.PublicURL = "/relative"
	want = `server.public_url (line 4): want an absolute http or https URL, got "/relative"
store.redis.sentinel.master (line 10): must not be empty
store.redis.sentinel.addrs[1] (line 11): want host:port, got "nope"
sources.alertmanager.basic.password (line 23): must not be empty`
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Error("a zero Config validates")
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	secrets := map[string]string{"MASTER_PASSWORD": "hunter-master", "AM_PASSWORD": "hunter-am-password-0123"}
	cfg := loadFixture(t, "valid.yaml", secrets)
	cfg.Store.Redis.URL = "redis://:hunter-url@r:6379" // invalid with sentinel, but we only print
	cfg.Sources.Alertmanager.Token = "hunter-token"
	r, h := cfg.Store.Redis, cfg.Sources.Alertmanager
	values := []any{cfg, *cfg, *r, *r.Sentinel, *h, *h.Basic, r.URL, r.Password}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%t", "%x"} {
		for _, v := range values {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b), string(y))
	for _, s := range out {
		for _, secret := range []string{"hunter", "s3ntinel", "pa$word"} {
			if strings.Contains(s, secret) {
				t.Errorf("output shows secret %q: %s", secret, s)
			}
		}
	}
	if s := fmt.Sprintf("%+v", *r); !strings.Contains(s, "Password:<secret>") {
		t.Errorf("%%+v of RedisConfig = %s; want Password:<secret>", s)
	}
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter") {
		t.Errorf("Validate() = %v; want an error without secrets", err)
	}
}

func TestSecret(t *testing.T) {
	s, empty := Secret("hunter2"), Secret("")
	if s.Reveal() != "hunter2" || s.String() != "<secret>" || s.GoString() != "<secret>" || empty.String() != "" {
		t.Errorf("Secret methods: %q %q %q %q", s.Reveal(), s.String(), s.GoString(), empty.String())
	}
	j, _ := json.Marshal(map[string]Secret{"a": s, "b": empty})
	var back map[string]string
	if err := json.Unmarshal(j, &back); err != nil || back["a"] != "<secret>" || back["b"] != "" {
		t.Errorf("json = %s (%v)", j, err)
	}
	for _, verb := range []string{"%v", "%s", "%d", "%t", "%x", "%10f", "%#v", "%+v"} {
		if got := fmt.Sprintf(verb, s); strings.Contains(got, "hunter") || !strings.Contains(got, "<secret>") {
			t.Errorf("Sprintf(%q, secret) = %q", verb, got)
		}
	}
	if got := fmt.Sprintf("%q|%s|%8s", s, empty, s); got != `"<secret>"||<secret>` {
		t.Errorf("Sprintf = %q", got)
	}
	if txt, _ := s.MarshalText(); string(txt) != "<secret>" {
		t.Errorf("MarshalText = %s", txt)
	}
}

func TestDuration(t *testing.T) {
	d := Duration(90 * time.Minute)
	if d.D() != 90*time.Minute || d.String() != "1h30m0s" {
		t.Errorf("D() = %v, String() = %s", d.D(), d)
	}
	b, _ := json.Marshal(struct{ D Duration }{d})
	if string(b) != `{"D":"1h30m0s"}` {
		t.Errorf("json = %s", b)
	}
	var back struct{ D Duration }
	if err := json.Unmarshal(b, &back); err != nil || back.D != d {
		t.Errorf("json round trip = %v, %v", back.D, err)
	}
	y, _ := yaml.Marshal(struct{ D Duration }{d})
	if string(y) != "d: 1h30m0s\n" {
		t.Errorf("yaml = %q", y)
	}
}

func TestSeverityOf(t *testing.T) {
	def := DefaultConfig().Incidents.Severity
	custom := SeverityConfig{Label: "priority", Default: incidents.Sev4, Map: map[string]incidents.Severity{"Urgent": 1, "p2": 2}}
	for _, tt := range []struct {
		name   string
		c      SeverityConfig
		labels map[string]string
		want   incidents.Severity
	}{
		{"mapped", def, map[string]string{"severity": "critical"}, 1},
		{"case and space", def, map[string]string{"severity": "  WARNING "}, 3},
		{"number", def, map[string]string{"severity": "2"}, 2},
		{"p5", def, map[string]string{"severity": "P5"}, 4},
		{"unmapped value", def, map[string]string{"severity": "catastrophic"}, 3},
		{"no label", def, map[string]string{"alertname": "X"}, 3},
		{"nil labels", def, nil, 3},
		{"custom label", custom, map[string]string{"priority": "p2", "severity": "critical"}, 2},
		{"custom other label ignored", custom, map[string]string{"severity": "critical"}, 4},
		{"map key in another case", custom, map[string]string{"priority": "urgent"}, 1},
		{"custom default", custom, map[string]string{"priority": "p1"}, 4},
	} {
		if got := tt.c.Of(tt.labels); got != tt.want {
			t.Errorf("%s: Of(%v) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}

// The config file is outside input: whatever it holds, loading answers a
// config that passes Validate or ConfigErrors, and never panics.
func FuzzParseConfig(f *testing.F) {
	entries, err := os.ReadDir("testdata/config")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join("testdata/config", e.Name())); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("server: {listen: ${A:-${B}}}\n"))
	dir := f.TempDir()
	env := func(name string) (string, bool) { return "v-" + name, name != "UNSET" }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig(data, dir, env)
		if err != nil {
			var errs ConfigErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v is not ConfigErrors", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded config fails Validate: %v", err)
		}
	})
}
