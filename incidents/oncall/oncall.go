// Package oncall computes who is on call from a Schedule: one or more
// rotation layers plus ad-hoc overrides. It imports only the standard
// library and never reads the clock: every question is asked about an
// instant passed in by the caller.
//
// # Rotations
//
// A Rotation hands over from one person to the next every Every, starting at
// Start with People[0]. Shifts are counted in the rotation's Location:
//
//   - If Every is a whole number of days (a multiple of 24h), shifts are
//     counted in calendar days, so a handover keeps its local wall-clock time
//     across daylight-saving changes: a daily 09:00 handover in New York is at
//     09:00 EST before the March change and 09:00 EDT after it, and the shift
//     spanning the change lasts 23h (25h in November).
//   - Otherwise (8h, 12h, 36h...) shifts are counted in absolute time from
//     Start, so every shift lasts exactly Every and the local handover time
//     moves by an hour across a DST change.
//
// A handover whose local wall time does not exist on some day (it falls in a
// spring-forward gap, such as 02:30 on 2026-03-08 in New York) happens when
// the gap ends plus the same offset (03:30 local), as cron and RFC 5545 do. A
// wall time that occurs twice (fall-back) means its first occurrence.
//
// A rotation does not cover instants before its Start (it is not extended
// backwards).
//
// A rotation may be restricted to a daily window of local wall-clock time
// (WindowFrom to WindowTo, in minutes after midnight). A window whose end is
// not after its start wraps past midnight: 17:00–09:00 covers evenings and
// nights. It may also be restricted to some days of the week (Weekdays).
// Outside its window a rotation covers nothing, so a lower layer shows
// through: a Monday–Friday 09:00–17:00 layer over a 24/7 layer hands
// business hours to the first and the rest to the second.
//
// # Schedules
//
// In a Schedule a later layer wins over earlier ones wherever it covers the
// instant, and an active override wins over every layer. Among overlapping
// overrides the one set last (latest SetAt) wins; on equal SetAt the one
// later in the slice wins.
//
// The effective schedule is a sequence of segments. A segment is a maximal
// stretch of time during which the same source puts someone on call: the
// same override, or the same shift of the same layer. A new segment starts
// at every visible handover, override start or end, and window start or end
// that changes the source; boundaries hidden under a higher layer or an
// override do not split a segment. OnCall reports the segment containing an
// instant, Shifts lists segments, Next looks for the following ones.
//
// Times returned are in the location of the instant passed in (at or from);
// compare them with time.Time.Equal.
//
// The query methods assume a schedule that passed Validate; they skip layers
// with no People or a non-positive Every rather than panic.
package oncall

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// day is the length of a calendar day when there is no DST change.
const day = 24 * time.Hour

// minutesPerDay bounds the daily window.
const minutesPerDay = 24 * 60

// maxSteps bounds how many boundaries OnCall and Next walk through when
// looking for the end of a segment or the next person. It is far more than
// any real schedule needs (a year of 8-hour shifts with daily windows is
// about 1,100 boundaries) and only keeps a degenerate schedule from looping
// for a long time.
const maxSteps = 100000

// nextHorizon is how far ahead Next looks for a different person.
const nextHorizon = 366 * day

// Rotation is one layer of a schedule: People take turns, each for Every,
// starting at Start.
type Rotation struct {
	// People are the names in turn order. People[0] has the shift starting
	// at Start. A name may appear more than once.
	People []string
	// Every is the shift length (> 0, a whole number of minutes), e.g. 168h
	// for weekly or 24h for daily. A multiple of 24h is counted in calendar
	// days in Location; anything else in absolute time (see the package
	// documentation).
	Every time.Duration
	// Start is when People[0]'s first shift starts (in any time zone). The
	// rotation covers nothing before Start.
	Start time.Time
	// Location is the rotation's time zone: shifts are counted in wall-clock
	// time there, so a daily 09:00 handover stays at 09:00 across DST (a 24h
	// shift across a DST change lasts 23h or 25h); it is also the zone of
	// the daily window. nil means UTC.
	Location *time.Location
	// WindowFrom and WindowTo optionally restrict the rotation to a daily
	// window of local wall-clock time, as minutes after midnight in
	// Location (see ParseClock): 540 and 1020 cover only 09:00–17:00. If
	// WindowTo <= WindowFrom the window wraps past midnight (1020 and 540
	// cover 17:00–09:00 the next morning). WindowFrom == WindowTo (such as
	// both zero) means all day. WindowFrom must be in [0, 1440) and
	// WindowTo in [0, 1440]; 1440 is the end of the day.
	WindowFrom, WindowTo int
	// Weekdays optionally restricts the rotation to some days of the week
	// in Location: a window (or, without one, the whole day) applies only
	// on the listed days. A window that wraps past midnight belongs to the
	// day it opens. Empty means every day. With WindowFrom 540, WindowTo
	// 1020 and Monday–Friday this is a business-hours layer.
	Weekdays []time.Weekday
}

// Override puts Person on call from From (inclusive) until Until
// (exclusive), whatever the layers say.
type Override struct {
	Person string
	From   time.Time
	Until  time.Time
	// SetBy is who created the override, for display and audit.
	SetBy string
	// SetAt is when the override was created: among overlapping overrides
	// the latest-set wins.
	SetAt time.Time
}

// Schedule is a named on-call schedule: rotation layers, later ones on top,
// and overrides above all layers.
type Schedule struct {
	Name string
	// Layers are the rotations; a later layer wins where it covers the time.
	Layers []Rotation
	// Overrides win over every layer while active; the latest-set wins
	// among overlapping ones.
	Overrides []Override
}

// Shift is one segment of the effective schedule, as listed by Shifts.
type Shift struct {
	Person string
	// From and Until bound the segment, From inclusive, Until exclusive.
	From, Until time.Time
	// Layer is the index in Schedule.Layers of the rotation that puts
	// Person on call, or -1 for an override.
	Layer int
	// Override is true when an override puts Person on call.
	Override bool
}

// ParseClock parses a wall-clock time of day "HH:MM" (or "H:MM") and returns
// it as minutes after midnight: "09:00" is 540. Hours run 0–23 and minutes
// 0–59; "24:00" (1440) is accepted as the end of the day, for WindowTo.
func ParseClock(s string) (int, error) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !allDigits(hs) || !allDigits(ms) {
		return 0, fmt.Errorf("oncall: invalid time of day %q: want HH:MM", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	switch {
	case h == 24 && m == 0:
		return minutesPerDay, nil
	case h > 23:
		return 0, fmt.Errorf("oncall: invalid time of day %q: hour must be 00–23", s)
	case m > 59:
		return 0, fmt.Errorf("oncall: invalid time of day %q: minute must be 00–59", s)
	}
	return h*60 + m, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Validate reports every problem with the schedule, joined into one error
// (see errors.Join), or nil. Each message names the layer or override it is
// about, counting from 1.
func (s *Schedule) Validate() error {
	var errs []error
	name := s.Name
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("oncall: schedule %q: "+format, append([]any{name}, args...)...))
	}
	if len(s.Layers) == 0 {
		add("has no layers")
	}
	for i, r := range s.Layers {
		n := i + 1
		if len(r.People) == 0 {
			add("layer %d: no people", n)
		}
		for j, p := range r.People {
			if strings.TrimSpace(p) == "" {
				add("layer %d: person %d has an empty name", n, j+1)
			}
		}
		switch {
		case r.Every <= 0:
			add("layer %d: shift length %v must be positive", n, r.Every)
		case r.Every%time.Minute != 0:
			add("layer %d: shift length %v is not a whole number of minutes", n, r.Every)
		}
		if r.Start.IsZero() {
			add("layer %d: start time not set", n)
		}
		if r.WindowFrom < 0 || r.WindowFrom >= minutesPerDay {
			add("layer %d: window start %d is out of range: want minutes after midnight in [0, %d)", n, r.WindowFrom, minutesPerDay)
		}
		if r.WindowTo < 0 || r.WindowTo > minutesPerDay {
			add("layer %d: window end %d is out of range: want minutes after midnight in [0, %d]", n, r.WindowTo, minutesPerDay)
		}
		for _, w := range r.Weekdays {
			if w < time.Sunday || w > time.Saturday {
				add("layer %d: invalid weekday %d", n, int(w))
			}
		}
	}
	for i, o := range s.Overrides {
		n := i + 1
		if strings.TrimSpace(o.Person) == "" {
			add("override %d: no person", n)
		}
		if o.From.IsZero() || o.Until.IsZero() {
			add("override %d: start and end must both be set", n)
		} else if !o.Until.After(o.From) {
			add("override %d: end %s is not after start %s", n, o.Until.Format(time.RFC3339), o.From.Format(time.RFC3339))
		}
	}
	return errors.Join(errs...)
}

// OnCall reports who is on call at `at` and until when that answer holds:
// the end of the current segment, that is the next visible handover, override
// start or end, or window boundary. ok is false when nobody covers `at`; then
// until is when someone next does, or the zero Time if nobody ever will.
func (s *Schedule) OnCall(at time.Time) (person string, until time.Time, ok bool) {
	person, src := s.at(at)
	end, found := s.segmentEnd(at, src)
	if !found {
		return person, time.Time{}, src.kind != srcNone
	}
	return person, end.In(at.Location()), src.kind != srcNone
}

// Next reports who comes on call after the current segment at `at`, and
// from when: the start of the first later segment with a different person.
// If nobody is on call at `at`, it is the next segment that puts anyone on
// call. Next looks for a different person at most a year ahead: if every
// segment starting in that time has the same person, as in a one-person
// rotation, the answer is the next handover (the same person again). ok is
// false if nobody is ever on call after `at`.
func (s *Schedule) Next(at time.Time) (person string, from time.Time, ok bool) {
	cur, src := s.at(at)
	covered := src.kind != srcNone
	var firstPerson string
	var firstFrom time.Time
	haveFirst := false
	t := at
	horizon := at.Add(nextHorizon)
	for range maxSteps {
		b, more := s.nextBoundary(t)
		if !more || (haveFirst && b.After(horizon)) {
			break
		}
		p, src2 := s.at(b)
		if src2 != src {
			if src2.kind != srcNone {
				if !covered || p != cur {
					return p, b.In(at.Location()), true
				}
				if !haveFirst {
					firstPerson, firstFrom, haveFirst = p, b, true
				}
			}
			src = src2
		}
		t = b
	}
	if haveFirst {
		return firstPerson, firstFrom.In(at.Location()), true
	}
	return "", time.Time{}, false
}

// After reports the person after `person` in the rotation covering `at`,
// for escalating when the person on call does not answer. It looks at the
// layers covering `at`, top layer first, ignoring overrides:
//
//   - if person is in the layer's rotation, the answer is the next different
//     name in turn order after person's position (the current shift's
//     position if person has it, else person's first position);
//   - otherwise (such as person being on call through an override), the
//     answer is whoever the layer has on call at `at`.
//
// A layer whose answer would be person again (a one-person rotation) passes
// the question to the next covering layer below. ok is false when no layer
// has anyone else.
func (s *Schedule) After(person string, at time.Time) (string, bool) {
	for l := len(s.Layers) - 1; l >= 0; l-- {
		r := &s.Layers[l]
		k, covers := r.shiftAt(at)
		if !covers {
			continue
		}
		n := int64(len(r.People))
		cur := int(k % n)
		pos := -1
		if r.People[cur] == person {
			pos = cur
		} else {
			for i, p := range r.People {
				if p == person {
					pos = i
					break
				}
			}
		}
		if pos < 0 {
			if r.People[cur] != person {
				return r.People[cur], true
			}
			continue
		}
		for j := 1; j < len(r.People); j++ {
			if p := r.People[(pos+j)%len(r.People)]; p != person {
				return p, true
			}
		}
	}
	return "", false
}

// Shifts lists the segments of the effective schedule in [from, to), in
// order, for display. Each Shift is clipped to [from, to): the first one
// starts at from even if it began earlier, and the last one ends at to even
// if it goes on. Stretches where nobody is on call are left out. It returns
// nil if to is not after from.
func (s *Schedule) Shifts(from, to time.Time) []Shift {
	if !to.After(from) {
		return nil
	}
	var out []Shift
	emit := func(person string, src source, start, end time.Time) {
		if src.kind == srcNone {
			return
		}
		sh := Shift{Person: person, From: start.In(from.Location()), Until: end.In(from.Location()), Layer: src.idx}
		if src.kind == srcOverride {
			sh.Layer, sh.Override = -1, true
		}
		out = append(out, sh)
	}
	person, src := s.at(from)
	start, t := from, from
	for {
		b, more := s.nextBoundary(t)
		if !more || !b.Before(to) {
			emit(person, src, start, to)
			return out
		}
		if p, src2 := s.at(b); src2 != src {
			emit(person, src, start, b)
			person, src, start = p, src2, b
		}
		t = b
	}
}

// source identifies what puts someone on call: a segment is a stretch with
// one source.
type source struct {
	kind  int8
	idx   int   // override or layer index
	shift int64 // the layer's shift number
}

const (
	srcNone int8 = iota
	srcOverride
	srcLayer
)

// at reports who is on call at t and why.
func (s *Schedule) at(t time.Time) (string, source) {
	best := -1
	for i := range s.Overrides {
		o := &s.Overrides[i]
		if !o.active(t) {
			continue
		}
		if best < 0 || !o.SetAt.Before(s.Overrides[best].SetAt) {
			best = i
		}
	}
	if best >= 0 {
		return s.Overrides[best].Person, source{kind: srcOverride, idx: best}
	}
	for l := len(s.Layers) - 1; l >= 0; l-- {
		r := &s.Layers[l]
		if k, ok := r.shiftAt(t); ok {
			return r.People[k%int64(len(r.People))], source{kind: srcLayer, idx: l, shift: k}
		}
	}
	return "", source{}
}

// nextBoundary returns the earliest instant after t at which any layer or
// override might change what it says; more is false if there is none.
func (s *Schedule) nextBoundary(t time.Time) (next time.Time, more bool) {
	consider := func(b time.Time) {
		if b.After(t) && (!more || b.Before(next)) {
			next, more = b, true
		}
	}
	for i := range s.Overrides {
		consider(s.Overrides[i].From)
		consider(s.Overrides[i].Until)
	}
	for i := range s.Layers {
		if b, ok := s.Layers[i].nextBoundary(t); ok {
			consider(b)
		}
	}
	return next, more
}

// segmentEnd returns the end of the segment with source src containing t:
// the first boundary after t where the source changes. found is false if
// the source never changes. The walk is bounded by maxSteps; if the bound is
// reached, the last boundary seen is returned (the answer holds at least
// until then).
func (s *Schedule) segmentEnd(t time.Time, src source) (end time.Time, found bool) {
	cur := t
	for range maxSteps {
		b, more := s.nextBoundary(cur)
		if !more {
			return time.Time{}, false
		}
		if _, src2 := s.at(b); src2 != src {
			return b, true
		}
		cur = b
	}
	return cur, true
}

func (o *Override) active(t time.Time) bool {
	return !t.Before(o.From) && t.Before(o.Until)
}

func (r *Rotation) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

func (r *Rotation) usable() bool { return len(r.People) > 0 && r.Every > 0 }

// days is the shift length in calendar days, or 0 if Every is not a whole
// number of days and shifts are counted in absolute time.
func (r *Rotation) days() int {
	if r.Every%day != 0 {
		return 0
	}
	return int(r.Every / day)
}

// shiftStart returns when shift number k (0 for People[0]'s first) starts.
func (r *Rotation) shiftStart(k int64) time.Time {
	if k == 0 {
		return r.Start
	}
	d := r.days()
	if d == 0 {
		return r.Start.Add(time.Duration(k) * r.Every)
	}
	s := r.Start.In(r.loc())
	return wallTime(s.Year(), s.Month(), s.Day()+int(k)*d, s.Hour(), s.Minute(), s.Second(), s.Nanosecond(), r.loc())
}

// shiftAt returns the number of the shift covering t; ok is false if the
// rotation does not cover t (before Start, outside its window, or unusable).
func (r *Rotation) shiftAt(t time.Time) (k int64, ok bool) {
	if !r.usable() || t.Before(r.Start) || !r.inWindow(t) {
		return 0, false
	}
	return r.shiftIndex(t), true
}

// shiftIndex returns the number of the shift that contains t >= Start.
func (r *Rotation) shiftIndex(t time.Time) int64 {
	d := r.days()
	if d == 0 {
		return int64(t.Sub(r.Start) / r.Every)
	}
	loc := r.loc()
	k := (civilDay(t.In(loc)) - civilDay(r.Start.In(loc))) / int64(d)
	// The estimate is off by at most one around a DST change or a
	// handover late in the day; settle it against the real handovers.
	for k > 0 && r.shiftStart(k).After(t) {
		k--
	}
	for !r.shiftStart(k + 1).After(t) {
		k++
	}
	return k
}

// nextBoundary returns the first instant after t at which the rotation hands
// over, or starts or stops covering.
func (r *Rotation) nextBoundary(t time.Time) (time.Time, bool) {
	if !r.usable() {
		return time.Time{}, false
	}
	var next time.Time
	if t.Before(r.Start) {
		next = r.Start
	} else {
		next = r.shiftStart(r.shiftIndex(t) + 1)
	}
	if !r.windowed() {
		return next, true
	}
	// Windows open at most once a day, so the next window boundary is within
	// the next two days, or (with Weekdays) within the next week.
	lt := t.In(r.loc())
	for dd := -1; dd <= 8; dd++ {
		ws, we, ok := r.window(lt.Year(), lt.Month(), lt.Day()+dd)
		if !ok {
			continue
		}
		for _, b := range []time.Time{ws, we} {
			if b.After(t) && b.Before(next) {
				next = b
			}
		}
	}
	return next, true
}

// windowed reports whether the rotation covers only part of the time.
func (r *Rotation) windowed() bool { return r.WindowFrom != r.WindowTo || len(r.Weekdays) > 0 }

// window returns the window that opens on the given local date; ok is false
// if none does (the day is not one of Weekdays). Without a daily window
// (WindowFrom == WindowTo) it is the whole day from WindowFrom.
func (r *Rotation) window(y int, m time.Month, d int) (from, to time.Time, ok bool) {
	if len(r.Weekdays) > 0 {
		wd := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
		for _, w := range r.Weekdays {
			if w == wd {
				ok = true
				break
			}
		}
		if !ok {
			return time.Time{}, time.Time{}, false
		}
	}
	loc := r.loc()
	from = wallTime(y, m, d, 0, r.WindowFrom, 0, 0, loc)
	endDay := d
	if r.WindowTo <= r.WindowFrom {
		endDay++
	}
	to = wallTime(y, m, endDay, 0, r.WindowTo, 0, 0, loc)
	return from, to, true
}

// inWindow reports whether t falls in one of the rotation's daily windows.
func (r *Rotation) inWindow(t time.Time) bool {
	if !r.windowed() {
		return true
	}
	lt := t.In(r.loc())
	for dd := -1; dd <= 1; dd++ {
		from, to, ok := r.window(lt.Year(), lt.Month(), lt.Day()+dd)
		if ok && !t.Before(from) && t.Before(to) {
			return true
		}
	}
	return false
}

// wallTime is time.Date with a fixed rule for a wall time that does not
// exist (a spring-forward gap): it is moved forward by the length of the
// gap, so 02:30 on a day the clocks jump from 02:00 to 03:00 is 03:30. (For
// such times time.Date may pick either side of the gap.) A wall time that
// occurs twice is its first occurrence, as time.Date gives it.
func wallTime(y int, mo time.Month, d, h, mi, sec, ns int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, mi, sec, ns, loc)
	want := time.Date(y, mo, d, h, mi, sec, ns, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if diff := want.Sub(got); diff > 0 {
		t = t.Add(diff)
	}
	return t
}

// civilDay numbers the calendar date of t (in t's location) in days since
// 1970-01-01.
func civilDay(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}
