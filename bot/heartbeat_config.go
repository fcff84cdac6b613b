package bot

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// HeartbeatSourcePrefix starts the source name of a heartbeat's hook: the
// heartbeat "backup-cron" is the source "heartbeat/backup-cron" at
// /hooks/heartbeat/backup-cron (GET or POST).
const HeartbeatSourcePrefix = "heartbeat/"

// HeartbeatConfig is a dead man's switch: a job or monitor that calls its
// hook at least every Interval. When no call comes within Interval +
// Grace, klaxon opens an incident for Team; the next call resolves it.
type HeartbeatConfig struct {
	Name string `yaml:"name"`
	// Team owns the incident; default: default_team.
	Team     string   `yaml:"team"`
	Interval Duration `yaml:"interval"`
	// Grace is how late a beat may be; default a tenth of Interval.
	Grace Duration `yaml:"grace"`
	// Credentials, as a generic webhook has them: one of token, basic
	// and hmac, or allow_unauthenticated (see SourcesConfig.Open).
	Token                Secret     `yaml:"token"`
	Basic                *BasicAuth `yaml:"basic"`
	HMAC                 *HMACAuth  `yaml:"hmac"`
	AllowUnauthenticated bool       `yaml:"allow_unauthenticated"`
	// Severity of the incident (1..4); default incidents.severity.default.
	Severity incidents.Severity `yaml:"severity"`
	// Title starts the incident's title in place of "No heartbeat from
	// <name>"; klaxon adds how long it has been silent.
	Title string `yaml:"title"`
}

const (
	minHeartbeatInterval = time.Second
	maxHeartbeatInterval = 366 * 24 * time.Hour
	maxHeartbeatTitle    = 200
)

// auth returns the heartbeat's credentials, or nil when it has none.
func (h *HeartbeatConfig) auth() *HookAuth {
	if h.Token == "" && h.Basic == nil && h.HMAC == nil {
		return nil
	}
	return &HookAuth{Token: h.Token, Basic: h.Basic, HMAC: h.HMAC}
}

// Source is the heartbeat's source name, heartbeat/<name>.
func (h *HeartbeatConfig) Source() string { return HeartbeatSourcePrefix + h.Name }

// GraceOrDefault is Grace, or a tenth of Interval when it is not set.
func (h *HeartbeatConfig) GraceOrDefault() time.Duration {
	if h.Grace > 0 {
		return h.Grace.D()
	}
	return h.Interval.D() / 10
}

// Window is how long the heartbeat may stay silent: Interval + grace.
func (h *HeartbeatConfig) Window() time.Duration { return h.Interval.D() + h.GraceOrDefault() }

// heartbeatHooks are the heartbeats' hooks, for the rules on credentials
// (SourcesConfig.Open).
func (c *Config) heartbeatHooks() []hookSource {
	var hs []hookSource
	for i := range c.Heartbeats {
		h := &c.Heartbeats[i]
		hs = append(hs, hookSource{name: h.Source(), path: fmt.Sprintf("heartbeats[%d]", i),
			auth: h.auth(), allow: h.AllowUnauthenticated, given: true})
	}
	return hs
}

// heartbeats checks the heartbeats: names, teams, times, credentials.
func (v *configValidator) heartbeats(c *Config) {
	teams := map[string]bool{}
	var teamNames []string
	for _, t := range c.Teams {
		teams[t.Name] = true
		teamNames = append(teamNames, t.Name)
	}
	seen := map[string]bool{}
	for i := range c.Heartbeats {
		h := &c.Heartbeats[i]
		path := fmt.Sprintf("heartbeats[%d]", i)
		if h.Name == "" {
			v.errorf(path+".name", "must not be empty: it names the hook's URL, /hooks/heartbeat/<name>")
		} else {
			v.uniqueName(path+".name", "heartbeat", h.Name, seen)
		}
		if h.Team != "" && !teams[h.Team] {
			v.unknownRef(path+".team", "team", "teams", h.Team, teamNames)
		}
		switch d := h.Interval.D(); {
		case d == 0:
			v.errorf(path+".interval", "must be set: how often the heartbeat comes (e.g. 24h, 5m)")
		case d < minHeartbeatInterval || d > maxHeartbeatInterval:
			v.errorf(path+".interval", "must be between %s and %s, got %s", minHeartbeatInterval, shortDuration(maxHeartbeatInterval), h.Interval)
		}
		if h.Grace < 0 || h.Grace.D() > maxHeartbeatInterval {
			v.errorf(path+".grace", "must be between 0s and %s, got %s", shortDuration(maxHeartbeatInterval), h.Grace)
		}
		// Deadlines are kept in whole milliseconds: a finer window would
		// never equal the deadline it was stored as, and never fire.
		for _, f := range []struct {
			key string
			d   time.Duration
		}{{".interval", h.Interval.D()}, {".grace", h.Grace.D()}} {
			if f.d%time.Millisecond != 0 {
				v.errorf(path+f.key, "must be whole milliseconds, got %s", f.d)
			}
		}
		if h.Severity != 0 && !h.Severity.Valid() {
			v.errorf(path+".severity", "must be between 1 and 4, got %d", h.Severity)
		}
		switch {
		case strings.ContainsAny(h.Title, "\r\n"):
			v.errorf(path+".title", "must be one line")
		case utf8.RuneCountInString(h.Title) > maxHeartbeatTitle:
			v.errorf(path+".title", "must be at most %d characters, got %d", maxHeartbeatTitle, utf8.RuneCountInString(h.Title))
		}
		if a := h.auth(); a != nil {
			a.AllowUnauthenticated = h.AllowUnauthenticated
			v.hookAuth(path, a)
		} else if v.given(path+".token") || v.given(path+".basic") || v.given(path+".hmac") {
			// token: ${UNSET:-} must not leave the hook open.
			v.errorf(path, "give token, basic or hmac (an empty token is not allowed)")
		}
	}
}
