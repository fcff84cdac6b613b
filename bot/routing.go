package bot

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
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
	// Handover announces shift changes of the team's schedule in its
	// channels and to the incoming person (handover.go). nil (unset)
	// means on when the team has a schedule and a chat destination.
	Handover *bool `yaml:"handover"`
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
