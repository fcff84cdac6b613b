package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// background sends 1-alert Alertmanager webhooks, each a new group of a
// team without chat destinations, at rate per second until ctx ends; it
// returns how many were accepted.
func background(ctx context.Context, base string, rate int) func() int64 {
	var sent atomic.Int64
	jobs := make(chan int, 1024)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				name := fmt.Sprintf("Noise%d", i)
				body, _ := json.Marshal(map[string]any{
					"version": "4", "groupKey": "{}:{alertname=\"" + name + "\"}", "status": "firing", "receiver": "klaxon",
					"groupLabels": map[string]string{"alertname": name},
					"alerts": []map[string]any{{"status": "firing", "fingerprint": name, "startsAt": time.Now().UTC().Format(time.RFC3339),
						"labels": map[string]string{"alertname": name, "bench": "noise"}}},
				})
				resp, err := http.Post(base+"/hooks/alertmanager", "application/json", bytes.NewReader(body))
				if err == nil {
					if resp.StatusCode == 200 {
						sent.Add(1)
					}
					resp.Body.Close()
				}
			}
		}()
	}
	go func() {
		defer func() { close(jobs); wg.Wait() }()
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case jobs <- i:
				default: // the sender is behind: an open loop drops, and the count shows it
				}
			}
		}
	}()
	return sent.Load
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkChat measures, with klaxon on Redis under a background load of
// 1,000 alerts/s: the time from a signed Slack command or button press to
// klaxon's HTTP answer, and from a button press to every card (Slack,
// Mattermost, Telegram fakes with their rate limits) showing the change.
//
//	go test -run '^$' -bench Chat -benchtime 1x ./cmd/klaxon
func BenchmarkChat(b *testing.B) {
	const tgPrivate = "4242"
	for range b.N {
		b.StopTimer()
		f := startFakes(b)
		rdb := storetest.Redis(b)
		prefix := storetest.Prefix("bench-chat")
		store := fmt.Sprintf("store: {redis: {url: %q, key_prefix: %q}}", storetest.RedisURL(), prefix)
		cfg := strings.Replace(chatConfigYAML(f, store), `chat: "`+e2eTG+`"`, `chat: "`+tgPrivate+`"`, 1)
		cfg = strings.Replace(cfg, "default_team: payments", "  - name: noise\ndefault_team: payments\nroutes:\n  - {match: {bench: noise}, team: noise}", 1)
		cfg = strings.Replace(cfg, "server: {", "server: {max_webhooks: 512, ", 1)
		base, _, stop := startServe(b, writeFile(b, "klaxon.yaml", cfg))
		if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			b.Fatal(err)
		}
		waitUntil(b, 10*time.Second, "the cards", func() bool {
			return len(f.slack.Messages(e2eSlack)) == 1 && len(f.mm.Messages(e2eMM)) == 1 && len(f.tg.Messages(tgPrivate)) == 1
		})
		card := f.slack.Messages(e2eSlack)[0]
		ctx, cancel := context.WithCancel(context.Background())
		sent := background(ctx, base, 1000)
		time.Sleep(2 * time.Second) // let the load settle
		b.StartTimer()
		start := time.Now()

		// Commands: read (show) and write (note) through the signed endpoint.
		var cmds []time.Duration
		for i := range 400 {
			text := "show INC-1"
			if i%2 == 1 {
				text = fmt.Sprintf("note INC-1 bench note %d", i)
			}
			t0 := time.Now()
			code, body := slackSigned(b, base+"/slack/commands", url.Values{"text": {text}, "user_id": {"UALICE"}, "channel_id": {e2eSlack}}, e2eSigning, time.Now())
			cmds = append(cmds, time.Since(t0))
			if code != 200 || body == "" {
				b.Fatalf("command: %d %s", code, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Buttons: acknowledge and unacknowledge in turn, far enough apart
		// that each platform's rate limit (a card edit and a thread reply
		// per press) has refilled, as for a person pressing buttons.
		var clicks, everywhere []time.Duration
		for i := range 16 {
			action, want := "ack", "Acknowledged"
			if i%2 == 1 {
				action, want = "unack", "Triggered"
			}
			blocks := string(f.slack.Messages(e2eSlack)[0].Blocks)
			payload, _ := json.Marshal(map[string]any{
				"type": "block_actions", "user": map[string]string{"id": "UBOB"}, "channel": map[string]string{"id": e2eSlack},
				"container": map[string]string{"message_ts": card.TS}, "actions": []map[string]string{{"value": buttonKey(b, blocks, action)}},
			})
			t0 := time.Now()
			if code, body := slackSigned(b, base+"/slack/interactions", url.Values{"payload": {string(payload)}}, e2eSigning, time.Now()); code != 200 {
				b.Fatalf("click: %d %s", code, body)
			}
			clicks = append(clicks, time.Since(t0))
			shows := func(text string) bool { return strings.Contains(text, "· "+want+" ·") }
			waitUntil(b, 30*time.Second, "every card "+want, func() bool {
				m := f.mm.Messages(e2eMM)[0]
				return shows(f.slack.Messages(e2eSlack)[0].Text) && shows(m.Text+string(m.Props)) && shows(f.tg.Messages(tgPrivate)[0].Text)
			})
			everywhere = append(everywhere, time.Since(t0))
			time.Sleep(2500 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		alerts := sent()
		b.ReportMetric(float64(alerts)/elapsed.Seconds(), "background-alerts/s")
		b.ReportMetric(float64(pct(cmds, .5).Microseconds())/1000, "command-p50-ms")
		b.ReportMetric(float64(pct(cmds, .99).Microseconds())/1000, "command-p99-ms")
		b.ReportMetric(float64(pct(clicks, .99).Microseconds())/1000, "click-answer-p99-ms")
		b.ReportMetric(float64(pct(everywhere, .5).Microseconds())/1000, "click-to-every-card-p50-ms")
		b.ReportMetric(float64(pct(everywhere, .99).Microseconds())/1000, "click-to-every-card-p99-ms")
		if v := f.violations(); len(v) > 0 {
			b.Errorf("limit violations: %v", v)
		}
		b.Logf("429s: slack %d, mattermost %d, telegram %d; %d background alerts in %s", f.slack.RateLimited(), f.mm.RateLimited(), f.tg.RateLimited(), alerts, elapsed.Round(time.Second))
		stop()
		storetest.DeleteKeys(rdb, prefix)
	}
}
