package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Chat posts and edits cards on one chat platform (adapters/slack,
// adapters/mattermost, adapters/telegram). A failure should say, through
// the methods of platformError, whether it is worth retrying; any other
// error counts as a network failure and is retried.
type Chat interface {
	// Post creates the card as a top-level message in dest and returns a
	// reference to it.
	Post(ctx context.Context, dest string, card *templates.Card) (ref string, err error)
	// Update edits the card in place.
	Update(ctx context.Context, ref string, card *templates.Card) error
	// Reply posts events as one reply in the card's thread.
	Reply(ctx context.Context, ref string, events []incidents.Event) error
	// Find returns the card about incidentID posted in dest since since,
	// or "" (a platform that cannot look one up returns "" too).
	Find(ctx context.Context, dest, incidentID string, since time.Time) (ref string, err error)
}

// platformError is what the adapters' errors tell about a failure.
type platformError interface {
	error
	ErrorCode() string
	Retryable() bool
	RetryAfter() time.Duration
}

// codeMessageGone is the error code of an edit or reply whose card was
// deleted: the card is posted again.
const codeMessageGone = "message_not_found"

// Platform names: the keys of Deps.Chats and the first part of a
// destination ("slack:C0123").
const (
	Slack      = "slack"
	Mattermost = "mattermost"
	Telegram   = "telegram"
)

// dest is one chat a team's cards go to.
type dest struct {
	platform, id string
}

func (d dest) key() string { return d.platform + ":" + d.id }

// teamDests lists each team's destinations.
func teamDests(c *Config) map[string][]dest {
	out := map[string][]dest{}
	for _, t := range c.Teams {
		var ds []dest
		if t.Slack != nil {
			ds = append(ds, dest{Slack, t.Slack.Channel})
		}
		if t.Mattermost != nil {
			ds = append(ds, dest{Mattermost, t.Mattermost.Channel})
		}
		if t.Telegram != nil {
			ds = append(ds, dest{Telegram, t.Telegram.Chat})
		}
		out[t.Name] = ds
	}
	return out
}

// syncer is the outbox's worker pool: it claims incidents whose cards may
// be behind and brings each card up to date, within the platforms' rate
// limits. Each incident is held by one worker at a time (the claim), so
// its cards are never posted twice by two workers, and the latest state
// is what is sent however many changes came while it waited.
type syncer struct {
	store  incidents.Store
	box    incidents.Outbox
	chats  map[string]Chat
	dests  map[string][]dest
	tmpl   *templates.Set
	clock  incidents.Clock
	log    *slog.Logger
	m      *metrics
	cfg    OutboxConfig
	limits *limits

	poke chan struct{}
	// now is wall-clock time for claims and rate limits; the injected
	// clock is the incident's time (card text, timeline).
	now func() time.Time
}

func newSyncer(s *Server, d Deps) *syncer {
	return &syncer{
		store: d.Store, box: d.Store.(incidents.Outbox), chats: d.Chats, dests: teamDests(s.cfg),
		tmpl: d.Templates, clock: s.clock, log: s.log, m: s.metrics, cfg: s.cfg.Outbox,
		limits: newLimits(s.cfg), poke: make(chan struct{}, 1), now: time.Now,
	}
}

// notify wakes an idle worker loop at once (a change was just written here).
func (o *syncer) notify() {
	select {
	case o.poke <- struct{}{}:
	default:
	}
}

// pollEvery is how often an idle replica looks for work written by others.
const pollEvery = 100 * time.Millisecond

// run works the outbox until ctx ends, then waits for syncs in flight.
func (o *syncer) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	free := make(chan struct{}, o.cfg.Workers)
	for range o.cfg.Workers {
		free <- struct{}{}
	}
	lease := o.cfg.Lease.D()
	for ctx.Err() == nil {
		// Wait for at least one free worker, then take as many as are free.
		select {
		case <-ctx.Done():
			return
		case <-free:
		}
		n := 1
	more:
		for n < o.cfg.Workers {
			select {
			case <-free:
				n++
			default:
				break more
			}
		}
		claims, err := o.box.Claim(ctx, o.now(), n, lease)
		if err != nil && ctx.Err() == nil {
			o.log.Warn("outbox claim failed", "err", err)
		}
		for range n - len(claims) {
			free <- struct{}{}
		}
		for _, c := range claims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { free <- struct{}{} }()
				o.sync(ctx, c)
			}()
		}
		if len(claims) == 0 {
			t := time.NewTimer(pollEvery)
			select {
			case <-ctx.Done():
			case <-o.poke:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// sync brings every card of the claimed incident up to date and releases
// the claim: done, or due again when a card must wait or retry.
func (o *syncer) sync(ctx context.Context, c incidents.Claim) {
	claimed := o.now()
	// Stop calling platforms well before the claim's lease ends, so that
	// no other worker can take the incident over while a call is in flight.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), claimed.Add(o.cfg.Lease.D()*3/4))
	defer cancel()
	retryAt, err := o.syncIncident(ctx, c)
	if err != nil {
		o.log.Warn("outbox sync failed", "incident", c.ID, "err", err)
		retryAt = o.now().Add(time.Second + rand.N(time.Second))
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := o.box.Release(rctx, c, retryAt); err != nil {
		o.log.Warn("outbox release failed (the claim ends with its lease)", "incident", c.ID, "err", err)
	}
}

func (o *syncer) syncIncident(ctx context.Context, c incidents.Claim) (time.Time, error) {
	if len(o.chats) == 0 {
		return time.Time{}, nil // no platform: nothing to sync, keep the outbox empty
	}
	inc, err := o.store.Get(ctx, c.ID)
	if incidents.ErrorKind(err) == incidents.NotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ds := o.dests[inc.Team]
	if len(ds) == 0 {
		return time.Time{}, nil
	}
	dlv, err := o.box.Deliveries(ctx, c.ID)
	if err != nil {
		return time.Time{}, err
	}
	card, err := o.tmpl.Card(inc, o.clock.Now())
	if err != nil {
		return time.Time{}, err
	}
	// Destinations are independent: one waiting for its rate limit does
	// not hold the others back.
	var mu sync.Mutex
	var retryAt time.Time
	var failures []string
	var wg sync.WaitGroup
	for _, d := range ds {
		chat := o.chats[d.platform]
		if chat == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := &cardSync{o: o, chat: chat, d: d, inc: inc, card: card, dl: dlv[d.key()]}
			at, failed := cs.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			if !at.IsZero() && (retryAt.IsZero() || at.Before(retryAt)) {
				retryAt = at
			}
			if failed != "" {
				failures = append(failures, failed)
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		// The event is a change like any other: its version is synced
		// too, but a card that failed for good is not retried for it (see
		// cardSync.failedFor).
		_, err := o.store.Update(ctx, inc.ID, func(inc *incidents.Incident) error {
			inc.AddEvent(o.clock.Now(), incidents.EventDeliveryFailed, "klaxon", f)
			return nil
		})
		if err != nil {
			o.log.Warn("recording a delivery failure failed", "incident", inc.ID, "err", err)
		}
	}
	return retryAt, nil
}

// cardSync brings one card up to date.
type cardSync struct {
	o    *syncer
	chat Chat
	d    dest
	inc  *incidents.Incident
	card *templates.Card
	dl   incidents.Delivery
}

// maxInlineWait is the longest a worker waits for a rate limit itself;
// longer waits release the claim until then.
const maxInlineWait = 2 * time.Second

// run returns when the card must be tried again (zero: up to date, or
// given up on) and, when it failed for good just now, a line for the
// timeline.
func (cs *cardSync) run(ctx context.Context) (time.Time, string) {
	o, inc := cs.o, cs.inc
	now := o.now()
	if cs.dl.NotBefore.After(now) {
		return cs.dl.NotBefore, ""
	}
	// A card that failed for good is tried again only when the incident
	// changed after the failure was recorded.
	if cs.dl.Error != "" && cs.dl.FailedVersion > 0 && inc.Version <= cs.dl.FailedVersion+1 {
		return time.Time{}, ""
	}
	for attempt := 0; attempt < 2; attempt++ {
		var op string
		var err error
		switch {
		case cs.dl.Ref == "":
			op, err = "post", cs.post(ctx)
		case cs.dl.Version < inc.Version:
			op, err = "update", cs.update(ctx)
		case cs.dl.Events < len(inc.Timeline):
			op, err = "reply", cs.reply(ctx)
		default:
			return time.Time{}, ""
		}
		if err == nil {
			continue // the next step, or done
		}
		var wait *waitError
		if errors.As(err, &wait) {
			return wait.until, ""
		}
		code, retryable, after := classify(err)
		if code == codeMessageGone && op != "post" && attempt == 0 {
			// Someone deleted the card: post it again.
			o.log.Info("card was deleted; posting it again", "incident", inc.ID, "dest", cs.d.key())
			cs.dl.Ref, cs.dl.Version = "", 0
			continue
		}
		return cs.failed(ctx, op, code, retryable, after, err)
	}
	return time.Time{}, ""
}

// waitError says a rate limit holds the card until a time.
type waitError struct{ until time.Time }

func (w *waitError) Error() string { return "rate limited until " + w.until.Format(time.RFC3339Nano) }

// acquire takes the rate limits of kind, waiting when the wait is short.
func (cs *cardSync) acquire(ctx context.Context, kind callKind) error {
	until, ok := cs.o.limits.take(cs.d, kind, cs.o.now(), maxInlineWait)
	if !ok {
		cs.o.m.deliveries.WithLabelValues(cs.d.platform, string(kind), "waited", "").Inc()
		return &waitError{until}
	}
	if d := until.Sub(cs.o.now()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (cs *cardSync) save(ctx context.Context) error {
	return cs.o.box.SaveDelivery(context.WithoutCancel(ctx), cs.inc.ID, cs.d.key(), cs.dl)
}

func (cs *cardSync) post(ctx context.Context) error {
	o, inc := cs.o, cs.inc
	if !cs.dl.Posting.IsZero() {
		// A post was under way when its worker stopped: it may have
		// reached the platform. Look before posting again.
		ref, err := cs.chat.Find(ctx, cs.d.id, inc.ID, cs.dl.Posting.Add(-time.Minute))
		if _, retryable, _ := classify(err); err != nil && retryable {
			return err
		} else if err != nil {
			// Looking is not allowed (say, Slack without the history
			// scopes): a second card beats none.
			o.log.Warn("cannot look for the card an interrupted post may have made; posting", "incident", inc.ID, "dest", cs.d.key(), "err", err)
		}
		if ref != "" {
			o.log.Info("found the card an interrupted post made", "incident", inc.ID, "dest", cs.d.key())
			cs.dl.Ref, cs.dl.Posting, cs.dl.Version = ref, time.Time{}, 0
			return cs.save(ctx)
		}
	}
	if err := cs.acquire(ctx, callPost); err != nil {
		return err
	}
	// Record the intent first: a crash between the post and recording its
	// ref leaves this mark, and the next worker looks for the card.
	cs.dl.Posting = o.now()
	if err := cs.save(ctx); err != nil {
		return err
	}
	ref, err := cs.chat.Post(ctx, cs.d.id, cs.card)
	if err != nil {
		if definite(err) {
			cs.dl.Posting = time.Time{} // the platform answered: nothing was posted
		}
		return err
	}
	cs.dl.Ref, cs.dl.Posting = ref, time.Time{}
	cs.dl.Version = inc.Version
	cs.dl.Events = len(inc.Timeline) // the new card shows them all
	cs.delivered(callPost)
	return cs.save(ctx)
}

func (cs *cardSync) update(ctx context.Context) error {
	if err := cs.acquire(ctx, callUpdate); err != nil {
		return err
	}
	if err := cs.chat.Update(ctx, cs.dl.Ref, cs.card); err != nil {
		return err
	}
	cs.dl.Version = cs.inc.Version
	cs.delivered(callUpdate)
	return cs.save(ctx)
}

// maxReplyEvents bounds one thread reply; the adapters fit it to their
// platform's limit ("+N more events").
const maxReplyEvents = 50

func (cs *cardSync) reply(ctx context.Context) error {
	var events []incidents.Event
	for _, e := range cs.inc.Timeline[cs.dl.Events:] {
		if e.Kind.Conversational() && len(events) < maxReplyEvents {
			events = append(events, e)
		}
	}
	if len(events) > 0 {
		if err := cs.acquire(ctx, callReply); err != nil {
			return err
		}
		if err := cs.chat.Reply(ctx, cs.dl.Ref, events); err != nil {
			return err
		}
		cs.delivered(callReply)
	}
	cs.dl.Events = len(cs.inc.Timeline)
	return cs.save(ctx)
}

// delivered counts a success and clears the failure streak.
func (cs *cardSync) delivered(kind callKind) {
	cs.dl.Attempts, cs.dl.Error, cs.dl.FailedVersion, cs.dl.NotBefore = 0, "", 0, time.Time{}
	cs.o.m.deliveries.WithLabelValues(cs.d.platform, string(kind), "ok", "").Inc()
	if kind != callReply {
		cs.o.m.deliveryLatency.WithLabelValues(cs.d.platform).Observe(cs.o.clock.Now().Sub(cs.inc.UpdatedAt).Seconds())
	}
}

// failed records a failed call and returns when to try again.
func (cs *cardSync) failed(ctx context.Context, op, code string, retryable bool, after time.Duration, err error) (time.Time, string) {
	o := cs.o
	now := o.now()
	log := o.log.With("incident", cs.inc.ID, "dest", cs.d.key(), "op", op, "code", code)
	var at time.Time
	var line string
	switch {
	case after > 0:
		o.limits.pause(cs.d, callKind(op), now.Add(after))
		o.m.deliveries.WithLabelValues(cs.d.platform, op, "rate_limited", code).Inc()
		log.Info("rate limited by the platform", "retry_after", after)
		at = now.Add(after)
		cs.dl.Error, cs.dl.FailedVersion = code, 0
	case retryable:
		cs.dl.Attempts++
		at = now.Add(backoff(cs.dl.Attempts, o.cfg.MaxBackoff.D()))
		o.m.deliveries.WithLabelValues(cs.d.platform, op, "retried", code).Inc()
		log.Warn("delivery failed; will retry", "attempt", cs.dl.Attempts, "retry_at", at, "err", err)
		cs.dl.Error, cs.dl.FailedVersion = code, 0
	default:
		o.m.deliveries.WithLabelValues(cs.d.platform, op, "failed", code).Inc()
		log.Error("delivery failed for good", "err", err)
		if cs.dl.Error != code {
			line = fmt.Sprintf("%s card in %s could not be %s: %s", platformTitle(cs.d.platform), cs.d.id, pastTense(op), code)
		}
		cs.dl.Error, cs.dl.Attempts = code, 0
		// The failure's timeline event is the next version; the card is
		// tried again only after a later change.
		cs.dl.FailedVersion = cs.inc.Version
		if line == "" {
			cs.dl.FailedVersion = cs.inc.Version - 1
		}
		if op == "reply" {
			// Replies are not retried for good failures: move past them.
			cs.dl.Events = len(cs.inc.Timeline)
		}
	}
	cs.dl.NotBefore = at
	if err := cs.save(ctx); err != nil {
		log.Warn("recording a delivery failed", "err", err)
	}
	return at, line
}

func platformTitle(p string) string {
	switch p {
	case Slack:
		return "Slack"
	case Mattermost:
		return "Mattermost"
	case Telegram:
		return "Telegram"
	}
	return p
}

func pastTense(op string) string {
	switch op {
	case "post":
		return "posted"
	case "update":
		return "updated"
	}
	return "replied to"
}

// classify reads a failure: its code, whether to retry, and the wait the
// platform asked for.
func classify(err error) (code string, retryable bool, after time.Duration) {
	var pe platformError
	if errors.As(err, &pe) {
		return pe.ErrorCode(), pe.Retryable(), pe.RetryAfter()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", true, 0
	case errors.Is(err, context.Canceled):
		return "canceled", true, 0
	}
	if incidents.ErrorKind(err) == incidents.Unavailable {
		return "store_unavailable", true, 0
	}
	return "network", true, 0
}

// definite reports whether the platform's answer says that a post that
// failed posted nothing: a refusal or a 429. A network failure, a timeout
// or a 5xx (perhaps from a proxy, after the post was stored) is not.
func definite(err error) bool {
	_, retryable, after := classify(err)
	return after > 0 || !retryable
}

// backoff is the wait before retry number attempt: 1s doubling up to max,
// with jitter so that many cards do not retry in step.
func backoff(attempt int, max time.Duration) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}
