package mattermost

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
)

// Every call reaches the fake's route of the same name (the routes of
// model.Client4), with a body the fake accepts.
func TestAPICallsReachTheirRoutes(t *testing.T) {
	const ch = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	s := mattermostfake.New(mattermostfake.Options{Teams: []string{"eng"}, Members: map[string][]string{ch: {mattermostfake.UserID}}})
	defer s.Close()
	ctx := context.Background()
	botAPI := newAPI(s.URL(), s.Token(), http.DefaultClient)
	admin := newAPI(s.URL()+"/", mattermostfake.AdminToken, http.DefaultClient)

	var postID, teamID, cmdID string
	steps := []struct {
		route string
		call  func() (*response, error)
	}{
		{"CreatePost", func() (*response, error) {
			p, r, err := botAPI.CreatePost(ctx, &Post{ChannelId: ch, Message: "hello", Props: map[string]any{PropIncident: "INC-1"}})
			if err == nil {
				postID = p.Id
				if p.ChannelId != ch || p.Message != "hello" || p.Props[PropIncident] != "INC-1" || p.CreateAt == 0 {
					t.Errorf("created %+v", p)
				}
			}
			return r, err
		}},
		{"PatchPost", func() (*response, error) {
			msg, props := "edited", map[string]any{PropIncident: "INC-1"}
			p, r, err := botAPI.PatchPost(ctx, postID, &postPatch{Message: &msg, Props: &props})
			if err == nil && p.Message != "edited" {
				t.Errorf("patched %+v", p)
			}
			return r, err
		}},
		{"GetPost", func() (*response, error) {
			p, r, err := botAPI.GetPost(ctx, postID)
			if err == nil && (p.Id != postID || p.Message != "edited") {
				t.Errorf("read %+v", p)
			}
			return r, err
		}},
		{"GetPostsForChannel", func() (*response, error) {
			l, r, err := botAPI.GetPostsForChannel(ctx, ch, 0, 200)
			if err == nil && (len(l.Order) != 1 || l.Posts[postID] == nil) {
				t.Errorf("page %+v", l)
			}
			return r, err
		}},
		{"GetPostsAfter", func() (*response, error) {
			_, r, err := botAPI.GetPostsAfter(ctx, ch, postID, 0, 200)
			return r, err
		}},
		{"GetMe", func() (*response, error) {
			u, r, err := botAPI.GetMe(ctx)
			if err == nil && (u.Id != mattermostfake.BotUserID || !u.IsBot) {
				t.Errorf("me %+v", u)
			}
			return r, err
		}},
		{"GetUser", func() (*response, error) {
			u, r, err := botAPI.GetUser(ctx, mattermostfake.UserID)
			if err == nil && u.Username != mattermostfake.Username {
				t.Errorf("user %+v", u)
			}
			return r, err
		}},
		{"CreateDirectChannel", func() (*response, error) {
			c, r, err := botAPI.CreateDirectChannel(ctx, mattermostfake.BotUserID, mattermostfake.UserID)
			if err == nil && !validID(c.Id) {
				t.Errorf("channel %+v", c)
			}
			return r, err
		}},
		{"GetUserByUsername", func() (*response, error) {
			u, r, err := admin.GetUserByUsername(ctx, mattermostfake.AdminUsername)
			if err == nil && !u.isSystemAdmin() {
				t.Errorf("admin %+v", u)
			}
			return r, err
		}},
		{"GetAllTeams", func() (*response, error) {
			ts, r, err := admin.GetAllTeams(ctx, 0, 200)
			if err == nil && len(ts) != 1 {
				t.Errorf("teams %+v", ts)
			}
			return r, err
		}},
		{"GetTeamByName", func() (*response, error) {
			tm, r, err := admin.GetTeamByName(ctx, "eng")
			if err == nil {
				teamID = tm.Id
			}
			return r, err
		}},
		{"GetConfig", func() (*response, error) {
			c, r, err := admin.GetConfig(ctx)
			if err == nil && (c.ServiceSettings.EnableCommands == nil || c.ServiceSettings.AllowedUntrustedInternalConnections == nil) {
				t.Errorf("config %+v", c)
			}
			return r, err
		}},
		{"PatchConfig", func() (*response, error) {
			on, hosts := true, "klaxon.internal"
			c, r, err := admin.PatchConfig(ctx, &config{ServiceSettings: serviceSettings{EnableBotAccountCreation: &on, AllowedUntrustedInternalConnections: &hosts}})
			if err == nil && (c.ServiceSettings.EnableBotAccountCreation == nil || !*c.ServiceSettings.EnableBotAccountCreation ||
				*c.ServiceSettings.AllowedUntrustedInternalConnections != hosts || c.ServiceSettings.EnableCommands == nil) {
				t.Errorf("patched config %+v", c)
			}
			return r, err
		}},
		{"GetBot", func() (*response, error) {
			b, r, err := admin.GetBotIncludeDeleted(ctx, mattermostfake.BotUserID)
			if err == nil && b.UserId != mattermostfake.BotUserID {
				t.Errorf("bot %+v", b)
			}
			return r, err
		}},
		{"CreateBot", func() (*response, error) {
			_, r, err := admin.CreateBot(ctx, &bot{Username: "other", DisplayName: "Other", Description: "d"})
			return r, err
		}},
		{"EnableBot", func() (*response, error) {
			_, r, err := admin.EnableBot(ctx, mattermostfake.BotUserID)
			return r, err
		}},
		{"AddTeamMember", func() (*response, error) {
			_, r, err := admin.AddTeamMember(ctx, teamID, mattermostfake.BotUserID)
			return r, err
		}},
		{"AddChannelMember", func() (*response, error) {
			_, r, err := admin.AddChannelMember(ctx, ch, mattermostfake.BotUserID)
			return r, err
		}},
		{"GetChannelMember", func() (*response, error) {
			_, r, err := botAPI.GetChannelMember(ctx, ch, mattermostfake.UserID)
			return r, err
		}},
		{"CreateUserAccessToken", func() (*response, error) {
			tok, r, err := admin.CreateUserAccessToken(ctx, mattermostfake.BotUserID, "klaxon")
			if err == nil && (tok.Token == "" || !tok.IsActive) {
				t.Errorf("token %+v", tok)
			}
			return r, err
		}},
		{"GetUserAccessTokensForUser", func() (*response, error) {
			ts, r, err := admin.GetUserAccessTokensForUser(ctx, mattermostfake.BotUserID, 0, 200)
			if err == nil && len(ts) != 1 {
				t.Errorf("tokens %+v", ts)
			}
			return r, err
		}},
		{"CreateCommand", func() (*response, error) {
			c, r, err := admin.CreateCommand(ctx, &command{TeamId: teamID, Trigger: Trigger, Method: commandMethodPost,
				URL: "https://klaxon.example.com/mattermost/commands", AutoComplete: true, DisplayName: "klaxon"})
			if err == nil {
				cmdID = c.Id
			}
			return r, err
		}},
		{"ListCommands", func() (*response, error) {
			cs, r, err := admin.ListCommands(ctx, teamID)
			if err == nil && (len(cs) != 1 || cs[0].Id != cmdID) {
				t.Errorf("commands %+v", cs)
			}
			return r, err
		}},
		{"GetCommandById", func() (*response, error) {
			c, r, err := admin.GetCommandById(ctx, cmdID)
			if err == nil && c.Token == "" {
				t.Errorf("command %+v", c)
			}
			return r, err
		}},
		{"UpdateCommand", func() (*response, error) {
			c, _, err := admin.GetCommandById(ctx, cmdID)
			if err != nil {
				return nil, err
			}
			c.URL = "https://klaxon2.example.com/mattermost/commands"
			u, r, err := admin.UpdateCommand(ctx, c)
			if err == nil && (u.URL != c.URL || u.Token != c.Token) {
				t.Errorf("updated %+v", u)
			}
			return r, err
		}},
	}
	for _, st := range steps {
		before := s.Calls()[st.route]
		r, err := st.call()
		if err != nil {
			t.Fatalf("%s: %v", st.route, err)
		}
		if r == nil || r.StatusCode/100 != 2 || r.ServerVersion == "" {
			t.Fatalf("%s: response %+v", st.route, r)
		}
		if got := s.Calls()[st.route]; got <= before {
			t.Fatalf("%s did not reach the fake's %s route (calls %v)", st.route, st.route, s.Calls())
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("the fake refused: %v", v)
	}
	if n := s.Calls()["unknown"]; n != 0 {
		t.Fatalf("%d calls to no route", n)
	}
}

// What a call sends, and what it makes of each kind of answer.
func TestAPIRequestsAndAnswers(t *testing.T) {
	var got *http.Request
	var gotBody string
	answer := func(w http.ResponseWriter) {}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r, string(b)
		answer(w)
	}))
	defer srv.Close()
	a := newAPI(srv.URL+"/mm/", "tok-123", srv.Client())
	ctx := context.Background()

	// A request: the token as Bearer, JSON, each segment escaped.
	answer = func(w http.ResponseWriter) {
		w.Header().Set("X-Version-Id", "9.10.0")
		_, _ = io.WriteString(w, `{"id":"u1","username":"alice"}`)
	}
	u, r, err := a.GetUserByUsername(ctx, "a/b?c ../d")
	if err != nil || u.Username != "alice" || r.StatusCode != 200 || r.ServerVersion != "9.10.0" {
		t.Fatalf("%+v %+v %v", u, r, err)
	}
	if got.URL.EscapedPath() != "/mm/api/v4/users/username/a%2Fb%3Fc%20%2Fd" || got.URL.RawQuery != "" {
		t.Errorf("path %q query %q", got.URL.EscapedPath(), got.URL.RawQuery)
	}
	if got.Header.Get("Authorization") != "Bearer tok-123" || got.Method != http.MethodGet || got.Header.Get("Content-Type") != "" {
		t.Errorf("headers %v, method %s", got.Header, got.Method)
	}
	answer = func(w http.ResponseWriter) { w.WriteHeader(201); _, _ = io.WriteString(w, `{"id":"p1"}`) }
	if _, _, err := a.CreatePost(ctx, &Post{ChannelId: "c1", Message: "m"}); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/json" ||
		gotBody != `{"id":"","create_at":0,"delete_at":0,"channel_id":"c1","root_id":"","message":"m","props":null}` {
		t.Errorf("%s %v %s", got.Method, got.Header, gotBody)
	}
	if _, _, err := a.GetPostsAfter(ctx, "c1", "p1", 2, 200); err != nil {
		t.Fatal(err)
	}
	if got.URL.RawQuery != "after=p1&collapsedThreads=false&include_deleted=false&page=2&per_page=200" {
		t.Errorf("query %q", got.URL.RawQuery)
	}

	// The API's error: its id, the status.
	answer = func(w http.ResponseWriter) {
		w.WriteHeader(403)
		_, _ = io.WriteString(w, `{"id":"api.context.permissions.app_error","message":"You do not have the appropriate permissions.","status_code":403,"request_id":"r1"}`)
	}
	_, r, err = a.GetPost(ctx, "p1")
	var ae *apiError
	if !errors.As(err, &ae) || ae.Id != "api.context.permissions.app_error" || ae.StatusCode != 403 || ae.RequestId != "r1" || r == nil || r.StatusCode != 403 {
		t.Fatalf("%v %+v", err, r)
	}
	if e := wrap(ctx, "GetPost", r, err); e.Code != ae.Id || e.Status != 403 || e.Temp {
		t.Errorf("wrapped: %+v", e)
	}
	// A body that is not the API's error: the status tells.
	answer = func(w http.ResponseWriter) { w.WriteHeader(502); _, _ = io.WriteString(w, "<html>bad gateway</html>") }
	_, r, err = a.GetPost(ctx, "p1")
	if errors.As(err, &ae) || err == nil || !strings.Contains(err.Error(), "bad gateway") || r == nil || r.StatusCode != 502 {
		t.Fatalf("%v %+v", err, r)
	}
	if e := wrap(ctx, "GetPost", r, err); e.Code != "http_502" || e.Status != 502 || !e.Temp {
		t.Errorf("wrapped: %+v", e)
	}
	// 429: rate limited, with the wait.
	answer = func(w http.ResponseWriter) {
		w.Header().Set("X-Ratelimit-Reset", "3")
		w.WriteHeader(429)
		_, _ = io.WriteString(w, "limit exceeded\n")
	}
	_, r, err = a.GetPost(ctx, "p1")
	if e := wrap(ctx, "GetPost", r, err); err == nil || e.Code != CodeRateLimited || e.Wait != 3*time.Second || !e.Temp || e.Status != 429 {
		t.Errorf("wrapped: %v %+v", err, e)
	}
	// A 2xx that is not the JSON asked for.
	answer = func(w http.ResponseWriter) { _, _ = io.WriteString(w, `["not", "a", "post"]`) }
	_, r, err = a.GetPost(ctx, "p1")
	if e := wrap(ctx, "GetPost", r, err); err == nil || e.Code != CodeBadResponse || e.Status != 200 || e.Temp {
		t.Errorf("wrapped: %v %+v", err, e)
	}
	// No answer at all.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	_, r, err = newAPI(closed, "tok-123", http.DefaultClient).GetMe(ctx)
	if e := wrap(ctx, "GetMe", r, err); r != nil || e.Code != CodeNetwork || !e.Temp || strings.Contains(e.Error(), "tok-123") {
		t.Errorf("wrapped: %v %+v", e, r)
	}
}
