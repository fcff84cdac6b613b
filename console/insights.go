package console

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/klaxonbot/klaxon/charts"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/report"
	"github.com/klaxonbot/klaxon/report/suggest"
	"github.com/klaxonbot/klaxon/templates"
)

// The insights page: a team's on-call load over 7, 30 or 90 days (the
// figures are package report's), each compared with the period before.

// insightsPeriods are the lengths offered, in days.
var insightsPeriods = []int{7, 30, 90}

const defaultPeriod = 30

type insightsView struct {
	Teams   []string
	Team    string // "" for every team
	Days    int
	Periods []int
	Zone    string
	From    string
	To      string
	Unable  string // why there are no figures
	Cards   []figure
	// The charts, as SVG drawn by package charts (which escapes every
	// label it draws).
	DaysChart  template.HTML
	HoursChart template.HTML
	AfterHours string
	WorkHours  string
	Rules      []ruleRow
	RulesMore  int
	Votes      string
}

// figure is one number and its change from the previous period.
type figure struct {
	Label, Value, Change, Was, Class, Note string
}

type ruleRow struct {
	Name, Source string
	// New: it did not fire in the previous period (no changes to show).
	New bool
	// Cells: fired, acknowledged, median time to resolve, resolved
	// before an ack, flaps, not actionable.
	Cells []cell
	// Suggestion is what to change about the rule (report/suggest), or
	// "" when its figures call for nothing.
	Suggestion string
}

// cell is a figure and its change from the previous period.
type cell struct{ Value, Change, Class string }

func (c *Console) insightsPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	q := r.URL.Query()
	iv := insightsView{Periods: insightsPeriods, Days: defaultPeriod}
	teams := c.o.Backend.Teams()
	for _, t := range teams {
		iv.Teams = append(iv.Teams, t.Name)
	}
	var loc *time.Location
	switch team := q.Get("team"); {
	case q.Has("team") && team == "":
	case team != "":
		i := slices.IndexFunc(teams, func(t Team) bool { return t.Name == team })
		if i < 0 {
			c.fail(w, r, s, incidents.Errorf(incidents.Invalid, "There is no team %q.", templates.Clean(team, 40, false)))
			return
		}
		iv.Team, loc = team, teams[i].Location
	case len(teams) > 0:
		iv.Team, loc = teams[0].Name, teams[0].Location
	}
	if d := q.Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || !slices.Contains(insightsPeriods, n) {
			c.fail(w, r, s, incidents.Errorf(incidents.Invalid, "Look at 7, 30 or 90 days."))
			return
		}
		iv.Days = n
	}
	if loc == nil {
		loc = time.UTC
	}
	iv.Zone = loc.String()
	now := c.clock.Now().In(loc)
	// Whole days in the team's time zone, today included.
	to := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc)
	from := to.AddDate(0, 0, -iv.Days)
	iv.From, iv.To = from.Format("Mon Jan 2"), to.AddDate(0, 0, -1).Format("Mon Jan 2 2006")
	stats, err := c.o.Backend.Stats(r.Context(), iv.Team, from.Add(-to.Sub(from)), to)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 && status != http.StatusServiceUnavailable {
			c.log.Warn("console: reading the insights' figures failed", "team", iv.Team, "err", err)
		}
		iv.Unable = msg
		v := c.view(r, s, "Insights", iv)
		v.Pages = true
		v.Pages = true
		c.render(w, r, status, "insights", v)
		return
	}
	rep := report.Build(stats, report.Options{From: from, To: to, Location: loc})
	iv.fill(rep)
	v := c.view(r, s, "Insights", iv)
	v.Pages = true
	c.render(w, r, http.StatusOK, "insights", v)
}

// fill puts the report's figures on the page.
func (iv *insightsView) fill(rep report.Report) {
	now, was := rep.Figures, rep.Previous
	iv.WorkHours = fmt.Sprintf("%02d:00–%02d:00 Monday to Friday", report.DefaultWorkStart/60, report.DefaultWorkEnd/60)
	iv.Cards = []figure{
		countFigure("Incidents", now.Incidents, was.Incidents, fmt.Sprintf("%d still open", now.Open)),
		durFigure("MTTA, median", now.MTTA.P50, now.MTTA.N, was.MTTA.P50, was.MTTA.N, fmt.Sprintf("over %d acknowledged", now.MTTA.N)),
		durFigure("MTTA, p90", now.MTTA.P90, now.MTTA.N, was.MTTA.P90, was.MTTA.N, ""),
		durFigure("MTTR, median", now.MTTR.P50, now.MTTR.N, was.MTTR.P50, was.MTTR.N, fmt.Sprintf("over %d resolved", now.MTTR.N)),
		durFigure("MTTR, p90", now.MTTR.P90, now.MTTR.N, was.MTTR.P90, was.MTTR.N, ""),
		countFigure("Pages", now.Pages, was.Pages, "mentions, messages and calls"),
		countFigure("Pages after hours", now.PagesAfterHours, was.PagesAfterHours, pct(now.PagesAfterHours, now.PagesRecorded)+" of the pages"),
		countFigure("Resolved before anyone acknowledged", now.ResolvedUnacked, was.ResolvedUnacked, pct(now.ResolvedUnacked, now.Incidents)+" of the incidents"),
	}
	if now.Actionable+now.NotActionable > 0 || was.Actionable+was.NotActionable > 0 {
		iv.Cards = append(iv.Cards, countFigure("Not actionable", now.NotActionable, was.NotActionable, fmt.Sprintf("of %d answers", now.Actionable+now.NotActionable)))
	}

	bars := make([]charts.Bar, len(rep.Days))
	for i, d := range rep.Days {
		bars[i] = charts.Bar{Label: d.Date.Format("Jan 2"), Value: float64(d.Incidents), Mark: !d.WorkDay,
			Tip: d.Date.Format("Mon Jan 2") + ": " + plural(d.Incidents, "incident")}
	}
	iv.DaysChart = svg(func(b *bytes.Buffer) error {
		return charts.BarsSVG(b, charts.Bars{Title: "Incidents a day", Bars: bars, MarkLabel: "days off"})
	})
	hours := make([]charts.Bar, 24)
	for h, hr := range rep.Hours {
		tip := fmt.Sprintf("%02d:00–%02d:00: %s", h, (h+1)%24, plural(hr.Pages, "page"))
		if hr.Working && hr.AfterHours > 0 {
			tip += fmt.Sprintf(", %d on days off", hr.AfterHours)
		}
		hours[h] = charts.Bar{Label: fmt.Sprintf("%02d", h), Value: float64(hr.Pages), Mark: !hr.Working, Tip: tip}
	}
	iv.HoursChart = svg(func(b *bytes.Buffer) error {
		return charts.BarsSVG(b, charts.Bars{Title: "Pages by hour of day", Bars: hours, MarkLabel: "after hours", LabelEvery: 3})
	})
	iv.AfterHours = fmt.Sprintf("%d of %d pages after hours (%s)", now.PagesAfterHours, now.PagesRecorded, pct(now.PagesAfterHours, now.PagesRecorded))

	for _, rl := range rep.Rules {
		n, b := rl.Now, rl.Before
		row := ruleRow{Name: templates.Clean(rl.Name, 120, false), Source: templates.Clean(rl.Source, 40, false), New: b.Incidents == 0,
			Cells: []cell{{Value: strconv.Itoa(n.Fired)}, {Value: pct(n.Acknowledged, n.Incidents)}, {Value: durOr(n.MedianResolve, n.Resolved)},
				{Value: pct(n.ResolvedUnacked, n.Incidents)}, {Value: strconv.Itoa(n.Flaps)}, {Value: strconv.Itoa(n.NotActionable)}}}
		if !row.New {
			c := row.Cells
			c[0].Change, c[0].Class = countChange(n.Fired, b.Fired, true)
			c[1].Change, c[1].Class = shareChange(n.AckShare(), b.AckShare(), false)
			if n.Resolved > 0 && b.Resolved > 0 {
				c[2].Change, c[2].Class = durChange(n.MedianResolve, b.MedianResolve)
			}
			c[3].Change, c[3].Class = shareChange(n.UnackedShare(), b.UnackedShare(), true)
			c[4].Change, c[4].Class = countChange(n.Flaps, b.Flaps, true)
			c[5].Change, c[5].Class = countChange(n.NotActionable, b.NotActionable, true)
		}
		if sg, ok := suggest.For(n); ok {
			row.Suggestion = sg.Text
		}
		iv.Rules = append(iv.Rules, row)
	}
	iv.RulesMore = rep.RulesTotal - len(rep.Rules)
}

// svg draws a chart, or says it could not.
func svg(draw func(*bytes.Buffer) error) template.HTML {
	var b bytes.Buffer
	if err := draw(&b); err != nil {
		return template.HTML(`<p class="empty">The chart could not be drawn.</p>`)
	}
	return template.HTML(b.String()) // safe: charts escapes what it draws (and FuzzSVG checks it)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// pct is n of of as a percentage: "42%"; "—" of nothing.
func pct(n, of int) string {
	if of == 0 {
		return "—"
	}
	return strconv.Itoa(int(math.Round(100*float64(n)/float64(of)))) + "%"
}

func durOr(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return templates.Duration(d)
}

// countChange is the change of a count, and its class: lower is better
// when down is true.
func countChange(now, was int, down bool) (string, string) {
	d := now - was
	return signed(d, strconv.Itoa(abs(d))), better(d, down)
}

func durChange(now, was time.Duration) (string, string) {
	d, sign := now-was, 0
	switch {
	case d > 0:
		sign = 1
	case d < 0:
		sign = -1
	}
	return signed(sign, templates.Duration(absDur(d))), better(sign, true)
}

func shareChange(now, was float64, down bool) (string, string) {
	d := int(math.Round(100 * (now - was)))
	return signed(d, strconv.Itoa(abs(d))+" pts"), better(d, down)
}

func signed(d int, mag string) string {
	switch {
	case d > 0:
		return "▲ " + mag
	case d < 0:
		return "▼ " + mag
	}
	return "="
}

// better is the class of a change: "better", "worse" or "".
func better(d int, down bool) string {
	switch {
	case d == 0:
		return ""
	case (d < 0) == down:
		return "better"
	}
	return "worse"
}

func countFigure(label string, now, was int, note string) figure {
	ch, cls := countChange(now, was, true)
	return figure{Label: label, Value: strconv.Itoa(now), Change: ch, Class: cls, Was: strconv.Itoa(was), Note: note}
}

func durFigure(label string, now time.Duration, n int, was time.Duration, wn int, note string) figure {
	f := figure{Label: label, Value: durOr(now, n), Was: durOr(was, wn), Note: note}
	if n > 0 && wn > 0 {
		f.Change, f.Class = durChange(now, was)
	}
	return f
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
