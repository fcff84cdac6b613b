package prometheus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
	"github.com/klaxonbot/klaxon/incidents"
)

const testToken = "tok-3f9a1c-secret"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newClient(t *testing.T, o promds.Options) *promds.Client {
	t.Helper()
	c, err := promds.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// grid answers one series per label set with value f(t) at each of the
// query's evaluation times.
func grid(f func(time.Time) string, metrics ...map[string]string) func(promfake.Query) promfake.Response {
	return func(q promfake.Query) promfake.Response {
		var ss []promfake.Series
		for _, m := range metrics {
			s := promfake.Series{Metric: m}
			for _, ts := range q.Times() {
				s.Points = append(s.Points, promfake.Point{T: ts, V: f(ts)})
			}
			ss = append(ss, s)
		}
		return promfake.Response{Series: ss}
	}
}

func TestQueryRange(t *testing.T) {
	special := []string{"1.5", "NaN", "+Inf", "-Inf", "-0.25", "1e+21"}
	fake := promfake.New(promfake.Options{
		Token: testToken,
		Answer: func(q promfake.Query) promfake.Response {
			s := promfake.Series{Metric: map[string]string{"__name__": "disk_free_ratio", "instance": "db-1"}}
			for i, ts := range q.Times() {
				s.Points = append(s.Points, promfake.Point{T: ts, V: special[i%len(special)]})
			}
			return promfake.Response{Series: []promfake.Series{s, {Metric: map[string]string{"instance": "db-2"}}},
				Warnings: []string{"PromQL info: metric might not be a counter"}}
		},
	})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL(), Token: testToken})

	start := t0.Add(123 * time.Millisecond)
	end := start.Add(time.Minute)
	r, err := c.QueryRange(context.Background(), `disk_free_ratio < 0.1`, start, end, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	qs := fake.Queries()
	if len(qs) != 1 {
		t.Fatalf("%d queries, want 1", len(qs))
	}
	q := qs[0]
	if q.Method != http.MethodGet || q.Expr != `disk_free_ratio < 0.1` || !q.Start.Equal(start) || !q.End.Equal(end) ||
		q.Step != 15*time.Second || q.Timeout != "2" || q.Auth != "Bearer "+testToken {
		t.Errorf("query received: %+v", q)
	}
	if got := q.Params["start"][0]; got != "1772366400.123" {
		t.Errorf("start sent as %q, want 1772366400.123", got)
	}
	if len(r.Series) != 2 || len(r.Series[0].Points) != 5 || len(r.Series[1].Points) != 0 {
		t.Fatalf("result: %+v", r)
	}
	if r.Series[0].Labels["instance"] != "db-1" || r.Series[0].Labels["__name__"] != "disk_free_ratio" {
		t.Errorf("labels: %v", r.Series[0].Labels)
	}
	want := []float64{1.5, math.NaN(), math.Inf(1), math.Inf(-1), -0.25}
	for i, p := range r.Series[0].Points {
		if !p.T.Equal(start.Add(time.Duration(i) * 15 * time.Second)) {
			t.Errorf("point %d at %v, want %v", i, p.T, start.Add(time.Duration(i)*15*time.Second))
		}
		if !(p.V == want[i] || math.IsNaN(p.V) && math.IsNaN(want[i])) {
			t.Errorf("point %d = %v, want %v", i, p.V, want[i])
		}
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "might not be a counter") {
		t.Errorf("warnings: %q", r.Warnings)
	}
}

func TestQueryRangeAuthAndPrefix(t *testing.T) {
	prefix := "/api/datasources/proxy/uid/P1809F7CD0C75ACF3"
	fake := promfake.New(promfake.Options{Prefix: prefix, Username: "klaxon", Password: "pa:ss w0rd", Answer: grid(func(time.Time) string { return "1" }, nil)})
	defer fake.Close()
	ctx := context.Background()

	c := newClient(t, promds.Options{URL: fake.URL() + "/", Basic: &promds.BasicAuth{Username: "klaxon", Password: "pa:ss w0rd"}})
	r, err := c.QueryRange(ctx, "up", t0, t0.Add(time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Series) != 1 || len(r.Series[0].Points) != 2 {
		t.Fatalf("result: %+v", r)
	}

	wrong := newClient(t, promds.Options{URL: fake.URL(), Basic: &promds.BasicAuth{Username: "klaxon", Password: "nope"}})
	_, err = wrong.QueryRange(ctx, "up", t0, t0.Add(time.Minute), time.Minute)
	if incidents.ErrorKind(err) != incidents.Unauthorized || !strings.Contains(incidents.ErrorMessage(err), "basic auth") {
		t.Errorf("wrong password: %v (kind %v)", err, incidents.ErrorKind(err))
	}
	noPrefix := newClient(t, promds.Options{URL: fake.Server.URL, Basic: &promds.BasicAuth{Username: "klaxon", Password: "pa:ss w0rd"}})
	_, err = noPrefix.QueryRange(ctx, "up", t0, t0.Add(time.Minute), time.Minute)
	if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(incidents.ErrorMessage(err), "404") {
		t.Errorf("missing prefix: %v (kind %v)", err, incidents.ErrorKind(err))
	}
}

func TestQueryRangeLongExprIsPosted(t *testing.T) {
	fake := promfake.New(promfake.Options{})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL()})
	long := "sum(" + strings.Repeat(`up{job="a-rather-long-job-name"} + `, 100) + "up)"
	for _, expr := range []string{"up", long} {
		if _, err := c.QueryRange(context.Background(), expr, t0, t0.Add(time.Hour), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	qs := fake.Queries()
	if len(qs) != 2 || qs[0].Method != http.MethodGet || qs[1].Method != http.MethodPost || qs[1].Expr != long {
		t.Fatalf("queries: %d, methods %s %s", len(qs), qs[0].Method, qs[1].Method)
	}
}

func TestQueryRangeRefusedBeforeSending(t *testing.T) {
	fake := promfake.New(promfake.Options{})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL()})
	for name, call := range map[string]func() error{
		"empty expr": func() error {
			_, err := c.QueryRange(context.Background(), "  ", t0, t0.Add(time.Hour), time.Minute)
			return err
		},
		"zero step": func() error { _, err := c.QueryRange(context.Background(), "up", t0, t0.Add(time.Hour), 0); return err },
		"end < start": func() error {
			_, err := c.QueryRange(context.Background(), "up", t0, t0.Add(-time.Hour), time.Minute)
			return err
		},
		"11001 points": func() error {
			_, err := c.QueryRange(context.Background(), "up", t0, t0.Add(11001*time.Second), time.Second)
			return err
		},
	} {
		err := call()
		if incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("%s: %v (kind %v), want Invalid", name, err, incidents.ErrorKind(err))
		}
	}
	// 11,000 steps is Prometheus's limit, and allowed.
	if _, err := c.QueryRange(context.Background(), "up", t0, t0.Add(11000*time.Second), time.Second); err != nil {
		t.Errorf("11,000 steps: %v", err)
	}
	if n := len(fake.Queries()); n != 1 || fake.Refused() != 0 {
		t.Errorf("fake saw %d queries and refused %d, want 1 and 0", n, fake.Refused())
	}
}

func TestQueryRangeErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		kind    incidents.Kind
		message string // in the user-safe message
	}{
		{"bad_data", 400, string(promfake.Error("bad_data", `invalid parameter "query": 1:4: parse error: unclosed left parenthesis`)), incidents.Invalid, "unclosed left parenthesis"},
		{"execution", 422, string(promfake.Error("execution", "query processing would load too many samples into memory in query execution")), incidents.Invalid, "too many samples"},
		{"timeout", 503, string(promfake.Error("timeout", "query timed out in expression evaluation")), incidents.Unavailable, "timed out"},
		{"canceled", 503, string(promfake.Error("canceled", "query was canceled in query execution")), incidents.Unavailable, "canceled"},
		{"internal", 500, string(promfake.Error("internal", "expanding series: storage error")), incidents.Unavailable, "internal"},
		{"proxy 502", 502, "<html><body>Bad Gateway</body></html>", incidents.Unavailable, "502"},
		{"proxy 504", 504, "", incidents.Unavailable, "504"},
		{"429", 429, "slow down", incidents.Unavailable, "429"},
		{"401 echoing the token", 401, "invalid token Bearer " + testToken, incidents.Unauthorized, "token"},
		{"403", 403, "", incidents.Unauthorized, "403"},
		{"405", 405, "", incidents.Invalid, "405"},
		{"200 not JSON", 200, "<html>Grafana</html>", incidents.Invalid, "not a Prometheus API answer"},
		{"200 status error", 200, string(promfake.Error("bad_data", "odd")), incidents.Invalid, "odd"},
		{"200 vector", 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`, incidents.Invalid, "vector"},
		{"200 truncated", 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]`, incidents.Invalid, "not a Prometheus API answer"},
		{"200 value not a string", 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,1]]}]}}`, incidents.Invalid, "not a Prometheus API answer"},
		{"200 bad value", 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"one"]]}]}}`, incidents.Invalid, "not a Prometheus API answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := promfake.New(promfake.Options{Token: testToken, Answer: func(promfake.Query) promfake.Response {
				return promfake.Response{Status: tc.status, Body: []byte(tc.body)}
			}})
			defer fake.Close()
			c := newClient(t, promds.Options{Name: "prom", URL: fake.URL(), Token: testToken})
			_, err := c.QueryRange(context.Background(), "up", t0, t0.Add(time.Hour), time.Minute)
			if err == nil {
				t.Fatal("no error")
			}
			var ie *incidents.Error
			if !errors.As(err, &ie) || ie.Kind != tc.kind {
				t.Errorf("error %v: kind %v, want %v", err, incidents.ErrorKind(err), tc.kind)
			}
			msg := incidents.ErrorMessage(err)
			if !strings.Contains(msg, tc.message) || !strings.HasPrefix(msg, "data source prom: ") {
				t.Errorf("message %q, want it to name the data source and say %q", msg, tc.message)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(msg, testToken) || strings.Contains(fmt.Sprintf("%+v", err), testToken) {
				t.Errorf("the token leaks: %v", err)
			}
		})
	}
}

func TestQueryRangeTimeout(t *testing.T) {
	// One handler never answers; the other sends the head of an answer
	// and then stalls in the middle of the body.
	stallBody := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	hang := promfake.New(promfake.Options{Answer: func(promfake.Query) promfake.Response { return promfake.Response{Delay: time.Minute} }})
	defer hang.Close()
	stall := httptest.NewServer(stallBody)
	defer stall.Close()
	for name, url := range map[string]string{"no answer": hang.URL(), "stalled body": stall.URL} {
		c := newClient(t, promds.Options{URL: url, Timeout: 150 * time.Millisecond})
		began := time.Now()
		_, err := c.QueryRange(context.Background(), "up", t0, t0.Add(time.Hour), time.Minute)
		took := time.Since(began)
		if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(incidents.ErrorMessage(err), "no answer within 150ms") {
			t.Errorf("%s: %v (kind %v), want Unavailable, no answer within 150ms", name, err, incidents.ErrorKind(err))
		}
		// Bounded, not a speed target: a hang must not outlive the timeout by much.
		if took > 5*time.Second {
			t.Errorf("%s: returned after %v with a 150ms timeout", name, took)
		}
	}

	// The caller's own cancellation is reported as such.
	c := newClient(t, promds.Options{URL: hang.URL()})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.QueryRange(ctx, "up", t0, t0.Add(time.Hour), time.Minute)
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(incidents.ErrorMessage(err), "canceled") {
		t.Errorf("canceled: %v", err)
	}

	// Nothing listening.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c = newClient(t, promds.Options{URL: dead.URL})
	_, err = c.QueryRange(context.Background(), "up", t0, t0.Add(time.Hour), time.Minute)
	if incidents.ErrorKind(err) != incidents.Unavailable || !strings.Contains(incidents.ErrorMessage(err), "cannot reach") {
		t.Errorf("nothing listening: %v", err)
	}
}

// hugeAnswer streams a matrix of n series of 300 points each, without
// Content-Length, and counts what it wrote.
type hugeAnswer struct {
	n       int
	written chan int64
}

func (h hugeAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var total int64
	defer func() { h.written <- total }()
	var series bytes.Buffer
	series.WriteString(`{"metric":{"__name__":"node_cpu_seconds_total","instance":"host-00000.example.com:9100","job":"node","mode":"idle"},"values":[`)
	for i := range 300 {
		if i > 0 {
			series.WriteByte(',')
		}
		fmt.Fprintf(&series, `[%d,"%d.25"]`, 1772366400+15*i, 1000000+i)
	}
	series.WriteString(`]}`)
	w.Header().Set("Content-Type", "application/json")
	write := func(b []byte) bool {
		n, err := w.Write(b)
		total += int64(n)
		return err == nil
	}
	if !write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[`)) {
		return
	}
	for i := range h.n {
		if i > 0 && !write([]byte(",")) {
			return
		}
		if !write(series.Bytes()) {
			return
		}
	}
	write([]byte(`]}}`))
}

func TestQueryRangeHugeAnswer(t *testing.T) {
	// 10,000 series of 300 points: about 50 MB of JSON.
	h := hugeAnswer{n: 10000, written: make(chan int64, 1)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, promds.Options{URL: srv.URL, Timeout: 10 * time.Second})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.QueryRange(context.Background(), "node_cpu_seconds_total", t0, t0.Add(75*time.Minute), 15*time.Second)
	runtime.ReadMemStats(&after)
	if incidents.ErrorKind(err) != incidents.Invalid || !errors.Is(err, promds.ErrTooLarge) {
		t.Fatalf("huge answer: %v (kind %v), want Invalid and ErrTooLarge", err, incidents.ErrorKind(err))
	}
	msg := incidents.ErrorMessage(err)
	if !strings.Contains(msg, "over 8 MiB") || !strings.Contains(msg, "series read") {
		t.Errorf("message %q", msg)
	}
	srv.CloseClientConnections()
	written := <-h.written
	if written > 48<<20 {
		t.Errorf("the server wrote %d MiB before the client stopped reading", written>>20)
	}
	// Everything allocated meanwhile, the server's writes included: a
	// bound of a few times the cap, not the 50 MB answer and its decoding.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB for an answer cut at 8 MiB", alloc>>20)
	}
	t.Logf("server wrote %.1f MiB; process allocated %.1f MiB", float64(written)/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))

	// An answer that says its size is refused before it is read.
	fake := promfake.New(promfake.Options{Answer: func(promfake.Query) promfake.Response {
		return promfake.Response{Body: bytes.Repeat([]byte(" "), 2<<20)}
	}})
	defer fake.Close()
	c = newClient(t, promds.Options{URL: fake.URL(), MaxBytes: 1 << 20})
	if _, err := c.QueryRange(context.Background(), "up", t0, t0.Add(time.Hour), time.Minute); !errors.Is(err, promds.ErrTooLarge) ||
		!strings.Contains(incidents.ErrorMessage(err), "over 1 MiB") {
		t.Errorf("2 MiB answer with a 1 MiB cap: %v", err)
	}
}

func TestDayBefore(t *testing.T) {
	value := func(ts time.Time) string { return promfake.F(float64(ts.Unix())) }
	fake := promfake.New(promfake.Options{Answer: grid(value, map[string]string{"job": "api"})})
	defer fake.Close()
	c := newClient(t, promds.Options{URL: fake.URL()})
	start, end := t0, t0.Add(time.Hour)
	step := promds.Step(end.Sub(start))
	r, err := c.DayBefore(context.Background(), "x", start, end, step)
	if err != nil {
		t.Fatal(err)
	}
	q := fake.Queries()[0]
	if !q.Start.Equal(start.Add(-promds.Day)) || !q.End.Equal(end.Add(-promds.Day)) || q.Step != step {
		t.Errorf("asked %v to %v step %v", q.Start, q.End, q.Step)
	}
	ps := r.Series[0].Points
	if len(ps) != 241 {
		t.Fatalf("%d points, want 241", len(ps))
	}
	for i, p := range ps {
		at := start.Add(time.Duration(i) * step)
		if !p.T.Equal(at) || p.V != float64(at.Add(-promds.Day).Unix()) {
			t.Fatalf("point %d: %v = %v, want %v = yesterday's value %v", i, p.T, p.V, at, at.Add(-promds.Day).Unix())
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		o    promds.Options
		want string // in the error; "" for none
	}{
		{promds.Options{URL: "http://prometheus:9090"}, ""},
		{promds.Options{URL: "https://grafana.example.com/api/datasources/proxy/uid/abc/", Token: "glsa_x"}, ""},
		{promds.Options{URL: ""}, "not an http(s) URL"},
		{promds.Options{URL: "prometheus:9090"}, "not an http(s) URL"},
		{promds.Options{URL: "ftp://prometheus"}, "not an http(s) URL"},
		{promds.Options{URL: "http://admin:hunter2@prometheus:9090"}, "carries credentials"},
		{promds.Options{URL: "http://prometheus:9090/?x=1"}, "query or fragment"},
		{promds.Options{URL: "http://prometheus:9090/api/v1/query_range"}, "includes /api/v1"},
		{promds.Options{URL: "http://p", Token: "t", Basic: &promds.BasicAuth{Username: "u"}}, "not both"},
		{promds.Options{URL: "http://p", Token: "t t"}, "spaces"},
		{promds.Options{URL: "http://p", Basic: &promds.BasicAuth{Password: "p"}}, "username"},
		{promds.Options{URL: "http://p", Timeout: -1}, "negative"},
	} {
		_, err := promds.New(tc.o)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("password in %v", err)
		}
	}
}
