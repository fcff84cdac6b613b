// Package mattermostfake is a fake Mattermost server for tests: an
// httptest server that answers the few API v4 calls klaxon makes, as
// strictly as the real server, and records what it accepted.
//
// Routes: POST /api/v4/posts (CreatePost), PUT /api/v4/posts/{id}/patch
// (PatchPost), GET /api/v4/posts/{id} (GetPost), GET
// /api/v4/channels/{id}/posts with since= (GetPostsSince), after=
// (GetPostsAfter), before= (GetPostsBefore) or page= and per_page=
// (GetPostsForChannel), GET /api/v4/channels/{id}/members/{user}
// (GetChannelMember), GET
// /api/v4/users/me (GetMe), GET /api/v4/users/{id} (GetUser), POST
// /api/v4/channels/direct (CreateDirectChannel), POST /api/v4/files
// (UploadFile, see files.go: uploads are listed by Images once a post
// attaches them), and the calls an admin's
// setup makes (see setup.go: bots, access tokens, teams, memberships, slash
// commands, the server config). Errors are AppError JSON, as model.Client4
// decodes them; a rate-limited call gets what Mattermost's limiter
// answers: 429, Retry-After and X-Ratelimit-* headers, body "limit
// exceeded".
//
// What it checks, like the server (the ids are the server's):
//   - the Bearer token (401 api.context.session_expired.app_error): the
//     bot's (Options.Token), AdminToken (a system admin), UserToken (a
//     user who is not one), or one CreateUserAccessToken made; posts are
//     made by the token's user;
//   - the channel: a valid id, and one of Options.Channels when set (403
//     api.context.permissions.app_error, as the server answers for a
//     channel the bot cannot post in or that does not exist);
//   - a reply's root_id: an existing top-level post of the same channel
//     (400 api.post.create_post.root_id.app_error /
//     channel_root_id.app_error);
//   - model.Post.IsValid with the post limit MaxRunes (400, e.g.
//     model.post.is_valid.message_length.app_error);
//   - props as JSON at most MaxPropsBytes (400
//     model.post.is_valid.props.app_error), and every message attachment
//     valid by model.MessageAttachment.IsValid: colors, URLs, and every
//     button with a name and an integration with a valid URL (400
//     model.post.is_valid.props.app_error; the server logs these today and
//     says it will refuse them);
//   - GetUser of a user that is not the bot nor one of Options.Users or
//     AddUser's: 404 app.user.missing_account.const; CreateDirectChannel
//     with such a user: 400
//     api.channel.create_direct_channel.invalid_user.app_error, and
//     without the bot among its two users: 403
//     api.context.permissions.app_error. A direct channel exists once
//     created and the bot may post in it (DirectChannel);
//   - PatchPost of a post that does not exist or was deleted: 403
//     api.context.permissions.app_error (the server does not say "not
//     found" there); GetPost of one: 404 app.post.get.app_error.
//
// Format and limit rejections are also recorded as Violations.
//
// It also plays the server's side of a button: Click makes the action
// call the server makes when a member of the channel clicks (user,
// channel, team, post and the button's context), and applies the answer
// (update, ephemeral text) as the server does; CallAction sends any call,
// for tests of calls the server never made, and ActionIntegration reads a
// button's stored key, which the API never shows.
//
// And of a slash command: RunCommand makes the request the server makes
// when a user types one (as 9.10 does: no root_id, unless
// Options.CommandRootID), and shows the answer as the server does: an
// ephemeral post for the user (EphemeralPosts; its buttons can be
// clicked, by that user only, and the server cannot update such a post),
// or a post in the channel. RemoveChannel and AddChannel take the bot out
// of a channel and back in: meanwhile CreatePost and PatchPost there
// answer 403 api.context.permissions.app_error, as for a bot that was
// never added.
package mattermostfake

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"
	"golang.org/x/time/rate"

	"github.com/klaxonbot/klaxon/adapters/internal/fakechat"
)

// Limits the fake enforces (the real server's defaults, and the props
// budget klaxon's compiler keeps to: mattermost.MaxPropsBytes).
const (
	MaxRunes      = model.PostMessageMaxRunesV2 // 16383
	MaxPropsBytes = 64 << 10
	maxBody       = 4 << 20
	maxUpload     = 1 << 30 // what a latency's early read takes of an upload
)

// DefaultToken is the token the fake accepts when Options.Token is empty.
const DefaultToken = "fake-mattermost-token"

// BotUserID is the user id of the bot Options.Token belongs to.
const BotUserID = "klaxonbotuserid00000000000"

// TeamID is the team of every channel, as action calls name it.
const TeamID = "klaxonfaketeam000000000000"

// MissingAccount is the server's error id for a user that does not exist.
const MissingAccount = "app.user.missing_account.const"

// Options configure a Server.
type Options struct {
	// Token is the access token the fake accepts; "" = DefaultToken.
	Token string
	// Channels are the channel ids the bot may post in; empty = any
	// valid id.
	Channels []string
	// PerSecond and Burst limit the API calls (all of them, as the server
	// limits per user); zero PerSecond = no limit. Burst defaults to 1.
	PerSecond rate.Limit
	Burst     int
	// Users are the users besides the bot, user id → username (see
	// also AddUser).
	Users map[string]string
	// Members are the channels' members besides the bot, channel id →
	// user ids (see also AddMember): GetChannelMember answers 404 for
	// anyone else, and only members may Click.
	Members map[string][]string
	// BotUsername is the username of the bot Token belongs to (a bot
	// account owned by the admin); default "klaxon".
	BotUsername string
	// Teams are the server's teams, by name (display name the same).
	Teams []string
	// Config changes the server's config from Mattermost's defaults (bot
	// account creation off, custom slash commands on, no untrusted
	// internal connections allowed).
	Config func(*model.Config)
	// EnvConfig is applied after every config patch, as environment
	// variables (MM_SERVICESETTINGS_…) override what a patch sets.
	EnvConfig func(*model.Config)
	// CommandRootID makes RunCommand send root_id (the thread a command
	// was typed in), as Mattermost's main branch does since 2026; false
	// is 9.10's request (and every release's up to 10.11): no root_id.
	CommandRootID bool
}

// Message is a top-level post as it stands now.
type Message struct {
	Ref        string                     // the post id (the client's ref)
	Channel    string                     // the channel id
	Text       string                     // the post's message, as last edited
	Props      json.RawMessage            // the post's props, as JSON
	Attachment []*model.MessageAttachment // the props' attachments, decoded
	IncidentID string                     // Props["klaxon_incident"] when present
	Edits      int                        // accepted PatchPost calls
	Replies    []string                   // the thread's replies, in order
	CreateAt   time.Time
	// ClickUpdates counts the updates an action call's answer made to
	// the post (Edits counts PatchPost's).
	ClickUpdates int
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	srv      *httptest.Server
	token    string
	channels map[string]bool
	limiter  *rate.Limiter

	// Recorder gives Calls (how many calls of each method, CreatePost,
	// PatchPost, GetPost, GetPostsSince, GetPostsAfter, GetPostsBefore,
	// GetPostsForChannel, GetChannelMember, GetMe, GetUser,
	// CreateDirectChannel, the setup calls (setup.go) or "unknown", the
	// fake answered, accepted or rejected), Violations (every request refused for breaking a limit
	// or the format, not the 429s, as text), RateLimited (how many 429s
	// the fake answered, Fail's included) and SetLatency (delays every
	// answer by d; a canceled request stops waiting).
	fakechat.Recorder

	mu         sync.Mutex
	admin      adminState
	posts      map[string]*post
	order      map[string][]string // channel → top-level post ids
	lastMillis int64
	users      map[string]string          // user id → username
	direct     map[string]string          // the direct channel name (model.GetDMNameFromIds) → its id
	directIDs  map[string]bool            // the direct channels' ids
	members    map[string]map[string]bool // channel id → member user ids
	ephemeral  map[string][]*ephemeral    // user id → the ephemeral posts shown, in order
	ephByID    map[string]*ephemeral      // ephemeral post id → it
	left       map[string]bool            // channels the bot was taken out of (RemoveChannel)
	rootIDs    bool                       // Options.CommandRootID
	actionTo   [2]string                  // action and command URLs starting with [0] are sent to [1] instead
	signKey    *ecdsa.PrivateKey          // signs trigger ids, as the server's key does
	files      map[string]*file           // uploaded files by id
	attached   []string                   // file ids attached to posts, in order
}

// ephemeral is a post shown to one user only (the server keeps none: the
// user's client holds it, and its buttons' action cookies).
type ephemeral struct {
	user string
	p    *model.Post
}

type post struct {
	p        *model.Post
	edits    int
	clickUps int
	replies  []string // reply post ids
}

// New starts a fake server; Close stops it.
func New(opts Options) *Server {
	s := &Server{
		token: opts.Token,
		posts: map[string]*post{},
		order: map[string][]string{},
		users: map[string]string{},

		direct:    map[string]string{},
		directIDs: map[string]bool{},
		members:   map[string]map[string]bool{},
		ephemeral: map[string][]*ephemeral{},
		ephByID:   map[string]*ephemeral{},
		left:      map[string]bool{},
		rootIDs:   opts.CommandRootID,
		files:     map[string]*file{},
	}
	for id, name := range opts.Users {
		s.users[id] = name
	}
	for ch, users := range opts.Members {
		for _, u := range users {
			s.addMember(ch, u)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	s.signKey = key
	if s.token == "" {
		s.token = DefaultToken
	}
	s.initAdmin(opts)
	s.channels = fakechat.Set(opts.Channels)
	if opts.PerSecond > 0 {
		s.limiter = rate.NewLimiter(opts.PerSecond, max(opts.Burst, 1))
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's base URL, for the client's Options.URL.
func (s *Server) URL() string { return s.srv.URL }

// Token is the token the fake accepts.
func (s *Server) Token() string { return s.token }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Messages returns the channel's top-level posts in post order (deleted
// ones left out), each with its current content and its replies.
func (s *Server) Messages(dest string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order[dest] {
		st := s.posts[id]
		if st.p.DeleteAt != 0 {
			continue
		}
		props, _ := json.Marshal(st.p.GetProps())
		m := Message{Ref: id, Channel: st.p.ChannelId, Text: st.p.Message, Props: props,
			Attachment: st.p.Attachments(), Edits: st.edits, CreateAt: time.UnixMilli(st.p.CreateAt), ClickUpdates: st.clickUps}
		m.IncidentID, _ = st.p.GetProp("klaxon_incident").(string)
		for _, r := range st.replies {
			m.Replies = append(m.Replies, s.posts[r].p.Message)
		}
		out = append(out, m)
	}
	return out
}

// Fail makes the fake answer the next n calls of method (e.g. "CreatePost")
// with status and an AppError of id code ("" = "fake.injected.app_error").
// A 429 is answered like the rate limiter does (Retry-After: 1).
func (s *Server) Fail(method string, n int, status int, code string) {
	if code == "" {
		code = "fake.injected.app_error"
	}
	s.SetFailure(method, n, fakechat.Failure{Status: status, Code: code})
}

// AddUser makes the user id with username exist (GetUser,
// CreateDirectChannel).
func (s *Server) AddUser(id, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = username
}

// DirectChannel returns the id of the direct channel between the bot and
// user, "" until CreateDirectChannel made it: Messages(DirectChannel(u))
// are the direct messages the user got.
func (s *Server) DirectChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.direct[model.GetDMNameFromIds(BotUserID, user)]
}

// Delete deletes a post as a user would (replies included): GetPost then
// answers 404, PatchPost 403. It reports whether the post existed.
func (s *Server) Delete(ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.posts[ref]
	if !ok || st.p.DeleteAt != 0 {
		return false
	}
	now := s.now()
	st.p.DeleteAt, st.p.UpdateAt = now, now
	for _, r := range st.replies {
		s.posts[r].p.DeleteAt, s.posts[r].p.UpdateAt = now, now
	}
	return true
}

// AddMember makes user a member of channel (GetChannelMember, Click).
func (s *Server) AddMember(channel, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addMember(channel, user)
}

func (s *Server) addMember(channel, user string) {
	if s.members[channel] == nil {
		s.members[channel] = map[string]bool{}
	}
	s.members[channel][user] = true
}

// RemoveMember takes user out of channel.
func (s *Server) RemoveMember(channel, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members[channel], user)
}

// Ephemerals returns the texts of the ephemeral posts shown to user —
// action answers' ephemeral_text and ephemeral command answers — in order.
func (s *Server) Ephemerals(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.ephemeral[user] {
		out = append(out, e.p.Message)
	}
	return out
}

// EphemeralPosts returns the ephemeral posts shown to user, in order, as
// they stand (Ref is the post id a Click takes; Edits is always 0).
func (s *Server) EphemeralPosts(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, e := range s.ephemeral[user] {
		props, _ := json.Marshal(e.p.GetProps())
		out = append(out, Message{Ref: e.p.Id, Channel: e.p.ChannelId, Text: e.p.Message, Props: props,
			Attachment: e.p.Attachments(), CreateAt: time.UnixMilli(e.p.CreateAt)})
	}
	return out
}

// showEphemeral shows p to user only, as the server's SendEphemeralPost,
// once it passes the checks of a post (the server makes none: the fake is
// stricter); a refusal is recorded as a violation.
func (s *Server) showEphemeral(op, user string, p *model.Post) (*model.Post, *model.AppError) {
	p = clone(p)
	p.Id, p.UserId = model.NewId(), user
	p.CreateAt = s.now()
	p.UpdateAt = p.CreateAt
	p.GenerateActionIds()
	p = clone(p)
	if aerr := s.check(op, p); aerr != nil {
		s.Violate(aerr.Where)
		return nil, aerr
	}
	p.Type = model.PostTypeEphemeral
	e := &ephemeral{user: user, p: p}
	s.ephemeral[user] = append(s.ephemeral[user], e)
	s.ephByID[p.Id] = e
	return p, nil
}

// RemoveChannel takes the bot out of channel: CreatePost and PatchPost
// there answer 403 api.context.permissions.app_error until AddChannel.
func (s *Server) RemoveChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.left[channel] = true
}

// AddChannel adds the bot to channel (again): it may post there.
func (s *Server) AddChannel(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.left, channel)
	if s.channels != nil {
		s.channels[channel] = true
	}
}

// SetActionTarget makes the fake send the action calls and slash commands
// whose URL starts with from to to instead (the rest of the URL kept), as
// a reverse proxy in front of klaxon would: cards name klaxon's public
// URL, tests serve it elsewhere.
func (s *Server) SetActionTarget(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actionTo = [2]string{from, to}
}

// ActionIntegration returns what the server keeps of a post's button and
// sends with each call, but never shows through its API: the URL it calls
// and the context (klaxon's signed key). For tests that play someone who
// got hold of a key.
func (s *Server) ActionIntegration(postID, actionID string) (url string, context map[string]any, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.posts[postID]
	if st == nil {
		return "", nil, false
	}
	a := st.p.GetAction(actionID)
	if a == nil || a.Integration == nil {
		return "", nil, false
	}
	ctx := map[string]any{}
	for k, v := range a.Integration.Context {
		ctx[k] = v
	}
	return a.Integration.URL, ctx, true
}

// ClickResult is what became of a Click.
type ClickResult struct {
	// Status is the integration's HTTP status; the server accepts only
	// 200 (else it shows the clicking user an error,
	// api.post.do_action.action_integration.app_error).
	Status int
	// Request is the call the server made.
	Request model.PostActionIntegrationRequest
	// Response is the integration's answer, decoded (zero unless 200).
	Response model.PostActionIntegrationResponse
	// Body is the answer as it came.
	Body []byte
	// Updated says the answer's update was applied to the post.
	Updated bool
}

// Click presses button actionID of post postID as user, as the server
// does when a user clicks it: the post, the button and the user must exist
// and the user must be a member of the post's channel (the real server
// also lets non-members of a public channel click; the fake does not). An
// ephemeral post (EphemeralPosts) can be clicked by the user it was shown
// to only: their client holds it. The server POSTs JSON {user_id,
// user_name, channel_id, channel_name, team_id, team_domain, post_id,
// trigger_id, type, context} to the button's URL (see SetActionTarget),
// then applies the answer: its update to the post (message and props,
// keeping from_webhook and the override props as the server does; an
// ephemeral post cannot be updated: the server fails, and the fake
// records a violation), its ephemeral_text to the user (Ephemerals), in
// the thread of the post clicked. An error is a refusal before any call
// (the server's error id) or a failed call.
func (s *Server) Click(ctx context.Context, postID, actionID, user string) (*ClickResult, error) {
	s.mu.Lock()
	st, eph := s.posts[postID], s.ephByID[postID]
	var p *model.Post
	var req model.PostActionIntegrationRequest
	var target string
	switch {
	case eph != nil && eph.user == user:
		p = eph.p
	case st == nil || st.p.DeleteAt != 0:
		s.mu.Unlock()
		return nil, errors.New("app.post.get.app_error: no such post")
	case s.users[user] == "":
		s.mu.Unlock()
		return nil, errors.New(MissingAccount + ": no such user")
	case !s.members[st.p.ChannelId][user]:
		s.mu.Unlock()
		return nil, errors.New("api.context.permissions.app_error: the user is not a member of the post's channel")
	default:
		p = st.p
	}
	a := p.GetAction(actionID)
	if a == nil || a.Integration == nil {
		s.mu.Unlock()
		return nil, errors.New("api.post.do_action.action_id.app_error: no such button")
	}
	req = model.PostActionIntegrationRequest{
		UserId: user, UserName: s.users[user], ChannelId: p.ChannelId, ChannelName: "channel-" + p.ChannelId[:6],
		TeamId: TeamID, TeamName: "klaxon-fake", PostId: postID, Type: a.Type, Context: a.Integration.Context,
	}
	root := p.RootId
	if root == "" {
		root = p.Id
	}
	target = s.target(a.Integration.URL)
	s.mu.Unlock()
	if _, _, aerr := req.GenerateTriggerId(s.signKey); aerr != nil {
		return nil, aerr
	}
	res, err := s.CallAction(ctx, target, req)
	if err != nil || res.Status != http.StatusOK {
		return res, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := res.Response.Update; u != nil && eph != nil && p == eph.p {
		// UpdatePost of a post that is in no table.
		s.Violate("action update of ephemeral post " + postID + ": the server cannot update an ephemeral post (app.post.get.app_error)")
		return res, errors.New("app.post.get.app_error: an action's update of an ephemeral post")
	}
	if u := res.Response.Update; u != nil && st.p.DeleteAt == 0 {
		p := clone(st.p)
		p.Message = u.Message
		if props := u.GetProps(); props != nil {
			keep := map[string]any{}
			for _, k := range model.PostActionRetainPropKeys {
				if v, ok := p.GetProps()[k]; ok {
					keep[k] = v
				}
			}
			p.SetProps(props)
			for k, v := range keep {
				p.AddProp(k, v)
			}
		}
		p.UpdateAt = s.now()
		if aerr := s.check("action update", p); aerr != nil {
			s.Violate(aerr.Where)
			return res, aerr
		}
		st.p = clone(p)
		st.clickUps++
		res.Updated = true
	}
	if t := res.Response.EphemeralText; t != "" {
		if _, aerr := s.showEphemeral("ephemeral_text", user, &model.Post{ChannelId: req.ChannelId, RootId: root, Message: t}); aerr != nil {
			return res, aerr
		}
	}
	return res, nil
}

// target is where a call to u goes (SetActionTarget).
func (s *Server) target(u string) string {
	if from := s.actionTo[0]; from != "" && strings.HasPrefix(u, from) {
		return s.actionTo[1] + strings.TrimPrefix(u, from)
	}
	return u
}

// Command is a slash command as a user types it.
type Command struct {
	URL     string // the command's request URL (see SetActionTarget)
	Token   string // the command's token: the form's "token" and "Authorization: Token"
	Trigger string // the command word without "/"; "" = "incident"
	Channel string // where it was typed
	User    string // who typed it: a user of the fake and a member of Channel
	Text    string // what followed the command word
	RootID  string // the thread it was typed in; "" = the channel
}

// CommandResult is what became of a slash command.
type CommandResult struct {
	// Status is the integration's HTTP status; the server accepts only
	// 200 (else the user sees "Command with a trigger of 'incident'
	// failed", api.command.execute_command.failed_resp.app_error, 500).
	Status int
	// Request is the form the server sent.
	Request url.Values
	// Response is the answer, decoded (nil unless 200).
	Response *model.CommandResponse
	// Body is the answer as it came.
	Body []byte
	// Ephemeral is the id of the ephemeral post it showed the user
	// (EphemeralPosts), Post that of the post it made in the channel; ""
	// when none.
	Ephemeral, Post string
}

// RunCommand makes the request the server makes when c.User types the
// slash command c: a form POST of token, team_id, team_domain, channel_id,
// channel_name, user_id, user_name, command, text, trigger_id and
// response_url — and root_id only with Options.CommandRootID — with
// "Authorization: Token <token>", to c.URL (see SetActionTarget). A 200
// answer is shown as the server shows it: ephemeral (or no
// response_type), its text and attachments as an ephemeral post for the
// user, in the thread c was typed in; in_channel, as a post of the user's
// in the channel (from_webhook). An error is a refusal before the call or
// a failed call (with the result when there was an answer).
func (s *Server) RunCommand(ctx context.Context, c Command) (*CommandResult, error) {
	s.mu.Lock()
	switch {
	case s.users[c.User] == "":
		s.mu.Unlock()
		return nil, errors.New(MissingAccount + ": no such user")
	case !s.members[c.Channel][c.User]:
		s.mu.Unlock()
		return nil, errors.New("api.command.execute_command.no_permission.app_error: the user is not a member of the channel")
	}
	trigger := c.Trigger
	if trigger == "" {
		trigger = "incident"
	}
	form := url.Values{
		"token": {c.Token}, "team_id": {TeamID}, "team_domain": {"klaxon-fake"},
		"channel_id": {c.Channel}, "channel_name": {"channel-" + c.Channel[:min(6, len(c.Channel))]},
		"user_id": {c.User}, "user_name": {s.users[c.User]}, "command": {"/" + trigger}, "text": {c.Text},
		"response_url": {s.srv.URL + "/hooks/commands/" + model.NewId()},
	}
	if s.rootIDs {
		form.Set("root_id", c.RootID)
	}
	target := s.target(c.URL)
	s.mu.Unlock()
	triggerID, _, aerr := model.GenerateTriggerId(c.User, s.signKey)
	if aerr != nil {
		return nil, aerr
	}
	form.Set("trigger_id", triggerID)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // OutgoingIntegrationRequestsTimeout
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("Authorization", "Token "+c.Token)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("api.command.execute_command.failed.app_error: %w", err)
	}
	defer resp.Body.Close()
	res := &CommandResult{Status: resp.StatusCode, Request: form}
	if res.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody)); err != nil {
		return res, err
	}
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("api.command.execute_command.failed_resp.app_error: Command with a trigger of '%s' failed: %s", trigger, resp.Status)
	}
	cr, err := model.CommandResponseFromHTTPBody(resp.Header.Get("Content-Type"), bytes.NewReader(res.Body))
	if err != nil || cr == nil {
		return res, fmt.Errorf("api.command.execute_command.failed.app_error: the answer does not decode: %v", err)
	}
	res.Response = cr
	p := &model.Post{ChannelId: c.Channel, RootId: c.RootID, Message: cr.Text}
	if !cr.SkipSlackParsing {
		p.Message = model.ParseSlackLinksToMarkdown(cr.Text)
	}
	if cr.Attachments != nil {
		model.ParseSlackAttachment(p, cr.Attachments)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cr.ResponseType {
	case model.CommandResponseTypeInChannel:
		p.Id, p.UserId = model.NewId(), c.User
		p.AddProp(model.PostPropsFromWebhook, "true")
		p.CreateAt = s.now()
		p.UpdateAt = p.CreateAt
		p.GenerateActionIds()
		// The server stores the post: its props come back as JSON (the
		// attachments an array, not the typed slice parsing made).
		if b, err := json.Marshal(p.GetProps()); err == nil {
			var props model.StringInterface
			if json.Unmarshal(b, &props) == nil {
				p.SetProps(props)
			}
		}
		if aerr := s.check("command answer", p); aerr != nil {
			s.Violate(aerr.Where)
			return res, aerr
		}
		stored := clone(p)
		s.posts[p.Id] = &post{p: stored}
		if p.RootId == "" {
			s.order[p.ChannelId] = append(s.order[p.ChannelId], p.Id)
		} else if root := s.posts[p.RootId]; root != nil {
			root.replies = append(root.replies, p.Id)
		}
		res.Post = p.Id
	case "", model.CommandResponseTypeEphemeral:
		if cr.Text == "" && cr.Attachments == nil {
			break
		}
		shown, aerr := s.showEphemeral("ephemeral command answer", c.User, p)
		if aerr != nil {
			return res, aerr
		}
		res.Ephemeral = shown.Id
	default:
		s.Violate("command answer: response_type " + cr.ResponseType + " is neither ephemeral nor in_channel")
	}
	return res, nil
}

// CallAction makes one action call to url with req as its body, the way
// the server makes them (POST, JSON, Accept: application/json), and
// returns the answer. Click uses it; tests use it for the calls the
// server never made — forged users, channels, posts or keys — since the
// endpoint cannot tell them apart but by what they carry.
func (s *Server) CallAction(ctx context.Context, url string, req model.PostActionIntegrationRequest) (*ClickResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // OutgoingIntegrationRequestsTimeout
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	res := &ClickResult{Status: resp.StatusCode, Request: req}
	if res.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody)); err != nil {
		return res, err
	}
	if resp.StatusCode == http.StatusOK && len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, &res.Response); err != nil {
			return res, fmt.Errorf("api.post.do_action.action_integration.app_error: the answer is not JSON: %w", err)
		}
	}
	return res, nil
}

// AddAt adds a top-level post with message to channel as another user
// would have made it at time at (its CreateAt and UpdateAt), tagged with
// incidentID like klaxon's cards when it is not "", and returns its id.
// No call is counted. For tests of Find's window: posts added out of time
// order are listed by the posts API in time order all the same.
func (s *Server) AddAt(channel, message, incidentID string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &model.Post{Id: model.NewId(), ChannelId: channel, UserId: model.NewId(), Message: message,
		CreateAt: at.UnixMilli(), UpdateAt: at.UnixMilli()}
	if incidentID != "" {
		p.AddProp("klaxon_incident", incidentID)
	}
	s.posts[p.Id] = &post{p: p}
	s.order[channel] = append(s.order[channel], p.Id)
	return p.Id
}

// route names the method of a request and its path parameter.
func route(r *http.Request) (method, param string) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	seg := strings.Split(strings.TrimPrefix(p, "/api/v4/"), "/")
	if !strings.HasPrefix(p, "/api/v4/") {
		return "unknown", ""
	}
	switch {
	case r.Method == http.MethodPost && len(seg) == 1 && seg[0] == "posts":
		return "CreatePost", ""
	case r.Method == http.MethodPut && len(seg) == 3 && seg[0] == "posts" && seg[2] == "patch":
		return "PatchPost", seg[1]
	case r.Method == http.MethodGet && len(seg) == 2 && seg[0] == "posts":
		return "GetPost", seg[1]
	case r.Method == http.MethodGet && len(seg) == 3 && seg[0] == "channels" && seg[2] == "posts":
		// One route, four queries, chosen as the server chooses them.
		q := r.URL.Query()
		switch {
		case q.Get("since") != "" && q.Get("since") != "0":
			return "GetPostsSince", seg[1]
		case q.Get("after") != "":
			return "GetPostsAfter", seg[1]
		case q.Get("before") != "":
			return "GetPostsBefore", seg[1]
		}
		return "GetPostsForChannel", seg[1]
	case r.Method == http.MethodGet && len(seg) == 4 && seg[0] == "channels" && seg[2] == "members":
		return "GetChannelMember", seg[1] + "/" + seg[3]
	case r.Method == http.MethodGet && len(seg) == 2 && seg[0] == "users" && seg[1] == "me":
		return "GetMe", ""
	case r.Method == http.MethodGet && len(seg) == 2 && seg[0] == "users":
		return "GetUser", seg[1]
	case r.Method == http.MethodPost && len(seg) == 2 && seg[0] == "channels" && seg[1] == "direct":
		return "CreateDirectChannel", ""
	case r.Method == http.MethodPost && len(seg) == 1 && seg[0] == "files":
		return "UploadFile", ""
	}
	return setupRoute(r.Method, seg)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method, param := route(r)
	if latency := s.Count(method); latency > 0 {
		// Read the body first: only then does the server notice a client
		// that gives up.
		limit := int64(maxBody)
		if method == "UploadFile" {
			limit = maxUpload
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !fakechat.Wait(r.Context(), latency, nil) {
			return
		}
	}
	w.Header().Set("X-Request-Id", model.NewId())
	w.Header().Set("X-Version-Id", "10.0.0.fake")

	if f, ok := s.TakeFailure(method); ok {
		if f.Status == http.StatusTooManyRequests {
			s.CountRateLimited()
			tooMany(w, 1, 1)
			return
		}
		writeErr(w, model.NewAppError("fake", f.Code, nil, "injected by Fail", f.Status))
		return
	}

	if s.limiter != nil {
		if res := s.limiter.Reserve(); res.Delay() > 0 {
			wait := res.Delay()
			res.Cancel()
			s.CountRateLimited()
			tooMany(w, s.limiter.Burst(), int(math.Ceil(wait.Seconds())))
			return
		}
	}

	uid, ok := s.authorized(r)
	if !ok {
		writeErr(w, model.NewAppError("ServeHTTP", "api.context.session_expired.app_error", nil,
			"", http.StatusUnauthorized))
		return
	}

	switch method {
	case "CreatePost":
		s.createPost(w, r, uid)
	case "PatchPost":
		s.patchPost(w, r, param)
	case "GetPost":
		s.getPost(w, param)
	case "GetPostsSince", "GetPostsAfter", "GetPostsBefore", "GetPostsForChannel":
		s.getChannelPosts(w, r, method, param)
	case "GetMe":
		s.mu.Lock()
		u := s.userLocked(uid)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, u)
	case "GetUser":
		s.getUser(w, param)
	case "GetChannelMember":
		s.getChannelMember(w, param)
	case "CreateDirectChannel":
		s.createDirectChannel(w, r, uid)
	case "UploadFile":
		s.uploadFile(w, r, uid)
	default:
		if !s.serveSetup(w, r, method, param, uid) {
			writeErr(w, model.NewAppError("Handle404", "api.context.404.app_error", nil, r.Method+" "+r.URL.Path, http.StatusNotFound))
		}
	}
}

// authorized checks "Authorization: Bearer <token>" (or "Token <token>",
// either case, as the server accepts) and returns the token's user.
func (s *Server) authorized(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	typ, tok, ok := strings.Cut(h, " ")
	if !ok || !(strings.EqualFold(typ, "bearer") || strings.EqualFold(typ, "token")) {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uid, ok := s.admin.tokens[tok]
	if ok && s.admin.disabled[uid] {
		return "", false
	}
	return uid, ok
}

func (s *Server) createPost(w http.ResponseWriter, r *http.Request, uid string) {
	var p model.Post
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &p)
	}
	if err != nil {
		s.reject(w, "CreatePost: body is not a post: "+err.Error(),
			model.NewAppError("Api4.createPost", "api.context.invalid_body_param.app_error", map[string]any{"Name": "post"}, err.Error(), http.StatusBadRequest))
		return
	}
	if !s.channelAllowed(p.ChannelId) {
		writeErr(w, model.NewAppError("Api4.createPost", "api.context.permissions.app_error", nil,
			"userId="+uid+", permission=create_post", http.StatusForbidden))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.RootId != "" {
		root := s.posts[p.RootId]
		switch {
		case root == nil || root.p.DeleteAt != 0 || root.p.RootId != "":
			s.rejectLocked(w, "CreatePost: root_id "+p.RootId+" is not an existing top-level post",
				model.NewAppError("createPost", "api.post.create_post.root_id.app_error", nil, "", http.StatusBadRequest))
			return
		case root.p.ChannelId != p.ChannelId:
			s.rejectLocked(w, "CreatePost: reply in channel "+p.ChannelId+" to a post of channel "+root.p.ChannelId,
				model.NewAppError("createPost", "api.post.create_post.channel_root_id.app_error", nil, "", http.StatusBadRequest))
			return
		}
	}
	p.Id = model.NewId()
	p.CreateAt = s.now()
	p.UpdateAt, p.EditAt, p.DeleteAt = p.CreateAt, 0, 0
	p.UserId = uid
	if aerr := s.check("CreatePost", &p); aerr != nil {
		s.rejectLocked(w, aerr.Where, aerr)
		return
	}
	s.attachFiles(&p)
	stored := clone(&p)
	s.posts[p.Id] = &post{p: stored}
	if p.RootId == "" {
		s.order[p.ChannelId] = append(s.order[p.ChannelId], p.Id)
	} else {
		s.posts[p.RootId].replies = append(s.posts[p.RootId].replies, p.Id)
	}
	writePost(w, http.StatusCreated, stored)
}

func (s *Server) patchPost(w http.ResponseWriter, r *http.Request, id string) {
	var patch model.PostPatch
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &patch)
	}
	if err != nil {
		s.reject(w, "PatchPost: body is not a patch: "+err.Error(),
			model.NewAppError("Api4.patchPost", "api.context.invalid_body_param.app_error", map[string]any{"Name": "post"}, err.Error(), http.StatusBadRequest))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.posts[id]
	if st == nil || st.p.DeleteAt != 0 || !s.channelAllowedLocked(st.p.ChannelId) {
		writeErr(w, model.NewAppError("Api4.patchPost", "api.context.permissions.app_error", nil,
			"userId="+BotUserID+", permission=edit_post", http.StatusForbidden))
		return
	}
	p := clone(st.p)
	p.Patch(&patch)
	if patch.Message != nil && *patch.Message != st.p.Message {
		p.EditAt = s.now()
	}
	p.UpdateAt = s.now()
	if aerr := s.check("PatchPost", p); aerr != nil {
		s.rejectLocked(w, aerr.Where, aerr)
		return
	}
	st.p = p
	st.edits++
	writePost(w, http.StatusOK, p)
}

func (s *Server) getPost(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.posts[id]
	if st == nil || st.p.DeleteAt != 0 {
		writeErr(w, model.NewAppError("GetSinglePost", "app.post.get.app_error", nil, "", http.StatusNotFound))
		return
	}
	writePost(w, http.StatusOK, st.p)
}

func (s *Server) getUser(w http.ResponseWriter, id string) {
	if !model.IsValidId(id) {
		writeErr(w, model.NewAppError("Context", "api.context.invalid_url_param.app_error", map[string]any{"Name": "user_id"}, "", http.StatusBadRequest))
		return
	}
	s.mu.Lock()
	_, ok := s.users[id]
	u := s.userLocked(id)
	s.mu.Unlock()
	if !ok {
		writeErr(w, model.NewAppError("GetUser", MissingAccount, nil, "", http.StatusNotFound))
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// getChannelMember answers GET /api/v4/channels/{channel}/members/{user}
// as the server does: 400 for a bad id, 403 when the bot may not read the
// channel (not one of Options.Channels), 404
// app.channel.get_member.missing.app_error when the user is not a member.
func (s *Server) getChannelMember(w http.ResponseWriter, param string) {
	channel, user, _ := strings.Cut(param, "/")
	for name, id := range map[string]string{"channel_id": channel, "user_id": user} {
		if !model.IsValidId(id) {
			writeErr(w, model.NewAppError("Context", "api.context.invalid_url_param.app_error", map[string]any{"Name": name}, "", http.StatusBadRequest))
			return
		}
	}
	if !s.channelAllowed(channel) {
		writeErr(w, model.NewAppError("getChannelMember", "api.context.permissions.app_error", nil,
			"userId="+BotUserID+", permission=read_channel", http.StatusForbidden))
		return
	}
	s.mu.Lock()
	ok := s.members[channel][user]
	s.mu.Unlock()
	if !ok {
		writeErr(w, model.NewAppError("GetChannelMember", "app.channel.get_member.missing.app_error", nil, "", http.StatusNotFound))
		return
	}
	writeJSON(w, http.StatusOK, &model.ChannelMember{ChannelId: channel, UserId: user, Roles: "channel_user",
		NotifyProps: model.GetDefaultChannelNotifyProps()})
}

func (s *Server) createDirectChannel(w http.ResponseWriter, r *http.Request, uid string) {
	var ids []string
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &ids)
	}
	if err != nil || len(ids) != 2 || !model.IsValidId(ids[0]) || !model.IsValidId(ids[1]) {
		s.reject(w, "CreateDirectChannel: body is not two user ids",
			model.NewAppError("Api4.createDirectChannel", "api.context.invalid_body_param.app_error", map[string]any{"Name": "user_ids"}, "", http.StatusBadRequest))
		return
	}
	other := ids[1]
	switch uid {
	case ids[0]:
	case ids[1]:
		other = ids[0]
	default:
		writeErr(w, model.NewAppError("Api4.createDirectChannel", "api.context.permissions.app_error", nil,
			"userId="+uid+", permission=manage_system", http.StatusForbidden))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[other]; !ok {
		writeErr(w, model.NewAppError("CreateDirectChannel", "api.channel.create_direct_channel.invalid_user.app_error", nil,
			"No users found for ids: "+ids[0]+". "+ids[1], http.StatusBadRequest))
		return
	}
	name := model.GetDMNameFromIds(uid, other)
	id := s.direct[name]
	if id == "" {
		id = model.NewId()
		s.direct[name] = id
		s.directIDs[id] = true
	}
	writeJSON(w, http.StatusCreated, &model.Channel{Id: id, Type: model.ChannelTypeDirect, Name: name})
}

// Paging of the channel posts API, as the server's web params have it.
const (
	perPageDefault = 60
	perPageMax     = 200
	sinceMax       = 1000 // the most posts a since query returns
)

// getChannelPosts answers GET /api/v4/channels/{id}/posts as the server
// does, by the first of these that applies:
//   - since=<ms> (GetPostsSince): the posts updated after that time, at
//     most sinceMax of them (the server takes any 1000: the fake, the
//     newest), deleted ones included;
//   - after=<post id> (GetPostsAfter): the posts created after that
//     post's time, oldest first, per_page of them from offset
//     page*per_page;
//   - before=<post id> (GetPostsBefore): those created before it, newest
//     first, paged the same way;
//   - else (GetPostsForChannel): the channel's posts newest first, paged.
//
// per_page is at most perPageMax (more is cut to it, as the server does),
// perPageDefault when missing, negative or not a number; page likewise
// defaults to 0. Replies count as posts (unless collapsedThreads=true);
// deleted posts are left out unless include_deleted=true. The list's
// order holds the page's posts, newest first; its posts map also holds
// the roots of the replies among them.
func (s *Server) getChannelPosts(w http.ResponseWriter, r *http.Request, method, channel string) {
	if !model.IsValidId(channel) {
		writeErr(w, model.NewAppError("Context", "api.context.invalid_url_param.app_error", map[string]any{"Name": "channel_id"}, "", http.StatusBadRequest))
		return
	}
	s.mu.Lock()
	known := s.channels == nil || s.channels[channel]
	s.mu.Unlock()
	if !known {
		writeErr(w, model.NewAppError("GetChannel", "app.channel.get.existing.app_error", nil, "", http.StatusNotFound))
		return
	}
	q := r.URL.Query()
	var since int64
	if v := q.Get("since"); v != "" {
		var err error
		if since, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeErr(w, model.NewAppError("Context", "api.context.invalid_param.app_error", map[string]any{"Name": "since"}, err.Error(), http.StatusBadRequest))
			return
		}
	}
	for _, name := range []string{"after", "before"} {
		if v := q.Get(name); v != "" && !model.IsValidId(v) {
			writeErr(w, model.NewAppError("Context", "api.context.invalid_url_param.app_error", map[string]any{"Name": name}, "", http.StatusBadRequest))
			return
		}
	}
	page, perPage := 0, perPageDefault
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n >= 0 {
		page = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n >= 0 {
		perPage = min(n, perPageMax)
	}
	collapsed, _ := strconv.ParseBool(q.Get("collapsedThreads"))
	withDeleted, _ := strconv.ParseBool(q.Get("include_deleted"))

	s.mu.Lock()
	var ps []*model.Post
	var pivot int64
	hasPivot := true
	switch method {
	case "GetPostsAfter", "GetPostsBefore":
		id := q.Get("after")
		if method == "GetPostsBefore" {
			id = q.Get("before")
		}
		// CreateAt compared with (SELECT CreateAt … WHERE Id = ?): no
		// such post, no row compares.
		if st := s.posts[id]; st != nil && st.p.ChannelId == channel {
			pivot = st.p.CreateAt
		} else {
			hasPivot = false
		}
	}
	for _, st := range s.posts {
		p := st.p
		if p.ChannelId != channel || collapsed && p.RootId != "" || !hasPivot {
			continue
		}
		switch method {
		case "GetPostsSince":
			if p.UpdateAt <= since {
				continue
			}
		case "GetPostsAfter":
			if p.CreateAt <= pivot || p.DeleteAt != 0 && !withDeleted {
				continue
			}
		case "GetPostsBefore":
			if p.CreateAt >= pivot || p.DeleteAt != 0 && !withDeleted {
				continue
			}
		default:
			if p.DeleteAt != 0 && !withDeleted {
				continue
			}
		}
		ps = append(ps, p)
	}
	newestFirst := func(i, j int) bool {
		if ps[i].CreateAt != ps[j].CreateAt {
			return ps[i].CreateAt > ps[j].CreateAt
		}
		return ps[i].Id > ps[j].Id
	}
	if method == "GetPostsAfter" {
		sort.Slice(ps, func(i, j int) bool { return newestFirst(j, i) })
	} else {
		sort.Slice(ps, newestFirst)
	}
	if method == "GetPostsSince" {
		ps = ps[:min(len(ps), sinceMax)]
	} else {
		from := min(len(ps), page*perPage)
		ps = ps[from:min(len(ps), from+perPage)]
	}
	if method == "GetPostsAfter" {
		sort.Slice(ps, newestFirst) // the list's order is newest first
	}
	list := model.NewPostList()
	for _, p := range ps {
		list.AddPost(clone(p))
		list.AddOrder(p.Id)
		if root := s.posts[p.RootId]; p.RootId != "" && root != nil && list.Posts[p.RootId] == nil {
			list.AddPost(clone(root.p))
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = list.EncodeJSON(w)
}

// check validates p like the server; nil when it may be stored.
func (s *Server) check(op string, p *model.Post) *model.AppError {
	if aerr := p.IsValid(MaxRunes); aerr != nil {
		aerr.Where = fmt.Sprintf("%s: %s (message %d runes, limit %d)", op, aerr.Id, utf8.RuneCountInString(p.Message), MaxRunes)
		return aerr
	}
	props, err := json.Marshal(p.GetProps())
	if err != nil {
		return model.NewAppError(op+": props do not marshal", "model.post.is_valid.props.app_error", nil, err.Error(), http.StatusBadRequest)
	}
	if len(props) > MaxPropsBytes {
		return model.NewAppError(fmt.Sprintf("%s: props are %d bytes of JSON > %d", op, len(props), MaxPropsBytes),
			"model.post.is_valid.props.app_error", nil, "id="+p.Id, http.StatusBadRequest)
	}
	if v := p.GetProp(model.PostPropsAttachments); v != nil {
		if _, ok := v.([]any); !ok {
			return model.NewAppError(op+": props.attachments is not an array", "model.post.is_valid.props.app_error", nil, "", http.StatusBadRequest)
		}
	}
	for i, a := range p.Attachments() {
		if err := a.IsValid(); err != nil {
			msg := strings.Join(strings.Fields(err.Error()), " ")
			return model.NewAppError(fmt.Sprintf("%s: attachment %d invalid: %s", op, i, msg),
				"model.post.is_valid.props.app_error", nil, msg, http.StatusBadRequest)
		}
	}
	return nil
}

func (s *Server) channelAllowed(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelAllowedLocked(id)
}

func (s *Server) channelAllowedLocked(id string) bool {
	if !model.IsValidId(id) || s.left[id] {
		return false
	}
	return s.channels == nil || s.channels[id] || s.directIDs[id]
}

// reject records a violation and answers aerr.
func (s *Server) reject(w http.ResponseWriter, violation string, aerr *model.AppError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectLocked(w, violation, aerr)
}

func (s *Server) rejectLocked(w http.ResponseWriter, violation string, aerr *model.AppError) {
	s.Violate(violation)
	aerr.Where = "Api4"
	writeErr(w, aerr)
}

// now returns the time in ms, strictly increasing so that posts keep their
// order.
func (s *Server) now() int64 {
	ms := time.Now().UnixMilli()
	if ms <= s.lastMillis {
		ms = s.lastMillis + 1
	}
	s.lastMillis = ms
	return ms
}

// clone deep-copies a post through JSON, the way the server stores it
// (props decoded as map[string]any).
func clone(p *model.Post) *model.Post {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	var c model.Post
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// writePost answers a post as the server does: without the actions'
// integrations (URL and context).
func writePost(w http.ResponseWriter, status int, p *model.Post) {
	c := clone(p)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = c.EncodeJSON(w)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, aerr *model.AppError) {
	if aerr.Message == "" {
		aerr.Message = aerr.Id
	}
	aerr.RequestId = w.Header().Get("X-Request-Id")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(aerr.StatusCode)
	_, _ = io.WriteString(w, aerr.ToJSON())
}

// tooMany answers like Mattermost's rate limiter (throttled).
func tooMany(w http.ResponseWriter, limit, retry int) {
	retry = max(retry, 1)
	h := w.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("X-Ratelimit-Remaining", "0")
	h.Set("X-Ratelimit-Reset", strconv.Itoa(retry))
	h.Set("Retry-After", strconv.Itoa(retry))
	http.Error(w, "limit exceeded", http.StatusTooManyRequests)
}
