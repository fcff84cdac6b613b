package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// PagingConfig tunes personal paging.
type PagingConfig struct {
	// Throttle limits the messages each person gets by each method.
	Throttle ThrottleConfig `yaml:"throttle"`
}

// ThrottleConfig is a limit per method, for each person apart: at most
// count messages in any window of per; count 0 turns the method's
// throttle off. A page held back is folded into the person's next
// message by that method.
type ThrottleConfig struct {
	DM    ThrottleLimit `yaml:"dm"`
	Push  ThrottleLimit `yaml:"push"`
	Email ThrottleLimit `yaml:"email"`
	SMS   ThrottleLimit `yaml:"sms"`
	Call  ThrottleLimit `yaml:"call"`
}

// ThrottleLimit is at most Count messages in any window of Per.
type ThrottleLimit struct {
	Count int      `yaml:"count"`
	Per   Duration `yaml:"per"`
}

// Limit is the limit as the store takes it.
func (l ThrottleLimit) Limit() incidents.Limit {
	return incidents.Limit{Count: l.Count, Per: l.Per.D()}
}

// defaultThrottles are GoAlert's figures for texts and calls (1 SMS a
// minute, 3 calls in 15 minutes), 1 e-mail a minute, 5 pushes a minute;
// direct messages are limited by the chat platforms only.
func defaultThrottles() ThrottleConfig {
	return ThrottleConfig{
		Push:  ThrottleLimit{Count: 5, Per: Duration(time.Minute)},
		Email: ThrottleLimit{Count: 1, Per: Duration(time.Minute)},
		SMS:   ThrottleLimit{Count: 1, Per: Duration(time.Minute)},
		Call:  ThrottleLimit{Count: 3, Per: Duration(15 * time.Minute)},
	}
}

// For is the limit of method m.
func (c ThrottleConfig) For(m incidents.PageMethod) ThrottleLimit {
	switch m {
	case incidents.PageDM:
		return c.DM
	case incidents.PagePush:
		return c.Push
	case incidents.PageEmail:
		return c.Email
	case incidents.PageSMS:
		return c.SMS
	case incidents.PageCall:
		return c.Call
	}
	return ThrottleLimit{}
}

// maxThrottleCount and maxThrottlePer bound a throttle.
const (
	maxThrottleCount = 1000
	maxThrottlePer   = 24 * time.Hour
)

// throttles checks paging.throttle.
func (v *configValidator) throttles(c *Config) {
	for _, m := range incidents.PageMethods {
		l := c.Paging.Throttle.For(m)
		path := "paging.throttle." + string(m)
		switch {
		case l.Count < 0 || l.Count > maxThrottleCount:
			v.errorf(path+".count", "want 0 (no throttle) to %d messages, got %d", maxThrottleCount, l.Count)
		case l.Count > 0 && (l.Per.D() < time.Second || l.Per.D() > maxThrottlePer):
			v.errorf(path+".per", "want a window between 1s and 24h, got %s", l.Per.D())
		}
	}
}

// String says a limit as the timeline does: "1 a minute", "3 in 15m".
func (l ThrottleLimit) String() string {
	per := l.Per.D()
	switch {
	case per == time.Minute:
		return fmt.Sprintf("%d a minute", l.Count)
	case per == time.Hour:
		return fmt.Sprintf("%d an hour", l.Count)
	}
	return fmt.Sprintf("%d in %s", l.Count, durationWords(per))
}

// durationWords is a duration without zero parts: 15m, 1h30m, 90s.
func durationWords(d time.Duration) string {
	s := d.String()
	s, _ = strings.CutSuffix(s, "m0s")
	if strings.HasSuffix(d.String(), "m0s") {
		s += "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}
