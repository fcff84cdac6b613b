// Package ical writes calendar feeds in iCalendar form (RFC 5545), the
// kind Google Calendar, Outlook, Apple Calendar and Thunderbird subscribe
// to by URL: klaxon serves on-call shifts this way.
//
// The output is deliberately plain, the subset every client reads alike:
// one VCALENDAR with METHOD:PUBLISH, and VEVENTs whose times are UTC
// DATE-TIMEs (20260105T020000Z), so no VTIMEZONE is needed and no client
// can apply a time zone of its own wrongly. Lines end in CRLF and are folded
// at 75 octets without splitting a UTF-8 sequence; text is escaped and
// stripped of control characters, so no value can end a line or inject a
// property. A feed Google Calendar cannot parse is dropped whole and in
// silence, hence the strictness.
//
// The package is pure: it imports the standard library only and does no I/O
// beyond the io.Writer it is given.
package ical

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ContentType is the media type to serve a feed with.
const ContentType = "text/calendar; charset=utf-8"

// DefaultProdID names the program that made a feed when Calendar.ProdID
// is empty.
const DefaultProdID = "-//klaxon//klaxon on-call//EN"

// DefaultRefreshInterval is how often clients are asked to fetch the feed
// again when Calendar.RefreshInterval is 0. Google Calendar ignores it and
// refreshes every 12 to 24 hours; Outlook and Apple Calendar honour it.
const DefaultRefreshInterval = time.Hour

// Calendar is a feed: its name and description as clients show them, and
// its events.
type Calendar struct {
	// ProdID identifies the program that made the feed (PRODID), like
	// "-//klaxon//klaxon 1.4//EN"; default DefaultProdID.
	ProdID string
	// Name is the calendar's name, shown when someone subscribes (NAME and
	// X-WR-CALNAME). Optional.
	Name string
	// Description says what the calendar holds (X-WR-CALDESC). Optional.
	Description string
	// RefreshInterval is how often a client should fetch the feed again
	// (REFRESH-INTERVAL and X-PUBLISHED-TTL), whole seconds, at least one;
	// default DefaultRefreshInterval.
	RefreshInterval time.Duration
	// Events are written in this order.
	Events []Event
}

// Event is one VEVENT: an on-call shift, an override, a maintenance window.
type Event struct {
	// UID identifies the event across versions of the feed, so that a
	// client updates it in place instead of adding a copy. It must stay the
	// same when the event changes and be unique in the calendar; RFC 7986
	// suggests a random or hashed value, e.g. "shift-3f9a1c@klaxon.example".
	// Required.
	UID string
	// Start and End bound the event; End must be after Start. They are
	// written in UTC to the second.
	Start, End time.Time
	// Stamp is when this copy of the event was made (DTSTAMP), usually the
	// time the feed is served. Required.
	Stamp time.Time
	// Modified, if set, is when the event last changed (LAST-MODIFIED).
	Modified time.Time
	// Sequence counts the event's revisions (SEQUENCE, 0 when new). Raise
	// it when the event's times change: Google Calendar and Outlook keep
	// their copy of an event whose SEQUENCE did not grow.
	Sequence int
	// Summary is the event's title, e.g. "On call: payments (alice)".
	Summary string
	// Description is its longer text; newlines are kept.
	Description string
	// Location, if set, is where it happens (or a bridge's phone number).
	Location string
	// URL, if set, links to the event's page: an absolute http(s) URL.
	URL string
	// Categories tag the event (CATEGORIES), e.g. "on-call", "payments".
	Categories []string
	// Busy marks the time as busy in free/busy lookups (TRANSP:OPAQUE).
	// By default an event is TRANSPARENT: a week on call must not make
	// its person look unavailable for every meeting.
	Busy bool
}

// dateTime is RFC 5545's UTC DATE-TIME form.
const dateTime = "20060102T150405Z"

// maxLine is the most octets a line may hold, CRLF excluded (RFC 5545 3.1).
const maxLine = 75

// Validate reports the first thing wrong with c: an event without UID or
// Stamp, two events with one UID, an End not after its Start, a time
// outside the years 1 to 9999, a URL that is not an absolute http(s) URL,
// a RefreshInterval that is negative or not whole seconds. Text is never
// wrong: it is escaped and stripped of control characters.
func (c *Calendar) Validate() error {
	if c.RefreshInterval < 0 || c.RefreshInterval%time.Second != 0 {
		return fmt.Errorf("ical: refresh interval %v is not a positive number of whole seconds", c.RefreshInterval)
	}
	seen := make(map[string]int, len(c.Events))
	for i := range c.Events {
		e := &c.Events[i]
		uid := Text(e.UID)
		if strings.TrimSpace(uid) == "" {
			return fmt.Errorf("ical: event %d (%.40q) has no UID", i, e.Summary)
		}
		if j, ok := seen[uid]; ok {
			return fmt.Errorf("ical: events %d and %d have the same UID %.60q", j, i, uid)
		}
		seen[uid] = i
		if e.Stamp.IsZero() {
			return fmt.Errorf("ical: event %.60q has no Stamp (DTSTAMP is required)", uid)
		}
		if e.Start.IsZero() || e.End.IsZero() {
			return fmt.Errorf("ical: event %.60q needs a Start and an End", uid)
		}
		for _, t := range []struct {
			name string
			t    time.Time
			opt  bool
		}{{"Start", e.Start, false}, {"End", e.End, false}, {"Stamp", e.Stamp, false}, {"Modified", e.Modified, true}} {
			if t.opt && t.t.IsZero() {
				continue
			}
			if y := t.t.UTC().Year(); y < 1 || y > 9999 {
				return fmt.Errorf("ical: event %.60q: %s %v is outside the years 1 to 9999", uid, t.name, t.t)
			}
		}
		if !e.End.Truncate(time.Second).After(e.Start.Truncate(time.Second)) {
			return fmt.Errorf("ical: event %.60q ends (%s) before or when it starts (%s)",
				uid, e.End.UTC().Format(time.RFC3339), e.Start.UTC().Format(time.RFC3339))
		}
		if e.Sequence < 0 {
			return fmt.Errorf("ical: event %.60q has a negative sequence %d", uid, e.Sequence)
		}
		if e.URL != "" {
			u, err := url.Parse(e.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				strings.ContainsFunc(e.URL, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsControl(r) || r == '"' }) {
				return fmt.Errorf("ical: event %.60q: URL %.80q is not an absolute http(s) URL without spaces", uid, e.URL)
			}
		}
	}
	return nil
}

// Encode validates c and writes it to w as an iCalendar feed. Nothing is
// written when c is not valid.
func Encode(w io.Writer, c Calendar) error {
	if err := c.Validate(); err != nil {
		return err
	}
	e := &encoder{w: bufio.NewWriter(w)}
	prodID := c.ProdID
	if Text(prodID) == "" {
		prodID = DefaultProdID
	}
	refresh := c.RefreshInterval
	if refresh == 0 {
		refresh = DefaultRefreshInterval
	}
	e.line("BEGIN", "VCALENDAR")
	e.line("VERSION", "2.0")
	e.line("PRODID", escape(prodID))
	e.line("CALSCALE", "GREGORIAN")
	e.line("METHOD", "PUBLISH")
	if Text(c.Name) != "" {
		e.line("NAME", escape(c.Name))
		e.line("X-WR-CALNAME", escape(c.Name))
	}
	if Text(c.Description) != "" {
		e.line("X-WR-CALDESC", escape(c.Description))
	}
	e.line("REFRESH-INTERVAL;VALUE=DURATION", duration(refresh))
	e.line("X-PUBLISHED-TTL", duration(refresh))
	for i := range c.Events {
		ev := &c.Events[i]
		e.line("BEGIN", "VEVENT")
		e.line("UID", escape(ev.UID))
		e.line("DTSTAMP", ev.Stamp.UTC().Format(dateTime))
		e.line("DTSTART", ev.Start.UTC().Format(dateTime))
		e.line("DTEND", ev.End.UTC().Format(dateTime))
		if !ev.Modified.IsZero() {
			e.line("LAST-MODIFIED", ev.Modified.UTC().Format(dateTime))
		}
		e.line("SEQUENCE", strconv.Itoa(ev.Sequence))
		e.line("SUMMARY", escape(ev.Summary))
		if Text(ev.Description) != "" {
			e.line("DESCRIPTION", escape(ev.Description))
		}
		if Text(ev.Location) != "" {
			e.line("LOCATION", escape(ev.Location))
		}
		if ev.URL != "" {
			e.line("URL", ev.URL) // a URI, not TEXT: not escaped
		}
		var cats []string
		for _, cat := range ev.Categories {
			if Text(cat) != "" {
				cats = append(cats, escape(cat))
			}
		}
		if len(cats) > 0 {
			e.line("CATEGORIES", strings.Join(cats, ","))
		}
		if ev.Busy {
			e.line("TRANSP", "OPAQUE")
		} else {
			e.line("TRANSP", "TRANSPARENT")
		}
		e.line("END", "VEVENT")
	}
	e.line("END", "VCALENDAR")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// duration writes d as an RFC 5545 DURATION, in whole seconds rounded
// down: PT1H, P1DT12H, PT1H0M30S (the grammar allows no gap between hours
// and seconds), P0D for zero or less.
func duration(d time.Duration) string {
	s := int64(d / time.Second)
	if s <= 0 {
		return "P0D"
	}
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	var b strings.Builder
	b.WriteByte('P')
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if h == 0 && m == 0 && s == 0 {
		return b.String()
	}
	b.WriteByte('T')
	switch {
	case h > 0:
		fmt.Fprintf(&b, "%dH", h)
		if m > 0 || s > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	case m > 0:
		fmt.Fprintf(&b, "%dM", m)
		if s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	default:
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}

// Text returns s as a TEXT value carries it: invalid UTF-8 replaced by
// U+FFFD, CRLF and lone CR turned into LF, and every other control
// character but tab removed. Encode writes exactly this, escaped; a reader
// gets exactly this back.
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, s)
}

// escape makes s a TEXT value: Text(s) with \ ; , and newlines escaped.
func escape(s string) string {
	s = Text(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// encoder writes content lines, folded, remembering the first error.
type encoder struct {
	w   *bufio.Writer
	err error
}

// line writes name:value folded at maxLine octets: the first line holds up
// to 75 octets, each continuation a space and up to 74, and a cut never
// falls inside a UTF-8 sequence.
func (e *encoder) line(name, value string) {
	if e.err != nil {
		return
	}
	s := name + ":" + value
	limit := maxLine
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		e.write(s[:cut])
		e.write("\r\n ")
		s = s[cut:]
		limit = maxLine - 1
	}
	e.write(s)
	e.write("\r\n")
}

func (e *encoder) write(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}
