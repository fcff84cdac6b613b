// Package twiliofake is a fake Twilio REST API for tests: it serves
// POST /2010-04-01/Accounts/{AccountSid}/Calls.json and Messages.json like
// Twilio, with basic auth, checks the form as Twilio would (To and From in
// E.164, Url or Twiml, Twiml at most 4000 characters, Timeout,
// StatusCallback; a message Body of 1 to 1600 characters), answers with
// Twilio's JSON bodies and statuses (21610 for a number that replied STOP,
// see Stop), and records the calls and messages it accepted (Calls,
// Messages) and the requests it refused as malformed (Violations). It
// places no call and sends no callback by itself: tests drive callbacks
// with Callback and inbound text messages with InboundSMS, signed as
// Twilio signs them. It is safe for concurrent use.
package twiliofake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/twilio"
)

// Credentials the fake accepts when Options leaves them empty.
const (
	AccountSID = "AC0123456789abcdef0123456789abcdef"
	AuthToken  = "fake-auth-token-0123456789abcdef"
)

// Options configure a Server.
type Options struct {
	// AccountSID and AuthToken are the accepted credentials; "" = the
	// package's AccountSID and AuthToken.
	AccountSID, AuthToken string
	// Delay holds every API answer this long (or until the client goes
	// away): for timeouts and cancellation.
	Delay time.Duration
}

// RecordedCall is a call the fake accepted.
type RecordedCall struct {
	SID            string // "CA" and 32 hex digits
	To, From       string
	Twiml          string
	URL            string // the Url parameter
	StatusCallback string
	Timeout        int        // seconds; 60 (Twilio's default) when not sent
	At             time.Time  // when it was accepted
	Form           url.Values // the whole form as received
}

// Violation is a request the fake refused as malformed.
type Violation struct {
	Status  int    // HTTP status answered
	Code    int    // Twilio error code answered
	Message string // what was wrong
	At      time.Time
}

func (v Violation) String() string {
	return fmt.Sprintf("%d %d: %s", v.Status, v.Code, v.Message)
}

// Server is a fake Twilio API.
type Server struct {
	srv        *httptest.Server
	sid, token string
	delay      time.Duration

	mu         sync.Mutex
	calls      []RecordedCall
	messages   []RecordedSMS
	stopped    map[string]bool
	violations []Violation
	requests   int
	fails      []failure
}

type failure struct{ status, code int }

// New starts a Server. Close it when done.
func New(o Options) *Server {
	s := &Server{sid: o.AccountSID, token: o.AuthToken, delay: o.Delay, stopped: map[string]bool{}}
	if s.sid == "" {
		s.sid = AccountSID
	}
	if s.token == "" {
		s.token = AuthToken
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API's base URL, for twilio.Options.APIURL.
func (s *Server) URL() string { return s.srv.URL }

// AccountSID is the accepted account SID.
func (s *Server) AccountSID() string { return s.sid }

// AuthToken is the accepted auth token.
func (s *Server) AuthToken() string { return s.token }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Calls are the calls accepted so far, oldest first.
func (s *Server) Calls() []RecordedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedCall, len(s.calls))
	for i, c := range s.calls {
		c.Form = cloneValues(c.Form)
		out[i] = c
	}
	return out
}

// Violations are the malformed requests refused so far, oldest first.
// Failures asked for with Fail and refused credentials are not violations.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// Requests is how many API requests arrived, answered or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Fail makes the next n authenticated calls fail with HTTP status and
// Twilio error code (0 = none: the body has no code), queued after earlier
// failures. A 429 or 503 answer carries Retry-After: 1.
func (s *Server) Fail(n, status, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, failure{status, code})
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if s.delay > 0 {
		// Read the body first: only then does the server notice that the
		// client went away.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(s.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	const prefix = "/2010-04-01/Accounts/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	sid, resource, _ := strings.Cut(rest, "/")
	if !ok || (resource != "Calls.json" && resource != "Messages.json") {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.sid || pass != s.token {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if sid != s.sid {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		s.violation(w, http.StatusMethodNotAllowed, 20004, "Method not allowed: "+r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.violation(w, http.StatusBadRequest, 20001, "Content-Type "+ct+" is not application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.violation(w, http.StatusBadRequest, 20001, "Unparseable form: "+err.Error())
		return
	}
	f := r.PostForm

	s.mu.Lock()
	var fail *failure
	if len(s.fails) > 0 {
		fail = &s.fails[0]
		s.fails = s.fails[1:]
	}
	s.mu.Unlock()
	if fail != nil {
		if fail.status == http.StatusTooManyRequests || fail.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		msg := http.StatusText(fail.status)
		if fail.code == 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fail.status)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "status": fail.status})
			return
		}
		writeError(w, fail.status, fail.code, msg)
		return
	}
	if resource == "Messages.json" {
		s.message(w, f)
		return
	}

	to, from := f.Get("To"), f.Get("From")
	twiml, u, cb := f.Get("Twiml"), f.Get("Url"), f.Get("StatusCallback")
	timeout := 60
	switch {
	case to == "":
		s.violation(w, http.StatusBadRequest, 21201, "No 'To' number is specified")
		return
	case twilio.ValidE164(to) != nil:
		s.violation(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+to)
		return
	case from == "":
		s.violation(w, http.StatusBadRequest, 21213, "No 'From' number is specified")
		return
	case twilio.ValidE164(from) != nil:
		s.violation(w, http.StatusBadRequest, 21212, "Invalid 'From' Phone Number: "+from)
		return
	case twiml == "" && u == "":
		s.violation(w, http.StatusBadRequest, 21205, "Either Url or Twiml is required")
		return
	case twiml != "" && u != "":
		s.violation(w, http.StatusBadRequest, 21205, "Url and Twiml are mutually exclusive")
		return
	case utf8.RuneCountInString(twiml) > twilio.MaxTwiml:
		s.violation(w, http.StatusBadRequest, 21205,
			fmt.Sprintf("Twiml is %d characters, the maximum is %d", utf8.RuneCountInString(twiml), twilio.MaxTwiml))
		return
	case u != "" && !httpURL(u):
		s.violation(w, http.StatusBadRequest, 21205, "Url is not a valid URL: "+u)
		return
	case cb != "" && !httpURL(cb):
		s.violation(w, http.StatusBadRequest, 21205, "StatusCallback is not a valid URL: "+cb)
		return
	}
	if t := f.Get("Timeout"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > twilio.MaxTimeout {
			s.violation(w, http.StatusBadRequest, 21216, "Timeout must be an integer from 1 to 600: "+t)
			return
		}
		timeout = n
	}
	for _, ev := range f["StatusCallbackEvent"] {
		switch ev {
		case "initiated", "ringing", "answered", "completed":
		default:
			s.violation(w, http.StatusBadRequest, 21626, "Invalid StatusCallbackEvent: "+ev)
			return
		}
	}

	now := time.Now()
	call := RecordedCall{SID: newSID("CA"), To: to, From: from, Twiml: twiml, URL: u,
		StatusCallback: cb, Timeout: timeout, At: now, Form: cloneValues(f)}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	writeJSON(w, http.StatusCreated, map[string]any{
		"sid":          call.SID,
		"account_sid":  s.sid,
		"to":           to,
		"to_formatted": to,
		"from":         from,
		"status":       twilio.StatusQueued,
		"direction":    "outbound-api",
		"api_version":  "2010-04-01",
		"date_created": now.UTC().Format(time.RFC1123Z),
		"uri":          "/2010-04-01/Accounts/" + s.sid + "/Calls/" + call.SID + ".json",
	})
}

func (s *Server) violation(w http.ResponseWriter, status, code int, msg string) {
	s.mu.Lock()
	s.violations = append(s.violations, Violation{Status: status, Code: code, Message: msg, At: time.Now()})
	s.mu.Unlock()
	writeError(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers like Twilio: {"code", "message", "more_info", "status"}.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   msg,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

// Params are the parameters Twilio sends to call's webhooks (AccountSid,
// CallSid, From, To, Direction, ApiVersion), plus extra, e.g.
// url.Values{"CallStatus": {"no-answer"}} or url.Values{"Digits": {"1"}}.
func (s *Server) Params(call RecordedCall, extra url.Values) url.Values {
	p := url.Values{
		"AccountSid": {s.sid},
		"CallSid":    {call.SID},
		"From":       {call.From},
		"To":         {call.To},
		"Caller":     {call.From},
		"Called":     {call.To},
		"Direction":  {"outbound-api"},
		"ApiVersion": {"2010-04-01"},
	}
	for k, v := range extra {
		p[k] = append([]string(nil), v...)
	}
	return p
}

// Callback POSTs params as a form to target, as Twilio calls a webhook: with
// X-Twilio-Signature, the signature of target and params with the
// server's auth token. The caller closes the response's body.
func (s *Server) Callback(ctx context.Context, target string, params url.Values) (*http.Response, error) {
	return s.post(ctx, target, target, params)
}

var callbackClient = &http.Client{Timeout: 10 * time.Second}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func newSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
