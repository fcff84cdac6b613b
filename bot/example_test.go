package bot_test

import (
	"testing"

	"github.com/klaxonbot/klaxon/bot"
)

// The example config in deploy/ documents every key: it must stay valid.
func TestExampleConfigLoads(t *testing.T) {
	secrets := map[string]string{
		"SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5", "MM_COMMAND_TOKEN": "6kbnx4jcybgbmf3xg1hkrdgo1w",
		"TELEGRAM_WEBHOOK_SECRET": "a-long-random-secret_123", "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
		"HOOK_HMAC_SECRET": "0123456789abcdef-hmac", "KUMA_TOKEN": "kuma-token-0123456789",
	}
	env := func(k string) (string, bool) { v, ok := secrets[k]; return v, ok }
	cfg, err := bot.LoadConfig("../deploy/klaxon.example.yaml", env)
	if err != nil {
		t.Fatalf("deploy/klaxon.example.yaml: %v", err)
	}
	if cfg.Store.Redis == nil || cfg.Store.Redis.URL.Reveal() != "redis://127.0.0.1:6379/0" || cfg.Sources.Alertmanager.Token.Reveal() != "change-me" {
		t.Fatalf("example config read as %+v", cfg)
	}
}
