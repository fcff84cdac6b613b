package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/slack"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/internal/suggest"
)

const setupUsage = `Usage:
  klaxon setup slack [-c FILE] [--public-url URL] [--name klaxon] [-o yaml|json]
  klaxon setup mattermost --url URL --admin-token TOKEN [-c FILE] [--public-url URL]
                          [--team NAME] [--bot klaxon] [--fix-untrusted] [--enable-bot-creation]

Connect klaxon to a chat platform without clicking through its settings.

  slack        print a Slack app manifest for klaxon, its URLs from server.public_url:
               create the app from it at https://api.slack.com/apps?new_app=1
  mattermost   with an admin's token, create klaxon's bot account, its access token and
               the /incident command, check that Mattermost may call klaxon, and print
               the mattermost: lines of the config

Telegram needs no setup: put the token @BotFather gives in telegram.bot_token; klaxon
sets its command menu when it starts, and its webhook too when telegram.webhook_secret
and server.public_url are set.

"klaxon setup slack -h" and "klaxon setup mattermost -h" list their flags.
`

const setupSlackUsage = `Usage: klaxon setup slack [-c FILE] [--public-url URL] [--name klaxon] [-o yaml|json]

Prints the manifest of klaxon's Slack app: the bot user, the /incident slash command
(to <public_url>/slack/commands), interactivity for the buttons (to
<public_url>/slack/interactions) and the bot scopes klaxon uses. Slack calls only https
URLs. The steps to create the app follow on stderr.

Flags:
`

const setupMattermostUsage = `Usage: klaxon setup mattermost --url URL --admin-token TOKEN [-c FILE] [flags]

With a system admin's personal access token, creates (or finds) klaxon's bot account,
adds it to the team and to the teams' channels of the config, makes it an access token,
creates (or updates) the team's /incident command posting to
<public_url>/mattermost/commands, checks that Mattermost may call klaxon's host
(ServiceSettings.AllowedUntrustedInternalConnections), and prints the mattermost:
lines of the config. Run again, it makes no second bot or command, only another token.

The admin token may come from $MATTERMOST_ADMIN_TOKEN instead of --admin-token, which
keeps it out of the shell's history.

Flags:
`

// errSetupHelp is a verb's -h: its usage is printed, and klaxon exits 0.
var errSetupHelp = errors.New("help requested")

// parseSetupFlags parses a verb's flags: -h prints usage and the flags to
// stdout and returns errSetupHelp; a mistake prints them to stderr and returns
// a usage error.
func parseSetupFlags(fs *flag.FlagSet, usage string, args []string, stdout, stderr io.Writer) error {
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return errSetupHelp
		}
		printUsage(stderr)
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		printUsage(stderr)
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// setup runs "klaxon setup PLATFORM".
func setup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, setupUsage)
		return usageError{"setup needs a platform: slack or mattermost"}
	}
	var err error
	switch args[0] {
	case "slack":
		err = setupSlack(args[1:], stdout, stderr)
	case "mattermost":
		err = setupMattermost(ctx, args[1:], stdout, stderr)
	case "telegram":
		_, err = fmt.Fprint(stdout, setupTelegramText)
	case "-h", "-help", "--help", "help":
		_, err = fmt.Fprint(stdout, setupUsage)
	default:
		fmt.Fprint(stderr, setupUsage)
		msg := fmt.Sprintf("setup: unknown platform %q", args[0])
		if near := suggest.Closest(args[0], []string{"slack", "mattermost", "telegram"}); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		return usageError{msg}
	}
	if errors.Is(err, errSetupHelp) {
		return nil
	}
	return err
}

const setupTelegramText = `Telegram needs no setup verb:
  1. Talk to @BotFather (https://t.me/BotFather): /newbot, and put the token it gives in
     telegram.bot_token (as a secret: "${TELEGRAM_BOT_TOKEN}").
  2. Set telegram.webhook_secret (1-256 of A-Z a-z 0-9 _ -) and server.public_url (https):
     klaxon then registers <public_url>/telegram/webhook when it starts. Without them it
     long-polls Telegram, which works behind NAT but with one replica only.
  3. Add the bot to each team's group; its chat id goes in teams[].telegram.chat.
klaxon sets its command menu (/ack, /resolve, /status, ...) with setMyCommands at every start.
`

// setupConfig is what the setup verbs read from the config file.
type setupConfig struct {
	PublicURL          string
	MattermostURL      string
	MattermostChannels []string
}

// readSetupConfig reads the keys setup needs from the config at path. A
// config that does not pass check-config yet (a bot token not set, the
// very thing setup makes) is read leniently, with a note.
func readSetupConfig(path string, stderr io.Writer) (setupConfig, error) {
	var sc setupConfig
	if path == "" {
		return sc, nil
	}
	cfg, err := bot.LoadConfig(path, nil)
	if err == nil {
		sc.PublicURL = cfg.Server.PublicURL
		if cfg.Mattermost != nil {
			sc.MattermostURL = cfg.Mattermost.URL
		}
		for _, t := range cfg.Teams {
			if t.Mattermost != nil && t.Mattermost.Channel != "" {
				sc.MattermostChannels = append(sc.MattermostChannels, t.Mattermost.Channel)
			}
		}
		return sc, nil
	}
	var errs bot.ConfigErrors
	data, rerr := os.ReadFile(path)
	if !errors.As(err, &errs) || rerr != nil {
		return sc, fmt.Errorf("config %s: %w", path, err)
	}
	var raw struct {
		Server struct {
			PublicURL string `yaml:"public_url"`
		} `yaml:"server"`
		Mattermost struct {
			URL string `yaml:"url"`
		} `yaml:"mattermost"`
		Teams []struct {
			Mattermost struct {
				Channel string `yaml:"channel"`
			} `yaml:"mattermost"`
		} `yaml:"teams"`
	}
	if yerr := yaml.Unmarshal(data, &raw); yerr != nil {
		return sc, fmt.Errorf("config %s:\n%w", path, err)
	}
	sc.PublicURL, sc.MattermostURL = setupExpand(raw.Server.PublicURL), setupExpand(raw.Mattermost.URL)
	for _, t := range raw.Teams {
		if c := setupExpand(t.Mattermost.Channel); c != "" {
			sc.MattermostChannels = append(sc.MattermostChannels, c)
		}
	}
	fmt.Fprintf(stderr, "note: %s does not pass check-config yet (%d error(s): klaxon check-config -c %s lists them); setup read server.public_url and the chat keys from it anyway\n",
		path, len(errs), path)
	return sc, nil
}

// setupExpand expands ${VAR} and ${VAR:-default} as the config does; an
// unset variable is "".
func setupExpand(s string) string {
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		n, def, hasDef := strings.Cut(name, ":-")
		if v := os.Getenv(n); v != "" || !hasDef {
			return v
		}
		return def
	})
}

// setupPublicBase returns klaxon's public base URL without a trailing slash:
// flagURL, else the config's server.public_url.
func setupPublicBase(flagURL string, sc setupConfig, path, platform, paths string) (string, error) {
	raw, from := flagURL, "--public-url"
	if raw == "" {
		raw, from = sc.PublicURL, "server.public_url"
		if path != "" {
			from += " of " + path
		}
	}
	if raw == "" {
		where := "the config has none"
		if path == "" {
			where = "no config given (-c FILE or $KLAXON_CONFIG)"
		}
		return "", fmt.Errorf("klaxon's public URL is needed (%s): %s calls klaxon at %s; set server.public_url or give --public-url", where, platform, paths)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s %q must be an absolute http(s) URL without credentials, query or fragment, like https://klaxon.example.com", from, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

func setupSlack(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup slack", stderr)
	path := configFlag(fs)
	publicURL := fs.String("public-url", "", "klaxon's public base `URL`, https (default: server.public_url of the config)")
	name := fs.String("name", slack.DefaultAppName, "the app's and its bot user's `name`, at most 35 characters")
	format := fs.String("o", "yaml", "output `format`: yaml or json")
	if err := parseSetupFlags(fs, setupSlackUsage, args, stdout, stderr); err != nil {
		return err
	}
	if *format != "yaml" && *format != "json" {
		return usageError{fmt.Sprintf("-o %q: want yaml or json", *format)}
	}
	sc, err := readSetupConfig(*path, stderr)
	if err != nil {
		return err
	}
	base, err := setupPublicBase(*publicURL, sc, *path, "Slack", "<public_url>/slack/commands and /slack/interactions")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(base, "https://") {
		return fmt.Errorf("Slack sends commands and button presses only to https URLs, and klaxon's public URL is %s: "+
			"serve klaxon behind TLS (a reverse proxy, a load balancer or a tunnel) and set server.public_url to that https address", base)
	}
	m, err := slack.NewManifest(slack.ManifestOptions{Name: *name, CommandURL: base + "/slack/commands", InteractionURL: base + "/slack/interactions"})
	if err != nil {
		return err
	}
	out, err := setupRenderManifest(m, *format)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, `
Create the app from this manifest at https://api.slack.com/apps?new_app=1
("From an app manifest": pick the workspace, paste it, Create), install it, then put the
Bot User OAuth Token (xoxb-…, under OAuth & Permissions) in slack.bot_token and the
Signing Secret (under Basic Information) in slack.signing_secret, as secrets
("${SLACK_BOT_TOKEN}" or bot_token_file, not in version control).
Then /invite @%s in each team's channel, and put the channel's ID (channel name →
About, C0…) in teams[].slack.channel.
Slack will call %s/slack/commands and %s/slack/interactions.
Bot scopes:
`, *name, base, base)
	for _, s := range slack.BotScopes() {
		fmt.Fprintf(stderr, "  %-17s %s\n", s.Name, s.Why)
	}
	return nil
}

// setupRenderManifest writes the manifest as YAML (2-space indent) or indented
// JSON, ending in a newline.
func setupRenderManifest(m *slack.Manifest, format string) ([]byte, error) {
	if format == "json" {
		b, err := json.MarshalIndent(m, "", "  ")
		return append(b, '\n'), err
	}
	return setupYAML(m)
}

func setupYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// setupAdminTokenEnv names the variable the admin token may come from.
const setupAdminTokenEnv = "MATTERMOST_ADMIN_TOKEN"

func setupMattermost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup mattermost", stderr)
	path := configFlag(fs)
	mmURL := fs.String("url", "", "the Mattermost server's base `URL` (default: mattermost.url of the config)")
	token := fs.String("admin-token", "", "a system admin's personal access `token` (default: $"+setupAdminTokenEnv+", which keeps it out of shell history)")
	publicURL := fs.String("public-url", "", "klaxon's public base `URL` (default: server.public_url of the config)")
	team := fs.String("team", "", "the team's `name`, as in its URL (default: the server's only team)")
	botName := fs.String("bot", "klaxon", "the bot account's `username`")
	fixUntrusted := fs.Bool("fix-untrusted", false, "add klaxon's host to ServiceSettings.AllowedUntrustedInternalConnections when Mattermost needs it there")
	enableBots := fs.Bool("enable-bot-creation", false, "turn on ServiceSettings.EnableBotAccountCreation when it is off")
	if err := parseSetupFlags(fs, setupMattermostUsage, args, stdout, stderr); err != nil {
		return err
	}
	sc, err := readSetupConfig(*path, stderr)
	if err != nil {
		return err
	}
	server := *mmURL
	if server == "" {
		server = sc.MattermostURL
	}
	if server == "" {
		return usageError{"setup mattermost needs the server: --url https://chat.example.com (or mattermost.url in the config)"}
	}
	admin := *token
	if admin == "" {
		admin = os.Getenv(setupAdminTokenEnv)
	}
	if admin == "" {
		return usageError{"setup mattermost needs a system admin's personal access token: --admin-token TOKEN, or $" + setupAdminTokenEnv + " to keep it out of shell history"}
	}
	base, err := setupPublicBase(*publicURL, sc, *path, "Mattermost", "<public_url>/mattermost/commands and /mattermost/actions")
	if err != nil {
		return err
	}
	res, err := mattermost.Setup(ctx, mattermost.SetupOptions{
		URL: server, AdminToken: admin, Team: *team, Bot: *botName, CommandURL: base + "/mattermost/commands",
		Channels: sc.MattermostChannels, FixUntrusted: *fixUntrusted, EnableBotCreation: *enableBots,
		Progress: func(line string) { fmt.Fprintln(stderr, line) },
	})
	if err != nil {
		return err
	}
	var lines struct {
		Mattermost struct {
			URL          string `yaml:"url"`
			BotToken     string `yaml:"bot_token"`
			CommandToken string `yaml:"command_token"`
		} `yaml:"mattermost"`
	}
	lines.Mattermost.URL, lines.Mattermost.BotToken, lines.Mattermost.CommandToken = strings.TrimRight(server, "/"), res.BotToken, res.CommandToken
	out, err := setupYAML(&lines)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "\nPaste the mattermost: lines above into the config (with server.public_url: %s).\n"+
		"The two tokens are shown this once. Keep them as secrets, not in version control: put them in the\n"+
		"environment (bot_token: \"${MM_BOT_TOKEN}\", command_token: \"${MM_COMMAND_TOKEN}\") or in files (bot_token_file: PATH).\n", base)
	if res.OtherTokens > 0 {
		fmt.Fprintf(stderr, "@%s has %d older access token(s): revoke those klaxon no longer uses (System Console → Integrations → Bot Accounts).\n",
			res.BotUsername, res.OtherTokens)
	}
	if len(res.Channels) == 0 {
		fmt.Fprintf(stderr, "In each channel klaxon posts to, /invite @%s, and put the channel's ID (channel menu → View Info) in teams[].mattermost.channel.\n", res.BotUsername)
	}
	if u := res.Untrusted; !u.Covered && u.Unknown == nil {
		fmt.Fprintf(stderr, "Not done: Mattermost cannot call klaxon at %s yet (see the warning above).\n", u.Host)
	}
	return nil
}
