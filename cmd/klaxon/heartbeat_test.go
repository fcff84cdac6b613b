package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// klaxon serve watches a heartbeat (interval 1 s, grace 1 s) on its
// embedded store: a silence opens an incident, and after a restart on the
// same data the next beat resolves it.
func TestServeHeartbeat(t *testing.T) {
	const token = "cron-heartbeat-token-0123"
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s}
store: {data_dir: %q}
heartbeats:
  - {name: cron, interval: 1s, grace: 1s, token: %q}
`, filepath.Join(t.TempDir(), "data"), token))
	base, logs, stop := startServe(t, cfg)
	// serve logs the heartbeats' URLs after it listens (startServe returns
	// once it answers): wait for the line rather than race it.
	waitUntil(t, 5*time.Second, "the log to say where the heartbeat is", func() bool {
		return strings.Contains(logs.String(), "heartbeat at "+base+"/hooks/heartbeat/cron (GET or POST)")
	})
	beat := func(base string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/hooks/heartbeat/cron", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 || out["status"] != "beat" {
			t.Fatalf("beat: %d %v", resp.StatusCode, out)
		}
		return out
	}
	beat(base)
	var list incidentList
	deadline := time.Now().Add(20 * time.Second)
	for {
		if getJSON(t, base+"/api/v1/incidents?state=open", &list); len(list.Incidents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident for the silent heartbeat:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if inc := list.Incidents[0]; !strings.HasPrefix(inc.Title, "No heartbeat from cron for ") {
		t.Errorf("incident %+v", inc)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	base, _, stop = startServe(t, cfg)
	if got := beat(base); got["resolved"] != list.Incidents[0].ID {
		t.Errorf("the beat after the restart answered %v", got)
	}
	if getJSON(t, base+"/api/v1/incidents?state=open", &list); len(list.Incidents) != 0 {
		t.Errorf("open after the beat: %+v", list)
	}
	stop()
	if strings.Contains(logs.String(), token) {
		t.Error("the token reached the log")
	}
}
