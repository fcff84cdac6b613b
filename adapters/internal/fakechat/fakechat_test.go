package fakechat

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestZeroRecorder(t *testing.T) {
	var r Recorder
	if c := r.Calls(); c == nil || len(c) != 0 {
		t.Errorf("Calls %v, want an empty map", c)
	}
	if v := r.Violations(); v != nil {
		t.Errorf("Violations %q, want nil", v)
	}
	if n := r.RateLimited(); n != 0 {
		t.Errorf("RateLimited %d", n)
	}
	if d := r.Latency(); d != 0 {
		t.Errorf("Latency %v", d)
	}
	if f, ok := r.TakeFailure("m"); ok {
		t.Errorf("TakeFailure %v", f)
	}
}

func TestCounts(t *testing.T) {
	var r Recorder
	r.Count("a")
	r.Count("a")
	r.Count("b")
	r.SetLatency(3 * time.Millisecond)
	if d := r.Count("a"); d != 3*time.Millisecond {
		t.Errorf("Count returned latency %v", d)
	}
	if d := r.Latency(); d != 3*time.Millisecond {
		t.Errorf("Latency %v", d)
	}
	c := r.Calls()
	if want := map[string]int{"a": 3, "b": 1}; !reflect.DeepEqual(c, want) {
		t.Errorf("Calls %v, want %v", c, want)
	}
	c["a"] = 100 // a copy
	if r.Calls()["a"] != 3 {
		t.Error("Calls is not a copy")
	}

	r.Violate("one")
	r.Violate("two")
	v := r.Violations()
	if want := []string{"one", "two"}; !reflect.DeepEqual(v, want) {
		t.Errorf("Violations %q, want %q", v, want)
	}
	v[0] = "changed" // a copy
	if r.Violations()[0] != "one" {
		t.Error("Violations is not a copy")
	}

	r.CountRateLimited()
	r.CountRateLimited()
	if n := r.RateLimited(); n != 2 {
		t.Errorf("RateLimited %d, want 2", n)
	}
}

func TestFailures(t *testing.T) {
	var r Recorder
	f := Failure{Status: 502, Code: "Bad Gateway"}
	r.SetFailure("m", 2, f)
	for i := range 2 {
		if got, ok := r.TakeFailure("m"); !ok || got != f {
			t.Fatalf("take %d: %v %v", i, got, ok)
		}
	}
	if got, ok := r.TakeFailure("m"); ok {
		t.Errorf("a third failure: %v", got)
	}
	if _, ok := r.TakeFailure("other"); ok {
		t.Error("a failure for another method")
	}

	// A later SetFailure replaces the earlier one.
	r.SetFailure("m", 5, f)
	g := Failure{Status: 429, Code: "retry after 3"}
	r.SetFailure("m", 1, g)
	if got, ok := r.TakeFailure("m"); !ok || got != g {
		t.Errorf("after replacing: %v %v", got, ok)
	}
	if _, ok := r.TakeFailure("m"); ok {
		t.Error("the replaced failure is left")
	}

	// n ≤ 0 clears.
	for _, n := range []int{0, -1} {
		r.SetFailure("m", 3, f)
		r.SetFailure("m", n, f)
		if got, ok := r.TakeFailure("m"); ok {
			t.Errorf("n=%d did not clear: %v", n, got)
		}
	}

	// Taking counts nothing.
	if c, n := r.Calls(), r.RateLimited(); len(c) != 0 || n != 0 {
		t.Errorf("calls %v, rate limited %d", c, n)
	}
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	if !Wait(ctx, 0, nil) || !Wait(ctx, -time.Second, nil) {
		t.Error("no latency did not return true")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if !Wait(canceled, 0, nil) {
		t.Error("no latency waits for nothing, not even a canceled context")
	}

	start := time.Now()
	if !Wait(ctx, 20*time.Millisecond, nil) {
		t.Error("the full wait returned false")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("waited %v, want 20ms", d)
	}

	// Cancelled by the context.
	ctx2, cancel2 := context.WithCancel(ctx)
	time.AfterFunc(10*time.Millisecond, cancel2)
	start = time.Now()
	if Wait(ctx2, time.Minute, nil) {
		t.Error("a canceled context returned true")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("canceled after %v", d)
	}

	// Cut short by done.
	done := make(chan struct{})
	time.AfterFunc(10*time.Millisecond, func() { close(done) })
	start = time.Now()
	if Wait(ctx, time.Minute, done) {
		t.Error("a closed done returned true")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("done after %v", d)
	}
}

// TestConcurrent is for -race: handlers record while tests read.
func TestConcurrent(t *testing.T) {
	var r Recorder
	const workers, each = 8, 200
	r.SetFailure("fail", workers*each/2, Failure{Status: 500, Code: "x"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.Count(fmt.Sprint("m", w%2))
				r.Violate("v")
				r.CountRateLimited()
				if _, ok := r.TakeFailure("fail"); ok {
					mu.Lock()
					taken++
					mu.Unlock()
				}
				if i%50 == 0 {
					r.SetLatency(time.Duration(i))
					_ = r.Latency()
					_ = r.Calls()
					_ = r.Violations()
					_ = r.RateLimited()
					r.SetFailure("other", 1, Failure{})
				}
			}
		})
	}
	wg.Wait()
	if c := r.Calls(); c["m0"]+c["m1"] != workers*each {
		t.Errorf("calls %v", c)
	}
	if n := len(r.Violations()); n != workers*each {
		t.Errorf("%d violations", n)
	}
	if n := r.RateLimited(); n != workers*each {
		t.Errorf("%d rate limited", n)
	}
	if taken != workers*each/2 {
		t.Errorf("%d failures taken, want %d", taken, workers*each/2)
	}
}

func TestSet(t *testing.T) {
	if Set[string](nil) != nil || Set([]int64{}) != nil {
		t.Fatal("no elements must give nil: any well-formed one exists")
	}
	s := Set([]string{"C1", "C2", "C1"})
	if len(s) != 2 || !s["C1"] || !s["C2"] || s["C3"] {
		t.Fatalf("Set = %v", s)
	}
}
