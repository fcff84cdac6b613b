package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
)

// Slack's published example, from "Verifying requests from Slack"
// (docs.slack.dev/authentication/verifying-requests-from-slack).
const (
	docSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	docTS     = "1531420618"
	docBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func slackHeader(sig, ts string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	if ts != "" {
		h.Set(HeaderTimestamp, ts)
	}
	return h
}

func TestVerifySlackExample(t *testing.T) {
	at := time.Unix(1531420618, 0)
	cases := []struct {
		name string
		h    http.Header
		body string
		now  time.Time
		want error
	}{
		{"valid", slackHeader(docSig, docTS), docBody, at, nil},
		{"valid 4m59s later", slackHeader(docSig, docTS), docBody, at.Add(4*time.Minute + 59*time.Second), nil},
		{"valid 5m earlier", slackHeader(docSig, docTS), docBody, at.Add(-5 * time.Minute), nil},
		{"uppercase hex", slackHeader("v0="+strings.ToUpper(docSig[3:]), docTS), docBody, at, nil},
		{"replayed", slackHeader(docSig, docTS), docBody, at.Add(5*time.Minute + time.Second), ErrStaleTimestamp},
		{"from the future", slackHeader(docSig, docTS), docBody, at.Add(-6 * time.Minute), ErrStaleTimestamp},
		{"tampered body", slackHeader(docSig, docTS), strings.Replace(docBody, "roadrunner", "coyote", 1), at, ErrBadSignature},
		{"other timestamp", slackHeader(docSig, "1531420619"), docBody, at, ErrBadSignature},
		{"missing signature", slackHeader("", docTS), docBody, at, ErrMissingSignature},
		{"missing timestamp", slackHeader(docSig, ""), docBody, at, ErrMissingTimestamp},
		{"bad timestamp", slackHeader(docSig, "-1531420618"), docBody, at, ErrBadTimestamp},
		{"huge timestamp", slackHeader(docSig, "99999999999999999999"), docBody, at, ErrBadTimestamp},
		{"wrong version", slackHeader("v1="+docSig[3:], docTS), docBody, at, ErrBadSignature},
		{"short signature", slackHeader(docSig[:40], docTS), docBody, at, ErrBadSignature},
		{"not hex", slackHeader("v0=zz"+docSig[5:], docTS), docBody, at, ErrBadSignature},
	}
	for _, c := range cases {
		if err := Verify(docSecret, c.h, []byte(c.body), c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	if err := Verify("other-secret", slackHeader(docSig, docTS), []byte(docBody), at); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other secret: %v", err)
	}
	if err := Verify("", slackHeader(docSig, docTS), []byte(docBody), at); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no secret: %v", err)
	}
}

const (
	testSecret = "test-signing-secret"
	testCh     = "C0KLAXON1"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func signBody(secret string, ts int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":" + body))
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// recorder is a Handler that records its requests and answers with reply.
type recorder struct {
	mu      sync.Mutex
	reqs    []chatops.Request
	ctxOK   bool
	reply   chatops.Reply
	release chan struct{} // when not nil, Handle waits for it
}

func (h *recorder) Handle(ctx context.Context, r chatops.Request) chatops.Reply {
	dl, ok := ctx.Deadline()
	h.mu.Lock()
	h.reqs = append(h.reqs, r)
	h.ctxOK = ok && time.Until(dl) <= handlerTimeout
	rel := h.release
	rep := h.reply
	h.mu.Unlock()
	if rel != nil {
		<-rel
	}
	return rep
}

func (h *recorder) requests() []chatops.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]chatops.Request(nil), h.reqs...)
}

type rejection struct{ platform, reason string }

type inboundEnv struct {
	in       *Inbound
	h        *recorder
	fake     *slackfake.Server
	mu       sync.Mutex
	rejected []rejection
}

func newInbound(t *testing.T, h *recorder) *inboundEnv {
	t.Helper()
	e := &inboundEnv{h: h, fake: slackfake.New(slackfake.Options{})}
	t.Cleanup(e.fake.Close)
	in, err := NewInbound(InboundOptions{
		SigningSecret: testSecret,
		Handler:       h,
		Rejected: func(p, r string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.rejected = append(e.rejected, rejection{p, r})
		},
		Now:                 func() time.Time { return testNow },
		Log:                 slog.New(slog.DiscardHandler),
		ResponseURLPrefixes: []string{e.fake.ResponseURLPrefix()},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.in = in
	t.Cleanup(in.Wait)
	return e
}

func (e *inboundEnv) rejections() []rejection {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]rejection(nil), e.rejected...)
}

// send posts body to handler, signed at ts with secret (unsigned when
// secret is "").
func send(t *testing.T, handler http.Handler, secret string, ts int64, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/slack/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		r.Header.Set(HeaderSignature, signBody(secret, ts, body))
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	return w
}

func commandForm(text, responseURL string) string {
	return url.Values{
		"token": {"ignored"}, "team_id": {"T1"}, "channel_id": {testCh}, "channel_name": {"ops"},
		"user_id": {"U0ALICE"}, "user_name": {"alice"}, "command": {"/incident"}, "text": {text},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"},
	}.Encode()
}

type answer struct {
	ResponseType    string            `json:"response_type"`
	Text            string            `json:"text"`
	Blocks          []json.RawMessage `json:"blocks"`
	ReplaceOriginal *bool             `json:"replace_original"`
}

func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder) answer {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var a answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	return a
}

// checkWithFake has the fake check a synchronous answer as Slack would,
// by posting it to one of its response URLs.
func checkWithFake(t *testing.T, f *slackfake.Server, body []byte) {
	t.Helper()
	before := len(f.Violations())
	resp, err := http.Post(f.ResponseURL(), "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := f.Violations(); len(v) > before {
		t.Fatalf("Slack would refuse the answer: %v", v[before:])
	}
}

func TestCommandAnswers(t *testing.T) {
	h := &recorder{reply: chatops.Reply{Text: "INC-1 <!channel> a<b & c>d\nline 2", Ephemeral: true}}
	e := newInbound(t, h)
	w := send(t, e.in.Commands(), testSecret, testNow.Unix(), commandForm("  ack INC-1 ", e.fake.ResponseURL()))
	a := decodeAnswer(t, w)
	if a.ResponseType != "ephemeral" || a.Text != "INC-1 &lt;!channel&gt; a&lt;b &amp; c&gt;d\nline 2" {
		t.Errorf("answer %+v", a)
	}
	want := chatops.Request{Platform: "slack", UserID: "U0ALICE", UserName: "alice", Channel: testCh, Text: "ack INC-1"}
	if got := h.requests(); len(got) != 1 || got[0] != want {
		t.Errorf("requests %+v, want %+v", got, want)
	}
	if !h.ctxOK {
		t.Error("the handler got no deadline")
	}
	checkWithFake(t, e.fake, w.Body.Bytes())

	h.reply = chatops.Reply{Text: "Alice acknowledged INC-1"}
	a = decodeAnswer(t, send(t, e.in.Commands(), testSecret, testNow.Unix()-60, commandForm("ack INC-1", "")))
	if a.ResponseType != "in_channel" || a.Text != "Alice acknowledged INC-1" {
		t.Errorf("answer %+v", a)
	}

	h.reply = chatops.Reply{}
	if w := send(t, e.in.Commands(), testSecret, testNow.Unix(), commandForm("", "")); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("empty reply: %d %q", w.Code, w.Body)
	}
	if r := e.rejections(); len(r) != 0 {
		t.Errorf("rejections %v", r)
	}
	if len(e.fake.Responses()) != 1 { // only checkWithFake's
		t.Errorf("responses %+v", e.fake.Responses())
	}
}

func TestRefusals(t *testing.T) {
	h := &recorder{reply: chatops.Reply{Text: "no"}}
	e := newInbound(t, h)
	body := commandForm("ack INC-1", "")
	payload := url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"klaxon:ack","value":"k"}]}`}}.Encode()
	now := testNow.Unix()
	for _, ep := range []struct {
		name string
		h    http.Handler
		body string
	}{{"commands", e.in.Commands(), body}, {"interactions", e.in.Interactions(), payload}} {
		cases := []struct {
			name, reason string
			req          func() *http.Request
		}{
			{"unsigned", "missing signature", func() *http.Request {
				return httptest.NewRequest(http.MethodPost, "/", strings.NewReader(ep.body))
			}},
			{"no timestamp", "missing timestamp", func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(ep.body))
				r.Header.Set(HeaderSignature, signBody(testSecret, now, ep.body))
				return r
			}},
			{"wrong secret", "bad signature", func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(ep.body))
				r.Header.Set(HeaderTimestamp, strconv.FormatInt(now, 10))
				r.Header.Set(HeaderSignature, signBody("not-the-secret", now, ep.body))
				return r
			}},
			{"tampered", "bad signature", func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(ep.body+"&x=1"))
				r.Header.Set(HeaderTimestamp, strconv.FormatInt(now, 10))
				r.Header.Set(HeaderSignature, signBody(testSecret, now, ep.body))
				return r
			}},
			{"replayed", "stale timestamp", func() *http.Request { // well signed, 6 minutes old
				old := now - 360
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(ep.body))
				r.Header.Set(HeaderTimestamp, strconv.FormatInt(old, 10))
				r.Header.Set(HeaderSignature, signBody(testSecret, old, ep.body))
				return r
			}},
		}
		for _, c := range cases {
			before := len(e.rejections())
			w := httptest.NewRecorder()
			ep.h.ServeHTTP(w, c.req())
			var got map[string]string
			if w.Code != http.StatusUnauthorized || json.Unmarshal(w.Body.Bytes(), &got) != nil || got["error"] != c.reason {
				t.Errorf("%s %s: %d %q", ep.name, c.name, w.Code, w.Body)
			}
			if r := e.rejections(); len(r) != before+1 || r[before] != (rejection{"slack", c.reason}) {
				t.Errorf("%s %s: rejections %v", ep.name, c.name, r[before:])
			}
			if strings.Contains(w.Body.String(), testSecret) {
				t.Errorf("%s %s: the answer holds the secret", ep.name, c.name)
			}
		}
		// Too large: 413 before anything else.
		big := strings.Repeat("a", maxBody+1)
		if w := send(t, ep.h, testSecret, now, big); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s too large: %d", ep.name, w.Code)
		}
		// Not a POST.
		w := httptest.NewRecorder()
		ep.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s GET: %d", ep.name, w.Code)
		}
	}
	e.in.Wait()
	if r := h.requests(); len(r) != 0 {
		t.Errorf("the handler was called: %+v", r)
	}
}

func TestCommandSlowHandler(t *testing.T) {
	h := &recorder{reply: chatops.Reply{Text: "Declared INC-7 <here>", Ephemeral: false}, release: make(chan struct{})}
	e := newInbound(t, h)
	e.in.answerWait = 30 * time.Millisecond
	w := send(t, e.in.Commands(), testSecret, testNow.Unix(), commandForm("declare db down", e.fake.ResponseURL()))
	a := decodeAnswer(t, w)
	if a.ResponseType != "ephemeral" || a.Text != "Working on it…" {
		t.Errorf("answer %+v", a)
	}
	if len(e.fake.Responses()) != 0 {
		t.Error("posted before the handler finished")
	}
	close(h.release)
	e.in.Wait()
	rs := e.fake.Responses()
	if len(rs) != 1 {
		t.Fatalf("responses %+v", rs)
	}
	r := rs[0]
	if r.ResponseType != "in_channel" || r.Text != "Declared INC-7 &lt;here&gt;" || r.ReplaceOriginal == nil || *r.ReplaceOriginal {
		t.Errorf("response %+v", r)
	}
	if v := e.fake.Violations(); len(v) != 0 {
		t.Error(v)
	}
}

func TestCommandPanickingHandler(t *testing.T) {
	e := newInbound(t, &recorder{})
	e.in.handler = chatops.HandlerFunc(func(context.Context, chatops.Request) chatops.Reply { panic("boom") })
	a := decodeAnswer(t, send(t, e.in.Commands(), testSecret, testNow.Unix(), commandForm("ack", "")))
	if a.Text != failedText || a.ResponseType != "ephemeral" {
		t.Errorf("answer %+v", a)
	}
}

// docText unescapes what codeChunks made of a document.
func docText(t *testing.T, blocks [][]json.RawMessage) (title, content string, rest bool) {
	t.Helper()
	var parts []string
	for _, msg := range blocks {
		for _, b := range msg {
			var blk struct {
				Type string `json:"type"`
				Text struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"text"`
			}
			if err := json.Unmarshal(b, &blk); err != nil {
				t.Fatal(err)
			}
			switch {
			case blk.Type == "header":
				title = blk.Text.Text
			case strings.HasPrefix(blk.Text.Text, "```\n"):
				c := strings.TrimSuffix(strings.TrimPrefix(blk.Text.Text, "```\n"), "\n```")
				c = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(c)
				parts = append(parts, c)
			case strings.HasPrefix(blk.Text.Text, "… the rest: "):
				rest = true
			}
		}
	}
	return title, strings.Join(parts, "\n"), rest
}

func docLines(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("line " + strconv.Itoa(i) + ": a <b> & c, <!channel> ```x``` 😀 é\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestCommandDocument(t *testing.T) {
	content := docLines(400) // about 22,000 characters: several messages
	h := &recorder{reply: chatops.Reply{Text: "Postmortem of INC-3:", Ephemeral: true,
		Document: &chatops.Document{Name: "INC-3-postmortem.md", Title: "INC-3 postmortem", Content: content}}}
	e := newInbound(t, h)
	w := send(t, e.in.Commands(), testSecret, testNow.Unix(), commandForm("postmortem INC-3", e.fake.ResponseURL()))
	a := decodeAnswer(t, w)
	e.in.Wait()
	rs := e.fake.Responses()
	checkWithFake(t, e.fake, w.Body.Bytes())
	if len(rs) == 0 || len(rs)+1 > maxDocMessages {
		t.Fatalf("%d more messages", len(rs))
	}
	msgs := [][]json.RawMessage{a.Blocks}
	for _, r := range rs {
		var bl []json.RawMessage
		if err := json.Unmarshal(r.Blocks, &bl); err != nil {
			t.Fatal(err)
		}
		if r.ResponseType != "ephemeral" || r.ReplaceOriginal == nil || *r.ReplaceOriginal {
			t.Errorf("response %s %q %v", r.ResponseType, r.Text, r.ReplaceOriginal)
		}
		msgs = append(msgs, bl)
	}
	if !strings.Contains(string(a.Blocks[0]), "Postmortem of INC-3:") {
		t.Errorf("first block %s", a.Blocks[0])
	}
	title, got, rest := docText(t, msgs)
	want := strings.ReplaceAll(content, "```", "`\u200b``")
	if title != "INC-3 postmortem" || got != want || rest {
		t.Errorf("title %q rest %v, content equal: %v", title, rest, got == want)
	}
	if v := e.fake.Violations(); len(v) != 0 {
		t.Error(v)
	}
}

func TestDocumentTooLong(t *testing.T) {
	d := &chatops.Document{Name: "x.md", Content: docLines(20000) + strings.Repeat("&", 200000)}
	groups := DocumentBlocks("", d)
	if len(groups) != maxDocMessages {
		t.Fatalf("%d messages", len(groups))
	}
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	var msgs [][]json.RawMessage
	sections := 0
	for _, g := range groups {
		body, err := json.Marshal(message{ResponseType: "ephemeral", Text: "x", Blocks: g})
		if err != nil {
			t.Fatal(err)
		}
		checkWithFake(t, f, body)
		var raw []json.RawMessage
		for _, b := range g {
			j, _ := json.Marshal(b)
			raw = append(raw, j)
		}
		msgs = append(msgs, raw)
		sections += len(g)
	}
	if sections > maxDocSections+2 {
		t.Errorf("%d blocks", sections)
	}
	title, _, rest := docText(t, msgs)
	if title != "x.md" || !rest {
		t.Errorf("title %q, rest %v", title, rest)
	}
	last := groups[len(groups)-1]
	if j, _ := json.Marshal(last[len(last)-1]); !strings.Contains(string(j), "… the rest: x.md") {
		t.Errorf("last block %s", j)
	}
}

func TestCodeChunks(t *testing.T) {
	long := strings.Repeat("<", 5000) // one line, no break: cut anywhere but in an entity
	chunks, cut := codeChunks(long, 45)
	if cut || len(chunks) < 7 {
		t.Fatalf("%d chunks, cut %v", len(chunks), cut)
	}
	total := 0
	for _, c := range chunks {
		if units(c) > MaxTextLen {
			t.Errorf("chunk of %d units", units(c))
		}
		body := strings.TrimSuffix(strings.TrimPrefix(c, "```\n"), "\n```")
		if strings.Trim(body, "&lt;") != "" || strings.Count(body, "&lt;")*4 != len(body) {
			t.Errorf("a chunk splits an entity: %q…", truncate(body, 20))
		}
		total += strings.Count(body, "&lt;")
	}
	if total != 5000 {
		t.Errorf("%d characters kept", total)
	}
	if c, cut := codeChunks(strings.Repeat("x\n", 10000), 2); len(c) != 2 || !cut {
		t.Errorf("%d chunks, cut %v", len(c), cut)
	}
	if c, cut := codeChunks("  \n\n ", 45); len(c) != 0 || cut {
		t.Errorf("blank: %q %v", c, cut)
	}
}

func interactionForm(payload any) string {
	j, _ := json.Marshal(payload)
	return url.Values{"payload": {string(j)}}.Encode()
}

func TestInteractions(t *testing.T) {
	h := &recorder{reply: chatops.Reply{Text: "Acknowledged <INC-1> & more", Ephemeral: false}}
	e := newInbound(t, h)
	respURL := e.fake.ResponseURL()
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0BOB", "username": "bob", "name": "bobby"},
		"channel":      map[string]any{"id": testCh, "name": "ops"},
		"container":    map[string]any{"type": "message", "message_ts": "1712345678.000100", "channel_id": testCh},
		"message":      map[string]any{"ts": "1712345678.000100"},
		"response_url": respURL,
		"actions":      []any{map[string]any{"action_id": "klaxon:ack", "block_id": "actions", "value": "INC-1.sig", "type": "button"}},
	}
	w := send(t, e.in.Interactions(), testSecret, testNow.Unix(), interactionForm(p))
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("answer %d %q", w.Code, w.Body)
	}
	rs := e.fake.WaitResponses(1, 3*time.Second)
	if len(rs) != 1 {
		t.Fatalf("responses %+v", rs)
	}
	if r := rs[0]; r.ResponseType != "ephemeral" || r.Text != "Acknowledged &lt;INC-1&gt; &amp; more" || r.ReplaceOriginal == nil || *r.ReplaceOriginal {
		t.Errorf("response %+v", r)
	}
	want := chatops.Request{Platform: "slack", UserID: "U0BOB", UserName: "bob", Channel: testCh,
		Thread: Ref(testCh, "1712345678.000100"), Button: "INC-1.sig"}
	if got := h.requests(); len(got) != 1 || got[0] != want {
		t.Errorf("requests %+v, want %+v", got, want)
	}

	// Fallbacks: user.name, container.channel_id, message.ts; no text, no post.
	h.reply = chatops.Reply{}
	p["user"] = map[string]any{"id": "U0BOB", "name": "bobby"}
	delete(p, "channel")
	p["container"] = map[string]any{"type": "message", "channel_id": testCh}
	p["message"] = map[string]any{"ts": "1712345678.000200"}
	w = send(t, e.in.Interactions(), testSecret, testNow.Unix(), interactionForm(p))
	e.in.Wait()
	if w.Code != http.StatusOK {
		t.Fatal(w.Code)
	}
	want = chatops.Request{Platform: "slack", UserID: "U0BOB", UserName: "bobby", Channel: testCh,
		Thread: Ref(testCh, "1712345678.000200"), Button: "INC-1.sig"}
	if got := h.requests(); len(got) != 2 || got[1] != want {
		t.Errorf("requests %+v, want %+v", got, want)
	}
	if len(e.fake.Responses()) != 1 {
		t.Errorf("posted an empty reply")
	}

	// A forged key: the handler says so, the user is told.
	h.reply = chatops.Reply{Unauthorized: true}
	send(t, e.in.Interactions(), testSecret, testNow.Unix()-1, interactionForm(p))
	e.in.Wait()
	if rs := e.fake.Responses(); len(rs) != 2 || rs[1].Text != badButtonText {
		t.Errorf("responses %+v", rs)
	}

	// Ignored: link buttons, other payload types, no actions.
	n := len(h.requests())
	p["actions"] = []any{map[string]any{"action_id": LinkActionIDPrefix + "0", "value": "", "type": "button"}}
	for _, body := range []string{
		interactionForm(p),
		interactionForm(map[string]any{"type": "view_submission", "user": map[string]any{"id": "U1"}}),
		interactionForm(map[string]any{"type": "block_actions", "user": map[string]any{"id": "U1"}}),
	} {
		if w := send(t, e.in.Interactions(), testSecret, testNow.Unix(), body); w.Code != http.StatusOK {
			t.Errorf("ignored payload: %d", w.Code)
		}
	}
	// Malformed.
	if w := send(t, e.in.Interactions(), testSecret, testNow.Unix(), "payload=%7Bnot+json"); w.Code != http.StatusBadRequest {
		t.Errorf("malformed payload: %d", w.Code)
	}
	e.in.Wait()
	if len(h.requests()) != n {
		t.Errorf("the handler was called for an ignored payload")
	}
	if v := e.fake.Violations(); len(v) != 0 {
		t.Error(v)
	}
	if r := e.rejections(); len(r) != 0 {
		t.Errorf("rejections %v", r)
	}
	// The same signed request again, inside the window: a replay.
	n = len(h.requests())
	if w := send(t, e.in.Interactions(), testSecret, testNow.Unix(), interactionForm(p)); w.Code != http.StatusUnauthorized {
		t.Errorf("replayed click: %d", w.Code)
	}
	e.in.Wait()
	if r := e.rejections(); len(r) != 1 || r[0].reason != "replayed" || len(h.requests()) != n {
		t.Errorf("after a replay: rejections %v, %d requests", r, len(h.requests())-n)
	}
}

func TestInteractionDoesNotWaitForTheHandler(t *testing.T) {
	h := &recorder{reply: chatops.Reply{Text: "done"}, release: make(chan struct{})}
	e := newInbound(t, h)
	p := map[string]any{"type": "block_actions", "user": map[string]any{"id": "U1"}, "channel": map[string]any{"id": testCh},
		"container": map[string]any{"message_ts": "1.2"}, "response_url": e.fake.ResponseURL(),
		"actions": []any{map[string]any{"action_id": "klaxon:ack", "value": "k"}}}
	start := time.Now()
	w := send(t, e.in.Interactions(), testSecret, testNow.Unix(), interactionForm(p))
	if w.Code != http.StatusOK || time.Since(start) > time.Second {
		t.Errorf("answer %d after %v", w.Code, time.Since(start))
	}
	close(h.release)
	if rs := e.fake.WaitResponses(1, 3*time.Second); len(rs) != 1 || rs[0].Text != "done" {
		t.Errorf("responses %+v", rs)
	}
}

func TestResponseURLFailureIsLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, `{"ok":false,"error":"expired_url"}`, http.StatusNotFound)
	}))
	defer srv.Close()
	in, err := NewInbound(InboundOptions{SigningSecret: testSecret, Handler: &recorder{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.postOne(context.Background(), srv.URL+"/secret/path", message{ResponseType: "ephemeral", Text: "x"}); err == nil ||
		strings.Contains(err.Error(), "/secret/path") {
		t.Errorf("postOne: %v", err)
	}
}

func TestNewInbound(t *testing.T) {
	if _, err := NewInbound(InboundOptions{Handler: &recorder{}}); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := NewInbound(InboundOptions{SigningSecret: "s"}); err == nil {
		t.Error("no handler accepted")
	}
}

// sharedOnce is incidents.Once in memory, shared by two Inbounds as the
// Redis store is shared by two replicas; fail makes it unavailable.
type sharedOnce struct {
	mu   sync.Mutex
	keys map[string]bool
	fail bool
}

func (o *sharedOnce) ClaimOnce(_ context.Context, key string, _ time.Duration) (incidents.OnceState, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return 0, incidents.Errorf(incidents.Unavailable, "store down")
	}
	if o.keys[key] {
		return incidents.OnceBusy, nil
	}
	if o.keys == nil {
		o.keys = map[string]bool{}
	}
	o.keys[key] = true
	return incidents.OnceNew, nil
}

func (o *sharedOnce) SpendOnce(context.Context, string, time.Duration) error { return nil }
func (o *sharedOnce) ReleaseOnce(context.Context, string) error              { return nil }

// With a shared Once, a command replayed to another replica is refused
// there too; a store that cannot answer falls back to each replica's memory.
func TestReplayAcrossReplicas(t *testing.T) {
	once := &sharedOnce{}
	mk := func() (*Inbound, *recorder) {
		h := &recorder{reply: chatops.Reply{Text: "ok"}}
		in, err := NewInbound(InboundOptions{SigningSecret: testSecret, Handler: h, Now: func() time.Time { return testNow },
			Log: slog.New(slog.DiscardHandler), Once: once})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Wait)
		return in, h
	}
	a, ha := mk()
	b, hb := mk()
	body := commandForm("ack", "")
	if w := send(t, a.Commands(), testSecret, testNow.Unix(), body); w.Code != http.StatusOK {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	if w := send(t, b.Commands(), testSecret, testNow.Unix(), body); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Fatalf("replayed to the other replica: %d %s", w.Code, w.Body)
	}
	a.Wait()
	b.Wait()
	if len(ha.requests()) != 1 || len(hb.requests()) != 0 {
		t.Fatalf("handled %d + %d times, want 1", len(ha.requests()), len(hb.requests()))
	}
	once.mu.Lock()
	once.fail = true
	once.mu.Unlock()
	other := commandForm("list", "")
	if w := send(t, a.Commands(), testSecret, testNow.Unix(), other); w.Code != http.StatusOK {
		t.Fatalf("store down, first: %d", w.Code)
	}
	if w := send(t, a.Commands(), testSecret, testNow.Unix(), other); w.Code != http.StatusUnauthorized {
		t.Fatalf("store down, replay to the same replica: %d", w.Code)
	}
}

// sendHeaders posts body to handler with the given signing headers, each
// value sent as a header line of its own.
func sendHeaders(t *testing.T, handler http.Handler, body string, sigs, tss []string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/slack/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, s := range sigs {
		r.Header.Add(HeaderSignature, s)
	}
	for _, ts := range tss {
		r.Header.Add(HeaderTimestamp, ts)
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	return w
}

// A request is acted on once, however its signature is spelled when it is
// sent again: the replay guard keys on the MAC, not on the header's text,
// on this replica and (through a shared Once) on any other.
func TestReplayVariants(t *testing.T) {
	body := commandForm("declare db down sev 1", "")
	ts := strconv.FormatInt(testNow.Unix(), 10)
	sig := signBody(testSecret, testNow.Unix(), body)
	hexSig := sig[3:]
	mixed := []byte(hexSig)
	for i := range mixed {
		if i%2 == 0 {
			mixed[i] = strings.ToUpper(string(mixed[i]))[0]
		}
	}
	variants := []struct {
		name     string
		sigs, ts []string
	}{
		{"the same", []string{sig}, []string{ts}},
		{"upper-case hex", []string{"v0=" + strings.ToUpper(hexSig)}, []string{ts}},
		{"mixed-case hex", []string{"v0=" + string(mixed)}, []string{ts}},
		{"upper-case prefix", []string{"V0=" + hexSig}, []string{ts}},
		{"upper-case prefix and hex", []string{"V0=" + strings.ToUpper(hexSig)}, []string{ts}},
		{"leading space", []string{" " + sig}, []string{ts}},
		{"trailing space", []string{sig + " "}, []string{ts}},
		{"tab", []string{"\t" + strings.ToUpper(sig)}, []string{ts}},
		{"space in the timestamp", []string{sig}, []string{" " + ts + " "}},
		{"leading zero in the timestamp", []string{sig}, []string{"0" + ts}},
		{"plus in the timestamp", []string{sig}, []string{"+" + ts}},
		{"two signatures", []string{"v0=" + strings.ToUpper(hexSig), sig}, []string{ts}},
		{"two signatures, a bad one first", []string{"v0=" + strings.Repeat("0", 64), strings.ToUpper(sig)}, []string{ts}},
		{"two timestamps", []string{strings.ToUpper(sig)}, []string{ts, ts}},
	}
	once := &sharedOnce{}
	mk := func(once incidents.Once) (*Inbound, *recorder) {
		h := &recorder{reply: chatops.Reply{Text: "Declared INC-1"}}
		in, err := NewInbound(InboundOptions{SigningSecret: testSecret, Handler: h, Now: func() time.Time { return testNow },
			Log: slog.New(slog.DiscardHandler), Once: once})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Wait)
		return in, h
	}
	for _, shared := range []bool{false, true} {
		var a, b *Inbound
		var ha, hb *recorder
		if shared {
			a, ha = mk(once)
			b, hb = mk(once)
		} else {
			a, ha = mk(nil)
			b, hb = a, ha
		}
		if w := sendHeaders(t, a.Commands(), body, []string{sig}, []string{ts}); w.Code != http.StatusOK {
			t.Fatalf("shared %v: the first request: %d %s", shared, w.Code, w.Body)
		}
		for _, v := range variants {
			for _, in := range []*Inbound{a, b} {
				if w := sendHeaders(t, in.Commands(), body, v.sigs, v.ts); w.Code != http.StatusUnauthorized {
					t.Errorf("shared %v, %s: %d %s", shared, v.name, w.Code, w.Body)
				}
			}
		}
		a.Wait()
		b.Wait()
		if n := len(ha.requests()); n != 1 || (shared && len(hb.requests()) != 0) {
			t.Errorf("shared %v: acted %d + %d times, want once", shared, n, len(hb.requests()))
		}
	}
}

// VerifySignature returns the MAC itself, the same however it is spelled;
// requests with more than one signature or timestamp header are refused.
func TestVerifySignatureMAC(t *testing.T) {
	at := time.Unix(1531420618, 0)
	want, err := VerifySignature(docSecret, slackHeader(docSig, docTS), []byte(docBody), at)
	if err != nil || hex.EncodeToString(want) != docSig[3:] {
		t.Fatalf("VerifySignature = %x, %v", want, err)
	}
	got, err := VerifySignature(docSecret, slackHeader("v0="+strings.ToUpper(docSig[3:]), docTS), []byte(docBody), at)
	if err != nil || !hmac.Equal(got, want) {
		t.Errorf("upper case: %x, %v", got, err)
	}
	for name, h := range map[string]http.Header{
		"two signatures": {HeaderSignature: {docSig, docSig}, HeaderTimestamp: {docTS}},
		"two timestamps": {HeaderSignature: {docSig}, HeaderTimestamp: {docTS, docTS}},
	} {
		if _, err := VerifySignature(docSecret, h, []byte(docBody), at); !errors.Is(err, ErrDuplicateHeader) {
			t.Errorf("%s: %v, want ErrDuplicateHeader", name, err)
		}
	}
	for _, ts := range []string{"0" + docTS, "+" + docTS, " " + docTS, docTS + " "} {
		if err := Verify(docSecret, slackHeader(docSig, ts), []byte(docBody), at); !errors.Is(err, ErrBadTimestamp) {
			t.Errorf("timestamp %q: %v, want ErrBadTimestamp", ts, err)
		}
	}
}

// response_url is followed to Slack's hosts only (by default
// https://hooks.slack.com/): a signed request cannot make klaxon post to
// another host, loopback included. A refused URL is logged by its host and
// counted as a rejection.
func TestResponseURLAllowed(t *testing.T) {
	target := slackfake.New(slackfake.Options{}) // stands for a host that is not Slack's
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.ResponseURL(), http.StatusTemporaryRedirect))
	defer redirect.Close()
	var logs syncBuffer
	// Every reply goes to response_url: the handler answers only once the
	// command has been answered "Working on it…" (a handler done before
	// the answer's timer fires would be answered in the request).
	var release chan struct{}
	mk := func(prefixes ...string) (*Inbound, *[]rejection, *sync.Mutex) {
		var mu sync.Mutex
		var rej []rejection
		release = make(chan struct{})
		in, err := NewInbound(InboundOptions{SigningSecret: testSecret, Handler: &recorder{reply: chatops.Reply{Text: "late"}, release: release},
			Rejected: func(p, r string) { mu.Lock(); defer mu.Unlock(); rej = append(rej, rejection{p, r}) },
			Now:      func() time.Time { return testNow }, Log: slog.New(slog.NewTextHandler(&logs, nil)), ResponseURLPrefixes: prefixes})
		if err != nil {
			t.Fatal(err)
		}
		in.answerWait = 0
		t.Cleanup(in.Wait)
		return in, &rej, &mu
	}
	u := target.ResponseURL()
	host := strings.TrimPrefix(target.URL(), "http://")
	host = host[:strings.Index(host, "/")]
	port := host[strings.Index(host, ":"):]
	refused := map[string]struct {
		prefixes []string
		url      string
	}{
		"loopback, by default":         {nil, u},
		"another port":                 {[]string{"http://127.0.0.1:1/"}, u},
		"another path":                 {[]string{"http://" + host + "/hooks/"}, u},
		"localhost for 127.0.0.1":      {[]string{"http://" + host + "/"}, strings.Replace(u, "127.0.0.1", "localhost", 1)},
		"a user name before the host":  {[]string{"http://" + host + "/"}, "http://" + host + "@127.0.0.2" + port + "/response/1"},
		"slack.com's look-alike":       {nil, "https://hooks.slack.com.evil.example/commands/1"},
		"slack.com as a user name":     {nil, "https://hooks.slack.com@evil.example/commands/1"},
		"slack.com on another port":    {nil, "https://hooks.slack.com:8443/commands/1"},
		"slack.com in the path":        {nil, "https://evil.example/https://hooks.slack.com/"},
		"plain http to slack.com":      {nil, "http://hooks.slack.com/commands/1"},
		"a redirect off Slack's hosts": {[]string{redirect.URL + "/"}, redirect.URL + "/x"},
	}
	for name, c := range refused {
		in, rej, mu := mk(c.prefixes...)
		before := len(target.Responses())
		send(t, in.Commands(), testSecret, testNow.Unix(), commandForm("declare db down", c.url))
		close(release)
		in.Wait()
		if n := len(target.Responses()) - before; n != 0 {
			t.Errorf("%s: %d posts reached %s", name, n, c.url)
		}
		mu.Lock()
		if name != "a redirect off Slack's hosts" && (len(*rej) != 1 || (*rej)[0] != rejection{"slack", "response_url not allowed"}) {
			t.Errorf("%s: rejections %v", name, *rej)
		}
		mu.Unlock()
	}
	if strings.Contains(logs.String(), "/response/") || !strings.Contains(logs.String(), "host="+host) {
		t.Errorf("the log names more than the host, or not the host:\n%s", logs.String())
	}
	// Allowed: the prefix a test (or Enterprise Grid, or GovSlack) sets.
	in, rej, _ := mk("http://" + host + "/response/")
	before := len(target.Responses())
	send(t, in.Commands(), testSecret, testNow.Unix(), commandForm("declare db down", target.ResponseURL()))
	close(release)
	in.Wait()
	if n := len(target.Responses()) - before; n != 1 || len(*rej) != 0 {
		t.Errorf("allowed: %d posts, rejections %v", n, *rej)
	}
}

func TestResponseURLPrefixes(t *testing.T) {
	for _, p := range []string{"http://example.com/", "https://hooks.slack.com", "http://127.0.0.1/", "http://localhost:8080/",
		"https://user@hooks.slack.com/", "https://hooks.slack.com/?x=1", "https://hooks.slack.com/#x", "hooks.slack.com/", ""} {
		if err := ValidResponseURLPrefix(p); err == nil {
			t.Errorf("ValidResponseURLPrefix(%q) = nil", p)
		}
		if _, err := NewInbound(InboundOptions{SigningSecret: testSecret, Handler: &recorder{}, ResponseURLPrefixes: []string{p}}); err == nil {
			t.Errorf("NewInbound took the prefix %q", p)
		}
	}
	for _, p := range append([]string{"http://127.0.0.1:8080/", "https://hooks.slack-gov.com/"}, DefaultResponseURLPrefixes...) {
		if err := ValidResponseURLPrefix(p); err != nil {
			t.Errorf("ValidResponseURLPrefix(%q) = %v", p, err)
		}
	}
}

func closed() chan struct{} { c := make(chan struct{}); close(c); return c }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
