package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const (
	chatID       int64 = -1001234567890
	testSecret         = "s3cret-Webhook_token"
	fakeBotName        = "klaxon_fake_bot"
	webhookRoute       = "/telegram/webhook"
)

var alice = telegramfake.User{ID: 42, Username: "alice", FirstName: "Alice"}

// recorder is a Handler that records the requests and answers with reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []chatops.Request
	reply func(chatops.Request) chatops.Reply
	ok    []bool // whether each call had a deadline within handlerTimeout
}

func (h *recorder) Handle(ctx context.Context, r chatops.Request) chatops.Reply {
	dl, ok := ctx.Deadline()
	h.mu.Lock()
	h.reqs = append(h.reqs, r)
	h.ok = append(h.ok, ok && time.Until(dl) <= handlerTimeout)
	f := h.reply
	h.mu.Unlock()
	if f == nil {
		return chatops.Reply{}
	}
	return f(r)
}

func (h *recorder) requests() []chatops.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, ok := range h.ok {
		if !ok {
			panic("handler call " + string(rune('0'+i)) + " without a deadline")
		}
	}
	return append([]chatops.Request(nil), h.reqs...)
}

type rejections struct {
	mu   sync.Mutex
	list []string
}

func (r *rejections) add(platform, reason string) {
	r.mu.Lock()
	r.list = append(r.list, platform+": "+reason)
	r.mu.Unlock()
}

func (r *rejections) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newInbound(t *testing.T, s *telegramfake.Server, h chatops.Handler, rej *rejections, secret string) *Inbound {
	t.Helper()
	o := InboundOptions{Token: s.Token(), APIEndpoint: s.URL(), WebhookSecret: secret, Handler: h, Log: quietLog()}
	if rej != nil {
		o.Rejected = rej.add
	}
	in, err := NewInbound(o)
	if err != nil {
		t.Fatal(err)
	}
	in.backoff, in.maxBackoff = 10*time.Millisecond, 40*time.Millisecond
	return in
}

func deliver(t *testing.T, in *Inbound, secret string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, webhookRoute, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(secretHeader, secret)
	}
	w := httptest.NewRecorder()
	in.Webhook().ServeHTTP(w, r)
	return w
}

func postCard(t *testing.T, s *telegramfake.Server) (ref string, id int) {
	t.Helper()
	ref, err := newClient(t, s).Post(context.Background(), chat, card(t, cardtest.Payments(), t0))
	if err != nil {
		t.Fatal(err)
	}
	_, id, err = ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return ref, id
}

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		text, bot, want string
		ok              bool
	}{
		{"/incident ack INC-1", "", "ack INC-1", true},
		{"/incident@klaxon_bot  ack   INC-1 ", "klaxon_bot", "ack   INC-1", true},
		{"/incident", "", "help", true},
		{"/ack@klaxon_bot INC-1", "klaxon_bot", "ack INC-1", true},
		{"/ack@Klaxon_Bot INC-1", "@klaxon_bot", "ack INC-1", true},
		{"/ack@anything INC-1", "", "ack INC-1", true},
		{"/ack@other_bot INC-1", "klaxon_bot", "", false},
		{"/ACK INC-1", "", "ack INC-1", true},
		{"/ack", "", "ack", true},
		{"/status INC-7", "", "show INC-7", true},
		{"/status", "", "show", true},
		{"/start", "", "help", true},
		{"/start deeplink", "", "help", true},
		{"/note INC-1 factor: the pool\nwas small", "", "note INC-1 factor: the pool\nwas small", true},
		{"/ack\nINC-1", "", "ack INC-1", true},
		{"/sev INC-1 2", "", "sev INC-1 2", true},
		{"/postmortem INC-1", "", "postmortem INC-1", true},
		{"/declare db down", "", "declare db down", true},
		{"/help", "", "help", true},
		{"/list", "", "list", true},
		{"/timeline INC-3", "", "timeline INC-3", true},
		{"/unack INC-3", "", "unack INC-3", true},
		{"/resolve INC-3", "", "resolve INC-3", true},
		{"/reopen INC-3", "", "reopen INC-3", true},
		{"/escalate INC-3", "", "escalate INC-3", true},
		{"/snooze INC-3 1h", "", "snooze INC-3 1h", true},
		{"/lead INC-3 @bob", "", "lead INC-3 @bob", true},
		{"/role INC-3 comms @bob", "", "role INC-3 comms @bob", true},
		{"/oncall payments", "", "oncall payments", true},
		{"/weather", "", "", false},
		{"ack INC-1", "", "", false},
		{" /ack INC-1", "", "", false},
		{"", "", "", false},
		{"/", "", "", false},
	} {
		got, ok := ParseCommand(c.text, c.bot)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseCommand(%q, %q) = %q, %v; want %q, %v", c.text, c.bot, got, ok, c.want, c.ok)
		}
	}
}

func TestNewInbound(t *testing.T) {
	h := &recorder{}
	if _, err := NewInbound(InboundOptions{Token: telegramfake.Token}); err == nil {
		t.Error("no handler accepted")
	}
	if _, err := NewInbound(InboundOptions{Handler: h}); err == nil {
		t.Error("no token accepted")
	}
	bad := "has space and / secret"
	_, err := NewInbound(InboundOptions{Token: telegramfake.Token, Handler: h, WebhookSecret: bad})
	if err == nil || strings.Contains(err.Error(), bad) {
		t.Errorf("bad secret: %v", err)
	}
	if _, err := NewInbound(InboundOptions{Token: telegramfake.Token, Handler: h, WebhookSecret: strings.Repeat("a", 257)}); err == nil {
		t.Error("257-character secret accepted")
	}
	in, err := NewInbound(InboundOptions{Token: telegramfake.Token, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	if in.poller.hc.Timeout < 35*time.Second || in.client.hc.Timeout != 10*time.Second {
		t.Errorf("timeouts: poll %v, calls %v", in.poller.hc.Timeout, in.client.hc.Timeout)
	}
	in, err = NewInbound(InboundOptions{Token: telegramfake.Token, Handler: h, HTTPClient: &http.Client{}})
	if err != nil || in.poller.hc.Timeout != 0 {
		t.Errorf("no timeout stays none: %v %v", in.poller.hc.Timeout, err)
	}
}

func TestWebhookRefused(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	h := &recorder{}
	rej := &rejections{}
	in := newInbound(t, s, h, rej, testSecret)
	update := s.UserMessage(chatID, alice, "/ack INC-1", 0)

	for _, c := range []struct {
		name, secret, reason string
	}{
		{"missing", "", "missing secret"},
		{"bad", "s3cret-Webhook_tokeN", "bad secret"},
		{"prefix", testSecret[:5], "bad secret"},
		{"longer", testSecret + "x", "bad secret"},
	} {
		w := deliver(t, in, c.secret, update)
		var body map[string]string
		if w.Code != http.StatusUnauthorized || json.Unmarshal(w.Body.Bytes(), &body) != nil || body["error"] == "" {
			t.Errorf("%s: %d %q", c.name, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), testSecret) {
			t.Errorf("%s: the answer holds the secret", c.name)
		}
		if got := rej.get(); len(got) == 0 || got[len(got)-1] != "telegram: "+c.reason {
			t.Errorf("%s: rejections %q", c.name, got)
		}
	}

	// No secret configured: every request is refused, even one without the header.
	off := newInbound(t, s, h, rej, "")
	for _, secret := range []string{"", testSecret} {
		if w := deliver(t, off, secret, update); w.Code != http.StatusUnauthorized {
			t.Errorf("webhook disabled, secret %q: %d", secret, w.Code)
		}
	}
	if got := rej.get(); len(got) != 6 || got[5] != "telegram: webhook disabled" {
		t.Errorf("rejections %q", got)
	}
	if err := off.SetWebhook(context.Background(), "https://klaxon.example.com/telegram/webhook"); err == nil {
		t.Error("SetWebhook without a secret")
	}

	// Not POST.
	w := httptest.NewRecorder()
	in.Webhook().ServeHTTP(w, httptest.NewRequest(http.MethodGet, webhookRoute, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	// Too large, even with the secret.
	big := append([]byte(`{"update_id":1,"message":{"text":"`), bytes.Repeat([]byte("a"), maxInbound)...)
	if w := deliver(t, in, testSecret, append(big, `"}}`...)); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("large: %d", w.Code)
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("the handler was called %d times", n)
	}
	if c := s.Calls(); c["sendMessage"] != 0 || c["answerCallbackQuery"] != 0 {
		t.Errorf("calls %v", c)
	}
}

func TestWebhookCommand(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	h := &recorder{}
	rej := &rejections{}
	in := newInbound(t, s, h, rej, testSecret)
	ref, cardID := postCard(t, s)

	// A command in the card's thread, addressed to the bot.
	h.reply = func(chatops.Request) chatops.Reply {
		return chatops.Reply{Text: "Acknowledged <b>INC-1</b> & told @channel\nsee https://evil.example/x · /resolve INC-1", Ephemeral: true}
	}
	w := deliver(t, in, testSecret, s.UserMessage(chatID, alice, "/ack@"+fakeBotName+" INC-1", cardID))
	if w.Code != http.StatusOK {
		t.Fatalf("webhook: %d %s", w.Code, w.Body)
	}
	reqs := h.requests()
	want := chatops.Request{Platform: "telegram", UserID: "42", UserName: "alice", Channel: chat, Thread: ref, Text: "ack INC-1"}
	if len(reqs) != 1 || reqs[0] != want {
		t.Fatalf("requests %+v, want %+v", reqs, want)
	}
	msgs := s.Messages(chat)
	if len(msgs) != 1 || len(msgs[0].Replies) != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	shown, sent := msgs[0].Replies[1], msgs[0].RepliesHTML[1]
	wantShown := "Acknowledged <b>INC-1</b> & told @\u2060channel\nsee https:\u2060//evil.\u2060example/x · /resolve INC-1"
	if shown != wantShown {
		t.Errorf("reply shown %q, want %q", shown, wantShown)
	}
	if !strings.Contains(sent, "&lt;b&gt;INC-1&lt;/b&gt; &amp; told") {
		t.Errorf("reply sent %q", sent)
	}

	// /incident without a reply, from a user without a username; the
	// answer is a reply to the command, and a document.
	h.reply = func(r chatops.Request) chatops.Reply {
		return chatops.Reply{Text: "Here it is.", Document: &chatops.Document{
			Name: "../INC-1-postmortem.md", Title: "INC-1 <postmortem> @here", Content: "# INC-1\n\nroot cause",
		}}
	}
	bob := telegramfake.User{ID: 7, FirstName: "Bob"}
	deliver(t, in, testSecret, s.UserMessage(chatID, bob, "/incident postmortem INC-1", 0))
	reqs = h.requests()
	want = chatops.Request{Platform: "telegram", UserID: "7", UserName: "Bob", Channel: chat, Text: "postmortem INC-1"}
	if len(reqs) != 2 || reqs[1] != want {
		t.Fatalf("requests %+v, want %+v", reqs, want)
	}
	msgs = s.Messages(chat)
	if len(msgs) != 2 || msgs[1].From != 7 || len(msgs[1].Replies) != 1 || msgs[1].Replies[0] != "Here it is." {
		t.Fatalf("messages %+v", msgs)
	}
	docs := s.Documents(chat)
	if len(docs) != 1 {
		t.Fatalf("documents %+v", docs)
	}
	d := docs[0]
	if d.FileName != ".._INC-1-postmortem.md" || d.Content != "# INC-1\n\nroot cause" || d.ReplyTo != msgs[1].MessageID ||
		d.Caption != "INC-1 <postmortem> @\u2060here" || d.ParseMode != "HTML" {
		t.Errorf("document %+v", d)
	}

	// Ignored: other bots' commands, unknown commands, plain messages,
	// other update kinds, malformed updates.
	h.reply = func(chatops.Request) chatops.Reply { return chatops.Reply{Text: "nope"} }
	for _, body := range [][]byte{
		s.UserMessage(chatID, alice, "/ack@other_bot INC-1", 0),
		s.UserMessage(chatID, alice, "/weather", 0),
		s.UserMessage(chatID, alice, "ack INC-1", 0),
		[]byte(`{"update_id":99,"edited_message":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"/ack"}}`),
		[]byte(`{"update_id":100,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"/ack"}}`), // no from
		[]byte(`{"update_id":101,"message":`),
		[]byte(`[]`),
		[]byte(`{"update_id":"x"}`),
	} {
		if w := deliver(t, in, testSecret, body); w.Code != http.StatusOK {
			t.Errorf("%s: %d", body, w.Code)
		}
	}
	if n := len(h.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if c := s.Calls(); c["getMe"] != 1 || c["sendMessage"] != 3 {
		t.Errorf("calls %v", c)
	}
	if r := rej.get(); len(r) != 0 {
		t.Errorf("rejections %q", r)
	}
	noViolations(t, s)
}

func TestWebhookLongReply(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	long := strings.Repeat("a<b>&c @all ", 1000) + "😀"
	h := &recorder{reply: func(chatops.Request) chatops.Reply { return chatops.Reply{Text: long} }}
	in := newInbound(t, s, h, nil, testSecret)
	deliver(t, in, testSecret, s.UserMessage(chatID, alice, "/list", 0))
	msgs := s.Messages(chat)
	if len(msgs) != 1 || len(msgs[0].Replies) != 1 {
		t.Fatalf("messages %+v", msgs)
	}
	if r := msgs[0].Replies[0]; !strings.HasSuffix(r, "…") || !strings.HasPrefix(r, "a<b>&c @\u2060all a<b>") {
		t.Errorf("reply %q…%q", r[:40], r[len(r)-20:])
	}
	if s := replyHTML(" \n\t "); s != "" {
		t.Errorf("blank reply %q", s)
	}
	if s := replyHTML("a\x00b\r\n\u202Ec"); s != "a b\nc" {
		t.Errorf("cleaned reply %q", s)
	}
	noViolations(t, s)
}

func TestWebhookCallback(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	ref, cardID := postCard(t, s)
	h := &recorder{}
	in := newInbound(t, s, h, nil, testSecret)

	long := strings.Repeat("é", 150) + strings.Repeat("😀", 100)
	h.reply = func(r chatops.Request) chatops.Reply {
		switch r.Button {
		case "good":
			return chatops.Reply{Text: long}
		case "forged":
			return chatops.Reply{Text: "ignored", Unauthorized: true}
		case "panic":
			panic("boom")
		}
		return chatops.Reply{}
	}
	for _, data := range []string{"good", "forged", "quiet", "panic", ""} {
		if w := deliver(t, in, testSecret, s.Press(chatID, cardID, alice, data)); w.Code != http.StatusOK {
			t.Errorf("%q: %d", data, w.Code)
		}
	}
	reqs := h.requests()
	if len(reqs) != 4 {
		t.Fatalf("requests %+v", reqs)
	}
	want := chatops.Request{Platform: "telegram", UserID: "42", UserName: "alice", Channel: chat, Thread: ref, Button: "good"}
	if reqs[0] != want {
		t.Errorf("request %+v, want %+v", reqs[0], want)
	}
	answers := s.CallbackAnswers()
	if len(answers) != 5 {
		t.Fatalf("answers %+v", answers)
	}
	wantText := []string{"", notValid, "", "", notValid}
	wantText[0] = strings.Repeat("é", 150) + strings.Repeat("😀", 24) + "…"
	for i, a := range answers {
		if a.ID != "cbq-"+string(rune('1'+i)) || a.Text != wantText[i] || a.ShowAlert {
			t.Errorf("answer %d: %+v, want text %q", i, a, wantText[i])
		}
	}
	// More than a toast holds is sent in full too, as a reply to the
	// message pressed.
	if r := s.Messages(chat)[0].Replies; len(r) != 1 || r[0] != long {
		t.Errorf("replies to the card %q, want the long answer once", r)
	}
	noViolations(t, s)
}

func TestSetWebhookAndPoll(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{UpdatesWait: 50 * time.Millisecond})
	defer s.Close()
	ref, cardID := postCard(t, s)
	h := &recorder{reply: func(r chatops.Request) chatops.Reply {
		if r.Button != "" {
			return chatops.Reply{Text: "Acknowledged."}
		}
		return chatops.Reply{Text: "Resolved INC-1."}
	}}
	in := newInbound(t, s, h, nil, testSecret)
	ctx := context.Background()

	if err := in.SetWebhook(ctx, "http://klaxon.example.com/telegram/webhook"); err == nil {
		t.Error("http webhook accepted")
	}
	hook := "https://klaxon.example.com/telegram/webhook"
	if err := in.SetWebhook(ctx, hook); err != nil {
		t.Fatal(err)
	}
	wh, ok := s.CurrentWebhook()
	if !ok || wh.URL != hook || wh.SecretToken != testSecret || strings.Join(wh.AllowedUpdates, ",") != "message,callback_query" {
		t.Fatalf("webhook %+v %v", wh, ok)
	}
	// An update Telegram would deliver to the webhook.
	s.UserMessage(chatID, alice, "/resolve INC-1", cardID)

	// Two failures first (registered before polling starts, so that they
	// cannot hit the final confirmation instead).
	s.Fail("getUpdates", 2, 502, "Bad Gateway")
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Poll(pctx) }()
	s.Press(chatID, cardID, alice, "key")
	waitFor(t, func() bool { return len(s.CallbackAnswers()) == 1 && len(h.requests()) == 2 })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Poll: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Poll did not return")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Poll took %v to return", d)
	}
	if _, ok := s.CurrentWebhook(); ok {
		t.Error("the webhook was not deleted")
	}
	if n := s.Pending(); n != 0 {
		t.Errorf("%d updates not confirmed", n)
	}
	reqs := h.requests()
	want := []chatops.Request{
		{Platform: "telegram", UserID: "42", UserName: "alice", Channel: chat, Thread: ref, Text: "resolve INC-1"},
		{Platform: "telegram", UserID: "42", UserName: "alice", Channel: chat, Thread: ref, Button: "key"},
	}
	if len(reqs) != 2 || reqs[0] != want[0] || reqs[1] != want[1] {
		t.Errorf("requests %+v, want %+v", reqs, want)
	}
	if a := s.CallbackAnswers(); a[0].Text != "Acknowledged." {
		t.Errorf("answers %+v", a)
	}
	if r := s.Messages(chat)[0].Replies; len(r) != 2 || r[1] != "Resolved INC-1." {
		t.Errorf("replies %q", r)
	}
	if strings.Join(s.AllowedUpdates(), ",") != "message,callback_query" {
		t.Errorf("allowed updates %q", s.AllowedUpdates())
	}
	if c := s.Calls(); c["getUpdates"] < 3 || c["deleteWebhook"] != 1 {
		t.Errorf("calls %v", c)
	}

	// A new Poll does not see them again.
	pctx, cancel = context.WithCancel(ctx)
	go func() { done <- in.Poll(pctx) }()
	s.UserMessage(chatID, alice, "/help", 0)
	waitFor(t, func() bool { return len(h.requests()) == 3 })
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if reqs := h.requests(); len(reqs) != 3 || reqs[2].Text != "help" {
		t.Errorf("requests %+v", reqs)
	}
	noViolations(t, s)
}

func TestPollErrors(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{UpdatesWait: 20 * time.Millisecond})
	defer s.Close()
	h := &recorder{}

	// A wrong token ends Poll, without saying the token.
	bad := "999:WRONG-token"
	in, err := NewInbound(InboundOptions{Token: bad, APIEndpoint: s.URL(), Handler: h, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	err = in.Poll(context.Background())
	if e := wantCode(t, err, "unauthorized", false); strings.Contains(e.Error(), bad) {
		t.Errorf("the error shows the token: %v", e)
	}

	// deleteWebhook failing for a while, then getUpdates rate limited.
	in = newInbound(t, s, h, nil, "")
	s.Fail("deleteWebhook", 2, 500, "Internal Server Error")
	s.Fail("getUpdates", 1, 429, "Too Many Requests: retry after 1")
	s.UserMessage(chatID, alice, "/list", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Poll(ctx) }()
	waitFor(t, func() bool { return len(h.requests()) == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if c := s.Calls(); c["deleteWebhook"] != 1+3 { // the bad token's, then two failures
		t.Errorf("calls %v", c)
	}

	// A Poll whose context has ended returns at once.
	if err := in.Poll(ctx); err != nil {
		t.Error(err)
	}
	// A malformed update is skipped, the next processed.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	s.PushUpdate(map[string]any{"message": map[string]any{"message_id": "not a number"}})
	s.UserMessage(chatID, alice, "/help", 0)
	go func() { done <- in.Poll(ctx) }()
	waitFor(t, func() bool { return len(h.requests()) == 2 })
	cancel()
	<-done
	if n := s.Pending(); n != 0 {
		t.Errorf("%d pending", n)
	}
	noViolations(t, s)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCallbackTextAndFileName(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "document.md",
		"..":                           "document.md",
		"a/b\\c\x00d\u202e.md":         "a_b_c_d_.md",
		strings.Repeat("é", 100) + "x": strings.Repeat("é", 64),
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := callbackText(strings.Repeat("a", 200)); got != strings.Repeat("a", 200) {
		t.Errorf("200: %q", got)
	}
	if got := callbackText(strings.Repeat("a", 201)); got != strings.Repeat("a", 199)+"…" {
		t.Errorf("201: %q", got)
	}
	if got := callbackText("\xff ok "); got != "\uFFFD ok" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

// A command Telegram kept through an outage does not act when it finally
// arrives: an old "/ack" would act on today's incident.
func TestOldCommandIgnored(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	h := &recorder{reply: func(chatops.Request) chatops.Reply { return chatops.Reply{Text: "ok"} }}
	in := newInbound(t, s, h, nil, testSecret)
	in.now = func() time.Time { return time.Now().Add(time.Hour) }
	if w := deliver(t, in, testSecret, s.UserMessage(chatID, alice, "/ack", 0)); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if n := len(h.requests()); n != 0 {
		t.Fatalf("an hour-old command reached the handler (%d requests)", n)
	}
	in.now = time.Now
	deliver(t, in, testSecret, s.UserMessage(chatID, alice, "/ack", 0))
	if n := len(h.requests()); n != 1 {
		t.Fatalf("a fresh command: %d requests", n)
	}
}
