package slackfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
)

const ch = "C0FAKE1"

func start(t *testing.T, o slackfake.Options) *slackfake.Server {
	t.Helper()
	s := slackfake.New(o)
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status     int
	retryAfter string
	body       map[string]any
}

func (a answer) ok() bool              { return a.body["ok"] == true }
func (a answer) error() string         { e, _ := a.body["error"].(string); return e }
func (a answer) field(k string) string { v, _ := a.body[k].(string); return v }

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		t.Fatalf("%s: body is not JSON: %v", req.URL.Path, err)
	}
	return a
}

// form calls method with a form body, as slack-go does.
func form(t *testing.T, s *slackfake.Server, method string, kv ...string) answer {
	t.Helper()
	v := url.Values{"token": {s.Token()}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+method, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// blocks returns JSON blocks.
func blocks(t *testing.T, b ...any) string {
	t.Helper()
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

func plain(s string) map[string]any { return map[string]any{"type": "plain_text", "text": s} }

func section(id, text string) map[string]any {
	return map[string]any{"type": "section", "block_id": id, "text": plain(text)}
}

func button(id, text string) map[string]any {
	return map[string]any{"type": "button", "action_id": id, "text": plain(text), "value": "v"}
}

func actions(els ...any) map[string]any { return map[string]any{"type": "actions", "elements": els} }

func TestAuth(t *testing.T) {
	s := start(t, slackfake.Options{Token: "xoxb-right"})
	if a := form(t, s, "auth.test"); !a.ok() || a.field("user_id") == "" {
		t.Errorf("auth.test: %+v", a)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader("channel="+ch+"&text=hi&token=xoxb-wrong"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a := do(t, req); a.status != 200 || a.error() != "invalid_auth" {
		t.Errorf("wrong token: %+v", a)
	}
	req, _ = http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader("channel="+ch+"&text=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a := do(t, req); a.status != 200 || a.error() != "not_authed" {
		t.Errorf("no token: %+v", a)
	}
	if a := form(t, s, "chat.nothing"); a.error() != "unknown_method" {
		t.Errorf("unknown method: %+v", a)
	}
	if n := len(s.Messages(ch)); n != 0 {
		t.Errorf("%d messages", n)
	}
	if c := s.Calls(); c["chat.postMessage"] != 2 || c["auth.test"] != 1 {
		t.Errorf("calls %v", c)
	}
}

func TestJSONBody(t *testing.T) {
	s := start(t, slackfake.Options{})
	body, _ := json.Marshal(map[string]any{
		"channel": ch, "text": "hello",
		"blocks":   []any{section("s", "hello")},
		"metadata": map[string]any{"event_type": "klaxon_incident", "event_payload": map[string]any{"incident": "INC-7"}},
	})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+s.Token())
	a := do(t, req)
	if !a.ok() || a.field("channel") != ch || a.field("ts") == "" {
		t.Fatalf("JSON post: %+v", a)
	}
	m := s.Messages(ch)
	if len(m) != 1 || m[0].Text != "hello" || m[0].IncidentID != "INC-7" || m[0].Ref != ch+"/"+a.field("ts") ||
		!strings.Contains(string(m[0].Blocks), `"block_id":"s"`) {
		t.Errorf("stored %+v", m)
	}
}

// TestRejects sends hand-made bad payloads: each is refused with Slack's
// error and recorded as a violation.
func TestRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	many := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cases := []struct {
		name, code string
		kv         []string
	}{
		{"51 blocks", "invalid_blocks", []string{"blocks", blocks(t, many(51, func(i int) any { return map[string]any{"type": "divider"} })...)}},
		{"header too long", "invalid_blocks", []string{"blocks", blocks(t, map[string]any{"type": "header", "text": plain(long(151))})}},
		{"header mrkdwn", "invalid_blocks", []string{"blocks", blocks(t, map[string]any{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "x"}})}},
		{"section too long", "invalid_blocks", []string{"blocks", blocks(t, section("s", long(3001)))}},
		{"section astral", "invalid_blocks", []string{"blocks", blocks(t, section("s", strings.Repeat("😀", 1501)))}},
		{"empty text", "invalid_blocks", []string{"blocks", blocks(t, section("s", ""))}},
		{"11 fields", "invalid_blocks", []string{"blocks", blocks(t, map[string]any{"type": "section", "fields": many(11, func(int) any { return plain("f") })})}},
		{"field too long", "invalid_blocks", []string{"blocks", blocks(t, map[string]any{"type": "section", "fields": []any{plain(long(2001))}})}},
		{"button text", "invalid_blocks", []string{"blocks", blocks(t, actions(button("a", long(76))))}},
		{"action_id too long", "invalid_blocks", []string{"blocks", blocks(t, actions(button(long(256), "ok")))}},
		{"action_id repeats", "invalid_blocks", []string{"blocks", blocks(t, actions(button("a", "1")), actions(button("a", "2")))}},
		{"value too long", "invalid_blocks", []string{"blocks", blocks(t, actions(map[string]any{"type": "button", "action_id": "a", "text": plain("x"), "value": long(2001)}))}},
		{"url too long", "invalid_blocks", []string{"blocks", blocks(t, actions(map[string]any{"type": "button", "action_id": "a", "text": plain("x"), "url": "https://x/" + long(2991)}))}},
		{"26 elements", "invalid_blocks", []string{"blocks", blocks(t, actions(many(26, func(i int) any { return button(fmt.Sprint(i), "b") })...))}},
		{"11 context", "invalid_blocks", []string{"blocks", blocks(t, map[string]any{"type": "context", "elements": many(11, func(int) any { return plain("c") })})}},
		{"block_id repeats", "invalid_blocks", []string{"blocks", blocks(t, section("s", "1"), section("s", "2"))}},
		{"block_id too long", "invalid_blocks", []string{"blocks", blocks(t, section(long(256), "1"))}},
		{"unknown block", "invalid_blocks", []string{"blocks", blocks(t, map[string]any{"type": "banner"})}},
		{"blocks not JSON", "invalid_blocks_format", []string{"blocks", "[{"}},
		{"blocks too long", "msg_blocks_too_long", []string{"blocks", blocks(t, many(5, func(i int) any { return section(fmt.Sprint(i), long(2500)) })...)}},
		{"text too long", "msg_too_long", []string{"text", long(40001)}},
		{"no text", "no_text", []string{"text", " "}},
		{"bad metadata", "invalid_metadata_format", []string{"text", "x", "metadata", `{"event_payload":{}}`}},
	}
	s := start(t, slackfake.Options{})
	for i, tc := range cases {
		a := form(t, s, "chat.postMessage", append([]string{"channel", ch}, tc.kv...)...)
		if a.status != 200 || a.ok() || a.error() != tc.code {
			t.Errorf("%s: answered %d %v, want %s", tc.name, a.status, a.body, tc.code)
		}
		if v := s.Violations(); len(v) != i+1 {
			t.Errorf("%s: %d violations, want %d", tc.name, len(v), i+1)
		}
	}
	if n := len(s.Messages(ch)); n != 0 {
		t.Errorf("%d messages were stored", n)
	}
	t.Log(strings.Join(s.Violations(), "\n"))

	// A message at every limit passes.
	ok := blocks(t,
		map[string]any{"type": "header", "block_id": "h", "text": plain(long(150))},
		section("s", long(3000)),
		map[string]any{"type": "section", "fields": many(10, func(int) any { return plain(long(200)) })},
		actions(many(25, func(i int) any { return button(fmt.Sprint(i), long(75)) })...),
		map[string]any{"type": "context", "elements": many(10, func(int) any { return plain("c") })},
	)
	if a := form(t, s, "chat.postMessage", "channel", ch, "text", long(40000), "blocks", ok); !a.ok() {
		t.Errorf("a message at the limits: %v (%v)", a.body, s.Violations())
	}
}

func TestNotFound(t *testing.T) {
	s := start(t, slackfake.Options{Channels: []string{ch}})
	if a := form(t, s, "chat.postMessage", "channel", "C0OTHER", "text", "x"); a.error() != "channel_not_found" {
		t.Errorf("unknown channel: %v", a.body)
	}
	if a := form(t, s, "chat.update", "channel", ch, "ts", "1.000001", "text", "x"); a.error() != "message_not_found" {
		t.Errorf("unknown ts: %v", a.body)
	}
	if a := form(t, s, "chat.postMessage", "channel", ch, "thread_ts", "1.000001", "text", "x"); a.error() != "thread_not_found" {
		t.Errorf("unknown thread: %v", a.body)
	}
	if a := form(t, s, "conversations.history", "channel", "C0OTHER"); a.error() != "channel_not_found" {
		t.Errorf("history of an unknown channel: %v", a.body)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("not found is no violation: %v", v)
	}
}

// TestUpdate: text without blocks removes the blocks; edits are counted;
// replies are threaded.
func TestUpdate(t *testing.T) {
	s := start(t, slackfake.Options{})
	a := form(t, s, "chat.postMessage", "channel", ch, "text", "one", "blocks", blocks(t, section("s", "one")))
	ts := a.field("ts")
	if a := form(t, s, "chat.update", "channel", ch, "ts", ts, "text", "two", "blocks", blocks(t, section("s", "two"))); !a.ok() {
		t.Fatal(a.body)
	}
	m := s.Messages(ch)[0]
	if m.Text != "two" || m.Edits != 1 || !strings.Contains(string(m.Blocks), "two") {
		t.Errorf("after update: %+v", m)
	}
	form(t, s, "chat.update", "channel", ch, "ts", ts, "text", "three")
	if m := s.Messages(ch)[0]; m.Text != "three" || m.Edits != 2 || m.Blocks != nil {
		t.Errorf("text-only update kept blocks: %+v", m)
	}
	if a := form(t, s, "chat.update", "channel", ch, "ts", ts, "blocks", blocks(t, section("s", long3001()))); a.error() != "invalid_blocks" {
		t.Errorf("bad update: %v", a.body)
	}
	r := form(t, s, "chat.postMessage", "channel", ch, "thread_ts", ts, "text", "reply")
	if msg, _ := r.body["message"].(map[string]any); msg["thread_ts"] != ts {
		t.Errorf("reply answer %v", r.body)
	}
	if m := s.Messages(ch); len(m) != 1 || len(m[0].Replies) != 1 || m[0].Replies[0] != "reply" {
		t.Errorf("after reply: %+v", m)
	}
	if !s.Delete(ch+"/"+ts) || len(s.Messages(ch)) != 0 {
		t.Error("Delete")
	}
}

func long3001() string { return strings.Repeat("b", 3001) }

// TestRateLimit: a burst passes, then 429 with Retry-After; other
// channels are not limited; the bucket refills.
func TestRateLimit(t *testing.T) {
	s := start(t, slackfake.Options{PerChannel: 20, Burst: 3})
	for i := range 3 {
		if a := form(t, s, "chat.postMessage", "channel", ch, "text", "x"); !a.ok() {
			t.Fatalf("post %d of the burst: %v", i, a.body)
		}
	}
	a := form(t, s, "chat.postMessage", "channel", ch, "text", "x")
	if a.status != http.StatusTooManyRequests || a.retryAfter != "1" || a.error() != "ratelimited" {
		t.Errorf("over the burst: %d %q %v", a.status, a.retryAfter, a.body)
	}
	if a := form(t, s, "chat.postMessage", "channel", "C0FAKE2", "text", "x"); !a.ok() {
		t.Errorf("another channel: %v", a.body)
	}
	time.Sleep(60 * time.Millisecond) // 20/s: a token is back
	if a := form(t, s, "chat.postMessage", "channel", ch, "text", "x"); !a.ok() {
		t.Errorf("after the refill: %v", a.body)
	}
	if s.RateLimited() != 1 || len(s.Violations()) != 0 || len(s.Messages(ch)) != 4 {
		t.Errorf("RateLimited %d, violations %v, %d messages", s.RateLimited(), s.Violations(), len(s.Messages(ch)))
	}

	// Updates: per workspace, per minute.
	s = start(t, slackfake.Options{UpdatesPerMinute: 2})
	ts := form(t, s, "chat.postMessage", "channel", ch, "text", "x").field("ts")
	for i := range 2 {
		if a := form(t, s, "chat.update", "channel", ch, "ts", ts, "text", fmt.Sprint(i)); !a.ok() {
			t.Fatal(a.body)
		}
	}
	a = form(t, s, "chat.update", "channel", ch, "ts", ts, "text", "x")
	if a.status != http.StatusTooManyRequests || a.retryAfter != "30" {
		t.Errorf("update over the limit: %d %q", a.status, a.retryAfter)
	}

	// Through slack-go: a *slack.RateLimitedError.
	s = start(t, slackfake.Options{PerChannel: rate.Every(time.Minute), Burst: 1})
	api := slack.New(s.Token(), slack.OptionAPIURL(s.URL()))
	if _, _, err := api.PostMessage(ch, slack.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}
	_, _, err := api.PostMessage(ch, slack.MsgOptionText("x", false))
	if rl, ok := err.(*slack.RateLimitedError); !ok || rl.RetryAfter != time.Minute {
		t.Errorf("slack-go got %v", err)
	}
}

func TestFail(t *testing.T) {
	s := start(t, slackfake.Options{})
	s.Fail("chat.postMessage", 2, http.StatusInternalServerError, "internal_error")
	for range 2 {
		if a := form(t, s, "chat.postMessage", "channel", ch, "text", "x"); a.status != 500 || a.error() != "internal_error" {
			t.Errorf("injected failure: %d %v", a.status, a.body)
		}
	}
	if a := form(t, s, "chat.postMessage", "channel", ch, "text", "x"); !a.ok() {
		t.Errorf("after the failures: %v", a.body)
	}
	s.Fail("chat.update", 1, http.StatusTooManyRequests, "ratelimited")
	if a := form(t, s, "chat.update", "channel", ch, "ts", "1.1", "text", "x"); a.status != 429 || a.retryAfter != "1" {
		t.Errorf("injected 429: %d %q", a.status, a.retryAfter)
	}
	if s.Calls()["chat.postMessage"] != 3 || s.RateLimited() != 1 {
		t.Errorf("calls %v, rate limited %d", s.Calls(), s.RateLimited())
	}
}

// TestHistory pages newest first and shows metadata only when asked.
func TestHistory(t *testing.T) {
	s := start(t, slackfake.Options{})
	api := slack.New(s.Token(), slack.OptionAPIURL(s.URL()))
	var tss []string
	for i := range 5 {
		_, ts, err := api.PostMessage(ch, slack.MsgOptionText(fmt.Sprint(i), false),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "klaxon_incident", EventPayload: map[string]any{"incident": fmt.Sprint("INC-", i)}}))
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, ts)
	}
	if _, _, err := api.PostMessage(ch, slack.MsgOptionText("reply", false), slack.MsgOptionTS(tss[0])); err != nil {
		t.Fatal(err)
	}
	p := &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2, Oldest: tss[0], IncludeAllMetadata: true}
	var got []string
	for page := 0; ; page++ {
		r, err := api.GetConversationHistory(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			got = append(got, m.Text+"="+fmt.Sprint(m.Metadata.EventPayload["incident"]))
		}
		if !r.HasMore {
			break
		}
		p.Cursor = r.ResponseMetaData.NextCursor
		if page > 5 {
			t.Fatal("endless paging")
		}
	}
	if want := "4=INC-4 3=INC-3 2=INC-2 1=INC-1"; strings.Join(got, " ") != want { // oldest is exclusive
		t.Errorf("history %q, want %q", strings.Join(got, " "), want)
	}
	r, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch})
	if err != nil || len(r.Messages) != 5 || r.Messages[4].Metadata.EventType != "" || r.Messages[4].ReplyCount != 1 {
		t.Errorf("without include_all_metadata: %v %+v", err, r)
	}
}

func TestLatencyAndClose(t *testing.T) {
	s := slackfake.New(slackfake.Options{})
	s.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	api := slack.New(s.Token(), slack.OptionAPIURL(s.URL()))
	start := time.Now()
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false)); err == nil {
		t.Error("no error despite the latency")
	}
	var wg sync.WaitGroup
	wg.Go(func() { _, _, _ = api.PostMessage(ch, slack.MsgOptionText("x", false)) })
	time.Sleep(20 * time.Millisecond)
	s.Close() // cuts the pending call short
	wg.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestConcurrentPosts(t *testing.T) {
	s := start(t, slackfake.Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			c := fmt.Sprintf("C0CH%d", i%4)
			a := form(t, s, "chat.postMessage", "channel", c, "text", "x")
			form(t, s, "chat.update", "channel", c, "ts", a.field("ts"), "text", "y")
			form(t, s, "conversations.history", "channel", c)
		})
	}
	wg.Wait()
	n := 0
	for i := range 4 {
		for _, m := range s.Messages(fmt.Sprintf("C0CH%d", i)) {
			n++
			if m.Text != "y" || m.Edits != 1 {
				t.Errorf("%+v", m)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d messages", n)
	}
}

func TestResponseURL(t *testing.T) {
	s := slackfake.New(slackfake.Options{})
	defer s.Close()
	u := s.ResponseURL()
	post := func(body string) int {
		t.Helper()
		resp, err := http.Post(u, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	post(`{"response_type":"ephemeral","text":"hi","replace_original":false}`)
	post(`{"response_type":"in_channel","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", 3001) + `"}}]}`)
	post(`{"response_type":"sideways","text":"x"}`)
	post(`{"text":""}`)
	post(`{"text":"5th"}`)
	if code := post(`{"text":"6th"}`); code != http.StatusNotFound {
		t.Errorf("6th post: %d", code)
	}
	rs := s.WaitResponses(2, 10*time.Millisecond)
	if len(rs) != 2 || rs[0].Text != "hi" || rs[0].ResponseType != "ephemeral" || rs[0].ReplaceOriginal == nil || *rs[0].ReplaceOriginal ||
		rs[1].Text != "5th" || rs[1].ReplaceOriginal != nil {
		t.Errorf("responses %+v", rs)
	}
	if v := s.Violations(); len(v) != 4 {
		t.Errorf("violations %q", v)
	}
	if n := s.Calls()["response_url"]; n != 6 {
		t.Errorf("%d calls", n)
	}
	resp, err := http.Post(strings.Replace(u, "/response/1", "/response/99", 1), "application/json", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown URL: %d", resp.StatusCode)
	}
}

// TestHistoryWindow: messages added at any time are listed in ts order
// within [oldest, latest]; paged with a cursor, an inclusive window gives
// each message once, its bounds included.
func TestHistoryWindow(t *testing.T) {
	s := start(t, slackfake.Options{})
	api := slack.New(s.Token(), slack.OptionAPIURL(s.URL()))
	t0 := time.Unix(1700000000, 0)
	var refs []string
	for _, sec := range []int{5, 1, 3, 0, 4, 2, 6} { // out of order
		refs = append(refs, s.AddAt(ch, fmt.Sprint(sec), "", t0.Add(time.Duration(sec)*time.Second)))
	}
	if dup := s.AddAt(ch, "same time", "", t0); dup == refs[3] || !strings.HasSuffix(dup, ".000001") {
		t.Errorf("a second message at the same time: %q", dup)
	}
	p := &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2, Inclusive: true,
		Oldest: "1700000001.000000", Latest: "1700000005.000000"}
	var got []string
	for page := 0; ; page++ {
		r, err := api.GetConversationHistory(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			got = append(got, m.Text)
		}
		if !r.HasMore {
			break
		}
		p.Cursor = r.ResponseMetaData.NextCursor
		if page > 5 {
			t.Fatal("endless paging")
		}
	}
	if want := "5 4 3 2 1"; strings.Join(got, " ") != want {
		t.Errorf("inclusive window %q, want %q", strings.Join(got, " "), want)
	}
	p.Cursor, p.Inclusive, p.Limit = "", false, 10
	r, err := api.GetConversationHistory(p)
	if err != nil || len(r.Messages) != 3 || r.Messages[0].Text != "4" || r.Messages[2].Text != "2" {
		t.Errorf("exclusive window: %v %+v", err, r)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Error(v)
	}
}
