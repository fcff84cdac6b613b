package telegram

import (
	"context"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const hostile = `INC-42 (SEV1, payments) is not acknowledged: @all @admin <a href="https://evil.example">x</a> <a href="tg://user?id=666">boss</a> https://evil.example /resolve & more`

// inert asserts the escaped hostile text adds no markup, mention, link or
// command: only a tags klaxon wrote itself survive as tags.
func inert(t *testing.T, html, shown string) {
	t.Helper()
	for _, bad := range []string{`<a href="https://evil`, `tg://user?id=666`, "@all", "@admin", "https://evil", "/resolve"} {
		if strings.Contains(shown, bad) || strings.Contains(html, bad) {
			t.Errorf("%q is live in %q", bad, html)
		}
	}
	if !strings.Contains(shown, "is not acknowledged") || !strings.Contains(shown, `<a href="https:`) || !strings.HasSuffix(shown, "& more") {
		t.Errorf("the text is lost: %q", shown)
	}
}

func TestMention(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	ref, err := c.Post(ctx, chat, card(t, cardtest.Payments(), t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mention(ctx, ref, "123456789", hostile); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(chat)
	if len(ms) != 1 || len(ms[0].RepliesHTML) != 1 {
		t.Fatalf("messages: %+v", ms)
	}
	html, shown := ms[0].RepliesHTML[0], ms[0].Replies[0]
	const mention = `<a href="tg://user?id=123456789">on-call</a> `
	if !strings.HasPrefix(html, mention) || strings.Count(html, "<") != 2 || strings.Count(html, "</a>") != 1 {
		t.Errorf("want exactly one live mention, %s…: %q", mention, html)
	}
	if !strings.HasPrefix(shown, "on-call INC-42") {
		t.Errorf("shown %q", shown)
	}
	inert(t, html, shown)
	noViolations(t, s)

	wantCode(t, c.Mention(ctx, ref, "@alice", "x"), "bad_user", false)
	wantCode(t, c.Mention(ctx, ref, "-100123", "x"), "bad_user", false)
	wantCode(t, c.Mention(ctx, "1/x", "123456789", "x"), "bad_ref", false)
	// A blank text is the mention alone.
	if err := c.Mention(ctx, ref, "123456789", " \n"); err != nil {
		t.Fatal(err)
	}
	if got := s.Messages(chat)[0].RepliesHTML[1]; got != strings.TrimSpace(mention) {
		t.Errorf("blank text: %q", got)
	}
}

func TestDirect(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{Chats: []int64{-1001234567890}, Users: []int64{111, 222}, NotStarted: []int64{222}})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	if err := c.Direct(ctx, "111", hostile); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages("111")
	if len(ms) != 1 || ms[0].ParseMode != "HTML" || !ms[0].NoPreview {
		t.Fatalf("direct messages: %+v", ms)
	}
	if strings.Contains(ms[0].HTML, "<") {
		t.Errorf("live markup in %q", ms[0].HTML)
	}
	inert(t, ms[0].HTML, ms[0].Text)
	noViolations(t, s)

	e := wantCode(t, c.Direct(ctx, "222", "x"), "dm_not_started", false)
	if e.Status != 403 || !strings.Contains(e.Error(), "can't initiate conversation") {
		t.Errorf("%+v", e)
	}
	if e := wantCode(t, c.Direct(ctx, "333", "x"), "user_not_found", false); e.Status != 400 {
		t.Errorf("%+v", e)
	}
	wantCode(t, c.Direct(ctx, "0", "x"), "bad_user", false)
	wantCode(t, c.Direct(ctx, "@alice", "x"), "bad_user", false)
	s.Fail("sendMessage", 1, 502, "Bad Gateway")
	if e := wantCode(t, c.Direct(ctx, "111", "x"), "http_502", true); strings.Contains(e.Error(), s.Token()) {
		t.Errorf("token in %q", e.Error())
	}
	if len(s.Messages("222")) != 0 || len(s.Messages("333")) != 0 {
		t.Error("a refused message was recorded")
	}
}

func TestAnnounce(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	if err := c.Announce(ctx, chat, hostile); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(chat)
	if len(ms) != 1 || ms[0].ParseMode != "HTML" || !ms[0].NoPreview {
		t.Fatalf("messages: %+v", ms)
	}
	if strings.Contains(ms[0].HTML, "<") {
		t.Errorf("live markup in %q", ms[0].HTML)
	}
	inert(t, ms[0].HTML, ms[0].Text)
	noViolations(t, s)
	wantCode(t, c.Announce(ctx, "@all", "x"), "bad_dest", false)
	s.Fail("sendMessage", 1, 502, "Bad Gateway")
	wantCode(t, c.Announce(ctx, chat, "x"), "http_502", true)
}
