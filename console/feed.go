package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/ical"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
)

// Calendar feeds: GET /ical/<token>.ics, outside the session (calendar
// apps have no cookie), the token being the secret. A schedule's feed
// has its shifts; a person's, their shifts on every schedule.

// The window a feed covers.
const (
	feedBack  = 14 * 24 * time.Hour
	feedAhead = 8 * 7 * 24 * time.Hour
)

// feedRefresh asks clients that honour it (Outlook, Apple Calendar,
// Thunderbird) to look again every 30 minutes; Google Calendar refreshes
// every 12 to 24 hours whatever the feed says.
const feedRefresh = 30 * time.Minute

func (c *Console) feed(w http.ResponseWriter, r *http.Request) {
	notFound := func() { http.Error(w, "no such calendar feed (the link may have been renewed)", http.StatusNotFound) }
	token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok || c.o.Feeds == nil || token == "" {
		notFound()
		return
	}
	ctx := r.Context()
	name, err := c.o.Feeds.FeedOf(ctx, token)
	if err != nil {
		if incidents.ErrorKind(err) == incidents.NotFound || incidents.ErrorKind(err) == incidents.Invalid {
			notFound()
			return
		}
		c.log.Warn("console: reading a calendar feed's token failed", "err", err)
		w.Header().Set("Retry-After", "60")
		http.Error(w, "klaxon cannot reach its store right now; try again later", http.StatusServiceUnavailable)
		return
	}
	now := c.clock.Now()
	// The window starts at a UTC midnight, so that the first shift (cut
	// at the window's start) keeps its UID for a day.
	from := now.UTC().Truncate(24 * time.Hour).Add(-feedBack)
	until := from.Add(feedBack + feedAhead + 24*time.Hour)
	scheds, err := c.o.Backend.Schedules(ctx, from)
	if err != nil {
		c.log.Warn("console: reading schedules for a calendar feed failed", "err", err)
		http.Error(w, "klaxon cannot read its schedules right now; try again later", http.StatusServiceUnavailable)
		return
	}
	cal, ok := c.calendar(name, scheds, from, until, now)
	if !ok {
		notFound()
		return
	}
	// The ETag is of the events, not of DTSTAMP (the time served): a
	// client asking again gets 304 until a shift changes.
	h := sha256.New()
	for _, e := range cal.Events {
		h.Write([]byte(e.UID + "\x00" + e.Start.UTC().Format(time.RFC3339) + "\x00" + e.End.UTC().Format(time.RFC3339) + "\x00" + e.Summary + "\x00" + e.Description + "\x00"))
	}
	h.Write([]byte(cal.Name))
	etag := `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "private, max-age=300")
	hd.Set("Referrer-Policy", "no-referrer")
	if match := r.Header.Get("If-None-Match"); match != "" && slices.Contains(strings.Split(strings.ReplaceAll(match, " ", ""), ","), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var b bytes.Buffer
	if err := ical.Encode(&b, cal); err != nil {
		c.log.Error("console: a calendar feed does not encode", "feed", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd.Set("Content-Type", ical.ContentType)
	hd.Set("Content-Disposition", `inline; filename="klaxon-oncall.ics"`)
	w.Write(b.Bytes())
}

// calendar makes the feed named name ("schedule:payments",
// "person:alice") over [from, until); ok is false when it names no
// schedule or person there is now.
func (c *Console) calendar(name string, scheds []Schedule, from, until, now time.Time) (ical.Calendar, bool) {
	kind, who, _ := strings.Cut(name, ":")
	cal := ical.Calendar{RefreshInterval: feedRefresh}
	switch kind {
	case "schedule":
		i := slices.IndexFunc(scheds, func(s Schedule) bool { return s.Name == who })
		if i < 0 {
			return cal, false
		}
		scheds = scheds[i : i+1]
		cal.Name = "klaxon on-call: " + who
		cal.Description = "Who is on call for " + who + " (from klaxon; overrides included)."
	case "person":
		p, ok := c.o.Backend.FindPerson(who)
		if !ok || p.Name != who {
			return cal, false
		}
		cal.Name = "klaxon on-call: " + who
		cal.Description = who + "'s on-call shifts on every schedule (from klaxon; overrides included)."
	default:
		return cal, false
	}
	for _, sc := range scheds {
		rota := sc.Rota
		if rota == nil {
			continue
		}
		link := ""
		if c.base != "" {
			link = c.base + "/ui/oncall#s-" + url.PathEscape(sc.Name)
		}
		for _, sh := range rota.Shifts(from, until) {
			if kind == "person" && !strings.EqualFold(sh.Person, who) {
				continue
			}
			cal.Events = append(cal.Events, shiftEvent(name, sc, sh, now, link))
		}
	}
	return cal, true
}

// shiftEvent is a shift as a calendar event. Its UID is made of the feed,
// the schedule, the person, the times and the source, so that the same
// shift keeps it from one fetch to the next, and a changed one gets a new
// one (its old copy goes).
func shiftEvent(feed string, sc Schedule, sh oncall.Shift, now time.Time, link string) ical.Event {
	src := sourceWords(sh, len(sc.Rota.Layers))
	sum := sha256.Sum256([]byte(feed + "\x00" + sc.Name + "\x00" + sh.Person + "\x00" + sh.From.UTC().Format(time.RFC3339) + "\x00" +
		sh.Until.UTC().Format(time.RFC3339) + "\x00" + src))
	e := ical.Event{UID: hex.EncodeToString(sum[:12]) + "@klaxon", Start: sh.From, End: sh.Until, Stamp: now, URL: link,
		Categories: []string{"on-call", sc.Name}}
	e.Summary = "On call: " + sc.Name + " (" + sh.Person + ")"
	desc := sh.Person + " is on call for " + sc.Name
	if len(sc.Teams) > 0 {
		desc += " (" + strings.Join(sc.Teams, ", ") + ")"
	}
	desc += ", by " + src + "."
	if sh.Override {
		e.Summary = "On call (override): " + sc.Name + " (" + sh.Person + ")"
		for _, o := range sc.Overrides {
			if strings.EqualFold(o.Person, sh.Person) && !sh.From.Before(o.From) && !sh.Until.After(o.Until) {
				desc += " Set by " + o.SetBy + " at " + o.SetAt.UTC().Format("2006-01-02 15:04 UTC") + "."
				break
			}
		}
	}
	e.Description = desc
	return e
}
