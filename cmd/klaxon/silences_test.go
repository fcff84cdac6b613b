package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
)

// A Grafana-sourced incident is silenced through Grafana's built-in
// Alertmanager, with the service account token; Alertmanager's own API
// with basic auth.
func TestSilencersFromConfig(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Matchers  []struct{ Name, Value string }
			CreatedBy string
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+body.CreatedBy)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"silenceID":"8f3c2a10-5d1e-4c7b-9a0e-2b6f1d4e8c3a"}`))
	}))
	defer srv.Close()
	cfg := bot.DefaultConfig()
	cfg.Sources.Grafana = &bot.HookAuth{APIURL: srv.URL + "/", APIToken: "glsa_0123456789abcdef"}
	cfg.Sources.Alertmanager = &bot.HookAuth{APIURL: srv.URL + "/am", APIBasic: &bot.BasicAuth{Username: "klaxon", Password: "am-password-0123456789"}}
	sils, err := newSilencers(cfg, nil)
	if err != nil || len(sils) != 2 {
		t.Fatalf("newSilencers: %v, %v", sils, err)
	}
	req := bot.SilenceRequest{Alerts: []map[string]string{{"alertname": "DiskFull", "instance": "db-1"}}, Ends: time.Now().Add(time.Hour),
		CreatedBy: "alice", Comment: "INC-1"}
	for _, name := range []string{"grafana", "alertmanager"} {
		info, err := sils[name].Silence(context.Background(), req)
		if err != nil || info.ID == "" || info.Matchers != `{alertname="DiskFull", instance="db-1"}` {
			t.Fatalf("%s: %+v, %v", name, info, err)
		}
	}
	want := []string{"POST /api/alertmanager/grafana/api/v2/silences Bearer glsa_0123456789abcdef alice",
		"POST /am/api/v2/silences Basic a2xheG9uOmFtLXBhc3N3b3JkLTAxMjM0NTY3ODk= alice"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Too broad: the adapter's refusal, in words for the person.
	_, err = sils["alertmanager"].Silence(context.Background(), bot.SilenceRequest{Alerts: []map[string]string{{"severity": "page"}}, Ends: time.Now().Add(time.Hour), CreatedBy: "a", Comment: "c"})
	if err == nil || !strings.Contains(err.Error(), `the alerts share only severity="page"`) {
		t.Fatalf("a silence of severity alone: %v", err)
	}
}
