package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Phone places escalation calls (adapters/twilio). The call speaks say and
// gathers one digit, posted to gatherURL; its progress is posted to
// statusURL.
type Phone interface {
	Call(ctx context.Context, to, say, gatherURL, statusURL string) (sid string, err error)
}

// escalator is the scheduler every replica runs: it claims incidents whose
// next escalation step is due (the store's index, with a lease), runs the
// step once (a once-only key in the store guards the phone call against two
// replicas racing past a lease), and moves the incident on.
type escalator struct {
	s        *Server
	box      incidents.Escalations
	policies map[string]*incidents.Policy
	phone    Phone
	// throttles keeps the page throttles; nil when the store has none.
	throttles incidents.Throttles
	lease     time.Duration
	poke      chan struct{}
}

func newEscalator(s *Server, d Deps) *escalator {
	box, ok := d.Store.(incidents.Escalations)
	if !ok || len(s.cfg.Policies) == 0 {
		return nil
	}
	e := &escalator{s: s, box: box, phone: d.Phone, lease: time.Minute, poke: make(chan struct{}, 1),
		policies: map[string]*incidents.Policy{}}
	for _, p := range s.cfg.Policies {
		e.policies[p.Name] = p.Policy()
	}
	e.throttles, _ = d.Store.(incidents.Throttles)
	return e
}

// policyOf is the policy of a team's incidents, or nil.
func (e *escalator) policyOf(team string) *incidents.Policy {
	if e == nil {
		return nil
	}
	if t, ok := e.s.teams[team]; ok && t.Policy != "" {
		return e.policies[t.Policy]
	}
	return nil
}

// start is IngestOptions.Start: a new or reopened incident begins its
// team's policy.
func (e *escalator) start(inc *incidents.Incident, now time.Time) {
	if p := e.policyOf(inc.Team); p != nil {
		inc.BeginEscalation(p, now)
	}
}

func (e *escalator) notify() {
	if e == nil {
		return
	}
	select {
	case e.poke <- struct{}{}:
	default:
	}
}

// maxSteps bounds the steps one replica runs at once; it claims no more
// than it can run.
const maxSteps = 32

// run claims and runs due steps until ctx ends.
func (e *escalator) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxSteps)
	freed := make(chan struct{}, 1) // a step ended: a slot is free
	for ctx.Err() == nil {
		free := maxSteps - len(slots)
		if free == 0 {
			// Every slot runs a step: claim again as soon as one ends,
			// not after the idle wait (a burst of due steps would run
			// at maxSteps per idle wait).
			select {
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		ids, err := e.box.ClaimDue(ctx, e.s.clock.Now(), min(free, 16), e.lease)
		if err != nil && ctx.Err() == nil {
			e.s.log.Warn("escalation claim failed", "err", err)
		}
		for _, id := range ids {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.lease/2)
				defer cancel()
				if err := e.step(sctx, id); err != nil {
					e.s.log.Warn("escalation step failed; it runs again when its claim ends", "incident", id, "err", err)
				}
			}()
		}
		if len(ids) == 0 {
			t := time.NewTimer(250 * time.Millisecond)
			select {
			case <-ctx.Done():
			case <-e.poke:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

var errMovedOn = errors.New("the escalation moved on meanwhile")

// step runs the incident's due step once and moves it on.
func (e *escalator) step(ctx context.Context, id string) error {
	now := e.s.clock.Now()
	inc, err := e.s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if inc.Maintenance != nil && inc.State == incidents.Triggered && !inc.StepDue().IsZero() && !inc.StepDue().After(now) {
		// Held by a maintenance window that should have ended: held
		// longer if another covers it, else its policy starts now.
		cur, held, err := e.s.releaseDue(ctx, inc, now)
		if err != nil || held {
			return err
		}
		inc = cur
	}
	// Page attempts first: they are due on their own times.
	ran := len(inc.DuePages(now)) > 0 && inc.State == incidents.Triggered
	if ran {
		if inc, err = e.runPages(ctx, inc, now); err != nil {
			return err
		}
	}
	p := e.policies[policyName(inc)]
	st, ok := inc.CurrentStep(p)
	switch {
	case ran && (inc.StepDue().IsZero() || inc.StepDue().After(now)):
		return nil // the attempts' record filed the incident's next due time
	case !ok && inc.Escalation != nil && !inc.Escalation.DueAt.IsZero():
		// The policy finished, was removed or shortened: nothing more is
		// due (this takes the incident out of the index).
		_, err := e.s.store.Update(ctx, id, func(cur *incidents.Incident) error {
			if cur.Escalation != nil {
				cur.Escalation.DueAt = time.Time{}
			}
			return nil
		})
		return err
	case inc.Due().IsZero():
		return nil // out of the index already (acked, resolved)
	case !ok || inc.StepDue().IsZero() || inc.StepDue().After(now):
		if !inc.Due().After(now) {
			return nil // page attempts due that did not run (the store failed): again when the claim ends
		}
		// Due later (snoozed meanwhile): file the real due time again in
		// place of the claim's.
		_, err := e.s.store.Update(ctx, id, func(*incidents.Incident) error { return nil })
		return err
	}
	key := inc.Escalation.StepKey()
	first, err := e.box.StepOnce(ctx, id, key, 24*time.Hour)
	if err != nil {
		return err
	}
	if !first {
		// Another scheduler runs this step, or ran it and died. The first
		// time, give it a lease's time to finish; after that, move on
		// without running the step again.
		if wait, err := e.box.StepOnce(ctx, id, key+":waited", 24*time.Hour); err != nil || wait {
			if err == nil {
				_, err = e.s.store.Update(ctx, id, func(cur *incidents.Incident) error {
					if cur.Escalation == nil || cur.Escalation.StepKey() != key {
						return errMovedOn
					}
					cur.Escalation.DueAt = now.Add(e.lease)
					return nil
				})
				if errors.Is(err, errMovedOn) {
					err = nil
				}
			}
			return err
		}
	}
	text := ""
	var pages []incidents.Page
	var attempts []incidents.PageAttempt
	if first {
		e.s.metrics.escalationLateness.Observe(max(0, now.Sub(inc.StepDue()).Seconds()))
		text, pages, attempts = e.act(ctx, inc, st, now)
		e.s.metrics.escalationSteps.WithLabelValues(string(st.Kind)).Inc()
	}
	// Its own deadline: the step may have used the claim's.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	after, err := e.s.store.Update(uctx, id, func(cur *incidents.Incident) error {
		if cur.Escalation == nil || cur.Escalation.StepKey() != key {
			return errMovedOn
		}
		if text != "" {
			cur.AddEvent(now, incidents.EventEscalated, "klaxon", text)
		}
		for _, pg := range pages {
			cur.RecordPage(pg.At, pg.Kind, pg.Person)
		}
		if len(attempts) > 0 {
			cur.AddPages(attempts...)
		}
		if !cur.AdvanceEscalation(p, now) {
			if cur.NextPage().IsZero() {
				cur.AddEvent(now, incidents.EventEscalated, "klaxon", "Escalation policy "+p.Name+" finished: nobody acknowledged")
			} else {
				cur.AddEvent(now, incidents.EventEscalated, "klaxon", "Escalation policy "+p.Name+": every step run; the pages go on through each person's rules")
			}
		}
		// Acknowledged or snoozed while the step ran: that stands.
		if cur.State != incidents.Triggered {
			cur.Escalation.DueAt = time.Time{}
		} else if cur.SnoozedUntil.After(cur.Escalation.DueAt) && !cur.Escalation.DueAt.IsZero() {
			cur.Escalation.DueAt = cur.SnoozedUntil
		}
		return nil
	})
	if errors.Is(err, errMovedOn) {
		return nil
	}
	if err == nil {
		e.s.changed(id)
		if len(attempts) > 0 {
			// The attempts due now, at once: no wait for the next claim
			// (another scheduler that claims the incident meanwhile
			// sends none of them twice: each try is once-only).
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.lease/2)
			defer cancel()
			_, err = e.runPages(pctx, after, now)
		}
	}
	return err
}

func policyName(inc *incidents.Incident) string {
	if inc.Escalation == nil {
		return ""
	}
	return inc.Escalation.Policy
}

// act runs one step and says what it did, for the timeline, and whom it
// reached (the pages the report counts).
func (e *escalator) act(ctx context.Context, inc *incidents.Incident, st incidents.Step, now time.Time) (string, []incidents.Page, []incidents.PageAttempt) {
	switch st.Kind {
	case incidents.StepNotify:
		return "Escalation: the team's channels are notified (the card)", nil, nil
	case incidents.StepPage:
		text, attempts := e.planPages(ctx, inc, st.Target, now)
		return text, nil, attempts
	case incidents.StepMention:
		who := e.resolve(ctx, inc, st.Target, now)
		if len(who) == 0 {
			return "Escalation: nobody to warn (" + st.Target + " names no one now)", nil, nil
		}
		var parts []string
		var pages []incidents.Page
		for _, p := range who {
			how := e.warn(ctx, inc, p, now)
			parts = append(parts, p+how)
			if how != "" {
				pages = append(pages, incidents.Page{At: now, Kind: "mention", Person: p})
			}
		}
		return "Escalation: warning " + strings.Join(parts, ", "), pages, nil
	case incidents.StepCall:
		who := e.resolve(ctx, inc, st.Target, now)
		if len(who) == 0 {
			return "Escalation: nobody to call (" + st.Target + " names no one now)", nil, nil
		}
		extra := ""
		if st.Target == "oncall" {
			extra = "&oncall=1" // no answer: the next person in the rotation is called
		}
		text, placed, held := e.call(ctx, inc, who[0], now, extra)
		if held && extra != "" {
			// Held back: nobody will answer, so on as when nobody
			// does: the next person in the rotation, once.
			if next, called := e.rollOver(ctx, inc, who[0], "", now); next != "" {
				text += "; " + lowerFirst(strings.TrimPrefix(next, "Escalation: "))
				if called != "" {
					return text, []incidents.Page{{At: now, Kind: "call", Person: called}}, nil
				}
			}
		}
		if !placed {
			return text, nil, nil
		}
		return text, []incidents.Page{{At: now, Kind: "call", Person: who[0]}}, nil
	}
	return "", nil, nil
}

// resolve names the people a target means now.
func (e *escalator) resolve(ctx context.Context, inc *incidents.Incident, target string, now time.Time) []string {
	switch {
	case target == "oncall":
		sc, err := e.s.schedule(ctx, e.s.teams[inc.Team].Schedule, now)
		if err != nil {
			e.s.log.Warn("reading on-call overrides failed; using the rotation", "err", err)
			sc = e.s.schedules[e.s.teams[inc.Team].Schedule]
		}
		if sc != nil {
			if p, _, ok := sc.OnCall(now); ok {
				return []string{p}
			}
		}
		return nil
	case e.s.teams[target].Name != "":
		return e.s.teams[target].Responders
	}
	if n, ok := e.s.people.byName[strings.ToLower(target)]; ok {
		return []string{n}
	}
	return nil
}

// call phones person about inc; placed says the provider took the call,
// held that the person's call throttle held it back (nothing placed).
//
// A call step's calls count in the same window as the page step's calls
// (the key person/call, paging.throttle.call): a full window holds the
// call back, and the escalation goes on as when a call is not answered.
// A call step folds nothing: it neither tells of the page step's
// held-back calls (their attempts ask the throttle again when due and go
// out alone or folded into a page step's call) nor is its own held-back
// call folded into a later one (it has no page attempt; the next step
// goes on as usual).
func (e *escalator) call(ctx context.Context, inc *incidents.Incident, person string, now time.Time, extra string) (text string, placed, held bool) {
	if !e.hasPhone(person) {
		e.s.metrics.phoneCalls.WithLabelValues("not_placed").Inc()
		return "Escalation: cannot call " + person + " (no phone number, or no phone provider configured)", false, false
	}
	slot, held := e.callThrottle(ctx, inc, person, now)
	if held {
		e.s.metrics.pagesThrottled.WithLabelValues(string(incidents.PageCall)).Inc()
		return "Call to " + person + " held back by the throttle (" + e.s.cfg.Paging.Throttle.For(incidents.PageCall).String() + ")", false, true
	}
	err := e.placeCall(ctx, inc, person, now, extra, "")
	if err != nil {
		e.unthrottle(ctx, incidents.PageAttempt{Person: person, Method: incidents.PageCall}, slot)
	}
	switch {
	case errors.Is(err, errNoPhone):
		return "Escalation: cannot call " + person + " (no phone number, or no phone provider configured)", false, false
	case err != nil:
		return "Escalation: calling " + person + " failed (" + clip(err.Error(), 120) + ")", false, false
	}
	return "Escalation: calling " + person, true, false
}

// hasPhone reports whether person can be called at all.
func (e *escalator) hasPhone(person string) bool {
	if e.phone == nil {
		return false
	}
	for _, p := range e.s.cfg.People {
		if strings.EqualFold(p.Name, person) && p.Phone != "" {
			return true
		}
	}
	return false
}

// callThrottle asks person's call throttle for a call step's call: held
// when the window is full; otherwise slot is the admission to give back
// if the call is not placed. A store that cannot answer lets the call go
// (as for the page step).
func (e *escalator) callThrottle(ctx context.Context, inc *incidents.Incident, person string, now time.Time) (slot string, held bool) {
	limit := e.s.cfg.Paging.Throttle.For(incidents.PageCall).Limit()
	if e.throttles == nil || !limit.On() {
		return "", false
	}
	res, err := e.throttles.Throttle(ctx, throttleKey(person, incidents.PageCall), inc.ID, now, limit)
	if err != nil {
		e.s.log.Warn("throttle not checked; placing the call", "incident", inc.ID, "person", person, "err", err)
		return "", false
	}
	if !res.Admitted {
		return "", true
	}
	return res.Slot, false
}

var errNoPhone = errors.New("no phone number, or no phone provider configured")

// placeCall phones person about inc.
// more is spoken after the call's text (incidents folded into the call).
func (e *escalator) placeCall(ctx context.Context, inc *incidents.Incident, person string, now time.Time, extra, more string) error {
	phone := ""
	for _, p := range e.s.cfg.People {
		if strings.EqualFold(p.Name, person) {
			phone = p.Phone
		}
	}
	if phone == "" || e.phone == nil {
		e.s.metrics.phoneCalls.WithLabelValues("not_placed").Inc()
		return errNoPhone
	}
	base := strings.TrimRight(e.s.cfg.Server.PublicURL, "/")
	// Twilio signs its callbacks over the whole URL, query included: the
	// handlers trust incident and person only after checking that.
	// exp bounds replays of a captured callback (Twilio's signature, which
	// covers the query, has no time in it).
	q := "?incident=" + inc.ID + "&person=" + url.QueryEscape(person) + extra + "&exp=" + strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	say, err := e.s.tmpl.CallText(inc, now)
	if err != nil {
		e.s.log.Error("phone.tmpl failed; using the plain call text", "err", err)
		say = fmt.Sprintf("This is klaxon. %s incident %s: %s. Press 1 to acknowledge. Press 2 to escalate.", inc.Severity, inc.ID, inc.Title)
	}
	say += more
	if _, err := e.phone.Call(ctx, phone, say, base+"/twilio/gather"+q, base+"/twilio/status"+q); err != nil {
		e.s.metrics.phoneCalls.WithLabelValues("failed").Inc()
		e.s.log.Warn("escalation call failed", "incident", inc.ID, "person", person, "err", err)
		return err
	}
	e.s.metrics.phoneCalls.WithLabelValues("placed").Inc()
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// noAnswer calls the next person in the rotation when an on-call call
// found nobody, once per step. called is who was called ("" when nobody).
func (e *escalator) noAnswer(ctx context.Context, id, person, callSID string, now time.Time) (text, called string) {
	inc, err := e.s.store.Get(ctx, id)
	if err != nil || inc.State != incidents.Triggered || inc.Escalation == nil {
		return "", ""
	}
	return e.rollOver(ctx, inc, person, callSID, now)
}

// rollOver calls the next person in the rotation after person, once per
// step (per call with callSID): person did not answer, or their call was
// held back by the throttle. called is who was called ("" when nobody).
func (e *escalator) rollOver(ctx context.Context, inc *incidents.Incident, person, callSID string, now time.Time) (text, called string) {
	id := inc.ID
	sc, err := e.s.schedule(ctx, e.s.teams[inc.Team].Schedule, now)
	if err != nil || sc == nil {
		return "", ""
	}
	next, ok := sc.After(person, now)
	if !ok || strings.EqualFold(next, person) {
		return "", ""
	}
	// Once per unanswered call (Twilio may post its callback again).
	key := "noanswer-" + callSID
	if callSID == "" {
		key = "noanswer-" + strings.ToLower(person) + "-" + inc.Escalation.StepKey()
	}
	if first, err := e.box.StepOnce(ctx, id, key, 24*time.Hour); err != nil || !first {
		return "", ""
	}
	text, placed, _ := e.call(ctx, inc, next, now, "&fallback=1")
	if callSID == "" {
		text += " (next in the rotation)"
	} else {
		text += " (" + person + " did not answer; next in the rotation)"
	}
	if placed {
		return text, next
	}
	return text, ""
}

// Mentioner is a Chat that can also notify one person: in the card's
// thread, and directly.
type Mentioner interface {
	Mention(ctx context.Context, ref, userID, text string) error
	Direct(ctx context.Context, userID, text string) error
}

// warn mentions person under the incident's cards and messages them
// directly, on every platform they have an account on; it says where, for
// the timeline (" (Slack thread and DM, Telegram DM)").
func (e *escalator) warn(ctx context.Context, inc *incidents.Incident, person string, now time.Time) string {
	var pc PersonConfig
	for _, p := range e.s.cfg.People {
		if strings.EqualFold(p.Name, person) {
			pc = p
		}
	}
	text := fmt.Sprintf("%s (%s, team %s) is not acknowledged, open for %s: %s", inc.ID, inc.Severity, orNone(inc.Team),
		templates.Duration(now.Sub(inc.CreatedAt)), clip(inc.Title, 200))
	var refs map[string]incidents.Delivery
	if e.s.outbox != nil {
		refs, _ = e.s.outbox.box.Deliveries(ctx, inc.ID)
	}
	var done []string
	for _, acc := range []struct{ platform, id string }{{Slack, pc.Slack}, {Mattermost, pc.Mattermost}, {Telegram, pc.Telegram}} {
		m, ok := e.s.outboxChat(acc.platform).(Mentioner)
		if acc.id == "" || !ok {
			continue
		}
		var how []string
		for dest, d := range refs {
			if strings.HasPrefix(dest, acc.platform+":") && d.Ref != "" {
				if err := m.Mention(ctx, d.Ref, acc.id, text); err != nil {
					e.s.log.Warn("escalation mention failed", "incident", inc.ID, "person", person, "dest", dest, "err", err)
				} else if len(how) == 0 {
					how = append(how, "thread")
				}
			}
		}
		if err := m.Direct(ctx, acc.id, text); err != nil {
			e.s.log.Warn("escalation direct message failed", "incident", inc.ID, "person", person, "platform", acc.platform, "err", err)
		} else {
			how = append(how, "DM")
		}
		if len(how) > 0 {
			done = append(done, platformTitle(acc.platform)+" "+strings.Join(how, " and "))
		}
	}
	if len(done) == 0 {
		return ""
	}
	return " (" + strings.Join(done, ", ") + ")"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
