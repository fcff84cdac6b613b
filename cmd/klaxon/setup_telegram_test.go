package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/telegram"
	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/bot"
)

// klaxon serve sets the Telegram command menu when it starts, next to the
// webhook, and a failing setMyCommands does not stop it.
func TestSetupTelegramMenuAtServe(t *testing.T) {
	tg := telegramfake.New(telegramfake.Options{})
	defer tg.Close()
	cfg := func(tg *telegramfake.Server) string {
		return writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s, public_url: "https://klaxon.example.com"}
store: {data_dir: %q}
telegram: {bot_token: %q, api_endpoint: %q, webhook_secret: %q}
`, filepath.Join(t.TempDir(), "data"), tg.Token(), tg.URL(), e2eTGSecret))
	}
	_, logs, stop := startServe(t, cfg(tg))
	// The fake holds the menu as soon as it reads the call, before klaxon
	// has its answer: wait for klaxon's log line, which follows the answer
	// (stopping earlier cancels the call in flight and logs a failure).
	waitUntil(t, 10*time.Second, "the command menu logged", func() bool {
		return strings.Contains(logs.String(), "Telegram command menu set")
	})
	if got, ok := tg.MyCommands(telegramfake.CommandScope{}, ""); !ok || len(got) != len(telegram.Commands()) {
		t.Errorf("the fake's menu: %d commands (set: %v), want %d", len(got), ok, len(telegram.Commands()))
	}
	waitUntil(t, 10*time.Second, "the webhook set", func() bool {
		_, ok := tg.CurrentWebhook()
		return ok
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// setMyCommands failing is logged; klaxon serves on.
	tg2 := telegramfake.New(telegramfake.Options{})
	defer tg2.Close()
	tg2.Fail("setMyCommands", 1, 400, "Bad Request: BOT_COMMAND_INVALID")
	base, logs, stop := startServe(t, cfg(tg2))
	waitUntil(t, 10*time.Second, "the failure logged", func() bool {
		return strings.Contains(logs.String(), "Telegram setMyCommands failed")
	})
	if code, _ := post(t, base+"/telegram/webhook", "application/json", []byte(`{"update_id":1}`),
		map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}); code != 200 {
		t.Errorf("webhook after a failed setMyCommands: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// Every command of the Telegram menu is a verb the bot knows: none answers
// "unknown command".
func TestSetupTelegramMenuVerbs(t *testing.T) {
	for _, c := range telegram.Commands() {
		text, ok := telegram.ParseCommand("/"+c.Command+" INC-7", "")
		if !ok {
			t.Errorf("/%s: not parsed", c.Command)
			continue
		}
		if _, err := bot.ParseCommand(text); err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("/%s (%q): %v", c.Command, text, err)
		}
	}
}
