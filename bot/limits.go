package bot

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// callKind is what a call to a platform does; rate limits differ by kind.
type callKind string

const (
	callPost   callKind = "post"
	callUpdate callKind = "update"
	callReply  callKind = "reply"
	// callImage posts a graph in the card's thread: a message in the
	// channel, as a reply is.
	callImage callKind = "image"
)

// limits keeps this replica within each platform's rate limits, and holds
// back everything a 429 covered until its Retry-After has passed. Several
// replicas each keep their own; a 429 that results is honoured like any.
type limits struct {
	mu  sync.Mutex
	cfg *Config
	by  map[string]*limiter
}

type limiter struct {
	l      *rate.Limiter
	paused time.Time // a 429 holds every call until then
}

func newLimits(c *Config) *limits { return &limits{cfg: c, by: map[string]*limiter{}} }

// rule is one limiter a call goes through: its key, least interval and
// burst (default 1).
type rule struct {
	key   string
	every time.Duration
	burst int
}

// rules are the limiters a call of kind to d must pass.
func (ls *limits) rules(d dest, kind callKind) []rule {
	c := ls.cfg
	switch d.platform {
	case Slack:
		if c.Slack == nil {
			return nil
		}
		if kind == callUpdate { // chat.update: a workspace-wide tier
			return []rule{{"slack:update", c.Slack.UpdateInterval.D(), 1}}
		}
		return []rule{{"slack:" + d.id, c.Slack.ChannelInterval.D(), 1}} // chat.postMessage: per channel
	case Mattermost:
		if c.Mattermost == nil {
			return nil
		}
		// Burst 2: a reply is two calls (Mattermost's own limiter allows
		// bursts of 100).
		return []rule{{"mattermost", c.Mattermost.Interval.D(), 2}}
	case Telegram:
		t := c.Telegram
		if t == nil {
			return nil
		}
		rs := []rule{{"telegram:" + d.id, t.ChatInterval.D(), 1}, {"telegram", t.GlobalInterval.D(), 1}}
		if strings.HasPrefix(d.id, "-") {
			rs = append(rs, rule{"telegram-group:" + d.id, t.GroupInterval.D(), 1})
		}
		return rs
	}
	return nil
}

// cost is how many API calls a call of kind to d makes: a Mattermost
// reply first reads its card (for the channel, and to see it still exists),
// and an image is a file upload and a post.
func cost(d dest, kind callKind) int {
	if d.platform == Mattermost && (kind == callReply || kind == callImage || kind == callDirect) {
		return 2 // a reply reads its card first; an image is uploaded, then posted
	}
	return 1
}

func (ls *limits) get(r rule) *limiter {
	l := ls.by[r.key]
	if l == nil {
		lim := rate.Inf
		if r.every > 0 {
			// A margin of 5%: calls paced at exactly the platform's rate
			// arrive a little early or late, and early ones are refused.
			lim = rate.Every(r.every + r.every/20)
		}
		l = &limiter{l: rate.NewLimiter(lim, max(1, r.burst))}
		ls.by[r.key] = l
	}
	return l
}

// take reserves one call of kind to d at now. It returns when the call may
// go; ok is false, and nothing is reserved, when that is more than maxWait
// away.
func (ls *limits) take(d dest, kind callKind, now time.Time, maxWait time.Duration) (until time.Time, ok bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	until = now
	var rs []*rate.Reservation
	var from []time.Time
	for _, r := range ls.rules(d, kind) {
		l := ls.get(r)
		// While a 429 holds the limiter, calls are paced from when it
		// ends, not all let go at that instant.
		at := now
		if l.paused.After(at) {
			at = l.paused
		}
		res := l.l.ReserveN(at, cost(d, kind))
		rs, from = append(rs, res), append(from, at)
		if t := at.Add(res.DelayFrom(at)); t.After(until) {
			until = t
		}
	}
	if until.Sub(now) > maxWait {
		for i, res := range rs {
			res.CancelAt(from[i])
		}
		return until, false
	}
	return until, true
}

// pause holds every call that shares a limiter with a call of kind to d
// until until (the platform answered 429 with Retry-After).
func (ls *limits) pause(d dest, kind callKind, until time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, r := range ls.rules(d, kind) {
		if l := ls.get(r); until.After(l.paused) {
			l.paused = until
		}
	}
}
