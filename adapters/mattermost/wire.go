package mattermost

// Mattermost's API v4 wire types, as klaxon sends and reads them: the
// fields it uses, with the JSON names and options of the server's own
// types (github.com/mattermost/mattermost/server/public/model), so that
// klaxon does not compile that package and everything it imports. The
// fake server (mattermostfake) still decodes what klaxon sends with the
// model and checks it with the server's own IsValid, and wire_test.go
// round-trips every type here through its model counterpart.
//
// The message attachment family (MessageAttachment, its fields and
// buttons) carries every field the model encodes, set or not: the props
// klaxon sends are byte for byte what Mattermost's own client sent, and
// what the compiler measures against MaxPropsBytes is what the server
// stores (it re-encodes attachments with its own types).

import (
	"net/url"
	"strings"
	"unicode"
)

// Post is a Mattermost post (model.Post): what klaxon creates, patches and
// reads back.
type Post struct {
	Id        string `json:"id"`
	CreateAt  int64  `json:"create_at"` // ms since the epoch, the server's clock
	DeleteAt  int64  `json:"delete_at"` // non-zero: deleted
	ChannelId string `json:"channel_id"`
	RootId    string `json:"root_id"` // the thread's root post; "" for a top-level post
	Message   string `json:"message"`
	// Props are the post's properties: PropAttachments ([]*MessageAttachment
	// as the compiler makes them; as decoded JSON in a post read back) and
	// PropIncident (string).
	Props map[string]any `json:"props"`
	// FileIds are the files attached (PostImage), at most 10.
	FileIds []string `json:"file_ids,omitempty"`
}

// fileUploadResponse is UploadFile's answer (model.FileUploadResponse).
type fileUploadResponse struct {
	FileInfos []*fileInfo `json:"file_infos"`
	ClientIds []string    `json:"client_ids"`
}

// fileInfo is an uploaded file (model.FileInfo), the fields klaxon reads.
type fileInfo struct {
	Id        string `json:"id"`
	ChannelId string `json:"channel_id"`
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	MimeType  string `json:"mime_type"`
}

// PropAttachments is the post prop that holds its message attachments.
const PropAttachments = "attachments"

// postList is a page of a channel's posts (model.PostList): Order holds
// the page's post ids; Posts holds them and the roots of its replies.
type postList struct {
	Order []string         `json:"order"`
	Posts map[string]*Post `json:"posts"`
}

// postPatch is what PatchPost changes (model.PostPatch): the message and
// all the props (they are replaced, not merged).
type postPatch struct {
	Message *string         `json:"message"`
	Props   *map[string]any `json:"props"`
}

// MessageAttachment is a post's (or a command answer's) message attachment
// (model.MessageAttachment, formerly SlackAttachment). Every field the
// model encodes is here; klaxon sets Fallback, Color, Title, Text, Fields
// and Actions.
type MessageAttachment struct {
	Id         int64                     `json:"id"`
	Fallback   string                    `json:"fallback"`
	Color      string                    `json:"color"`
	Pretext    string                    `json:"pretext"`
	AuthorName string                    `json:"author_name"`
	AuthorLink string                    `json:"author_link"`
	AuthorIcon string                    `json:"author_icon"`
	Title      string                    `json:"title"`
	TitleLink  string                    `json:"title_link"`
	Text       string                    `json:"text"`
	Fields     []*MessageAttachmentField `json:"fields"`
	ImageURL   string                    `json:"image_url"`
	ThumbURL   string                    `json:"thumb_url"`
	Footer     string                    `json:"footer"`
	FooterIcon string                    `json:"footer_icon"`
	Timestamp  any                       `json:"ts"` // a string or an integer
	Actions    []*PostAction             `json:"actions,omitempty"`
}

// MessageAttachmentField is one of an attachment's fields
// (model.MessageAttachmentField).
type MessageAttachmentField struct {
	Title string `json:"title"`
	Value any    `json:"value"` // a string or an integer
	Short bool   `json:"short"`
}

// PostAction is an attachment's button (model.PostAction), the fields of
// a button klaxon makes.
type PostAction struct {
	Id          string                 `json:"id,omitempty"` // letters and digits: the server routes clicks by it
	Type        string                 `json:"type,omitempty"`
	Name        string                 `json:"name,omitempty"`
	Style       string                 `json:"style,omitempty"`
	Integration *PostActionIntegration `json:"integration,omitempty"`
}

// PostActionTypeButton is PostAction.Type for a button.
const PostActionTypeButton = "button"

// PostActionIntegration is where a button's click goes and what it
// carries (model.PostActionIntegration).
type PostActionIntegration struct {
	URL     string         `json:"url,omitempty"`
	Context map[string]any `json:"context,omitempty"`
}

// actionRequest is the action call Mattermost makes when a button is
// clicked (model.PostActionIntegrationRequest), the fields klaxon reads.
type actionRequest struct {
	UserId    string         `json:"user_id"`
	UserName  string         `json:"user_name"`
	ChannelId string         `json:"channel_id"`
	PostId    string         `json:"post_id"`
	Context   map[string]any `json:"context,omitempty"`
}

// channelMember is a channel membership (model.ChannelMember).
type channelMember struct {
	ChannelId string `json:"channel_id"`
	UserId    string `json:"user_id"`
}

// channel is a channel (model.Channel); klaxon needs only its id.
type channel struct {
	Id string `json:"id"`
}

// user is a user account (model.User).
type user struct {
	Id       string `json:"id"`
	Username string `json:"username"`
	Roles    string `json:"roles"` // space-separated role ids
	IsBot    bool   `json:"is_bot,omitempty"`
}

// isSystemAdmin reports whether u has the system_admin role
// (model.User.IsSystemAdmin).
func (u *user) isSystemAdmin() bool {
	for _, r := range strings.Split(u.Roles, " ") {
		if r == "system_admin" {
			return true
		}
	}
	return false
}

// team is a team (model.Team).
type team struct {
	Id          string `json:"id"`
	DeleteAt    int64  `json:"delete_at"`
	DisplayName string `json:"display_name"`
	Name        string `json:"name"`
}

// teamMember is a team membership as AddTeamMember sends it
// (model.TeamMember).
type teamMember struct {
	TeamId string `json:"team_id"`
	UserId string `json:"user_id"`
}

// bot is a bot account (model.Bot).
type bot struct {
	UserId      string `json:"user_id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	DeleteAt    int64  `json:"delete_at"` // non-zero: disabled
}

// userAccessToken is a personal access token (model.UserAccessToken);
// Token is shown only when it is made.
type userAccessToken struct {
	Id          string `json:"id"`
	Token       string `json:"token,omitempty"`
	UserId      string `json:"user_id"`
	Description string `json:"description"`
	IsActive    bool   `json:"is_active"`
}

// command is a custom slash command (model.Command) with every field the
// server stores for one: UpdateCommand replaces them all with what it is
// sent (but the id, token, times, creator, plugin and team), so klaxon
// sends back what it read.
type command struct {
	Id               string `json:"id"`
	Token            string `json:"token"`
	CreateAt         int64  `json:"create_at"`
	UpdateAt         int64  `json:"update_at"`
	DeleteAt         int64  `json:"delete_at"`
	CreatorId        string `json:"creator_id"`
	TeamId           string `json:"team_id"`
	Trigger          string `json:"trigger"`
	Method           string `json:"method"` // commandMethodPost or "G"
	Username         string `json:"username"`
	IconURL          string `json:"icon_url"`
	AutoComplete     bool   `json:"auto_complete"`
	AutoCompleteDesc string `json:"auto_complete_desc"`
	AutoCompleteHint string `json:"auto_complete_hint"`
	DisplayName      string `json:"display_name"`
	Description      string `json:"description"`
	URL              string `json:"url"`
	PluginId         string `json:"plugin_id"`
}

// commandMethodPost is command.Method for a command that POSTs.
const commandMethodPost = "P"

// config is the server's config (model.Config), the settings Setup reads
// and patches; nil is not set (a patch leaves it as it is).
type config struct {
	ServiceSettings serviceSettings
}

// serviceSettings are the config's ServiceSettings Setup uses.
type serviceSettings struct {
	EnableCommands                      *bool   `json:",omitempty"`
	AllowedUntrustedInternalConnections *string `json:",omitempty"`
	EnableBotAccountCreation            *bool   `json:",omitempty"`
}

// apiError is the body of a failed API call (model.AppError).
type apiError struct {
	Id            string `json:"id"` // e.g. "api.context.permissions.app_error"
	Message       string `json:"message"`
	DetailedError string `json:"detailed_error"`
	RequestId     string `json:"request_id,omitempty"`
	StatusCode    int    `json:"status_code,omitempty"`
}

// Error says what the server said: its message and the error's id.
func (e *apiError) Error() string {
	s := e.Message
	if s == "" {
		s = "error"
	}
	if e.Id != "" && e.Id != e.Message {
		s += " (" + e.Id + ")"
	}
	return s
}

// validID reports whether s is a Mattermost id as the server checks one
// (model.IsValidId): 26 bytes, each rune a letter or a digit. The ids the
// server makes are 26 of [a-z0-9].
func validID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			return false
		}
	}
	return true
}

// validUsername reports whether s is a username the server accepts
// (model.IsValidUsername): 1 to 64 of a-z, 0-9, '.', '-' and '_', and
// none of "all", "channel", "matterbot" and "system".
func validUsername(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	switch s {
	case "all", "channel", "matterbot", "system":
		return false
	}
	return true
}

// validHTTPURL reports whether s is an absolute http(s) URL as the server
// checks a button's (model.IsValidHTTPURL).
func validHTTPURL(s string) bool {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return false
	}
	u, err := url.ParseRequestURI(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}
