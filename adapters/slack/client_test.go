package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const ch = "C0KLAXON1"

func testSign(id string, a templates.Action) string { return id + "." + testKey(a) }

func newClient(t *testing.T, s *slackfake.Server, mod ...func(*Options)) *Client {
	t.Helper()
	o := Options{Token: s.Token(), APIURL: s.URL(), Sign: testSign}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newFake(t *testing.T, o slackfake.Options) *slackfake.Server {
	t.Helper()
	s := slackfake.New(o)
	t.Cleanup(s.Close)
	return s
}

func noViolations(t *testing.T, s *slackfake.Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("the fake saw %d violations: %v", len(v), v)
	}
}

// slackErr asserts err is an *Error with code and temp.
func slackErr(t *testing.T, err error, code string, temp bool) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *slack.Error", err, err)
	}
	if e.Code != code || e.Temp != temp || e.ErrorCode() != code || e.Retryable() != temp {
		t.Errorf("error %q: code %q temp %v, want %q %v", e.Error(), e.Code, e.Temp, code, temp)
	}
	if !strings.HasPrefix(e.Error(), "slack "+e.Op+": "+code) {
		t.Errorf("Error() = %q", e.Error())
	}
	return e
}

func TestNew(t *testing.T) {
	for name, o := range map[string]Options{
		"no token":   {},
		"space":      {Token: "xoxb-a b"},
		"bad url":    {Token: "x", APIURL: "ftp://slack.com/api/"},
		"relative":   {Token: "x", APIURL: "/api/"},
		"user in it": {Token: "x", APIURL: "https://u:p@slack.com/api/"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
	c, err := New(Options{Token: "xoxb-1"})
	if err != nil || c == nil {
		t.Fatalf("New with defaults: %v", err)
	}
	// No trailing slash: New adds it.
	s := newFake(t, slackfake.Options{})
	c = newClient(t, s, func(o *Options) { o.APIURL = strings.TrimSuffix(s.URL(), "/") })
	if _, err := c.Post(context.Background(), ch, paymentsCards(t)["triggered"]); err != nil {
		t.Fatal(err)
	}
}

func TestValidDest(t *testing.T) {
	for _, d := range []string{"C0123", "C0123ABCDEF", "G01ABCDEF", "D024BE91L"} {
		if err := ValidDest(d); err != nil {
			t.Errorf("ValidDest(%q): %v", d, err)
		}
	}
	for _, d := range []string{"", "#general", "general", "c0123", "U0123ABC", "C0", "C01-23", "C0123/1.2", strings.Repeat("C", 40)} {
		if err := ValidDest(d); err == nil {
			t.Errorf("ValidDest(%q) accepted it", d)
		}
	}
	if err := ValidDest("#general"); !strings.Contains(err.Error(), "names are not accepted") {
		t.Errorf("unclear message: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	if c, ts, err := ParseRef("C0123/1712345678.000100"); err != nil || c != "C0123" || ts != "1712345678.000100" {
		t.Errorf("ParseRef: %q %q %v", c, ts, err)
	}
	for _, r := range []string{"", "C0123", "C0123/", "/1.2", "C0123/abc", "x/1.2", "C0123/1.2/3"} {
		if _, _, err := ParseRef(r); err == nil {
			t.Errorf("ParseRef(%q) accepted it", r)
		}
	}
}

// TestLifecycle posts a card, updates it in place, threads a reply under
// it and finds it again.
func TestLifecycle(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}})
	c := newClient(t, s)
	ctx := context.Background()
	cards := paymentsCards(t)

	ref, err := c.Post(ctx, ch, cards["triggered"])
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^` + ch + `/[0-9]+\.[0-9]{6}$`).MatchString(ref) {
		t.Fatalf("ref %q", ref)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 1 || msgs[0].Ref != ref || msgs[0].IncidentID != "INC-42" || msgs[0].Edits != 0 {
		t.Fatalf("after Post: %+v", msgs)
	}
	m := msgs[0]
	if !strings.Contains(string(m.Blocks), `"klaxon:ack"`) || !strings.Contains(string(m.Blocks), `"INC-42.k1.42.ack.MAC"`) {
		t.Errorf("the card lacks its signed ack button: %s", m.Blocks)
	}
	if !strings.HasPrefix(m.Text, "🔴 SEV1 · Payments") {
		t.Errorf("text %q", m.Text)
	}

	if err := c.Update(ctx, ref, cards["acknowledged"]); err != nil {
		t.Fatal(err)
	}
	msgs = s.Messages(ch)
	if len(msgs) != 1 || msgs[0].Edits != 1 || !strings.Contains(msgs[0].Text, "Acknowledged") ||
		!strings.Contains(string(msgs[0].Blocks), `"klaxon:resolve"`) || msgs[0].IncidentID != "INC-42" {
		t.Fatalf("after Update: %+v", msgs)
	}

	events := []incidents.Event{
		{At: cardtest.T0.Add(5 * time.Minute), Kind: incidents.EventAcknowledged, Actor: "alice"},
		{At: cardtest.T0.Add(6 * time.Minute), Kind: incidents.EventSeverity, Text: "<!channel> severity SEV2 → SEV1"},
	}
	if err := c.Reply(ctx, ref, events); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(ctx, ref, nil); err != nil { // no events, no call
		t.Fatal(err)
	}
	msgs = s.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Replies) != 1 {
		t.Fatalf("after Reply: %+v", msgs)
	}
	want := "12:05 UTC · Acknowledged by alice\n12:06 UTC · &lt;!channel&gt; severity SEV2 → SEV1"
	if got := msgs[0].Replies[0]; got != want {
		t.Errorf("reply %q, want %q", got, want)
	}
	// What shows is plain_text: nothing in it can mention, link or format.
	shown := `[{"type":"section","text":{"type":"plain_text","text":"12:05 UTC · Acknowledged by alice\n12:06 UTC · \u003c!channel\u003e severity SEV2 → SEV1","emoji":true},"block_id":"reply"}]`
	if got := string(msgs[0].ReplyBlocks[0]); got != shown {
		t.Errorf("reply blocks %s, want %s", got, shown)
	}

	got, err := c.Find(ctx, ch, "INC-42", time.Now().Add(-time.Minute))
	if err != nil || got != ref {
		t.Errorf("Find = %q, %v; want %q", got, err, ref)
	}
	if got, err := c.Find(ctx, ch, "INC-43", time.Now().Add(-time.Minute)); err != nil || got != "" {
		t.Errorf("Find of another incident = %q, %v", got, err)
	}
	if got, err := c.Find(ctx, ch, "INC-42", time.Now().Add(time.Minute)); err != nil || got != "" {
		t.Errorf("Find since after the post = %q, %v", got, err)
	}
	calls := s.Calls()
	if calls["chat.postMessage"] != 2 || calls["chat.update"] != 1 || calls["conversations.history"] != 3 {
		t.Errorf("calls %v", calls)
	}
	noViolations(t, s)
}

func TestNoSigner(t *testing.T) {
	s := newFake(t, slackfake.Options{})
	c := newClient(t, s, func(o *Options) { o.Sign = nil })
	if _, err := c.Post(context.Background(), ch, paymentsCards(t)["triggered"]); err != nil {
		t.Fatal(err)
	}
	b := string(s.Messages(ch)[0].Blocks)
	if strings.Contains(b, ActionIDPrefix) || !strings.Contains(b, LinkActionIDPrefix) {
		t.Errorf("without Sign: want link buttons only, got %s", b)
	}
}

// Find looks from the mark forward through the whole window, paging as
// far as it takes: no number of newer messages hides the card, and the
// calls follow the window's messages, not the channel's.
func TestFindWindow(t *testing.T) {
	s := newFake(t, slackfake.Options{})
	c := newClient(t, s)
	ctx := context.Background()
	mark := time.Now().Add(-time.Hour).Truncate(time.Second) // "about to post"
	since := mark.Add(-time.Minute)                          // as the outbox asks
	card := s.AddAt(ch, "card", "INC-1", mark.Add(800*time.Millisecond))
	for i := range 6000 { // a busy channel right after the card
		s.AddAt(ch, "chatter", "", mark.Add(time.Second+time.Duration(i)*20*time.Millisecond))
	}
	history := func() int { return s.Calls()["conversations.history"] }
	before := history()
	if got, err := c.Find(ctx, ch, "INC-1", since); err != nil || got != card {
		t.Fatalf("Find under 6,000 newer messages = %q, %v; want %q", got, err, card)
	}
	inWindow := history() - before
	if inWindow > 6001/999+1 {
		t.Errorf("Find made %d calls for 6,001 messages in its window", inWindow)
	}
	// Far more outside the window (before it, and long after: klaxon was
	// down for hours) costs no more calls.
	for i := range 5000 {
		s.AddAt(ch, "old", "", since.Add(-time.Hour+time.Duration(i)*time.Millisecond))
		s.AddAt(ch, "later", "", mark.Add(FindWindow+time.Hour+time.Duration(i)*time.Millisecond))
	}
	before = history()
	if got, err := c.Find(ctx, ch, "INC-1", since); err != nil || got != card {
		t.Fatalf("Find = %q, %v; want %q", got, err, card)
	}
	if n := history() - before; n != inWindow {
		t.Errorf("Find made %d calls with 10,000 messages outside its window, %d without", n, inWindow)
	}
	if p := s.LastParams("conversations.history"); p["oldest"] == "" || p["latest"] == "" || p["inclusive"] != "1" {
		t.Errorf("conversations.history arguments %v: want oldest, latest and inclusive", p)
	}
	noViolations(t, s)
}

// A card outside the window is not the one an interrupted post made: Find
// says there is none, and the outbox posts the missing card.
func TestFindOutsideWindow(t *testing.T) {
	s := newFake(t, slackfake.Options{})
	c := newClient(t, s)
	ctx := context.Background()
	mark := time.Now().Add(-time.Hour).Truncate(time.Second)
	since := mark.Add(-time.Minute)
	s.AddAt(ch, "an older card", "INC-1", since.Add(-time.Second))
	s.AddAt(ch, "a later card", "INC-1", since.Add(FindWindow+time.Second))
	s.AddAt(ch, "another incident's card", "INC-2", mark)
	if got, err := c.Find(ctx, ch, "INC-1", since); err != nil || got != "" {
		t.Errorf("Find = %q, %v; want none", got, err)
	}
	edge := s.AddAt(ch, "at the window's start", "INC-1", since)
	if got, err := c.Find(ctx, ch, "INC-1", since); err != nil || got != edge {
		t.Errorf("Find = %q, %v; want the card at since, %q", got, err, edge)
	}
	before := s.Calls()["conversations.history"]
	if got, err := c.Find(ctx, ch, "INC-1", time.Time{}); err != nil || got != "" || s.Calls()["conversations.history"] != before {
		t.Errorf("Find with no mark = %q, %v; want none, without a call", got, err)
	}
	noViolations(t, s)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	card := paymentsCards(t)["triggered"]

	t.Run("rate limited", func(t *testing.T) {
		s := newFake(t, slackfake.Options{PerChannel: rate.Every(time.Hour), Burst: 1})
		c := newClient(t, s)
		if _, err := c.Post(ctx, ch, card); err != nil {
			t.Fatal(err)
		}
		_, err := c.Post(ctx, ch, card)
		e := slackErr(t, err, "rate_limited", true)
		if e.Status != http.StatusTooManyRequests || e.Wait != time.Hour || e.RetryAfter() != time.Hour {
			t.Errorf("status %d wait %v", e.Status, e.Wait)
		}
		if s.RateLimited() != 1 {
			t.Errorf("RateLimited %d", s.RateLimited())
		}
	})
	t.Run("updates rate limited", func(t *testing.T) {
		s := newFake(t, slackfake.Options{UpdatesPerMinute: 1})
		c := newClient(t, s)
		ref, err := c.Post(ctx, ch, card)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Update(ctx, ref, card); err != nil {
			t.Fatal(err)
		}
		e := slackErr(t, c.Update(ctx, ref, card), "rate_limited", true)
		if e.Wait <= 0 || e.Wait > time.Minute {
			t.Errorf("wait %v", e.Wait)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		s.Fail("chat.postMessage", 1, http.StatusServiceUnavailable, "service_unavailable")
		c := newClient(t, s)
		_, err := c.Post(ctx, ch, card)
		if e := slackErr(t, err, "http_503", true); e.Status != 503 {
			t.Errorf("status %d", e.Status)
		}
		if _, err := c.Post(ctx, ch, card); err != nil {
			t.Errorf("after the failure: %v", err)
		}
	})
	t.Run("internal_error", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		s.Fail("chat.update", 1, http.StatusOK, "internal_error")
		c := newClient(t, s)
		slackErr(t, c.Update(ctx, ch+"/1.000001", card), "internal_error", true)
	})
	t.Run("429 without Retry-After", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		s.Fail("chat.postMessage", 1, http.StatusTooManyRequests, "ratelimited")
		c := newClient(t, s)
		_, err := c.Post(ctx, ch, card)
		if e := slackErr(t, err, "rate_limited", true); e.Wait != time.Second {
			t.Errorf("wait %v", e.Wait)
		}
	})
	t.Run("channel not found", func(t *testing.T) {
		s := newFake(t, slackfake.Options{Channels: []string{ch}})
		c := newClient(t, s)
		_, err := c.Post(ctx, "C0OTHER", card)
		if e := slackErr(t, err, "channel_not_found", false); e.Error() != "slack chat.postMessage: channel_not_found" {
			t.Errorf("Error() = %q", e.Error())
		}
		_, err = c.Find(ctx, "C0OTHER", "INC-42", time.Now())
		slackErr(t, err, "channel_not_found", false)
	})
	t.Run("bad dest", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		c := newClient(t, s)
		_, err := c.Post(ctx, "#general", card)
		slackErr(t, err, "bad_dest", false)
		if len(s.Calls()) != 0 {
			t.Errorf("calls %v", s.Calls())
		}
	})
	t.Run("invalid token", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		const secret = "xoxb-wrong-secret-token"
		c := newClient(t, s, func(o *Options) { o.Token = secret })
		_, err := c.Post(ctx, ch, card)
		e := slackErr(t, err, "invalid_auth", false)
		if strings.Contains(e.Error(), secret) {
			t.Errorf("the error shows the token: %q", e.Error())
		}
	})
	t.Run("network", func(t *testing.T) {
		s := slackfake.New(slackfake.Options{})
		s.Close()
		c := newClient(t, s, func(o *Options) { o.Token = "xoxb-secret-net" })
		_, err := c.Post(ctx, ch, card)
		e := slackErr(t, err, "network", true)
		if strings.Contains(e.Error(), "xoxb-secret-net") {
			t.Errorf("the error shows the token: %q", e.Error())
		}
	})
	t.Run("http timeout", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		s.SetLatency(2 * time.Second)
		c := newClient(t, s, func(o *Options) { o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} })
		_, err := c.Post(ctx, ch, card)
		slackErr(t, err, "timeout", true)
	})
	t.Run("canceled", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		s.SetLatency(2 * time.Second)
		c := newClient(t, s)
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(30*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Post(cctx, ch, card)
		slackErr(t, err, "canceled", true)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v is not context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Post returned after %v", d)
		}
	})
	t.Run("message gone", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		c := newClient(t, s)
		ref, err := c.Post(ctx, ch, card)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Delete(ref) {
			t.Fatal("Delete")
		}
		slackErr(t, c.Update(ctx, ref, card), "message_not_found", false)
		slackErr(t, c.Reply(ctx, ref, []incidents.Event{{Kind: incidents.EventResolved}}), "message_not_found", false)
	})
	t.Run("bad ref", func(t *testing.T) {
		s := newFake(t, slackfake.Options{})
		c := newClient(t, s)
		for _, ref := range []string{"", "nonsense", "C0123/", "C0123/abc"} {
			slackErr(t, c.Update(ctx, ref, card), "bad_ref", false)
			slackErr(t, c.Reply(ctx, ref, []incidents.Event{{Kind: incidents.EventResolved}}), "bad_ref", false)
		}
		if len(s.Calls()) != 0 {
			t.Errorf("calls %v", s.Calls())
		}
	})
}

// TestStorm posts and updates the card of a 1000-alert incident.
func TestStorm(t *testing.T) {
	s := newFake(t, slackfake.Options{})
	c := newClient(t, s)
	storm := card(t, cardtest.Storm(1000), cardtest.T0.Add(time.Hour))
	ref, err := c.Post(context.Background(), ch, storm)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(context.Background(), ref, hugeCard(2000, 50, 50, 50)); err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
}

func TestReplyFits(t *testing.T) {
	s := newFake(t, slackfake.Options{})
	c := newClient(t, s)
	ref, err := c.Post(context.Background(), ch, paymentsCards(t)["triggered"])
	if err != nil {
		t.Fatal(err)
	}
	events := make([]incidents.Event, 500)
	for i := range events {
		events[i] = incidents.Event{At: cardtest.T0.Add(time.Duration(i) * time.Second), Kind: incidents.EventAlertsFiring,
			Text: fmt.Sprintf("alert %d of the storm <@U123> & friends", i)}
	}
	if err := c.Reply(context.Background(), ref, events); err != nil {
		t.Fatal(err)
	}
	reply := s.Messages(ch)[0].Replies[0]
	lines := strings.Split(reply, "\n")
	wantMore := fmt.Sprintf("+%d more events", 500-(len(lines)-1))
	if u16(reply) > MaxReplyLen || lines[len(lines)-1] != wantMore || len(lines) < 10 {
		t.Errorf("reply of %d units, %d lines, last %q (want %q)", u16(reply), len(lines), lines[len(lines)-1], wantMore)
	}
	if lines[0] != "12:00 UTC · alert 0 of the storm &lt;@U123&gt; &amp; friends" {
		t.Errorf("first line %q", lines[0])
	}
	noViolations(t, s)
}

func TestReplyText(t *testing.T) {
	long := incidents.Event{Kind: incidents.EventSeverity, Text: strings.Repeat("x", 5000)}
	short := incidents.Event{Kind: incidents.EventResolved}
	amps := incidents.Event{Kind: incidents.EventSeverity, Text: strings.Repeat("&", 2000)}
	for name, tc := range map[string]struct {
		events []incidents.Event
		last   string
	}{
		"one":             {[]incidents.Event{short}, "Resolved"},
		"long":            {[]incidents.Event{long}, "x…"},
		"long then short": {[]incidents.Event{long, short}, "Resolved"},
		"two long":        {[]incidents.Event{long, long, short}, "+2 more events"},
		"entities":        {[]incidents.Event{amps, long}, "+1 more event"},
	} {
		got := ReplyText(tc.events)
		lines := strings.Split(got, "\n")
		if u16(got) > MaxReplyLen || !strings.HasSuffix(lines[len(lines)-1], tc.last) {
			t.Errorf("%s: %d units, last line %q, want %q", name, u16(got), truncate(lines[len(lines)-1], 40), tc.last)
		}
		if name == "entities" && !strings.HasSuffix(lines[0], "&amp;…") {
			t.Errorf("the first line splits an entity: %q", lines[0][len(lines[0])-20:])
		}
	}
}

func TestConcurrent(t *testing.T) {
	s := newFake(t, slackfake.Options{})
	c := newClient(t, s)
	cards := paymentsCards(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			ref, err := c.Post(context.Background(), ch, cards["triggered"])
			if err != nil {
				errs <- err
				return
			}
			if err := c.Update(context.Background(), ref, cards["resolved"]); err != nil {
				errs <- err
			}
			if err := c.Reply(context.Background(), ref, []incidents.Event{{Kind: incidents.EventResolved, Actor: fmt.Sprint(i)}}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 20 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, m := range msgs {
		if m.Edits != 1 || len(m.Replies) != 1 {
			t.Errorf("%s: %d edits, %d replies", m.Ref, m.Edits, len(m.Replies))
		}
	}
	noViolations(t, s)
}

// A server that pages without end cannot keep Find looping.
func TestFindCursorLoop(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"messages":[],"has_more":true,"response_metadata":{"next_cursor":"c2FtZQ=="}}`)
	}))
	defer srv.Close()
	c, err := New(Options{Token: "xoxb-x", APIURL: srv.URL + "/api/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Find(context.Background(), ch, "INC-1", time.Now())
	if e := slackErr(t, err, "bad_response", false); !strings.Contains(e.Error(), "cursor") || calls != 2 {
		t.Errorf("%v after %d calls", e, calls)
	}
}
