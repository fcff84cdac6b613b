package incidents

import (
	"context"
	"time"
)

// Limit is a throttle: at most Count messages in any window of Per.
type Limit struct {
	Count int
	Per   time.Duration
}

// On reports whether the limit throttles at all (a Count of 0 does not).
func (l Limit) On() bool { return l.Count > 0 && l.Per > 0 }

// ThrottleResult is what Throttles.Throttle decided.
type ThrottleResult struct {
	// Admitted: the message may be sent now; it counts in the window.
	Admitted bool
	// Held, when admitted, are the incidents held back under the key
	// since its last admitted message (oldest first, without the asking
	// incident): the message folds them in. Throttle forgets them as it
	// returns them; the held-back attempts themselves are on the
	// incidents, so one that is not folded (the send failed) is held
	// again when it comes due.
	Held []string
	// Slot, when admitted, names the admission: ReleaseThrottle gives it
	// back when the message was not sent after all.
	Slot string
	// Next, when not admitted, is when the window has room again.
	Next time.Time
	// First, when not admitted: the asking incident is the first of
	// those held back under the key, whose message will fold in the
	// others (callers ask for it at Next, and for the others later, so
	// that they are not all asking at once).
	First bool
}

// Throttles keep sliding windows of the messages sent under a key (a
// person and a method: "alice/sms") and the incidents held back under
// it, shared by every replica; each call is one atomic step.
// Errors: Invalid (an empty key or id, a limit that throttles nothing),
// Unavailable, Internal.
type Throttles interface {
	// Throttle asks to send a message about incident id under key at now.
	// When fewer than limit.Count messages were admitted in (now-limit.Per,
	// now], it admits this one (counting it), and returns and forgets the
	// incidents held back under key (id removed from them). Otherwise it
	// adds id to the held incidents (where it keeps its place when it was
	// there), says when the window has room, and whether id is the first
	// of them.
	Throttle(ctx context.Context, key, id string, now time.Time, limit Limit) (ThrottleResult, error)
	// ReleaseThrottle gives back the admission slot under key (a message
	// that failed to send), so that the window counts what reached the
	// person. A slot already out of the window releases nothing.
	ReleaseThrottle(ctx context.Context, key, slot string) error
}

// ThrottleHold is how long held incidents are kept under a key that
// admits nothing more (nobody was paged again by that method): beyond
// it they are forgotten. Their attempts stay on the incidents.
const ThrottleHold = 24 * time.Hour

// CheckThrottle checks Throttle's arguments.
func CheckThrottle(key, id string, limit Limit) error {
	if key == "" || id == "" {
		return Errorf(Invalid, "a throttle needs a key and an incident")
	}
	if !limit.On() {
		return Errorf(Invalid, "limit %d per %s throttles nothing", limit.Count, limit.Per)
	}
	return nil
}
