// Package slackfake is a fake Slack Web API for tests: an httptest server
// that is as strict as Slack about what klaxon sends (Block Kit limits,
// auth, unknown channels and messages, rate limits) and records what it
// accepted, so tests can drive the real slack.Client against it.
//
// chat.postMessage to a user ID (U…, W…) posts in the bot's direct
// message channel with that user, DirectChannel(user), as Slack does.
//
// It serves chat.postMessage, chat.update, chat.delete,
// conversations.history, auth.test and the file upload flow
// (files.getUploadURLExternal, the upload URL, files.completeUploadExternal;
// files.upload answers method_deprecated: see files.go) under URL(), reading form-encoded
// bodies (as slack-go sends them) and JSON bodies. Errors are answered as
// Slack does: HTTP 200 with {"ok":false,"error":"<code>"}, and HTTP 429
// with a Retry-After header for rate limits.
package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
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

// DefaultToken is the bot token the fake accepts when Options.Token is "".
const DefaultToken = "xoxb-fake-klaxon-token"

// Limits the fake enforces, as Slack documents them (lengths in UTF-16
// units, which is never less than characters).
const (
	MaxBlocks        = 50
	MaxHeaderLen     = 150
	MaxTextObjectLen = 3000 // section text, context elements
	MaxFields        = 10
	MaxFieldLen      = 2000
	MaxButtonTextLen = 75
	MaxActionIDLen   = 255
	MaxValueLen      = 2000
	MaxURLLen        = 3000
	MaxElements      = 25 // per actions block
	MaxContext       = 10 // elements per context block
	MaxBlockIDLen    = 255
	MaxTextLen       = 40000 // a message's text
	// MaxBlocksJSON is the length of the blocks JSON (characters) beyond
	// which the fake answers msg_blocks_too_long: conservative, Slack has
	// refused messages near 13,000.
	MaxBlocksJSON = 12000
)

// Options configure a Server. Rate limits are off when zero.
type Options struct {
	// Token is the only bot token accepted; "" means DefaultToken.
	Token string
	// Channels are the conversation IDs that exist; empty means any
	// well-formed ID (C…, G…, D…).
	Channels []string
	// Users are the user IDs that exist, whom chat.postMessage may
	// address by user ID (a direct message); empty means any well-formed
	// ID (U…, W…). An unknown user is answered channel_not_found.
	Users []string
	// PerChannel limits chat.postMessage (cards and replies) per channel;
	// Burst is its bucket size (0 means 1).
	PerChannel rate.Limit
	Burst      int
	// UpdatesPerMinute limits chat.update over the whole workspace;
	// UpdateBurst is its bucket size (0 means UpdatesPerMinute).
	UpdatesPerMinute int
	UpdateBurst      int
	// FilesPerMinute limits files.getUploadURLExternal and
	// files.completeUploadExternal, each over the whole workspace (Slack
	// puts both in Tier 4: 100+ a minute); FilesBurst is the bucket size
	// (0 means FilesPerMinute). Sharing into a channel also counts in
	// PerChannel, as a post there.
	FilesPerMinute int
	FilesBurst     int
	// Scopes are the token's scopes; empty means every scope. The files
	// methods answer missing_scope without FilesScope.
	Scopes []string
	// NotIn are channels that exist but the bot is not a member of:
	// files.completeUploadExternal there answers not_in_channel.
	NotIn []string
}

// Message is a top-level message as it stands now.
type Message struct {
	Ref        string          // "CHANNEL/TS", as slack.Client makes it
	Channel    string          //
	TS         string          //
	Text       string          // current text
	Blocks     json.RawMessage // current blocks JSON; nil when none
	Metadata   json.RawMessage // metadata JSON as posted; nil when none
	IncidentID string          // metadata event_payload "incident", when present
	Edits      int             // accepted chat.update calls
	Replies    []string        // thread replies' text, in post order
	// ReplyBlocks are the thread replies' blocks JSON (nil for a reply
	// without blocks), in the order of Replies.
	ReplyBlocks []json.RawMessage
}

type msg struct {
	channel, ts string
	text        string
	blocks      json.RawMessage
	metadata    json.RawMessage
	incident    string
	edits       int
	parent      *msg   // nil for top-level messages
	replies     []*msg // for top-level messages
	deleted     bool
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	srv       *httptest.Server
	token     string
	known     map[string]bool // nil: every well-formed ID
	users     map[string]bool // nil: every well-formed user ID
	opts      Options
	done      chan struct{}
	closeOnce sync.Once

	// Recorder gives Calls (how many calls each method received,
	// accepted or not; posts to response URLs count as "response_url"),
	// Violations (the requests refused for breaking a limit or a format
	// rule, not rate limits, one human-readable line each), RateLimited
	// (how many 429 answers the fake gave) and SetLatency (delays every
	// later answer by d; Close or a client that gives up cuts it short).
	fakechat.Recorder

	mu        sync.Mutex
	top       map[string][]*msg // channel → top-level messages in post order
	byRef     map[string]*msg   // "channel/ts" → message (top-level or reply)
	postLim   map[string]*rate.Limiter
	updLim    *rate.Limiter
	lastMicro int64
	responses []Response
	last      map[string]params // method → the last request's arguments
	urlUses   map[string]int    // response URL path → posts
	nextURL   int

	uploads    map[string]*upload // file id → upload
	uploadKeys map[string]*upload // upload URL key → upload, until completed
	nextFile   int
	images     []Image
	fileLim    map[string]*rate.Limiter
	notIn      map[string]bool
}

// New starts a fake configured by opts; Close stops it.
func New(opts Options) *Server {
	s := &Server{
		token:   opts.Token,
		opts:    opts,
		done:    make(chan struct{}),
		top:     map[string][]*msg{},
		byRef:   map[string]*msg{},
		postLim: map[string]*rate.Limiter{},
		urlUses: map[string]int{},
		last:    map[string]params{},

		uploads:    map[string]*upload{},
		uploadKeys: map[string]*upload{},
		fileLim:    map[string]*rate.Limiter{},
		notIn:      map[string]bool{},
	}
	for _, ch := range opts.NotIn {
		s.notIn[ch] = true
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	s.known, s.users = fakechat.Set(opts.Channels), fakechat.Set(opts.Users)
	if opts.UpdatesPerMinute > 0 {
		b := opts.UpdateBurst
		if b <= 0 {
			b = opts.UpdatesPerMinute
		}
		s.updLim = rate.NewLimiter(rate.Limit(float64(opts.UpdatesPerMinute)/60), b)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API base URL for slack.OptionAPIURL / Options.APIURL: ".../api/".
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// Token is the bot token the fake accepts.
func (s *Server) Token() string { return s.token }

// Close stops the server, cutting short any latency being waited.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Messages returns the top-level messages of channel dest in post order,
// with their current content and their replies.
func (s *Server) Messages(dest string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.top[dest] {
		if m.deleted {
			continue
		}
		pm := Message{
			Ref: m.channel + "/" + m.ts, Channel: m.channel, TS: m.ts, Text: m.text,
			Blocks: clone(m.blocks), Metadata: clone(m.metadata), IncidentID: m.incident, Edits: m.edits,
		}
		for _, r := range m.replies {
			if !r.deleted {
				pm.Replies = append(pm.Replies, r.text)
				pm.ReplyBlocks = append(pm.ReplyBlocks, clone(r.blocks))
			}
		}
		out = append(out, pm)
	}
	return out
}

func clone(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

// Delete removes the message ref ("CHANNEL/TS") as if someone deleted it
// in Slack, and reports whether it existed.
func (s *Server) Delete(ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delete(ref)
}

func (s *Server) delete(ref string) bool {
	m := s.byRef[ref]
	if m == nil {
		return false
	}
	m.deleted = true
	delete(s.byRef, ref)
	for _, r := range m.replies {
		r.deleted = true
		delete(s.byRef, r.channel+"/"+r.ts)
	}
	return true
}

// Add appends a top-level message with text to channel, as if posted by
// someone else, tagged with incidentID like klaxon's cards when it is not
// "", and returns its reference. No call is counted.
func (s *Server) Add(channel, text, incidentID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(channel, text, incidentID, s.nextTS())
}

// AddAt is Add for a message posted at a given time (its ts; the next free
// microsecond when another message of the channel has that one), for
// tests of history windows: what is added out of time order is listed by
// conversations.history in ts order all the same.
func (s *Server) AddAt(channel, text, incidentID string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	micro := at.UnixMicro()
	ts := func() string { return fmt.Sprintf("%d.%06d", micro/1e6, micro%1e6) }
	for s.byRef[channel+"/"+ts()] != nil {
		micro++
	}
	return s.add(channel, text, incidentID, ts())
}

func (s *Server) add(channel, text, incidentID, ts string) string {
	m := &msg{channel: channel, ts: ts, text: text, incident: incidentID}
	if incidentID != "" {
		m.metadata, _ = json.Marshal(map[string]any{"event_type": "klaxon_incident", "event_payload": map[string]string{"incident": incidentID}})
	}
	s.byRef[channel+"/"+m.ts] = m
	s.top[channel] = append(s.top[channel], m)
	return channel + "/" + m.ts
}

// LastParams returns the arguments of the last call of method (form
// fields or JSON values as text), nil before the first.
func (s *Server) LastParams(method string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.last[method]
	if p == nil {
		return nil
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// DirectChannel is the ID of the bot's direct message channel with user,
// where chat.postMessage to the user ID posts: Messages(DirectChannel(u))
// lists the direct messages the user got.
func DirectChannel(user string) string { return "D" + user }

// Fail makes the next n calls of method fail: with HTTP status and
// {"ok":false,"error":code}. A 429 carries "Retry-After: 1".
func (s *Server) Fail(method string, n int, status int, code string) {
	if status == 0 {
		status = http.StatusOK
	}
	s.SetFailure(method, n, fakechat.Failure{Status: status, Code: code})
}

// params are a request's arguments: strings as they are, other JSON
// values as their JSON text.
type params map[string]string

func (p params) has(k string) bool { _, ok := p[k]; return ok }

func readParams(r *http.Request) (params, string, error) {
	p := params{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			return nil, "", err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, "invalid_json", err
		}
		for k, v := range m {
			var str string
			if json.Unmarshal(v, &str) == nil {
				p[k] = str
			} else {
				p[k] = string(v)
			}
		}
		for k, v := range r.URL.Query() {
			if _, ok := p[k]; !ok && len(v) > 0 {
				p[k] = v[0]
			}
		}
		return p, "", nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 4<<20)
	if err := r.ParseForm(); err != nil {
		return nil, "invalid_form_data", err
	}
	for k, v := range r.Form {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	return p, "", nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, responsePath) {
		s.respond(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, uploadPath) {
		s.uploadBytes(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || method == "" {
		http.NotFound(w, r)
		return
	}
	if !fakechat.Wait(r.Context(), s.Latency(), s.done) {
		return
	}
	p, perr, err := readParams(r)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.Count(method)
	if p != nil {
		s.last[method] = p
	}
	if f, ok := s.TakeFailure(method); ok {
		if f.Status == http.StatusTooManyRequests {
			s.CountRateLimited()
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, f.Status, map[string]any{"ok": false, "error": f.Code})
		return
	}
	if err != nil {
		if perr == "" {
			perr = "invalid_form_data"
		}
		s.violate(method, "", "unreadable body: "+err.Error())
		fail(w, perr)
		return
	}
	token := p["token"]
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = a
	}
	switch token {
	case "":
		fail(w, "not_authed")
		return
	case s.token:
	default:
		fail(w, "invalid_auth")
		return
	}
	switch method {
	case "chat.postMessage":
		s.postMessage(w, p)
	case "chat.update":
		s.update(w, p)
	case "chat.delete":
		s.chatDelete(w, p)
	case "conversations.history":
		s.history(w, p)
	case "files.getUploadURLExternal":
		s.getUploadURL(w, p)
	case "files.completeUploadExternal":
		s.completeUpload(w, p)
	case "files.upload":
		// Retired in November 2025 for the external upload flow.
		s.violate(method, "", "files.upload is retired: use files.getUploadURLExternal and files.completeUploadExternal")
		fail(w, "method_deprecated")
	case "auth.test":
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": "https://klaxon-fake.slack.com/",
			"team": "Klaxon Fake", "user": "klaxon", "team_id": "T0FAKE", "user_id": "U0FAKE", "bot_id": "B0FAKE"})
	default:
		fail(w, "unknown_method")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
}

func (s *Server) violate(method, channel, problem string) {
	where := method
	if channel != "" {
		where += " " + channel
	}
	s.Violate(where + ": " + problem)
}

var (
	idRE   = regexp.MustCompile(`^[CGD][A-Z0-9]{2,31}$`)
	userRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
)

func (s *Server) userExists(u string) bool {
	if s.users != nil {
		return s.users[u]
	}
	return userRE.MatchString(u)
}

func (s *Server) channelExists(c string) bool {
	if s.known != nil {
		return s.known[c]
	}
	return idRE.MatchString(c)
}

// limited answers 429 when lim has no token left.
func (s *Server) limited(w http.ResponseWriter, lim *rate.Limiter) bool {
	now := time.Now()
	if lim.AllowN(now, 1) {
		return false
	}
	res := lim.ReserveN(now, 1)
	d := res.DelayFrom(now)
	res.CancelAt(now)
	secs := int(math.Ceil(d.Seconds()))
	if secs < 1 || !res.OK() {
		secs = 1
	}
	s.CountRateLimited()
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
	return true
}

// postLimited takes a token of channel ch's PerChannel limiter, or
// answers 429; s.mu is held.
func (s *Server) postLimited(w http.ResponseWriter, ch string) bool {
	if s.opts.PerChannel <= 0 {
		return false
	}
	lim := s.postLim[ch]
	if lim == nil {
		lim = rate.NewLimiter(s.opts.PerChannel, max(s.opts.Burst, 1))
		s.postLim[ch] = lim
	}
	return s.limited(w, lim)
}

func (s *Server) nextTS() string {
	micro := time.Now().UnixMicro()
	if micro <= s.lastMicro {
		micro = s.lastMicro + 1
	}
	s.lastMicro = micro
	return fmt.Sprintf("%d.%06d", micro/1e6, micro%1e6)
}

// content is a message's validated text, blocks and metadata.
type content struct {
	text        string
	hasText     bool
	blocks      json.RawMessage
	hasBlocks   bool
	metadata    json.RawMessage
	hasMetadata bool
	incident    string
}

// checkContent validates text, blocks and metadata as Slack does; on a
// violation it records it, answers the error and returns false.
func (s *Server) checkContent(w http.ResponseWriter, method, channel string, p params) (content, bool) {
	var c content
	c.text, c.hasText = p["text"]
	if b := strings.TrimSpace(p["blocks"]); b != "" {
		c.hasBlocks = true
		if n := utf8.RuneCountInString(b); n > MaxBlocksJSON {
			s.violate(method, channel, fmt.Sprintf("blocks JSON is %d characters (> %d)", n, MaxBlocksJSON))
			fail(w, "msg_blocks_too_long")
			return c, false
		}
		var blocks []any
		if err := json.Unmarshal([]byte(b), &blocks); err != nil {
			s.violate(method, channel, "blocks are not a JSON array: "+err.Error())
			fail(w, "invalid_blocks_format")
			return c, false
		}
		if probs := checkBlocks(blocks); len(probs) > 0 {
			s.violate(method, channel, "invalid_blocks: "+strings.Join(probs, "; "))
			fail(w, "invalid_blocks")
			return c, false
		}
		c.blocks = json.RawMessage(b)
	}
	if !c.hasBlocks && strings.TrimSpace(c.text) == "" {
		s.violate(method, channel, "neither text nor blocks")
		fail(w, "no_text")
		return c, false
	}
	if n := units(c.text); n > MaxTextLen {
		s.violate(method, channel, fmt.Sprintf("text is %d characters (> %d)", n, MaxTextLen))
		fail(w, "msg_too_long")
		return c, false
	}
	if raw := strings.TrimSpace(p["metadata"]); raw != "" {
		var md struct {
			EventType    *string         `json:"event_type"`
			EventPayload json.RawMessage `json:"event_payload"`
		}
		var payload map[string]any
		if err := json.Unmarshal([]byte(raw), &md); err != nil || md.EventType == nil || *md.EventType == "" ||
			json.Unmarshal(md.EventPayload, &payload) != nil || payload == nil {
			s.violate(method, channel, "metadata is not {event_type, event_payload{…}}: "+truncate(raw, 200))
			fail(w, "invalid_metadata_format")
			return c, false
		}
		c.hasMetadata, c.metadata = true, json.RawMessage(raw)
		if id, ok := payload["incident"].(string); ok {
			c.incident = id
		}
	}
	return c, true
}

func (s *Server) postMessage(w http.ResponseWriter, p params) {
	const method = "chat.postMessage"
	ch := p["channel"]
	if userRE.MatchString(ch) {
		if !s.userExists(ch) {
			fail(w, "channel_not_found")
			return
		}
		ch = DirectChannel(ch)
	} else if ch == "" || !s.channelExists(ch) {
		fail(w, "channel_not_found")
		return
	}
	if s.postLimited(w, ch) {
		return
	}
	c, ok := s.checkContent(w, method, ch, p)
	if !ok {
		return
	}
	var parent *msg
	if tts := p["thread_ts"]; tts != "" {
		parent = s.byRef[ch+"/"+tts]
		if parent == nil {
			fail(w, "thread_not_found")
			return
		}
		if parent.parent != nil {
			parent = parent.parent
		}
	}
	m := &msg{channel: ch, ts: s.nextTS(), text: c.text, blocks: c.blocks, metadata: c.metadata, incident: c.incident, parent: parent}
	s.byRef[ch+"/"+m.ts] = m
	if parent != nil {
		parent.replies = append(parent.replies, m)
	} else {
		s.top[ch] = append(s.top[ch], m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch, "ts": m.ts, "message": s.view(m, false)})
}

func (s *Server) update(w http.ResponseWriter, p params) {
	const method = "chat.update"
	ch, ts := p["channel"], p["ts"]
	if ch == "" || !s.channelExists(ch) {
		fail(w, "channel_not_found")
		return
	}
	if s.updLim != nil && s.limited(w, s.updLim) {
		return
	}
	m := s.byRef[ch+"/"+ts]
	if ts == "" || m == nil {
		fail(w, "message_not_found")
		return
	}
	c, ok := s.checkContent(w, method, ch, p)
	if !ok {
		return
	}
	if c.hasText {
		m.text = c.text
	}
	m.blocks = c.blocks // blocks left out are removed, as Slack does
	if c.hasMetadata {
		m.metadata, m.incident = c.metadata, c.incident
	}
	m.edits++
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch, "ts": m.ts, "text": m.text, "message": s.view(m, false)})
}

func (s *Server) chatDelete(w http.ResponseWriter, p params) {
	ch, ts := p["channel"], p["ts"]
	if ch == "" || !s.channelExists(ch) {
		fail(w, "channel_not_found")
		return
	}
	if !s.delete(ch + "/" + ts) {
		fail(w, "message_not_found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch, "ts": ts})
}

// view is m as the API shows it.
func (s *Server) view(m *msg, withMetadata bool) map[string]any {
	v := map[string]any{"type": "message", "user": "U0FAKE", "bot_id": "B0FAKE", "app_id": "A0FAKE", "text": m.text, "ts": m.ts}
	if m.blocks != nil {
		v["blocks"] = m.blocks
	}
	if m.parent != nil {
		v["thread_ts"] = m.parent.ts
	} else if live := liveReplies(m); live > 0 {
		v["thread_ts"] = m.ts
		v["reply_count"] = live
	}
	if withMetadata && m.metadata != nil {
		v["metadata"] = m.metadata
	}
	return v
}

func liveReplies(m *msg) int {
	n := 0
	for _, r := range m.replies {
		if !r.deleted {
			n++
		}
	}
	return n
}

// micros parses a Slack timestamp ("1712345678.000100") to microseconds.
func micros(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return 0, false
	}
	var us int64
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		frac += strings.Repeat("0", 6-len(frac))
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, false
		}
	}
	return s*1e6 + us, true
}

func truthy(v string) bool { return v == "1" || v == "true" }

func (s *Server) history(w http.ResponseWriter, p params) {
	ch := p["channel"]
	if ch == "" || !s.channelExists(ch) {
		fail(w, "channel_not_found")
		return
	}
	limit := 100
	if l := p["limit"]; l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			fail(w, "invalid_limit")
			return
		}
		if n > 0 {
			limit = min(n, 999)
		}
	}
	oldest, latest := int64(0), int64(math.MaxInt64)
	if o := p["oldest"]; o != "" {
		v, ok := micros(o)
		if !ok {
			fail(w, "invalid_ts_oldest")
			return
		}
		oldest = v
	}
	if l := p["latest"]; l != "" {
		v, ok := micros(l)
		if !ok {
			fail(w, "invalid_ts_latest")
			return
		}
		latest = v
	}
	// inclusive covers the bounds given; a cursor continues below the
	// last message returned, which it never repeats.
	inclusive := truthy(p["inclusive"])
	inclOldest, inclLatest := inclusive, inclusive
	if cur := p["cursor"]; cur != "" {
		b, err := base64.StdEncoding.DecodeString(cur)
		v, ok := micros(strings.TrimPrefix(string(b), "next_ts:"))
		if err != nil || !strings.HasPrefix(string(b), "next_ts:") || !ok {
			fail(w, "invalid_cursor")
			return
		}
		if v > latest || v == latest && !inclLatest {
			s.violate("conversations.history", ch, "a cursor beyond the latest asked for: the cursor was made for other arguments")
			fail(w, "invalid_cursor")
			return
		}
		latest, inclLatest = v, false
	}
	type entry struct {
		m *msg
		t int64
	}
	var found []entry
	for _, m := range s.top[ch] {
		t, _ := micros(m.ts)
		if m.deleted || t < oldest || t > latest || (!inclOldest && t == oldest) || (!inclLatest && t == latest) {
			continue
		}
		found = append(found, entry{m, t})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].t > found[j].t }) // newest first
	all := make([]*msg, len(found))
	for i, e := range found {
		all[i] = e.m
	}
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	msgs := make([]map[string]any, 0, len(all))
	for _, m := range all {
		msgs = append(msgs, s.view(m, truthy(p["include_all_metadata"])))
	}
	resp := map[string]any{"ok": true, "messages": msgs, "has_more": more, "pin_count": 0}
	if more {
		resp["response_metadata"] = map[string]any{"next_cursor": base64.StdEncoding.EncodeToString([]byte("next_ts:" + all[len(all)-1].ts))}
	}
	writeJSON(w, http.StatusOK, resp)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
