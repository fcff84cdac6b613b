package bot_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/webhook"
	"github.com/klaxonbot/klaxon/bot"
)

// BenchmarkGenericWebhook measures signed generic webhooks through the
// HTTP handler on Redis: HMAC check with a timestamp and replay claim,
// the template mapping (Uptime Kuma's), and ingest.
//
//	go test -run '^$' -bench GenericWebhook -benchtime 20000x ./bot/
func BenchmarkGenericWebhook(b *testing.B) {
	const secret = "bench-hmac-secret-0123456789"
	m, err := webhook.Compile("kuma", webhook.Fields{
		Title:       `Uptime Kuma: {{ or .monitor.name "test" }}`,
		Status:      `{{ .heartbeat.status }}`,
		Firing:      []string{"0"},
		Resolved:    []string{"1"},
		Fingerprint: `kuma-{{ .monitor.id }}`,
		Severity:    "critical",
		Summary:     `{{ .heartbeat.msg }}`,
		Links:       map[string]string{"graph": "{{ .monitor.url }}"},
		Labels:      map[string]string{"service": "{{ .monitor.name }}"},
	}, webhook.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"new", "repeat"} {
		b.Run(kind, func(b *testing.B) {
			store := redisStore(b)
			e := newWebhookEnvConfig(b, func() *bot.Config {
				c := bot.DefaultConfig()
				c.Sources.Webhook = []bot.WebhookSource{{Name: "kuma", HMAC: &bot.HMACAuth{
					Secret: secret, Header: "X-Signature", TimestampHeader: "X-Timestamp"}}}
				return c
			}(), map[string]bot.Parser{"webhook/kuma": m.Parse}, store)
			run := "b" + strconv.FormatInt(time.Now().UnixNano(), 36)
			bodies := make([]string, b.N)
			for i := range bodies {
				id := i
				if kind == "repeat" {
					id = i % 100
				}
				bodies[i] = fmt.Sprintf(`{"heartbeat":{"status":0,"msg":"connect ECONNREFUSED"},"monitor":{"id":"%s-%d","name":"check %d","url":"https://example.com/%d"},"msg":"down","n":%d}`, run, id, id, id, i)
			}
			stamp := strconv.FormatInt(e.clock.Now().Unix(), 10)
			hammer(b, e, 1, func(i int) *http.Request {
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write([]byte(stamp + ":" + bodies[i]))
				req := httptest.NewRequest("POST", "/hooks/webhook/kuma", strings.NewReader(bodies[i]))
				req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
				req.Header.Set("X-Timestamp", stamp)
				return req
			})
		})
	}
}
