package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

const webhookTestdata = "../../adapters/webhook/testdata/"

// readmeWebhookBlocks returns the YAML blocks of the README's section on
// generic webhooks.
func readmeWebhookBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "## Wiring any other monitor")
	end := strings.Index(s, "## Cards in chat")
	if start < 0 || end < start {
		t.Fatal("README lacks the generic webhook section")
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)\n( *)```yaml\n(.*?)\n *```").FindAllStringSubmatch(s[start:end], -1) {
		indent := m[1]
		lines := strings.Split(m[2], "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, indent)
		}
		blocks = append(blocks, strings.Join(lines, "\n")+"\n")
	}
	return blocks
}

// Every mapping the README shows loads, compiles, and maps the bodies its
// monitor really sends as the README says.
func TestREADMEWebhookMappings(t *testing.T) {
	env := func(string) (string, bool) { return "a-long-enough-test-secret-0123", true }
	parsers := map[string]bot.Parser{}
	blocks := readmeWebhookBlocks(t)
	for i, block := range blocks {
		text := block
		if strings.HasPrefix(block, "hmac:") { // an auth example: try it on Grafana's hook
			text = "sources:\n  grafana:\n" + indent(block, "    ")
		}
		if !strings.HasPrefix(text, "sources:") {
			t.Fatalf("README webhook block %d is not a sources block:\n%s", i, block)
		}
		text = fmt.Sprintf("store: {data_dir: %q}\n", t.TempDir()) + text
		cfg, err := bot.LoadConfig(writeFile(t, "klaxon.yaml", text), env)
		if err != nil {
			t.Fatalf("README block %d does not load: %v\n%s", i, err, block)
		}
		ps, err := newSources(cfg)
		if err != nil {
			t.Fatalf("README block %d does not compile: %v\n%s", i, err, block)
		}
		for _, w := range cfg.Sources.Webhook {
			parsers[w.Name] = ps[bot.WebhookSourcePrefix+w.Name]
		}
	}
	cases := []struct {
		hook, body string
		status     incidents.AlertStatus // "" = ignored
		check      func(b *incidents.Batch) bool
	}{
		{"uptime-kuma", "kuma-down.json", incidents.AlertFiring, func(b *incidents.Batch) bool {
			a := b.Alerts[0]
			return b.Title == "Uptime Kuma: Shop checkout" && a.Fingerprint == "kuma-29" && a.Labels["team"] == "web" &&
				a.Labels["severity"] == "critical" && a.GeneratorURL == "https://shop.example.com/checkout" &&
				a.Annotations["summary"] == "getaddrinfo ENOTFOUND shop.example.com"
		}},
		{"uptime-kuma", "kuma-up.json", incidents.AlertResolved, func(b *incidents.Batch) bool { return b.Alerts[0].Fingerprint == "kuma-29" }},
		{"uptime-kuma", "kuma-test.json", incidents.AlertFiring, func(b *incidents.Batch) bool {
			a := b.Alerts[0]
			return b.Title == "Uptime Kuma: Uptime Kuma Testing" && a.Annotations["summary"] == "Uptime Kuma Testing" &&
				a.Fingerprint == "kuma-Uptime Kuma Testing" && a.Labels["severity"] == "info"
		}},
		{"uptime-kuma", "kuma-maintenance.json", "", nil},
		{"zabbix", "zabbix-problem.json", incidents.AlertFiring, func(b *incidents.Batch) bool {
			a := b.Alerts[0]
			return b.Title == "db-3: MySQL: Replication lag is too high (over 300s)" && b.GroupKey == "db-3" && a.Fingerprint == "8842103" &&
				a.Labels["severity"] == "high" && a.Labels["instance"] == "db-3" && a.Annotations["value"] == "Lag: 412s" &&
				strings.HasPrefix(b.ExternalURL, "https://zabbix.example.com/tr_events.php") && strings.Contains(a.Annotations["description"], "412s")
		}},
		{"zabbix", "zabbix-recovery.json", incidents.AlertResolved, func(b *incidents.Batch) bool { return b.Alerts[0].Fingerprint == "8842103" }},
		{"zabbix", "zabbix-update.json", "", nil},
		{"cron", "cron-failed.json", incidents.AlertFiring, func(b *incidents.Batch) bool {
			a := b.Alerts[0]
			return b.Title == "Cron job nightly-backup failed on backup-1" && a.Fingerprint == "nightly-backup@backup-1" &&
				a.Annotations["summary"] == "exit status 2" && a.Labels["severity"] == "warning"
		}},
		{"cron", "cron-ok.json", incidents.AlertResolved, func(b *incidents.Batch) bool { return b.Alerts[0].Fingerprint == "nightly-backup@backup-1" }},
		{"cloudwatch", "sns-alarm.json", incidents.AlertFiring, func(b *incidents.Batch) bool {
			a := b.Alerts[0]
			return b.Title == "api-5xx-rate" && a.Fingerprint == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx-rate" &&
				a.Labels["region"] == "EU (Ireland)" && strings.HasPrefix(a.Annotations["summary"], "Threshold Crossed") && b.ExternalURL == "" &&
				a.Labels["severity"] == "high" && a.Annotations[incidents.AnnotationParseWarnings] == ""
		}},
		{"cloudwatch", "sns-ok.json", incidents.AlertResolved, func(b *incidents.Batch) bool {
			return b.Alerts[0].Fingerprint == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx-rate"
		}},
		{"cloudwatch", "sns-confirm.json", incidents.AlertFiring, func(b *incidents.Batch) bool {
			a := b.Alerts[0]
			return b.Title == "SNS SubscriptionConfirmation: arn:aws:sns:eu-west-1:123456789012:klaxon" && strings.Contains(b.ExternalURL, "Action=ConfirmSubscription") &&
				a.Labels["severity"] == "info" && a.Fingerprint == "165545c9-2a5c-472c-8df2-7ff2be2b3b1b" && strings.HasPrefix(a.Annotations["summary"], "You have chosen")
		}},
	}
	for _, c := range cases {
		parse := parsers[c.hook]
		if parse == nil {
			t.Fatalf("the README has no mapping named %q (it has %d blocks)", c.hook, len(blocks))
		}
		body, err := os.ReadFile(webhookTestdata + c.body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := parse(body)
		switch {
		case err != nil:
			t.Errorf("%s %s: %v", c.hook, c.body, err)
		case c.status == "" && b != nil:
			t.Errorf("%s %s: want ignored, got %+v", c.hook, c.body, b)
		case c.status == "":
		case b == nil:
			t.Errorf("%s %s: ignored, want %s", c.hook, c.body, c.status)
		case b.Alerts[0].Status != c.status || !c.check(b):
			t.Errorf("%s %s: status %s (want %s), batch %+v, alert %+v", c.hook, c.body, b.Alerts[0].Status, c.status, b, b.Alerts[0])
		}
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// A curl to a generic hook makes a card, and its resolution updates it.
func TestGenericWebhookMakesACard(t *testing.T) {
	f := startFakes(t)
	cfg := f.configOwnSources(fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))) + `
sources:
  webhook:
    - name: cron
      token: cron-token-0123456789abcdef
      fields:
        title: 'Cron job {{ .job }} failed on {{ .host }}'
        status: '{{ if eq .exit 0 }}resolved{{ else }}firing{{ end }}'
        fingerprint: '{{ .job }}@{{ .host }}'
        severity: warning
        summary: 'exit status {{ .exit }}'
`
	base, logs, stop := startServe(t, writeFile(t, "klaxon.yaml", cfg))
	defer stop()
	// The hooks are logged just after "klaxon listening".
	waitUntil(t, 5*time.Second, "the log to say where the hook is", func() bool { return strings.Contains(logs.String(), "/hooks/webhook/cron") })
	auth := map[string]string{"Authorization": "Bearer cron-token-0123456789abcdef"}
	failed := []byte(`{"job":"nightly-backup","exit":2,"host":"backup-1"}`)
	if code, _ := post(t, base+"/hooks/webhook/cron", "application/x-www-form-urlencoded", failed, nil); code != 401 {
		t.Fatalf("without the token: %d", code)
	}
	if code, out := post(t, base+"/hooks/webhook/cron", "application/x-www-form-urlencoded", []byte(`{"job":`), auth); code != 400 || !strings.Contains(out, "malformed JSON") {
		t.Fatalf("bad JSON: %d %s", code, out)
	}
	if code, out := post(t, base+"/hooks/webhook/cron", "application/x-www-form-urlencoded", failed, auth); code != 200 || !strings.Contains(out, `"created":true`) {
		t.Fatalf("curl: %d %s", code, out)
	}
	waitUntil(t, 10*time.Second, "the Slack card", func() bool { return len(f.slack.Messages(e2eSlack)) == 1 })
	if card := string(f.slack.Messages(e2eSlack)[0].Blocks); !strings.Contains(card, "Cron job nightly-backup failed on backup-1") {
		t.Fatalf("card: %.600s", card)
	}
	ok := []byte(`{"job":"nightly-backup","exit":0,"host":"backup-1"}`)
	if code, out := post(t, base+"/hooks/webhook/cron", "application/json", ok, auth); code != 200 || !strings.Contains(out, `"state":"resolved"`) {
		t.Fatalf("resolve: %d %s", code, out)
	}
	waitUntil(t, 10*time.Second, "the card resolved in place", func() bool {
		m := f.slack.Messages(e2eSlack)
		return len(m) == 1 && strings.Contains(strings.ToLower(string(m[0].Blocks)), "resolved")
	})
	if v := f.violations(); len(v) > 0 {
		t.Fatalf("platform limits violated: %v", v)
	}
}

// A broken mapping fails check-config and serve, naming its path and line.
func TestWebhookMappingErrors(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`store: {data_dir: %q}
sources:
  webhook:
    - name: ok
      fields: {title: x}
    - name: broken
      fields:
        title: '{{ lowr .job }}'
        status: '{{ range .x }}{{ end }}'
        links: {wiki: 'https://wiki'}
    - name: Bad/Name
      fields: {title: x}
`, t.TempDir()))
	var out bytes.Buffer
	err := run(context.Background(), []string{"check-config", "-c", cfg}, &out, &bytes.Buffer{})
	if err == nil {
		t.Fatalf("check-config accepted a broken mapping:\n%s", out.String())
	}
	for _, want := range []string{
		`sources.webhook[1].fields.title (line 8): at 1: function "lowr" not defined`,
		`sources.webhook[1].fields.status (line 9): range is not allowed`,
		`sources.webhook[1].fields.links.wiki (line 10): unknown link kind`,
		`sources.webhook[2].name (line 11): name "Bad/Name"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out.String())
		}
	}
	err = run(context.Background(), []string{"serve", "-c", cfg}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "fields.title") {
		t.Fatalf("serve with a broken mapping: %v", err)
	}
}

// exampleEnv are realistic values for every variable the example config
// reads its secrets from (none of them a real credential).
var exampleEnv = map[string]string{
	"AM_TOKEN":                "q7Vt2mXc9LrB4sWn8KpZ3yHd",
	"GRAFANA_TOKEN":           "G6fT1wQe8RzN3vXb5MkP0sLa",
	"KUMA_TOKEN":              "k3YpR8vW2nQz6TmX1bLc9HsD",
	"HOOK_HMAC_SECRET":        "5d0b6f2e9a41c7e38b1f6a0d2c9e7b43",
	"KLAXON_CI_TOKEN":         "ci_Wm4Rz8Tq2Xv6Nb1Lk9Pd3Hs7",
	"TWILIO_ACCOUNT_SID":      "AC3f9a1c2e4b6d8f0a1c3e5b7d9f1a2c4e",
	"TWILIO_AUTH_TOKEN":       "9b2e7f4a1c8d3e6b0a5f2c9d7e4b1a38",
	"SLACK_BOT_TOKEN":         "xoxb-2718281828-3141592653589-Zk8q3VbN7yXw2LpR5tMa9HcD",
	"SLACK_SIGNING_SECRET":    "3c5f1e9a7b2d4f6081a3c5e7f9b1d3e5",
	"MM_BOT_TOKEN":            "ghc4x7k8qbfzjpe3nw1y5rmt9a",
	"MM_COMMAND_TOKEN":        "6kbnx4jcybgbmf3xg1hkrdgo1w",
	"TELEGRAM_BOT_TOKEN":      "7123456789:AAH3k9QwErTyUiOpAsDfGhJkLzXcVbNm-1Q",
	"TELEGRAM_WEBHOOK_SECRET": "tg_9fK2xQ7mZ4vR1bW8nL3c",
	"BACKUP_HEARTBEAT_TOKEN":  "hb_Rk2Vn8Xq4Tz7Mw1Pb5Ld9Hc",
	"WATCHDOG_TOKEN":          "wd_Ny6Qs3Jv8Kx1Zr5Tm2Bf7Lp",
}

// The example config's webhook mappings compile, and its Uptime Kuma one
// maps a real body.
func TestExampleConfigWebhooks(t *testing.T) {
	cfg, err := bot.LoadConfig("../../deploy/klaxon.example.yaml", func(k string) (string, bool) { v, ok := exampleEnv[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	ps, err := newSources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources.Webhook) != 2 || ps["webhook/uptime-kuma"] == nil || ps["webhook/signed-example"] == nil {
		t.Fatalf("webhooks %+v, parsers %v", cfg.Sources.Webhook, ps)
	}
	body, err := os.ReadFile(webhookTestdata + "kuma-down.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ps["webhook/uptime-kuma"](body)
	if err != nil || b.Alerts[0].Annotations["runbook_url"] != "https://runbooks.example.com/uptime/29" || b.Alerts[0].Labels["team"] != "payments" {
		t.Fatalf("batch %+v, err %v", b, err)
	}
}

// Grafana's HMAC signature (contact point → HMAC signature, with a
// timestamp header) is checked as Grafana computes it: hex of
// HMAC-SHA256(secret, timestamp + ":" + body).
func TestGrafanaHMACSignature(t *testing.T) {
	const secret = "grafana-hmac-secret-0123456789"
	cfg := fmt.Sprintf(`server: {listen: "127.0.0.1:0", shutdown_timeout: 5s}
store: {data_dir: %q}
sources:
  grafana:
    hmac: {secret: %s, header: X-Grafana-Alerting-Signature, timestamp_header: X-Grafana-Alerting-Timestamp}
`, t.TempDir(), secret)
	base, _, stop := startServe(t, writeFile(t, "klaxon.yaml", cfg))
	defer stop()
	body, err := os.ReadFile("../../adapters/grafana/testdata/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + ":"))
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	hdr := map[string]string{"X-Grafana-Alerting-Signature": sig, "X-Grafana-Alerting-Timestamp": ts}
	if code, out := post(t, base+"/hooks/grafana", "application/json", body, map[string]string{"X-Grafana-Alerting-Signature": sig}); code != 401 || !strings.Contains(out, "timestamp header") {
		t.Fatalf("without the timestamp: %d %s", code, out)
	}
	if code, out := post(t, base+"/hooks/grafana", "application/json", append(body, ' '), hdr); code != 401 || !strings.Contains(out, "does not match") {
		t.Fatalf("body changed: %d %s", code, out)
	}
	if code, out := post(t, base+"/hooks/grafana", "application/json", body, hdr); code != 200 || !strings.Contains(out, `"created":true`) {
		t.Fatalf("signed: %d %s", code, out)
	}
	if code, out := post(t, base+"/hooks/grafana", "application/json", body, hdr); code != 200 || !strings.Contains(out, `"duplicate"`) {
		t.Fatalf("the same request again: %d %s", code, out)
	}
}

// try-webhook shows what a mapping makes of a body, or the 400 it would
// answer, and stores nothing.
func TestTryWebhook(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`store: {data_dir: %q}
sources:
  webhook:
    - name: kuma
      fields:
        title: 'Uptime Kuma: {{ or .monitor.name .msg }}'
        status: '{{ .heartbeat.status }}'
        firing: ["0", ""]
        resolved: ["1"]
        ignore: ["2", "3"]
        fingerprint: 'kuma-{{ or .monitor.id .msg }}'
        severity: '{{ if .heartbeat }}critical{{ else }}info{{ end }}'
        starts_at: '{{ .heartbeat.time }}'
        links: {graph: '{{ .monitor.url }}'}
`, filepath.Join(dir, "data")))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"try-webhook", "kuma", webhookTestdata + "kuma-down.json", "-c", cfg}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"status": "firing"`, `"title": "Uptime Kuma: Shop checkout"`, `"fingerprint": "kuma-29"`,
		`"severity": "SEV1"`, `"graph_url": "https://shop.example.com/checkout"`, `"warnings": "fields.starts_at gave \"2026-03-01 11:58:30.527\"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"try-webhook", "-c", cfg, "kuma", webhookTestdata + "kuma-maintenance.json"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), `"status": "ignored"`) {
		t.Fatalf("maintenance: %v %s", err, out.String())
	}
	bad := writeFile(t, "bad.json", `{"heartbeat":{"status":7}}`)
	err := run(context.Background(), []string{"try-webhook", "kuma", bad, "-c", cfg}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `klaxon would answer 400: fields.status gave "7"`) {
		t.Fatalf("bad status: %v", err)
	}
	err = run(context.Background(), []string{"try-webhook", "nope", bad, "-c", cfg}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `no sources.webhook named "nope" (it has: kuma)`) {
		t.Fatalf("unknown hook: %v", err)
	}
	var u usageError
	if err := run(context.Background(), []string{"try-webhook", "-c", cfg}, &out, &bytes.Buffer{}); !errors.As(err, &u) {
		t.Fatalf("no name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("try-webhook touched the store: %v", err)
	}
}
