package incidents

import (
	"slices"
	"strings"
	"time"
)

// StepPage pages whoever is named through each person's notification
// rules: one attempt per (person, rule), each due after the rule's delay,
// until the incident is acknowledged.
const StepPage StepKind = "page"

// PageMethod is a way of reaching a person.
type PageMethod string

const (
	PageDM    PageMethod = "dm"    // a direct message on every chat platform they have an account on
	PagePush  PageMethod = "push"  // a push to their ntfy topic
	PageEmail PageMethod = "email" // an e-mail
	PageSMS   PageMethod = "sms"   // a text message
	PageCall  PageMethod = "call"  // a phone call
)

// PageMethods are the methods, in the order rules list them by default.
var PageMethods = []PageMethod{PageDM, PagePush, PageEmail, PageSMS, PageCall}

// PageAttempt is one (person, rule) of a page step: due at DueAt, sent
// once by whichever scheduler claims the incident then. Attempts are kept
// on the incident, so a restart resumes where the walk was, and the
// incident's Due is the earliest of its escalation step and its attempts.
type PageAttempt struct {
	// Key names the attempt among the incident's (the escalation step
	// that made it, the person, the rule): once-only keys derive from it.
	Key    string     `json:"key"`
	Person string     `json:"person"`
	Method PageMethod `json:"method"`
	DueAt  time.Time  `json:"dueAt"`
	// Tries counts failed sends worth retrying so far.
	Tries int `json:"tries,omitempty"`
	// Done: sent, failed for good, given up on, or folded.
	Done bool `json:"done,omitempty"`
	// Holds counts the times a throttle held the attempt back (each time
	// it is due again when the throttle has room).
	Holds int `json:"holds,omitempty"`
	// FoldedInto, when set, is the incident whose message to the person
	// by the same method told of this one in its stead.
	FoldedInto string `json:"foldedInto,omitempty"`
}

// HeldBack reports whether the incident has a pending attempt to person
// by method that a throttle held back.
func (inc *Incident) HeldBack(person string, m PageMethod) bool {
	for _, a := range inc.Paging {
		if !a.Done && a.Holds > 0 && a.Method == m && strings.EqualFold(a.Person, person) {
			return true
		}
	}
	return false
}

// FoldPages marks the incident's held-back attempts to person by method
// folded into the message about incident into; it reports how many.
func (inc *Incident) FoldPages(person string, m PageMethod, into string) int {
	n := 0
	for i := range inc.Paging {
		a := &inc.Paging[i]
		if !a.Done && a.Holds > 0 && a.Method == m && strings.EqualFold(a.Person, person) {
			a.Done, a.FoldedInto = true, into
			n++
		}
	}
	return n
}

// NextPage is when the incident's first pending page attempt is due;
// zero when none is.
func (inc *Incident) NextPage() time.Time {
	var next time.Time
	for _, a := range inc.Paging {
		if !a.Done && (next.IsZero() || a.DueAt.Before(next)) {
			next = a.DueAt
		}
	}
	return next
}

// DuePages returns the pending page attempts due at now.
func (inc *Incident) DuePages(now time.Time) []PageAttempt {
	var out []PageAttempt
	for _, a := range inc.Paging {
		if !a.Done && !a.DueAt.After(now) {
			out = append(out, a)
		}
	}
	return out
}

// AddPages files attempts, forgetting the attempts already done (the
// timeline tells of them) and any attempt of the same key.
func (inc *Incident) AddPages(as ...PageAttempt) {
	inc.Paging = slices.DeleteFunc(inc.Paging, func(a PageAttempt) bool {
		return a.Done || slices.ContainsFunc(as, func(b PageAttempt) bool { return b.Key == a.Key })
	})
	for _, a := range as {
		a.DueAt = a.DueAt.UTC()
		inc.Paging = append(inc.Paging, a)
	}
}

// PageAttempt returns a pointer to the attempt named key, or nil.
func (inc *Incident) PageAttempt(key string) *PageAttempt {
	for i := range inc.Paging {
		if inc.Paging[i].Key == key {
			return &inc.Paging[i]
		}
	}
	return nil
}
