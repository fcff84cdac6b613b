package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Paging a person: a page step files one attempt per (person, rule) on
// the incident, each due after its rule's delay. The attempts are durable
// (stored with the incident; the incident's Due is the earliest of them
// and its next escalation step, so the stores' due index schedules them),
// claimed by any replica's escalator, sent once (a once-only key per try)
// and retried with backoff when the failure is worth retrying. An
// acknowledged incident is out of the due index: what was not sent yet is
// not sent. The escalator's workers are not the card outbox's, so a slow
// mail server never holds a card back.

// SMSSender sends text messages (adapters/twilio's Client). body is at
// most a few segments long; the sender may fit it further.
type SMSSender interface {
	SendSMS(ctx context.Context, to, body, statusCallback string) (sid string, err error)
}

// Mailer sends a page by e-mail (adapters/email, wrapped in cmd).
type Mailer interface {
	Mail(ctx context.Context, m MailPage) error
}

// MailPage is one mail to one person about an incident.
type MailPage struct {
	To, Name    string // the address and the person's name
	Card        *templates.Card
	Team        string
	IncidentURL string // the incident's page, or ""
	AckURL      string // the signed acknowledge link (a confirmation page), or ""
	// Update: the person had a mail about the incident already (the mail
	// answers it, in the same thread).
	Update bool
	// Key identifies the attempt: a retried send repeats its Message-ID.
	Key    string
	Reason string // why they get it: "You are paged for payments."
}

// Pusher pushes a page to an ntfy topic (adapters/ntfy, wrapped in cmd).
type Pusher interface {
	Push(ctx context.Context, to PushTarget, p PushPage) error
}

// PushTarget is a person's ntfy topic and its token ("" for none).
type PushTarget struct {
	URL   string
	Token Secret
}

// PushPage is what a push shows.
type PushPage struct {
	Card        *templates.Card
	Team        string
	IncidentURL string
	AckURL      string // the Acknowledge action POSTs here, or ""
	// More tells of the incidents a throttle held back, folded into this
	// push ("klaxon: 4 more incidents for you: INC-43 …"), or "".
	More string
}

// maxPageTries bounds the sends of one attempt that fail in a way worth
// retrying; maxPageBackoff the wait between them.
const (
	maxPageTries   = 6
	maxPageBackoff = 2 * time.Minute
)

// errNoSender says klaxon has no sender for a method (it is configured,
// so the wiring in main left it out).
var errNoSender = errors.New("no sender configured")

// methodTitle names a method on the timeline: "Paged alice by SMS".
func methodTitle(m incidents.PageMethod) string {
	switch m {
	case incidents.PageDM:
		return "direct message"
	case incidents.PagePush:
		return "push"
	case incidents.PageEmail:
		return "e-mail"
	case incidents.PageSMS:
		return "SMS"
	case incidents.PageCall:
		return "phone call"
	}
	return string(m)
}

// person returns the config of the person named name.
func (s *Server) person(name string) (PersonConfig, bool) {
	for _, p := range s.cfg.People {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return PersonConfig{}, false
}

// planPages makes the attempts of a page step for whoever target names
// now, and the timeline line that says so.
func (e *escalator) planPages(ctx context.Context, inc *incidents.Incident, target string, now time.Time) (string, []incidents.PageAttempt) {
	who := e.resolve(ctx, inc, target, now)
	if len(who) == 0 {
		return "Escalation: nobody to page (" + target + " names no one now)", nil
	}
	var attempts []incidents.PageAttempt
	var parts []string
	step := inc.Escalation.StepKey()
	for _, name := range who {
		pc, ok := e.s.person(name)
		if !ok {
			continue
		}
		rules, skipped := e.s.cfg.rulesFor(pc, e.s.teams[inc.Team])
		if len(rules) == 0 {
			parts = append(parts, pc.Name+" (no way to reach them: give them contact methods and rules)")
			continue
		}
		var plan []string
		for i, r := range rules {
			attempts = append(attempts, incidents.PageAttempt{
				Key: step + "/" + strings.ToLower(pc.Name) + "/" + itoa(i), Person: pc.Name, Method: r.Method, DueAt: now.Add(r.After)})
			when := "now"
			if r.After > 0 {
				when = "in " + templates.Duration(r.After)
			}
			plan = append(plan, methodTitle(r.Method)+" "+when)
		}
		line := pc.Name + " (" + strings.Join(plan, ", ")
		if len(skipped) > 0 {
			line += "; no " + strings.Join(skipped, ", ")
		}
		parts = append(parts, line+")")
	}
	return "Escalation: paging " + strings.Join(parts, "; "), attempts
}

func itoa(n int) string { return strconv.Itoa(n) }

// pageResult is what one attempt came to.
type pageResult struct {
	key     string
	tries   int       // the attempt's tries when it was run
	holds   int       // and its holds
	held    bool      // a throttle held it back: due again at retryAt
	retried bool      // failed in a way worth retrying: one more try
	text    string    // for the timeline, "" for none
	page    bool      // a person was reached (the report counts it)
	done    bool      // nothing more to do
	retryAt time.Time // else: due again then
	skip    bool      // nothing known: leave the attempt as it is
}

// runPages sends the incident's page attempts due at now, each once, and
// records what came of them. It returns the incident as stored after.
func (e *escalator) runPages(ctx context.Context, inc *incidents.Incident, now time.Time) (*incidents.Incident, error) {
	due := inc.DuePages(now)
	if len(due) == 0 || inc.State != incidents.Triggered {
		return inc, nil
	}
	card, err := e.s.tmpl.Card(inc, now)
	if err != nil {
		return inc, err
	}
	results := make([]pageResult, len(due))
	var wg sync.WaitGroup
	for i, a := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.attempt(ctx, inc, card, a, now)
		}()
	}
	wg.Wait()
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	changed := false
	for _, r := range results {
		changed = changed || !r.skip
	}
	if !changed {
		return inc, nil
	}
	out, err := e.s.store.Update(uctx, inc.ID, func(cur *incidents.Incident) error {
		for _, r := range results {
			a := cur.PageAttempt(r.key)
			if r.skip || a == nil || a.Done || a.Tries != r.tries || a.Holds != r.holds {
				continue // forgotten (reopened), or recorded by another replica
			}
			if r.text != "" {
				cur.AddEvent(now, incidents.EventEscalated, "klaxon", r.text)
			}
			if r.page {
				cur.RecordPage(now, string(a.Method), a.Person)
			}
			if r.done {
				a.Done = true
				continue
			}
			if r.retryAt.After(a.DueAt) {
				a.DueAt = r.retryAt.UTC()
			}
			if r.retried {
				a.Tries++
			}
			if r.held {
				a.Holds++
			}
		}
		return nil
	})
	if err != nil {
		return inc, err
	}
	e.s.changed(inc.ID)
	return out, nil
}

// attempt sends one page attempt, once across replicas.
func (e *escalator) attempt(ctx context.Context, inc *incidents.Incident, card *templates.Card, a incidents.PageAttempt, now time.Time) pageResult {
	r := pageResult{key: a.Key, tries: a.Tries, holds: a.Holds}
	once := pageOnce(a)
	first, err := e.box.StepOnce(ctx, inc.ID, once, 24*time.Hour)
	if err != nil {
		e.s.log.Warn("page attempt not claimed; it runs when the incident's claim ends", "incident", inc.ID, "err", err)
		r.skip = true
		return r
	}
	title := methodTitle(a.Method)
	if !first {
		// Another scheduler sends it, or sent it and stopped before
		// recording it. The first time, give it a lease's time; after
		// that, move on without sending it again.
		if wait, err := e.box.StepOnce(ctx, inc.ID, once+":waited", 24*time.Hour); err != nil {
			r.skip = true
		} else if wait {
			r.retryAt = now.Add(e.lease)
		} else {
			r.done = true
			r.text = "Paging " + a.Person + " by " + title + ": not confirmed (the replica sending it stopped)"
		}
		return r
	}
	held, next, more, slot := e.throttle(ctx, inc, a, now)
	if held {
		r.held, r.retryAt = true, next
		if a.Holds == 0 {
			e.s.metrics.pagesThrottled.WithLabelValues(string(a.Method)).Inc()
			r.text = heldText(a, e.s.cfg.Paging.Throttle.For(a.Method))
		}
		return r
	}
	err = e.send(ctx, inc, card, a, now, incidentsOf(more))
	if err == nil {
		e.s.metrics.pages.WithLabelValues(string(a.Method), "sent").Inc()
		r.done, r.page, r.text = true, true, "Paged "+a.Person+" by "+title
		if len(more) > 0 {
			r.text += fmt.Sprintf(", with %d more held back", len(more))
			e.fold(ctx, inc, a, more, true, now, time.Time{})
		}
		return r
	}
	code, retryable, after := classify(err)
	if errors.Is(err, errNoSender) {
		code, retryable = "no_sender", false
	}
	log := e.s.log.With("incident", inc.ID, "person", a.Person, "method", a.Method, "code", code)
	if (a.Method == incidents.PageCall || a.Method == incidents.PageSMS) && mayHaveReached(code) {
		// A timeout or a 5xx after the request went out: Twilio may have
		// placed the call or sent the text. Ringing a person twice at 3
		// a.m. is worse than once: not tried again, and it keeps its place
		// in the throttle's window.
		e.s.metrics.pages.WithLabelValues(string(a.Method), "failed").Inc()
		log.Warn("page may have been sent; not tried again", "err", err)
		if len(more) > 0 {
			e.fold(ctx, inc, a, more, false, now, time.Time{})
		}
		r.done = true
		r.text = upperFirst(title) + " to " + a.Person + " may have been sent (no answer from the provider; not tried again): " + clip(pageError(err), 120)
		return r
	}
	e.unthrottle(ctx, a, slot)
	if len(more) > 0 {
		defer func() { e.fold(ctx, inc, a, more, false, now, r.retryAt) }()
	}
	if retryable && a.Tries+1 < maxPageTries {
		e.s.metrics.pages.WithLabelValues(string(a.Method), "retried").Inc()
		r.retried = true
		r.retryAt = now.Add(max(after, backoff(a.Tries+1, maxPageBackoff)))
		log.Warn("page failed; will retry", "attempt", a.Tries+1, "retry_at", r.retryAt, "err", err)
		return r
	}
	e.s.metrics.pages.WithLabelValues(string(a.Method), "failed").Inc()
	log.Warn("page failed", "err", err)
	r.done = true
	r.text = strings.ToUpper(title[:1]) + title[1:] + " to " + a.Person + " failed: " + clip(pageError(err), 160)
	return r
}

// pageError is what the timeline says of a failed send: the adapter's
// message (which never holds a secret), or the user-safe message.
func pageError(err error) string {
	var ie *incidents.Error
	if errors.As(err, &ie) {
		return incidents.ErrorMessage(err)
	}
	return err.Error()
}

// send makes one attempt's message and sends it; more are the incidents
// held back that it tells of too.
func (e *escalator) send(ctx context.Context, inc *incidents.Incident, card *templates.Card, a incidents.PageAttempt, now time.Time, more []*incidents.Incident) error {
	pc, ok := e.s.person(a.Person)
	if !ok {
		return incidents.Errorf(incidents.Invalid, "%s is no longer in people", a.Person)
	}
	s := e.s
	incURL := s.incidentURL(inc.ID)
	switch a.Method {
	case incidents.PageDM:
		return e.direct(ctx, inc, pc, now, digest(more, 10, 1000))
	case incidents.PageSMS:
		if s.sms == nil {
			return errNoSender
		}
		body := fmt.Sprintf("klaxon %s %s %s: %s", inc.Severity, inc.ID, orNone(inc.Team), clip(inc.Title, 120))
		// Then the incidents a throttle held back, folded in.
		if d := digest(more, smsDigestItems, smsDigestBytes); d != "" {
			body += "\n" + d
		}
		// The last line is what to do (FitSMS keeps it whole): reply,
		// when replies are read (/twilio/sms), or open the link.
		last := ""
		if s.inbox != nil {
			last = "Reply 1 to ack, 2 to escalate"
		}
		if u := s.ackURL(inc.ID, pc.Name, "sms", now); u != "" {
			last = strings.TrimPrefix(last+". Ack: "+u, ". ")
		} else if incURL != "" {
			last = strings.TrimPrefix(last+". "+incURL, ". ")
		}
		if last != "" {
			body += "\n" + last
		}
		_, err := s.sms.SendSMS(ctx, pc.SMSNumber(), body, "")
		return err
	case incidents.PageEmail:
		if s.mailer == nil {
			return errNoSender
		}
		update := false
		for _, p := range inc.Pages {
			update = update || (p.Kind == string(incidents.PageEmail) && strings.EqualFold(p.Person, pc.Name))
		}
		return s.mailer.Mail(ctx, MailPage{To: pc.Email, Name: pc.Name, Card: card, Team: inc.Team, IncidentURL: incURL,
			AckURL: s.ackURL(inc.ID, pc.Name, "email", now), Update: update, Key: a.Key,
			Reason: mailReason(inc, more)})
	case incidents.PagePush:
		if s.pusher == nil {
			return errNoSender
		}
		token := pc.PushToken
		if token == "" && s.cfg.Ntfy != nil {
			token = s.cfg.Ntfy.Token
		}
		return s.pusher.Push(ctx, PushTarget{URL: pc.Push, Token: token}, PushPage{Card: card, Team: inc.Team, IncidentURL: incURL,
			AckURL: s.ackURL(inc.ID, pc.Name, "push", now), More: digest(more, 10, 1000)})
	case incidents.PageCall:
		if e.phone == nil {
			return errNoSender
		}
		return e.placeCall(ctx, inc, pc.Name, now, "", spokenDigest(more))
	}
	return incidents.Errorf(incidents.Invalid, "unknown method %q", a.Method)
}

// direct messages the person on every chat platform they have an account
// on; it fails when none took the message.
func (e *escalator) direct(ctx context.Context, inc *incidents.Incident, pc PersonConfig, now time.Time, more string) error {
	text := fmt.Sprintf("You are paged: %s (%s, team %s) is not acknowledged, open for %s: %s", inc.ID, inc.Severity, orNone(inc.Team),
		templates.Duration(now.Sub(inc.CreatedAt)), clip(inc.Title, 200))
	if u := e.s.incidentURL(inc.ID); u != "" {
		text += " " + u
	}
	if more != "" {
		text += "\n" + more
	}
	var firstErr error
	sent := false
	for _, acc := range []struct{ platform, id string }{{Slack, pc.Slack}, {Mattermost, pc.Mattermost}, {Telegram, pc.Telegram}} {
		m, ok := e.s.outboxChat(acc.platform).(Mentioner)
		if acc.id == "" || !ok {
			continue
		}
		if err := m.Direct(ctx, acc.id, text); err != nil {
			e.s.log.Warn("page by direct message failed", "incident", inc.ID, "person", pc.Name, "platform", acc.platform, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		sent = true
	}
	switch {
	case sent:
		return nil
	case firstErr != nil:
		return firstErr
	}
	return errNoSender
}

// incidentURL is the incident's console page, or "" without a public URL.
func (s *Server) incidentURL(id string) string {
	if s.cfg.Server.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(s.cfg.Server.PublicURL, "/") + "/ui/incidents/" + id
}

// mayHaveReached says whether a failed call or text, by its error code,
// may still have reached Twilio: a timeout, a cancellation, an answer
// without the call's SID, or a 5xx other than 503 (a server or gateway
// error after the request went out). A 429, a 503 (not taken in), a
// refusal or a connection that never opened is a definite "not sent".
func mayHaveReached(code string) bool {
	switch code {
	case "timeout", "canceled", "bad_response":
		return true
	case "http_503", "twilio_20503":
		return false
	}
	return strings.HasPrefix(code, "http_5") || strings.HasPrefix(code, "twilio_205")
}
