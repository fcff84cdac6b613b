package suggest_test

import (
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/report"
	"github.com/klaxonbot/klaxon/report/suggest"
)

// Each rule on figures with a known answer, at and across its thresholds.
func TestFor(t *testing.T) {
	min := time.Minute
	for _, c := range []struct {
		name string
		f    report.RuleFigures
		kind string // "" for no suggestion
		text string
	}{
		{"nothing", report.RuleFigures{}, "", ""},
		{"healthy: acknowledged, resolved by people", report.RuleFigures{Fired: 10, Incidents: 10, Acknowledged: 9, Resolved: 10, ResolvedUnacked: 1, SelfResolveMax: 3 * min}, "", ""},
		{"too few to say", report.RuleFigures{Fired: 2, Incidents: 2, Resolved: 2, ResolvedUnacked: 2, SelfResolveMax: time.Minute}, "", ""},

		{"self-resolving, the issue's example", report.RuleFigures{Fired: 10, Incidents: 10, Acknowledged: 1, Resolved: 10, ResolvedUnacked: 9, SelfResolveMax: 4 * min},
			suggest.SelfResolving, "resolved by itself within 4m in 9 of 10 firings: give the rule `for: 10m` or make it a warning (no page)"},
		{"self-resolving within 12m: for twice that", report.RuleFigures{Fired: 5, Incidents: 5, Resolved: 5, ResolvedUnacked: 4, SelfResolveMax: 12 * min},
			suggest.SelfResolving, "resolved by itself within 12m in 4 of 5 firings: give the rule `for: 25m` or make it a warning (no page)"},
		{"self-resolving but slowly: not this rule", report.RuleFigures{Fired: 5, Incidents: 5, Acknowledged: 5, Resolved: 5, ResolvedUnacked: 4, SelfResolveMax: 40 * min}, "", ""},
		{"self-resolving in half: under the share", report.RuleFigures{Fired: 10, Incidents: 10, Acknowledged: 5, Resolved: 10, ResolvedUnacked: 5, SelfResolveMax: 2 * min}, "", ""},

		{"not actionable, mostly", report.RuleFigures{Fired: 4, Incidents: 4, Acknowledged: 4, Resolved: 4, NotActionable: 3, Actionable: 1},
			suggest.NotActionable, "voted not actionable 3 of 4 times: delete the rule, or demote it to a warning or a ticket (no page)"},
		{"votes split: no verdict", report.RuleFigures{Fired: 4, Incidents: 4, Acknowledged: 4, Resolved: 4, NotActionable: 2, Actionable: 1}, "", ""},
		{"one vote is not a verdict", report.RuleFigures{Fired: 4, Incidents: 4, Acknowledged: 4, Resolved: 4, NotActionable: 1}, "", ""},
		{"the votes beat the figures", report.RuleFigures{Fired: 10, Incidents: 10, Resolved: 10, ResolvedUnacked: 10, SelfResolveMax: min, NotActionable: 2},
			suggest.NotActionable, "voted not actionable 2 of 2 times: delete the rule, or demote it to a warning or a ticket (no page)"},

		{"flapping", report.RuleFigures{Fired: 12, Incidents: 4, Acknowledged: 4, Resolved: 4, Flaps: 6},
			suggest.Flapping, "flapped 6 times in 4 incidents: add hysteresis (`keep_firing_for: 10m`, or a lower threshold to resolve than to fire)"},
		{"a flap now and then", report.RuleFigures{Fired: 10, Incidents: 10, Acknowledged: 10, Resolved: 10, Flaps: 3}, "", ""},

		{"after hours, never acknowledged soon: the issue's example", report.RuleFigures{Fired: 6, Incidents: 6, Acknowledged: 3, Resolved: 6, Pages: 8, PagesAfterHours: 6, PagedAfterHours: 6},
			suggest.AfterHoursSlow, "paged 6 times out of hours, never acknowledged within 15m: is the runbook enough to act on? If it can wait, page only in working hours"},
		{"after hours, acknowledged soon once in five", report.RuleFigures{Fired: 5, Incidents: 5, Acknowledged: 5, Resolved: 5, PagesAfterHours: 5, PagedAfterHours: 5, AfterHoursAckedSoon: 1},
			suggest.AfterHoursSlow, "paged 5 times out of hours, acknowledged in 1 of 5 within 15m: is the runbook enough to act on? If it can wait, page only in working hours"},
		{"after hours, answered soon", report.RuleFigures{Fired: 5, Incidents: 5, Acknowledged: 5, Resolved: 5, PagesAfterHours: 5, PagedAfterHours: 5, AfterHoursAckedSoon: 4}, "", ""},
		{"after hours twice: too few", report.RuleFigures{Fired: 5, Incidents: 5, Acknowledged: 5, Resolved: 5, PagesAfterHours: 2, PagedAfterHours: 2}, "", ""},

		{"ignored", report.RuleFigures{Fired: 10, Incidents: 10, Acknowledged: 2, Resolved: 3, Pages: 10},
			suggest.Ignored, "acknowledged in 2 of 10 incidents: if nobody acts on it, make it a warning or a ticket; if someone should, route it to them"},

		{"refiring", report.RuleFigures{Fired: 40, Incidents: 5, Acknowledged: 5, Resolved: 5},
			suggest.Refiring, "fired 40 times in 5 incidents: its alerts come and go; group them (`group_by`, a longer `group_interval`) or alert on a rate over a window"},
	} {
		got, ok := suggest.For(c.f)
		if ok != (c.kind != "") || got.Kind != c.kind || got.Text != c.text {
			t.Errorf("%s:\n got %q %q (%v)\nwant %q %q", c.name, got.Kind, got.Text, ok, c.kind, c.text)
		}
	}
}

// All lists every rule that applies, the first being For's.
func TestAll(t *testing.T) {
	f := report.RuleFigures{Fired: 60, Incidents: 10, Resolved: 10, ResolvedUnacked: 10, SelfResolveMax: 2 * time.Minute, Flaps: 12,
		PagesAfterHours: 4, PagedAfterHours: 4, NotActionable: 3}
	var kinds []string
	for _, s := range suggest.All(f) {
		kinds = append(kinds, s.Kind)
	}
	want := []string{suggest.NotActionable, suggest.SelfResolving, suggest.Flapping, suggest.AfterHoursSlow, suggest.Ignored, suggest.Refiring}
	if len(kinds) != len(want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
	}
	first, _ := suggest.For(f)
	if first.Kind != want[0] {
		t.Errorf("For: %s", first.Kind)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 4 * time.Minute: "4m", 4*time.Minute + 30*time.Second: "4m30s", 12*time.Minute + 40*time.Second: "13m",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 0: "0s",
	} {
		if got := suggest.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
