package consolestore

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// recv reads one ID from ch, failing t after 5 s.
func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case id, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return id
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered in 5 s")
	}
	return ""
}

// closed waits until ch is closed, failing t after 5 s.
func closed(t *testing.T, ch <-chan string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel still open 5 s later")
		}
	}
}

func TestEverySubscriberInOrder(t *testing.T) {
	var h Hub
	a, _ := h.Subscribe(t.Context())
	b, _ := h.Subscribe(t.Context())
	for _, id := range []string{"INC-1", "INC-2", "INC-3"} {
		h.Publish(id)
	}
	for _, ch := range []<-chan string{a, b} {
		for _, want := range []string{"INC-1", "INC-2", "INC-3"} {
			if got := recv(t, ch); got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		}
	}
}

// An ID published again while unread is delivered once, at its first place.
func TestCoalescesUnread(t *testing.T) {
	var h Hub
	ch, _ := h.Subscribe(t.Context())
	h.Publish("INC-1") // may be taken by the delivering goroutine at once
	waitHeld(t, &h)
	for _, id := range []string{"INC-2", "INC-3", "INC-2", "INC-2", "INC-3", "INC-4"} {
		h.Publish(id)
	}
	var got []string
	for range 4 {
		got = append(got, recv(t, ch))
	}
	if want := "INC-1 INC-2 INC-3 INC-4"; join(got) != want {
		t.Fatalf("delivered %s, want %s", join(got), want)
	}
	select {
	case id := <-ch:
		t.Fatalf("%s delivered twice", id)
	case <-time.After(50 * time.Millisecond):
	}
	if h.Dropped() != 0 {
		t.Fatalf("Dropped = %d, want 0", h.Dropped())
	}
}

// waitHeld waits until the only subscriber's goroutine has taken its
// queued ID and waits to hand it over.
func waitHeld(t *testing.T, h *Hub) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		n := 0
		for s := range h.subs {
			s.mu.Lock()
			n += len(s.queue)
			s.mu.Unlock()
		}
		h.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the queued ID was not taken")
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// A reader that reads nothing neither blocks the publisher nor makes the
// queue grow past MaxPending: it loses the oldest IDs, counted, and reads
// the newest.
func TestSlowReaderBounded(t *testing.T) {
	var h Hub
	ch, _ := h.Subscribe(t.Context())
	const n = 10_000
	for i := 1; i <= n; i++ {
		h.Publish("INC-" + strconv.Itoa(i))
	}
	var got []string
	for {
		select {
		case id := <-ch:
			got = append(got, id)
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
	// At most one ID in the goroutine's hand besides the queue.
	if len(got) > MaxPending+1 || len(got) < MaxPending {
		t.Fatalf("read %d IDs after the burst, want %d or %d", len(got), MaxPending, MaxPending+1)
	}
	if last := got[len(got)-1]; last != "INC-"+strconv.Itoa(n) {
		t.Fatalf("last ID read %s, want the newest, INC-%d", last, n)
	}
	if d := h.Dropped(); d != int64(n-len(got)) {
		t.Fatalf("Dropped = %d, want %d (published %d, read %d)", d, n-len(got), n, len(got))
	}
	for i := 1; i < len(got); i++ {
		a, _ := strconv.Atoi(got[i-1][4:])
		b, _ := strconv.Atoi(got[i][4:])
		if a >= b {
			t.Fatalf("out of order: %s before %s", got[i-1], got[i])
		}
	}
}

// The heap a subscriber that never reads holds does not grow with the
// number of changes published.
func TestSlowReaderMemory(t *testing.T) {
	var h Hub
	if _, ok := h.Subscribe(t.Context()); !ok {
		t.Fatal("Subscribe refused")
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			h.Publish("INC-" + strconv.Itoa(i))
		}
	}
	publish(0, 10_000)
	before := heap()
	publish(10_000, 200_000)
	after := heap()
	if grew := int64(after) - int64(before); grew > 256<<10 {
		t.Fatalf("heap grew by %d bytes over 190,000 more changes to an idle subscriber", grew)
	}
	if d := h.Dropped(); d < 200_000-MaxPending-1 {
		t.Fatalf("Dropped = %d, want ≥ %d", d, 200_000-MaxPending-1)
	}
}

func TestCancelCloses(t *testing.T) {
	var h Hub
	ctx, cancel := context.WithCancel(t.Context())
	ch, _ := h.Subscribe(ctx)
	other, _ := h.Subscribe(t.Context())
	h.Publish("INC-1") // unread when the context ends
	cancel()
	closed(t, ch)
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("Subscribers = %d after one cancelled, want 1", n)
	}
	h.Publish("INC-2")
	if got := recv(t, other); got != "INC-1" {
		t.Fatalf("the other subscriber got %s, want INC-1", got)
	}
}

func TestCloseEndsEverySubscription(t *testing.T) {
	var h Hub
	a, _ := h.Subscribe(t.Context())
	b, _ := h.Subscribe(t.Context())
	h.Close()
	closed(t, a)
	closed(t, b)
	if _, ok := h.Subscribe(t.Context()); ok {
		t.Fatal("Subscribe after Close succeeded")
	}
	h.Publish("INC-1") // no subscriber, no panic
	h.Close()          // twice is fine
}

func BenchmarkPublish200Subscribers(b *testing.B) {
	var h Hub
	for range 200 {
		ch, _ := h.Subscribe(b.Context())
		go func() {
			for range ch {
			}
		}()
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = "INC-" + strconv.Itoa(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Publish(ids[i%len(ids)])
	}
}
