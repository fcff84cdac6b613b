package attack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents/storetest"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// memLimit is the GOMEMLIMIT klaxon runs under, as deploy/kubernetes sets
// it; budget is the RSS it must stay under whatever the attack.
const (
	memLimit = "256MiB"
	budget   = 256 << 20
)

// Tokens of the configs below (long enough for klaxon's secret rules).
const (
	amToken   = "attack-am-token-0123456789abcdef"
	apiToken  = "attack-api-token-0123456789abcdef"
	hmacKey   = "attack-hmac-secret-0123456789abcd"
	hookToken = "attack-hook-token-0123456789abcde"
)

var klaxonBin string

func TestMain(m *testing.M) {
	if !slowtest.Enabled() {
		os.Exit(m.Run()) // every test skips, saying how to run it
	}
	dir, err := os.MkdirTemp("", "klaxon-attack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
	klaxonBin = filepath.Join(dir, "klaxon")
	// serve keeps its local token in the config directory: the suite's
	// own, never the user's.
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	build := exec.Command("go", "build", "-o", klaxonBin, "github.com/klaxonbot/klaxon/cmd/klaxon")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "attack: building klaxon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a log that goroutines write and tests read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a klaxon serve process under attack.
type proc struct {
	// peakAnon is the most anonymous memory (RssAnon: the heap, stacks;
	// not the store's file pages, which the kernel can drop) klaxon held,
	// sampled every 10 ms.
	peakAnon atomic.Int64
	t        *testing.T
	dir      string
	cfg      string
	env      []string
	cmd      *exec.Cmd
	base     string
	logs     *syncBuffer
	done     chan struct{}
}

var listenRE = regexp.MustCompile(`msg="klaxon listening" addr=(\S+)`)

// store is the config's store section: the embedded store in a fresh
// directory, or Redis under a key prefix of its own.
type store string

const (
	embedded store = "embedded"
	onRedis  store = "redis"
)

func storeYAML(t *testing.T, s store) string {
	if s == onRedis {
		rdb := storetest.Redis(t)
		prefix := storetest.Prefix("attack")
		t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
		return fmt.Sprintf("store: {redis: {url: %q, key_prefix: %s}}\n", storetest.RedisURL(), prefix)
	}
	return fmt.Sprintf("store: {data_dir: %q}\n", filepath.Join(t.TempDir(), "data"))
}

// start runs klaxon serve with cfg (YAML; listen is added) under
// GOMEMLIMIT and returns it once it listens.
func start(t *testing.T, cfg string, env ...string) *proc {
	t.Helper()
	slowtest.Need(t)
	p := &proc{t: t, dir: t.TempDir(), env: env}
	p.cfg = filepath.Join(p.dir, "klaxon.yaml")
	if !strings.Contains(cfg, "listen:") {
		cfg = "server: {listen: \"127.0.0.1:0\"}\n" + cfg
	}
	if err := os.WriteFile(p.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.run()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) run() {
	p.t.Helper()
	p.logs = &syncBuffer{}
	p.cmd = exec.Command(klaxonBin, "serve", "-c", p.cfg)
	p.cmd.Env = append(append(os.Environ(), "GOMEMLIMIT="+memLimit), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	p.done = done
	go func() { p.cmd.Wait(); close(done) }()
	go func(pid int) {
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if v, ok := readStatus(pid, "RssAnon"); ok && v > p.peakAnon.Load() {
				p.peakAnon.Store(v)
			}
		}
	}(p.cmd.Process.Pid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(p.logs.String()); m != nil {
			p.base = "http://" + m[1]
			return
		}
		select {
		case <-p.done:
			p.t.Fatalf("klaxon exited early:\n%s", p.logs)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("klaxon did not start:\n%s", p.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill9 kills klaxon without a chance to clean up; restart runs it again
// on the same config and store.
func (p *proc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) restart() { p.run() }

func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	t0 := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	if d := time.Since(t0); d > 5*time.Second {
		p.t.Logf("klaxon took %s to stop", d.Round(time.Millisecond))
	}
}

// readStatus reads a field of /proc/<pid>/status in bytes (the kernel
// gives kB).
func readStatus(pid int, field string) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

func (p *proc) status(field string) int64 {
	v, ok := readStatus(p.cmd.Process.Pid, field)
	if !ok {
		p.t.Fatalf("cannot read %s of klaxon's /proc/<pid>/status", field)
	}
	return v
}

// checkMemory fails when the memory klaxon held passed the budget, and
// logs it: the peak of its anonymous RSS (what it cannot give back: the
// heap), and its whole RSS at its peak, which also counts the pages of
// the embedded store's file that the kernel keeps mapped.
func (p *proc) checkMemory(what string) {
	p.t.Helper()
	peak, now, anon := p.status("VmHWM"), p.status("VmRSS"), p.peakAnon.Load()
	p.t.Logf("%s: klaxon's memory peaked at %s anonymous (%s RSS with the store's file pages; now %s); budget %s", what, mib(anon), mib(peak), mib(now), mib(budget))
	if anon >= budget {
		p.t.Errorf("%s: klaxon's anonymous memory peaked at %s, past the budget of %s under GOMEMLIMIT=%s", what, mib(anon), mib(budget), memLimit)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// metric returns the sum of a metric's samples whose labels contain all
// of the given label pairs ("reason=\"x\"").
func (p *proc) metric(name string, labels ...string) float64 {
	p.t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += f
		}
	}
	return sum
}

// client is for the attackers' and the probes' requests: no pooling limit
// of its own gets in the way.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func post(url string, body []byte, hdr ...string) (int, string, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}

func get(t *testing.T, url string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// amBody is an Alertmanager webhook of one group, titled group, with n
// firing alerts whose fingerprints are unique to the group; as compact as
// Alertmanager allows (55,000 alerts fit in the default 4 MiB).
func amBody(group string, n int) []byte {
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

func amAuth() []string { return []string{"Authorization", "Bearer " + amToken} }

// probe sends an authenticated Alertmanager webhook every interval, as a
// real Alertmanager would during an attack, and records every answer.
type probe struct {
	mu    sync.Mutex
	lat   []time.Duration
	codes map[int]int
	errs  []string
	stop  context.CancelFunc
	done  chan struct{}
}

func startProbe(base string, every time.Duration) *probe {
	ctx, cancel := context.WithCancel(context.Background())
	pr := &probe{codes: map[int]int{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		var wg sync.WaitGroup
		for i := 0; ; i++ {
			if i > 0 {
				select {
				case <-ctx.Done():
					wg.Wait()
					return
				case <-tick.C:
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				code, body, err := post(base+"/hooks/alertmanager", amBody(fmt.Sprintf("probe-%d", i), 1), amAuth()...)
				d := time.Since(t0)
				pr.mu.Lock()
				defer pr.mu.Unlock()
				pr.lat = append(pr.lat, d)
				if err != nil {
					pr.errs = append(pr.errs, err.Error())
					return
				}
				pr.codes[code]++
				if code != 200 && len(pr.errs) < 5 {
					pr.errs = append(pr.errs, fmt.Sprintf("%d %s", code, body))
				}
			}()
		}
	}()
	return pr
}

// finish stops the probe and checks that every authenticated webhook was
// answered 200 and none waited past slow; it logs p50, p99 and max.
func (pr *probe) finish(t *testing.T, what string, slow time.Duration) {
	t.Helper()
	pr.stop()
	<-pr.done
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.lat) == 0 {
		t.Fatalf("%s: the probe sent nothing", what)
	}
	s := slices.Clone(pr.lat)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	t.Logf("%s: %d authenticated webhooks during the attack: %v; p50 %s, p99 %s, max %s",
		what, len(s), pr.codes, q(.5).Round(time.Microsecond), q(.99).Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
	if pr.codes[200] != len(s) {
		t.Errorf("%s: authenticated webhooks not all answered 200: %v %q", what, pr.codes, pr.errs)
	}
	if s[len(s)-1] > slow {
		t.Errorf("%s: an authenticated webhook waited %s (over %s) while klaxon was attacked", what, s[len(s)-1], slow)
	}
}

// incidentTitles lists every incident's title through the API.
func incidentTitles(t *testing.T, base string) map[string]int {
	t.Helper()
	titles := map[string]int{}
	before := ""
	for {
		url := base + "/api/v1/incidents?limit=1000"
		if before != "" {
			url += "&before=" + before
		}
		code, body := get(t, url, "Authorization", "Bearer "+apiToken)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", url, code, body)
		}
		var page struct {
			Incidents []struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"incidents"`
			Next string `json:"next_before"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, inc := range page.Incidents {
			titles[inc.Title]++
		}
		if page.Next == "" {
			return titles
		}
		before = page.Next
	}
}

// hmacHeaders signs body as the generic webhook below expects:
// hex(HMAC-SHA256(secret, ts + "." + body)).
func hmacHeaders(secret string, body []byte, ts time.Time) []string {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stamp + "." + string(body)))
	return []string{"X-Signature", "sha256=" + hex.EncodeToString(mac.Sum(nil)), "X-Timestamp", stamp}
}

// baseConfig has an authenticated Alertmanager hook, an API token, a
// signed generic webhook and Grafana signed as Grafana does.
func baseConfig(s string) string {
	return s + `
server:
  listen: "127.0.0.1:0"
  api_token: ` + apiToken + `
sources:
  alertmanager: {token: ` + amToken + `}
  grafana:
    hmac: {secret: ` + hmacKey + `, header: X-Grafana-Alerting-Signature, timestamp_header: X-Grafana-Alerting-Timestamp}
  webhook:
    - name: signed
      hmac: {secret: ` + hmacKey + `, header: X-Signature, prefix: "sha256=", timestamp_header: X-Timestamp, signed: "{timestamp}.{body}"}
      fields: {title: '{{ .title }}', fingerprint: '{{ .id }}'}
    - name: tokened
      token: ` + hookToken + `
      fields: {title: '{{ .title }}', fingerprint: '{{ .id }}'}
`
}
