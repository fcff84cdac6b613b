package charts

import (
	"time"
)

// timeSteps are the spacings a time axis may have, smallest first.
var timeSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// timeTick is a labelled instant on a time axis.
type timeTick struct {
	t     time.Time
	label string
}

// timeTicks labels the window [from, to] (from before to) with at most n
// ticks at the smallest step in timeSteps that allows it, on round wall-clock
// times of loc (…:00, …:15 for 15 min, 00:00, 06:00 for 6 h): "15:04" for
// steps below a day; a day's start "Jan 2" when the window spans more than
// one day; "15:04:05" for steps below a minute.
func timeTicks(from, to time.Time, loc *time.Location, n int) []timeTick {
	span := to.Sub(from)
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s <= time.Duration(max(n-1, 1)) {
			step = s
			break
		}
	}
	f := from.In(loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	multiDay := span > 24*time.Hour
	label := func(t time.Time) string {
		lt := t.In(loc)
		switch {
		case step >= 24*time.Hour || multiDay && lt.Hour() == 0 && lt.Minute() == 0:
			return lt.Format("Jan 2")
		case step < time.Minute:
			return lt.Format("15:04:05")
		default:
			return lt.Format("15:04")
		}
	}
	limit := 2*n + 2 // a bound on the loops below, whatever the window
	var ticks []timeTick
	if step >= 24*time.Hour {
		// Midnights, counted in days from the Unix epoch so that a 2-day
		// step falls on the same days whatever the window.
		days := int(step / (24 * time.Hour))
		t := day
		for i := 0; i <= days && (t.Before(from) || daysSinceEpoch(t)%days != 0); i++ {
			t = t.AddDate(0, 0, 1)
		}
		for ; !t.After(to) && len(ticks) < limit; t = t.AddDate(0, 0, days) {
			if !t.Before(from) {
				ticks = append(ticks, timeTick{t, label(t)})
			}
		}
		return ticks
	}
	// Multiples of step after each local midnight, so that a daylight-saving
	// change shifts no tick of the following days off the round hours.
	for d := day; !d.After(to) && len(ticks) < limit; d = d.AddDate(0, 0, 1) {
		next := d.AddDate(0, 0, 1)
		t := d
		if d.Before(from) {
			t = d.Add((from.Sub(d) + step - 1) / step * step)
		}
		for ; t.Before(next) && !t.After(to) && len(ticks) < limit; t = t.Add(step) {
			ticks = append(ticks, timeTick{t, label(t)})
		}
	}
	return ticks
}

// daysSinceEpoch counts calendar days from 1970-01-01 to t's date.
func daysSinceEpoch(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
