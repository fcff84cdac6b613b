package slack

// This file is the receiver: it verifies the requests Slack sends for the
// slash command and for card buttons, turns them into chatops.Requests and
// answers Slack with the handler's Reply.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Headers of Slack's request signing.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// MaxSkew is how far a request's timestamp may be from now, either way.
const MaxSkew = 5 * time.Minute

// Inbound limits and timings.
const (
	maxBody        = 1 << 20                 // bytes of a request body
	answerWait     = 2500 * time.Millisecond // Slack wants an answer within 3 s
	handlerTimeout = 10 * time.Second        // the handler's deadline
	postTimeout    = 15 * time.Second        // all the response_url posts of one reply
	maxAnswerText  = 12000                   // units of a reply's text
	maxDocSections = 45                      // code sections of a document, all messages together
	maxDocMessages = 5                       // Slack accepts 5 posts per response_url
	docBudget      = Budget                  // bytes of one message's blocks JSON
	workingText    = "Working on it…"
	badButtonText  = "This button is not valid."
	failedText     = "Sorry, that failed. Please try again."
)

// Verify's errors; their text is the reason given to Rejected.
var (
	ErrNoSecret         = errors.New("no signing secret")
	ErrMissingSignature = errors.New("missing signature")
	ErrMissingTimestamp = errors.New("missing timestamp")
	ErrBadTimestamp     = errors.New("bad timestamp")
	ErrStaleTimestamp   = errors.New("stale timestamp")
	ErrBadSignature     = errors.New("bad signature")
	ErrDuplicateHeader  = errors.New("duplicate signature header")
)

// Verify checks that body was signed by Slack with secret (signature
// "v0=" + hex(HMAC-SHA256(secret, "v0:"+timestamp+":"+body)) in
// X-Slack-Signature, timestamp in X-Slack-Request-Timestamp) no more than
// MaxSkew away from now. It returns nil or one of the Err… errors above.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	_, err := VerifySignature(secret, h, body, now)
	return err
}

// VerifySignature is Verify that also returns the MAC the request carries,
// decoded: the same bytes however the hex is spelled (Slack sends lower
// case; upper case verifies too), so the MAC, never the header's text, is
// what identifies a request to a replay guard. The request must carry
// exactly one X-Slack-Signature ("v0=" and 64 hex digits, nothing around
// them) and one X-Slack-Request-Timestamp (decimal seconds, no sign, no
// leading zero, no space): a second header of either is ErrDuplicateHeader.
func VerifySignature(secret string, h http.Header, body []byte, now time.Time) ([]byte, error) {
	if secret == "" {
		return nil, ErrNoSecret
	}
	sigs, tss := h.Values(HeaderSignature), h.Values(HeaderTimestamp)
	if len(sigs) > 1 || len(tss) > 1 {
		return nil, ErrDuplicateHeader
	}
	if len(sigs) == 0 || sigs[0] == "" {
		return nil, ErrMissingSignature
	}
	if len(tss) == 0 || tss[0] == "" {
		return nil, ErrMissingTimestamp
	}
	sig, ts := sigs[0], tss[0]
	// Digits only, and the number's one spelling: the MAC covers the text.
	if len(ts) > 12 || strings.Trim(ts, "0123456789") != "" || ts[0] == '0' {
		return nil, ErrBadTimestamp
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrBadTimestamp
	}
	if d := now.Unix() - sec; d > int64(MaxSkew/time.Second) || d < -int64(MaxSkew/time.Second) {
		return nil, ErrStaleTimestamp
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return nil, ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, ErrBadSignature
	}
	return got, nil
}

// InboundOptions configure an Inbound.
type InboundOptions struct {
	// SigningSecret is the app's signing secret. Required.
	SigningSecret string
	// Handler acts on the requests. Required.
	Handler chatops.Handler
	// Rejected is told of every request refused before the handler; may
	// be nil.
	Rejected chatops.Rejected
	// Now is the clock the timestamps are checked against; nil means
	// time.Now.
	Now func() time.Time
	// HTTPClient posts to response_url (a copy that follows no
	// redirect); nil means &http.Client{Timeout: 10 * time.Second}.
	HTTPClient *http.Client
	// Log receives the failures; nil means slog.Default().
	Log *slog.Logger
	// Once, when set (the Redis store), remembers verified signatures for
	// every replica, so that a request replayed to another replica within
	// the window is refused too; nil means this replica's memory only.
	Once incidents.Once
	// ResponseURLPrefixes are where a request's response_url may point
	// (see ValidResponseURLPrefix); klaxon posts nowhere else, and
	// follows no redirect. Empty means DefaultResponseURLPrefixes;
	// Enterprise Grid and GovSlack add theirs
	// (https://hooks.slack-gov.com/).
	ResponseURLPrefixes []string
	// PublicURL is klaxon's server.public_url: a Reply's Links under it
	// (chatops.LinkUnder) are shown as links, any other as plain text;
	// "" shows them all as text.
	PublicURL string
}

// DefaultResponseURLPrefixes are where Slack's response_urls point.
var DefaultResponseURLPrefixes = []string{"https://hooks.slack.com/"}

// ValidResponseURLPrefix checks a prefix that response_urls must start
// with: an https URL of a host (with a port only if given), its path
// ending in "/", with no user, query or fragment — or, for tests only, the
// same over http to 127.0.0.1 with an explicit port
// ("http://127.0.0.1:8080/").
func ValidResponseURLPrefix(prefix string) error {
	u, err := url.Parse(prefix)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("response_url prefix %q is not an absolute URL such as https://hooks.slack.com/", truncate(prefix, 100))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(prefix, "?") || strings.HasSuffix(prefix, "#"):
		return fmt.Errorf("response_url prefix %q must not hold a user, a query or a fragment", truncate(prefix, 100))
	case !strings.HasSuffix(u.Path, "/"):
		return fmt.Errorf("response_url prefix %q must end with a slash (https://hooks.slack.com would also let hooks.slack.com.example.net in)", truncate(prefix, 100))
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && u.Hostname() == "127.0.0.1" && u.Port() != "":
		return nil // a test's fake Slack
	}
	return fmt.Errorf("response_url prefix %q must be https (http only to 127.0.0.1 with a port, for tests)", truncate(prefix, 100))
}

// urlPrefix is an allowed response_url prefix, parsed.
type urlPrefix struct{ scheme, host, path string }

// Inbound receives Slack's slash commands and button presses. It is safe
// for concurrent use.
type Inbound struct {
	secret   string
	handler  chatops.Handler
	rejected chatops.Rejected
	now      func() time.Time
	hc       *http.Client
	log      *slog.Logger

	answerWait time.Duration // tests shorten it
	wg         sync.WaitGroup
	prefixes   []urlPrefix // where response_urls may point
	publicURL  string      // where klaxon's own links point

	// seen holds the MACs (hex) verified in the last 2*MaxSkew: a request
	// seen twice is a replay. once, when set, holds them for every replica.
	once incidents.Once
	mu   sync.Mutex
	seen map[string]time.Time
}

// NewInbound returns an Inbound for o. It validates o.
func NewInbound(o InboundOptions) (*Inbound, error) {
	if o.SigningSecret == "" {
		return nil, errors.New("slack: a signing secret is required")
	}
	if o.Handler == nil {
		return nil, errors.New("slack: a handler is required")
	}
	in := &Inbound{
		secret:     o.SigningSecret,
		handler:    o.Handler,
		rejected:   o.Rejected,
		now:        o.Now,
		hc:         o.HTTPClient,
		log:        o.Log,
		once:       o.Once,
		answerWait: answerWait,
		publicURL:  o.PublicURL,
	}
	prefixes := o.ResponseURLPrefixes
	if len(prefixes) == 0 {
		prefixes = DefaultResponseURLPrefixes
	}
	for _, p := range prefixes {
		if err := ValidResponseURLPrefix(p); err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		u, _ := url.Parse(p)
		in.prefixes = append(in.prefixes, urlPrefix{u.Scheme, strings.ToLower(u.Host), u.Path})
	}
	if in.now == nil {
		in.now = time.Now
	}
	// A copy of the client that follows no redirect: a response_url is
	// posted to where it says, or not at all.
	hc := &http.Client{Timeout: 10 * time.Second}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	in.hc = hc
	if in.log == nil {
		in.log = slog.Default()
	}
	return in, nil
}

// Wait blocks until the work begun by the requests answered so far is
// done: handlers still running and their posts to response_url. Call it
// after the HTTP server has shut down.
func (in *Inbound) Wait() { in.wg.Wait() }

// Commands is the slash command's handler (POST /slack/commands). It
// answers with the Reply when the Handler gives it within 2.5 s; otherwise
// it answers "Working on it…" and posts the Reply to the command's
// response_url when it comes.
func (in *Inbound) Commands() http.Handler { return http.HandlerFunc(in.serveCommand) }

// Interactions is the handler of button presses (POST
// /slack/interactions). It answers at once with an empty 200 (cards are
// updated through the outbox) and posts the Reply's text, if any, to the
// payload's response_url as an ephemeral message. A press on one of a
// Reply's Choices (action_id ChoiceActionIDPrefix…) replaces the
// ephemeral message that offered them: it cannot be pressed twice.
func (in *Inbound) Interactions() http.Handler { return http.HandlerFunc(in.serveInteraction) }

// read reads and verifies r's body; on failure it has answered.
func (in *Inbound) read(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			in.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large")
		} else {
			writeError(w, http.StatusBadRequest, "unreadable body")
		}
		return nil, false
	}
	mac, err := VerifySignature(in.secret, r.Header, body, in.now())
	if err != nil {
		in.refuse(w, r, http.StatusUnauthorized, err.Error())
		return nil, false
	}
	if in.replayed(r.Context(), mac) {
		in.refuse(w, r, http.StatusUnauthorized, "replayed")
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed form")
		return nil, false
	}
	return form, true
}

// replayed records a verified request's MAC and reports whether it was
// seen already within the window: by any replica when in.once is set (a
// store that cannot answer falls back to this replica's memory). The key
// is the MAC's bytes (as lower-case hex), never the header's spelling of
// them.
func (in *Inbound) replayed(ctx context.Context, mac []byte) bool {
	sig := hex.EncodeToString(mac)
	if in.once != nil {
		st, err := in.once.ClaimOnce(ctx, "slack "+sig, 2*MaxSkew)
		if err == nil {
			return st != incidents.OnceNew
		}
		in.log.Warn("slack: replay check fell back to this replica's memory", "err", err)
	}
	now := in.now()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.seen == nil {
		in.seen = map[string]time.Time{}
	}
	if at, ok := in.seen[sig]; ok && now.Sub(at) <= 2*MaxSkew {
		return true
	}
	if len(in.seen) > 1000 {
		for k, at := range in.seen {
			if now.Sub(at) > 2*MaxSkew {
				delete(in.seen, k)
			}
		}
	}
	in.seen[sig] = now
	return false
}

func (in *Inbound) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	in.log.Info("slack: request refused", "path", r.URL.Path, "reason", reason)
	if in.rejected != nil {
		in.rejected("slack", reason)
	}
	writeError(w, status, reason)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSONBody(w, status, map[string]string{"error": msg})
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// handle calls the handler with a deadline, turning a panic into an
// apology.
func (in *Inbound) handle(ctx context.Context, req chatops.Request) (rep chatops.Reply) {
	ctx, cancel := context.WithTimeout(ctx, handlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("slack: the handler panicked", "panic", fmt.Sprint(p))
			rep = chatops.Reply{Text: failedText, Ephemeral: true}
		}
	}()
	return in.handler.Handle(ctx, req)
}

func (in *Inbound) serveCommand(w http.ResponseWriter, r *http.Request) {
	form, ok := in.read(w, r)
	if !ok {
		return
	}
	req := chatops.Request{
		Platform: "slack",
		UserID:   form.Get("user_id"),
		UserName: form.Get("user_name"),
		Channel:  form.Get("channel_id"),
		Text:     strings.TrimSpace(form.Get("text")),
	}
	if req.UserID == "" {
		writeError(w, http.StatusBadRequest, "missing user_id")
		return
	}
	responseURL := form.Get("response_url")

	// The handler outlives the request when it is slow: its reply then
	// goes to response_url.
	var (
		mu    sync.Mutex
		late  bool
		reply = make(chan chatops.Reply, 1)
	)
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		rep := in.handle(context.WithoutCancel(r.Context()), req)
		mu.Lock()
		if !late {
			reply <- rep
			mu.Unlock()
			return
		}
		mu.Unlock()
		in.post(responseURL, in.replyMessages(rep, rep.Ephemeral))
	}()

	t := time.NewTimer(in.answerWait)
	defer t.Stop()
	var rep chatops.Reply
	got := false
	select {
	case rep = <-reply:
		got = true
	case <-t.C:
	case <-r.Context().Done(): // the client left: answer what we can
	}
	if !got {
		mu.Lock()
		select {
		case rep = <-reply:
			got = true
		default:
			late = true
		}
		mu.Unlock()
	}
	if !got {
		if responseURL == "" {
			in.log.Warn("slack: a slow command's reply will be lost: no response_url")
		}
		writeJSONBody(w, http.StatusOK, message{ResponseType: "ephemeral", Text: workingText})
		return
	}
	msgs := in.replyMessages(rep, rep.Ephemeral)
	if len(msgs) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	first := msgs[0]
	first.ReplaceOriginal = nil
	writeJSONBody(w, http.StatusOK, first)
	if len(msgs) > 1 {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			in.post(responseURL, msgs[1:])
		}()
	}
}

// interaction is the part of a block_actions payload klaxon reads.
type interaction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container struct {
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Message struct {
		TS string `json:"ts"`
	} `json:"message"`
	ResponseURL string `json:"response_url"`
	Actions     []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

func (in *Inbound) serveInteraction(w http.ResponseWriter, r *http.Request) {
	form, ok := in.read(w, r)
	if !ok {
		return
	}
	var p interaction
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		writeError(w, http.StatusBadRequest, "malformed payload")
		return
	}
	if p.Type != "block_actions" || len(p.Actions) == 0 ||
		strings.HasPrefix(p.Actions[0].ActionID, LinkActionIDPrefix) || p.Actions[0].Value == "" {
		w.WriteHeader(http.StatusOK) // not a klaxon button: nothing to do
		return
	}
	req := chatops.Request{
		Platform: "slack",
		UserID:   p.User.ID,
		UserName: p.User.Username,
		Channel:  p.Channel.ID,
		Button:   p.Actions[0].Value,
	}
	if req.UserName == "" {
		req.UserName = p.User.Name
	}
	if req.Channel == "" {
		req.Channel = p.Container.ChannelID
	}
	ts := p.Container.MessageTS
	if ts == "" {
		ts = p.Message.TS
	}
	if req.Channel != "" && ts != "" {
		req.Thread = Ref(req.Channel, ts)
	}
	choice := strings.HasPrefix(p.Actions[0].ActionID, ChoiceActionIDPrefix)
	w.WriteHeader(http.StatusOK)

	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		rep := in.handle(context.WithoutCancel(r.Context()), req)
		if rep.Unauthorized && rep.Text == "" {
			rep.Text = badButtonText
		}
		msgs := in.replyMessages(rep, true)
		if len(msgs) > 0 && choice && !rep.KeepChoices {
			yes := true
			msgs[0].ReplaceOriginal = &yes
		}
		in.post(p.ResponseURL, msgs)
	}()
}

// message is an answer to Slack or a post to a response_url.
type message struct {
	ResponseType    string        `json:"response_type"`
	Text            string        `json:"text"`
	Blocks          []slack.Block `json:"blocks,omitempty"`
	ReplaceOriginal *bool         `json:"replace_original,omitempty"`
}

// post sends msgs to responseURL, in order, when it is one of Slack's
// (ResponseURLPrefixes); a response_url elsewhere is refused: logged by its
// host and counted as a rejection.
func (in *Inbound) post(responseURL string, msgs []message) {
	if len(msgs) == 0 {
		return
	}
	if responseURL == "" {
		in.log.Warn("slack: a reply is lost: no response_url")
		return
	}
	u, err := url.Parse(responseURL)
	if err != nil || !in.allowed(u) {
		host := "(unparsable)"
		if err == nil {
			host = u.Host
		}
		// The URL's path is a credential of sorts: log the host only.
		in.log.Warn("slack: a reply is lost: its response_url is not Slack's (slack.response_url_prefixes)", "host", host)
		if in.rejected != nil {
			in.rejected("slack", "response_url not allowed")
		}
		return
	}
	responseURL = u.String()
	ctx, cancel := context.WithTimeout(context.Background(), postTimeout)
	defer cancel()
	for i, m := range msgs {
		if err := in.postOne(ctx, responseURL, m); err != nil {
			// The URL's path is a credential of sorts: log the host only.
			in.log.Warn("slack: posting a reply to response_url failed", "host", u.Host,
				"message", i+1, "of", len(msgs), "err", err)
			return
		}
	}
}

// allowed reports whether u starts with one of the allowed prefixes:
// the same scheme, the same host (and port), a path under the prefix's,
// with no "." or ".." segment to climb out of it.
func (in *Inbound) allowed(u *url.URL) bool {
	if u.User != nil || u.Opaque != "" {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	for _, p := range in.prefixes {
		if u.Scheme == p.scheme && strings.ToLower(u.Host) == p.host && strings.HasPrefix(u.EscapedPath(), p.path) {
			return true
		}
	}
	return false
}

func (in *Inbound) postOne(ctx context.Context, responseURL string, m message) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, &buf)
	if err != nil {
		return errors.New("bad request")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := in.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its message repeats the URL
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(strings.TrimSpace(string(body)), 200))
	}
	var ans struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &ans) == nil && ans.OK != nil && !*ans.OK {
		return fmt.Errorf("slack answered %q", truncate(ans.Error, 100))
	}
	return nil
}

// replyMessages lays rep out as Slack messages: its text (plain_text
// sections), its links (a mrkdwn section), its choices (an actions block),
// then its document, if any, as code sections over as many messages as
// needed (at most maxDocMessages). Every message carries replace_original
// false; none when rep says nothing.
func (in *Inbound) replyMessages(rep chatops.Reply, ephemeral bool) []message {
	rt := "in_channel"
	if ephemeral {
		rt = "ephemeral"
	}
	no := false
	links, others := linksBlock(rep.Links, in.publicURL)
	if others != "" {
		// Links that are not klaxon's are text like the rest.
		rep.Text = strings.TrimRight(rep.Text, "\n") + "\n" + others
	}
	text := escapeFit(rep.Text, maxAnswerText)
	if rep.Document == nil {
		var blocks []slack.Block
		if text != "" {
			// What shows is plain_text (no mention, link or formatting
			// from what people typed); the escaped text is the
			// notification.
			blocks = plainSections(rep.Text)
		}
		if links != nil {
			blocks = append(blocks, links)
		}
		if choices := choicesBlock(rep.Choices); choices != nil {
			blocks = append(blocks, choices)
		}
		if len(blocks) == 0 {
			return nil
		}
		if text == "" {
			text = "klaxon"
		}
		return []message{{ResponseType: rt, Text: text, Blocks: blocks, ReplaceOriginal: &no}}
	}
	groups := documentBlocks(rep.Text, links, rep.Document)
	fallback := escapeFit(rep.Text, MaxTextLen)
	if fallback == "" {
		fallback = escapeFit(documentTitle(rep.Document), MaxHeaderLen)
	}
	msgs := make([]message, 0, len(groups))
	for _, g := range groups {
		msgs = append(msgs, message{ResponseType: rt, Text: fallback, Blocks: g, ReplaceOriginal: &no})
	}
	return msgs
}

func documentTitle(d *chatops.Document) string {
	if t := fit(d.Title, MaxHeaderLen, false); t != "" {
		return t
	}
	if t := fit(d.Name, MaxHeaderLen, false); t != "" {
		return t
	}
	return "Document"
}

// DocumentBlocks lays out text (plain, may be "") and d as the blocks of
// one or more messages: text as a plain_text section, d's title as a header,
// then d's content as mrkdwn code blocks in sections of at most
// MaxTextLen characters. Each message's blocks stay within Block Kit's
// limits and Budget bytes of JSON; there are at most 5 messages (what a
// response_url accepts) and 45 code sections, then a last section says
// "… the rest: <title>" was cut.
func DocumentBlocks(text string, d *chatops.Document) [][]slack.Block {
	return documentBlocks(text, nil, d)
}

// documentBlocks is DocumentBlocks with a block of links after the text.
func documentBlocks(text string, links slack.Block, d *chatops.Document) [][]slack.Block {
	title := documentTitle(d)
	var blocks []slack.Block
	if t := fit(text, MaxTextLen, true); t != "" {
		// plain_text, as without a document: nothing in it links.
		blocks = append(blocks, slack.NewSectionBlock(plain(t), nil, nil))
	}
	if links != nil {
		blocks = append(blocks, links)
	}
	blocks = append(blocks, slack.NewHeaderBlock(plain(title)))
	chunks, cut := codeChunks(d.Content, maxDocSections)
	for _, c := range chunks {
		blocks = append(blocks, mrkdwnSection(c))
	}
	// Pack the blocks into messages.
	var msgs [][]slack.Block
	var cur []slack.Block
	curSize := 0
	for _, b := range blocks {
		s := size([]slack.Block{b})
		if len(cur) > 0 && (curSize+s > docBudget || len(cur) >= MaxBlocks-1) {
			if len(msgs) == maxDocMessages-1 {
				cut = true
				break
			}
			msgs = append(msgs, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, b)
		curSize += s
	}
	if cut {
		rest := mrkdwnSection("… the rest: " + escapeFit(title, MaxHeaderLen))
		rs := size([]slack.Block{rest})
		for len(cur) > 1 && curSize+rs > docBudget {
			curSize -= size(cur[len(cur)-1:])
			cur = cur[:len(cur)-1]
		}
		cur = append(cur, rest)
	}
	return append(msgs, cur)
}

// ChoiceActionIDPrefix starts the action_id of a Reply's choice buttons
// ("klaxon-choice-1"…): their value is the key that acts.
const ChoiceActionIDPrefix = "klaxon-choice-"

// BlockLinks and BlockChoices are the block IDs of a Reply's links and
// choices.
const (
	BlockLinks   = "links"
	BlockChoices = "choices"
)

// Bounds of a Reply's links.
const (
	maxReplyLinks    = 5
	maxReplyLinkText = 80
)

// linksBlock lays out the links under publicURL (chatops.LinkUnder) as a
// mrkdwn section (nil when there is none), one "<url|text>" a line: the
// text escaped for mrkdwn, the URL one that templates.SafeURL accepts (no
// < > | or space to end the link early), its & escaped; verbatim, so that
// nothing else in it is parsed. The other links come back as plain text
// lines, "text: url", for the reply's plain_text, where Slack links
// nothing.
func linksBlock(links []chatops.Link, publicURL string) (slack.Block, string) {
	var lines, others []string
	for i, l := range links {
		if i == maxReplyLinks {
			break
		}
		text := fit(l.Text, maxReplyLinkText, false)
		if text == "" {
			text = "Link"
		}
		u, ok := templates.SafeURL(l.URL)
		if ok && units(u) <= MaxURLLen && chatops.LinkUnder(publicURL, u) {
			lines = append(lines, "<"+strings.ReplaceAll(u, "&", "&amp;")+"|"+escapeFit(text, 4*maxReplyLinkText)+">")
			continue
		}
		others = append(others, text+": "+fit(l.URL, templates.MaxURL, false))
	}
	if len(lines) == 0 {
		return nil, strings.Join(others, "\n")
	}
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Join(lines, "\n"), false, true), nil, nil,
		slack.SectionBlockOptionBlockID(BlockLinks)), strings.Join(others, "\n")
}

// choicesBlock lays out choices as an actions block: a button each (at
// most chatops.MaxChoices) whose value is its key and whose text is its
// label as plain_text; a choice whose key is empty, not printable ASCII or
// too long is left out. nil when there is none.
func choicesBlock(choices []chatops.Choice) slack.Block {
	var els []slack.BlockElement
	for _, c := range choices {
		if len(els) == chatops.MaxChoices {
			break
		}
		if c.Key == "" || len(c.Key) > MaxValueLen || !printable(c.Key) {
			continue
		}
		text := fit(c.Label, MaxButtonTextLen, false)
		if text == "" {
			continue
		}
		els = append(els, slack.NewButtonBlockElement(ChoiceActionIDPrefix+strconv.Itoa(len(els)+1), c.Key, plain(text)))
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock(BlockChoices, els...)
}

func mrkdwnSection(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// codeChunks cuts content, cleaned and escaped for mrkdwn, into at most
// max code blocks ("```\n…\n```") of at most MaxTextLen units each,
// breaking at line ends where it can. cut reports that content did not
// fit.
func codeChunks(content string, max int) (chunks []string, cut bool) {
	const fence = "```"
	room := MaxTextLen - 2*len(fence) - 2 // the fences and their newlines
	// Never read more than can be shown, but enough to know when it all
	// does not fit: the loop then runs out of chunks.
	s := fit(content, (max+1)*room, true)
	// The content must not close the code block: break up its fences.
	s = strings.ReplaceAll(s, fence, "`\u200b``")
	var b strings.Builder
	n := 0        // units in b
	lineEnd := -1 // b.Len() after the last newline
	flush := func(upTo int) {
		chunk := strings.TrimRight(b.String()[:upTo], "\n")
		rest := b.String()[upTo:]
		if strings.TrimSpace(chunk) != "" {
			chunks = append(chunks, fence+"\n"+chunk+"\n"+fence)
		}
		b.Reset()
		b.WriteString(rest)
		n = units(rest)
		lineEnd = -1
	}
	for _, r := range s {
		tok := mrkdwnRune(r)
		u := units(tok)
		for n+u > room {
			if lineEnd > 0 {
				flush(lineEnd)
			} else {
				flush(b.Len())
			}
			if len(chunks) >= max {
				return chunks[:max], true
			}
		}
		b.WriteString(tok)
		n += u
		if r == '\n' {
			lineEnd = b.Len()
		}
	}
	if b.Len() > 0 {
		flush(b.Len())
	}
	if len(chunks) > max {
		chunks, cut = chunks[:max], true
	}
	return chunks, cut
}

// plainSections lays text out as plain_text sections of at most
// MaxTextLen units each, cut at a line end where one is near (at most 4;
// the text is already within maxAnswerText).
func plainSections(text string) []slack.Block {
	var blocks []slack.Block
	t := fit(text, 4*(MaxTextLen-16), true)
	for t != "" && len(blocks) < 4 {
		n, end := 0, 0
		for i, r := range t {
			if n+runeUnits(r) > MaxTextLen-16 {
				break
			}
			n += runeUnits(r)
			end = i + utf8.RuneLen(r)
		}
		if end < len(t) {
			if j := strings.LastIndexByte(t[:end], '\n'); j > end/2 {
				end = j
			}
		}
		blocks = append(blocks, slack.NewSectionBlock(plain(t[:end]), nil, nil))
		t = strings.TrimLeft(t[end:], "\n")
	}
	return blocks
}
