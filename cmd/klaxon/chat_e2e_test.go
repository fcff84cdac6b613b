package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
)

const (
	e2eSigning  = "8f742231b10e8888abcd99yyyzzz85a5"
	e2eMMToken  = "mm-command-token"
	e2eTGSecret = "tg-webhook-secret_1"
	aliceMM     = "alicemattermostid000000000"
)

// chatConfigYAML is the e2e config with the inbound secrets set.
func chatConfigYAML(f *fakes, store string) string {
	c := f.config(store)
	c = strings.Replace(c, "slack: {bot_token:", "slack: {signing_secret: "+e2eSigning+", bot_token:", 1)
	c = strings.Replace(c, "mattermost: {url:", "mattermost: {command_token: "+e2eMMToken+", url:", 1)
	c = strings.Replace(c, "telegram: {bot_token:", "telegram: {webhook_secret: "+e2eTGSecret+", bot_token:", 1)
	return c + fmt.Sprintf(`
people:
  - {name: alice, slack: UALICE, mattermost: %s, telegram: "111"}
  - {name: bob, slack: UBOB}
`, aliceMM)
}

func post(t testing.TB, url, contentType string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// slackSigned posts a form to klaxon's Slack endpoint, signed as Slack does.
func slackSigned(t testing.TB, url string, form url.Values, secret string, at time.Time) (int, string) {
	body := form.Encode()
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	return post(t, url, "application/x-www-form-urlencoded", []byte(body), map[string]string{
		"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + hex.EncodeToString(mac.Sum(nil)),
	})
}

var keyRE = regexp.MustCompile(`k[23]\.[smt]\.1\.(ack|resolve|unack)(\.[A-Za-z0-9_-]+)+`)

func buttonKey(t testing.TB, blob, action string) string {
	t.Helper()
	for _, m := range keyRE.FindAllString(blob, -1) {
		if strings.Contains(m, ".1."+action+".") {
			return m
		}
	}
	t.Fatalf("no %s button key in %.500s", action, blob)
	return ""
}

// An incident run from all three platforms: a Slack button acknowledges,
// Mattermost sets severity, Telegram names the commander, Slack takes a
// note, a Mattermost button resolves; every card follows, and the
// postmortem tells the story.
func TestChatEndToEnd(t *testing.T) {
	eachStore(t, "e2e-chat", func(t *testing.T, store string) {
		f := startFakes(t)
		cfgPath := writeFile(t, "klaxon.yaml", chatConfigYAML(f, store))
		base, logs, stop := startServe(t, cfgPath)
		if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the cards", func() bool {
			return len(f.slack.Messages(e2eSlack)) == 1 && len(f.mm.Messages(e2eMM)) == 1 && len(f.tg.Messages(e2eTG)) == 1
		})
		if wh, ok := f.tg.CurrentWebhook(); !ok || wh.URL != "https://klaxon.example.com/telegram/webhook" || wh.SecretToken != e2eTGSecret {
			t.Errorf("Telegram webhook %+v, %v", wh, ok)
		}
		slackCard := f.slack.Messages(e2eSlack)[0]

		// Unsigned and stale requests change nothing.
		if code, _ := post(t, base+"/slack/interactions", "application/x-www-form-urlencoded", []byte("payload={}"), nil); code != 401 {
			t.Errorf("unsigned Slack request: %d", code)
		}
		if code, _ := slackSigned(t, base+"/slack/commands", url.Values{"text": {"resolve"}, "user_id": {"UBOB"}, "channel_id": {e2eSlack}}, e2eSigning, time.Now().Add(-10*time.Minute)); code != 401 {
			t.Errorf("replayed Slack request: %d", code)
		}
		if code, _ := post(t, base+"/telegram/webhook", "application/json", []byte(`{"update_id":1}`), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "wrong"}); code != 401 {
			t.Errorf("Telegram update with a wrong secret: %d", code)
		}

		// Slack: the Acknowledge button.
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]string{"id": "UBOB", "username": "bob"},
			"channel":   map[string]string{"id": e2eSlack},
			"container": map[string]string{"message_ts": slackCard.TS, "channel_id": e2eSlack},
			"actions":   []map[string]string{{"action_id": "klaxon:ack", "value": buttonKey(t, string(slackCard.Blocks), "ack")}},
		})
		if code, body := slackSigned(t, base+"/slack/interactions", url.Values{"payload": {string(payload)}}, e2eSigning, time.Now()); code != 200 {
			t.Fatalf("Slack click: %d %s", code, body)
		}
		waitUntil(t, 10*time.Second, "every card acknowledged", func() bool {
			return strings.Contains(f.slack.Messages(e2eSlack)[0].Text, "Acknowledged") &&
				strings.Contains(f.mm.Messages(e2eMM)[0].Text+string(f.mm.Messages(e2eMM)[0].Props), "Acknowledged") &&
				strings.Contains(f.tg.Messages(e2eTG)[0].Text, "Acknowledged")
		})

		// Mattermost: /incident sev 2.
		form := url.Values{"token": {e2eMMToken}, "channel_id": {e2eMM}, "user_id": {aliceMM}, "user_name": {"alice"}, "command": {"/incident"}, "text": {"sev 2"}}
		code, body := post(t, base+"/mattermost/commands", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
		if code != 200 || !strings.Contains(body, "Severity SEV") {
			t.Fatalf("Mattermost command: %d %s", code, body)
		}
		form.Set("token", "wrong")
		if code, _ := post(t, base+"/mattermost/commands", "application/x-www-form-urlencoded", []byte(form.Encode()), nil); code != 401 {
			t.Errorf("Mattermost command with a wrong token: %d", code)
		}

		// Telegram: /lead @bob, as a reply to the card.
		tgCard := f.tg.Messages(e2eTG)[0]
		chat, _ := strconv.ParseInt(e2eTG, 10, 64)
		update := f.tg.UserMessage(chat, telegramfake.User{ID: 111, Username: "alice"}, "/lead @bob", tgCard.MessageID)
		if code, body := post(t, base+"/telegram/webhook", "application/json", update, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}); code != 200 {
			t.Fatalf("Telegram update: %d %s", code, body)
		}

		// Slack: a note.
		if code, body := slackSigned(t, base+"/slack/commands", url.Values{"text": {"note factor: the checkout pool was too small"}, "user_id": {"UALICE"}, "channel_id": {e2eSlack}, "command": {"/incident"}}, e2eSigning, time.Now()); code != 200 || !strings.Contains(body, "Note (factor) added") {
			t.Fatalf("Slack note: %d %s", code, body)
		}

		// A key read off a Slack card does nothing on Mattermost's
		// unauthenticated endpoint.
		stolen, _ := json.Marshal(map[string]any{"user_id": aliceMM, "channel_id": e2eMM, "post_id": f.mm.Messages(e2eMM)[0].Ref,
			"context": map[string]string{"key": buttonKey(t, string(f.slack.Messages(e2eSlack)[0].Blocks), "resolve")}})
		if code, body := post(t, base+"/mattermost/actions", "application/json", stolen, nil); code != 401 {
			t.Fatalf("a Slack key on Mattermost: %d %s", code, body)
		}

		// Mattermost: the Resolve button, clicked by alice, a member of
		// the channel.
		mmCard := f.mm.Messages(e2eMM)[0]
		f.mm.AddUser(aliceMM, "alice")
		f.mm.AddMember(e2eMM, aliceMM)
		f.mm.SetActionTarget("https://klaxon.example.com", base)
		res, err := f.mm.Click(context.Background(), mmCard.Ref, "resolve", aliceMM)
		if err != nil || res.Status != 200 || res.Response.Update != nil || !strings.Contains(res.Response.EphemeralText, "resolved") {
			t.Fatalf("Mattermost click: %+v, %v", res, err)
		}
		action, _ := json.Marshal(res.Request)
		forged := strings.Replace(string(action), ".1.resolve.", ".1.resolve.x", 1)
		if forged == string(action) {
			t.Fatalf("no key in %s", action)
		}
		if code, _ := post(t, base+"/mattermost/actions", "application/json", []byte(forged), nil); code != 401 {
			t.Errorf("forged Mattermost action: %d", code)
		}
		waitUntil(t, 10*time.Second, "every card resolved", func() bool {
			return strings.Contains(f.slack.Messages(e2eSlack)[0].Text, "Resolved") &&
				strings.Contains(f.mm.Messages(e2eMM)[0].Text+string(f.mm.Messages(e2eMM)[0].Props), "Resolved") &&
				strings.Contains(f.tg.Messages(e2eTG)[0].Text, "Resolved")
		})
		if v := f.violations(); len(v) > 0 {
			t.Errorf("limit violations: %v", v)
		}
		var pm bytes.Buffer
		if err := run(context.Background(), []string{"postmortem", "INC-1", "--url", base, "-c", cfgPath}, &pm, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"# INC-1:", "| Severity | SEV2 |", "| Incident commander | bob |", "Acknowledged by bob", "- the checkout pool was too small", "Resolved by alice"} {
			if !strings.Contains(pm.String(), want) {
				t.Errorf("postmortem lacks %q:\n%s", want, pm.String())
			}
		}
		metrics := string(getBody(t, base+"/metrics"))
		for _, want := range []string{`klaxon_chat_rejected_total{platform="slack",reason="stale timestamp"} 1`, `klaxon_chat_requests_total{kind="button",platform="slack",result="ok",verb="ack"} 1`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{e2eSigning, e2eMMToken, e2eTGSecret} {
			if strings.Contains(logs.String(), secret) {
				t.Error("a secret reached the log")
			}
		}
		// Stopped: the postmortem comes from the store itself.
		if strings.HasSuffix(t.Name(), "/bolt") {
			pm.Reset()
			if err := run(context.Background(), []string{"postmortem", "INC-1", "-c", cfgPath, "--url", "http://127.0.0.1:1"}, &pm, &bytes.Buffer{}); err != nil || !strings.Contains(pm.String(), "# INC-1:") {
				t.Errorf("postmortem from the store: %v\n%s", err, pm.String())
			}
		}
	})
}

func getBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

var _ = slackfake.DefaultToken
var _ = mattermostfake.DefaultToken
