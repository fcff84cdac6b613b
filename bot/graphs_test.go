package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// imageChat is a fakeChat that posts images too (bot.ImageChat).
type imageChat struct {
	*fakeChat
	imu    sync.Mutex
	images []postedImage
}

type postedImage struct {
	ref, name, caption string
	png                []byte
}

func (c *imageChat) PostImage(ctx context.Context, ref, name string, png []byte, caption string) error {
	c.fakeChat.mu.Lock()
	err := c.fakeChat.fail("image")
	known := c.fakeChat.byRef[ref] != nil
	c.fakeChat.mu.Unlock()
	if err != nil {
		return err
	}
	if !known {
		return &chatErr{code: "message_not_found"}
	}
	c.imu.Lock()
	defer c.imu.Unlock()
	c.images = append(c.images, postedImage{ref: ref, name: name, caption: caption, png: png})
	return nil
}

func (c *imageChat) posted() []postedImage {
	c.imu.Lock()
	defer c.imu.Unlock()
	return append([]postedImage(nil), c.images...)
}

// seriesValue is what the fake Prometheus answers for instance i at t.
func seriesValue(i int, t time.Time) string {
	return strconv.FormatFloat(float64(i)+float64(t.Unix()%600)/100, 'f', -1, 64)
}

// fakeProm answers n series of latency_seconds, or what answer says.
type fakeProm struct {
	*promfake.Server
	n      int
	answer atomic.Pointer[promfake.Response] // when set, every query gets it
}

func newFakeProm(t testing.TB, n int) *fakeProm {
	f := &fakeProm{n: n}
	f.Server = promfake.New(promfake.Options{Token: "prom-token-0123456789", Answer: func(q promfake.Query) promfake.Response {
		if r := f.answer.Load(); r != nil {
			return *r
		}
		var ss []promfake.Series
		for i := range f.n {
			s := promfake.Series{Metric: map[string]string{"__name__": "latency_seconds", "instance": "api-" + strconv.Itoa(i)}}
			for _, ts := range q.Times() {
				s.Points = append(s.Points, promfake.Point{T: ts, V: seriesValue(i, ts)})
			}
			ss = append(ss, s)
		}
		return promfake.Response{Series: ss}
	}})
	t.Cleanup(f.Close)
	return f
}

type graphEnv struct {
	*env
	cfg       *bot.Config
	slack, tg *imageChat
	srv       *bot.Server
	prom      *fakeProm
	cancel    context.CancelFunc
	done      chan struct{}
}

const graphExpr = `latency_seconds > 0.5`

func graphConfig(prom *fakeProm) func(*bot.Config) {
	return func(c *bot.Config) {
		chatConfig(c)
		c.Datasources = []bot.DatasourceConfig{{Name: "prom", URL: prom.URL(), Token: "prom-token-0123456789", Timeout: bot.Duration(300 * time.Millisecond)}}
	}
}

func newGraphEnv(t testing.TB, store incidents.Store, prom *fakeProm, clock *fakeClock, mutate func(*bot.Config)) *graphEnv {
	t.Helper()
	cfg := bot.DefaultConfig()
	graphConfig(prom)(cfg)
	if mutate != nil {
		mutate(cfg)
	}
	if clock == nil {
		clock = &fakeClock{now: time.Now().Truncate(time.Second)}
	}
	e := &graphEnv{cfg: cfg, slack: &imageChat{fakeChat: newFakeChat()}, tg: &imageChat{fakeChat: newFakeChat()}, prom: prom}
	e.env = &env{t: t, clock: clock, store: store}
	e.build()
	return e
}

func (e *graphEnv) build() {
	e.t.Helper()
	srcs := map[string]bot.Datasource{}
	for _, d := range e.cfg.Datasources {
		c, err := promds.New(promds.Options{Name: d.Name, URL: d.URL, Token: d.Token.Reveal(), Timeout: d.QueryTimeout()})
		if err != nil {
			e.t.Fatal(err)
		}
		srcs[d.Name] = bot.PromSource{C: c}
	}
	srv, err := bot.New(e.cfg, bot.Deps{
		Store: e.store, Clock: e.clock, Logger: discardLogger(), Version: "test",
		Chats:       map[string]bot.Chat{bot.Slack: e.slack, bot.Telegram: e.tg},
		Datasources: srcs,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv, e.h = srv, srv.Handler()
}

func (e *graphEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() { defer close(e.done); e.srv.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

func (e *graphEnv) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

// openGraphed opens an incident whose alert links to graphExpr on the
// fake Prometheus, started ten minutes ago.
func (e *graphEnv) openGraphed(group string) *incidents.Incident {
	e.t.Helper()
	a := storetest.Alert(group+"-a", incidents.AlertFiring, e.clock.Now().Add(-10*time.Minute))
	a.GeneratorURL = "http://prometheus:9090/graph?g0.expr=" + url.QueryEscape(graphExpr) + "&g0.tab=1"
	b := storetest.Batch(group, a)
	b.Team = "payments"
	r, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Incident
}

func (e *graphEnv) act(id string, a incidents.Action) *incidents.Incident {
	e.t.Helper()
	inc, err := e.store.Update(context.Background(), id, func(inc *incidents.Incident) error {
		return inc.Apply(a, "alice", "", e.clock.Now())
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *graphEnv) graphState(id string) incidents.GraphState {
	e.t.Helper()
	st, err := e.store.(incidents.Graphs).GraphState(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *graphEnv) events(id string, kind incidents.EventKind) []incidents.Event {
	e.t.Helper()
	inc, err := e.store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []incidents.Event
	for _, ev := range inc.Timeline {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// plotted is graph.json as the API serves it.
type plotted struct {
	Datasource string `json:"datasource"`
	Query      string `json:"query"`
	Unit       string `json:"unit"`
	Threshold  *struct {
		Op    string  `json:"op"`
		Value float64 `json:"value"`
	} `json:"threshold"`
	Start, End time.Time
	AlertStart time.Time `json:"alertStart"`
	Series     []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
		Points [][2]any          `json:"points"`
	} `json:"series"`
	More     int `json:"more"`
	Previous []struct {
		Name   string   `json:"name"`
		Points [][2]any `json:"points"`
	} `json:"previous"`
}

func (e *graphEnv) plotted(id string) plotted {
	e.t.Helper()
	r := e.do("GET", "/api/v1/incidents/"+id+"/graph.json", "")
	if r.code != 200 {
		e.t.Fatalf("graph.json: %d %s", r.code, r.body)
	}
	var p plotted
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// checkPlotted compares the values plotted with what the fake answered.
func checkPlotted(t *testing.T, p plotted, kept int) {
	t.Helper()
	if p.Datasource != "prom" || p.Query != "latency_seconds" || p.Unit != "seconds" || p.Threshold == nil || p.Threshold.Op != ">" || p.Threshold.Value != 0.5 {
		t.Errorf("plotted %+v", p)
	}
	if len(p.Series) != kept || len(p.Previous) != kept {
		t.Fatalf("plotted %d series and %d the day before, want %d", len(p.Series), len(p.Previous), kept)
	}
	for _, s := range p.Series {
		i, _ := strconv.Atoi(strings.TrimPrefix(s.Labels["instance"], "api-"))
		if len(s.Points) != 241 {
			t.Errorf("%s: %d points, want 241 (an hour at 15s)", s.Name, len(s.Points))
		}
		for _, pt := range s.Points {
			ts := time.UnixMilli(int64(pt[0].(float64) * 1000))
			if pt[1].(string) != seriesValue(i, ts) {
				t.Fatalf("%s at %v: plotted %v, the series has %s", s.Name, ts, pt[1], seriesValue(i, ts))
			}
		}
	}
}

func TestGraphDrawnOnOpenAndResolve(t *testing.T) {
	prom := newFakeProm(t, 8)
	e := newGraphEnv(t, boltStore(t), prom, nil, nil)
	e.start()
	inc := e.openGraphed("g1")
	waitFor(t, 5*time.Second, "the graph in both threads", func() bool {
		return len(e.slack.posted()) == 1 && len(e.tg.posted()) == 1
	})
	img := e.slack.posted()[0]
	card := e.slack.cards(slackC, inc.ID)
	if len(card) != 1 || img.ref != card[0].ref || img.name != inc.ID+"-graph-1.png" || !strings.Contains(img.caption, "the last hour as it opened") ||
		string(img.png[:8]) != "\x89PNG\r\n\x1a\n" || len(img.png) > incidents.MaxGraphPNG {
		t.Fatalf("image %q %q under %q (%d bytes); cards %+v", img.name, img.caption, img.ref, len(img.png), card)
	}
	// The data plotted: the five series that matter most (the highest),
	// over the last hour and the day before, as the fake answered them.
	p := e.plotted(inc.ID)
	checkPlotted(t, p, 5)
	if p.More != 3 || p.Series[0].Labels["instance"] != "api-7" || !p.End.Equal(e.clock.Now()) || p.End.Sub(p.Start) != time.Hour {
		t.Errorf("plotted more %d, first %v, window %v..%v", p.More, p.Series[0].Labels, p.Start, p.End)
	}
	qs := prom.Queries()
	if len(qs) != 2 || qs[0].Auth != "Bearer prom-token-0123456789" {
		t.Fatalf("queries %+v", qs)
	}
	// A graph drawn moves no card: no timeline event, no edit.
	if inc, _ := e.store.Get(context.Background(), inc.ID); inc.Version != card[0].version || card[0].edits != 0 {
		t.Errorf("incident v%d, card v%d after %d edits", inc.Version, card[0].version, card[0].edits)
	}
	r := e.do("GET", "/api/v1/incidents/"+inc.ID+"/graph.png", "")
	if r.code != 200 || r.header.Get("Content-Type") != "image/png" || r.body != string(img.png) {
		t.Errorf("graph.png: %d %s", r.code, r.header)
	}
	if r := e.do("GET", "/api/v1/incidents/"+inc.ID+"/graph.png", "", "If-None-Match", r.header.Get("ETag")); r.code != 304 {
		t.Errorf("graph.png with its ETag: %d", r.code)
	}

	// Resolved a minute later: drawn again, "as it resolved".
	e.clock.Add(time.Minute)
	inc = e.act(inc.ID, incidents.Resolve)
	waitFor(t, 5*time.Second, "the second graph", func() bool {
		return len(e.slack.posted()) == 2 && len(e.tg.posted()) == 2
	})
	if img := e.slack.posted()[1]; img.name != inc.ID+"-graph-2.png" || !strings.Contains(img.caption, "as it resolved") {
		t.Errorf("second image %q %q", img.name, img.caption)
	}
	if st := e.graphState(inc.ID); st.Version != 2 || st.Phase != "resolved" {
		t.Errorf("graph state %+v", st)
	}
	synced(t, e.slack.fakeChat, slackC, inc)
	if n := len(prom.Queries()); n != 4 {
		t.Errorf("%d queries, want 4 (two graphs)", n)
	}
	metrics := e.do("GET", "/metrics", "").body
	for _, want := range []string{`klaxon_graphs_total{reason="open",result="drawn"} 1`, `klaxon_graphs_total{reason="resolved",result="drawn"} 1`,
		`klaxon_graph_query_duration_seconds_count{datasource="prom"} 2`, `klaxon_deliveries_total{code="",kind="image",platform="slack",result="ok"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// An incident that resolves within a minute of its first graph waits for
// the minute before its second.
func TestGraphThrottledToOnceAMinute(t *testing.T) {
	prom := newFakeProm(t, 1)
	e := newGraphEnv(t, boltStore(t), prom, nil, nil)
	e.start()
	inc := e.openGraphed("g1")
	waitFor(t, 5*time.Second, "the first graph", func() bool { return len(e.tg.posted()) == 1 })
	e.clock.Add(20 * time.Second)
	inc = e.act(inc.ID, incidents.Resolve)
	synced(t, e.tg.fakeChat, tgChat, inc) // the outbox has looked at the resolved incident
	if st := e.graphState(inc.ID); st.Version != 1 || st.Tried != "open" || len(prom.Queries()) != 2 {
		t.Fatalf("within the minute: graph state %+v, %d queries", st, len(prom.Queries()))
	}
	e.clock.Add(40 * time.Second)
	waitFor(t, 5*time.Second, "the graph a minute later", func() bool { return len(e.tg.posted()) == 2 })
	if st := e.graphState(inc.ID); st.Version != 2 || st.Phase != "resolved" {
		t.Errorf("graph state %+v", st)
	}
}

// A data source that fails or is slow leaves the card as it is, on time,
// and the timeline says why; nothing is retried for that phase.
func TestGraphFailingQuery(t *testing.T) {
	for name, r := range map[string]promfake.Response{
		"error":   {Status: 503, Body: promfake.Error("unavailable", "overloaded")},
		"refused": {Status: 400, Body: promfake.Error("bad_data", "parse error at char 3")},
		"timeout": {Delay: time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			prom := newFakeProm(t, 1)
			prom.answer.Store(&r)
			e := newGraphEnv(t, boltStore(t), prom, nil, nil)
			e.start()
			inc := e.openGraphed("g1")
			synced(t, e.slack.fakeChat, slackC, inc)
			var failed []incidents.Event
			waitFor(t, 5*time.Second, "the failure on the timeline", func() bool {
				failed = e.events(inc.ID, incidents.EventGraphFailed)
				return len(failed) == 1
			})
			if !strings.Contains(failed[0].Text, "Graph not drawn: data source prom") {
				t.Errorf("event %q", failed[0].Text)
			}
			want := map[string]string{
				"timeout": "Graph not drawn: data source prom did not answer in time.",
				"error":   "Graph not drawn: data source prom: Prometheus refused the query (unavailable, HTTP 503): overloaded.",
				"refused": "Graph not drawn: data source prom: Prometheus refused the query (bad_data, HTTP 400): parse error at char 3.",
			}[name]
			if failed[0].Text != want {
				t.Errorf("event %q, want %q", failed[0].Text, want)
			}
			inc, _ = e.store.Get(context.Background(), inc.ID)
			m := synced(t, e.slack.fakeChat, slackC, inc)
			if m.state != incidents.Triggered || len(e.slack.cards(slackC, inc.ID)) != 1 {
				t.Errorf("card %+v", m)
			}
			waitFor(t, 5*time.Second, "the failure in the thread", func() bool {
				for _, m := range e.slack.cards(slackC, inc.ID) {
					for _, evs := range m.replies {
						for _, ev := range evs {
							if ev.Kind == incidents.EventGraphFailed {
								return true
							}
						}
					}
				}
				return false
			})
			if n := len(e.slack.posted()) + len(e.tg.posted()); n != 0 {
				t.Errorf("%d images posted", n)
			}
			if r := e.do("GET", "/api/v1/incidents/"+inc.ID+"/graph.png", ""); r.code != 404 {
				t.Errorf("graph.png: %d %s", r.code, r.body)
			}
			if st := e.graphState(inc.ID); st.Tried != "open" || st.Version != 0 {
				t.Errorf("graph state %+v", st)
			}
			reason := map[string]string{"error": "unavailable", "refused": "refused", "timeout": "timeout"}[name]
			if m := e.do("GET", "/metrics", "").body; !strings.Contains(m, `klaxon_graphs_total{reason="`+reason+`",result="failed"} 1`) {
				t.Errorf("metrics lack the failure (%s)", reason)
			}
		})
	}
}

// An incident without an expression, or a team that turned graphs off,
// gets no graph, and the API says 404.
func TestGraphNone(t *testing.T) {
	prom := newFakeProm(t, 1)
	e := newGraphEnv(t, boltStore(t), prom, nil, func(c *bot.Config) { c.Teams[0].Datasource = "none" })
	e.start()
	inc := e.openGraphed("g1")
	synced(t, e.slack.fakeChat, slackC, inc)
	plain := e.open("g2")
	synced(t, e.slack.fakeChat, slackC, plain)
	for _, id := range []string{inc.ID, plain.ID} {
		if r := e.do("GET", "/api/v1/incidents/"+id+"/graph.png", ""); r.code != 404 || !strings.Contains(r.body, "no graph") {
			t.Errorf("%s graph.png: %d %s", id, r.code, r.body)
		}
	}
	if n := len(prom.Queries()); n != 0 {
		t.Errorf("%d queries", n)
	}
}

func (e *graphEnv) open(group string) *incidents.Incident {
	e.t.Helper()
	b := storetest.Batch(group, storetest.Alert(group+"-a", incidents.AlertFiring, e.clock.Now()))
	b.Team = "payments"
	r, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Incident
}

// A replica that stops while its graph job waits for the data source
// leaves it to the next start, which draws it.
func TestGraphRestartResumes(t *testing.T) {
	prom := newFakeProm(t, 2)
	slow := promfake.Response{Delay: time.Minute}
	prom.answer.Store(&slow)
	store := boltStore(t)
	e := newGraphEnv(t, store, prom, nil, func(c *bot.Config) { c.Datasources[0].Timeout = bot.Duration(10 * time.Second) })
	e.start()
	inc := e.openGraphed("g1")
	waitFor(t, 5*time.Second, "the query", func() bool { return len(prom.Queries()) > 0 })
	e.stop()
	if st := e.graphState(inc.ID); st.Tried != "" {
		t.Fatalf("graph state after the stop %+v", st)
	}
	prom.answer.Store(nil)
	e2 := newGraphEnv(t, store, prom, e.clock, nil)
	e2.start()
	waitFor(t, 10*time.Second, "the graph after the restart", func() bool { return len(e2.slack.posted()) == 1 })
	checkPlotted(t, e2.plotted(inc.ID), 2)
}

// Two replicas on one Redis draw each graph once.
func TestGraphOnceAcrossReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("graphs")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	prom := newFakeProm(t, 3)
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	var envs []*graphEnv
	shared := &imageChat{fakeChat: newFakeChat()}
	for range 2 {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { s.Close() })
		e := newGraphEnv(t, s, prom, clock, func(c *bot.Config) { c.Teams[0].Telegram = nil })
		e.slack = shared
		e.build()
		envs = append(envs, e)
	}
	for _, e := range envs {
		e.start()
	}
	const n = 10
	var incs []*incidents.Incident
	for i := range n {
		incs = append(incs, envs[i%2].openGraphed(fmt.Sprintf("g%d", i)))
	}
	waitFor(t, 10*time.Second, "a graph per incident", func() bool { return len(shared.posted()) >= n })
	for _, inc := range incs {
		for _, e := range envs {
			inc, _ = e.store.Get(context.Background(), inc.ID)
		}
		synced(t, shared.fakeChat, slackC, inc)
	}
	if got := len(shared.posted()); got != n {
		t.Errorf("%d images for %d incidents", got, n)
	}
	if q := len(prom.Queries()); q != 2*n {
		t.Errorf("%d queries for %d graphs, want %d", q, n, 2*n)
	}
	for _, inc := range incs {
		if st := envs[0].graphState(inc.ID); st.Version != 1 {
			t.Errorf("%s: graph version %d, want 1", inc.ID, st.Version)
		}
	}
}

// The console's incident page shows the graph through its own route,
// under the session, as a same-origin <img> the CSP lets in.
func TestGraphOnConsolePage(t *testing.T) {
	e, _ := newConsolePagesEnv(t, boltStore(t))
	inc := e.open("g1")
	alice, _ := e.signIn("alice", e.slack.dms)
	res, page := e.get(alice, "/ui/incidents/"+inc.ID)
	if res.StatusCode != 200 || strings.Contains(page, "graph.png") {
		t.Fatalf("page without a graph: %s, shows one: %v", res.Status, strings.Contains(page, "graph.png"))
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
	if _, err := e.store.(incidents.Graphs).SaveGraph(context.Background(), inc.ID, incidents.Graph{
		GraphState: incidents.GraphState{Phase: "open", DrawnAt: e.clock.Now()}, PNG: png}); err != nil {
		t.Fatal(err)
	}
	res, page = e.get(alice, "/ui/incidents/"+inc.ID)
	src := "/ui/incidents/" + inc.ID + "/graph.png?v=1"
	if res.StatusCode != 200 || !strings.Contains(page, `<img src="`+src+`" width="720" alt="Graph of what `+inc.ID) {
		t.Fatalf("page: %s\n%.4000s", res.Status, page)
	}
	res, body := e.get(alice, src)
	if res.StatusCode != 200 || body != string(png) || res.Header.Get("Content-Type") != "image/png" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "img-src 'self'") {
		t.Errorf("graph: %s %v", res.Status, res.Header)
	}
	res, _ = e.get(e.browser(), src)
	if res.StatusCode == 200 {
		t.Errorf("graph without a session: %s", res.Status)
	}
	other := e.open("g2")
	if res, _ := e.get(alice, "/ui/incidents/"+other.ID+"/graph.png"); res.StatusCode != 404 {
		t.Errorf("graph of an incident without one: %s", res.Status)
	}
}

// An image a platform refuses for good is said once on the timeline and
// not tried again (the card itself is fine); one that failed for a while
// is retried and posted once.
func TestGraphImageFailures(t *testing.T) {
	prom := newFakeProm(t, 1)
	e := newGraphEnv(t, boltStore(t), prom, nil, nil)
	e.slack.failNext("image", &chatErr{code: "missing_scope"})
	e.tg.failNext("image", &chatErr{code: "internal_error", retry: true})
	e.start()
	inc := e.openGraphed("g1")
	waitFor(t, 10*time.Second, "the image in Telegram, retried", func() bool { return len(e.tg.posted()) == 1 })
	var failed []incidents.Event
	waitFor(t, 5*time.Second, "Slack's refusal on the timeline", func() bool {
		failed = e.events(inc.ID, incidents.EventDeliveryFailed)
		return len(failed) == 1
	})
	if want := "Slack card in " + slackC + " could not be given its graph: missing_scope"; failed[0].Text != want {
		t.Errorf("event %q, want %q", failed[0].Text, want)
	}
	inc, _ = e.store.Get(context.Background(), inc.ID)
	synced(t, e.tg.fakeChat, tgChat, inc)
	// Slack's card stays as it was until the incident changes (as after
	// any refusal): there, and not posted twice.
	if cards := e.slack.cards(slackC, inc.ID); len(cards) != 1 || cards[0].state != incidents.Triggered {
		t.Errorf("Slack cards %+v", cards)
	}
	if n, m := len(e.slack.posted()), e.slack.count("image"); n != 0 || m != 1 {
		t.Errorf("Slack: %d images posted in %d tries, want 0 in 1", n, m)
	}
	if n := e.tg.count("image"); n != 2 {
		t.Errorf("Telegram: %d tries, want 2", n)
	}
}

// A generic webhook's alert has no generator URL: its mapping's query
// annotation is what is drawn. Other sources' "query" annotations are not.
func TestGraphWebhookQuery(t *testing.T) {
	prom := newFakeProm(t, 2)
	e := newGraphEnv(t, boltStore(t), prom, nil, nil)
	e.start()
	open := func(group, source string) *incidents.Incident {
		a := storetest.Alert(group+"-a", incidents.AlertFiring, e.clock.Now())
		a.Source, a.GeneratorURL = source, ""
		a.Annotations = map[string]string{"query": "latency_seconds >= 0.5"}
		b := storetest.Batch(group, a)
		b.Source, b.Team = source, "payments"
		r, err := e.store.Ingest(context.Background(), b, storetest.Opts(e.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return r.Incident
	}
	hooked := open("g1", bot.WebhookSourcePrefix+"uptime")
	waitFor(t, 5*time.Second, "the webhook alert's graph", func() bool { return len(e.slack.posted()) == 1 })
	if p := e.plotted(hooked.ID); p.Query != "latency_seconds" || p.Threshold == nil || p.Threshold.Op != ">=" || len(p.Series) != 2 {
		t.Errorf("plotted %q, threshold %+v, %d series", p.Query, p.Threshold, len(p.Series))
	}
	other := open("g2", "alertmanager")
	synced(t, e.slack.fakeChat, slackC, other)
	if r := e.do("GET", "/api/v1/incidents/"+other.ID+"/graph.png", ""); r.code != 404 {
		t.Errorf("an Alertmanager alert's query annotation was drawn: %d", r.code)
	}
}

// graphlessStore is a store whose graphs cannot be read.
type graphlessStore struct{ *boltstore.Store }

func (graphlessStore) GraphState(ctx context.Context, id string) (incidents.GraphState, error) {
	return incidents.GraphState{}, incidents.Errorf(incidents.Unavailable, "graphs are down")
}

// A store that cannot read graphs holds no card back.
func TestGraphStoreTroubleLeavesCards(t *testing.T) {
	s, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := newGraphEnv(t, graphlessStore{s}, newFakeProm(t, 1), nil, nil)
	e.start()
	inc := e.openGraphed("g1")
	synced(t, e.slack.fakeChat, slackC, inc)
	synced(t, e.tg.fakeChat, tgChat, inc)
	inc = e.act(inc.ID, incidents.Acknowledge)
	synced(t, e.slack.fakeChat, slackC, inc)
	if n := len(e.slack.posted()); n != 0 {
		t.Errorf("%d images", n)
	}
}
