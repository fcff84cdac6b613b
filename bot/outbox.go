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
	graphs *grapher // nil without graphs

	poke chan struct{}
	// now is wall-clock time for claims and rate limits; the injected
	// clock is the incident's time (card text, timeline).
	now func() time.Time

	// failing counts syncs in a row that failed before any platform was
	// called (a store error, a template error), per incident, for backoff.
	mu      sync.Mutex
	failing map[string]int
}

func newSyncer(s *Server, d Deps) *syncer {
	return &syncer{
		store: d.Store, box: d.Store.(incidents.Outbox), chats: d.Chats, dests: teamDests(s.cfg),
		tmpl: d.Templates, clock: s.clock, log: s.log, m: s.metrics, cfg: s.cfg.Outbox,
		limits: newLimits(s.cfg), graphs: s.grapher, poke: make(chan struct{}, 1), now: time.Now,
		failing: map[string]int{},
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
	idle, failures := pollEvery, 0
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
		switch {
		case err != nil && ctx.Err() == nil:
			// The store is down: look again less and less often (up to
			// 5s), and say so once a second at most.
			failures++
			idle = min(5*time.Second, pollEvery<<min(failures, 6))
			if failures == 1 || idle >= time.Second {
				o.log.Warn("outbox claim failed", "err", err, "attempt", failures)
			}
		case err == nil:
			idle, failures = pollEvery, 0
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
			t := time.NewTimer(idle)
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
// the claim: done, or due again when a card must wait or retry. stopping
// ends when the replica shuts down: a call in flight finishes (one cut
// short could post a card twice) but no other starts.
func (o *syncer) sync(stopping context.Context, c incidents.Claim) {
	claimed := o.now()
	// Stop calling platforms well before the claim's lease ends, so that
	// no other worker can take the incident over while a call is in flight.
	ctx, cancel := context.WithDeadline(context.WithoutCancel(stopping), claimed.Add(o.cfg.Lease.D()*3/4))
	defer cancel()
	retryAt, err := o.syncIncident(ctx, stopping, c)
	o.mu.Lock()
	if err != nil {
		o.failing[c.ID]++
		n := o.failing[c.ID]
		retryAt = o.now().Add(backoff(n, o.cfg.MaxBackoff.D()))
		o.mu.Unlock()
		o.log.Warn("outbox sync failed", "incident", c.ID, "attempt", n, "retry_at", retryAt, "err", err)
	} else {
		delete(o.failing, c.ID)
		o.mu.Unlock()
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := o.box.Release(rctx, c, retryAt); err != nil {
		o.log.Warn("outbox release failed (the claim ends with its lease)", "incident", c.ID, "err", err)
	}
}

func (o *syncer) syncIncident(ctx, stopping context.Context, c incidents.Claim) (time.Time, error) {
	if len(o.chats) == 0 && o.graphs == nil {
		return time.Time{}, nil // no platform: nothing to sync, keep the outbox empty
	}
	inc, err := o.store.Get(ctx, c.ID)
	if incidents.ErrorKind(err) == incidents.NotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	// The graph job, if one is due, starts first and runs beside the
	// cards: it never holds them back.
	var graphAt time.Time
	var gst incidents.GraphState
	if o.graphs != nil {
		// A graph's trouble never holds the cards back: look again soon.
		st, again, err := o.graphs.check(ctx, inc)
		if err != nil {
			o.log.Warn("reading the incident's graph failed; its cards go on", "incident", inc.ID, "err", err)
			again = graphRecheck
		}
		if again > 0 {
			graphAt = o.now().Add(again)
		}
		gst = st
	}
	ds := o.dests[inc.Team]
	if len(ds) == 0 || len(o.chats) == 0 {
		return graphAt, nil
	}
	dlv, err := o.box.Deliveries(ctx, c.ID)
	if err != nil {
		return time.Time{}, err
	}
	card, err := o.tmpl.Card(inc, o.clock.Now())
	if err != nil {
		return time.Time{}, err
	}
	graph, err := o.graphToPost(ctx, inc, gst, ds, dlv)
	if err != nil {
		o.log.Warn("loading the incident's graph failed; its cards go on", "incident", inc.ID, "err", err)
		graphAt = o.now().Add(graphRecheck)
	}
	// Destinations are independent: one waiting for its rate limit does
	// not hold the others back.
	var mu sync.Mutex
	retryAt := graphAt
	var wg sync.WaitGroup
	for _, d := range ds {
		chat := o.chats[d.platform]
		if chat == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := &cardSync{o: o, chat: chat, d: d, inc: inc, card: card, dl: dlv[d.key()], stopping: stopping, graph: graph}
			if graph != nil {
				cs.images, _ = chat.(ImageChat)
			}
			at := cs.run(ctx)
			mu.Lock()
			defer mu.Unlock()
			if !at.IsZero() && (retryAt.IsZero() || at.Before(retryAt)) {
				retryAt = at
			}
		}()
	}
	wg.Wait()
	return retryAt, nil
}

// cardSync brings one card up to date.
type cardSync struct {
	o        *syncer
	chat     Chat
	d        dest
	inc      *incidents.Incident
	card     *templates.Card
	dl       incidents.Delivery
	stopping context.Context
	// graph is the incident's newest graph when a card may lack it;
	// images posts it (nil when the platform cannot).
	graph  *incidents.Graph
	images ImageChat
}

// maxInlineWait is the longest a worker waits for a rate limit itself;
// longer waits release the claim until then.
const maxInlineWait = 2 * time.Second

// run returns when the card must be tried again (zero: up to date, or
// given up on until the incident changes).
func (cs *cardSync) run(ctx context.Context) time.Time {
	o, inc := cs.o, cs.inc
	now := o.now()
	if cs.dl.NotBefore.After(now) {
		return cs.dl.NotBefore
	}
	if cs.givenUp() {
		return time.Time{}
	}
	reposted := false
	// Each step brings the card closer: post (or find), edit, reply.
	for step := 0; step < 6; step++ {
		if cs.stopping.Err() != nil {
			return now // shutting down: another worker (or the next start) goes on
		}
		var op string
		var err error
		switch {
		case cs.dl.Ref == "":
			op, err = "post", cs.post(ctx)
		case cs.dl.Version < inc.Version:
			op, err = "update", cs.update(ctx)
		case cs.pendingEvents() > 0:
			op, err = "reply", cs.reply(ctx)
		case cs.images != nil && cs.dl.Graph < cs.graph.Version:
			op, err = "image", cs.image(ctx)
		default:
			return time.Time{}
		}
		if err == nil {
			continue
		}
		var wait *waitError
		if errors.As(err, &wait) {
			return wait.until
		}
		code, retryable, after := classify(err)
		if code == codeMessageGone && op != "post" && !reposted {
			// Someone deleted the card: post it again.
			o.log.Info("card was deleted; posting it again", "incident", inc.ID, "dest", cs.d.key())
			cs.dl.Ref, cs.dl.Version, reposted = "", 0, true
			continue
		}
		return cs.failed(ctx, op, code, retryable, after, err)
	}
	return o.now() // more to do than one claim does: soon again
}

// givenUp reports whether the card failed for good and nothing happened
// since but more delivery failures: it waits for the incident to change.
func (cs *cardSync) givenUp() bool {
	if cs.dl.FailedEvents == 0 {
		return false
	}
	tl := cs.inc.Timeline
	for _, e := range tl[min(cs.dl.FailedEvents, len(tl)):] {
		if e.Kind != incidents.EventDeliveryFailed {
			return false
		}
	}
	return true
}

// pendingEvents counts the timeline events not yet accounted for in the
// card's thread.
func (cs *cardSync) pendingEvents() int {
	return max(0, len(cs.inc.Timeline)-cs.dl.Events)
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
			// The card shows what was there when it was posted; what came
			// after is edited in and threaded under it.
			events := 0
			for _, e := range inc.Timeline {
				if !e.At.After(cs.dl.Posting) {
					events++
				}
			}
			if cs.dl.Events > 0 && cs.dl.Events < events {
				events = cs.dl.Events // from the first try on, as any late card (see post)
			}
			cs.dl.Ref, cs.dl.Posting, cs.dl.Version, cs.dl.Events = ref, time.Time{}, 0, events
			return cs.save(ctx)
		}
	}
	if err := cs.acquire(ctx, callPost); err != nil {
		return err
	}
	// Record the intent first: a crash between the post and recording its
	// ref leaves this mark, and the next worker looks for the card.
	cs.dl.Posting = o.now()
	if cs.dl.Events == 0 {
		// The first try: the card shows the incident as it is, and its
		// thread starts here. What happens from now on is threaded under
		// the card however late it gets posted (the bot was added to the
		// channel after the incident changed; the platform was down): the
		// reply step sends it all in one reply, fitted to the platform. A
		// card posted at once adds no reply; the lines before the first
		// try (an escalation's first step racing the post) are not
		// threaded, as they never were.
		cs.dl.Events = len(inc.Timeline)
	}
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

// reply threads the events not yet accounted for under the card, in one
// reply: the adapters fit it to their platform's limit ("+N more events").
func (cs *cardSync) reply(ctx context.Context) error {
	var events []incidents.Event
	for _, e := range cs.inc.Timeline[min(cs.dl.Events, len(cs.inc.Timeline)):] {
		if e.Kind.Conversational() && e.Tag != incidents.TagFlap {
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

// image posts the incident's newest graph in the card's thread.
func (cs *cardSync) image(ctx context.Context) error {
	if err := cs.acquire(ctx, callImage); err != nil {
		return err
	}
	g := cs.graph
	name := fmt.Sprintf("%s-graph-%d.png", cs.inc.ID, g.Version)
	caption := graphCaption(cs.inc, g.GraphState, cs.o.graphs.captionWindow(cs.inc))
	if err := cs.images.PostImage(ctx, cs.dl.Ref, name, g.PNG, caption); err != nil {
		return err
	}
	cs.dl.Graph = g.Version
	cs.delivered(callImage)
	return cs.save(ctx)
}

// graphToPost loads the incident's newest graph when a card of a platform
// that posts images has not shown it yet.
func (o *syncer) graphToPost(ctx context.Context, inc *incidents.Incident, st incidents.GraphState, ds []dest, dlv map[string]incidents.Delivery) (*incidents.Graph, error) {
	if st.Version == 0 {
		return nil, nil
	}
	for _, d := range ds {
		if _, ok := o.chats[d.platform].(ImageChat); ok && dlv[d.key()].Graph < st.Version {
			g, err := o.graphs.graphs.Graph(ctx, inc.ID)
			if incidents.ErrorKind(err) == incidents.NotFound {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return &g, nil
		}
	}
	return nil, nil
}

// delivered counts a success and clears the failure streak.
func (cs *cardSync) delivered(kind callKind) {
	cs.dl.Attempts, cs.dl.Error, cs.dl.FailedEvents, cs.dl.NotBefore = 0, "", 0, time.Time{}
	cs.o.m.deliveries.WithLabelValues(cs.d.platform, string(kind), "ok", "").Inc()
	if kind != callReply && kind != callImage {
		cs.o.m.deliveryLatency.WithLabelValues(cs.d.platform).Observe(cs.o.clock.Now().Sub(cs.inc.UpdatedAt).Seconds())
	}
}

// failed records a failed call and returns when to try again.
func (cs *cardSync) failed(ctx context.Context, op, code string, retryable bool, after time.Duration, err error) time.Time {
	o := cs.o
	now := o.now()
	log := o.log.With("incident", cs.inc.ID, "dest", cs.d.key(), "op", op, "code", code)
	var at time.Time
	switch {
	case after > 0:
		o.limits.pause(cs.d, callKind(op), now.Add(after))
		o.m.deliveries.WithLabelValues(cs.d.platform, op, "rate_limited", code).Inc()
		log.Info("rate limited by the platform", "retry_after", after)
		at = now.Add(after)
		cs.dl.Error, cs.dl.FailedEvents = code, 0
	case retryable:
		cs.dl.Attempts++
		at = now.Add(backoff(cs.dl.Attempts, o.cfg.MaxBackoff.D()))
		o.m.deliveries.WithLabelValues(cs.d.platform, op, "retried", code).Inc()
		log.Warn("delivery failed; will retry", "attempt", cs.dl.Attempts, "retry_at", at, "err", err)
		cs.dl.Error, cs.dl.FailedEvents = code, 0
	default:
		o.m.deliveries.WithLabelValues(cs.d.platform, op, "failed", code).Inc()
		log.Error("delivery failed for good; trying again when the incident changes", "err", err)
		events := len(cs.inc.Timeline)
		if cs.dl.Error != code {
			// Said once on the timeline, where people (and the other
			// platforms' threads) see why this card is missing or stale.
			n, err := cs.recordFailure(ctx, op, code)
			if err != nil {
				log.Warn("recording a delivery failure on the timeline failed; will retry", "err", err)
				at = now.Add(backoff(1, o.cfg.MaxBackoff.D()))
				break
			}
			events = n
		}
		cs.dl.Error, cs.dl.Attempts, cs.dl.FailedEvents = code, 0, max(events, 1)
		switch op {
		case "reply":
			// Replies are not retried for good failures: move past them.
			cs.dl.Events = len(cs.inc.Timeline)
		case "image":
			cs.dl.Graph = cs.graph.Version // nor are graphs
		}
	}
	cs.dl.NotBefore = at
	if err := cs.save(ctx); err != nil {
		log.Warn("recording a delivery failed", "err", err)
	}
	return at
}

// recordFailure adds the failure to the incident's timeline and returns
// the timeline's length after it.
func (cs *cardSync) recordFailure(ctx context.Context, op, code string) (int, error) {
	line := fmt.Sprintf("%s card in %s could not be %s: %s", platformTitle(cs.d.platform), cs.d.id, pastTense(op), code)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	inc, err := cs.o.store.Update(rctx, cs.inc.ID, func(inc *incidents.Incident) error {
		inc.AddEvent(cs.o.clock.Now(), incidents.EventDeliveryFailed, "klaxon", line)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(inc.Timeline), nil
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
	case "image":
		return "given its graph"
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

// outboxChat is the sender of platform, or nil.
func (s *Server) outboxChat(platform string) Chat {
	if s.outbox == nil {
		return nil
	}
	return s.outbox.chats[platform]
}
