package incidents

import (
	"slices"
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
	// Done: sent, failed for good, or given up on.
	Done bool `json:"done,omitempty"`
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
