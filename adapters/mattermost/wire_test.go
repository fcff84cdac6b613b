package mattermost

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

// Mattermost's own types are the reference for klaxon's wire types: every
// type of wire.go (and the inbound answers) must read every field it has
// from what the model encodes, encode only fields the model has, with the
// model's values, and encode what the model decodes back without loss.
func TestWireTypesMatchModel(t *testing.T) {
	const (
		id1, id2, id3, id4 = "p1aaaaaaaaaaaaaaaaaaaaaaaa", "c2aaaaaaaaaaaaaaaaaaaaaaaa", "r3aaaaaaaaaaaaaaaaaaaaaaaa", "u4aaaaaaaaaaaaaaaaaaaaaaaa"
	)
	att := func() *model.SlackAttachment {
		return &model.SlackAttachment{Id: 3, Fallback: "fallback", Color: "#D0021B", Pretext: "pretext",
			AuthorName: "author", AuthorLink: "https://a.example.com", AuthorIcon: "https://a.example.com/i.png",
			Title: "SEV1 · title", TitleLink: "https://t.example.com", Text: "text\n\n**bold**",
			Fields:   []*model.SlackAttachmentField{{Title: "Value", Value: "3\\.2s", Short: true}},
			ImageURL: "https://i.example.com/1.png", ThumbURL: "https://i.example.com/2.png",
			Footer: "footer", FooterIcon: "https://i.example.com/3.png", Timestamp: "1700000000",
			Actions: []*model.PostAction{{Id: "ack", Type: model.PostActionTypeButton, Name: "Acknowledge", Style: "primary",
				Integration: &model.PostActionIntegration{URL: "https://klaxon.example.com/mattermost/actions",
					Context: map[string]any{"key": "k1.abc", "action": "ack", "card": id1}}}},
		}
	}
	post := func() *model.Post {
		return &model.Post{Id: id1, CreateAt: 1700000000123, UpdateAt: 1700000000456, EditAt: 1700000000457,
			DeleteAt: 1700000000789, UserId: id4, ChannelId: id2, RootId: id3, Message: "🔴 **INC\\-42** · Triggered",
			Type: "custom_x", Hashtags: "#x", ReplyCount: 2, LastReplyAt: 1700000000999,
			Props:   model.StringInterface{model.PostPropsAttachments: []*model.SlackAttachment{att()}, PropIncident: "INC-42"},
			FileIds: model.StringArray{id4}}
	}
	msg, props := "edited", model.StringInterface{PropIncident: "INC-42", model.PostPropsAttachments: []*model.SlackAttachment{att()}}
	yes, host := true, "klaxon.internal 10.0.0.0/8"
	cases := []struct {
		name        string
		model, back any // a model value with every field klaxon's type has set; a pointer to decode ours into
		ours        any // a pointer to klaxon's type
	}{
		{"Post", post(), &model.Post{}, &Post{}},
		{"fileUploadResponse", &model.FileUploadResponse{FileInfos: []*model.FileInfo{{Id: id1, CreatorId: id4, ChannelId: id2,
			Name: "INC-42.png", Extension: "png", Size: 1234, MimeType: "image/png", Width: 800, Height: 400}}, ClientIds: []string{"c1"}},
			&model.FileUploadResponse{}, &fileUploadResponse{}},
		{"MessageAttachment", att(), &model.SlackAttachment{}, &MessageAttachment{}},
		{"postList", &model.PostList{Order: []string{id1}, Posts: map[string]*model.Post{id1: post()}, NextPostId: id2, PrevPostId: id3},
			&model.PostList{}, &postList{}},
		{"postPatch", &model.PostPatch{Message: &msg, Props: &props, IsPinned: &yes}, &model.PostPatch{}, &postPatch{}},
		{"actionRequest", &model.PostActionIntegrationRequest{UserId: id4, UserName: "alice", ChannelId: id2, ChannelName: "ops",
			TeamId: id3, TeamName: "eng", PostId: id1, TriggerId: "trig", Type: "button", DataSource: "",
			Context: map[string]any{"key": "k1.abc", "card": id1}}, &model.PostActionIntegrationRequest{}, &actionRequest{}},
		{"channelMember", &model.ChannelMember{ChannelId: id2, UserId: id4, Roles: "channel_user", MsgCount: 3},
			&model.ChannelMember{}, &channelMember{}},
		{"channel", &model.Channel{Id: id2, Name: "ops", Type: model.ChannelTypeDirect}, &model.Channel{}, &channel{}},
		{"user", &model.User{Id: id4, Username: "alice", Roles: "system_user system_admin", IsBot: true, Email: "a@example.com"},
			&model.User{}, &user{}},
		{"team", &model.Team{Id: id3, DeleteAt: 5, DisplayName: "Engineering", Name: "eng", Type: model.TeamOpen},
			&model.Team{}, &team{}},
		{"teamMember", &model.TeamMember{TeamId: id3, UserId: id4, Roles: "team_user"}, &model.TeamMember{}, &teamMember{}},
		{"bot", &model.Bot{UserId: id4, Username: "klaxon", DisplayName: "klaxon", Description: "alerts", OwnerId: id1, DeleteAt: 7},
			&model.Bot{}, &bot{}},
		{"userAccessToken", &model.UserAccessToken{Id: id1, Token: "tok", UserId: id4, Description: "klaxon", IsActive: true},
			&model.UserAccessToken{}, &userAccessToken{}},
		{"command", &model.Command{Id: id1, Token: "ctok", CreateAt: 1, UpdateAt: 2, DeleteAt: 3, CreatorId: id4, TeamId: id3,
			Trigger: Trigger, Method: model.CommandMethodPost, Username: "bot", IconURL: "https://i.example.com/i.png",
			AutoComplete: true, AutoCompleteDesc: "desc", AutoCompleteHint: "hint", DisplayName: "klaxon",
			Description: "Run incidents", URL: "https://klaxon.example.com/mattermost/commands", PluginId: "plug"},
			&model.Command{}, &command{}},
		{"config", &model.Config{ServiceSettings: model.ServiceSettings{EnableCommands: &yes, AllowedUntrustedInternalConnections: &host,
			EnableBotAccountCreation: &yes, SiteURL: model.NewPointer("https://chat.example.com")}}, &model.Config{}, &config{}},
		{"apiError", &model.AppError{Id: "api.context.permissions.app_error", Message: "You do not have the appropriate permissions.",
			DetailedError: "userId=x", RequestId: "req1", StatusCode: 403}, &model.AppError{}, &apiError{}},
		{"commandResponse", &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: "which one?",
			SkipSlackParsing: true, Attachments: []*model.SlackAttachment{att()}, Username: "x"}, &model.CommandResponse{}, &commandResponse{}},
		{"actionResponse", &model.PostActionIntegrationResponse{EphemeralText: "done", SkipSlackParsing: true},
			&model.PostActionIntegrationResponse{}, &actionResponse{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fromModel := mustJSON(t, c.model)
			if err := json.Unmarshal(fromModel, c.ours); err != nil {
				t.Fatalf("klaxon's %T does not decode the model's JSON: %v\n%s", c.ours, err, fromModel)
			}
			if unset := zeroFields(reflect.ValueOf(c.ours), c.name); len(unset) > 0 {
				t.Fatalf("%s: not read from the model's JSON (a JSON name that is not the model's?): %s\n%s", c.name, strings.Join(unset, ", "), fromModel)
			}
			ours := mustJSON(t, c.ours)
			if err := within("", generic(t, ours), generic(t, fromModel)); err != nil {
				t.Fatalf("klaxon encodes what the model did not: %v\nklaxon: %s\nmodel:  %s", err, ours, fromModel)
			}
			if err := json.Unmarshal(ours, c.back); err != nil {
				t.Fatalf("the model does not decode klaxon's %s: %v\n%s", c.name, err, ours)
			}
			if err := within("", generic(t, ours), generic(t, mustJSON(t, c.back))); err != nil {
				t.Fatalf("the model loses what klaxon sends: %v\n%s", err, ours)
			}
		})
	}
}

// The props klaxon sends are byte for byte what Mattermost's own types
// encode for the same attachment.
func TestAttachmentBytesAsModel(t *testing.T) {
	p, _ := compile(fullCard(t), testKey, testActionURL)
	ours := mustJSON(t, p.Props)
	var m model.StringInterface
	if err := json.Unmarshal(ours, &m); err != nil {
		t.Fatal(err)
	}
	q := &model.Post{}
	q.SetProps(m)
	m[model.PostPropsAttachments] = q.Attachments() // as the server re-encodes them
	if theirs := mustJSON(t, m); string(theirs) != string(ours) {
		t.Fatalf("props differ from the model's encoding\nklaxon: %s\nmodel:  %s", ours, theirs)
	}
}

// fullCard is a card with something in every part, buttons included.
func fullCard(t testing.TB) *templates.Card {
	t.Helper()
	inc, ok := cardtest.Lifecycle()["triggered"]
	if !ok {
		t.Fatal("no triggered card in cardtest.Lifecycle")
	}
	return card(t, inc, cardtest.Now)
}

// The id, username and URL rules are the server's.
func TestValidatorsMatchModel(t *testing.T) {
	for _, s := range validatorSeeds {
		checkValidators(t, s)
	}
	for _, roles := range []string{"", "system_admin", "system_user system_admin", "system_user", "system_admins", " system_admin", "system_admin "} {
		if got, want := (&user{Roles: roles}).isSystemAdmin(), (&model.User{Roles: roles}).IsSystemAdmin(); got != want {
			t.Errorf("isSystemAdmin(%q) = %v, the model says %v", roles, got, want)
		}
	}
}

var validatorSeeds = []string{"", "aaaaaaaaaaaaaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaaaaaaaaa",
	"aaaaaaaaaaaaaaaaaaaaaaaa-a", "ééééééééééééé", "aaaaaaaaaaaaaaaaaaaaaaaa\xff\xfe", "٣aaaaaaaaaaaaaaaaaaaaaaaa",
	"klaxon", "all", "channel", "a", "a.b-c_d", "Alice", strings.Repeat("a", 64), strings.Repeat("a", 65), "a b",
	"http://x", "https://klaxon.example.com/mattermost/actions", "https://", "http:/x", "ftp://x", "https://x y",
	"https://[::1]:8080/p?q#f", "HTTP://x", "https://user@host/"}

func checkValidators(t *testing.T, s string) {
	t.Helper()
	if got, want := validID(s), model.IsValidId(s); got != want {
		t.Errorf("validID(%q) = %v, model.IsValidId says %v", s, got, want)
	}
	if got, want := validUsername(s), model.IsValidUsername(s); got != want {
		t.Errorf("validUsername(%q) = %v, model.IsValidUsername says %v", s, got, want)
	}
	if got, want := validHTTPURL(s), model.IsValidHTTPURL(s); got != want {
		t.Errorf("validHTTPURL(%q) = %v, model.IsValidHTTPURL says %v", s, got, want)
	}
}

func FuzzValidatorsMatchModel(f *testing.F) {
	for _, s := range validatorSeeds {
		f.Add(s)
	}
	f.Fuzz(checkValidators)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// within reports where ours (decoded JSON) has a key the model's does not,
// or another value.
func within(path string, ours, theirs any) error {
	switch o := ours.(type) {
	case map[string]any:
		m, ok := theirs.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: an object, the model's is %T", path, theirs)
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, ok := m[k]
			if !ok {
				return fmt.Errorf("%s.%s: not in the model's JSON", path, k)
			}
			if err := within(path+"."+k, o[k], v); err != nil {
				return err
			}
		}
	case []any:
		m, ok := theirs.([]any)
		if !ok || len(m) != len(o) {
			return fmt.Errorf("%s: %d elements, the model's is %v", path, len(o), theirs)
		}
		for i := range o {
			if err := within(fmt.Sprintf("%s[%d]", path, i), o[i], m[i]); err != nil {
				return err
			}
		}
	default:
		if !reflect.DeepEqual(ours, theirs) {
			return fmt.Errorf("%s: %#v, the model's is %#v", path, ours, theirs)
		}
	}
	return nil
}

// zeroFields lists the fields of v (a struct, through pointers, slices
// and maps) that are zero: each was set in the model value, so a zero one
// was not read.
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(v.Elem(), path)
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		for i := 0; i < v.Len(); i++ {
			out = append(out, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		for _, k := range v.MapKeys() {
			out = append(out, zeroFields(v.MapIndex(k), fmt.Sprintf("%s[%v]", path, k))...)
		}
		return out
	case reflect.Struct:
		var out []string
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
			}
		}
		return out
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}
