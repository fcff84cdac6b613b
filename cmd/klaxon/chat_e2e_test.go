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
	"path/filepath"
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

// cardOf is the Mattermost card of incident id.
func cardOf(t *testing.T, f *fakes, id string) mattermostfake.Message {
	t.Helper()
	for _, m := range f.mm.Messages(e2eMM) {
		if m.IncidentID == id {
			return m
		}
	}
	t.Fatalf("no Mattermost card of %s", id)
	return mattermostfake.Message{}
}

// unlimitedTelegram replaces the Telegram fake with one without rate
// limits: klaxon's answers to commands are sent at once, not through the
// outbox, and a test's command right after a card would be refused.
func unlimitedTelegram(t *testing.T, f *fakes) {
	f.tg.Close()
	f.tg = telegramfake.New(telegramfake.Options{})
	t.Cleanup(f.tg.Close)
}

// synced waits until klaxon's outbox is empty: every card it posted is
// recorded, so a press or a command in a card's thread can find it.
func synced(t *testing.T, base string) {
	t.Helper()
	waitUntil(t, 10*time.Second, "an empty outbox", func() bool {
		return strings.Contains(string(getBody(t, base+"/metrics")), "\nklaxon_outbox_depth 0\n")
	})
}

// fireNamed opens an incident of its own for alertname.
func fireNamed(t *testing.T, base, alertname string) {
	t.Helper()
	if err := run(context.Background(), []string{"fire", "--url", base, "--alertname", alertname}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

// mmCommand types /incident text as user in the Mattermost channel, as
// the fake server sends it (9.10: no root_id, unless the fake says).
func mmCommand(t *testing.T, f *fakes, user, text, rootID string) *mattermostfake.CommandResult {
	t.Helper()
	res, err := f.mm.RunCommand(context.Background(), mattermostfake.Command{URL: "https://klaxon.example.com/mattermost/commands",
		Token: e2eMMToken, Channel: e2eMM, User: user, Text: text, RootID: rootID})
	if err != nil {
		t.Fatalf("/incident %s: %v", text, err)
	}
	return res
}

var wordJoinerInURL = regexp.MustCompile(`https?:\x{2060}`)

// klaxon's own postmortem link is a real link on every platform (it was
// data, like alert text: on Mattermost "http:⁠//", with a word joiner,
// linked nothing and broke when copied).
func TestChatPostmortemLink(t *testing.T) {
	f := startFakes(t)
	unlimitedTelegram(t, f)
	store := fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))
	base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", chatConfigYAML(f, store)))
	defer stop()
	f.mm.SetActionTarget("https://klaxon.example.com", base)
	f.mm.AddUser(aliceMM, "alice")
	f.mm.AddMember(e2eMM, aliceMM)
	fireNamed(t, base, "HighLatency")
	waitUntil(t, 10*time.Second, "the cards", func() bool {
		return len(f.slack.Messages(e2eSlack)) == 1 && len(f.mm.Messages(e2eMM)) == 1 && len(f.tg.Messages(e2eTG)) == 1
	})
	const link = "https://klaxon.example.com/api/v1/incidents/INC-1/postmortem.md"

	res := mmCommand(t, f, aliceMM, "postmortem", "")
	eph := f.mm.EphemeralPosts(aliceMM)
	if res.Ephemeral == "" || len(eph) != 1 || !strings.Contains(eph[0].Text, "]("+link+")") || wordJoinerInURL.MatchString(eph[0].Text) {
		t.Errorf("Mattermost: the postmortem answer links nothing:\n%.800s", res.Body)
	}

	code, body := slackSigned(t, base+"/slack/commands", url.Values{"text": {"postmortem"}, "user_id": {"UALICE"}, "channel_id": {e2eSlack},
		"command": {"/incident"}, "response_url": {f.slack.ResponseURL()}}, e2eSigning, time.Now())
	if code != 200 || !strings.Contains(body, `<`+link+`|`) || !strings.Contains(body, `"type":"mrkdwn"`) {
		t.Errorf("Slack: the postmortem answer links nothing: %d %.800s", code, body)
	}

	chat, _ := strconv.ParseInt(e2eTG, 10, 64)
	update := f.tg.UserMessage(chat, telegramfake.User{ID: 111, Username: "alice"}, "/postmortem", 0)
	if code, body := post(t, base+"/telegram/webhook", "application/json", update, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}); code != 200 {
		t.Fatalf("Telegram update: %d %s", code, body)
	}
	var links []string
	for _, m := range f.tg.Messages(e2eTG) {
		for _, l := range m.ReplyLinks {
			links = append(links, l...)
		}
	}
	if len(links) != 1 || links[0] != link {
		t.Errorf("Telegram: the postmortem answer links %q, want %s", links, link)
	}
	if v := f.violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// Mattermost 9.10 sends no root_id with a slash command: "/incident ack"
// typed in a card's thread cannot say which card. With two incidents open
// the answer is a button each (the newest first) rather than a dead end;
// pressing one acknowledges that incident. A server that sends root_id
// acts on the thread's card at once. Slack and Telegram offer the same
// buttons.
func TestChatChoicesEndToEnd(t *testing.T) {
	f := startFakes(t)
	unlimitedTelegram(t, f)
	store := fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))
	base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", chatConfigYAML(f, store)))
	defer stop()
	f.mm.SetActionTarget("https://klaxon.example.com", base)
	f.mm.AddUser(aliceMM, "alice")
	f.mm.AddMember(e2eMM, aliceMM)
	fireNamed(t, base, "HighLatency")
	fireNamed(t, base, "DiskFull")
	waitUntil(t, 10*time.Second, "two cards each", func() bool {
		return len(f.slack.Messages(e2eSlack)) == 2 && len(f.mm.Messages(e2eMM)) == 2 && len(f.tg.Messages(e2eTG)) == 2
	})
	synced(t, base)
	state := func(id string) (st, by string) {
		var inc struct {
			State   string `json:"state"`
			AckedBy string `json:"ackedBy"`
		}
		if err := json.Unmarshal(getBody(t, base+"/api/v1/incidents/"+id), &inc); err != nil {
			t.Fatal(err)
		}
		return inc.State, inc.AckedBy
	}
	inc1Card := cardOf(t, f, "INC-1")

	// Mattermost 9.10: typed in INC-1's thread, sent without root_id.
	res := mmCommand(t, f, aliceMM, "ack", inc1Card.Ref)
	if _, sent := res.Request["root_id"]; sent {
		t.Fatal("the fake sent root_id as 9.10 does not")
	}
	eph := f.mm.EphemeralPosts(aliceMM)
	if len(eph) != 1 || len(eph[0].Attachment) != 1 || len(eph[0].Attachment[0].Actions) != 2 {
		t.Fatalf("the answer offers no buttons:\n%.1500s", res.Body)
	}
	buttons := eph[0].Attachment[0].Actions
	if !strings.HasPrefix(buttons[0].Name, "INC-2") || !strings.HasPrefix(buttons[1].Name, "INC-1") || !strings.Contains(eph[0].Text, "which one?") {
		t.Errorf("buttons %q, %q; text %q", buttons[0].Name, buttons[1].Name, eph[0].Text)
	}
	click, err := f.mm.Click(context.Background(), res.Ephemeral, buttons[1].Id, aliceMM)
	if err != nil || click.Status != 200 || !strings.Contains(click.Response.EphemeralText, "INC\\-1: Acknowledged by alice") {
		t.Fatalf("the click: %+v, %v", click, err)
	}
	if st, by := state("INC-1"); st != "acknowledged" || by != "alice" {
		t.Errorf("INC-1 %s by %q", st, by)
	}
	if st, _ := state("INC-2"); st != "triggered" {
		t.Errorf("INC-2 %s", st)
	}
	// Another user cannot press alice's buttons (the server shows them to
	// her alone), and a key pressed elsewhere than on its card is refused.
	if _, err := f.mm.Click(context.Background(), res.Ephemeral, buttons[0].Id, "bobmattermostid00000000000"); err == nil {
		t.Error("bob pressed alice's ephemeral button")
	}

	// Slack: the same, as an ephemeral message with buttons.
	code, body := slackSigned(t, base+"/slack/commands", url.Values{"text": {"resolve"}, "user_id": {"UALICE"}, "channel_id": {e2eSlack},
		"command": {"/incident"}, "response_url": {f.slack.ResponseURL()}}, e2eSigning, time.Now())
	var answer struct {
		Blocks []struct {
			BlockID  string `json:"block_id"`
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
				Text     struct{ Text string }
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(body), &answer); code != 200 || err != nil {
		t.Fatalf("Slack: %d %s", code, body)
	}
	var slackKey string
	for _, b := range answer.Blocks {
		for _, el := range b.Elements {
			if strings.HasPrefix(el.Text.Text, "INC-2") {
				slackKey = el.Value
			}
		}
	}
	if slackKey == "" {
		t.Fatalf("Slack offers no INC-2 button: %s", body)
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]string{"id": "UALICE", "username": "alice"},
		"channel": map[string]string{"id": e2eSlack}, "container": map[string]any{"message_ts": "1712345678.000100", "channel_id": e2eSlack, "is_ephemeral": true},
		"response_url": f.slack.ResponseURL(),
		"actions":      []map[string]string{{"action_id": "klaxon-choice-1", "value": slackKey}},
	})
	if code, body := slackSigned(t, base+"/slack/interactions", url.Values{"payload": {string(payload)}}, e2eSigning, time.Now()); code != 200 {
		t.Fatalf("Slack click: %d %s", code, body)
	}
	waitUntil(t, 10*time.Second, "INC-2 resolved from Slack", func() bool { st, _ := state("INC-2"); return st == "resolved" })

	// Telegram: an inline keyboard under the answer.
	chat, _ := strconv.ParseInt(e2eTG, 10, 64)
	reopen := f.tg.UserMessage(chat, telegramfake.User{ID: 111, Username: "alice"}, "/incident reopen INC-2", 0)
	post(t, base+"/telegram/webhook", "application/json", reopen, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret})
	update := f.tg.UserMessage(chat, telegramfake.User{ID: 111, Username: "alice"}, "/escalate", 0)
	post(t, base+"/telegram/webhook", "application/json", update, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret})
	var tgKey string
	var tgMsg int
	for _, m := range f.tg.Messages(e2eTG) {
		for i, kb := range m.ReplyKeys {
			for _, row := range kb {
				if strings.HasPrefix(row[0].Text, "INC-1") {
					tgKey, tgMsg = row[0].CallbackData, m.ReplyIDs[i]
				}
			}
		}
	}
	if tgKey == "" {
		t.Fatalf("Telegram offers no INC-1 button: %+v", f.tg.Messages(e2eTG))
	}
	press := f.tg.Press(chat, tgMsg, telegramfake.User{ID: 111, Username: "alice"}, tgKey)
	post(t, base+"/telegram/webhook", "application/json", press, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret})
	waitUntil(t, 10*time.Second, "INC-1 escalated from Telegram", func() bool {
		var inc struct {
			Timeline []struct{ Kind, Actor string }
		}
		json.Unmarshal(getBody(t, base+"/api/v1/incidents/INC-1"), &inc)
		for _, e := range inc.Timeline {
			if e.Kind == "escalated" && e.Actor == "alice" {
				return true
			}
		}
		return false
	})
	if v := f.violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// A server that sends root_id (Mattermost's main branch since 2026): a
// command typed in a card's thread acts on that card's incident at once.
func TestChatMattermostRootID(t *testing.T) {
	f := startFakes(t)
	f.mm.Close()
	f.mm = mattermostfake.New(mattermostfake.Options{PerSecond: 10, Burst: 10, CommandRootID: true})
	t.Cleanup(f.mm.Close)
	store := fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))
	base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", chatConfigYAML(f, store)))
	defer stop()
	f.mm.SetActionTarget("https://klaxon.example.com", base)
	f.mm.AddUser(aliceMM, "alice")
	f.mm.AddMember(e2eMM, aliceMM)
	fireNamed(t, base, "HighLatency")
	fireNamed(t, base, "DiskFull")
	waitUntil(t, 10*time.Second, "two Mattermost cards", func() bool { return len(f.mm.Messages(e2eMM)) == 2 })
	synced(t, base)
	mmCommand(t, f, aliceMM, "ack", cardOf(t, f, "INC-1").Ref)
	if e := f.mm.Ephemerals(aliceMM); len(e) != 1 || !strings.Contains(e[0], "INC\\-1: Acknowledged by alice") {
		t.Errorf("answers %q", e)
	}
}

// A card posted late — the klaxon bot was added to the Mattermost channel
// after the incident changed — threads the earlier lines under it.
func TestChatLateCardThreadsEarlierLines(t *testing.T) {
	f := startFakes(t)
	f.mm.RemoveChannel(e2eMM) // the bot is not in the channel yet
	store := fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))
	base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", chatConfigYAML(f, store)))
	defer stop()
	fireNamed(t, base, "HighLatency")
	waitUntil(t, 10*time.Second, "the Slack card and the refused Mattermost post", func() bool {
		return len(f.slack.Messages(e2eSlack)) == 1 && f.mm.Calls()["CreatePost"] >= 1
	})
	slack := func(text string) {
		t.Helper()
		if code, body := slackSigned(t, base+"/slack/commands", url.Values{"text": {text}, "user_id": {"UALICE"}, "channel_id": {e2eSlack},
			"command": {"/incident"}}, e2eSigning, time.Now()); code != 200 || strings.Contains(body, "Sorry") {
			t.Fatalf("/incident %s: %d %s", text, code, body)
		}
	}
	slack("ack")
	slack("note factor: the pool was too small")
	waitUntil(t, 10*time.Second, "the note in the Slack thread", func() bool {
		return strings.Contains(strings.Join(f.slack.Messages(e2eSlack)[0].Replies, "\n"), "the pool was too small")
	})
	if n := len(f.mm.Messages(e2eMM)); n != 0 {
		t.Fatalf("%d Mattermost cards before the bot was added", n)
	}
	f.mm.AddChannel(e2eMM) // the bot is added
	slack("resolve the pool is bigger now")
	waitUntil(t, 10*time.Second, "the late Mattermost card and its thread", func() bool {
		ms := f.mm.Messages(e2eMM)
		return len(ms) == 1 && len(ms[0].Replies) > 0
	})
	m := f.mm.Messages(e2eMM)[0]
	if len(m.Replies) != 1 {
		t.Errorf("%d replies, want one holding the earlier lines: %q", len(m.Replies), m.Replies)
	}
	for _, want := range []string{"could not be posted: api\\.context\\.permissions\\.app\\_error", "Acknowledged by alice", "the pool was too small", "Resolved by alice"} {
		if !strings.Contains(m.Replies[0], want) {
			t.Errorf("the late card's thread lacks %q:\n%s", want, m.Replies[0])
		}
	}
	if v := f.violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}
