package incidents

import (
	"context"
	"slices"
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

	// Get returns the whole incident with the given ID ("INC-42"): every
	// alert and the whole timeline, for the callers that work on one
	// incident (its cards, its postmortem, Update). Its cost grows with
	// the incident; to show part of one, use Summary, Alerts and Events.
	// Errors: NotFound, Unavailable, Internal.
	Get(ctx context.Context, id string) (*Incident, error)

	// Summary returns the incident without its alerts and timeline: every
	// other field as Get has it, Alerts and Timeline nil, and the counts
	// AlertsFiring, AlertsResolved and Events. Its cost does not depend on
	// how many alerts and events the incident has.
	// Errors: NotFound, Unavailable, Internal.
	Summary(ctx context.Context, id string) (*Incident, error)

	// Alerts returns up to limit of the incident's alerts, starting at
	// offset, and how many alerts it has. The order is the card's: firing
	// alerts first, then resolved ones, each in the order the incident
	// first saw them; an alert moves between the two parts only when its
	// status changes. A page reads and decodes the alerts it returns,
	// however many the incident has.
	// Errors: Invalid (offset below 0, limit not within 1..MaxPageLimit),
	// NotFound, Unavailable, Internal.
	Alerts(ctx context.Context, id string, offset, limit int) ([]Alert, int, error)

	// Events returns up to limit events of the incident's timeline,
	// oldest first, starting at offset, and the timeline's length. The
	// timeline only grows at its end, so an event keeps its offset for
	// good: a reader that has seen n events asks for offset n to get the
	// ones that came since. A negative offset counts from the end (-200:
	// the last 200 events). A page costs what it returns.
	// Errors: Invalid (limit not within 1..MaxPageLimit), NotFound,
	// Unavailable, Internal.
	Events(ctx context.Context, id string, offset, limit int) ([]Event, int, error)

	// List returns summaries of the incidents opts selects, newest (the
	// highest number) first: each is what Summary returns, without alerts
	// and timeline. It reads indexes by state, team and creation time,
	// never every incident, and its cost does not depend on how many
	// alerts and events the incidents have.
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
// from before (a resolved incident) unless it is flapping (its
// escalation resumes where it was instead).
func (o IngestOptions) Started(before, after *Incident) {
	if o.Start != nil && after != nil && after.State.Open() && (before == nil || (before.State == Resolved && !after.Flapping)) {
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

// ListOptions filters List. The filters combine: States, Team and the
// time window all hold for every incident listed.
type ListOptions struct {
	// States keeps incidents in these states; empty means all.
	States []State
	// Team, when set, keeps the team's incidents only.
	Team string
	// Since and Until, when set, keep incidents created at or after Since
	// and before Until (CreatedAt). See CreationSkew.
	Since, Until time.Time
	// Limit caps the result; 0 means DefaultListLimit, at most MaxListLimit.
	Limit int
	// Before, when positive, keeps incidents numbered below it (paging:
	// the next page starts before the last incident of this one).
	Before int64
}

const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
	// MaxPageLimit is the most alerts or events one page of Alerts or
	// Events holds.
	MaxPageLimit = 1000
)

// CreationSkew is how far apart stores assume an incident's creation time
// and its number can be: incidents are numbered in the order they open,
// but the times come from the callers' clocks (several replicas, several
// goroutines), so an incident may be numbered after one created a moment
// later. A store finds the incidents created within [Since, Until) among
// the numbers of those created within [Since-CreationSkew,
// Until+CreationSkew) and keeps the ones really created in the window; an
// incident created on a clock more than CreationSkew off the others' may
// be missing from lists filtered by time near the window's edges.
const CreationSkew = 5 * time.Minute

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
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return o, Errorf(Invalid, "until (%s) must be after since (%s)", humanTime(o.Until), humanTime(o.Since))
	}
	return o, nil
}

// Timed reports whether opts select by creation time.
func (o ListOptions) Timed() bool { return !o.Since.IsZero() || !o.Until.IsZero() }

// Keeps reports whether inc passes every filter of opts but Limit: stores
// check what their indexes found against the incident itself, so that an
// index entry a crash left stale, or an incident found through the
// widened time window (see CreationSkew), never shows.
func (o ListOptions) Keeps(inc *Incident) bool {
	if inc == nil || (o.Before > 0 && inc.Number >= o.Before) {
		return false
	}
	if len(o.States) > 0 && !slices.Contains(o.States, inc.State) {
		return false
	}
	if o.Team != "" && inc.Team != o.Team {
		return false
	}
	if !o.Since.IsZero() && inc.CreatedAt.Before(o.Since) {
		return false
	}
	return o.Until.IsZero() || inc.CreatedAt.Before(o.Until)
}

// CheckPage checks the offset and limit of a page of Alerts (negative
// offsets false) or Events (negative true).
func CheckPage(offset, limit int, negative bool) error {
	if limit < 1 || limit > MaxPageLimit {
		return Errorf(Invalid, "limit must be between 1 and %d", MaxPageLimit)
	}
	if offset < 0 && !negative {
		return Errorf(Invalid, "offset must be 0 or more")
	}
	return nil
}

// PageBounds turns an offset (negative: from the end) and a limit into
// the half-open range [start, end) of a sequence of total items.
func PageBounds(offset, limit, total int) (start, end int) {
	start = offset
	if start < 0 {
		start = max(total+start, 0)
	}
	start = min(start, total)
	return start, min(start+limit, total)
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
