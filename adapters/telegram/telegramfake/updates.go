package telegramfake

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the methods below.
const (
	MaxCallbackAnswer = 200      // UTF-16 units of answerCallbackQuery's text
	MaxCaption        = 1024     // UTF-16 units of a caption as shown
	MaxDocument       = 50 << 20 // bytes of an uploaded document
)

// User is a person who writes to the bot or presses its buttons.
type User struct {
	ID        int64
	Username  string // without "@"; may be ""
	FirstName string // "" = "User <ID>"
}

func (u *User) json() map[string]any {
	first := u.FirstName
	if first == "" {
		first = "User " + strconv.FormatInt(u.ID, 10)
	}
	out := map[string]any{"id": u.ID, "is_bot": false, "first_name": first}
	if u.Username != "" {
		out["username"] = u.Username
	}
	return out
}

// CallbackAnswer is an accepted answerCallbackQuery.
type CallbackAnswer struct {
	ID        string // callback_query_id
	Text      string
	ShowAlert bool
	URL       string
}

// Document is a document accepted by sendDocument.
type Document struct {
	ChatID      int64
	MessageID   int
	ReplyTo     int    // reply_to_message_id as sent (0: none)
	FileName    string // the uploaded file's name
	Content     string
	Caption     string // as shown
	CaptionHTML string // as sent
	ParseMode   string
}

// Webhook is the webhook set by setWebhook.
type Webhook struct {
	URL            string
	SecretToken    string
	AllowedUpdates []string // nil when not given
	MaxConnections int
}

type queued struct {
	id   int
	kind string // "message", "callback_query", …
	raw  json.RawMessage
}

// PushUpdate queues update, a JSON object such as {"message": {…}}, for
// getUpdates, with the next update_id (which it returns). An update whose
// kind the last allowed_updates (of getUpdates or setWebhook) exclude is
// dropped, as Telegram does, and PushUpdate returns 0. It panics when update
// is not a JSON object with one field besides update_id.
func (s *Server) PushUpdate(update any) int {
	b, err := json.Marshal(update)
	if err != nil {
		panic("telegramfake: PushUpdate: " + err.Error())
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		panic("telegramfake: PushUpdate: the update is not a JSON object")
	}
	delete(m, "update_id")
	if len(m) != 1 {
		panic("telegramfake: PushUpdate: an update has exactly one field besides update_id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id := s.push(m)
	return id
}

// push queues m (without update_id) and returns it with its update_id;
// s.mu is held.
func (s *Server) push(m map[string]json.RawMessage) (json.RawMessage, int) {
	var kind string
	for k := range m {
		kind = k
	}
	s.updateID++
	id := s.updateID
	m["update_id"] = json.RawMessage(strconv.Itoa(id))
	raw, _ := json.Marshal(m)
	if s.allowed != nil && !contains(s.allowed, kind) {
		return raw, 0
	}
	s.updates = append(s.updates, queued{id: id, kind: kind, raw: raw})
	close(s.notify)
	s.notify = make(chan struct{})
	return raw, id
}

func contains(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

// UserMessage records that from wrote text in chat, as a reply to message
// replyTo when replyTo > 0 (a message of the chat, or the reply is to
// nothing), queues the "message" update for getUpdates and returns it (the
// JSON a webhook would receive). A text starting with "/" carries a
// bot_command entity for its first word.
func (s *Server) UserMessage(chat int64, from User, text string, replyTo int) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID[chat]++
	m := &msg{chat: chat, id: s.nextID[chat], date: s.now(), html: text, shown: text, from: &from}
	if strings.HasPrefix(text, "/") {
		n := len(text)
		if i := strings.IndexAny(text, " \n\t"); i >= 0 {
			n = i
		}
		m.entities = []entity{{Type: "bot_command", Offset: 0, Length: utf16Len(text[:n])}}
	}
	if r := s.byID[msgKey{chat, replyTo}]; r != nil {
		m.replyTo = r
		m.root = r
		if r.root != nil {
			m.root = r.root
		}
		m.root.replies = append(m.root.replies, m)
	}
	s.order[chat] = append(s.order[chat], m)
	s.byID[msgKey{chat, m.id}] = m
	body, _ := json.Marshal(m.result(true))
	raw, _ := s.push(map[string]json.RawMessage{"message": body})
	return raw
}

// Press records that from pressed the button with callback data data on
// message messageID of chat, queues the "callback_query" update for
// getUpdates and returns it (the JSON a webhook would receive). The message
// need not exist nor have such a button: forged presses are tests too.
func (s *Server) Press(chat int64, messageID int, from User, data string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queryID++
	var message map[string]any
	if m := s.byID[msgKey{chat, messageID}]; m != nil {
		message = m.result(false)
	} else {
		message = map[string]any{"message_id": messageID, "date": s.now(), "chat": map[string]any{"id": chat, "type": "supergroup"}}
	}
	q := map[string]any{
		"id":            "cbq-" + strconv.Itoa(s.queryID),
		"from":          from.json(),
		"message":       message,
		"chat_instance": "ci" + strconv.FormatInt(chat, 10),
		"data":          data,
	}
	body, _ := json.Marshal(q)
	raw, _ := s.push(map[string]json.RawMessage{"callback_query": body})
	return raw
}

// Pending counts the queued updates getUpdates has not had confirmed (by a
// later offset).
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// CurrentWebhook returns the webhook set, if any.
func (s *Server) CurrentWebhook() (Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook == nil {
		return Webhook{}, false
	}
	w := *s.webhook
	w.AllowedUpdates = append([]string(nil), w.AllowedUpdates...)
	return w, true
}

// AllowedUpdates returns the last allowed_updates given to getUpdates or
// setWebhook (nil: none given).
func (s *Server) AllowedUpdates() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.allowed...)
}

// CallbackAnswers returns the accepted answerCallbackQuery calls, in order.
func (s *Server) CallbackAnswers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.cbAnswers...)
}

// Documents returns the documents sent to chat dest (a decimal chat id), in
// order.
func (s *Server) Documents(dest string) []Document {
	chat, err := strconv.ParseInt(dest, 10, 64)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Document
	for _, d := range s.documents {
		if d.ChatID == chat {
			out = append(out, d)
		}
	}
	return out
}

// answerCallbackQuery; s.mu is held. A query answered twice is a violation.
func (s *Server) answerCallbackQuery(params map[string]string) (any, *apiError) {
	id := params["callback_query_id"]
	if id == "" {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid", false)
	}
	if s.answered[id] {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid", true)
	}
	if utf16Len(params["text"]) > MaxCallbackAnswer {
		return nil, badRequest("MESSAGE_TOO_LONG", true)
	}
	s.answered[id] = true
	s.cbAnswers = append(s.cbAnswers, CallbackAnswer{ID: id, Text: params["text"], ShowAlert: boolParam(params["show_alert"]), URL: params["url"]})
	return true, nil
}

// sendDocument takes an uploaded document (file ids and URLs are not
// faked); s.mu is held.
func (s *Server) sendDocument(params map[string]string, files map[string]upload) (any, *apiError) {
	chat, err := s.chatOf(params)
	if err != nil {
		return nil, err
	}
	f, ok := files["document"]
	if !ok {
		if params["document"] != "" {
			return nil, badRequest("wrong file identifier/HTTP URL specified", false)
		}
		return nil, badRequest("there is no document in the request", true)
	}
	if len(f.data) == 0 {
		return nil, badRequest("file must be non-empty", true)
	}
	if len(f.data) > MaxDocument {
		return nil, &apiError{status: 413, desc: "Request Entity Too Large", violation: true}
	}
	if !utf8.ValidString(f.name) {
		return nil, badRequest("file name must be encoded in UTF-8", true)
	}
	d := Document{ChatID: chat, FileName: f.name, Content: string(f.data), CaptionHTML: params["caption"], ParseMode: params["parse_mode"]}
	switch strings.ToLower(d.ParseMode) {
	case "html":
		shown, ents, perr := parseHTML(d.CaptionHTML)
		if perr != nil {
			return nil, badRequest("can't parse entities: "+perr.Error(), true)
		}
		if len(ents) > 100 {
			return nil, badRequest("too many entities", true)
		}
		d.Caption = shown
	case "":
		d.Caption = d.CaptionHTML
	default:
		return nil, badRequest("unsupported parse_mode", true)
	}
	if utf16Len(d.Caption) > MaxCaption {
		return nil, badRequest("message caption is too long", true)
	}
	if v := params["reply_to_message_id"]; v != "" {
		id, perr := strconv.Atoi(v)
		if perr != nil {
			return nil, badRequest("field \"reply_to_message_id\" must be of type Integer", true)
		}
		if s.byID[msgKey{chat, id}] == nil && !boolParam(params["allow_sending_without_reply"]) {
			return nil, badRequest("message to be replied not found", false)
		}
		d.ReplyTo = id
	}
	if err := s.allow(chat); err != nil {
		return nil, err
	}
	s.nextID[chat]++
	d.MessageID = s.nextID[chat]
	s.documents = append(s.documents, d)
	name := d.FileName
	if name == "" {
		name = "document"
	}
	out := map[string]any{
		"message_id": d.MessageID,
		"from":       map[string]any{"id": 123456, "is_bot": true, "first_name": "klaxon fake", "username": "klaxon_fake_bot"},
		"chat":       map[string]any{"id": chat, "type": "supergroup"},
		"date":       s.now(),
		"document": map[string]any{"file_id": "doc" + strconv.Itoa(d.MessageID), "file_unique_id": "u" + strconv.Itoa(d.MessageID),
			"file_name": name, "file_size": len(f.data)},
	}
	if d.Caption != "" {
		out["caption"] = d.Caption
	}
	return out, nil
}

// getUpdates answers the queued updates from offset, waiting for one at most
// min(timeout, UpdatesWait) when there is none; s.mu is held, and released
// while waiting.
func (s *Server) getUpdates(ctx context.Context, params map[string]string) (any, *apiError) {
	if s.webhook != nil {
		return nil, &apiError{status: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	offset, limit, timeout := 0, 100, 0
	var perr error
	if v := params["offset"]; v != "" {
		if offset, perr = strconv.Atoi(v); perr != nil {
			return nil, badRequest("field \"offset\" must be of type Integer", true)
		}
	}
	if v := params["limit"]; v != "" {
		if limit, perr = strconv.Atoi(v); perr != nil {
			return nil, badRequest("field \"limit\" must be of type Integer", true)
		}
		limit = min(max(limit, 1), 100)
	}
	if v := params["timeout"]; v != "" {
		if timeout, perr = strconv.Atoi(v); perr != nil || timeout < 0 {
			return nil, badRequest("field \"timeout\" must be a non-negative Integer", true)
		}
	}
	if v := params["allowed_updates"]; v != "" {
		var list []string
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return nil, badRequest("can't parse allowed updates", true)
		}
		s.allowed = list
		if len(list) == 0 {
			s.allowed = nil
		}
	}
	// Confirm the updates before offset (a negative offset keeps the last -offset).
	switch {
	case offset > 0:
		i := 0
		for i < len(s.updates) && s.updates[i].id < offset {
			i++
		}
		s.updates = s.updates[i:]
	case offset < 0:
		if n := len(s.updates) + offset; n > 0 {
			s.updates = s.updates[n:]
		}
	}
	wait := s.opts.UpdatesWait
	if wait <= 0 {
		wait = 200 * time.Millisecond
	}
	wait = min(wait, time.Duration(timeout)*time.Second)
	if len(s.updates) == 0 && wait > 0 {
		ch := s.notify
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		s.mu.Lock()
		if s.webhook != nil {
			return nil, &apiError{status: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
		}
	}
	out := []json.RawMessage{}
	for _, u := range s.updates {
		if len(out) == limit {
			break
		}
		out = append(out, u.raw)
	}
	return out, nil
}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// setWebhook; s.mu is held. An empty url removes the webhook.
func (s *Server) setWebhook(params map[string]string) (any, *apiError) {
	raw := params["url"]
	if raw == "" {
		return s.deleteWebhook(params)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, badRequest("bad webhook: invalid URL", false)
	}
	if u.Scheme != "https" {
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook", false)
	}
	if p := u.Port(); p != "" && p != "443" && p != "80" && p != "88" && p != "8443" {
		return nil, badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443", false)
	}
	w := &Webhook{URL: raw, SecretToken: params["secret_token"]}
	if v, ok := params["secret_token"]; ok && !secretRE.MatchString(v) {
		return nil, badRequest("bad webhook: secret token contains unallowed characters", true)
	}
	if v := params["max_connections"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, badRequest("bad webhook: max_connections must be 1-100", true)
		}
		w.MaxConnections = n
	}
	if v := params["allowed_updates"]; v != "" {
		if err := json.Unmarshal([]byte(v), &w.AllowedUpdates); err != nil {
			return nil, badRequest("can't parse allowed updates", true)
		}
		s.allowed = w.AllowedUpdates
		if len(s.allowed) == 0 {
			s.allowed = nil
		}
	}
	if boolParam(params["drop_pending_updates"]) {
		s.updates = nil
	}
	s.webhook = w
	return true, nil
}

// deleteWebhook; s.mu is held.
func (s *Server) deleteWebhook(params map[string]string) (any, *apiError) {
	s.webhook = nil
	if boolParam(params["drop_pending_updates"]) {
		s.updates = nil
	}
	return true, nil
}
