package incidents

import (
	"context"
	"time"
)

// Store persists incidents. Every method is safe for concurrent use, and
// every change it makes is atomic: readers see an incident before or after a
// change, never half of one. Implementations: redisstore (shared by
// replicas) and boltstore (embedded, one process).
//
// Errors carry a Kind: Unavailable when the backing store cannot be reached
// (a retry may succeed), NotFound for an unknown ID, Invalid for bad input,
// Internal otherwise.
type Store interface {
	// Ingest applies a batch of alerts to its group's incident, atomically:
	// it finds the incident by the batch's group key (or, for a group it
	// has not seen, by an open incident that already holds one of the
	// batch's alerts), then decides with Decide whether to update it, reopen
	// it or open a new one. Concurrent calls for the same group never open
	// two incidents, and a batch that changes nothing writes nothing.
	// The result's incident may hold only the alerts the batch names and
	// the events it added (a store need not read the rest): Get returns
	// the whole incident.
	// Errors: Invalid (the batch fails Validate), Unavailable, Internal.
	Ingest(ctx context.Context, b *Batch, opts IngestOptions) (*IngestResult, error)

	// Get returns the incident with the given ID ("INC-42").
	// Errors: NotFound, Unavailable, Internal.
	Get(ctx context.Context, id string) (*Incident, error)

	// List returns incidents newest first, filtered by opts.
	// Errors: Invalid (bad options), Unavailable, Internal.
	List(ctx context.Context, opts ListOptions) ([]*Incident, error)

	// Update reads the incident, calls fn on a copy, and stores the copy if
	// fn returns nil, retrying fn when another writer changed the incident
	// in between. fn's error is returned unchanged and nothing is stored.
	// The timeline is append-only: fn may add events, not change stored ones.
	// Errors: NotFound, Unavailable, Internal, or fn's error.
	Update(ctx context.Context, id string, fn func(*Incident) error) (*Incident, error)

	// Count returns how many incidents are in each open state.
	// Errors: Unavailable, Internal.
	Count(ctx context.Context) (map[State]int64, error)

	// Ping reports whether the store is reachable (Unavailable if not).
	Ping(ctx context.Context) error

	// Close releases the store's resources.
	Close() error
}

// IngestOptions carries the caller's clock and policy into Ingest.
type IngestOptions struct {
	Now          time.Time
	ReopenWindow time.Duration
	// Start, when set, is called on an incident the batch opens or
	// reopens, before it is stored (it begins the escalation policy).
	Start func(inc *Incident, now time.Time)
}

// Started calls o.Start on an incident that was just opened, or reopened
// from before (a resolved incident).
func (o IngestOptions) Started(before, after *Incident) {
	if o.Start != nil && after != nil && after.State.Open() && (before == nil || before.State == Resolved) {
		o.Start(after, o.Now)
	}
}

// IngestResult says what Ingest did.
type IngestResult struct {
	Incident *Incident // the incident after the batch; nil when ignored
	Created  bool      // a new incident was opened
	Reopened bool      // a resolved incident was reopened
	Changed  bool      // anything was stored
}

// ListOptions filters List.
type ListOptions struct {
	// States keeps incidents in these states; empty means all.
	States []State
	// Limit caps the result; 0 means DefaultListLimit, at most MaxListLimit.
	Limit int
	// Before, when positive, keeps incidents numbered below it (paging).
	Before int64
}

const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Normalize checks opts and fills the default limit.
func (o ListOptions) Normalize() (ListOptions, error) {
	if o.Limit < 0 || o.Limit > MaxListLimit {
		return o, Errorf(Invalid, "limit must be between 1 and %d", MaxListLimit)
	}
	if o.Limit == 0 {
		o.Limit = DefaultListLimit
	}
	if o.Before < 0 {
		return o, Errorf(Invalid, "before must be a positive incident number")
	}
	for _, s := range o.States {
		if _, err := ParseState(string(s)); err != nil {
			return o, err
		}
	}
	return o, nil
}

// OpenStates are the states an incident needs attention in.
var OpenStates = []State{Triggered, Acknowledged}

// Outcome turns the decision and the incident before and after a batch into
// an IngestResult; stores call it so that results mean the same everywhere.
func Outcome(before, after *Incident, created, changed bool) *IngestResult {
	r := &IngestResult{Incident: after, Created: created, Changed: changed}
	if !created && before != nil && after != nil && before.State == Resolved && after.State.Open() {
		r.Reopened = true
	}
	return r
}
