// Package chatops is the platform-neutral conversation between people in a
// chat and klaxon: a Request (a command typed, a card's button pressed) and
// the Reply to it. The chat adapters translate their platform's requests
// into Requests and Replies into their platform's answers; bot acts on
// them. Neither knows the other: cmd/klaxon wires them.
package chatops

import (
	"context"
	"net/url"
	"strings"

	"github.com/klaxonbot/klaxon/templates"
)

// Request is what a person asked for from a chat.
type Request struct {
	Platform string // "slack", "mattermost" or "telegram"
	UserID   string // the person's id on the platform (Slack U123, Mattermost user id, Telegram user id)
	UserName string // their name there (handle or display name), for people klaxon does not know
	Channel  string // where they asked: a destination id as in the config (Slack channel id, Mattermost channel id, Telegram chat id)
	// Thread is the reference of the card the request came from — the
	// card whose button was pressed, or whose thread (Mattermost root_id,
	// Telegram reply) the command was typed in — in the format the
	// platform's sender gives its cards ("" when none).
	Thread string
	// Text is a command without its command word: "ack INC-42",
	// "sev 1", "note factor: the pool was too small". Empty for a button.
	Text string
	// Button is the signed key a pressed button carried ("" for a command).
	Button string
}

// Reply is klaxon's answer.
type Reply struct {
	// Text is plain text (the adapter escapes it for its platform); empty
	// means nothing to say. Lines are separated by "\n".
	Text string
	// Ephemeral replies are shown to the requester only where the platform
	// can (Slack, Mattermost); elsewhere they are a reply to the request.
	Ephemeral bool
	// Card is the incident's card after the request, for platforms whose
	// answer to a button press carries the updated message (Mattermost's
	// update); nil when the request changed no incident. Every card is
	// also kept in sync through the outbox.
	Card *templates.Card
	// Document is a file to share (a postmortem), or nil.
	Document *Document
	// Links are klaxon's own links (its API, e.g. a postmortem's
	// Markdown), shown as real links after Text, one a line. A URL in
	// Text is data and never becomes a link, whoever wrote it; a Link
	// does, when it is under klaxon's server.public_url (LinkUnder): the
	// adapters check, and show any other as plain text.
	Links []Link
	// Choices are buttons offered with Text when a request could not
	// tell which incident it meant: each carries out the same request on
	// one incident, newest first, at most MaxChoices. Pressing one sends
	// its Key back as a Request's Button, from the same chat. Platforms
	// show them with the reply (Slack: an ephemeral message with buttons;
	// Mattermost: an ephemeral post with buttons; Telegram: an inline
	// keyboard under the reply); Text must still make sense without them.
	Choices []Choice
	// Unauthorized says the request carried a button key that is not
	// klaxon's (forged or from another installation): platforms whose
	// requests are otherwise unauthenticated (Mattermost actions) answer
	// 401.
	Unauthorized bool
	// KeepChoices says a press on one of a Reply's Choices changed
	// nothing (someone else's cover request, say): a platform that
	// replaces the message the choices were on (Slack) leaves it, so
	// that whoever may answer still can.
	KeepChoices bool
}

// Link is a link of klaxon's own in a Reply.
type Link struct {
	// Text is what the link says: plain text, escaped by the adapter
	// ("" shows "Link").
	Text string
	// URL is an absolute http(s) URL under klaxon's server.public_url.
	URL string
}

// LinkUnder reports whether u may be shown as a link of the klaxon whose
// server.public_url is base: both are absolute http or https URLs that
// templates.SafeURL accepts (u as it is: no spaces, control characters,
// credentials, < > | ", nor a backslash or a backquote), u has base's scheme and host (port included), and u's path is
// base's path or below it, without "." or ".." segments to climb out. An
// empty base matches nothing.
func LinkUnder(base, u string) bool {
	base, ok := templates.SafeURL(base)
	if !ok {
		return false
	}
	if safe, ok := templates.SafeURL(u); !ok || safe != u || strings.ContainsAny(u, "\\`") {
		return false
	}
	b, err := url.Parse(base)
	if err != nil || b.RawQuery != "" || b.Fragment != "" {
		return false
	}
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" || !strings.EqualFold(p.Scheme, b.Scheme) || !strings.EqualFold(p.Host, b.Host) {
		return false
	}
	path := p.EscapedPath()
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") ||
			strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
			return false
		}
	}
	prefix := strings.TrimRight(b.EscapedPath(), "/") + "/"
	return path+"/" == prefix || strings.HasPrefix(path, prefix)
}

// MaxChoices is the most Choices a Reply offers.
const MaxChoices = 5

// Choice is a button offered with a Reply.
type Choice struct {
	// Label is the button's text: plain text (it holds an incident's
	// title, which is data), cut by the adapter to its platform's limit.
	Label string
	// Key is the signed button key the press sends back (Request.Button):
	// at most 64 bytes of ASCII.
	Key string
	// Card is the reference of the incident's card in the chat the reply
	// goes to, as Request.Thread names cards ("" when it has none there).
	// A platform that checks a press against the card it was made on
	// (Mattermost's unauthenticated action calls) sends it as the press's
	// Thread, and shows no Choice without one.
	Card string
}

// Document is a text file to share in the chat.
type Document struct {
	Name    string // file name, e.g. "INC-42-postmortem.md"
	Title   string // a one-line title
	Content string // the text (Markdown)
}

// Handler acts on requests. bot implements it; it is safe for concurrent
// use and returns within the context's deadline.
type Handler interface {
	Handle(ctx context.Context, r Request) Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, r Request) Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, r Request) Reply { return f(ctx, r) }

// Rejected counts and explains a request refused before it reached the
// handler (unsigned, badly signed, replayed, wrong token). reason is short
// and never holds a secret.
type Rejected func(platform, reason string)
