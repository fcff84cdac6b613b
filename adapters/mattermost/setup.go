package mattermost

// Setup: what an admin otherwise clicks through in the System Console to
// connect klaxon — its bot account and access token, the /incident slash
// command, and the one server setting Mattermost needs before it will call
// a private address — done through the REST API v4 with an admin's token.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/klaxonbot/klaxon/internal/suggest"
)

// Trigger is the slash command's trigger word.
const Trigger = "incident"

// The slash command klaxon creates.
const (
	commandDisplayName = "klaxon"
	commandDescription = "Run incidents with klaxon"
	commandHint        = "ack|resolve|sev|note|list|help [INC-42]"
	commandDesc        = "Run an incident: ack, resolve, sev, lead, note, timeline, postmortem, declare, oncall, maintenance, report"
	botDisplayName     = "klaxon"
	botDescription     = "Incident alerts as cards you can act on (klaxon)"
	untrustedSetting   = "ServiceSettings.AllowedUntrustedInternalConnections"
	untrustedConsole   = "System Console → Environment → Developer → Allow untrusted internal connections to"
)

// SetupOptions configure Setup.
type SetupOptions struct {
	// URL is the Mattermost server, e.g. https://chat.example.com.
	URL string
	// AdminToken is a system admin's personal access token.
	AdminToken string
	// Team is the team's name, as in its URL ("eng" of
	// chat.example.com/eng); "" takes the server's only team.
	Team string
	// Bot is the bot account's username; default "klaxon".
	Bot string
	// CommandURL is where the slash command posts: klaxon's public_url +
	// "/mattermost/commands". Required.
	CommandURL string
	// Channels are channel IDs to add the bot to (the teams'
	// mattermost.channel); one that fails is a warning.
	Channels []string
	// FixUntrusted adds klaxon's host to
	// ServiceSettings.AllowedUntrustedInternalConnections when Mattermost
	// needs it there to call klaxon; otherwise Setup only says what to add.
	FixUntrusted bool
	// EnableBotCreation turns on ServiceSettings.EnableBotAccountCreation
	// when the bot must be created and the setting is off; otherwise Setup
	// stops and says how to turn it on.
	EnableBotCreation bool
	// HTTPClient makes the requests; default &http.Client{Timeout: 30 * time.Second}.
	HTTPClient *http.Client
	// LookupIP resolves klaxon's and Mattermost's host names for the
	// untrusted-connections check; default net.DefaultResolver.LookupIP.
	LookupIP func(ctx context.Context, host string) ([]net.IP, error)
	// Now dates the access token's description; default time.Now.
	Now func() time.Time
	// Progress is told each step done, one line each; may be nil.
	Progress func(line string)
}

// SetupResult is what Setup did and found.
type SetupResult struct {
	ServerVersion string // as the server reports it (X-Version-Id)
	Admin         string // the admin's username

	TeamID, TeamName string

	BotUserID, BotUsername string
	BotCreated             bool // the bot account was created now
	BotEnabled             bool // a disabled bot account was enabled again
	BotToken               string
	OtherTokens            int // active access tokens the bot had before this one

	CommandID      string
	CommandCreated bool
	CommandUpdated []string // the fields of an existing /incident that were changed
	CommandToken   string

	Channels []string // the channels the bot is a member of now
	Warnings []string // what did not work and does not stop klaxon from working

	Untrusted UntrustedCheck
}

// UntrustedCheck is whether Mattermost will call klaxon's host.
// Mattermost refuses to call a loopback, private or link-local address, or
// one of its own, unless ServiceSettings.AllowedUntrustedInternalConnections
// names the host (or holds a CIDR range with the address); a refused button
// press answers 400 and a refused slash command 500.
type UntrustedCheck struct {
	Host      string   // klaxon's host in CommandURL
	Addrs     []net.IP // what Host resolves to here (Mattermost resolves it itself)
	Internal  bool     // every address is one Mattermost refuses without the setting
	Named     bool     // the setting names Host
	Covered   bool     // Mattermost may call Host: Named, not Internal, or in a CIDR range of the setting
	Setting   string   // the setting as read
	Suggested string   // the setting that allows Host, when it does not
	Patched   bool     // Setup wrote Suggested to the server (FixUntrusted)
	Unknown   error    // why the check could not tell (Host did not resolve here)
}

// SetupError is a failed step of Setup.
type SetupError struct {
	Step string // what Setup was doing, e.g. "create the bot account"
	Msg  string // what is wrong and what to do
	Err  error  // the API error (*Error), if any
}

func (e *SetupError) Error() string { return e.Msg }

// Unwrap returns the API error.
func (e *SetupError) Unwrap() error { return e.Err }

// setup is one run of Setup.
type setup struct {
	o   SetupOptions
	api *api
	res *SetupResult
	cfg *config
}

// Setup connects klaxon to a Mattermost server with an admin's token: it
// creates (or finds, and enables if disabled) the bot account, adds it to
// the team and to o.Channels, makes it a new access token, creates (or
// finds and updates) the team's /incident slash command posting to
// o.CommandURL, and checks that Mattermost may call klaxon's host (see
// UntrustedCheck). Run again, it creates no second bot or command, only
// another token (SetupResult.OtherTokens counts the earlier ones).
//
// Errors are *SetupError: the admin token refused (401), a user who is not
// a system admin (403), a team that does not exist (naming the ones that
// do), a setting that is off, a server that cannot be reached.
func Setup(ctx context.Context, o SetupOptions) (*SetupResult, error) {
	s, err := newSetup(o)
	if err != nil {
		return nil, err
	}
	steps := []func(context.Context) error{s.signIn, s.team, s.readConfig, s.bot, s.memberships, s.token, s.command, s.untrusted}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return s.res, nil
}

func newSetup(o SetupOptions) (*setup, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &SetupError{Step: "check the options", Msg: fmt.Sprintf("the Mattermost URL %q must be the server's http(s) base URL, like https://chat.example.com", o.URL)}
	}
	if o.AdminToken == "" {
		return nil, &SetupError{Step: "check the options", Msg: "an admin token is required: a system admin's personal access token"}
	}
	if strings.ContainsFunc(o.AdminToken, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return nil, &SetupError{Step: "check the options", Msg: "the admin token holds spaces or characters that are not printable ASCII"}
	}
	if o.Bot == "" {
		o.Bot = "klaxon"
	}
	if !validUsername(o.Bot) {
		return nil, &SetupError{Step: "check the options", Msg: fmt.Sprintf("%q is not a Mattermost username: 3-22 of a-z, 0-9, '.', '-' and '_', starting with a letter", o.Bot)}
	}
	if c, err := url.Parse(o.CommandURL); err != nil || !validHTTPURL(o.CommandURL) || c.Hostname() == "" || len(o.CommandURL) > 1024 {
		return nil, &SetupError{Step: "check the options", Msg: fmt.Sprintf("the command URL %q must be an absolute http(s) URL of at most 1024 bytes", o.CommandURL)}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.LookupIP == nil {
		o.LookupIP = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	api := newAPI(strings.TrimRight(u.String(), "/"), o.AdminToken, o.HTTPClient)
	return &setup{o: o, api: api, res: &SetupResult{BotUsername: strings.ToLower(o.Bot)}}, nil
}

func (s *setup) say(format string, args ...any) { s.o.Progress(fmt.Sprintf(format, args...)) }

// fail turns an API error into a SetupError that says what to do.
func (s *setup) fail(ctx context.Context, step, op string, resp *response, err error) error {
	e := wrap(ctx, op, resp, err)
	msg := fmt.Sprintf("could not %s: %s", step, e)
	switch {
	case e.Code == CodeNetwork || e.Code == CodeTimeout:
		msg = fmt.Sprintf("could not reach Mattermost at %s to %s: %v", s.o.URL, step, e.Err)
	case e.Status == http.StatusUnauthorized:
		msg = fmt.Sprintf("Mattermost at %s refused the admin token (401): give a system admin's personal access token "+
			"(Profile → Security → Personal Access Tokens; System Console → Integrations → Integration Management → "+
			"Enable Personal Access Tokens must be on)", s.o.URL)
	case e.Status == http.StatusForbidden:
		msg = fmt.Sprintf("Mattermost refused to let @%s %s (403 %s): klaxon setup needs a system admin's token", s.res.Admin, step, e.Code)
	}
	return &SetupError{Step: step, Msg: msg, Err: e}
}

// signIn checks the token: a person (not a bot) who is a system admin.
func (s *setup) signIn(ctx context.Context) error {
	const step = "sign in"
	me, resp, err := s.api.GetMe(ctx)
	if err != nil {
		return s.fail(ctx, step, "GetMe", resp, err)
	}
	s.res.Admin, s.res.ServerVersion = me.Username, resp.ServerVersion
	switch {
	case me.IsBot:
		return &SetupError{Step: step, Msg: fmt.Sprintf("the admin token is bot @%s's: give a system admin's personal access token", me.Username)}
	case !me.isSystemAdmin():
		return &SetupError{Step: step, Msg: fmt.Sprintf("@%s is not a system admin (roles: %s): klaxon setup creates a bot account and reads the server's config, which needs one", me.Username, me.Roles)}
	}
	s.say("Mattermost %s at %s: signed in as @%s (system admin)", s.res.ServerVersion, s.o.URL, me.Username)
	return nil
}

// team finds the team by name, or the only one.
func (s *setup) team(ctx context.Context) error {
	const step = "find the team"
	var found *team
	if s.o.Team != "" {
		t, resp, err := s.api.GetTeamByName(ctx, strings.ToLower(s.o.Team))
		if err == nil && t.DeleteAt == 0 {
			found = t
		} else if err != nil && status(resp) != http.StatusNotFound {
			return s.fail(ctx, step, "GetTeamByName", resp, err)
		}
	}
	if found == nil {
		teams, err := s.allTeams(ctx)
		if err != nil {
			return err
		}
		names := make([]string, len(teams))
		for i, t := range teams {
			names[i] = t.Name
		}
		switch {
		case len(teams) == 0:
			return &SetupError{Step: step, Msg: fmt.Sprintf("Mattermost at %s has no teams: create one, then run setup again", s.o.URL)}
		case s.o.Team != "":
			msg := fmt.Sprintf("no team %q on %s", s.o.Team, s.o.URL)
			if near := suggest.Closest(s.o.Team, names); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return &SetupError{Step: step, Msg: msg + "; its teams: " + strings.Join(names, ", ")}
		case len(teams) > 1:
			return &SetupError{Step: step, Msg: fmt.Sprintf("Mattermost at %s has %d teams: name one with --team (%s)", s.o.URL, len(teams), strings.Join(names, ", "))}
		}
		found = teams[0]
	}
	s.res.TeamID, s.res.TeamName = found.Id, found.Name
	s.say("team %s (%s)", found.Name, found.DisplayName)
	return nil
}

func (s *setup) allTeams(ctx context.Context) ([]*team, error) {
	const perPage = 200
	var out []*team
	for page := 0; page < 50; page++ {
		teams, resp, err := s.api.GetAllTeams(ctx, page, perPage)
		if err != nil {
			return nil, s.fail(ctx, "list the teams", "GetAllTeams", resp, err)
		}
		for _, t := range teams {
			if t.DeleteAt == 0 {
				out = append(out, t)
			}
		}
		if len(teams) < perPage {
			break
		}
	}
	slices.SortFunc(out, func(a, b *team) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// readConfig reads the server's config, which later steps check.
func (s *setup) readConfig(ctx context.Context) error {
	cfg, resp, err := s.api.GetConfig(ctx)
	if err != nil {
		return s.fail(ctx, "read the server's config", "GetConfig", resp, err)
	}
	s.cfg = cfg
	if v := cfg.ServiceSettings.EnableCommands; v != nil && !*v {
		return &SetupError{Step: "read the server's config", Msg: "custom slash commands are off on this server: turn on System Console → " +
			"Integrations → Integration Management → Enable Custom Slash Commands (ServiceSettings.EnableCommands), then run setup again"}
	}
	return nil
}

// bot finds the bot account (enabling it if disabled) or creates it.
func (s *setup) bot(ctx context.Context) error {
	name := s.res.BotUsername
	u, resp, err := s.api.GetUserByUsername(ctx, name)
	switch {
	case err == nil && !u.IsBot:
		return &SetupError{Step: "find the bot account", Msg: fmt.Sprintf("@%s is a person's account, not a bot: choose another name with --bot", name)}
	case err == nil:
		b, resp, err := s.api.GetBotIncludeDeleted(ctx, u.Id)
		if err != nil {
			return s.fail(ctx, "read bot @"+name, "GetBot", resp, err)
		}
		if b.DeleteAt != 0 {
			if _, resp, err := s.api.EnableBot(ctx, b.UserId); err != nil {
				return s.fail(ctx, "enable bot @"+name, "EnableBot", resp, err)
			}
			s.res.BotEnabled = true
			s.say("bot @%s: found disabled, enabled it", name)
		} else {
			s.say("bot @%s: found (user id %s)", name, b.UserId)
		}
		s.res.BotUserID = b.UserId
		return nil
	case status(resp) != http.StatusNotFound:
		return s.fail(ctx, "look up @"+name, "GetUserByUsername", resp, err)
	}
	if v := s.cfg.ServiceSettings.EnableBotAccountCreation; v != nil && !*v {
		if !s.o.EnableBotCreation {
			return &SetupError{Step: "create the bot account", Msg: "bot account creation is off on this server: turn on System Console → Integrations → " +
				"Bot Accounts → Enable Bot Account Creation (ServiceSettings.EnableBotAccountCreation), or run setup again with --enable-bot-creation"}
		}
		on := true
		patch := &config{ServiceSettings: serviceSettings{EnableBotAccountCreation: &on}}
		cfg, resp, err := s.api.PatchConfig(ctx, patch)
		if err != nil {
			return s.fail(ctx, "turn on bot account creation", "PatchConfig", resp, err)
		}
		if v := cfg.ServiceSettings.EnableBotAccountCreation; v == nil || !*v {
			return &SetupError{Step: "turn on bot account creation", Msg: "the server kept ServiceSettings.EnableBotAccountCreation off: " +
				"its environment (MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION) or a read-only config keeps it; turn it on there"}
		}
		s.cfg = cfg
		s.say("turned on bot account creation (ServiceSettings.EnableBotAccountCreation)")
	}
	display, desc := botDisplayName, botDescription
	b, resp, err := s.api.CreateBot(ctx, &bot{Username: name, DisplayName: display, Description: desc})
	if err != nil {
		return s.fail(ctx, "create bot @"+name, "CreateBot", resp, err)
	}
	s.res.BotUserID, s.res.BotCreated = b.UserId, true
	s.say("bot @%s: created (user id %s)", name, b.UserId)
	return nil
}

// memberships adds the bot to the team and to the channels.
func (s *setup) memberships(ctx context.Context) error {
	if _, resp, err := s.api.AddTeamMember(ctx, s.res.TeamID, s.res.BotUserID); err != nil {
		return s.fail(ctx, "add @"+s.res.BotUsername+" to team "+s.res.TeamName, "AddTeamMember", resp, err)
	}
	s.say("bot @%s is a member of team %s", s.res.BotUsername, s.res.TeamName)
	for _, ch := range s.o.Channels {
		if !validID(ch) {
			s.warn("channel %q is not a channel ID; add @%s to it by hand (/invite @%s)", ch, s.res.BotUsername, s.res.BotUsername)
			continue
		}
		if _, resp, err := s.api.AddChannelMember(ctx, ch, s.res.BotUserID); err != nil {
			s.warn("could not add @%s to channel %s: %s; add it by hand there (/invite @%s)", s.res.BotUsername, ch, wrap(ctx, "AddChannelMember", resp, err), s.res.BotUsername)
			continue
		}
		s.res.Channels = append(s.res.Channels, ch)
		s.say("bot @%s is a member of channel %s", s.res.BotUsername, ch)
	}
	return nil
}

func (s *setup) warn(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	s.res.Warnings = append(s.res.Warnings, line)
	s.o.Progress("warning: " + line)
}

// token makes the bot a new access token; Mattermost shows a token only
// when it is made.
func (s *setup) token(ctx context.Context) error {
	tokens, resp, err := s.api.GetUserAccessTokensForUser(ctx, s.res.BotUserID, 0, 200)
	if err != nil {
		return s.fail(ctx, "list @"+s.res.BotUsername+"'s access tokens", "GetUserAccessTokensForUser", resp, err)
	}
	for _, t := range tokens {
		if t.IsActive {
			s.res.OtherTokens++
		}
	}
	desc := "klaxon (klaxon setup, " + s.o.Now().UTC().Format("2006-01-02") + ")"
	t, resp, err := s.api.CreateUserAccessToken(ctx, s.res.BotUserID, desc)
	if err != nil {
		return s.fail(ctx, "create an access token for @"+s.res.BotUsername, "CreateUserAccessToken", resp, err)
	}
	if t.Token == "" {
		return &SetupError{Step: "create an access token", Msg: "Mattermost answered without the token"}
	}
	s.res.BotToken = t.Token
	if s.res.OtherTokens > 0 {
		s.say("access token for @%s: created, besides its %d older active one(s)", s.res.BotUsername, s.res.OtherTokens)
	} else {
		s.say("access token for @%s: created", s.res.BotUsername)
	}
	return nil
}

// command creates the team's /incident command, or brings an existing one
// up to date (its token stays).
func (s *setup) command(ctx context.Context) error {
	want := command{
		TeamId: s.res.TeamID, Trigger: Trigger, Method: commandMethodPost, URL: s.o.CommandURL,
		AutoComplete: true, AutoCompleteDesc: commandDesc, AutoCompleteHint: commandHint,
		DisplayName: commandDisplayName, Description: commandDescription,
	}
	cmds, resp, err := s.api.ListCommands(ctx, s.res.TeamID)
	if err != nil {
		return s.fail(ctx, "list team "+s.res.TeamName+"'s slash commands", "ListCommands", resp, err)
	}
	var have *command
	for _, c := range cmds {
		if c.DeleteAt == 0 && strings.EqualFold(c.Trigger, Trigger) {
			have = c
			break
		}
	}
	if have == nil {
		c, resp, err := s.api.CreateCommand(ctx, &want)
		if err != nil {
			return s.fail(ctx, "create the /"+Trigger+" command", "CreateCommand", resp, err)
		}
		s.res.CommandID, s.res.CommandToken, s.res.CommandCreated = c.Id, c.Token, true
		s.say("/%s in team %s: created, posting to %s", Trigger, s.res.TeamName, s.o.CommandURL)
		return s.commandToken(ctx)
	}
	var changed []string
	upd := *have
	for _, f := range []struct {
		name      string
		have, set *string
		want      string
	}{
		{"url", &have.URL, &upd.URL, want.URL},
		{"method", &have.Method, &upd.Method, want.Method},
		{"auto_complete_desc", &have.AutoCompleteDesc, &upd.AutoCompleteDesc, want.AutoCompleteDesc},
		{"auto_complete_hint", &have.AutoCompleteHint, &upd.AutoCompleteHint, want.AutoCompleteHint},
		{"display_name", &have.DisplayName, &upd.DisplayName, want.DisplayName},
		{"description", &have.Description, &upd.Description, want.Description},
	} {
		if *f.have != f.want {
			changed = append(changed, f.name)
			*f.set = f.want
		}
	}
	if !have.AutoComplete {
		changed = append(changed, "auto_complete")
		upd.AutoComplete = true
	}
	s.res.CommandID, s.res.CommandToken = have.Id, have.Token
	if len(changed) == 0 {
		s.say("/%s in team %s: up to date", Trigger, s.res.TeamName)
		return s.commandToken(ctx)
	}
	c, resp, err := s.api.UpdateCommand(ctx, &upd)
	if err != nil {
		return s.fail(ctx, "update the /"+Trigger+" command", "UpdateCommand", resp, err)
	}
	s.res.CommandUpdated = changed
	if c.Token != "" {
		s.res.CommandToken = c.Token
	}
	if have.URL != want.URL {
		s.say("/%s in team %s: updated (%s); it posted to %s, now to %s", Trigger, s.res.TeamName, strings.Join(changed, ", "), have.URL, want.URL)
	} else {
		s.say("/%s in team %s: updated (%s)", Trigger, s.res.TeamName, strings.Join(changed, ", "))
	}
	return s.commandToken(ctx)
}

// commandToken reads the command's token when the list did not carry it.
func (s *setup) commandToken(ctx context.Context) error {
	if s.res.CommandToken != "" {
		return nil
	}
	c, resp, err := s.api.GetCommandById(ctx, s.res.CommandID)
	if err != nil {
		return s.fail(ctx, "read the /"+Trigger+" command's token", "GetCommandById", resp, err)
	}
	if c.Token == "" {
		return &SetupError{Step: "read the command's token", Msg: "Mattermost answered the /" + Trigger + " command without its token"}
	}
	s.res.CommandToken = c.Token
	return nil
}

// untrusted checks, and with FixUntrusted patches,
// AllowedUntrustedInternalConnections.
func (s *setup) untrusted(ctx context.Context) error {
	cu, _ := url.Parse(s.o.CommandURL)
	mu, _ := url.Parse(s.o.URL)
	setting := ""
	if v := s.cfg.ServiceSettings.AllowedUntrustedInternalConnections; v != nil {
		setting = *v
	}
	chk := checkUntrusted(ctx, s.o.LookupIP, cu.Hostname(), mu.Hostname(), setting)
	s.res.Untrusted = chk
	switch {
	case chk.Named:
		s.say("Mattermost may call %s: %s names it (%q)", chk.Host, untrustedSetting, chk.Setting)
		return nil
	case chk.Unknown != nil:
		s.warn("could not resolve %s here (%v): if Mattermost reaches it at a private address, add %q to %s (%s)",
			chk.Host, chk.Unknown, chk.Host, untrustedSetting, untrustedConsole)
		return nil
	case chk.Covered && !chk.Internal:
		s.say("Mattermost may call %s (%s): not an internal address", chk.Host, ipList(chk.Addrs))
		return nil
	case chk.Covered:
		s.say("Mattermost may call %s (%s): %s allows it (%q)", chk.Host, ipList(chk.Addrs), untrustedSetting, chk.Setting)
		return nil
	case !s.o.FixUntrusted:
		addrs := ""
		if net.ParseIP(chk.Host) == nil {
			addrs = " (" + ipList(chk.Addrs) + ")"
		}
		s.warn("%s is an internal address%s that Mattermost refuses to call: buttons would answer 400 and /%s 500. "+
			"Set %s to %q (%s), or run setup again with --fix-untrusted",
			chk.Host, addrs, Trigger, untrustedSetting, chk.Suggested, untrustedConsole)
		return nil
	}
	value := chk.Suggested
	cfg, resp, err := s.api.PatchConfig(ctx, &config{ServiceSettings: serviceSettings{AllowedUntrustedInternalConnections: &value}})
	if err != nil {
		return s.fail(ctx, "set "+untrustedSetting, "PatchConfig", resp, err)
	}
	got := ""
	if v := cfg.ServiceSettings.AllowedUntrustedInternalConnections; v != nil {
		got = *v
	}
	if after := checkUntrusted(ctx, s.o.LookupIP, cu.Hostname(), mu.Hostname(), got); !after.Covered {
		return &SetupError{Step: "set " + untrustedSetting, Msg: fmt.Sprintf("the server kept %s at %q: its environment "+
			"(MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS), a read-only config or ExperimentalSettings.RestrictSystemAdmin "+
			"keeps it; add %q there", untrustedSetting, got, chk.Host)}
	}
	s.res.Untrusted.Patched, s.res.Untrusted.Setting, s.res.Untrusted.Covered = true, got, true
	s.say("set %s to %q: Mattermost may call %s now", untrustedSetting, got, chk.Host)
	return nil
}

// reservedNets are the ranges Mattermost calls only when
// AllowedUntrustedInternalConnections allows it (its httpservice's list).
var reservedNets = func() []*net.IPNet {
	var out []*net.IPNet
	for _, c := range []string{"0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
		"::/128", "::1/128", "fc00::/7", "fe80::/10"} {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}()

func reservedIP(ip net.IP) bool {
	return slices.ContainsFunc(reservedNets, func(n *net.IPNet) bool { return n.Contains(ip) })
}

// checkUntrusted applies Mattermost's rule: it calls host when the setting
// (hosts, IPs and CIDR ranges, separated by spaces or commas) names host,
// or when an address of host is neither reserved nor Mattermost's own
// (approximated by the addresses of mmHost), or lies in a CIDR range of the
// setting.
func checkUntrusted(ctx context.Context, lookup func(context.Context, string) ([]net.IP, error), host, mmHost, setting string) UntrustedCheck {
	c := UntrustedCheck{Host: host, Setting: setting}
	entries := strings.FieldsFunc(setting, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	resolve := func(h string) ([]net.IP, error) {
		if ip := net.ParseIP(h); ip != nil {
			return []net.IP{ip}, nil
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err := lookup(lctx, h)
		if err == nil && len(addrs) == 0 {
			err = errors.New("no addresses")
		}
		return addrs, err
	}
	c.Named = slices.Contains(entries, host)
	c.Addrs, c.Unknown = resolve(host)
	if c.Unknown == nil {
		own, _ := resolve(mmHost)
		c.Internal = true
		for _, ip := range c.Addrs {
			if !reservedIP(ip) && !slices.ContainsFunc(own, ip.Equal) {
				c.Internal = false
				c.Covered = true
			}
			for _, e := range entries {
				if _, n, err := net.ParseCIDR(e); err == nil && n.Contains(ip) {
					c.Covered = true
				}
			}
		}
	}
	if c.Named {
		c.Covered, c.Unknown = true, nil
	}
	if !c.Covered {
		c.Suggested = strings.TrimSpace(setting + " " + host)
	}
	return c
}

func ipList(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}
