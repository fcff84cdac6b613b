// Package admission decides what klaxon lets in when more arrives than it
// can take: how many requests may be read before they are authenticated
// (in all, and per client), how many bytes of memory the requests it took
// may hold at once, and how long a sender may take to send a body it has
// not yet proved it may send.
//
// It is the answer to two attacks: a caller without credentials must
// never hold what authenticated senders need (slots, memory), and a
// caller with credentials must not be able to make klaxon exceed its
// memory limit by sending many large bodies at once. What is refused is
// refused early and cheaply, with a reason the caller turns into a 503
// and a metric (klaxon_shed_total{reason}).
//
// It imports only the standard library.
package admission

import (
	"container/list"
	"context"
	"errors"
	"sync"
)

// Budget is a weighted semaphore of bytes: each request holds what it may
// cost while it is handled. Waiters are served in arrival order, so a big
// request is not starved by a stream of small ones. A request whose cost
// exceeds the whole budget may still run when it is alone (its cost is
// capped at the budget): large bodies are slow, never impossible.
type Budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters list.List // of *waiter
}

type waiter struct {
	n     int64
	ready chan struct{} // closed when n was granted
}

// NewBudget returns a budget of size bytes (at least 1).
func NewBudget(size int64) *Budget { return &Budget{size: max(size, 1)} }

// Size returns the budget's size.
func (b *Budget) Size() int64 { return b.size }

// InUse returns how much of the budget is held.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Cap caps a cost at the budget's size: the cost that Acquire takes for n.
func (b *Budget) Cap(n int64) int64 { return min(max(n, 0), b.size) }

// TryAcquire takes Cap(n) bytes if they are free now and nobody waits.
func (b *Budget) TryAcquire(n int64) bool {
	n = b.Cap(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n <= b.size && b.waiters.Len() == 0 {
		b.used += n
		return true
	}
	return false
}

// Acquire takes Cap(n) bytes, waiting in line until they are free or ctx
// ends (then it returns ctx's error and holds nothing).
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	n = b.Cap(n)
	b.mu.Lock()
	if b.used+n <= b.size && b.waiters.Len() == 0 {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	e := b.waiters.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
			b.grant()
		default:
			front := b.waiters.Front() == e
			b.waiters.Remove(e)
			if front {
				b.grant() // those behind may fit now
			}
		}
		b.mu.Unlock()
		return ctx.Err()
	}
}

// Release gives back Cap(n) bytes taken with TryAcquire or Acquire.
func (b *Budget) Release(n int64) {
	n = b.Cap(n)
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		b.mu.Unlock()
		panic("admission: released more than acquired")
	}
	b.grant()
	b.mu.Unlock()
}

// grant serves the waiters at the front that fit. b.mu is held.
func (b *Budget) grant() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*waiter)
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// ErrBusy, ErrClientBusy: Gate.Enter refused a request.
var (
	ErrBusy       = errors.New("too many requests are being read before authentication")
	ErrClientBusy = errors.New("this client has too many requests being read before authentication")
)

// Gate bounds the requests in flight, in all and per client (by address).
// The zero value is not usable: use NewGate.
type Gate struct {
	mu        sync.Mutex
	max       int
	perClient int
	total     int
	by        map[string]int
}

// NewGate returns a gate admitting at most max requests at once, and at
// most perClient from one client.
func NewGate(max, perClient int) *Gate {
	return &Gate{max: max, perClient: perClient, by: map[string]int{}}
}

// Enter admits a request from client, or refuses it with ErrBusy or
// ErrClientBusy. It never waits. The returned leave must be called once
// the request is done.
func (g *Gate) Enter(client string) (leave func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= g.max {
		return nil, ErrBusy
	}
	if g.by[client] >= g.perClient {
		return nil, ErrClientBusy
	}
	g.total++
	g.by[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.total--
			if g.by[client]--; g.by[client] <= 0 {
				delete(g.by, client)
			}
			g.mu.Unlock()
		})
	}, nil
}

// InFlight returns how many requests the gate holds.
func (g *Gate) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}
