package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
)

// Shift handovers: when who is on call for a team changes (a rotation
// hands over, an override starts or ends), klaxon posts in the team's
// channels "bob is now on call for payments (until Mon 2 Mar 09:00 CET),
// taking over from alice; 2 incidents open: …" and sends the incoming
// person the same text as a direct message.
//
// Every replica looks every handoverTick; each message is claimed in the
// store (incidents.Once) under the handover's key — team, schedule, the
// instant the person came on call, the person — and the target (a channel
// or a person's account), then spent once sent: however many replicas
// look, and across restarts, each target gets each handover once. A
// handover is announced while it is at most HandoverCatchUp old: a replica
// that starts (or a store that comes back) within that time still
// announces one that happened while nobody looked; an older one is not
// news any more and is left out. A claim whose sender dies is free again
// after handoverHold.
//
// Messages go through the outbox's rate limits (the same limiters as the
// cards: a channel post is a chat.postMessage in that channel, a direct
// message one in the person's DM), and a 429's Retry-After holds the
// limiter for cards and announcements alike. A retryable failure frees
// the claim, so the next look tries again (until the handover is older
// than HandoverCatchUp); a refusal spends it and is logged and counted.

const (
	// HandoverCatchUp is how old a handover may be and still be
	// announced (after a restart, or a store outage).
	HandoverCatchUp = 30 * time.Minute
	// handoverTick is how often each replica looks for handovers.
	handoverTick = 2 * time.Second
	// handoverHold is how long a claimed message stays claimed by a
	// replica that does not say it was sent or failed.
	handoverHold = 2 * time.Minute
	// handoverSpent is how long a sent message's key is kept: longer than
	// HandoverCatchUp, after which it is never looked at again.
	handoverSpent = 24 * time.Hour
	// handoverMaxWait is the longest an announcement waits for a rate
	// limiter; beyond it, the next look tries again.
	handoverMaxWait = 10 * time.Second
	// handoverListed is how many open incidents the message names.
	handoverListed = 5
)

// callDirect is a direct message: a post in the person's DM channel
// (on Mattermost two calls: the DM channel, then the post).
const callDirect callKind = "direct"

// handovers announces shift changes.
type handovers struct {
	s     *Server
	once  incidents.Once
	teams []TeamConfig
	now   func() time.Time // wall clock, for the rate limits
	sleep func(ctx context.Context, d time.Duration)
	// settled are the keys this replica saw spent (sent, or given up),
	// with the handover's time: not asked of the store again while the
	// handover is in the catch-up window.
	mu      sync.Mutex
	settled map[string]time.Time
}

func (h *handovers) isSettled(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.settled[key]
	return ok
}

func (h *handovers) settle(key string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.settled[key] = at
}

// HandoverOn reports whether team t's handovers are announced:
// teams[].handover, by default on when the team has a schedule and a chat
// destination.
func (t TeamConfig) HandoverOn() bool {
	if t.Handover != nil {
		return *t.Handover && t.Schedule != ""
	}
	return t.Schedule != "" && (t.Slack != nil || t.Mattermost != nil || t.Telegram != nil)
}

func newHandovers(s *Server) *handovers {
	// s.once is the store's own once-only keys when it keeps them (Redis,
	// shared by every replica; the embedded store, in its file): an
	// announcement is not sent again after a restart.
	h := &handovers{s: s, once: s.once, now: time.Now, sleep: sleepCtx, settled: map[string]time.Time{}}
	for _, t := range s.cfg.Teams {
		if t.HandoverOn() {
			h.teams = append(h.teams, t)
		}
	}
	if len(h.teams) == 0 {
		return nil
	}
	return h
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// run looks for handovers every handoverTick until ctx ends.
func (h *handovers) run(ctx context.Context) {
	t := time.NewTicker(handoverTick)
	defer t.Stop()
	for ctx.Err() == nil {
		if err := h.tick(ctx); err != nil && ctx.Err() == nil {
			h.s.log.Warn("shift handover check failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// handover is a change of who is on call.
type handover struct {
	team, schedule string
	person, from   string // incoming, outgoing ("" when nobody was)
	at             time.Time
	sc             *oncall.Schedule
}

// until is when the handover's state ends: the person goes off call, or
// (for a handover to nobody) someone comes on; zero if never.
func (ho handover) until(now time.Time) time.Time {
	if ho.person == "" {
		_, from, _ := ho.sc.Next(now)
		return from
	}
	return onCallUntil(ho.sc, ho.person, now)
}

func (ho handover) key() string {
	return "handover|" + ho.team + "|" + ho.schedule + "|" + strconv.FormatInt(ho.at.Unix(), 10) + "|" + ho.person
}

// tick announces each team's current handover, if it is recent, to every
// target that has not had it yet.
func (h *handovers) tick(ctx context.Context) error {
	now := h.s.clock.Now()
	h.mu.Lock()
	for k, at := range h.settled {
		if at.Before(now.Add(-HandoverCatchUp)) {
			delete(h.settled, k)
		}
	}
	h.mu.Unlock()
	var firstErr error
	for _, t := range h.teams {
		// The overrides that ended within the catch-up window too: the
		// end of one is a handover.
		sc, err := h.s.schedule(ctx, t.Schedule, now.Add(-HandoverCatchUp))
		if err != nil || sc == nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ho, ok := currentHandover(sc, now, HandoverCatchUp)
		if !ok {
			continue
		}
		ho.team, ho.schedule = t.Name, t.Schedule
		h.announce(ctx, t, ho, now)
	}
	return firstErr
}

// currentHandover finds the handover that put the person on call at now
// there: the start of the stretch in which they are on call without a
// break (however many segments it spans), if that was within window of
// now.
func currentHandover(sc *oncall.Schedule, now time.Time, window time.Duration) (handover, bool) {
	since := now.Add(-window)
	segs := sc.Shifts(since, now.Add(time.Nanosecond))
	if len(segs) == 0 {
		return handover{}, false
	}
	i := len(segs) - 1
	cur := segs[i]
	if !cur.Until.After(now) {
		// Nobody is on call now (a layer's window closed, the last
		// override ended): a handover to nobody, from when it began.
		return handover{from: cur.Person, at: cur.Until, sc: sc}, true
	}
	for i > 0 && segs[i-1].Person == cur.Person && segs[i-1].Until.Equal(segs[i].From) {
		i--
	}
	start := segs[i].From
	if !start.After(since) {
		return handover{}, false // on call since before the window (or clipped)
	}
	ho := handover{person: cur.Person, at: start}
	if i > 0 && segs[i-1].Until.Equal(start) {
		ho.from = segs[i-1].Person
	}
	ho.sc = sc
	return ho, true
}

// onCallUntil is when person, on call at now, stops being: the end of
// the run of segments that all name them (a window closing, or someone
// else coming on); zero if never (as far as the schedule says).
func onCallUntil(sc *oncall.Schedule, person string, now time.Time) time.Time {
	_, until, _ := sc.OnCall(now)
	for range 64 { // a one-person rotation: its 64th handover is far enough
		if until.IsZero() {
			return until
		}
		p, next, ok := sc.OnCall(until)
		if !ok || p != person {
			return until
		}
		until = next
	}
	return until
}

// target is one place a handover is told: a team channel or the incoming
// person's DM on a platform.
type target struct {
	d      dest
	direct bool
}

func (h *handovers) targets(t TeamConfig, person string) []target {
	var out []target
	for _, d := range teamDests(&Config{Teams: []TeamConfig{t}})[t.Name] {
		out = append(out, target{d: d})
	}
	for _, p := range h.s.cfg.People {
		if !strings.EqualFold(p.Name, person) {
			continue
		}
		for _, acc := range []dest{{Slack, p.Slack}, {Mattermost, p.Mattermost}, {Telegram, p.Telegram}} {
			if acc.id != "" {
				out = append(out, target{d: acc, direct: true})
			}
		}
	}
	return out
}

func (h *handovers) announce(ctx context.Context, t TeamConfig, ho handover, now time.Time) {
	var text string
	for _, tg := range h.targets(t, ho.person) {
		chat := h.s.outboxChat(tg.d.platform)
		if chat == nil {
			continue
		}
		key := ho.key() + "|" + tg.d.key()
		if tg.direct {
			key = ho.key() + "|dm:" + tg.d.key()
		}
		if h.isSettled(key) {
			continue
		}
		st, err := h.once.ClaimOnce(ctx, key, handoverHold)
		if err == nil && st == incidents.OnceSpent {
			h.settle(key, ho.at)
		}
		if err != nil || st != incidents.OnceNew {
			continue
		}
		if text == "" {
			text = h.text(ctx, ho, now)
		}
		h.deliver(ctx, chat, tg, key, ho, text)
	}
}

// deliver sends one claimed message within the rate limits and spends
// or frees its claim.
func (h *handovers) deliver(ctx context.Context, chat Chat, tg target, key string, ho handover, text string) {
	kind := callPost
	if tg.direct {
		kind = callDirect
	}
	var send func() error
	if m, ok := chat.(Mentioner); ok && tg.direct {
		send = func() error { return m.Direct(ctx, tg.d.id, text) }
	} else if a, ok := chat.(Announcer); ok && !tg.direct {
		send = func() error { _, err := a.Announce(ctx, tg.d.id, text); return err }
	}
	if send == nil { // the platform cannot: nothing to try again
		_ = h.once.SpendOnce(ctx, key, handoverSpent)
		h.settle(key, ho.at)
		return
	}
	var lim *limits
	if h.s.outbox != nil {
		lim = h.s.outbox.limits
	}
	if lim != nil {
		now := h.now()
		until, ok := lim.take(tg.d, kind, now, handoverMaxWait)
		if !ok {
			h.release(key)
			return
		}
		h.sleep(ctx, until.Sub(now))
	}
	err := send()
	what := "channel"
	if tg.direct {
		what = "direct"
	}
	if err == nil {
		h.settle(key, ho.at)
		if err := h.once.SpendOnce(ctx, key, handoverSpent); err != nil {
			h.s.log.Warn("shift handover sent but not marked sent: another replica may send it again", "team", ho.team, "target", tg.d.key(), "err", err)
		}
		h.s.metrics.handovers.WithLabelValues(tg.d.platform, what, "sent").Inc()
		h.s.log.Info("shift handover announced", "team", ho.team, "person", ho.person, "from", ho.from, "target", what+" "+tg.d.platform)
		return
	}
	code, retryable, after := classify(err)
	if after > 0 && lim != nil {
		lim.pause(tg.d, kind, h.now().Add(after))
	}
	if retryable && definite(err) {
		// The platform answered (a 429): nothing was posted; try again.
		h.release(key)
		h.s.metrics.handovers.WithLabelValues(tg.d.platform, what, "retry").Inc()
		h.s.log.Warn("shift handover not sent; tried again shortly", "team", ho.team, "target", what+" "+tg.d.platform, "code", code, "err", err)
		return
	}
	// Refused, or unsure (a timeout or a 5xx may follow a post that
	// landed): not tried again, so that nobody reads it twice.
	_ = h.once.SpendOnce(ctx, key, handoverSpent)
	h.settle(key, ho.at)
	h.s.metrics.handovers.WithLabelValues(tg.d.platform, what, "failed").Inc()
	h.s.log.Warn("shift handover refused by the platform, or its answer lost; not tried again", "team", ho.team, "target", what+" "+tg.d.platform, "code", code, "err", err)
}

func (h *handovers) release(key string) {
	// A fresh context: the claim must be freed even while stopping.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.once.ReleaseOnce(ctx, key)
}

// text is the announcement: who, for which team, until when (in the
// schedule's time zone), after whom, and the team's open incidents.
func (h *handovers) text(ctx context.Context, ho handover, now time.Time) string {
	var b strings.Builder
	until := ho.until(now)
	if ho.person == "" {
		fmt.Fprintf(&b, "Nobody is on call for %s now", ho.team)
		if !until.IsZero() {
			fmt.Fprintf(&b, " (until %s)", h.s.scheduleTime(ho.schedule, until, now))
		}
		fmt.Fprintf(&b, "; %s's shift has ended", ho.from)
	} else {
		fmt.Fprintf(&b, "%s is now on call for %s", ho.person, ho.team)
		if !until.IsZero() {
			fmt.Fprintf(&b, " (until %s)", h.s.scheduleTime(ho.schedule, until, now))
		}
		if ho.from != "" {
			fmt.Fprintf(&b, ", taking over from %s", ho.from)
		}
	}
	list, err := h.s.store.List(ctx, incidents.ListOptions{Team: ho.team, States: incidents.OpenStates})
	switch {
	case err != nil:
		b.WriteString(".")
	case len(list) == 0:
		b.WriteString("; no incidents open.")
	default:
		n := strconv.Itoa(len(list))
		if len(list) >= incidents.DefaultListLimit {
			n += " or more"
		}
		noun := "incidents"
		if len(list) == 1 {
			noun = "incident"
		}
		fmt.Fprintf(&b, "; %s %s open:", n, noun)
		for i, inc := range list {
			if i == handoverListed {
				fmt.Fprintf(&b, " +%d more", len(list)-i)
				break
			}
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %s %s (%s)", sep, inc.ID, clip(inc.Title, 80), inc.State)
		}
	}
	return b.String()
}

// scheduleTime formats t in the schedule's time zone: "Mon 09:00 CET"
// within the week, with the date further ahead.
func (s *Server) scheduleTime(schedule string, t, now time.Time) string {
	loc := time.UTC
	if sc := s.schedules[schedule]; sc != nil && len(sc.Layers) > 0 && sc.Layers[0].Location != nil {
		loc = sc.Layers[0].Location
	}
	lt := t.In(loc)
	if lt.Sub(now) < 6*24*time.Hour {
		return lt.Format("Mon 15:04 MST")
	}
	return lt.Format("Mon 2 Jan 15:04 MST")
}
