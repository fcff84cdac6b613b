package mattermost

// The receiver: Mattermost's slash-command requests and button clicks
// (action calls) as chatops.Requests, and the Replies as Mattermost's
// answers.
//
// A slash command is authenticated by its token (the form field "token"
// and/or the header "Authorization: Token <t>"), compared in constant time.
//
// An action call carries no authentication at all: anyone who can reach
// the endpoint can send one, naming any user, channel and post. What
// klaxon can prove, it checks before the Handler sees the click: the
// button's context holds a key the compiler put there ({"key": ...}, see
// Key and action in compile.go), which InboundOptions.CheckButton verifies
// (klaxon made it, for this channel, it has not expired, and the post is
// the card of the key's incident in that channel); then the Mattermost API
// says whether the user the call names is a member of the channel
// (Membership). Nothing proves that this user clicked: a holder of a key
// can act as any member of the card's channel until the key expires. Only
// the Mattermost server should be able to reach the endpoint. The answer is
// an ephemeral text, never the updated card (whose buttons carry the
// incident's other keys): the outbox edits the card.
//
// A reply's Choices (a command that could mean several incidents) are
// buttons on the command's ephemeral answer. Mattermost keeps no such post:
// it calls the action with the ephemeral post's id, so the button's
// context also names the incident's card ({"key": ..., "card": <post
// id>}), and the click counts as one on that card (CheckButton checks the
// key against it as against any card's). A forger gains nothing: post_id
// is the caller's to choose either way.
//
// Mattermost 9.10 and every release up to 10.11 send no root_id with a
// slash command (its main branch added it in 2026), so a command typed in a
// card's thread cannot name the card there; the Handler answers with
// Choices instead.

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/templates"
)

// platform is the chatops.Request platform name of this adapter.
const platform = "mattermost"

const (
	// maxInboundBody bounds a request's body; larger ones get 413.
	maxInboundBody = 1 << 20
	// handlerTimeout is the Handler's deadline.
	handlerTimeout = 10 * time.Second
	// maxTextWithDocument caps a reply's text when a document follows it.
	maxTextWithDocument = 2000
	// maxDocTitle caps a document's title (escaped runes).
	maxDocTitle = 200
	// docCutNote ends a document cut to fit a post.
	docCutNote = "\n_… cut: the document is longer than a Mattermost post can hold._"
	// noBytes is a byte budget that never binds: answers are limited in runes.
	noBytes = 1 << 30
)

// InboundOptions configure an Inbound.
type InboundOptions struct {
	// CommandToken is the slash command's token (Integrations > Slash
	// Commands); "" = every command request is refused.
	CommandToken string
	// Handler acts on the requests (required).
	Handler chatops.Handler
	// Rejected is told about every request refused before it reached the
	// Handler; may be nil.
	Rejected chatops.Rejected
	// CheckButton vouches for a click before the Handler sees it
	// (required; bot.Server.CheckButton): "" lets it on; otherwise a
	// short reason (counted by Rejected) and the reply to give instead —
	// Unauthorized: answered 401; else its text as the ephemeral answer.
	CheckButton func(ctx context.Context, r chatops.Request) (reason string, refusal chatops.Reply)
	// Members says whether the user an action call names is a member of
	// its channel (required; the Client, which asks the Mattermost API).
	Members Membership
	// PublicURL is klaxon's server.public_url: a Reply's Links under it
	// are shown as links (chatops.LinkUnder), any other as plain text; ""
	// shows them all as text.
	PublicURL string
	// ActionURL is where Mattermost posts button clicks (klaxon's
	// public_url + "/mattermost/actions"), for the buttons of a Reply's
	// Choices; "" (or not an absolute http(s) URL of at most
	// MaxActionURLBytes) shows no Choices, only the Reply's text.
	ActionURL string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives what went wrong (never a token); default slog.Default().
	Log *slog.Logger
}

// Membership says whether a user is a member of a channel; Client
// implements it.
type Membership interface {
	IsMember(ctx context.Context, channelID, userID string) (bool, error)
}

// Answers to clicks refused for a reason the person can do something about.
const (
	notMemberText = "Only members of this channel can use its buttons: join the channel, then try again."
	noMemberText  = "klaxon could not ask Mattermost whether you are a member of this channel, so nothing changed. Try again in a moment."
)

// Inbound serves Mattermost's requests to klaxon. It is safe for
// concurrent use.
type Inbound struct {
	token     []byte
	handler   chatops.Handler
	rejected  chatops.Rejected
	check     func(ctx context.Context, r chatops.Request) (string, chatops.Reply)
	members   Membership
	publicURL string
	actionURL string
	now       func() time.Time
	log       *slog.Logger
}

// NewInbound returns an Inbound for o. It checks the options.
func NewInbound(o InboundOptions) (*Inbound, error) {
	if o.Handler == nil {
		return nil, errors.New("mattermost: inbound: a handler is required")
	}
	if o.CheckButton == nil || o.Members == nil {
		return nil, errors.New("mattermost: inbound: a button check and a membership check are required: anyone can make an action call")
	}
	for i := 0; i < len(o.CommandToken); i++ {
		if c := o.CommandToken[i]; c <= ' ' || c >= 0x7f {
			return nil, errors.New("mattermost: inbound: the command token holds spaces or characters that are not printable ASCII")
		}
	}
	in := &Inbound{
		token:     []byte(o.CommandToken),
		handler:   o.Handler,
		rejected:  o.Rejected,
		check:     o.CheckButton,
		members:   o.Members,
		publicURL: o.PublicURL,
		now:       o.Now,
		log:       o.Log,
	}
	if validActionURL(o.ActionURL) {
		in.actionURL = o.ActionURL
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	return in, nil
}

// Commands handles the slash command's requests (POST /mattermost/commands):
// a form with token, channel_id, user_id, user_name, command, text and, on
// servers that send it (not 9.10 nor any release up to 10.11), root_id when
// the command was typed in a thread. It answers {"response_type":
// "ephemeral"|"in_channel", "text": ...}, with "attachments" holding a
// button per Choice.
func (in *Inbound) Commands() http.Handler { return http.HandlerFunc(in.serveCommand) }

// Actions handles button clicks (POST /mattermost/actions): JSON {user_id,
// user_name, channel_id, post_id, context: {"key": ...}} (a Choice's also
// {"card": ...}, which stands for post_id). Before the Handler, CheckButton
// vouches for the key and the post, and Members for the user. It answers {"ephemeral_text": ...} and never an update (the
// outbox edits the card); 401 when the key is missing or not klaxon's for
// this card; 200 with the reason as ephemeral text when the key expired,
// the user is not a member of the channel, or that cannot be checked now.
func (in *Inbound) Actions() http.Handler { return http.HandlerFunc(in.serveAction) }

type commandResponse struct {
	ResponseType     string               `json:"response_type"`
	Text             string               `json:"text"`
	SkipSlackParsing bool                 `json:"skip_slack_parsing"`
	Attachments      []*MessageAttachment `json:"attachments,omitempty"`
}

type actionResponse struct {
	EphemeralText    string `json:"ephemeral_text,omitempty"`
	SkipSlackParsing bool   `json:"skip_slack_parsing"`
}

func (in *Inbound) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := in.read(w, r)
	if !ok {
		return
	}
	// Authenticity first: the header's token, then the form's, each one
	// given compared in constant time, at least one required.
	if len(in.token) == 0 {
		in.refuse(w, http.StatusUnauthorized, "commands disabled")
		return
	}
	given := 0
	if t, found := headerToken(r.Header); found {
		given++
		if !in.tokenOK(t) {
			in.refuse(w, http.StatusUnauthorized, "bad token")
			return
		}
	}
	form, perr := url.ParseQuery(string(body))
	if vs, found := form["token"]; found {
		given++
		if len(vs) != 1 || !in.tokenOK(vs[0]) {
			in.refuse(w, http.StatusUnauthorized, "bad token")
			return
		}
	}
	if given == 0 {
		in.refuse(w, http.StatusUnauthorized, "missing token")
		return
	}
	if perr != nil {
		in.refuse(w, http.StatusBadRequest, "malformed request")
		return
	}

	req := chatops.Request{
		Platform: platform,
		UserID:   form.Get("user_id"),
		UserName: form.Get("user_name"),
		Channel:  form.Get("channel_id"),
		Text:     strings.TrimSpace(form.Get("text")),
	}
	if root := form.Get("root_id"); validID(root) {
		req.Thread = root
	}
	reply := in.handle(r.Context(), req)
	resp := commandResponse{ResponseType: "in_channel", Text: replyText(reply, in.publicURL), SkipSlackParsing: true}
	if reply.Ephemeral {
		resp.ResponseType = "ephemeral"
	}
	if att := choiceAttachment(reply.Choices, in.actionURL); att != nil {
		resp.Attachments = []*MessageAttachment{att}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (in *Inbound) serveAction(w http.ResponseWriter, r *http.Request) {
	body, ok := in.read(w, r)
	if !ok {
		return
	}
	var call actionRequest
	if err := json.Unmarshal(body, &call); err != nil {
		in.refuse(w, http.StatusBadRequest, "malformed request")
		return
	}
	// The key is all an action call carries of klaxon's: compile.go's
	// action puts it in the integration's context as "key".
	key, _ := call.Context["key"].(string)
	if key == "" {
		in.refuse(w, http.StatusUnauthorized, "no key")
		return
	}
	if len(key) > MaxKeyBytes || !utf8.ValidString(key) {
		in.refuse(w, http.StatusUnauthorized, "bad key")
		return
	}
	// The server always names the user, the channel and the post.
	if !validID(call.UserId) || !validID(call.ChannelId) || !validID(call.PostId) {
		in.refuse(w, http.StatusBadRequest, "malformed request")
		return
	}
	req := chatops.Request{
		Platform: platform,
		UserID:   call.UserId,
		UserName: call.UserName,
		Channel:  call.ChannelId,
		Thread:   call.PostId,
		Button:   key,
	}
	if card, _ := call.Context["card"].(string); card != "" {
		// A Choice, pressed on an ephemeral post: it stands for the card.
		if !validID(card) {
			in.refuse(w, http.StatusBadRequest, "malformed request")
			return
		}
		req.Thread = card
	}
	ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
	defer cancel()
	if reason, refusal := in.check(ctx, req); reason != "" {
		if refusal.Unauthorized {
			in.refuse(w, http.StatusUnauthorized, reason)
			return
		}
		in.answerRefusal(w, reason, refusal.Text)
		return
	}
	member, err := in.members.IsMember(ctx, call.ChannelId, call.UserId)
	switch {
	case err != nil:
		in.log.Warn("mattermost: cannot check a clicking user's membership; refused", "channel", call.ChannelId, "err", err)
		in.answerRefusal(w, "membership unknown", noMemberText)
		return
	case !member:
		in.answerRefusal(w, "not a member", notMemberText)
		return
	}
	reply := in.handle(ctx, req)
	if reply.Unauthorized {
		in.refuse(w, http.StatusUnauthorized, "bad key")
		return
	}
	// Never an update: Mattermost cannot update the ephemeral post of a
	// Choice (the post is not stored), and a card's update would hand back
	// its keys.
	writeJSON(w, http.StatusOK, actionResponse{EphemeralText: replyText(reply, in.publicURL), SkipSlackParsing: true})
}

// answerRefusal refuses a click with text for the person who made it (200:
// Mattermost shows ephemeral text only then).
func (in *Inbound) answerRefusal(w http.ResponseWriter, reason, text string) {
	if in.rejected != nil {
		in.rejected(platform, reason)
	}
	in.log.Info("mattermost: click refused", "reason", reason)
	writeJSON(w, http.StatusOK, actionResponse{EphemeralText: replyText(chatops.Reply{Text: text}, ""), SkipSlackParsing: true})
}

// handle calls the Handler with its deadline, turning a panic into an
// apology (the person still gets an answer; the log has the panic).
func (in *Inbound) handle(ctx context.Context, req chatops.Request) (rep chatops.Reply) {
	ctx, cancel := context.WithTimeout(ctx, handlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("mattermost: the handler panicked", "panic", fmt.Sprint(p))
			rep = chatops.Reply{Text: "Sorry, that failed inside klaxon. Please try again.", Ephemeral: true}
		}
	}()
	return in.handler.Handle(ctx, req)
}

// read checks the method and reads the body within maxInboundBody; on
// failure it has answered.
func (in *Inbound) read(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInboundBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			in.refuse(w, http.StatusRequestEntityTooLarge, "body too large")
		} else {
			in.refuse(w, http.StatusBadRequest, "unreadable body")
		}
		return nil, false
	}
	return body, true
}

func (in *Inbound) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), in.token) == 1
}

// refuse answers a request that does not reach the Handler.
func (in *Inbound) refuse(w http.ResponseWriter, status int, reason string) {
	if in.rejected != nil {
		in.rejected(platform, reason)
	}
	in.log.Info("mattermost: request refused", "reason", reason, "status", status)
	writeJSON(w, status, map[string]string{"error": reason})
}

// headerToken returns the token of an "Authorization: Token <t>" header;
// found is false when there is no such header (other schemes are not
// Mattermost's and are ignored).
func headerToken(h http.Header) (token string, found bool) {
	for _, v := range h.Values("Authorization") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if strings.EqualFold(scheme, "Token") {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// replyText is the post text of a Reply: its text escaped (as data, never
// markup: no mention, no link, no formatting), its links, and its
// document, within MaxRunes. A link under publicURL is a Markdown link;
// any other is text like the rest.
func replyText(r chatops.Reply, publicURL string) string {
	textMax := MaxRunes
	if r.Document != nil {
		textMax = maxTextWithDocument
	}
	links := linksText(r.Links, publicURL)
	if links != "" {
		textMax -= utf8.RuneCountInString(links) + 1
	}
	text, used, _ := escape(r.Text, md|ml, limit{textMax, noBytes})
	if links != "" {
		if text != "" {
			text += "\n"
			used.runes++
		}
		text += links
		used.runes += utf8.RuneCountInString(links)
	}
	if r.Document == nil {
		return text
	}
	if text == "" {
		return documentText(r.Document, MaxRunes)
	}
	return text + sep2 + documentText(r.Document, MaxRunes-used.runes-len(sep2))
}

// Bounds of a Reply's links.
const (
	maxReplyLinks    = 5
	maxReplyLinkText = 80
)

// linksText renders links, one a line: "[text](url)" for those under
// publicURL, whose hosts Markdown can hold as they are (linkable); the
// others as escaped "text: url", which links nothing. At most
// maxReplyLinks.
func linksText(links []chatops.Link, publicURL string) string {
	var lines []string
	for _, l := range links {
		if len(lines) == maxReplyLinks {
			break
		}
		text, _, _ := escape(l.Text, md, limit{maxReplyLinkText, noBytes})
		if text == "" {
			text = "Link"
		}
		if u, ok := templates.SafeURL(l.URL); ok && chatops.LinkUnder(publicURL, u) && linkable(u) {
			lines = append(lines, "["+text+"]("+linkURL(u)+")")
			continue
		}
		if line, _, _ := escape(l.Text+": "+l.URL, md, limit{maxReplyLinkText + templates.MaxURL, noBytes}); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// Bounds of a Reply's Choices.
const maxChoiceLabel = 70

// choiceAttachment is the attachment of a Reply's choices: a button each
// (those with a usable key and a card), calling actionURL with {"key",
// "card"}; nil when there is none or no actionURL.
func choiceAttachment(choices []chatops.Choice, actionURL string) *MessageAttachment {
	if actionURL == "" {
		return nil
	}
	var actions []*PostAction
	for i, c := range choices {
		if len(actions) == chatops.MaxChoices {
			break
		}
		if c.Key == "" || len(c.Key) > MaxKeyBytes || !utf8.ValidString(c.Key) || !validID(c.Card) {
			continue
		}
		name, _, _ := escape(c.Label, 0, limit{maxChoiceLabel, MaxPropsBytes})
		if name == "" {
			continue
		}
		actions = append(actions, &PostAction{
			Id:    "choice" + strconv.Itoa(i+1),
			Type:  PostActionTypeButton,
			Name:  name,
			Style: "default",
			Integration: &PostActionIntegration{
				URL:     actionURL,
				Context: map[string]any{"key": c.Key, "card": c.Card},
			},
		})
	}
	if len(actions) == 0 {
		return nil
	}
	return &MessageAttachment{Actions: actions}
}

// documentText renders a document as a Mattermost post text of at most
// maxRunes runes: "#### <title>\n```\n<content>\n```" (a longer fence when
// the content holds one), the content cut at a line with a note when it is
// longer. The title is escaped; the content is shown verbatim in the code
// block (without carriage returns, bidi controls and other control
// characters but tabs).
func documentText(d *chatops.Document, maxRunes int) string {
	if d == nil || maxRunes <= 0 {
		return ""
	}
	title, _, _ := escape(d.Title, md, limit{maxDocTitle, noBytes})
	if title == "" {
		title, _, _ = escape(d.Name, md, limit{maxDocTitle, noBytes})
	}
	if title == "" {
		title = "Document"
	}
	content := strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r' || isBidiControl(r):
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(d.Content, "\uFFFD"))
	content = strings.TrimRight(content, "\n")
	fence := strings.Repeat("`", max(3, longestRun(content, '`')+1))
	head := "#### " + title + "\n" + fence + "\n"
	tail := "\n" + fence
	fixed := utf8.RuneCountInString(head) + utf8.RuneCountInString(tail)
	if fixed+utf8.RuneCountInString(content) <= maxRunes {
		return head + content + tail
	}
	room := maxRunes - fixed - utf8.RuneCountInString(docCutNote)
	if room < 0 {
		// Not even the frame fits: the title alone, cut.
		t, _, _ := escape(cmp.Or(d.Title, d.Name, "Document"), md, limit{maxRunes, noBytes})
		return t
	}
	cut, n := content, 0
	for i := range content {
		if n == room {
			cut = content[:i]
			break
		}
		n++
	}
	if nl := strings.LastIndexByte(cut, '\n'); nl > len(cut)/2 {
		cut = cut[:nl]
	}
	return head + cut + tail + docCutNote
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
