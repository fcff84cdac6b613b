package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents/storetest"
)

// BenchmarkAPIAck measures the write API under load, as issue 14 asks:
// klaxon on Redis and on the embedded store under a background load of
// 1,000 alerts/s (each a new incident), the time from an authenticated
// POST /api/v1/incidents/{id}/ack (and its unack) to klaxon's answer.
//
//	go test -run '^$' -bench APIAck -benchtime 1x ./cmd/klaxon
func BenchmarkAPIAck(b *testing.B) {
	const token = "bench-api-token-0123456789abcdef"
	for _, st := range []string{"redis", "embedded"} {
		b.Run(st, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				store := fmt.Sprintf("store: {data_dir: %q}", b.TempDir())
				if st == "redis" {
					rdb := storetest.Redis(b)
					prefix := storetest.Prefix("bench-api")
					b.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
					store = fmt.Sprintf("store: {redis: {url: %q, key_prefix: %q}}", storetest.RedisURL(), prefix)
				}
				cfg := fmt.Sprintf("server: {listen: \"127.0.0.1:0\", max_webhooks: 512}\n%s\npeople: [{name: alice}]\napi_tokens: [{name: bench, token: %s, as: alice, scope: write}]\n", store, token)
				base, _, stop := startServe(b, writeFile(b, "klaxon.yaml", cfg))
				if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				sent := background(ctx, base, 1000)
				time.Sleep(2 * time.Second) // let the load settle
				b.StartTimer()
				start := time.Now()
				var lat []time.Duration
				for i := range 1000 {
					action := "ack"
					if i%2 == 1 {
						action = "unack"
					}
					req, _ := http.NewRequest("POST", base+"/api/v1/incidents/INC-1/"+action, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					t0 := time.Now()
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
					lat = append(lat, time.Since(t0))
					if resp.StatusCode != 200 {
						b.Fatalf("%s: %d", action, resp.StatusCode)
					}
					time.Sleep(5 * time.Millisecond)
				}
				b.StopTimer()
				elapsed := time.Since(start)
				cancel()
				background := float64(sent()) / (elapsed + 2*time.Second).Seconds()
				if err := stop(); err != nil && !strings.Contains(err.Error(), "closed") {
					b.Log(err)
				}
				b.ReportMetric(float64(pct(lat, .5).Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(pct(lat, .99).Microseconds())/1000, "p99-ms")
				b.ReportMetric(background, "bg-alerts/s")
			}
		})
	}
}
