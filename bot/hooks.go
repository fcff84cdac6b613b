package bot

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/admission"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/localtrust"
)

// auth returns the credentials configured for a source, or nil.
func (c SourcesConfig) auth(name string) *HookAuth {
	switch name {
	case "alertmanager":
		return c.Alertmanager.inbound()
	case "grafana":
		return c.Grafana.inbound()
	}
	for i := range c.Webhook {
		if w := &c.Webhook[i]; WebhookSourcePrefix+w.Name == name {
			return w.auth()
		}
	}
	return nil
}

// replayHold is how long a signed webhook's signature is held while it is
// handled: a replica that dies holding one delays a resend this long.
const replayHold = 30 * time.Second

// slotWait is how long a webhook waits for one of server.max_webhooks
// slots, or for room in the webhook memory budget, before klaxon answers
// 503 (the sender retries).
const slotWait = 2 * time.Second

// acquire takes a webhook slot, waiting at most until limit.
func (s *Server) acquire(ctx context.Context, limit time.Time) bool {
	select {
	case s.hookSlots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(time.Until(limit))
	defer t.Stop()
	select {
	case s.hookSlots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// closedHook answers every request 401: a source without credentials
// that nobody opened on purpose (why says so).
func (s *Server) closedHook(source, why string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		closeAfter(w)
		s.metrics.authFailures.WithLabelValues(source).Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon"`)
		writeError(w, incidents.Errorf(incidents.Unauthorized, "%s %s", HookPath(source), why))
	})
}

// localHook serves h, a hook without credentials open because klaxon is
// reachable from this machine only, to requests from this machine: not
// through a proxy on this host, not from a web page (internal/localtrust).
func (s *Server) localHook(source string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localtrust.Request(r) {
			closeAfter(w)
			s.metrics.authFailures.WithLabelValues(source).Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon"`)
			writeError(w, incidents.Errorf(incidents.Unauthorized,
				"%s has no credentials: it takes alerts from this machine only (not through a proxy, not from a web page); give the source a token, basic or hmac", HookPath(source)))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hook serves POST /hooks/<source>: authenticate, read at most
// server.max_body_bytes, parse, ingest, and answer only after the store has
// committed (200), or 400/401/413 (do not retry) or 503 (retry), within
// webhookDeadline. What is answered 503 was not stored.
//
// A token or password is checked before the body is read, and only then
// does the request take a webhook slot and its cost in the webhook memory
// budget. A signature needs the body: what can be checked without it is,
// then the body is read as an unauthenticated request (a gate, a budget
// and a deadline of its own) and only once its signature holds does it
// take a slot. A caller without credentials never holds what
// authenticated senders need.
func (s *Server) hook(source string, parse Parser, auth *HookAuth) http.Handler {
	return s.hookWith(source, auth, s.ingestBody(source, parse))
}

// hookHandler acts on the body of an authenticated webhook before
// deadline and answers it; it calls accepted just before answering 2xx
// (a signed request's signature is then spent).
type hookHandler func(w http.ResponseWriter, r *http.Request, body []byte, deadline time.Time, accepted func())

// hookWith serves a webhook as hook describes, handing the body of an
// authenticated request to handle: hook's parse and ingest, or a
// heartbeat's beat.
func (s *Server) hookWith(source string, auth *HookAuth, handle hookHandler) http.Handler {
	signed := auth != nil && auth.HMAC != nil
	refuse := func(w http.ResponseWriter, r *http.Request, err error) {
		closeAfter(w) // the body of a stranger is not read
		s.metrics.authFailures.WithLabelValues(source).Inc()
		s.log.Warn("webhook refused", "source", source, "remote", r.RemoteAddr, "reason", incidents.ErrorMessage(err))
		switch {
		case signed:
			w.Header().Set("WWW-Authenticate", `HMAC-SHA256 realm="klaxon"`)
		case auth.Basic != nil:
			w.Header().Set("WWW-Authenticate", `Basic realm="klaxon"`)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon"`)
		}
		writeError(w, err)
	}
	busy := func(w http.ResponseWriter, r *http.Request) {
		s.metrics.hooksBusy.WithLabelValues(source).Inc()
		s.shedError(w, r, shedWebhookSlots, "klaxon is handling server.max_webhooks webhooks already, try again")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		deadline := arrived.Add(webhookDeadline)
		slotLimit := arrived.Add(slotWait)
		var body []byte
		var held int64             // of the webhook memory budget
		var pool *admission.Budget // that budget: small or large bodies
		var replayKey string
		if signed {
			sig, stamp, err := precheckHMAC(r.Header, auth.HMAC, s.clock.Now())
			if err != nil {
				refuse(w, r, err)
				return
			}
			leave, ok := s.enterUnauthenticated(w, r)
			if !ok {
				return
			}
			raw, release, ok := s.readUnauthenticated(w, r, s.cfg.Server.MaxBodyBytes, arrived)
			leave()
			if !ok {
				return
			}
			replayKey, err = checkMAC(auth.HMAC, sig, stamp, raw)
			if err != nil {
				release()
				refuse(w, r, err)
				return
			}
			// Authenticated: from here on the request counts as one.
			if !s.acquire(r.Context(), slotLimit) {
				release()
				busy(w, r)
				return
			}
			pool = s.gates.webhookPool(int64(len(raw)))
			held = pool.Cap(int64(len(raw)) * webhookCost)
			wctx, cancel := context.WithDeadline(r.Context(), slotLimit)
			err = pool.Acquire(wctx, held)
			cancel()
			release()
			if err != nil {
				<-s.hookSlots
				s.shedError(w, r, shedWebhookMemory, "klaxon is holding as many webhooks as its memory budget allows, try again")
				return
			}
			body = raw
		} else {
			if err := checkAuth(r, auth); err != nil {
				refuse(w, r, err)
				return
			}
			if !s.acquire(r.Context(), slotLimit) {
				busy(w, r)
				return
			}
			var err error
			pool = s.gates.webhookPool(r.ContentLength)
			body, held, err = admission.ReadBody(r.Context(), w, r, admission.Read{
				Max: s.cfg.Server.MaxBodyBytes, Budget: pool, Factor: webhookCost,
				Wait: time.Until(slotLimit), Deadline: deadline,
			})
			if err != nil {
				<-s.hookSlots
				s.bodyError(w, r, err, shedWebhookMemory)
				return
			}
		}
		s.metrics.hooksInFlight.Inc()
		defer func() {
			s.metrics.hooksInFlight.Dec()
			pool.Release(held)
			<-s.hookSlots
		}()
		if replayKey != "" {
			replayKey = source + " " + replayKey
			state, err := s.once.ClaimOnce(r.Context(), replayKey, replayHold)
			if err != nil {
				s.log.Error("signed webhook not checked for replay", "source", source, "err", err)
				writeError(w, err)
				return
			}
			switch state {
			case incidents.OnceSpent: // done already: a sender's retry, or a replay
				s.metrics.hookReplays.WithLabelValues(source).Inc()
				s.log.Info("signed webhook seen already: nothing to do", "source", source, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusOK, map[string]any{"status": "duplicate"})
				return
			case incidents.OnceBusy: // a copy is being handled: the sender may retry
				writeError(w, incidents.Errorf(incidents.Unavailable, "the same signed request is being handled, try again"))
				return
			}
		}
		// A signature is spent once the request is answered 2xx; one that
		// failed may be sent again.
		done := false
		accepted := func() {
			if replayKey != "" {
				// Past the window either side of the timestamp, and a second
				// more, the window check refuses the signature anyway.
				if err := s.once.SpendOnce(context.WithoutCancel(r.Context()), replayKey, 2*auth.HMAC.window()+time.Second); err != nil {
					s.log.Warn("signed webhook acted on but not marked spent: a replay within its window would be acted on again", "source", source, "err", err)
				}
			}
			done = true
		}
		defer func() {
			if replayKey != "" && !done {
				if err := s.once.ReleaseOnce(context.WithoutCancel(r.Context()), replayKey); err != nil {
					s.log.Warn("signed webhook's claim not released: a resend waits for it to lapse", "source", source, "err", err, "lapse", replayHold)
				}
			}
		}()
		handle(w, r, body, deadline, accepted)
	})
}

// ingestBody parses a webhook's body and ingests the batch.
func (s *Server) ingestBody(source string, parse Parser) hookHandler {
	return func(w http.ResponseWriter, r *http.Request, body []byte, deadline time.Time, accepted func()) {
		b, err := parse(body)
		if err != nil {
			if incidents.ErrorKind(err) == incidents.Internal {
				err = incidents.Errorf(incidents.Invalid, "%s", err.Error())
			}
			s.log.Info("webhook payload rejected", "source", source, "err", incidents.ErrorMessage(err))
			writeError(w, err)
			return
		}
		body = nil    // the batch holds what is needed
		if b == nil { // the parser says: accepted, nothing to do
			s.metrics.alertsIgnored.WithLabelValues(source).Inc()
			s.log.Debug("webhook ignored by its mapping", "source", source)
			accepted()
			writeJSON(w, http.StatusOK, map[string]any{"status": "ignored"})
			return
		}
		now := s.clock.Now()
		for i := range b.Alerts {
			a := &b.Alerts[i]
			if warn := a.Annotations[incidents.AnnotationParseWarnings]; warn != "" {
				s.metrics.parseWarnings.WithLabelValues(source).Inc()
				s.log.Warn("webhook accepted with fields left out", "source", source, "fingerprint", a.Fingerprint, "warnings", warn)
			}
			a.Severity = s.cfg.Incidents.Severity.Of(a.Labels)
			s.metrics.alertsReceived.WithLabelValues(source, string(a.Status)).Inc()
		}
		s.assignTeam(source, b)
		if time.Until(deadline) < minIngestTime {
			s.shedError(w, r, shedDeadline, "klaxon could not get to this webhook in time, nothing was stored: try again")
			return
		}
		// The store either commits within the deadline or not at all: an
		// exchange with it that has begun is waited for, one that has not
		// is dropped when the deadline passes (see redisstore's pipeliner).
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		b.Flapping = s.cfg.Incidents.Flapping.Rule()
		opts := incidents.IngestOptions{Now: now, ReopenWindow: s.cfg.Incidents.ReopenWindow.D()}
		if b.Firing() { // only firing alerts open or reopen an incident
			opts.Start = s.startFunc(ctx, now)
		}
		res, err := s.store.Ingest(ctx, b, opts)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				err = incidents.Wrap(incidents.Unavailable, "ingest", err)
				s.gates.shed.WithLabelValues(shedStoreDeadline).Inc()
			}
			s.log.Error("webhook not stored", "source", source, "group", b.GroupKey, "err", err)
			writeError(w, err)
			return
		}
		accepted()
		s.record(source, b, res)
		if res.Changed {
			s.changed(res.Incident.ID)
		}
		if res.Created || res.Reopened {
			s.escalator.notify()
		}
		out := map[string]any{"status": "ignored"}
		if res.Incident != nil {
			out = map[string]any{
				"status":   "stored",
				"incident": res.Incident.ID,
				"state":    res.Incident.State,
				"created":  res.Created,
				"reopened": res.Reopened,
				"changed":  res.Changed,
			}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// minIngestTime is the least time left before a webhook's deadline in
// which klaxon still starts storing it.
const minIngestTime = 500 * time.Millisecond

// assignTeam sets the team a new incident of b would belong to, from the
// group's labels over its first alert's (Alertmanager groups alerts that
// share the group labels, so they route alike).
func (s *Server) assignTeam(source string, b *incidents.Batch) {
	if len(s.cfg.Teams) == 0 {
		return
	}
	labels := make(map[string]string, len(b.Alerts[0].Labels)+len(b.GroupLabels))
	maps.Copy(labels, b.Alerts[0].Labels)
	maps.Copy(labels, b.GroupLabels)
	team, matched := s.router.team(labels)
	b.Team = team
	if !matched {
		s.metrics.alertsUnrouted.WithLabelValues(source).Add(float64(len(b.Alerts)))
		s.log.Info("no route matched; alerts go to the default team", "source", source, "group", b.GroupKey, "team", team)
	}
}

// record logs and counts what an ingest did.
func (s *Server) record(source string, b *incidents.Batch, res *incidents.IngestResult) {
	switch {
	case res.Incident == nil:
		s.metrics.alertsIgnored.WithLabelValues(source).Add(float64(len(b.Alerts)))
		s.log.Info("resolved alerts for an unknown group ignored", "source", source, "group", b.GroupKey, "alerts", len(b.Alerts))
	case res.Created:
		s.metrics.incidentsOpened.WithLabelValues(source, res.Incident.Team).Inc()
		s.log.Info("incident opened", "incident", res.Incident.ID, "title", res.Incident.Title,
			"severity", res.Incident.Severity.String(), "team", res.Incident.Team, "source", source, "alerts", len(b.Alerts))
	case res.Reopened:
		s.metrics.incidentsReopened.WithLabelValues(source).Inc()
		s.log.Info("incident reopened", "incident", res.Incident.ID, "source", source)
	case res.Changed && res.Incident.State == incidents.Resolved:
		s.log.Info("incident resolved", "incident", res.Incident.ID, "by", res.Incident.ResolvedBy, "source", source)
		if tl := res.Incident.Timeline; len(tl) > 0 && tl[len(tl)-1].Kind == incidents.EventResolved && tl[len(tl)-1].At.Equal(res.Incident.ResolvedAt) {
			s.metrics.timeToResolve.WithLabelValues(res.Incident.Team, res.Incident.Severity.String()).Observe(res.Incident.ResolvedAt.Sub(res.Incident.CreatedAt).Seconds())
		}
	case res.Changed:
		s.log.Debug("incident updated", "incident", res.Incident.ID, "state", res.Incident.State, "source", source)
	default:
		s.log.Debug("duplicate notification", "incident", res.Incident.ID, "source", source)
	}
}

// checkAuth verifies a bearer token or basic credentials in constant time.
// It returns nil when the source has no credentials configured.
func checkAuth(r *http.Request, auth *HookAuth) error {
	if auth == nil {
		return nil
	}
	if auth.Basic != nil {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return incidents.Errorf(incidents.Unauthorized, "basic credentials required")
		}
		// Compare both, always, so timing does not tell which one is wrong.
		u := equal(user, auth.Basic.Username)
		p := equal(pass, auth.Basic.Password.Reveal())
		if !u || !p {
			return incidents.Errorf(incidents.Unauthorized, "wrong credentials")
		}
		return nil
	}
	if auth.Token == "" {
		return nil
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return incidents.Errorf(incidents.Unauthorized, "bearer token required")
	}
	if !equal(strings.TrimSpace(token), auth.Token.Reveal()) {
		return incidents.Errorf(incidents.Unauthorized, "wrong credentials")
	}
	return nil
}

// equal compares in time independent of where the strings differ and of
// their lengths (both are hashed first).
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
