package attack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
)

const (
	slackSecret   = "attack-slack-signing-secret-0123"
	mmCmdToken    = "attackmattermostcommandtoken01"
	tgSecret      = "attack-telegram-webhook-secret01"
	slackChannel  = "C0PAYMENTS"
	mmChannel     = "paymentschannel0000000000a"
	telegramGroup = "-1001234567890"
)

// chatFakes are the three platforms, strict, without rate limits.
type chatFakes struct {
	slack *slackfake.Server
	mm    *mattermostfake.Server
	tg    *telegramfake.Server
}

func startChatFakes(t *testing.T) *chatFakes {
	f := &chatFakes{
		slack: slackfake.New(slackfake.Options{}),
		mm:    mattermostfake.New(mattermostfake.Options{}),
		tg:    telegramfake.New(telegramfake.Options{}),
	}
	t.Cleanup(func() { f.slack.Close(); f.mm.Close(); f.tg.Close() })
	return f
}

// config is the chat part of klaxon's config, with every inbound
// endpoint's secret set.
func (f *chatFakes) config() string {
	return fmt.Sprintf(`
slack: {bot_token: %q, signing_secret: %q, api_url: %q, channel_interval: 0s, update_interval: 0s, response_url_prefixes: [%q]}
mattermost: {url: %q, bot_token: %q, command_token: %q, interval: 0s}
telegram: {bot_token: %q, api_endpoint: %q, webhook_secret: %q, chat_interval: 0s, group_interval: 0s, global_interval: 0s}
teams:
  - name: payments
    slack: {channel: %s}
    mattermost: {channel: %s}
    telegram: {chat: %q}
default_team: payments
`, f.slack.Token(), slackSecret, f.slack.URL(), f.slack.ResponseURLPrefix(), f.mm.URL(), f.mm.Token(), mmCmdToken, f.tg.Token(), f.tg.URL(), tgSecret,
		slackChannel, mmChannel, telegramGroup)
}

// Issue 13, item 3: /slack/* and /mattermost/* read up to 1 MiB before
// authenticating, with no bound on how many at once: 500 connections took
// RSS from 39 MB to 416 MB. Every endpoint that reads before it
// authenticates now reads within the unauthenticated gate and budget.
func TestUnauthenticatedChatBodiesStayWithinMemory(t *testing.T) {
	f := startChatFakes(t)
	p := start(t, baseConfig(storeYAML(t, onRedis))+f.config())
	pr := startProbe(p.base, 50*time.Millisecond)
	junk := bytes.Repeat([]byte("a"), 1<<20-1)
	paths := []string{"/slack/commands", "/slack/interactions", "/mattermost/commands", "/mattermost/actions", "/telegram/webhook", "/hooks/grafana"}
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	const conns = 500
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialFrom(p.base, i%50) // 50 clients, 10 connections each
			if err != nil {
				mu.Lock()
				answers["dial"]++
				mu.Unlock()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			path := paths[i%len(paths)]
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: klaxon\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"+
				"X-Grafana-Alerting-Signature: %s\r\nX-Grafana-Alerting-Timestamp: %d\r\n\r\n", path, len(junk), strings.Repeat("ab", 32), time.Now().Unix())
			// The body in 64 KiB pieces, as a sender on a real network
			// would: many bodies are in flight at once.
			for off := 0; off < len(junk); off += 64 << 10 {
				if _, err := c.Write(junk[off:min(len(junk), off+64<<10)]); err != nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			b := make([]byte, 12)
			n, _ := io.ReadFull(c, b)
			status := "no answer"
			if n == 12 {
				status = string(b[9:12])
			}
			mu.Lock()
			answers[path+" "+status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	pr.finish(t, "500 unauthenticated 1 MiB bodies", probeSlow)
	t.Logf("answers: %v", answers)
	for k, n := range answers {
		if !strings.HasSuffix(k, " 401") && !strings.HasSuffix(k, " 503") && !strings.HasSuffix(k, " 400") && !strings.HasSuffix(k, " 413") {
			t.Errorf("%d requests answered %q", n, k)
		}
	}
	p.checkMemory("500 unauthenticated 1 MiB bodies")
}

// slackForm signs a Slack request body as Slack does.
func slackHeaders(body string, at time.Time) (sig, ts string) {
	ts = strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSecret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	return "v0=" + hex.EncodeToString(mac.Sum(nil)), ts
}

// Issue 13, item 1: the same signed Slack command, resent with its
// signature spelled otherwise, to either of two replicas, declares one
// incident (three resends in upper case made three SEV1 incidents).
func TestSlackReplayVariants(t *testing.T) {
	f := startChatFakes(t)
	cfg := baseConfig(storeYAML(t, onRedis)) + f.config()
	a, b := start(t, cfg), start(t, cfg)
	form := url.Values{"user_id": {"UALICE"}, "user_name": {"alice"}, "channel_id": {slackChannel},
		"text": {"declare Replayed payments outage sev 1"}, "response_url": {f.slack.ResponseURLPrefix() + "r/1"}}
	body := form.Encode()
	sig, ts := slackHeaders(body, time.Now())
	hexPart := strings.TrimPrefix(sig, "v0=")
	send := func(base string, hdr ...string) int {
		code, _, err := post(base+"/slack/commands", []byte(body), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	if code := send(a.base, "X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts); code != 200 {
		t.Fatalf("the first command: %d", code)
	}
	for _, v := range []struct {
		name string
		hdr  []string
	}{
		{"the same, to the other replica", []string{"X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts}},
		{"upper-case hex", []string{"X-Slack-Signature", "v0=" + strings.ToUpper(hexPart), "X-Slack-Request-Timestamp", ts}},
		{"upper-case prefix", []string{"X-Slack-Signature", "V0=" + hexPart, "X-Slack-Request-Timestamp", ts}},
		{"spaces", []string{"X-Slack-Signature", " " + sig + " ", "X-Slack-Request-Timestamp", " " + ts}},
		{"a leading zero in the timestamp", []string{"X-Slack-Signature", sig, "X-Slack-Request-Timestamp", "0" + ts}},
		{"duplicate signature headers", []string{"X-Slack-Signature", "v0=" + strings.Repeat("0", 64), "X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts}},
		{"duplicate timestamp headers", []string{"X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts, "X-Slack-Request-Timestamp", ts}},
	} {
		for _, p := range []*proc{a, b} {
			send(p.base, v.hdr...)
		}
	}
	time.Sleep(500 * time.Millisecond) // a command slower than 2.5 s would still be running
	if n := incidentTitles(t, a.base)["Replayed payments outage"]; n != 1 {
		t.Fatalf("%d incidents declared by one signed command and its replays, want 1", n)
	}
	if a.metric("klaxon_chat_rejected_total", `platform="slack"`)+b.metric("klaxon_chat_rejected_total", `platform="slack"`) < 13 {
		t.Error("replays not counted as rejected")
	}
}

// Issue 13, item 11: a button press's reply goes to its response_url
// only on Slack's hosts, never to loopback.
func TestSlackResponseURLStaysOnSlack(t *testing.T) {
	f := startChatFakes(t)
	p := start(t, baseConfig(storeYAML(t, embedded))+f.config())
	var hits atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer trap.Close()
	port := strconv.Itoa(trap.Listener.Addr().(*net.TCPAddr).Port)
	for _, target := range []string{trap.URL + "/steal", "http://localhost:" + port + "/x", "https://hooks.slack.com.127.0.0.1.nip.io:" + port + "/x"} {
		form := url.Values{"user_id": {"UALICE"}, "user_name": {"alice"}, "channel_id": {slackChannel},
			"text": {"help"}, "response_url": {target}}
		// A help command answers at once; a button press always replies
		// through response_url: press a key that is not klaxon's.
		payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":"UALICE","username":"alice"},"channel":{"id":%q},"response_url":%q,"actions":[{"action_id":"ack","value":"k2.s.1.ack.AAAAAAAAAAAAAAAA"}]}`, slackChannel, target)
		for _, req := range []struct{ path, body string }{{"/slack/commands", form.Encode()}, {"/slack/interactions", url.Values{"payload": {payload}}.Encode()}} {
			sig, ts := slackHeaders(req.body, time.Now())
			if code, body, err := post(p.base+req.path, []byte(req.body), "Content-Type", "application/x-www-form-urlencoded", "X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts); err != nil || code != 200 {
				t.Fatalf("%s: %d %s %v", req.path, code, body, err)
			}
		}
	}
	time.Sleep(time.Second)
	if n := hits.Load(); n != 0 {
		t.Fatalf("klaxon posted %d replies to a response_url on loopback", n)
	}
	if p.metric("klaxon_chat_rejected_total", `reason="response_url not allowed"`) == 0 {
		t.Error("the refused response_url was not counted")
	}
}
