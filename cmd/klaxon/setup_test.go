package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"go.yaml.in/yaml/v3"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/bot"
)

// A flag of its own: package main's tests may get an -update of their own.
var updateSetup = flag.Bool("update-setup", false, "rewrite the golden files of klaxon setup")

// runSetup runs klaxon with args and returns its stdout, stderr and error.
func runSetup(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func wantUsageError(t *testing.T, err error, want string) {
	t.Helper()
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(u.msg, want) {
		t.Errorf("err = %#v, want a usage error saying %q", err, want)
	}
}

func TestSetupUsage(t *testing.T) {
	out, errOut, err := runSetup(t, "setup")
	wantUsageError(t, err, "setup needs a platform")
	if !strings.Contains(errOut, "klaxon setup slack") || out != "" {
		t.Errorf("setup alone: stdout %q, stderr %q", out, errOut)
	}
	for _, args := range [][]string{{"setup", "-h"}, {"setup", "--help"}, {"setup", "help"}} {
		out, _, err := runSetup(t, args...)
		if err != nil || !strings.Contains(out, "klaxon setup mattermost --url URL --admin-token TOKEN") {
			t.Errorf("%v: %v, stdout %q", args, err, out)
		}
	}
	for _, c := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"setup", "slack", "-h"}, []string{"Usage: klaxon setup slack", "-public-url URL", "-o format"}},
		{[]string{"setup", "slack", "--help"}, []string{"Usage: klaxon setup slack"}},
		{[]string{"setup", "mattermost", "-h"}, []string{"Usage: klaxon setup mattermost", "$MATTERMOST_ADMIN_TOKEN", "-fix-untrusted", "-team name"}},
	} {
		out, errOut, err := runSetup(t, c.args...)
		if err != nil || errOut != "" {
			t.Errorf("%v: err %v, stderr %q", c.args, err, errOut)
		}
		for _, w := range c.wants {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	_, errOut, err = runSetup(t, "setup", "slak")
	wantUsageError(t, err, `unknown platform "slak" (did you mean "slack"?)`)
	_, errOut, err = runSetup(t, "setup", "slack", "--nme", "x")
	wantUsageError(t, err, "flag provided but not defined: -nme")
	if !strings.Contains(errOut, "Usage: klaxon setup slack") {
		t.Errorf("a flag mistake shows no usage: %q", errOut)
	}
	_, _, err = runSetup(t, "setup", "slack", "--public-url", "https://k.example.com", "extra")
	wantUsageError(t, err, `unexpected argument "extra"`)
	_, _, err = runSetup(t, "setup", "slack", "--public-url", "https://k.example.com", "-o", "xml")
	wantUsageError(t, err, `-o "xml": want yaml or json`)

	out, _, err = runSetup(t, "setup", "telegram")
	if err != nil || !strings.Contains(out, "@BotFather") || !strings.Contains(out, "setMyCommands") {
		t.Errorf("setup telegram: %v %q", err, out)
	}
	out, _, _ = runSetup(t, "help")
	if !strings.Contains(out, "setup slack|mattermost") {
		t.Errorf("klaxon's usage lacks setup:\n%s", out)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateSetup {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/klaxon -run Setup -update-setup)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./cmd/klaxon -run Setup -update-setup rewrites it):\n%s", name, got)
	}
}

// manifestView is what a test reads back from a manifest.
type manifestView struct {
	DisplayInformation struct {
		Name string `yaml:"name" json:"name"`
	} `yaml:"display_information" json:"display_information"`
	Features struct {
		BotUser struct {
			DisplayName string `yaml:"display_name" json:"display_name"`
		} `yaml:"bot_user" json:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command" json:"command"`
			URL          string `yaml:"url" json:"url"`
			UsageHint    string `yaml:"usage_hint" json:"usage_hint"`
			ShouldEscape bool   `yaml:"should_escape" json:"should_escape"`
		} `yaml:"slash_commands" json:"slash_commands"`
	} `yaml:"features" json:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot  []string `yaml:"bot" json:"bot"`
			User []string `yaml:"user" json:"user"`
		} `yaml:"scopes" json:"scopes"`
	} `yaml:"oauth_config" json:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled" json:"is_enabled"`
			RequestURL string `yaml:"request_url" json:"request_url"`
		} `yaml:"interactivity" json:"interactivity"`
		OrgDeployEnabled     *bool `yaml:"org_deploy_enabled" json:"org_deploy_enabled"`
		SocketModeEnabled    *bool `yaml:"socket_mode_enabled" json:"socket_mode_enabled"`
		TokenRotationEnabled *bool `yaml:"token_rotation_enabled" json:"token_rotation_enabled"`
	} `yaml:"settings" json:"settings"`
}

func TestSetupSlack(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", `server: {public_url: "https://klaxon.example.com/"}`+"\n")
	out, errOut, err := runSetup(t, "setup", "slack", "-c", cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	golden(t, "setup-slack.yaml.golden", out)
	jsonOut, _, err := runSetup(t, "setup", "slack", "-c", cfg, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "setup-slack.json.golden", jsonOut)

	// Both outputs say the same; every URL and scope is right.
	var y, j manifestView
	if err := yaml.Unmarshal([]byte(out), &y); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(jsonOut), &j); err != nil { // JSON is YAML
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Errorf("YAML and JSON differ:\n%v\n%v", y, j)
	}
	checkManifest(t, y, "https://klaxon.example.com", "klaxon")
	for _, w := range []string{"https://api.slack.com/apps?new_app=1", "slack.bot_token", "slack.signing_secret", "Bot User OAuth Token",
		"Signing Secret", "files:write", "/invite @klaxon"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("the instructions lack %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(out, "Create the app") {
		t.Error("instructions on stdout: the manifest must be pipeable")
	}

	// --public-url and --name win; a path prefix is kept.
	out, _, err = runSetup(t, "setup", "slack", "-c", cfg, "--public-url", "https://ops.example.com/klaxon", "--name", "pager")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(out), &y); err != nil {
		t.Fatal(err)
	}
	checkManifest(t, y, "https://ops.example.com/klaxon", "pager")
}

func checkManifest(t *testing.T, m manifestView, base, name string) {
	t.Helper()
	if m.DisplayInformation.Name != name || m.Features.BotUser.DisplayName != name {
		t.Errorf("names %q, %q; want %q", m.DisplayInformation.Name, m.Features.BotUser.DisplayName, name)
	}
	if len(m.Features.SlashCommands) != 1 {
		t.Fatalf("slash commands: %+v", m.Features.SlashCommands)
	}
	c := m.Features.SlashCommands[0]
	if c.Command != "/incident" || c.URL != base+"/slack/commands" || !c.ShouldEscape || c.UsageHint == "" {
		t.Errorf("slash command: %+v", c)
	}
	in := m.Settings.Interactivity
	if !in.IsEnabled || in.RequestURL != base+"/slack/interactions" {
		t.Errorf("interactivity: %+v", in)
	}
	for _, u := range []string{c.URL, in.RequestURL} {
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" {
			t.Errorf("URL %q is not https", u)
		}
	}
	st := m.Settings
	for what, v := range map[string]*bool{"org_deploy_enabled": st.OrgDeployEnabled, "socket_mode_enabled": st.SocketModeEnabled, "token_rotation_enabled": st.TokenRotationEnabled} {
		if v == nil || *v {
			t.Errorf("settings.%s = %v, want false", what, v)
		}
	}
	want := []string{"chat:write", "im:write", "channels:history", "groups:history", "commands", "files:write"}
	if !slices.Equal(m.OAuthConfig.Scopes.Bot, want) || len(m.OAuthConfig.Scopes.User) != 0 {
		t.Errorf("scopes: bot %v, user %v; want bot %v", m.OAuthConfig.Scopes.Bot, m.OAuthConfig.Scopes.User, want)
	}
}

// The manifest's URLs are the ones klaxon serves: a klaxon with that
// config answers them (401 unsigned), not 404.
func TestSetupSlackURLsServed(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s, public_url: "https://klaxon.example.com"}
store: {data_dir: %q}
slack: {bot_token: xoxb-1-test-token, signing_secret: %s}
`, filepath.Join(t.TempDir(), "data"), e2eSigning))
	out, _, err := runSetup(t, "setup", "slack", "-c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m manifestView
	if err := yaml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	base, _, stop := startServe(t, cfg)
	defer stop()
	for _, u := range []string{m.Features.SlashCommands[0].URL, m.Settings.Interactivity.RequestURL} {
		p, _ := url.Parse(u)
		if code, body := post(t, base+p.Path, "application/x-www-form-urlencoded", []byte("text=list"), nil); code != 401 {
			t.Errorf("POST %s (from the manifest's %s) = %d %s, want klaxon's 401 for an unsigned request", p.Path, u, code, body)
		}
	}
}

func TestSetupSlackRefuses(t *testing.T) {
	for _, c := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{"no public_url", "server: {listen: 127.0.0.1:0}\n", nil, "klaxon's public URL is needed (the config has none)"},
		{"http", `server: {public_url: "http://klaxon.example.com"}` + "\n", nil, "only to https URLs"},
		{"http flag", "", []string{"--public-url", "http://10.0.0.5:8080"}, "only to https URLs"},
		{"not a URL", "", []string{"--public-url", "klaxon.example.com"}, `--public-url "klaxon.example.com" must be an absolute http(s) URL`},
		{"no config", "", nil, "no config given"},
		{"long name", `server: {public_url: "https://k.example.com"}` + "\n", []string{"--name", strings.Repeat("k", 36)}, "1-35 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KLAXON_CONFIG", "")
			args := []string{"setup", "slack"}
			if c.config != "" {
				args = append(args, "-c", writeFile(t, "klaxon.yaml", c.config))
			}
			out, _, err := runSetup(t, append(args, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
				t.Errorf("err = %v, stdout %q; want an error saying %q and no manifest", err, out, c.want)
			}
		})
	}
	// A config that does not load yet (its bot token is what the app will
	// give) is read for public_url anyway, with a note.
	t.Setenv("KLAXON_TEST_UNSET_TOKEN", "")
	cfg := writeFile(t, "klaxon.yaml", "server: {public_url: \"https://klaxon.example.com\"}\nslack: {bot_token: \"${KLAXON_TEST_UNSET_TOKEN}\"}\n")
	out, errOut, err := runSetup(t, "setup", "slack", "-c", cfg)
	if err != nil || !strings.Contains(out, "https://klaxon.example.com/slack/commands") || !strings.Contains(errOut, "does not pass check-config yet") {
		t.Errorf("lenient read: %v\n%s\n%s", err, out, errOut)
	}
}

// mmFake is a Mattermost server with team eng and bot account creation on.
func mmFake(t *testing.T, mod ...func(*mattermostfake.Options)) *mattermostfake.Server {
	o := mattermostfake.Options{Teams: []string{"eng"}, BotUsername: "poster", Config: func(c *model.Config) {
		c.ServiceSettings.EnableBotAccountCreation = model.NewPointer(true)
	}}
	for _, m := range mod {
		m(&o)
	}
	s := mattermostfake.New(o)
	t.Cleanup(s.Close)
	return s
}

type mmLines struct {
	Mattermost struct {
		URL          string `yaml:"url"`
		BotToken     string `yaml:"bot_token"`
		CommandToken string `yaml:"command_token"`
	} `yaml:"mattermost"`
}

// The whole flow: setup on a fresh server prints config lines that a
// klaxon then runs with — its cards post with the bot token, its slash
// command answers with the command token.
func TestSetupMattermost(t *testing.T) {
	mm := mmFake(t)
	// A public IP literal: no DNS in the test, and nothing for Mattermost to refuse.
	const public = "https://203.0.113.7"
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {public_url: %q}
mattermost: {url: %q, bot_token: "${KLAXON_TEST_MM_TOKEN}"}
teams:
  - {name: payments, mattermost: {channel: %s}}
default_team: payments
`, public, mm.URL(), e2eMM))
	t.Setenv("KLAXON_TEST_MM_TOKEN", "")
	t.Setenv("MATTERMOST_ADMIN_TOKEN", mattermostfake.AdminToken) // kept out of the arguments
	out, errOut, err := runSetup(t, "setup", "mattermost", "-c", cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var lines mmLines
	if err := yaml.Unmarshal([]byte(out), &lines); err != nil {
		t.Fatalf("stdout is not the config lines: %v\n%s", err, out)
	}
	m := lines.Mattermost
	if m.URL != mm.URL() || len(m.BotToken) != 26 || len(m.CommandToken) != 26 {
		t.Fatalf("lines: %+v", m)
	}
	for _, w := range []string{"bot @klaxon: created", "/incident in team eng: created, posting to " + public + "/mattermost/commands",
		"bot @klaxon is a member of channel " + e2eMM, "shown this once", "secrets", "not an internal address"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(errOut, m.BotToken) || strings.Contains(errOut, m.CommandToken) || strings.Contains(out+errOut, mattermostfake.AdminToken) {
		t.Errorf("a token outside the config lines:\n%s", errOut)
	}
	cmds := mm.Commands("eng")
	if len(cmds) != 1 || cmds[0].URL != public+"/mattermost/commands" || cmds[0].Token != m.CommandToken {
		t.Fatalf("commands: %+v", cmds)
	}

	// Run klaxon with the printed lines.
	data := fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s, public_url: %q}
sources: {alertmanager: {allow_unauthenticated: true}}
store: {data_dir: %q}
%s
teams:
  - {name: payments, mattermost: {channel: %s}}
default_team: payments
`, public, filepath.Join(t.TempDir(), "data"), out, e2eMM)
	base, logs, stop := startServe(t, writeFile(t, "serve.yaml", data))
	defer stop()
	if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("fire: %v", err)
	}
	waitUntil(t, 10*time.Second, "the card, posted with the new bot token", func() bool { return len(mm.Messages(e2eMM)) == 1 })
	form := url.Values{"token": {m.CommandToken}, "channel_id": {e2eMM}, "user_id": {aliceMM}, "user_name": {"alice"},
		"command": {"/incident"}, "text": {"list"}, "team_id": {"x"}, "trigger_id": {"t"}}
	if code, body := post(t, base+"/mattermost/commands", "application/x-www-form-urlencoded", []byte(form.Encode()),
		map[string]string{"Authorization": "Token " + m.CommandToken}); code != 200 || !strings.Contains(body, "1 open") {
		t.Errorf("/incident list with the command token = %d %s\n%s", code, body, logs)
	}
	form.Set("token", "wrong")
	if code, _ := post(t, base+"/mattermost/commands", "application/x-www-form-urlencoded", []byte(form.Encode()),
		map[string]string{"Authorization": "Token wrong"}); code != 401 {
		t.Errorf("a wrong command token = %d, want 401", code)
	}

	// Idempotent: the same bot and command, a second token, said so.
	out2, errOut2, err := runSetup(t, "setup", "mattermost", "-c", cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut2)
	}
	var again mmLines
	if err := yaml.Unmarshal([]byte(out2), &again); err != nil {
		t.Fatal(err)
	}
	if again.Mattermost.CommandToken != m.CommandToken || again.Mattermost.BotToken == m.BotToken {
		t.Errorf("second run: %+v", again.Mattermost)
	}
	if n := len(mm.Bots()); n != 2 {
		t.Errorf("%d bots after two runs, want the fake's own and klaxon", n)
	}
	if n := len(mm.Commands("eng")); n != 1 {
		t.Errorf("%d commands after two runs", n)
	}
	for _, w := range []string{"bot @klaxon: found", "up to date", "has 1 older access token(s)"} {
		if !strings.Contains(errOut2, w) {
			t.Errorf("second run's stderr lacks %q:\n%s", w, errOut2)
		}
	}
	if v := mm.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

// klaxon on a loopback address: Mattermost would refuse to call it. setup
// says exactly what to set, and --fix-untrusted sets it.
func TestSetupMattermostUntrusted(t *testing.T) {
	mm := mmFake(t)
	args := []string{"setup", "mattermost", "--url", mm.URL(), "--admin-token", mattermostfake.AdminToken, "--public-url", "http://127.0.0.1:8080"}
	out, errOut, err := runSetup(t, args...)
	if err != nil || !strings.Contains(out, "bot_token:") {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, w := range []string{"127.0.0.1 is an internal address that", "buttons would answer 400 and /incident 500", "Not done",
		`ServiceSettings.AllowedUntrustedInternalConnections to "127.0.0.1"`, "--fix-untrusted"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if got := *mm.ServerConfig().ServiceSettings.AllowedUntrustedInternalConnections; got != "" {
		t.Errorf("changed without --fix-untrusted: %q", got)
	}
	_, errOut, err = runSetup(t, append(args, "--fix-untrusted")...)
	if err != nil || !strings.Contains(errOut, `set ServiceSettings.AllowedUntrustedInternalConnections to "127.0.0.1"`) {
		t.Fatalf("--fix-untrusted: %v\n%s", err, errOut)
	}
	if got := *mm.ServerConfig().ServiceSettings.AllowedUntrustedInternalConnections; got != "127.0.0.1" {
		t.Errorf("after --fix-untrusted: %q", got)
	}
	_, errOut, _ = runSetup(t, args...)
	if strings.Contains(errOut, "internal address") || !strings.Contains(errOut, "names it") {
		t.Errorf("third run still warns:\n%s", errOut)
	}
}

func TestSetupMattermostErrors(t *testing.T) {
	mm := mmFake(t, func(o *mattermostfake.Options) { o.Teams = []string{"eng", "ops"} })
	t.Setenv("MATTERMOST_ADMIN_TOKEN", "")
	t.Setenv("KLAXON_CONFIG", "")
	pub := []string{"--public-url", "https://203.0.113.7"}
	for _, c := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no url", append([]string{"--admin-token", "x"}, pub...), true, "needs the server: --url"},
		{"no token", append([]string{"--url", mm.URL()}, pub...), true, "--admin-token TOKEN, or $MATTERMOST_ADMIN_TOKEN"},
		{"no public url", []string{"--url", mm.URL(), "--admin-token", mattermostfake.AdminToken}, false, "klaxon's public URL is needed"},
		{"401", append([]string{"--url", mm.URL(), "--admin-token", "wrong", "--team", "eng"}, pub...), false, "refused the admin token (401)"},
		{"403", append([]string{"--url", mm.URL(), "--admin-token", mattermostfake.UserToken, "--team", "eng"}, pub...), false, "@dana is not a system admin"},
		{"team", append([]string{"--url", mm.URL(), "--admin-token", mattermostfake.AdminToken, "--team", "opps"}, pub...), false, `no team "opps" on ` + mm.URL() + ` (did you mean "ops"?); its teams: eng, ops`},
		{"which team", append([]string{"--url", mm.URL(), "--admin-token", mattermostfake.AdminToken}, pub...), false, "name one with --team (eng, ops)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := runSetup(t, append([]string{"setup", "mattermost"}, c.args...)...)
			var u usageError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &u) != c.usage || out != "" {
				t.Errorf("err = %v (usage error %v), stdout %q; want %q", err, errors.As(err, &u), out, c.want)
			}
		})
	}
	if n := len(mm.Bots()); n != 1 {
		t.Errorf("failed runs made %d bots", n-1)
	}
}

// The admin token from the environment, and a config that names the
// server: no flags but the team.
func TestSetupMattermostFromConfig(t *testing.T) {
	mm := mmFake(t)
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf("server: {public_url: \"https://203.0.113.7\"}\nmattermost: {url: %q, bot_token: placeholder-token-0123456789}\n", mm.URL()))
	t.Setenv("MATTERMOST_ADMIN_TOKEN", mattermostfake.AdminToken)
	t.Setenv("KLAXON_CONFIG", cfg)
	out, errOut, err := runSetup(t, "setup", "mattermost", "--team", "eng")
	if err != nil || !strings.Contains(out, "command_token:") {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "/invite @klaxon") {
		t.Errorf("no channels in the config, and no word on inviting the bot:\n%s", errOut)
	}
	// The printed lines make a config klaxon accepts.
	full := writeFile(t, "full.yaml", "server: {public_url: \"https://203.0.113.7\"}\n"+out)
	if _, err := bot.LoadConfig(full, nil); err != nil {
		t.Errorf("the printed lines do not load: %v\n%s", err, out)
	}
}
