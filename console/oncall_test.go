package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/ical"
	"github.com/klaxonbot/klaxon/ical/icaltest"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no time zone %s: %v", name, err)
	}
	return loc
}

// oncallNow is Thursday 5 March 2026, 10:00 in New York: three days
// before the clocks go forward there.
var oncallNow = time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)

// newOncallEnv has two schedules: payments' "primary" in New York, a
// weekly rotation of alice and bob handing over on Mondays at 09:00;
// web's "follow" in Berlin, two layers (carol and bob a day each, alice
// on top 09:00–17:00 on weekdays). payments' responder is alice; web has
// none.
func newOncallEnv(t *testing.T, extra ...console.Schedule) *env {
	ny, berlin := mustLoc(t, "America/New_York"), mustLoc(t, "Europe/Berlin")
	b := newBackend(t, &clock{now: oncallNow})
	b.teams[0].Schedule, b.teams[1].Schedule = "primary", "follow"
	b.schedules = append([]console.Schedule{
		{Name: "primary", Location: ny, Rota: &oncall.Schedule{Layers: []oncall.Rotation{
			{People: []string{"alice", "bob"}, Every: 7 * 24 * time.Hour, Start: time.Date(2026, 2, 2, 9, 0, 0, 0, ny), Location: ny}}}},
		{Name: "follow", Location: berlin, Rota: &oncall.Schedule{Layers: []oncall.Rotation{
			{People: []string{"carol", "bob"}, Every: 24 * time.Hour, Start: time.Date(2026, 3, 1, 0, 0, 0, 0, berlin), Location: berlin},
			{People: []string{"alice"}, Every: 24 * time.Hour, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, berlin), Location: berlin,
				WindowFrom: 9 * 60, WindowTo: 17 * 60, Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}}}},
	}, extra...)
	return newEnvOn(t, b)
}

func feedURLOf(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" class="feed" type="text" readonly value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no feed URL %s on the page:\n%s", id, page)
	}
	return html.UnescapeString(m[1])
}

// fetch gets a feed without a session, as a calendar app does.
func (e *env) fetch(feed string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	u, err := url.Parse(feed)
	if err != nil || u.Host != "klaxon.example.com" || !strings.HasPrefix(u.Path, "/ical/") {
		e.t.Fatalf("not a feed URL: %q", feed)
	}
	return e.do(&http.Client{}, "GET", u.Path, nil, hdr...)
}

// section is the part of the on-call page about one schedule.
func section(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `<section class="schedule" id="s-`+name+`"`)
	if i < 0 {
		t.Fatalf("no section for %s:\n%s", name, page)
	}
	s := page[i:]
	if j := strings.Index(s[1:], "<section"); j >= 0 {
		s = s[:j+1]
	}
	return s
}

func TestOncallPage(t *testing.T) {
	e := newOncallEnv(t)
	c, _ := e.signIn("bob")
	res, page := e.do(c, "GET", "/ui/oncall", nil)
	must(t, res.StatusCode == 200, "on-call page: %s", res.Status)
	primary := section(t, page, "primary")
	for _, want := range []string{
		"times in America/New_York",
		`<strong>alice</strong>, until Mon Mar 9 09:00 EDT`, // the handover after the change to summer time
		"bob, from Mon Mar 9 09:00 EDT",
		"alice, bob, every 7d from Mon Feb 2 09:00 EST",
		`<svg class="tl"`, ">Sun 8<", ">23h day<", // the day the clocks go forward
		"<td>bob</td><td>Mon Mar 9 09:00 EDT</td>",
		"Only the responders of payments (alice) can set or remove overrides",
	} {
		must(t, strings.Contains(primary, want), "primary lacks %q:\n%s", want, primary)
	}
	must(t, !strings.Contains(primary, `action="/ui/oncall/overrides"`), "bob may set primary's overrides")
	follow := section(t, page, "follow")
	for _, want := range []string{"Layer 1: carol, bob, every 1d", "Layer 2 (on top): alice, every 1d", "09:00–17:00 on Mon, Tue, Wed, Thu, Fri",
		"<strong>alice</strong>, until Thu Mar 5 17:00 CET", "layer 2", `action="/ui/oncall/overrides"`, "the layers from the top one (which wins where it covers the time) down to layer 1"} {
		must(t, strings.Contains(follow, want), "follow lacks %q:\n%s", want, follow)
	}
	must(t, strings.Contains(page, "Google Calendar refreshes a subscribed calendar only every 12 to 24 hours"), "no word on Google's delay")
}

// Create an override and see the page and the feeds change; remove it.
func TestOverrideCreateAndRemove(t *testing.T) {
	e := newOncallEnv(t)
	c, csrf := e.signIn("alice")
	_, page := e.do(c, "GET", "/ui/oncall", nil)
	feed := feedURLOf(t, page, "feed-s-primary")
	_, before := e.fetch(feed)
	must(t, !strings.Contains(before, "(override)"), "an override before any")

	ny := mustLoc(t, "America/New_York")
	until := oncallNow.Add(26 * time.Hour).In(ny).Format("2006-01-02T15:04")
	res, page := e.do(c, "POST", "/ui/oncall/overrides", url.Values{"csrf": {csrf}, "schedule": {"primary"}, "person": {"carol"}, "from": {""}, "until": {until}})
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/oncall?did=override#s-primary", "override: %s %s\n%s", res.Status, res.Header.Get("Location"), page)
	_, page = e.do(c, "GET", "/ui/oncall?did=override", nil)
	primary := section(t, page, "primary")
	must(t, strings.Contains(page, "Override set"), "no word that it was set")
	for _, want := range []string{"<strong>carol</strong>, until Fri Mar 6 12:00 EST", "<strong>carol</strong> from Thu Mar 5 10:00 EST until Fri Mar 6 12:00 EST",
		`<span class="badge">now</span>`, "set by alice", "carol ⇄", `<tr class="ov"><td>carol</td>`, "Remove<span class=\"sr-only\"> carol's override"} {
		must(t, strings.Contains(primary, want), "after the override, primary lacks %q:\n%s", want, primary)
	}

	// The feed has it, and parses strictly.
	res, body := e.fetch(feed)
	must(t, res.StatusCode == 200 && res.Header.Get("Content-Type") == ical.ContentType, "feed: %s %s", res.Status, res.Header.Get("Content-Type"))
	cal, err := icaltest.Parse([]byte(body))
	must(t, err == nil, "the feed does not parse: %v\n%s", err, body)
	found := false
	for _, ev := range cal.Subs {
		sum, _ := ev.Text("SUMMARY")
		start, _ := ev.Time("DTSTART")
		end, _ := ev.Time("DTEND")
		if sum == "On call (override): primary (carol)" {
			found = true
			desc, _ := ev.Text("DESCRIPTION")
			must(t, start.Equal(oncallNow) && end.Equal(oncallNow.Add(26*time.Hour)) && strings.Contains(desc, "carol is on call for primary (payments), by override. Set by alice at 2026-03-05 15:00 UTC."),
				"the override's event: %v–%v %q", start, end, desc)
		}
	}
	must(t, found, "the feed has no override:\n%s", body)

	// Remove it: the page and the feed no longer show it.
	m := regexp.MustCompile(`name="from" value="([^"]+)"><input type="hidden" name="until" value="([^"]+)"`).FindStringSubmatch(primary)
	must(t, m != nil, "no removal form")
	res, _ = e.do(c, "POST", "/ui/oncall/overrides/remove", url.Values{"csrf": {csrf}, "schedule": {"primary"}, "person": {"carol"}, "from": {m[1]}, "until": {m[2]}})
	must(t, res.StatusCode == http.StatusSeeOther, "remove: %s", res.Status)
	_, page = e.do(c, "GET", "/ui/oncall?did=removed", nil)
	primary = section(t, page, "primary")
	must(t, strings.Contains(page, "Override removed.") && !strings.Contains(primary, "carol ⇄") && !strings.Contains(primary, "<strong>carol</strong>"),
		"after the removal:\n%.2000s", primary)
	_, body = e.fetch(feed)
	must(t, !strings.Contains(body, "carol"), "the feed still has carol")
}

// Only a team's responders set or remove its schedule's overrides; every
// form needs the CSRF token; what is set is checked.
func TestOverrideRefused(t *testing.T) {
	e := newOncallEnv(t)
	ny := mustLoc(t, "America/New_York")
	local := func(d time.Duration) string { return oncallNow.Add(d).In(ny).Format("2006-01-02T15:04") }
	bob, bcsrf := e.signIn("bob")
	alice, acsrf := e.signIn("alice")
	ov := func(csrf, person, from, until string) url.Values {
		return url.Values{"csrf": {csrf}, "schedule": {"primary"}, "person": {person}, "from": {from}, "until": {until}}
	}
	res, page := e.do(bob, "POST", "/ui/oncall/overrides", ov(bcsrf, "bob", "", local(time.Hour)))
	must(t, res.StatusCode == http.StatusForbidden && strings.Contains(page, "Only the responders of the teams on primary (alice)"), "bob's override: %s\n%s", res.Status, page)
	res, _ = e.do(alice, "POST", "/ui/oncall/overrides", ov("", "bob", "", local(time.Hour)))
	must(t, res.StatusCode == http.StatusForbidden, "no token: %s", res.Status)
	res, _ = e.do(alice, "POST", "/ui/oncall/overrides", ov(bcsrf, "bob", "", local(time.Hour)))
	must(t, res.StatusCode == http.StatusForbidden, "bob's token: %s", res.Status)
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{ov(acsrf, "mallory", "", local(time.Hour)), "mallory is not in people"},
		{ov(acsrf, "bob", "", local(-time.Hour)), "has passed"},
		{ov(acsrf, "bob", "", local(15*24*time.Hour)), "1 minute to 14 days"},
		{ov(acsrf, "bob", local(100*24*time.Hour), local(101*24*time.Hour)), "within 90 days"},
		{ov(acsrf, "bob", "", "tomorrow"), "not a date and time"},
		{url.Values{"csrf": {acsrf}, "schedule": {"nope"}, "person": {"bob"}, "until": {local(time.Hour)}}, "There is no schedule"},
	} {
		res, page := e.do(alice, "POST", "/ui/oncall/overrides", tc.form)
		if res.StatusCode/100 != 4 || !strings.Contains(page, tc.want) {
			t.Errorf("%v: %s, want %q", tc.form, res.Status, tc.want)
		}
	}
	list, _ := e.b.store.(incidents.Overrides).Overrides(context.Background(), "primary", oncallNow)
	must(t, len(list) == 0, "stored: %+v", list)

	// alice sets one; bob cannot remove it.
	res, _ = e.do(alice, "POST", "/ui/oncall/overrides", ov(acsrf, "bob", "", local(time.Hour)))
	must(t, res.StatusCode == http.StatusSeeOther, "alice's override: %s", res.Status)
	list, _ = e.b.store.(incidents.Overrides).Overrides(context.Background(), "primary", oncallNow)
	must(t, len(list) == 1, "stored: %+v", list)
	o := list[0]
	res, _ = e.do(bob, "POST", "/ui/oncall/overrides/remove", url.Values{"csrf": {bcsrf}, "schedule": {"primary"}, "person": {o.Person},
		"from": {o.From.Format(time.RFC3339Nano)}, "until": {o.Until.Format(time.RFC3339Nano)}})
	must(t, res.StatusCode == http.StatusForbidden, "bob's removal: %s", res.Status)
	list, _ = e.b.store.(incidents.Overrides).Overrides(context.Background(), "primary", oncallNow)
	must(t, len(list) == 1, "removed by bob")
	// On web's schedule (no responders), bob may.
	berlin := oncallNow.Add(2 * time.Hour).In(mustLoc(t, "Europe/Berlin")).Format("2006-01-02T15:04")
	res, _ = e.do(bob, "POST", "/ui/oncall/overrides", url.Values{"csrf": {bcsrf}, "schedule": {"follow"}, "person": {"bob"}, "until": {berlin}})
	must(t, res.StatusCode == http.StatusSeeOther, "bob on follow: %s", res.Status)
}

// The feed needs no session, only its token; it answers 304 to a client
// that has it, HEAD without a body, and 404 once the URL is renewed.
func TestFeedTokenAndRotation(t *testing.T) {
	e := newOncallEnv(t)
	alice, csrf := e.signIn("alice")
	_, page := e.do(alice, "GET", "/ui/oncall", nil)
	feed, mine := feedURLOf(t, page, "feed-s-primary"), feedURLOf(t, page, "feed-me")

	res, body := e.fetch(feed)
	must(t, res.StatusCode == 200 && res.Header.Get("ETag") != "", "feed: %s", res.Status)
	cal, err := icaltest.Parse([]byte(body))
	must(t, err == nil, "the feed does not parse: %v", err)
	name, _ := cal.Text("X-WR-CALNAME")
	must(t, name == "klaxon on-call: primary" && len(cal.Subs) >= 10, "calendar %q with %d events", name, len(cal.Subs))
	var first, last time.Time
	uids := map[string]bool{}
	for _, ev := range cal.Subs {
		uid, _ := ev.Text("UID")
		stamp, err := ev.Time("DTSTAMP")
		must(t, uid != "" && !uids[uid] && err == nil && stamp.Equal(oncallNow), "event UID %q (twice: %v), DTSTAMP %v %v", uid, uids[uid], stamp, err)
		uids[uid] = true
		s, _ := ev.Time("DTSTART")
		en, _ := ev.Time("DTEND")
		if first.IsZero() {
			first = s
		}
		last = en
	}
	must(t, first.Equal(time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC)) && !last.Before(oncallNow.Add(8*7*24*time.Hour)),
		"the feed covers %v to %v, want 2 weeks back and 8 ahead", first, last)
	// The same UIDs again (a client updates, not duplicates).
	_, again := e.fetch(feed)
	c2, _ := icaltest.Parse([]byte(again))
	for _, ev := range c2.Subs {
		uid, _ := ev.Text("UID")
		must(t, uids[uid], "a new UID on the second fetch: %s", uid)
	}
	res, _ = e.fetch(feed, "If-None-Match", res.Header.Get("ETag"))
	must(t, res.StatusCode == http.StatusNotModified, "If-None-Match: %s", res.Status)
	req, _ := http.NewRequest("HEAD", e.url(mustURL(feed).Path), nil)
	head, err := http.DefaultClient.Do(req)
	must(t, err == nil && head.StatusCode == 200 && head.Header.Get("Content-Type") == ical.ContentType, "HEAD: %v %v", err, head)
	b, _ := io.ReadAll(head.Body)
	head.Body.Close()
	must(t, len(b) == 0, "HEAD has a body")

	// alice's own feed: her shifts only, on both schedules.
	_, body = e.fetch(mine)
	cal, err = icaltest.Parse([]byte(body))
	must(t, err == nil && len(cal.Subs) > 0, "alice's feed: %v", err)
	for _, ev := range cal.Subs {
		sum, _ := ev.Text("SUMMARY")
		must(t, strings.HasSuffix(sum, "(alice)"), "alice's feed has %q", sum)
	}
	must(t, strings.Contains(body, "follow (alice)") && strings.Contains(body, "primary (alice)"), "alice's feed lacks a schedule")

	// Unknown tokens.
	for _, p := range []string{"/ical/nope.ics", "/ical/" + strings.Repeat("A", 43) + ".ics", "/ical/x", "/ical/.ics"} {
		res, _ := e.do(&http.Client{}, "GET", p, nil)
		must(t, res.StatusCode == http.StatusNotFound, "%s: %s", p, res.Status)
	}

	// Renewing: the old URL stops working, the new one works.
	bob, bcsrf := e.signIn("bob")
	for _, f := range []string{"schedule:primary", "person:alice", "team:x"} {
		res, _ := e.do(bob, "POST", "/ui/oncall/feeds/rotate", url.Values{"csrf": {bcsrf}, "feed": {f}})
		must(t, res.StatusCode/100 == 4, "bob renews %s: %s", f, res.Status)
	}
	res, _ = e.do(alice, "POST", "/ui/oncall/feeds/rotate", url.Values{"feed": {"schedule:primary"}})
	must(t, res.StatusCode == http.StatusForbidden, "renewing without a token: %s", res.Status)
	res, _ = e.fetch(feed)
	must(t, res.StatusCode == 200, "the feed stopped without a renewal")
	res, _ = e.do(alice, "POST", "/ui/oncall/feeds/rotate", url.Values{"csrf": {csrf}, "feed": {"schedule:primary"}})
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/oncall?did=rotated#s-primary", "renew: %s", res.Status)
	res, _ = e.fetch(feed)
	must(t, res.StatusCode == http.StatusNotFound, "the old URL after renewal: %s", res.Status)
	_, page = e.do(alice, "GET", "/ui/oncall?did=rotated", nil)
	fresh := feedURLOf(t, page, "feed-s-primary")
	res, _ = e.fetch(fresh)
	must(t, fresh != feed && res.StatusCode == 200 && strings.Contains(page, "the old one no longer works"), "the new URL: %s", res.Status)
	res, _ = e.fetch(mine)
	must(t, res.StatusCode == 200, "alice's own feed stopped with the schedule's")
	res, _ = e.do(alice, "POST", "/ui/oncall/feeds/rotate", url.Values{"csrf": {csrf}, "feed": {"person:alice"}})
	must(t, res.StatusCode == http.StatusSeeOther, "renew her own: %s", res.Status)
	res, _ = e.fetch(mine)
	must(t, res.StatusCode == http.StatusNotFound, "alice's old URL after renewal: %s", res.Status)
}

// Hostile names in schedules and people are text on the page and in the
// feed.
func TestOncallHostileNamesInert(t *testing.T) {
	evil := `x"><script>alert(1)</script>`
	e := newOncallEnv(t, console.Schedule{Name: evil, Rota: &oncall.Schedule{Layers: []oncall.Rotation{
		{People: []string{`<img src=x onerror=alert(2)>`, "\u202Eevil"}, Every: 12 * time.Hour, Start: oncallNow.Add(-time.Hour)}}}})
	c, _ := e.signIn("alice")
	res, page := e.do(c, "GET", "/ui/oncall", nil)
	must(t, res.StatusCode == 200, "on-call: %s", res.Status)
	for _, bad := range []string{"<script>alert", "<img src=x", "\u202E", `"><script`} {
		if i := strings.Index(page, bad); i >= 0 {
			t.Errorf("the page shows %q: …%s…", bad, page[max(0, i-100):min(len(page), i+100)])
		}
	}
	must(t, strings.Contains(page, "&lt;img src=x onerror=alert(2)&gt;"), "the name is not shown as text")
	_, body := e.fetch(feedURLOf(t, page, "feed-me"))
	_, err := icaltest.Parse([]byte(body))
	must(t, err == nil, "alice's feed: %v", err)
}
