// A Hub hands the IDs of changed incidents to every subscriber in one
// process without ever making the publisher wait: both stores'
// incidents.Changes deliver through one (redisstore feeds it from Redis
// pub/sub, boltstore from its own writers).
//
// Each subscriber has a queue of the IDs it has not read yet. An ID that
// is already queued is not queued again (a page reloads an incident once,
// however many times it changed meanwhile), and a queue holds at most
// MaxPending IDs: when a reader falls that far behind, the oldest ID is
// dropped and counted (Dropped). Memory is bounded by MaxPending IDs per
// subscriber, whatever the rate of changes.

package consolestore

import (
	"context"
	"sync"
	"sync/atomic"
)

// MaxPending is how many unread IDs a subscriber's queue holds.
const MaxPending = 1024

// Hub delivers published IDs to its subscribers (see the top of this
// file). The zero value is ready to use.
type Hub struct {
	mu      sync.Mutex
	subs    map[*sub]struct{}
	closed  bool
	done    chan struct{} // closed by Close; made lazily
	dropped atomic.Int64
}

// sub is one subscriber: its distinct pending IDs, oldest first, and the
// goroutine that hands them to its channel.
type sub struct {
	mu     sync.Mutex
	queue  []string // grows as needed, up to MaxPending
	queued map[string]struct{}
	peak   int           // the longest the queue was since it was last empty
	wake   chan struct{} // capacity 1: something was queued
	out    chan string
}

func (h *Hub) doneLocked() chan struct{} {
	if h.done == nil {
		h.done = make(chan struct{})
	}
	return h.done
}

// Subscribe returns a channel of the IDs published from now on, until ctx
// ends or the hub closes: then the channel is closed. ok is false when the
// hub is closed already.
func (h *Hub) Subscribe(ctx context.Context) (ch <-chan string, ok bool) {
	s := &sub{queued: map[string]struct{}{}, wake: make(chan struct{}, 1), out: make(chan string)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, false
	}
	if h.subs == nil {
		h.subs = map[*sub]struct{}{}
	}
	h.subs[s] = struct{}{}
	done := h.doneLocked()
	h.mu.Unlock()
	go h.deliver(ctx, s, done)
	return s.out, true
}

// deliver hands s's queued IDs to its channel, oldest first, until ctx
// ends or the hub closes.
func (h *Hub) deliver(ctx context.Context, s *sub, done <-chan struct{}) {
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		close(s.out)
	}()
	for {
		id, ok := s.pop()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
		select {
		case s.out <- id:
		case <-ctx.Done():
			return
		case <-done:
			return
		}
	}
}

// Publish queues id for every subscriber. It never blocks on a reader.
func (h *Hub) Publish(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.push(id) {
			h.dropped.Add(1)
		}
	}
}

// push queues id unless it is queued already; dropped reports that the
// queue was full and lost its oldest ID.
func (s *sub) push(id string) (dropped bool) {
	s.mu.Lock()
	if _, ok := s.queued[id]; ok {
		s.mu.Unlock()
		return false
	}
	if len(s.queue) == MaxPending {
		delete(s.queued, s.queue[0])
		s.queue[0] = ""
		s.queue = s.queue[1:]
		dropped = true
	}
	// append copies the live IDs to a new array when the old one is used
	// up, so the queue's memory stays within twice MaxPending IDs.
	s.queue = append(s.queue, id)
	s.queued[id] = struct{}{}
	s.peak = max(s.peak, len(s.queue))
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return dropped
}

func (s *sub) pop() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		if s.peak > 64 { // let a burst's array and map go
			s.queue, s.queued, s.peak = nil, map[string]struct{}{}, 0
		}
		return "", false
	}
	id := s.queue[0]
	s.queue[0] = ""
	s.queue = s.queue[1:]
	delete(s.queued, id)
	return id, true
}

// Dropped returns how many queued IDs readers lost by falling more than
// MaxPending behind, since the hub was made.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close ends every subscription (their channels close) and refuses new
// ones. It may be called more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.doneLocked())
}
