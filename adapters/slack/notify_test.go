package slack

import (
	"context"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
)

// hostile is klaxon text carrying what must not become markup.
const hostile = `INC-42 (SEV1, payments) is not acknowledged: <!channel> <!here> @all <@U0EVIL> <https://evil.example|click> <a href="https://evil.example">x</a> & more`

const hostileEscaped = `INC-42 (SEV1, payments) is not acknowledged: &lt;!channel&gt; &lt;!here&gt; @all &lt;@U0EVIL&gt; &lt;https://evil.example|click&gt; &lt;a href="https://evil.example"&gt;x&lt;/a&gt; &amp; more`

// quiet asserts the call's arguments turn off link names, unfurls and parsing.
func quiet(t *testing.T, p map[string]string) {
	t.Helper()
	for k, want := range map[string]string{"link_names": "false", "unfurl_links": "false", "unfurl_media": "false", "parse": "none"} {
		if p[k] != want {
			t.Errorf("%s = %q, want %q", k, p[k], want)
		}
	}
}

func TestMention(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}})
	c := newClient(t, s)
	ctx := context.Background()
	ref, err := c.Post(ctx, ch, paymentsCards(t)["triggered"])
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mention(ctx, ref, "U0ONCALL", hostile); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 1 || len(msgs[0].Replies) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
	got := msgs[0].Replies[0]
	if want := "<@U0ONCALL> " + hostileEscaped; got != want {
		t.Errorf("mention text\n got %q\nwant %q", got, want)
	}
	// The one live piece of markup is the mention.
	if n := strings.Count(got, "<"); n != 1 || !strings.HasPrefix(got, "<@U0ONCALL>") {
		t.Errorf("%d live <…> in %q", n, got)
	}
	p := s.LastParams("chat.postMessage")
	quiet(t, p)
	if _, ts, _ := ParseRef(ref); p["thread_ts"] != ts {
		t.Errorf("thread_ts %q, want the card's %q", p["thread_ts"], ts)
	}
	noViolations(t, s)

	// Errors.
	slackErr(t, c.Mention(ctx, ref, "alice", "x"), "bad_user", false)
	slackErr(t, c.Mention(ctx, "C1/x", "U0ONCALL", "x"), "bad_ref", false)
	s.Delete(ref)
	slackErr(t, c.Mention(ctx, ref, "U0ONCALL", "x"), "message_not_found", false)
	if calls := s.Calls()["chat.postMessage"]; calls != 3 {
		t.Errorf("%d chat.postMessage calls, want 3 (bad arguments make none)", calls)
	}
}

func TestDirect(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}, Users: []string{"U0ONCALL"}})
	c := newClient(t, s)
	ctx := context.Background()
	if err := c.Direct(ctx, "U0ONCALL", hostile); err != nil {
		t.Fatal(err)
	}
	dm := s.Messages(slackfake.DirectChannel("U0ONCALL"))
	if len(dm) != 1 || dm[0].Text != hostileEscaped {
		t.Fatalf("direct messages: %+v", dm)
	}
	if strings.Contains(dm[0].Text, "<") {
		t.Errorf("live markup in %q", dm[0].Text)
	}
	quiet(t, s.LastParams("chat.postMessage"))
	if len(s.Messages(ch)) != 0 {
		t.Error("the direct message went to the channel")
	}
	noViolations(t, s)

	slackErr(t, c.Direct(ctx, "U0NOBODY", "x"), "user_not_found", false)
	slackErr(t, c.Direct(ctx, "C0KLAXON1", "x"), "bad_user", false)
	slackErr(t, c.Direct(ctx, "<!channel>", "x"), "bad_user", false)
	s.Fail("chat.postMessage", 1, 500, "internal_error")
	e := slackErr(t, c.Direct(ctx, "U0ONCALL", "x"), "http_500", true)
	if strings.Contains(e.Error(), s.Token()) {
		t.Errorf("token in %q", e.Error())
	}
}

func TestAnnounce(t *testing.T) {
	s := newFake(t, slackfake.Options{Channels: []string{ch}})
	c := newClient(t, s)
	ctx := context.Background()
	if err := c.Announce(ctx, ch, hostile); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 1 || msgs[0].Text != hostileEscaped || len(msgs[0].Replies) != 0 {
		t.Fatalf("messages: %+v", msgs)
	}
	quiet(t, s.LastParams("chat.postMessage"))
	if p := s.LastParams("chat.postMessage"); p["thread_ts"] != "" {
		t.Errorf("thread_ts %q: an announcement is top-level", p["thread_ts"])
	}
	noViolations(t, s)
	slackErr(t, c.Announce(ctx, "<!channel>", "x"), "bad_dest", false)
	s.Fail("chat.postMessage", 1, 500, "internal_error")
	slackErr(t, c.Announce(ctx, ch, "x"), "http_500", true)
}
