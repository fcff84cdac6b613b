package mattermost_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const (
	chA       = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	chB       = "bbbbbbbbbbbbbbbbbbbbbbbbbb"
	actionURL = "https://klaxon.example.com/mattermost/actions"
)

// sign is the tests' key: it names the incident, the action and the
// channel.
func sign(channel, id string, a templates.Action) string {
	return "sig." + id + "." + string(a.ID) + "." + channel
}

func newClient(t *testing.T, s *mattermostfake.Server, token string) *mattermost.Client {
	t.Helper()
	c, err := mattermost.New(mattermost.Options{URL: s.URL(), Token: token, ActionURL: actionURL, Sign: sign,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cardOf(t testing.TB, inc *incidents.Incident, now time.Time) *templates.Card {
	t.Helper()
	c, err := templates.MustBuiltin().Card(inc, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mmErr(t *testing.T, err error) *mattermost.Error {
	t.Helper()
	var e *mattermost.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *mattermost.Error", err, err)
	}
	return e
}

func TestPostUpdateReplyFind(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	inc := cardtest.Payments()
	t0 := time.Now()
	card := cardOf(t, inc, cardtest.T0.Add(time.Minute))

	ref, err := c.Post(ctx, chA, card)
	if err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(chA)
	if len(ms) != 1 || ms[0].Ref != ref || ms[0].IncidentID != inc.ID || ms[0].Edits != 0 {
		t.Fatalf("after Post: %+v", ms)
	}
	if a := ms[0].Attachment; len(a) != 1 || len(a[0].Actions) == 0 ||
		a[0].Actions[0].Integration.URL != actionURL ||
		!strings.HasPrefix(fmt.Sprint(a[0].Actions[0].Integration.Context["key"]), "sig."+inc.ID+".") {
		t.Errorf("attachment %+v", a)
	}

	inc.State = incidents.Acknowledged
	if err := c.Update(ctx, ref, cardOf(t, inc, cardtest.T0.Add(2*time.Minute))); err != nil {
		t.Fatal(err)
	}
	events := []incidents.Event{
		{At: cardtest.T0.Add(2 * time.Minute), Kind: incidents.EventAcknowledged, Actor: "alice", Text: "Acknowledged by @alice"},
		{At: cardtest.T0.Add(3 * time.Minute), Kind: incidents.EventSeverity, Text: "Severity set to SEV2"},
	}
	if err := c.Reply(ctx, ref, events); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	ms = s.Messages(chA)
	if len(ms) != 1 || ms[0].Edits != 1 || !strings.Contains(ms[0].Text, "Acknowledged") || ms[0].IncidentID != inc.ID {
		t.Fatalf("after Update: %+v", ms)
	}
	want := mattermost.EventText(events[0]) + "\n" + mattermost.EventText(events[1])
	if len(ms[0].Replies) != 1 || ms[0].Replies[0] != want {
		t.Fatalf("replies %q, want %q", ms[0].Replies, want)
	}
	if strings.Contains(ms[0].Replies[0], "@alice") {
		t.Error("a mention went through")
	}

	got, err := c.Find(ctx, chA, inc.ID, t0)
	if err != nil || got != ref {
		t.Fatalf("Find = %q, %v; want %q", got, err, ref)
	}
	if got, err := c.Find(ctx, chA, "INC-999", t0); err != nil || got != "" {
		t.Errorf("Find other = %q, %v", got, err)
	}
	if got, err := c.Find(ctx, chA, inc.ID, time.Now().Add(time.Hour)); err != nil || got != "" {
		t.Errorf("Find later = %q, %v", got, err)
	}
	if got, err := c.Find(ctx, chA, inc.ID, time.Time{}); err != nil || got != "" {
		t.Errorf("Find with no mark = %q, %v", got, err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

// findCalls counts the posts API calls Find makes.
func findCalls(s *mattermostfake.Server) int { return findCalls2(s.Calls()) }

func findCalls2(c map[string]int) int {
	return c["GetPostsSince"] + c["GetPostsAfter"] + c["GetPostsBefore"] + c["GetPostsForChannel"]
}

// Find looks from the mark forward through the whole window, paging as far
// as it takes: no number of newer posts hides the card, and the calls
// follow the window's posts (plus a search that grows with the logarithm
// of the newer ones), not the channel's.
func TestFindWindow(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	mark := time.Now().Add(-time.Hour).Truncate(time.Second)
	since := mark.Add(-time.Minute)
	for i := range 3000 { // the channel's past
		s.AddAt(chA, "old", "", since.Add(-time.Hour+time.Duration(i)*time.Second))
	}
	card := s.AddAt(chA, "card", "INC-1", mark.Add(800*time.Millisecond))
	for i := range 6000 { // a busy channel right after the card
		s.AddAt(chA, "chatter", "", mark.Add(time.Second+time.Duration(i)*20*time.Millisecond))
	}
	before := findCalls(s)
	if got, err := c.Find(ctx, chA, "INC-1", since); err != nil || got != card {
		t.Fatalf("Find under 6,000 newer posts = %q, %v; want %q", got, err, card)
	}
	// 6,001 posts since the mark: a search of about 2·log2(6001/200) pages
	// and the first page after the mark.
	if n := findCalls(s) - before; n > 14 {
		t.Errorf("Find made %d calls", n)
	}
	// Not there: every post of the window is read, 200 a call, and posts
	// long after it (klaxon was down for hours) add only to the search.
	for i := range 10000 {
		s.AddAt(chA, "later", "", mark.Add(mattermost.FindWindow+time.Hour+time.Duration(i)*time.Millisecond))
	}
	calls := s.Calls()
	if got, err := c.Find(ctx, chA, "INC-2", since); err != nil || got != "" {
		t.Fatalf("Find of a card never posted = %q, %v", got, err)
	}
	// 16,001 posts newer than since: 81 pages, searched in 2·⌈log2 81⌉+2;
	// then the window's 6,001 posts, 200 a call.
	search, read := s.Calls()["GetPostsForChannel"]-calls["GetPostsForChannel"], s.Calls()["GetPostsAfter"]-calls["GetPostsAfter"]
	if search > 16 || read > 6001/200+1 || findCalls(s)-findCalls2(calls) != search+read {
		t.Errorf("Find made %d search calls and read %d pages for a window of 6,001 posts (calls %v)", search, read, s.Calls())
	}
	if v := s.Violations(); len(v) != 0 {
		t.Error(v)
	}
}

// A card outside the window is not the one an interrupted post made: Find
// says there is none, and the outbox posts the missing card. A channel
// whose every post is in the window is read from its first.
func TestFindOutsideWindow(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	mark := time.Now().Add(-time.Hour).Truncate(time.Second)
	since := mark.Add(-time.Minute)
	if got, err := c.Find(ctx, chA, "INC-1", since); err != nil || got != "" {
		t.Errorf("Find in an empty channel = %q, %v", got, err)
	}
	first := s.AddAt(chA, "the channel's first post, at since", "INC-1", since)
	for i := range 450 {
		s.AddAt(chA, "chatter", "", since.Add(time.Duration(i+1)*100*time.Millisecond))
	}
	if got, err := c.Find(ctx, chA, "INC-1", since); err != nil || got != first {
		t.Errorf("Find = %q, %v; want the channel's first post %q", got, err, first)
	}
	s.Delete(first)
	s.AddAt(chA, "an older card", "INC-1", since.Add(-time.Millisecond))
	s.AddAt(chA, "a later card", "INC-1", since.Add(mattermost.FindWindow+time.Millisecond))
	s.AddAt(chA, "another incident's card", "INC-2", mark)
	if got, err := c.Find(ctx, chA, "INC-1", since); err != nil || got != "" {
		t.Errorf("Find = %q, %v; want none", got, err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Error(v)
	}
}

func TestNoButtonsWithoutSign(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c, err := mattermost.New(mattermost.Options{URL: s.URL() + "/", Token: s.Token(), ActionURL: actionURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(context.Background(), chA, cardOf(t, cardtest.Payments(), cardtest.T0)); err != nil {
		t.Fatal(err)
	}
	if a := s.Messages(chA)[0].Attachment; len(a) != 1 || len(a[0].Actions) != 0 {
		t.Errorf("buttons without Sign: %+v", a)
	}
}

func TestStormAndLongReply(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	card := cardOf(t, cardtest.Storm(1000), cardtest.T0.Add(time.Hour))
	ref, err := c.Post(ctx, chA, card)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, ref, card); err != nil {
		t.Fatal(err)
	}
	events := make([]incidents.Event, 500)
	for i := range events {
		events[i] = incidents.Event{At: cardtest.T0.Add(time.Duration(i) * time.Second), Kind: incidents.EventAlertsFiring,
			Text: strings.Repeat(fmt.Sprintf("alert %d fired on pay-%d:9100 ", i, i), 10)}
	}
	if err := c.Reply(ctx, ref, events); err != nil {
		t.Fatal(err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
	r := s.Messages(chA)[0].Replies[0]
	lines := strings.Split(r, "\n")
	last := lines[len(lines)-1]
	if n := utf8.RuneCountInString(r); n > mattermost.MaxRunes || n < mattermost.MaxRunes-1100 {
		t.Errorf("reply of %d runes", n)
	}
	if want := fmt.Sprintf(`\+%d more events`, 500-(len(lines)-1)); last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	if lines[0] != mattermost.EventText(events[0]) {
		t.Errorf("first line %q", lines[0])
	}
}

func TestReplyText(t *testing.T) {
	e := incidents.Event{At: cardtest.T0, Text: "x"}
	if got := mattermost.ReplyText([]incidents.Event{e}); got != "`12:00 UTC` · x" {
		t.Errorf("one event: %q", got)
	}
	big := incidents.Event{Text: strings.Repeat("y ", 600)}
	many := make([]incidents.Event, 40)
	for i := range many {
		many[i] = big
	}
	got := mattermost.ReplyText(many)
	if utf8.RuneCountInString(got) > mattermost.MaxRunes || !strings.HasSuffix(got, " more events") {
		t.Errorf("%d runes, ends %q", utf8.RuneCountInString(got), got[len(got)-20:])
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	card := cardOf(t, cardtest.Payments(), cardtest.T0)

	t.Run("rate limited", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{PerSecond: 1, Burst: 1})
		defer s.Close()
		c := newClient(t, s, s.Token())
		if _, err := c.Post(ctx, chA, card); err != nil {
			t.Fatal(err)
		}
		_, err := c.Post(ctx, chA, card)
		e := mmErr(t, err)
		if e.Code != mattermost.CodeRateLimited || !e.Retryable() || e.RetryAfter() != time.Second || e.Status != 429 || e.ErrorCode() != e.Code {
			t.Errorf("%+v", e)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		defer s.Close()
		c := newClient(t, s, s.Token())
		s.Fail("CreatePost", 1, 503, "api.server.unavailable")
		_, err := c.Post(ctx, chA, card)
		e := mmErr(t, err)
		if e.Code != "api.server.unavailable" || !e.Temp || e.Status != 503 {
			t.Errorf("%+v", e)
		}
	})
	t.Run("unknown channel", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
		defer s.Close()
		c := newClient(t, s, s.Token())
		_, err := c.Post(ctx, chB, card)
		e := mmErr(t, err)
		if e.Code != "api.context.permissions.app_error" || e.Temp || e.Status != 403 {
			t.Errorf("%+v", e)
		}
		_, err = c.Find(ctx, chB, "INC-42", time.Now())
		if e := mmErr(t, err); e.Code != "app.channel.get.existing.app_error" || e.Temp || e.Status != 404 {
			t.Errorf("Find: %+v", e)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		defer s.Close()
		c := newClient(t, s, "not-the-token-xyz")
		_, err := c.Post(ctx, chA, card)
		e := mmErr(t, err)
		if e.Code != "api.context.session_expired.app_error" || e.Temp || e.Status != 401 {
			t.Errorf("%+v", e)
		}
		if strings.Contains(err.Error(), "not-the-token-xyz") {
			t.Errorf("token in %q", err)
		}
	})
	t.Run("network", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		c := newClient(t, s, "secret-token-abc")
		s.Close()
		_, err := c.Post(ctx, chA, card)
		e := mmErr(t, err)
		if e.Code != mattermost.CodeNetwork || !e.Temp || e.Status != 0 || strings.Contains(err.Error(), "secret-token-abc") {
			t.Errorf("%+v: %v", e, err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		defer s.Close()
		c := newClient(t, s, s.Token())
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Post(cctx, chA, card)
		e := mmErr(t, err)
		if e.Code != mattermost.CodeCanceled || !e.Temp || !errors.Is(err, context.Canceled) {
			t.Errorf("%+v", e)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		defer s.Close()
		c := newClient(t, s, s.Token())
		s.SetLatency(2 * time.Second)
		tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		_, err := c.Post(tctx, chA, card)
		if e := mmErr(t, err); e.Code != mattermost.CodeTimeout || !e.Temp {
			t.Errorf("%+v", e)
		}
		s.SetLatency(0)
	})
	t.Run("message gone", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		defer s.Close()
		c := newClient(t, s, s.Token())
		ref, err := c.Post(ctx, chA, card)
		if err != nil {
			t.Fatal(err)
		}
		s.Delete(ref)
		e := mmErr(t, c.Update(ctx, ref, card))
		if e.Code != mattermost.CodeMessageNotFound || e.Temp {
			t.Errorf("Update: %+v", e)
		}
		e = mmErr(t, c.Reply(ctx, ref, []incidents.Event{{Text: "x"}}))
		if e.Code != mattermost.CodeMessageNotFound || e.Temp {
			t.Errorf("Reply: %+v", e)
		}
		// A 404 on the patch itself means the same.
		s.Fail("PatchPost", 1, 404, "app.post.get.app_error")
		if e := mmErr(t, c.Update(ctx, ref, card)); e.Code != mattermost.CodeMessageNotFound {
			t.Errorf("404: %+v", e)
		}
		// A 403 for a post that exists stays a permission error.
		ref2, err := c.Post(ctx, chA, card)
		if err != nil {
			t.Fatal(err)
		}
		s.Fail("PatchPost", 1, 403, "api.context.permissions.app_error")
		if e := mmErr(t, c.Update(ctx, ref2, card)); e.Code != "api.context.permissions.app_error" || e.Temp {
			t.Errorf("403: %+v", e)
		}
	})
	t.Run("bad ref and dest", func(t *testing.T) {
		s := mattermostfake.New(mattermostfake.Options{})
		defer s.Close()
		c := newClient(t, s, s.Token())
		for _, ref := range []string{"", "C0123/1712345678.000100", "-1001/5", strings.Repeat("a", 25) + "-"} {
			if e := mmErr(t, c.Update(ctx, ref, card)); e.Code != mattermost.CodeBadRef || e.Temp {
				t.Errorf("Update(%q): %+v", ref, e)
			}
			if e := mmErr(t, c.Reply(ctx, ref, []incidents.Event{{Text: "x"}})); e.Code != mattermost.CodeBadRef {
				t.Errorf("Reply(%q): %+v", ref, e)
			}
		}
		if _, err := c.Post(ctx, "town-square", card); mmErr(t, err).Code != mattermost.CodeBadDest {
			t.Errorf("Post to a name: %v", err)
		}
		if len(s.Calls()) != 0 {
			t.Errorf("calls made: %v", s.Calls())
		}
	})
}

func TestValidDest(t *testing.T) {
	if err := mattermost.ValidDest(chA); err != nil {
		t.Error(err)
	}
	for _, d := range []string{"", "town-square", "C0123", strings.Repeat("a", 27), strings.Repeat("a", 25) + "_", "\xff" + strings.Repeat("a", 100)} {
		err := mattermost.ValidDest(d)
		if err == nil || !strings.Contains(err.Error(), "channel ID") || !utf8.ValidString(err.Error()) {
			t.Errorf("ValidDest(%q) = %v", d, err)
		}
	}
}

func TestNew(t *testing.T) {
	for _, o := range []mattermost.Options{
		{URL: "", Token: "zq-123"},
		{URL: "chat.example.com", Token: "zq-123"},
		{URL: "ftp://chat.example.com", Token: "zq-123"},
		{URL: "https://u:p@chat.example.com", Token: "zq-123"},
		{URL: "https://chat.example.com"},
		{URL: "https://chat.example.com", Token: "zq 123"},
		{URL: "https://chat.example.com", Token: "zq-123", ActionURL: "/mattermost/actions"},
	} {
		c, err := mattermost.New(o)
		if err == nil || c != nil {
			t.Errorf("New(%+v) = %v, %v", o, c, err)
		} else if o.Token != "" && strings.Contains(err.Error(), "zq") {
			t.Errorf("token in %v", err)
		}
	}
	// New does not call the network: an unreachable server is fine.
	if _, err := mattermost.New(mattermost.Options{URL: "http://127.0.0.1:1/", Token: "t"}); err != nil {
		t.Error(err)
	}
}

func TestConcurrentPosts(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{})
	defer s.Close()
	c := newClient(t, s, s.Token())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			inc := cardtest.Payments()
			inc.ID = fmt.Sprintf("INC-%d", i)
			card := cardOf(t, inc, cardtest.T0)
			ref, err := c.Post(context.Background(), chA, card)
			if err == nil {
				err = c.Update(context.Background(), ref, card)
			}
			if err == nil {
				err = c.Reply(context.Background(), ref, []incidents.Event{{Text: "x"}})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ms := s.Messages(chA)
	if len(ms) != 16 || len(s.Violations()) != 0 {
		t.Fatalf("%d messages, violations %v", len(ms), s.Violations())
	}
	for _, m := range ms {
		if m.Edits != 1 || len(m.Replies) != 1 {
			t.Errorf("%+v", m)
		}
	}
}

// IsMember asks the API, remembers a "yes" for a minute and a "no" never,
// and never guesses when the API cannot answer.
func TestIsMember(t *testing.T) {
	const alice, bob = "aliceuserid000000000000000", "bobuserid00000000000000000"
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}, Members: map[string][]string{chA: {alice}}})
	defer s.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := mattermost.New(mattermost.Options{URL: s.URL(), Token: s.Token(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := func() int { return s.Calls()["GetChannelMember"] }
	if ok, err := c.IsMember(ctx, chA, alice); !ok || err != nil {
		t.Fatalf("alice: %v, %v", ok, err)
	}
	if ok, err := c.IsMember(ctx, chA, bob); ok || err != nil {
		t.Fatalf("bob: %v, %v", ok, err)
	}
	s.AddMember(chA, bob)
	if ok, err := c.IsMember(ctx, chA, bob); !ok || err != nil || calls() != 3 {
		t.Fatalf("bob, who just joined: %v, %v (%d calls)", ok, err, calls())
	}
	s.RemoveMember(chA, alice)
	if ok, _ := c.IsMember(ctx, chA, alice); !ok || calls() != 3 {
		t.Errorf("alice within a minute: %v (%d calls): want the remembered yes", ok, calls())
	}
	now = now.Add(mattermost.MemberCacheTTL + time.Second)
	if ok, err := c.IsMember(ctx, chA, alice); ok || err != nil || calls() != 4 {
		t.Errorf("alice a minute later: %v, %v (%d calls)", ok, err, calls())
	}
	if ok, err := c.IsMember(ctx, chA, "not-an-id"); ok || err != nil || calls() != 4 {
		t.Errorf("a user id that is not one: %v, %v", ok, err)
	}
	// The bot cannot read the channel, or the server is down: an error,
	// never a yes.
	if ok, err := c.IsMember(ctx, chB, alice); ok || mmErr(t, err).Status != http.StatusForbidden {
		t.Errorf("a channel the bot is not in: %v, %v", ok, err)
	}
	s.Fail("GetChannelMember", 1, http.StatusInternalServerError, "")
	if ok, err := c.IsMember(ctx, chA, bob); ok || !mmErr(t, err).Temp {
		t.Errorf("server error: %v, %v", ok, err)
	}
	if _, err := c.IsMember(ctx, "general", bob); mmErr(t, err).Code != mattermost.CodeBadDest {
		t.Errorf("a channel name: %v", err)
	}
}

// An edit signs the card's keys for its channel afresh: a Client that did
// not post the card (after a restart) reads the post's channel once.
func TestUpdateSignsForChannel(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA, chB}})
	defer s.Close()
	ctx := context.Background()
	inc := cardtest.Payments()
	ref, err := newClient(t, s, s.Token()).Post(ctx, chB, cardOf(t, inc, cardtest.T0))
	if err != nil {
		t.Fatal(err)
	}
	key := func() string {
		_, c, _ := s.ActionIntegration(ref, "resolve")
		k, _ := c["key"].(string)
		return k
	}
	if k := key(); k != "sig."+inc.ID+".resolve."+chB {
		t.Fatalf("posted key %q", k)
	}
	restarted := newClient(t, s, s.Token())
	for i := range 2 {
		inc.State = incidents.Acknowledged
		if err := restarted.Update(ctx, ref, cardOf(t, inc, cardtest.T0.Add(time.Duration(i+1)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if k := key(); k != "sig."+inc.ID+".resolve."+chB || s.Calls()["GetPost"] != 1 || s.Messages(chB)[0].Edits != 2 {
		t.Errorf("after two edits: key %q, %v", k, s.Calls())
	}
	s.Delete(ref)
	err = newClient(t, s, s.Token()).Update(ctx, ref, cardOf(t, inc, cardtest.T0))
	if e := mmErr(t, err); e.Code != mattermost.CodeMessageNotFound || e.Temp {
		t.Errorf("a deleted card: %v", err)
	}
}
