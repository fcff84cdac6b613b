package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Grafana alert becomes an incident and a card whose data and links
// come from Grafana's fields.
func TestGrafanaAlertMakesACard(t *testing.T) {
	f := startFakes(t)
	cfg := f.configOwnSources(fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))) + "sources: {grafana: {token: grafana-token-0123456789}}\n"
	base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", cfg))
	defer stop()
	body, err := os.ReadFile("../../adapters/grafana/testdata/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, base+"/hooks/grafana", "application/json", body, nil); code != 401 {
		t.Fatalf("Grafana webhook without its token: %d", code)
	}
	if code, out := post(t, base+"/hooks/grafana", "application/json", body, map[string]string{"Authorization": "Bearer grafana-token-0123456789"}); code != 200 || !strings.Contains(out, `"created":true`) {
		t.Fatalf("Grafana webhook: %d %s", code, out)
	}
	waitUntil(t, 10*time.Second, "the Slack card", func() bool { return len(f.slack.Messages(e2eSlack)) == 1 })
	blocks := string(f.slack.Messages(e2eSlack)[0].Blocks)
	for _, want := range []string{"Dashboard", "Silence"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("card lacks %s: %.600s", want, blocks)
		}
	}
}
