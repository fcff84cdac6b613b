package bot

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
)

// Cover requests: "/incident oncall cover @carol Sat 09:00-18:00" (or "4h")
// files a request in the store (incidents.CoverRequests) and answers in
// the channel, naming carol, with Accept and Decline buttons; carol gets
// a direct message saying so. Accept sets the override exactly as
// "/incident oncall override" does (carol must be allowed to change the
// team's schedule: teams[].responders), from the requested start (or now,
// if that has passed) until its end. Decline, or no answer by the start
// (at least coverMinAnswer after asking), changes nothing; the asker is
// told by direct message either way. The store hands each request to one
// taker — the first answer, or the expiry on whichever replica sees it
// first — so a request acts once across replicas.
//
// A button's key is
//
//	c1.<platform>.<request id>.<a|d>.<mac>                        (Slack, Telegram)
//	c1.<platform>.<request id>.<a|d>.<channel tag>.<expiry>.<mac> (Mattermost)
//
// signed like a card's (see ButtonSigner): the Mattermost form is bound to
// the channel and expires with the request.

const (
	coverVersion = "c1"
	// coverMinAnswer is the least time the person asked has to answer.
	coverMinAnswer = 30 * time.Minute
	// coverTick is how often each replica looks for unanswered requests.
	coverTick = 5 * time.Second
	// coverIDLen is the length of a request's id (base 36).
	coverIDLen = 10
)

// SignCover returns the key of the Accept (accept true) or Decline
// button of cover request id for platform, bound to channel until
// expires where the platform's keys must be; "" when none can be made.
func (s *ButtonSigner) SignCover(platform, channel, id string, accept bool, expires time.Time) string {
	tag, ok := platformTags[platform]
	if !ok || !keyWord(id) {
		return ""
	}
	a := "d"
	if accept {
		a = "a"
	}
	payload := coverVersion + "." + tag + "." + id + "." + a
	if boundPlatforms[platform] {
		if channel == "" || expires.Unix() < 0 {
			return ""
		}
		payload += "." + s.channelTag(channel) + "." + strconv.FormatInt(expires.Unix(), 36)
	}
	return s.seal(payload)
}

// isCoverKey reports whether key is shaped like a cover button's.
func isCoverKey(key string) bool { return strings.HasPrefix(key, coverVersion+".") }

// VerifyCover checks a cover button's key pressed on platform in channel
// at now and returns the request's id and whether it accepts. Every
// failure is Unauthorized with one message, but an expired bound key says
// that the request has expired.
func (s *ButtonSigner) VerifyCover(platform, channel, key string, now time.Time) (id string, accept bool, err error) {
	if len(key) > MaxButtonKey {
		return "", false, errBadKey()
	}
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", false, errBadKey()
	}
	payload, mac := key[:i], key[i+1:]
	f := strings.Split(payload, ".")
	bound := boundPlatforms[platform]
	if (!bound && len(f) != 4) || (bound && len(f) != 6) || f[0] != coverVersion || f[1] != platformTags[platform] || f[1] == "" ||
		!keyWord(f[2]) || (f[3] != "a" && f[3] != "d") || !hmac.Equal([]byte(mac), []byte(s.mac(payload))) {
		return "", false, errBadKey()
	}
	if bound {
		if channel == "" || !hmac.Equal([]byte(f[4]), []byte(s.channelTag(channel))) {
			return "", false, errBadKey()
		}
		exp, err := strconv.ParseInt(f[5], 36, 64)
		if err != nil {
			return "", false, errBadKey()
		}
		if now.After(time.Unix(exp, 0)) {
			return "", false, &incidents.Error{Kind: incidents.Unauthorized, Message: "This cover request has expired; nothing changed.", Err: ErrButtonExpired}
		}
	}
	return f[2], f[3] == "a", nil
}

// coverID is a new request's random id.
func coverID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, coverIDLen)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(digits))))
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		b[i] = digits[n.Int64()]
	}
	return string(b)
}

// coverSpan turns the request's when into instants in the schedule's zone.
func (s *Server) coverSpan(schedule string, w *CoverWhen, now time.Time) (from, until time.Time, err error) {
	if w.Duration > 0 {
		return now, now.Add(w.Duration), nil
	}
	loc := s.scheduleLoc(schedule)
	lt := now.In(loc)
	for d := 0; d < 8; d++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+d, 0, 0, 0, 0, loc)
		switch w.Day {
		case "today":
			if d != 0 {
				continue
			}
		case "tomorrow":
			if d != 1 {
				continue
			}
		default:
			if !strings.EqualFold(day.Weekday().String()[:3], w.Day) {
				continue
			}
		}
		from = time.Date(day.Year(), day.Month(), day.Day(), 0, w.From, 0, 0, loc)
		endDay := day.Day()
		if w.To <= w.From {
			endDay++
		}
		until = time.Date(day.Year(), day.Month(), endDay, 0, w.To, 0, 0, loc)
		if until.After(now) {
			return from, until, nil
		}
	}
	return time.Time{}, time.Time{}, incidents.Errorf(incidents.Invalid, "that time has passed; say a day ahead, such as Sat 09:00-18:00, or a duration such as 4h")
}

func (s *Server) scheduleLoc(schedule string) *time.Location {
	if sc := s.schedules[schedule]; sc != nil && len(sc.Layers) > 0 && sc.Layers[0].Location != nil {
		return sc.Layers[0].Location
	}
	return time.UTC
}

// coverText says when, in the schedule's zone: "Sat 7 Mar 09:00–18:00 CET".
func (s *Server) coverText(schedule string, from, until time.Time) string {
	loc := s.scheduleLoc(schedule)
	f, u := from.In(loc), until.In(loc)
	if f.YearDay() == u.YearDay() && f.Year() == u.Year() {
		return f.Format("Mon 2 Jan 15:04") + "–" + u.Format("15:04 MST")
	}
	return f.Format("Mon 2 Jan 15:04 MST") + " – " + u.Format("Mon 2 Jan 15:04 MST")
}

// askCover is /incident oncall cover.
func (s *Server) askCover(ctx context.Context, r chatops.Request, actor string, known bool, c Command, t TeamConfig) (chatops.Reply, error) {
	if err := s.mayChange(&incidents.Incident{Team: t.Name, ID: "the " + t.Name + " schedule"}, actor, known); err != nil {
		return chatops.Reply{}, err
	}
	if !known {
		return chatops.Reply{}, incidents.Errorf(incidents.Forbidden, "klaxon does not know you (people in its config), so it could not tell you the answer")
	}
	person := s.people.mention(r.Platform, c.Person)
	if _, ok := s.people.byName[strings.ToLower(person)]; !ok {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "%s is not in people: klaxon could not call or message them", clip(person, 40))
	}
	if strings.EqualFold(person, actor) {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "ask someone else to cover for you (or use /incident oncall override)")
	}
	store, ok := s.store.(incidents.CoverRequests)
	if !ok {
		return chatops.Reply{}, incidents.Errorf(incidents.Internal, "this store keeps no cover requests")
	}
	now := s.clock.Now()
	from, until, err := s.coverSpan(t.Schedule, c.Cover, now)
	if err != nil {
		return chatops.Reply{}, err
	}
	if from.Before(now) {
		from = now
	}
	if d := until.Sub(from); d < time.Minute || until.Sub(now) > 14*24*time.Hour {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "cover for 1m to 14d ahead, e.g. Sat 09:00-18:00 or 4h")
	}
	expires := from
	if min := now.Add(coverMinAnswer); expires.Before(min) {
		expires = min
	}
	if expires.After(until) {
		expires = until
	}
	req := incidents.CoverRequest{ID: coverID(), Team: t.Name, Schedule: t.Schedule, Person: person, Asker: actor,
		From: from, Until: until, AskedAt: now, Expires: expires}
	accept := s.signer.SignCover(r.Platform, r.Channel, req.ID, true, expires.Add(time.Minute))
	decline := s.signer.SignCover(r.Platform, r.Channel, req.ID, false, expires.Add(time.Minute))
	if accept == "" || decline == "" {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "klaxon cannot make buttons here")
	}
	if err := store.AddCoverRequest(ctx, req); err != nil {
		return chatops.Reply{}, err
	}
	when := s.coverText(t.Schedule, from, until)
	s.metrics.covers.WithLabelValues("asked").Inc()
	s.log.Info("cover request", "id", req.ID, "team", t.Name, "person", person, "asker", actor, "from", from, "until", until)
	text := fmt.Sprintf("%s: %s asks you to be on call for %s %s. Accept or decline below; with no answer by %s nothing changes.",
		person, actor, t.Name, when, expires.In(s.scheduleLoc(t.Schedule)).Format("Mon 15:04 MST"))
	go s.tell(context.WithoutCancel(ctx), person, fmt.Sprintf("%s asks you to be on call for %s %s: answer with the buttons in the team's channel.", actor, t.Name, when))
	// A Mattermost choice names a post it stands for; a cover request
	// has none: a placeholder of the id's shape, which no check reads.
	card := strings.Repeat("0", 26-len(req.ID)) + req.ID
	return chatops.Reply{Text: text, Choices: []chatops.Choice{
		{Label: "Accept", Key: accept, Card: card},
		{Label: "Decline", Key: decline, Card: card},
	}}, nil
}

// keep marks a reply to a press that changed nothing: the request's
// buttons stay where the platform would replace them.
func keep(r chatops.Reply) chatops.Reply { r.KeepChoices = true; return r }

// coverButton answers a press on a cover request's Accept or Decline.
func (s *Server) coverButton(ctx context.Context, r chatops.Request, actor string, known bool) (chatops.Reply, string) {
	id, accept, err := s.signer.VerifyCover(r.Platform, r.Channel, r.Button, s.clock.Now())
	if err != nil {
		if !errors.Is(err, ErrButtonExpired) {
			return chatops.Reply{Text: "This button is not valid (is it from another klaxon?).", Ephemeral: true, Unauthorized: true}, "unauthorized"
		}
		return ephemeral(incidents.ErrorMessage(err)), "refused"
	}
	store, ok := s.store.(incidents.CoverRequests)
	if !ok {
		return ephemeral("This store keeps no cover requests."), "error"
	}
	gone := func() (chatops.Reply, string) {
		return ephemeral("This cover request was answered already, or has expired."), "not_found"
	}
	// Who may answer is checked on a read, so that a press by someone
	// else never takes the request from under the person's own.
	req, err := store.CoverRequest(ctx, id)
	if incidents.ErrorKind(err) == incidents.NotFound {
		return gone()
	}
	if err != nil {
		return keep(ephemeral(chatError(err))), resultOf(err)
	}
	isPerson, isAsker := strings.EqualFold(actor, req.Person), strings.EqualFold(actor, req.Asker)
	if !known || (!isPerson && !(isAsker && !accept)) {
		return keep(ephemeral("Only " + req.Person + " can answer this request.")), "refused"
	}
	if accept {
		if err := s.mayChange(&incidents.Incident{Team: req.Team, ID: "the " + req.Team + " schedule"}, actor, known); err != nil {
			return keep(ephemeral(chatError(err))), resultOf(err)
		}
	}
	req, err = store.TakeCoverRequest(ctx, id)
	if incidents.ErrorKind(err) == incidents.NotFound {
		return gone()
	}
	if err != nil {
		return ephemeral(chatError(err)), resultOf(err)
	}
	putBack := func() {
		if err := store.AddCoverRequest(context.WithoutCancel(ctx), *req); err != nil {
			s.log.Warn("cover request lost", "id", req.ID, "err", err)
		}
	}
	when := s.coverText(req.Schedule, req.From, req.Until)
	if !accept {
		who := req.Person + " declined"
		if !isPerson {
			who = req.Asker + " withdrew the request"
		}
		s.log.Info("cover request declined", "id", req.ID, "by", actor)
		if isPerson {
			s.metrics.covers.WithLabelValues("declined").Inc()
		} else {
			s.metrics.covers.WithLabelValues("withdrawn").Inc()
		}
		if isPerson {
			go s.tell(context.WithoutCancel(ctx), req.Asker, fmt.Sprintf("%s declined to be on call for %s %s; nothing changed.", req.Person, req.Team, when))
		}
		return chatops.Reply{Text: fmt.Sprintf("%s: %s %s; nothing changed.", who, req.Team, when)}, "ok"
	}
	ov, ok := s.store.(incidents.Overrides)
	if !ok {
		putBack()
		return keep(ephemeral("This store keeps no overrides.")), "error"
	}
	now := s.clock.Now()
	from := req.From
	if from.Before(now) {
		from = now
	}
	if !req.Until.After(from) {
		return ephemeral("This cover request has ended; nothing changed."), "not_found"
	}
	o := incidents.OnCallOverride{Schedule: req.Schedule, Person: req.Person, From: from, Until: req.Until, SetBy: req.Person + " (covering for " + req.Asker + ")", SetAt: now}
	if err := ov.AddOverride(ctx, o); err != nil {
		putBack()
		return keep(ephemeral(chatError(err))), resultOf(err)
	}
	s.metrics.covers.WithLabelValues("accepted").Inc()
	s.log.Info("cover request accepted: on-call override", "id", req.ID, "schedule", req.Schedule, "person", req.Person, "from", from, "until", req.Until)
	go s.tell(context.WithoutCancel(ctx), req.Asker, fmt.Sprintf("%s accepted: %s is on call for %s %s.", req.Person, req.Person, req.Team, when))
	return chatops.Reply{Text: fmt.Sprintf("%s accepted: %s is on call for %s %s (covering for %s).", req.Person, req.Person, req.Team, when, req.Asker)}, "ok"
}

// expireCovers tells the askers of the requests nobody answered in time.
func (s *Server) expireCovers(ctx context.Context) error {
	store, ok := s.store.(incidents.CoverRequests)
	if !ok {
		return nil
	}
	for {
		list, err := store.TakeExpiredCoverRequests(ctx, s.clock.Now(), 20)
		if err != nil {
			return err
		}
		for _, req := range list {
			s.metrics.covers.WithLabelValues("expired").Inc()
			s.log.Info("cover request unanswered", "id", req.ID, "person", req.Person, "asker", req.Asker)
			s.tell(ctx, req.Asker, fmt.Sprintf("%s did not answer your request to be on call for %s %s; nothing changed.",
				req.Person, req.Team, s.coverText(req.Schedule, req.From, req.Until)))
		}
		if len(list) < 20 {
			return nil
		}
	}
}

// runCovers looks for unanswered requests every coverTick until ctx ends.
func (s *Server) runCovers(ctx context.Context) {
	t := time.NewTicker(coverTick)
	defer t.Stop()
	for ctx.Err() == nil {
		if err := s.expireCovers(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("cover request check failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// tell sends person text as a direct message on each platform they have an
// account on, within the outbox's rate limits.
func (s *Server) tell(ctx context.Context, person, text string) {
	for _, p := range s.cfg.People {
		if !strings.EqualFold(p.Name, person) {
			continue
		}
		for _, acc := range []dest{{Slack, p.Slack}, {Mattermost, p.Mattermost}, {Telegram, p.Telegram}} {
			m, ok := s.outboxChat(acc.platform).(Mentioner)
			if acc.id == "" || !ok {
				continue
			}
			if s.outbox != nil {
				now := time.Now()
				until, ok := s.outbox.limits.take(acc, callDirect, now, handoverMaxWait)
				if !ok {
					s.log.Warn("direct message not sent: rate limited", "person", person, "platform", acc.platform)
					continue
				}
				sleepCtx(ctx, until.Sub(now))
			}
			if err := m.Direct(ctx, acc.id, text); err != nil {
				s.log.Warn("direct message failed", "person", person, "platform", acc.platform, "err", err)
			}
		}
	}
}
