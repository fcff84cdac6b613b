package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

func TestThrottleConfig(t *testing.T) {
	cfg, err := bot.LoadConfig("testdata/config/paging.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	th := cfg.Paging.Throttle
	for m, want := range map[incidents.PageMethod]incidents.Limit{
		incidents.PageSMS:   {Count: 2, Per: 5 * time.Minute},
		incidents.PageDM:    {Count: 10, Per: time.Minute},
		incidents.PageEmail: {Count: 0, Per: time.Minute}, // off; per kept from the default
		incidents.PageCall:  {Count: 3, Per: 15 * time.Minute},
		incidents.PagePush:  {Count: 5, Per: time.Minute},
	} {
		if got := th.For(m).Limit(); got != want {
			t.Errorf("%s: %+v, want %+v", m, got, want)
		}
	}
	if th.For(incidents.PageEmail).Limit().On() {
		t.Error("email: count 0 throttles")
	}
	// The defaults: GoAlert's figures for SMS and calls, no throttle on DMs.
	d := bot.DefaultConfig().Paging.Throttle
	if d.SMS.String() != "1 a minute" || d.Call.String() != "3 in 15m" || d.Email.String() != "1 a minute" || d.Push.String() != "5 a minute" || d.DM.Limit().On() {
		t.Errorf("defaults = %+v", d)
	}
}

func TestThrottleConfigErrors(t *testing.T) {
	base := "default_team: t\nteams: [{name: t}]\n#\n"
	for yaml, want := range map[string]string{
		"paging: {throttle: {sms: {count: -1}}}\n":           `paging.throttle.sms.count (line 4): want 0 (no throttle) to 1000 messages, got -1`,
		"paging: {throttle: {call: {count: 1001}}}\n":        `paging.throttle.call.count (line 4): want 0 (no throttle) to 1000 messages, got 1001`,
		"paging: {throttle: {dm: {count: 3}}}\n":             `paging.throttle.dm.per (line 4): want a window between 1s and 24h, got 0s`,
		"paging: {throttle: {push: {count: 3, per: 48h}}}\n": `paging.throttle.push.per (line 4): want a window between 1s and 24h, got 48h0m0s`,
		"paging: {throttle: {sms: {count: 3, per: 5}}}\n":    `paging.throttle.sms.per (line 4): want a duration with a unit`,
		"paging: {throttle: {pager: {count: 3}}}\n":          `paging.throttle.pager (line 4): unknown key (known keys: dm, push, email, sms, call)`,
		"paging: {throttle: {sms: {max: 3}}}\n":              `paging.throttle.sms.max (line 4): unknown key`,
		"paging: {throtle: {}}\n":                            `paging.throtle (line 4): unknown key (did you mean "throttle"?)`,
	} {
		_, err := loadYAML(t, base+yaml, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %q", yaml, err, want)
		}
	}
	for _, yaml := range []string{
		"paging: {throttle: {sms: {count: 0}, call: {count: 0}}}\n",
		"paging: {throttle: {dm: {count: 20, per: 1h}}}\n",
	} {
		if _, err := loadYAML(t, base+yaml, nil); err != nil {
			t.Errorf("%q: %v", yaml, err)
		}
	}
}
