// Package prometheus is klaxon's data-source client for graphs: it asks a
// Prometheus-compatible HTTP API (Prometheus, Thanos Query, Mimir,
// VictoriaMetrics, or any of them behind Grafana's data source proxy) for
// the series an alert monitors, and reads from an alert what to ask: the
// expression in its generatorURL, the part of it worth plotting, its
// threshold and its unit.
//
// The package's name is the same as client_golang's, which klaxon uses for
// its own metrics; import it under another name:
//
//	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
//
// The client neither retries nor caches. Every failure of a query is an
// *incidents.Error whose Kind says whether trying again may help:
// Unavailable (timeouts, network errors, 429, 5xx, Prometheus's timeout,
// canceled, internal and unavailable errors) may pass; Invalid (bad_data,
// execution errors, an answer over the size cap, a URL that is not a
// Prometheus API) and Unauthorized (401, 403) will not. Errors never carry
// the token or the password.
package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// DefaultTimeout bounds one query, from sending it to reading the last
// byte of the answer, when Options.Timeout is 0.
const DefaultTimeout = 2 * time.Second

// DefaultMaxBytes caps the size of an answer (after decompression) when
// Options.MaxBytes is 0: 8 MiB is about 300,000 points, 1,000 series of
// 300 points.
const DefaultMaxBytes = 8 << 20

// Day is how far DayBefore looks back.
const Day = 24 * time.Hour

// maxGETQuery is the longest encoded query string sent with GET; longer
// ones are POSTed as a form (Prometheus takes both), so that proxies with
// small request-line limits (often 4 or 8 KiB) let them through.
const maxGETQuery = 2048

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// ErrTooLarge is the cause of the error a query returns when the answer
// exceeds the client's MaxBytes.
var ErrTooLarge = errors.New("answer exceeds the size cap")

// BasicAuth is a user name and password for HTTP basic authentication.
type BasicAuth struct {
	Username string
	Password string
}

// Options configure a Client.
type Options struct {
	// Name names the data source in error messages; default the URL's
	// host.
	Name string
	// URL is the API's base URL, the part before /api/v1/…: for example
	// http://prometheus:9090, https://proxy.example.com/prometheus, or
	// https://grafana.example.com/api/datasources/proxy/uid/<uid> for
	// Grafana's data source proxy. Required; http or https, without
	// credentials, query or fragment.
	URL string
	// Token is sent as "Authorization: Bearer <token>". Set Token or
	// Basic, not both, or neither.
	Token string
	// Basic is sent as HTTP basic authentication.
	Basic *BasicAuth
	// HTTPClient sends the requests; default a client with no timeout of
	// its own (Timeout bounds each query).
	HTTPClient *http.Client
	// Timeout bounds each query; default DefaultTimeout. Prometheus is
	// asked to give up evaluating after the same time.
	Timeout time.Duration
	// MaxBytes caps an answer's size; default DefaultMaxBytes. A larger
	// answer is refused with an Invalid error caused by ErrTooLarge.
	MaxBytes int64
}

// Client queries one data source. It is safe for concurrent use.
type Client struct {
	name     string
	base     string // without a trailing slash
	token    string
	basic    *BasicAuth
	hc       *http.Client
	timeout  time.Duration
	maxBytes int64
}

// New checks o and returns a Client. It does not call the network.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("prometheus: url %q is not an http(s) URL like http://prometheus:9090", redactURL(o.URL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("prometheus: url %q carries credentials: give them as a token or basic auth instead", redactURL(o.URL))
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o.URL, "?") {
		return nil, fmt.Errorf("prometheus: url %q has a query or fragment: give the base URL, the part before /api/v1/", o.URL)
	}
	if strings.Contains(u.Path, "/api/v1") {
		return nil, fmt.Errorf("prometheus: url %q includes /api/v1: give the base URL, the part before /api/v1/", o.URL)
	}
	if o.Token != "" && o.Basic != nil {
		return nil, errors.New("prometheus: set a token or basic auth, not both")
	}
	if strings.ContainsFunc(o.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("prometheus: the token contains spaces or control characters")
	}
	if o.Basic != nil {
		if o.Basic.Username == "" {
			return nil, errors.New("prometheus: basic auth needs a username")
		}
		if strings.Contains(o.Basic.Username, ":") {
			return nil, errors.New("prometheus: a basic auth username cannot contain ':'")
		}
	}
	if o.Timeout < 0 || o.MaxBytes < 0 {
		return nil, errors.New("prometheus: timeout and max bytes cannot be negative")
	}
	c := &Client{
		name:     o.Name,
		base:     strings.TrimRight(u.String(), "/"),
		token:    o.Token,
		hc:       o.HTTPClient,
		timeout:  o.Timeout,
		maxBytes: o.MaxBytes,
	}
	if o.Basic != nil {
		b := *o.Basic
		c.basic = &b
	}
	if c.name == "" {
		c.name = u.Host
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	return c, nil
}

// Name is the data source's name, as used in error messages.
func (c *Client) Name() string { return c.name }

// QueryRange evaluates expr from start to end every step, through
// /api/v1/query_range (GET, or a POSTed form for a long expression).
//
// It checks its arguments before sending anything: an empty expr, a step
// under 1 ms, end before start or more than MaxPoints points per series
// are Invalid. The whole query, answer included, takes at most the
// client's timeout; an answer is decoded as it streams in, one series at a
// time, and one larger than the client's MaxBytes is refused (Invalid,
// caused by ErrTooLarge) rather than cut: the series that matter most may
// be the ones left out. See the package doc for the other error kinds.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (Result, error) {
	switch {
	case strings.TrimSpace(expr) == "":
		return Result{}, c.fail(incidents.Invalid, "the query is empty", nil)
	case step < time.Millisecond:
		return Result{}, c.fail(incidents.Invalid, fmt.Sprintf("step %v is under 1ms", step), nil)
	case end.Before(start):
		return Result{}, c.fail(incidents.Invalid, "the range ends before it starts", nil)
	}
	if n := end.Sub(start) / step; n > MaxPoints {
		return Result{}, c.fail(incidents.Invalid, fmt.Sprintf(
			"%v at step %v is %d points per series, Prometheus answers at most %d: use a larger step (Step gives one)",
			end.Sub(start), step, n, MaxPoints), nil)
	}
	form := url.Values{}
	form.Set("query", expr)
	form.Set("start", formatTime(start))
	form.Set("end", formatTime(end))
	form.Set("step", formatSeconds(step))
	form.Set("timeout", formatSeconds(c.timeout))
	qctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	endpoint := c.base + "/api/v1/query_range"
	var req *http.Request
	var err error
	if enc := form.Encode(); len(enc) <= maxGETQuery {
		req, err = http.NewRequestWithContext(qctx, http.MethodGet, endpoint+"?"+enc, nil)
	} else {
		req, err = http.NewRequestWithContext(qctx, http.MethodPost, endpoint, strings.NewReader(enc))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return Result{}, c.fail(incidents.Invalid, "cannot build the request", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "klaxon")
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.basic != nil:
		req.SetBasicAuth(c.basic.Username, c.basic.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{}, c.transportError(ctx, qctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Result{}, c.statusError(resp)
	}
	if resp.ContentLength > c.maxBytes {
		return Result{}, c.tooLarge(0)
	}
	body := &capReader{r: resp.Body, max: c.maxBytes}
	a, err := decodeAnswer(body)
	if err != nil {
		switch {
		case errors.Is(err, ErrTooLarge):
			return Result{}, c.tooLarge(len(a.series))
		case body.err != nil:
			return Result{}, c.transportError(ctx, qctx, body.err)
		}
		return Result{}, c.fail(incidents.Invalid, "the answer is not a Prometheus API answer: is url the API's base URL?", err)
	}
	if a.status == "error" {
		return Result{}, c.apiError(resp.StatusCode, a.errorType, a.errMsg)
	}
	if a.status != "success" {
		return Result{}, c.fail(incidents.Invalid, fmt.Sprintf("the answer's status is %q, not success: is url the API's base URL?", clip(a.status, 40)), nil)
	}
	if a.resultType != "matrix" {
		return Result{}, c.fail(incidents.Invalid, fmt.Sprintf("the answer's resultType is %q, not matrix: is url the API's base URL?", clip(a.resultType, 40)), nil)
	}
	return Result{Series: a.series, Warnings: a.warnings}, nil
}

// QueryRangeBefore runs QueryRange over the window by earlier, at the same
// step, and moves every point by later, so that the answer overlays the
// window's own: the day before, the week before.
func (c *Client) QueryRangeBefore(ctx context.Context, expr string, start, end time.Time, step, by time.Duration) (Result, error) {
	r, err := c.QueryRange(ctx, expr, start.Add(-by), end.Add(-by), step)
	for _, s := range r.Series {
		for i := range s.Points {
			s.Points[i].T = s.Points[i].T.Add(by)
		}
	}
	return r, err
}

// DayBefore is QueryRangeBefore a Day earlier: the same window yesterday,
// overlaid on today's.
func (c *Client) DayBefore(ctx context.Context, expr string, start, end time.Time, step time.Duration) (Result, error) {
	return c.QueryRangeBefore(ctx, expr, start, end, step, Day)
}

// formatTime is t in Unix seconds with milliseconds, Prometheus's
// resolution.
func formatTime(t time.Time) string {
	ms := t.UnixMilli()
	s := strconv.FormatInt(ms/1000, 10)
	if f := ms % 1000; f != 0 {
		if f < 0 { // before 1970
			return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
		}
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", f), "0")
	}
	return s
}

func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', -1, 64)
}

// capReader reads at most max bytes; past that it fails with ErrTooLarge.
// err keeps the underlying reader's failure (a broken connection).
type capReader struct {
	r        io.Reader
	n, max   int64
	err      error
	overflow bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.overflow {
		return 0, ErrTooLarge
	}
	if room := c.max + 1 - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.overflow = true
		return n - int(c.n-c.max), ErrTooLarge
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// fail builds the error of a query: message is shown to users, cause is
// for logs. Neither may carry a secret.
func (c *Client) fail(kind incidents.Kind, message string, cause error) error {
	return &incidents.Error{
		Kind:    kind,
		Op:      "prometheus.QueryRange",
		Message: c.redact("data source " + c.name + ": " + message),
		Err:     c.redactErr(cause),
	}
}

func (c *Client) tooLarge(seriesRead int) error {
	msg := fmt.Sprintf("the answer is over %s", formatBytes(c.maxBytes))
	if seriesRead > 0 {
		msg += fmt.Sprintf(" (%d series read)", seriesRead)
	}
	msg += ": narrow the query (topk, sum by) or raise the data source's size cap"
	return c.fail(incidents.Invalid, msg, ErrTooLarge)
}

func formatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// transportError classifies a failure to send or to read the answer. ctx
// is the caller's, qctx the query's, which adds the client's timeout.
func (c *Client) transportError(ctx, qctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error repeats the URL, expression and all
	}
	switch {
	case ctx.Err() != nil:
		return c.fail(incidents.Unavailable, "the query was canceled", ctx.Err())
	case qctx.Err() != nil:
		return c.fail(incidents.Unavailable, fmt.Sprintf("no answer within %v", c.timeout), err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return c.fail(incidents.Unavailable, "the connection timed out", err)
	}
	return c.fail(incidents.Unavailable, "cannot reach it", err)
}

// statusError reads a non-2xx answer: Prometheus's {status: "error",
// errorType, error} when there is one.
func (c *Client) statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Status == "error" && (e.ErrorType != "" || e.Error != "") {
		return c.apiError(resp.StatusCode, e.ErrorType, e.Error)
	}
	status := resp.StatusCode
	cause := fmt.Errorf("HTTP %d: %s", status, clip(strings.TrimSpace(string(body)), 200))
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return c.fail(incidents.Unauthorized, fmt.Sprintf("credentials refused (%d %s): check the data source's token or basic auth",
			status, http.StatusText(status)), cause)
	case status == http.StatusNotFound:
		return c.fail(incidents.Invalid, "no Prometheus API at "+redactURL(c.base)+"/api/v1/query_range (404): check the data source's url and its path prefix", cause)
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return c.fail(incidents.Unavailable, fmt.Sprintf("answered %d %s", status, http.StatusText(status)), cause)
	}
	return c.fail(incidents.Invalid, fmt.Sprintf("answered %d %s", status, http.StatusText(status)), cause)
}

// apiError maps Prometheus's error answer. Prometheus answers 400 for
// bad_data, 422 for execution errors (too many samples, many-to-many
// matching), 503 for timeout and canceled, 500 for internal errors.
func (c *Client) apiError(status int, errorType, message string) error {
	kind := incidents.Invalid
	switch errorType {
	case "bad_data", "execution", "not_found", "not_acceptable":
	case "timeout", "canceled", "internal", "unavailable":
		kind = incidents.Unavailable
	default:
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			kind = incidents.Unauthorized
		case status == http.StatusTooManyRequests || status >= 500:
			kind = incidents.Unavailable
		}
	}
	et := errorType
	if et == "" {
		et = "error"
	}
	msg := fmt.Sprintf("Prometheus refused the query (%s, HTTP %d): %s", clip(et, 40), status, clip(message, 300))
	return c.fail(kind, msg, fmt.Errorf("%s: %s", et, clip(message, 1000)))
}

// redact removes the token and the password from s, should they appear.
func (c *Client) redact(s string) string {
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "<secret>")
	}
	if c.basic != nil && c.basic.Password != "" {
		s = strings.ReplaceAll(s, c.basic.Password, "<secret>")
	}
	return s
}

func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); c.redact(s) != s {
		return errors.New(c.redact(s))
	}
	return err
}

// redactURL drops a URL's user information.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "//"); j >= 0 && j < i {
			return s[:j+2] + "<redacted>" + s[i:]
		}
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// answer is the part of an API answer QueryRange reads.
type answer struct {
	status, errorType, errMsg string
	resultType                string
	series                    []Series
	warnings                  []string
}

const (
	maxWarnings   = 10
	maxWarningLen = 500
)

// decodeAnswer reads {status, data: {resultType, result: [...]},
// warnings, infos, errorType, error} in any key order, decoding the
// result's series one at a time so that only the decoded series are held,
// never the raw answer.
func decodeAnswer(r io.Reader) (answer, error) {
	var a answer
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return a, err
	}
	for dec.More() {
		key, err := keyToken(dec)
		if err != nil {
			return a, err
		}
		switch key {
		case "status":
			err = dec.Decode(&a.status)
		case "errorType":
			err = dec.Decode(&a.errorType)
		case "error":
			err = dec.Decode(&a.errMsg)
		case "warnings", "infos":
			var ws []string
			if err = dec.Decode(&ws); err == nil {
				for _, w := range ws {
					if len(a.warnings) < maxWarnings {
						a.warnings = append(a.warnings, clip(w, maxWarningLen))
					}
				}
			}
		case "data":
			err = decodeData(dec, &a)
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return a, err
		}
	}
	return a, expectDelim(dec, '}')
}

func decodeData(dec *json.Decoder, a *answer) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil // "data": null
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("data is %v, not an object", t)
	}
	for dec.More() {
		key, err := keyToken(dec)
		if err != nil {
			return err
		}
		switch key {
		case "resultType":
			err = dec.Decode(&a.resultType)
		case "result":
			err = decodeResult(dec, a)
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

func decodeResult(dec *json.Decoder, a *answer) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		// A scalar or string result ([ts, "v"]) is not a matrix; the
		// resultType check reports it.
		if d, ok := t.(json.Delim); ok && (d == '{') {
			return errors.New("result is an object, not an array")
		}
		return nil
	}
	for dec.More() {
		var s struct {
			Metric map[string]string `json:"metric"`
			Values pointsJSON        `json:"values"`
		}
		if err := dec.Decode(&s); err != nil {
			return err
		}
		a.series = append(a.series, Series{Labels: s.Metric, Points: s.Values})
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %v, got %v", want, t)
	}
	return nil
}

func keyToken(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("want an object key, got %v", t)
	}
	return k, nil
}

// skipValue skips the next value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// pointsJSON reads a series' values, [[<unix seconds>, "<value>"], …],
// without reflection: a 300-point series is decoded in one pass.
type pointsJSON []Point

func (ps *pointsJSON) UnmarshalJSON(b []byte) error {
	s := jscan{b: b}
	s.ws()
	if bytes.HasPrefix(b[s.i:], []byte("null")) {
		*ps = nil
		return nil
	}
	if !s.eat('[') {
		return errors.New("values is not an array")
	}
	out := make([]Point, 0, min(bytes.Count(b, []byte{'['})-1, len(b)/8+1))
	if s.eat(']') {
		*ps = out
		return nil
	}
	for {
		if !s.eat('[') {
			return errors.New("a value is not a [time, \"value\"] pair")
		}
		ts, ok := s.number()
		if !ok || !s.eat(',') {
			return errors.New("a value's time is not a number")
		}
		v, ok := s.str()
		if !ok || !s.eat(']') {
			return errors.New("a value is not a [time, \"value\"] pair")
		}
		t, ok := parseTimestamp(ts)
		if !ok {
			return fmt.Errorf("bad sample time %q", clip(string(ts), 40))
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return fmt.Errorf("bad sample value %q", clip(string(v), 40))
			}
		}
		out = append(out, Point{T: t, V: f})
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			*ps = out
			return nil
		}
		return errors.New("values is not an array of pairs")
	}
}

// jscan walks JSON already validated by encoding/json.
type jscan struct {
	b []byte
	i int
}

func (s *jscan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *jscan) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jscan) number() ([]byte, bool) {
	s.ws()
	j := s.i
	for j < len(s.b) && (isDigit(s.b[j]) || s.b[j] == '.' || s.b[j] == '-' || s.b[j] == '+' || s.b[j] == 'e' || s.b[j] == 'E') {
		j++
	}
	if j == s.i {
		return nil, false
	}
	n := s.b[s.i:j]
	s.i = j
	return n, true
}

// str reads a string without escapes (sample values never have any).
func (s *jscan) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	j := bytes.IndexByte(s.b[s.i:], '"')
	if j < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+j]
	if bytes.IndexByte(v, '\\') >= 0 {
		return nil, false
	}
	s.i += j + 1
	return v, true
}

// parseTimestamp reads Unix seconds, like 1700000000 or 1700000000.123,
// exactly to the millisecond.
func parseTimestamp(b []byte) (time.Time, bool) {
	s := string(b)
	sec, frac, dot := strings.Cut(s, ".")
	if !strings.ContainsAny(s, "eE+") && sec != "" && sec != "-" && len(frac) <= 9 {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err == nil && n < math.MaxInt64/1000 && n > math.MinInt64/1000 {
			ms := n * 1000
			if dot {
				if frac == "" {
					return time.Time{}, false
				}
				f := (frac + "00")[:3]
				m, err := strconv.Atoi(f)
				if err != nil || strings.TrimLeft(frac, "0123456789") != "" {
					return time.Time{}, false
				}
				if strings.HasPrefix(sec, "-") {
					ms -= int64(m)
				} else {
					ms += int64(m)
				}
			}
			return time.UnixMilli(ms).UTC(), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), true
}
