package mattermostfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
)

const (
	chA = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	chB = "bbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func client(s *mattermostfake.Server, token string) *model.Client4 {
	c := model.NewAPIv4Client(s.URL())
	c.SetToken(token)
	c.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	return c
}

func appErr(t *testing.T, err error, status int, id string, resp *model.Response) {
	t.Helper()
	var ae *model.AppError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an AppError %s", err, id)
	}
	if ae.Id != id || ae.StatusCode != status || resp == nil || resp.StatusCode != status {
		t.Fatalf("got %d %s (resp %+v), want %d %s", ae.StatusCode, ae.Id, resp, status, id)
	}
}

func card(text string, actions ...*model.PostAction) *model.Post {
	p := &model.Post{ChannelId: chA, Message: text}
	p.AddProp(model.PostPropsAttachments, []*model.SlackAttachment{{Color: "#D0021B", Title: "t", Text: "x", Actions: actions}})
	p.AddProp("klaxon_incident", "INC-1")
	return p
}

func button(url string) *model.PostAction {
	return &model.PostAction{Id: "ack", Type: model.PostActionTypeButton, Name: "Ack",
		Integration: &model.PostActionIntegration{URL: url, Context: map[string]any{"key": "k"}}}
}

func TestPostPatchReplyFind(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := client(s, s.Token())
	ctx := context.Background()

	p, _, err := c.CreatePost(ctx, card("hello", button("https://klaxon.example.com/mattermost/actions")))
	if err != nil {
		t.Fatal(err)
	}
	if !model.IsValidId(p.Id) || p.UserId != mattermostfake.BotUserID || p.CreateAt == 0 {
		t.Fatalf("created %+v", p)
	}
	// Like the server, answers leave out the buttons' integrations.
	if a := p.Attachments(); len(a) != 1 || len(a[0].Actions) != 1 || a[0].Actions[0].Integration != nil {
		t.Errorf("answered attachments %+v", a)
	}
	msg := "edited"
	props := card("", button("https://x.example/a")).GetProps()
	if _, _, err := c.PatchPost(ctx, p.Id, &model.PostPatch{Message: &msg, Props: &props}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreatePost(ctx, &model.Post{ChannelId: chA, RootId: p.Id, Message: "reply"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.GetPost(ctx, p.Id, "")
	if err != nil || got.Message != "edited" || got.EditAt == 0 {
		t.Fatalf("GetPost = %+v, %v", got, err)
	}
	ms := s.Messages(chA)
	if len(ms) != 1 {
		t.Fatalf("messages %+v", ms)
	}
	m := ms[0]
	if m.Ref != p.Id || m.Text != "edited" || m.Edits != 1 || m.IncidentID != "INC-1" ||
		len(m.Replies) != 1 || m.Replies[0] != "reply" || len(m.Attachment) != 1 ||
		m.Attachment[0].Actions[0].Integration.URL != "https://x.example/a" {
		t.Errorf("message %+v", m)
	}
	if !json.Valid(m.Props) || !strings.Contains(string(m.Props), `"klaxon_incident":"INC-1"`) {
		t.Errorf("props %s", m.Props)
	}

	list, _, err := c.GetPostsSince(ctx, chA, p.CreateAt-1, false)
	if err != nil || len(list.Posts) != 2 {
		t.Fatalf("GetPostsSince = %+v, %v", list, err)
	}
	list, _, err = c.GetPostsSince(ctx, chA, p.CreateAt-1, true)
	if err != nil || len(list.Posts) != 1 {
		t.Fatalf("GetPostsSince collapsed = %+v, %v", list, err)
	}
	list, _, err = c.GetPostsSince(ctx, chB, 1, false)
	if err != nil || len(list.Posts) != 0 {
		t.Fatalf("other channel = %+v, %v", list, err)
	}
	if me, _, err := c.GetMe(ctx, ""); err != nil || me.Id != mattermostfake.BotUserID {
		t.Fatalf("GetMe = %+v, %v", me, err)
	}
	calls := s.Calls()
	if calls["CreatePost"] != 2 || calls["PatchPost"] != 1 || calls["GetPost"] != 1 || calls["GetPostsSince"] != 3 || calls["GetMe"] != 1 {
		t.Errorf("calls %v", calls)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}

	if !s.Delete(p.Id) || s.Delete(p.Id) {
		t.Fatal("Delete")
	}
	_, resp, err := c.GetPost(ctx, p.Id, "")
	appErr(t, err, 404, "app.post.get.app_error", resp)
	_, resp, err = c.PatchPost(ctx, p.Id, &model.PostPatch{Message: &msg})
	appErr(t, err, 403, "api.context.permissions.app_error", resp)
	if len(s.Messages(chA)) != 0 {
		t.Error("deleted post still listed")
	}
}

func TestRejects(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA, chB}})
	defer s.Close()
	c := client(s, s.Token())
	ctx := context.Background()
	root, _, err := c.CreatePost(ctx, card("root"))
	if err != nil {
		t.Fatal(err)
	}

	huge := card("x")
	huge.AddProp("blob", strings.Repeat("y", mattermostfake.MaxPropsBytes))
	otherChannel := &model.Post{ChannelId: chB, RootId: root.Id, Message: "r"}
	badStyle := card("x")
	badStyle.AddProp(model.PostPropsAttachments, []*model.SlackAttachment{{Color: "red-ish"}})

	for _, tc := range []struct {
		name      string
		post      *model.Post
		status    int
		id        string
		violation bool
	}{
		{"message too long", card(strings.Repeat("é", mattermostfake.MaxRunes+1)), 400, "model.post.is_valid.message_length.app_error", true},
		{"props too big", huge, 400, "model.post.is_valid.props.app_error", true},
		{"action without url", card("x", button("")), 400, "model.post.is_valid.props.app_error", true},
		{"action with a bad url", card("x", button("ftp://x")), 400, "model.post.is_valid.props.app_error", true},
		{"bad color", badStyle, 400, "model.post.is_valid.props.app_error", true},
		{"unknown root", &model.Post{ChannelId: chA, RootId: model.NewId(), Message: "r"}, 400, "api.post.create_post.root_id.app_error", true},
		{"reply in another channel", otherChannel, 400, "api.post.create_post.channel_root_id.app_error", true},
		{"unknown channel", &model.Post{ChannelId: model.NewId(), Message: "m"}, 403, "api.context.permissions.app_error", false},
		{"no channel", &model.Post{Message: "m"}, 403, "api.context.permissions.app_error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.Violations())
			_, resp, err := c.CreatePost(ctx, tc.post)
			appErr(t, err, tc.status, tc.id, resp)
			if got := len(s.Violations()) - before; got != map[bool]int{true: 1, false: 0}[tc.violation] {
				t.Errorf("%d new violations: %v", got, s.Violations())
			}
		})
	}
	// Exactly at the limit passes.
	if _, _, err := c.CreatePost(ctx, card(strings.Repeat("é", mattermostfake.MaxRunes))); err != nil {
		t.Fatal(err)
	}
	// A patch is held to the same rules.
	long := strings.Repeat("a", mattermostfake.MaxRunes+1)
	_, resp, err := c.PatchPost(ctx, root.Id, &model.PostPatch{Message: &long})
	appErr(t, err, 400, "model.post.is_valid.message_length.app_error", resp)
	if m := s.Messages(chA)[0]; m.Text != "root" || m.Edits != 0 {
		t.Errorf("a refused patch changed the post: %+v", m)
	}
	// Since is checked; an unknown channel is not found.
	_, resp, err = c.GetPostsSince(ctx, model.NewId(), 1, false)
	appErr(t, err, 404, "app.channel.get.existing.app_error", resp)

	// Bodies that are not JSON.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/v4/posts", strings.NewReader("{"))
	req.Header.Set("Authorization", "Bearer "+s.Token())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(body), `"id":"api.context.invalid_body_param.app_error"`) ||
		!strings.Contains(string(body), `"status_code":400`) {
		t.Errorf("bad JSON: %d %s", res.StatusCode, body)
	}
}

func TestAuth(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Token: "right"})
	defer s.Close()
	for _, tok := range []string{"", "wrong"} {
		_, resp, err := client(s, tok).CreatePost(context.Background(), card("x"))
		appErr(t, err, 401, "api.context.session_expired.app_error", resp)
	}
	if _, _, err := client(s, "right").CreatePost(context.Background(), card("x")); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages(chA)) != 1 || len(s.Violations()) != 0 {
		t.Error("unauthorized calls were stored or counted as violations")
	}
}

func TestRateLimit(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{PerSecond: 1, Burst: 2})
	defer s.Close()
	c := client(s, s.Token())
	for i := range 2 {
		if _, _, err := c.CreatePost(context.Background(), card("x")); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, resp, err := c.CreatePost(context.Background(), card("x"))
	if err == nil || resp == nil || resp.StatusCode != 429 {
		t.Fatalf("third call: %v %+v", err, resp)
	}
	if resp.Header.Get("Retry-After") != "1" || resp.Header.Get("X-Ratelimit-Remaining") != "0" ||
		resp.Header.Get("X-Ratelimit-Reset") != "1" || resp.Header.Get("X-Ratelimit-Limit") != "2" {
		t.Errorf("headers %v", resp.Header)
	}
	if s.RateLimited() != 1 || len(s.Violations()) != 0 || len(s.Messages(chA)) != 2 || s.Calls()["CreatePost"] != 3 {
		t.Errorf("rateLimited %d violations %v messages %d calls %v", s.RateLimited(), s.Violations(), len(s.Messages(chA)), s.Calls())
	}
}

func TestFailAndLatency(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := client(s, s.Token())
	s.Fail("CreatePost", 2, 503, "")
	for range 2 {
		_, resp, err := c.CreatePost(context.Background(), card("x"))
		appErr(t, err, 503, "fake.injected.app_error", resp)
	}
	s.Fail("PatchPost", 1, 429, "")
	msg := "m"
	_, resp, err := c.PatchPost(context.Background(), model.NewId(), &model.PostPatch{Message: &msg})
	if err == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || s.RateLimited() != 1 {
		t.Fatalf("injected 429: %v %+v", err, resp)
	}
	if _, _, err := c.CreatePost(context.Background(), card("x")); err != nil {
		t.Fatal(err)
	}

	s.SetLatency(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := c.CreatePost(ctx, card("x")); err == nil {
		t.Fatal("no timeout")
	}
	if time.Since(start) > time.Second {
		t.Error("latency did not give way to the canceled request")
	}
	s.SetLatency(0)
}

func TestConcurrent(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := client(s, s.Token())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			p, _, err := c.CreatePost(context.Background(), card("x"))
			if err != nil {
				t.Error(err)
				return
			}
			if _, _, err := c.CreatePost(context.Background(), &model.Post{ChannelId: chA, RootId: p.Id, Message: "r"}); err != nil {
				t.Error(err)
			}
			_ = s.Messages(chA)
		})
	}
	wg.Wait()
	ms := s.Messages(chA)
	if len(ms) != 20 {
		t.Fatalf("%d messages", len(ms))
	}
	for i, m := range ms {
		if len(m.Replies) != 1 || i > 0 && !m.CreateAt.After(ms[i-1].CreateAt) {
			t.Errorf("message %d: %+v", i, m)
		}
	}
}

// TestChannelPostsPaging: the posts API's page, after and before queries
// as the server answers them: time order whatever the insertion order,
// per_page at most 200, replies counted, their roots carried along, deleted
// posts left out.
func TestChannelPostsPaging(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := client(s, s.Token())
	ctx := context.Background()
	t0 := time.Unix(1700000000, 0)
	ids := map[int]string{}
	for _, sec := range []int{3, 0, 4, 1, 2} { // out of order
		ids[sec] = s.AddAt(chA, strconv.Itoa(sec), "", t0.Add(time.Duration(sec)*time.Second))
	}
	texts := func(l *model.PostList) string {
		var out []string
		for _, id := range l.Order {
			out = append(out, l.Posts[id].Message)
		}
		return strings.Join(out, " ")
	}
	for _, q := range []struct {
		name string
		get  func() (*model.PostList, *model.Response, error)
		want string
	}{
		{"page 0", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsForChannel(ctx, chA, 0, 2, "", false, false)
		}, "4 3"},
		{"page 2", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsForChannel(ctx, chA, 2, 2, "", false, false)
		}, "0"},
		{"page 3", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsForChannel(ctx, chA, 3, 2, "", false, false)
		}, ""},
		{"after 1", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsAfter(ctx, chA, ids[1], 0, 2, "", false, false)
		}, "3 2"},
		{"after 1, page 1", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsAfter(ctx, chA, ids[1], 1, 2, "", false, false)
		}, "4"},
		{"before 3", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsBefore(ctx, chA, ids[3], 0, 5, "", false, false)
		}, "2 1 0"},
		{"after a post that is not there", func() (*model.PostList, *model.Response, error) {
			return c.GetPostsAfter(ctx, chA, model.NewId(), 0, 5, "", false, false)
		}, ""},
	} {
		l, _, err := q.get()
		if err != nil || texts(l) != q.want {
			t.Errorf("%s: %q, %v; want %q", q.name, texts(l), err, q.want)
		}
	}
	// A reply counts; its root comes along outside the order.
	r, _, err := c.CreatePost(ctx, &model.Post{ChannelId: chA, RootId: ids[0], Message: "reply"})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := c.GetPostsForChannel(ctx, chA, 0, 1, "", false, false)
	if err != nil || len(l.Order) != 1 || l.Order[0] != r.Id || l.Posts[ids[0]] == nil {
		t.Errorf("a reply's page: %+v, %v", l, err)
	}
	// per_page beyond 200 is 200; deleted posts are left out.
	for i := range 250 {
		s.AddAt(chB, "x", "", t0.Add(time.Duration(i)*time.Millisecond))
	}
	s.Delete(s.AddAt(chB, "deleted", "", t0.Add(time.Hour)))
	l, _, err = c.GetPostsForChannel(ctx, chB, 0, 1000, "", false, false)
	if err != nil || len(l.Order) != 200 || l.Posts[l.Order[0]].Message != "x" {
		t.Errorf("per_page 1000: %d posts, %v", len(l.Order), err)
	}
	_, resp, err := c.GetPostsAfter(ctx, chA, "not-an-id", 0, 5, "", false, false)
	appErr(t, err, http.StatusBadRequest, "api.context.invalid_url_param.app_error", resp)
	calls := s.Calls()
	if calls["GetPostsForChannel"] != 5 || calls["GetPostsAfter"] != 4 || calls["GetPostsBefore"] != 1 {
		t.Errorf("calls %v", calls)
	}
}

// TestClick: a click is the call the server makes, with the user, channel,
// team and post it knows; the answer's update and ephemeral text are
// applied as the server applies them. CallAction sends any call.
func TestClick(t *testing.T) {
	const alice, bob = "aliceuserid000000000000000", "bobuserid00000000000000000"
	var got []model.PostActionIntegrationRequest
	var mu sync.Mutex
	answer := `{"ephemeral_text":"done"}`
	integration := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req model.PostActionIntegrationRequest
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad call", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		a := answer
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, a)
	}))
	defer integration.Close()
	s := mattermostfake.New(mattermostfake.Options{Users: map[string]string{alice: "alice", bob: "bob"},
		Members: map[string][]string{chA: {alice}}})
	defer s.Close()
	s.SetActionTarget("https://klaxon.example.com", integration.URL)
	c := client(s, s.Token())
	ctx := context.Background()
	p, _, err := c.CreatePost(ctx, card("hello", button("https://klaxon.example.com/mattermost/actions")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Click(ctx, p.Id, "ack", alice)
	if err != nil || res.Status != 200 || res.Updated || res.Response.EphemeralText != "done" {
		t.Fatalf("click: %+v, %v", res, err)
	}
	r := got[0]
	if r.UserId != alice || r.UserName != "alice" || r.ChannelId != chA || r.PostId != p.Id || r.TeamId != mattermostfake.TeamID ||
		r.ChannelName == "" || r.TriggerId == "" || r.Type != model.PostActionTypeButton || r.Context["key"] != "k" {
		t.Errorf("the call %+v", r)
	}
	if e := s.Ephemerals(alice); len(e) != 1 || e[0] != "done" {
		t.Errorf("ephemerals %q", e)
	}
	url, ctxv, ok := s.ActionIntegration(p.Id, "ack")
	if !ok || url != "https://klaxon.example.com/mattermost/actions" || ctxv["key"] != "k" {
		t.Errorf("ActionIntegration = %q %v %v", url, ctxv, ok)
	}
	// An answer's update replaces the post.
	mu.Lock()
	answer = `{"update":{"message":"updated","props":{"klaxon_incident":"INC-1"}}}`
	mu.Unlock()
	if res, err := s.Click(ctx, p.Id, "ack", alice); err != nil || !res.Updated {
		t.Fatalf("click with an update: %+v, %v", res, err)
	}
	if m := s.Messages(chA)[0]; m.Text != "updated" || m.ClickUpdates != 1 || m.Edits != 0 {
		t.Errorf("after the update: %+v", m)
	}
	// Who may click, and what.
	for name, f := range map[string]func() (*mattermostfake.ClickResult, error){
		"not a member":   func() (*mattermostfake.ClickResult, error) { return s.Click(ctx, p.Id, "ack", bob) },
		"no such user":   func() (*mattermostfake.ClickResult, error) { return s.Click(ctx, p.Id, "ack", model.NewId()) },
		"no such post":   func() (*mattermostfake.ClickResult, error) { return s.Click(ctx, model.NewId(), "ack", alice) },
		"no such button": func() (*mattermostfake.ClickResult, error) { return s.Click(ctx, p.Id, "resolve", alice) },
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: clicked", name)
		}
	}
	// A call the server never made.
	res, err = s.CallAction(ctx, integration.URL, model.PostActionIntegrationRequest{UserId: bob, ChannelId: chA, PostId: p.Id})
	if err != nil || res.Status != 200 || len(got) != 3 || got[2].UserId != bob {
		t.Errorf("forged call: %+v, %v", res, err)
	}
}

// TestChannelMember answers like the server: 200 for a member, 404 for
// anyone else, 403 for a channel the bot cannot read.
func TestChannelMember(t *testing.T) {
	const alice = "aliceuserid000000000000000"
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}, Members: map[string][]string{chA: {alice}}})
	defer s.Close()
	c := client(s, s.Token())
	ctx := context.Background()
	if m, _, err := c.GetChannelMember(ctx, chA, alice, ""); err != nil || m.UserId != alice || m.ChannelId != chA {
		t.Errorf("member: %+v, %v", m, err)
	}
	_, resp, err := c.GetChannelMember(ctx, chA, model.NewId(), "")
	appErr(t, err, http.StatusNotFound, "app.channel.get_member.missing.app_error", resp)
	_, resp, err = c.GetChannelMember(ctx, chB, alice, "")
	appErr(t, err, http.StatusForbidden, "api.context.permissions.app_error", resp)
	if s.Calls()["GetChannelMember"] != 3 {
		t.Errorf("calls %v", s.Calls())
	}
}

// TestRunCommand: a slash command is the form the server posts (9.10's
// fields: no root_id unless CommandRootID), and its answer is shown as the
// server shows it: an ephemeral post whose buttons its user alone can
// click (no update: the server cannot update such a post), or a post in
// the channel; a failed command is the server's 500.
func TestRunCommand(t *testing.T) {
	const alice, bob = "aliceuserid000000000000000", "bobuserid00000000000000000"
	var mu sync.Mutex
	var forms []map[string][]string
	var auth []string
	answer, ctype, status := "", "application/json", 200
	integration := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path == "/actions" {
			// An action call.
			mu.Lock()
			a := answer
			mu.Unlock()
			io.WriteString(w, a)
			return
		}
		mu.Lock()
		forms, auth = append(forms, r.PostForm), append(auth, r.Header.Get("Authorization"))
		a, ct, st := answer, ctype, status
		mu.Unlock()
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(st)
		io.WriteString(w, a)
	}))
	defer integration.Close()
	for _, withRoot := range []bool{false, true} {
		s := mattermostfake.New(mattermostfake.Options{Users: map[string]string{alice: "alice", bob: "bob"},
			Members: map[string][]string{chA: {alice, bob}}, CommandRootID: withRoot})
		s.SetActionTarget("https://klaxon.example.com", integration.URL)
		ctx := context.Background()
		c := client(s, s.Token())
		root, _, err := c.CreatePost(ctx, card("the card"))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		answer = `{"response_type":"ephemeral","text":"which one?","attachments":[{"actions":[{"id":"choice1","name":"INC-2","type":"button",` +
			`"integration":{"url":"https://klaxon.example.com/actions","context":{"key":"k2","card":"` + root.Id + `"}}}]}]}`
		mu.Unlock()
		cmd := mattermostfake.Command{URL: "https://klaxon.example.com/commands", Token: "tok", Channel: chA, User: alice, Text: "ack", RootID: root.Id}
		res, err := s.RunCommand(ctx, cmd)
		if err != nil || res.Status != 200 || res.Ephemeral == "" || res.Post != "" {
			t.Fatalf("command: %+v, %v", res, err)
		}
		mu.Lock()
		f := forms[len(forms)-1]
		if a := auth[len(auth)-1]; a != "Token tok" || f["token"][0] != "tok" || f["text"][0] != "ack" || f["command"][0] != "/incident" ||
			f["user_id"][0] != alice || f["channel_id"][0] != chA || f["trigger_id"][0] == "" || f["response_url"][0] == "" {
			t.Errorf("request %v, %q", f, a)
		}
		if _, sent := f["root_id"]; sent != withRoot || withRoot && f["root_id"][0] != root.Id {
			t.Errorf("CommandRootID %v: root_id %v", withRoot, f["root_id"])
		}
		mu.Unlock()
		eph := s.EphemeralPosts(alice)
		if len(eph) != 1 || eph[0].Text != "which one?" || len(eph[0].Attachment) != 1 || len(s.EphemeralPosts(bob)) != 0 || len(s.Messages(chA)) != 1 {
			t.Fatalf("ephemeral posts %+v", eph)
		}
		// Only alice has the post; her click calls with its id and channel.
		if _, err := s.Click(ctx, res.Ephemeral, "choice1", bob); err == nil {
			t.Error("bob clicked alice's ephemeral post")
		}
		mu.Lock()
		answer = `{"ephemeral_text":"INC-2: Acknowledged by alice."}`
		mu.Unlock()
		cl, err := s.Click(ctx, res.Ephemeral, "choice1", alice)
		if err != nil || cl.Request.PostId != res.Ephemeral || cl.Request.ChannelId != chA || cl.Request.Context["card"] != root.Id {
			t.Fatalf("click: %+v, %v", cl, err)
		}
		if e := s.Ephemerals(alice); len(e) != 2 || e[1] != "INC-2: Acknowledged by alice." {
			t.Errorf("ephemerals %q", e)
		}
		mu.Lock()
		answer = `{"update":{"message":"done"}}`
		mu.Unlock()
		if _, err := s.Click(ctx, res.Ephemeral, "choice1", alice); err == nil || len(s.Violations()) != 1 {
			t.Errorf("an update of an ephemeral post: %v, violations %q", err, s.Violations())
		}
		// In the channel; a failing command.
		mu.Lock()
		answer = `{"response_type":"in_channel","text":"alice declared INC-3"}`
		mu.Unlock()
		if res, err := s.RunCommand(ctx, cmd); err != nil || res.Post == "" || len(s.Messages(chA)[0].Replies) != 1 {
			t.Errorf("in channel: %+v, %v", res, err)
		}
		mu.Lock()
		status = 500
		mu.Unlock()
		if _, err := s.RunCommand(ctx, cmd); err == nil || !strings.Contains(err.Error(), "Command with a trigger of 'incident' failed") {
			t.Errorf("a failing command: %v", err)
		}
		mu.Lock()
		status = 200
		mu.Unlock()
		if _, err := s.RunCommand(ctx, mattermostfake.Command{URL: cmd.URL, Channel: chB, User: alice}); err == nil {
			t.Error("a command in a channel alice is not in")
		}
		s.Close()
	}
}

// TestBotLeavesChannel: a bot out of a channel cannot post or edit there
// (403, as for one never added), and can once it is added.
func TestBotLeavesChannel(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := client(s, s.Token())
	ctx := context.Background()
	p, _, err := c.CreatePost(ctx, card("hello"))
	if err != nil {
		t.Fatal(err)
	}
	s.RemoveChannel(chA)
	_, resp, err := c.CreatePost(ctx, card("again"))
	appErr(t, err, http.StatusForbidden, "api.context.permissions.app_error", resp)
	msg := "edited"
	_, resp, err = c.PatchPost(ctx, p.Id, &model.PostPatch{Message: &msg})
	appErr(t, err, http.StatusForbidden, "api.context.permissions.app_error", resp)
	s.AddChannel(chA)
	if _, _, err := c.PatchPost(ctx, p.Id, &model.PostPatch{Message: &msg}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreatePost(ctx, card("again")); err != nil || len(s.Messages(chA)) != 2 {
		t.Fatalf("after AddChannel: %v", err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Error(v)
	}
}
