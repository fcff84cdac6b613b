// Package promfake is a strict fake of Prometheus's range-query API,
// /api/v1/query_range, for tests of klaxon's data-source client and of
// what draws graphs with it. It refuses what Prometheus refuses (missing
// or malformed parameters, end before start, a step of zero, more than
// 11,000 points per series) with Prometheus's own error answers, checks
// the credentials a proxy in front of it would, and records every query.
// What it answers is up to the test.
package promfake

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Query is a range query the fake received.
type Query struct {
	Method  string // GET or POST
	Expr    string
	Start   time.Time
	End     time.Time
	Step    time.Duration
	Timeout string // the timeout parameter as sent, "" when absent
	// Auth is the Authorization header as sent.
	Auth string
	// Params are all the parameters as sent.
	Params map[string][]string
}

// Times are the evaluation times of q, as Prometheus steps them: Start,
// Start+Step, … up to End.
func (q Query) Times() []time.Time {
	var ts []time.Time
	for t := q.Start; !t.After(q.End); t = t.Add(q.Step) {
		ts = append(ts, t)
	}
	return ts
}

// Series is one series of an answer.
type Series struct {
	Metric map[string]string
	Points []Point
}

// Point is a sample; V is written as Prometheus writes it, so "NaN",
// "+Inf" and "-Inf" are possible.
type Point struct {
	T time.Time
	V string
}

// F formats v as Prometheus does.
func F(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Response is what the fake answers to a query that passed its checks.
type Response struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Body is written as is when set; otherwise the answer is a success
	// with resultType matrix, Series and Warnings.
	Body     []byte
	Series   []Series
	Warnings []string
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
}

// Options configure a Server.
type Options struct {
	// Prefix is the path the API sits under, like "/prometheus" or
	// Grafana's "/api/datasources/proxy/uid/abc"; default none.
	Prefix string
	// Token, when set, must come as "Authorization: Bearer <Token>".
	Token string
	// Username and Password, when Username is set, must come as basic
	// auth.
	Username, Password string
	// Answer answers each query that passed the checks; nil answers a
	// success with no series.
	Answer func(Query) Response
}

// Server is the fake. Close it when done.
type Server struct {
	*httptest.Server
	opts Options

	mu      sync.Mutex
	queries []Query
	refused int
}

// New starts a fake on a loopback port.
func New(o Options) *Server {
	s := &Server{opts: o}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL a client is given (the prefix included).
func (s *Server) URL() string { return s.Server.URL + s.opts.Prefix }

// Queries returns the queries received that passed the checks.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// Refused is how many requests the fake refused (4xx from its checks).
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.opts.Prefix+"/api/v1/query_range" {
		s.refuse(w, http.StatusNotFound, "", "404 page not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="prometheus"`)
		s.refuse(w, http.StatusUnauthorized, "", "Unauthorized")
		return
	}
	if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.refuse(w, http.StatusBadRequest, "bad_data", "a POST must be a form (application/x-www-form-urlencoded)")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	q := Query{Method: r.Method, Expr: r.Form.Get("query"), Timeout: r.Form.Get("timeout"), Auth: r.Header.Get("Authorization"), Params: r.Form}
	var err error
	if q.Start, err = parseTime(r.Form.Get("start")); err != nil {
		s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "start": `+err.Error())
		return
	}
	if q.End, err = parseTime(r.Form.Get("end")); err != nil {
		s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "end": `+err.Error())
		return
	}
	if q.End.Before(q.Start) {
		s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "end": end timestamp must not be before start time`)
		return
	}
	if q.Step, err = parseDuration(r.Form.Get("step")); err != nil {
		s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "step": `+err.Error())
		return
	}
	if q.Step <= 0 {
		s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer`)
		return
	}
	if q.End.Sub(q.Start)/q.Step > 11000 {
		s.refuse(w, http.StatusBadRequest, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
		return
	}
	if q.Timeout != "" {
		if _, err := parseDuration(q.Timeout); err != nil {
			s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "timeout": `+err.Error())
			return
		}
	}
	if strings.TrimSpace(q.Expr) == "" {
		s.refuse(w, http.StatusBadRequest, "bad_data", `invalid parameter "query": 1:1: parse error: no expression found in input`)
		return
	}
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()

	var resp Response
	if s.opts.Answer != nil {
		resp = s.opts.Answer(q)
	}
	if resp.Delay > 0 {
		select {
		case <-time.After(resp.Delay):
		case <-r.Context().Done():
			return
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	body := resp.Body
	if body == nil {
		body = Matrix(resp.Series, resp.Warnings)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) authorized(r *http.Request) bool {
	switch {
	case s.opts.Token != "":
		return r.Header.Get("Authorization") == "Bearer "+s.opts.Token
	case s.opts.Username != "":
		u, p, ok := r.BasicAuth()
		return ok && u == s.opts.Username && p == s.opts.Password
	}
	return true
}

// refuse answers an error as Prometheus does: {status, errorType, error}
// when errorType is set, plain text otherwise (a proxy's answer).
func (s *Server) refuse(w http.ResponseWriter, status int, errorType, msg string) {
	s.mu.Lock()
	s.refused++
	s.mu.Unlock()
	if errorType == "" {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(Error(errorType, msg))
}

// Error is Prometheus's error answer.
func Error(errorType, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"status": "error", "errorType": errorType, "error": msg})
	return b
}

// Matrix is a success answer with resultType matrix, written as Prometheus
// writes it.
func Matrix(series []Series, warnings []string) []byte {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i, s := range series {
		if i > 0 {
			b.WriteByte(',')
		}
		m, _ := json.Marshal(s.Metric)
		if s.Metric == nil {
			m = []byte("{}")
		}
		b.WriteString(`{"metric":`)
		b.Write(m)
		b.WriteString(`,"values":[`)
		for j, p := range s.Points {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `[%s,"%s"]`, Timestamp(p.T), p.V)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	if len(warnings) > 0 {
		w, _ := json.Marshal(warnings)
		b.WriteString(`,"warnings":`)
		b.Write(w)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

// Timestamp writes t as Prometheus does: Unix seconds with up to three
// decimals.
func Timestamp(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// parseTime reads Unix seconds or RFC 3339, like Prometheus.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads seconds or a Go-like duration, like Prometheus.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f*float64(time.Second) > math.MaxInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
		}
		return time.Duration(math.Round(f * float64(time.Second))), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}
