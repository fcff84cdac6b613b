// Package ntfyfake is a strict fake ntfy server for tests: it takes
// publishes (POST or PUT /{topic}) as ntfy does, checks what ntfy and its
// phone apps would refuse or mangle — the method, the topic, the
// credentials, each header's syntax (the Actions grammar, the Priority
// range, ASCII or RFC 2047 values), the body's size and encoding — records
// the messages it accepted (Messages) and the requests it refused as
// malformed (Violations), and can be told to answer 429 or 5xx (Fail) or
// to drop connections (SetDown). It is safe for concurrent use.
package ntfyfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultLimit is ntfy's default message size limit, in bytes.
const DefaultLimit = 4096

// Options configure a Server.
type Options struct {
	// Token, if set, is the access token every publish must carry
	// ("Authorization: Bearer <Token>").
	Token string
	// Username and Password, if set, are the basic-auth credentials every
	// publish must carry (instead of a token; either is accepted when
	// both are set).
	Username, Password string
	// Limit is the largest body accepted, in bytes; 0 = DefaultLimit.
	Limit int
}

// Action is a parsed action button.
type Action struct {
	Action  string // "view", "http" or "broadcast"
	Label   string
	URL     string
	Method  string // http: upper case; "" = POST
	Body    string
	Clear   bool
	Headers map[string]string // http: headers.NAME=VALUE
}

// Message is a publish the fake accepted.
type Message struct {
	ID       string
	Topic    string
	Title    string // decoded (RFC 2047)
	Body     string
	Priority int // 1 to 5; 3 when not sent
	Tags     []string
	Click    string
	Actions  []Action
	Header   http.Header // as received
	At       time.Time
}

// Violation is a request the fake refused as malformed.
type Violation struct {
	Status  int
	Code    int // ntfy's error code answered
	Message string
	At      time.Time
}

func (v Violation) String() string { return fmt.Sprintf("%d %d: %s", v.Status, v.Code, v.Message) }

// Server is a fake ntfy server.
type Server struct {
	srv   *httptest.Server
	o     Options
	limit int

	mu         sync.Mutex
	messages   []Message
	violations []Violation
	requests   int
	fails      []failure
	down       bool
}

type failure struct {
	status int
	wait   time.Duration
}

// New starts a Server. Close it when done.
func New(o Options) *Server {
	s := &Server{o: o, limit: o.Limit}
	if s.limit == 0 {
		s.limit = DefaultLimit
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// TopicURL is the URL of topic on this server.
func (s *Server) TopicURL(topic string) string { return s.srv.URL + "/" + topic }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Messages are the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Violations are the malformed requests refused so far, oldest first.
// Failures asked for with Fail and refused credentials are not violations.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// Requests is how many requests arrived, answered or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Fail makes the next n authenticated publishes fail with HTTP status
// (429, 500, 507…), with Retry-After in seconds when wait > 0, queued
// after earlier failures.
func (s *Server) Fail(n, status int, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{status, wait})
	}
}

// SetDown makes the server drop every connection without an answer (down
// = true), as a crashed server behind a proxy does, or serve again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

var topicRE = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// param is the first of ntfy's names for a parameter that the request
// carries, as a header or in the query.
func param(r *http.Request, names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := r.Header[http.CanonicalHeaderKey(n)]; ok && len(v) > 0 {
			return v[0], true
		}
	}
	q := r.URL.Query()
	for _, n := range names {
		if q.Has(n) {
			return q.Get(n), true
		}
	}
	return "", false
}

var mimeDecoder = new(mime.WordDecoder)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	down := s.down
	s.mu.Unlock()
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	topic := strings.TrimPrefix(r.URL.Path, "/")
	if !topicRE.MatchString(topic) {
		writeError(w, http.StatusNotFound, 40401, "page not found")
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		s.violation(w, http.StatusMethodNotAllowed, 40501, "method "+r.Method+" is not a publish (POST or PUT)")
		return
	}
	if status, code, msg := s.auth(r); status != 0 {
		writeError(w, status, code, msg)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.limit)+1))
	if err != nil {
		return
	}
	if len(body) > s.limit {
		s.violation(w, http.StatusRequestEntityTooLarge, 41301, fmt.Sprintf("message larger than %d bytes", s.limit))
		return
	}
	if !utf8.Valid(body) {
		s.violation(w, http.StatusBadRequest, 40000, "message body is not UTF-8 (ntfy would make it an attachment)")
		return
	}

	m := Message{Topic: topic, Body: string(body), Priority: 3, Header: r.Header.Clone()}
	// Every header value must be ASCII (UTF-8 in a header is mangled by
	// many proxies and clients): non-ASCII text goes RFC 2047-encoded.
	for name, vs := range r.Header {
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if v[i] < ' ' && v[i] != '\t' || v[i] >= 0x7f {
					s.violation(w, http.StatusBadRequest, 40000, fmt.Sprintf("header %s has a byte %#x: encode non-ASCII text as RFC 2047", name, v[i]))
					return
				}
			}
		}
	}
	if v, ok := param(r, "x-title", "title", "ti", "t"); ok {
		dec, err := mimeDecoder.DecodeHeader(v)
		if err != nil || !utf8.ValidString(dec) || strings.ContainsAny(dec, "\r\n") {
			s.violation(w, http.StatusBadRequest, 40000, fmt.Sprintf("title %q does not decode to one line of UTF-8", v))
			return
		}
		m.Title = dec
	}
	if v, ok := param(r, "x-priority", "priority", "prio", "p"); ok {
		p, perr := priority(v)
		if perr != nil {
			s.violation(w, http.StatusBadRequest, 40007, perr.Error())
			return
		}
		m.Priority = p
	}
	if v, ok := param(r, "x-tags", "tags", "tag", "ta"); ok {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t == "" {
				s.violation(w, http.StatusBadRequest, 40000, fmt.Sprintf("tags %q have an empty tag", v))
				return
			}
			m.Tags = append(m.Tags, t)
		}
	}
	if v, ok := param(r, "x-click", "click"); ok {
		if !httpURL(v) {
			s.violation(w, http.StatusBadRequest, 40000, fmt.Sprintf("click %q is not an http(s) URL", v))
			return
		}
		m.Click = v
	}
	if v, ok := param(r, "x-actions", "actions", "action"); ok {
		acts, aerr := ParseActions(v)
		if aerr != nil {
			s.violation(w, http.StatusBadRequest, 40018, "invalid actions: "+aerr.Error())
			return
		}
		m.Actions = acts
	}

	s.mu.Lock()
	var fail *failure
	if len(s.fails) > 0 {
		fail = &s.fails[0]
		s.fails = s.fails[1:]
	}
	s.mu.Unlock()
	if fail != nil {
		if fail.wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(fail.wait/time.Second)))
		}
		code := fail.status * 100
		if fail.status == http.StatusTooManyRequests {
			code = 42901
		}
		writeError(w, fail.status, code, strings.ToLower(http.StatusText(fail.status)))
		return
	}

	m.ID = newID()
	m.At = time.Now()
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": m.ID, "time": m.At.Unix(), "expires": m.At.Add(12 * time.Hour).Unix(), "event": "message",
		"topic": topic, "title": m.Title, "message": m.Body, "priority": m.Priority, "tags": m.Tags, "click": m.Click,
	})
}

// auth checks the credentials: none when the server needs none; else a
// missing one is 403 (anonymous may not write) and a wrong one 401.
func (s *Server) auth(r *http.Request) (status, code int, msg string) {
	if s.o.Token == "" && s.o.Username == "" {
		return 0, 0, ""
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return http.StatusForbidden, 40301, "forbidden"
	}
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && s.o.Token != "" && tok == s.o.Token {
		return 0, 0, ""
	}
	if u, p, ok := r.BasicAuth(); ok && s.o.Username != "" && u == s.o.Username && p == s.o.Password {
		return 0, 0, ""
	}
	return http.StatusUnauthorized, 40101, "unauthorized"
}

func priority(v string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "min":
		return 1, nil
	case "2", "low":
		return 2, nil
	case "3", "default":
		return 3, nil
	case "4", "high":
		return 4, nil
	case "5", "max", "urgent":
		return 5, nil
	}
	return 0, fmt.Errorf("priority %q is not 1 to 5 or min, low, default, high, max, urgent", v)
}

func (s *Server) violation(w http.ResponseWriter, status, code int, msg string) {
	s.mu.Lock()
	s.violations = append(s.violations, Violation{Status: status, Code: code, Message: msg, At: time.Now()})
	s.mu.Unlock()
	writeError(w, status, code, msg)
}

// writeError answers like ntfy: {"code", "http", "error", "link"}.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "http": status, "error": msg, "link": "https://ntfy.sh/docs/publish/"})
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
