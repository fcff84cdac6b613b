package mattermost_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/mattermost/mattermostfake"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const (
	alice   = "aliceuseridaaaaaaaaaaaaaaa"
	nobody  = "nobodyuseridnnnnnnnnnnnnnn"
	hostile = `INC-42 (SEV1, payments) is not acknowledged: @channel @all @here ~town-square <!channel> [click](https://evil.example) <a href="https://evil.example">x</a> & more`
)

// liveMentions counts the "@" not neutralised by a word joiner.
func liveMentions(s string) int {
	return strings.Count(s, "@") - strings.Count(s, "@\u2060")
}

// inert asserts the escaped hostile text holds no live markup.
func inert(t *testing.T, s string) {
	t.Helper()
	for _, bad := range []string{"<", "](", "://", "~town"} {
		if strings.Contains(s, bad) {
			t.Errorf("%q holds %q", s, bad)
		}
	}
	if !strings.Contains(s, "is not acknowledged") || !strings.Contains(s, "&amp; more") {
		t.Errorf("the text is lost: %q", s)
	}
}

func TestMention(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}, Users: map[string]string{alice: "alice.smith"}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	ref, err := c.Post(ctx, chA, cardOf(t, cardtest.Payments(), cardtest.T0))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mention(ctx, ref, alice, hostile); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(chA)
	if len(ms) != 1 || len(ms[0].Replies) != 1 {
		t.Fatalf("messages: %+v", ms)
	}
	got := ms[0].Replies[0]
	if !strings.HasPrefix(got, "@alice.smith ") || liveMentions(got) != 1 {
		t.Errorf("want exactly one live mention, of @alice.smith: %q", got)
	}
	inert(t, got)
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}

	t.Logf("mention: %q", got)

	// Errors: an unknown user, a malformed one, a card that is gone.
	calls := s.Calls()["CreatePost"]
	if e := mmErr(t, c.Mention(ctx, ref, nobody, "x")); e.Code != mattermost.CodeUserNotFound || e.Temp || e.Status != http.StatusNotFound {
		t.Errorf("unknown user: %v (temp %v)", e, e.Temp)
	}
	if e := mmErr(t, c.Mention(ctx, ref, "@alice", "x")); e.Code != mattermost.CodeBadUser {
		t.Errorf("bad user: %v", e)
	}
	if e := mmErr(t, c.Mention(ctx, "nope", alice, "x")); e.Code != mattermost.CodeBadRef {
		t.Errorf("bad ref: %v", e)
	}
	s.Delete(ref)
	if e := mmErr(t, c.Mention(ctx, ref, alice, "x")); e.Code != mattermost.CodeMessageNotFound {
		t.Errorf("deleted card: %v", e)
	}
	if n := s.Calls()["CreatePost"]; n != calls {
		t.Errorf("%d posts made by failed mentions", n-calls)
	}
}

func TestDirect(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	s.AddUser(alice, "alice")
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	for range 2 {
		if err := c.Direct(ctx, alice, hostile); err != nil {
			t.Fatal(err)
		}
	}
	dm := s.DirectChannel(alice)
	if dm == "" || dm == chA {
		t.Fatalf("direct channel %q", dm)
	}
	ms := s.Messages(dm)
	if len(ms) != 2 || ms[0].Text != ms[1].Text {
		t.Fatalf("direct messages: %+v", ms)
	}
	if liveMentions(ms[0].Text) != 0 {
		t.Errorf("live mention in %q", ms[0].Text)
	}
	inert(t, ms[0].Text)
	if len(s.Messages(chA)) != 0 {
		t.Error("the direct message went to the channel")
	}
	if n := s.Calls()["GetMe"]; n != 1 {
		t.Errorf("GetMe called %d times, want once", n)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}

	if e := mmErr(t, c.Direct(ctx, nobody, "x")); e.Code != mattermost.CodeUserNotFound || e.Temp {
		t.Errorf("unknown user: %v (temp %v)", e, e.Temp)
	}
	if e := mmErr(t, c.Direct(ctx, "alice", "x")); e.Code != mattermost.CodeBadUser {
		t.Errorf("bad user: %v", e)
	}
	s.Fail("CreateDirectChannel", 1, http.StatusServiceUnavailable, "")
	e := mmErr(t, c.Direct(ctx, alice, "x"))
	if !e.Temp || e.Status != http.StatusServiceUnavailable || strings.Contains(e.Error(), s.Token()) {
		t.Errorf("503: %v (temp %v)", e, e.Temp)
	}
}

func TestAnnounce(t *testing.T) {
	s := mattermostfake.New(mattermostfake.Options{Channels: []string{chA}})
	defer s.Close()
	c := newClient(t, s, s.Token())
	ctx := context.Background()
	if err := c.Announce(ctx, chA, hostile); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(chA)
	if len(ms) != 1 {
		t.Fatalf("messages: %+v", ms)
	}
	if liveMentions(ms[0].Text) != 0 {
		t.Errorf("live mention in %q", ms[0].Text)
	}
	inert(t, ms[0].Text)
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
	if e := mmErr(t, c.Announce(ctx, "@channel", "x")); e.Code != mattermost.CodeBadDest {
		t.Errorf("bad dest: %v", e)
	}
	s.Fail("CreatePost", 1, http.StatusServiceUnavailable, "")
	if e := mmErr(t, c.Announce(ctx, chA, "x")); !e.Temp {
		t.Errorf("503: %v (temp %v)", e, e.Temp)
	}
}
