// Package fakechat is the bookkeeping the strict fake chat servers
// (slackfake, mattermostfake, telegramfake) share: how many calls each
// method received, the requests refused as violations, how many 429s were
// answered, the failures a test injected, and the latency every answer
// waits.
//
// A fake embeds a Recorder in its Server, so that Calls, Violations,
// RateLimited and SetLatency are the fake's own methods; its handlers
// record with Count, Violate and CountRateLimited, take injected failures
// with TakeFailure, and wait the latency with Wait. What differs between
// the fakes (which checks come first, the answers' format, Fail's
// defaults) stays in each fake.
//
// A Recorder has its own mutex and never calls back into the fake, so a
// fake may call it while holding its own lock.
package fakechat

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Recorder records what a fake server was asked and holds the failures and
// latency a test set. The zero value is ready to use; it is safe for
// concurrent use.
type Recorder struct {
	mu          sync.Mutex
	calls       map[string]int
	violations  []string
	rateLimited int
	fails       map[string]*failure
	latency     time.Duration
}

// Failure is an injected failure: the HTTP status and the error code (or
// description) to answer with.
type Failure struct {
	Status int
	Code   string
}

type failure struct {
	n int
	Failure
}

// Calls returns how many calls each method received, accepted or not.
func (r *Recorder) Calls() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.calls))
	maps.Copy(out, r.calls)
	return out
}

// Violations lists the requests refused for breaking a limit or a format
// rule, one line each, in order.
func (r *Recorder) Violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.violations...)
}

// RateLimited returns how many 429 answers were given.
func (r *Recorder) RateLimited() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rateLimited
}

// SetLatency delays every later answer by d.
func (r *Recorder) SetLatency(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency = d
}

// Latency returns what SetLatency set.
func (r *Recorder) Latency() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latency
}

// Count counts a call of method and returns the latency to wait before
// answering it.
func (r *Recorder) Count(method string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[method]++
	return r.latency
}

// Violate records a violation line.
func (r *Recorder) Violate(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, line)
}

// CountRateLimited counts a 429 answer.
func (r *Recorder) CountRateLimited() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rateLimited++
}

// SetFailure makes TakeFailure return f for the next n calls of method,
// replacing what was set before; n ≤ 0 clears it.
func (r *Recorder) SetFailure(method string, n int, f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 {
		delete(r.fails, method)
		return
	}
	if r.fails == nil {
		r.fails = map[string]*failure{}
	}
	r.fails[method] = &failure{n: n, Failure: f}
}

// TakeFailure takes one of the failures set for method, if any are left.
// It counts nothing: a 429 is counted by the caller with CountRateLimited.
func (r *Recorder) TakeFailure(method string) (Failure, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.fails[method]
	if f == nil {
		return Failure{}, false
	}
	if f.n--; f.n <= 0 {
		delete(r.fails, method)
	}
	return f.Failure, true
}

// Wait waits d and reports true, or reports false as soon as ctx ends or
// done (nil: never) is closed. A d ≤ 0 returns true at once.
func Wait(ctx context.Context, d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-done:
		return false
	}
}

// Set is the set of xs, or nil when there are none: a fake's "only these
// exist" option, where nil means any well-formed one does.
func Set[K comparable](xs []K) map[K]bool {
	if len(xs) == 0 {
		return nil
	}
	m := make(map[K]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}
