package bot_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
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

// bigAlertmanagerBody is one Alertmanager group of n firing alerts, as
// compact as Alertmanager allows (55,000 fit in the default 4 MiB).
func bigAlertmanagerBody(group string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"version":"4","groupKey":"{}:{alertname=%s}","status":"firing","commonLabels":{"alertname":%q},"alerts":[`, group, group)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","labels":{"i":"%d"},"fingerprint":"%s-%d"}`, i, group, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkWebhookMemory measures what one large webhook costs in memory
// while it is handled: the peak of the live heap over the body's size
// (bot's webhookCost). The GC runs at GOGC=10 meanwhile, so the peak is
// close to what is live, not what is garbage.
//
//	go test -run '^$' -bench WebhookMemory -benchtime 3x ./bot/
func BenchmarkWebhookMemory(b *testing.B) {
	for _, st := range []string{"embedded", "redis"} {
		b.Run(st, func(b *testing.B) {
			store := boltStore(b)
			if st == "redis" {
				store = redisStore(b)
			}
			e := newEnvSources(b, store, bot.DefaultConfig(), map[string]bot.Parser{"alertmanager": alertmanager.Parse})
			defer debug.SetGCPercent(debug.SetGCPercent(10))
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
			var worst float64
			var size int
			for i := 0; i < b.N; i++ {
				body := bigAlertmanagerBody(fmt.Sprintf("Big%d", i), 55000)
				size = len(body)
				runtime.GC()
				base := heap()
				stop, peak := make(chan struct{}), make(chan uint64)
				go func() {
					p := base
					for {
						select {
						case <-stop:
							peak <- p
							return
						case <-time.After(time.Millisecond):
							p = max(p, heap())
						}
					}
				}()
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, httptest.NewRequest("POST", "/hooks/alertmanager", bytes.NewReader(body)))
				close(stop)
				p := <-peak
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
				worst = max(worst, float64(p-base))
			}
			b.ReportMetric(float64(size)/(1<<20), "body-MiB")
			b.ReportMetric(worst/(1<<20), "peak-MiB")
			b.ReportMetric(worst/float64(size), "x-body")
		})
	}
}
