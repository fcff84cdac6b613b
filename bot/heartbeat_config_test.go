package bot

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func TestHeartbeatConfigValid(t *testing.T) {
	cfg := loadFixture(t, "heartbeat_valid.yaml", map[string]string{"BACKUP_TOKEN": "backup-token-0123456789"})
	if len(cfg.Heartbeats) != 3 {
		t.Fatalf("heartbeats = %+v", cfg.Heartbeats)
	}
	b, w, s := cfg.Heartbeats[0], cfg.Heartbeats[1], cfg.Heartbeats[2]
	if b.Name != "backup-cron" || b.Team != "payments" || b.Interval.D() != 24*time.Hour || b.Grace.D() != 30*time.Minute ||
		b.Token.Reveal() != "backup-token-0123456789" || b.Severity != incidents.Sev2 || b.Title != "Nightly backup did not report" {
		t.Errorf("backup-cron = %+v", b)
	}
	if b.Window() != 24*time.Hour+30*time.Minute {
		t.Errorf("window = %v", b.Window())
	}
	// Grace defaults to a tenth of the interval.
	if w.GraceOrDefault() != 30*time.Second || w.Window() != 5*time.Minute+30*time.Second || w.Basic == nil {
		t.Errorf("watchdog = %+v, window %v", w, w.Window())
	}
	if s.HMAC == nil || s.HMAC.Header != "X-Signature" {
		t.Errorf("signed = %+v", s)
	}
	for _, h := range cfg.Heartbeats {
		if out := fmt.Sprintf("%+v %v %#v", h, h, h); strings.Contains(out, "0123") {
			t.Errorf("a heartbeat prints its secret: %s", out)
		}
	}
	if open, _ := cfg.HookOpen("heartbeat/backup-cron", false); open {
		t.Error("a heartbeat with a token is open")
	}
}

func TestHeartbeatConfigInvalid(t *testing.T) {
	for _, tt := range []struct {
		file string
		env  map[string]string
		want string
	}{
		{file: "heartbeat_invalid.yaml", want: `
heartbeats[0].name (line 6): must not be empty: it names the hook's URL, /hooks/heartbeat/<name>
heartbeats[1].name (line 7): want 1 to 64 of A-Z a-z 0-9 _ . - (starting with a letter or digit), got "backup cron"
heartbeats[2].grace (line 8): must be between 0s and 8784h, got -1m0s
heartbeats[2].interval (line 8): must be between 1s and 8784h, got 500ms
heartbeats[2].team (line 8): no team "paymnets" (did you mean "payments"?)
heartbeats[3].interval (line 9): must be set: how often the heartbeat comes (e.g. 24h, 5m)
heartbeats[3].name (line 9): heartbeat "a" is defined twice
heartbeats[3].severity (line 9): must be between 1 and 4, got 7
heartbeats[3].title (line 9): must be one line
heartbeats[4] (line 10): give one of token, basic and hmac, not more
heartbeats[5] (line 11): give token, basic or hmac (an empty token is not allowed)
heartbeats[6] (line 12): has no credentials while sources.alertmanager has: set a token, basic or hmac, or allow_unauthenticated: true
heartbeats[7].intervall (line 13): unknown key (did you mean "interval"?)
heartbeats[8].interval (line 14): must be between 1s and 8784h, got 9000h0m0s`},
	} {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			_, err := LoadConfig(configFixture(tt.file), testEnv(tt.env))
			var ce ConfigErrors
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not ConfigErrors: %v", err, err)
			}
			if got, want := err.Error(), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

// A heartbeat without credentials on a klaxon reachable from this
// machine only is open to this machine, as every hook; check-config says so.
func TestHeartbeatConfigLocal(t *testing.T) {
	cfg := loadFixture(t, "heartbeat_local.yaml", nil)
	if open, why := cfg.HookOpen("heartbeat/cron", cfg.LocalOnly()); !open || !strings.Contains(why, "loopback") {
		t.Errorf("HookOpen = %v, %q", open, why)
	}
	var notes []string
	for _, n := range cfg.Notes() {
		notes = append(notes, n.Error())
	}
	if got := strings.Join(notes, "\n"); !strings.Contains(got, "heartbeats[0]: /hooks/heartbeat/cron takes requests without credentials") {
		t.Errorf("notes:\n%s", got)
	}
}
