package incidents

import (
	"context"
	"time"
)

// Outbox is the durable queue of card syncs. Every change a Store makes to
// an incident (a new version) marks the incident pending in the same
// atomic step, or one a crash cannot separate from it; workers on every
// replica claim pending incidents, bring each of the incident's cards up to
// date, and release the claim. An incident is pending once however often it
// changes while it waits, so a worker always sends only its latest state.
//
// A claim hides the item from other claimers until its lease ends; a worker
// that dies holding one loses it when the lease ends, and another worker
// takes the item over. Errors: Unavailable, Internal.
type Outbox interface {
	// Claim takes up to n items due at now, hiding each until now+lease.
	Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Claim, error)

	// Release ends a claim. With a zero retryAt the item is done: it is
	// removed. Otherwise it is due again at retryAt (a retry after an
	// error, a wait for a rate limit). Either way, if the incident changed
	// since the claim, the item is due again at once. A claim that ended
	// (its lease passed and another worker took the item) releases nothing.
	//
	// A change to an incident that no worker holds makes it due at once,
	// even when it waited for a retry: one card in trouble never holds
	// back the incident's other cards.
	Release(ctx context.Context, c Claim, retryAt time.Time) error

	// Deliveries returns what the incident's cards are, by destination
	// ("slack:C0123"); empty when none was posted yet.
	Deliveries(ctx context.Context, id string) (map[string]Delivery, error)

	// SaveDelivery records one destination's delivery of the incident.
	SaveDelivery(ctx context.Context, id, dest string, d Delivery) error

	// RefIncident returns the incident whose card in dest is ref (a
	// command typed in a card's thread, a button pressed on it), or ""
	// when no card is known by that reference.
	RefIncident(ctx context.Context, dest, ref string) (string, error)

	// OutboxStats says how many items are pending and since when the
	// oldest has waited.
	OutboxStats(ctx context.Context) (OutboxStats, error)
}

// Claim is an item a worker holds.
type Claim struct {
	ID    string    // the incident
	Seq   int64     // changes marked so far; Release compares it
	Since time.Time // when the item became pending
	Token int64     // identifies this claim (its lease end, ms)
}

// OutboxStats describe the queue.
type OutboxStats struct {
	Depth  int64
	Oldest time.Time // zero when empty
}

// Delivery is the state of one card: the platform message it is, what it
// shows, and what went wrong last. Only the worker holding the incident's
// claim writes it.
type Delivery struct {
	// Ref identifies the posted card on its platform (opaque, made by the
	// adapter); empty until the card is posted.
	Ref string `json:"ref,omitempty"`
	// Posting is set just before the first post and cleared when Ref is
	// recorded: found set with no Ref after a crash, the worker looks for
	// the card on the platform before posting again.
	Posting time.Time `json:"posting,omitzero"`
	// Version is the incident version the card shows.
	Version int64 `json:"version,omitempty"`
	// Events is how many timeline events the card's thread has accounted
	// for (posted as replies, or there before the card was posted).
	Events int `json:"events,omitempty"`
	// Graph is the version of the incident's graph (Graphs) posted in the
	// card's thread: a newer graph is posted after the card is up to date.
	Graph int64 `json:"graph,omitempty"`
	// Attempts counts failures in a row (for backoff); Error is the last
	// one's code. FailedEvents, set when an error retrying cannot fix
	// stopped the card, is the timeline's length then: the card is tried
	// again once the incident has an event other than delivery failures.
	Attempts     int       `json:"attempts,omitempty"`
	Error        string    `json:"error,omitempty"`
	FailedEvents int       `json:"failedEvents,omitempty"`
	NotBefore    time.Time `json:"notBefore,omitzero"`
}
