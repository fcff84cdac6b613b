package console

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// The teams page: each team as configured (read-only: config stays in
// git) — where its cards go, the routes that lead to it, its escalation
// policy in words, its schedule and who is on call, its responders.

type teamView struct {
	Name         string
	Destinations []string // "Slack channel C0123"
	Routes       []string // each in words
	Default      bool
	Policy       string
	Steps        string // the policy in words
	Extra        []string
	Schedule     string
	OnCall       string
	Responders   []string
}

// maintView is a maintenance window as the teams page lists it.
type maintView struct {
	ID, Scope, When, Reason, By string
	Now                         bool
}

// teamsData is what the teams page shows.
type teamsData struct {
	Maintenance []maintView
	Teams       []teamView
}

func maintViews(ws []incidents.Maintenance, now time.Time) []maintView {
	var out []maintView
	for _, w := range ws {
		scope := "every team"
		if w.Team != "" {
			scope = "team " + w.Team
		}
		for _, k := range sortedKeys(w.Match) {
			scope += ", " + k + " = " + strconv.Quote(w.Match[k])
		}
		loc := time.UTC
		if w.Timezone != "" {
			if l, err := time.LoadLocation(w.Timezone); err == nil {
				loc = l
			}
		}
		when := localTime(w.Start, loc) + " – " + localTime(w.End, loc)
		if w.Weekly != "" {
			when += " (weekly: " + w.Weekly + ", " + loc.String() + ")"
		}
		by := w.CreatedBy
		if by == "" && w.Weekly != "" {
			by = "config"
		}
		out = append(out, maintView{ID: templates.Clean(w.ID, 80, false), Scope: templates.Clean(scope, 500, false), When: when,
			Reason: templates.Clean(w.Reason, 300, false), By: templates.Clean(by, 100, false), Now: w.Active(now)})
	}
	return out
}

func (c *Console) teamsPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	now := c.clock.Now()
	scheds, err := c.o.Backend.Schedules(r.Context(), now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	windows, err := c.o.Backend.Maintenances(r.Context(), now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	teams := c.o.Backend.Teams()
	names := map[string]bool{}
	for _, t := range teams {
		names[t.Name] = true
	}
	var out []teamView
	for _, t := range teams {
		tv := teamView{Name: t.Name, Default: t.Default, Policy: t.Policy, Schedule: t.Schedule, Responders: t.Responders}
		for _, d := range t.Destinations {
			tv.Destinations = append(tv.Destinations, destWords(d))
		}
		for _, rt := range t.Routes {
			tv.Routes = append(tv.Routes, routeWords(rt))
		}
		if t.Steps != nil {
			tv.Steps, tv.Extra = policyWords(t.Steps, func(target string) bool { return names[target] })
		}
		if i := slices.IndexFunc(scheds, func(sc Schedule) bool { return sc.Name == t.Schedule }); i >= 0 && scheds[i].Rota != nil {
			if who, until, ok := scheds[i].Rota.OnCall(now); ok {
				tv.OnCall = who + " until " + localTime(until, locOf(scheds[i]))
			} else {
				tv.OnCall = "nobody right now"
			}
		}
		out = append(out, tv)
	}
	v := c.view(r, s, "Teams", teamsData{Maintenance: maintViews(windows, now), Teams: out})
	v.Pages = true
	c.render(w, r, http.StatusOK, "teams", v)
}

// destWords names a destination: "slack:C0123" → "Slack channel C0123".
func destWords(d string) string {
	platform, id, _ := strings.Cut(d, ":")
	id = templates.Clean(id, 80, false)
	switch platform {
	case "slack":
		return "Slack channel " + id
	case "mattermost":
		return "Mattermost channel " + id
	case "telegram":
		return "Telegram chat " + id
	}
	return templates.Clean(d, 100, false)
}

// routeWords says which alerts a route takes: `service = "pay" and env
// =~ "prod.*"`.
func routeWords(rt Route) string {
	var parts []string
	for _, k := range sortedKeys(rt.Match) {
		parts = append(parts, k+" = "+strconv.Quote(rt.Match[k]))
	}
	for _, k := range sortedKeys(rt.MatchRE) {
		parts = append(parts, k+" =~ "+strconv.Quote(rt.MatchRE[k]))
	}
	what := "every alert"
	if len(parts) > 0 {
		what = "alerts with " + strings.Join(parts, " and ")
	}
	return fmt.Sprintf("route %d: %s", rt.Index, templates.Clean(what, 500, false))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// policyWords says a policy's steps as people would: "notify the channel
// · wait 5m · warn whoever is on call · wait 10m · call whoever is on call
// · repeat 2×", and what else it does (where a severity starts, the
// minimum firing time).
func policyWords(p *incidents.Policy, isTeam func(string) bool) (string, []string) {
	who := func(target string) string {
		switch {
		case target == "channel":
			return "the channel"
		case target == "oncall":
			return "whoever is on call"
		case isTeam(target):
			return "team " + target + "'s on-call"
		}
		return target
	}
	var steps []string
	for _, st := range p.Steps {
		switch st.Kind {
		case incidents.StepNotify:
			steps = append(steps, "notify "+who(st.Target))
		case incidents.StepMention:
			steps = append(steps, "warn "+who(st.Target))
		case incidents.StepCall:
			steps = append(steps, "call "+who(st.Target))
		case incidents.StepWait:
			steps = append(steps, "wait "+templates.Duration(st.Wait))
		}
	}
	if p.Repeat > 0 {
		steps = append(steps, fmt.Sprintf("repeat %d×", p.Repeat))
	}
	var extra []string
	for _, sev := range []incidents.Severity{incidents.Sev1, incidents.Sev2, incidents.Sev3, incidents.Sev4} {
		if i, ok := p.StartAt[sev]; ok && i > 0 {
			extra = append(extra, fmt.Sprintf("%s starts at step %d (%s)", sev, i+1, steps[i]))
		}
	}
	if p.MinFiring > 0 {
		extra = append(extra, "only notifies until an incident has been open for "+templates.Duration(p.MinFiring))
	}
	return strings.Join(steps, " · "), extra
}
