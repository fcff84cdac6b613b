package promfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
)

// TestRefuses checks that the fake refuses what Prometheus refuses, with
// Prometheus's status and errorType, and records only what it accepts.
func TestRefuses(t *testing.T) {
	fake := promfake.New(promfake.Options{Prefix: "/prom", Token: "t0k"})
	defer fake.Close()
	ok := url.Values{"query": {"up"}, "start": {"1772366400"}, "end": {"1772370000.5"}, "step": {"15"}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range ok {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	for _, tc := range []struct {
		name      string
		method    string
		path      string
		auth      string
		form      url.Values
		status    int
		errorType string
	}{
		{"accepted", "GET", "/prom/api/v1/query_range", "Bearer t0k", ok, 200, ""},
		{"accepted as a form", "POST", "/prom/api/v1/query_range", "Bearer t0k", ok, 200, ""},
		{"RFC 3339 start", "GET", "/prom/api/v1/query_range", "Bearer t0k",
			with("start", "2026-03-01T12:00:00Z"), 200, ""},
		{"no token", "GET", "/prom/api/v1/query_range", "", ok, 401, ""},
		{"wrong token", "GET", "/prom/api/v1/query_range", "Bearer nope", ok, 401, ""},
		{"no prefix", "GET", "/api/v1/query_range", "Bearer t0k", ok, 404, ""},
		{"DELETE", "DELETE", "/prom/api/v1/query_range", "Bearer t0k", ok, 405, ""},
		{"no query", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("query", ""), 400, "bad_data"},
		{"no start", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("start", ""), 400, "bad_data"},
		{"bad end", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("end", "tomorrow"), 400, "bad_data"},
		{"end before start", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("end", "1772366399"), 400, "bad_data"},
		{"zero step", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("step", "0"), 400, "bad_data"},
		{"11,001 points", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("step", "0.3"), 400, "bad_data"},
		{"bad timeout", "GET", "/prom/api/v1/query_range", "Bearer t0k", with("timeout", "soon"), 400, "bad_data"},
	} {
		var req *http.Request
		if tc.method == "POST" {
			req, _ = http.NewRequest("POST", fake.Server.URL+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(tc.method, fake.Server.URL+tc.path+"?"+tc.form.Encode(), nil)
		}
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var ans struct{ Status, ErrorType string }
		_ = json.Unmarshal(body, &ans)
		if resp.StatusCode != tc.status || ans.ErrorType != tc.errorType {
			t.Errorf("%s: %d %s, want %d %q", tc.name, resp.StatusCode, body, tc.status, tc.errorType)
		}
		if tc.status == 200 && ans.Status != "success" {
			t.Errorf("%s: %s", tc.name, body)
		}
	}
	qs := fake.Queries()
	if len(qs) != 3 || fake.Refused() != 11 {
		t.Fatalf("%d queries recorded, %d refused; want 3 and 11", len(qs), fake.Refused())
	}
	if q := qs[0]; q.Expr != "up" || q.Step != 15*time.Second || q.End.Sub(q.Start) != time.Hour+500*time.Millisecond || len(q.Times()) != 241 {
		t.Errorf("query: %+v, %d times", q, len(q.Times()))
	}
}

func TestMatrix(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	got := string(promfake.Matrix([]promfake.Series{{Metric: map[string]string{"a": "b"}, Points: []promfake.Point{{T: at, V: "NaN"}, {T: at.Add(time.Second), V: promfake.F(-1.5)}}}}, []string{"w"}))
	want := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1772366400.123,"NaN"],[1772366401.123,"-1.5"]]}]},"warnings":["w"]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
