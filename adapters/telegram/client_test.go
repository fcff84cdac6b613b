package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

const chat = "-1001234567890"

func testSign(id string, a templates.Action) string { return "s." + id + "." + string(a.ID) }

func newClient(t *testing.T, s *telegramfake.Server) *Client {
	t.Helper()
	c, err := New(Options{Token: s.Token(), APIEndpoint: s.URL(), Sign: testSign})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is no *Error", err, err)
	}
	return e
}

func wantCode(t *testing.T, err error, code string, temp bool) *Error {
	t.Helper()
	e := asError(t, err)
	if e.Code != code || e.Temp != temp || e.ErrorCode() != code || e.Retryable() != temp {
		t.Errorf("%v: code %q temp %v, want %q %v", err, e.Code, e.Temp, code, temp)
	}
	return e
}

func noViolations(t *testing.T, s *telegramfake.Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestClientPostUpdateReply(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	inc := cardtest.Payments()
	triggered := card(t, inc, t0)

	ref, err := c.Post(ctx, chat, triggered)
	if err != nil {
		t.Fatal(err)
	}
	if ref != chat+"/1" {
		t.Errorf("ref %q", ref)
	}
	if got, _ := c.Find(ctx, chat, inc.ID, t0); got != "" {
		t.Errorf("Find = %q: Telegram cannot look messages up", got)
	}
	msgs := s.Messages(chat)
	if len(msgs) != 1 || msgs[0].Ref != ref || msgs[0].HTML != Compile(triggered, nil).Text || !msgs[0].NoPreview || msgs[0].ParseMode != "HTML" {
		t.Fatalf("posted %+v", msgs)
	}
	if b := msgs[0].Keyboard[0][0]; b.CallbackData != "s.INC-42.ack" {
		t.Errorf("first button %+v", b)
	}

	acked := inc.Clone()
	if err := acked.Apply(incidents.Acknowledge, "alice", "", t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ackedCard := card(t, acked, t0.Add(5*time.Minute))
	if err := c.Update(ctx, ref, ackedCard); err != nil {
		t.Fatal(err)
	}
	// The same content again: Telegram says "not modified", a success.
	if err := c.Update(ctx, ref, ackedCard); err != nil {
		t.Fatalf("not modified: %v", err)
	}
	events := []incidents.Event{
		{At: t0.Add(5 * time.Minute), Kind: incidents.EventAcknowledged, Actor: "alice", Text: "Acknowledged by @alice"},
		{At: t0.Add(6 * time.Minute), Kind: incidents.EventSeverity, Text: "Severity <SEV2> & https://evil.example"},
	}
	if err := c.Reply(ctx, ref, events); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	msgs = s.Messages(chat)
	if len(msgs) != 1 {
		t.Fatalf("%d top-level messages", len(msgs))
	}
	m := msgs[0]
	if m.Edits != 1 || m.HTML != Compile(ackedCard, nil).Text || len(m.Replies) != 1 {
		t.Errorf("after update and reply: %+v", m)
	}
	want := "12:05 UTC · Acknowledged by @\u2060alice\n12:06 UTC · Severity <SEV2> & https:\u2060//evil.\u2060example"
	if len(m.Replies) == 1 && m.Replies[0] != want {
		t.Errorf("reply %q, want %q", m.Replies[0], want)
	}
	if calls := s.Calls(); calls["sendMessage"] != 2 || calls["editMessageText"] != 2 || calls["getMe"] != 0 {
		t.Errorf("calls %v", calls)
	}
	noViolations(t, s)
}

func TestClientNoSign(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c, err := New(Options{Token: s.Token(), APIEndpoint: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(context.Background(), "42", card(t, cardtest.Payments(), t0)); err != nil {
		t.Fatal(err)
	}
	for _, row := range s.Messages("42")[0].Keyboard {
		for _, b := range row {
			if b.CallbackData != "" {
				t.Errorf("action button without Sign: %+v", b)
			}
		}
	}
}

func TestClientStorm(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	storm := card(t, cardtest.Storm(1000), t0)
	ref, err := c.Post(context.Background(), chat, storm)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(context.Background(), ref, card(t, cardtest.Storm(999), t0)); err != nil {
		t.Fatal(err)
	}
	events := make([]incidents.Event, 500)
	for i := range events {
		events[i] = incidents.Event{At: t0.Add(time.Duration(i) * time.Second), Kind: incidents.EventAlertsFiring,
			Text: fmt.Sprintf("Alert %d firing on pay-%d:9100 & <friends> 🔥", i, i)}
	}
	if err := c.Reply(context.Background(), ref, events); err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	m := s.Messages(chat)[0]
	if len(m.Replies) != 1 || !strings.HasSuffix(m.Replies[0], " more events") || u16(m.Replies[0]) > MaxText {
		t.Fatalf("reply of 500 events: %d replies, %d units", len(m.Replies), u16(m.Replies[0]))
	}
	if !strings.HasPrefix(m.Replies[0], "12:00 UTC · Alert 0 firing") {
		t.Errorf("the reply does not start with the first event: %.60q", m.Replies[0])
	}
	if calls := s.Calls(); calls["sendMessage"] != 2 {
		t.Errorf("calls %v", calls)
	}
}

func TestReplyText(t *testing.T) {
	ev := func(n int) incidents.Event { return incidents.Event{Text: strings.Repeat("x", n)} }
	if got := ReplyText([]incidents.Event{ev(1), ev(2)}); got != "x\nxx" {
		t.Errorf("%q", got)
	}
	// Exactly MaxText: all of it.
	if got := ReplyText([]incidents.Event{ev(2000), ev(2095)}); shownLen(got) != MaxText || strings.Contains(got, "more") {
		t.Errorf("exact fit: %d units", shownLen(got))
	}
	// One unit over: the last line goes.
	got := ReplyText([]incidents.Event{ev(2000), ev(2096)})
	if !strings.HasSuffix(got, "\n+1 more event") || shownLen(got) > MaxText {
		t.Errorf("one over: %.30q… %d units", got[len(got)-30:], shownLen(got))
	}
	// A first line that fills everything: only the count.
	if got := ReplyText([]incidents.Event{ev(4096), ev(1)}); got != "+2 more events" {
		t.Errorf("%.40q", got)
	}
	// Entities count as one unit shown.
	amp := incidents.Event{Text: strings.Repeat("&", 800)}
	if got := ReplyText([]incidents.Event{amp, ev(3295)}); strings.Contains(got, "more") || shownLen(got) != 4096 || u16(got) <= MaxText {
		t.Errorf("entities: %d units", shownLen(got))
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	c0 := card(t, cardtest.Payments(), t0)

	t.Run("rate limited", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{PerChat: 1, PerChatBurst: 1})
		defer s.Close()
		c := newClient(t, s)
		if _, err := c.Post(ctx, chat, c0); err != nil {
			t.Fatal(err)
		}
		_, err := c.Post(ctx, chat, c0)
		e := wantCode(t, err, "rate_limited", true)
		if e.Wait != time.Second || e.RetryAfter() != time.Second || e.Status != 429 {
			t.Errorf("%+v", e)
		}
		noViolations(t, s)
	})
	t.Run("5xx", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{})
		defer s.Close()
		c := newClient(t, s)
		s.Fail("sendMessage", 1, 502, "Bad Gateway")
		_, err := c.Post(ctx, chat, c0)
		if e := wantCode(t, err, "http_502", true); e.Status != 502 {
			t.Errorf("status %d", e.Status)
		}
		ref, err := c.Post(ctx, chat, c0)
		if err != nil {
			t.Fatal(err)
		}
		s.Fail("editMessageText", 1, 500, "Internal Server Error")
		wantCode(t, c.Update(ctx, ref, c0), "http_500", true)
	})
	t.Run("5xx not JSON", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3")
			http.Error(w, "<html>bad gateway</html>", 502)
		}))
		defer ts.Close()
		c, err := New(Options{Token: "1:x", APIEndpoint: ts.URL + "/bot%s/%s"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, chat, c0)
		if e := wantCode(t, err, "http_502", true); e.Status != 502 {
			t.Errorf("status %d", e.Status)
		}
	})
	t.Run("chat not found", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{Chats: []int64{-1}})
		defer s.Close()
		_, err := newClient(t, s).Post(ctx, chat, c0)
		if e := wantCode(t, err, "chat_not_found", false); e.Status != 400 || e.Op != "sendMessage" {
			t.Errorf("%+v", e)
		}
	})
	t.Run("message gone", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{})
		defer s.Close()
		c := newClient(t, s)
		wantCode(t, c.Update(ctx, chat+"/999", c0), "message_not_found", false)
		// A reply to a gone card is still sent.
		if err := c.Reply(ctx, chat+"/999", []incidents.Event{{Text: "x"}}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("invalid token", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{})
		defer s.Close()
		const secret = "999:very-secret-token"
		c, err := New(Options{Token: secret, APIEndpoint: s.URL()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, chat, c0)
		if e := wantCode(t, err, "unauthorized", false); e.Status != 401 || strings.Contains(err.Error(), secret) {
			t.Errorf("%v", e)
		}
	})
	t.Run("network", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{})
		c := newClient(t, s)
		s.Close()
		_, err := c.Post(ctx, chat, c0)
		wantCode(t, err, "network", true)
		if strings.Contains(err.Error(), s.Token()) {
			t.Errorf("the error shows the token: %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{})
		defer s.Close()
		s.SetLatency(3 * time.Second)
		c := newClient(t, s)
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(30*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Post(cctx, chat, c0)
		if time.Since(start) > time.Second {
			t.Errorf("took %v", time.Since(start))
		}
		wantCode(t, err, "canceled", true)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v is not context.Canceled", err)
		}
		// Already canceled: no call at all.
		n := s.Calls()["sendMessage"]
		wantCode(t, c.Update(cctx, chat+"/1", c0), "canceled", true)
		if s.Calls()["sendMessage"] != n || s.Calls()["editMessageText"] != 0 {
			t.Errorf("calls %v", s.Calls())
		}
		dctx, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel2()
		err = c.Reply(dctx, chat+"/1", []incidents.Event{{Text: "x"}})
		wantCode(t, err, "timeout", true)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v is not DeadlineExceeded", err)
		}
	})
	t.Run("http timeout", func(t *testing.T) {
		s := telegramfake.New(telegramfake.Options{})
		defer s.Close()
		s.SetLatency(3 * time.Second)
		c, err := New(Options{Token: s.Token(), APIEndpoint: s.URL(), HTTPClient: &http.Client{Timeout: 30 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, chat, c0)
		wantCode(t, err, "timeout", true)
		if strings.Contains(err.Error(), s.Token()) {
			t.Errorf("the error shows the token: %v", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		c, err := New(Options{Token: "1:x", APIEndpoint: "http://127.0.0.1:1/bot%s/%s"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, "@channel", c0)
		wantCode(t, err, "bad_dest", false)
		for _, ref := range []string{"", "x", "-100/", "/5", "-100/0", "-100/-1", "0/5", "-100/5/6", "-100/05", "1/99999999999"} {
			wantCode(t, c.Update(ctx, ref, c0), "bad_ref", false)
			wantCode(t, c.Reply(ctx, ref, []incidents.Event{{Text: "x"}}), "bad_ref", false)
		}
		_, err = c.Find(ctx, "nope", "INC-1", t0)
		wantCode(t, err, "bad_dest", false)
	})
}

func TestNewAndValidDest(t *testing.T) {
	for _, o := range []Options{
		{},
		{Token: "1:a b"},
		{Token: "1:a/b"},
		{Token: "1:x", APIEndpoint: "https://api.telegram.org/bot%s"},
		{Token: "1:x", APIEndpoint: "https://api.telegram.org/bot%s/%s/%d"},
		{Token: "1:x", APIEndpoint: "ftp://host/bot%s/%s"},
		{Token: "1:x", APIEndpoint: "/bot%s/%s"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		} else if o.Token != "" && strings.Contains(err.Error(), o.Token) {
			t.Errorf("New's error shows the token: %v", err)
		}
	}
	c, err := New(Options{Token: "1:x"})
	if err != nil || c.endpoint != "https://api.telegram.org/bot%s/%s" || c.hc.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v %v", c, err)
	}
	for dest, ok := range map[string]bool{
		"-1001234567890": true, "123456789": true, "-42": true,
		"": false, "0": false, "@channel": false, "+42": false, "042": false, "-1001234567890/1": false, "12a": false, "99999999999999999999": false,
	} {
		if err := ValidDest(dest); (err == nil) != ok {
			t.Errorf("ValidDest(%q) = %v", dest, err)
		}
	}
	if r := FormatRef(-100, 7); r != "-100/7" {
		t.Errorf("FormatRef = %q", r)
	}
	if c, m, err := ParseRef("-100/7"); c != -100 || m != 7 || err != nil {
		t.Errorf("ParseRef = %d %d %v", c, m, err)
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Op: "sendMessage", Code: "chat_not_found", Err: errors.New("Bad Request: chat not found")}
	if e.Error() != "telegram sendMessage: chat_not_found: Bad Request: chat not found" {
		t.Errorf("%q", e.Error())
	}
	if e := (&Error{Op: "editMessageText", Code: "timeout"}); e.Error() != "telegram editMessageText: timeout" {
		t.Errorf("%q", e.Error())
	}
}

func TestClientConcurrent(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	c := newClient(t, s)
	c0 := card(t, cardtest.Payments(), t0)
	var wg sync.WaitGroup
	refs := make([]string, 40)
	for i := range refs {
		wg.Go(func() {
			dest := fmt.Sprint(-100 - i%4)
			ref, err := c.Post(context.Background(), dest, c0)
			if err != nil {
				t.Error(err)
				return
			}
			refs[i] = ref
			if err := c.Reply(context.Background(), ref, []incidents.Event{{Text: fmt.Sprint("event ", i)}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range refs {
		seen[r] = true
	}
	if len(seen) != len(refs) {
		t.Errorf("%d distinct refs of %d", len(seen), len(refs))
	}
	for d := range 4 {
		for _, m := range s.Messages(fmt.Sprint(-100 - d)) {
			if len(m.Replies) != 1 {
				t.Errorf("%s has %d replies", m.Ref, len(m.Replies))
			}
		}
	}
	noViolations(t, s)
}
