package bot

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"
)

// TeamConfig is a team that owns incidents and the chats its incidents'
// cards go to (any of the three, or none).
type TeamConfig struct {
	Name       string          `yaml:"name"`
	Slack      *SlackDest      `yaml:"slack"`
	Mattermost *MattermostDest `yaml:"mattermost"`
	Telegram   *TelegramDest   `yaml:"telegram"`
	// Responders, when set, are the only people (names in people) who may
	// change the team's incidents from chat; anyone may look.
	Responders []string `yaml:"responders"`
	// Policy escalates the team's unacknowledged incidents; Schedule says
	// who "oncall" is.
	Policy   string `yaml:"policy"`
	Schedule string `yaml:"schedule"`
	// Rules are how page steps reach the team's people who have no rules
	// of their own.
	Rules []RuleConfig `yaml:"rules"`
	// Datasource draws the graphs of the team's alerts that no data
	// source matches; "none" draws no graphs for the team at all.
	Datasource string `yaml:"datasource"`
	// Report sets the team's weekly noise report; nil posts none.
	Report *TeamReportConfig `yaml:"report"`
	// Handover announces shift changes of the team's schedule in its
	// channels and to the incoming person (handover.go). nil (unset)
	// means on when the team has a schedule and a chat destination.
	Handover *bool `yaml:"handover"`
}

// TeamReportConfig is when klaxon posts the team's noise report to its
// channels, and the time zone its hours and days are counted in.
type TeamReportConfig struct {
	// Weekly is a day and a time, "Mon 09:00": each week then, klaxon
	// posts the report of the 7 days before. Empty: no weekly post (the
	// report is still there on demand).
	Weekly string `yaml:"weekly"`
	// Timezone is an IANA name (Europe/Berlin); default the team's
	// schedule's time zone, else UTC.
	Timezone string `yaml:"timezone"`
}

// RouteConfig sends the alerts whose labels equal every Match value and
// fully match every MatchRE expression (anchored, as in Alertmanager) to
// Team. A route with neither matches everything.
type RouteConfig struct {
	Match   map[string]string `yaml:"match"`
	MatchRE map[string]string `yaml:"match_re"`
	Team    string            `yaml:"team"`
}

var teamName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// routing checks teams, routes and default_team.
// uniqueName checks the name of a team, policy or schedule: its form, and
// that seen (which it adds the name to) did not have it.
func (v *configValidator) uniqueName(path, kind, name string, seen map[string]bool) {
	switch {
	case !teamName.MatchString(name):
		v.errorf(path, "want 1 to 64 of A-Z a-z 0-9 _ . - (starting with a letter or digit), got %q", clipValue(name))
	case seen[name]:
		v.errorf(path, "%s %q is defined twice", kind, name)
	}
	seen[name] = true
}

func (v *configValidator) routing(c *Config) {
	teams := map[string]bool{}
	names := make([]string, 0, len(c.Teams))
	for i, t := range c.Teams {
		v.uniqueName(fmt.Sprintf("teams[%d].name", i), "team", t.Name, teams)
		names = append(names, t.Name)
	}
	for i, t := range c.Teams {
		if t.Report == nil {
			continue
		}
		p := fmt.Sprintf("teams[%d].report", i)
		if t.Report.Weekly != "" {
			if _, _, err := parseWeekly(t.Report.Weekly); err != nil {
				v.errorf(p+".weekly", "%v", err)
			} else if t.Slack == nil && t.Mattermost == nil && t.Telegram == nil {
				v.errorf(p+".weekly", "the team has no channel to post to (slack, mattermost or telegram)")
			}
		}
		if _, err := time.LoadLocation(t.Report.Timezone); err != nil {
			v.errorf(p+".timezone", "unknown time zone %q (an IANA name such as Europe/Berlin)", clipValue(t.Report.Timezone))
		}
	}
	known := func(name string) bool { return teams[name] }
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if !known(r.Team) {
			v.unknownRef(p+".team", "team", "teams", r.Team, names)
		}
		for _, k := range slices.Sorted(maps.Keys(r.MatchRE)) {
			if _, err := regexp.Compile("^(?:" + r.MatchRE[k] + ")$"); err != nil {
				v.errorf(p+".match_re."+k, "%v", err)
			}
		}
	}
	switch {
	case c.DefaultTeam != "" && !known(c.DefaultTeam):
		v.unknownRef("default_team", "team", "teams", c.DefaultTeam, names)
	case c.DefaultTeam == "" && len(c.Teams) > 0:
		v.errorf("default_team", "must name the team that gets alerts no route matches")
	case len(c.Routes) > 0 && len(c.Teams) == 0:
		v.errorf("routes", "routes need teams")
	}
}

// router picks an incident's team.
type router struct {
	routes []route
	def    string
}

type route struct {
	match map[string]string
	re    map[string]*regexp.Regexp
	team  string
}

func newRouter(c *Config) *router {
	r := &router{def: c.DefaultTeam}
	for _, rc := range c.Routes {
		rt := route{match: rc.Match, re: map[string]*regexp.Regexp{}, team: rc.Team}
		for k, expr := range rc.MatchRE {
			rt.re[k] = regexp.MustCompile("^(?:" + expr + ")$") // checked by Validate
		}
		r.routes = append(r.routes, rt)
	}
	return r
}

// team returns the team of the first route whose matchers all hold for
// labels, or the default team and false.
func (r *router) team(labels map[string]string) (string, bool) {
next:
	for _, rt := range r.routes {
		for k, want := range rt.match {
			if labels[k] != want {
				continue next
			}
		}
		for k, re := range rt.re {
			if !re.MatchString(labels[k]) {
				continue next
			}
		}
		return rt.team, true
	}
	return r.def, false
}
