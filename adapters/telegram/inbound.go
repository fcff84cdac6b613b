package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/templates"
)

// InboundOptions configure an Inbound.
type InboundOptions struct {
	// Token is the bot's token, as the Client's. Required.
	Token string
	// APIEndpoint is the Bot API URL pattern, as the Client's.
	APIEndpoint string
	// HTTPClient makes the Bot API calls; default &http.Client{Timeout:
	// 10 * time.Second}. Long polling uses a copy whose timeout outlasts
	// the poll.
	HTTPClient *http.Client
	// WebhookSecret is the secret_token given to setWebhook, which Telegram
	// sends back as the header X-Telegram-Bot-Api-Secret-Token: 1–256 of
	// A-Z a-z 0-9 _ -. "" refuses every webhook request (use Poll).
	WebhookSecret string
	// Handler acts on the requests. Required.
	Handler chatops.Handler
	// Rejected is told of the webhook requests refused; may be nil.
	Rejected chatops.Rejected
	// PublicURL is klaxon's server.public_url: a Reply's Links under it
	// (chatops.LinkUnder) are shown as links, any other as plain text; ""
	// shows them all as text.
	PublicURL string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log; default slog.Default().
	Log *slog.Logger
}

// Inbound receives Telegram updates — commands typed in a chat, card
// buttons pressed — by webhook or long polling, hands them to the Handler
// as chatops.Requests and answers in the chat. It is safe for concurrent
// use.
type Inbound struct {
	client   *Client // Bot API calls
	poller   *Client // getUpdates, whose HTTP client outlasts the long poll
	secret   string
	handler  chatops.Handler
	rejected chatops.Rejected
	now      func() time.Time
	log      *slog.Logger
	username atomic.Pointer[string] // the bot's @username once getMe told it
	public   string                 // where klaxon's own links point

	// Poll's timings; tests shorten them.
	pollTimeout int           // getUpdates timeout, seconds
	backoff     time.Duration // first wait after a failed call
	maxBackoff  time.Duration
}

const (
	// maxInbound bounds a webhook request's body.
	maxInbound = 1 << 20
	// handlerTimeout bounds the Handler's work on one update.
	handlerTimeout = 10 * time.Second
	// sendTimeout bounds each answer sent to Telegram.
	sendTimeout = 10 * time.Second
	// MaxCallbackText is the most UTF-16 units of an answerCallbackQuery text.
	MaxCallbackText = 200
	// MaxCaption is the most UTF-16 units of a document's caption.
	MaxCaption = 1024
	// notValid is the answer to a button that is not klaxon's.
	notValid = "This button is not valid."
	// secretHeader carries setWebhook's secret_token.
	secretHeader = "X-Telegram-Bot-Api-Secret-Token"
)

// allowedUpdates are the update kinds klaxon asks for.
var allowedUpdates = []string{tgbotapi.UpdateTypeMessage, tgbotapi.UpdateTypeCallbackQuery}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// NewInbound validates o and returns an Inbound. It does not call the network.
func NewInbound(o InboundOptions) (*Inbound, error) {
	if o.Handler == nil {
		return nil, errors.New("telegram: inbound needs a Handler")
	}
	if o.WebhookSecret != "" && !secretRE.MatchString(o.WebhookSecret) {
		// Never echo the secret.
		return nil, errors.New("telegram: the webhook secret must be 1–256 characters of A-Z, a-z, 0-9, _ and -")
	}
	c, err := New(Options{Token: o.Token, APIEndpoint: o.APIEndpoint, HTTPClient: o.HTTPClient})
	if err != nil {
		return nil, err
	}
	in := &Inbound{
		client: c, secret: o.WebhookSecret, handler: o.Handler, rejected: o.Rejected, now: o.Now, log: o.Log,
		public: o.PublicURL, pollTimeout: 25, backoff: time.Second, maxBackoff: 30 * time.Second,
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	hc := *c.hc
	if least := time.Duration(in.pollTimeout)*time.Second + 10*time.Second; hc.Timeout != 0 && hc.Timeout < least {
		hc.Timeout = least
	}
	poller := *c
	poller.hc = &hc
	in.poller = &poller
	return in, nil
}

// Webhook is the handler of Telegram's webhook (POST /telegram/webhook). It
// refuses with 401 a request without the right secret header and answers
// every other update 200, once processed: Telegram retries the others, and
// a malformed update is logged, never retried.
func (in *Inbound) Webhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		if reason := in.verify(r.Header); reason != "" {
			if in.rejected != nil {
				in.rejected("telegram", reason)
			}
			writeJSONError(w, http.StatusUnauthorized, reason)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInbound))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeJSONError(w, http.StatusRequestEntityTooLarge, "body too large")
				return
			}
			writeJSONError(w, http.StatusBadRequest, "cannot read the body")
			return
		}
		var u tgbotapi.Update
		if err := json.Unmarshal(body, &u); err != nil {
			in.log.Warn("telegram: malformed webhook update ignored", "err", err, "bytes", len(body))
			w.WriteHeader(http.StatusOK)
			return
		}
		// The update is processed even if Telegram hangs up: it would
		// otherwise be half done and then sent again.
		in.process(context.WithoutCancel(r.Context()), u)
		w.WriteHeader(http.StatusOK)
	})
}

// verify checks the secret header; it returns why it refuses, or "".
func (in *Inbound) verify(h http.Header) string {
	if in.secret == "" {
		return "webhook disabled"
	}
	got := h.Get(secretHeader)
	if got == "" {
		return "missing secret"
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(in.secret)) != 1 {
		return "bad secret"
	}
	return ""
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// SetWebhook points Telegram's webhook at url (https) with the
// WebhookSecret as secret_token, for messages and callback queries only.
func (in *Inbound) SetWebhook(ctx context.Context, webhookURL string) error {
	if in.secret == "" {
		return errors.New("telegram: SetWebhook needs a WebhookSecret")
	}
	u, err := url.Parse(webhookURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("telegram: the webhook URL must be an https:// URL")
	}
	allowed, _ := json.Marshal(allowedUpdates)
	params := tgbotapi.Params{"url": webhookURL, "secret_token": in.secret, "allowed_updates": string(allowed)}
	return in.client.do(ctx, "setWebhook", func(bot *tgbotapi.BotAPI) error {
		_, err := bot.MakeRequest("setWebhook", params)
		return err
	})
}

// Poll receives updates by long polling until ctx ends, and then returns
// nil: it deletes the webhook (getUpdates works only without one), then
// calls getUpdates (timeout 25 s) and processes each update in order, like
// the webhook. Failed calls are retried with a growing wait (1 s to 30 s,
// or what a 429 asks); an unknown token (401, 404) ends Poll with the error.
func (in *Inbound) Poll(ctx context.Context) error {
	wait := in.backoff
	for {
		err := in.client.do(ctx, "deleteWebhook", func(bot *tgbotapi.BotAPI) error {
			_, err := bot.Request(tgbotapi.DeleteWebhookConfig{})
			return err
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if fatal(err) {
			return err
		}
		in.log.Warn("telegram: deleteWebhook failed; retrying", "err", err, "in", wait)
		if !in.sleep(ctx, &wait, err) {
			return nil
		}
	}
	wait = in.backoff
	offset, confirmed := 0, 0 // the next update wanted; what the last getUpdates confirmed
	for ctx.Err() == nil {
		updates, next, err := in.getUpdates(ctx, offset, in.pollTimeout)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if fatal(err) {
				return err
			}
			in.log.Warn("telegram: getUpdates failed; retrying", "err", err, "in", wait)
			if !in.sleep(ctx, &wait, err) {
				break
			}
			continue
		}
		wait = in.backoff
		confirmed = offset
		for _, u := range updates {
			if ctx.Err() != nil {
				break // the rest is not confirmed: Telegram sends it again
			}
			// An update begun is finished, within the handler's and the
			// answers' timeouts.
			in.process(context.WithoutCancel(ctx), u)
			offset = u.UpdateID + 1
		}
		if ctx.Err() == nil {
			offset = max(offset, next) // and the malformed ones skipped
		}
	}
	if offset > confirmed {
		// Confirm what was processed, so that the next Poll does not
		// process it again.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, _, err := in.getUpdates(cctx, offset, 0); err != nil {
			in.log.Warn("telegram: could not confirm the last updates", "err", err)
		}
	}
	return nil
}

// fatal reports an error that retrying cannot cure: the token is wrong.
func fatal(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == "unauthorized" || e.Code == "not_found")
}

// sleep waits *wait (or what a 429 asked) and doubles *wait up to
// maxBackoff; false when ctx ended first.
func (in *Inbound) sleep(ctx context.Context, wait *time.Duration, err error) bool {
	d := *wait
	var e *Error
	if errors.As(err, &e) && e.Wait > 0 {
		d = e.Wait
	}
	*wait = min(*wait*2, in.maxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// getUpdates returns the updates from offset and the offset after them. An
// update that does not decode is logged and skipped.
func (in *Inbound) getUpdates(ctx context.Context, offset, timeout int) ([]tgbotapi.Update, int, error) {
	const op = "getUpdates"
	cfg := tgbotapi.UpdateConfig{Offset: offset, Timeout: timeout, AllowedUpdates: allowedUpdates}
	var raw json.RawMessage
	err := in.poller.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		resp, err := bot.Request(cfg)
		if err == nil {
			raw = resp.Result
		}
		return err
	})
	if err != nil {
		return nil, offset, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, offset, &Error{Op: op, Code: "bad_response", Err: errors.New("the result is not an array of updates")}
	}
	out := make([]tgbotapi.Update, 0, len(items))
	for _, it := range items {
		var id struct {
			UpdateID int `json:"update_id"`
		}
		if json.Unmarshal(it, &id) == nil && id.UpdateID >= offset {
			offset = id.UpdateID + 1
		}
		var u tgbotapi.Update
		if err := json.Unmarshal(it, &u); err != nil {
			in.log.Warn("telegram: malformed update ignored", "update_id", id.UpdateID, "err", err)
			continue
		}
		out = append(out, u)
	}
	return out, offset, nil
}

// process acts on one update: a command message or a button press. Other
// updates are ignored.
func (in *Inbound) process(ctx context.Context, u tgbotapi.Update) {
	switch {
	case u.Message != nil:
		in.message(ctx, u.Message)
	case u.CallbackQuery != nil:
		in.callback(ctx, u.CallbackQuery)
	}
}

// maxCommandAge is how old a command may be when it arrives and still act.
const maxCommandAge = 10 * time.Minute

func (in *Inbound) message(ctx context.Context, m *tgbotapi.Message) {
	if m.From == nil || m.From.IsBot || m.Chat == nil || !strings.HasPrefix(m.Text, "/") {
		return
	}
	if at := time.Unix(int64(m.Date), 0); m.Date > 0 && in.now().Sub(at) > maxCommandAge {
		// Telegram keeps updates for a day: after an outage, an old "/ack"
		// would act on today's incident.
		in.log.Info("telegram: ignoring an old command", "age", in.now().Sub(at).Round(time.Second), "chat", m.Chat.ID)
		return
	}
	username := ""
	if word, _, _ := strings.Cut(m.Text, " "); strings.Contains(word, "@") {
		username = in.botUsername(ctx)
	}
	text, ok := ParseCommand(m.Text, username)
	if !ok {
		return
	}
	req := chatops.Request{
		Platform: "telegram",
		UserID:   strconv.FormatInt(m.From.ID, 10),
		UserName: userName(m.From),
		Channel:  strconv.FormatInt(m.Chat.ID, 10),
		Text:     text,
	}
	if r := m.ReplyToMessage; r != nil && r.MessageID > 0 {
		req.Thread = FormatRef(m.Chat.ID, r.MessageID)
	}
	reply := in.handle(ctx, req)
	in.sendReply(ctx, m.Chat.ID, m.MessageID, reply)
	if reply.Document != nil {
		in.sendDocument(ctx, m.Chat.ID, m.MessageID, reply.Document)
	}
}

// sendReply sends reply's text, links and choices (an inline keyboard) as
// a message replying to message replyTo of chat; nothing when it says
// nothing.
func (in *Inbound) sendReply(ctx context.Context, chat int64, replyTo int, reply chatops.Reply) {
	s := replyWithLinks(reply.Text, reply.Links, in.public)
	if s == "" {
		return
	}
	cfg := tgbotapi.NewMessage(chat, s)
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	cfg.ReplyToMessageID = replyTo
	cfg.AllowSendingWithoutReply = true
	if kb, ok := choiceKeyboard(reply.Choices); ok {
		cfg.ReplyMarkup = kb
	}
	in.send(ctx, "sendMessage", cfg)
}

// choiceKeyboard is the inline keyboard of choices: a button a row (at
// most chatops.MaxChoices), its callback data the choice's key; choices
// whose key does not fit callback data (1–64 bytes) are left out.
func choiceKeyboard(choices []chatops.Choice) (tgbotapi.InlineKeyboardMarkup, bool) {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, c := range choices {
		if len(rows) == chatops.MaxChoices {
			break
		}
		text := buttonText(c.Label)
		if text == "" || len(c.Key) < 1 || len(c.Key) > MaxCallbackData || !utf8.ValidString(c.Key) {
			continue
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(text, c.Key)))
	}
	return tgbotapi.InlineKeyboardMarkup{InlineKeyboard: rows}, len(rows) > 0
}

// Bounds of a Reply's links.
const (
	maxReplyLinks    = 5
	maxReplyLinkText = 80
	maxOtherLink     = 300 // a link that is not klaxon's, shown as text
)

// replyWithLinks is replyHTML(text) followed by links, one a line, all
// within MaxText units as shown: <a href="url">text</a> for those under
// publicURL (chatops.LinkUnder), the others as neutralised text.
func replyWithLinks(text string, links []chatops.Link, publicURL string) string {
	var lines []string
	units := 0
	for i, l := range links {
		if i == maxReplyLinks {
			break
		}
		shown, n := replyHTMLMax(l.Text, maxReplyLinkText)
		if shown == "" {
			shown, n = "Link", 4
		}
		if u, ok := templates.SafeURL(l.URL); ok && chatops.LinkUnder(publicURL, u) {
			lines = append(lines, `<a href="`+html.EscapeString(u)+`">`+shown+"</a>")
		} else if shown, n = replyHTMLMax(l.Text+": "+l.URL, maxOtherLink); shown != "" {
			lines = append(lines, shown)
		} else {
			continue
		}
		units += n + 1
	}
	body, _ := replyHTMLMax(text, MaxText-units)
	if len(lines) == 0 {
		return body
	}
	if body == "" {
		return strings.Join(lines, "\n")
	}
	return body + "\n" + strings.Join(lines, "\n")
}

func (in *Inbound) callback(ctx context.Context, q *tgbotapi.CallbackQuery) {
	req := chatops.Request{Platform: "telegram", Button: q.Data}
	if q.From != nil {
		req.UserID, req.UserName = strconv.FormatInt(q.From.ID, 10), userName(q.From)
	}
	var chat int64
	msgID := 0
	if m := q.Message; m != nil && m.Chat != nil && m.MessageID > 0 {
		chat, msgID = m.Chat.ID, m.MessageID
		req.Channel, req.Thread = strconv.FormatInt(chat, 10), FormatRef(chat, msgID)
	}
	reply := chatops.Reply{Unauthorized: true}
	if q.Data != "" && q.From != nil {
		reply = in.handle(ctx, req)
	}
	text := reply.Text
	if reply.Unauthorized {
		text = notValid
	}
	// Always answered: the button spins until it is.
	in.send(ctx, "answerCallbackQuery", tgbotapi.NewCallback(q.ID, callbackText(text)))
	if reply.Unauthorized || msgID == 0 {
		return
	}
	if len(reply.Links) > 0 || utf16Len(strings.TrimSpace(reply.Text)) > MaxCallbackText {
		// More than a toast holds (a choice's show, timeline or
		// postmortem): a reply to the message pressed, too.
		reply.Choices = nil
		in.sendReply(ctx, chat, msgID, reply)
	}
	if reply.Document != nil {
		in.sendDocument(ctx, chat, msgID, reply.Document)
	}
}

// handle calls the Handler within handlerTimeout; a panic is logged and
// answered with nothing.
func (in *Inbound) handle(ctx context.Context, req chatops.Request) (reply chatops.Reply) {
	ctx, cancel := context.WithTimeout(ctx, handlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("telegram: the handler panicked", "panic", fmt.Sprint(p))
			reply = chatops.Reply{}
		}
	}()
	return in.handler.Handle(ctx, req)
}

// send makes one Bot API call within sendTimeout; a failure is logged.
func (in *Inbound) send(ctx context.Context, op string, c tgbotapi.Chattable) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	err := in.client.do(ctx, op, func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Request(c)
		return err
	})
	if err != nil {
		in.log.Warn("telegram: answer failed", "err", err)
	}
}

func (in *Inbound) sendDocument(ctx context.Context, chat int64, replyTo int, d *chatops.Document) {
	if d.Content == "" {
		in.log.Warn("telegram: empty document not sent", "name", fileName(d.Name))
		return
	}
	cfg := tgbotapi.NewDocument(chat, tgbotapi.FileBytes{Name: fileName(d.Name), Bytes: []byte(d.Content)})
	if c := captionHTML(d.Title); c != "" {
		cfg.Caption = c
		cfg.ParseMode = tgbotapi.ModeHTML
	}
	cfg.ReplyToMessageID = replyTo
	cfg.AllowSendingWithoutReply = true
	in.send(ctx, "sendDocument", cfg)
}

// botUsername is the bot's @username without "@", asked of getMe once; ""
// while it is not known.
func (in *Inbound) botUsername(ctx context.Context) string {
	if p := in.username.Load(); p != nil {
		return *p
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var me tgbotapi.User
	err := in.client.do(ctx, "getMe", func(bot *tgbotapi.BotAPI) (err error) {
		me, err = bot.GetMe()
		return err
	})
	if err != nil || me.UserName == "" {
		in.log.Warn("telegram: getMe failed: commands to any @bot are taken", "err", err)
		return ""
	}
	in.username.Store(&me.UserName)
	return me.UserName
}

func userName(u *tgbotapi.User) string {
	if u.UserName != "" {
		return u.UserName
	}
	return u.FirstName
}

// ParseCommand returns the request text of a command message: the verb and
// its arguments without the command word. "/incident ack INC-1" and
// "/ack@klaxon_bot INC-1" are "ack INC-1"; "/status INC-1" is "show INC-1";
// "/start" and a bare "/incident" are "help". A command addressed to
// another bot ("/ack@other_bot") and text that is no klaxon command are "",
// false. botUsername "" takes a command to any @bot.
func ParseCommand(text, botUsername string) (string, bool) {
	if !strings.HasPrefix(text, "/") {
		return "", false
	}
	word, rest := text[1:], ""
	if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
		word, rest = word[:i], strings.TrimSpace(word[i:])
	}
	name, bot, addressed := strings.Cut(word, "@")
	if addressed && botUsername != "" && !strings.EqualFold(bot, strings.TrimPrefix(botUsername, "@")) {
		return "", false
	}
	name = strings.ToLower(name)
	switch {
	case name == "incident":
		if rest == "" {
			return "help", true
		}
		return rest, true
	case name == "start":
		return "help", true
	case name == "status":
		name = "show"
	case !shortCommands[name]:
		return "", false
	}
	if rest == "" {
		return name, true
	}
	return name + " " + rest, true
}

// replyHTML is plain text as a parse mode HTML message: escaped, with
// mentions, links and domains neutralised as in cards (bot commands stay
// clickable), control characters cleaned; cut with "…" to MaxText units.
// "" when s shows nothing.
func replyHTML(s string) string {
	h, _ := replyHTMLMax(s, MaxText)
	return h
}

// replyHTMLMax is replyHTML cut to max units, and the units it shows.
func replyHTMLMax(s string, max int) (string, int) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if isBlank(s) || max < 1 {
		return "", 0
	}
	b := &builder{}
	buf := make([]byte, 0, min(len(s)+len(s)/8, 4*max))
	units, fit, fitUnits := 0, 0, 0
	prev := ' '
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r = cleanRune(r, true); r < 0 {
			continue
		}
		n := 1
		if r == '/' {
			buf = append(buf, '/')
		} else {
			buf, n = b.appendShown(buf, r, prev, s, i, true)
		}
		prev = r
		units += n
		if units <= max-1 {
			fit, fitUnits = len(buf), units
		}
		if units > max {
			return string(buf[:fit]) + "…", fitUnits + 1
		}
	}
	return string(buf), units
}

// captionHTML is a document's title as its caption, on one line.
func captionHTML(title string) string {
	b := &builder{limit: MaxCaption}
	b.text(title, MaxCaption, 1, false)
	return string(b.buf)
}

// callbackText is s cut to MaxCallbackText UTF-16 units, ending with "…"
// when cut.
func callbackText(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if utf16Len(s) <= MaxCallbackText {
		return s
	}
	units, cut := 0, 0
	for i, r := range s {
		n := 1
		if r >= 0x10000 {
			n = 2
		}
		if units+n > MaxCallbackText-1 {
			cut = i
			break
		}
		units += n
	}
	return s[:cut] + "…"
}

// fileName is a document's name made safe: no paths or control characters,
// at most 128 bytes; "document.md" when empty.
func fileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == utf8.RuneError || unicode.IsControl(r) || isBidiControl(r) {
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, "_"))
	name = strings.TrimSpace(name)
	if len(name) > 128 {
		n := 128
		for n > 0 && !utf8.RuneStart(name[n]) {
			n--
		}
		name = name[:n]
	}
	if name == "" || name == "." || name == ".." {
		return "document.md"
	}
	return name
}
