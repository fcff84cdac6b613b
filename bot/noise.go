package bot

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/suggest"
	"github.com/klaxonbot/klaxon/report"
	rsuggest "github.com/klaxonbot/klaxon/report/suggest"
	"github.com/klaxonbot/klaxon/templates"
)

// The noise report: a team's on-call load over the last days, its five
// noisiest alert rules and one suggestion for each (report/suggest). On
// demand from chat (/incident report [7d|30d]) and the API (GET
// /api/v1/report), and weekly into each team's channels at the time its
// config sets (teams[].report.weekly).

// noiseRules is how many rules the report lists.
const noiseRules = 5

// MaxDigest bounds the digest's text, in runes: under Slack's 3,000 of a
// section (and of the adapters' reply and announce texts), Telegram's
// 4,096 and Mattermost's 16,383, with room for escaping.
const MaxDigest = 2800

// Noise is a team's noise report.
type Noise struct {
	Team string
	Days int
	// Report's period ends at the time it was asked for (the weekly
	// report: its scheduled time), and is compared with the Days before.
	Report report.Report
	// Suggestions are one per Report.Rules: the suggestion for that rule,
	// or nil when its figures call for no change.
	Suggestions []*rsuggest.Suggestion
}

// teamLocation is the time zone the team's report counts hours and days
// in: teams[].report.timezone, else its schedule's, else UTC.
func (s *Server) teamLocation(team string) *time.Location {
	t := s.teams[team]
	name := ""
	if t.Report != nil && t.Report.Timezone != "" {
		name = t.Report.Timezone
	} else {
		for _, c := range s.cfg.Schedules {
			if c.Name == t.Schedule {
				name = c.Timezone
			}
		}
	}
	loc, err := time.LoadLocation(name) // Validate checked it; "" is UTC
	if err != nil {
		return time.UTC
	}
	return loc
}

// NoiseReport builds team's report over the days before until, from the
// store's statistics index. Errors: Invalid (no such team, days not 1 to
// 90), NotFound (a store without statistics), Unavailable, Internal.
func (s *Server) NoiseReport(ctx context.Context, team string, days int, until time.Time) (*Noise, error) {
	if _, ok := s.teams[team]; !ok {
		return nil, incidents.Errorf(incidents.Invalid, "there is no team %q%s", clip(team, 40), suggest.Hint(team, s.teamNames()))
	}
	if days < 1 || days > 90 {
		return nil, incidents.Errorf(incidents.Invalid, "a report covers 1 to 90 days, not %d", days)
	}
	st, ok := s.store.(incidents.Stats)
	if !ok {
		return nil, incidents.Errorf(incidents.NotFound, "this klaxon's store cannot report: it keeps no statistics index (incidents.Stats)")
	}
	from := until.Add(-time.Duration(days) * 24 * time.Hour)
	stats, err := st.Stats(ctx, incidents.StatsOptions{Team: team, Since: from.Add(-until.Sub(from)), Until: until})
	if err != nil {
		return nil, err
	}
	rep := report.Build(stats, report.Options{From: from, To: until, Location: s.teamLocation(team), Rules: noiseRules})
	n := &Noise{Team: team, Days: days, Report: rep, Suggestions: make([]*rsuggest.Suggestion, len(rep.Rules))}
	for i, r := range rep.Rules {
		if sg, ok := rsuggest.For(r.Now); ok {
			n.Suggestions[i] = &sg
		}
	}
	return n, nil
}

// Digest is the report as one plain-text message (each adapter escapes
// it): the totals with their change, then the noisiest rules with their
// figures and a suggestion each; at most MaxDigest runes, whatever the
// rules are called (names are cut, and rules left out say so).
func (n *Noise) Digest() string {
	r := n.Report
	now, was := r.Figures, r.Previous
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Noise report · team %s · the %d days to %s (%s)\n", clean(n.Team, 64), n.Days,
		r.To.In(loc).Format("Mon 2 Jan 15:04"), loc.String())
	before := fmt.Sprintf(" on the %d days before", n.Days)
	fmt.Fprintf(&b, "Incidents: %d%s", now.Incidents, countDelta(now.Incidents, was.Incidents, before))
	if now.Open > 0 {
		fmt.Fprintf(&b, " · %d still open", now.Open)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Pages: %d%s", now.Pages, countDelta(now.Pages, was.Pages, ""))
	var kinds []string
	for _, k := range []struct {
		n          int
		one, other string
	}{{now.Mentions, "mention", "mentions"}, {now.Calls, "call", "calls"}, {now.Messages, "text or push", "texts and pushes"}} {
		if k.n > 0 {
			kinds = append(kinds, plurals(k.n, k.one, k.other))
		}
	}
	if len(kinds) > 0 {
		b.WriteString(" — " + strings.Join(kinds, ", "))
	}
	fmt.Fprintf(&b, " · out of hours: %d%s\n", now.PagesAfterHours, countDelta(now.PagesAfterHours, was.PagesAfterHours, ""))
	fmt.Fprintf(&b, "MTTA p50 %s · p90 %s\n", durDelta(now.MTTA.P50, now.MTTA.N, was.MTTA.P50, was.MTTA.N), durDelta(now.MTTA.P90, now.MTTA.N, was.MTTA.P90, was.MTTA.N))
	fmt.Fprintf(&b, "MTTR p50 %s · p90 %s\n", durDelta(now.MTTR.P50, now.MTTR.N, was.MTTR.P50, was.MTTR.N), durDelta(now.MTTR.P90, now.MTTR.N, was.MTTR.P90, was.MTTR.N))
	if now.Actionable+now.NotActionable > 0 {
		fmt.Fprintf(&b, "Was it actionable? %d yes, %d no\n", now.Actionable, now.NotActionable)
	}
	head := b.String()
	if len(r.Rules) == 0 {
		return head + "\nNo alert rule fired."
	}
	rules := make([]string, len(r.Rules))
	for i, rl := range r.Rules {
		f := rl.Now
		line := fmt.Sprintf("%d. %s (%s): fired %s, %s acknowledged, %s resolved before anyone acknowledged, median %s",
			i+1, clean(rl.Name, 80), clean(rl.Source, 30), plurals(f.Fired, "time", "times"), pct(f.Acknowledged, f.Incidents),
			pct(f.ResolvedUnacked, f.Incidents), medianOr(f.MedianResolve, f.Resolved))
		if f.Flaps > 0 {
			line += ", " + plurals(f.Flaps, "flap", "flaps")
		}
		if f.NotActionable > 0 {
			line += fmt.Sprintf(", %d not actionable", f.NotActionable)
		}
		if sg := n.Suggestions[i]; sg != nil {
			line += "\n   → " + sg.Text
		}
		rules[i] = line
	}
	// Fit: drop rules from the end until the whole fits.
	for k := len(rules); k >= 0; k-- {
		out := head
		switch {
		case k == 1 && r.RulesTotal == 1:
			out += "\nThe rule that fired:\n" + rules[0]
		case k > 0:
			out += fmt.Sprintf("\nThe %d noisiest rules:\n", k) + strings.Join(rules[:k], "\n")
		}
		if more := r.RulesTotal - k; more > 0 {
			out += "\n+" + plurals(more, "more rule", "more rules") + " fired (the console's insights list them all)"
		}
		if utf8.RuneCountInString(out) <= MaxDigest {
			return out
		}
	}
	return templates.Clean(head, MaxDigest, true)
}

// clean is outside text (a rule's name, its source) as the digest shows
// it: one line, no control or bidi characters, at most max runes.
func clean(s string, max int) string { return templates.Clean(s, max, false) }

func plurals(n int, one, other string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + other
}

func pct(n, of int) string {
	if of == 0 {
		return "—"
	}
	return strconv.Itoa((n*100+of/2)/of) + "%"
}

func medianOr(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return rsuggest.Duration(d)
}

// countDelta is the change from was: " (+3)", " (−2)", " (same)".
func countDelta(now, was int, suffix string) string {
	switch {
	case now > was:
		return fmt.Sprintf(" (+%d%s)", now-was, suffix)
	case now < was:
		return fmt.Sprintf(" (−%d%s)", was-now, suffix)
	}
	return " (same" + suffix + ")"
}

// durDelta is a percentile and its change: "4m (−1m)"; "—" over nothing.
func durDelta(now time.Duration, n int, was time.Duration, wn int) string {
	if n == 0 {
		return "—"
	}
	s := rsuggest.Duration(now)
	if wn == 0 {
		return s
	}
	switch d := now - was; {
	case d >= time.Second:
		return s + " (+" + rsuggest.Duration(d) + ")"
	case d <= -time.Second:
		return s + " (−" + rsuggest.Duration(-d) + ")"
	}
	return s + " (same)"
}

// reportHere answers /incident report [7d|30d] with the digest of the
// channel's team (the first, where a channel is several teams').
func (s *Server) reportHere(ctx context.Context, r chatops.Request, c Command) (chatops.Reply, error) {
	teams := s.teamsHere(r)
	if len(teams) == 0 {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "This chat is no team's: ask for the report in a team's channel")
	}
	days := c.Days
	if days == 0 {
		days = 7
	}
	n, err := s.NoiseReport(ctx, teams[0], days, s.clock.Now())
	if err != nil {
		return chatops.Reply{}, err
	}
	reply := ephemeral(n.Digest())
	if base := s.cfg.Server.PublicURL; base != "" {
		reply.Links = []chatops.Link{{Text: "Insights in the console", URL: strings.TrimRight(base, "/") + "/ui/insights?team=" + teams[0] + "&days=" + strconv.Itoa(min(days, 90))}}
	}
	return reply, nil
}

// The report's JSON (GET /api/v1/report): durations in seconds, shares
// 0 to 1.
type (
	durationsJSON struct {
		N   int     `json:"n"`
		P50 float64 `json:"p50Seconds"`
		P90 float64 `json:"p90Seconds"`
	}
	figuresJSON struct {
		Incidents       int           `json:"incidents"`
		Acknowledged    int           `json:"acknowledged"`
		Resolved        int           `json:"resolved"`
		Open            int           `json:"open"`
		ResolvedUnacked int           `json:"resolvedUnacked"`
		MTTA            durationsJSON `json:"mtta"`
		MTTR            durationsJSON `json:"mttr"`
		Pages           int           `json:"pages"`
		Mentions        int           `json:"mentions"`
		Calls           int           `json:"calls"`
		Messages        int           `json:"messages"`
		PagesAfterHours int           `json:"pagesAfterHours"`
		Flaps           int           `json:"flaps"`
		Actionable      int           `json:"actionable"`
		NotActionable   int           `json:"notActionable"`
	}
	ruleJSON struct {
		Source               string               `json:"source"`
		Name                 string               `json:"name"`
		Fired                int                  `json:"fired"`
		Incidents            int                  `json:"incidents"`
		AckShare             float64              `json:"ackShare"`
		ResolvedUnackedShare float64              `json:"resolvedUnackedShare"`
		MedianResolve        float64              `json:"medianResolveSeconds"`
		Flaps                int                  `json:"flaps"`
		Actionable           int                  `json:"actionable"`
		NotActionable        int                  `json:"notActionable"`
		PagesAfterHours      int                  `json:"pagesAfterHours"`
		FiredBefore          int                  `json:"firedBefore"`
		Suggestion           *rsuggest.Suggestion `json:"suggestion"`
	}
	noiseJSON struct {
		Team       string      `json:"team"`
		Days       int         `json:"days"`
		From       time.Time   `json:"from"`
		To         time.Time   `json:"to"`
		Timezone   string      `json:"timezone"`
		Figures    figuresJSON `json:"figures"`
		Previous   figuresJSON `json:"previous"`
		Rules      []ruleJSON  `json:"rules"`
		RulesTotal int         `json:"rulesTotal"`
		Digest     string      `json:"digest"`
	}
)

func durJSON(d report.Durations) durationsJSON {
	return durationsJSON{N: d.N, P50: d.P50.Seconds(), P90: d.P90.Seconds()}
}

func figJSON(f report.Figures) figuresJSON {
	return figuresJSON{Incidents: f.Incidents, Acknowledged: f.Acknowledged, Resolved: f.Resolved, Open: f.Open,
		ResolvedUnacked: f.ResolvedUnacked, MTTA: durJSON(f.MTTA), MTTR: durJSON(f.MTTR), Pages: f.Pages,
		Mentions: f.Mentions, Calls: f.Calls, Messages: f.Messages, PagesAfterHours: f.PagesAfterHours,
		Flaps: f.Flaps, Actionable: f.Actionable, NotActionable: f.NotActionable}
}

// JSON is the report as GET /api/v1/report answers it.
func (n *Noise) JSON() any {
	r := n.Report
	out := noiseJSON{Team: n.Team, Days: n.Days, From: r.From.UTC(), To: r.To.UTC(), Timezone: r.Location.String(),
		Figures: figJSON(r.Figures), Previous: figJSON(r.Previous), Rules: []ruleJSON{}, RulesTotal: r.RulesTotal, Digest: n.Digest()}
	for i, rl := range r.Rules {
		f := rl.Now
		out.Rules = append(out.Rules, ruleJSON{Source: rl.Source, Name: rl.Name, Fired: f.Fired, Incidents: f.Incidents,
			AckShare: f.AckShare(), ResolvedUnackedShare: f.UnackedShare(), MedianResolve: f.MedianResolve.Seconds(),
			Flaps: f.Flaps, Actionable: f.Actionable, NotActionable: f.NotActionable, PagesAfterHours: f.PagesAfterHours,
			FiredBefore: rl.Before.Fired, Suggestion: n.Suggestions[i]})
	}
	return out
}

// getReport serves GET /api/v1/report?team=&days=: the team's noise
// report (team: default_team when left out; days: 7 by default, 1 to 90).
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	team := q.Get("team")
	if team == "" {
		team = s.cfg.DefaultTeam
	}
	if team == "" {
		writeError(w, incidents.Errorf(incidents.Invalid, "name the team: ?team=payments"))
		return
	}
	days := 7
	if d := q.Get("days"); d != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(d, "d"))
		if err != nil {
			writeError(w, incidents.Errorf(incidents.Invalid, "days is a number of days, 1 to 90 (7, 30)"))
			return
		}
		days = n
	}
	n, err := s.NoiseReport(r.Context(), team, days, s.clock.Now())
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	writeJSONIndented(w, http.StatusOK, n.JSON())
}
