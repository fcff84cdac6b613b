package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/charts"
	"github.com/klaxonbot/klaxon/incidents"
)

// ImageChat is a Chat that can post an image in a card's thread (a graph).
// The outbox posts an incident's newest graph under each card once the
// card itself is up to date, within the same rate limits as the card.
// caption is plain text: the adapter escapes it for its platform and fits
// it to its limits. Errors are read as Chat's are.
type ImageChat interface {
	PostImage(ctx context.Context, ref, name string, png []byte, caption string) error
}

// Datasource is a data source of graphs (adapters/prometheus, wired in
// cmd/klaxon): it reads what an alert monitors and asks for its series.
type Datasource interface {
	// Expr returns the query an alert monitors (for Prometheus, its
	// generator URL's g0.expr); ok is false when the alert has none.
	Expr(a incidents.Alert) (expr string, ok bool)
	// Plot asks for what to draw of expr from start to end and over the
	// same window a day earlier, keeping at most max series. It must
	// give up when ctx ends. Errors should carry an incidents.Kind
	// (Unavailable, Invalid, Unauthorized) and never a credential.
	Plot(ctx context.Context, expr string, start, end time.Time, max int) (*Plot, error)
}

// Plot is what a Datasource found to draw.
type Plot struct {
	Query     string // the part of the expression plotted
	Unit      charts.Unit
	Threshold *charts.Threshold
	Step      time.Duration
	// Series are the series kept, most important first; More counts
	// those left out.
	Series []PlotSeries
	More   int
	// Previous are the kept series a day earlier, with the times the
	// data source gave (a day before Series'), each named as the series
	// it belongs to. PreviousError says why they are missing, if they are.
	Previous      []PlotSeries
	PreviousError string
	Warnings      []string
}

// PlotSeries is one series of a Plot.
type PlotSeries struct {
	Name   string
	Labels map[string]string
	Points []charts.Point
}

// Graph phases: what a graph shows, and when it is drawn.
const (
	phaseOpen     = "open"
	phaseResolved = "resolved"
)

const (
	// graphMaxSeries is how many series a graph draws; the rest are
	// counted in its legend ("+N more").
	graphMaxSeries = 5
	// graphResolvedWithin: a resolved incident is drawn only this soon
	// after it resolved (a card synced later for another reason would
	// otherwise show an hour that is not when it ended).
	graphResolvedWithin = 15 * time.Minute
	// graphRecheck is the longest the outbox waits before looking again
	// at an incident whose graph waits (for its minute, for a worker).
	graphRecheck = time.Second
	graphWorkers = 2
)

// grapher draws incidents' graphs. The outbox decides when (its worker
// holds the incident's claim and sees every change): an incident whose
// phase (open, resolved) has not been tried yet, at most once every
// interval, gets a job. The job runs here, off the outbox's workers, so
// that a slow data source never holds a card back, and at most once across
// replicas (its key is claimed through incidents.Once). It stores the PNG
// and the data plotted; the outbox, which looks at the incident again
// every graphRecheck while the job runs, then posts the new graph under
// each card. A graph that cannot be drawn is said on the timeline.
type grapher struct {
	s        *Server
	graphs   incidents.Graphs
	sources  map[string]Datasource
	cfgs     []DatasourceConfig
	jobs     chan graphJob
	interval time.Duration // the least time between two graphs of an incident
	theme    charts.Theme
}

type graphJob struct{ id, key string }

func newGrapher(s *Server, d Deps) *grapher {
	gs, ok := d.Store.(incidents.Graphs)
	if !ok || len(d.Datasources) == 0 || len(s.cfg.Datasources) == 0 {
		return nil
	}
	for _, c := range s.cfg.Datasources {
		if d.Datasources[c.Name] == nil {
			s.log.Warn("data source configured but not set up: its alerts get no graphs", "datasource", c.Name)
		}
	}
	return &grapher{s: s, graphs: gs, sources: d.Datasources, cfgs: s.cfg.Datasources,
		jobs: make(chan graphJob, 256), interval: time.Minute, theme: charts.ThemeLight}
}

// graphTarget is what an incident's graph is drawn from.
type graphTarget struct {
	source     Datasource
	name       string // the data source's
	window     time.Duration
	expr       string
	alert      incidents.Alert // the first alert with an expression
	alertStart time.Time
}

// target finds the incident's first alert that has an expression and a
// data source; ok is false when none has, or the team turned graphs off.
func (g *grapher) target(inc *incidents.Incident) (graphTarget, bool) {
	team := g.s.teams[inc.Team]
	if team.Datasource == noDatasource {
		return graphTarget{}, false
	}
	for _, a := range inc.Alerts {
		name := g.datasourceFor(team, a)
		src := g.sources[name]
		if src == nil {
			continue
		}
		expr, ok := alertExpr(src, a)
		if !ok {
			continue
		}
		t := graphTarget{source: src, name: name, expr: expr, alert: a, alertStart: a.StartsAt, window: time.Hour}
		for _, c := range g.cfgs {
			if c.Name == name {
				t.window = c.GraphWindow()
			}
		}
		for _, b := range inc.Alerts { // the earliest start of the alerts of that expression
			if b.StartsAt.IsZero() || (!t.alertStart.IsZero() && !b.StartsAt.Before(t.alertStart)) {
				continue
			}
			if b.GeneratorURL == a.GeneratorURL && b.Source == a.Source && b.Annotations[QueryAnnotation] == a.Annotations[QueryAnnotation] {
				t.alertStart = b.StartsAt
			} else if e, ok := alertExpr(src, b); ok && e == expr {
				t.alertStart = b.StartsAt
			}
		}
		return t, true
	}
	return graphTarget{}, false
}

// QueryAnnotation is the annotation a generic webhook's mapping sets to
// the query its alert monitors (annotations: {query: ...}), for graphs:
// those alerts have no generator URL to read it from.
const QueryAnnotation = "query"

// alertExpr is the query alert a monitors: what the data source reads in
// it, else a generic webhook's query annotation.
func alertExpr(src Datasource, a incidents.Alert) (string, bool) {
	if e, ok := src.Expr(a); ok {
		return e, true
	}
	if strings.HasPrefix(a.Source, WebhookSourcePrefix) {
		if q := strings.TrimSpace(a.Annotations[QueryAnnotation]); q != "" && len(q) <= 64<<10 {
			return q, true
		}
	}
	return "", false
}

// datasourceFor names the data source of an alert: the first whose match
// matches it, else the team's, else the only one when it matches all.
func (g *grapher) datasourceFor(team TeamConfig, a incidents.Alert) string {
	host := generatorHost(a.GeneratorURL)
	for _, c := range g.cfgs {
		if c.Match.Empty() {
			continue
		}
		if c.Match.Host != "" && !strings.EqualFold(c.Match.Host, host) {
			continue
		}
		matched := true
		for k, v := range c.Match.Labels {
			if a.Labels[k] != v {
				matched = false
				break
			}
		}
		if matched {
			return c.Name
		}
	}
	if team.Datasource != "" {
		return team.Datasource
	}
	if len(g.cfgs) == 1 && g.cfgs[0].Match.Empty() {
		return g.cfgs[0].Name
	}
	return ""
}

// generatorHost is the host[:port] of an alert's generator URL, lower case.
func generatorHost(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return ""
	}
	return strings.ToLower(p.Host)
}

func graphPhase(inc *incidents.Incident) string {
	if inc.State == incidents.Resolved {
		return phaseResolved
	}
	return phaseOpen
}

// check is the outbox's look at an incident it syncs: it starts the
// graph job the incident is due, and returns the incident's graph state
// (zero when it has no graph target) and, when a graph is pending, how
// soon the outbox should look again.
func (g *grapher) check(ctx context.Context, inc *incidents.Incident) (st incidents.GraphState, again time.Duration, err error) {
	if _, ok := g.target(inc); !ok {
		return st, 0, nil
	}
	st, err = g.graphs.GraphState(ctx, inc.ID)
	if err != nil {
		return st, 0, err
	}
	now := g.s.clock.Now()
	phase := graphPhase(inc)
	if st.Tried == phase || (phase == phaseResolved && now.Sub(inc.ResolvedAt) > graphResolvedWithin) {
		return st, 0, nil
	}
	if wait := st.TriedAt.Add(g.interval).Sub(now); !st.TriedAt.IsZero() && wait > 0 {
		return st, min(wait, graphRecheck), nil // at most one graph a minute
	}
	// Every replica that looks now names the job alike: one runs it.
	var last int64
	if !st.TriedAt.IsZero() {
		last = st.TriedAt.UnixMilli()
	}
	key := "graph:" + inc.ID + ":" + phase + ":" + strconv.FormatInt(last, 10)
	select {
	case g.jobs <- graphJob{id: inc.ID, key: key}:
		// The outbox looks again every graphRecheck until the job is
		// done (then it posts the graph), and so takes the job up again
		// if its replica stops first (a key held by a replica that died
		// frees itself after hold).
		return st, graphRecheck, nil
	default:
		return st, graphRecheck, nil // every worker busy: soon again
	}
}

// hold is how long a job holds its key: longer than both queries and
// the drawing take even on a loaded machine, since another replica takes
// the job over once it ends. It only delays a job whose replica died.
func (g *grapher) hold() time.Duration {
	var most time.Duration
	for _, c := range g.cfgs {
		most = max(most, c.QueryTimeout())
	}
	return 4*most + 30*time.Second
}

// queryBudget bounds a job's queries: the client bounds each by its
// timeout, and a Plot makes at most four in a row (the window and the day
// before at once; again as topk when the answer was too large; the
// count). This is a backstop.
func (g *grapher) queryBudget() time.Duration {
	var most time.Duration
	for _, c := range g.cfgs {
		most = max(most, c.QueryTimeout())
	}
	return 4*most + time.Second
}

// run works graph jobs until ctx ends.
func (g *grapher) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range graphWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-g.jobs:
					g.work(ctx, j)
				}
			}
		}()
	}
	wg.Wait()
}

// work runs one job, unless another worker (on any replica) has it.
func (g *grapher) work(ctx context.Context, j graphJob) {
	once := g.s.once
	if st, err := once.ClaimOnce(ctx, j.key, g.hold()); err != nil || st != incidents.OnceNew {
		return
	}
	done := false
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if done {
			_ = once.SpendOnce(rctx, j.key, time.Hour)
		} else {
			_ = once.ReleaseOnce(rctx, j.key)
		}
	}()
	inc, err := g.s.store.Get(ctx, j.id)
	if err != nil {
		done = incidents.ErrorKind(err) == incidents.NotFound
		return
	}
	t, ok := g.target(inc)
	if !ok {
		done = true
		return
	}
	st, err := g.graphs.GraphState(ctx, inc.ID)
	if err != nil {
		return
	}
	now := g.s.clock.Now()
	phase := graphPhase(inc)
	if st.Tried == phase {
		done = true // drawn meanwhile
		return
	}
	if !st.TriedAt.IsZero() && now.Sub(st.TriedAt) < g.interval {
		return // tried meanwhile: the outbox asks again after its minute
	}
	done = g.draw(ctx, inc, t, phase, now)
}

// draw asks the data source, draws the graph and stores it; a failure is
// said on the timeline. It reports whether the job is over (drawn, or
// failed for good); false leaves it to be tried again.
func (g *grapher) draw(ctx context.Context, inc *incidents.Incident, t graphTarget, phase string, now time.Time) bool {
	log := g.s.log.With("incident", inc.ID, "datasource", t.name)
	start := now.Add(-t.window)
	qctx, cancel := context.WithTimeout(ctx, g.queryBudget())
	began := time.Now()
	p, err := t.source.Plot(qctx, t.expr, start, now, graphMaxSeries)
	cancel()
	g.s.metrics.graphQuery.WithLabelValues(t.name).Observe(time.Since(began).Seconds())
	if ctx.Err() != nil {
		return false // shutting down: the next start tries again
	}
	if err != nil {
		reason := graphFailure(err)
		log.Warn("graph not drawn: the data source failed", "reason", reason, "err", err)
		return g.failed(ctx, inc, phase, now, reason, "Graph not drawn: "+graphFailureText(t.name, reason, err)+".")
	}
	chart := charts.Chart{
		Title: t.alert.Name() + ": " + p.Query, Unit: p.Unit, Threshold: p.Threshold, AlertStart: t.alertStart,
		MoreSeries: p.More, From: start, To: now, Theme: g.theme,
	}
	for _, s := range p.Series {
		chart.Series = append(chart.Series, charts.Series{Name: s.Name, Points: s.Points})
	}
	for _, s := range p.Previous {
		chart.Previous = append(chart.Previous, charts.Series{Name: s.Name, Points: s.Points})
	}
	var buf bytes.Buffer
	if err := charts.PNG(&buf, chart); err != nil || buf.Len() > incidents.MaxGraphPNG {
		log.Error("graph not drawn: the chart failed", "err", err, "bytes", buf.Len())
		return g.failed(ctx, inc, phase, now, "draw", "Graph not drawn: the chart could not be drawn.")
	}
	data, err := json.Marshal(newGraphData(t, p, start, now))
	if err != nil || len(data) > incidents.MaxGraphData {
		data = nil // the picture is what matters
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	st, err := g.graphs.SaveGraph(sctx, inc.ID, incidents.Graph{GraphState: incidents.GraphState{Phase: phase, DrawnAt: now}, PNG: buf.Bytes(), Data: data})
	if err != nil {
		log.Warn("graph drawn but not stored; will try again", "err", err)
		g.s.metrics.graphs.WithLabelValues("failed", "store").Inc()
		return false
	}
	g.s.metrics.graphs.WithLabelValues("drawn", phase).Inc()
	log.Info("graph drawn", "version", st.Version, "phase", phase, "query", clip(p.Query, 200), "series", len(p.Series)+p.More,
		"drawn", len(p.Series), "day_before", p.PreviousError == "")
	// No timeline event: it would move every card (an edit each, on
	// every platform, for a change no card shows). The outbox looks
	// again within graphRecheck of starting the job and posts the graph;
	// the console's live pages hear of it now.
	g.s.changed(inc.ID)
	return true
}

// failed records a graph that could not be drawn: it is not tried again
// for this phase, and the timeline says why. The cards stay as they are.
func (g *grapher) failed(ctx context.Context, inc *incidents.Incident, phase string, now time.Time, reason, text string) bool {
	g.s.metrics.graphs.WithLabelValues("failed", reason).Inc()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := g.graphs.GraphTried(sctx, inc.ID, phase, now); err != nil {
		return false
	}
	if err := g.event(sctx, inc.ID, incidents.EventGraphFailed, text); err != nil {
		g.s.log.Warn("recording a failed graph on the timeline failed", "incident", inc.ID, "err", err)
	}
	return true
}

func (g *grapher) event(ctx context.Context, id string, kind incidents.EventKind, text string) error {
	_, err := g.s.store.Update(ctx, id, func(inc *incidents.Incident) error {
		inc.AddEvent(g.s.clock.Now(), kind, "klaxon", text)
		return nil
	})
	if err == nil {
		g.s.changed(id)
	}
	return err
}

// graphFailure names why a query failed, for metrics and the timeline.
func graphFailure(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case incidents.ErrorKind(err) == incidents.Unauthorized:
		return "unauthorized"
	case incidents.ErrorKind(err) == incidents.Invalid:
		return "refused"
	}
	if strings.Contains(strings.ToLower(err.Error()), "timeout") || strings.Contains(err.Error(), "deadline") {
		return "timeout"
	}
	return "unavailable"
}

func graphFailureText(source, reason string, err error) string {
	switch reason {
	case "timeout":
		return "data source " + source + " did not answer in time"
	case "unauthorized":
		return "data source " + source + " refused klaxon's credentials"
	}
	msg := strings.TrimSuffix(clip(incidents.ErrorMessage(err), 300), ".")
	if !strings.HasPrefix(msg, "data source ") {
		msg = "data source " + source + ": " + msg
	}
	return msg
}

// graphData is the data a graph plotted, stored beside its PNG and served
// by the API (graph.json): what the tests compare with the series.
type graphData struct {
	Datasource    string            `json:"datasource"`
	Expr          string            `json:"expr"`
	Query         string            `json:"query"`
	Unit          string            `json:"unit,omitempty"`
	Threshold     *graphThreshold   `json:"threshold,omitempty"`
	Start         time.Time         `json:"start"`
	End           time.Time         `json:"end"`
	Step          string            `json:"step"`
	AlertStart    time.Time         `json:"alertStart,omitzero"`
	Series        []graphDataSeries `json:"series"`
	More          int               `json:"more,omitempty"`
	Previous      []graphDataSeries `json:"previous,omitempty"`
	PreviousError string            `json:"previousError,omitempty"`
	Warnings      []string          `json:"warnings,omitempty"`
}

type graphThreshold struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// graphDataSeries is a series as Prometheus writes one: points are
// [unix seconds, "value"], so that NaN and ±Inf survive JSON.
type graphDataSeries struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Points [][2]any          `json:"points"`
}

func newGraphData(t graphTarget, p *Plot, start, end time.Time) graphData {
	d := graphData{Datasource: t.name, Expr: t.expr, Query: p.Query, Unit: string(p.Unit), Start: start.UTC(), End: end.UTC(),
		Step: p.Step.String(), AlertStart: t.alertStart.UTC(), More: p.More, PreviousError: p.PreviousError, Warnings: p.Warnings}
	if th := p.Threshold; th != nil && !math.IsNaN(th.Value) && !math.IsInf(th.Value, 0) {
		d.Threshold = &graphThreshold{Op: th.Op, Value: th.Value}
	}
	conv := func(ss []PlotSeries) []graphDataSeries {
		out := make([]graphDataSeries, 0, len(ss))
		for _, s := range ss {
			ds := graphDataSeries{Name: s.Name, Labels: s.Labels, Points: make([][2]any, len(s.Points))}
			for i, pt := range s.Points {
				ds.Points[i] = [2]any{float64(pt.T.UnixMilli()) / 1000, strconv.FormatFloat(pt.V, 'g', -1, 64)}
			}
			out = append(out, ds)
		}
		return out
	}
	d.Series, d.Previous = conv(p.Series), conv(p.Previous)
	return d
}

// windowWords says a window as people do: "hour", "6 hours", "30 minutes".
func windowWords(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Minute:
		return "minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return shortDuration(d)
}

// graphCaption is the text under a graph posted in a card's thread.
func graphCaption(inc *incidents.Incident, st incidents.GraphState, window time.Duration) string {
	when := "as it opened"
	if st.Phase == phaseResolved {
		when = "as it resolved"
	}
	return fmt.Sprintf("%s %s: the last %s %s (dashed: the day before)", inc.ID, clip(inc.Title, 120), windowWords(window), when)
}

// captionWindow is the window of the incident's graphs, for captions.
func (g *grapher) captionWindow(inc *incidents.Incident) time.Duration {
	if t, ok := g.target(inc); ok {
		return t.window
	}
	return time.Hour
}

// graphOf reads the incident's graph for the API and the console:
// NotFound when the store keeps none or the incident has none.
func (s *Server) graphOf(ctx context.Context, id string) (incidents.Graph, error) {
	gs, ok := s.store.(incidents.Graphs)
	if !ok {
		return incidents.Graph{}, incidents.Errorf(incidents.NotFound, "this store keeps no graphs")
	}
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return incidents.Graph{}, err
	}
	return gs.Graph(ctx, id)
}

// serveGraph answers GET /api/v1/incidents/{id}/graph.png and
// graph.json: the newest graph's image, or the data it plotted.
func (s *Server) serveGraph(asJSON bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, err := s.graphOf(r.Context(), r.PathValue("id"))
		if err != nil {
			if incidents.ErrorKind(err) != incidents.NotFound {
				s.logStoreError(r, err)
			}
			writeError(w, err)
			return
		}
		writeGraph(w, r, g, asJSON)
	}
}

// writeGraph answers the graph's PNG (or data), with its version as ETag.
func writeGraph(w http.ResponseWriter, r *http.Request, g incidents.Graph, asJSON bool) {
	etag := `"graph-` + strconv.FormatInt(g.Version, 10) + `"`
	if asJSON {
		etag = `"graph-data-` + strconv.FormatInt(g.Version, 10) + `"`
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if asJSON {
		if len(g.Data) == 0 {
			writeError(w, incidents.Errorf(incidents.NotFound, "the graph's data was not kept"))
			return
		}
		h.Set("Content-Type", "application/json")
		w.Write(g.Data)
		return
	}
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(g.PNG)))
	w.Write(g.PNG)
}
