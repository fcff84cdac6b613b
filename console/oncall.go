package console

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
	"github.com/klaxonbot/klaxon/templates"
)

// The on-call page: for each schedule who is on call now and next, two
// weeks of shifts drawn in the schedule's time zone (its layers and its
// overrides), overrides made and removed, and the calendar feeds.

// timelineDays is how many days the page draws.
const timelineDays = 14

// Override bounds, as chat's /incident oncall override has them.
const (
	minOverride   = time.Minute
	maxOverride   = 14 * 24 * time.Hour
	maxOverrideIn = 90 * 24 * time.Hour // how far ahead one may start
)

// localInput is the form of an <input type="datetime-local">.
const localInput = "2006-01-02T15:04"

type oncallView struct {
	Schedules []scheduleView
	People    []string
	// Feeds says calendar feeds are on; MyFeed is the person's own.
	Feeds  bool
	MyFeed string
}

type scheduleView struct {
	Name, Anchor string
	Zone         string // "Asia/Jakarta"
	Teams        []string
	Layers       []string // each layer in words
	Now          string   // who is on call now, "" when nobody
	NowUntil     string
	Next         string
	NextFrom     string
	Timeline     template.HTML // the two weeks, as SVG
	TimelineDesc string
	Shifts       []shiftRow
	Overrides    []overrideRow
	CanChange    bool
	Responders   []string
	FeedURL      string
	FormFrom     string
	FormUntil    string
}

type shiftRow struct {
	Person, From, Until, Source string
	Override                    bool
}

type overrideRow struct {
	Person                          string // as stored, to name it in a removal
	Name, From, Until, SetBy, SetAt string
	FromRaw, UntilRaw               string // RFC 3339, to name it in a removal
	Active                          bool
}

// oncallDone is what the page says after a change (?did=).
var oncallDone = map[string]string{
	"override": "Override set: the timeline and the calendar feeds show it.",
	"removed":  "Override removed.",
	"rotated":  "The feed has a new URL: the old one no longer works. Subscribe again with the new one.",
}

func (c *Console) oncallPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	c.showOncall(w, r, s, http.StatusOK, "", oncallDone[r.URL.Query().Get("did")])
}

func (c *Console) showOncall(w http.ResponseWriter, r *http.Request, s *incidents.Session, status int, errMsg, notice string) {
	ctx := r.Context()
	now := c.clock.Now()
	scheds, err := c.o.Backend.Schedules(ctx, now)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	ov := oncallView{Feeds: c.o.Feeds != nil}
	people := c.o.Backend.People()
	colours := map[string]int{}
	for i, p := range people {
		ov.People = append(ov.People, p.Name)
		colours[strings.ToLower(p.Name)] = i % personColours
	}
	if ov.Feeds {
		tok, err := c.o.Feeds.FeedToken(ctx, personFeed(s.Person))
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		ov.MyFeed = c.feedURL(r, tok)
	}
	for _, sc := range scheds {
		sv, err := c.scheduleView(r, s, sc, now, colours)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		ov.Schedules = append(ov.Schedules, sv)
	}
	v := c.view(r, s, "On call", ov)
	v.Pages = true
	v.Error, v.Notice = errMsg, notice
	c.render(w, r, status, "oncall", v)
}

// feedURL is the address of the feed with token.
func (c *Console) feedURL(r *http.Request, token string) string {
	base := c.base
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/ical/" + token + ".ics"
}

// Feed names, as incidents.Feeds keeps them.
func scheduleFeed(name string) string { return "schedule:" + name }
func personFeed(name string) string   { return "person:" + name }

func locOf(sc Schedule) *time.Location {
	if sc.Location == nil {
		return time.UTC
	}
	return sc.Location
}

// name is a name from the config as the page shows it: without control
// or bidi-override characters (html/template escapes the rest).
func name(s string) string { return templates.Clean(s, 64, false) }

// localTime is t as people of the schedule read it: "Mon Mar 2 09:00 WIB".
func localTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon Jan 2 15:04 MST")
}

func (c *Console) scheduleView(r *http.Request, s *incidents.Session, sc Schedule, now time.Time, colours map[string]int) (scheduleView, error) {
	loc := locOf(sc)
	sv := scheduleView{Name: sc.Name, Anchor: "s-" + sc.Name, Zone: loc.String()}
	for _, t := range sc.Teams {
		sv.Teams = append(sv.Teams, name(t))
	}
	rota := sc.Rota
	if rota == nil {
		rota = &oncall.Schedule{Name: sc.Name}
	}
	for i, l := range rota.Layers {
		sv.Layers = append(sv.Layers, layerWords(i, len(rota.Layers), l, loc))
	}
	if who, until, ok := rota.OnCall(now); ok {
		sv.Now, sv.NowUntil = name(who), localTime(until, loc)
	}
	if who, from, ok := rota.Next(now); ok {
		sv.Next, sv.NextFrom = name(who), localTime(from, loc)
	}
	y, m, d := now.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := time.Date(y, m, d+timelineDays, 0, 0, 0, 0, loc)
	sv.Timeline = timelineSVG(rota, sc.Overrides, from, timelineDays, loc, now, colours)
	sv.TimelineDesc = fmt.Sprintf("%s to %s, in %s", from.Format("Mon Jan 2"), to.AddDate(0, 0, -1).Format("Mon Jan 2"), loc)
	for _, sh := range rota.Shifts(from, to) {
		sv.Shifts = append(sv.Shifts, shiftRow{Person: name(sh.Person), From: localTime(sh.From, loc), Until: localTime(sh.Until, loc),
			Source: sourceWords(sh, len(rota.Layers)), Override: sh.Override})
	}
	for _, o := range sc.Overrides {
		sv.Overrides = append(sv.Overrides, overrideRow{Person: o.Person, Name: name(o.Person), From: localTime(o.From, loc), Until: localTime(o.Until, loc),
			SetBy: name(o.SetBy), SetAt: localTime(o.SetAt, loc), FromRaw: o.From.UTC().Format(time.RFC3339Nano), UntilRaw: o.Until.UTC().Format(time.RFC3339Nano),
			Active: !now.Before(o.From) && now.Before(o.Until)})
	}
	sv.CanChange, sv.Responders = c.mayChangeSchedule(s.Person, sc.Name)
	// From now (this minute: a start in the past starts now) for 8 hours.
	start := now.In(loc).Truncate(time.Minute)
	sv.FormFrom, sv.FormUntil = start.Format(localInput), start.Add(8*time.Hour).Format(localInput)
	if c.o.Feeds != nil {
		tok, err := c.o.Feeds.FeedToken(r.Context(), scheduleFeed(sc.Name))
		if err != nil {
			return sv, err
		}
		sv.FeedURL = c.feedURL(r, tok)
	}
	return sv, nil
}

// layerWords describes a layer: "Layer 1: alice, bob, every 7d from Mon
// Jan 5 09:00 WIB, 09:00–17:00".
func layerWords(i, n int, l oncall.Rotation, loc *time.Location) string {
	var b strings.Builder
	if n > 1 {
		fmt.Fprintf(&b, "Layer %d", i+1)
		if i == n-1 {
			b.WriteString(" (on top)")
		}
		b.WriteString(": ")
	}
	for i, p := range l.People {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name(p))
	}
	b.WriteString(", every " + templates.Duration(l.Every))
	if !l.Start.IsZero() {
		b.WriteString(" from " + localTime(l.Start, loc))
	}
	if l.WindowFrom != l.WindowTo {
		fmt.Fprintf(&b, ", %02d:%02d–%02d:%02d", l.WindowFrom/60, l.WindowFrom%60, l.WindowTo/60, l.WindowTo%60)
	}
	if len(l.Weekdays) > 0 {
		var days []string
		for _, d := range l.Weekdays {
			days = append(days, d.String()[:3])
		}
		b.WriteString(" on " + strings.Join(days, ", "))
	}
	return b.String()
}

// sourceWords says what puts a shift's person on call.
func sourceWords(sh oncall.Shift, layers int) string {
	switch {
	case sh.Override:
		return "override"
	case layers > 1:
		return fmt.Sprintf("layer %d", sh.Layer+1)
	}
	return "rotation"
}

// mayChangeSchedule is chat's rule for overrides: the responders of a
// team whose schedule it is (anyone, for a team without responders or a
// schedule no team has).
func (c *Console) mayChangeSchedule(person, schedule string) (bool, []string) {
	var responders []string
	restricted := false
	for _, t := range c.o.Backend.Teams() {
		if t.Schedule != schedule {
			continue
		}
		if len(t.Responders) == 0 || slices.ContainsFunc(t.Responders, func(r string) bool { return strings.EqualFold(r, person) }) {
			return true, nil
		}
		restricted = true
		for _, r := range t.Responders {
			if !slices.Contains(responders, r) {
				responders = append(responders, r)
			}
		}
	}
	return !restricted, responders
}

// findSchedule is the schedule named name, with its overrides as of now.
func (c *Console) findSchedule(r *http.Request, name string) (Schedule, error) {
	scheds, err := c.o.Backend.Schedules(r.Context(), c.clock.Now())
	if err != nil {
		return Schedule{}, err
	}
	for _, sc := range scheds {
		if sc.Name == name {
			return sc, nil
		}
	}
	return Schedule{}, incidents.Errorf(incidents.NotFound, "There is no schedule %q.", templates.Clean(name, 64, false))
}

// addOverride puts someone on call for a while.
func (c *Console) addOverride(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	f := r.PostForm
	sc, err := c.findSchedule(r, f.Get("schedule"))
	if err != nil {
		c.oncallFailed(w, r, s, err)
		return
	}
	if ok, who := c.mayChangeSchedule(s.Person, sc.Name); !ok {
		c.oncallFailed(w, r, s, incidents.Errorf(incidents.Forbidden, "Only the responders of the teams on %s (%s) can change who is on call.", sc.Name, strings.Join(who, ", ")))
		return
	}
	o, err := c.readOverride(sc, f.Get("person"), f.Get("from"), f.Get("until"))
	if err != nil {
		c.oncallFailed(w, r, s, err)
		return
	}
	if err := c.o.Backend.AddOverride(r.Context(), o, s.Person); err != nil {
		c.oncallFailed(w, r, s, err)
		return
	}
	c.log.Info("console: on-call override", "schedule", o.Schedule, "person", o.Person, "from", o.From, "until", o.Until, "by", s.Person)
	http.Redirect(w, r, "/ui/oncall?did=override#s-"+url.PathEscape(sc.Name), http.StatusSeeOther)
}

// readOverride reads an override's form: a person klaxon knows, and a
// start (empty: now) and an end as typed in the schedule's time zone.
func (c *Console) readOverride(sc Schedule, person, from, until string) (incidents.OnCallOverride, error) {
	p, ok := c.o.Backend.FindPerson(person)
	if !ok || !strings.EqualFold(p.Name, strings.TrimSpace(person)) {
		return incidents.OnCallOverride{}, incidents.Errorf(incidents.Invalid, "%s is not in people: klaxon could not call or message them.", templates.Clean(person, 40, false))
	}
	loc := locOf(sc)
	now := c.clock.Now()
	parse := func(what, v string) (time.Time, error) {
		t, err := time.ParseInLocation(localInput, strings.TrimSpace(v), loc)
		if err != nil {
			return t, incidents.Errorf(incidents.Invalid, "The %s is not a date and time like 2026-03-02T09:00 (in %s).", what, loc)
		}
		return t, nil
	}
	start := now
	if strings.TrimSpace(from) != "" {
		t, err := parse("start", from)
		if err != nil {
			return incidents.OnCallOverride{}, err
		}
		if t.After(now) {
			start = t // a start in the past starts now
		}
	}
	end, err := parse("end", until)
	if err != nil {
		return incidents.OnCallOverride{}, err
	}
	switch d := end.Sub(start); {
	case !end.After(now):
		return incidents.OnCallOverride{}, incidents.Errorf(incidents.Invalid, "The end (%s) has passed.", localTime(end, loc))
	case d < minOverride || d > maxOverride:
		return incidents.OnCallOverride{}, incidents.Errorf(incidents.Invalid, "An override lasts 1 minute to 14 days; this one is %s.", templates.Duration(max(d, 0)))
	case start.Sub(now) > maxOverrideIn:
		return incidents.OnCallOverride{}, incidents.Errorf(incidents.Invalid, "An override starts within 90 days.")
	}
	return incidents.OnCallOverride{Schedule: sc.Name, Person: p.Name, From: start.UTC(), Until: end.UTC()}, nil
}

// removeOverride ends an override before its time.
func (c *Console) removeOverride(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	f := r.PostForm
	sc, err := c.findSchedule(r, f.Get("schedule"))
	if err != nil {
		c.oncallFailed(w, r, s, err)
		return
	}
	if ok, who := c.mayChangeSchedule(s.Person, sc.Name); !ok {
		c.oncallFailed(w, r, s, incidents.Errorf(incidents.Forbidden, "Only the responders of the teams on %s (%s) can change who is on call.", sc.Name, strings.Join(who, ", ")))
		return
	}
	from, err1 := time.Parse(time.RFC3339Nano, f.Get("from"))
	until, err2 := time.Parse(time.RFC3339Nano, f.Get("until"))
	if err1 != nil || err2 != nil {
		c.oncallFailed(w, r, s, incidents.Errorf(incidents.Invalid, "The form does not name an override: reload the page."))
		return
	}
	o := incidents.OnCallOverride{Schedule: sc.Name, Person: f.Get("person"), From: from, Until: until}
	if err := c.o.Backend.RemoveOverride(r.Context(), o, s.Person); err != nil {
		c.oncallFailed(w, r, s, err)
		return
	}
	c.log.Info("console: on-call override removed", "schedule", o.Schedule, "person", o.Person, "from", o.From, "until", o.Until, "by", s.Person)
	http.Redirect(w, r, "/ui/oncall?did=removed#s-"+url.PathEscape(sc.Name), http.StatusSeeOther)
}

// rotateFeed gives a feed a new secret URL: a schedule's, by those who
// may change it; one's own.
func (c *Console) rotateFeed(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	if c.o.Feeds == nil {
		c.oncallFailed(w, r, s, incidents.Errorf(incidents.NotFound, "Calendar feeds are off."))
		return
	}
	feed := r.PostForm.Get("feed")
	anchor := "feeds"
	switch kind, name, _ := strings.Cut(feed, ":"); kind {
	case "person":
		if name != s.Person {
			c.oncallFailed(w, r, s, incidents.Errorf(incidents.Forbidden, "You can renew your own calendar feed only."))
			return
		}
	case "schedule":
		if _, err := c.findSchedule(r, name); err != nil {
			c.oncallFailed(w, r, s, err)
			return
		}
		if ok, who := c.mayChangeSchedule(s.Person, name); !ok {
			c.oncallFailed(w, r, s, incidents.Errorf(incidents.Forbidden, "Only the responders of the teams on %s (%s) can renew its feed.", name, strings.Join(who, ", ")))
			return
		}
		anchor = "s-" + name
	default:
		c.oncallFailed(w, r, s, incidents.Errorf(incidents.Invalid, "There is no such feed."))
		return
	}
	if _, err := c.o.Feeds.RotateFeedToken(r.Context(), feed); err != nil {
		c.oncallFailed(w, r, s, err)
		return
	}
	c.log.Info("console: calendar feed renewed", "feed", feed, "by", s.Person)
	http.Redirect(w, r, "/ui/oncall?did=rotated#"+url.PathEscape(anchor), http.StatusSeeOther)
}

// oncallFailed shows the on-call page with what went wrong.
func (c *Console) oncallFailed(w http.ResponseWriter, r *http.Request, s *incidents.Session, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		c.log.Warn("console: on-call change failed", "err", err)
	}
	c.showOncall(w, r, s, status, msg, "")
}

// --- the timeline ---

// personColours is how many colours people's shifts take in turn.
const personColours = 8

// The timeline's geometry, in the viewBox's units (it scales to the
// page's width).
const (
	tlWidth  = 420 // a phone's width: the text is its size there
	tlLabel  = 46  // the day's label
	tlRight  = 6
	tlHead   = 18 // the hours along the top
	tlMain   = 22 // the on-call row
	tlSub    = 7  // a layer's or the overrides' row
	tlSubGap = 2
	tlDayGap = 7
)

// timelineSVG draws days days of rota from from (a midnight in loc): a
// row a day, each day as long as it is there (23 or 25 hours across a DST
// change), who is on call in the person's colour, an override outlined;
// above each day's main row, thin rows for the overrides (when there are
// any) and each layer (when there are several), so that what the result
// is made of shows. Classes only (the stylesheet colours them),
// every name escaped.
func timelineSVG(rota *oncall.Schedule, overrides []incidents.OnCallOverride, from time.Time, days int, loc *time.Location, now time.Time, colours map[string]int) template.HTML {
	to := time.Date(from.Year(), from.Month(), from.Day()+days, 0, 0, 0, 0, loc)
	// The thin rows, top to bottom: the overrides, then the layers from
	// the top one down to the first, just above the result they make.
	var subs []string
	var ovs []incidents.OnCallOverride
	for _, o := range overrides {
		if o.Until.After(from) && o.From.Before(to) {
			ovs = append(ovs, o)
		}
	}
	if len(ovs) > 0 {
		subs = append(subs, "ovr")
	}
	layerRotas := map[string]*oncall.Schedule{}
	if len(rota.Layers) > 1 {
		for i := len(rota.Layers) - 1; i >= 0; i-- {
			name := fmt.Sprintf("L%d", i+1)
			subs = append(subs, name)
			layerRotas[name] = &oncall.Schedule{Layers: []oncall.Rotation{rota.Layers[i]}}
		}
	}
	dayH := float64(len(subs)*(tlSub+tlSubGap) + tlMain)
	height := tlHead + float64(days)*(dayH+tlDayGap)
	x0, x1 := float64(tlLabel), float64(tlWidth-tlRight)
	colour := func(person string) string {
		if n, ok := colours[strings.ToLower(person)]; ok {
			return fmt.Sprintf("p%d", n)
		}
		return "px"
	}
	esc := func(s string, n int) string { return html.EscapeString(templates.Clean(s, n, false)) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg class="tl" viewBox="0 0 %d %s" role="img" aria-label="Who is on call, %s to %s, in %s" xmlns="http://www.w3.org/2000/svg">`,
		tlWidth, num(height), from.Format("Mon Jan 2"), to.AddDate(0, 0, -1).Format("Mon Jan 2"), esc(loc.String(), 60))
	// The hours along the top.
	for h := 0; h <= 24; h += 6 {
		x := x0 + float64(h)/24*(x1-x0)
		anchor := "middle"
		switch h {
		case 0:
			anchor = "start"
		case 24:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text class="tl-h" x="%s" y="12" text-anchor="%s">%02d:00</text>`, num(x), anchor, h%24)
	}
	y := float64(tlHead)
	for i := range days {
		start := time.Date(from.Year(), from.Month(), from.Day()+i, 0, 0, 0, 0, loc)
		end := time.Date(from.Year(), from.Month(), from.Day()+i+1, 0, 0, 0, 0, loc)
		length := end.Sub(start)
		xOf := func(t time.Time) float64 {
			return x0 + float64(t.Sub(start))/float64(length)*(x1-x0)
		}
		label := start.Format("Mon 2")
		class := "tl-day"
		if wd := start.Weekday(); wd == time.Saturday || wd == time.Sunday {
			class += " tl-we"
		}
		fmt.Fprintf(&b, `<text class="%s" x="0" y="%s">%s</text>`, class, num(y+dayH-7), label)
		if length != 24*time.Hour {
			fmt.Fprintf(&b, `<text class="tl-dst" x="0" y="%s">%dh day</text>`, num(y+dayH+3), int(length.Hours()))
		}
		// The thin rows.
		sy := y
		for _, name := range subs {
			fmt.Fprintf(&b, `<rect class="tl-bg" x="%s" y="%s" width="%s" height="%d"/>`, num(x0), num(sy), num(x1-x0), tlSub)
			var segs []oncall.Shift
			if name == "ovr" {
				for _, o := range ovs {
					segs = append(segs, oncall.Shift{Person: o.Person, From: maxTime(o.From, start), Until: minTime(o.Until, end), Override: true})
				}
			} else {
				segs = layerRotas[name].Shifts(start, end)
			}
			for _, sh := range segs {
				if !sh.Until.After(sh.From) {
					continue
				}
				what := "layer " + name[1:]
				if name == "ovr" {
					what = "override"
				}
				fmt.Fprintf(&b, `<rect class="tl-sub %s" x="%s" y="%s" width="%s" height="%d"><title>%s, %s: %s–%s</title></rect>`,
					colour(sh.Person), num(xOf(sh.From)), num(sy), num(xOf(sh.Until)-xOf(sh.From)), tlSub,
					esc(sh.Person, 64), what, sh.From.In(loc).Format("15:04"), sh.Until.In(loc).Format("15:04"))
			}
			sy += tlSub + tlSubGap
		}
		// The result: who is on call.
		fmt.Fprintf(&b, `<rect class="tl-bg" x="%s" y="%s" width="%s" height="%d"/>`, num(x0), num(sy), num(x1-x0), tlMain)
		for _, sh := range rota.Shifts(start, end) {
			x, wd := xOf(sh.From), xOf(sh.Until)-xOf(sh.From)
			cls := "tl-sh " + colour(sh.Person)
			src := sourceWords(sh, len(rota.Layers))
			if sh.Override {
				cls += " tl-ov"
			}
			fmt.Fprintf(&b, `<g class="%s"><rect x="%s" y="%s" width="%s" height="%d"/><title>%s, %s–%s (%s)</title>`,
				cls, num(x), num(sy), num(wd), tlMain, esc(sh.Person, 64), sh.From.In(loc).Format("15:04"), sh.Until.In(loc).Format("15:04"), src)
			name := templates.Clean(sh.Person, 24, false)
			if sh.Override {
				name += " ⇄"
			}
			if wd > float64(len([]rune(name)))*6.5+6 {
				fmt.Fprintf(&b, `<text x="%s" y="%s">%s</text>`, num(x+3), num(sy+15), html.EscapeString(name))
			}
			b.WriteString(`</g>`)
		}
		// Six-hourly ticks, at the wall-clock hours (DST-correct).
		for _, h := range []int{6, 12, 18} {
			t := time.Date(start.Year(), start.Month(), start.Day(), h, 0, 0, 0, loc)
			fmt.Fprintf(&b, `<line class="tl-tick" x1="%s" x2="%s" y1="%s" y2="%s"/>`, num(xOf(t)), num(xOf(t)), num(y), num(sy+tlMain))
		}
		if !now.Before(start) && now.Before(end) {
			fmt.Fprintf(&b, `<line class="tl-now" x1="%s" x2="%s" y1="%s" y2="%s"><title>now</title></line>`, num(xOf(now)), num(xOf(now)), num(y-2), num(sy+tlMain+2))
		}
		y += dayH + tlDayGap
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // safe: every text escaped above
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// num prints an SVG coordinate: at most one decimal.
func num(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	s = strings.TrimSuffix(s, ".0")
	return cmp.Or(s, "0")
}
