package mattermost

// klaxon's REST client for the Mattermost API v4: the calls the Client and
// Setup make, each a method named as model.Client4's, over net/http with a
// Bearer token and JSON bodies. It answers as Client4 did, which wrap
// turns into an *Error: a transport failure is an error with no
// response; a status of 300 or more is an error with the response, the
// body decoded as the API's error ({"id", "message", "status_code",
// "request_id"}: an *apiError) when it is one; a 2xx whose body does not
// decode is an error with the response.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// api calls one Mattermost server with one token. It holds no state of
// its own and is safe for concurrent use.
type api struct {
	base  string // the server's URL + "/api/v4", without a trailing slash
	token string
	hc    *http.Client
}

// newAPI returns the client of the server at base (an absolute http(s)
// URL) for token.
func newAPI(base, token string, hc *http.Client) *api {
	return &api{base: strings.TrimRight(base, "/") + "/api/v4", token: token, hc: hc}
}

// response is what the server answered, whatever the outcome.
type response struct {
	StatusCode    int
	Header        http.Header
	ServerVersion string // X-Version-Id
}

// maxErrorBody bounds what is read of a failed call's body.
const maxErrorBody = 64 << 10

// apiPath joins segments into an API path, each escaped as one segment (and
// without "..", as Client4 cleans them).
func apiPath(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(strings.ReplaceAll(s, "..", "")))
	}
	return b.String()
}

// call makes one request: body (when not nil) as JSON, the answer decoded
// into a T.
func call[T any](ctx context.Context, a *api, method, p string, query url.Values, body any) (T, *response, error) {
	if body == nil {
		return send[T](ctx, a, method, p, query, nil, "")
	}
	b, err := json.Marshal(body)
	if err != nil {
		var out T
		return out, nil, err
	}
	return send[T](ctx, a, method, p, query, bytes.NewReader(b), "application/json")
}

// send makes one request with body (nil: none) of content type ct, the
// answer decoded into a T.
func send[T any](ctx context.Context, a *api, method, p string, query url.Values, rd io.Reader, ct string) (T, *response, error) {
	var out T
	u := a.base + p
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return out, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	hr, err := a.hc.Do(req)
	if err != nil {
		return out, nil, err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(hr.Body, maxErrorBody)) // let the connection be reused
		_ = hr.Body.Close()
	}()
	resp := &response{StatusCode: hr.StatusCode, Header: hr.Header, ServerVersion: hr.Header.Get("X-Version-Id")}
	if hr.StatusCode >= 300 {
		return out, resp, readError(hr)
	}
	if err := json.NewDecoder(hr.Body).Decode(&out); err != nil {
		return out, resp, fmt.Errorf("failed to decode JSON response: %w", err)
	}
	return out, resp, nil
}

// readError reads a failed call's body: an *apiError when it is the API's
// error JSON, else an error that quotes the start of the body.
func readError(hr *http.Response) error {
	data, err := io.ReadAll(io.LimitReader(hr.Body, maxErrorBody))
	if err != nil {
		return err
	}
	var ae apiError
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&ae); err != nil {
		return fmt.Errorf("HTTP %d with a body that is not an API error: %.200q", hr.StatusCode, data)
	}
	return &ae
}

// The calls. Each is Client4's of that name (without its etag), to the
// same route with the same query.

func (a *api) CreatePost(ctx context.Context, p *Post) (*Post, *response, error) {
	return call[*Post](ctx, a, http.MethodPost, apiPath("posts"), nil, p)
}

// UploadFile uploads data as a file named name to channel (POST
// /api/v4/files, multipart: channel_id first, as the server reads the
// parts in order, then the file as part "files"), as Client4.UploadFile.
func (a *api) UploadFile(ctx context.Context, channelID, name string, data []byte) (*fileUploadResponse, *response, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if err := w.WriteField("channel_id", channelID); err != nil {
		return nil, nil, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "files", "filename": name}))
	h.Set("Content-Type", http.DetectContentType(data))
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, nil, err
	}
	if _, err := part.Write(data); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return send[*fileUploadResponse](ctx, a, http.MethodPost, apiPath("files"), nil, &body, w.FormDataContentType())
}

func (a *api) PatchPost(ctx context.Context, id string, patch *postPatch) (*Post, *response, error) {
	return call[*Post](ctx, a, http.MethodPut, apiPath("posts", id, "patch"), nil, patch)
}

func (a *api) GetPost(ctx context.Context, id string) (*Post, *response, error) {
	return call[*Post](ctx, a, http.MethodGet, apiPath("posts", id), nil, nil)
}

// GetPostsForChannel reads page (per_page posts) of the channel's posts,
// newest first.
func (a *api) GetPostsForChannel(ctx context.Context, channelID string, page, perPage int) (*postList, *response, error) {
	return call[*postList](ctx, a, http.MethodGet, apiPath("channels", channelID, "posts"), postsQuery(page, perPage, ""), nil)
}

// GetPostsAfter reads page (per_page posts) of the channel's posts after
// post after, oldest first.
func (a *api) GetPostsAfter(ctx context.Context, channelID, after string, page, perPage int) (*postList, *response, error) {
	return call[*postList](ctx, a, http.MethodGet, apiPath("channels", channelID, "posts"), postsQuery(page, perPage, after), nil)
}

func postsQuery(page, perPage int, after string) url.Values {
	q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)},
		"collapsedThreads": {"false"}, "include_deleted": {"false"}}
	if after != "" {
		q.Set("after", after)
	}
	return q
}

func (a *api) GetChannelMember(ctx context.Context, channelID, userID string) (*channelMember, *response, error) {
	return call[*channelMember](ctx, a, http.MethodGet, apiPath("channels", channelID, "members", userID), nil, nil)
}

func (a *api) CreateDirectChannel(ctx context.Context, userID1, userID2 string) (*channel, *response, error) {
	return call[*channel](ctx, a, http.MethodPost, apiPath("channels", "direct"), nil, []string{userID1, userID2})
}

func (a *api) GetUser(ctx context.Context, userID string) (*user, *response, error) {
	return call[*user](ctx, a, http.MethodGet, apiPath("users", userID), nil, nil)
}

func (a *api) GetMe(ctx context.Context) (*user, *response, error) {
	return call[*user](ctx, a, http.MethodGet, apiPath("users", "me"), nil, nil)
}

// Setup's calls.

func (a *api) GetUserByUsername(ctx context.Context, username string) (*user, *response, error) {
	return call[*user](ctx, a, http.MethodGet, apiPath("users", "username", username), nil, nil)
}

func (a *api) GetTeamByName(ctx context.Context, name string) (*team, *response, error) {
	return call[*team](ctx, a, http.MethodGet, apiPath("teams", "name", name), nil, nil)
}

func (a *api) GetAllTeams(ctx context.Context, page, perPage int) ([]*team, *response, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
	return call[[]*team](ctx, a, http.MethodGet, apiPath("teams"), q, nil)
}

func (a *api) AddTeamMember(ctx context.Context, teamID, userID string) (*teamMember, *response, error) {
	return call[*teamMember](ctx, a, http.MethodPost, apiPath("teams", teamID, "members"), nil, &teamMember{TeamId: teamID, UserId: userID})
}

func (a *api) AddChannelMember(ctx context.Context, channelID, userID string) (*channelMember, *response, error) {
	return call[*channelMember](ctx, a, http.MethodPost, apiPath("channels", channelID, "members"), nil, map[string]string{"user_id": userID})
}

func (a *api) GetBotIncludeDeleted(ctx context.Context, userID string) (*bot, *response, error) {
	return call[*bot](ctx, a, http.MethodGet, apiPath("bots", userID), url.Values{"include_deleted": {"true"}}, nil)
}

func (a *api) CreateBot(ctx context.Context, b *bot) (*bot, *response, error) {
	return call[*bot](ctx, a, http.MethodPost, apiPath("bots"), nil, b)
}

func (a *api) EnableBot(ctx context.Context, userID string) (*bot, *response, error) {
	return call[*bot](ctx, a, http.MethodPost, apiPath("bots", userID, "enable"), nil, nil)
}

func (a *api) GetUserAccessTokensForUser(ctx context.Context, userID string, page, perPage int) ([]*userAccessToken, *response, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
	return call[[]*userAccessToken](ctx, a, http.MethodGet, apiPath("users", userID, "tokens"), q, nil)
}

func (a *api) CreateUserAccessToken(ctx context.Context, userID, description string) (*userAccessToken, *response, error) {
	return call[*userAccessToken](ctx, a, http.MethodPost, apiPath("users", userID, "tokens"), nil, map[string]string{"description": description})
}

// ListCommands lists the team's custom slash commands.
func (a *api) ListCommands(ctx context.Context, teamID string) ([]*command, *response, error) {
	q := url.Values{"team_id": {teamID}, "custom_only": {"true"}}
	return call[[]*command](ctx, a, http.MethodGet, apiPath("commands"), q, nil)
}

func (a *api) CreateCommand(ctx context.Context, c *command) (*command, *response, error) {
	return call[*command](ctx, a, http.MethodPost, apiPath("commands"), nil, c)
}

func (a *api) UpdateCommand(ctx context.Context, c *command) (*command, *response, error) {
	return call[*command](ctx, a, http.MethodPut, apiPath("commands", c.Id), nil, c)
}

func (a *api) GetCommandById(ctx context.Context, id string) (*command, *response, error) {
	return call[*command](ctx, a, http.MethodGet, apiPath("commands", id), nil, nil)
}

func (a *api) GetConfig(ctx context.Context) (*config, *response, error) {
	return call[*config](ctx, a, http.MethodGet, apiPath("config"), nil, nil)
}

// PatchConfig changes the settings of patch that are set.
func (a *api) PatchConfig(ctx context.Context, patch *config) (*config, *response, error) {
	return call[*config](ctx, a, http.MethodPut, apiPath("config", "patch"), nil, patch)
}
