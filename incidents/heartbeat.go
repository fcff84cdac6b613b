package incidents

import (
	"context"
	"time"
)

// A heartbeat (a dead man's switch) is a monitor that says it is alive by
// calling klaxon at least every interval: a nightly backup's cron job,
// Alertmanager's always-firing Watchdog alert. Its deadline is the last
// beat (or, for one never heard from, the moment klaxon first knew it)
// plus its window, interval + grace. Deadlines live in the store like
// escalation due times: they survive restarts, and any replica may claim
// a passed one, once.

// HeartbeatSpec is a heartbeat as the config has it: its name and how
// long it may stay silent (interval + grace).
type HeartbeatSpec struct {
	Name   string
	Window time.Duration
}

// Heartbeat is what the store keeps of one heartbeat. Times are UTC, to
// the millisecond.
type Heartbeat struct {
	Name string `json:"name"`
	// Window is interval + grace as the deadline was last computed.
	Window time.Duration `json:"window"`
	// KnownAt is when klaxon first knew the heartbeat (its first
	// deadline counts from it).
	KnownAt time.Time `json:"knownAt"`
	// LastBeat is the latest beat; zero when none came since KnownAt.
	LastBeat time.Time `json:"lastBeat,omitzero"`
	// DueAt is the deadline; zero while it is missed (an incident is
	// open for the silence, and only a beat starts a new deadline).
	DueAt time.Time `json:"dueAt,omitzero"`
	// MissedAt is the deadline that was missed; zero when none is.
	MissedAt time.Time `json:"missedAt,omitzero"`
}

// Missed reports whether the heartbeat's deadline passed without a beat
// and an incident was opened for it.
func (h *Heartbeat) Missed() bool { return !h.MissedAt.IsZero() }

// Since is when the current silence began: the last beat, or when klaxon
// first knew the heartbeat.
func (h *Heartbeat) Since() time.Time {
	if h.LastBeat.IsZero() {
		return h.KnownAt
	}
	return h.LastBeat
}

// Overdue reports whether the heartbeat is missed or its deadline has
// passed at now (an incident is open or about to be): a beat then
// resolves what a missed deadline opened.
func (h *Heartbeat) Overdue(now time.Time) bool {
	return h.Missed() || (!h.DueAt.IsZero() && !h.DueAt.After(now))
}

// HeartbeatTime is a time as heartbeats store it: UTC, to the millisecond.
func HeartbeatTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// NewHeartbeat is a heartbeat klaxon learns of at now: its first
// deadline is now + window.
func NewHeartbeat(spec HeartbeatSpec, now time.Time) Heartbeat {
	now = HeartbeatTime(now)
	return Heartbeat{Name: spec.Name, Window: spec.Window, KnownAt: now, DueAt: now.Add(spec.Window)}
}

// RecordBeat applies a beat at `at` with the window of now: the deadline
// moves to the beat (the latest one, when beats arrive out of order from
// replicas whose clocks differ) plus the window, and a missed deadline is
// over.
func (h *Heartbeat) RecordBeat(at time.Time, window time.Duration) {
	at = HeartbeatTime(at)
	if at.After(h.LastBeat) {
		h.LastBeat = at
	}
	if h.KnownAt.IsZero() {
		h.KnownAt = at
	}
	h.Window = window
	h.MissedAt = time.Time{}
	h.DueAt = h.LastBeat.Add(window)
}

// Miss marks the deadline due missed, when it is still the heartbeat's
// deadline (no beat or new window moved it since it was claimed), and
// reports whether it did.
func (h *Heartbeat) Miss(due time.Time) bool {
	if h.Missed() || h.DueAt.IsZero() || !h.DueAt.Equal(HeartbeatTime(due)) {
		return false
	}
	h.MissedAt, h.DueAt = h.DueAt, time.Time{}
	return true
}

// HeartbeatsDown reports whether no scheduler watched the heartbeats for
// longer than gap before now (watched is when one last did): klaxon was
// down, and could hear no beat meanwhile.
func HeartbeatsDown(watched, now time.Time, gap time.Duration) bool {
	return !watched.IsZero() && now.Sub(watched) > gap
}

// Resume brings a stored heartbeat up to date at now when klaxon starts
// with spec: a changed window moves a pending deadline; and when klaxon
// was down (see HeartbeatsDown) a deadline that passed after the last
// watch — while nobody could hear a beat — is deferred to now + window,
// so that an outage of klaxon does not open a storm of incidents for
// beats it never had the chance to hear. It reports whether it deferred.
// A deadline that had passed before the last watch is left to fire: a
// scheduler saw it pass.
func (h *Heartbeat) Resume(spec HeartbeatSpec, now, watched time.Time, down bool) (deferred bool) {
	now = HeartbeatTime(now)
	if h.Missed() {
		h.Window = spec.Window
		return false
	}
	if h.Window != spec.Window || h.DueAt.IsZero() {
		h.Window = spec.Window
		h.DueAt = h.Since().Add(spec.Window)
	}
	if down && !h.DueAt.After(now) && h.DueAt.After(watched) {
		h.DueAt = now.Add(spec.Window)
		return true
	}
	return false
}

// HeartbeatSync is what SyncHeartbeats did.
type HeartbeatSync struct {
	// Heartbeats are the configured heartbeats as stored after the sync,
	// in the order of the specs.
	Heartbeats []Heartbeat
	// Added are the heartbeats klaxon did not know before; Deferred the
	// ones whose deadline passed while klaxon was down (see
	// Heartbeat.Resume); Removed the stored ones no longer configured.
	Added, Deferred, Removed []string
	// Watched is when a scheduler last watched before the sync (zero:
	// never), and Down whether that was longer than the gap ago.
	Watched time.Time
	Down    bool
}

// Heartbeats is the durable schedule of heartbeat deadlines, shared by
// every replica. Errors: Unavailable, Internal, and those named.
type Heartbeats interface {
	// SyncHeartbeats brings the stored heartbeats in line with the
	// config at start, in one atomic step: it files each spec not yet
	// known with its first deadline at now + window, resumes each known
	// one (Heartbeat.Resume; down is HeartbeatsDown of the last watch,
	// now and gap) and forgets the stored ones not in specs. It counts
	// as a watch at now.
	// Errors: Invalid (an empty name or a window not positive).
	SyncHeartbeats(ctx context.Context, specs []HeartbeatSpec, now time.Time, gap time.Duration) (*HeartbeatSync, error)

	// Heartbeat returns the stored heartbeat. Errors: NotFound.
	Heartbeat(ctx context.Context, name string) (*Heartbeat, error)

	// Beat records a beat of the heartbeat at `at` (Heartbeat.RecordBeat),
	// filing one not yet known, and returns the heartbeat as it was
	// before (nil when it was not known). When it returns, the beat is
	// durable. Errors: Invalid (an empty name or a window not positive).
	Beat(ctx context.Context, name string, at time.Time, window time.Duration) (*Heartbeat, error)

	// ClaimHeartbeats takes up to n heartbeats whose deadline passed at
	// now, earliest first, and hides each until now+lease: a scheduler
	// that dies holding one loses it when the lease ends. MissHeartbeat,
	// or a beat, ends the claim. It counts as a watch at now.
	ClaimHeartbeats(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Heartbeat, error)

	// MissHeartbeat marks the claimed deadline due missed (Heartbeat.Miss)
	// and takes the heartbeat out of the schedule until its next beat. It
	// reports false, changing nothing, when the deadline is no longer
	// due (a beat came meanwhile), or the heartbeat is gone.
	MissHeartbeat(ctx context.Context, name string, due time.Time) (bool, error)
}

// CheckHeartbeatSpecs checks what stores rely on.
func CheckHeartbeatSpecs(specs []HeartbeatSpec) error {
	for _, s := range specs {
		if err := checkHeartbeat(s.Name, s.Window); err != nil {
			return err
		}
	}
	return nil
}

// CheckBeat checks a beat's name and window.
func CheckBeat(name string, window time.Duration) error { return checkHeartbeat(name, window) }

func checkHeartbeat(name string, window time.Duration) error {
	if name == "" {
		return Errorf(Invalid, "a heartbeat needs a name")
	}
	if window <= 0 {
		return Errorf(Invalid, "heartbeat %q: the window must be positive", name)
	}
	return nil
}

// SyncHeartbeat is SyncHeartbeats' step for one spec: stored is the
// heartbeat as stored (nil when unknown). It returns the heartbeat to
// store and records what it did in out.
func SyncHeartbeat(stored *Heartbeat, spec HeartbeatSpec, now time.Time, out *HeartbeatSync) Heartbeat {
	if stored == nil {
		out.Added = append(out.Added, spec.Name)
		h := NewHeartbeat(spec, now)
		out.Heartbeats = append(out.Heartbeats, h)
		return h
	}
	h := *stored
	if h.Resume(spec, now, out.Watched, out.Down) {
		out.Deferred = append(out.Deferred, spec.Name)
	}
	out.Heartbeats = append(out.Heartbeats, h)
	return h
}
