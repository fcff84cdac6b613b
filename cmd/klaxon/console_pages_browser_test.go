package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/ical/icaltest"
	"github.com/klaxonbot/klaxon/internal/slowtest"
)

// The console's other pages in a real browser: edit and save a
// postmortem and see the new version; set an override and see the
// on-call page and the calendar feed change; every page, light and dark,
// as screenshots (make console-screenshots runs this test too).
func TestConsoleBrowserPages(t *testing.T) {
	slowtest.Need(t)
	ctx := browser(t)
	f := startFakes(t)
	addr := freeAddr(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	// alice and bob take weeks, handing over on Mondays at 09:00 in
	// Berlin; carol covers weekdays 09:00–17:00 on top.
	l := time.Now().In(berlin)
	monday := time.Date(l.Year(), l.Month(), l.Day()-int(l.Weekday()+6)%7-7, 9, 0, 0, 0, berlin)
	cfg := mustReplace(t, f.config(fmt.Sprintf("store: {data_dir: %q}", filepath.Join(t.TempDir(), "data"))),
		`server: {listen: "127.0.0.1:0", shutdown_timeout: 5s, public_url: "https://klaxon.example.com", api_open: true}`,
		fmt.Sprintf(`server: {listen: %q, shutdown_timeout: 5s, public_url: "http://%s", api_open: true}`, addr, addr), 1)
	cfg = mustReplace(t, cfg, "    telegram: {chat: ", "    responders: [alice]\n    schedule: payments-primary\n    policy: default\n    telegram: {chat: ", 1)
	cfg += fmt.Sprintf(`
people:
  - {name: alice, slack: UALICE, email: alice@example.com}
  - {name: bob, telegram: "4242"}
  - {name: carol, slack: UCAROL}
schedules:
  - name: payments-primary
    timezone: Europe/Berlin
    layers:
      - {every: 168h, start: %q, people: [alice, bob]}
      - {every: 24h, start: %q, people: [carol], from: "09:00", to: "17:00"}
policies:
  - name: default
    steps: [{notify: channel}, {wait: 5m}, {mention: oncall}, {wait: 10m}, {mention: oncall}]
    repeat: 1
routes:
  - {match: {team: payments}, team: payments}
  - {team: payments}
`, monday.Format(time.RFC3339), monday.Format(time.RFC3339))
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
	// feed fetches a calendar feed as a calendar app does: no cookie.
	feed := func(u string) string {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("feed %s: %s", u, res.Status)
		}
		if _, err := icaltest.Parse(b); err != nil {
			t.Fatalf("the feed does not parse: %v\n%s", err, b)
		}
		return string(b)
	}

	// Sign in through a link sent on Slack.
	run("ask for a link", chromedp.Navigate(base+"/ui/signin"), chromedp.WaitVisible(chromedp.ID("who")),
		chromedp.SendKeys(chromedp.ID("who"), "alice"), chromedp.Submit(chromedp.ID("who")), chromedp.WaitVisible(`//p[contains(., "on their way")]`))
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
	run("sign in", chromedp.Navigate(base+u.RequestURI()), chromedp.Click(`//button[contains(., "Sign in as alice")]`), chromedp.WaitVisible(chromedp.ID("q")))

	// An incident, resolved: the feedback form.
	if err := runCLI(t, "fire", "--url", base); err != nil {
		t.Fatal(err)
	}
	run("open INC-1", chromedp.Navigate(base+"/ui/incidents/INC-1"), chromedp.WaitVisible(chromedp.ID("resolve-text")),
		chromedp.SendKeys(chromedp.ID("resolve-text"), "the disk filled with logs; rotated them"), chromedp.Submit(chromedp.ID("resolve-text")),
		chromedp.WaitVisible(`//legend[.="Was it actionable?"]`))
	run("answer", chromedp.Click(`//input[@name="actionable" and @value="yes"]`), chromedp.SendKeys(chromedp.ID("fb-why"), "a real disk"),
		chromedp.Click(`//form[@class="feedback"]//button`), chromedp.WaitVisible(`//p[contains(., "the answer counts in the insights")]`))
	screenshot(t, ctx, "incident-resolved")

	// The postmortem: the draft, a preview, a save, the new version.
	pm := base + "/ui/incidents/INC-1/postmortem"
	run("open the postmortem", chromedp.Navigate(pm), chromedp.WaitVisible(chromedp.ID("pm-text")), chromedp.WaitVisible(`//h1[contains(., "INC-1")]`))
	screenshot(t, ctx, "postmortem")
	draft := get("read the draft", chromedp.Value(chromedp.ID("pm-text")))
	edited := strings.Replace(draft, "## Summary\n\n", "## Summary\n\nThe disk of **db-1** filled with logs that were never rotated; checkout failed for 12 minutes.\n\n", 1)
	if edited == draft {
		t.Fatalf("the draft has no summary:\n%s", draft)
	}
	run("preview", chromedp.SetValue(chromedp.ID("pm-text"), edited), chromedp.Click(`//button[@value="preview"]`),
		chromedp.WaitVisible(`//section[@class="pm-preview"]//strong[.="db-1"]`))
	screenshot(t, ctx, "postmortem-preview")
	run("save", chromedp.Click(`//button[@value="save"]`), chromedp.WaitVisible(`//p[contains(., "Saved as version 1.")]`))
	if v := get("the versions", chromedp.Text(chromedp.ID("h-versions"))); !strings.Contains(v, "Versions") {
		t.Errorf("versions heading: %q", v)
	}
	if doc := get("the saved document", chromedp.Text(chromedp.CSS("article.doc"))); !strings.Contains(doc, "The disk of db-1 filled") {
		t.Errorf("the saved version does not show the edit:\n%s", doc)
	}
	if meta := get("who saved", chromedp.Text(chromedp.CSS("main p.meta"))); !strings.Contains(meta, "Version 1, saved by alice") {
		t.Errorf("the page does not say who saved: %q", meta)
	}
	if base := get("the editor's base", chromedp.Value(chromedp.CSS(`input[name="base"]`))); base != "1" {
		t.Errorf("the editor starts from %q, want version 1", base)
	}

	// On call: the page, the feed, an override, both changed.
	run("on call", chromedp.Navigate(base+"/ui/oncall"), chromedp.WaitVisible(chromedp.ID("s-payments-primary")))
	screenshot(t, ctx, "oncall")
	feedURL := get("the feed URL", chromedp.Value(chromedp.ID("feed-s-payments-primary")))
	feedURL = mustReplace(t, feedURL, "http://"+addr, base, 1)
	if body := feed(feedURL); strings.Contains(body, "(override)") {
		t.Fatalf("an override in the feed before any")
	}
	until := time.Now().Add(3 * time.Hour).In(berlin).Format("2006-01-02T15:04")
	run("set an override", chromedp.SetValue(chromedp.ID("ov-p-s-payments-primary"), "bob"), chromedp.SetValue(chromedp.ID("ov-u-s-payments-primary"), until),
		chromedp.Click(`//form[@class="override"]//button`), chromedp.WaitVisible(`//p[contains(., "Override set")]`))
	if now := get("who is on call", chromedp.Text(chromedp.CSS("#s-payments-primary .oncall-now"))); !strings.HasPrefix(now, "bob, until") {
		t.Errorf("on call after the override: %q", now)
	}
	if ov := get("the overrides", chromedp.Text(chromedp.CSS("#s-payments-primary .overrides"))); !strings.Contains(ov, "set by alice (web)") {
		t.Errorf("the overrides: %q", ov)
	}
	screenshot(t, ctx, "oncall-override")
	if body := feed(feedURL); !strings.Contains(body, "SUMMARY:On call (override): payments-primary (bob)") {
		t.Errorf("the feed does not show the override:\n%s", body)
	}

	// Teams and insights.
	run("teams", chromedp.Navigate(base+"/ui/teams"), chromedp.WaitVisible(`//h2[.="payments"]`))
	if txt := get("the policy", chromedp.Text(chromedp.CSS("section.team"))); !strings.Contains(txt, "notify the channel · wait 5m · warn whoever is on call") {
		t.Errorf("the teams page:\n%s", txt)
	}
	screenshot(t, ctx, "teams")
	run("insights", chromedp.Navigate(base+"/ui/insights?days=30"), chromedp.WaitVisible(`//h1[.="Insights"]`))
	screenshot(t, ctx, "insights")

	// Every page again, dark.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, path, ready string }{
		{"incidents-dark", "/ui/?state=all", "q"}, {"preview-dark", "/ui/incidents/INC-1/preview", "main"}, {"declare-dark", "/ui/declare", "main"},
		{"postmortem-dark", "/ui/incidents/INC-1/postmortem", "pm-text"}, {"oncall-dark", "/ui/oncall", "s-payments-primary"},
		{"teams-dark", "/ui/teams", "main"}, {"insights-dark", "/ui/insights?days=30", "main"},
	} {
		run(p.name, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.ID(p.ready)))
		screenshot(t, ctx, p.name)
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	run("declare", chromedp.Navigate(base+"/ui/declare"), chromedp.WaitVisible(chromedp.ID("main")))
	screenshot(t, ctx, "declare")
	if v := f.violations(); len(v) > 0 {
		t.Errorf("the platforms' fakes saw violations: %q", v)
	}
}
