package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/incidents"
)

const (
	testCommandURL     = "https://klaxon.example.com/slack/commands"
	testInteractionURL = "https://klaxon.example.com/slack/interactions"
)

// schemaManifest mirrors the parts of Slack's manifest schema (v1,
// github.com/slackapi/manifest-schema) that klaxon's manifest touches,
// with every property the schema allows there: decoding with
// DisallowUnknownFields is its "additionalProperties": false.
type schemaManifest struct {
	Metadata *struct {
		SchemaVersion *int `json:"schema_version"`
		MinVersion    *int `json:"min_version"`
		MajorVersion  *int `json:"major_version"`
		MinorVersion  *int `json:"minor_version"`
	} `json:"_metadata"`
	DisplayInformation *struct {
		Name            *string `json:"name"`
		Description     *string `json:"description"`
		BackgroundColor *string `json:"background_color"`
		LongDescription *string `json:"long_description"`
	} `json:"display_information"`
	Features *struct {
		AppHome *struct {
			HomeTabEnabled             *bool `json:"home_tab_enabled"`
			MessagesTabEnabled         *bool `json:"messages_tab_enabled"`
			MessagesTabReadOnlyEnabled *bool `json:"messages_tab_read_only_enabled"`
		} `json:"app_home"`
		BotUser *struct {
			DisplayName  *string `json:"display_name"`
			AlwaysOnline *bool   `json:"always_online"`
		} `json:"bot_user"`
		SlashCommands []struct {
			Command      *string `json:"command"`
			URL          *string `json:"url"`
			Description  *string `json:"description"`
			UsageHint    *string `json:"usage_hint"`
			ShouldEscape *bool   `json:"should_escape"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuthConfig *struct {
		Scopes *struct {
			User         []string `json:"user"`
			Bot          []string `json:"bot"`
			UserOptional []string `json:"user_optional"`
			BotOptional  []string `json:"bot_optional"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings *struct {
		Interactivity *struct {
			IsEnabled             *bool   `json:"is_enabled"`
			RequestURL            *string `json:"request_url"`
			MessageMenuOptionsURL *string `json:"message_menu_options_url"`
		} `json:"interactivity"`
		OrgDeployEnabled     *bool `json:"org_deploy_enabled"`
		SocketModeEnabled    *bool `json:"socket_mode_enabled"`
		TokenRotationEnabled *bool `json:"token_rotation_enabled"`
	} `json:"settings"`
}

// CheckManifestSchema decodes a manifest's JSON strictly and checks the
// schema's required fields, lengths and patterns; it returns the decoded
// manifest.
func checkManifestSchema(t *testing.T, b []byte) *schemaManifest {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m schemaManifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a manifest by Slack's schema: %v\n%s", err, b)
	}
	length := func(what string, s *string, lo, hi int) {
		t.Helper()
		if s == nil {
			if lo > 0 {
				t.Errorf("%s missing", what)
			}
			return
		}
		if n := utf8.RuneCountInString(*s); n < lo || n > hi {
			t.Errorf("%s is %d characters, the schema wants %d-%d", what, n, lo, hi)
		}
	}
	httpURL := regexp.MustCompile(`^https?://`)
	d := m.DisplayInformation
	if d == nil {
		t.Fatal("display_information missing (required)")
	}
	length("display_information.name", d.Name, 1, 35)
	length("display_information.description", d.Description, 0, 140)
	if c := d.BackgroundColor; c != nil && !regexp.MustCompile(`^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$`).MatchString(*c) {
		t.Errorf("background_color %q", *c)
	}
	if d.LongDescription != nil {
		length("long_description", d.LongDescription, 175, 4000)
	}
	if m.Features == nil || m.Features.BotUser == nil {
		t.Fatal("features.bot_user missing")
	}
	length("features.bot_user.display_name", m.Features.BotUser.DisplayName, 1, 80)
	if n := len(m.Features.SlashCommands); n < 1 || n > 50 {
		t.Errorf("%d slash commands, the schema wants 1-50", n)
	}
	for _, c := range m.Features.SlashCommands {
		length("slash command", c.Command, 2, 32)
		length("slash command description", c.Description, 1, 2000)
		length("slash command usage_hint", c.UsageHint, 0, 1000)
		length("slash command url", c.URL, 0, 3000)
		if c.Command != nil && !strings.HasPrefix(*c.Command, "/") {
			t.Errorf("slash command %q does not start with /", *c.Command)
		}
		if c.URL != nil && !httpURL.MatchString(*c.URL) {
			t.Errorf("slash command url %q", *c.URL)
		}
	}
	if m.OAuthConfig == nil || m.OAuthConfig.Scopes == nil {
		t.Fatal("oauth_config.scopes missing")
	}
	if n := len(m.OAuthConfig.Scopes.Bot); n > 255 {
		t.Errorf("%d bot scopes", n)
	}
	for _, s := range m.OAuthConfig.Scopes.Bot {
		if len(s) > 50 {
			t.Errorf("scope %q longer than 50", s)
		}
	}
	if m.Settings == nil || m.Settings.Interactivity == nil || m.Settings.Interactivity.IsEnabled == nil {
		t.Fatal("settings.interactivity.is_enabled missing (required there)")
	}
	if u := m.Settings.Interactivity.RequestURL; u != nil && (len(*u) > 3500 || !httpURL.MatchString(*u)) {
		t.Errorf("interactivity request_url %q", *u)
	}
	return &m
}

func TestManifest(t *testing.T) {
	m, err := NewManifest(ManifestOptions{CommandURL: testCommandURL, InteractionURL: testInteractionURL})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := checkManifestSchema(t, b)
	if got := *s.DisplayInformation.Name; got != "klaxon" {
		t.Errorf("name %q", got)
	}
	c := s.Features.SlashCommands[0]
	if *c.Command != "/incident" || *c.URL != testCommandURL || !*c.ShouldEscape {
		t.Errorf("slash command %q → %q, escape %v", *c.Command, *c.URL, *c.ShouldEscape)
	}
	in := s.Settings.Interactivity
	if !*in.IsEnabled || *in.RequestURL != testInteractionURL {
		t.Errorf("interactivity %v → %q", *in.IsEnabled, *in.RequestURL)
	}
	st := s.Settings
	if st.SocketModeEnabled == nil || *st.SocketModeEnabled || st.TokenRotationEnabled == nil || *st.TokenRotationEnabled ||
		st.OrgDeployEnabled == nil || *st.OrgDeployEnabled {
		t.Errorf("settings: socket mode %v, token rotation %v, org deploy %v; want all false and present",
			st.SocketModeEnabled, st.TokenRotationEnabled, st.OrgDeployEnabled)
	}
	want := []string{"chat:write", "im:write", "channels:history", "groups:history", "commands", "files:write"}
	if got := s.OAuthConfig.Scopes.Bot; !slices.Equal(got, want) {
		t.Errorf("bot scopes %v, want %v", got, want)
	}

	long, err := NewManifest(ManifestOptions{Name: strings.Repeat("é", 35), CommandURL: testCommandURL, InteractionURL: testInteractionURL})
	if err != nil {
		t.Fatalf("35-character name refused: %v", err)
	}
	b, _ = json.Marshal(long)
	checkManifestSchema(t, b)
}

func TestManifestRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		o    ManifestOptions
		want string
	}{
		{"http", ManifestOptions{CommandURL: "http://klaxon.example.com/slack/commands", InteractionURL: testInteractionURL}, "not https"},
		{"no interaction URL", ManifestOptions{CommandURL: testCommandURL}, "interaction URL is empty"},
		{"no host", ManifestOptions{CommandURL: "https:///slack/commands", InteractionURL: testInteractionURL}, "has no host"},
		{"credentials", ManifestOptions{CommandURL: "https://u:p@klaxon.example.com/slack/commands", InteractionURL: testInteractionURL}, "credentials"},
		{"too long", ManifestOptions{CommandURL: "https://k.example.com/" + strings.Repeat("a", 3000), InteractionURL: testInteractionURL}, "at most 3000"},
		{"long name", ManifestOptions{Name: strings.Repeat("k", 36), CommandURL: testCommandURL, InteractionURL: testInteractionURL}, "1-35 characters"},
		{"control", ManifestOptions{Name: "kla\nxon", CommandURL: testCommandURL, InteractionURL: testInteractionURL}, "control"},
		{"spaces", ManifestOptions{Name: " klaxon", CommandURL: testCommandURL, InteractionURL: testInteractionURL}, "spaces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewManifest(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

// TestManifestScopesCoverCalls runs everything the Client does against
// slackfake and checks the scopes against the Web API methods it called:
// each method's scopes are asked for, and each scope asked for has a use.
func TestManifestScopesCoverCalls(t *testing.T) {
	// The scopes each Web API method needs (https://api.slack.com/methods).
	methodScopes := map[string][]string{
		"chat.postMessage":             {"chat:write"},
		"chat.update":                  {"chat:write"},
		"conversations.history":        {"channels:history", "groups:history"},
		"files.getUploadURLExternal":   {"files:write"},
		"files.completeUploadExternal": {"files:write"},
		"upload_url":                   nil, // not a Web API method: the URL is the permission
	}
	// Scopes of what is not a Client call.
	other := map[string]string{
		"commands": "the slash command (Inbound)",
		"im:write": "Direct: chat.postMessage to a user ID opens the direct conversation",
	}

	s := newFake(t, slackfake.Options{Channels: []string{ch}, Users: []string{"U0ONCALL"}})
	c := newClient(t, s)
	ctx := context.Background()
	card := paymentsCards(t)["triggered"]
	ref, err := c.Post(ctx, ch, card)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, ref, paymentsCards(t)["acknowledged"]); err != nil {
		t.Fatal(err)
	}
	ev := []incidents.Event{{At: time.Now(), Kind: incidents.EventAcknowledged, Actor: "alice"}}
	if err := c.Reply(ctx, ref, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Find(ctx, ch, card.IncidentID, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mention(ctx, ref, "U0ONCALL", "on call"); err != nil {
		t.Fatal(err)
	}
	if err := c.Direct(ctx, "U0ONCALL", "on call"); err != nil {
		t.Fatal(err)
	}
	if err := c.PostImage(ctx, ref, "INC-42.png", testPNG(t, 20, 10), "graph"); err != nil {
		t.Fatal(err)
	}

	asked := map[string]bool{}
	for _, sc := range BotScopes() {
		asked[sc.Name] = true
		if sc.Why == "" {
			t.Errorf("scope %s says not why", sc.Name)
		}
	}
	used := map[string]bool{}
	var methods []string
	for m := range s.Calls() {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		scopes, ok := methodScopes[m]
		if !ok {
			t.Errorf("the Client calls %s: add the scopes it needs to botScopes and to this test", m)
		}
		for _, sc := range scopes {
			used[sc] = true
			if !asked[sc] {
				t.Errorf("%s needs %s, which the manifest does not ask for", m, sc)
			}
		}
	}
	for sc := range asked {
		if !used[sc] && other[sc] == "" {
			t.Errorf("the manifest asks for %s, which nothing klaxon calls needs", sc)
		}
	}
	for sc := range other {
		if !asked[sc] {
			t.Errorf("the manifest lacks %s (%s)", sc, other[sc])
		}
	}
	if len(methods) < 3 {
		t.Errorf("the Client called only %v", methods)
	}
}
