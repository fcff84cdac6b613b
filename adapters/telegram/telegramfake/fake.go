// Package telegramfake is a fake Telegram Bot API server for tests. It is
// strict like the real one: it parses parse_mode HTML, counts the text as
// Telegram shows it, checks inline keyboards, refuses an edit that changes
// nothing, and can enforce Telegram's flood limits; it answers with the
// same HTTP statuses and {"ok":false,"error_code":…,"description":…}
// bodies. It records what it accepted (Messages), every call (Calls) and
// every request it rejected as malformed (Violations).
//
// It serves POST or GET /bot<token>/<method> with form, multipart or JSON
// bodies, for sendMessage, editMessageText, getMe, answerCallbackQuery
// (recorded: CallbackAnswers), sendDocument (recorded: Documents),
// sendPhoto (recorded: Photos; a photo counts in the chat's rate limits),
// getUpdates (a queue tests fill with UserMessage, Press and PushUpdate),
// setWebhook and deleteWebhook (Webhook), setMyCommands, getMyCommands and
// deleteMyCommands (MyCommands). It is safe for concurrent use.
package telegramfake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/klaxonbot/klaxon/adapters/internal/fakechat"
)

// Token is the bot token the fake accepts when Options.Token is empty.
const Token = "123456:TEST-fake-token_0123456789"

// Telegram's limits the fake enforces.
const (
	MaxText         = 4096 // UTF-16 units of text as shown
	MaxCallbackData = 64   // bytes
	MaxButtons      = 100  // buttons of an inline keyboard
)

// Options configure a Server. Rate limits are off when zero; a limit whose
// burst is 0 has burst 1.
type Options struct {
	// Token is the accepted bot token; "" = Token.
	Token string
	// Chats are the chat ids the bot is in; empty = every group and
	// channel id (< 0). A user's id (> 0) is the chat of the bot's
	// private conversation with that user: see Users.
	Chats []int64
	// Users are the users (positive chat ids) that exist, besides any
	// positive id in Chats; empty = every positive id. A chat id > 0 that
	// is not a user is answered 400 "chat not found".
	Users []int64
	// NotStarted are users who never started the bot: sending to them is
	// answered 403 "Forbidden: bot can't initiate conversation with a
	// user", as Telegram does.
	NotStarted []int64
	// PerChat limits sendMessage and editMessageText per chat (Telegram:
	// about 1/s).
	PerChat      rate.Limit
	PerChatBurst int
	// PerGroup limits them per group, chat id < 0 (Telegram: 20/min).
	PerGroup      rate.Limit
	PerGroupBurst int
	// Global limits them over all chats (Telegram: about 30/s).
	Global      rate.Limit
	GlobalBurst int
	// UpdatesWait is the longest getUpdates waits for an update (at most
	// its timeout); default 200 ms, so that long polling stays fast in
	// tests.
	UpdatesWait time.Duration
}

// Button is an inline keyboard button.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Message is a top-level message as it stands now.
type Message struct {
	Ref         string          // "chatID/messageID", as the telegram client makes it
	ChatID      int64           // the chat
	MessageID   int             // its id in the chat
	Text        string          // the text as shown (tags removed, entities decoded)
	HTML        string          // the text parameter as sent
	ParseMode   string          // as sent
	NoPreview   bool            // disable_web_page_preview
	ReplyMarkup json.RawMessage // the inline keyboard as sent (canonical JSON); nil when none
	Keyboard    [][]Button      // the same, decoded
	Edits       int             // accepted editMessageText calls
	Replies     []string        // texts (as shown) of the replies to it, in order
	RepliesHTML []string        // the same, as sent
	ReplyIDs    []int           // the same replies' message ids
	ReplyLinks  [][]string      // the same replies' text_link URLs, in order
	ReplyKeys   [][][]Button    // the same replies' inline keyboards (nil: none)
	IncidentID  string          // always "": Telegram messages carry no hidden data
	From        int64           // the user who wrote it (UserMessage); 0 for the bot's
}

// Server is the fake Bot API.
type Server struct {
	ts    *httptest.Server
	token string
	chats map[int64]bool
	users map[int64]bool // nil: every positive id
	quiet map[int64]bool // users who have not started the bot

	// Recorder gives Calls (the requests by method name, accepted or
	// not), Violations (the requests rejected as malformed or over a
	// limit: not 429s, not unknown chats or messages, not "message is not
	// modified"), RateLimited (the 429s answered, limits and Fail) and
	// SetLatency (delays every answer by d; a request whose client gives
	// up is answered at once).
	fakechat.Recorder

	mu         sync.Mutex
	nextID     map[int64]int
	order      map[int64][]*msg // every message of a chat, in post order
	byID       map[msgKey]*msg
	perChat    map[int64]*rate.Limiter
	perGroup   map[int64]*rate.Limiter
	global     *rate.Limiter
	opts       Options
	lastUpdate int64

	updates   []queued      // getUpdates' queue, by update_id
	updateID  int           // the last update_id given
	notify    chan struct{} // closed (and replaced) when an update is queued
	allowed   []string      // the last allowed_updates (nil: all)
	webhook   *Webhook
	queryID   int
	answered  map[string]bool
	cbAnswers []CallbackAnswer
	documents []Document
	photos    []Photo
	commands  map[commandKey][]BotCommand
}

type msgKey struct {
	chat int64
	id   int
}

type msg struct {
	chat      int64
	id        int
	date      int64
	root      *msg // the top-level message it replies to (nil: top-level)
	replyTo   *msg // the message it replies to
	html      string
	parseMode string
	noPreview bool
	shown     string
	entities  []entity
	markup    json.RawMessage
	keyboard  [][]Button
	edits     int
	editDate  int64
	replies   []*msg
	from      *User // the user who wrote it; nil: the bot
}

// New starts a fake server; Close stops it.
func New(opts Options) *Server {
	s := &Server{
		token:    opts.Token,
		nextID:   map[int64]int{},
		order:    map[int64][]*msg{},
		byID:     map[msgKey]*msg{},
		perChat:  map[int64]*rate.Limiter{},
		perGroup: map[int64]*rate.Limiter{},
		opts:     opts,
		notify:   make(chan struct{}),
		answered: map[string]bool{},
		commands: map[commandKey][]BotCommand{},
	}
	if s.token == "" {
		s.token = Token
	}
	s.chats, s.users, s.quiet = fakechat.Set(opts.Chats), fakechat.Set(opts.Users), fakechat.Set(opts.NotStarted)
	if opts.Global > 0 {
		s.global = rate.NewLimiter(opts.Global, burst(opts.GlobalBurst))
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func burst(b int) int { return max(b, 1) }

// URL is the client's API endpoint: "http://127.0.0.1:port/bot%s/%s".
func (s *Server) URL() string { return s.ts.URL + "/bot%s/%s" }

// Token is the token the fake accepts.
func (s *Server) Token() string { return s.token }

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Fail answers the next n calls of method (after the token check) with
// status and the description code, e.g. Fail("sendMessage", 1, 502,
// "Bad Gateway"). For 429 the retry_after parameter is the N of a
// "retry after N" in code, else 1. n ≤ 0 clears it.
func (s *Server) Fail(method string, n int, status int, code string) {
	s.SetFailure(method, n, fakechat.Failure{Status: status, Code: code})
}

// Messages returns the top-level messages of chat dest (a decimal chat id)
// in post order, as they stand now, with their replies.
func (s *Server) Messages(dest string) []Message {
	chat, err := strconv.ParseInt(dest, 10, 64)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.order[chat] {
		if m.root != nil {
			continue
		}
		msg := Message{
			Ref: strconv.FormatInt(m.chat, 10) + "/" + strconv.Itoa(m.id), ChatID: m.chat, MessageID: m.id,
			Text: m.shown, HTML: m.html, ParseMode: m.parseMode, NoPreview: m.noPreview,
			ReplyMarkup: append(json.RawMessage(nil), m.markup...), Keyboard: copyKeyboard(m.keyboard), Edits: m.edits,
		}
		if m.from != nil {
			msg.From = m.from.ID
		}
		for _, r := range m.replies {
			msg.Replies = append(msg.Replies, r.shown)
			msg.RepliesHTML = append(msg.RepliesHTML, r.html)
			msg.ReplyIDs = append(msg.ReplyIDs, r.id)
			var links []string
			for _, e := range r.entities {
				if e.Type == "text_link" {
					links = append(links, e.URL)
				}
			}
			msg.ReplyLinks = append(msg.ReplyLinks, links)
			msg.ReplyKeys = append(msg.ReplyKeys, copyKeyboard(r.keyboard))
		}
		out = append(out, msg)
	}
	return out
}

func copyKeyboard(kb [][]Button) [][]Button {
	if kb == nil {
		return nil
	}
	out := make([][]Button, len(kb))
	for i, row := range kb {
		out[i] = append([]Button(nil), row...)
	}
	return out
}

// apiError is an error answer.
type apiError struct {
	status     int
	desc       string
	retryAfter int
	violation  bool
}

func badRequest(desc string, violation bool) *apiError {
	return &apiError{status: 400, desc: "Bad Request: " + desc, violation: violation}
}

var pathRE = regexp.MustCompile(`^/bot([^/]*)/([A-Za-z0-9_]+)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(w, &apiError{status: 404, desc: "Not Found"})
		return
	}
	token, method := m[1], m[2]
	// The body is read first: then the server notices a client that gives up.
	params, files, perr := readParams(r)
	if !fakechat.Wait(r.Context(), s.Count(method), nil) {
		return
	}
	if token != s.token {
		writeError(w, &apiError{status: 401, desc: "Unauthorized"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.TakeFailure(method); ok {
		e := &apiError{status: f.Status, desc: f.Code}
		if f.Status == 429 {
			e.retryAfter = 1
			if mm := retryRE.FindStringSubmatch(f.Code); mm != nil {
				e.retryAfter, _ = strconv.Atoi(mm[1])
			}
		}
		s.answer(w, method, nil, e)
		return
	}
	if perr != nil {
		s.answer(w, method, nil, perr)
		return
	}
	var result any
	var err *apiError
	switch method {
	case "getMe":
		result = map[string]any{"id": 123456, "is_bot": true, "first_name": "klaxon fake", "username": "klaxon_fake_bot",
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}
	case "answerCallbackQuery":
		result, err = s.answerCallbackQuery(params)
	case "sendDocument":
		result, err = s.sendDocument(params, files)
	case "sendPhoto":
		result, err = s.sendPhoto(params, files)
	case "getUpdates":
		result, err = s.getUpdates(r.Context(), params)
	case "setWebhook":
		result, err = s.setWebhook(params)
	case "deleteWebhook":
		result, err = s.deleteWebhook(params)
	case "setMyCommands":
		result, err = s.setMyCommands(params)
	case "getMyCommands":
		result, err = s.getMyCommands(params)
	case "deleteMyCommands":
		result, err = s.deleteMyCommands(params)
	case "sendMessage":
		result, err = s.sendMessage(params)
	case "editMessageText":
		result, err = s.editMessageText(params)
	default:
		err = &apiError{status: 404, desc: "Not Found"}
	}
	s.answer(w, method, result, err)
}

var retryRE = regexp.MustCompile(`retry after (\d+)`)

// answer writes result or err; s.mu is held.
func (s *Server) answer(w http.ResponseWriter, method string, result any, err *apiError) {
	if err != nil {
		if err.status == 429 {
			s.CountRateLimited()
		}
		if err.violation {
			s.Violate(method + ": " + err.desc)
		}
		writeError(w, err)
		return
	}
	b, jerr := json.Marshal(map[string]any{"ok": true, "result": result})
	if jerr != nil {
		writeError(w, &apiError{status: 500, desc: "Internal Server Error"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"ok": false, "error_code": e.status, "description": e.desc}
	if e.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": e.retryAfter}
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	w.Write(b)
}

// upload is a file of a multipart request.
type upload struct {
	name string
	data []byte
}

// readParams reads the query string and a form, multipart or JSON body into
// strings, and the files of a multipart body; JSON values that are not
// strings keep their JSON text.
func readParams(r *http.Request) (map[string]string, map[string]upload, *apiError) {
	params := map[string]string{}
	files := map[string]upload{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return params, files, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxMultipartBytes+1))
	if err != nil {
		return nil, nil, badRequest("can't read the request body", true)
	}
	if len(body) > MaxMultipartBytes {
		return nil, nil, &apiError{status: 413, desc: "Request Entity Too Large", violation: true}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, nil, badRequest("can't parse JSON object", true)
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				params[k] = s
			} else {
				params[k] = string(raw)
			}
		}
	case "multipart/form-data":
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return nil, nil, badRequest("can't parse multipart form", true)
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return nil, nil, badRequest("can't read the file "+k, true)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, nil, badRequest("can't read the file "+k, true)
			}
			files[k] = upload{name: fhs[0].Filename, data: data}
		}
	case "application/x-www-form-urlencoded", "":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, nil, badRequest("can't parse form", true)
		}
		for k, v := range vals {
			params[k] = v[0]
		}
	default:
		return nil, nil, badRequest("unsupported Content-Type "+ct, true)
	}
	for k, v := range params {
		if !utf8.ValidString(v) {
			return nil, nil, badRequest("strings must be encoded in UTF-8 (parameter "+k+")", true)
		}
	}
	return params, files, nil
}

// chatOf parses chat_id; s.mu is held.
func (s *Server) chatOf(params map[string]string) (int64, *apiError) {
	v := params["chat_id"]
	if v == "" {
		return 0, badRequest("chat_id is empty", true)
	}
	chat, err := strconv.ParseInt(v, 10, 64)
	if err != nil || chat == 0 || !s.chatExists(chat) {
		return 0, badRequest("chat not found", false)
	}
	if s.quiet[chat] {
		return 0, &apiError{status: 403, desc: "Forbidden: bot can't initiate conversation with a user"}
	}
	return chat, nil
}

// chatExists reports whether the bot may know chat; s.mu is held.
func (s *Server) chatExists(chat int64) bool {
	if chat > 0 {
		return s.users == nil || s.users[chat] || s.chats[chat]
	}
	return s.chats == nil || s.chats[chat]
}

func boolParam(v string) bool { return v == "true" || v == "1" || v == "True" }

// content is a validated text and keyboard.
type content struct {
	html      string
	parseMode string
	shown     string
	entities  []entity
	noPreview bool
	markup    json.RawMessage
	keyboard  [][]Button
}

func (s *Server) content(params map[string]string) (*content, *apiError) {
	c := &content{html: params["text"], parseMode: params["parse_mode"], noPreview: boolParam(params["disable_web_page_preview"])}
	if c.html == "" {
		return nil, badRequest("message text is empty", true)
	}
	switch strings.ToLower(c.parseMode) {
	case "html":
		shown, ents, err := parseHTML(c.html)
		if err != nil {
			return nil, badRequest("can't parse entities: "+err.Error(), true)
		}
		c.shown, c.entities = shown, ents
	case "":
		c.shown = c.html
	case "markdown", "markdownv2":
		c.shown = c.html // not checked
	default:
		return nil, badRequest("unsupported parse_mode", true)
	}
	if strings.TrimSpace(c.shown) == "" {
		return nil, badRequest("message text is empty", true)
	}
	if n := utf16Len(c.shown); n > MaxText {
		return nil, badRequest("message is too long", true)
	}
	if len(c.entities) > 100 {
		return nil, badRequest("too many entities", true)
	}
	if raw := params["reply_markup"]; raw != "" {
		kb, canon, err := parseKeyboard(raw)
		if err != nil {
			return nil, err
		}
		c.keyboard, c.markup = kb, canon
	}
	return c, nil
}

// parseKeyboard checks an InlineKeyboardMarkup and returns it decoded and as
// canonical JSON (nil when it has no buttons).
func parseKeyboard(raw string) ([][]Button, json.RawMessage, *apiError) {
	var m struct {
		InlineKeyboard *[][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, nil, badRequest("can't parse reply keyboard markup JSON object", true)
	}
	if m.InlineKeyboard == nil {
		return nil, nil, badRequest("field \"inline_keyboard\" must be of type Array", true)
	}
	var kb [][]Button
	n := 0
	for _, row := range *m.InlineKeyboard {
		if len(row) == 0 {
			continue // Telegram drops empty rows
		}
		var out []Button
		for _, fields := range row {
			n++
			var b Button
			var text, data, u *string
			for k, v := range fields {
				var sv string
				if err := json.Unmarshal(v, &sv); err != nil {
					return nil, nil, badRequest("can't parse inline keyboard button: field \""+k+"\" must be of type String", true)
				}
				switch k {
				case "text":
					text = &sv
				case "callback_data":
					data = &sv
				case "url":
					u = &sv
				default:
					return nil, nil, badRequest("can't parse inline keyboard button: unsupported field \""+k+"\"", true)
				}
			}
			if text == nil || strings.TrimSpace(*text) == "" {
				return nil, nil, badRequest("BUTTON_TEXT_INVALID", true)
			}
			b.Text = *text
			switch {
			case data != nil && u == nil:
				if len(*data) < 1 || len(*data) > MaxCallbackData {
					return nil, nil, badRequest("BUTTON_DATA_INVALID", true)
				}
				b.CallbackData = *data
			case u != nil && data == nil:
				p, err := url.Parse(*u)
				if err != nil || !(p.Scheme == "http" || p.Scheme == "https" || p.Scheme == "tg") || (p.Scheme != "tg" && p.Host == "") {
					return nil, nil, badRequest("BUTTON_URL_INVALID", true)
				}
				b.URL = *u
			case u == nil && data == nil:
				return nil, nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard", true)
			default:
				return nil, nil, badRequest("can't parse inline keyboard button: exactly one of the optional fields must be used", true)
			}
			out = append(out, b)
		}
		kb = append(kb, out)
	}
	if n > MaxButtons {
		return nil, nil, badRequest("BUTTONS_TOO_MUCH", true)
	}
	if len(kb) == 0 {
		return nil, nil, nil
	}
	canon, _ := json.Marshal(map[string]any{"inline_keyboard": kb})
	return kb, canon, nil
}

// allow takes a token from each limiter that applies to chat, or none and
// says how many seconds to wait; s.mu is held.
func (s *Server) allow(chat int64) *apiError {
	var lims []*rate.Limiter
	if s.opts.PerChat > 0 {
		l := s.perChat[chat]
		if l == nil {
			l = rate.NewLimiter(s.opts.PerChat, burst(s.opts.PerChatBurst))
			s.perChat[chat] = l
		}
		lims = append(lims, l)
	}
	if s.opts.PerGroup > 0 && chat < 0 {
		l := s.perGroup[chat]
		if l == nil {
			l = rate.NewLimiter(s.opts.PerGroup, burst(s.opts.PerGroupBurst))
			s.perGroup[chat] = l
		}
		lims = append(lims, l)
	}
	if s.global != nil {
		lims = append(lims, s.global)
	}
	now := time.Now()
	var wait time.Duration
	rs := make([]*rate.Reservation, 0, len(lims))
	for _, l := range lims {
		r := l.ReserveN(now, 1)
		rs = append(rs, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait <= 0 {
		return nil
	}
	for _, r := range rs {
		r.CancelAt(now)
	}
	n := max(int(math.Ceil(wait.Seconds())), 1)
	return &apiError{status: 429, desc: "Too Many Requests: retry after " + strconv.Itoa(n), retryAfter: n}
}

func (s *Server) now() int64 {
	t := time.Now().Unix()
	if t < s.lastUpdate {
		t = s.lastUpdate
	}
	s.lastUpdate = t
	return t
}

func (s *Server) sendMessage(params map[string]string) (any, *apiError) {
	chat, err := s.chatOf(params)
	if err != nil {
		return nil, err
	}
	c, err := s.content(params)
	if err != nil {
		return nil, err
	}
	var replyTo *msg
	if v := params["reply_to_message_id"]; v != "" {
		id, perr := strconv.Atoi(v)
		if perr != nil {
			return nil, badRequest("field \"reply_to_message_id\" must be of type Integer", true)
		}
		replyTo = s.byID[msgKey{chat, id}]
		if replyTo == nil && !boolParam(params["allow_sending_without_reply"]) {
			return nil, badRequest("message to be replied not found", false)
		}
	}
	if err := s.allow(chat); err != nil {
		return nil, err
	}
	s.nextID[chat]++
	m := &msg{chat: chat, id: s.nextID[chat], date: s.now(), replyTo: replyTo}
	m.set(c)
	if replyTo != nil {
		m.root = replyTo
		if replyTo.root != nil {
			m.root = replyTo.root
		}
		m.root.replies = append(m.root.replies, m)
	}
	s.order[chat] = append(s.order[chat], m)
	s.byID[msgKey{chat, m.id}] = m
	return m.result(true), nil
}

func (m *msg) set(c *content) {
	m.html, m.parseMode, m.noPreview = c.html, c.parseMode, c.noPreview
	m.shown, m.entities, m.markup, m.keyboard = c.shown, c.entities, c.markup, c.keyboard
}

func (s *Server) editMessageText(params map[string]string) (any, *apiError) {
	if params["inline_message_id"] != "" {
		return nil, badRequest("MESSAGE_ID_INVALID", false) // inline messages are not faked
	}
	chat, err := s.chatOf(params)
	if err != nil {
		return nil, err
	}
	v := params["message_id"]
	if v == "" {
		return nil, badRequest("message identifier is not specified", true)
	}
	id, perr := strconv.Atoi(v)
	if perr != nil {
		return nil, badRequest("field \"message_id\" must be of type Integer", true)
	}
	c, err := s.content(params)
	if err != nil {
		return nil, err
	}
	m := s.byID[msgKey{chat, id}]
	if m == nil {
		return nil, badRequest("message to edit not found", false)
	}
	if m.shown == c.shown && sameEntities(m.entities, c.entities) && string(m.markup) == string(c.markup) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", false)
	}
	if err := s.allow(chat); err != nil {
		return nil, err
	}
	m.set(c)
	m.edits++
	m.editDate = s.now()
	return m.result(true), nil
}

func sameEntities(a, b []entity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// result is the Message object the Bot API returns.
func (m *msg) result(withReply bool) map[string]any {
	chatType := "private"
	if m.chat < 0 {
		chatType = "group"
		if strings.HasPrefix(strconv.FormatInt(m.chat, 10), "-100") {
			chatType = "supergroup"
		}
	}
	chat := map[string]any{"id": m.chat, "type": chatType}
	if m.chat < 0 {
		chat["title"] = "fake chat " + strconv.FormatInt(m.chat, 10)
	}
	from := map[string]any{"id": 123456, "is_bot": true, "first_name": "klaxon fake", "username": "klaxon_fake_bot"}
	if m.from != nil {
		from = m.from.json()
	}
	out := map[string]any{
		"message_id": m.id,
		"from":       from,
		"chat":       chat,
		"date":       m.date,
		"text":       m.shown,
	}
	if m.editDate != 0 {
		out["edit_date"] = m.editDate
	}
	if len(m.entities) > 0 {
		ents := make([]map[string]any, len(m.entities))
		for i, e := range m.entities {
			ents[i] = map[string]any{"type": e.Type, "offset": e.Offset, "length": e.Length}
			if e.URL != "" {
				ents[i]["url"] = e.URL
			}
		}
		out["entities"] = ents
	}
	if m.markup != nil {
		out["reply_markup"] = m.markup
	}
	if withReply && m.replyTo != nil {
		out["reply_to_message"] = m.replyTo.result(false)
	}
	return out
}

// Chats returns the chat ids that have messages, sorted.
func (s *Server) Chats() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.order))
	for c := range s.order {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// String describes the server, for test logs.
func (s *Server) String() string { return fmt.Sprintf("telegramfake at %s", s.ts.URL) }
