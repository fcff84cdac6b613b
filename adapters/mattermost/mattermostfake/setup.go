package mattermostfake

// The calls an admin makes to connect an integration (mattermost.Setup):
// users by name, bot accounts, access tokens, teams and their members,
// channel members, slash commands and the server config. Routes:
//
//	GET  /api/v4/users/username/{name}     GetUserByUsername
//	GET  /api/v4/users/{id}/tokens         GetUserAccessTokensForUser (tokens hidden)
//	POST /api/v4/users/{id}/tokens         CreateUserAccessToken
//	POST /api/v4/bots                      CreateBot
//	GET  /api/v4/bots/{id}                 GetBot (?include_deleted=true)
//	POST /api/v4/bots/{id}/enable          EnableBot
//	GET  /api/v4/teams                     GetAllTeams
//	GET  /api/v4/teams/name/{name}         GetTeamByName
//	POST /api/v4/teams/{id}/members        AddTeamMember
//	POST /api/v4/channels/{id}/members     AddChannelMember
//	GET  /api/v4/commands?team_id=         ListCommands
//	POST /api/v4/commands                  CreateCommand
//	GET  /api/v4/commands/{id}             GetCommandById
//	PUT  /api/v4/commands/{id}             UpdateCommand
//	GET  /api/v4/config                    GetConfig
//	PUT  /api/v4/config/patch              PatchConfig
//
// Like the server: everything but the user lookup needs a system admin
// (403 api.context.permissions.app_error); a bot is created only when
// ServiceSettings.EnableBotAccountCreation is on (403 api.bot.create_disabled)
// and validated by model.Bot.IsValidCreate, a taken username is 400
// app.user.save.username_exists.app_error; a token needs a description and,
// for a person, ServiceSettings.EnableUserAccessTokens (501); a command is
// refused when ServiceSettings.EnableCommands is off (501
// api.command.disabled.app_error), when its trigger is taken in the team
// (400 api.command.duplicate_trigger.app_error) or when model.Command.IsValid
// fails; an update keeps the command's id, token, creator and team; a
// config patch merges the fields it sets, then Options.EnvConfig wins, as
// environment variables do, and the result must pass model.Config.IsValid.

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// The admin and the user who is not one, for the setup calls.
const (
	AdminToken    = "fake-mattermost-admin-token"
	AdminUserID   = "adminuserid000000000000000"
	AdminUsername = "sysadmin"
	UserToken     = "fake-mattermost-user-token"
	UserID        = "plainuserid000000000000000"
	Username      = "dana"
)

const (
	rolesAdmin = "system_user system_admin"
	rolesUser  = "system_user"
)

type adminState struct {
	tokens         map[string]string // access token → user id
	roles          map[string]string // user id → roles
	bots           map[string]*model.Bot
	disabled       map[string]bool // user ids of disabled bots
	accessTokens   map[string][]*model.UserAccessToken
	teams          map[string]*model.Team     // id → team
	teamMembers    map[string]map[string]bool // team id → user ids
	channelMembers map[string]map[string]bool // channel id → user ids
	commands       map[string]*model.Command  // id → command
	cfg            *model.Config
	env            func(*model.Config)
}

// initAdmin sets up the accounts, teams and config; before the server runs.
func (s *Server) initAdmin(opts Options) {
	name := opts.BotUsername
	if name == "" {
		name = "klaxon"
	}
	a := &s.admin
	a.tokens = map[string]string{s.token: BotUserID, AdminToken: AdminUserID, UserToken: UserID}
	a.roles = map[string]string{AdminUserID: rolesAdmin}
	a.bots = map[string]*model.Bot{BotUserID: {UserId: BotUserID, Username: name, DisplayName: "klaxon", OwnerId: AdminUserID, CreateAt: 1, UpdateAt: 1}}
	a.disabled = map[string]bool{}
	a.accessTokens = map[string][]*model.UserAccessToken{}
	a.teams, a.teamMembers = map[string]*model.Team{}, map[string]map[string]bool{}
	a.channelMembers, a.commands = map[string]map[string]bool{}, map[string]*model.Command{}
	s.users[BotUserID], s.users[AdminUserID], s.users[UserID] = name, AdminUsername, Username
	for _, t := range opts.Teams {
		id := model.NewId()
		a.teams[id] = &model.Team{Id: id, Name: t, DisplayName: t, Type: model.TeamOpen, CreateAt: 1, UpdateAt: 1}
		a.teamMembers[id] = map[string]bool{AdminUserID: true, UserID: true}
	}
	a.cfg = &model.Config{}
	a.cfg.SetDefaults()
	if opts.Config != nil {
		opts.Config(a.cfg)
	}
	a.env = opts.EnvConfig
	if a.env != nil {
		a.env(a.cfg)
	}
}

// userLocked is the user id's account as the API shows it; s.mu is held.
func (s *Server) userLocked(id string) *model.User {
	u := &model.User{Id: id, Username: s.users[id], Roles: rolesUser}
	if r, ok := s.admin.roles[id]; ok {
		u.Roles = r
	}
	if b := s.admin.bots[id]; b != nil {
		u.IsBot, u.BotDescription = true, b.Description
		u.DeleteAt = b.DeleteAt
	}
	return u
}

func (s *Server) isAdmin(uid string) bool {
	return slices.Contains(strings.Fields(s.admin.roles[uid]), model.SystemAdminRoleId)
}

// setupRoute names the setup calls.
func setupRoute(method string, seg []string) (string, string) {
	n := len(seg)
	switch {
	case method == http.MethodGet && n == 3 && seg[0] == "users" && seg[1] == "username":
		return "GetUserByUsername", seg[2]
	case n == 3 && seg[0] == "users" && seg[2] == "tokens" && method == http.MethodGet:
		return "GetUserAccessTokensForUser", seg[1]
	case n == 3 && seg[0] == "users" && seg[2] == "tokens" && method == http.MethodPost:
		return "CreateUserAccessToken", seg[1]
	case method == http.MethodPost && n == 1 && seg[0] == "bots":
		return "CreateBot", ""
	case method == http.MethodGet && n == 2 && seg[0] == "bots":
		return "GetBot", seg[1]
	case method == http.MethodPost && n == 3 && seg[0] == "bots" && seg[2] == "enable":
		return "EnableBot", seg[1]
	case method == http.MethodGet && n == 1 && seg[0] == "teams":
		return "GetAllTeams", ""
	case method == http.MethodGet && n == 3 && seg[0] == "teams" && seg[1] == "name":
		return "GetTeamByName", seg[2]
	case method == http.MethodPost && n == 3 && seg[0] == "teams" && seg[2] == "members":
		return "AddTeamMember", seg[1]
	case method == http.MethodPost && n == 3 && seg[0] == "channels" && seg[2] == "members":
		return "AddChannelMember", seg[1]
	case method == http.MethodGet && n == 1 && seg[0] == "commands":
		return "ListCommands", ""
	case method == http.MethodPost && n == 1 && seg[0] == "commands":
		return "CreateCommand", ""
	case method == http.MethodGet && n == 2 && seg[0] == "commands":
		return "GetCommandById", seg[1]
	case method == http.MethodPut && n == 2 && seg[0] == "commands":
		return "UpdateCommand", seg[1]
	case method == http.MethodGet && n == 1 && seg[0] == "config":
		return "GetConfig", ""
	case method == http.MethodPut && n == 2 && seg[0] == "config" && seg[1] == "patch":
		return "PatchConfig", ""
	}
	return "unknown", ""
}

// serveSetup answers a setup call; false when method is none.
func (s *Server) serveSetup(w http.ResponseWriter, r *http.Request, method, param, uid string) bool {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != "GetUserByUsername" && method != "GetTeamByName" && method != "GetAllTeams" && !s.isAdmin(uid) {
		writeErr(w, model.NewAppError("Api4."+method, "api.context.permissions.app_error", nil,
			"userId="+uid+", permission=manage_system", http.StatusForbidden))
		return true
	}
	q := r.URL.Query()
	switch method {
	case "GetUserByUsername":
		s.getUserByUsername(w, param)
	case "GetUserAccessTokensForUser":
		s.getTokens(w, param)
	case "CreateUserAccessToken":
		s.createToken(w, param, body)
	case "CreateBot":
		s.createBot(w, uid, body)
	case "GetBot":
		s.getBot(w, param, q.Get("include_deleted") == "true")
	case "EnableBot":
		s.enableBot(w, param)
	case "GetAllTeams":
		s.getAllTeams(w, uid, q)
	case "GetTeamByName":
		s.getTeamByName(w, param)
	case "AddTeamMember":
		s.addTeamMember(w, param, body)
	case "AddChannelMember":
		s.addChannelMember(w, param, body)
	case "ListCommands":
		s.listCommands(w, q.Get("team_id"))
	case "CreateCommand":
		s.createCommand(w, uid, body)
	case "GetCommandById":
		s.getCommand(w, param)
	case "UpdateCommand":
		s.updateCommand(w, param, body)
	case "GetConfig":
		writeJSON(w, http.StatusOK, s.admin.cfg)
	case "PatchConfig":
		s.patchConfig(w, body)
	default:
		return false
	}
	return true
}

func badBody(w http.ResponseWriter, s *Server, op, name string, err error) {
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	s.rejectLocked(w, op+": body is not a "+name+": "+detail,
		model.NewAppError("Api4."+op, "api.context.invalid_body_param.app_error", map[string]any{"Name": name}, detail, http.StatusBadRequest))
}

func badParam(w http.ResponseWriter, op, name string) {
	writeErr(w, model.NewAppError("Api4."+op, "api.context.invalid_param.app_error", map[string]any{"Name": name}, "", http.StatusBadRequest))
}

func notFound(w http.ResponseWriter, where, id string) {
	writeErr(w, model.NewAppError(where, id, nil, "", http.StatusNotFound))
}

func (s *Server) userByName(name string) (string, bool) {
	name = model.NormalizeUsername(name)
	for id, n := range s.users {
		if n == name {
			return id, true
		}
	}
	return "", false
}

func (s *Server) getUserByUsername(w http.ResponseWriter, name string) {
	id, ok := s.userByName(name)
	if !ok {
		notFound(w, "GetUserByUsername", "app.user.get_by_username.app_error")
		return
	}
	writeJSON(w, http.StatusOK, s.userLocked(id))
}

func (s *Server) getTokens(w http.ResponseWriter, uid string) {
	if _, ok := s.users[uid]; !ok {
		notFound(w, "GetUserAccessTokensForUser", "app.user.missing_account.const")
		return
	}
	out := []*model.UserAccessToken{}
	for _, t := range s.admin.accessTokens[uid] {
		c := *t
		c.Token = "" // the server never shows a token again
		out = append(out, &c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createToken(w http.ResponseWriter, uid string, body []byte) {
	var t model.UserAccessToken
	if err := json.Unmarshal(body, &t); err != nil {
		badBody(w, s, "CreateUserAccessToken", "user_access_token", err)
		return
	}
	if t.Description == "" {
		s.Violate("CreateUserAccessToken: no description")
		badParam(w, "createUserAccessToken", "description")
		return
	}
	if _, ok := s.users[uid]; !ok {
		notFound(w, "CreateUserAccessToken", "app.user.missing_account.const")
		return
	}
	if s.admin.bots[uid] == nil && !*s.admin.cfg.ServiceSettings.EnableUserAccessTokens {
		writeErr(w, model.NewAppError("CreateUserAccessToken", "app.user_access_token.disabled", nil, "", http.StatusNotImplemented))
		return
	}
	t.Id, t.Token, t.UserId, t.IsActive = model.NewId(), model.NewId(), uid, true
	s.admin.accessTokens[uid] = append(s.admin.accessTokens[uid], &t)
	s.admin.tokens[t.Token] = uid
	writeJSON(w, http.StatusOK, &t)
}

func (s *Server) createBot(w http.ResponseWriter, uid string, body []byte) {
	var patch model.BotPatch
	if err := json.Unmarshal(body, &patch); err != nil {
		badBody(w, s, "CreateBot", "bot", err)
		return
	}
	if s.admin.bots[uid] != nil {
		writeErr(w, model.NewAppError("createBot", "api.context.permissions.app_error", nil, "userId="+uid+", permission=create_bot", http.StatusForbidden))
		return
	}
	if !*s.admin.cfg.ServiceSettings.EnableBotAccountCreation {
		writeErr(w, model.NewAppError("createBot", "api.bot.create_disabled", nil, "", http.StatusForbidden))
		return
	}
	b := &model.Bot{OwnerId: uid}
	b.Patch(&patch)
	b.Username = model.NormalizeUsername(b.Username)
	if aerr := b.IsValidCreate(); aerr != nil {
		s.rejectLocked(w, "CreateBot: "+aerr.Id, aerr)
		return
	}
	if _, taken := s.userByName(b.Username); taken {
		writeErr(w, model.NewAppError("CreateBot", "app.user.save.username_exists.app_error", nil, "", http.StatusBadRequest))
		return
	}
	b.UserId = model.NewId()
	b.CreateAt = s.now()
	b.UpdateAt = b.CreateAt
	s.users[b.UserId] = b.Username
	s.admin.bots[b.UserId] = b
	writeJSON(w, http.StatusCreated, b)
}

func (s *Server) getBot(w http.ResponseWriter, id string, includeDeleted bool) {
	if !model.IsValidId(id) {
		writeErr(w, model.NewAppError("Context", "api.context.invalid_url_param.app_error", map[string]any{"Name": "bot_user_id"}, "", http.StatusBadRequest))
		return
	}
	b := s.admin.bots[id]
	if b == nil || b.DeleteAt != 0 && !includeDeleted {
		notFound(w, "SqlBotStore.Get", "store.sql_bot.get.missing.app_error")
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) enableBot(w http.ResponseWriter, id string) {
	b := s.admin.bots[id]
	if b == nil {
		notFound(w, "SqlBotStore.Get", "store.sql_bot.get.missing.app_error")
		return
	}
	b.DeleteAt, b.UpdateAt = 0, s.now()
	delete(s.admin.disabled, id)
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) sortedTeams() []*model.Team {
	var out []*model.Team
	for _, t := range s.admin.teams {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *model.Team) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	return out
}

func (s *Server) getAllTeams(w http.ResponseWriter, uid string, q map[string][]string) {
	page, _ := strconv.Atoi(first(q["page"]))
	perPage, err := strconv.Atoi(first(q["per_page"]))
	if err != nil || perPage <= 0 {
		perPage = 60
	}
	perPage = min(perPage, 200) // the server's cap
	out := []*model.Team{}
	for _, t := range s.sortedTeams() {
		if s.isAdmin(uid) || s.admin.teamMembers[t.Id][uid] {
			out = append(out, t)
		}
	}
	lo := min(page*perPage, len(out))
	writeJSON(w, http.StatusOK, out[lo:min(lo+perPage, len(out))])
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (s *Server) teamByName(name string) *model.Team {
	for _, t := range s.admin.teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func (s *Server) getTeamByName(w http.ResponseWriter, name string) {
	t := s.teamByName(name)
	if t == nil {
		notFound(w, "SqlTeamStore.GetByName", "app.team.get_by_name.missing.app_error")
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) addTeamMember(w http.ResponseWriter, teamID string, body []byte) {
	var m model.TeamMember
	if err := json.Unmarshal(body, &m); err != nil {
		badBody(w, s, "AddTeamMember", "team_member", err)
		return
	}
	if m.TeamId != teamID {
		s.Violate("AddTeamMember: team_id " + m.TeamId + " in the body, " + teamID + " in the URL")
		badParam(w, "addTeamMember", "team_id")
		return
	}
	if s.admin.teams[teamID] == nil {
		notFound(w, "SqlTeamStore.Get", "app.team.get.find.app_error")
		return
	}
	if _, ok := s.users[m.UserId]; !ok {
		notFound(w, "AddTeamMember", "app.user.missing_account.const")
		return
	}
	s.admin.teamMembers[teamID][m.UserId] = true
	writeJSON(w, http.StatusCreated, &model.TeamMember{TeamId: teamID, UserId: m.UserId, Roles: "team_user", SchemeUser: true})
}

func (s *Server) addChannelMember(w http.ResponseWriter, channel string, body []byte) {
	var req struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !model.IsValidId(req.UserID) {
		badBody(w, s, "AddChannelMember", "user_id", err)
		return
	}
	if !model.IsValidId(channel) || s.channels != nil && !s.channels[channel] {
		notFound(w, "SqlChannelStore.Get", "app.channel.get.existing.app_error")
		return
	}
	if _, ok := s.users[req.UserID]; !ok {
		notFound(w, "AddChannelMember", "app.user.missing_account.const")
		return
	}
	if s.admin.channelMembers[channel] == nil {
		s.admin.channelMembers[channel] = map[string]bool{}
	}
	s.admin.channelMembers[channel][req.UserID] = true
	writeJSON(w, http.StatusCreated, &model.ChannelMember{ChannelId: channel, UserId: req.UserID, Roles: "channel_user", SchemeUser: true})
}

func (s *Server) listCommands(w http.ResponseWriter, teamID string) {
	if teamID == "" {
		s.Violate("ListCommands: no team_id")
		badParam(w, "listCommands", "team_id")
		return
	}
	out := []*model.Command{}
	for _, c := range s.admin.commands {
		if c.TeamId == teamID && c.DeleteAt == 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *model.Command) int { return strings.Compare(a.Trigger, b.Trigger) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) commandsOff(w http.ResponseWriter, op string) bool {
	if *s.admin.cfg.ServiceSettings.EnableCommands {
		return false
	}
	writeErr(w, model.NewAppError(op, "api.command.disabled.app_error", nil, "", http.StatusNotImplemented))
	return true
}

func (s *Server) createCommand(w http.ResponseWriter, uid string, body []byte) {
	var c model.Command
	if err := json.Unmarshal(body, &c); err != nil {
		badBody(w, s, "CreateCommand", "command", err)
		return
	}
	if s.admin.teams[c.TeamId] == nil {
		writeErr(w, model.NewAppError("Api4.createCommand", "api.context.permissions.app_error", nil,
			"userId="+uid+", teamId="+c.TeamId+", permission=manage_own_slash_commands", http.StatusForbidden))
		return
	}
	if s.commandsOff(w, "CreateCommand") {
		return
	}
	c.CreatorId = uid
	c.Trigger = strings.ToLower(c.Trigger)
	for _, o := range s.admin.commands {
		if o.TeamId == c.TeamId && o.DeleteAt == 0 && o.Trigger == c.Trigger {
			writeErr(w, model.NewAppError("CreateCommand", "api.command.duplicate_trigger.app_error", nil, "", http.StatusBadRequest))
			return
		}
	}
	c.Id, c.Token = "", ""
	c.PreSave()
	if aerr := c.IsValid(); aerr != nil {
		s.rejectLocked(w, "CreateCommand: "+aerr.Id, aerr)
		return
	}
	s.admin.commands[c.Id] = &c
	writeJSON(w, http.StatusCreated, &c)
}

func (s *Server) getCommand(w http.ResponseWriter, id string) {
	c := s.admin.commands[id]
	if c == nil || c.DeleteAt != 0 {
		notFound(w, "getCommand", "api.command.command_not_found.app_error")
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) updateCommand(w http.ResponseWriter, id string, body []byte) {
	var c model.Command
	if err := json.Unmarshal(body, &c); err != nil || c.Id != id {
		badBody(w, s, "UpdateCommand", "command", err)
		return
	}
	old := s.admin.commands[id]
	if old == nil || old.DeleteAt != 0 {
		notFound(w, "updateCommand", "api.command.command_not_found.app_error")
		return
	}
	if c.TeamId != old.TeamId {
		writeErr(w, model.NewAppError("updateCommand", "api.command.team_mismatch.app_error", nil, "", http.StatusBadRequest))
		return
	}
	if s.commandsOff(w, "UpdateCommand") {
		return
	}
	c.Trigger = strings.ToLower(c.Trigger)
	c.Token, c.CreateAt, c.DeleteAt, c.CreatorId, c.PluginId = old.Token, old.CreateAt, old.DeleteAt, old.CreatorId, old.PluginId
	c.PreUpdate()
	if aerr := c.IsValid(); aerr != nil {
		s.rejectLocked(w, "UpdateCommand: "+aerr.Id, aerr)
		return
	}
	s.admin.commands[id] = &c
	writeJSON(w, http.StatusOK, &c)
}

func (s *Server) patchConfig(w http.ResponseWriter, body []byte) {
	var patch map[string]any
	if err := json.Unmarshal(body, &patch); err != nil || patch == nil {
		badBody(w, s, "PatchConfig", "config", err)
		return
	}
	cur, _ := json.Marshal(s.admin.cfg)
	var base map[string]any
	_ = json.Unmarshal(cur, &base)
	mergeJSON(base, patch)
	merged, _ := json.Marshal(base)
	var cfg model.Config
	if err := json.Unmarshal(merged, &cfg); err != nil {
		badBody(w, s, "PatchConfig", "config", err)
		return
	}
	if s.admin.env != nil {
		s.admin.env(&cfg)
	}
	if aerr := cfg.IsValid(); aerr != nil {
		s.rejectLocked(w, "PatchConfig: "+aerr.Id, aerr)
		return
	}
	s.admin.cfg = &cfg
	writeJSON(w, http.StatusOK, &cfg)
}

// mergeJSON sets into base what patch sets: objects merged key by key,
// nulls ignored (an unset pointer of model.Config), other values replace.
func mergeJSON(base, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
		case map[string]any:
			if bv, ok := base[k].(map[string]any); ok {
				mergeJSON(bv, pv)
			} else {
				base[k] = pv
			}
		default:
			base[k] = v
		}
	}
}

// Bots returns the bot accounts (the fake's own included), by username.
func (s *Server) Bots() []model.Bot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Bot
	for _, b := range s.admin.bots {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b model.Bot) int { return strings.Compare(a.Username, b.Username) })
	return out
}

// DisableBot disables the bot with username, as an admin would; it reports
// whether there is one. Its tokens stop working until EnableBot.
func (s *Server) DisableBot(username string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, b := range s.admin.bots {
		if b.Username == username {
			b.DeleteAt = s.now()
			s.admin.disabled[id] = true
			return true
		}
	}
	return false
}

// AccessTokens returns the access tokens made for the user id, tokens
// included, in order.
func (s *Server) AccessTokens(userID string) []model.UserAccessToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.UserAccessToken
	for _, t := range s.admin.accessTokens[userID] {
		out = append(out, *t)
	}
	return out
}

// TeamMembers returns the user ids of the team with name, sorted.
func (s *Server) TeamMembers(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teamByName(name)
	if t == nil {
		return nil
	}
	return sortedKeys(s.admin.teamMembers[t.Id])
}

// ChannelMembers returns the user ids AddChannelMember added to channel,
// sorted.
func (s *Server) ChannelMembers(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.admin.channelMembers[channel])
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Commands returns the slash commands of the team with name, by trigger.
func (s *Server) Commands(team string) []model.Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teamByName(team)
	if t == nil {
		return nil
	}
	var out []model.Command
	for _, c := range s.admin.commands {
		if c.TeamId == t.Id && c.DeleteAt == 0 {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b model.Command) int { return strings.Compare(a.Trigger, b.Trigger) })
	return out
}

// ServerConfig returns a copy of the server's config.
func (s *Server) ServerConfig() *model.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.admin.cfg)
	var c model.Config
	_ = json.Unmarshal(b, &c)
	return &c
}
