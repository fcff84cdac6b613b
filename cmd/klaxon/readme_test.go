package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
)

// The README is the front door: every snippet in it is checked here, so it
// cannot drift from what klaxon does. A klaxon config loads with no error
// (check-config's checks); an Alertmanager config passes amtool, a rules
// file promtool; every `klaxon VERB` line names a verb and its flags;
// every curl reaches an endpoint klaxon serves; JSON parses, JavaScript
// parses.

// readmeBlock is one fenced code block of README.md.
type readmeBlock struct {
	lang, text string
	line       int
}

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	out := readmeBlocksOf(t, "../../README.md")
	if len(out) < 20 {
		t.Fatalf("README has %d code blocks: is it the README?", len(out))
	}
	return out
}

// readmeBlocksOf returns the fenced code blocks of a Markdown file.
func readmeBlocksOf(t *testing.T, path string) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(l, "```") {
			continue
		}
		indent := len(lines[i]) - len(l)
		blk := readmeBlock{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, strings.TrimPrefix(lines[i], strings.Repeat(" ", indent)))
		}
		blk.text = strings.Join(body, "\n") + "\n"
		out = append(out, blk)
	}
	return out
}

// readmeEnv gives the README's ${VARS} realistic values.
func readmeEnv(name string) (string, bool) {
	switch {
	case name == "TWILIO_ACCOUNT_SID":
		return "AC" + strings.Repeat("0123456789abcdef", 2), true
	case name == "TELEGRAM_BOT_TOKEN":
		return "123456789:AAHkq2Zp9Xv7Lm4Qr8Ts1Uw3Yb5Nc6Dd0Ee", true
	case name == "SLACK_BOT_TOKEN":
		return "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx", true
	case strings.HasSuffix(name, "_URL"):
		return "redis://127.0.0.1:6379/0", true
	}
	return "readme-" + strings.ToLower(name) + "-0123456789abcdef", true
}

// configKeys are the top-level keys of klaxon's config.
func configKeys() map[string]bool {
	keys := map[string]bool{}
	data, _ := yaml.Marshal(bot.DefaultConfig())
	var m map[string]any
	yaml.Unmarshal(data, &m)
	for k := range m {
		keys[k] = true
	}
	for _, k := range []string{"people", "api_tokens", "teams", "routes", "default_team", "policies", "schedules",
		"twilio", "smtp", "ntfy", "slack", "mattermost", "telegram", "console", "templates_dir", "heartbeats", "maintenance"} {
		keys[k] = true
	}
	return keys
}

func TestREADMESnippets(t *testing.T) {
	kinds := checkREADME(t, "README.md", readmeBlocks(t))
	if kinds["config"] < 10 || kinds["sh"] < 10 {
		t.Errorf("too few snippets checked (%v): did the README's format change?", kinds)
	}
}

// The README sections a branch adds in README-<name>.md, for the lead to
// merge into README.md, are checked as README.md is.
func TestREADMEParts(t *testing.T) {
	parts, _ := filepath.Glob("../../README-*.md")
	for _, p := range parts {
		t.Run(filepath.Base(p), func(t *testing.T) {
			blocks := readmeBlocksOf(t, p)
			if len(blocks) == 0 {
				t.Fatalf("%s has no code blocks", p)
			}
			checkREADME(t, filepath.Base(p), blocks)
		})
	}
}

// checkREADME checks each block of the file name and returns how many of
// each kind it checked.
func checkREADME(t *testing.T, name string, blocks []readmeBlock) map[string]int {
	keys := configKeys()
	srv := readmeServer(t)
	kinds := map[string]int{}
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d (```%s)", name, b.line, b.lang)
		switch b.lang {
		case "yaml":
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &doc); err != nil {
				t.Errorf("%s: not YAML: %v\n%s", where, err, b.text)
				continue
			}
			switch {
			case anyKey(doc, keys):
				kinds["config"]++
				checkREADMEConfig(t, where, b.text)
			case doc["route"] != nil || doc["receivers"] != nil:
				kinds["alertmanager"]++
				checkWithTool(t, where, "amtool", b.text, "check-config")
			case doc["groups"] != nil:
				kinds["rules"]++
				checkWithTool(t, where, "promtool", b.text, "check", "rules")
			case doc["hmac"] != nil:
				kinds["config"]++ // an auth block: try it on Grafana's hook
				checkREADMEConfig(t, where, "sources:\n  grafana:\n"+indent(b.text, "    "))
			default:
				t.Errorf("%s: a YAML block the README test does not know how to check:\n%s", where, b.text)
			}
		case "sh":
			kinds["sh"]++
			checkShell(t, where, b.text, srv)
		case "json":
			kinds["json"]++
			if !json.Valid([]byte(b.text)) {
				t.Errorf("%s: not JSON", where)
			}
		case "js":
			kinds["js"]++
			if node, err := exec.LookPath("node"); err == nil {
				f := filepath.Join(t.TempDir(), "snippet.js")
				os.WriteFile(f, []byte("function zabbix(value) {\n"+b.text+"}\n"), 0o600)
				if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
					t.Errorf("%s: node --check: %v\n%s", where, err, out)
				}
			}
		case "text", "markdown":
			kinds[b.lang]++ // output and prose: nothing to run
		default:
			t.Errorf("%s: a code block without a language the README test checks (yaml, sh, json, js, text)", where)
		}
	}
	t.Logf("%s snippets checked: %v", name, kinds)
	return kinds
}

func anyKey(doc map[string]any, keys map[string]bool) bool {
	for k := range doc {
		if keys[k] {
			return true
		}
	}
	return false
}

func checkREADMEConfig(t *testing.T, where, text string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := bot.LoadConfig(path, readmeEnv)
	if err != nil {
		t.Errorf("%s: the config does not load:\n%v\n%s", where, err, text)
		return
	}
	// And check-config's later checks: templates, the platforms' and
	// Twilio's clients, webhook mappings, data sources, senders.
	if es := laterChecks(cfg, nil); len(es) > 0 {
		t.Errorf("%s: check-config: %v\n%s", where, es, text)
	}
}

func checkWithTool(t *testing.T, where, tool, text string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Errorf("%s: %s is not installed and CI=true", where, tool)
		}
		return
	}
	f := filepath.Join(t.TempDir(), "snippet.yml")
	os.WriteFile(f, []byte(text), 0o600)
	// credentials_file must exist for amtool.
	text2 := strings.ReplaceAll(text, "/etc/alertmanager/klaxon-token", f)
	os.WriteFile(f, []byte(text2), 0o600)
	if out, err := exec.Command(bin, append(args, f)...).CombinedOutput(); err != nil {
		t.Errorf("%s: %s %s: %v\n%s", where, tool, strings.Join(args, " "), err, out)
	}
}

// readmeServer is a klaxon with every route, to route the README's curls.
func readmeServer(t *testing.T) http.Handler {
	store, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := bot.DefaultConfig()
	cfg.Sources.Webhook = []bot.WebhookSource{{Name: "cron", Token: "readme-cron-token-0123456789", Fields: bot.WebhookFields{Title: "x"}}}
	for _, name := range []string{"backup-cron", "watchdog"} { // the README's heartbeats
		cfg.Heartbeats = append(cfg.Heartbeats, bot.HeartbeatConfig{Name: name, Interval: bot.Duration(time.Hour), Token: "readme-heartbeat-token-0123456789"})
	}
	srv, err := bot.New(cfg, bot.Deps{Store: store, Sources: map[string]bot.Parser{
		"alertmanager": alertmanager.Parse, "grafana": alertmanager.Parse, "webhook/cron": alertmanager.Parse}})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Handler()
}

var (
	klaxonCmdRE = regexp.MustCompile(`(?:^|[;&|(]\s*|\$\(\s*)(?:go run \./cmd/klaxon|klaxon)\s+([a-z-]+)([^;&|)]*)`)
	flagRE      = regexp.MustCompile(`(?:^|\s)--?([a-z][a-z-]*)`)
	curlURLRE   = regexp.MustCompile(`https?://[^\s'"]+`)
)

// checkShell checks each command of a shell block: klaxon verbs and their
// flags exist, curl URLs reach a route klaxon serves with the method used.
func checkShell(t *testing.T, where, text string, srv http.Handler) {
	t.Helper()
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range klaxonCmdRE.FindAllStringSubmatch(line, -1) {
			verb, rest := m[1], m[2]
			if findVerb(verb) == nil {
				t.Errorf("%s: klaxon %s: no such verb", where, verb)
				continue
			}
			known := map[string]bool{}
			for _, f := range verbFlags(verb) {
				known[f.name] = true
			}
			for _, f := range flagRE.FindAllStringSubmatch(rest, -1) {
				if !known[f[1]] && !(verb == "setup" && setupFlag(f[1])) {
					t.Errorf("%s: klaxon %s has no flag -%s", where, verb, f[1])
				}
			}
		}
		if !strings.Contains(line, "curl ") {
			continue
		}
		method := "GET"
		if strings.Contains(line, "-XPOST") || strings.Contains(line, "-X POST") || strings.Contains(line, " -d ") || strings.Contains(line, " -d'") {
			method = "POST"
		}
		for _, raw := range curlURLRE.FindAllString(line, -1) {
			u, err := url.Parse(strings.TrimRight(raw, "'\""))
			if err != nil {
				t.Errorf("%s: %q is not a URL", where, raw)
				continue
			}
			if !strings.Contains(u.Host, "klaxon") && !strings.HasPrefix(u.Host, "127.0.0.1:8080") && !strings.HasPrefix(u.Host, "localhost:8080") {
				continue // another service (Telegram's getUpdates)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(method, u.RequestURI(), strings.NewReader("{}")))
			if rec.Code == http.StatusMethodNotAllowed || (rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "no such endpoint")) {
				t.Errorf("%s: %s %s is no endpoint of klaxon's (%d)", where, method, u.Path, rec.Code)
			}
		}
	}
}

// setupFlag: klaxon setup's flags belong to its sub-verbs.
func setupFlag(name string) bool {
	return slices.Contains([]string{"c", "public-url", "name", "o", "url", "admin-token", "team", "bot", "fix-untrusted", "enable-bot-creation"}, name)
}
