package report_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/report"
)

// at is a UTC time in March 2026 (the 1st is a Sunday).
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 3, day, hour, minute, 0, 0, time.UTC)
}

func page(t time.Time, kind string) incidents.Page {
	return incidents.Page{At: t, Kind: kind, Person: "alice"}
}

func rule(source, name string, fired int) []incidents.RuleCount {
	return []incidents.RuleCount{{Source: source, Name: name, Fired: fired}}
}

// history is a seeded week (Monday 2 to Sunday 8 March 2026, UTC) and the
// week before, whose every figure is worked out by hand in the tests.
func history() []incidents.Stat {
	return []incidents.Stat{
		// Monday 10:00: acknowledged in 2m, resolved in 30m, paged once
		// in working hours.
		{Number: 1, CreatedAt: at(2, 10, 0), AckedAt: at(2, 10, 2), ResolvedAt: at(2, 10, 30),
			Rules: rule("alertmanager", "DiskFull", 3), Pages: []incidents.Page{page(at(2, 10, 1), "mention")}, PageCount: 1},
		// Tuesday 02:00: paged twice at night, acknowledged in 10m,
		// resolved in 1h; voted not actionable.
		{Number: 2, CreatedAt: at(3, 2, 0), AckedAt: at(3, 2, 10), ResolvedAt: at(3, 3, 0),
			Rules: rule("alertmanager", "DiskFull", 1), Pages: []incidents.Page{page(at(3, 2, 0), "mention"), page(at(3, 2, 5), "call")}, PageCount: 2,
			Feedback: &incidents.Feedback{Actionable: false, By: "bob"}},
		// Wednesday noon: resolved by itself in 4m, nobody acknowledged;
		// flapped twice.
		{Number: 3, CreatedAt: at(4, 12, 0), ResolvedAt: at(4, 12, 4), Rules: rule("alertmanager", "CPUHigh", 1), Flaps: 2},
		// Saturday 11:00: paged (a weekend: after hours), acknowledged in
		// 20m, still open.
		{Number: 4, CreatedAt: at(7, 11, 0), AckedAt: at(7, 11, 20), Rules: rule("grafana", "Latency", 2),
			Pages: []incidents.Page{page(at(7, 11, 0), "mention")}, PageCount: 1},
		// Sunday 23:30: declared, no rules, open, never acknowledged;
		// three pages, two of them recorded.
		{Number: 5, CreatedAt: at(8, 23, 30), Source: "declared", Title: "Declared thing",
			Pages: []incidents.Page{page(at(8, 23, 31), "mention"), page(at(8, 23, 40), "call")}, PageCount: 3},
		// The week before: acknowledged in 5m, resolved in 2h, actionable.
		{Number: 6, CreatedAt: time.Date(2026, 2, 25, 10, 0, 0, 0, time.UTC), AckedAt: time.Date(2026, 2, 25, 10, 5, 0, 0, time.UTC),
			ResolvedAt: time.Date(2026, 2, 25, 12, 0, 0, 0, time.UTC), Rules: rule("alertmanager", "DiskFull", 1),
			Feedback: &incidents.Feedback{Actionable: true, By: "alice"}},
		// Outside both periods: the next week, and before the week before.
		{Number: 7, CreatedAt: at(9, 0, 0), Rules: rule("alertmanager", "DiskFull", 50)},
		{Number: 8, CreatedAt: time.Date(2026, 2, 22, 23, 59, 59, 0, time.UTC), Rules: rule("alertmanager", "DiskFull", 50)},
	}
}

func week() report.Options {
	return report.Options{From: at(2, 0, 0), To: at(9, 0, 0)}
}

func TestBuildFigures(t *testing.T) {
	r := report.Build(history(), week())
	want := report.Figures{
		Incidents: 5, Acknowledged: 3, Resolved: 3, Open: 2, ResolvedUnacked: 1,
		// 2m, 10m, 20m: the median is the 2nd (⌈1.5⌉), p90 the 3rd (⌈2.7⌉).
		MTTA: report.Durations{N: 3, P50: 10 * time.Minute, P90: 20 * time.Minute},
		// 4m, 30m, 1h.
		MTTR:  report.Durations{N: 3, P50: 30 * time.Minute, P90: time.Hour},
		Pages: 7, PagesRecorded: 6, PagesAfterHours: 5, Flaps: 2, NotActionable: 1,
		// Recorded: mentions at 10:01, 02:00, 11:00, 23:31; calls at 02:05, 23:40.
		Mentions: 4, Calls: 2,
	}
	if r.Figures != want {
		t.Errorf("figures:\n got %+v\nwant %+v", r.Figures, want)
	}
	prev := report.Figures{Incidents: 1, Acknowledged: 1, Resolved: 1, MTTA: report.Durations{N: 1, P50: 5 * time.Minute, P90: 5 * time.Minute},
		MTTR: report.Durations{N: 1, P50: 2 * time.Hour, P90: 2 * time.Hour}, Actionable: 1}
	if r.Previous != prev {
		t.Errorf("previous week:\n got %+v\nwant %+v", r.Previous, prev)
	}

	var days []string
	for _, d := range r.Days {
		days = append(days, fmt.Sprintf("%s %d %v", d.Date.Format("Mon 2"), d.Incidents, d.WorkDay))
	}
	wantDays := []string{"Mon 2 1 true", "Tue 3 1 true", "Wed 4 1 true", "Thu 5 0 true", "Fri 6 0 true", "Sat 7 1 false", "Sun 8 1 false"}
	if !slices.Equal(days, wantDays) {
		t.Errorf("days: %q, want %q", days, wantDays)
	}

	for h, want := range map[int]report.Hour{
		2: {Pages: 2, AfterHours: 2}, 10: {Pages: 1, Working: true}, 11: {Pages: 1, AfterHours: 1, Working: true},
		23: {Pages: 2, AfterHours: 2}, 8: {}, 9: {Working: true}, 17: {Working: true}, 18: {},
	} {
		if r.Hours[h] != want {
			t.Errorf("hour %d: %+v, want %+v", h, r.Hours[h], want)
		}
	}

	wantRules := []report.Rule{
		{Source: "alertmanager", Name: "DiskFull",
			Now: report.RuleFigures{Fired: 4, Incidents: 2, Acknowledged: 2, Resolved: 2, MedianResolve: 30 * time.Minute,
				NotActionable: 1, Pages: 3, PagesAfterHours: 2,
				// Tuesday 02:00 paged at night, acknowledged in 10m.
				PagedAfterHours: 1, AfterHoursAckedSoon: 1},
			Before: report.RuleFigures{Fired: 1, Incidents: 1, Acknowledged: 1, Resolved: 1, MedianResolve: 2 * time.Hour, Actionable: 1}},
		{Source: "grafana", Name: "Latency", Now: report.RuleFigures{Fired: 2, Incidents: 1, Acknowledged: 1, Pages: 1, PagesAfterHours: 1,
			PagedAfterHours: 1}}, // acknowledged in 20m: not soon
		// One firing each: by source, then name.
		{Source: "alertmanager", Name: "CPUHigh", Now: report.RuleFigures{Fired: 1, Incidents: 1, Resolved: 1, ResolvedUnacked: 1,
			MedianResolve: 4 * time.Minute, Flaps: 2, SelfResolveMax: 4 * time.Minute}},
		{Source: "declared", Name: "Declared thing", Now: report.RuleFigures{Fired: 1, Incidents: 1, Pages: 3, PagesAfterHours: 2, PagedAfterHours: 1}},
	}
	if !reflect.DeepEqual(r.Rules, wantRules) || r.RulesTotal != 4 {
		t.Errorf("rules (%d):\n got %+v\nwant %+v", r.RulesTotal, r.Rules, wantRules)
	}
	if s := r.Rules[0].Now.AckShare(); s != 1 {
		t.Errorf("DiskFull's ack share: %v", s)
	}
	if s := r.Rules[2].Now.UnackedShare(); s != 1 {
		t.Errorf("CPUHigh resolved before an ack: %v", s)
	}
	if s := (report.RuleFigures{}).AckShare(); s != 0 {
		t.Errorf("the share of nothing: %v", s)
	}
}

// The records may come in any order: the report is the same.
func TestBuildOrderDoesNotMatter(t *testing.T) {
	h := history()
	want := report.Build(h, week())
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(h), func(i, j int) { h[i], h[j] = h[j], h[i] })
		if got := report.Build(h, week()); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffled:\n got %+v\nwant %+v", got, want)
		}
	}
}

// A period without incidents: zeros, every day listed, no rules; its
// percentiles say they are over nothing.
func TestBuildEmpty(t *testing.T) {
	r := report.Build(nil, week())
	if r.Figures != (report.Figures{}) || r.Previous != (report.Figures{}) || len(r.Rules) != 0 || r.RulesTotal != 0 {
		t.Errorf("empty: %+v", r)
	}
	if len(r.Days) != 7 || r.Days[0].Incidents != 0 || r.MTTA.N != 0 {
		t.Errorf("days: %+v", r.Days)
	}
	if r := report.Build(history(), report.Options{From: at(9, 0, 0), To: at(9, 0, 0)}); len(r.Days) != 0 || r.Incidents != 0 {
		t.Errorf("a period of no length: %+v", r)
	}
}

// After hours is counted in the team's time zone, DST included: 07:30 UTC
// is 08:30 in Berlin before the change (after hours) and 09:30 after it
// (working hours); 16:30 UTC is 17:30, then 18:30. The days of a period
// across the change are its calendar days there.
func TestAfterHoursAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	utc := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, time.UTC) }
	stats := []incidents.Stat{
		{Number: 1, CreatedAt: utc(3, 27, 7, 30), Pages: []incidents.Page{page(utc(3, 27, 7, 30), "call"), page(utc(3, 27, 16, 30), "call")}, PageCount: 2}, // Friday, CET
		{Number: 2, CreatedAt: utc(3, 30, 7, 30), Pages: []incidents.Page{page(utc(3, 30, 7, 30), "call"), page(utc(3, 30, 16, 30), "call")}, PageCount: 2}, // Monday, CEST
	}
	from := time.Date(2026, 3, 23, 0, 0, 0, 0, berlin)
	r := report.Build(stats, report.Options{From: from, To: from.AddDate(0, 0, 14), Location: berlin})
	if r.PagesAfterHours != 2 || r.PagesRecorded != 4 {
		t.Errorf("after hours: %d of %d, want 2 of 4", r.PagesAfterHours, r.PagesRecorded)
	}
	for h, want := range map[int]report.Hour{8: {Pages: 1, AfterHours: 1}, 9: {Pages: 1, Working: true}, 17: {Pages: 1, Working: true}, 18: {Pages: 1, AfterHours: 1}, 7: {}, 16: {Working: true}} {
		if r.Hours[h] != want {
			t.Errorf("hour %d in Berlin: %+v, want %+v", h, r.Hours[h], want)
		}
	}
	if len(r.Days) != 14 || r.Days[6].Date.Day() != 29 || r.Days[7].Date.Sub(r.Days[6].Date) != 23*time.Hour || r.Days[13].Date.Day() != 5 {
		t.Errorf("days across the change: %d, %v", len(r.Days), r.Days)
	}
	if r.Days[4].Incidents != 1 || r.Days[7].Incidents != 1 || r.Days[5].WorkDay {
		t.Errorf("days' counts: %+v", r.Days)
	}
	// The same pages in UTC: 07:30 is after hours on both days.
	if r := report.Build(stats, report.Options{From: from, To: from.AddDate(0, 0, 14)}); r.PagesAfterHours != 2 || r.Hours[7].AfterHours != 2 || r.Hours[16].AfterHours != 0 {
		t.Errorf("in UTC: %d after hours, hours %+v", r.PagesAfterHours, r.Hours)
	}
}

// Working hours and days are options: a team that works Sunday to
// Thursday, 08:00–16:00.
func TestWorkingHoursOption(t *testing.T) {
	o := week()
	o.WorkStart, o.WorkEnd = 8*60, 16*60
	o.WorkDays = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday}
	r := report.Build(history(), o)
	// Monday 10:01 working; Tuesday 02:00, 02:05 after; Saturday 11:00 a
	// day off; Sunday 23:31, 23:40 after 16:00.
	if r.PagesAfterHours != 5 || !r.Hours[8].Working || r.Hours[16].Working || !r.Days[6].WorkDay || r.Days[5].WorkDay {
		t.Errorf("Sunday–Thursday 08–16: %d after hours; hours 8 %+v 16 %+v; days %+v", r.PagesAfterHours, r.Hours[8], r.Hours[16], r.Days)
	}
	o.WorkStart, o.WorkEnd = 10*60+30, 11*60
	r = report.Build(history(), o)
	if r.Hours[9].Working || !r.Hours[10].Working || r.Hours[11].Working || r.PagesAfterHours != 6 {
		t.Errorf("10:30–11:00: hours 9–11 %+v, %d after hours", r.Hours[9:12], r.PagesAfterHours)
	}
}

// Working hours include their start and exclude their end.
func TestWorkingHoursEdges(t *testing.T) {
	var pages []incidents.Page
	for _, hm := range [][2]int{{8, 59}, {9, 0}, {17, 59}, {18, 0}} {
		pages = append(pages, page(at(2, hm[0], hm[1]), "call"))
	}
	r := report.Build([]incidents.Stat{{Number: 1, CreatedAt: at(2, 8, 0), Pages: pages, PageCount: 4}}, week())
	if r.PagesAfterHours != 2 || r.Hours[8].AfterHours != 1 || r.Hours[9].AfterHours != 0 || r.Hours[17].AfterHours != 0 || r.Hours[18].AfterHours != 1 {
		t.Errorf("08:59, 09:00, 17:59, 18:00 on a Monday: %d after hours; hours %+v", r.PagesAfterHours, r.Hours[8:19])
	}
}

func TestRulesOption(t *testing.T) {
	o := week()
	o.Rules = 1
	if r := report.Build(history(), o); len(r.Rules) != 1 || r.Rules[0].Name != "DiskFull" || r.RulesTotal != 4 {
		t.Errorf("one rule: %+v", r.Rules)
	}
	o.Rules = -1
	var many []incidents.Stat
	for i := range 30 {
		many = append(many, incidents.Stat{Number: int64(i), CreatedAt: at(3, 0, i), Rules: rule("am", fmt.Sprintf("R%02d", i), 1+i%3)})
	}
	if r := report.Build(many, o); len(r.Rules) != 30 || r.Rules[0].Name != "R02" || r.Rules[29].Name != "R27" {
		t.Errorf("every rule: %d, first %s, last %s", len(r.Rules), r.Rules[0].Name, r.Rules[len(r.Rules)-1].Name)
	}
	o.Rules = 0
	if r := report.Build(many, o); len(r.Rules) != report.DefaultRules {
		t.Errorf("default: %d rules", len(r.Rules))
	}
}

func TestPercentile(t *testing.T) {
	mins := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Minute
		}
		return out
	}
	seq := func(n int) []time.Duration {
		var out []int
		for i := 1; i <= n; i++ {
			out = append(out, i)
		}
		return mins(out...)
	}
	for _, tc := range []struct {
		values []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{mins(7), 50, 7 * time.Minute},
		{mins(7), 90, 7 * time.Minute},
		{mins(1, 2), 50, time.Minute}, // rank ⌈1⌉: the lower one, never an average
		{seq(10), 50, 5 * time.Minute},
		{seq(10), 90, 9 * time.Minute}, // rank 9 exactly, not 10
		{seq(11), 50, 6 * time.Minute},
		{seq(11), 90, 10 * time.Minute}, // ⌈9.9⌉
		{seq(100), 90, 90 * time.Minute},
		{seq(100), 100, 100 * time.Minute},
		{seq(100), 1, time.Minute},
		{seq(3), 0, time.Minute},        // clamped to the first rank
		{seq(20), 91, 19 * time.Minute}, // ⌈18.2⌉: up, never to the nearest
		{seq(4), 30, 2 * time.Minute},   // ⌈1.2⌉
	} {
		if got := report.Percentile(tc.values, tc.p); got != tc.want {
			t.Errorf("p%d of %d values: %v, want %v", tc.p, len(tc.values), got, tc.want)
		}
	}
}
