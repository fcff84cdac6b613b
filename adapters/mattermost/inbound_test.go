package mattermost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const (
	cmdToken = "xr3j5x3p4pfwtqc8n6dsuw8usc"
	userID   = "uuuuuuuuuuuuuuuuuuuuuuuuuu"
	rootID   = "rrrrrrrrrrrrrrrrrrrrrrrrrr"
)

// recorder is a Handler that records its requests and answers reply.
type recorder struct {
	mu       sync.Mutex
	reqs     []chatops.Request
	deadline time.Duration
	reply    func(chatops.Request) chatops.Reply

	rmu      sync.Mutex
	rejected []string
}

func (h *recorder) Handle(ctx context.Context, r chatops.Request) chatops.Reply {
	h.mu.Lock()
	h.reqs = append(h.reqs, r)
	if d, ok := ctx.Deadline(); ok {
		h.deadline = time.Until(d)
	} else {
		h.deadline = -1
	}
	h.mu.Unlock()
	if h.reply == nil {
		return chatops.Reply{}
	}
	return h.reply(r)
}

func (h *recorder) requests() []chatops.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]chatops.Request(nil), h.reqs...)
}

func (h *recorder) reject(platform, reason string) {
	h.rmu.Lock()
	defer h.rmu.Unlock()
	h.rejected = append(h.rejected, platform+":"+reason)
}

func (h *recorder) rejections() []string {
	h.rmu.Lock()
	defer h.rmu.Unlock()
	return append([]string(nil), h.rejected...)
}

// vouch is the tests' CheckButton: a key sign made for the call's
// channel passes; "expired…" keys are klaxon's but expired; any other is
// forged.
func vouch(_ context.Context, r chatops.Request) (string, chatops.Reply) {
	switch {
	case strings.HasPrefix(r.Button, "expired"):
		return "expired key", chatops.Reply{Text: "This button has expired; use /incident ack INC-42.", Ephemeral: true}
	case !strings.HasPrefix(r.Button, "sig.") || !strings.HasSuffix(r.Button, "."+r.Channel):
		return "bad key", chatops.Reply{Text: "secret detail", Ephemeral: true, Unauthorized: true}
	}
	return "", chatops.Reply{}
}

// members is a Membership that answers the same for everyone.
type members struct {
	member bool
	err    error
}

func (m members) IsMember(context.Context, string, string) (bool, error) { return m.member, m.err }

func newInbound(t *testing.T, h *recorder, token string) *mattermost.Inbound {
	t.Helper()
	return newInboundWith(t, h, token, members{member: true})
}

func newInboundWith(t *testing.T, h *recorder, token string, m mattermost.Membership) *mattermost.Inbound {
	t.Helper()
	in, err := mattermost.NewInbound(mattermost.InboundOptions{
		CommandToken: token, Handler: h, Rejected: h.reject, CheckButton: vouch, Members: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func commandForm(token string, extra ...string) url.Values {
	v := url.Values{
		"channel_id": {chA}, "user_id": {userID}, "user_name": {"alice"},
		"command": {"/incident"}, "text": {"  ack INC-42 "}, "team_domain": {"ops"},
		"response_url": {"https://chat.example.com/hooks/commands/x"}, "trigger_id": {"t"},
	}
	if token != "" {
		v.Set("token", token)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func post(t *testing.T, h http.Handler, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/mattermost/x", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type cmdAnswer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %q: %v", w.Body.String(), err)
	}
	return v
}

func TestCommand(t *testing.T) {
	h := &recorder{reply: func(r chatops.Request) chatops.Reply {
		return chatops.Reply{Text: "INC-42 acknowledged by @alice\n*cc* @channel @here @all <!channel>", Ephemeral: true}
	}}
	in := newInbound(t, h, cmdToken)
	form := commandForm(cmdToken, "root_id", rootID)
	w := post(t, in.Commands(), form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	a := decode[cmdAnswer](t, w)
	if a.ResponseType != "ephemeral" {
		t.Errorf("response_type %q", a.ResponseType)
	}
	for _, m := range []string{"@alice", "@channel", "@here", "@all", "<!channel>", "*cc*"} {
		if strings.Contains(a.Text, m) {
			t.Errorf("text %q holds %q unescaped", a.Text, m)
		}
	}
	if !strings.Contains(a.Text, "acknowledged") || !strings.Contains(a.Text, "\n") {
		t.Errorf("text %q", a.Text)
	}
	if strings.Contains(w.Body.String(), cmdToken) {
		t.Error("the answer holds the token")
	}
	want := chatops.Request{Platform: "mattermost", UserID: userID, UserName: "alice", Channel: chA,
		Thread: rootID, Text: "ack INC-42"}
	if got := h.requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("requests %+v, want %+v", got, want)
	}
	if h.deadline <= 0 || h.deadline > 10*time.Second {
		t.Errorf("handler deadline in %v, want within 10 s", h.deadline)
	}
	if r := h.rejections(); len(r) != 0 {
		t.Errorf("rejected %v", r)
	}
}

func TestCommandInChannelAndHeaderToken(t *testing.T) {
	h := &recorder{reply: func(chatops.Request) chatops.Reply { return chatops.Reply{Text: "Declared INC-43"} }}
	in := newInbound(t, h, cmdToken)
	// The header alone authenticates; no root_id: no thread.
	w := post(t, in.Commands(), commandForm("").Encode(), "Authorization", "Token "+cmdToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if a := decode[cmdAnswer](t, w); a.ResponseType != "in_channel" || !strings.Contains(a.Text, "Declared INC") {
		t.Errorf("answer %+v", a)
	}
	// Both, agreeing.
	w = post(t, in.Commands(), commandForm(cmdToken).Encode(), "Authorization", "token "+cmdToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	reqs := h.requests()
	if len(reqs) != 2 || reqs[0].Thread != "" || reqs[0].Text != "ack INC-42" {
		t.Errorf("requests %+v", reqs)
	}
}

func TestCommandRefused(t *testing.T) {
	big := commandForm(cmdToken, "text", strings.Repeat("x", 1<<20)).Encode()
	cases := []struct {
		name   string
		token  string // the Inbound's
		body   string
		header []string
		status int
		reason string
	}{
		{"missing", cmdToken, commandForm("").Encode(), nil, 401, "missing token"},
		{"bad form token", cmdToken, commandForm("wrong" + cmdToken).Encode(), nil, 401, "bad token"},
		{"prefix of the token", cmdToken, commandForm(cmdToken[:10]).Encode(), nil, 401, "bad token"},
		{"empty form token", cmdToken, "token=&text=ack", nil, 401, "bad token"},
		{"two form tokens", cmdToken, "token=" + cmdToken + "&token=x&text=ack", nil, 401, "bad token"},
		{"bad header token", cmdToken, commandForm("").Encode(), []string{"Authorization", "Token nope"}, 401, "bad token"},
		{"bad header, good form", cmdToken, commandForm(cmdToken).Encode(), []string{"Authorization", "Token nope"}, 401, "bad token"},
		{"good header, bad form", cmdToken, commandForm("nope").Encode(), []string{"Authorization", "Token " + cmdToken}, 401, "bad token"},
		{"bearer is not a token", cmdToken, commandForm("").Encode(), []string{"Authorization", "Bearer " + cmdToken}, 401, "missing token"},
		{"disabled", "", commandForm(cmdToken).Encode(), nil, 401, "commands disabled"},
		{"too large", cmdToken, big, nil, 413, "body too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &recorder{}
			in := newInbound(t, h, c.token)
			w := post(t, in.Commands(), c.body, c.header...)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if e := decode[map[string]string](t, w); e["error"] == "" {
				t.Errorf("body %s", w.Body)
			}
			if strings.Contains(w.Body.String(), cmdToken) {
				t.Error("the answer holds the token")
			}
			if len(h.requests()) != 0 {
				t.Error("the handler was called")
			}
			if r := h.rejections(); len(r) != 1 || r[0] != "mattermost:"+c.reason {
				t.Errorf("rejected %v, want %q", r, c.reason)
			}
		})
	}

	h := &recorder{}
	in := newInbound(t, h, cmdToken)
	r := httptest.NewRequest(http.MethodGet, "/mattermost/commands?"+commandForm(cmdToken).Encode(), nil)
	w := httptest.NewRecorder()
	in.Commands().ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || len(h.requests()) != 0 {
		t.Errorf("GET: status %d, %d requests", w.Code, len(h.requests()))
	}
}

func TestCommandDocument(t *testing.T) {
	doc := &chatops.Document{Name: "INC-42-postmortem.md", Title: "Postmortem INC-42 @channel",
		Content: "# INC-42\n\n```\ncode @all\n```\n"}
	h := &recorder{reply: func(chatops.Request) chatops.Reply {
		return chatops.Reply{Text: "Here it is", Ephemeral: true, Document: doc}
	}}
	in := newInbound(t, h, cmdToken)
	a := decode[cmdAnswer](t, post(t, in.Commands(), commandForm(cmdToken).Encode()))
	want := "Here it is\n\n#### Postmortem INC\\-42 @\u2060channel\n````\n# INC-42\n\n```\ncode @all\n```\n````"
	if a.Text != want {
		t.Errorf("text\n%q\nwant\n%q", a.Text, want)
	}

	// A long document is cut with a note, at a line, within the post limit.
	var sb strings.Builder
	for i := 0; sb.Len() < 100_000; i++ {
		sb.WriteString("line ")
		sb.WriteString(strings.Repeat("é", i%70))
		sb.WriteString("\n")
	}
	doc = &chatops.Document{Name: "big.md", Title: "Big", Content: sb.String()}
	a = decode[cmdAnswer](t, post(t, in.Commands(), commandForm(cmdToken).Encode()))
	n := utf8.RuneCountInString(a.Text)
	if n > mattermost.MaxRunes || n < mattermost.MaxRunes-200 {
		t.Errorf("long document: %d runes", n)
	}
	if !strings.HasPrefix(a.Text, "Here it is\n\n#### Big\n```\nline \n") || !strings.Contains(a.Text, "\n```\n_… cut") {
		t.Errorf("long document: %q … %q", a.Text[:40], a.Text[len(a.Text)-120:])
	}
	body := a.Text[strings.Index(a.Text, "```\n")+4 : strings.LastIndex(a.Text, "\n```")]
	if !strings.HasPrefix(sb.String(), body+"\n") {
		t.Error("the document was not cut at a line")
	}
}

// actionCall is the JSON Mattermost posts for a button click.
func actionCall(postID string, ctx map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"user_id": userID, "user_name": "alice", "channel_id": chA, "channel_name": "ops",
		"team_id": "tttttttttttttttttttttttttt", "team_domain": "ops", "post_id": postID,
		"trigger_id": "trig", "type": "", "data_source": "", "context": ctx,
	})
	return string(b)
}

type actionAnswer struct {
	EphemeralText string `json:"ephemeral_text"`
}

// A member's click, as the Mattermost server makes it: the Handler gets
// it, the answer is an ephemeral text and never the updated card (whose
// buttons carry the incident's other keys); the server leaves the post as
// it is, and the Client's edit (the outbox's) changes the card.
func TestAction(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}, Users: map[string]string{userID: "alice"},
		Members: map[string][]string{chA: {userID}}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	inc := cardtest.Payments()
	ref, err := c.Post(ctx, chA, cardOf(t, inc, cardtest.T0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	before := s.Messages(chA)[0]
	_, button, _ := s.ActionIntegration(ref, "ack")
	key := button["key"].(string)

	inc.State = incidents.Acknowledged
	acked := cardOf(t, inc, cardtest.T0.Add(2*time.Minute))
	h := &recorder{reply: func(r chatops.Request) chatops.Reply {
		return chatops.Reply{Text: "Acknowledged by @alice", Ephemeral: true, Card: acked}
	}}
	in, err := mattermost.NewInbound(mattermost.InboundOptions{Handler: h, Rejected: h.reject, CheckButton: vouch, Members: c})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(in.Actions())
	defer srv.Close()
	s.SetActionTarget(actionURL, srv.URL)
	res, err := s.Click(ctx, ref, "ack", userID)
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("click: %+v, %v", res, err)
	}
	want := chatops.Request{Platform: "mattermost", UserID: userID, UserName: "alice", Channel: chA, Thread: ref, Button: key}
	if got := h.requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("requests %+v, want %+v", got, want)
	}
	if h.deadline <= 0 || h.deadline > 10*time.Second {
		t.Errorf("handler deadline in %v", h.deadline)
	}
	if res.Response.EphemeralText != "Acknowledged by @\u2060alice" || res.Response.Update != nil || res.Updated {
		t.Errorf("answer %s", res.Body)
	}
	if bytes.Contains(res.Body, []byte("sig.")) || bytes.Contains(res.Body, []byte(`"update"`)) {
		t.Errorf("the answer hands back the card or keys: %s", res.Body)
	}
	if e := s.Ephemerals(userID); len(e) != 1 || e[0] != res.Response.EphemeralText {
		t.Errorf("alice saw %q", e)
	}
	if m := s.Messages(chA)[0]; m.ClickUpdates != 0 || m.Text != before.Text || !bytes.Equal(m.Props, before.Props) {
		t.Errorf("the click changed the post: %+v", m)
	}
	if r := res.Request; r.ChannelName == "" || r.TeamId == "" || r.TriggerId == "" || r.Context["action"] != "ack" {
		t.Errorf("the server's call %+v", r)
	}
	if err := c.Update(ctx, ref, acked); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(chA)[0]; m.Edits != 1 || !strings.Contains(m.Text, "Acknowledged") || !bytes.Contains(m.Props, []byte(`.`+chA+`"`)) {
		t.Errorf("after the Client's edit: %+v", m)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
	if r := h.rejections(); len(r) != 0 {
		t.Errorf("rejected %v", r)
	}
}

func TestActionRefused(t *testing.T) {
	good := map[string]any{"key": "sig.INC-42.ack." + chA, "action": "ack"}
	call := func(mod func(map[string]any)) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(actionCall(rootID, good)), &m)
		mod(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	down := errors.New("connection refused")
	cases := []struct {
		name    string
		body    string
		members members
		status  int
		reason  string
		text    string // the ephemeral text of a 200
	}{
		{"no context", actionCall(rootID, nil), members{member: true}, 401, "no key", ""},
		{"no key", actionCall(rootID, map[string]any{"action": "ack"}), members{member: true}, 401, "no key", ""},
		{"empty key", actionCall(rootID, map[string]any{"key": ""}), members{member: true}, 401, "no key", ""},
		{"key not a string", actionCall(rootID, map[string]any{"key": 42}), members{member: true}, 401, "no key", ""},
		{"key too long", actionCall(rootID, map[string]any{"key": strings.Repeat("k", mattermost.MaxKeyBytes+1)}), members{member: true}, 401, "bad key", ""},
		{"malformed", `{"post_id":`, members{member: true}, 400, "malformed request", ""},
		{"too large", `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, members{member: true}, 413, "body too large", ""},
		{"no post", call(func(m map[string]any) { delete(m, "post_id") }), members{member: true}, 400, "malformed request", ""},
		{"no user", call(func(m map[string]any) { m["user_id"] = "alice" }), members{member: true}, 400, "malformed request", ""},
		{"no channel", call(func(m map[string]any) { delete(m, "channel_id") }), members{member: true}, 400, "malformed request", ""},
		{"forged key", actionCall(rootID, map[string]any{"key": "forged"}), members{member: true}, 401, "bad key", ""},
		{"another channel's key", call(func(m map[string]any) { m["channel_id"] = chB }), members{member: true}, 401, "bad key", ""},
		{"expired key", actionCall(rootID, map[string]any{"key": "expired"}), members{member: true}, 200, "expired key", "This button has expired; use /incident ack INC\\-42\\."},
		{"not a member", actionCall(rootID, good), members{}, 200, "not a member", "Only members of this channel"},
		{"membership unknown", actionCall(rootID, good), members{err: down}, 200, "membership unknown", "Try again in a moment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &recorder{reply: func(chatops.Request) chatops.Reply {
				return chatops.Reply{Text: "acted", Card: cardOf(t, cardtest.Payments(), cardtest.T0)}
			}}
			in := newInboundWith(t, h, cmdToken, c.members)
			w := post(t, in.Actions(), c.body, "Content-Type", "application/json")
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			e := decode[map[string]any](t, w)
			if e["update"] != nil || strings.Contains(w.Body.String(), "secret detail") || strings.Contains(w.Body.String(), "acted") {
				t.Errorf("body %s", w.Body)
			}
			if c.status == 200 {
				if txt, _ := e["ephemeral_text"].(string); !strings.Contains(txt, c.text) {
					t.Errorf("ephemeral_text %q, want %q", txt, c.text)
				}
			} else if e["error"] == nil {
				t.Errorf("body %s", w.Body)
			}
			if n := len(h.requests()); n != 0 {
				t.Errorf("handler called %d times", n)
			}
			if r := h.rejections(); len(r) != 1 || r[0] != "mattermost:"+c.reason {
				t.Errorf("rejected %v, want %q", r, c.reason)
			}
		})
	}
	// The Handler's own refusal of a key (it checks again) is a 401 too.
	h := &recorder{reply: func(chatops.Request) chatops.Reply { return chatops.Reply{Unauthorized: true, Text: "secret detail"} }}
	if w := post(t, newInbound(t, h, cmdToken).Actions(), actionCall(rootID, good)); w.Code != 401 || strings.Contains(w.Body.String(), "secret") {
		t.Errorf("the Handler's refusal: %d %s", w.Code, w.Body)
	}
}

func TestNewInbound(t *testing.T) {
	h := &recorder{}
	m := members{member: true}
	bad := []mattermost.InboundOptions{
		{CommandToken: cmdToken, CheckButton: vouch, Members: m},
		{CommandToken: "a token", Handler: h, CheckButton: vouch, Members: m},
		{CommandToken: cmdToken, Handler: h, Members: m},
		{CommandToken: cmdToken, Handler: h, CheckButton: vouch},
	}
	for i, o := range bad {
		if _, err := mattermost.NewInbound(o); err == nil {
			t.Errorf("%d: no error", i)
		} else if strings.Contains(err.Error(), cmdToken) {
			t.Errorf("%d: the error %q holds the token", i, err)
		}
	}
	if _, err := mattermost.NewInbound(mattermost.InboundOptions{Handler: h, CheckButton: vouch, Members: m}); err != nil {
		t.Errorf("minimal options: %v", err)
	}
}

// A Choice's button is pressed on the command's ephemeral answer, which
// Mattermost names in post_id: the card in the button's context stands
// for it, for CheckButton and the Handler alike; the answer is ephemeral
// text, never an update (Mattermost cannot update an ephemeral post).
func TestActionChoice(t *testing.T) {
	h := &recorder{reply: func(chatops.Request) chatops.Reply {
		return chatops.Reply{Text: "INC-2: Acknowledged by alice.", Ephemeral: true}
	}}
	var checked []chatops.Request
	in, err := mattermost.NewInbound(mattermost.InboundOptions{CommandToken: cmdToken, Handler: h, Rejected: h.reject, Members: members{member: true},
		CheckButton: func(ctx context.Context, r chatops.Request) (string, chatops.Reply) {
			checked = append(checked, r)
			return vouch(ctx, r)
		}})
	if err != nil {
		t.Fatal(err)
	}
	const ephemeralID, card = "eeeeeeeeeeeeeeeeeeeeeeeeee", "cccccccccccccccccccccccccc"
	w := post(t, in.Actions(), actionCall(ephemeralID, map[string]any{"key": "sig.2." + chA, "card": card}))
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"update"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if a := decode[actionAnswer](t, w); a.EphemeralText != "INC\\-2: Acknowledged by alice\\." {
		t.Errorf("answer %+v", a)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].Thread != card || len(checked) != 1 || checked[0].Thread != card || reqs[0].Button != "sig.2."+chA {
		t.Errorf("requests %+v, checked %+v", reqs, checked)
	}
	// A card that is no post id is no click of Mattermost's.
	if w := post(t, in.Actions(), actionCall(ephemeralID, map[string]any{"key": "sig.2." + chA, "card": "../x"})); w.Code != http.StatusBadRequest || len(h.requests()) != 1 {
		t.Errorf("a bad card: %d", w.Code)
	}
}
