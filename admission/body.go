package admission

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Reasons a body was not read. ReadBody returns them (wrapped or not).
var (
	// ErrTooLarge: the body is longer than allowed (413, never retried).
	ErrTooLarge = errors.New("request body is too large")
	// ErrNoMemory: the memory budget could not take the body in time (503).
	ErrNoMemory = errors.New("klaxon's memory budget for requests in flight is spent")
	// ErrSlow: the body did not arrive in time (408 or 503).
	ErrSlow = errors.New("request body did not arrive in time")
	// ErrBody: the body could not be read (the connection broke).
	ErrBody = errors.New("request body could not be read")
)

// chunk is how much a read reserves at a time when the length is unknown.
const chunk = 64 << 10

// Read describes how to read one body.
type Read struct {
	// Max is the longest body allowed.
	Max int64
	// Budget holds what the body costs while it is handled; Factor is how
	// many bytes of memory one byte of body costs (its copies, the values
	// parsed from it), at least 1.
	Budget *Budget
	Factor int64
	// Wait bounds how long to wait for budget; 0 means not at all.
	Wait time.Duration
	// Deadline, when not zero, is when the whole body must have arrived.
	Deadline time.Time
}

// ReadBody reads r's body as rd says. Before it reads, a body that says
// its length (Content-Length) longer than Max is refused, and its cost is
// taken from the budget at once; a body of unknown length takes its cost
// as it arrives. On success the caller holds Held bytes of the budget and
// must Release them when done with the body; on error nothing is held.
func ReadBody(ctx context.Context, w http.ResponseWriter, r *http.Request, rd Read) (body []byte, held int64, err error) {
	factor := max(rd.Factor, 1)
	if r.ContentLength > rd.Max {
		return nil, 0, ErrTooLarge
	}
	if !rd.Deadline.IsZero() && w != nil {
		_ = http.NewResponseController(w).SetReadDeadline(rd.Deadline)
	}
	take := func(n int64) error {
		if rd.Budget == nil {
			return nil
		}
		if rd.Budget.TryAcquire(n) {
			return nil
		}
		if rd.Wait <= 0 {
			return ErrNoMemory
		}
		wctx, cancel := context.WithTimeout(ctx, rd.Wait)
		defer cancel()
		if err := rd.Budget.Acquire(wctx, n); err != nil {
			return ErrNoMemory
		}
		return nil
	}
	release := func() {
		if rd.Budget != nil && held > 0 {
			rd.Budget.Release(held)
		}
		held = 0
	}
	known := r.ContentLength >= 0
	if known {
		if err := take(r.ContentLength * factor); err != nil {
			return nil, 0, err
		}
		held = rd.Budget.capOrZero(r.ContentLength * factor)
		body = make([]byte, 0, r.ContentLength+1)
	}
	src := r.Body
	if src == nil {
		return nil, held, nil
	}
	for {
		if int64(len(body)) == int64(cap(body)) {
			// Grow, doubling (unknown length): reserve the room's cost first.
			next := max(int64(chunk), int64(len(body)))
			if known {
				next = 1 // a body longer than it said: read on to refuse it
			} else {
				if err := take(next * factor); err != nil {
					release()
					return nil, 0, err
				}
				held += rd.Budget.capOrZero(next * factor)
			}
			grown := make([]byte, len(body), int64(len(body))+next)
			copy(grown, body)
			body = grown
		}
		n, rerr := src.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if int64(len(body)) > rd.Max {
			release()
			return nil, 0, ErrTooLarge
		}
		if rerr == io.EOF {
			return body, held, nil
		}
		if rerr != nil {
			release()
			var mbe *http.MaxBytesError
			switch {
			case errors.As(rerr, &mbe):
				return nil, 0, ErrTooLarge
			case errors.Is(rerr, os.ErrDeadlineExceeded), isTimeout(rerr), ctx.Err() != nil:
				return nil, 0, ErrSlow
			}
			return nil, 0, ErrBody
		}
	}
}

// capOrZero is Cap on a budget that may be nil.
func (b *Budget) capOrZero(n int64) int64 {
	if b == nil {
		return 0
	}
	return b.Cap(n)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Proxies are the addresses whose X-Forwarded-For klaxon believes (the
// reverse proxies in front of it).
type Proxies []netip.Prefix

// ParseProxies reads CIDRs or single addresses.
func ParseProxies(s []string) (Proxies, error) {
	var p Proxies
	for _, v := range s {
		v = strings.TrimSpace(v)
		if !strings.Contains(v, "/") {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, err
			}
			p = append(p, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, err
		}
		p = append(p, pf.Masked())
	}
	return p, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	for _, pf := range p {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// Client names the client of r for per-client limits: the peer's address,
// or, when the peer is a trusted proxy, the right-most address in
// X-Forwarded-For that is not one (each proxy appends its peer, so the
// ones to the left of it could have been written by anyone).
func (p Proxies) Client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if len(p) == 0 || !p.trusted(a) {
		return a.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			h, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return a.String() // garbage: fall back to the proxy itself
			}
			if h = h.Unmap(); !p.trusted(h) {
				return h.String()
			}
		}
	}
	return a.String()
}
