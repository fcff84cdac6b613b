package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonbot/klaxon/incidents"
)

// HeartbeatAlertSource is the source of the alert a missed heartbeat
// fires: its incident's source, and the label of its metrics.
const HeartbeatAlertSource = "heartbeat"

// Heartbeat timing. A scheduler looks for passed deadlines every
// heartbeatTick and holds what it claims for heartbeatLease. When klaxon
// starts and no scheduler has looked for longer than heartbeatGap, it was
// down: a deadline that passed meanwhile gets a fresh window (see
// incidents.Heartbeat.Resume).
const (
	heartbeatTick  = time.Second
	heartbeatLease = time.Minute
	heartbeatGap   = time.Minute
	heartbeatBatch = 64
)

// heartbeats watches the configured heartbeats: every replica serves
// their hooks and runs the scheduler that opens an incident for each
// missed deadline (the store's index, claimed with a lease: once across
// replicas).
type heartbeats struct {
	s      *Server
	box    incidents.Heartbeats
	byName map[string]*HeartbeatConfig
	hooks  map[string]http.Handler // name → the hook, behind its credentials

	beats    *prometheus.CounterVec
	ignored  *prometheus.CounterVec
	missed   *prometheus.CounterVec
	deferred *prometheus.CounterVec
	last     *prometheus.GaugeVec

	syncMu  sync.Mutex
	synced  bool
	watched time.Time // this replica's last sync or claim that worked
}

func newHeartbeats(s *Server, d Deps) (*heartbeats, error) {
	if len(s.cfg.Heartbeats) == 0 {
		return nil, nil
	}
	box, ok := d.Store.(incidents.Heartbeats)
	if !ok {
		return nil, errors.New("bot.New: heartbeats need a store that keeps their deadlines (incidents.Heartbeats)")
	}
	hb := &heartbeats{s: s, box: box, byName: map[string]*HeartbeatConfig{}, hooks: map[string]http.Handler{},
		beats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_heartbeat_beats_total", Help: "Beats received, by heartbeat.",
		}, []string{"heartbeat"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_heartbeat_ignored_total", Help: "Calls to a heartbeat's hook that were not beats (a body saying status resolved, HEAD), by heartbeat.",
		}, []string{"heartbeat"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_heartbeat_missed_total", Help: "Deadlines missed (an incident opened), by heartbeat.",
		}, []string{"heartbeat"}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_heartbeat_deferred_total", Help: "Deadlines that passed while klaxon was down and got a fresh window at start, by heartbeat.",
		}, []string{"heartbeat"}),
		last: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "klaxon_heartbeat_last_beat_timestamp_seconds", Help: "When the last beat came (Unix seconds; 0: none yet), as this replica knows it: take the max across replicas.",
		}, []string{"heartbeat"}),
	}
	for _, c := range []prometheus.Collector{hb.beats, hb.ignored, hb.missed, hb.deferred, hb.last} {
		if err := d.Registerer.Register(c); err != nil {
			return nil, err
		}
	}
	loopback, hs := s.cfg.LocalOnly(), s.cfg.hooks()
	for i := range s.cfg.Heartbeats {
		h := &s.cfg.Heartbeats[i]
		hb.byName[h.Name] = h
		for _, m := range []*prometheus.CounterVec{hb.beats, hb.ignored, hb.missed, hb.deferred} {
			m.WithLabelValues(h.Name)
		}
		hb.last.WithLabelValues(h.Name)
		auth := h.auth()
		handler := s.hookWith(h.Source(), auth, hb.beat(h))
		if !auth.hasCredentials() {
			// As every hook: open without credentials only on purpose
			// (SourcesConfig.Open); from this machine only unless
			// allow_unauthenticated.
			if open, why := openAmong(hs, h.Source(), loopback); !open {
				handler = s.closedHook(h.Source(), why)
			} else if !h.AllowUnauthenticated {
				handler = s.localHook(h.Source(), handler)
			}
		}
		hb.hooks[h.Name] = handler
	}
	return hb, nil
}

// serve is GET and POST /hooks/heartbeat/{name}.
func (hb *heartbeats) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, ok := hb.hooks[name]
	if !ok {
		closeAfter(w)
		writeError(w, incidents.Errorf(incidents.NotFound, "no heartbeat %q: heartbeats are listed under heartbeats: in klaxon's config, each at /hooks/heartbeat/<name>", clipValue(name)))
		return
	}
	h.ServeHTTP(w, r)
}

// notFound answers /hooks/heartbeat/{name} when no heartbeat is configured.
func heartbeatsNotFound(w http.ResponseWriter, r *http.Request) {
	closeAfter(w)
	writeError(w, incidents.Errorf(incidents.NotFound, "no heartbeat %q: klaxon's config has no heartbeats", clipValue(r.PathValue("name"))))
}

// beat is the hook of heartbeat h, past its credentials: a GET or a POST
// whose body is not a resolved notification (beatBody) is a beat. A beat
// that comes while an incident is open for the heartbeat resolves it
// first; the beat is durable before the answer is 2xx.
func (hb *heartbeats) beat(h *HeartbeatConfig) hookHandler {
	return func(w http.ResponseWriter, r *http.Request, body []byte, deadline time.Time, accepted func()) {
		s := hb.s
		why := ""
		if r.Method == http.MethodHead {
			why = "HEAD is not a beat: use GET or POST"
		} else if ok, reason := beatBody(body); !ok {
			why = reason
		}
		if why != "" {
			hb.ignored.WithLabelValues(h.Name).Inc()
			s.log.Info("heartbeat call is not a beat", "heartbeat", h.Name, "why", why)
			accepted()
			writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "heartbeat": h.Name, "reason": why})
			return
		}
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		now := s.clock.Now()
		cur, err := hb.box.Heartbeat(ctx, h.Name)
		if err != nil && incidents.ErrorKind(err) != incidents.NotFound {
			s.log.Error("heartbeat not recorded", "heartbeat", h.Name, "err", err)
			writeError(w, err)
			return
		}
		// Resolve before recording: should that fail, the sender's retry
		// finds the heartbeat still overdue and resolves again.
		resolved, tried := "", false
		if cur != nil && cur.Overdue(now) {
			tried = true
			if resolved, err = hb.resolve(ctx, h, cur, now); err != nil {
				s.log.Error("heartbeat not recorded: its incident could not be resolved", "heartbeat", h.Name, "err", err)
				writeError(w, err)
				return
			}
		}
		prev, err := hb.box.Beat(ctx, h.Name, now, h.Window())
		if err != nil {
			s.log.Error("heartbeat not recorded", "heartbeat", h.Name, "err", err)
			writeError(w, err)
			return
		}
		accepted()
		hb.beats.WithLabelValues(h.Name).Inc()
		hb.last.WithLabelValues(h.Name).Set(float64(now.UnixMilli()) / 1000)
		if !tried && prev != nil && prev.Overdue(now) {
			// The deadline passed between the look and the beat: a
			// scheduler may have opened an incident meanwhile.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			resolved, err = hb.resolve(rctx, h, prev, now)
			rcancel()
			if err != nil {
				s.log.Error("heartbeat recorded, but the incident its missed deadline opened was not resolved", "heartbeat", h.Name, "err", err)
			}
		}
		s.log.Debug("heartbeat", "heartbeat", h.Name, "remote", r.RemoteAddr)
		out := map[string]any{"status": "beat", "heartbeat": h.Name, "deadline": now.Add(h.Window()).UTC().Format(time.RFC3339)}
		if resolved != "" {
			out["resolved"] = resolved
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// batch is the alert of heartbeat h in the given status: one incident
// per heartbeat (its group key and fingerprint).
func (hb *heartbeats) batch(h *HeartbeatConfig, status incidents.AlertStatus, title string, startsAt, endsAt time.Time) *incidents.Batch {
	key := HeartbeatAlertSource + "/" + h.Name
	sev := h.Severity
	if sev == 0 {
		sev = hb.s.cfg.Incidents.Severity.Default
	}
	team := h.Team
	if team == "" {
		team = hb.s.cfg.DefaultTeam
	}
	a := incidents.Alert{
		Source: HeartbeatAlertSource, Fingerprint: key, Status: status, Severity: sev,
		Labels: map[string]string{"alertname": "HeartbeatMissing", "heartbeat": h.Name},
		Annotations: map[string]string{
			"summary":     title,
			"description": fmt.Sprintf("klaxon expects a call to %s at least every %s (grace %s).", HookPath(h.Source()), shortDuration(h.Interval.D()), shortDuration(h.GraceOrDefault())),
			"what_to_do":  fmt.Sprintf("Check that %s still runs and can reach klaxon (its last run may have failed before calling). Its next call resolves this incident.", h.Name),
		},
		StartsAt: startsAt.UTC(), EndsAt: endsAt.UTC(),
	}
	if team != "" {
		a.Labels["team"] = team
	}
	return &incidents.Batch{Source: HeartbeatAlertSource, GroupKey: key, Title: title, Team: team,
		GroupLabels: map[string]string{"heartbeat": h.Name}, Alerts: []incidents.Alert{a}}
}

func (hb *heartbeats) ingestOpts(now time.Time) incidents.IngestOptions {
	opts := incidents.IngestOptions{Now: now, ReopenWindow: hb.s.cfg.Incidents.ReopenWindow.D()}
	if hb.s.escalator != nil {
		opts.Start = hb.s.escalator.start
	}
	return opts
}

// resolve resolves the incident a missed deadline of h opened (if any)
// because a beat came at now, and says so on its timeline. It returns the
// incident's ID when it resolved one.
func (hb *heartbeats) resolve(ctx context.Context, h *HeartbeatConfig, was *incidents.Heartbeat, now time.Time) (string, error) {
	s := hb.s
	// The alert as the miss fired it: it started at the missed deadline.
	started := was.MissedAt
	if started.IsZero() {
		started = was.DueAt
	}
	b := hb.batch(h, incidents.AlertResolved, "", started, now)
	res, err := s.store.Ingest(ctx, b, hb.ingestOpts(now))
	if err != nil {
		return "", err
	}
	s.record(HeartbeatAlertSource, b, res)
	if res.Incident == nil || !res.Changed {
		return "", nil
	}
	id := res.Incident.ID
	text := fmt.Sprintf("Heartbeat from %s received at %s, after %s of silence", h.Name, now.UTC().Format("2006-01-02 15:04 UTC"), silence(now.Sub(was.Since())))
	if inc := res.Incident; inc.State == incidents.Resolved && inc.ResolvedBy == HeartbeatAlertSource && inc.ResolvedAt.Equal(now.UTC()) {
		text += ": resolved"
	}
	if _, err := s.store.Update(ctx, id, func(inc *incidents.Incident) error {
		inc.AddEvent(now, incidents.EventNote, h.Source(), text)
		return nil
	}); err != nil {
		s.log.Warn("heartbeat resolved its incident, but the timeline line saying so was not stored", "heartbeat", h.Name, "incident", id, "err", err)
	}
	s.changed(id)
	s.log.Info("heartbeat is back: incident resolved", "heartbeat", h.Name, "incident", id)
	return id, nil
}

// Title is the title of the incident a missed deadline opens at now:
// "No heartbeat from backup-cron for 26 min; last seen 2026-12-06 09:12 UTC".
func heartbeatTitle(h *HeartbeatConfig, rec *incidents.Heartbeat, now time.Time) string {
	t := h.Title
	if t == "" {
		t = "No heartbeat from " + h.Name
	}
	t += " for " + silence(now.Sub(rec.Since()))
	if rec.LastBeat.IsZero() {
		return t + "; none since klaxon began watching at " + rec.KnownAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	return t + "; last seen " + rec.LastBeat.UTC().Format("2006-01-02 15:04 UTC")
}

// silence says how long in the largest two units: "45 s", "26 min",
// "3 h 5 min", "2 d 4 h".
func silence(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

// sync brings the store's heartbeats in line with the config at start: a
// heartbeat never seen gets its first deadline from now, and after an
// outage of klaxon the deadlines that passed unseen get a fresh window
// (incidents.Heartbeat.Resume). A running replica that could not watch
// for longer than heartbeatGap (its store unreachable, the process
// stalled) syncs again: when no other replica watched meanwhile, the
// beats of that time could not be stored either.
func (hb *heartbeats) sync(ctx context.Context) error {
	hb.syncMu.Lock()
	defer hb.syncMu.Unlock()
	now := hb.s.clock.Now()
	if hb.synced && now.Sub(hb.watched) <= heartbeatGap {
		return nil
	}
	again := hb.synced
	specs := make([]incidents.HeartbeatSpec, 0, len(hb.s.cfg.Heartbeats))
	for i := range hb.s.cfg.Heartbeats {
		h := &hb.s.cfg.Heartbeats[i]
		specs = append(specs, incidents.HeartbeatSpec{Name: h.Name, Window: h.Window()})
	}
	out, err := hb.box.SyncHeartbeats(ctx, specs, now, heartbeatGap)
	if err != nil {
		return err
	}
	log := hb.s.log
	if again {
		log.Warn("heartbeats were not watched for a while (store unreachable?): their deadlines are checked again",
			"since", hb.watched.UTC().Format(time.RFC3339), "others_watched", !out.Down)
	}
	hb.synced, hb.watched = true, now
	if len(out.Added) > 0 {
		log.Info("watching new heartbeats: the first deadline counts from now", "heartbeats", strings.Join(out.Added, ", "))
	}
	if len(out.Removed) > 0 {
		log.Info("forgot heartbeats no longer in the config", "heartbeats", strings.Join(out.Removed, ", "))
	}
	for _, rec := range out.Heartbeats {
		if !rec.LastBeat.IsZero() {
			hb.last.WithLabelValues(rec.Name).Set(float64(rec.LastBeat.UnixMilli()) / 1000)
		}
	}
	for _, name := range out.Deferred {
		hb.deferred.WithLabelValues(name).Inc()
		var due time.Time
		for _, rec := range out.Heartbeats {
			if rec.Name == name {
				due = rec.DueAt
			}
		}
		log.Warn("heartbeat deadline passed while no klaxon watched (down, or its store unreachable), when a beat could not be stored: a fresh window starts now instead of an incident",
			"heartbeat", name, "unwatched_since", out.Watched.UTC().Format(time.RFC3339), "next_deadline", due.Format(time.RFC3339))
	}
	return nil
}

// run syncs, then claims passed deadlines every heartbeatTick, until ctx
// ends.
func (hb *heartbeats) run(ctx context.Context) {
	t := time.NewTicker(heartbeatTick)
	defer t.Stop()
	for ctx.Err() == nil {
		if err := hb.tick(ctx); err != nil && ctx.Err() == nil {
			hb.s.log.Warn("heartbeat check failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// tick syncs if that has not succeeded yet (or this replica could not
// watch for a while), then opens an incident for each heartbeat whose
// deadline passed (as many as are due, in batches).
func (hb *heartbeats) tick(ctx context.Context) error {
	if err := hb.sync(ctx); err != nil {
		return err
	}
	for {
		now := hb.s.clock.Now()
		due, err := hb.box.ClaimHeartbeats(ctx, now, heartbeatBatch, heartbeatLease)
		if err != nil {
			return err
		}
		hb.syncMu.Lock()
		hb.watched = now
		hb.syncMu.Unlock()
		for i := range due {
			if err := hb.fire(ctx, &due[i], now); err != nil {
				hb.s.log.Warn("missed heartbeat not acted on; it is tried again when its claim ends", "heartbeat", due[i].Name, "err", err)
			}
		}
		if len(due) < heartbeatBatch || ctx.Err() != nil {
			return nil
		}
	}
}

// fire opens (or finds, after a scheduler died half-way) the incident of
// the claimed deadline of rec, then marks the deadline missed. When a beat
// came meanwhile, the mark is refused and the incident resolved again.
func (hb *heartbeats) fire(ctx context.Context, rec *incidents.Heartbeat, now time.Time) error {
	s := hb.s
	h := hb.byName[rec.Name]
	if h == nil {
		return nil // another replica's config (a rolling update): its claim lapses
	}
	if rec.DueAt.IsZero() || rec.DueAt.After(now) {
		return nil // not due (a store's claim should not return it)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), heartbeatLease/2)
	defer cancel()
	b := hb.batch(h, incidents.AlertFiring, heartbeatTitle(h, rec, now), rec.DueAt, time.Time{})
	opts := hb.ingestOpts(now)
	// As a webhook's alert: a maintenance window that covers the team (or
	// the heartbeat's labels) holds its escalation until it ends.
	opts.Start = s.startFunc(fctx, now)
	res, err := s.store.Ingest(fctx, b, opts)
	if err != nil {
		return err
	}
	missed, err := hb.box.MissHeartbeat(fctx, rec.Name, rec.DueAt)
	if err != nil {
		return err
	}
	s.record(HeartbeatAlertSource, b, res)
	if res.Changed {
		s.changed(res.Incident.ID)
	}
	if res.Created || res.Reopened {
		s.escalator.notify()
	}
	if !missed {
		// A beat came after the claim: it found no incident yet, or
		// resolved it before this one opened it.
		if _, err := hb.resolve(fctx, h, rec, now); err != nil {
			return err
		}
		return nil
	}
	hb.missed.WithLabelValues(h.Name).Inc()
	id := ""
	if res.Incident != nil {
		id = res.Incident.ID
	}
	s.log.Warn("heartbeat missed its deadline", "heartbeat", h.Name, "deadline", rec.DueAt.Format(time.RFC3339), "incident", id, "team", b.Team)
	return nil
}

// beatBody reads the body of a call to a heartbeat's hook loosely: any
// body is a beat (cron's curl sends none, or anything), except a JSON
// object that says its status is resolved — Alertmanager's or Grafana's
// notification that the always-firing alert (Watchdog) stopped firing,
// which is the opposite of a sign of life. It returns why a body is not a
// beat.
func beatBody(body []byte) (bool, string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return true, ""
	}
	var v struct {
		Status json.RawMessage `json:"status"`
		Alerts []struct {
			Status json.RawMessage `json:"status"`
		} `json:"alerts"`
	}
	if json.Unmarshal(body, &v) != nil {
		return true, "" // not JSON after all: read loosely
	}
	if resolved(v.Status) {
		return false, `the body says status "resolved": the watched alert stopped firing`
	}
	if len(v.Status) == 0 && len(v.Alerts) > 0 {
		for _, a := range v.Alerts {
			if !resolved(a.Status) {
				return true, ""
			}
		}
		return false, `every alert in the body says status "resolved": the watched alert stopped firing`
	}
	return true, ""
}

func resolved(raw json.RawMessage) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && strings.EqualFold(strings.TrimSpace(s), "resolved")
}
