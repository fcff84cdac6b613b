// Package report turns incidents' compact records (incidents.Stat) into
// the figures a team reads about its on-call load: how many incidents a
// day, how fast they were acknowledged and resolved, when people were
// paged (and how often after hours), and which alert rules made the most
// noise. The console's insights page and the noise report are made of it.
//
// It is pure: Build is a function of the records and the options, with no
// clock, no I/O and no store. It imports only the standard library and
// incidents.
//
// # Definitions
//
//   - An incident belongs to the period its creation time falls in:
//     [From, To) is the period, and [From-(To-From), From) the previous one,
//     of the same length, that every figure is compared with.
//   - MTTA is the time from an incident's creation to its acknowledgement,
//     over the incidents acknowledged (as they stand: one acknowledged,
//     unacknowledged and resolved counts as not acknowledged). MTTR is the
//     time from creation to resolution, over the incidents resolved;
//     incidents still open count in neither, and say so (Figures.Open).
//   - Percentiles are by nearest rank: the p-th percentile of n sorted
//     values is the value at rank ⌈p·n/100⌉ (counting from 1), always one of
//     the values; of no values it is 0 with N = 0 (shown as "—").
//   - After hours is outside the working hours (WorkStart to WorkEnd, by
//     default 09:00–18:00) or on a day that is not a working day (WorkDays,
//     by default Monday to Friday), in the team's time zone (Location), DST
//     included: a page at 07:30 UTC is at 08:30 in Berlin in winter (after
//     hours) and at 09:30 in summer (working hours).
//   - A page is a time klaxon reached a person (a mention, a message, a
//     call). Figures.Pages counts them all; the figures by hour read the
//     pages whose time is recorded (up to incidents.MaxPages an incident).
//   - A rule is an alert rule (its alertname, per source). Its figures count
//     each incident it fired in; what is said of a whole incident
//     (acknowledged, resolved, flaps, votes, pages) counts for each rule that
//     fired in it (most incidents have one). An incident recorded without
//     rules counts under its title.
package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Default working hours, as minutes after midnight.
const (
	DefaultWorkStart = 9 * 60
	DefaultWorkEnd   = 18 * 60
)

// DefaultRules is how many rules a report lists unless Options.Rules says.
const DefaultRules = 10

// DefaultWorkDays are Monday to Friday.
var DefaultWorkDays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// Options pick the period of a report and say what "after hours" means.
type Options struct {
	// From and To bound the period: incidents created in [From, To).
	From, To time.Time
	// Location is the team's time zone, in which days and hours are
	// counted; nil means UTC.
	Location *time.Location
	// WorkStart and WorkEnd are the working hours, in minutes after
	// midnight in Location, [WorkStart, WorkEnd); both 0 means 09:00–18:00.
	// Values are clamped to 0–1440; WorkEnd not after WorkStart means no
	// working hours.
	WorkStart, WorkEnd int
	// WorkDays are the working days; nil means Monday to Friday.
	WorkDays []time.Weekday
	// Rules is how many of the noisiest rules to list: 0 means
	// DefaultRules, a negative number all of them.
	Rules int
}

// Durations are percentiles of a set of durations, by nearest rank.
type Durations struct {
	N        int           // how many durations; 0: the percentiles mean nothing
	P50, P90 time.Duration // the median and the 90th percentile
}

// Figures are the totals of one period.
type Figures struct {
	Incidents    int // created in the period
	Acknowledged int // acknowledged, as they stand
	Resolved     int
	Open         int // not resolved yet
	// ResolvedUnacked were resolved with nobody acknowledging them
	// (mostly: resolved by themselves).
	ResolvedUnacked int
	MTTA            Durations // creation → acknowledgement, over Acknowledged
	MTTR            Durations // creation → resolution, over Resolved
	Pages           int       // every page, counted or recorded
	// PagesRecorded are the pages whose time is known; PagesAfterHours
	// those of them after hours.
	PagesRecorded   int
	PagesAfterHours int
	// The recorded pages by kind: Mentions are mentions and direct
	// messages (a warning), Calls phone calls, Messages texts, pushes and
	// e-mails.
	Mentions, Calls, Messages int
	Flaps                     int // alerts that fired again after resolving
	// Actionable and NotActionable are the answers to "was it
	// actionable?".
	Actionable, NotActionable int
}

// Day is one calendar day of the period, in Location.
type Day struct {
	Date      time.Time // its midnight in Location
	Incidents int       // created that day
	WorkDay   bool      // one of the working days
}

// Hour is one hour of the day, 00:00–01:00 to 23:00–24:00 in Location, and
// the recorded pages of the period in it.
type Hour struct {
	Pages int
	// AfterHours are the pages after hours: all of them in an hour outside
	// the working hours, those on days off in an hour within them.
	AfterHours int
	// Working is true when the hour is (partly) within the working hours.
	Working bool
}

// RuleFigures are one rule's figures in one period.
type RuleFigures struct {
	Fired        int // times it fired: new alerts, and alerts firing again
	Incidents    int // incidents it fired in
	Acknowledged int
	Resolved     int
	// ResolvedUnacked were resolved before anyone acknowledged them.
	ResolvedUnacked int
	// MedianResolve is the median time from creation to resolution of its
	// resolved incidents (nearest rank; 0 when none was resolved).
	MedianResolve time.Duration
	Flaps         int
	Actionable    int
	NotActionable int
	Pages         int // pages about its incidents
	// PagesAfterHours are its incidents' recorded pages after hours.
	PagesAfterHours int
	// SelfResolveMax is the longest time from creation to resolution of
	// its incidents resolved before anyone acknowledged them (0 when
	// none): "resolved by itself within SelfResolveMax in ResolvedUnacked
	// of Incidents".
	SelfResolveMax time.Duration
	// PagedAfterHours are its incidents with a recorded page after hours;
	// AfterHoursAckedSoon those of them acknowledged within AckSoon of
	// their creation.
	PagedAfterHours     int
	AfterHoursAckedSoon int
}

// AckSoon is how soon an acknowledgement counts as a quick answer to a
// page (RuleFigures.AfterHoursAckedSoon).
const AckSoon = 15 * time.Minute

// AckShare is the share of its incidents that were acknowledged, 0 to 1
// (0 when it fired in none).
func (f RuleFigures) AckShare() float64 { return share(f.Acknowledged, f.Incidents) }

// UnackedShare is the share of its incidents resolved before anyone
// acknowledged them, 0 to 1.
func (f RuleFigures) UnackedShare() float64 { return share(f.ResolvedUnacked, f.Incidents) }

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// Rule is an alert rule and its figures in the period and the previous one.
type Rule struct {
	Source string
	Name   string
	Now    RuleFigures
	Before RuleFigures
}

// Report is the figures of a period, with the previous period's for
// comparison.
type Report struct {
	From, To time.Time
	Location *time.Location
	Figures           // the period's
	Previous Figures  // the previous period's, of the same length
	Days     []Day    // each calendar day the period touches, in order
	Hours    [24]Hour // the period's recorded pages by hour of day
	// Rules are the noisiest rules of the period, most fired first (then
	// in most incidents, then by source and name); RulesTotal is how many
	// rules fired in it.
	Rules      []Rule
	RulesTotal int
}

// working says when people are at work.
type working struct {
	loc        *time.Location
	start, end int
	days       [7]bool
}

func newWorking(o Options) working {
	w := working{loc: o.Location, start: o.WorkStart, end: o.WorkEnd}
	if w.loc == nil {
		w.loc = time.UTC
	}
	if w.start == 0 && w.end == 0 {
		w.start, w.end = DefaultWorkStart, DefaultWorkEnd
	}
	w.start, w.end = min(max(w.start, 0), 1440), min(max(w.end, 0), 1440)
	days := o.WorkDays
	if days == nil {
		days = DefaultWorkDays
	}
	for _, d := range days {
		if d >= time.Sunday && d <= time.Saturday {
			w.days[d] = true
		}
	}
	return w
}

// afterHours says whether t is after hours.
func (w *working) afterHours(t time.Time) bool {
	l := t.In(w.loc)
	if !w.days[l.Weekday()] {
		return true
	}
	m := l.Hour()*60 + l.Minute()
	return m < w.start || m >= w.end
}

// hourWorking says whether the hour h overlaps the working hours.
func (w *working) hourWorking(h int) bool {
	return h*60 < w.end && h*60+60 > w.start
}

// acc gathers a period's figures.
type acc struct {
	f         Figures
	tta, ttr  []time.Duration
	ruleTTR   map[ruleKey][]time.Duration
	rules     map[ruleKey]*RuleFigures
	ruleOrder []ruleKey
	current   bool // the period of the report (days and hours are kept)
	hours     [24]Hour
	days      []Day
	firstDay  int64 // the civil day number of days[0]
	dayOf     func(time.Time) int64
	work      *working
}

type ruleKey struct{ source, name string }

func newAcc(w *working) *acc {
	return &acc{rules: map[ruleKey]*RuleFigures{}, ruleTTR: map[ruleKey][]time.Duration{}, work: w}
}

// add counts one incident.
func (a *acc) add(st *incidents.Stat) {
	f := &a.f
	f.Incidents++
	acked := !st.AckedAt.IsZero()
	resolved := !st.ResolvedAt.IsZero()
	var ttr time.Duration
	if acked {
		f.Acknowledged++
		a.tta = append(a.tta, max(0, st.AckedAt.Sub(st.CreatedAt)))
	}
	if resolved {
		f.Resolved++
		ttr = max(0, st.ResolvedAt.Sub(st.CreatedAt))
		a.ttr = append(a.ttr, ttr)
		if !acked {
			f.ResolvedUnacked++
		}
	} else {
		f.Open++
	}
	pages := max(st.PageCount, len(st.Pages))
	f.Pages += pages
	f.PagesRecorded += len(st.Pages)
	after := 0
	for _, p := range st.Pages {
		late := a.work.afterHours(p.At)
		if late {
			after++
		}
		if a.current {
			h := &a.hours[p.At.In(a.work.loc).Hour()]
			h.Pages++
			if late {
				h.AfterHours++
			}
		}
	}
	f.PagesAfterHours += after
	for _, p := range st.Pages {
		switch p.Kind {
		case "mention", "dm":
			f.Mentions++
		case "call":
			f.Calls++
		default:
			f.Messages++
		}
	}
	f.Flaps += st.Flaps
	yes, no := 0, 0
	if st.Feedback != nil {
		if st.Feedback.Actionable {
			yes = 1
		} else {
			no = 1
		}
	}
	f.Actionable += yes
	f.NotActionable += no
	if a.current && len(a.days) > 0 {
		if i := a.dayOf(st.CreatedAt) - a.firstDay; i >= 0 && i < int64(len(a.days)) {
			a.days[i].Incidents++
		}
	}

	rules := st.Rules
	if len(rules) == 0 {
		name := st.Title
		if name == "" {
			name = "(untitled)"
		}
		rules = []incidents.RuleCount{{Source: st.Source, Name: name, Fired: 1}}
	}
	for _, rc := range rules {
		k := ruleKey{rc.Source, rc.Name}
		r := a.rules[k]
		if r == nil {
			r = &RuleFigures{}
			a.rules[k] = r
			a.ruleOrder = append(a.ruleOrder, k)
		}
		r.Fired += rc.Fired
		r.Incidents++
		if acked {
			r.Acknowledged++
		}
		if resolved {
			r.Resolved++
			a.ruleTTR[k] = append(a.ruleTTR[k], ttr)
			if !acked {
				r.ResolvedUnacked++
				r.SelfResolveMax = max(r.SelfResolveMax, ttr)
			}
		}
		if after > 0 {
			r.PagedAfterHours++
			if acked && st.AckedAt.Sub(st.CreatedAt) <= AckSoon {
				r.AfterHoursAckedSoon++
			}
		}
		r.Flaps += st.Flaps
		r.Actionable += yes
		r.NotActionable += no
		r.Pages += pages
		r.PagesAfterHours += after
	}
}

// finish computes the percentiles.
func (a *acc) finish() {
	a.f.MTTA = percentiles(a.tta)
	a.f.MTTR = percentiles(a.ttr)
	for k, d := range a.ruleTTR {
		a.rules[k].MedianResolve = Percentile(sorted(d), 50)
	}
}

func sorted(d []time.Duration) []time.Duration {
	slices.Sort(d)
	return d
}

func percentiles(d []time.Duration) Durations {
	slices.Sort(d)
	return Durations{N: len(d), P50: Percentile(d, 50), P90: Percentile(d, 90)}
}

// Percentile returns the p-th percentile (1 ≤ p ≤ 100) of sorted by
// nearest rank: the value at rank ⌈p·n/100⌉, counting from 1 (in whole
// numbers: no floating point to land a hair above a rank). It is 0 for no
// values.
func Percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := (p*n + 99) / 100
	return sorted[min(max(rank, 1), n)-1]
}

// Build makes the report of opts.From to opts.To out of stats, which
// should hold the incidents created in the period and in the previous one
// of the same length (incidents.Stats with Since = From-(To-From) and
// Until = To); records outside both are ignored, in any order.
func Build(stats []incidents.Stat, opts Options) Report {
	w := newWorking(opts)
	loc := w.loc
	length := opts.To.Sub(opts.From)
	prevFrom := opts.From.Add(-length)
	r := Report{From: opts.From, To: opts.To, Location: loc}

	cur, prev := newAcc(&w), newAcc(&w)
	cur.current = true
	cur.dayOf = func(t time.Time) int64 { return civilDay(t.In(loc)) }
	if opts.To.After(opts.From) {
		first := time.Date(opts.From.In(loc).Year(), opts.From.In(loc).Month(), opts.From.In(loc).Day(), 0, 0, 0, 0, loc)
		cur.firstDay = civilDay(first)
		for d := first; d.Before(opts.To); {
			cur.days = append(cur.days, Day{Date: d, WorkDay: w.days[d.Weekday()]})
			d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		}
	}
	for i := range stats {
		st := &stats[i]
		switch t := st.CreatedAt; {
		case !t.Before(opts.From) && t.Before(opts.To):
			cur.add(st)
		case !t.Before(prevFrom) && t.Before(opts.From):
			prev.add(st)
		}
	}
	cur.finish()
	prev.finish()
	r.Figures, r.Previous, r.Days = cur.f, prev.f, cur.days
	r.Hours = cur.hours
	for h := range r.Hours {
		r.Hours[h].Working = w.hourWorking(h)
	}

	r.RulesTotal = len(cur.ruleOrder)
	keys := cur.ruleOrder
	slices.SortFunc(keys, func(a, b ruleKey) int {
		ra, rb := cur.rules[a], cur.rules[b]
		return cmp.Or(cmp.Compare(rb.Fired, ra.Fired), cmp.Compare(rb.Incidents, ra.Incidents),
			cmp.Compare(a.source, b.source), cmp.Compare(a.name, b.name))
	})
	n := opts.Rules
	if n == 0 {
		n = DefaultRules
	}
	if n < 0 || n > len(keys) {
		n = len(keys)
	}
	r.Rules = make([]Rule, n)
	for i, k := range keys[:n] {
		r.Rules[i] = Rule{Source: k.source, Name: k.name, Now: *cur.rules[k]}
		if p := prev.rules[k]; p != nil {
			r.Rules[i].Before = *p
		}
	}
	return r
}

// civilDay numbers the calendar day of t's wall clock: days since
// 1970-01-01, whatever t's zone.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
