package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// TestSilencesRealAlertmanager runs klaxon serve with the three chat
// fakes and Debian's real Alertmanager, which notifies klaxon (through a
// recorder) and takes klaxon's silences: a Slack button silences an
// incident's alerts there, Alertmanager then stops notifying klaxon for
// them (and only them), the card says so, /incident silences lists it, a
// Mattermost Unsilence button expires it and the notifications come back;
// a Telegram button silences again and a command lifts it; with
// Alertmanager down, the person is told so and nothing changes.
func TestSilencesRealAlertmanager(t *testing.T) {
	slowtest.Need(t)
	bin := amBinary(t)
	began := time.Now()

	hooks := &hookRecorder{}
	recorder := httptest.NewServer(hooks)
	t.Cleanup(recorder.Close)
	am, stopAM := startAlertmanager(t, bin, recorder.URL+"/hooks/alertmanager")
	t.Logf("alertmanager ready at %s after %v", am, time.Since(began).Round(time.Millisecond))

	f := startFakes(t)
	unlimitedTelegram(t, f)
	store := fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))
	cfg := strings.Replace(chatConfigYAML(f, store), "sources: {alertmanager: {allow_unauthenticated: true}}",
		fmt.Sprintf("sources: {alertmanager: {allow_unauthenticated: true, api_url: %q}}", am), 1)
	cfg += "api_tokens: [{name: ci, token: " + cliToken + ", as: alice, scope: write}]\n"
	if !strings.Contains(cfg, "api_url") {
		t.Fatalf("no api_url in the config:\n%s", cfg)
	}
	base, logs, stop := startServe(t, writeFile(t, "klaxon.yaml", cfg))
	defer stop()
	hooks.setTarget(base)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("klaxon log:\n%s", logs.String())
		}
	})

	// Two alerts, two groups, two incidents.
	postAMAlerts(t, am,
		map[string]string{"alertname": "Noisy", "instance": "db-1", "service": "db", "severity": "warning"},
		map[string]string{"alertname": "Other", "instance": "db-1", "service": "db", "severity": "warning"})
	waitUntil(t, 20*time.Second, "two cards on each platform", func() bool {
		return len(f.slack.Messages(e2eSlack)) == 2 && len(f.mm.Messages(e2eMM)) == 2 && len(f.tg.Messages(e2eTG)) == 2
	})
	synced(t, base)
	noisy := incidentOf(t, base, "Noisy")
	num := strings.TrimPrefix(noisy, "INC-")
	t.Logf("%v: %s is Noisy's incident", time.Since(began).Round(time.Millisecond), noisy)

	// 1. Slack: the card's Silence 4h button.
	var slackCard string
	for _, m := range f.slack.Messages(e2eSlack) {
		if m.IncidentID == noisy {
			slackCard = string(m.Blocks)
		}
	}
	key := regexp.MustCompile(`k2\.s\.` + num + `\.silence\.4h\.[A-Za-z0-9_-]+`).FindString(slackCard)
	if key == "" {
		t.Fatalf("no Silence 4h button on %s's Slack card: %.2000s", noisy, slackCard)
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]string{"id": "UALICE", "username": "alice"},
		"channel": map[string]string{"id": e2eSlack}, "response_url": f.slack.ResponseURL(),
		"actions": []map[string]string{{"action_id": "klaxon:silence", "value": key}},
	})
	if code, body := slackSigned(t, base+"/slack/interactions", url.Values{"payload": {string(payload)}}, e2eSigning, time.Now()); code != 200 {
		t.Fatalf("Slack click: %d %s", code, body)
	}
	var inc struct {
		Silences []struct{ ID, By string }
	}
	waitUntil(t, 10*time.Second, noisy+" silenced", func() bool {
		json.Unmarshal(apiGet(t, base+"/api/v1/incidents/"+noisy), &inc)
		return len(inc.Silences) == 1
	})
	id := inc.Silences[0].ID
	t.Logf("%v: silence %s made by %s", time.Since(began).Round(time.Millisecond), id, inc.Silences[0].By)

	// It exists in Alertmanager, as klaxon meant it.
	sil := amSilence(t, am, id)
	if sil.Status.State != "active" || sil.CreatedBy != "alice" || !strings.HasPrefix(sil.Comment, noisy+": ") ||
		!strings.HasSuffix(sil.Comment, "["+"klaxon "+noisy+" team=payments]") || !strings.Contains(sil.Comment, "https://klaxon.example.com/") ||
		time.Until(sil.EndsAt) < 3*time.Hour+59*time.Minute || time.Until(sil.EndsAt) > 4*time.Hour {
		t.Fatalf("silence in Alertmanager: %+v", sil)
	}
	matchers := map[string]string{}
	for _, m := range sil.Matchers {
		if m.IsRegex || (m.IsEqual != nil && !*m.IsEqual) {
			t.Fatalf("matcher %+v is not an equality", m)
		}
		matchers[m.Name] = m.Value
	}
	if len(matchers) != 4 || matchers["alertname"] != "Noisy" || matchers["instance"] != "db-1" {
		t.Fatalf("matchers %+v, want Noisy's four labels", sil.Matchers)
	}

	// Alertmanager mutes Noisy, and only Noisy: after it says so and
	// Other has been notified three times more, Noisy has not been once.
	waitUntil(t, 10*time.Second, "Alertmanager to mute Noisy", func() bool { return amSilencedBy(t, am, "Noisy") == id })
	if amSilencedBy(t, am, "Other") != "" {
		t.Fatal("Other is silenced too")
	}
	hooks.waitFor(t, "Other", hooks.count("Other")+1)
	noisyBefore := hooks.count("Noisy")
	hooks.waitFor(t, "Other", hooks.count("Other")+3)
	if n := hooks.count("Noisy"); n != noisyBefore {
		t.Fatalf("klaxon was notified of Noisy %d times while it was silenced", n-noisyBefore)
	}
	t.Logf("%v: Other notified %d times, Noisy muted", time.Since(began).Round(time.Millisecond), hooks.count("Other"))

	// Every card says so; /incident silences lists it.
	short := id[:8] + "…"
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Telegram card: %s\nSlack card: %s\nMattermost card: %s %s", tgCard(t, f, noisy).Text, slackCardOf(t, f, noisy), cardOf(t, f, noisy).Text, cardOf(t, f, noisy).Props)
		}
	})
	waitUntil(t, 10*time.Second, "the cards to say it is silenced", func() bool {
		want := "Silenced for 4h by alice (silence " + short + ")"
		mm := strings.ReplaceAll(cardOf(t, f, noisy).Text+string(cardOf(t, f, noisy).Props), `\`, "") // Markdown escapes
		return strings.Contains(mm, want) &&
			strings.Contains(tgCard(t, f, noisy).Text, want) && strings.Contains(slackCardOf(t, f, noisy), want)
	})
	code, body := slackSigned(t, base+"/slack/commands", url.Values{"text": {"silences"}, "user_id": {"UBOB"}, "channel_id": {e2eSlack},
		"command": {"/incident"}, "response_url": {f.slack.ResponseURL()}}, e2eSigning, time.Now())
	if code != 200 || !strings.Contains(body, "1 silences of klaxon") || !strings.Contains(body, id[:8]) || !strings.Contains(body, noisy) {
		t.Fatalf("/incident silences: %d %s", code, body)
	}

	// 2. Mattermost: the card's Unsilence button expires it.
	f.mm.AddUser(aliceMM, "alice")
	f.mm.AddMember(e2eMM, aliceMM)
	f.mm.SetActionTarget("https://klaxon.example.com", base)
	res, err := f.mm.Click(context.Background(), cardOf(t, f, noisy).Ref, "unsilence", aliceMM)
	if err != nil || res.Status != 200 || !strings.Contains(res.Response.EphemeralText, "expired by alice") {
		t.Fatalf("Mattermost Unsilence: %+v, %v", res, err)
	}
	if s := amSilence(t, am, id); s.Status.State != "expired" {
		t.Fatalf("after Unsilence the silence is %s", s.Status.State)
	}
	hooks.waitFor(t, "Noisy", noisyBefore+1)
	t.Logf("%v: Noisy notified again after Unsilence", time.Since(began).Round(time.Millisecond))
	waitUntil(t, 10*time.Second, "the cards to drop the silence", func() bool {
		return !strings.Contains(tgCard(t, f, noisy).Text, "Silenced") && !strings.Contains(slackCardOf(t, f, noisy), "Silenced")
	})

	// 3. Telegram: the card's Silence 1h button; a Slack command lifts it.
	chat, _ := strconv.ParseInt(e2eTG, 10, 64)
	card := tgCard(t, f, noisy)
	var tgKey string
	for _, row := range card.Keyboard {
		for _, b := range row {
			if b.Text == "Silence 1h" {
				tgKey = b.CallbackData
			}
		}
	}
	if tgKey == "" {
		t.Fatalf("no Silence 1h button on the Telegram card: %+v", card.Keyboard)
	}
	press := f.tg.Press(chat, card.MessageID, telegramfake.User{ID: 111, Username: "alice"}, tgKey)
	if code, body := post(t, base+"/telegram/webhook", "application/json", press, map[string]string{"X-Telegram-Bot-Api-Secret-Token": e2eTGSecret}); code != 200 {
		t.Fatalf("Telegram press: %d %s", code, body)
	}
	waitUntil(t, 10*time.Second, noisy+" silenced from Telegram", func() bool {
		json.Unmarshal(apiGet(t, base+"/api/v1/incidents/"+noisy), &inc)
		return len(inc.Silences) == 1
	})
	id2 := inc.Silences[0].ID
	if s := amSilence(t, am, id2); s.Status.State != "active" || s.CreatedBy != "alice" || time.Until(s.EndsAt) > time.Hour {
		t.Fatalf("Telegram's silence in Alertmanager: %+v", s)
	}
	code, body = slackSigned(t, base+"/slack/commands", url.Values{"text": {"unsilence " + noisy}, "user_id": {"UBOB"}, "channel_id": {e2eSlack},
		"command": {"/incident"}, "response_url": {f.slack.ResponseURL()}}, e2eSigning, time.Now())
	if code != 200 || !strings.Contains(body, "expired by bob") || amSilence(t, am, id2).Status.State != "expired" {
		t.Fatalf("/incident unsilence: %d %s", code, body)
	}

	// The command line, through the API.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"silence", noisy, "2h", "service=db", "--url", base, "--token", cliToken}, &out, &out); err != nil ||
		!strings.Contains(out.String(), "Silenced for 2h by alice (cli)") {
		t.Fatalf("klaxon silence: %v\n%s", err, out.String())
	}
	json.Unmarshal(apiGet(t, base+"/api/v1/incidents/"+noisy), &inc)
	if len(inc.Silences) != 1 || amSilence(t, am, inc.Silences[0].ID).CreatedBy != "alice (cli)" {
		t.Fatalf("the CLI's silence: %+v", inc.Silences)
	}
	out.Reset()
	if err := run(context.Background(), []string{"silences", "payments", "--url", base, "--token", cliToken}, &out, &out); err != nil ||
		!strings.Contains(out.String(), inc.Silences[0].ID+"  "+noisy+"  payments  until ") || !strings.Contains(out.String(), `service="db"`) {
		t.Fatalf("klaxon silences: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"unsilence", noisy, inc.Silences[0].ID[:8], "--url", base, "--token", cliToken}, &out, &out); err != nil ||
		!strings.Contains(out.String(), "expired by alice (cli)") || amSilence(t, am, inc.Silences[0].ID).Status.State != "expired" {
		t.Fatalf("klaxon unsilence: %v\n%s", err, out.String())
	}

	// 4. Alertmanager down: the person is told, nothing changes.
	stopAM()
	before := apiGet(t, base+"/api/v1/incidents/"+noisy)
	code, body = slackSigned(t, base+"/slack/commands", url.Values{"text": {"silence " + noisy + " 1h"}, "user_id": {"UBOB"}, "channel_id": {e2eSlack},
		"command": {"/incident"}, "response_url": {f.slack.ResponseURL()}}, e2eSigning, time.Now())
	if code != 200 || !strings.Contains(body, "is unreachable") || !strings.Contains(body, "nothing changed") {
		t.Fatalf("silence with Alertmanager down: %d %s", code, body)
	}
	if after := apiGet(t, base+"/api/v1/incidents/"+noisy); !bytes.Equal(before, after) {
		t.Fatalf("a failed silence changed %s", noisy)
	}
	if v := f.violations(); len(v) > 0 {
		t.Errorf("limit violations: %v", v)
	}
	t.Logf("done in %v; Alertmanager down: %s", time.Since(began).Round(time.Millisecond), body)
}

const cliToken = "cli-token-silences-0123456789"

// apiGet reads klaxon's API with the CLI's token.
func apiGet(t *testing.T, u string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+cliToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// incidentOf is the ID of the incident whose alert is alertname.
func incidentOf(t *testing.T, base, alertname string) string {
	t.Helper()
	var list struct{ Incidents []struct{ ID string } }
	json.Unmarshal(apiGet(t, base+"/api/v1/incidents"), &list)
	for _, sum := range list.Incidents {
		var inc struct {
			Alerts []struct{ Labels map[string]string }
		}
		json.Unmarshal(apiGet(t, base+"/api/v1/incidents/"+sum.ID), &inc)
		if len(inc.Alerts) > 0 && inc.Alerts[0].Labels["alertname"] == alertname {
			return sum.ID
		}
	}
	t.Fatalf("no incident of %s", alertname)
	return ""
}

func tgCard(t *testing.T, f *fakes, id string) telegramfake.Message {
	t.Helper()
	for _, m := range f.tg.Messages(e2eTG) {
		if strings.Contains(m.Text, id) {
			return m
		}
	}
	t.Fatalf("no Telegram card of %s", id)
	return telegramfake.Message{}
}

func slackCardOf(t *testing.T, f *fakes, id string) string {
	t.Helper()
	for _, m := range f.slack.Messages(e2eSlack) {
		if m.IncidentID == id {
			return m.Text + string(m.Blocks)
		}
	}
	t.Fatalf("no Slack card of %s", id)
	return ""
}

// amBinary finds Alertmanager: a skip without it, a failure when CI=true.
func amBinary(t *testing.T) string {
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "neither prometheus-alertmanager nor alertmanager is on PATH; install package prometheus-alertmanager"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startAlertmanager runs Alertmanager on a free loopback port, notifying
// hookURL of each alertname group quickly and again every 600ms, and
// returns its URL and a stop function (also run at cleanup).
func startAlertmanager(t *testing.T, bin, hookURL string) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(conf, []byte(fmt.Sprintf(`route:
  receiver: klaxon
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  repeat_interval: 600ms
receivers:
  - name: klaxon
    webhook_configs:
      - url: %q
        send_resolved: false
`, hookURL)), 0o600)
	for attempt := 1; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		out := &syncBuffer{}
		cmd := exec.Command(bin, "--config.file="+conf, "--storage.path="+filepath.Join(dir, "data"+strconv.Itoa(attempt)),
			"--web.listen-address="+addr, "--web.external-url=http://"+addr, "--cluster.listen-address=")
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		var once sync.Once
		stop := func() { once.Do(func() { cmd.Process.Kill(); <-exited }) }
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("alertmanager output:\n%s", out.String())
			}
		})
		deadline := time.Now().Add(15 * time.Second)
		for {
			if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return "http://" + addr, stop
				}
			}
			select {
			case <-exited:
			case <-time.After(50 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				t.Fatalf("alertmanager not ready:\n%s", out.String())
			}
			break
		}
		if attempt == 3 || !strings.Contains(out.String(), "address already in use") {
			t.Fatalf("alertmanager exited:\n%s", out.String())
		}
	}
}

func postAMAlerts(t *testing.T, am string, labels ...map[string]string) {
	t.Helper()
	var alerts []map[string]any
	for _, l := range labels {
		alerts = append(alerts, map[string]any{"labels": l, "annotations": map[string]string{"summary": l["alertname"] + " on " + l["instance"]}})
	}
	body, _ := json.Marshal(alerts)
	if code, resp := post(t, am+"/api/v2/alerts", "application/json", body, nil); code != 200 {
		t.Fatalf("POST /api/v2/alerts: %d %s", code, resp)
	}
}

type amSilenceJSON struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	Matchers []struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		IsEqual *bool  `json:"isEqual"`
	} `json:"matchers"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

func amSilence(t *testing.T, am, id string) amSilenceJSON {
	t.Helper()
	var s amSilenceJSON
	if err := json.Unmarshal(getBody(t, am+"/api/v2/silence/"+id), &s); err != nil || s.ID != id {
		t.Fatalf("GET silence %s: %+v, %v", id, s, err)
	}
	return s
}

// amSilencedBy is the silence Alertmanager says mutes alertname, or "".
func amSilencedBy(t *testing.T, am, alertname string) string {
	t.Helper()
	var alerts []struct {
		Status struct {
			SilencedBy []string `json:"silencedBy"`
		} `json:"status"`
	}
	json.Unmarshal(getBody(t, am+"/api/v2/alerts?filter="+url.QueryEscape(`alertname="`+alertname+`"`)), &alerts)
	if len(alerts) == 1 && len(alerts[0].Status.SilencedBy) > 0 {
		return alerts[0].Status.SilencedBy[0]
	}
	return ""
}

// hookRecorder forwards Alertmanager's notifications to klaxon (once its
// address is known) and counts them by alertname.
type hookRecorder struct {
	mu     sync.Mutex
	target string
	counts map[string]int
}

func (h *hookRecorder) setTarget(base string) {
	h.mu.Lock()
	h.target = base
	h.mu.Unlock()
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var msg struct {
		GroupLabels map[string]string `json:"groupLabels"`
	}
	json.Unmarshal(body, &msg)
	h.mu.Lock()
	target := h.target
	if target != "" {
		if h.counts == nil {
			h.counts = map[string]int{}
		}
		h.counts[msg.GroupLabels["alertname"]]++
	}
	h.mu.Unlock()
	if target == "" {
		http.Error(w, "klaxon is not up yet", http.StatusServiceUnavailable)
		return
	}
	resp, err := http.Post(target+r.URL.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (h *hookRecorder) count(alertname string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[alertname]
}

func (h *hookRecorder) waitFor(t *testing.T, alertname string, n int) {
	t.Helper()
	waitUntil(t, 15*time.Second, fmt.Sprintf("%d notifications of %s", n, alertname), func() bool { return h.count(alertname) >= n })
}
