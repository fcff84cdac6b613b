package console

import (
	"net/http"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Live pages: each open page holds one server-sent event stream; the hub
// hands every change (from incidents.Changes, so from every replica) to
// each stream, which writes the IDs that changed since its last write.
// Pages refetch what they show, so a stream needs no history
// (Last-Event-ID) and a change it misses shows at the next one.

// hub fans changes out to the streams of this process.
type hub struct {
	mu      sync.Mutex
	max     int
	streams map[*stream]struct{}
}

// stream is one open page's pending changes.
type stream struct {
	mu      sync.Mutex
	pending map[string]struct{}
	all     bool          // too many to list: "something changed"
	wake    chan struct{} // one slot: there is something to write
}

// maxPending bounds the IDs a stream keeps between writes; beyond, it
// says "*" (reload whatever you show).
const maxPending = 256

func newHub(max int) *hub { return &hub{max: max, streams: map[*stream]struct{}{}} }

// join adds a stream, or returns nil when the hub is full.
func (h *hub) join() *stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.streams) >= h.max {
		return nil
	}
	s := &stream{pending: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	h.streams[s] = struct{}{}
	return s
}

func (h *hub) leave(s *stream) {
	h.mu.Lock()
	delete(h.streams, s)
	h.mu.Unlock()
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

// publish tells every stream that id changed ("*": anything may have).
func (h *hub) publish(id string) {
	if id != "*" {
		canon, _, err := incidents.ParseID(id)
		if err != nil {
			return // not an incident: nothing a page shows
		}
		id = canon
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.streams {
		s.add(id)
	}
}

func (s *stream) add(id string) {
	s.mu.Lock()
	if id == "*" || len(s.pending) >= maxPending {
		s.all = true
		clear(s.pending)
	} else if !s.all {
		s.pending[id] = struct{}{}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns what changed since the last take.
func (s *stream) take() (ids []string, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.pending {
		ids = append(ids, id)
	}
	clear(s.pending)
	all, s.all = s.all, false
	return ids, all
}

// events serves the stream: "change" events whose data is an incident's
// ID ("*" for any), and a comment line as a heartbeat. It ends when the
// client leaves.
func (c *Console) events(w http.ResponseWriter, r *http.Request, _ *incidents.Session) {
	st := c.hub.join()
	if st == nil {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live pages are open; this one updates when reloaded", http.StatusServiceUnavailable)
		return
	}
	defer c.hub.leave(st)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout is for requests, not streams
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n: hello\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(c.o.Heartbeat)
	defer beat.Stop()
	ctx := r.Context()
	buf := make([]byte, 0, 512)
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			buf = append(buf[:0], ": ping\n\n"...)
		case <-st.wake:
			// A burst of changes goes in one write: at most one every
			// streamGap, so that a storm costs each stream ten writes a
			// second, not one per change.
			if wait := time.Until(last.Add(streamGap)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			ids, all := st.take()
			buf = buf[:0]
			if all {
				buf = append(buf, "event: change\ndata: *\n\n"...)
			}
			for _, id := range ids {
				buf = append(buf, "event: change\ndata: "...)
				buf = append(buf, id...)
				buf = append(buf, "\n\n"...)
			}
			if len(buf) == 0 {
				continue
			}
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a stalled client is let go
		if _, err := w.Write(buf); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		_ = rc.SetWriteDeadline(time.Time{})
		last = time.Now()
	}
}

// streamGap is the least time between two writes of changes to a stream.
const streamGap = 100 * time.Millisecond
