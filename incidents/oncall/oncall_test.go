package oncall

import (
	"math/rand"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// at returns a wall-clock time in loc.
func at(loc *time.Location, y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, loc)
}

func utc(y int, m time.Month, d, h, mi int) time.Time { return at(time.UTC, y, m, d, h, mi) }

func fmtT(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format("2006-01-02 15:04 MST")
}

type onCallCase struct {
	name   string
	at     time.Time
	person string
	until  time.Time
	ok     bool
}

func checkOnCall(t *testing.T, s *Schedule, cases []onCallCase) {
	t.Helper()
	for _, c := range cases {
		p, until, ok := s.OnCall(c.at)
		if p != c.person || !until.Equal(c.until) || ok != c.ok {
			t.Errorf("%s: OnCall(%s) = %q, %s, %v; want %q, %s, %v",
				c.name, fmtT(c.at), p, fmtT(until), ok, c.person, fmtT(c.until), c.ok)
		}
	}
}

func TestParseClock(t *testing.T) {
	good := []struct {
		in   string
		want int
	}{
		{"00:00", 0}, {"09:00", 540}, {"9:00", 540}, {"17:30", 1050},
		{"23:59", 1439}, {"24:00", 1440}, {"0:05", 5},
	}
	for _, c := range good {
		got, err := ParseClock(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "9", "09", "0900", "09:0", "09:000", "24:01", "25:00",
		"12:60", "-1:00", "+9:00", "09:00 ", " 09:00", "a9:00", "09-00", "123:00", "09:00:00"} {
		if got, err := ParseClock(in); err == nil {
			t.Errorf("ParseClock(%q) = %d, nil; want an error", in, got)
		}
	}
}

func TestValidate(t *testing.T) {
	start := utc(2026, 1, 5, 9, 0)
	valid := func() Schedule {
		return Schedule{
			Name:      "primary",
			Layers:    []Rotation{{People: []string{"alice", "bob"}, Every: 168 * time.Hour, Start: start}},
			Overrides: []Override{{Person: "carol", From: start, Until: start.Add(time.Hour)}},
		}
	}
	cases := []struct {
		name   string
		modify func(*Schedule)
		want   []string // substrings of the error; nil means valid
	}{
		{"valid", func(*Schedule) {}, nil},
		{"valid window and weekdays", func(s *Schedule) {
			s.Layers[0].WindowFrom, s.Layers[0].WindowTo = 540, 1440
			s.Layers[0].Weekdays = []time.Weekday{time.Monday, time.Friday}
		}, nil},
		{"valid 8h", func(s *Schedule) { s.Layers[0].Every = 8 * time.Hour }, nil},
		{"no layers", func(s *Schedule) { s.Layers = nil }, []string{`schedule "primary": has no layers`}},
		{"no people", func(s *Schedule) { s.Layers[0].People = nil }, []string{"layer 1: no people"}},
		{"empty name", func(s *Schedule) { s.Layers[0].People = []string{"alice", " "} }, []string{"layer 1: person 2 has an empty name"}},
		{"zero every", func(s *Schedule) { s.Layers[0].Every = 0 }, []string{"layer 1: shift length 0s must be positive"}},
		{"negative every", func(s *Schedule) { s.Layers[0].Every = -time.Hour }, []string{"must be positive"}},
		{"fractional minutes", func(s *Schedule) { s.Layers[0].Every = 90 * time.Second }, []string{"shift length 1m30s is not a whole number of minutes"}},
		{"no start", func(s *Schedule) { s.Layers[0].Start = time.Time{} }, []string{"layer 1: start time not set"}},
		{"window from negative", func(s *Schedule) { s.Layers[0].WindowFrom = -1 }, []string{"window start -1 is out of range"}},
		{"window from 1440", func(s *Schedule) { s.Layers[0].WindowFrom = 1440 }, []string{"window start 1440 is out of range"}},
		{"window to too big", func(s *Schedule) { s.Layers[0].WindowTo = 1441 }, []string{"window end 1441 is out of range"}},
		{"bad weekday", func(s *Schedule) { s.Layers[0].Weekdays = []time.Weekday{7} }, []string{"invalid weekday 7"}},
		{"override no person", func(s *Schedule) { s.Overrides[0].Person = "" }, []string{"override 1: no person"}},
		{"override backwards", func(s *Schedule) { s.Overrides[0].Until = start }, []string{"override 1: end", "is not after start"}},
		{"override unset", func(s *Schedule) { s.Overrides[0].From = time.Time{} }, []string{"override 1: start and end must both be set"}},
		{"several problems reported together", func(s *Schedule) {
			s.Layers = append(s.Layers, Rotation{Every: time.Hour, Start: start, WindowTo: 2000})
			s.Overrides[0].Person = ""
		}, []string{"layer 2: no people", "layer 2: window end 2000", "override 1: no person"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := valid()
			c.modify(&s)
			err := s.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil; want an error containing %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestWeeklyAndDaily(t *testing.T) {
	mon := utc(2026, 1, 5, 9, 0) // a Monday
	weekly := &Schedule{Layers: []Rotation{{People: []string{"alice", "bob", "carol"}, Every: 168 * time.Hour, Start: mon}}}
	checkOnCall(t, weekly, []onCallCase{
		{"before start", mon.Add(-time.Minute), "", mon, false},
		{"at start", mon, "alice", utc(2026, 1, 12, 9, 0), true},
		{"mid week", utc(2026, 1, 8, 3, 0), "alice", utc(2026, 1, 12, 9, 0), true},
		{"just before handover", utc(2026, 1, 12, 8, 59), "alice", utc(2026, 1, 12, 9, 0), true},
		{"at handover", utc(2026, 1, 12, 9, 0), "bob", utc(2026, 1, 19, 9, 0), true},
		{"third week", utc(2026, 1, 20, 0, 0), "carol", utc(2026, 1, 26, 9, 0), true},
		{"wraps around", utc(2026, 1, 26, 9, 0), "alice", utc(2026, 2, 2, 9, 0), true},
		{"a year on", utc(2027, 1, 4, 9, 0), "bob", utc(2027, 1, 11, 9, 0), true}, // week 52: 52 % 3 = 1
	})

	daily := &Schedule{Layers: []Rotation{{People: []string{"alice", "bob"}, Every: 24 * time.Hour, Start: mon}}}
	checkOnCall(t, daily, []onCallCase{
		{"day 0", utc(2026, 1, 5, 12, 0), "alice", utc(2026, 1, 6, 9, 0), true},
		{"day 1 before 09:00", utc(2026, 1, 6, 8, 0), "alice", utc(2026, 1, 6, 9, 0), true},
		{"day 1", utc(2026, 1, 6, 9, 0), "bob", utc(2026, 1, 7, 9, 0), true},
		{"day 2 after midnight", utc(2026, 1, 8, 0, 30), "alice", utc(2026, 1, 8, 9, 0), true},
		{"day 31", utc(2026, 2, 5, 10, 0), "bob", utc(2026, 2, 6, 9, 0), true},
	})

	// Every not a whole number of days is counted in absolute time.
	eight := &Schedule{Layers: []Rotation{{People: []string{"a", "b", "c"}, Every: 8 * time.Hour, Start: utc(2026, 1, 5, 6, 0)}}}
	checkOnCall(t, eight, []onCallCase{
		{"first", utc(2026, 1, 5, 6, 0), "a", utc(2026, 1, 5, 14, 0), true},
		{"second", utc(2026, 1, 5, 14, 0), "b", utc(2026, 1, 5, 22, 0), true},
		{"third", utc(2026, 1, 6, 5, 59), "c", utc(2026, 1, 6, 6, 0), true},
		{"wrap", utc(2026, 1, 6, 6, 0), "a", utc(2026, 1, 6, 14, 0), true},
	})

	// Start given in another zone: counting is in Location.
	tokyo := mustLoad(t, "Asia/Tokyo")
	inTokyo := &Schedule{Layers: []Rotation{{People: []string{"a", "b"}, Every: 24 * time.Hour,
		Start: utc(2026, 1, 5, 0, 0), Location: tokyo}}} // 09:00 JST
	checkOnCall(t, inTokyo, []onCallCase{
		{"first", at(tokyo, 2026, 1, 5, 12, 0), "a", at(tokyo, 2026, 1, 6, 9, 0), true},
		{"second", at(tokyo, 2026, 1, 6, 9, 0), "b", at(tokyo, 2026, 1, 7, 9, 0), true},
	})
}

func TestReturnedTimesUseLocationOfArgument(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	s := &Schedule{Layers: []Rotation{{People: []string{"a", "b"}, Every: 24 * time.Hour, Start: utc(2026, 1, 5, 14, 0), Location: ny}}}
	berlin := mustLoad(t, "Europe/Berlin")
	_, until, _ := s.OnCall(at(berlin, 2026, 1, 6, 12, 0))
	if until.Location() != berlin {
		t.Errorf("until is in %v; want %v", until.Location(), berlin)
	}
	for _, sh := range s.Shifts(utc(2026, 1, 6, 0, 0), utc(2026, 1, 8, 0, 0)) {
		if sh.From.Location() != time.UTC || sh.Until.Location() != time.UTC {
			t.Errorf("shift %+v not in UTC", sh)
		}
	}
}

// TestDST checks daily and weekly rotations across the DST changes of 2026:
// the handover stays at the same local wall time and the shift spanning the
// change is an hour shorter or longer.
func TestDST(t *testing.T) {
	cases := []struct {
		zone       string
		change     time.Time // a date (year, month, day) of a DST change in zone
		span       time.Duration
		wantOffset [2]int // UTC offsets in hours before and after the change
	}{
		{"America/New_York", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), 23 * time.Hour, [2]int{-5, -4}},
		{"America/New_York", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 25 * time.Hour, [2]int{-4, -5}},
		{"Europe/Berlin", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), 23 * time.Hour, [2]int{1, 2}},
		{"Europe/Berlin", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), 25 * time.Hour, [2]int{2, 1}},
		{"Asia/Jakarta", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), 24 * time.Hour, [2]int{7, 7}},
		{"Asia/Jakarta", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 24 * time.Hour, [2]int{7, 7}},
	}
	for _, c := range cases {
		t.Run(c.zone+"/"+c.change.Format("2006-01-02"), func(t *testing.T) {
			loc := mustLoad(t, c.zone)
			y, m, d := c.change.Date()
			local := func(dd, h, mi int) time.Time { return time.Date(y, m, d+dd, h, mi, 0, 0, loc) }

			// Daily 09:00 handover, started ten days before the change.
			daily := &Schedule{Layers: []Rotation{{
				People: []string{"alice", "bob", "carol"}, Every: 24 * time.Hour,
				Start: local(-10, 9, 0), Location: loc,
			}}}
			// The day before the change is shift 9: alice; the change day is shift 10: bob.
			checkOnCall(t, daily, []onCallCase{
				{"day before", local(-1, 12, 0), "alice", local(0, 9, 0), true},
				{"change day before handover", local(0, 8, 59), "alice", local(0, 9, 0), true},
				{"change day handover", local(0, 9, 0), "bob", local(1, 9, 0), true},
				{"day after", local(1, 9, 0), "carol", local(2, 9, 0), true},
			})
			for _, tc := range []struct {
				dd  int
				off int
			}{{-1, c.wantOffset[0]}, {0, c.wantOffset[1]}, {1, c.wantOffset[1]}} {
				if _, off := local(tc.dd, 9, 0).Zone(); off != tc.off*3600 {
					t.Fatalf("test setup: offset on day %+d is %d; want %dh", tc.dd, off, tc.off)
				}
			}

			shifts := daily.Shifts(local(-3, 9, 0), local(3, 9, 0))
			if len(shifts) != 6 {
				t.Fatalf("Shifts = %d shifts; want 6: %+v", len(shifts), shifts)
			}
			for i, sh := range shifts {
				from, until := sh.From.In(loc), sh.Until.In(loc)
				if from.Hour() != 9 || from.Minute() != 0 || until.Hour() != 9 || until.Minute() != 0 {
					t.Errorf("shift %d: %s – %s; want 09:00 local handovers", i, fmtT(from), fmtT(until))
				}
				want := 24 * time.Hour
				if i == 2 { // the day before the change → the change day
					want = c.span
				}
				if got := sh.Until.Sub(sh.From); got != want {
					t.Errorf("shift %d (%s – %s) lasts %v; want %v", i, fmtT(from), fmtT(until), got, want)
				}
			}

			// Weekly, handover Monday 09:00 local; the week containing the
			// change is an hour shorter or longer.
			weekStart := local(-6, 9, 0)
			for weekStart.Weekday() != time.Monday {
				weekStart = weekStart.AddDate(0, 0, 1)
			}
			weekly := &Schedule{Layers: []Rotation{{
				People: []string{"alice", "bob"}, Every: 168 * time.Hour,
				Start: weekStart.AddDate(0, 0, -14), Location: loc,
			}}}
			p, until, ok := weekly.OnCall(local(0, 12, 0))
			wantUntil := weekStart.AddDate(0, 0, 7)
			if p != "alice" || !ok || !until.Equal(wantUntil) {
				t.Errorf("weekly OnCall = %q, %s, %v; want alice, %s", p, fmtT(until), ok, fmtT(wantUntil))
			}
			if got := until.Sub(weekStart); got != 7*24*time.Hour-24*time.Hour+c.span {
				t.Errorf("weekly shift across the change lasts %v", got)
			}
		})
	}
}

func TestDSTAbsoluteShifts(t *testing.T) {
	// A 12h rotation counts absolute time: across the spring change the
	// local handover moves from 09:00/21:00 to 10:00/22:00.
	ny := mustLoad(t, "America/New_York")
	s := &Schedule{Layers: []Rotation{{People: []string{"day", "night"}, Every: 12 * time.Hour,
		Start: at(ny, 2026, 3, 6, 9, 0), Location: ny}}}
	checkOnCall(t, s, []onCallCase{
		{"before", at(ny, 2026, 3, 7, 22, 0), "night", at(ny, 2026, 3, 8, 10, 0), true},
		{"after", at(ny, 2026, 3, 8, 10, 0), "day", at(ny, 2026, 3, 8, 22, 0), true},
	})
}

func TestDSTGapAndRepeat(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	// Daily handover at 02:30, which does not exist on 2026-03-08: it
	// happens at 03:30 EDT that day and at 02:30 again the day after.
	gap := &Schedule{Layers: []Rotation{{People: []string{"a", "b"}, Every: 24 * time.Hour,
		Start: at(ny, 2026, 3, 1, 2, 30), Location: ny}}}
	checkOnCall(t, gap, []onCallCase{
		{"before", at(ny, 2026, 3, 7, 12, 0), "a", time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), true}, // 03:30 EDT
		{"in shift after gap", at(ny, 2026, 3, 8, 4, 0), "b", at(ny, 2026, 3, 9, 2, 30), true},
	})
	// Daily handover at 01:30, which happens twice on 2026-11-01: the
	// first occurrence (EDT) counts.
	repeat := &Schedule{Layers: []Rotation{{People: []string{"a", "b"}, Every: 24 * time.Hour,
		Start: at(ny, 2026, 10, 25, 1, 30), Location: ny}}}
	checkOnCall(t, repeat, []onCallCase{
		{"before", at(ny, 2026, 10, 31, 12, 0), "a", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), true},
		{"after", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), "b", at(ny, 2026, 11, 2, 1, 30), true},
	})
	// Start at the second 01:30 (EST) is honoured exactly.
	secondOccurrence := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)
	exact := &Schedule{Layers: []Rotation{{People: []string{"a"}, Every: 24 * time.Hour, Start: secondOccurrence, Location: ny}}}
	checkOnCall(t, exact, []onCallCase{
		{"first 01:30 is before start", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), "", secondOccurrence, false},
		{"start", secondOccurrence, "a", at(ny, 2026, 11, 2, 1, 30), true},
	})
}

// businessHours is a 24/7 weekly layer with a Monday–Friday 09:00–17:00
// daily layer on top, in Berlin.
func businessHours(t *testing.T) (*Schedule, *time.Location) {
	berlin := mustLoad(t, "Europe/Berlin")
	return &Schedule{Name: "ops", Layers: []Rotation{
		{People: []string{"alice", "bob"}, Every: 168 * time.Hour, Start: at(berlin, 2026, 3, 2, 9, 0), Location: berlin},
		{People: []string{"carol", "dave"}, Every: 24 * time.Hour, Start: at(berlin, 2026, 3, 2, 0, 0), Location: berlin,
			WindowFrom: 9 * 60, WindowTo: 17 * 60,
			Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}},
	}}, berlin
}

func TestLayers(t *testing.T) {
	s, b := businessHours(t)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	// 2026-03-02 is a Monday. The top layer's shift k is day k: carol on
	// even days, dave on odd days.
	checkOnCall(t, s, []onCallCase{
		{"mon before start", at(b, 2026, 3, 2, 8, 0), "", at(b, 2026, 3, 2, 9, 0), false},
		{"mon business hours", at(b, 2026, 3, 2, 9, 0), "carol", at(b, 2026, 3, 2, 17, 0), true},
		{"mon evening", at(b, 2026, 3, 2, 17, 0), "alice", at(b, 2026, 3, 3, 9, 0), true},
		{"tue night", at(b, 2026, 3, 3, 3, 0), "alice", at(b, 2026, 3, 3, 9, 0), true},
		{"tue business hours", at(b, 2026, 3, 3, 12, 0), "dave", at(b, 2026, 3, 3, 17, 0), true},
		{"fri business hours", at(b, 2026, 3, 6, 16, 59), "carol", at(b, 2026, 3, 6, 17, 0), true},
		{"fri evening to mon", at(b, 2026, 3, 6, 17, 0), "alice", at(b, 2026, 3, 9, 9, 0), true},
		{"sat noon", at(b, 2026, 3, 7, 12, 0), "alice", at(b, 2026, 3, 9, 9, 0), true},
		{"next mon both change, top wins", at(b, 2026, 3, 9, 9, 0), "dave", at(b, 2026, 3, 9, 17, 0), true},
		{"next mon evening", at(b, 2026, 3, 9, 17, 0), "bob", at(b, 2026, 3, 10, 9, 0), true},
		// Berlin changes to CEST on Sunday 2026-03-29; Monday 09:00 is still 09:00.
		{"after DST", at(b, 2026, 3, 30, 9, 0), "carol", at(b, 2026, 3, 30, 17, 0), true},
		{"after DST evening, week 4", at(b, 2026, 3, 30, 17, 0), "alice", at(b, 2026, 3, 31, 9, 0), true},
	})
}

func TestWindowWrapsMidnight(t *testing.T) {
	// A night layer (22:00–06:00) over a 24/7 layer.
	start := utc(2026, 1, 5, 0, 0)
	s := &Schedule{Layers: []Rotation{
		{People: []string{"day"}, Every: 168 * time.Hour, Start: start},
		{People: []string{"n1", "n2"}, Every: 24 * time.Hour, Start: utc(2026, 1, 5, 12, 0), WindowFrom: 22 * 60, WindowTo: 6 * 60},
	}}
	checkOnCall(t, s, []onCallCase{
		{"day", utc(2026, 1, 5, 21, 0), "day", utc(2026, 1, 5, 22, 0), true},
		// The night of the 5th is in shift 0 until 12:00 on the 6th.
		{"night", utc(2026, 1, 5, 22, 0), "n1", utc(2026, 1, 6, 6, 0), true},
		{"after midnight", utc(2026, 1, 6, 3, 0), "n1", utc(2026, 1, 6, 6, 0), true},
		{"morning", utc(2026, 1, 6, 6, 0), "day", utc(2026, 1, 6, 22, 0), true},
		{"next night", utc(2026, 1, 6, 23, 0), "n2", utc(2026, 1, 7, 6, 0), true},
	})
	// Handover inside the window: a daily rotation handing over at 00:00
	// in a 22:00–06:00 window splits the night.
	s.Layers[1].Start = utc(2026, 1, 5, 0, 0)
	checkOnCall(t, s, []onCallCase{
		{"before midnight", utc(2026, 1, 5, 23, 0), "n1", utc(2026, 1, 6, 0, 0), true},
		{"after midnight", utc(2026, 1, 6, 0, 0), "n2", utc(2026, 1, 6, 6, 0), true},
	})
}

func TestOverrides(t *testing.T) {
	start := utc(2026, 1, 5, 9, 0)
	setEarly, setLate := utc(2026, 1, 1, 0, 0), utc(2026, 1, 2, 0, 0)
	s := &Schedule{
		Layers: []Rotation{{People: []string{"alice", "bob"}, Every: 24 * time.Hour, Start: start}},
		Overrides: []Override{
			// Expired long ago.
			{Person: "old", From: utc(2025, 12, 1, 0, 0), Until: utc(2025, 12, 2, 0, 0), SetAt: setEarly},
			// Eve covers 10:00–14:00 on the 5th.
			{Person: "eve", From: utc(2026, 1, 5, 10, 0), Until: utc(2026, 1, 5, 14, 0), SetBy: "alice", SetAt: setEarly},
			// Frank overlaps 12:00–16:00 and was set later: he wins.
			{Person: "frank", From: utc(2026, 1, 5, 12, 0), Until: utc(2026, 1, 5, 16, 0), SetBy: "alice", SetAt: setLate},
			// Grace was set before both and is hidden by them.
			{Person: "grace", From: utc(2026, 1, 5, 11, 0), Until: utc(2026, 1, 5, 13, 0), SetAt: setEarly.Add(-time.Hour)},
			// Heidi spans the handover at 09:00 on the 6th.
			{Person: "heidi", From: utc(2026, 1, 6, 8, 0), Until: utc(2026, 1, 6, 10, 0), SetAt: setEarly},
			// Two with the same SetAt: the later in the slice wins.
			{Person: "ivan", From: utc(2026, 1, 7, 12, 0), Until: utc(2026, 1, 7, 13, 0), SetAt: setEarly},
			{Person: "judy", From: utc(2026, 1, 7, 12, 0), Until: utc(2026, 1, 7, 13, 0), SetAt: setEarly},
		},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	checkOnCall(t, s, []onCallCase{
		{"expired override, before start", utc(2025, 12, 1, 12, 0), "old", utc(2025, 12, 2, 0, 0), true},
		{"before start", utc(2025, 12, 2, 0, 0), "", start, false},
		{"rotation", utc(2026, 1, 5, 9, 30), "alice", utc(2026, 1, 5, 10, 0), true},
		{"override starts", utc(2026, 1, 5, 10, 0), "eve", utc(2026, 1, 5, 12, 0), true},
		{"hidden override under eve", utc(2026, 1, 5, 11, 30), "eve", utc(2026, 1, 5, 12, 0), true},
		{"latest set wins", utc(2026, 1, 5, 12, 0), "frank", utc(2026, 1, 5, 16, 0), true},
		{"after overrides", utc(2026, 1, 5, 16, 0), "alice", utc(2026, 1, 6, 8, 0), true},
		{"override spans handover", utc(2026, 1, 6, 8, 30), "heidi", utc(2026, 1, 6, 10, 0), true},
		{"until is exclusive", utc(2026, 1, 6, 10, 0), "bob", utc(2026, 1, 7, 9, 0), true},
		{"tie goes to later in slice", utc(2026, 1, 7, 12, 0), "judy", utc(2026, 1, 7, 13, 0), true},
		{"after tie", utc(2026, 1, 7, 13, 0), "alice", utc(2026, 1, 8, 9, 0), true},
	})

	// Overrides work with no layer underneath too.
	only := &Schedule{Overrides: []Override{{Person: "eve", From: start, Until: start.Add(time.Hour)}}}
	checkOnCall(t, only, []onCallCase{
		{"before", start.Add(-time.Hour), "", start, false},
		{"during", start, "eve", start.Add(time.Hour), true},
		{"after: nobody ever again", start.Add(time.Hour), "", time.Time{}, false},
	})
}

func TestNext(t *testing.T) {
	start := utc(2026, 1, 5, 9, 0)
	rot := Rotation{People: []string{"alice", "bob", "carol"}, Every: 24 * time.Hour, Start: start}
	bh, berlin := businessHours(t)
	cases := []struct {
		name   string
		s      *Schedule
		at     time.Time
		person string
		from   time.Time
		ok     bool
	}{
		{"next in rotation", &Schedule{Layers: []Rotation{rot}}, utc(2026, 1, 5, 12, 0), "bob", utc(2026, 1, 6, 9, 0), true},
		{"wraps", &Schedule{Layers: []Rotation{rot}}, utc(2026, 1, 7, 12, 0), "alice", utc(2026, 1, 8, 9, 0), true},
		{"before start", &Schedule{Layers: []Rotation{rot}}, utc(2026, 1, 1, 0, 0), "alice", start, true},
		{"one person: next handover", &Schedule{Layers: []Rotation{{People: []string{"solo"}, Every: 168 * time.Hour, Start: start}}},
			utc(2026, 1, 6, 0, 0), "solo", utc(2026, 1, 12, 9, 0), true},
		{"repeated name is skipped", &Schedule{Layers: []Rotation{{People: []string{"alice", "alice", "bob"}, Every: 24 * time.Hour, Start: start}}},
			utc(2026, 1, 5, 12, 0), "bob", utc(2026, 1, 7, 9, 0), true},
		{"override then same person's shift", &Schedule{
			Layers:    []Rotation{rot},
			Overrides: []Override{{Person: "bob", From: utc(2026, 1, 5, 20, 0), Until: utc(2026, 1, 6, 9, 0)}},
		}, utc(2026, 1, 5, 21, 0), "carol", utc(2026, 1, 7, 9, 0), true},
		{"override comes next", &Schedule{
			Layers:    []Rotation{rot},
			Overrides: []Override{{Person: "zed", From: utc(2026, 1, 5, 20, 0), Until: utc(2026, 1, 5, 22, 0)}},
		}, utc(2026, 1, 5, 12, 0), "zed", utc(2026, 1, 5, 20, 0), true},
		{"one person, override far ahead is beyond the horizon", &Schedule{
			Layers:    []Rotation{{People: []string{"solo"}, Every: 168 * time.Hour, Start: start}},
			Overrides: []Override{{Person: "zed", From: utc(2028, 1, 1, 0, 0), Until: utc(2028, 1, 2, 0, 0)}},
		}, utc(2026, 1, 6, 0, 0), "solo", utc(2026, 1, 12, 9, 0), true},
		{"one person, then an override", &Schedule{
			Layers:    []Rotation{{People: []string{"solo"}, Every: 168 * time.Hour, Start: start}},
			Overrides: []Override{{Person: "zed", From: utc(2026, 6, 1, 0, 0), Until: utc(2026, 6, 2, 0, 0)}},
		}, utc(2026, 1, 6, 0, 0), "zed", utc(2026, 6, 1, 0, 0), true},
		{"nobody ever", &Schedule{Overrides: []Override{{Person: "eve", From: start, Until: start.Add(time.Hour)}}},
			start.Add(2 * time.Hour), "", time.Time{}, false},
		// Friday evening: alice until Monday 09:00, when the top layer is
		// on day 7 of its rotation: dave.
		{"business hours", bh, at(berlin, 2026, 3, 6, 18, 0), "dave", at(berlin, 2026, 3, 9, 9, 0), true},
	}
	for _, c := range cases {
		p, from, ok := c.s.Next(c.at)
		if p != c.person || !from.Equal(c.from) || ok != c.ok {
			t.Errorf("%s: Next(%s) = %q, %s, %v; want %q, %s, %v", c.name, fmtT(c.at), p, fmtT(from), ok, c.person, fmtT(c.from), c.ok)
		}
	}
}

func TestAfter(t *testing.T) {
	start := utc(2026, 1, 5, 9, 0)
	three := Rotation{People: []string{"alice", "bob", "carol"}, Every: 24 * time.Hour, Start: start}
	dup := Rotation{People: []string{"alice", "bob", "alice", "carol"}, Every: 24 * time.Hour, Start: start}
	solo := Rotation{People: []string{"solo"}, Every: 24 * time.Hour, Start: start}
	bh, berlin := businessHours(t)
	cases := []struct {
		name   string
		s      *Schedule
		person string
		at     time.Time
		want   string
		ok     bool
	}{
		{"next after current", &Schedule{Layers: []Rotation{three}}, "alice", utc(2026, 1, 5, 12, 0), "bob", true},
		{"wraps", &Schedule{Layers: []Rotation{three}}, "carol", utc(2026, 1, 7, 12, 0), "alice", true},
		{"someone not on call now", &Schedule{Layers: []Rotation{three}}, "bob", utc(2026, 1, 5, 12, 0), "carol", true},
		{"not in rotation: the rotation's current person", &Schedule{Layers: []Rotation{three}}, "zed", utc(2026, 1, 6, 12, 0), "bob", true},
		{"override person: the rotation's current person", &Schedule{
			Layers:    []Rotation{three},
			Overrides: []Override{{Person: "zed", From: start, Until: start.Add(48 * time.Hour)}},
		}, "zed", utc(2026, 1, 5, 12, 0), "alice", true},
		{"duplicate: current position is used", &Schedule{Layers: []Rotation{dup}}, "alice", utc(2026, 1, 7, 12, 0), "carol", true},
		{"duplicate: first position otherwise", &Schedule{Layers: []Rotation{dup}}, "alice", utc(2026, 1, 6, 12, 0), "bob", true},
		{"one-person top layer falls through", &Schedule{Layers: []Rotation{three, solo}}, "solo", utc(2026, 1, 6, 12, 0), "bob", true},
		{"nobody else", &Schedule{Layers: []Rotation{solo}}, "solo", utc(2026, 1, 6, 12, 0), "", false},
		{"not covered", &Schedule{Layers: []Rotation{three}}, "alice", utc(2026, 1, 1, 0, 0), "", false},
		{"business hours: top layer", bh, "carol", at(berlin, 2026, 3, 2, 10, 0), "dave", true},
		{"outside business hours: bottom layer", bh, "alice", at(berlin, 2026, 3, 2, 20, 0), "bob", true},
	}
	for _, c := range cases {
		got, ok := c.s.After(c.person, c.at)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: After(%q, %s) = %q, %v; want %q, %v", c.name, c.person, fmtT(c.at), got, ok, c.want, c.ok)
		}
	}
}

func TestShiftsWeek(t *testing.T) {
	s, b := businessHours(t)
	s.Overrides = []Override{{Person: "eve", From: at(b, 2026, 3, 4, 12, 0), Until: at(b, 2026, 3, 4, 20, 0)}}
	got := s.Shifts(at(b, 2026, 3, 2, 0, 0), at(b, 2026, 3, 9, 12, 0))
	type sh struct {
		person      string
		from, until time.Time
		layer       int
		override    bool
	}
	d := func(day, h int) time.Time { return at(b, 2026, 3, day, h, 0) }
	want := []sh{
		{"carol", d(2, 9), d(2, 17), 1, false}, // nothing before 09:00 Monday: uncovered, left out
		{"alice", d(2, 17), d(3, 9), 0, false},
		{"dave", d(3, 9), d(3, 17), 1, false},
		{"alice", d(3, 17), d(4, 9), 0, false},
		{"carol", d(4, 9), d(4, 12), 1, false},
		{"eve", d(4, 12), d(4, 20), -1, true},
		{"alice", d(4, 20), d(5, 9), 0, false},
		{"dave", d(5, 9), d(5, 17), 1, false},
		{"alice", d(5, 17), d(6, 9), 0, false},
		{"carol", d(6, 9), d(6, 17), 1, false},
		{"alice", d(6, 17), d(9, 9), 0, false}, // the weekend is one shift
		{"dave", d(9, 9), d(9, 12), 1, false},  // clipped at `to`
	}
	if len(got) != len(want) {
		t.Fatalf("Shifts returned %d shifts; want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Person != w.person || !g.From.Equal(w.from) || !g.Until.Equal(w.until) || g.Layer != w.layer || g.Override != w.override {
			t.Errorf("shift %d = %s %s–%s layer %d override %v; want %s %s–%s layer %d override %v", i,
				g.Person, fmtT(g.From), fmtT(g.Until), g.Layer, g.Override,
				w.person, fmtT(w.from), fmtT(w.until), w.layer, w.override)
		}
	}

	// Clipping at from, and empty ranges.
	first := s.Shifts(at(b, 2026, 3, 3, 12, 0), at(b, 2026, 3, 3, 18, 0))
	if len(first) != 2 || !first[0].From.Equal(d(3, 12)) || first[0].Person != "dave" || first[1].Person != "alice" || !first[1].Until.Equal(d(3, 18)) {
		t.Errorf("clipped Shifts = %+v", first)
	}
	if got := s.Shifts(d(3, 12), d(3, 12)); got != nil {
		t.Errorf("empty range: %+v; want nil", got)
	}
	if got := s.Shifts(d(3, 12), d(2, 12)); got != nil {
		t.Errorf("backwards range: %+v; want nil", got)
	}
}

// TestConsistency checks, at random instants, that OnCall agrees with
// Shifts and that the answer really holds until `until` and changes there.
func TestConsistency(t *testing.T) {
	s, b := businessHours(t)
	s.Layers = append(s.Layers, Rotation{People: []string{"n1", "n2", "n3"}, Every: 12 * time.Hour,
		Start: at(b, 2026, 3, 1, 22, 0), Location: b, WindowFrom: 22 * 60, WindowTo: 6 * 60})
	s.Overrides = []Override{
		{Person: "eve", From: at(b, 2026, 3, 4, 12, 0), Until: at(b, 2026, 3, 5, 20, 0), SetAt: at(b, 2026, 3, 1, 0, 0)},
		{Person: "zed", From: at(b, 2026, 3, 5, 1, 0), Until: at(b, 2026, 3, 5, 2, 0), SetAt: at(b, 2026, 3, 2, 0, 0)},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	from, to := at(b, 2026, 3, 1, 0, 0), at(b, 2026, 4, 5, 0, 0) // across the DST change on 03-29
	shifts := s.Shifts(from, to)
	for i := 1; i < len(shifts); i++ {
		if shifts[i].From.Before(shifts[i-1].Until) {
			t.Fatalf("shifts overlap: %+v, %+v", shifts[i-1], shifts[i])
		}
	}
	rng := rand.New(rand.NewSource(1))
	span := to.Sub(from)
	for range 500 {
		x := from.Add(time.Duration(rng.Int63n(int64(span))))
		p, until, ok := s.OnCall(x)
		var in *Shift
		for i := range shifts {
			if !x.Before(shifts[i].From) && x.Before(shifts[i].Until) {
				in = &shifts[i]
			}
		}
		if (in != nil) != ok {
			t.Fatalf("OnCall(%s) ok = %v, but shift = %+v", fmtT(x), ok, in)
		}
		if in != nil && (in.Person != p || (in.Until.Before(to) && !in.Until.Equal(until))) {
			t.Fatalf("OnCall(%s) = %q until %s; shift %+v", fmtT(x), p, fmtT(until), *in)
		}
		if p2, _, _ := s.OnCall(until.Add(-time.Nanosecond)); p2 != p {
			t.Fatalf("OnCall(%s) = %q until %s, but just before until it is %q", fmtT(x), p, fmtT(until), p2)
		}
	}
}

func TestIgnoresUnusableLayers(t *testing.T) {
	start := utc(2026, 1, 5, 9, 0)
	s := &Schedule{Layers: []Rotation{
		{People: []string{"alice"}, Every: 24 * time.Hour, Start: start},
		{People: nil, Every: 24 * time.Hour, Start: start},
		{People: []string{"x"}, Every: 0, Start: start},
	}}
	if s.Validate() == nil {
		t.Fatal("Validate accepted unusable layers")
	}
	checkOnCall(t, s, []onCallCase{{"falls to usable layer", start, "alice", start.Add(24 * time.Hour), true}})
	if got := s.Shifts(start, start.Add(48*time.Hour)); len(got) != 2 {
		t.Errorf("Shifts = %+v", got)
	}
	if p, ok := s.After("alice", start); ok {
		t.Errorf("After = %q, true; want false", p)
	}
}
