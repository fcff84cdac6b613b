package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// apiIncident is GET /api/v1/incidents/{id}'s answer.
type apiIncident struct {
	incidents.Incident
	AlertsTotal    int    `json:"alertsTotal"`
	AlertsURL      string `json:"alertsURL"`
	AlertsNext     string `json:"alertsNext"`
	TimelineTotal  int    `json:"timelineTotal"`
	TimelineOffset int    `json:"timelineOffset"`
	TimelineURL    string `json:"timelineURL"`
}

// apiPage is a page of an incident's alerts or timeline.
type apiPage struct {
	Incident string            `json:"incident"`
	Alerts   []incidents.Alert `json:"alerts"`
	Timeline []incidents.Event `json:"timeline"`
	Offset   int               `json:"offset"`
	Limit    int               `json:"limit"`
	Total    int               `json:"total"`
	Next     string            `json:"next"`
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if r.code != 200 {
		t.Fatalf("answer %d: %s", r.code, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("answer is not the JSON expected: %v\n%s", err, r.body)
	}
	return v
}

// The reproduction of issue 13 item 6: incidents of 55,000 alerts. A list
// holds summaries (kilobytes, not megabytes), the incident its first 100
// alerts and last 200 events, and the rest pages.
func TestAPIIncidentsWithManyAlerts(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) incidents.Store{"bolt": boltStore, "redis": redisStore} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk(t), nil)
			ctx := context.Background()
			const n = 55000
			at := e.clock.Now()
			for i := range 3 {
				b := storetest.TeamBatch(fmt.Sprintf("g%d", i), "payments", storetest.ManyAlerts(fmt.Sprintf("i%d-", i), n, at)...)
				if _, err := e.store.Ingest(ctx, b, storetest.Opts(at)); err != nil {
					t.Fatal(err)
				}
			}
			resolved := storetest.Alert("i1-0", incidents.AlertResolved, at)
			if _, err := e.store.Ingest(ctx, storetest.TeamBatch("g1", "payments", resolved), storetest.Opts(at.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/api/v1/incidents?limit=1", "/api/v1/incidents?limit=5", "/api/v1/incidents?team=payments&state=open"} {
				r := e.do("GET", path, "")
				// A summary is bounded whatever the incident: its counts, at
				// most 20 rules (incidents.MaxRules) and 100 pages.
				if r.code != 200 || len(r.body) > 16<<10 {
					t.Fatalf("GET %s: %d, %d bytes; want 200 and summaries only", path, r.code, len(r.body))
				}
				if strings.Contains(r.body, `"alerts"`) || strings.Contains(r.body, `"timeline"`) || !strings.Contains(r.body, `"alertsFiring": 55000`) {
					t.Fatalf("GET %s holds alerts or a timeline, or no counts:\n%s", path, r.body)
				}
			}
			r := e.do("GET", "/api/v1/incidents/INC-2", "")
			if len(r.body) > 128<<10 {
				t.Fatalf("GET INC-2 is %d bytes, want at most 100 alerts' worth", len(r.body))
			}
			inc := decode[apiIncident](t, r)
			if inc.ID != "INC-2" || len(inc.Alerts) != 100 || inc.AlertsTotal != n || inc.AlertsFiring != n-1 ||
				inc.Alerts[0].Fingerprint != "i1-1" || inc.AlertsURL != "/api/v1/incidents/INC-2/alerts" ||
				inc.AlertsNext != "/api/v1/incidents/INC-2/alerts?offset=100&limit=100" {
				t.Fatalf("GET INC-2: %d alerts from %s, total %d, urls %q %q", len(inc.Alerts), inc.Alerts[0].Fingerprint, inc.AlertsTotal, inc.AlertsURL, inc.AlertsNext)
			}
			if len(inc.Timeline) != 3 || inc.TimelineTotal != 3 || inc.TimelineOffset != 0 || inc.Events != 3 || inc.TimelineURL != "/api/v1/incidents/INC-2/timeline" {
				t.Fatalf("GET INC-2 timeline: %d events, total %d from %d, url %q", len(inc.Timeline), inc.TimelineTotal, inc.TimelineOffset, inc.TimelineURL)
			}
			// The next page, then the last, where the resolved alert is.
			page := decode[apiPage](t, e.do("GET", inc.AlertsNext, ""))
			if page.Incident != "INC-2" || len(page.Alerts) != 100 || page.Alerts[0].Fingerprint != "i1-101" || page.Offset != 100 || page.Total != n ||
				page.Next != "/api/v1/incidents/INC-2/alerts?offset=200&limit=100" || page.Timeline != nil {
				t.Fatalf("second page: %d alerts from %s, offset %d, total %d, next %q", len(page.Alerts), page.Alerts[0].Fingerprint, page.Offset, page.Total, page.Next)
			}
			page = decode[apiPage](t, e.do("GET", fmt.Sprintf("/api/v1/incidents/2/alerts?offset=%d&limit=1000", n-2), ""))
			if len(page.Alerts) != 2 || page.Alerts[1].Fingerprint != "i1-0" || page.Alerts[1].Status != incidents.AlertResolved || page.Next != "" || page.Limit != 1000 {
				t.Fatalf("last page: %+v", page)
			}
		})
	}
}

// A poller of the timeline asks for what came since the total it saw.
func TestAPITimelinePages(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	if r := e.do("POST", "/hooks/alertmanager", payload(t)); r.code != 200 {
		t.Fatal(r.body)
	}
	note := func(text string) {
		if _, err := e.store.Update(context.Background(), "INC-1", func(inc *incidents.Incident) error {
			inc.AddEvent(e.clock.Now(), incidents.EventNote, "alice", text)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 250 {
		note(fmt.Sprint("note ", i))
	}
	inc := decode[apiIncident](t, e.do("GET", "/api/v1/incidents/INC-1", ""))
	if len(inc.Timeline) != 200 || inc.TimelineTotal != 252 || inc.TimelineOffset != 52 || inc.Timeline[199].Text != "note 249" || inc.AlertsNext != "" {
		t.Fatalf("GET INC-1: %d events, total %d, offset %d, last %q", len(inc.Timeline), inc.TimelineTotal, inc.TimelineOffset, inc.Timeline[len(inc.Timeline)-1].Text)
	}
	page := decode[apiPage](t, e.do("GET", "/api/v1/incidents/INC-1/timeline?limit=2", ""))
	if len(page.Timeline) != 2 || page.Timeline[0].Kind != incidents.EventTriggered || page.Next != "/api/v1/incidents/INC-1/timeline?offset=2&limit=2" || page.Alerts != nil {
		t.Fatalf("first timeline page: %+v", page)
	}
	note("since")
	page = decode[apiPage](t, e.do("GET", fmt.Sprintf("/api/v1/incidents/INC-1/timeline?offset=%d", inc.TimelineTotal), ""))
	if len(page.Timeline) != 1 || page.Timeline[0].Text != "since" || page.Total != 253 || page.Next != "" || page.Limit != 100 {
		t.Fatalf("what came since: %+v", page)
	}
}

func TestAPIPageErrors(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	if r := e.do("POST", "/hooks/alertmanager", payload(t)); r.code != 200 {
		t.Fatal(r.body)
	}
	for path, code := range map[string]int{
		"/api/v1/incidents/INC-1/alerts?offset=-1":                                400,
		"/api/v1/incidents/INC-1/alerts?offset=x":                                 400,
		"/api/v1/incidents/INC-1/alerts?limit=0":                                  400,
		"/api/v1/incidents/INC-1/alerts?limit=1001":                               400,
		"/api/v1/incidents/INC-1/timeline?limit=banana":                           400,
		"/api/v1/incidents/INC-1/timeline?offset=-5":                              400,
		"/api/v1/incidents/INC-9/alerts":                                          404,
		"/api/v1/incidents/INC-9/timeline":                                        404,
		"/api/v1/incidents/banana/alerts":                                         400,
		"/api/v1/incidents?since=yesterday":                                       400,
		"/api/v1/incidents?until=2026-03-01":                                      400,
		"/api/v1/incidents?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z": 400,
	} {
		r := e.do("GET", path, "")
		if m := r.json(t); r.code != code || m["error"] == nil || m["error"] == "" {
			t.Errorf("GET %s = %d %s, want %d with an error", path, r.code, r.body, code)
		}
	}
	if r := e.do("POST", "/api/v1/incidents/INC-1/alerts", ""); r.code != 405 || r.header.Get("Allow") != "GET" {
		t.Errorf("POST to the alerts page: %d %s", r.code, r.body)
	}
	page := decode[apiPage](t, e.do("GET", "/api/v1/incidents/INC-1/alerts?offset=500", ""))
	if len(page.Alerts) != 0 || page.Total != 2 || page.Next != "" {
		t.Errorf("a page past the end: %+v", page)
	}
}

// Lists filter by team and creation time.
func TestAPIListFilters(t *testing.T) {
	e := newEnv(t, boltStore(t), nil)
	ctx := context.Background()
	for i := range 6 {
		at := storetest.T0.Add(time.Duration(i) * time.Hour)
		b := storetest.TeamBatch(fmt.Sprintf("g%d", i), []string{"payments", "search"}[i%2], storetest.Alert(fmt.Sprint("a", i), incidents.AlertFiring, at))
		if _, err := e.store.Ingest(ctx, b, storetest.Opts(at)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Update(ctx, "INC-5", func(inc *incidents.Incident) error {
		return inc.Apply(incidents.Resolve, "alice", "", storetest.T0)
	}); err != nil {
		t.Fatal(err)
	}
	ids := func(path string) string {
		out := decode[struct {
			Incidents []apiIncident `json:"incidents"`
			Next      string        `json:"next_before"`
		}](t, e.do("GET", path, ""))
		var s []string
		for _, inc := range out.Incidents {
			s = append(s, inc.ID)
		}
		return fmt.Sprint(s) + out.Next
	}
	for path, want := range map[string]string{
		"/api/v1/incidents?team=payments":                                          "[INC-5 INC-3 INC-1]",
		"/api/v1/incidents?team=payments&state=open":                               "[INC-3 INC-1]",
		"/api/v1/incidents?team=payments&limit=2":                                  "[INC-5 INC-3]INC-3",
		"/api/v1/incidents?team=payments&limit=2&before=INC-3":                     "[INC-1]",
		"/api/v1/incidents?since=2026-03-01T13:00:00Z&until=2026-03-01T16:00:00Z":  "[INC-4 INC-3 INC-2]",
		"/api/v1/incidents?since=2026-03-01T14:00:00%2B01:00&team=search":          "[INC-6 INC-4 INC-2]",
		"/api/v1/incidents?until=2026-03-01T13:00:00Z&state=resolved":              "[]",
		"/api/v1/incidents?team=nobody":                                            "[]",
		"/api/v1/incidents?team=search&since=2026-03-01T14:00:00Z&state=triggered": "[INC-6 INC-4]",
	} {
		if got := ids(path); got != want {
			t.Errorf("GET %s = %s, want %s", path, got, want)
		}
	}
}

// FuzzAPIQueries sends any query to the list and page endpoints: the
// answer is JSON, 200 or a 4xx that says what is wrong, never a 5xx.
func FuzzAPIQueries(f *testing.F) {
	for _, q := range []string{
		"state=open&team=payments&limit=5", "since=2026-03-01T12:00:00Z&until=2026-03-02T00:00:00%2B02:00",
		"before=INC-3&limit=1000", "offset=1&limit=1", "offset=-1", "limit=99999999999999999999", "team=%00&state=,,",
	} {
		f.Add("", q)
		f.Add("/INC-1/alerts", q)
		f.Add("/INC-1/timeline", q)
	}
	e := newEnv(f, boltStore(f), nil)
	if r := e.do("POST", "/hooks/alertmanager", payload(f)); r.code != 200 {
		f.Fatal(r.body)
	}
	f.Fuzz(func(t *testing.T, sub, query string) {
		switch sub {
		case "", "/INC-1", "/INC-1/alerts", "/INC-1/timeline", "/INC-2/alerts":
		default:
			return
		}
		req := "/api/v1/incidents" + sub + "?" + query
		if _, err := url.ParseRequestURI(req); err != nil || strings.ContainsAny(query, " #") {
			return // not a request line that reaches a server
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, httptest.NewRequest("GET", req, nil))
		r := response{rec.Code, rec.Header(), rec.Body.String()}
		if r.code >= 500 || (r.code != 200 && (r.code < 400 || r.json(t)["error"] == "")) {
			t.Fatalf("GET %s = %d %s", req, r.code, r.body)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatalf("GET %s answered no JSON: %s", req, r.body)
		}
	})
}
