package slack

// This file is the sender: it posts compiled cards to Slack's Web API with
// slack-go, edits them in place, threads timeline replies under them and
// finds a card again by the incident ID it carries in its metadata.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// DefaultAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// MetadataEventType is the event_type of the metadata every card carries;
// its event_payload is {"incident": "<incident ID>"}.
const MetadataEventType = "klaxon_incident"

// MaxReplyLen bounds the text of a thread reply, in UTF-16 units: far
// below Slack's 40,000, and the size of a section's text.
const MaxReplyLen = MaxTextLen

// FindWindow is how far past since Find looks. The outbox marks a card
// "about to post", then posts it, and asks for since = the mark − 1 min
// (for clocks that differ): the post starts right after the mark is saved
// and ends within the HTTP client's timeout (10 s in klaxon) and the
// outbox's sync deadline (¾ of its lease: 45 s by default), and Slack
// stamps the message while it handles the request. Five minutes from
// since — the mark + 4 min — holds that with minutes to spare, and keeps
// what Find reads to the window's messages, however busy the channel has
// been since.
const FindWindow = 5 * time.Minute

// Find's paging: pages of findPageSize messages (conversations.history's
// most), at most findPages of them (a window with more messages than that
// is refused as too busy to look through).
const (
	findPageSize = 999
	findPages    = 200
)

// Options configure a Client.
type Options struct {
	// Token is the bot token (xoxb-…). Required.
	Token string
	// APIURL is the Web API base URL; "" means DefaultAPIURL. A trailing
	// slash is added when missing.
	APIURL string
	// HTTPClient sends the requests; nil means
	// &http.Client{Timeout: 10 * time.Second}.
	HTTPClient *http.Client
	// Sign returns the signed key a card's action button carries; nil
	// leaves cards without action buttons (link buttons remain).
	Sign func(incidentID string, a templates.Action) string
}

// Client posts and updates incident cards in Slack. It is safe for
// concurrent use. It neither retries nor rate-limits: every failure is
// returned as an *Error saying whether and when a retry is worth it.
type Client struct {
	api    *slack.Client
	apiURL *url.URL // the API base URL: upload URLs on its host are trusted
	sign   func(incidentID string, a templates.Action) string
	token  string // only to scrub it from error causes
}

// New returns a Client for o. It validates o and does not call the network.
func New(o Options) (*Client, error) {
	if o.Token == "" {
		return nil, errors.New("slack: a bot token is required")
	}
	if strings.ContainsFunc(o.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("slack: the token contains spaces or control characters")
	}
	api := o.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("slack: API URL %q is not an absolute http(s) URL without credentials", api)
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{
		api:    slack.New(o.Token, slack.OptionAPIURL(api), slack.OptionHTTPClient(hc)),
		apiURL: u,
		sign:   o.Sign,
		token:  o.Token,
	}, nil
}

var destRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,31}$`)

// ValidDest reports whether dest is a Slack conversation ID as Post
// expects it: a channel ("C0123ABCD"), private channel ("G…") or direct
// message ("D…") ID, not a channel name.
func ValidDest(dest string) error {
	if destRE.MatchString(dest) {
		return nil
	}
	hint := ""
	if strings.HasPrefix(dest, "#") || strings.ToUpper(dest) != dest {
		hint = " (channel names are not accepted: use the ID shown in the channel's details)"
	}
	return fmt.Errorf("slack: destination %q is not a conversation ID like C0123ABCD%s", truncate(dest, 40), hint)
}

var tsRE = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)

// Ref returns the reference of the message ts in channel: "C0123/1712345678.000100".
func Ref(channel, ts string) string { return channel + "/" + ts }

// ParseRef splits a reference made by Post or Find into channel and ts.
func ParseRef(ref string) (channel, ts string, err error) {
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || ValidDest(channel) != nil || !tsRE.MatchString(ts) {
		return "", "", fmt.Errorf("%q is not a Slack message reference (want CHANNEL/TS)", truncate(ref, 60))
	}
	return channel, ts, nil
}

func badRef(op, ref string) *Error {
	_, _, err := ParseRef(ref)
	return &Error{Op: op, Code: "bad_ref", Err: err}
}

// Post compiles card and posts it to dest as a top-level message tagged
// with the incident ID (metadata MetadataEventType), and returns its
// reference.
func (c *Client) Post(ctx context.Context, dest string, card *templates.Card) (string, error) {
	const op = "chat.postMessage"
	if err := ValidDest(dest); err != nil {
		return "", &Error{Op: op, Code: "bad_dest", Err: err}
	}
	if card == nil {
		return "", &Error{Op: op, Code: "no_card", Err: errors.New("nil card")}
	}
	opts := append(c.compile(card).MsgOptions(),
		slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType:    MetadataEventType,
			EventPayload: map[string]any{"incident": card.IncidentID},
		}),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	channel, ts, err := c.api.PostMessageContext(ctx, dest, opts...)
	if err != nil {
		return "", c.wrap(ctx, op, err)
	}
	if channel == "" {
		channel = dest
	}
	if ValidDest(channel) != nil || !tsRE.MatchString(ts) {
		return "", &Error{Op: op, Status: http.StatusOK, Code: "bad_response", Temp: true,
			Err: fmt.Errorf("unexpected channel %q or ts %q in the answer", truncate(channel, 40), truncate(ts, 40))}
	}
	return Ref(channel, ts), nil
}

// Update replaces the message ref with card, blocks and text together
// (chat.update with text alone would remove the blocks). Code
// "message_not_found" means the message is gone: post the card again.
func (c *Client) Update(ctx context.Context, ref string, card *templates.Card) error {
	const op = "chat.update"
	channel, ts, err := ParseRef(ref)
	if err != nil {
		return badRef(op, ref)
	}
	if card == nil {
		return &Error{Op: op, Code: "no_card", Err: errors.New("nil card")}
	}
	if _, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, c.compile(card).MsgOptions()...); err != nil {
		return c.wrap(ctx, op, err)
	}
	return nil
}

// Reply posts events, in order, as one thread reply under the message
// ref: a line each (EventText), cut to MaxReplyLen with "+N more events"
// when they do not all fit. No events, no call. Code "message_not_found"
// means the card is gone (Slack answered thread_not_found, or posted the
// reply outside any thread because the card was deleted).
func (c *Client) Reply(ctx context.Context, ref string, events []incidents.Event) error {
	const op = "chat.postMessage"
	if len(events) == 0 {
		return nil
	}
	channel, ts, err := ParseRef(ref)
	if err != nil {
		return badRef(op, ref)
	}
	text := ReplyText(events)
	// The reply shows as a plain_text section, where nothing is a link, a
	// mention or formatting, whatever the events say; the escaped mrkdwn
	// text is the notification's fallback.
	shown := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
	return c.postInThread(ctx, op, "reply", channel, ts,
		slack.MsgOptionText(text, false), // EventText escaped it already
		slack.MsgOptionBlocks(slack.NewSectionBlock(plain(shown), nil, nil, slack.SectionBlockOptionBlockID("reply"))))
}

// postInThread posts under the message ts of channel, with no link names
// and no unfurls, plus opts. A post Slack put outside any thread (the card
// was deleted) is the error "message_not_found"; what names the post.
func (c *Client) postInThread(ctx context.Context, op, what, channel, ts string, opts ...slack.MsgOption) error {
	opts = append(opts,
		slack.MsgOptionTS(ts),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	_, _, msg, err := c.api.PostMessageWithResponseContext(ctx, channel, opts...)
	if err != nil {
		return c.wrap(ctx, op, err)
	}
	if msg.Timestamp != "" && msg.ThreadTimestamp == "" {
		return &Error{Op: op, Status: http.StatusOK, Code: "message_not_found",
			Err: errors.New("the " + what + " was posted outside a thread: the card is gone")}
	}
	return nil
}

// ReplyText is the text Reply posts for events: their EventText lines, the
// first ones that fit in MaxReplyLen, then "+N more events" for the rest.
func ReplyText(events []incidents.Event) string {
	lines := make([]string, 0, len(events))
	n := 0 // units of the lines kept, with their newlines
	for _, e := range events {
		l := EventText(e)
		if units(l) > maxReplyLine {
			l = cutEscaped(l, maxReplyLine-1) + "…"
		}
		u := units(l)
		if len(lines) > 0 {
			u++
		}
		if n+u > MaxReplyLen {
			break
		}
		lines = append(lines, l)
		n += u
	}
	// Make room for the "+N more" line when some events are left out.
	for len(lines) < len(events) {
		more := "\n" + moreText(len(events)-len(lines), "event", "events")
		if len(lines) == 0 {
			more = more[1:]
		}
		if n+units(more) <= MaxReplyLen {
			return strings.Join(lines, "\n") + more
		}
		last := lines[len(lines)-1]
		lines = lines[:len(lines)-1]
		n -= units(last)
		if len(lines) > 0 {
			n--
		}
	}
	return strings.Join(lines, "\n")
}

// maxReplyLine bounds one line of a reply so that "+N more events" always
// fits after the first.
const maxReplyLine = MaxReplyLen - 32

// cutEscaped returns the longest prefix of s of at most max units that
// does not split a character or an entity (&amp; &lt; &gt;).
func cutEscaped(s string, max int) string {
	n, end := 0, 0
	for i, r := range s {
		if n+runeUnits(r) > max {
			break
		}
		n += runeUnits(r)
		end = i + utf8.RuneLen(r)
	}
	cut := s[:end]
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	return strings.TrimRightFunc(cut, unicode.IsSpace)
}

// Find returns the reference of a top-level message in dest tagged with
// incidentID and posted in the window [since, since+FindWindow], or ""
// when there is none (and when since is zero: there is no mark to look
// from). It reads every message of the window with conversations.history
// (oldest and latest bound it, inclusive), following the cursor to the
// window's end: the calls grow with the window's messages, one per 999,
// never with the channel's. A window of more than 199,800 messages is an
// *Error "window_too_busy" (not retried) rather than a guess.
func (c *Client) Find(ctx context.Context, dest, incidentID string, since time.Time) (string, error) {
	const op = "conversations.history"
	if err := ValidDest(dest); err != nil {
		return "", &Error{Op: op, Code: "bad_dest", Err: err}
	}
	if incidentID == "" || since.IsZero() {
		return "", nil
	}
	p := &slack.GetConversationHistoryParameters{ChannelID: dest, Limit: findPageSize, IncludeAllMetadata: true,
		Oldest: slackTS(since), Latest: slackTS(since.Add(FindWindow)), Inclusive: true}
	seen := map[string]bool{}
	for range findPages {
		resp, err := c.api.GetConversationHistoryContext(ctx, p)
		if err != nil {
			return "", c.wrap(ctx, op, err)
		}
		for _, m := range resp.Messages {
			if m.ThreadTimestamp != "" && m.ThreadTimestamp != m.Timestamp {
				continue // a reply broadcast to the channel
			}
			if m.Metadata.EventType != MetadataEventType || !tsRE.MatchString(m.Timestamp) {
				continue
			}
			if id, _ := m.Metadata.EventPayload["incident"].(string); id == incidentID {
				return Ref(dest, m.Timestamp), nil
			}
		}
		next := resp.ResponseMetaData.NextCursor
		if !resp.HasMore || next == "" {
			return "", nil
		}
		if seen[next] {
			return "", &Error{Op: op, Code: "bad_response", Err: errors.New("the same cursor came back twice")}
		}
		seen[next] = true
		p.Cursor = next
	}
	return "", &Error{Op: op, Code: "window_too_busy",
		Err: fmt.Errorf("more than %d messages in the %s after %s", findPages*findPageSize, FindWindow, since.UTC().Format(time.RFC3339))}
}

// slackTS formats t as a Slack timestamp: seconds and microseconds.
func slackTS(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func (c *Client) compile(card *templates.Card) Message {
	var key Key
	if c.sign != nil {
		id := card.IncidentID
		key = func(a templates.Action) string { return c.sign(id, a) }
	}
	return Compile(card, key)
}

// Error is every failure a Client returns.
type Error struct {
	Op     string        // Slack method: "chat.postMessage", "chat.update", "conversations.history", "files.getUploadURLExternal", "files.completeUploadExternal", or "upload_url" (PostImage's POST of the bytes)
	Status int           // HTTP status when known (0 otherwise)
	Code   string        // Slack's error ("channel_not_found", "invalid_blocks"…), or "rate_limited", "http_<status>", "network", "timeout", "canceled", "bad_ref", "bad_dest", "bad_user", "user_not_found", "bad_response", "message_not_found", "window_too_busy", "bad_image"
	Wait   time.Duration // Retry-After, when Slack gave one
	Temp   bool          // worth retrying: rate limits, 5xx, network errors, timeouts
	Err    error         // cause
}

// Error returns e.g. "slack chat.postMessage: channel_not_found". It never
// contains a token.
func (e *Error) Error() string {
	s := "slack " + e.Op + ": " + e.Code
	if e.Wait > 0 {
		s += " (retry after " + e.Wait.String() + ")"
	}
	switch e.Code {
	case "network", "timeout", "bad_ref", "bad_dest", "bad_user", "bad_response", "message_not_found", "window_too_busy", "bad_image":
		if e.Err != nil {
			s += ": " + e.Err.Error()
		}
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Retryable reports whether retrying may succeed (Temp).
func (e *Error) Retryable() bool { return e.Temp }

// RetryAfter returns how long Slack asked to wait (Wait), or 0.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// tempCode reports the Slack errors worth retrying
// (https://api.slack.com/methods/chat.postMessage#errors).
func tempCode(code string) bool {
	switch code {
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return true
	}
	return false
}

// wrap turns what slack-go returned into an *Error.
func (c *Client) wrap(ctx context.Context, op string, err error) *Error {
	e := &Error{Op: op, Err: c.scrub(err)}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		e.Status, e.Code, e.Wait, e.Temp = http.StatusTooManyRequests, "rate_limited", rl.RetryAfter, true
	case errors.As(err, &sc):
		e.Status, e.Code = sc.Code, "http_"+strconv.Itoa(sc.Code)
		switch {
		case sc.Code == http.StatusTooManyRequests:
			e.Code, e.Temp = "rate_limited", true
		case sc.Code >= 500:
			e.Temp = true
		}
	case errors.As(err, &se):
		e.Status, e.Code = http.StatusOK, se.Err
		switch se.Err {
		case "ratelimited", "rate_limited":
			e.Code, e.Temp = "rate_limited", true
		case "message_not_found", "thread_not_found":
			e.Code = "message_not_found"
		default:
			e.Temp = tempCode(se.Err)
		}
		if e.Code == "" {
			e.Code = "unknown_error"
		}
	case ctx.Err() != nil:
		e.Err, e.Temp = ctx.Err(), true
		e.Code = "canceled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Code = "timeout"
		}
	case errors.As(err, &ne) && ne.Timeout():
		e.Code, e.Temp = "timeout", true
	case isTransport(err):
		e.Code, e.Temp = "network", true
	default: // the answer was not Slack's JSON
		e.Code, e.Temp = "bad_response", true
	}
	return e
}

// isTransport reports errors of the HTTP exchange itself.
func isTransport(err error) bool {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe)
}

// scrub removes the token from err's message, should a cause ever hold it.
func (c *Client) scrub(err error) error {
	if c.token != "" && err != nil && strings.Contains(err.Error(), c.token) {
		return errors.New(strings.ReplaceAll(err.Error(), c.token, "[token]"))
	}
	return err
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

var userRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// ValidUser checks a Slack user ID ("U0123ABCD", or "W…" in Enterprise
// Grid), as Mention and Direct expect it.
func ValidUser(userID string) error {
	if userRE.MatchString(userID) {
		return nil
	}
	return fmt.Errorf("slack: user %q is not a user ID like U0123ABCD", truncate(userID, 40))
}

// Mention posts text as a thread reply under the message ref that
// notifies userID: "<@U123> " and text escaped for mrkdwn (& < >), so that
// the one mention is the only markup; no link names, no unfurls. Code
// "bad_user" is a malformed user ID; "message_not_found" means the card is
// gone.
func (c *Client) Mention(ctx context.Context, ref, userID, text string) error {
	const op = "chat.postMessage"
	channel, ts, err := ParseRef(ref)
	if err != nil {
		return badRef(op, ref)
	}
	if err := ValidUser(userID); err != nil {
		return &Error{Op: op, Code: "bad_user", Err: err}
	}
	mention := "<@" + userID + ">"
	if body := escapeFit(text, MaxReplyLen-units(mention)-1); body != "" {
		mention += " " + body
	}
	return c.postInThread(ctx, op, "mention", channel, ts, slack.MsgOptionText(mention, false))
}

// Direct sends text, escaped for mrkdwn, to userID as a direct message
// from the bot (chat.postMessage to the user ID: Slack delivers it in the
// app's DM with the user). Code "bad_user" is a malformed user ID,
// "user_not_found" a user Slack does not know.
func (c *Client) Direct(ctx context.Context, userID, text string) error {
	const op = "chat.postMessage"
	if err := ValidUser(userID); err != nil {
		return &Error{Op: op, Code: "bad_user", Err: err}
	}
	body := escapeFit(text, MaxReplyLen)
	if body == "" {
		body = "(no text)"
	}
	_, _, err := c.api.PostMessageContext(ctx, userID,
		slack.MsgOptionText(body, false),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		e := c.wrap(ctx, op, err)
		if e.Code == "channel_not_found" || e.Code == "user_not_found" {
			e.Code = "user_not_found"
		}
		return e
	}
	return nil
}

// Announce posts text, escaped for mrkdwn like Direct's (no mention, link
// or markup survives: "<!channel>" in a name arrives as text), as a
// top-level message in the channel dest: a notice that is not a card,
// such as a shift handover.
func (c *Client) Announce(ctx context.Context, dest, text string) error {
	const op = "chat.postMessage"
	if err := ValidDest(dest); err != nil {
		return &Error{Op: op, Code: "bad_dest", Err: err}
	}
	body := escapeFit(text, MaxReplyLen)
	if body == "" {
		body = "(no text)"
	}
	_, _, err := c.api.PostMessageContext(ctx, dest,
		slack.MsgOptionText(body, false),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return c.wrap(ctx, op, err)
	}
	return nil
}
