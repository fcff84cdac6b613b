package attack

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
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
slack: {bot_token: %q, signing_secret: %q, api_url: %q, channel_interval: 0s, update_interval: 0s}
mattermost: {url: %q, bot_token: %q, command_token: %q, interval: 0s}
telegram: {bot_token: %q, api_endpoint: %q, webhook_secret: %q, chat_interval: 0s, group_interval: 0s, global_interval: 0s}
teams:
  - name: payments
    slack: {channel: %s}
    mattermost: {channel: %s}
    telegram: {chat: %q}
default_team: payments
`, f.slack.Token(), slackSecret, f.slack.URL(), f.mm.URL(), f.mm.Token(), mmCmdToken, f.tg.Token(), f.tg.URL(), tgSecret,
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
