package mattermost

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
)

const (
	setupChannel = "paymentschannel0000000000a"
	publicCmdURL = "https://klaxon.example.com/mattermost/commands"
)

// lookup resolves the test's host names: klaxon.example.com is public,
// klaxon.internal private, 127.0.0.1 (the fake's) is itself.
func lookup(_ context.Context, host string) ([]net.IP, error) {
	switch host {
	case "klaxon.example.com":
		return []net.IP{net.ParseIP("203.0.113.7")}, nil
	case "klaxon.internal":
		return []net.IP{net.ParseIP("10.1.2.3")}, nil
	case "mm.example.com", "klaxon-on-mm.example.com":
		return []net.IP{net.ParseIP("198.51.100.9")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func botsOn(c *model.Config) { c.ServiceSettings.EnableBotAccountCreation = model.NewPointer(true) }

func newSetupFake(t *testing.T, o mattermostfake.Options) *mattermostfake.Server {
	t.Helper()
	if o.Teams == nil {
		o.Teams = []string{"eng"}
	}
	if o.BotUsername == "" {
		o.BotUsername = "poster" // the fake's own bot; setup makes "klaxon"
	}
	s := mattermostfake.New(o)
	t.Cleanup(s.Close)
	return s
}

func setupOpts(s *mattermostfake.Server, mod ...func(*SetupOptions)) SetupOptions {
	o := SetupOptions{URL: s.URL(), AdminToken: mattermostfake.AdminToken, Team: "eng", CommandURL: publicCmdURL,
		Channels: []string{setupChannel}, LookupIP: lookup, Now: func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }}
	for _, m := range mod {
		m(&o)
	}
	return o
}

// asBot calls GET /users/me with token: the token works and is the bot's.
func asBot(t *testing.T, s *mattermostfake.Server, token, wantID string) {
	t.Helper()
	api := model.NewAPIv4Client(s.URL())
	api.SetToken(token)
	me, _, err := api.GetMe(context.Background(), "")
	if err != nil || me.Id != wantID || !me.IsBot {
		t.Errorf("the bot token: GetMe = %+v, %v; want bot %s", me, err, wantID)
	}
}

func TestSetup(t *testing.T) {
	s := newSetupFake(t, mattermostfake.Options{Config: botsOn})
	ctx := context.Background()
	var lines []string
	o := setupOpts(s, func(o *SetupOptions) { o.Progress = func(l string) { lines = append(lines, l) } })

	res, err := Setup(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.BotCreated || res.BotUsername != "klaxon" || !model.IsValidId(res.BotUserID) || res.OtherTokens != 0 {
		t.Errorf("bot: %+v", res)
	}
	if !res.CommandCreated || len(res.CommandUpdated) != 0 || len(res.CommandToken) != 26 {
		t.Errorf("command: created %v, updated %v, token %q", res.CommandCreated, res.CommandUpdated, res.CommandToken)
	}
	if res.TeamName != "eng" || res.Admin != mattermostfake.AdminUsername || res.ServerVersion == "" {
		t.Errorf("team %q, admin %q, version %q", res.TeamName, res.Admin, res.ServerVersion)
	}
	asBot(t, s, res.BotToken, res.BotUserID)
	tokens := s.AccessTokens(res.BotUserID)
	if len(tokens) != 1 || tokens[0].Token != res.BotToken || tokens[0].Description != "klaxon (klaxon setup, 2026-03-02)" {
		t.Errorf("tokens: %+v", tokens)
	}
	cmds := s.Commands("eng")
	if len(cmds) != 1 {
		t.Fatalf("commands: %+v", cmds)
	}
	c := cmds[0]
	if c.Trigger != "incident" || c.Method != "P" || c.URL != publicCmdURL || !c.AutoComplete || c.AutoCompleteHint == "" ||
		c.AutoCompleteDesc == "" || c.Token != res.CommandToken || c.CreatorId != mattermostfake.AdminUserID {
		t.Errorf("command: %+v", c)
	}
	if !slices.Contains(s.TeamMembers("eng"), res.BotUserID) {
		t.Error("the bot is not a member of the team")
	}
	if got := s.ChannelMembers(setupChannel); !slices.Equal(got, []string{res.BotUserID}) || !slices.Equal(res.Channels, []string{setupChannel}) {
		t.Errorf("channel members %v, result %v", got, res.Channels)
	}
	if u := res.Untrusted; !u.Covered || u.Internal || u.Named || u.Suggested != "" || u.Patched {
		t.Errorf("untrusted check of a public host: %+v", u)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"signed in as @sysadmin", "bot @klaxon: created", "/incident in team eng: created", "not an internal address"} {
		if !strings.Contains(all, want) {
			t.Errorf("progress lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, res.BotToken) || strings.Contains(all, res.CommandToken) {
		t.Errorf("progress shows a token:\n%s", all)
	}

	// Idempotent: the same bot and command; another token, counted.
	lines = nil
	again, err := Setup(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.BotCreated || again.BotUserID != res.BotUserID || again.CommandCreated || len(again.CommandUpdated) != 0 ||
		again.CommandID != res.CommandID || again.CommandToken != res.CommandToken {
		t.Errorf("second run: %+v", again)
	}
	if again.OtherTokens != 1 || again.BotToken == res.BotToken || len(s.AccessTokens(res.BotUserID)) != 2 {
		t.Errorf("second run: token %q, other tokens %d", again.BotToken, again.OtherTokens)
	}
	if n := len(s.Bots()); n != 2 { // the fake's own and klaxon
		t.Errorf("%d bots after two runs", n)
	}
	if n := len(s.Commands("eng")); n != 1 {
		t.Errorf("%d commands after two runs", n)
	}
	if all := strings.Join(lines, "\n"); !strings.Contains(all, "besides its 1 older active one(s)") || !strings.Contains(all, "/incident in team eng: up to date") {
		t.Errorf("second run's progress:\n%s", all)
	}

	// klaxon moved: the command follows, keeping its token.
	moved, err := Setup(ctx, setupOpts(s, func(o *SetupOptions) { o.CommandURL = "https://klaxon2.example.com/mattermost/commands" }))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved.CommandUpdated, []string{"url"}) || moved.CommandToken != res.CommandToken {
		t.Errorf("moved: updated %v, token kept %v", moved.CommandUpdated, moved.CommandToken == res.CommandToken)
	}
	if c := s.Commands("eng")[0]; c.URL != "https://klaxon2.example.com/mattermost/commands" || c.Token != res.CommandToken {
		t.Errorf("moved command: %+v", c)
	}

	// A disabled bot is enabled again.
	s.DisableBot("klaxon")
	back, err := Setup(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !back.BotEnabled || back.BotUserID != res.BotUserID {
		t.Errorf("disabled bot: %+v", back)
	}
	asBot(t, s, back.BotToken, res.BotUserID)
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestSetupBotCreation(t *testing.T) {
	ctx := context.Background()
	s := newSetupFake(t, mattermostfake.Options{}) // Mattermost's default: bot account creation off
	_, err := Setup(ctx, setupOpts(s))
	wantSetupError(t, err, "bot account creation is off", "--enable-bot-creation")

	res, err := Setup(ctx, setupOpts(s, func(o *SetupOptions) { o.EnableBotCreation = true }))
	if err != nil {
		t.Fatal(err)
	}
	if !res.BotCreated || !*s.ServerConfig().ServiceSettings.EnableBotAccountCreation {
		t.Errorf("created %v, setting %v", res.BotCreated, *s.ServerConfig().ServiceSettings.EnableBotAccountCreation)
	}

	// Kept off by the environment: said so.
	locked := newSetupFake(t, mattermostfake.Options{EnvConfig: func(c *model.Config) {
		c.ServiceSettings.EnableBotAccountCreation = model.NewPointer(false)
	}})
	_, err = Setup(ctx, setupOpts(locked, func(o *SetupOptions) { o.EnableBotCreation = true }))
	wantSetupError(t, err, "MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION")
}

func wantSetupError(t *testing.T, err error, wants ...string) {
	t.Helper()
	var se *SetupError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *SetupError", err, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), mattermostfake.AdminToken) {
		t.Errorf("the error shows the admin token: %v", err)
	}
}

func TestSetupErrors(t *testing.T) {
	ctx := context.Background()
	s := newSetupFake(t, mattermostfake.Options{Config: botsOn, Teams: []string{"eng", "ops", "sales"}})
	human := newSetupFake(t, mattermostfake.Options{Config: botsOn, Users: map[string]string{"humanklaxon000000000000000": "klaxon"}})
	noCommands := newSetupFake(t, mattermostfake.Options{Config: func(c *model.Config) {
		botsOn(c)
		c.ServiceSettings.EnableCommands = model.NewPointer(false)
	}})
	noTeams := newSetupFake(t, mattermostfake.Options{Config: botsOn, Teams: []string{}})
	down := newSetupFake(t, mattermostfake.Options{})
	downURL := down.URL()
	down.Close()

	for _, c := range []struct {
		name  string
		o     SetupOptions
		wants []string
	}{
		{"wrong token", setupOpts(s, func(o *SetupOptions) { o.AdminToken = "nope" }), []string{"refused the admin token (401)", "personal access token"}},
		{"not an admin", setupOpts(s, func(o *SetupOptions) { o.AdminToken = mattermostfake.UserToken }), []string{"@dana is not a system admin"}},
		{"a bot's token", setupOpts(s, func(o *SetupOptions) { o.AdminToken = s.Token() }), []string{"bot @poster's"}},
		{"team not found", setupOpts(s, func(o *SetupOptions) { o.Team = "engg" }), []string{`no team "engg"`, `did you mean "eng"?`, "eng, ops, sales"}},
		{"team far off", setupOpts(s, func(o *SetupOptions) { o.Team = "marketing" }), []string{`no team "marketing"`, "its teams: eng, ops, sales"}},
		{"which team", setupOpts(s, func(o *SetupOptions) { o.Team = "" }), []string{"has 3 teams: name one with --team (eng, ops, sales)"}},
		{"no teams", setupOpts(noTeams, func(o *SetupOptions) { o.Team = "" }), []string{"has no teams"}},
		{"a person named klaxon", setupOpts(human), []string{"@klaxon is a person's account", "--bot"}},
		{"commands off", setupOpts(noCommands), []string{"Enable Custom Slash Commands"}},
		{"unreachable", setupOpts(s, func(o *SetupOptions) { o.URL = downURL }), []string{"could not reach Mattermost at " + downURL}},
		{"bad URL", setupOpts(s, func(o *SetupOptions) { o.URL = "chat.example.com" }), []string{"http(s) base URL"}},
		{"no token", setupOpts(s, func(o *SetupOptions) { o.AdminToken = "" }), []string{"admin token is required"}},
		{"bad bot name", setupOpts(s, func(o *SetupOptions) { o.Bot = "Klaxon Bot" }), []string{"not a Mattermost username"}},
		{"bad command URL", setupOpts(s, func(o *SetupOptions) { o.CommandURL = "/mattermost/commands" }), []string{"command URL"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Setup(ctx, c.o)
			wantSetupError(t, err, c.wants...)
		})
	}
	// Nothing was made by the failed runs.
	for _, f := range []*mattermostfake.Server{s, noCommands} {
		if n := len(f.Bots()); n != 1 {
			t.Errorf("%d bots after failed runs", n)
		}
	}
	if n := len(noCommands.Commands("eng")); n != 0 {
		t.Errorf("a command was made with commands off")
	}
}

// 403 on a step after sign-in (a custom role without a permission) says
// whose token lacks it.
func TestSetupForbiddenStep(t *testing.T) {
	s := newSetupFake(t, mattermostfake.Options{Config: botsOn})
	s.Fail("CreateCommand", 1, http.StatusForbidden, "api.context.permissions.app_error")
	_, err := Setup(context.Background(), setupOpts(s))
	wantSetupError(t, err, "refused to let @sysadmin create the /incident command (403 api.context.permissions.app_error)", "system admin")
}

func TestSetupUntrusted(t *testing.T) {
	ctx := context.Background()
	loopback := "http://127.0.0.1:8080/mattermost/commands"

	// Loopback, not allowed: a warning that says exactly what to set.
	s := newSetupFake(t, mattermostfake.Options{Config: func(c *model.Config) {
		botsOn(c)
		c.ServiceSettings.AllowedUntrustedInternalConnections = model.NewPointer("webhooks.internal")
	}})
	res, err := Setup(ctx, setupOpts(s, func(o *SetupOptions) { o.CommandURL = loopback }))
	if err != nil {
		t.Fatal(err)
	}
	u := res.Untrusted
	if u.Covered || !u.Internal || u.Host != "127.0.0.1" || u.Suggested != "webhooks.internal 127.0.0.1" || u.Patched {
		t.Errorf("loopback: %+v", u)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `to "webhooks.internal 127.0.0.1"`) ||
		!strings.Contains(res.Warnings[0], "--fix-untrusted") || !strings.Contains(res.Warnings[0], "answer 400") {
		t.Errorf("warnings: %v", res.Warnings)
	}
	if got := *s.ServerConfig().ServiceSettings.AllowedUntrustedInternalConnections; got != "webhooks.internal" {
		t.Errorf("the setting changed without --fix-untrusted: %q", got)
	}

	// --fix-untrusted: patched, and a run after finds it allowed.
	res, err = Setup(ctx, setupOpts(s, func(o *SetupOptions) { o.CommandURL = loopback; o.FixUntrusted = true }))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Untrusted.Patched || !res.Untrusted.Covered || len(res.Warnings) != 0 {
		t.Errorf("fixed: %+v, warnings %v", res.Untrusted, res.Warnings)
	}
	if got := *s.ServerConfig().ServiceSettings.AllowedUntrustedInternalConnections; got != "webhooks.internal 127.0.0.1" {
		t.Errorf("setting after --fix-untrusted: %q", got)
	}
	if other := s.ServerConfig().ServiceSettings.EnableCommands; other == nil || !*other {
		t.Error("the patch changed another setting")
	}
	res, err = Setup(ctx, setupOpts(s, func(o *SetupOptions) { o.CommandURL = loopback }))
	if err != nil || !res.Untrusted.Named || !res.Untrusted.Covered || res.Untrusted.Patched {
		t.Errorf("after the fix: %+v, %v", res.Untrusted, err)
	}

	// Kept by the environment: an error that says where to set it.
	locked := newSetupFake(t, mattermostfake.Options{Config: botsOn, EnvConfig: func(c *model.Config) {
		c.ServiceSettings.AllowedUntrustedInternalConnections = model.NewPointer("")
	}})
	_, err = Setup(ctx, setupOpts(locked, func(o *SetupOptions) { o.CommandURL = loopback; o.FixUntrusted = true }))
	wantSetupError(t, err, "MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS", `add "127.0.0.1"`)

	// A host name that does not resolve here: a warning, no failure.
	res, err = Setup(ctx, setupOpts(s, func(o *SetupOptions) { o.CommandURL = "https://klaxon.nowhere/mattermost/commands" }))
	if err != nil || res.Untrusted.Unknown == nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "could not resolve klaxon.nowhere") {
		t.Errorf("unresolvable: %+v, %v, %v", res.Untrusted, res.Warnings, err)
	}
}

func TestCheckUntrusted(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, host, setting             string
		internal, named, covered, known bool
		suggested                       string
	}{
		{"public", "klaxon.example.com", "", false, false, true, true, ""},
		{"private name", "klaxon.internal", "", true, false, false, true, "klaxon.internal"},
		{"private name listed", "klaxon.internal", "a.b, klaxon.internal", true, true, true, true, ""},
		{"private name in a CIDR", "klaxon.internal", "10.0.0.0/8", true, false, true, true, ""},
		{"private name, other CIDR", "klaxon.internal", "192.168.0.0/16,172.16.0.0/12", true, false, false, true, "192.168.0.0/16,172.16.0.0/12 klaxon.internal"},
		{"a listed name is not a prefix", "klaxon.internal", "klaxon", true, false, false, true, "klaxon klaxon.internal"},
		{"loopback IP", "127.0.0.1", "", true, false, false, true, "127.0.0.1"},
		{"IPv6 loopback listed", "::1", "::1", true, true, true, true, ""},
		{"IPv6 unique local in CIDR", "fd00::5", "fd00::/8", true, false, true, true, ""},
		{"link-local", "169.254.10.10", " ", true, false, false, true, "169.254.10.10"},
		{"public IP", "8.8.8.8", "", false, false, true, true, ""},
		{"Mattermost's own address", "klaxon-on-mm.example.com", "", true, false, false, true, "klaxon-on-mm.example.com"},
		{"unresolvable", "klaxon.nowhere", "", false, false, false, false, "klaxon.nowhere"},
		{"unresolvable but listed", "klaxon.nowhere", "klaxon.nowhere", false, true, true, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := checkUntrusted(ctx, lookup, c.host, "mm.example.com", c.setting)
			if got.Internal != c.internal || got.Named != c.named || got.Covered != c.covered || (got.Unknown == nil) != c.known || got.Suggested != c.suggested {
				t.Errorf("checkUntrusted(%q, %q) = internal %v named %v covered %v unknown %v suggested %q; want %v %v %v known %v %q",
					c.host, c.setting, got.Internal, got.Named, got.Covered, got.Unknown, got.Suggested, c.internal, c.named, c.covered, c.known, c.suggested)
			}
		})
	}
}
