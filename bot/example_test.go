package bot_test

import (
	"testing"

	"github.com/klaxonbot/klaxon/bot"
)

// exampleSecrets are realistic values for every variable the example
// config reads its secrets from (none of them a real credential).
var exampleSecrets = map[string]string{
	"AM_TOKEN":                "q7Vt2mXc9LrB4sWn8KpZ3yHd",
	"GRAFANA_TOKEN":           "G6fT1wQe8RzN3vXb5MkP0sLa",
	"KUMA_TOKEN":              "k3YpR8vW2nQz6TmX1bLc9HsD",
	"HOOK_HMAC_SECRET":        "5d0b6f2e9a41c7e38b1f6a0d2c9e7b43",
	"KLAXON_CI_TOKEN":         "ci_Wm4Rz8Tq2Xv6Nb1Lk9Pd3Hs7",
	"TWILIO_ACCOUNT_SID":      "AC3f9a1c2e4b6d8f0a1c3e5b7d9f1a2c4e",
	"TWILIO_AUTH_TOKEN":       "9b2e7f4a1c8d3e6b0a5f2c9d7e4b1a38",
	"SLACK_BOT_TOKEN":         "xoxb-2718281828-3141592653589-Zk8q3VbN7yXw2LpR5tMa9HcD",
	"SLACK_SIGNING_SECRET":    "3c5f1e9a7b2d4f6081a3c5e7f9b1d3e5",
	"MM_BOT_TOKEN":            "ghc4x7k8qbfzjpe3nw1y5rmt9a",
	"MM_COMMAND_TOKEN":        "6kbnx4jcybgbmf3xg1hkrdgo1w",
	"TELEGRAM_BOT_TOKEN":      "7123456789:AAH3k9QwErTyUiOpAsDfGhJkLzXcVbNm-1Q",
	"TELEGRAM_WEBHOOK_SECRET": "tg_9fK2xQ7mZ4vR1bW8nL3c",
	"BACKUP_HEARTBEAT_TOKEN":  "hb_Rk2Vn8Xq4Tz7Mw1Pb5Ld9Hc",
	"WATCHDOG_TOKEN":          "wd_Ny6Qs3Jv8Kx1Zr5Tm2Bf7Lp",
}

// The example config in deploy/ documents every key: it must stay valid,
// with every secret from an environment variable.
func TestExampleConfigLoads(t *testing.T) {
	env := func(k string) (string, bool) { v, ok := exampleSecrets[k]; return v, ok }
	cfg, err := bot.LoadConfig("../deploy/klaxon.example.yaml", env)
	if err != nil {
		t.Fatalf("deploy/klaxon.example.yaml: %v", err)
	}
	if cfg.Store.Redis == nil || cfg.Store.Redis.URL.Reveal() != "redis://127.0.0.1:6379/0" || cfg.Sources.Alertmanager.Token.Reveal() != exampleSecrets["AM_TOKEN"] {
		t.Fatalf("example config read as %+v", cfg)
	}
	if n := len(cfg.Notes()); n != 0 {
		t.Errorf("every hook of the example has credentials, yet: %v", cfg.Notes())
	}
	// Each secret comes from its variable: without it, the file does not load.
	for name := range exampleSecrets {
		_, err := bot.LoadConfig("../deploy/klaxon.example.yaml", func(k string) (string, bool) {
			v, ok := exampleSecrets[k]
			return v, ok && k != name
		})
		if err == nil {
			t.Errorf("the example loads without $%s: a default hides the variable", name)
		}
	}
}
