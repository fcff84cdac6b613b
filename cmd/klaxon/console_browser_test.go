package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// The console in a real browser: Debian's headless Chromium, driven
// over the DevTools protocol. Screenshots go to the test's output
// directory (KLAXON_SCREENSHOTS names another, e.g. docs/console).

// chromium finds the browser, or skips (fails in CI) when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("KLAXON_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (apt-get install chromium); CI needs it for the console's browser tests")
	}
	t.Skip("no Chromium found: apt-get install chromium to run the console's browser tests")
	return ""
}

// browser starts a headless Chromium with a fresh profile, closed when
// the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(420, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// shots is where screenshots go.
func shots(t *testing.T) string {
	if d := os.Getenv("KLAXON_SCREENSHOTS"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	return t.ArtifactDir()
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(shots(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", p)
}

// freeAddr is a loopback address no one listens on (for a config that
// must know its public URL before klaxon starts).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var signinLinkRE = regexp.MustCompile(`https?://[^\s<>]+/ui/signin/link\?t=[A-Za-z0-9_.%-]+`)

// Sign in through a link DM'd on Slack, see INC-1 arrive without a
// reload, acknowledge it with the keyboard, and see every platform's
// card follow.
func TestConsoleBrowser(t *testing.T) {
	slowtest.Need(t)
	ctx := browser(t)
	f := startFakes(t)
	addr := freeAddr(t)
	cfg := mustReplace(t, f.config(fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))),
		`server: {listen: "127.0.0.1:0", shutdown_timeout: 5s, public_url: "https://klaxon.example.com", api_open: true}`,
		fmt.Sprintf(`server: {listen: %q, shutdown_timeout: 5s, public_url: "http://%s", api_open: true}`, addr, addr), 1)
	cfg += `
people:
  - {name: alice, slack: UALICE, email: alice@example.com}
  - {name: bob, telegram: "4242"}
`
	cfg = mustReplace(t, cfg, "    telegram: {chat: ", "    responders: [alice]\n    telegram: {chat: ", 1)
	base, logs, _ := startServe(t, writeFile(t, "klaxon.yaml", cfg))
	defer func() {
		if t.Failed() {
			t.Logf("klaxon's log:\n%s", logs)
		}
	}()

	fail := func(what string, err error) {
		t.Helper()
		screenshot(t, ctx, "failed")
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\n%.3000s", what, err, html)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			fail(what, err)
		}
	}
	get := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		v, err := chromedp.Run(tctx, a)
		if err != nil {
			fail(what, err)
		}
		return v
	}

	// Signed out, the console asks who you are.
	run("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("who")))
	screenshot(t, ctx, "signin")
	run("ask for a link", chromedp.SendKeys(chromedp.ID("who"), "alice"), chromedp.Submit(chromedp.ID("who")),
		chromedp.WaitVisible(`//p[contains(., "on their way")]`))
	var link string
	waitUntil(t, 10*time.Second, "a DM with the link on Slack", func() bool {
		for _, m := range f.slack.Messages(slackfake.DirectChannel("UALICE")) {
			if l := signinLinkRE.FindString(m.Text); l != "" {
				link = l
			}
		}
		return link != ""
	})
	u, _ := url.Parse(strings.ReplaceAll(link, "&amp;", "&"))
	run("follow the link", chromedp.Navigate(base+u.RequestURI()), chromedp.WaitVisible(`//button[contains(., "Sign in as alice")]`))
	run("sign in", chromedp.Click(`//button[contains(., "Sign in as alice")]`), chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.WaitVisible(`//p[contains(., "Nothing is open")]`))
	// The page listens for changes; mark it, to tell a reload from a live update.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.stream === "open"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		fail("wait for the live stream", err)
	}
	get("mark the page", chromedp.Evaluate[string](`window.notReloaded = true; document.body.dataset.stream`))

	// An alert arrives: INC-1 appears without a reload.
	if err := runCLI(t, "fire", "--url", base); err != nil {
		t.Fatal(err)
	}
	run("see INC-1 arrive", chromedp.WaitVisible(chromedp.CSS(`a[href="/ui/incidents/INC-1"]`)))
	if get("reloaded?", chromedp.Evaluate[string](`String(window.notReloaded === true)`)) != "true" {
		t.Error("the page was reloaded to show INC-1")
	}
	screenshot(t, ctx, "incidents")

	// Acknowledge with the keyboard on the incident page.
	run("open INC-1", chromedp.Click(chromedp.CSS(`a[href="/ui/incidents/INC-1"]`)), chromedp.WaitVisible(chromedp.CSS(`button[data-key="a"]`)))
	screenshot(t, ctx, "incident")
	run("press a", chromedp.KeyEvent("a"), chromedp.WaitVisible(`//p[contains(@class, "flash") and contains(., "Acknowledged.")]`))
	state := get("read the state", chromedp.Text(chromedp.CSS(`.status .state`)))
	if state != "Acknowledged" && !strings.Contains(strings.ToLower(state), "acknowledged") {
		t.Errorf("state after a: %q", state)
	}
	defer func() {
		if t.Failed() {
			for _, m := range f.slack.Messages(e2eSlack) {
				t.Logf("slack: %s %s", m.Text, m.Blocks)
			}
			for _, m := range f.mm.Messages(e2eMM) {
				t.Logf("mattermost: %s %s", m.Text, m.Props)
			}
			for _, m := range f.tg.Messages(e2eTG) {
				t.Logf("telegram: %s", m.Text)
			}
		}
	}()
	waitUntil(t, 15*time.Second, "every platform's card acknowledged by alice (web)", func() bool {
		s, m, g := f.slack.Messages(e2eSlack), f.mm.Messages(e2eMM), f.tg.Messages(e2eTG)
		return len(s) == 1 && len(m) == 1 && len(g) == 1 &&
			strings.Contains(s[0].Text+string(s[0].Blocks), "alice (web)") &&
			strings.Contains(strings.ReplaceAll(m[0].Text+string(m[0].Props), `\\`, ""), "Acknowledged by alice (web)") &&
			strings.Contains(g[0].Text, "Acknowledged by alice (web)")
	})
	timeline := get("read the timeline", chromedp.Text(chromedp.ID("timeline")))
	if !strings.Contains(timeline, "alice (web)") {
		t.Errorf("the timeline does not name alice (web):\n%s", timeline)
	}
	// At 3 a.m.: the system's dark mode.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	bg := get("the dark background", chromedp.Evaluate[string](`getComputedStyle(document.documentElement).backgroundColor`))
	if bg != "rgb(18, 18, 18)" {
		t.Errorf("dark mode: the background is %s", bg)
	}
	screenshot(t, ctx, "incident-dark")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	// The card preview shows each platform's card.
	run("card preview", chromedp.Navigate(base+"/ui/incidents/INC-1/preview"), chromedp.WaitVisible(`//h2[.="Telegram"]`))
	screenshot(t, ctx, "preview")
	if v := f.violations(); len(v) > 0 {
		t.Errorf("the platforms' fakes saw violations: %q", v)
	}
}

// runCLI runs a klaxon verb in this process.
func runCLI(t *testing.T, args ...string) error {
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		return fmt.Errorf("klaxon %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return nil
}

// mustReplace is strings.Replace that fails the test when old is not in s:
// a fixture that changed under a test must not make its edit a silent no-op.
func mustReplace(t testing.TB, s, old, new string, n int) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q is not in:\n%s", old, s)
	}
	return strings.Replace(s, old, new, n)
}
