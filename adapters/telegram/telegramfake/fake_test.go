package telegramfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

type answer struct {
	Status      int
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func call(t *testing.T, s *Server, token, method string, params map[string]any) answer {
	t.Helper()
	u := fmt.Sprintf(s.URL(), token, method)
	form := url.Values{}
	for k, v := range params {
		switch v := v.(type) {
		case string:
			form.Set(k, v)
		default:
			b, _ := json.Marshal(v)
			form.Set(k, string(b))
		}
	}
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	a.Status = resp.StatusCode
	return a
}

func callJSON(t *testing.T, s *Server, method string, params map[string]any) answer {
	t.Helper()
	b, _ := json.Marshal(params)
	resp, err := http.Post(fmt.Sprintf(s.URL(), s.Token(), method), "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	a.Status = resp.StatusCode
	return a
}

func wantError(t *testing.T, a answer, status int, desc string) {
	t.Helper()
	if a.OK || a.Status != status || a.ErrorCode != status || !strings.HasPrefix(a.Description, desc) {
		t.Errorf("got %d %+v, want %d %q", a.Status, a, status, desc)
	}
}

func kb(buttons ...map[string]string) map[string]any {
	return map[string]any{"inline_keyboard": [][]map[string]string{buttons}}
}

func TestSendEditReply(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "<b>Hi</b> &amp; x", "parse_mode": "HTML",
		"reply_markup": kb(map[string]string{"text": "Ack", "callback_data": "k"})})
	if !a.OK {
		t.Fatalf("send: %+v", a)
	}
	var m struct {
		MessageID int `json:"message_id"`
		Chat      struct {
			ID   int64  `json:"id"`
			Type string `json:"type"`
		} `json:"chat"`
		Text     string `json:"text"`
		Date     int64  `json:"date"`
		Entities []struct {
			Type string `json:"type"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(a.Result, &m); err != nil || m.MessageID != 1 || m.Chat.ID != -1001 || m.Text != "Hi & x" || m.Date == 0 ||
		len(m.Entities) != 1 || m.Entities[0].Type != "bold" {
		t.Fatalf("result %s (%v)", a.Result, err)
	}
	edit := map[string]any{"chat_id": "-1001", "message_id": "1", "text": "<i>Bye</i>", "parse_mode": "HTML"}
	if a := callJSON(t, s, "editMessageText", edit); !a.OK {
		t.Fatalf("edit: %+v", a)
	}
	wantError(t, callJSON(t, s, "editMessageText", edit), 400, "Bad Request: message is not modified")
	// Same text, other markup: modified.
	edit["reply_markup"] = kb(map[string]string{"text": "Docs", "url": "https://example.com"})
	if a := callJSON(t, s, "editMessageText", edit); !a.OK {
		t.Fatalf("edit markup: %+v", a)
	}
	if a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "r1", "reply_to_message_id": "1"}); !a.OK {
		t.Fatalf("reply: %+v", a)
	}
	// A reply to a reply belongs to the top-level message.
	if a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "r2", "reply_to_message_id": "2"}); !a.OK {
		t.Fatalf("reply: %+v", a)
	}
	wantError(t, call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "x", "reply_to_message_id": "99"}),
		400, "Bad Request: message to be replied not found")
	if a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1001", "text": "orphan", "reply_to_message_id": "99",
		"allow_sending_without_reply": "true"}); !a.OK {
		t.Fatalf("allow_sending_without_reply: %+v", a)
	}
	msgs := s.Messages("-1001")
	if len(msgs) != 2 {
		t.Fatalf("messages: %+v", msgs)
	}
	m0 := msgs[0]
	if m0.Ref != "-1001/1" || m0.Text != "Bye" || m0.HTML != "<i>Bye</i>" || m0.Edits != 2 ||
		strings.Join(m0.Replies, ",") != "r1,r2" || len(m0.Keyboard) != 1 || m0.Keyboard[0][0].URL != "https://example.com" ||
		string(m0.ReplyMarkup) != `{"inline_keyboard":[[{"text":"Docs","url":"https://example.com"}]]}` {
		t.Errorf("message: %+v", m0)
	}
	if msgs[1].Text != "orphan" {
		t.Errorf("orphan: %+v", msgs[1])
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
	if c := s.Calls(); c["sendMessage"] != 5 || c["editMessageText"] != 3 {
		t.Errorf("calls: %v", c)
	}
}

func TestRejects(t *testing.T) {
	s := New(Options{Chats: []int64{-1001}})
	defer s.Close()
	send := func(text string, extra map[string]any) answer {
		p := map[string]any{"chat_id": "-1001", "text": text, "parse_mode": "HTML"}
		for k, v := range extra {
			p[k] = v
		}
		return call(t, s, s.Token(), "sendMessage", p)
	}
	violations := 0
	for _, bad := range []string{
		"<b>open", "<b><i>x</b></i>", "</b>", "<blink>x</blink>", "a < b", "a & b", "&nbsp;", "&#xD800;",
		"<a>x</a>", "<span>x</span>", "<code><b>x</b></code>", "<pre><i>x</i></pre>", "<b x=\"1>", "",
		"<b></b>", strings.Repeat("a", 4097), strings.Repeat("&lt;", 4097), strings.Repeat("🔥", 2049),
	} {
		a := send(bad, nil)
		if a.OK || a.Status != 400 {
			t.Errorf("accepted %.40q: %+v", bad, a)
			continue
		}
		violations++
	}
	// What is fine.
	for _, good := range []string{
		strings.Repeat("a", 4096), strings.Repeat("&lt;", 4096), strings.Repeat("🔥", 2048), "a > b",
		`<a href="https://x.example/?a=1&amp;b=2">x</a>`, `<span class="tg-spoiler">s</span>`, "<pre><code class=\"language-go\">x</code></pre>",
		"<B>x</B> <strong>y</strong> <tg-spoiler>z</tg-spoiler> &#128293; &#x1F525; &quot;",
	} {
		if a := send(good, nil); !a.OK {
			t.Errorf("refused %.40q: %+v", good, a)
		}
	}
	wantError(t, send("<b>x", nil), 400, "Bad Request: can't parse entities: Can't find end tag")
	violations++
	wantError(t, send(strings.Repeat("x", 5000), nil), 400, "Bad Request: message is too long")
	violations++
	for _, data := range []string{"", strings.Repeat("k", 65)} {
		wantError(t, send("x", map[string]any{"reply_markup": kb(map[string]string{"text": "b", "callback_data": data})}), 400, "Bad Request: BUTTON_DATA_INVALID")
		violations++
	}
	if a := send("x", map[string]any{"reply_markup": kb(map[string]string{"text": "b", "callback_data": strings.Repeat("k", 64)})}); !a.OK {
		t.Errorf("64-byte callback_data refused: %+v", a)
	}
	wantError(t, send("x", map[string]any{"reply_markup": "{"}), 400, "Bad Request: can't parse reply keyboard markup")
	violations++
	wantError(t, send("x", map[string]any{"reply_markup": kb(map[string]string{"text": "b"})}), 400, "Bad Request: can't parse inline keyboard button")
	violations++
	wantError(t, send("x", map[string]any{"reply_markup": kb(map[string]string{"text": "b", "url": "javascript:alert(1)"})}), 400, "Bad Request: BUTTON_URL_INVALID")
	violations++
	if v := s.Violations(); len(v) != violations {
		t.Errorf("%d violations recorded, want %d: %v", len(v), violations, v)
	}

	// Not violations: unknown chat, unknown message, not modified, auth.
	wantError(t, call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-1002", "text": "x"}), 400, "Bad Request: chat not found")
	wantError(t, call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "@somechannel", "text": "x"}), 400, "Bad Request: chat not found")
	wantError(t, call(t, s, s.Token(), "editMessageText", map[string]any{"chat_id": "-1001", "message_id": "999", "text": "x"}), 400, "Bad Request: message to edit not found")
	wantError(t, call(t, s, "1:wrong", "sendMessage", map[string]any{"chat_id": "-1001", "text": "x"}), 401, "Unauthorized")
	wantError(t, call(t, s, "", "getMe", nil), 401, "Unauthorized")
	wantError(t, call(t, s, s.Token(), "sendPoll", nil), 404, "Not Found")
	if v := s.Violations(); len(v) != violations {
		t.Errorf("%d violations recorded, want %d: %v", len(v), violations, v)
	}
	if a := call(t, s, s.Token(), "getMe", nil); !a.OK || !strings.Contains(string(a.Result), `"is_bot":true`) {
		t.Errorf("getMe: %+v", a)
	}
	resp, err := http.Get(fmt.Sprintf(s.URL(), s.Token(), "getMe"))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET getMe: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if a := call(t, s, s.Token(), "answerCallbackQuery", map[string]any{"callback_query_id": "42"}); !a.OK || string(a.Result) != "true" {
		t.Errorf("answerCallbackQuery: %+v", a)
	}
	if s.RateLimited() != 0 {
		t.Errorf("rate limited %d", s.RateLimited())
	}
}

func TestRateLimit(t *testing.T) {
	s := New(Options{PerChat: 1, PerChatBurst: 3})
	defer s.Close()
	send := func(chat string) answer {
		return call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": chat, "text": "x"})
	}
	for i := range 3 {
		if a := send("-1001"); !a.OK {
			t.Fatalf("burst %d: %+v", i, a)
		}
	}
	a := send("-1001")
	wantError(t, a, 429, "Too Many Requests: retry after 1")
	if a.Parameters == nil || a.Parameters.RetryAfter != 1 {
		t.Errorf("retry_after: %+v", a.Parameters)
	}
	// Another chat has its own budget.
	if a := send("-1002"); !a.OK {
		t.Errorf("other chat: %+v", a)
	}
	// An edit counts too.
	wantError(t, call(t, s, s.Token(), "editMessageText", map[string]any{"chat_id": "-1001", "message_id": "1", "text": "y"}), 429, "Too Many Requests")
	if s.RateLimited() != 2 || len(s.Violations()) != 0 || len(s.Messages("-1001")) != 3 {
		t.Errorf("rate limited %d, violations %v, messages %d", s.RateLimited(), s.Violations(), len(s.Messages("-1001")))
	}

	// The group limit (0.5/s) asks for 2 s; the global one (1/s) for at most 1 s.
	// A refused call takes no token from the other limiters.
	g := New(Options{PerGroup: 0.5, PerGroupBurst: 1, Global: 1, GlobalBurst: 2})
	defer g.Close()
	for _, c := range []struct {
		chat  string
		retry int // 0: accepted
	}{{"-5", 0}, {"-5", 2}, {"7", 0}, {"8", 1}, {"-6", 1}} {
		a := call(t, g, g.Token(), "sendMessage", map[string]any{"chat_id": c.chat, "text": "x"})
		if c.retry == 0 && !a.OK {
			t.Errorf("chat %s refused: %+v", c.chat, a)
		}
		if c.retry > 0 && (a.OK || a.Parameters == nil || a.Parameters.RetryAfter != c.retry) {
			t.Errorf("chat %s: %+v, want retry after %d", c.chat, a, c.retry)
		}
	}
}

func TestFail(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.Fail("sendMessage", 2, 502, "Bad Gateway")
	for range 2 {
		wantError(t, call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "1", "text": "x"}), 502, "Bad Gateway")
	}
	if a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "1", "text": "x"}); !a.OK {
		t.Errorf("after Fail: %+v", a)
	}
	s.Fail("sendMessage", 1, 429, "Too Many Requests: retry after 7")
	a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "1", "text": "x"})
	if a.Status != 429 || a.Parameters == nil || a.Parameters.RetryAfter != 7 || s.RateLimited() != 1 {
		t.Errorf("429: %+v", a)
	}
}

func TestConcurrent(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": "-100", "text": fmt.Sprintf("%d.%d", g, i)})
				if !a.OK {
					t.Errorf("send: %+v", a)
				}
			}
		})
	}
	wg.Wait()
	msgs := s.Messages("-100")
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.Ref] = true
	}
	if len(msgs) != 80 || len(seen) != 80 {
		t.Errorf("%d messages, %d refs", len(msgs), len(seen))
	}
}

func TestParseHTMLEntities(t *testing.T) {
	text, ents, err := parseHTML(`<b>a🔥</b><a href="https://x.example">l</a>`)
	if err != nil || text != "a🔥l" || len(ents) != 2 || ents[0] != (entity{Type: "bold", Offset: 0, Length: 3}) ||
		ents[1] != (entity{Type: "text_link", Offset: 3, Length: 1, URL: "https://x.example"}) {
		t.Errorf("%q %+v %v", text, ents, err)
	}
}
