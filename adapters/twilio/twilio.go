// Package twilio places voice calls and sends text messages through
// Twilio's REST API, and reads the webhooks Twilio sends back (a Gather's
// keypress, call status callbacks, inbound text messages).
//
// It is a small client of our own on the standard library, not twilio-go,
// whose base URL is fixed to api.twilio.com: here the API URL is an option,
// so tests run against twiliofake. The client neither retries nor
// rate-limits: every failure is an *Error that says whether and when to
// retry.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultAPIURL is Twilio's REST API.
const DefaultAPIURL = "https://api.twilio.com"

// MaxTwiml is the longest Twiml parameter Twilio accepts, in characters.
const MaxTwiml = 4000

// DefaultTimeout is how long, in seconds, a call rings when Call.Timeout is 0.
const DefaultTimeout = 30

// MaxTimeout is the longest ring Twilio allows, in seconds.
const MaxTimeout = 600

// Call statuses, as Twilio reports them in a call's status and in the
// CallStatus parameter of status callbacks.
const (
	StatusQueued     = "queued"
	StatusRinging    = "ringing"
	StatusInProgress = "in-progress"
	StatusCompleted  = "completed"
	StatusBusy       = "busy"
	StatusFailed     = "failed"
	StatusNoAnswer   = "no-answer"
	StatusCanceled   = "canceled"
)

// Answered reports whether a call in this status was picked up:
// in-progress (talking now) or completed (picked up, then hung up).
func Answered(status string) bool {
	return status == StatusInProgress || status == StatusCompleted
}

// Final reports whether status ends the call: completed, busy, failed,
// no-answer or canceled.
func Final(status string) bool {
	switch status {
	case StatusCompleted, StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled:
		return true
	}
	return false
}

// StatusCallbackEvents are the events Call asks Twilio to report to
// Call.StatusCallback.
var StatusCallbackEvents = []string{"initiated", "ringing", "answered", "completed"}

var (
	sidRE  = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	e164RE = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
)

// ValidE164 checks a phone number in E.164 form: "+" then 2 to 15 digits,
// the first not 0, e.g. "+14155550100".
func ValidE164(number string) error {
	if !e164RE.MatchString(number) {
		return fmt.Errorf("twilio: phone number %q is not in E.164 form, like +14155550100", number)
	}
	return nil
}

// Options configure a Client.
type Options struct {
	// AccountSID is the account's SID, "AC" and 32 hex digits. Required.
	AccountSID string
	// AuthToken is the account's auth token. Required.
	AuthToken string
	// From is the caller id, a Twilio number in E.164 form. Required.
	From string
	// APIURL is the REST API's base URL; default DefaultAPIURL.
	APIURL string
	// HTTPClient makes the requests; default &http.Client{Timeout: 15 * time.Second}.
	HTTPClient *http.Client
}

// Client places voice calls. It is safe for concurrent use.
type Client struct {
	sid, token, from string
	api              string // without a trailing slash
	hc               *http.Client
}

// maxResponse bounds how much of an API answer is read.
const maxResponse = 1 << 20

// New validates o and returns a Client. It does not call the network.
func New(o Options) (*Client, error) {
	if !sidRE.MatchString(o.AccountSID) {
		return nil, fmt.Errorf("twilio: account SID %q is not AC followed by 32 hex digits", o.AccountSID)
	}
	if o.AuthToken == "" {
		return nil, errors.New("twilio: auth token is empty")
	}
	if strings.ContainsFunc(o.AuthToken, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// Never echo the token.
		return nil, errors.New("twilio: auth token contains spaces or control characters")
	}
	if err := ValidE164(o.From); err != nil {
		return nil, fmt.Errorf("twilio: from number: %w", err)
	}
	api := o.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("twilio: API URL %q is not an http(s) URL like %q", api, DefaultAPIURL)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{sid: o.AccountSID, token: o.AuthToken, from: o.From, api: strings.TrimRight(api, "/"), hc: hc}, nil
}

// From is the caller id calls are placed from.
func (c *Client) From() string { return c.from }

// Call is an outgoing call: To, and either Twiml or URL.
type Call struct {
	// To is the number to call, in E.164 form.
	To string
	// Twiml is the call's TwiML, at most MaxTwiml characters (see
	// GatherTwiml, SayTwiml). Set Twiml or URL, not both.
	Twiml string
	// URL is where Twilio fetches the call's TwiML (POST) when it answers.
	URL string
	// StatusCallback, if set, is where Twilio POSTs the call's progress:
	// events initiated, ringing, answered and completed, with CallStatus.
	StatusCallback string
	// Timeout is how long to let the phone ring, in seconds, 1 to
	// MaxTimeout; 0 = DefaultTimeout.
	Timeout int
	// MachineDetection asks Twilio to tell a person from an answering
	// machine (AnsweredBy in callbacks).
	MachineDetection bool
}

// form checks call and returns the request's form.
func (c *Client) form(call Call) (url.Values, *Error) {
	const op = "Call"
	if err := ValidE164(call.To); err != nil {
		return nil, &Error{Op: op, Code: "bad_to", Err: err}
	}
	bad := func(format string, a ...any) (url.Values, *Error) {
		return nil, &Error{Op: op, Code: "bad_call", Err: fmt.Errorf(format, a...)}
	}
	switch {
	case call.Twiml == "" && call.URL == "":
		return bad("twilio: a call needs Twiml or URL")
	case call.Twiml != "" && call.URL != "":
		return bad("twilio: a call takes Twiml or URL, not both")
	case call.Timeout < 0 || call.Timeout > MaxTimeout:
		return bad("twilio: ring timeout %d s is not within 1 to %d", call.Timeout, MaxTimeout)
	}
	if n := utf8.RuneCountInString(call.Twiml); n > MaxTwiml {
		return nil, &Error{Op: op, Code: "twiml_too_long",
			Err: fmt.Errorf("twilio: TwiML is %d characters, Twilio takes at most %d", n, MaxTwiml)}
	}
	if call.URL != "" && !httpURL(call.URL) {
		return bad("twilio: TwiML URL %q is not an http(s) URL", call.URL)
	}
	if call.StatusCallback != "" && !httpURL(call.StatusCallback) {
		return bad("twilio: status callback %q is not an http(s) URL", call.StatusCallback)
	}
	timeout := call.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	f := url.Values{}
	f.Set("To", call.To)
	f.Set("From", c.from)
	if call.Twiml != "" {
		f.Set("Twiml", call.Twiml)
	} else {
		f.Set("Url", call.URL)
		f.Set("Method", http.MethodPost)
	}
	if call.StatusCallback != "" {
		f.Set("StatusCallback", call.StatusCallback)
		f["StatusCallbackEvent"] = append([]string(nil), StatusCallbackEvents...)
		f.Set("StatusCallbackMethod", http.MethodPost)
	}
	f.Set("Timeout", strconv.Itoa(timeout))
	if call.MachineDetection {
		f.Set("MachineDetection", "Enable")
	}
	return f, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Call places call and returns its SID ("CA…") once Twilio has queued it.
// Arguments are checked before anything is sent: a To that is not E.164 is
// an *Error "bad_to", TwiML over MaxTwiml characters "twiml_too_long", other
// mistakes "bad_call". A network error or timeout once the request is sent
// may still have placed the call: retrying it can ring the phone twice.
func (c *Client) Call(ctx context.Context, call Call) (sid string, err error) {
	const op = "Call"
	form, ferr := c.form(call)
	if ferr != nil {
		return "", ferr
	}
	return c.create(ctx, op, "Calls.json", form)
}

// create POSTs form to the account's resource ("Calls.json",
// "Messages.json") and returns the SID of what Twilio created.
func (c *Client) create(ctx context.Context, op, resource string, form url.Values) (sid string, err error) {
	if err := ctx.Err(); err != nil {
		return "", ctxError(op, err)
	}
	endpoint := c.api + "/2010-04-01/Accounts/" + c.sid + "/" + resource
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &Error{Op: op, Code: "bad_request", Err: c.redact(err)}
	}
	req.SetBasicAuth(c.sid, c.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", c.transportError(ctx, op, 0, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", apiError(op, resp, body)
	}
	if err != nil {
		// Twilio answered 2xx but the body broke off: the call or
		// message may exist; do not send again blindly.
		return "", &Error{Op: op, Status: resp.StatusCode, Code: "bad_response", Err: c.redact(err)}
	}
	var out struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", &Error{Op: op, Status: resp.StatusCode, Code: "bad_response", Err: fmt.Errorf("twilio: answer is not JSON: %w", err)}
	}
	if out.SID == "" {
		return "", &Error{Op: op, Status: resp.StatusCode, Code: "bad_response", Err: errors.New("twilio: answer has no sid")}
	}
	return out.SID, nil
}

func ctxError(op string, err error) *Error {
	code := "canceled"
	if errors.Is(err, context.DeadlineExceeded) {
		code = "timeout"
	}
	return &Error{Op: op, Code: code, Temp: true, Err: err}
}

func (c *Client) transportError(ctx context.Context, op string, status int, err error) *Error {
	if cerr := ctx.Err(); cerr != nil {
		return ctxError(op, cerr)
	}
	// url.Error names the URL; keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = c.redact(err)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Op: op, Status: status, Code: "timeout", Temp: true, Err: err}
	}
	return &Error{Op: op, Status: status, Code: "network", Temp: true, Err: err}
}

// apiError maps an error answer: Twilio's JSON {code, message, status,
// more_info} when there is one.
func apiError(op string, resp *http.Response, body []byte) *Error {
	status := resp.StatusCode
	var te struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		Status   int    `json:"status"`
		MoreInfo string `json:"more_info"`
	}
	_ = json.Unmarshal(body, &te)
	e := &Error{Op: op, Status: status, Code: "http_" + strconv.Itoa(status), TwilioCode: te.Code, MoreInfo: te.MoreInfo,
		Temp: status == http.StatusTooManyRequests || status >= 500}
	if te.Code != 0 {
		e.Code = "twilio_" + strconv.Itoa(te.Code)
	}
	msg := te.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg != "" {
		e.Err = errors.New(msg)
	}
	if e.Temp {
		e.Wait = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n > 0 {
			return time.Duration(n) * time.Second
		}
		return 0
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// redact removes the token from an error's text, should it appear there.
func (c *Client) redact(err error) error {
	if err != nil && strings.Contains(err.Error(), c.token) {
		return errors.New(strings.ReplaceAll(err.Error(), c.token, "<token>"))
	}
	return err
}

// Error is a failed API call. It never holds the auth token.
type Error struct {
	Op         string        // "Call", "SendSMS"
	Status     int           // HTTP status when known (0 otherwise)
	Code       string        // see below
	TwilioCode int           // Twilio's error code, e.g. 21211 (0 when none)
	MoreInfo   string        // Twilio's more_info link, when given
	Wait       time.Duration // Retry-After of a 429 or 5xx, when given
	Temp       bool          // worth retrying: 429, 5xx, network errors, timeouts, cancellation
	Err        error         // cause: Twilio's message, the transport error, ctx.Err()
}

// Codes of Error: "twilio_<code>" when Twilio's answer carries an error
// code (e.g. "twilio_20003" bad credentials, "twilio_21211" invalid To),
// else "http_<status>"; "network", "timeout", "canceled" (ctx),
// "bad_response" (a 2xx answer without a SID: the call or message may
// exist), "bad_request" (the request could not be built), and, before
// sending, "bad_to", "twiml_too_long", "bad_call", "bad_sms",
// "sms_too_long". A recipient who opted out with STOP is "twilio_21610"
// (see IsOptedOut). Temp is set for
// HTTP 429 and 5xx whatever the code, and for network, timeout and canceled.
//
// Error reads "twilio Call: twilio_21211: Invalid 'To' Phone Number".
func (e *Error) Error() string {
	s := "twilio " + e.Op + ": " + e.Code
	if e.Err != nil {
		if msg := strings.TrimPrefix(e.Err.Error(), "twilio: "); msg != "" && msg != e.Code {
			s += ": " + msg
		}
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Retryable reports whether the call is worth retrying (Temp).
func (e *Error) Retryable() bool { return e.Temp }

// RetryAfter is how long Twilio asked to wait (Wait), 0 when it did not say.
func (e *Error) RetryAfter() time.Duration { return e.Wait }
