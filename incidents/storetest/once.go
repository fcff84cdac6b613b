package storetest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// testOnce checks incidents.Once: a key is held by one caller at a time,
// spent for its TTL, released only while held, and a hold lapses.
func testOnce(t *testing.T, o incidents.Once) {
	ctx := context.Background()
	key := "sig-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	claim := func(k string, hold time.Duration, want incidents.OnceState) {
		t.Helper()
		got, err := o.ClaimOnce(ctx, k, hold)
		if err != nil || got != want {
			t.Fatalf("ClaimOnce(%s) = %v, %v; want %v", k, got, err, want)
		}
	}
	claim(key, time.Minute, incidents.OnceNew)
	claim(key, time.Minute, incidents.OnceBusy)
	if err := o.ReleaseOnce(ctx, key); err != nil {
		t.Fatal(err)
	}
	claim(key, time.Minute, incidents.OnceNew)
	if err := o.SpendOnce(ctx, key, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	claim(key, time.Minute, incidents.OnceSpent)
	if err := o.ReleaseOnce(ctx, key); err != nil { // a spent key stays spent
		t.Fatal(err)
	}
	claim(key, time.Minute, incidents.OnceSpent)

	// A hold lapses (a replica died holding it), and so does a spent key.
	held := key + "-held"
	claim(held, 200*time.Millisecond, incidents.OnceNew)
	time.Sleep(350 * time.Millisecond)
	claim(held, time.Minute, incidents.OnceNew)
	claim(key, time.Minute, incidents.OnceNew)

	// Many claimers at once: exactly one holds the key.
	race := key + "-race"
	var wg sync.WaitGroup
	var won atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := o.ClaimOnce(ctx, race, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if st == incidents.OnceNew {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("%d of 20 concurrent claimers hold the key, want 1", n)
	}
}

// RunOnce runs the once-only keys' conformance case against o (for a
// store that offers them apart from its incidents.Once).
func RunOnce(t *testing.T, o incidents.Once) { testOnce(t, o) }
