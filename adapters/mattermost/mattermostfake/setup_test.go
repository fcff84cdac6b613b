package mattermostfake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
)

// The setup calls refuse what the server refuses.
func TestSetupAPI(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Teams: []string{"eng", "ops"}})
	defer s.Close()
	ctx := context.Background()
	admin, user, bot := client(s, mattermostfake.AdminToken), client(s, mattermostfake.UserToken), client(s, s.Token())

	me, _, err := admin.GetMe(ctx, "")
	if err != nil || !me.IsSystemAdmin() || me.Username != mattermostfake.AdminUsername {
		t.Fatalf("admin GetMe = %+v, %v", me, err)
	}
	if me, _, _ := user.GetMe(ctx, ""); me == nil || me.IsSystemAdmin() || me.IsBot {
		t.Errorf("user GetMe = %+v", me)
	}
	if me, _, _ := bot.GetMe(ctx, ""); me == nil || !me.IsBot || me.Id != mattermostfake.BotUserID {
		t.Errorf("bot GetMe = %+v", me)
	}

	// Admin only.
	_, resp, err := user.GetConfig(ctx)
	appErr(t, err, 403, "api.context.permissions.app_error", resp)
	_, resp, err = user.CreateBot(ctx, &model.Bot{Username: "x"})
	appErr(t, err, 403, "api.context.permissions.app_error", resp)

	// Bots: off by default, as on a new server.
	_, resp, err = admin.CreateBot(ctx, &model.Bot{Username: "klaxon2"})
	appErr(t, err, 403, "api.bot.create_disabled", resp)
	on := true
	if _, _, err := admin.PatchConfig(ctx, &model.Config{ServiceSettings: model.ServiceSettings{EnableBotAccountCreation: &on}}); err != nil {
		t.Fatal(err)
	}
	cfg := s.ServerConfig()
	if !*cfg.ServiceSettings.EnableBotAccountCreation || !*cfg.ServiceSettings.EnableCommands || *cfg.ServiceSettings.SiteURL != "" {
		t.Errorf("the patch set more or less than asked: %+v", cfg.ServiceSettings)
	}
	_, resp, err = admin.CreateBot(ctx, &model.Bot{Username: "Not Valid"})
	appErr(t, err, 400, "model.bot.is_valid.username.app_error", resp)
	_, resp, err = admin.CreateBot(ctx, &model.Bot{Username: "klaxon"}) // the fake's own bot
	appErr(t, err, 400, "app.user.save.username_exists.app_error", resp)
	_, resp, err = bot.CreateBot(ctx, &model.Bot{Username: "x"})
	appErr(t, err, 403, "api.context.permissions.app_error", resp)
	b, resp, err := admin.CreateBot(ctx, &model.Bot{Username: "Pager", DisplayName: "Pager"})
	if err != nil || resp.StatusCode != http.StatusCreated || b.Username != "pager" || b.OwnerId != mattermostfake.AdminUserID {
		t.Fatalf("CreateBot = %+v, %v", b, err)
	}
	u, _, err := admin.GetUserByUsername(ctx, "pager", "")
	if err != nil || u.Id != b.UserId || !u.IsBot {
		t.Errorf("GetUserByUsername = %+v, %v", u, err)
	}
	_, resp, err = user.GetUserByUsername(ctx, "nobody", "")
	appErr(t, err, 404, "app.user.get_by_username.app_error", resp)

	// Tokens: a description, shown once, then working.
	_, resp, err = admin.CreateUserAccessToken(ctx, b.UserId, "")
	appErr(t, err, 400, "api.context.invalid_param.app_error", resp)
	tok, _, err := admin.CreateUserAccessToken(ctx, b.UserId, "klaxon")
	if err != nil || len(tok.Token) != 26 {
		t.Fatalf("CreateUserAccessToken = %+v, %v", tok, err)
	}
	list, _, err := admin.GetUserAccessTokensForUser(ctx, b.UserId, 0, 100)
	if err != nil || len(list) != 1 || list[0].Token != "" || !list[0].IsActive {
		t.Errorf("GetUserAccessTokensForUser = %+v, %v", list, err)
	}
	if me, _, err := client(s, tok.Token).GetMe(ctx, ""); err != nil || me.Id != b.UserId {
		t.Errorf("the new token: %+v, %v", me, err)
	}
	// A person's token needs EnableUserAccessTokens (off by default).
	_, resp, err = admin.CreateUserAccessToken(ctx, mattermostfake.UserID, "mine")
	appErr(t, err, 501, "app.user_access_token.disabled", resp)
	// A disabled bot's token stops working.
	s.DisableBot("pager")
	_, resp, err = client(s, tok.Token).GetMe(ctx, "")
	appErr(t, err, 401, "api.context.session_expired.app_error", resp)
	if got, _, _ := admin.GetBotIncludeDeleted(ctx, b.UserId, ""); got == nil || got.DeleteAt == 0 {
		t.Errorf("disabled bot: %+v", got)
	}
	_, resp, err = admin.GetBot(ctx, b.UserId, "")
	appErr(t, err, 404, "store.sql_bot.get.missing.app_error", resp)
	if _, _, err := admin.EnableBot(ctx, b.UserId); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client(s, tok.Token).GetMe(ctx, ""); err != nil {
		t.Errorf("after EnableBot: %v", err)
	}

	// Teams and members.
	team, _, err := admin.GetTeamByName(ctx, "eng", "")
	if err != nil || team.Name != "eng" {
		t.Fatalf("GetTeamByName = %+v, %v", team, err)
	}
	_, resp, err = admin.GetTeamByName(ctx, "engg", "")
	appErr(t, err, 404, "app.team.get_by_name.missing.app_error", resp)
	if teams, _, err := admin.GetAllTeams(ctx, "", 0, 200); err != nil || len(teams) != 2 {
		t.Errorf("GetAllTeams = %d, %v", len(teams), err)
	}
	if teams, _, err := admin.GetAllTeams(ctx, "", 1, 1); err != nil || len(teams) != 1 || teams[0].Name != "ops" {
		t.Errorf("GetAllTeams page 1 of 1 = %+v, %v", teams, err)
	}
	if _, _, err := admin.AddTeamMember(ctx, team.Id, b.UserId); err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin.AddChannelMember(ctx, chA, b.UserId); err != nil {
		t.Fatal(err)
	}
	_, resp, err = admin.AddChannelMember(ctx, "short", b.UserId)
	appErr(t, err, 404, "app.channel.get.existing.app_error", resp)

	// Commands.
	cmd := &model.Command{TeamId: team.Id, Trigger: "Incident", Method: "P", URL: "https://klaxon.example.com/mattermost/commands", AutoComplete: true}
	c, resp, err := admin.CreateCommand(ctx, cmd)
	if err != nil || resp.StatusCode != http.StatusCreated || c.Trigger != "incident" || len(c.Token) != 26 || c.CreatorId != mattermostfake.AdminUserID {
		t.Fatalf("CreateCommand = %+v, %v", c, err)
	}
	_, resp, err = admin.CreateCommand(ctx, cmd)
	appErr(t, err, 400, "api.command.duplicate_trigger.app_error", resp)
	_, resp, err = admin.CreateCommand(ctx, &model.Command{TeamId: team.Id, Trigger: "x", Method: "P", URL: "ftp://x"})
	appErr(t, err, 400, "model.command.is_valid.url_http.app_error", resp)
	_, resp, err = admin.CreateCommand(ctx, &model.Command{TeamId: team.Id, Trigger: "y", Method: "X", URL: "https://x.example"})
	appErr(t, err, 400, "model.command.is_valid.method.app_error", resp)
	upd := *c
	upd.URL, upd.Token = "https://klaxon2.example.com/mattermost/commands", "stolen"
	got, _, err := admin.UpdateCommand(ctx, &upd)
	if err != nil || got.URL != upd.URL || got.Token != c.Token {
		t.Errorf("UpdateCommand = %+v, %v (the token must stay)", got, err)
	}
	listed, _, err := admin.ListCommands(ctx, team.Id, true)
	if err != nil || len(listed) != 1 || listed[0].Token != c.Token {
		t.Errorf("ListCommands = %+v, %v", listed, err)
	}
	off := false
	if _, _, err := admin.PatchConfig(ctx, &model.Config{ServiceSettings: model.ServiceSettings{EnableCommands: &off}}); err != nil {
		t.Fatal(err)
	}
	_, resp, err = admin.CreateCommand(ctx, &model.Command{TeamId: team.Id, Trigger: "z", Method: "P", URL: "https://x.example"})
	appErr(t, err, 501, "api.command.disabled.app_error", resp)

	// A patch that breaks the config is refused.
	bad := "not-a-url"
	_, resp, err = admin.PatchConfig(ctx, &model.Config{ServiceSettings: model.ServiceSettings{SiteURL: &bad}})
	if err == nil || resp.StatusCode != 400 {
		t.Errorf("invalid config accepted: %v", err)
	}
	if v := s.Violations(); len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), "CreateCommand") {
		t.Errorf("violations: %v", v)
	}
}

// What the environment sets wins over a patch.
func TestSetupAPIEnvConfig(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{EnvConfig: func(c *model.Config) {
		c.ServiceSettings.AllowedUntrustedInternalConnections = model.NewPointer("env.internal")
	}})
	defer s.Close()
	v := "klaxon.internal"
	cfg, _, err := client(s, mattermostfake.AdminToken).PatchConfig(context.Background(),
		&model.Config{ServiceSettings: model.ServiceSettings{AllowedUntrustedInternalConnections: &v}})
	if err != nil || *cfg.ServiceSettings.AllowedUntrustedInternalConnections != "env.internal" {
		t.Errorf("PatchConfig = %v, %v", cfg.ServiceSettings.AllowedUntrustedInternalConnections, err)
	}
}
