package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/prometheus/promfake"
	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// stormPayloads returns Alertmanager webhooks for groups×perGroup alerts,
// each group sent in parts webhooks, as an alert storm arrives.
func stormPayloads(groups, perGroup, parts int) [][]byte {
	start := time.Now().Add(-time.Minute).UTC()
	var out [][]byte
	for g := range groups {
		name := fmt.Sprintf("Storm%02d", g)
		per := perGroup / parts
		for p := range parts {
			var alerts []map[string]any
			for i := p * per; i < (p+1)*per; i++ {
				alerts = append(alerts, map[string]any{
					"status": "firing",
					"labels": map[string]string{"alertname": name, "instance": fmt.Sprintf("node-%03d:9100", i), "severity": "critical", "service": "payments"},
					"annotations": map[string]string{
						"summary": fmt.Sprintf("%s on node-%03d", name, i), "description": strings.Repeat("Disk full on a node <@U123> @channel & co. ", 5),
						"runbook_url": "https://runbooks.example.com/" + name,
					},
					"startsAt": start.Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z",
					"generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": fmt.Sprintf("%s-%03d", name, i),
				})
			}
			b, _ := json.Marshal(map[string]any{
				"version": "4", "groupKey": `{}:{alertname="` + name + `"}`, "status": "firing", "receiver": "klaxon",
				"groupLabels": map[string]string{"alertname": name}, "commonLabels": map[string]string{"alertname": name},
				"externalURL": "http://alertmanager:9093", "alerts": alerts,
			})
			out = append(out, b)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// postAll sends every body at once, retrying 503s as Alertmanager does.
func postAll(b *testing.B, url string, bodies [][]byte) {
	var wg sync.WaitGroup
	for _, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; ; attempt++ {
				resp, err := http.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return
					}
					if resp.StatusCode != 503 || attempt > 50 {
						b.Errorf("webhook: %s", resp.Status)
						return
					}
				} else if attempt > 50 {
					b.Error(err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkStorm posts 2,000 alerts in 50 groups at once (each group in 4
// webhooks, shuffled) to klaxon on Redis (bolt without it), whose team has
// a Slack channel, a Mattermost channel and a Telegram private chat on
// fakes that enforce the platforms' rate limits. It checks exactly 50
// cards per destination, no limit violation, and reports how long after
// the last alert every card showed its final state, and the API calls.
//
//	go test -run '^$' -bench Storm -benchtime 1x ./cmd/klaxon
//
// With graphs=on, a data source (promfake, three series) matches the
// alerts' generator URL: every incident also gets its graph, and
// graphs-s says when the last was stored.
func BenchmarkStorm(b *testing.B) {
	for _, graphs := range []bool{false, true} {
		name := "graphs=off"
		if graphs {
			name = "graphs=on"
		}
		b.Run(name, func(b *testing.B) { benchmarkStorm(b, graphs) })
	}
}

func benchmarkStorm(b *testing.B, graphs bool) {
	const groups, perGroup, parts = 50, 40, 4
	for range b.N {
		b.StopTimer()
		f := startFakes(b)
		rdb := storetest.Redis(b)
		prefix := storetest.Prefix("storm")
		store := fmt.Sprintf("store: {redis: {url: %q, key_prefix: %q}}", storetest.RedisURL(), prefix)
		cfg := strings.Replace(f.config(store), `chat: "`+e2eTG+`"`, `chat: "4242"`, 1)
		var prom *promfake.Server
		if graphs {
			prom = promfake.New(promfake.Options{Answer: func(q promfake.Query) promfake.Response {
				var ss []promfake.Series
				for i := range 3 {
					s := promfake.Series{Metric: map[string]string{"__name__": "up", "instance": fmt.Sprintf("node-%d", i)}}
					for _, t := range q.Times() {
						s.Points = append(s.Points, promfake.Point{T: t, V: "1"})
					}
					ss = append(ss, s)
				}
				return promfake.Response{Series: ss}
			}})
			defer prom.Close()
			cfg += fmt.Sprintf("datasources: [{name: prom, url: %q, match: {host: \"prometheus:9090\"}}]\n", prom.URL())
		}
		base, _, stop := startServe(b, writeFile(b, "klaxon.yaml", cfg))
		bodies := stormPayloads(groups, perGroup, parts)
		b.StartTimer()
		start := time.Now()
		// With graphs, when every incident has its graph (polled beside
		// the cards).
		graphsDone := make(chan time.Time, 1)
		if graphs {
			go func() {
				for n := 1; n <= groups; n++ {
					for time.Since(start) < 5*time.Minute {
						resp, err := http.Get(fmt.Sprintf("%s/api/v1/incidents/INC-%d/graph.png", base, n))
						if err == nil {
							resp.Body.Close()
							if resp.StatusCode == 200 {
								break
							}
						}
						time.Sleep(20 * time.Millisecond)
					}
				}
				graphsDone <- time.Now()
			}()
		}
		postAll(b, base+"/hooks/alertmanager", bodies)
		lastAlert := time.Now()
		final := func(text string) bool { return strings.Contains(text, fmt.Sprintf("%d firing, 0 resolved", perGroup)) }
		platforms := []struct {
			name  string
			texts func() []string
			at    time.Time
		}{
			{"slack", func() (out []string) {
				for _, m := range f.slack.Messages(e2eSlack) {
					out = append(out, m.Text)
				}
				return out
			}, time.Time{}},
			{"mattermost", func() (out []string) {
				for _, m := range f.mm.Messages(e2eMM) {
					out = append(out, m.Text+string(m.Props))
				}
				return out
			}, time.Time{}},
			{"telegram", func() (out []string) {
				for _, m := range f.tg.Messages("4242") {
					out = append(out, m.Text)
				}
				return out
			}, time.Time{}},
		}
		done := func() bool {
			all := true
			for i := range platforms {
				p := &platforms[i]
				if !p.at.IsZero() {
					continue
				}
				texts := p.texts()
				ok := len(texts) >= groups
				for _, t := range texts {
					ok = ok && final(t)
				}
				if ok {
					p.at = time.Now()
				}
				all = all && ok
			}
			return all
		}
		for !done() {
			if time.Since(lastAlert) > 5*time.Minute {
				b.Fatalf("cards not final 5 minutes after the last alert: slack %d, mattermost %d, telegram %d cards",
					len(f.slack.Messages(e2eSlack)), len(f.mm.Messages(e2eMM)), len(f.tg.Messages("4242")))
			}
			time.Sleep(20 * time.Millisecond)
		}
		finalAt := time.Now()
		b.StopTimer()
		time.Sleep(2 * time.Second) // nothing more may arrive
		cards := []int{len(f.slack.Messages(e2eSlack)), len(f.mm.Messages(e2eMM)), len(f.tg.Messages("4242"))}
		if cards[0] != groups || cards[1] != groups || cards[2] != groups {
			b.Errorf("cards per destination (slack, mattermost, telegram) = %v, want %d each", cards, groups)
		}
		if v := f.violations(); len(v) > 0 {
			b.Errorf("limit violations: %v", v)
		}
		calls := func(m map[string]int) int {
			n := 0
			for _, c := range m {
				n += c
			}
			return n
		}
		b.ReportMetric(lastAlert.Sub(start).Seconds(), "ingest-s")
		if graphs {
			b.ReportMetric((<-graphsDone).Sub(lastAlert).Seconds(), "graphs-s")
		}
		b.ReportMetric(finalAt.Sub(lastAlert).Seconds(), "final-after-last-alert-s")
		for _, p := range platforms {
			b.ReportMetric(p.at.Sub(lastAlert).Seconds(), p.name+"-final-s")
		}
		b.ReportMetric(float64(calls(f.slack.Calls())), "slack-calls")
		b.ReportMetric(float64(calls(f.mm.Calls())), "mattermost-calls")
		b.ReportMetric(float64(calls(f.tg.Calls())), "telegram-calls")
		b.ReportMetric(float64(f.slack.RateLimited()+f.mm.RateLimited()+f.tg.RateLimited()), "429s")
		b.Logf("slack %v; mattermost %v; telegram %v", f.slack.Calls(), f.mm.Calls(), f.tg.Calls())
		stop()
		storetest.DeleteKeys(rdb, prefix)
	}
}
