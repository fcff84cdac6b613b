package alertmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
)

const watchdogPassword = "watchdog-password-0123"

// TestRealAlertmanagerWatchdog routes an always-firing Watchdog alert
// through Debian's real Alertmanager to klaxon's heartbeat hook, as the
// README shows: with repeat_interval short, Alertmanager's repeats keep
// the heartbeat (interval 3 s, grace 2 s) alive, and no incident opens;
// Alertmanager's resolved notification is no beat, and the silence after
// it opens an incident; the Watchdog firing again resolves it.
func TestRealAlertmanagerWatchdog(t *testing.T) {
	bin := e2eAlertmanagerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	store, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := bot.DefaultConfig()
	cfg.Heartbeats = []bot.HeartbeatConfig{{Name: "watchdog", Interval: bot.Duration(3 * time.Second), Grace: bot.Duration(2 * time.Second),
		Basic: &bot.BasicAuth{Username: "alertmanager", Password: watchdogPassword}, Title: "Alertmanager's Watchdog is silent"}}
	window := 5 * time.Second
	klaxonLog := &e2eBuffer{}
	srv, err := bot.New(cfg, bot.Deps{
		Store: store, Sources: map[string]bot.Parser{"alertmanager": alertmanager.Parse},
		Clock: incidents.SystemClock{}, Version: "e2e",
		Logger: slog.New(slog.NewTextHandler(klaxonLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	beats := &beatRecorder{next: srv.Handler()}
	klaxon := httptest.NewServer(beats)
	t.Cleanup(klaxon.Close)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("klaxon log:\n%s", klaxonLog.String())
			for i, c := range beats.snapshot() {
				t.Logf("heartbeat call #%d at %s: %d %s\n%s", i+1, c.at.Format("15:04:05.000"), c.status, c.answer, c.body)
			}
		}
	})
	started := time.Now()

	// The README's route, with times a test can wait for.
	am := e2eRunAlertmanager(ctx, t, bin, e2eAM{config: fmt.Sprintf(`route:
  receiver: klaxon
  group_by: [alertname]
  routes:
    - receiver: klaxon-heartbeat
      matchers: ['alertname = "Watchdog"']
      group_wait: 0s
      group_interval: 1s
      repeat_interval: 1s
receivers:
  - name: klaxon
    webhook_configs:
      - url: %q
  - name: klaxon-heartbeat
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          basic_auth: {username: alertmanager, password: %q}
`, klaxon.URL+"/hooks/alertmanager", klaxon.URL+"/hooks/heartbeat/watchdog", watchdogPassword)})
	client := &http.Client{Timeout: 5 * time.Second}
	watchdog := e2eAlert{Labels: map[string]string{"alertname": "Watchdog", "severity": "none"},
		Annotations: map[string]string{"summary": "An alert that always fires: the alerting pipeline works"},
		StartsAt:    time.Now().UTC().Truncate(time.Millisecond)}
	watchdog.EndsAt = watchdog.StartsAt.Add(time.Hour)
	e2ePostAlerts(ctx, t, client, am, watchdog)

	// 1. Alertmanager repeats the Watchdog: beats for three windows past
	// klaxon's first deadline, and no incident.
	waitUntil(ctx, t, "three windows of beats", func() bool {
		b := beats.beats()
		return len(b) > 0 && b[len(b)-1].Sub(started) > 3*window
	})
	if list, err := e2eListIncidents(ctx, client, klaxon.URL); err != nil || len(list) != 0 {
		t.Fatalf("incidents while the Watchdog repeats: %v %s", err, e2eJSON(list))
	}
	b := beats.beats()
	for i := 1; i < len(b); i++ {
		if gap := b[i].Sub(b[i-1]); gap > window {
			t.Errorf("%v between beats %d and %d, more than the window", gap, i, i+1)
		}
	}
	t.Logf("%d beats in %v", len(b), b[len(b)-1].Sub(b[0]).Round(time.Millisecond))

	// 2. The Watchdog resolves: Alertmanager says so (no beat), then
	// falls silent, and klaxon opens an incident.
	resolved := watchdog
	resolved.EndsAt = time.Now().UTC().Truncate(time.Millisecond)
	e2ePostAlerts(ctx, t, client, am, resolved)
	var inc incidents.Incident
	waitUntil(ctx, t, "an incident for the silent Watchdog", func() bool {
		list, err := e2eListIncidents(ctx, client, klaxon.URL)
		if err == nil && len(list) > 0 {
			inc = list[0]
			return true
		}
		return false
	})
	if !strings.HasPrefix(inc.Title, "Alertmanager's Watchdog is silent for ") || inc.Source != bot.HeartbeatAlertSource || inc.State != incidents.Triggered {
		t.Fatalf("incident:\n%s", e2eJSON(inc))
	}
	ignored := 0
	for _, c := range beats.snapshot() {
		if c.answer == "ignored" {
			ignored++
			if !strings.Contains(c.body, `"status":"resolved"`) {
				t.Errorf("a firing notification was ignored: %s", c.body)
			}
		}
	}
	if ignored == 0 {
		t.Error("Alertmanager's resolved notification did not arrive, or counted as a beat")
	}

	// 3. The Watchdog fires again: the beat resolves the incident.
	again := watchdog
	again.StartsAt = time.Now().UTC().Truncate(time.Millisecond)
	again.EndsAt = again.StartsAt.Add(time.Hour)
	e2ePostAlerts(ctx, t, client, am, again)
	waitUntil(ctx, t, inc.ID+" to resolve", func() bool {
		list, err := e2eListIncidents(ctx, client, klaxon.URL)
		return err == nil && len(list) == 1 && list[0].State == incidents.Resolved
	})
	for i, c := range beats.snapshot() {
		if c.status != http.StatusOK {
			t.Errorf("heartbeat call #%d answered %d: %s", i+1, c.status, c.answer)
		}
	}
}

// waitUntil polls cond every 100 ms until it holds or ctx ends.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// beatRecorder records the calls to the heartbeat hooks and klaxon's answer.
type beatRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	calls []beatCall
}

type beatCall struct {
	at     time.Time
	status int
	answer string // "beat", "ignored" or the error
	body   string
}

func (h *beatRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/hooks/heartbeat/") {
		h.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	var ans map[string]any
	json.Unmarshal(rec.Body.Bytes(), &ans)
	answer, _ := ans["status"].(string)
	if answer == "" {
		answer = fmt.Sprint(ans["error"])
	}
	h.mu.Lock()
	h.calls = append(h.calls, beatCall{at: time.Now(), status: rec.Code, answer: answer, body: string(body)})
	h.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (h *beatRecorder) snapshot() []beatCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]beatCall(nil), h.calls...)
}

// beats are the times of the calls klaxon took as beats.
func (h *beatRecorder) beats() []time.Time {
	var out []time.Time
	for _, c := range h.snapshot() {
		if c.answer == "beat" {
			out = append(out, c.at)
		}
	}
	return out
}
