package incidents

import (
	"strconv"
	"strings"
	"time"
)

// Weekly is a recurring weekly window in a time zone, such as
// "Sun 02:00-04:00" or "Mon-Fri 22:00-06:00" (an end at or before the start
// crosses midnight into the next day; "24:00" ends at midnight).
//
// Times are wall-clock times in Location, and the rule across a daylight
// saving change is: a window starts the first time the clock shows its start
// (or, when the clock skips that time, the moment it jumps past it) and ends
// the first time after that the clock shows its end (likewise). So
// "Sun 02:00-04:00" in Europe/Berlin lasts one hour on the Sunday the clocks
// go forward, and three on the Sunday they go back.
type Weekly struct {
	Days       [7]bool // by time.Weekday
	Start, End int     // minutes after midnight; End may be 1440
	Location   *time.Location
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekly parses "DAYS HH:MM-HH:MM": DAYS is a day ("Sun", "Sunday"),
// a list ("Sat,Sun") or a range ("Mon-Fri", which may wrap: "Fri-Mon"),
// case-insensitive. Errors: Invalid, with a message fit for a config error.
func ParseWeekly(spec string, loc *time.Location) (Weekly, error) {
	w := Weekly{Location: loc}
	if loc == nil {
		w.Location = time.UTC
	}
	fields := strings.Fields(spec)
	if len(fields) != 2 {
		return w, Errorf(Invalid, "want days and times such as \"Sun 02:00-04:00\" or \"Mon-Fri 22:00-06:00\", got %q", truncate(spec, 60))
	}
	for _, part := range strings.Split(fields[0], ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := parseDay(from)
		if !ok {
			return w, Errorf(Invalid, "unknown day %q (want Mon, Tue, Wed, Thu, Fri, Sat or Sun)", truncate(from, 20))
		}
		b := a
		if isRange {
			if b, ok = parseDay(to); !ok {
				return w, Errorf(Invalid, "unknown day %q (want Mon, Tue, Wed, Thu, Fri, Sat or Sun)", truncate(to, 20))
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			w.Days[d] = true
			if d == b {
				break
			}
		}
	}
	from, to, ok := strings.Cut(fields[1], "-")
	if !ok {
		return w, Errorf(Invalid, "want a time range such as 02:00-04:00, got %q", truncate(fields[1], 30))
	}
	var err error
	if w.Start, err = parseClock(from, false); err != nil {
		return w, err
	}
	if w.End, err = parseClock(to, true); err != nil {
		return w, err
	}
	if w.Start == w.End {
		return w, Errorf(Invalid, "the window %s is empty: its start and end are the same time", fields[1])
	}
	return w, nil
}

func parseDay(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 {
		return 0, false
	}
	d, ok := weekdays[s[:3]]
	if !ok {
		return 0, false
	}
	full := strings.ToLower(d.String())
	return d, s == s[:3] || s == full
}

// parseClock parses "HH:MM" into minutes after midnight; "24:00" only
// when allow24.
func parseClock(s string, allow24 bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) == 0 || len(h) > 2 || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 ||
		hh > 24 || (hh == 24 && (mm != 0 || !allow24)) {
		return 0, Errorf(Invalid, "want a time of day such as 02:00, got %q", truncate(s, 20))
	}
	return hh*60 + mm, nil
}

// Crosses reports whether a window ends on the day after it starts.
func (w Weekly) Crosses() bool { return w.End <= w.Start }

// occurrence is the window that starts on the local day y-m-d.
func (w Weekly) occurrence(y int, m time.Month, d int) (start, end time.Time) {
	start = wallTime(y, m, d, w.Start, w.Location)
	if w.Crosses() {
		d++
	}
	end = wallTime(y, m, d, w.End, w.Location)
	return start, end
}

// Occurrence returns the window holding at now, if any.
func (w Weekly) Occurrence(now time.Time) (start, end time.Time, ok bool) {
	local := now.In(w.Location)
	y, m, d := local.Date()
	for back := 1; back >= 0; back-- {
		day := time.Date(y, m, d-back, 12, 0, 0, 0, w.Location)
		if !w.Days[day.Weekday()] {
			continue
		}
		yy, mm, dd := day.Date()
		s, e := w.occurrence(yy, mm, dd)
		if !now.Before(s) && now.Before(e) {
			return s, e, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// Next returns the first window that ends after now: the one holding at
// now, else the next to start. ok is false only for a Weekly without days.
func (w Weekly) Next(now time.Time) (start, end time.Time, ok bool) {
	if s, e, ok := w.Occurrence(now); ok {
		return s, e, true
	}
	local := now.In(w.Location)
	y, m, d := local.Date()
	for ahead := 0; ahead <= 7; ahead++ {
		day := time.Date(y, m, d+ahead, 12, 0, 0, 0, w.Location)
		if !w.Days[day.Weekday()] {
			continue
		}
		yy, mm, dd := day.Date()
		if s, e := w.occurrence(yy, mm, dd); s.After(now) || (!now.Before(s) && now.Before(e)) {
			return s, e, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// wallTime is the first instant at which the clock in loc shows minute
// minute of the day y-m-d (minute may be 1440, midnight of the next day), or,
// when the clock skips that time (a daylight saving change), the instant
// it jumps past it.
func wallTime(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	naive := time.Date(y, m, d, 0, minute, 0, 0, time.UTC)
	wy, wm, wd := naive.Date()
	wh, wmin := naive.Hour(), naive.Minute()
	shows := func(t time.Time) bool {
		l := t.In(loc)
		ly, lm, ld := l.Date()
		return ly == wy && lm == wm && ld == wd && l.Hour() == wh && l.Minute() == wmin
	}
	// The offsets in force a day before and a day after cover any one
	// change of the clock.
	_, off1 := naive.Add(-26 * time.Hour).In(loc).Zone()
	_, off2 := naive.Add(26 * time.Hour).In(loc).Zone()
	_, off0 := time.Date(wy, wm, wd, wh, wmin, 0, 0, loc).Zone()
	var best time.Time
	for _, off := range []int{off0, off1, off2} {
		c := naive.Add(-time.Duration(off) * time.Second)
		if shows(c) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	if !best.IsZero() {
		return best
	}
	// Skipped: the wall time does not exist. Read with the offset before
	// the change it lands after the change; the change is when that
	// offset's zone began.
	c := naive.Add(-time.Duration(min(off1, off2)) * time.Second)
	if s, _ := c.In(loc).ZoneBounds(); !s.IsZero() && !s.After(c) {
		return s
	}
	return time.Date(wy, wm, wd, wh, wmin, 0, 0, loc)
}
