package slack

// The Slack app klaxon needs, as an app manifest
// (https://api.slack.com/reference/manifests): pasted at
// https://api.slack.com/apps?new_app=1 ("From an app manifest"), it makes
// the app with its bot user, the /incident command, interactivity and the
// scopes in one step.

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scope is a bot token scope klaxon asks for, and why.
type Scope struct {
	Name string // e.g. "chat:write"
	Why  string // the calls or the feature that need it
}

// botScopes are the scopes of what the Client and the Inbound call; a test
// runs the Client against slackfake and checks that every method it calls
// is covered here.
var botScopes = []Scope{
	{"chat:write", "chat.postMessage and chat.update: cards, thread replies, mentions and direct messages"},
	{"im:write", "direct messages to the people a policy warns (chat.postMessage to a user ID)"},
	{"channels:history", "conversations.history in public channels: finds a card again after a crash"},
	{"groups:history", "conversations.history in private channels, for the same"},
	{"commands", "the /incident slash command"},
	{"files:write", "graphs on cards (files.getUploadURLExternal, files.completeUploadExternal)"},
}

// BotScopes returns the bot token scopes the app asks for, in order.
func BotScopes() []Scope { return slices.Clone(botScopes) }

// Manifest limits (Slack's manifest schema).
const (
	MaxAppName      = 35   // display_information.name
	MaxManifestURL  = 3000 // a slash command's url (interactivity's may be 3500)
	DefaultAppName  = "klaxon"
	SlashCommand    = "/incident"
	slashUsageHint  = "ack|resolve|sev|note|list|help [INC-42]"
	slashDesc       = "Run an incident: ack, resolve, sev, lead, note, timeline, postmortem, declare, oncall, maintenance, report"
	appDescription  = "Incident alerts as cards you can act on; /incident to run them"
	appColor        = "#b91c1c"
	manifestVersion = 1
)

// ManifestOptions configure Manifest.
type ManifestOptions struct {
	// Name is the app's name, and its bot user's; default "klaxon". At
	// most 35 characters.
	Name string
	// CommandURL receives the /incident slash command: klaxon's
	// public_url + "/slack/commands". Required, https.
	CommandURL string
	// InteractionURL receives button presses: klaxon's public_url +
	// "/slack/interactions". Required, https.
	InteractionURL string
}

// Manifest is a Slack app manifest, the parts klaxon sets. Its JSON and
// YAML field names are the manifest's.
type Manifest struct {
	Metadata           ManifestMetadata `json:"_metadata" yaml:"_metadata"`
	DisplayInformation ManifestDisplay  `json:"display_information" yaml:"display_information"`
	Features           ManifestFeatures `json:"features" yaml:"features"`
	OAuthConfig        ManifestOAuth    `json:"oauth_config" yaml:"oauth_config"`
	Settings           ManifestSettings `json:"settings" yaml:"settings"`
}

// ManifestMetadata names the manifest schema's version.
type ManifestMetadata struct {
	MajorVersion int `json:"major_version" yaml:"major_version"`
	MinorVersion int `json:"minor_version" yaml:"minor_version"`
}

// ManifestDisplay is how Slack shows the app.
type ManifestDisplay struct {
	Name            string `json:"name" yaml:"name"`
	Description     string `json:"description" yaml:"description"`
	BackgroundColor string `json:"background_color" yaml:"background_color"`
}

// ManifestFeatures are the bot user, the App Home and the slash commands.
type ManifestFeatures struct {
	AppHome       ManifestAppHome        `json:"app_home" yaml:"app_home"`
	BotUser       ManifestBotUser        `json:"bot_user" yaml:"bot_user"`
	SlashCommands []ManifestSlashCommand `json:"slash_commands" yaml:"slash_commands"`
}

// ManifestAppHome: the Messages tab shows klaxon's direct messages, read
// only (klaxon reads no direct messages).
type ManifestAppHome struct {
	HomeTabEnabled             bool `json:"home_tab_enabled" yaml:"home_tab_enabled"`
	MessagesTabEnabled         bool `json:"messages_tab_enabled" yaml:"messages_tab_enabled"`
	MessagesTabReadOnlyEnabled bool `json:"messages_tab_read_only_enabled" yaml:"messages_tab_read_only_enabled"`
}

// ManifestBotUser is the app's bot user.
type ManifestBotUser struct {
	DisplayName  string `json:"display_name" yaml:"display_name"`
	AlwaysOnline bool   `json:"always_online" yaml:"always_online"`
}

// ManifestSlashCommand is a slash command. ShouldEscape makes Slack send
// "@alice" as "<@U123|alice>", which klaxon maps to a person by user ID.
type ManifestSlashCommand struct {
	Command      string `json:"command" yaml:"command"`
	URL          string `json:"url" yaml:"url"`
	Description  string `json:"description" yaml:"description"`
	UsageHint    string `json:"usage_hint" yaml:"usage_hint"`
	ShouldEscape bool   `json:"should_escape" yaml:"should_escape"`
}

// ManifestOAuth holds the scopes.
type ManifestOAuth struct {
	Scopes ManifestScopes `json:"scopes" yaml:"scopes"`
}

// ManifestScopes are the bot token scopes (klaxon needs no user scopes).
type ManifestScopes struct {
	Bot []string `json:"bot" yaml:"bot"`
}

// ManifestSettings: interactivity on, no events, no socket mode (Slack
// calls klaxon over HTTPS), no token rotation (klaxon keeps one bot token).
type ManifestSettings struct {
	Interactivity        ManifestInteractivity `json:"interactivity" yaml:"interactivity"`
	OrgDeployEnabled     bool                  `json:"org_deploy_enabled" yaml:"org_deploy_enabled"`
	SocketModeEnabled    bool                  `json:"socket_mode_enabled" yaml:"socket_mode_enabled"`
	TokenRotationEnabled bool                  `json:"token_rotation_enabled" yaml:"token_rotation_enabled"`
}

// ManifestInteractivity is where button presses go.
type ManifestInteractivity struct {
	IsEnabled  bool   `json:"is_enabled" yaml:"is_enabled"`
	RequestURL string `json:"request_url" yaml:"request_url"`
}

// NewManifest returns the manifest of klaxon's Slack app. It refuses a
// name Slack would refuse and request URLs that are not https (Slack calls
// only https URLs).
func NewManifest(o ManifestOptions) (*Manifest, error) {
	name := o.Name
	if name == "" {
		name = DefaultAppName
	}
	if strings.TrimSpace(name) != name || name == "" || utf8.RuneCountInString(name) > MaxAppName ||
		!utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return nil, fmt.Errorf("slack: the app name must be 1-%d characters without leading or trailing spaces or control characters, got %q", MaxAppName, name)
	}
	for _, u := range []struct{ what, url string }{{"command URL", o.CommandURL}, {"interaction URL", o.InteractionURL}} {
		if err := checkRequestURL(u.url); err != nil {
			return nil, fmt.Errorf("slack: the %s %w", u.what, err)
		}
	}
	scopes := make([]string, len(botScopes))
	for i, s := range botScopes {
		scopes[i] = s.Name
	}
	return &Manifest{
		Metadata:           ManifestMetadata{MajorVersion: manifestVersion, MinorVersion: 1},
		DisplayInformation: ManifestDisplay{Name: name, Description: appDescription, BackgroundColor: appColor},
		Features: ManifestFeatures{
			AppHome: ManifestAppHome{MessagesTabEnabled: true, MessagesTabReadOnlyEnabled: true},
			BotUser: ManifestBotUser{DisplayName: name, AlwaysOnline: true},
			SlashCommands: []ManifestSlashCommand{{
				Command: SlashCommand, URL: o.CommandURL, Description: slashDesc, UsageHint: slashUsageHint, ShouldEscape: true,
			}},
		},
		OAuthConfig: ManifestOAuth{Scopes: ManifestScopes{Bot: scopes}},
		Settings: ManifestSettings{
			Interactivity: ManifestInteractivity{IsEnabled: true, RequestURL: o.InteractionURL},
		},
	}, nil
}

// checkRequestURL checks a URL Slack will call: https, a host, at most
// MaxManifestURL bytes, no credentials or fragment.
func checkRequestURL(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", s, err)
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%q is not https: Slack sends commands and button presses only to https URLs", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil || u.Fragment != "":
		return fmt.Errorf("%q must not hold credentials or a fragment", s)
	case len(s) > MaxManifestURL:
		return fmt.Errorf("is %d bytes long; Slack takes at most %d", len(s), MaxManifestURL)
	}
	return nil
}
