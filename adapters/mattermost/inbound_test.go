package mattermost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
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

func newInbound(t *testing.T, h *recorder, token string) *mattermost.Inbound {
	t.Helper()
	in, err := mattermost.NewInbound(mattermost.InboundOptions{
		CommandToken: token, Handler: h, Rejected: h.reject, ActionURL: actionURL, Sign: sign,
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
	Update *struct {
		Message string          `json:"message"`
		Props   json.RawMessage `json:"props"`
	} `json:"update"`
	EphemeralText string `json:"ephemeral_text"`
}

func TestAction(t *testing.T) {
	// The Client posts a card; its button's context is what Mattermost
	// posts back; the answer's update is the post the Client would make.
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	inc := cardtest.Payments()
	ref, err := c.Post(ctx, chA, cardOf(t, inc, cardtest.T0.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	button := s.Messages(chA)[0].Attachment[0].Actions[0]
	key := button.Integration.Context["key"].(string)

	inc.State = incidents.Acknowledged
	acked := cardOf(t, inc, cardtest.T0.Add(2*time.Minute))
	h := &recorder{reply: func(r chatops.Request) chatops.Reply {
		if r.Button != key {
			return chatops.Reply{Unauthorized: true}
		}
		return chatops.Reply{Text: "Acknowledged by @alice", Ephemeral: true, Card: acked}
	}}
	in := newInbound(t, h, cmdToken)
	w := post(t, in.Actions(), actionCall(ref, button.Integration.Context), "Content-Type", "application/json")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	a := decode[actionAnswer](t, w)
	want := chatops.Request{Platform: "mattermost", UserID: userID, UserName: "alice", Channel: chA, Thread: ref, Button: key}
	if got := h.requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("requests %+v, want %+v", got, want)
	}
	if h.deadline <= 0 || h.deadline > 10*time.Second {
		t.Errorf("handler deadline in %v", h.deadline)
	}
	if a.EphemeralText != "Acknowledged by @\u2060alice" {
		t.Errorf("ephemeral_text %q", a.EphemeralText)
	}
	if a.Update == nil {
		t.Fatal("no update")
	}
	if err := c.Update(ctx, ref, acked); err != nil {
		t.Fatal(err)
	}
	m := s.Messages(chA)[0]
	if a.Update.Message != m.Text {
		t.Errorf("update message %q, the Client's %q", a.Update.Message, m.Text)
	}
	var got, clients any
	if err := json.Unmarshal(a.Update.Props, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.Props, &clients); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, clients) {
		t.Errorf("update props\n%s\nthe Client's\n%s", a.Update.Props, m.Props)
	}
	if !bytes.Contains(a.Update.Props, []byte(`"klaxon_incident":"`+inc.ID+`"`)) ||
		!bytes.Contains(a.Update.Props, []byte(`"key":"sig.`+inc.ID+`.`)) {
		t.Errorf("props %s", a.Update.Props)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
	if r := h.rejections(); len(r) != 0 {
		t.Errorf("rejected %v", r)
	}
}

func TestActionWithoutCard(t *testing.T) {
	h := &recorder{reply: func(chatops.Request) chatops.Reply { return chatops.Reply{} }}
	in := newInbound(t, h, "")
	w := post(t, in.Actions(), actionCall(rootID, map[string]any{"key": "k1", "action": "ack"}))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["update"]; ok {
		t.Errorf("answer %s has an update", w.Body)
	}
	if len(h.requests()) != 1 {
		t.Error("handler not called")
	}
}

func TestActionRefused(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		status  int
		reason  string
		handled bool
	}{
		{"no context", actionCall(rootID, nil), 401, "no key", false},
		{"no key", actionCall(rootID, map[string]any{"action": "ack"}), 401, "no key", false},
		{"empty key", actionCall(rootID, map[string]any{"key": ""}), 401, "no key", false},
		{"key not a string", actionCall(rootID, map[string]any{"key": 42}), 401, "no key", false},
		{"key too long", actionCall(rootID, map[string]any{"key": strings.Repeat("k", mattermost.MaxKeyBytes+1)}), 401, "bad key", false},
		{"malformed", `{"post_id":`, 400, "malformed request", false},
		{"too large", `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "body too large", false},
		{"forged key", actionCall(rootID, map[string]any{"key": "forged"}), 401, "bad key", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &recorder{reply: func(chatops.Request) chatops.Reply {
				return chatops.Reply{Unauthorized: true, Text: "secret detail", Card: cardOf(t, cardtest.Payments(), cardtest.T0)}
			}}
			in := newInbound(t, h, cmdToken)
			w := post(t, in.Actions(), c.body, "Content-Type", "application/json")
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if e := decode[map[string]any](t, w); e["error"] == nil || e["update"] != nil || strings.Contains(w.Body.String(), "secret detail") {
				t.Errorf("body %s", w.Body)
			}
			if n := len(h.requests()); (n == 1) != c.handled || n > 1 {
				t.Errorf("handler called %d times", n)
			}
			if r := h.rejections(); len(r) != 1 || r[0] != "mattermost:"+c.reason {
				t.Errorf("rejected %v, want %q", r, c.reason)
			}
		})
	}
}

func TestNewInbound(t *testing.T) {
	h := &recorder{}
	bad := []mattermost.InboundOptions{
		{CommandToken: cmdToken},
		{CommandToken: "a token", Handler: h},
		{CommandToken: cmdToken, Handler: h, ActionURL: "/relative"},
	}
	for i, o := range bad {
		if _, err := mattermost.NewInbound(o); err == nil {
			t.Errorf("%d: no error", i)
		} else if strings.Contains(err.Error(), cmdToken) {
			t.Errorf("%d: the error %q holds the token", i, err)
		}
	}
	if _, err := mattermost.NewInbound(mattermost.InboundOptions{Handler: h}); err != nil {
		t.Errorf("minimal options: %v", err)
	}
}
