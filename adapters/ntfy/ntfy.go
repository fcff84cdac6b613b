// Package ntfy pushes pages to a person's phone through an ntfy server
// (https://ntfy.sh, usually self-hosted): one POST of the message to the
// person's topic URL, with a title, a priority from the incident's
// severity, an emoji tag, the incident's page on tap, and an Acknowledge
// button that POSTs klaxon's signed acknowledge link.
//
// The client neither retries nor rate-limits: every failure is an
// *incidents.Error around an *Error that says whether and when to retry.
package ntfy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// MaxBody is the largest message ntfy takes by default, in bytes
// (message-size-limit): Compile cuts the body to it.
const MaxBody = 4096

// MaxTitle bounds the title, in runes.
const MaxTitle = 250

// maxResponse bounds how much of an answer is read.
const maxResponse = 64 << 10

// Target is where one person's pushes go: their topic URL on an ntfy
// server, and the credentials that topic needs, if any.
type Target struct {
	// URL is the topic's URL, e.g. "https://ntfy.example.com/alice-pager":
	// the server, then the topic (letters, digits, "-" and "_", up to 64).
	URL string
	// Token is an ntfy access token ("tk_…"), sent as a bearer token.
	Token string
	// Username and Password are sent with basic auth instead, when
	// Token is "".
	Username, Password string
}

var topicRE = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// ValidTarget checks t: URL an http(s) topic URL without credentials,
// query or fragment; Token or Username/Password, not both, without spaces
// or control characters; and credentials only over https, or http to a
// loopback address (they would travel in the clear). Errors name the
// problem but never the token or password.
func ValidTarget(t Target) error {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ntfy: topic URL %q is not an http(s) URL like https://ntfy.example.com/alice-pager", clip(t.URL, 80))
	}
	if u.User != nil {
		return errors.New("ntfy: the topic URL holds credentials: give them as the token (or username and password) instead")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("ntfy: topic URL %q has a query or fragment", clip(t.URL, 80))
	}
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	topic := p[strings.LastIndexByte(p, '/')+1:]
	if !topicRE.MatchString(topic) {
		return fmt.Errorf("ntfy: topic URL %q does not end with a topic (letters, digits, - and _, up to 64)", clip(t.URL, 80))
	}
	if t.Token != "" && (t.Username != "" || t.Password != "") {
		return errors.New("ntfy: give a token or a username and password, not both")
	}
	if t.Password != "" && t.Username == "" {
		return errors.New("ntfy: a password needs a username")
	}
	for name, v := range map[string]string{"token": t.Token, "username": t.Username, "password": t.Password} {
		if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("ntfy: the %s contains spaces or control characters", name)
		}
	}
	if name := u.Hostname(); u.Scheme == "http" && (t.Token != "" || t.Username != "") && !loopback(name) {
		return fmt.Errorf("ntfy: credentials would cross the network in the clear to %s: use https", name)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Push is what klaxon pushes about an incident.
type Push struct {
	// Card is the incident's card. Required.
	Card *templates.Card
	// Team is the incident's team, shown in the title; may be "".
	Team string
	// IncidentURL opens the incident's page when the notification is
	// tapped; http(s), may be "".
	IncidentURL string
	// AckURL is the signed acknowledge link, which the Acknowledge button
	// POSTs to; http(s), may be "". The button is shown only while the
	// incident is triggered.
	AckURL string
	// More, if set, is a line on other incidents for the same person
	// (held back by a throttle and folded into this push); it comes
	// first in the body, under the title, so a long card cannot cut it.
	More string
}

// Message is a compiled push: what is sent.
type Message struct {
	Title    string   // one line, at most MaxTitle runes
	Body     string   // plain text, at most MaxBody bytes
	Priority int      // 1 (min) to 5 (max, "urgent")
	Tags     []string // emoji short codes ntfy shows before the title
	Click    string   // URL opened on tap, or ""
	Actions  string   // the Actions header, or ""
}

// Priority is the ntfy priority of a push about an incident of severity sev
// in state st. A triggered incident rings by severity: SEV1 5 (max:
// long vibration bursts, pop-over), SEV2 4 (high), SEV3 3 (default), SEV4
// 2 (low), unknown 3. Updates about an acknowledged or resolved incident
// are 2 (low: no sound), whatever the severity, so that they never wake
// anyone.
func Priority(sev incidents.Severity, st incidents.State) int {
	if st != incidents.Triggered {
		return 2
	}
	switch sev {
	case incidents.Sev1:
		return 5
	case incidents.Sev2:
		return 4
	case incidents.Sev4:
		return 2
	}
	return 3
}

// tags are the emoji a push shows: rotating_light (🚨) for a triggered
// SEV1 or SEV2, warning (⚠️) for other triggered incidents, eyes (👀) once
// acknowledged, white_check_mark (✅) once resolved.
func tags(c *templates.Card) []string {
	switch {
	case c.State == incidents.Resolved:
		return []string{"white_check_mark"}
	case c.State == incidents.Acknowledged:
		return []string{"eyes"}
	case c.Severity == incidents.Sev1 || c.Severity == incidents.Sev2:
		return []string{"rotating_light"}
	}
	return []string{"warning"}
}

// Compile makes the message of p. It fails only when p has no card or an
// URL that is not http(s).
func Compile(p Push) (Message, error) {
	c := p.Card
	if c == nil {
		return Message{}, errors.New("ntfy: a push needs a card")
	}
	for _, u := range []struct {
		name string
		url  *string
	}{{"incident URL", &p.IncidentURL}, {"acknowledge URL", &p.AckURL}} {
		if *u.url == "" {
			continue
		}
		clean, ok := templates.SafeURL(*u.url)
		if !ok {
			return Message{}, fmt.Errorf("ntfy: the %s is not an http(s) URL without spaces or credentials", u.name)
		}
		*u.url = clean // trimmed: a space around it would land in the URL
	}
	m := Message{Priority: Priority(c.Severity, c.State), Tags: tags(c), Click: asciiURL(p.IncidentURL)}

	title := c.Severity.String() + " " + c.IncidentID
	if t := oneLine(p.Team); t != "" {
		title += " " + t
	}
	title += ": " + oneLine(c.Title)
	if c.State != incidents.Triggered {
		title = templates.StateWord(c.State) + " · " + title
	}
	m.Title = templates.Clean(title, MaxTitle, false)

	var b strings.Builder
	line := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			b.WriteString(s)
			b.WriteString("\n")
		}
	}
	if p.More != "" {
		line(templates.Clean(p.More, 1000, false))
	}
	line(c.Status)
	line(c.Owner)
	if c.Summary != "" {
		b.WriteString("\n")
		line(c.Summary)
	}
	if c.WhatToDo != "" {
		b.WriteString("\nWhat to do: ")
		line(c.WhatToDo)
	}
	if len(c.Facts) > 0 {
		b.WriteString("\n")
		for _, f := range c.Facts {
			line(f.Name + ": " + f.Value)
		}
	}
	if len(c.Alerts) > 0 {
		b.WriteString("\n")
		for _, a := range c.Alerts {
			line("• " + a)
		}
		if c.MoreAlerts > 0 {
			line(fmt.Sprintf("+%d more", c.MoreAlerts))
		}
	}
	m.Body = cutBytes(strings.TrimSpace(b.String()), MaxBody)
	if m.Body == "" {
		m.Body = m.Title
	}

	var actions []string
	if p.AckURL != "" && c.State == incidents.Triggered {
		actions = append(actions, "http, Acknowledge, "+actionValue(asciiURL(p.AckURL))+", method=POST, clear=true")
	}
	for _, l := range c.Links {
		if u, ok := templates.SafeURL(l.URL); ok && l.Kind == templates.LinkRunbook {
			actions = append(actions, "view, Runbook, "+actionValue(asciiURL(u)))
			break
		}
	}
	m.Actions = strings.Join(actions, "; ")
	return m, nil
}

// asciiURL is the SafeURL u with every byte outside printable ASCII, and
// "\\", percent-encoded (an IRI made a URI), fit for a header.
func asciiURL(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// actionValue is u as a value of the Actions header: quoted when it holds
// a comma or semicolon, which would end the value. A SafeURL has no quote.
func actionValue(u string) string {
	if strings.ContainsAny(u, ",;'") {
		return `"` + u + `"`
	}
	return u
}

// oneLine is s without line breaks or control characters.
func oneLine(s string) string { return templates.Clean(s, 1000, false) }

// cutBytes is s in at most max bytes: whole runes, ending with "…" when
// some were cut.
func cutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ell = "…"
	s = s[:max-len(ell)]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return strings.TrimRightFunc(s, unicode.IsSpace) + ell
}

// headerValue is s as an HTTP header value: ASCII as it is, anything else
// as an RFC 2047 encoded-word (=?utf-8?b?…?=), which ntfy decodes (its
// documented way to send a UTF-8 title). s has no control characters.
func headerValue(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// Options configure a Client.
type Options struct {
	// HTTPClient sends the requests; nil means
	// &http.Client{Timeout: 10 * time.Second}.
	HTTPClient *http.Client
	// UserAgent is sent with every request; "" means "klaxon".
	UserAgent string
}

// Client pushes to ntfy servers. It is safe for concurrent use.
type Client struct {
	hc *http.Client
	ua string
}

// New returns a Client. It does not call the network.
func New(o Options) *Client {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "klaxon"
	}
	return &Client{hc: hc, ua: ua}
}

// Send pushes p to t and returns the message ID ntfy gave it.
//
// The headers are ntfy's X-Title (RFC 2047-encoded when not ASCII),
// X-Priority, X-Tags, X-Click and X-Actions (the X- names, which ntfy
// reads first: a plain "Priority" header can be replaced on the way by
// proxies that use the HTTP Priority header of RFC 9218), and
// Authorization (bearer token or basic).
//
// Errors are *incidents.Error: Unavailable (retryable) for 429 (with any
// Retry-After), 5xx, network errors and timeouts; Unauthorized for 401 and
// 403; Invalid for a bad target or push and other 4xx answers, such as
// 413. Each wraps an *Error with the details; none holds the token or
// password.
func (c *Client) Send(ctx context.Context, t Target, p Push) (id string, err error) {
	if err := ValidTarget(t); err != nil {
		return "", wrap(&Error{Code: "bad_target", Err: redact(err, t)})
	}
	m, err := Compile(p)
	if err != nil {
		return "", wrap(&Error{Code: "bad_push", Err: err})
	}
	if err := ctx.Err(); err != nil {
		return "", wrap(ctxError(err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, strings.NewReader(m.Body))
	if err != nil {
		return "", wrap(&Error{Code: "bad_target", Err: redact(err, t)})
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("User-Agent", c.ua)
	h.Set("X-Title", headerValue(m.Title))
	h.Set("X-Priority", strconv.Itoa(m.Priority))
	h.Set("X-Tags", strings.Join(m.Tags, ","))
	if m.Click != "" {
		h.Set("X-Click", m.Click)
	}
	if m.Actions != "" {
		h.Set("X-Actions", m.Actions)
	}
	switch {
	case t.Token != "":
		h.Set("Authorization", "Bearer "+t.Token)
	case t.Username != "":
		req.SetBasicAuth(t.Username, t.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", wrap(transportError(ctx, err, t))
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode != http.StatusOK {
		return "", wrap(apiError(resp, body, t))
	}
	var out struct {
		ID    string `json:"id"`
		Event string `json:"event"`
	}
	if rerr != nil || json.Unmarshal(body, &out) != nil || out.ID == "" {
		// ntfy answered 200: the push is out, only its ID is unknown.
		// Not worth a retry, which would push it twice.
		return "", wrap(&Error{Status: resp.StatusCode, Code: "bad_response",
			Err: errors.New("ntfy: the answer to a publish is not a message with an id")})
	}
	return out.ID, nil
}

func ctxError(err error) *Error {
	code := "canceled"
	if errors.Is(err, context.DeadlineExceeded) {
		code = "timeout"
	}
	return &Error{Code: code, Temp: true, Err: err}
}

func transportError(ctx context.Context, err error, t Target) *Error {
	if cerr := ctx.Err(); cerr != nil {
		return ctxError(cerr)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the URL
	}
	err = redact(err, t)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Code: "timeout", Temp: true, Err: err}
	}
	return &Error{Code: "network", Temp: true, Err: err}
}

// apiError maps an error answer, with ntfy's JSON {"code", "http",
// "error", "link"} when there is one.
func apiError(resp *http.Response, body []byte, t Target) *Error {
	var ne struct {
		Code  int    `json:"code"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &ne)
	s := resp.StatusCode
	e := &Error{Status: s, NtfyCode: ne.Code, Code: "http_" + strconv.Itoa(s)}
	switch {
	case s == http.StatusTooManyRequests:
		e.Code, e.Temp = "rate_limited", true
	case s >= 500:
		e.Temp = true
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Code = "unauthorized"
	case s == http.StatusRequestEntityTooLarge:
		e.Code = "too_large"
	}
	if e.Temp {
		e.Wait = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	msg := ne.Error
	if msg == "" {
		msg = http.StatusText(s)
	}
	e.Err = redact(errors.New(clip(msg, 200)), t)
	return e
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if n, err := strconv.Atoi(h); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if at, err := http.ParseTime(h); err == nil && at.After(now) {
		return at.Sub(now).Round(time.Second)
	}
	return 0
}

// redact removes t's secrets from err's text, should they appear there.
func redact(err error, t Target) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	changed := false
	for _, secret := range []string{t.Token, t.Password} {
		if len(secret) >= 4 && strings.Contains(s, secret) {
			s, changed = strings.ReplaceAll(s, secret, "<secret>"), true
		}
	}
	if changed {
		return errors.New(s)
	}
	return err
}

// clip is s on one line, cut to n runes.
func clip(s string, n int) string { return templates.Clean(s, n, false) }

// Error is a failed push. It never holds a token or password.
type Error struct {
	Status   int           // HTTP status when ntfy answered, else 0
	Code     string        // see below
	NtfyCode int           // ntfy's error code (e.g. 40301), 0 when none
	Wait     time.Duration // Retry-After of a 429 or 5xx, when given
	Temp     bool          // worth retrying: 429, 5xx, network errors, timeouts, cancellation
	Err      error         // cause: ntfy's message, the transport error, ctx.Err()
}

// Codes of Error: "rate_limited" (429), "unauthorized" (401, 403: a wrong
// token, or a topic the user may not write), "too_large" (413),
// "http_<status>" for other answers, "network", "timeout", "canceled",
// "bad_response" (ntfy answered 200 without a message ID: the push is
// out), and, before sending, "bad_target" and "bad_push".
//
// Error reads e.g. "ntfy send: unauthorized: forbidden".
func (e *Error) Error() string {
	s := "ntfy send: " + e.Code
	if e.Wait > 0 {
		s += " (retry after " + e.Wait.String() + ")"
	}
	if e.Err != nil {
		if msg := strings.TrimPrefix(e.Err.Error(), "ntfy: "); msg != "" {
			s += ": " + msg
		}
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Retryable reports whether retrying may succeed (Temp).
func (e *Error) Retryable() bool { return e.Temp }

// RetryAfter is how long ntfy asked to wait (Wait), 0 when it did not say.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// Kind is the incidents.Kind of e: Unavailable when Temp, Unauthorized
// for "unauthorized", else Invalid.
func (e *Error) Kind() incidents.Kind {
	switch {
	case e.Temp:
		return incidents.Unavailable
	case e.Code == "unauthorized":
		return incidents.Unauthorized
	}
	return incidents.Invalid
}

// wrap is e inside an *incidents.Error of its Kind, with a message that is
// safe to show.
func wrap(e *Error) error {
	var msg string
	switch e.Kind() {
	case incidents.Unavailable:
		msg = "the push server is unavailable; the push will be retried"
	case incidents.Unauthorized:
		msg = "the push server refused the token for this topic"
	default:
		msg = "the push server refused the push"
		if e.Code == "bad_target" || e.Code == "bad_push" {
			msg = "the push is misconfigured"
		}
	}
	return &incidents.Error{Kind: e.Kind(), Message: msg, Err: e}
}
