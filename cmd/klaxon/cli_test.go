package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// klaxon runs the CLI and returns its output and error.
func klaxon(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

// Every verb prints its usage with -h and with `klaxon help VERB`, and
// exits 0, as promtool and amtool do.
func TestEveryVerbHasHelp(t *testing.T) {
	for _, v := range verbs {
		for _, args := range [][]string{{v.name, "-h"}, {v.name, "--help"}, {"help", v.name}} {
			var out, errb bytes.Buffer
			err := run(context.Background(), args, &out, &errb)
			if err != nil {
				t.Errorf("klaxon %s: %v (want exit 0)", strings.Join(args, " "), err)
				continue
			}
			if v.name == "version" || v.name == "help" {
				continue
			}
			if !strings.HasPrefix(out.String(), "Usage:") || !strings.Contains(out.String(), "klaxon "+v.name) || errb.Len() != 0 {
				t.Errorf("klaxon %s printed to stdout %q and to stderr %q, want its usage on stdout", strings.Join(args, " "), out.String(), errb.String())
			}
		}
	}
	out, _ := klaxon(t, "help", "serve")
	for _, want := range []string{"Usage: klaxon serve [-c FILE] [--listen ADDR] [--data-dir DIR]", "-listen ADDR", "-data-dir DIR"} {
		if !strings.Contains(out, want) {
			t.Errorf("klaxon help serve lacks %q:\n%s", want, out)
		}
	}
	if out, err := klaxon(t, "help"); err != nil || !strings.Contains(out, "klaxon ack ID") && !strings.Contains(out, "  ack ID") {
		t.Errorf("klaxon help: %v\n%s", err, out)
	}
}

func TestUnknownVerbSuggests(t *testing.T) {
	var u usageError
	for verb, want := range map[string]string{"serv": `"serve"`, "chek-config": `"check-config"`, "acknowledge": ""} {
		_, err := klaxon(t, verb)
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "unknown verb") || !strings.Contains(err.Error(), want) {
			t.Errorf("klaxon %s: %v, want a usage error suggesting %s", verb, err, want)
		}
	}
	if _, err := klaxon(t, "help", "serv"); !errors.As(err, &u) || !strings.Contains(err.Error(), `did you mean "serve"`) {
		t.Errorf("klaxon help serv: %v", err)
	}
	if _, err := klaxon(t, "ack"); !errors.As(err, &u) {
		t.Errorf("klaxon ack without an ID: %v, want a usage error", err)
	}
	if _, err := klaxon(t, "ack", "INC-1", "INC-2"); !errors.As(err, &u) {
		t.Errorf("klaxon ack with two IDs: %v, want a usage error", err)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	out, err := klaxon(t, "version")
	if err != nil || !strings.HasPrefix(out, "klaxon ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

// The first minutes of a newcomer, with no config and no token: serve,
// fire, then work on the incident from the terminal.
func TestCLIWorksOnIncidents(t *testing.T) {
	dir := t.TempDir()
	base, logs, stop := startServeArgs(t, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	defer stop()
	if _, err := os.Stat(filepath.Join(dir, "klaxon.db")); err != nil {
		t.Fatalf("--data-dir: %v", err)
	}
	t.Setenv("KLAXON_URL", base)
	t.Setenv("KLAXON_TOKEN", "")
	must := func(args ...string) string {
		t.Helper()
		out, err := klaxon(t, args...)
		if err != nil {
			t.Fatalf("klaxon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := must("list"); !strings.Contains(out, "No incidents") {
		t.Fatalf("list before any alert: %q", out)
	}
	must("fire")
	out := must("list")
	if !strings.Contains(out, "INC-1") || !strings.Contains(out, "triggered") || !strings.Contains(out, "SEV1") {
		t.Fatalf("list: %q", out)
	}
	if out := must("ack", "INC-1"); !strings.Contains(out, "INC-1: Acknowledged by") || !strings.Contains(out, "(cli)") {
		t.Fatalf("ack: %q", out)
	}
	if _, err := klaxon(t, "ack", "INC-1"); err == nil || !strings.Contains(err.Error(), "already acknowledged") {
		t.Fatalf("ack again: %v", err)
	}
	if _, err := klaxon(t, "ack", "INC-99"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("ack of an unknown incident: %v", err)
	}
	must("note", "INC-1", "the", "pool", "was", "too", "small", "--kind", "factor")
	must("sev", "INC-1", "2")
	must("lead", "INC-1", "alice")
	if out := must("resolve", "INC-1", "--summary", "pool resized"); !strings.Contains(out, "pool resized") {
		t.Fatalf("resolve: %q", out)
	}
	if out := must("feedback", "INC-1", "no", "it", "fixed", "itself"); !strings.Contains(out, "Marked not actionable by") || !strings.Contains(out, "(cli): it fixed itself") {
		t.Fatalf("feedback: %q", out)
	}
	if _, err := klaxon(t, "feedback", "INC-1", "maybe"); err == nil || !strings.Contains(err.Error(), "yes|no") {
		t.Fatalf("feedback maybe: %v", err)
	}
	var inc map[string]any
	if err := json.Unmarshal([]byte(must("show", "INC-1", "-o", "json")), &inc); err != nil {
		t.Fatal(err)
	}
	if fb, _ := inc["feedback"].(map[string]any); fb == nil || fb["actionable"] != false || fb["why"] != "it fixed itself" {
		t.Fatalf("feedback stored: %v", inc["feedback"])
	}
	if inc["state"] != "resolved" || inc["summary"] != "pool resized" || inc["lead"] != "alice" || inc["severity"] != 2.0 {
		t.Fatalf("show -o json: %v", inc)
	}
	if out := must("show", "INC-1"); !strings.Contains(out, "Resolved") || !strings.Contains(out, "[factor]") && !strings.Contains(out, "the pool was too small") {
		t.Fatalf("show: %q", out)
	}
	if out := must("declare", "Checkout", "is", "slow", "--sev", "2"); !strings.Contains(out, "Declared INC-2 (SEV2): Checkout is slow") {
		t.Fatalf("declare: %q", out)
	}
	if out := must("list", "--state", "all"); !strings.Contains(out, "INC-2") || !strings.Contains(out, "INC-1") {
		t.Fatalf("list --state all: %q", out)
	}
	if out := must("oncall"); !strings.Contains(out, "No team has an on-call schedule") {
		t.Fatalf("oncall: %q", out)
	}
	if out := must("postmortem", "INC-1"); !strings.HasPrefix(out, "# ") || !strings.Contains(out, "pool resized") {
		t.Fatalf("postmortem: %q", out)
	}
	// The console: no config, no people, on loopback: this machine's user
	// comes in with the link serve printed; the address alone is not
	// enough.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(page), "INC-1") || !strings.Contains(string(page), "klaxon serve</code> printed") {
		t.Fatalf("GET / without serve's link: %d\n%.300s", res.StatusCode, page)
	}
	link := regexp.MustCompile(`console \(this machine's user\): (http://\S+/ui/\?local=[0-9a-f]{64})`).FindStringSubmatch(logs.String())
	if link == nil {
		t.Fatalf("serve printed no console link:\n%s", logs.String())
	}
	if res, err = hc.Get(link[1]); err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "INC-1") || strings.Contains(res.Request.URL.String(), "local=") {
		t.Fatalf("serve's console link: %d at %s\n%.300s", res.StatusCode, res.Request.URL, page)
	}
}

// With tokens configured, the CLI says what a 401 wants, and a read
// token cannot change anything.
func TestCLIWithTokens(t *testing.T) {
	cfg := writeFile(t, "k.yaml", fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
store: {data_dir: %q}
people: [{name: alice}]
api_tokens:
  - {name: grafana, token: read-token-0123456789abcdef}
  - {name: laptop, token: alice-token-0123456789abcdef, as: alice, scope: write}
`, t.TempDir()))
	base, _, stop := startServe(t, cfg)
	defer stop()
	t.Setenv("KLAXON_URL", base)
	t.Setenv("KLAXON_TOKEN", "")
	if _, err := klaxon(t, "fire"); err != nil {
		t.Fatal(err)
	}
	_, err := klaxon(t, "ack", "INC-1")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--token or $KLAXON_TOKEN") {
		t.Fatalf("ack without a token: %v", err)
	}
	_, err = klaxon(t, "ack", "INC-1", "--token", "read-token-0123456789abcdef")
	if err == nil || !strings.Contains(err.Error(), "scope: read") {
		t.Fatalf("ack with a read token: %v", err)
	}
	t.Setenv("KLAXON_TOKEN", "alice-token-0123456789abcdef")
	if out, err := klaxon(t, "ack", "INC-1"); err != nil || !strings.Contains(out, "Acknowledged by alice (cli)") {
		t.Fatalf("ack with alice's token: %v %q", err, out)
	}
}

// A verb that only reads creates no store: with no klaxon running, the
// postmortem is read from the store only if there is one.
func TestPostmortemCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := writeFile(t, "k.yaml", fmt.Sprintf("server: {listen: \"127.0.0.1:1\"}\nstore: {data_dir: %q}\n", dir))
	_, err := klaxon(t, "postmortem", "INC-1", "-c", cfg)
	if err == nil || !strings.Contains(err.Error(), "no klaxon store") {
		t.Fatalf("postmortem with no klaxon and no store: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("postmortem created %s: %v", dir, err)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, err := klaxon(t, "completion", shell)
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		for _, want := range []string{"serve", "check-config", "resolve", "listen", "data-dir", "summary"} {
			if !strings.Contains(out, want) {
				t.Errorf("completion %s lacks %q", shell, want)
			}
		}
		sh, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("%s is not installed: its script is not syntax-checked", shell)
			continue
		}
		check := exec.Command(sh, "-n")
		if shell == "fish" {
			check = exec.Command(sh, "--no-execute")
		}
		check.Stdin = strings.NewReader(out)
		if msg, err := check.CombinedOutput(); err != nil {
			t.Errorf("%s -n on the completion script: %v\n%s", shell, err, msg)
		}
	}
	if _, err := klaxon(t, "completion", "tcsh"); err == nil {
		t.Error("completion tcsh: no error")
	}
}
