package telegramfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

func updateIDs(t *testing.T, a answer) []int {
	t.Helper()
	if !a.OK {
		t.Fatalf("getUpdates: %+v", a)
	}
	var list []struct {
		UpdateID int             `json:"update_id"`
		Message  json.RawMessage `json:"message"`
		Callback json.RawMessage `json:"callback_query"`
	}
	if err := json.Unmarshal(a.Result, &list); err != nil {
		t.Fatal(err)
	}
	ids := []int{}
	for _, u := range list {
		ids = append(ids, u.UpdateID)
	}
	return ids
}

func TestUpdates(t *testing.T) {
	s := New(Options{UpdatesWait: 30 * time.Millisecond})
	defer s.Close()
	alice := User{ID: 42, Username: "alice"}
	card := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "card"})
	if !card.OK {
		t.Fatal(card)
	}
	raw := s.UserMessage(-1001, alice, "/ack@klaxon_fake_bot INC-1", 1)
	var u struct {
		UpdateID int `json:"update_id"`
		Message  struct {
			MessageID int `json:"message_id"`
			From      struct {
				ID       int64  `json:"id"`
				Username string `json:"username"`
			} `json:"from"`
			Text     string `json:"text"`
			Entities []struct {
				Type   string `json:"type"`
				Length int    `json:"length"`
			} `json:"entities"`
			Reply struct {
				MessageID int `json:"message_id"`
			} `json:"reply_to_message"`
		} `json:"message"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatal(err)
	}
	m := u.Message
	if u.UpdateID != 1 || m.MessageID != 2 || m.From.ID != 42 || m.From.Username != "alice" || m.Reply.MessageID != 1 ||
		len(m.Entities) != 1 || m.Entities[0].Type != "bot_command" || m.Entities[0].Length != 20 {
		t.Errorf("update %s", raw)
	}
	s.Press(-1001, 1, alice, "k")
	if id := s.PushUpdate(map[string]any{"edited_message": map[string]any{"message_id": 9}}); id != 3 {
		t.Errorf("PushUpdate = %d", id)
	}

	get := func(params map[string]any) []int { return updateIDs(t, call(t, s, s.Token(), "getUpdates", params)) }
	if got := fmt.Sprint(get(nil)); got != "[1 2 3]" {
		t.Errorf("getUpdates: %s", got)
	}
	if got := fmt.Sprint(get(map[string]any{"offset": "2", "limit": "1"})); got != "[2]" {
		t.Errorf("offset 2 limit 1: %s", got)
	}
	if s.Pending() != 2 {
		t.Errorf("pending %d", s.Pending())
	}
	// allowed_updates filter what comes next.
	start := time.Now()
	if got := fmt.Sprint(get(map[string]any{"offset": "4", "timeout": "5", "allowed_updates": []string{"message"}})); got != "[]" {
		t.Errorf("offset 4: %s", got)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Errorf("waited %v", d)
	}
	if id := s.Press(-1001, 1, alice, "k"); id == nil {
		t.Error("Press returned nothing")
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		s.UserMessage(-1001, alice, "hello", 0)
	}()
	if got := fmt.Sprint(get(map[string]any{"offset": "4", "timeout": "5"})); got != "[5]" {
		t.Errorf("after a wait: %s", got)
	}
	if got := fmt.Sprint(get(map[string]any{"offset": "-1"})); got != "[5]" {
		t.Errorf("offset -1: %s", got)
	}

	// Webhooks.
	wantError(t, call(t, s, s.Token(), "setWebhook", map[string]any{"url": "http://x.example/hook"}), 400, "Bad Request: bad webhook: An HTTPS URL")
	wantError(t, call(t, s, s.Token(), "setWebhook", map[string]any{"url": "https://x.example:9000/hook"}), 400, "Bad Request: bad webhook: Webhook can be set up only on ports")
	wantError(t, call(t, s, s.Token(), "setWebhook", map[string]any{"url": "https://x.example/hook", "secret_token": "a b"}), 400, "Bad Request: bad webhook: secret token")
	if a := call(t, s, s.Token(), "setWebhook", map[string]any{"url": "https://x.example/hook", "secret_token": "abc_-1",
		"allowed_updates": []string{"message", "callback_query"}}); !a.OK {
		t.Errorf("setWebhook: %+v", a)
	}
	if w, ok := s.CurrentWebhook(); !ok || w.URL != "https://x.example/hook" || w.SecretToken != "abc_-1" || len(w.AllowedUpdates) != 2 {
		t.Errorf("webhook %+v", w)
	}
	wantError(t, call(t, s, s.Token(), "getUpdates", nil), 409, "Conflict: can't use getUpdates method while webhook is active")
	if a := call(t, s, s.Token(), "deleteWebhook", map[string]any{"drop_pending_updates": "true"}); !a.OK {
		t.Errorf("deleteWebhook: %+v", a)
	}
	if _, ok := s.CurrentWebhook(); ok || s.Pending() != 0 {
		t.Errorf("webhook left, pending %d", s.Pending())
	}

	// Callback answers.
	if a := call(t, s, s.Token(), "answerCallbackQuery", map[string]any{"callback_query_id": "cbq-1", "text": "Done."}); !a.OK {
		t.Errorf("answer: %+v", a)
	}
	wantError(t, call(t, s, s.Token(), "answerCallbackQuery", map[string]any{"callback_query_id": "cbq-1"}), 400, "Bad Request: query is too old")
	wantError(t, call(t, s, s.Token(), "answerCallbackQuery", map[string]any{"callback_query_id": "cbq-2", "text": strings.Repeat("a", 201)}), 400, "Bad Request: MESSAGE_TOO_LONG")
	if a := s.CallbackAnswers(); len(a) != 1 || a[0] != (CallbackAnswer{ID: "cbq-1", Text: "Done."}) {
		t.Errorf("answers %+v", a)
	}
	if v := s.Violations(); len(v) != 3 {
		t.Errorf("violations %q", v)
	}
}

func sendDoc(t *testing.T, s *Server, fields map[string]string, name, content string) answer {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if name != "" {
		part, _ := w.CreateFormFile("document", name)
		part.Write([]byte(content))
	}
	w.Close()
	resp, err := http.Post(fmt.Sprintf(s.URL(), s.Token(), "sendDocument"), w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	a.Status = resp.StatusCode
	return a
}

func TestSendDocument(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	a := sendDoc(t, s, map[string]string{"chat_id": "-1001", "caption": "<b>INC-1</b> postmortem", "parse_mode": "HTML",
		"reply_to_message_id": "7", "allow_sending_without_reply": "true"}, "pm.md", "# INC-1")
	if !a.OK {
		t.Fatalf("sendDocument: %+v", a)
	}
	want := Document{ChatID: -1001, MessageID: 1, ReplyTo: 7, FileName: "pm.md", Content: "# INC-1",
		Caption: "INC-1 postmortem", CaptionHTML: "<b>INC-1</b> postmortem", ParseMode: "HTML"}
	if d := s.Documents("-1001"); len(d) != 1 || d[0] != want {
		t.Errorf("documents %+v", d)
	}
	wantError(t, sendDoc(t, s, map[string]string{"chat_id": "-1001", "reply_to_message_id": "7"}, "pm.md", "x"), 400, "Bad Request: message to be replied not found")
	wantError(t, sendDoc(t, s, map[string]string{"chat_id": "-1001"}, "", ""), 400, "Bad Request: there is no document")
	wantError(t, sendDoc(t, s, map[string]string{"chat_id": "-1001"}, "pm.md", ""), 400, "Bad Request: file must be non-empty")
	wantError(t, sendDoc(t, s, map[string]string{"chat_id": "-1001", "caption": "<b>x", "parse_mode": "HTML"}, "pm.md", "x"), 400, "Bad Request: can't parse entities")
	wantError(t, sendDoc(t, s, map[string]string{"chat_id": "-1001", "caption": strings.Repeat("a", 1025)}, "pm.md", "x"), 400, "Bad Request: message caption is too long")
	if v := s.Violations(); len(v) != 4 {
		t.Errorf("violations %q", v)
	}
	if n := len(s.Documents("-1001")); n != 1 {
		t.Errorf("%d documents", n)
	}
}
