package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/redisstore"
	"github.com/klaxonbot/klaxon/incidents/storetest"
	"github.com/klaxonbot/klaxon/report"
	rsuggest "github.com/klaxonbot/klaxon/report/suggest"
)

// Announce records klaxon's own messages (the weekly report).
func (f *fakeChat) Announce(ctx context.Context, dest, text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("announce"); err != nil {
		return "", err
	}
	f.announced = append(f.announced, dest+" "+text)
	return fmt.Sprintf("%s/a%d", dest, len(f.announced)), nil
}

func (f *fakeChat) announcements() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.announced...)
}

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// reportNow is Monday 9 March 2026, 09:00 in Berlin (08:00 UTC).
var reportNow = time.Date(2026, 3, 9, 9, 0, 0, 0, berlin)

func withWeekly(c *bot.Config) {
	withPeople(c)
	c.Teams[0].Report = &bot.TeamReportConfig{Weekly: "Mon 09:00", Timezone: "Europe/Berlin"}
}

// seeded is one incident of a seeded history.
type seeded struct {
	rule             string
	created          time.Time
	ack, resolve     time.Duration // after creation; 0: never
	pages            int           // mentions at creation
	notActionable    bool
	actionableAnswer bool
}

func seedHistory(t *testing.T, store incidents.Store, hist []seeded) {
	t.Helper()
	ctx := context.Background()
	for i, h := range hist {
		fp := fmt.Sprintf("h%d", i)
		a := storetest.Alert(fp, incidents.AlertFiring, h.created)
		a.Labels["alertname"] = h.rule
		b := storetest.Batch(fp, a)
		b.Team = "payments"
		r, err := store.Ingest(ctx, b, storetest.Opts(h.created))
		if err != nil {
			t.Fatal(err)
		}
		_, err = store.Update(ctx, r.Incident.ID, func(inc *incidents.Incident) error {
			for range h.pages {
				inc.RecordPage(h.created, "mention", "alice")
			}
			if h.ack > 0 {
				if err := inc.Apply(incidents.Acknowledge, "alice", "", h.created.Add(h.ack)); err != nil {
					return err
				}
			}
			if h.resolve > 0 {
				if err := inc.Apply(incidents.Resolve, "alice", "", h.created.Add(h.resolve)); err != nil {
					return err
				}
			}
			if h.notActionable || h.actionableAnswer {
				return inc.SetFeedback(h.actionableAnswer, "", "alice", h.created.Add(h.resolve+time.Minute))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// history is the week to reportNow and the week before, with known
// answers (worked out in TestNoiseReportFigures).
func history() []seeded {
	utc := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, time.UTC) }
	var out []seeded
	// DiskFull: ten at noon, nine resolved by themselves in 1–4 min, one
	// acknowledged in 2m and resolved in 30m.
	for i, m := range []int{1, 1, 2, 2, 3, 3, 4, 4, 4} {
		out = append(out, seeded{rule: "DiskFull", created: utc(3+i%3, 12, i), resolve: time.Duration(m) * time.Minute})
	}
	out = append(out, seeded{rule: "DiskFull", created: utc(5, 13, 0), ack: 2 * time.Minute, resolve: 30 * time.Minute})
	// NightPager: six at 02:00 UTC (03:00 in Berlin), a mention each,
	// acknowledged in 20m, resolved in 40m.
	for d := 3; d <= 8; d++ {
		out = append(out, seeded{rule: "NightPager", created: utc(d, 2, 0), ack: 20 * time.Minute, resolve: 40 * time.Minute, pages: 1})
	}
	// Noise: three, acknowledged in 5m, resolved in 10m, voted not
	// actionable each time.
	for d := 3; d <= 5; d++ {
		out = append(out, seeded{rule: "Noise", created: utc(d, 10, 0), ack: 5 * time.Minute, resolve: 10 * time.Minute, notActionable: true})
	}
	// The week before: two DiskFull, acknowledged in 3m, resolved in 20m.
	for d := 3; d <= 4; d++ {
		out = append(out, seeded{rule: "DiskFull", created: utc(d, 9, 0).AddDate(0, 0, -7), ack: 3 * time.Minute, resolve: 20 * time.Minute})
	}
	return out
}

func TestNoiseReportFigures(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newChatEnv(t, store(t), withWeekly)
		seedHistory(t, e.store, history())
		n, err := e.srv.NoiseReport(context.Background(), "payments", 7, reportNow)
		if err != nil {
			t.Fatal(err)
		}
		f, p := n.Report.Figures, n.Report.Previous
		if f.Incidents != 19 || f.Acknowledged != 10 || f.Resolved != 19 || f.ResolvedUnacked != 9 || f.Pages != 6 || f.Mentions != 6 ||
			f.PagesAfterHours != 6 || f.NotActionable != 3 || p.Incidents != 2 {
			t.Fatalf("figures %+v, previous %+v", f, p)
		}
		// MTTA over 2m, 5m×3, 20m×6: p50 is the 5th (20m), p90 the 9th.
		// MTTR over 1,1,2,2,3,3,4,4,4,10,10,10,30,40×6 min: the 10th, the 18th.
		if f.MTTA.P50 != 20*time.Minute || f.MTTA.P90 != 20*time.Minute || f.MTTR.P50 != 10*time.Minute || f.MTTR.P90 != 40*time.Minute {
			t.Fatalf("MTTA %+v MTTR %+v", f.MTTA, f.MTTR)
		}
		var kinds []string
		for i, r := range n.Report.Rules {
			k := "-"
			if s := n.Suggestions[i]; s != nil {
				k = s.Kind
			}
			kinds = append(kinds, r.Name+":"+k)
		}
		if got, want := strings.Join(kinds, " "), "DiskFull:self-resolving NightPager:after-hours-slow Noise:not-actionable"; got != want {
			t.Fatalf("rules %s, want %s", got, want)
		}
		d := n.Digest()
		t.Logf("the digest:\n%s", d)
		for _, want := range []string{
			"Noise report · team payments · the 7 days to Mon 9 Mar 09:00 (Europe/Berlin)",
			"Incidents: 19 (+17 on the 7 days before)",
			"Pages: 6 (+6) — 6 mentions · out of hours: 6 (+6)",
			"MTTA p50 20m (+17m) · p90 20m (+17m)",
			"MTTR p50 10m (−10m) · p90 40m (+20m)",
			"Was it actionable? 0 yes, 3 no",
			"The 3 noisiest rules:",
			"1. DiskFull (alertmanager): fired 10 times, 10% acknowledged, 90% resolved before anyone acknowledged, median 3m\n   → resolved by itself within 4m in 9 of 10 firings: give the rule `for: 10m` or make it a warning (no page)",
			"2. NightPager (alertmanager): fired 6 times, 100% acknowledged, 0% resolved before anyone acknowledged, median 40m\n   → paged 6 times out of hours, never acknowledged within 15m: is the runbook enough to act on?",
			"3. Noise (alertmanager): fired 3 times, 100% acknowledged, 0% resolved before anyone acknowledged, median 10m, 3 not actionable\n   → voted not actionable 3 of 3 times",
		} {
			if !strings.Contains(d, want) {
				t.Errorf("the digest lacks %q:\n%s", want, d)
			}
		}
	})
}

// Five rules with the longest names and hostile text: the digest stays
// within MaxDigest, keeps five rules or says how many it left out, and
// carries no control or bidi characters.
func TestNoiseDigestFits(t *testing.T) {
	e := newChatEnv(t, boltStore(t), withWeekly)
	var hist []seeded
	for r := range 8 {
		name := fmt.Sprintf("<!channel> @here <https://evil.example|click> \u202e%d ", r) + strings.Repeat("Ж", 300)
		for i := range 3 + 8 - r {
			hist = append(hist, seeded{rule: name, created: reportNow.Add(-time.Duration(1+i+10*r) * time.Hour), resolve: time.Minute})
		}
	}
	seedHistory(t, e.store, hist)
	n, err := e.srv.NoiseReport(context.Background(), "payments", 7, reportNow)
	if err != nil {
		t.Fatal(err)
	}
	d := n.Digest()
	if c := utf8.RuneCountInString(d); c > bot.MaxDigest {
		t.Fatalf("digest of %d runes", c)
	}
	if strings.ContainsRune(d, '\u202e') {
		t.Fatal("a bidi override in the digest")
	}
	if !strings.Contains(d, "The 5 noisiest rules:") || !strings.Contains(d, "+3 more rules fired") {
		t.Fatalf("digest:\n%s", d)
	}
}

func TestNoiseReportChatAndAPI(t *testing.T) {
	e := newChatEnv(t, boltStore(t), withWeekly)
	e.clock.now = reportNow
	seedHistory(t, e.store, history())
	r := e.say("UALICE", "report")
	wantReply(t, r, "Noise report · team payments · the 7 days to Mon 9 Mar 09:00")
	wantReply(t, e.say("UALICE", "report 30d"), "the 30 days to")
	wantReply(t, e.say("UALICE", "report 90d"), "the period is 7d or 30d")
	dm := e.srv.Handle(context.Background(), chatops.Request{Platform: "telegram", UserID: "111", Channel: "999", Text: "report"})
	wantReply(t, dm, "This chat is no team's")

	res := e.do("GET", "/api/v1/report?team=payments&days=7", "")
	if res.code != 200 {
		t.Fatalf("GET report: %d %s", res.code, res.body)
	}
	var got struct {
		Team    string
		Days    int
		Figures struct{ Incidents, PagesAfterHours int }
		Rules   []struct {
			Name       string
			AckShare   float64
			Suggestion *struct{ Kind, Text string }
		}
		Digest string
	}
	if err := json.Unmarshal([]byte(res.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Team != "payments" || got.Days != 7 || got.Figures.Incidents != 19 || len(got.Rules) != 3 || got.Rules[0].Suggestion == nil ||
		got.Rules[0].Suggestion.Kind != "self-resolving" || got.Rules[1].AckShare != 1 || !strings.HasPrefix(got.Digest, "Noise report") {
		t.Fatalf("GET report: %s", res.body)
	}
	for q, want := range map[string]string{
		"team=nosuch": `there is no team \"nosuch\"`, "team=payments&days=0": "a report covers 1 to 90 days", "team=payments&days=x": "days is a number",
	} {
		if res := e.do("GET", "/api/v1/report?"+q, ""); res.code != 400 || !strings.Contains(res.body, want) {
			t.Errorf("GET report?%s: %d %s", q, res.code, res.body)
		}
	}
	if res := e.do("GET", "/api/v1/report?days=30d", ""); res.code != 200 || !strings.Contains(res.body, `"days": 30`) {
		t.Errorf("GET report of the default team: %d %s", res.code, res.body)
	}
}

// Two replicas on one Redis post each week's report once to each of the
// team's channels, at the set time in the team's time zone.
func TestWeeklyReportOnceAcrossReplicas(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.Prefix("weekly")
	t.Cleanup(func() { storetest.DeleteKeys(rdb, prefix) })
	slack, tg := newFakeChat(), newFakeChat()
	clock := &fakeClock{now: reportNow.Add(-time.Minute)}
	var servers []*bot.Server
	var stores []incidents.Store
	for range 2 {
		store := redisstore.New(rdb, redisstore.Options{Prefix: prefix, ReconcileEvery: -1})
		t.Cleanup(func() { store.Close() })
		cfg := bot.DefaultConfig()
		chatConfig(cfg)
		withWeekly(cfg)
		srv, err := bot.New(cfg, bot.Deps{Store: store, Clock: clock, Logger: discardLogger(), Version: "test",
			Chats: map[string]bot.Chat{bot.Slack: slack, bot.Telegram: tg}})
		if err != nil {
			t.Fatal(err)
		}
		servers, stores = append(servers, srv), append(stores, store)
	}
	seedHistory(t, stores[0], history())
	both := func() int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for _, s := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := s.PostReports(context.Background())
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		return total
	}
	if n := both(); n != 0 {
		t.Fatalf("posted %d at 08:59", n)
	}
	clock.Add(90 * time.Second) // 09:00:30 in Berlin
	if n := both(); n != 2 {
		t.Fatalf("posted %d at 09:00, want 2 (Slack and Telegram)", n)
	}
	if n := both(); n != 0 {
		t.Fatalf("posted %d more", n)
	}
	s, g := slack.announcements(), tg.announcements()
	if len(s) != 1 || len(g) != 1 || !strings.HasPrefix(s[0], slackC+" Noise report · team payments · the 7 days to Mon 9 Mar 09:00 (Europe/Berlin)") ||
		!strings.Contains(g[0], "Incidents: 19 (+17") {
		t.Fatalf("announced: %q %q", s, g)
	}
	// A week later: again, once. Summer time has begun (29 March): 09:00
	// in Berlin is 07:00 UTC from then on.
	clock.Add(7 * 24 * time.Hour)
	if n := both(); n != 2 {
		t.Fatalf("the next week: %d", n)
	}
	clock.now = time.Date(2026, 3, 30, 6, 59, 0, 0, time.UTC)
	if n := both(); n != 0 {
		t.Fatalf("before 09:00 in summer time: %d", n)
	}
	clock.now = time.Date(2026, 3, 30, 7, 0, 1, 0, time.UTC)
	if n := both(); n != 2 {
		t.Fatalf("at 09:00 in summer time: %d", n)
	}
	// klaxon down past the grace: that week's report is skipped.
	clock.now = time.Date(2026, 4, 6, 7, 0, 0, 0, time.UTC).Add(7 * time.Hour)
	if n := both(); n != 0 {
		t.Fatalf("7 hours late: %d", n)
	}
	if len(slack.announcements()) != 3 {
		t.Fatalf("slack got %d reports", len(slack.announcements()))
	}
}

// A rate-limited post is tried again at the next tick; a refused one is
// not (it is never sent twice).
func TestWeeklyReportRetries(t *testing.T) {
	e := newChatEnv(t, boltStore(t), withWeekly)
	e.clock.now = reportNow
	e.slack.failNext("announce", &chatErr{code: "ratelimited", retry: true, after: time.Millisecond})
	e.tg.failNext("announce", &chatErr{code: "chat_not_found"})
	if n := e.srv.PostReports(context.Background()); n != 0 {
		t.Fatalf("posted %d", n)
	}
	// The 429's Retry-After holds on the wall clock the rate limits keep.
	waitFor(t, 5*time.Second, "the retry", func() bool { return e.srv.PostReports(context.Background()) == 1 })
	if n := e.srv.PostReports(context.Background()); n != 0 {
		t.Fatalf("posted %d more", n)
	}
	if len(e.slack.announcements()) != 1 || len(e.tg.announcements()) != 0 {
		t.Fatalf("slack %d, telegram %d", len(e.slack.announcements()), len(e.tg.announcements()))
	}
}

// FuzzDigest: whatever the rules are called and whatever the figures, the
// digest is valid UTF-8 within MaxDigest runes, without control (but
// newline) or bidi characters, and names the team.
func FuzzDigest(f *testing.F) {
	f.Add("DiskFull", "alertmanager", 10, 9, 2, "\u202e<!channel>")
	f.Add(strings.Repeat("Ж", 400), "\x00\xff", 1000000, 0, 99, "@here\n\r\t")
	f.Fuzz(func(t *testing.T, name, source string, fired, unacked, flaps int, other string) {
		to := reportNow
		var stats []incidents.Stat
		for i, n := range []string{name, other, name + other, other + "x", "y" + name, "z"} {
			st := incidents.Stat{Number: int64(i + 1), Team: "payments", CreatedAt: to.Add(-time.Duration(i+1) * time.Hour),
				Rules: []incidents.RuleCount{{Source: source, Name: n, Fired: 1 + abs(fired)%1000}}, Flaps: abs(flaps) % 100}
			if i%2 == 0 || abs(unacked)%2 == 1 {
				st.ResolvedAt = st.CreatedAt.Add(time.Minute)
			}
			stats = append(stats, st)
		}
		rep := report.Build(stats, report.Options{From: to.Add(-7 * 24 * time.Hour), To: to, Location: berlin, Rules: 5})
		n := &bot.Noise{Team: "payments", Days: 7, Report: rep, Suggestions: make([]*rsuggest.Suggestion, len(rep.Rules))}
		for i, r := range rep.Rules {
			if sg, ok := rsuggest.For(r.Now); ok {
				n.Suggestions[i] = &sg
			}
		}
		d := n.Digest()
		if !utf8.ValidString(d) || utf8.RuneCountInString(d) > bot.MaxDigest || !strings.Contains(d, "team payments") {
			t.Fatalf("digest of %d runes:\n%q", utf8.RuneCountInString(d), d)
		}
		for _, r := range d {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("character %U in the digest:\n%q", r, d)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the smallest int
			return 0
		}
		return -n
	}
	return n
}
