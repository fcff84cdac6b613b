package admission

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBudgetFIFOAndCap(t *testing.T) {
	b := NewBudget(100)
	if !b.TryAcquire(60) {
		t.Fatal("60 of 100 refused")
	}
	if b.TryAcquire(50) {
		t.Fatal("50 more taken past the size")
	}
	// A big waiter comes first; a small one behind it must not overtake.
	bigDone := make(chan error, 1)
	go func() { bigDone <- b.Acquire(context.Background(), 1000) }() // capped at 100
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.waiters.Len() == 1 })
	if b.TryAcquire(10) {
		t.Fatal("a small request overtook a waiting big one")
	}
	b.Release(60)
	if err := <-bigDone; err != nil {
		t.Fatal(err)
	}
	if got := b.InUse(); got != 100 {
		t.Fatalf("in use %d, want 100 (the big request capped at the size)", got)
	}
	b.Release(1000)
	if got := b.InUse(); got != 0 {
		t.Fatalf("in use %d after release, want 0", got)
	}
}

func TestBudgetAcquireCancelled(t *testing.T) {
	b := NewBudget(10)
	b.TryAcquire(10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Acquire(ctx, 5); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire = %v, want deadline exceeded", err)
	}
	// The cancelled waiter left the line: the next one is served.
	got := make(chan error, 1)
	go func() { got <- b.Acquire(context.Background(), 5) }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.waiters.Len() == 1 })
	b.Release(10)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if b.InUse() != 5 {
		t.Fatalf("in use %d, want 5", b.InUse())
	}
}

func TestBudgetConcurrent(t *testing.T) {
	b := NewBudget(64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak, cur := int64(0), int64(0)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(i%16 + 1)
			if err := b.Acquire(context.Background(), n); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			cur += n
			peak = max(peak, cur)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			cur -= n
			mu.Unlock()
			b.Release(n)
		}()
	}
	wg.Wait()
	if peak > 64 {
		t.Fatalf("peak %d over the budget of 64", peak)
	}
	if b.InUse() != 0 {
		t.Fatalf("in use %d at the end", b.InUse())
	}
}

func TestGate(t *testing.T) {
	g := NewGate(3, 2)
	l1, err := g.Enter("a")
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := g.Enter("a")
	if _, err := g.Enter("a"); !errors.Is(err, ErrClientBusy) {
		t.Fatalf("third from one client: %v, want ErrClientBusy", err)
	}
	l3, err := g.Enter("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter("c"); !errors.Is(err, ErrBusy) {
		t.Fatalf("fourth in all: %v, want ErrBusy", err)
	}
	l1()
	l1() // idempotent
	if _, err := g.Enter("c"); err != nil {
		t.Fatalf("after a leave: %v", err)
	}
	l2()
	l3()
	if g.InFlight() != 1 {
		t.Fatalf("in flight %d, want 1", g.InFlight())
	}
}

func req(body io.Reader, length int64) *http.Request {
	r := httptest.NewRequest("POST", "/", body)
	r.ContentLength = length
	return r
}

func TestReadBodyKnownLength(t *testing.T) {
	b := NewBudget(1000)
	body, held, err := ReadBody(context.Background(), nil, req(strings.NewReader("hello"), 5), Read{Max: 10, Budget: b, Factor: 10})
	if err != nil || string(body) != "hello" || held != 50 || b.InUse() != 50 {
		t.Fatalf("got %q held %d in use %d err %v", body, held, b.InUse(), err)
	}
	b.Release(held)
	// Longer than allowed: refused before a byte is read or reserved.
	if _, _, err := ReadBody(context.Background(), nil, req(strings.NewReader("0123456789abc"), 13), Read{Max: 10, Budget: b, Factor: 10}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if b.InUse() != 0 {
		t.Fatalf("in use %d after a refusal", b.InUse())
	}
}

func TestReadBodyNoMemory(t *testing.T) {
	b := NewBudget(100)
	b.TryAcquire(100)
	start := time.Now()
	_, _, err := ReadBody(context.Background(), nil, req(strings.NewReader("hello"), 5), Read{Max: 10, Budget: b, Factor: 1, Wait: 30 * time.Millisecond})
	if !errors.Is(err, ErrNoMemory) {
		t.Fatalf("err %v, want ErrNoMemory", err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("did not wait for the budget")
	}
}

func TestReadBodyUnknownLengthProgressive(t *testing.T) {
	b := NewBudget(4 * chunk)
	data := bytes.Repeat([]byte("x"), 2*chunk+10)
	body, held, err := ReadBody(context.Background(), nil, req(bytes.NewReader(data), -1), Read{Max: 1 << 20, Budget: b, Factor: 1})
	if err != nil || len(body) != len(data) {
		t.Fatalf("read %d bytes, err %v", len(body), err)
	}
	if held != 4*chunk || b.InUse() != 4*chunk {
		t.Fatalf("held %d, in use %d, want %d", held, b.InUse(), 4*chunk)
	}
	b.Release(held)
	// Past the budget: refused midway, and what was taken is given back.
	big := bytes.Repeat([]byte("x"), 5*chunk)
	b2 := NewBudget(2 * chunk)
	if _, _, err := ReadBody(context.Background(), nil, req(bytes.NewReader(big), -1), Read{Max: 1 << 20, Budget: b2, Factor: 2}); !errors.Is(err, ErrNoMemory) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrNoMemory", err)
	}
	if b2.InUse() != 0 {
		t.Fatalf("in use %d after a refusal", b2.InUse())
	}
}

func TestReadBodySlowSender(t *testing.T) {
	b := NewBudget(1 << 20)
	got := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := ReadBody(r.Context(), w, r, Read{Max: 1 << 20, Budget: b, Factor: 1, Deadline: time.Now().Add(200 * time.Millisecond)})
		got <- err
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	select {
	case err := <-got:
		if !errors.Is(err, ErrSlow) {
			t.Fatalf("err %v, want ErrSlow", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a slow body held the handler past its deadline")
	}
	waitFor(t, func() bool { return b.InUse() == 0 })
}

func TestClient(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1234", nil, "192.0.2.1"},
		{"192.0.2.1:1234", []string{"198.51.100.7"}, "192.0.2.1"}, // not a proxy: its header is ignored
		{"10.1.2.3:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.1.2.3:80", []string{"6.6.6.6, 198.51.100.7, 10.9.9.9"}, "198.51.100.7"}, // a forged left-most hop is skipped
		{"10.1.2.3:80", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"10.1.2.3:80", []string{"junk"}, "10.1.2.3"},
		{"10.1.2.3:80", nil, "10.1.2.3"},
		{"[::1]:80", []string{"2001:db8::5"}, "2001:db8::5"},
		{"[::ffff:192.0.2.9]:80", nil, "192.0.2.9"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := proxies.Client(r); got != c.want {
			t.Errorf("Client(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	if _, err := ParseProxies([]string{"not-an-ip"}); err == nil {
		t.Error("ParseProxies accepted garbage")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}
