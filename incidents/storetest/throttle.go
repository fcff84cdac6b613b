package storetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// testThrottles checks incidents.Throttles: a sliding window of Count
// admissions per Per, the incidents held back returned (and forgotten)
// with the next admission, keys apart, and concurrent callers admitted
// no more than the limit.
func testThrottles(t *testing.T, th incidents.Throttles) {
	ctx := context.Background()
	key := "alice/sms-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	limit := incidents.Limit{Count: 2, Per: time.Minute}
	ask := func(k, id string, at time.Time) incidents.ThrottleResult {
		t.Helper()
		r, err := th.Throttle(ctx, k, id, at, limit)
		if err != nil {
			t.Fatalf("Throttle(%s, %s, %s): %v", k, id, at, err)
		}
		return r
	}
	want := func(r incidents.ThrottleResult, admitted bool, held string, next time.Time, first ...bool) {
		t.Helper()
		if r.Admitted != admitted || fmt.Sprint(r.Held) != held || !r.Next.Equal(next) || r.First != (len(first) > 0 && first[0]) {
			t.Fatalf("result = %+v, want admitted %v, held %s, next %s, first %v", r, admitted, held, next, first)
		}
	}
	want(ask(key, "INC-1", T0), true, "[]", time.Time{})
	want(ask(key, "INC-2", T0.Add(10*time.Second)), true, "[]", time.Time{})
	// The window is full until T0+1m: held back, in the order held.
	want(ask(key, "INC-3", T0.Add(20*time.Second)), false, "[]", T0.Add(time.Minute), true)
	want(ask(key, "INC-4", T0.Add(30*time.Second)), false, "[]", T0.Add(time.Minute), false)
	want(ask(key, "INC-4", T0.Add(35*time.Second)), false, "[]", T0.Add(time.Minute), false) // keeps its place
	want(ask(key, "INC-3", T0.Add(40*time.Second)), false, "[]", T0.Add(time.Minute), true)  // held once
	// Another key has its own window.
	want(ask(key+"x", "INC-3", T0.Add(40*time.Second)), true, "[]", time.Time{})
	// At T0+1m the first send leaves the window: admitted, with the
	// incidents held back (but the asking one), which are forgotten.
	want(ask(key, "INC-4", T0.Add(time.Minute)), true, "[INC-3]", time.Time{})
	want(ask(key, "INC-5", T0.Add(time.Minute+time.Second)), false, "[]", T0.Add(70*time.Second), true)
	want(ask(key, "INC-5", T0.Add(70*time.Second)), true, "[]", time.Time{})

	// A message that failed gives its slot back: the window has room.
	r := ask(key, "INC-6", T0.Add(71*time.Second))
	if r.Admitted {
		t.Fatalf("window full, yet admitted: %+v", r)
	}
	r = ask(key, "INC-7", T0.Add(2*time.Minute+time.Second))
	if !r.Admitted || r.Slot == "" {
		t.Fatalf("after the window: %+v", r)
	}
	if err := th.ReleaseThrottle(ctx, key, r.Slot); err != nil {
		t.Fatal(err)
	}
	if r := ask(key, "INC-8", T0.Add(2*time.Minute+2*time.Second)); !r.Admitted {
		t.Fatalf("the released slot was not given back: %+v", r)
	}
	if r := ask(key, "INC-9", T0.Add(2*time.Minute+3*time.Second)); r.Admitted {
		t.Fatalf("the window is full again, yet admitted: %+v", r)
	}

	if _, err := th.Throttle(ctx, key, "INC-1", T0, incidents.Limit{}); incidents.ErrorKind(err) != incidents.Invalid {
		t.Fatalf("a zero limit: err = %v, want Invalid", err)
	}

	// Many callers at once (replicas): no more than Count admitted.
	race := key + "-race"
	var wg sync.WaitGroup
	var admitted atomic.Int32
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := th.Throttle(ctx, race, "INC-"+strconv.Itoa(i+1), T0, incidents.Limit{Count: 3, Per: 15 * time.Minute})
			if err != nil {
				t.Error(err)
			}
			if r.Admitted {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 3 {
		t.Fatalf("%d of 20 concurrent callers admitted, want 3", n)
	}
	r = ask(race, "INC-99", T0.Add(15*time.Minute))
	if !r.Admitted || len(r.Held) != 17 {
		t.Fatalf("after the window: %+v, want admitted with the 17 held back", r)
	}
}

// BenchThrottle measures the throttle check a page makes before it is
// sent, in a storm: 1,000 people, each paged about 50 incidents by SMS
// (1 a minute) and calls (3 in 15 minutes) as fast as the store answers,
// from 8 goroutines per CPU (the replicas' page workers); the fake clock
// moves 10ms per check, so each person's window slides, most checks hold
// an incident back and some admit a message and take the held ones. It
// reports the cost of one check and how many were admitted.
func BenchThrottle(b *testing.B, newStore NewStore) {
	th, ok := newStore(b).(incidents.Throttles)
	if !ok {
		b.Skip("store keeps no throttles")
	}
	const people, storm = 1000, 50
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	limits := []struct {
		method string
		limit  incidents.Limit
	}{{"sms", incidents.Limit{Count: 1, Per: time.Minute}}, {"call", incidents.Limit{Count: 3, Per: 15 * time.Minute}}}
	var seq, admitted, held atomic.Int64
	ctx := context.Background()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			l := limits[n%2]
			person := (n / 2) % people
			id := "INC-" + strconv.FormatInt(1+(n/(2*people))%storm, 10)
			r, err := th.Throttle(ctx, run+"/p"+strconv.FormatInt(person, 10)+"/"+l.method, id, T0.Add(time.Duration(n)*10*time.Millisecond), l.limit)
			if err != nil {
				b.Error(err)
				return
			}
			if r.Admitted {
				admitted.Add(1)
				held.Add(int64(len(r.Held)))
			}
		}
	})
	b.StopTimer()
	if n := seq.Load(); n > 0 {
		b.ReportMetric(float64(admitted.Load())/float64(n)*100, "%admitted")
		b.ReportMetric(float64(held.Load())/float64(max(admitted.Load(), 1)), "folded/admitted")
	}
}
