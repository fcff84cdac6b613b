package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
)

const carolMM = "carolmattermostid000000000"

// Cover requests through the strict fakes: on Slack alice asks bob, bob
// accepts with the button and alice hears so by DM; on Mattermost alice
// asks carol, who declines with the button on the channel post; on
// Telegram carol accepts from the inline keyboard.
func TestCoverEndToEnd(t *testing.T) {
	f := startFakes(t)
	unlimitedTelegram(t, f)
	store := fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))
	cfg := strings.Replace(chatConfigYAML(f, store), "    telegram: {chat: ", "    schedule: primary\n    handover: false\n    telegram: {chat: ", 1)
	cfg = strings.Replace(cfg, "slack: {", "slack: {response_url_prefixes: ['"+f.slack.ResponseURLPrefix()+"'], ", 1)
	cfg += fmt.Sprintf(`  - {name: carol, mattermost: %s, telegram: "333"}
schedules:
  - name: primary
    timezone: Europe/Berlin
    rotation: {every: 24h, start: "2026-01-05T09:00:00+01:00", people: [alice]}
`, carolMM)
	base, logs, stop := startServe(t, writeFile(t, "klaxon.yaml", cfg))
	defer stop()
	f.mm.SetActionTarget("https://klaxon.example.com", base)
	f.mm.AddUser(aliceMM, "alice")
	f.mm.AddUser(carolMM, "carol")
	f.mm.AddMember(e2eMM, aliceMM)
	f.mm.AddMember(e2eMM, carolMM)

	// Slack: in the channel, with Accept and Decline.
	code, body := slackSigned(t, base+"/slack/commands", url.Values{"text": {"oncall cover @bob 4h"}, "user_id": {"UALICE"}, "channel_id": {e2eSlack},
		"command": {"/incident"}, "response_url": {f.slack.ResponseURL()}}, e2eSigning, time.Now())
	var answer struct {
		ResponseType string `json:"response_type"`
		Blocks       []struct {
			Elements []struct {
				Value string `json:"value"`
				Text  struct{ Text string }
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(body), &answer); code != 200 || err != nil || answer.ResponseType != "in_channel" {
		t.Fatalf("Slack: %d %s", code, body)
	}
	var accept string
	for _, b := range answer.Blocks {
		for _, el := range b.Elements {
			if el.Text.Text == "Accept" {
				accept = el.Value
			}
		}
	}
	if !strings.HasPrefix(accept, "c1.s.") {
		t.Fatalf("no Accept button: %s", body)
	}
	waitUntil(t, 10*time.Second, "bob's DM", func() bool { return len(f.slack.Messages(slackfake.DirectChannel("UBOB"))) == 1 })
	click := func(user string) {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]string{"id": user},
			"channel": map[string]string{"id": e2eSlack}, "container": map[string]any{"message_ts": "1712345678.000100", "channel_id": e2eSlack},
			"response_url": f.slack.ResponseURL(),
			"actions":      []map[string]string{{"action_id": "klaxon-choice-1", "value": accept}},
		})
		if code, body := slackSigned(t, base+"/slack/interactions", url.Values{"payload": {string(payload)}}, e2eSigning, time.Now()); code != 200 {
			t.Fatalf("Slack click: %d %s", code, body)
		}
	}
	// alice cannot accept her own request: the answer is hers alone and
	// the request, with its buttons, stays for bob.
	click("UALICE")
	rs := f.slack.WaitResponses(1, 10*time.Second)
	if len(rs) != 1 || !strings.Contains(rs[0].Text, "Only bob can answer") || (rs[0].ReplaceOriginal != nil && *rs[0].ReplaceOriginal) {
		t.Fatalf("alice's press: %+v\n%s", rs, logs.String())
	}
	click("UBOB")
	rs = f.slack.WaitResponses(2, 10*time.Second)
	if len(rs) != 2 || !strings.HasPrefix(rs[1].Text, "bob accepted") || rs[1].ReplaceOriginal == nil || !*rs[1].ReplaceOriginal {
		t.Fatalf("bob's press: %+v", rs)
	}
	waitUntil(t, 10*time.Second, "alice told", func() bool {
		ms := f.slack.Messages(slackfake.DirectChannel("UALICE"))
		return len(ms) == 1 && strings.HasPrefix(ms[0].Text, "bob accepted: bob is on call for payments")
	})
	// Mattermost: a channel post with the buttons; carol declines.
	res := mmCommand(t, f, aliceMM, "oncall cover @carol Sat 09:00-18:00", "")
	if res.Post == "" || res.Response == nil || len(res.Response.Attachments) != 1 || len(res.Response.Attachments[0].Actions) != 2 {
		t.Fatalf("Mattermost answer: %s", res.Body)
	}
	decline := res.Response.Attachments[0].Actions[1]
	mmClick, err := f.mm.Click(context.Background(), res.Post, decline.Id, carolMM)
	if err != nil || mmClick.Status != 200 || !strings.Contains(mmClick.Response.EphemeralText, "carol declined") {
		t.Fatalf("the click: %+v, %v\n%s", mmClick, err, logs.String())
	}
	waitUntil(t, 10*time.Second, "alice told on Mattermost", func() bool {
		for _, m := range f.mm.Messages(f.mm.DirectChannel(aliceMM)) {
			if strings.Contains(m.Text, "declined") {
				return true
			}
		}
		return false
	})
	// Telegram: an inline keyboard under the answer; carol accepts.
	chat, _ := strconv.ParseInt(e2eTG, 10, 64)
	ask := f.tg.UserMessage(chat, telegramfake.User{ID: 111, Username: "alice"}, "/incident oncall cover @carol 2h", 0)
	post(t, base+"/telegram/webhook", "application/json", ask, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret})
	var tgKey string
	var tgMsg int
	waitUntil(t, 10*time.Second, "the Telegram request", func() bool {
		for _, m := range f.tg.Messages(e2eTG) {
			for i, kb := range m.ReplyKeys {
				for _, row := range kb {
					if row[0].Text == "Accept" {
						tgKey, tgMsg = row[0].CallbackData, m.ReplyIDs[i]
					}
				}
			}
		}
		return tgKey != ""
	})
	press := f.tg.Press(chat, tgMsg, telegramfake.User{ID: 333, Username: "carol"}, tgKey)
	post(t, base+"/telegram/webhook", "application/json", press, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret})
	waitUntil(t, 10*time.Second, "alice told on Telegram", func() bool {
		for _, m := range f.tg.Messages("111") {
			if strings.HasPrefix(m.Text, "carol accepted: carol is on call for payments") {
				return true
			}
		}
		return false
	})
	if v := f.violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}
