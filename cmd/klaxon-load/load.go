package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// progressEvery is how often a progress line goes to stderr.
var progressEvery = time.Second

// errNotLoopback is the dialer's refusal of a non-loopback address (a name
// that resolved somewhere else) without -allow-remote.
var errNotLoopback = errors.New("not a loopback address (pass -allow-remote to allow it)")

// load is one run of the generator.
type load struct {
	c      *config
	stderr io.Writer
	tr     *http.Transport
	client *http.Client
	p      *payloads
	repeat [][]byte // mode repeat: each group's notification, sent as is

	sent, ok, failed, inflight atomic.Int64
	lag                        atomic.Int64 // the latest request's start lag, ns
}

// job is payload i, due at due (zero when not paced: due when a worker
// takes it).
type job struct {
	i   int64
	due time.Time
}

// tally is what one worker saw; workers do not share them.
type tally struct {
	lat      []time.Duration // ok answers: due -> answer read
	lag      []time.Duration // every request sent: due -> sent
	errs     map[string]int64
	firstErr string
	last     time.Time // when its last request ended
}

func newLoad(c *config, stderr io.Writer) *load {
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	if !c.allowRemote {
		// The flag check saw a name; this sees the address it resolved to.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("%s: %w", address, errNotLoopback)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:               nil, // never through $HTTP_PROXY: the load is for this host
		DialContext:         dialer.DialContext,
		MaxIdleConns:        c.concurrency,
		MaxIdleConnsPerHost: c.concurrency,
		MaxConnsPerHost:     c.concurrency,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: c.timeout,
		DisableCompression:  true,
	}
	startsAt := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	return &load{
		c: c, stderr: stderr, tr: tr,
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		p: newPayloads(c.runID, startsAt, c.alerts),
	}
}

// body is payload i's body.
func (l *load) body(i int64) []byte {
	switch l.c.mode {
	case "join":
		return l.p.body(groupName('g', i%int64(l.c.groups)), 'j', i)
	case "repeat":
		return l.repeat[i%int64(l.c.groups)]
	}
	return l.p.body(groupName('n', i), 'n', i)
}

// seedBody opens group g before the clock starts (modes join and repeat).
func (l *load) seedBody(g int64) []byte {
	if l.c.mode == "repeat" {
		return l.repeat[g]
	}
	return l.p.body(groupName('g', g), 's', g)
}

// post sends one body; a non-200 answer comes with the start of its body.
func (l *load) post(ctx context.Context, body []byte) (status int, answer string, err error) {
	ctx, cancel := context.WithTimeout(ctx, l.c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.c.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "klaxon-load")
	if l.c.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.c.token)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		answer = strings.TrimSpace(string(raw))
	}
	// Read the answer to its end, so that the connection is reused.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, answer, nil
}

// classify names a failed request: "status 503", "timeout", ...
func classify(status int, err error) string {
	var ue *url.Error
	switch {
	case err == nil:
		return fmt.Sprintf("status %d", status)
	case errors.Is(err, errNotLoopback):
		return "refused: not loopback"
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &ue):
		return ue.Err.Error()
	}
	return err.Error()
}

// seed opens the -groups groups of modes join and repeat, unmeasured, so
// that the run measures joins and duplicates only. It gives up after
// -duration or at the first failure.
func (l *load) seed(ctx context.Context) (int, time.Duration, error) {
	if l.c.mode == "new" {
		return 0, 0, nil
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, l.c.duration)
	defer cancel()
	var next, done atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(l.c.concurrency, l.c.groups) {
		wg.Go(func() {
			for sctx.Err() == nil {
				g := next.Add(1) - 1
				if g >= int64(l.c.groups) {
					return
				}
				status, answer, err := l.post(sctx, l.seedBody(g))
				if err == nil && status == http.StatusOK {
					done.Add(1)
					continue
				}
				if sctx.Err() != nil {
					return // out of time or interrupted: said below
				}
				once.Do(func() {
					if err != nil {
						first = fmt.Errorf("%s: %w", classify(status, err), err)
					} else {
						first = fmt.Errorf("%s: %s", classify(status, nil), answer)
					}
					cancel()
				})
				return
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	n := int(done.Load())
	switch {
	case first != nil:
		return n, took, fmt.Errorf("opening the %d groups of mode %s (%d done): %w", l.c.groups, l.c.mode, n, first)
	case ctx.Err() != nil:
		return n, took, fmt.Errorf("interrupted while opening the %d groups of mode %s (%d done)", l.c.groups, l.c.mode, n)
	case n < l.c.groups:
		return n, took, fmt.Errorf("opening the %d groups of mode %s took longer than -duration %s (%d done): lower -groups",
			l.c.groups, l.c.mode, l.c.duration, n)
	}
	return n, took, nil
}

// run seeds, sends for -duration, drains and summarises.
func (l *load) run(ctx context.Context) (*summary, error) {
	c := l.c
	defer l.tr.CloseIdleConnections()
	if c.mode == "repeat" {
		if size := int64(c.groups) * int64(l.p.size); size > 1<<30 {
			return nil, usageError{fmt.Sprintf("mode repeat keeps every group's payload: %d groups of %d alerts is about %d MiB; lower -groups or -alerts",
				c.groups, c.alerts, size>>20)}
		}
		l.repeat = make([][]byte, c.groups)
		for g := range l.repeat {
			l.repeat[g] = l.p.body(groupName('g', int64(g)), 'r', int64(g))
		}
	}
	rate := "as fast as possible"
	if c.rate > 0 {
		rate = fmt.Sprintf("%g alerts/s (%.4g payloads/s)", c.rate, c.rate/float64(c.alerts))
	}
	fmt.Fprintf(l.stderr, "klaxon-load: run %s: mode %s, %d alert(s)/payload, %s, concurrency %d, for %s -> %s\n",
		c.runID, c.mode, c.alerts, rate, c.concurrency, c.duration, c.url)
	if c.rate > 0 && c.maxPayloads > 0 && c.rate/float64(c.alerts)*c.duration.Seconds() > float64(c.maxPayloads) {
		fmt.Fprintf(l.stderr, "klaxon-load: note: -max-payloads %d will stop the run before -duration\n", c.maxPayloads)
	}
	seeded, seedTook, err := l.seed(ctx)
	if err != nil {
		return nil, err
	}
	if seeded > 0 {
		fmt.Fprintf(l.stderr, "klaxon-load: opened %d groups in %.2fs (not measured)\n", seeded, seedTook.Seconds())
	}

	jobs := make(chan job)
	tallies := make([]*tally, c.concurrency)
	var wg sync.WaitGroup
	// In-flight requests may finish after ^C, within -timeout.
	rctx := context.WithoutCancel(ctx)
	start := time.Now()
	end := start.Add(c.duration)
	for w := range tallies {
		t := &tally{errs: map[string]int64{}}
		tallies[w] = t
		wg.Go(func() { l.work(rctx, jobs, t) })
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		l.progress(start, end, stopProgress)
	}()
	stoppedBy, stopAt, dispatched := l.schedule(ctx, jobs, start, end)
	close(jobs)
	wg.Wait()
	close(stopProgress)
	<-progressDone

	s := l.summarize(tallies, start, stopAt, dispatched)
	s.StoppedBy = stoppedBy
	s.SeedRequests, s.SeedS = seeded, seedTook.Seconds()
	return s, nil
}

// work sends the jobs it is given until the channel closes.
func (l *load) work(ctx context.Context, jobs <-chan job, t *tally) {
	for j := range jobs {
		begin := time.Now()
		due := j.due
		if due.IsZero() {
			due = begin
		}
		lag := begin.Sub(due)
		l.lag.Store(int64(lag))
		t.lag = append(t.lag, lag)
		l.sent.Add(1)
		l.inflight.Add(1)
		status, answer, err := l.post(ctx, l.body(j.i))
		ended := time.Now()
		l.inflight.Add(-1)
		t.last = ended
		if err == nil && status == http.StatusOK {
			l.ok.Add(1)
			t.lat = append(t.lat, ended.Sub(due))
			continue
		}
		l.failed.Add(1)
		key := classify(status, err)
		t.errs[key]++
		if t.firstErr == "" {
			if err != nil {
				t.firstErr = err.Error()
			} else {
				t.firstErr = fmt.Sprintf("%s: %s", key, answer)
			}
		}
	}
}

// interval is the time between two payloads' due times, in ns; 0 when not
// paced.
func (l *load) interval() float64 {
	if l.c.rate == 0 {
		return 0
	}
	return float64(l.c.alerts) / l.c.rate * 1e9
}

// due is when payload i is due (paced runs).
func due(start time.Time, interval float64, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * interval))
}

// schedule hands payloads to the workers: open-loop, payload i due at
// start + i*interval whatever became of the earlier ones, or as soon as a
// worker is free when not paced. It stops at end, after -max-payloads, or
// when ctx is done, and says why, when, and how many it handed out.
func (l *load) schedule(ctx context.Context, jobs chan<- job, start, end time.Time) (string, time.Time, int64) {
	interval := l.interval()
	endTimer := time.NewTimer(time.Until(end))
	defer endTimer.Stop()
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	for i := int64(0); ; i++ {
		if l.c.maxPayloads > 0 && i >= l.c.maxPayloads {
			return "max-payloads", time.Now(), i
		}
		var at time.Time
		if interval > 0 {
			at = due(start, interval, i)
			if !at.Before(end) {
				return "duration", end, i
			}
			if d := time.Until(at); d > 0 {
				sleep.Reset(d)
				select {
				case <-sleep.C:
				case <-ctx.Done():
					return "interrupted", time.Now(), i
				}
			}
		}
		if !time.Now().Before(end) {
			return "duration", end, i
		}
		select {
		case jobs <- job{i: i, due: at}:
		case <-endTimer.C:
			return "duration", end, i
		case <-ctx.Done():
			return "interrupted", time.Now(), i
		}
	}
}

// progress prints a line to stderr every progressEvery until stop closes.
func (l *load) progress(start, end time.Time, stop <-chan struct{}) {
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	prevOK, prevAt := int64(0), start
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			ok := l.ok.Load()
			per := float64(ok-prevOK) / now.Sub(prevAt).Seconds()
			prevOK, prevAt = ok, now
			line := fmt.Sprintf("klaxon-load: %5.1fs sent %d ok %d failed %d in flight %d | last %s: %.0f payloads/s %.0f alerts/s",
				now.Sub(start).Seconds(), l.sent.Load(), ok, l.failed.Load(), l.inflight.Load(),
				progressEvery, per, per*float64(l.c.alerts))
			if l.c.rate > 0 {
				line += fmt.Sprintf(" | start lag %s", fmtDur(time.Duration(l.lag.Load())))
			}
			if now.After(end) {
				line += " | draining"
			}
			fmt.Fprintln(l.stderr, line)
		}
	}
}

// scheduledBefore counts the paced payloads due before t (at most
// -max-payloads), by the same arithmetic as schedule.
func (l *load) scheduledBefore(start, t time.Time) int64 {
	interval := l.interval()
	n := max(int64(math.Ceil(float64(t.Sub(start))/interval)), 0)
	for n > 0 && !due(start, interval, n-1).Before(t) {
		n--
	}
	for due(start, interval, n).Before(t) {
		n++
	}
	if l.c.maxPayloads > 0 {
		n = min(n, l.c.maxPayloads)
	}
	return n
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
