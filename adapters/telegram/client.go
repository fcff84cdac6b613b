package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// Options configure a Client.
type Options struct {
	// Token is the bot's token from @BotFather ("123456:ABC-DEF…"). Required.
	Token string
	// APIEndpoint is the Bot API URL pattern, with two %s for the token and
	// the method; default tgbotapi.APIEndpoint ("https://api.telegram.org/bot%s/%s").
	APIEndpoint string
	// HTTPClient makes the requests; default &http.Client{Timeout: 10 * time.Second}.
	HTTPClient *http.Client
	// Sign returns the signed key a card's action button carries as its
	// callback_data (1–64 bytes); nil = no action buttons.
	Sign func(incidentID string, a templates.Action) string
}

// Client posts, edits and threads incident cards in Telegram chats. It is
// safe for concurrent use. It neither retries nor rate-limits: every failure
// is an *Error that says whether and when to retry.
type Client struct {
	token    string
	endpoint string
	hc       *http.Client
	sign     func(incidentID string, a templates.Action) string
}

// maxResponse bounds how much of a Bot API answer is read.
const maxResponse = 1 << 20

// New validates o and returns a Client. It does not call the network.
func New(o Options) (*Client, error) {
	if o.Token == "" {
		return nil, errors.New("telegram: bot token is empty")
	}
	if strings.ContainsFunc(o.Token, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '/' || r == '?' || r == '#' || r == '%'
	}) {
		// Never echo the token.
		return nil, errors.New("telegram: bot token contains spaces or URL characters (/ ? # %)")
	}
	ep := o.APIEndpoint
	if ep == "" {
		ep = tgbotapi.APIEndpoint
	}
	if strings.Count(ep, "%s") != 2 || strings.Count(ep, "%") != 2 {
		return nil, fmt.Errorf("telegram: API endpoint %q must contain exactly two %%s (token, method), like %q", ep, tgbotapi.APIEndpoint)
	}
	u, err := url.Parse(fmt.Sprintf(ep, "TOKEN", "getMe"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telegram: API endpoint %q is not an http(s) URL pattern like %q", ep, tgbotapi.APIEndpoint)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{token: o.Token, endpoint: ep, hc: hc, sign: o.Sign}, nil
}

// ValidDest checks a destination: a Telegram chat id as a decimal integer,
// e.g. "-1001234567890" for a supergroup or channel, "123456789" for a user.
func ValidDest(dest string) error {
	if _, err := parseChat(dest); err != nil {
		return err
	}
	return nil
}

func parseChat(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("telegram: chat id %q must be a non-zero decimal integer such as -1001234567890 (a group's or channel's id) or 123456789 (a user's), not a @username", s)
	}
	return n, nil
}

// FormatRef is the ref of message messageID in chat chatID: "chatID/messageID".
func FormatRef(chatID int64, messageID int) string {
	return strconv.FormatInt(chatID, 10) + "/" + strconv.Itoa(messageID)
}

// ParseRef parses a ref made by FormatRef (and returned by Post).
func ParseRef(ref string) (chatID int64, messageID int, err error) {
	c, m, ok := strings.Cut(ref, "/")
	if !ok {
		return 0, 0, fmt.Errorf("telegram: message ref %q is not chatID/messageID", ref)
	}
	chatID, err = parseChat(c)
	if err != nil {
		return 0, 0, fmt.Errorf("telegram: message ref %q: bad chat id", ref)
	}
	messageID, err = strconv.Atoi(m)
	if err != nil || messageID <= 0 || messageID > 1<<31-1 || strconv.Itoa(messageID) != m {
		return 0, 0, fmt.Errorf("telegram: message ref %q: bad message id", ref)
	}
	return chatID, messageID, nil
}

// Post sends card to the chat dest (a chat id, see ValidDest) and returns
// the message's ref, "chatID/messageID". Telegram messages cannot carry
// hidden data, so the message is not tagged with the incident (see Find).
func (c *Client) Post(ctx context.Context, dest string, card *templates.Card) (string, error) {
	const op = "sendMessage"
	chat, err := parseChat(dest)
	if err != nil {
		return "", &Error{Op: op, Code: "bad_dest", Err: err}
	}
	cfg := Compile(card, c.key(card)).SendConfig(chat)
	var m tgbotapi.Message
	if err := c.do(ctx, op, func(bot *tgbotapi.BotAPI) (err error) {
		m, err = bot.Send(cfg)
		return err
	}); err != nil {
		return "", err
	}
	if m.MessageID <= 0 {
		return "", &Error{Op: op, Code: "bad_response", Err: errors.New("the answer has no message_id")}
	}
	return FormatRef(chat, m.MessageID), nil
}

// Update edits the card's message (ref from Post) in place: text and
// keyboard (editMessageText). Telegram's 400 "message is not modified" is a
// success. A message that is gone (or can no longer be edited) is an *Error
// with code "message_not_found": repost the card.
func (c *Client) Update(ctx context.Context, ref string, card *templates.Card) error {
	const op = "editMessageText"
	chat, msg, err := ParseRef(ref)
	if err != nil {
		return &Error{Op: op, Code: "bad_ref", Err: err}
	}
	cfg := Compile(card, c.key(card)).EditConfig(chat, msg)
	err = c.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Request(cfg)
		return err
	})
	var e *Error
	if errors.As(err, &e) && e.Code == "not_modified" {
		return nil
	}
	return err
}

// Reply posts events, in order, as one reply to the card (ref from Post):
// a line of EventText each, parse mode HTML, no link preview, sent even if
// the card was deleted. Lines that do not fit in MaxText are left out and
// counted in a last line "+N more events". No events, no call.
func (c *Client) Reply(ctx context.Context, ref string, events []incidents.Event) error {
	const op = "sendMessage"
	if len(events) == 0 {
		return nil
	}
	chat, msg, err := ParseRef(ref)
	if err != nil {
		return &Error{Op: op, Code: "bad_ref", Err: err}
	}
	cfg := EventReply(chat, msg, events[0])
	cfg.Text = ReplyText(events)
	return c.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Send(cfg)
		return err
	})
}

// ReplyText is the HTML text Reply sends for events: their EventText lines,
// as many of the first ones as fit in MaxText UTF-16 units as shown, then
// "+N more events" for the rest.
func ReplyText(events []incidents.Event) string {
	lines := make([]string, len(events))
	units := make([]int, len(events))
	total := 0
	for i, e := range events {
		if i < maxReplyEntities || e.At.IsZero() {
			lines[i] = EventText(e)
		} else {
			// Telegram ignores formatting after a message's 100th
			// entity: later lines show their time unformatted.
			at := e.At
			e.At = time.Time{}
			lines[i] = at.UTC().Format("15:04 UTC") + " · " + EventText(e)
		}
		units[i] = shownLen(lines[i])
		if i > 0 {
			total++ // "\n"
		}
		total += units[i]
	}
	if total <= MaxText {
		return strings.Join(lines, "\n")
	}
	// The first k lines, then "+N more events": the largest k that fits.
	k, used := 0, 0
	for k < len(lines) {
		next := used + units[k]
		if k > 0 {
			next++
		}
		rest := len(lines) - k - 1
		tail := 0
		if rest > 0 {
			tail = 1 + utf16Len(moreEvents(rest))
		}
		if next+tail > MaxText {
			break
		}
		used = next
		k++
	}
	more := moreEvents(len(lines) - k)
	if k == 0 {
		return more
	}
	return strings.Join(lines[:k], "\n") + "\n" + more
}

// maxReplyEntities is how many lines of a reply have their time in
// italics: Telegram formats at most 100 entities of a message.
const maxReplyEntities = 100

func moreEvents(n int) string {
	return "+" + strconv.Itoa(n) + plural(n, " more event", " more events")
}

// shownLen is the UTF-16 length of well-formed HTML as Telegram shows it:
// tags removed, each entity one character.
func shownLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if j := strings.IndexByte(s[i:], '>'); j >= 0 {
				i += j + 1
				continue
			}
		case '&':
			if j := strings.IndexByte(s[i:], ';'); j >= 0 && j <= 10 {
				i += j + 1
				n++
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Find cannot look a message up: the Bot API offers no chat history, and
// messages carry no hidden data. It returns "" and nil (after checking
// dest), so the caller posts a new card. A card can therefore appear twice
// when a post reached Telegram but its answer never reached the store: a
// crash between Telegram storing the message and the outbox recording its
// ref (one sendMessage round trip and one store write: Post makes that
// single call and nothing else), or an answer lost to a timeout or a
// broken connection after Telegram stored the message.
func (c *Client) Find(ctx context.Context, dest, incidentID string, since time.Time) (string, error) {
	if _, err := parseChat(dest); err != nil {
		return "", &Error{Op: "find", Code: "bad_dest", Err: err}
	}
	return "", nil
}

func (c *Client) key(card *templates.Card) Key {
	if c.sign == nil || card == nil {
		return nil
	}
	id := card.IncidentID
	return func(a templates.Action) string { return c.sign(id, a) }
}

// do runs one Bot API call through tgbotapi with a BotAPI made for the call,
// whose HTTP client binds the request to ctx and notes the HTTP status.
func (c *Client) do(ctx context.Context, op string, call func(*tgbotapi.BotAPI) error) error {
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	hc := &callClient{hc: c.hc, ctx: ctx}
	bot := &tgbotapi.BotAPI{Token: c.token, Client: hc, Buffer: 100}
	bot.SetAPIEndpoint(c.endpoint)
	err := call(bot)
	if err == nil {
		return nil
	}
	return c.classify(ctx, op, hc, err)
}

// callClient is the HTTP client of one call.
type callClient struct {
	hc         *http.Client
	ctx        context.Context
	status     int
	retryAfter string
}

func (h *callClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := h.hc.Do(req.WithContext(h.ctx))
	if err != nil {
		return nil, err
	}
	h.status = resp.StatusCode
	h.retryAfter = resp.Header.Get("Retry-After")
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxResponse), resp.Body}
	return resp, nil
}

func ctxError(op string, err error) *Error {
	code := "canceled"
	if errors.Is(err, context.DeadlineExceeded) {
		code = "timeout"
	}
	return &Error{Op: op, Code: code, Temp: true, Err: err}
}

func (c *Client) classify(ctx context.Context, op string, h *callClient, err error) *Error {
	if cerr := ctx.Err(); cerr != nil {
		return ctxError(op, cerr)
	}
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		return apiError(op, h, te)
	}
	var tv tgbotapi.Error
	if errors.As(err, &tv) {
		return apiError(op, h, &tv)
	}
	// Transport errors: url.Error names the URL, which holds the token.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = c.redact(err)
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch {
	case timeout:
		return &Error{Op: op, Status: h.status, Code: "timeout", Temp: true, Err: err}
	case h.status == 0 || errors.Is(err, io.ErrUnexpectedEOF) || ne != nil:
		return &Error{Op: op, Status: h.status, Code: "network", Temp: true, Err: err}
	case h.status >= 200 && h.status < 300:
		// Answered but unreadable: the message may exist; do not resend blindly.
		return &Error{Op: op, Status: h.status, Code: "bad_response", Err: err}
	}
	e := &Error{Op: op, Status: h.status, Code: "http_" + strconv.Itoa(h.status), Err: err,
		Temp: h.status == http.StatusTooManyRequests || h.status >= 500}
	if h.status == http.StatusTooManyRequests {
		e.Code, e.Wait = "rate_limited", retryAfter(0, h.retryAfter)
	}
	return e
}

func retryAfter(seconds int, header string) time.Duration {
	if seconds > 0 {
		return time.Duration(seconds) * time.Second
	}
	if n, err := strconv.Atoi(strings.TrimSpace(header)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// apiError maps a Bot API error answer ({"ok":false,"error_code":…}).
func apiError(op string, h *callClient, te *tgbotapi.Error) *Error {
	status := h.status
	if status == 0 {
		status = te.Code
	}
	code := te.Code
	if code == 0 {
		code = status
	}
	e := &Error{Op: op, Status: status, Code: "http_" + strconv.Itoa(code), Err: errors.New(te.Message)}
	desc := strings.ToLower(te.Message)
	switch {
	case code == http.StatusTooManyRequests:
		e.Code, e.Temp, e.Wait = "rate_limited", true, retryAfter(te.RetryAfter, h.retryAfter)
	case code >= 500:
		e.Temp = true
	case code == http.StatusUnauthorized:
		e.Code = "unauthorized"
	case code == http.StatusForbidden && strings.Contains(desc, "can't initiate conversation"):
		e.Code = "dm_not_started" // Direct to a user who never started the bot
	case code == http.StatusForbidden:
		e.Code = "forbidden"
	case code == http.StatusNotFound:
		e.Code = "not_found"
	case code == http.StatusRequestEntityTooLarge:
		e.Code = "too_large"
	case code != http.StatusBadRequest:
	case strings.Contains(desc, "message is not modified"):
		e.Code = "not_modified"
	case strings.Contains(desc, "message to edit not found"), strings.Contains(desc, "message to be replied not found"),
		strings.Contains(desc, "message can't be edited"), strings.Contains(desc, "message_id_invalid"):
		e.Code = "message_not_found"
	case strings.Contains(desc, "chat not found"):
		e.Code = "chat_not_found"
	case te.MigrateToChatID != 0 || strings.Contains(desc, "upgraded to a supergroup"):
		e.Code = "chat_migrated"
	case strings.Contains(desc, "can't parse entities"):
		e.Code = "bad_html"
	case strings.Contains(desc, "message is too long"):
		e.Code = "message_too_long"
	case strings.Contains(desc, "message caption is too long"):
		e.Code = "caption_too_long"
	case strings.Contains(desc, "photo_invalid_dimensions"), strings.Contains(desc, "image_process_failed"),
		strings.Contains(desc, "photo_save_file_invalid"), strings.Contains(desc, "there is no photo"),
		strings.Contains(desc, "file must be non-empty"):
		e.Code = "bad_image"
	case strings.Contains(desc, "button_data_invalid"):
		e.Code = "button_data_invalid"
	}
	return e
}

// redact removes the token from an error's text, should it appear there.
func (c *Client) redact(err error) error {
	if err != nil && strings.Contains(err.Error(), c.token) {
		return errors.New(strings.ReplaceAll(err.Error(), c.token, "<token>"))
	}
	return err
}

// Error is a failed Bot API call. It never holds the token.
type Error struct {
	Op     string        // the Bot API method: "sendMessage", "editMessageText", "sendPhoto"
	Status int           // HTTP status when known (0 otherwise)
	Code   string        // see below
	Wait   time.Duration // retry_after of a 429, when given
	Temp   bool          // worth retrying: 429, 5xx, network errors, timeouts, cancellation
	Err    error         // cause: Telegram's description, the transport error, ctx.Err()
}

// Codes of Error: "rate_limited" (429), "http_5xx", "network", "timeout",
// "canceled" (ctx), "unauthorized" (401: bad token), "forbidden" (403: bot
// not in the chat or blocked), "dm_not_started" (403: a direct message to a
// user who never started the bot), "not_found" (404), "chat_not_found",
// "chat_migrated", "message_not_found" (the card to edit is gone: repost),
// "bad_html", "message_too_long", "button_data_invalid", "caption_too_long",
// "bad_image" (PostImage: a picture Telegram refuses), "too_large" (413),
// "http_400" (other
// 400s), "bad_response", "user_not_found" (Direct: a user Telegram does not
// know), and "bad_dest" / "bad_ref" / "bad_user" for arguments that do not
// parse. Only rate_limited, http_5xx, network, timeout and canceled are
// Temp.
//
// Error reads "telegram sendMessage: chat_not_found: Bad Request: chat not found".
func (e *Error) Error() string {
	s := "telegram " + e.Op + ": " + e.Code
	if e.Err != nil {
		if msg := e.Err.Error(); msg != "" && msg != e.Code {
			s += ": " + msg
		}
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Retryable reports whether the call is worth retrying (Temp).
func (e *Error) Retryable() bool { return e.Temp }

// RetryAfter is how long Telegram asked to wait (Wait), 0 when it did not say.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// MentionName is the text of Mention's mention: the Bot API gives no name
// for a bare user id.
const MentionName = "on-call"

// ValidUser checks a Telegram user id: a positive decimal integer, e.g.
// "123456789" (the chat id of the user's private chat with the bot).
func ValidUser(userID string) error {
	if _, err := parseUser(userID); err != nil {
		return err
	}
	return nil
}

func parseUser(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		show := s
		if utf8.RuneCountInString(show) > 40 || !utf8.ValidString(show) {
			show = strings.ToValidUTF8(show[:min(len(show), 40)], "?") + "…"
		}
		return 0, fmt.Errorf("telegram: user id %q must be a positive decimal integer such as 123456789, not a @username", show)
	}
	return n, nil
}

// Mention sends text as a reply to the card (ref from Post) that notifies
// userID: parse mode HTML, `<a href="tg://user?id=ID">on-call</a> ` then
// text escaped and neutralised like a card's (no other mention, link,
// command or formatting), no link preview, sent even if the card was
// deleted. Code "bad_user" is a user id that does not parse.
func (c *Client) Mention(ctx context.Context, ref, userID, text string) error {
	const op = "sendMessage"
	chat, msg, err := ParseRef(ref)
	if err != nil {
		return &Error{Op: op, Code: "bad_ref", Err: err}
	}
	user, err := parseUser(userID)
	if err != nil {
		return &Error{Op: op, Code: "bad_user", Err: err}
	}
	cfg := tgbotapi.NewMessage(chat, MentionText(user, text))
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	cfg.ReplyToMessageID = msg
	cfg.AllowSendingWithoutReply = true
	return c.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Send(cfg)
		return err
	})
}

// MentionText is the HTML Mention sends: the mention of user, a space and
// text, escaped, within MaxText.
func MentionText(user int64, text string) string {
	b := &builder{buf: make([]byte, 0, 64+len(text)), limit: MaxText}
	b.markup(`<a href="tg://user?id=` + strconv.FormatInt(user, 10) + `">` + MentionName + `</a>`)
	b.field(" ", "", "", text, MaxText, 1, true)
	return string(b.buf)
}

// Direct sends text, escaped and neutralised like a card's (parse mode
// HTML, no link preview), to userID in the user's private chat with the
// bot. That works only once the user has started the bot: Telegram's 403
// "bot can't initiate conversation with a user" is code
// "dm_not_started". A user Telegram does not know ("chat not found") is
// "user_not_found"; a user id that does not parse, "bad_user".
func (c *Client) Direct(ctx context.Context, userID, text string) error {
	const op = "sendMessage"
	user, err := parseUser(userID)
	if err != nil {
		return &Error{Op: op, Code: "bad_user", Err: err}
	}
	b := &builder{buf: make([]byte, 0, 16+len(text)), limit: MaxText}
	if !b.field("", "", "", text, MaxText, 1, true) {
		b.markup("(no text)")
	}
	cfg := tgbotapi.NewMessage(user, string(b.buf))
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	err = c.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Send(cfg)
		return err
	})
	var e *Error
	if errors.As(err, &e) && e.Code == "chat_not_found" {
		e.Code = "user_not_found"
	}
	return err
}

// Announce sends text, escaped and neutralised like a card's (parse mode
// HTML, no link preview), to the chat dest as a message of its own: a
// notice that is not a card, such as a shift handover.
func (c *Client) Announce(ctx context.Context, dest, text string) error {
	const op = "sendMessage"
	chat, err := parseChat(dest)
	if err != nil {
		return &Error{Op: op, Code: "bad_dest", Err: err}
	}
	b := &builder{buf: make([]byte, 0, 16+len(text)), limit: MaxText}
	if !b.field("", "", "", text, MaxText, 1, true) {
		b.markup("(no text)")
	}
	cfg := tgbotapi.NewMessage(chat, string(b.buf))
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	return c.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Send(cfg)
		return err
	})
}
