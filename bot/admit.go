package bot

import (
	"errors"
	"io"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonbot/klaxon/admission"
	"github.com/klaxonbot/klaxon/incidents"
)

// Admission control (package admission) as klaxon applies it:
//
//   - Authenticated webhooks (token or basic auth checked before the body,
//     or an HMAC signature verified after it) hold one of
//     server.max_webhooks slots and, while they are handled, their cost in
//     the webhook memory budget: the body times webhookCost.
//   - Requests read before they are authenticated (signed webhooks,
//     Slack, Mattermost, Telegram, Twilio) pass a gate of their own, in
//     all and per client, hold their bytes in a budget of their own, and
//     must send their body within unauthenticated_body_timeout. They never
//     take what authenticated senders need.
//   - Whatever cannot be admitted is answered 503 at once with Retry-After
//     and counted in klaxon_shed_total{reason}.

// webhookCost is how many bytes of memory one byte of webhook body takes
// while it is handled: the body, the alerts parsed from it, the incident
// loaded and what is written back. Measured: a 4 MiB Alertmanager body of
// 55,000 alerts peaks at about 30 times its size (BenchmarkWebhookMemory).
const webhookCost = 32

// unauthenticatedCost is the same for a body read before authentication:
// the buffer and the adapter's copy of it.
const unauthenticatedCost = 3

// webhookDeadline is when, after a webhook arrives, klaxon starts no more
// work on it: a store exchange begun before it is waited for (at most the
// store's own timeout, 3 s on Redis), one not begun is dropped and the
// webhook answered 503. So a webhook is answered within 8 s, 200 when
// stored and 503 when not, even when Redis hangs: Alertmanager's webhook
// timeout is 10 s, and a late answer is a retry of something stored.
const webhookDeadline = 5 * time.Second

// Shed reasons (klaxon_shed_total{reason}).
const (
	shedWebhookSlots   = "webhook_slots"   // server.max_webhooks in flight
	shedWebhookMemory  = "webhook_memory"  // the webhook memory budget is spent
	shedUnauthSlots    = "unauthenticated" // server.limits.unauthenticated in flight
	shedClient         = "client"          // one client holds its share of those
	shedUnauthMemory   = "unauthenticated_memory"
	shedSlowBody       = "slow_body" // a body that did not arrive in time
	shedDeadline       = "deadline"  // no time left to do the work
	shedStoreDeadline  = "store"     // the store did not answer in time
	defaultWebhookMem  = 256 << 20
	webhookMemoryShare = 0.4
)

// smallWebhook is the largest body that counts as small: small webhooks
// (an Alertmanager group of a few alerts is a few KiB) hold their cost in
// a pool of their own, an eighth of the budget, so that they never wait
// behind a few large ones.
const smallWebhook = 64 << 10

// gates hold the server's admission state.
type gates struct {
	webhookMem *admission.Budget // bodies over smallWebhook
	smallMem   *admission.Budget // bodies up to smallWebhook
	unauth     *admission.Gate
	unauthMem  *admission.Budget
	proxies    admission.Proxies
	bodyWait   time.Duration
	shed       *prometheus.CounterVec // set by newMetrics
}

func newGates(cfg *Config) (*gates, error) {
	l := cfg.Server.Limits
	mem := l.WebhookMemory
	if mem == 0 {
		mem = defaultWebhookMem
		if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64 {
			mem = int64(float64(lim) * webhookMemoryShare)
		}
	}
	proxies, err := admission.ParseProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	return &gates{
		webhookMem: admission.NewBudget(mem - mem/8),
		smallMem:   admission.NewBudget(mem / 8),
		unauth:     admission.NewGate(l.Unauthenticated, l.UnauthenticatedPerClient),
		unauthMem:  admission.NewBudget(l.UnauthenticatedMemory),
		proxies:    proxies,
		bodyWait:   l.UnauthenticatedBodyTimeout.D(),
	}, nil
}

// webhookPool is the budget a webhook body of n bytes (-1: unknown yet)
// holds its cost in.
func (g *gates) webhookPool(n int64) *admission.Budget {
	if n >= 0 && n <= smallWebhook {
		return g.smallMem
	}
	return g.webhookMem
}

// shedReasons are every reason klaxon_shed_total counts.
var shedReasons = []string{shedWebhookSlots, shedWebhookMemory, shedUnauthSlots, shedClient, shedUnauthMemory, shedSlowBody, shedDeadline, shedStoreDeadline}

// closeAfter makes the answer close the connection: after a request
// whose body was not read, Go's server would otherwise read (and wait
// for) up to 256 KiB of it before answering, so a slow sender would
// never hear its 503 and would hold the connection meanwhile.
func closeAfter(w http.ResponseWriter) { w.Header().Set("Connection", "close") }

// shedError answers 503 for reason, counting it.
func (s *Server) shedError(w http.ResponseWriter, r *http.Request, reason, msg string) {
	closeAfter(w)
	s.gates.shed.WithLabelValues(reason).Inc()
	s.log.Warn("request shed", "path", logPath(r), "reason", reason, "client", s.gates.proxies.Client(r))
	writeError(w, incidents.Errorf(incidents.Unavailable, "%s", msg))
}

// bodyError answers a failed admission.ReadBody.
func (s *Server) bodyError(w http.ResponseWriter, r *http.Request, err error, budget string) {
	closeAfter(w)
	switch {
	case errors.Is(err, admission.ErrTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body is larger than server.max_body_bytes"})
	case errors.Is(err, admission.ErrNoMemory):
		s.shedError(w, r, budget, "klaxon is holding as many request bodies as its memory budget allows, try again")
	case errors.Is(err, admission.ErrSlow):
		s.shedError(w, r, shedSlowBody, "the request body did not arrive in time")
	default:
		writeError(w, incidents.Errorf(incidents.Invalid, "could not read the request body"))
	}
}

// enterUnauthenticated admits a request about to be read before it is
// authenticated, or answers 503. leave must be called when it is done.
func (s *Server) enterUnauthenticated(w http.ResponseWriter, r *http.Request) (leave func(), ok bool) {
	leave, err := s.gates.unauth.Enter(s.gates.proxies.Client(r))
	switch {
	case errors.Is(err, admission.ErrClientBusy):
		s.shedError(w, r, shedClient, "too many requests from this address are being read at once, try again")
		return nil, false
	case err != nil:
		s.shedError(w, r, shedUnauthSlots, "too many unauthenticated requests are being read at once, try again")
		return nil, false
	}
	return leave, true
}

// readUnauthenticated reads a body that is not yet authenticated within
// the unauthenticated budget and deadline. release gives its memory back.
func (s *Server) readUnauthenticated(w http.ResponseWriter, r *http.Request, maxBytes int64, arrived time.Time) (body []byte, release func(), ok bool) {
	body, held, err := admission.ReadBody(r.Context(), w, r, admission.Read{
		Max: maxBytes, Budget: s.gates.unauthMem, Factor: unauthenticatedCost,
		Deadline: arrived.Add(s.gates.bodyWait),
	})
	if err != nil {
		s.bodyError(w, r, err, shedUnauthMemory)
		return nil, nil, false
	}
	return body, func() { s.gates.unauthMem.Release(held) }, true
}

// unauthenticated serves h, an endpoint that authenticates what it reads
// (a chat platform's or Twilio's), behind the unauthenticated gate: the
// body, at most maxBytes, is read here within the unauthenticated budget
// and deadline, and h reads it from memory.
func (s *Server) unauthenticated(h http.Handler, maxBytes int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		leave, ok := s.enterUnauthenticated(w, r)
		if !ok {
			return
		}
		defer leave()
		body, release, ok := s.readUnauthenticated(w, r, maxBytes, arrived)
		if !ok {
			return
		}
		defer release()
		// The rest of the request (the answer) gets the usual timeouts.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		r.Body = http.MaxBytesReader(w, &bodyReader{b: body}, maxBytes)
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}

// bodyReader is a body already in memory.
type bodyReader struct {
	b []byte
	i int
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.i >= len(b.b) {
		return 0, io.EOF
	}
	n := copy(p, b.b[b.i:])
	b.i += n
	return n, nil
}

func (b *bodyReader) Close() error { return nil }

// logPath is the request's path as logs may show it: the paths whose last
// part is a credential (a page's acknowledge link, a calendar feed's
// token) are cut before it.
func logPath(r *http.Request) string {
	p := r.URL.Path
	for _, secret := range []string{"/page/ack/", "/ical/"} {
		if strings.HasPrefix(p, secret) {
			return secret + "…"
		}
	}
	return p
}
