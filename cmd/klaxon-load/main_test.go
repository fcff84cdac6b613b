package main

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
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
)

// fakeKlaxon mimics klaxon's webhook: it checks and counts every payload and
// answers as klaxon does.
type fakeKlaxon struct {
	t      *testing.T
	delay  time.Duration             // before answering
	status func(n int) (int, string) // answer to request n (1-based); nil: 200
	hang   bool                      // never answer (until the client gives up)
	mu     sync.Mutex
	n      int
	groups map[string]int // group key -> payloads
	bodies map[string]int
	fps    map[string]int // fingerprint -> alerts
	auth   map[string]int // Authorization header -> requests
	alerts map[int]int    // alerts per payload -> payloads
	at     []time.Time    // arrival times
	bad    []string
}

func newFake(t *testing.T) (*fakeKlaxon, *httptest.Server) {
	f := &fakeKlaxon{t: t, groups: map[string]int{}, bodies: map[string]int{}, fps: map[string]int{},
		auth: map[string]int{}, alerts: map[int]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeKlaxon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var m struct {
		Version  string `json:"version"`
		GroupKey string `json:"groupKey"`
		Alerts   []struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"alerts"`
	}
	f.mu.Lock()
	f.n++
	n := f.n
	f.at = append(f.at, time.Now())
	switch {
	case err != nil:
		f.bad = append(f.bad, "read: "+err.Error())
	case r.Method != http.MethodPost || r.URL.Path != "/hooks/alertmanager":
		f.bad = append(f.bad, r.Method+" "+r.URL.Path)
	case r.Header.Get("Content-Type") != "application/json":
		f.bad = append(f.bad, "content type "+r.Header.Get("Content-Type"))
	case json.Unmarshal(body, &m) != nil:
		f.bad = append(f.bad, "invalid JSON: "+string(body))
	case m.Version != "4" || m.GroupKey == "" || len(m.Alerts) == 0:
		f.bad = append(f.bad, "not a version 4 notification: "+string(body))
	}
	f.groups[m.GroupKey]++
	f.bodies[string(body)]++
	for _, a := range m.Alerts {
		f.fps[a.Fingerprint]++
	}
	f.alerts[len(m.Alerts)]++
	f.auth[r.Header.Get("Authorization")]++
	f.mu.Unlock()

	if f.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	time.Sleep(f.delay)
	if f.status != nil {
		if code, msg := f.status(n); code != 0 && code != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, "{\"error\":%q}\n", msg)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"stored","incident":"INC-%d","state":"triggered","created":true,"reopened":false,"changed":true}`+"\n", n)
}

// check fails the test on any payload the fake found wrong.
func (f *fakeKlaxon) check() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, b := range f.bad {
		if i == 3 {
			f.t.Errorf("... %d problems in all", len(f.bad))
			break
		}
		f.t.Errorf("fake klaxon: %s", b)
	}
}

func (f *fakeKlaxon) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// runJSON runs the generator with -json and decodes its summary.
func runJSON(t *testing.T, args ...string) (*summary, error, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "-json"), &stdout, &stderr)
	var s summary
	if stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &s); jerr != nil {
			t.Fatalf("summary is not JSON: %v\n%s", jerr, stdout.String())
		}
	} else if err == nil {
		t.Fatalf("no summary; stderr:\n%s", stderr.String())
	}
	return &s, err, stderr.String()
}

// checkConsistent checks what holds for every summary.
func checkConsistent(t *testing.T, s *summary) {
	t.Helper()
	var failed int64
	for _, n := range s.Errors {
		failed += n
	}
	if s.OK+s.Failed != s.Sent || failed != s.Failed {
		t.Errorf("sent %d != ok %d + failed %d, or errors %v do not add up", s.Sent, s.OK, s.Failed, s.Errors)
	}
	if s.SampleCount != s.OK {
		t.Errorf("%d latency samples for %d ok answers", s.SampleCount, s.OK)
	}
	if s.ElapsedS <= 0 && s.Sent > 0 {
		t.Errorf("elapsed %v", s.ElapsedS)
	}
	if s.ElapsedS > 0 {
		if want := float64(s.OK) / s.ElapsedS; math.Abs(s.PayloadsPerS-want) > 1e-6*want+1e-9 {
			t.Errorf("payloads/s %v, want ok/elapsed = %v", s.PayloadsPerS, want)
		}
	}
	if want := s.PayloadsPerS * float64(s.AlertsPerPayload); math.Abs(s.AlertsPerS-want) > 1e-6*want+1e-9 {
		t.Errorf("alerts/s %v, want payloads/s × %d = %v", s.AlertsPerS, s.AlertsPerPayload, want)
	}
	p := s.LatencyMs
	if s.OK > 0 && !(0 < p.P50 && p.P50 <= p.P90 && p.P90 <= p.P99 && p.P99 <= p.P999 && p.P999 <= p.Max) {
		t.Errorf("latency percentiles out of order: %+v", p)
	}
	if p.Max > s.ElapsedS*1000+1 {
		t.Errorf("max latency %vms beyond the run's %vs", p.Max, s.ElapsedS)
	}
}

func TestModeNew(t *testing.T) {
	f, srv := newFake(t)
	s, err, _ := runJSON(t, "-url", srv.URL, "-duration", "300ms", "-concurrency", "4", "-alerts", "2",
		"-token", "s3cret", "-run-id", "t-new")
	if err != nil {
		t.Fatal(err)
	}
	f.check()
	checkConsistent(t, s)
	n := f.count()
	if s.Sent == 0 || int64(n) != s.Sent || s.OK != s.Sent || s.SeedRequests != 0 {
		t.Fatalf("fake saw %d requests; summary sent %d ok %d seed %d", n, s.Sent, s.OK, s.SeedRequests)
	}
	if len(f.groups) != n {
		t.Errorf("mode new: %d groups for %d payloads", len(f.groups), n)
	}
	if len(f.fps) != 2*n || f.alerts[2] != n {
		t.Errorf("%d distinct fingerprints, payload sizes %v, for %d payloads of 2", len(f.fps), f.alerts, n)
	}
	for g := range f.groups {
		if !strings.Contains(g, `load_run="t-new"`) {
			t.Errorf("group key %s lacks the run id", g)
			break
		}
	}
	if f.auth["Bearer s3cret"] != n {
		t.Errorf("Authorization headers %v", f.auth)
	}
	if s.StoppedBy != "duration" || s.RateKept != nil || s.Mode != "new" || s.RunID != "t-new" ||
		s.ElapsedS < 0.3 || s.ElapsedS > 2 {
		t.Errorf("summary %+v", s)
	}
}

func TestModeRepeat(t *testing.T) {
	f, srv := newFake(t)
	s, err, stderr := runJSON(t, "-url", srv.URL, "-duration", "200ms", "-concurrency", "4", "-alerts", "3",
		"-mode", "repeat", "-groups", "5")
	if err != nil {
		t.Fatal(err)
	}
	f.check()
	checkConsistent(t, s)
	if s.SeedRequests != 5 || int64(f.count()) != s.Sent+5 || s.Sent < 5 {
		t.Fatalf("fake saw %d requests; summary sent %d seed %d", f.count(), s.Sent, s.SeedRequests)
	}
	if len(f.bodies) != 5 || len(f.groups) != 5 || len(f.fps) != 15 {
		t.Errorf("mode repeat: %d distinct bodies, %d groups, %d fingerprints; want 5, 5, 15", len(f.bodies), len(f.groups), len(f.fps))
	}
	for _, n := range f.bodies {
		if n < 2 {
			t.Errorf("a body was sent %d times, want the seed and repeats", n)
		}
	}
	if f.auth[""] != f.count() {
		t.Errorf("Authorization without -token: %v", f.auth)
	}
	if !strings.Contains(stderr, "opened 5 groups") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestModeJoin(t *testing.T) {
	f, srv := newFake(t)
	s, err, _ := runJSON(t, "-url", srv.URL, "-duration", "200ms", "-concurrency", "4", "-mode", "join", "-groups", "3")
	if err != nil {
		t.Fatal(err)
	}
	f.check()
	checkConsistent(t, s)
	n := f.count()
	if s.SeedRequests != 3 || int64(n) != s.Sent+3 {
		t.Fatalf("fake saw %d requests; summary sent %d seed %d", n, s.Sent, s.SeedRequests)
	}
	if len(f.groups) != 3 || len(f.fps) != n || len(f.bodies) != n {
		t.Errorf("mode join: %d groups, %d fingerprints, %d bodies for %d payloads; want 3 groups, all alerts new",
			len(f.groups), len(f.fps), len(f.bodies), n)
	}
	for g, k := range f.groups {
		if k < int(s.Sent)/3 {
			t.Errorf("group %s got %d of %d payloads: not spread", g, k, s.Sent)
		}
	}
}

// TestPaced checks open-loop pacing: the payloads due in the window, spread
// over it rather than in a burst.
func TestPaced(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	// 400 alerts/s of 2 alerts: a payload every 5ms, 60 in 300ms.
	s, err, _ := runJSON(t, "-url", srv.URL, "-rate", "400", "-alerts", "2", "-duration", "300ms", "-concurrency", "8")
	if err != nil {
		t.Fatal(err)
	}
	f.check()
	checkConsistent(t, s)
	if s.Scheduled != 60 || s.Sent+s.Missed != 60 || int64(f.count()) != s.Sent || s.RateKept == nil || s.StartLagMs == nil {
		t.Fatalf("summary %+v; fake saw %d", s, f.count())
	}
	if s.Sent < 50 {
		t.Errorf("only %d of 60 payloads sent", s.Sent)
	}
	if *s.RateKept && (s.Missed > 2 || s.BehindAtEndS > 0.010 || s.StartLagMs.P99 > 10) {
		t.Errorf("rate kept with %d missed, %vs behind, start lag %+v", s.Missed, s.BehindAtEndS, *s.StartLagMs)
	}
	f.mu.Lock()
	spread := f.at[len(f.at)-1].Sub(f.at[0])
	f.mu.Unlock()
	if spread < 250*time.Millisecond {
		t.Errorf("payloads arrived within %s: not paced", spread)
	}
	if s.AlertsPerS < 300 || s.AlertsPerS > 420 {
		t.Errorf("achieved %v alerts/s for a 400 alerts/s target", s.AlertsPerS)
	}
}

// TestCoordinatedOmission: a server slower than the schedule delays later
// requests; their latency counts from when they were due, and the summary
// says the rate was not kept.
func TestCoordinatedOmission(t *testing.T) {
	t.Parallel()
	// A payload due every 10ms, one at a time, each answered in 40ms.
	args := func(url string) []string {
		return []string{"-url", url, "-rate", "100", "-duration", "400ms", "-concurrency", "1"}
	}
	t.Run("text", func(t *testing.T) {
		t.Parallel()
		f, srv := newFake(t)
		f.delay = 40 * time.Millisecond
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args(srv.URL), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		f.check()
		out := stdout.String()
		for _, want := range []string{"NOT KEPT", "of 40 payloads due were never sent", "behind schedule at the end"} {
			if !strings.Contains(out, want) {
				t.Errorf("summary lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		f, srv := newFake(t)
		f.delay = 40 * time.Millisecond
		s, err, _ := runJSON(t, args(srv.URL)...)
		if err != nil {
			t.Fatal(err)
		}
		checkConsistent(t, s)
		if s.RateKept == nil || *s.RateKept || s.Scheduled != 40 || s.Missed < 20 || s.Sent > 12 || s.BehindAtEndS < 0.2 {
			t.Errorf("rate kept %v, scheduled %d, missed %d, sent %d, behind %vs", s.RateKept, s.Scheduled, s.Missed, s.Sent, s.BehindAtEndS)
		}
		// The k-th request is due at 10k ms and answered at about 40(k+1) ms.
		if s.LatencyMs.Max < 200 || s.LatencyMs.P50 < 60 || s.StartLagMs.Max < 150 {
			t.Errorf("latency %+v, start lag %+v: the queueing delay is missing", s.LatencyMs, *s.StartLagMs)
		}
	})
}

func TestFailures(t *testing.T) {
	f, srv := newFake(t)
	f.status = func(n int) (int, string) {
		if n%4 == 0 {
			return http.StatusServiceUnavailable, "store unavailable"
		}
		return 0, ""
	}
	s, err, _ := runJSON(t, "-url", srv.URL, "-duration", "200ms", "-concurrency", "2")
	if err == nil || !strings.Contains(err.Error(), "requests failed") {
		t.Fatalf("err = %v, want requests failed", err)
	}
	checkConsistent(t, s)
	if s.Failed == 0 || s.Errors["status 503"] != s.Failed || s.Failed != s.Sent/4 || !strings.Contains(s.FirstError, "store unavailable") {
		t.Errorf("sent %d failed %d errors %v first %q", s.Sent, s.Failed, s.Errors, s.FirstError)
	}
	if _, err, _ := runJSON(t, "-url", srv.URL, "-duration", "50ms", "-concurrency", "2", "-allow-errors"); err != nil {
		t.Errorf("-allow-errors: %v", err)
	}
}

func TestSeedFailure(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	f.status = func(int) (int, string) { return http.StatusUnauthorized, "missing bearer token" }
	_, err, _ := runJSON(t, "-url", srv.URL, "-duration", "200ms", "-mode", "join", "-groups", "50")
	if err == nil || !strings.Contains(err.Error(), "status 401: ") || !strings.Contains(err.Error(), "missing bearer token") {
		t.Fatalf("err = %v", err)
	}
	if n := f.count(); n > 32 {
		t.Errorf("%d requests after the first refusal", n)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err, _ := runJSON(t, "-url", "http://"+addr, "-rate", "200", "-duration", "100ms", "-concurrency", "2")
	if err == nil {
		t.Fatal("no error with nobody listening")
	}
	checkConsistent(t, s)
	if s.Sent == 0 || s.Errors["connection refused"] != s.Sent || s.OK != 0 {
		t.Errorf("sent %d, errors %v", s.Sent, s.Errors)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	f.hang = true
	began := time.Now()
	s, err, _ := runJSON(t, "-url", srv.URL, "-rate", "20", "-duration", "150ms", "-timeout", "100ms", "-concurrency", "2")
	if err == nil {
		t.Fatal("no error when every request times out")
	}
	checkConsistent(t, s)
	if s.Sent == 0 || s.Errors["timeout"] != s.Sent {
		t.Errorf("sent %d, errors %v", s.Sent, s.Errors)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("took %s: the drain is not bounded by -timeout", took)
	}
}

func TestMaxPayloads(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	s, err, _ := runJSON(t, "-url", srv.URL, "-duration", "5s", "-max-payloads", "7")
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent != 7 || f.count() != 7 || s.StoppedBy != "max-payloads" || s.ElapsedS > 2 {
		t.Errorf("sent %d, fake saw %d, stopped by %s after %vs", s.Sent, f.count(), s.StoppedBy, s.ElapsedS)
	}
}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	began := time.Now()
	if err := run(ctx, []string{"-url", srv.URL, "-duration", "10s", "-concurrency", "2"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second || !strings.Contains(stdout.String(), "stopped by interrupted") {
		t.Errorf("took %s; summary:\n%s", took, stdout.String())
	}
}

func TestRefusesRemoteTargets(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://example.com:8080", "http://10.0.0.1", "http://192.168.1.5:8080", "http://[2001:db8::1]:8080",
		"http://0.0.0.0:8080", "http://127.0.0.1.example.com", "https://klaxon.internal",
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-url", u, "-duration", "100ms"}, &stdout, &stderr)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "-allow-remote") || stdout.Len() > 0 {
			t.Errorf("-url %s: err = %v, stdout %q", u, err, stdout.String())
		}
	}
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "klaxon.localhost": true, "127.0.0.1": true, "127.3.2.1": true,
		"::1": true, "::ffff:127.0.0.1": true, "0.0.0.0": false, "::": false, "10.0.0.1": false,
		"localhost.example.com": false, "": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v", host, got)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-mode", "burst"}, {"-alerts", "0"}, {"-rate", "-1"}, {"-duration", "0s"}, {"-concurrency", "0"},
		{"-run-id", "a b"}, {"-run-id", `x"y`}, {"-url", "ftp://127.0.0.1"}, {"-groups", "0"}, {"-timeout", "0s"},
		{"extra"}, {"-nope"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

// TestPayloads checks the bodies against klaxon's own parser.
func TestPayloads(t *testing.T) {
	t.Parallel()
	p := newPayloads("r1", "2026-03-01T11:58:30Z", 3)
	for _, c := range []struct {
		body  []byte
		group string
		fp0   string
	}{
		{p.body(groupName('n', 42), 'n', 42), `{}:{alertname="KlaxonLoad", load_group="n42", load_run="r1"}`, "r1-n42-0"},
		{p.body(groupName('g', 7), 'j', 1234), `{}:{alertname="KlaxonLoad", load_group="g7", load_run="r1"}`, "r1-j1234-0"},
	} {
		b, err := alertmanager.Parse(c.body)
		if err != nil {
			t.Fatalf("klaxon rejects %s: %v", c.body, err)
		}
		if b.GroupKey != c.group || len(b.Alerts) != 3 || b.Alerts[0].Fingerprint != c.fp0 ||
			b.Alerts[2].Labels["load_run"] != "r1" || b.Title == "" || b.Alerts[0].StartsAt.IsZero() {
			t.Errorf("parsed %+v", b)
		}
		if len(c.body) > p.size {
			t.Errorf("body of %d bytes beyond the %d preallocated", len(c.body), p.size)
		}
	}
}

// TestProgress runs alone (not in parallel): it changes progressEvery.
func TestProgress(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 50 * time.Millisecond
	_, srv := newFake(t)
	_, err, stderr := runJSON(t, "-url", srv.URL, "-rate", "500", "-duration", "200ms", "-concurrency", "2")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr, "payloads/s"); n < 2 || !strings.Contains(stderr, "start lag") {
		t.Errorf("%d progress lines:\n%s", n, stderr)
	}
}

func BenchmarkBody(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			p := newPayloads("bench", "2026-03-01T11:58:30Z", n)
			b.ReportAllocs()
			for i := range b.N {
				p.body(groupName('n', int64(i)), 'n', int64(i))
			}
		})
	}
}

func TestTokenFromEnv(t *testing.T) {
	t.Setenv("KLAXON_LOAD_TOKEN", "env-tok")
	f, srv := newFake(t)
	if _, err, _ := runJSON(t, "-url", srv.URL, "-max-payloads", "3", "-duration", "1s"); err != nil {
		t.Fatal(err)
	}
	if f.auth["Bearer env-tok"] != 3 {
		t.Errorf("Authorization headers %v", f.auth)
	}
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"-h"}, &stdout, &stderr)
	if strings.Contains(stderr.String(), "env-tok") || !strings.Contains(stderr.String(), "-allow-remote") {
		t.Errorf("-h prints the token, or no help:\n%s", stderr.String())
	}
}
