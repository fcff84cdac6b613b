package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// The weekly noise report: at the day and time of teams[].report.weekly,
// in the team's time zone, every replica's reporter finds the week's
// report due and claims it, per destination, with a once-only key in the
// store (incidents.Once): one replica posts it to each channel, once,
// even across restarts. It posts through the outbox's per-destination
// rate limits, and honours a platform's 429.
//
// What it does on trouble:
//   - klaxon down at the time: the report is posted when it comes back,
//     if within reportGrace; later than that, that week's is skipped (a
//     "weekly" report on Wednesday is noise) and the log says so.
//   - a rate limit (ours or a 429): the claim is released and the next
//     tick tries again.
//   - any other failure: the report is not retried (it may have been
//     posted: nothing is sent twice), the log and the metric say so.

// Announcer posts klaxon's own text to a channel as a new message: each
// chat adapter escapes it as it escapes cards (no mention, no link, no
// markup from the text) and fits it to its platform's limits.
type Announcer interface {
	Announce(ctx context.Context, dest, text string) (ref string, err error)
}

const (
	// reportGrace is how late a weekly report may still be posted.
	reportGrace = 6 * time.Hour
	// reportHold is how long a replica holds a report's claim while it
	// posts it.
	reportHold = 2 * time.Minute
	// reportSpent keeps a posted report's key: past the next week's.
	reportSpent = 8 * 24 * time.Hour
	// reportEvery is how often each replica looks for due reports.
	reportEvery = 30 * time.Second
)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday, "mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday, "wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday, "fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// parseWeekly reads "Mon 09:00" (a day, English, any case, short or
// long; a 24-hour time) into the day and the minute of the day.
func parseWeekly(s string) (time.Weekday, int, error) {
	bad := fmt.Errorf("want a day and a time such as \"Mon 09:00\", got %q", clipValue(s))
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, bad
	}
	day, ok := weekdays[strings.ToLower(f[0])]
	h, m, ok2 := strings.Cut(f[1], ":")
	if !ok || !ok2 || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, 0, bad
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, 0, bad
	}
	return day, hh*60 + mm, nil
}

// lastSlot is the latest time at or before now that is day at minute in
// loc. A wall time that does not exist that day (a DST gap) is the time
// Go normalises it to.
func lastSlot(now time.Time, day time.Weekday, minute int, loc *time.Location) time.Time {
	l := now.In(loc)
	back := (int(l.Weekday()) - int(day) + 7) % 7
	d := l.AddDate(0, 0, -back)
	slot := time.Date(d.Year(), d.Month(), d.Day(), minute/60, minute%60, 0, 0, loc)
	if slot.After(now) {
		d = d.AddDate(0, 0, -7)
		slot = time.Date(d.Year(), d.Month(), d.Day(), minute/60, minute%60, 0, 0, loc)
	}
	return slot
}

// runReports looks for due weekly reports until ctx ends: every
// reportEvery, or sooner when a platform asked to retry after a while.
func (s *Server) runReports(ctx context.Context) {
	for {
		_, retry := s.postReports(ctx)
		wait := reportEvery
		if retry > 0 {
			wait = min(max(retry, time.Second), reportEvery)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// weeklyTeams reports whether any team has a weekly report.
func (s *Server) weeklyTeams() bool {
	for _, t := range s.cfg.Teams {
		if t.Report != nil && t.Report.Weekly != "" {
			return true
		}
	}
	return false
}

// PostReports posts the weekly reports due at the server's clock that no
// replica has posted yet, and returns how many messages it posted. Every
// replica's reporter calls it every reportEvery; tests call it after
// moving the clock.
func (s *Server) PostReports(ctx context.Context) int {
	n, _ := s.postReports(ctx)
	return n
}

// postReports is PostReports, saying also how soon a report that was
// rate limited may be tried again (0: none was).
func (s *Server) postReports(ctx context.Context) (posted int, retry time.Duration) {
	if s.outbox == nil || s.once == nil {
		return 0, 0
	}
	now := s.clock.Now()
	dests := teamDests(s.cfg)
	for _, t := range s.cfg.Teams {
		if t.Report == nil || t.Report.Weekly == "" {
			continue
		}
		day, minute, err := parseWeekly(t.Report.Weekly)
		if err != nil {
			continue // Validate refused it
		}
		slot := lastSlot(now, day, minute, s.teamLocation(t.Name))
		if now.Sub(slot) > reportGrace {
			continue
		}
		var digest string
		for _, d := range dests[t.Name] {
			ok, after, err := s.postReport(ctx, t.Name, slot, d, &digest)
			if err != nil {
				s.log.Warn("weekly noise report", "team", t.Name, "dest", d.key(), "err", err)
			}
			if ok {
				posted++
			}
			if after > 0 && (retry == 0 || after < retry) {
				retry = after
			}
		}
	}
	return posted, retry
}

// postReport posts team's report of the week to slot to d unless a
// replica did; digest is the text, made the first time it is needed.
// retry, when not 0, is how soon it may be tried again (a rate limit).
func (s *Server) postReport(ctx context.Context, team string, slot time.Time, d dest, digest *string) (ok bool, retry time.Duration, err error) {
	chat, _ := s.outbox.chats[d.platform].(Announcer)
	if chat == nil {
		return false, 0, nil
	}
	key := "report:" + team + ":" + slot.UTC().Format(time.RFC3339) + ":" + d.key()
	st, err := s.once.ClaimOnce(ctx, key, reportHold)
	if err != nil || st != incidents.OnceNew {
		return false, 0, err
	}
	spend := func() {
		if err := s.once.SpendOnce(context.WithoutCancel(ctx), key, reportSpent); err != nil {
			s.log.Warn("weekly noise report: cannot record it as posted", "team", team, "dest", d.key(), "err", err)
		}
	}
	release := func() { _ = s.once.ReleaseOnce(context.WithoutCancel(ctx), key) }
	if *digest == "" {
		n, err := s.NoiseReport(ctx, team, 7, slot)
		if err != nil {
			release() // the store: try again at the next tick
			return false, 0, err
		}
		*digest = n.Digest()
	}
	if until, ok := s.outbox.limits.take(d, callPost, s.outbox.now(), 0); !ok {
		release()
		return false, max(until.Sub(s.outbox.now()), time.Second), nil
	}
	_, err = chat.Announce(ctx, d.id, *digest)
	if err == nil {
		spend()
		s.metrics.reports.WithLabelValues(d.platform, "posted").Inc()
		s.log.Info("weekly noise report posted", "team", team, "dest", d.key(), "week_to", slot)
		return true, 0, nil
	}
	code, retryable, after := classify(err)
	if after > 0 {
		s.outbox.limits.pause(d, callPost, s.outbox.now().Add(after))
	}
	if definite(err) && retryable && !errors.Is(err, context.Canceled) {
		release()
		s.metrics.reports.WithLabelValues(d.platform, "retry").Inc()
		return false, max(after, time.Second), err
	}
	// Refused, or perhaps posted (a timeout, a 5xx): never twice.
	spend()
	s.metrics.reports.WithLabelValues(d.platform, "failed").Inc()
	return false, 0, fmt.Errorf("not posted (%s), not retried: %w", code, err)
}
