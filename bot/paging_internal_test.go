package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func TestPendingPages(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	inc := &incidents.Incident{}
	inc.AddPages(incidents.PageAttempt{Key: "a", Person: "alice", Method: incidents.PageSMS, DueAt: now.Add(2 * time.Minute)},
		incidents.PageAttempt{Key: "b", Person: "alice", Method: incidents.PageCall, DueAt: now.Add(-time.Second)},
		incidents.PageAttempt{Key: "c", Person: "alice", Method: incidents.PageDM, DueAt: now, Done: true})
	if got, want := pendingPages(inc, now), "alice by SMS in 2m, alice by phone call now"; got != want {
		t.Fatalf("pendingPages = %q, want %q", got, want)
	}
}

func TestRulesFor(t *testing.T) {
	d := func(m time.Duration) *Duration { x := Duration(m); return &x }
	c := &Config{Twilio: &TwilioConfig{}}
	alice := PersonConfig{Name: "alice", Slack: "U1", Phone: "+15551230001", Push: "https://n.example.com/a",
		Rules: []RuleConfig{{SMS: d(time.Minute)}, {Call: d(5 * time.Minute)}}}
	bob := PersonConfig{Name: "bob", Email: "bob@example.com", Push: "https://n.example.com/b"}
	team := TeamConfig{Name: "t", Rules: []RuleConfig{{Push: d(0)}, {SMS: d(2 * time.Minute)}}}
	show := func(rs []Rule) string {
		var out []string
		for _, r := range rs {
			out = append(out, string(r.Method)+"@"+r.After.String())
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		p          PersonConfig
		team       TeamConfig
		want, skip string
	}{
		{alice, team, "sms@1m0s call@5m0s", ""}, // her own rules win
		{bob, team, "push@0s", "sms"},           // the team's, less what bob lacks
		{bob, TeamConfig{}, "push@0s", ""},      // the default: e-mail needs smtp, which c lacks
		{PersonConfig{Name: "carol"}, team, "", "push sms"},
	} {
		rules, skipped := c.rulesFor(tc.p, tc.team)
		if show(rules) != tc.want || strings.Join(skipped, " ") != tc.skip {
			t.Errorf("%s in %q: rules %q skipped %q, want %q and %q", tc.p.Name, tc.team.Name, show(rules), skipped, tc.want, tc.skip)
		}
	}
	c.SMTP = &SMTPConfig{}
	if rules, _ := c.rulesFor(bob, TeamConfig{}); show(rules) != "push@0s email@0s" {
		t.Errorf("bob's default rules with smtp: %q", show(rules))
	}
}
