package bot_test

import (
	"testing"

	"github.com/klaxonbot/klaxon/bot"
)

// The example config in deploy/ documents every key: it must stay valid.
func TestExampleConfigLoads(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	cfg, err := bot.LoadConfig("../deploy/klaxon.example.yaml", env)
	if err != nil {
		t.Fatalf("deploy/klaxon.example.yaml: %v", err)
	}
	if cfg.Store.Redis == nil || cfg.Store.Redis.URL.Reveal() != "redis://127.0.0.1:6379/0" || cfg.Sources.Alertmanager.Token.Reveal() != "change-me" {
		t.Fatalf("example config read as %+v", cfg)
	}
}
