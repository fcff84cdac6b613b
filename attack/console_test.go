package attack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
)

const consoleSecret = "attack-console-secret-0123456789abcdef"

// TestConsoleStreams holds 200 live console pages (event streams) open
// on one klaxon while 1,000 alerts a second open incidents, and measures
// how long each change takes from the webhook's send to each stream: the
// p50 and p99 over every stream and change, and klaxon's memory. Each
// page must hear of every change (by its ID, or by "*" when too many
// came at once). Figures, not a timed assertion:
//
//	KLAXON_SLOW_TESTS=1 go test -v -run TestConsoleStreams ./attack/
func TestConsoleStreams(t *testing.T) {
	for _, s := range []store{embedded, onRedis} {
		t.Run(string(s), func(t *testing.T) { consoleStreams(t, s) })
	}
}

func consoleStreams(t *testing.T, s store) {
	const (
		streams  = 200
		rate     = 1000
		duration = 10 * time.Second
		senders  = 64
	)
	p := start(t, baseConfig(storeYAML(t, s))+"console: {secret: "+consoleSecret+"}\npeople: [{name: alice}]\n")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	tok, _ := url.Parse(console.SignInLink([]byte(consoleSecret), p.base, "alice", time.Now()))
	res, err := client.PostForm(p.base+"/ui/signin/link", url.Values{"t": {tok.Query().Get("t")}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", err, res)
	}
	res.Body.Close()

	// The pages: each records when it heard of each incident.
	type heard struct {
		mu    sync.Mutex
		ids   map[string]time.Time
		stars []time.Time
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pages := make([]*heard, streams)
	var open sync.WaitGroup
	var streamsDone sync.WaitGroup
	for i := range pages {
		h := &heard{ids: map[string]time.Time{}}
		pages[i] = h
		req, _ := http.NewRequestWithContext(ctx, "GET", p.base+"/ui/events", nil)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream %d: %v %v", i, err, resp)
		}
		open.Add(1)
		streamsDone.Add(1)
		go func() {
			defer streamsDone.Done()
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			first := true
			for sc.Scan() {
				if first {
					open.Done()
					first = false
				}
				id, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok {
					continue
				}
				now := time.Now()
				h.mu.Lock()
				if id == "*" {
					h.stars = append(h.stars, now)
				} else if _, seen := h.ids[id]; !seen {
					h.ids[id] = now
				}
				h.mu.Unlock()
			}
		}()
	}
	open.Wait()

	// The alerts: open loop, one new incident each.
	type sent struct {
		id string
		at time.Time
	}
	var (
		mu    sync.Mutex
		all   []sent
		fails atomic.Int64
	)
	total := int(rate * duration / time.Second)
	due := make(chan int, total)
	began := time.Now()
	go func() {
		for i := range total {
			time.Sleep(time.Until(began.Add(time.Duration(i) * time.Second / rate)))
			due <- i
		}
		close(due)
	}()
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range due {
				body := amBody(fmt.Sprintf("console-load-%d", i), 1)
				at := time.Now()
				req, _ := http.NewRequest("POST", p.base+"/hooks/alertmanager", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+amToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					fails.Add(1)
					continue
				}
				var out struct{ Incident string }
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != 200 || out.Incident == "" {
					fails.Add(1)
					continue
				}
				mu.Lock()
				all = append(all, sent{out.Incident, at})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sending := time.Since(began)
	time.Sleep(3 * time.Second) // the last changes reach the pages
	peakRSS, anon := p.status("VmHWM"), p.peakAnon.Load()
	cancel()
	streamsDone.Wait()

	var lat []time.Duration
	missed := 0
	for _, h := range pages {
		for _, snt := range all {
			got, ok := h.ids[snt.id]
			if i, found := slices.BinarySearchFunc(h.stars, snt.at, func(a, b time.Time) int { return a.Compare(b) }); found || i < len(h.stars) {
				if star := h.stars[i]; !ok || star.Before(got) {
					got, ok = star, true
				}
			}
			if !ok {
				missed++
				continue
			}
			lat = append(lat, got.Sub(snt.at))
		}
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		t.Fatalf("no page heard of any change (%d sent, %d failed)", len(all), fails.Load())
	}
	stars := 0
	for _, h := range pages {
		stars += len(h.stars)
	}
	t.Logf("%s: %d streams, %d incidents opened in %v (%.0f/s, %d failed); change → stream: p50 %v, p99 %v, max %v over %d deliveries (%d by \"*\"); klaxon's memory peaked at %s anonymous, %s RSS",
		s, streams, len(all), sending.Round(time.Millisecond), float64(len(all))/sending.Seconds(), fails.Load(),
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat), stars, mib(anon), mib(peakRSS))
	if missed > 0 {
		t.Errorf("%d (stream, change) pairs never heard of", missed)
	}
}
