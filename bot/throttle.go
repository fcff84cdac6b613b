package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Throttles protect people: each person gets at most paging.throttle's
// count of messages by a method in any window of its per, counted in the
// store (incidents.Throttles) so that every replica keeps the same
// window. A page attempt the throttle holds back stays on its incident,
// due again when the window has room, and its incident is filed as held
// back under the person and method. The next message to the person by
// that method, whichever incident it is about, tells of the incidents
// held back since ("klaxon: 4 more incidents for you: INC-43 …") and
// marks their attempts folded into it; an incident acknowledged in the
// meantime is left out (it is out of the due index and no longer
// triggered). A held-back attempt whose digest did not go out (the send
// failed, a replica stopped) is still pending on its incident and asks
// the throttle again when it comes due.

// throttleKey names a person's throttle for a method: "alice/sms".
func throttleKey(person string, m incidents.PageMethod) string {
	return strings.ToLower(person) + "/" + string(m)
}

// heldPage is an incident whose held-back attempts a message folds in:
// the attempts' keys, tries and holds as claimed.
type heldPage struct {
	inc      *incidents.Incident
	attempts []incidents.PageAttempt
}

// pageOnce is the once-only key of an attempt's current try: a retry
// and a hold each make a new one.
func pageOnce(a incidents.PageAttempt) string {
	once := "page:" + a.Key + "#" + itoa(a.Tries)
	if a.Holds > 0 {
		once += "h" + itoa(a.Holds)
	}
	return once
}

// throttle asks the store whether a can be sent now. held: the attempt
// waits for the window (until next); otherwise more are the incidents
// its message folds in. A store that cannot answer lets the page go: a
// page that reaches someone matters more than the throttle.
//
// A held-back attempt is folded in only when its current try's once-only
// key is claimed here: an attempt its own incident's scheduler is
// running at the same moment (and may send) is left to it, so no
// incident is both sent alone and told of in another's message.
func (e *escalator) throttle(ctx context.Context, inc *incidents.Incident, a incidents.PageAttempt, now time.Time) (held bool, next time.Time, more []heldPage, slot string) {
	limit := e.s.cfg.Paging.Throttle.For(a.Method).Limit()
	if e.throttles == nil || !limit.On() {
		return false, time.Time{}, nil, ""
	}
	res, err := e.throttles.Throttle(ctx, throttleKey(a.Person, a.Method), inc.ID, now, limit)
	if err != nil {
		e.s.log.Warn("throttle not checked; sending the page", "incident", inc.ID, "person", a.Person, "method", a.Method, "err", err)
		return false, time.Time{}, nil, ""
	}
	if !res.Admitted {
		if !res.First {
			// The first held back asks at Next and folds this one in;
			// this one asks a little later, in case it does not (its
			// incident was acknowledged, say), rather than all at once.
			return true, res.Next.Add(followerLag(limit.Per)), nil, ""
		}
		return true, res.Next, nil, ""
	}
	for _, id := range res.Held {
		if id == inc.ID {
			continue
		}
		o, err := e.s.store.Summary(ctx, id)
		if err != nil {
			// Left out: its attempt is still pending and asks again.
			e.s.log.Warn("held-back incident not read; not folded", "incident", id, "err", err)
			continue
		}
		if o.State != incidents.Triggered {
			continue // acknowledged or resolved meanwhile: nothing to tell
		}
		hp := heldPage{inc: o}
		for _, b := range o.Paging {
			if b.Done || b.Holds == 0 || b.Method != a.Method || !strings.EqualFold(b.Person, a.Person) {
				continue
			}
			if first, err := e.box.StepOnce(ctx, o.ID, pageOnce(b), 24*time.Hour); err == nil && first {
				hp.attempts = append(hp.attempts, b)
			}
		}
		if len(hp.attempts) > 0 {
			more = append(more, hp)
		}
	}
	return false, time.Time{}, more, res.Slot
}

// unthrottle gives back the throttle's slot of a message that was not
// sent: the window counts what reached the person, and the retry is not
// held back by its own failure.
func (e *escalator) unthrottle(ctx context.Context, a incidents.PageAttempt, slot string) {
	if slot == "" || e.throttles == nil {
		return
	}
	if err := e.throttles.ReleaseThrottle(context.WithoutCancel(ctx), throttleKey(a.Person, a.Method), slot); err != nil {
		e.s.log.Warn("throttle slot of a failed page not given back", "person", a.Person, "method", a.Method, "err", err)
	}
}

// followerLag is how long after the first held-back attempt the others
// ask again: long enough for its message and folding, short next to the
// window.
func followerLag(per time.Duration) time.Duration { return min(per/2, 30*time.Second) }

// incidentsOf are the incidents of held pages.
func incidentsOf(more []heldPage) []*incidents.Incident {
	out := make([]*incidents.Incident, len(more))
	for i, h := range more {
		out[i] = h.inc
	}
	return out
}

// fold records what came of the held-back attempts of more, whose
// once-only keys this replica holds: with sent, they were told of in the
// message about inc and are done; without, the message did not go out,
// and each is held once more (a new try, due at retryAt) so that it is
// sent or folded later.
func (e *escalator) fold(ctx context.Context, inc *incidents.Incident, a incidents.PageAttempt, more []heldPage, sent bool, now, retryAt time.Time) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	title := methodTitle(a.Method)
	for _, h := range more {
		n := 0
		_, err := e.s.store.Update(uctx, h.inc.ID, func(cur *incidents.Incident) error {
			n = 0
			for _, was := range h.attempts {
				b := cur.PageAttempt(was.Key)
				if b == nil || b.Done || b.Tries != was.Tries || b.Holds != was.Holds {
					continue
				}
				n++
				if sent {
					b.Done, b.FoldedInto = true, inc.ID
					// Told of, so paged about it: counted as a page, and
					// the person may act on it by SMS as on a text of its own.
					cur.RecordPage(now, string(a.Method), a.Person)
				} else {
					b.Holds++
					if retryAt.After(b.DueAt) {
						b.DueAt = retryAt.UTC()
					}
				}
			}
			if n == 0 {
				return errNothingToFold
			}
			if sent {
				cur.AddEvent(now, incidents.EventEscalated, "klaxon", upperFirst(title)+" to "+a.Person+" folded into the one about "+inc.ID)
			}
			return nil
		})
		switch {
		case err == nil:
			if sent {
				e.s.metrics.pages.WithLabelValues(string(a.Method), "folded").Add(float64(n))
			}
			e.s.changed(h.inc.ID)
		case err != errNothingToFold:
			e.s.log.Warn("folded attempt not recorded", "incident", h.inc.ID, "into", inc.ID, "sent", sent, "err", err)
		}
	}
}

var errNothingToFold = fmt.Errorf("nothing to fold")

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// heldText is the timeline's line for an attempt held back.
func heldText(a incidents.PageAttempt, l ThrottleLimit) string {
	return upperFirst(methodTitle(a.Method)) + " to " + a.Person + " held back by the throttle (" + l.String() + "); folded into the next"
}

// digest is the line a message adds for the incidents folded into it:
// "klaxon: 4 more incidents for you: INC-43 payments SEV1 Disk full,
// INC-44 …", naming at most most of them and keeping within budget bytes
// (the count always says how many).
func digest(more []*incidents.Incident, most, budget int) string {
	if len(more) == 0 {
		return ""
	}
	head := "klaxon: 1 more incident for you"
	if len(more) > 1 {
		head = fmt.Sprintf("klaxon: %d more incidents for you", len(more))
	}
	var b strings.Builder
	b.WriteString(head)
	named := 0
	for i, o := range more {
		if named == most {
			break
		}
		item := o.ID + " " + orNone(o.Team) + " " + o.Severity.String() + " " + clip(o.Title, 60)
		sep := ": "
		if i > 0 {
			sep = ", "
		}
		rest := ""
		if left := len(more) - i - 1; left > 0 {
			rest = fmt.Sprintf(", +%d more", left)
		}
		if b.Len()+len(sep)+len(item)+len(rest) > budget {
			break
		}
		b.WriteString(sep + item)
		named++
	}
	if left := len(more) - named; left > 0 && named > 0 {
		fmt.Fprintf(&b, ", +%d more", left)
	}
	return b.String()
}

// spokenDigest is what a call adds for the incidents folded into it.
func spokenDigest(more []*incidents.Incident) string {
	switch len(more) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" There is 1 more incident for you: %s.", more[0].ID)
	}
	return fmt.Sprintf(" There are %d more incidents for you, the first %s.", len(more), more[0].ID)
}

// An SMS names at most smsDigestItems folded incidents in at most
// smsDigestBytes: with the page's own text and link it stays within the
// three segments a page's text is fitted to.
const (
	smsDigestItems = 3
	smsDigestBytes = 200
)

// mailReason is the e-mail's line on why the person gets it, with the
// incidents folded in (the mail shows 300 characters of it).
func mailReason(inc *incidents.Incident, more []*incidents.Incident) string {
	r := "You are paged for " + orNone(inc.Team) + " (" + inc.ID + " is not acknowledged)."
	if d := digest(more, 5, 290-len(r)); d != "" {
		r += " " + d
	}
	return r
}
