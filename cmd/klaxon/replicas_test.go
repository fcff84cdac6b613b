package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// Two klaxon replicas on one Redis get the same Alertmanager payloads, as
// from an HA pair of Alertmanagers: one incident, one card per
// destination, one escalation step.
func TestTwoReplicasBehaveAsOne(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("replicas")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	f := startFakes(t)
	store := fmt.Sprintf("store: {redis: {url: %q, key_prefix: %q}}", storetest.RedisURL(), prefix)
	cfg := f.config(store)
	cfg = strings.Replace(cfg, "default_team: payments", "    policy: page\ndefault_team: payments\npolicies: [{name: page, steps: [{notify: channel}, {wait: 1h}, {notify: channel}]}]", 1)
	var bases []string
	for range 2 {
		base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", cfg))
		t.Cleanup(func() { stop() })
		bases = append(bases, base)
	}
	body := amPayloadE2E("DiskFull")
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(bases[i%2]+"/hooks/alertmanager", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("webhook to replica %d: %s", i%2, resp.Status)
			}
		}()
	}
	wg.Wait()
	waitUntil(t, 10*time.Second, "a card on each platform", func() bool {
		return len(f.slack.Messages(e2eSlack)) >= 1 && len(f.mm.Messages(e2eMM)) >= 1 && len(f.tg.Messages(e2eTG)) >= 1
	})
	time.Sleep(1500 * time.Millisecond) // anything extra would show by now
	var list incidentList
	if code := getJSON(t, bases[0]+"/api/v1/incidents", &list); code != 200 || len(list.Incidents) != 1 {
		t.Fatalf("%d: %d incidents, want 1", code, len(list.Incidents))
	}
	if s, m, g := len(f.slack.Messages(e2eSlack)), len(f.mm.Messages(e2eMM)), len(f.tg.Messages(e2eTG)); s != 1 || m != 1 || g != 1 {
		t.Fatalf("cards: slack %d, mattermost %d, telegram %d; want one each", s, m, g)
	}
	var inc struct {
		Timeline []struct{ Kind, Text string }
	}
	getJSON(t, bases[1]+"/api/v1/incidents/"+list.Incidents[0].ID, &inc)
	steps := 0
	for _, e := range inc.Timeline {
		if e.Kind == "escalated" {
			steps++
		}
	}
	if steps != 1 {
		t.Fatalf("%d escalation steps, want 1: %+v", steps, inc.Timeline)
	}
}

func amPayloadE2E(name string) string {
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","status":"firing","receiver":"klaxon","groupLabels":{"alertname":%q},
"alerts":[{"status":"firing","fingerprint":"fp-%s","startsAt":"2026-11-26T10:00:00Z","labels":{"alertname":%q,"severity":"critical"},"annotations":{"summary":"Disk 95%% full"}}]}`, name, name, name, name)
}
