// Package chatops is the platform-neutral conversation between people in a
// chat and klaxon: a Request (a command typed, a card's button pressed) and
// the Reply to it. The chat adapters translate their platform's requests
// into Requests and Replies into their platform's answers; bot acts on
// them. Neither knows the other: cmd/klaxon wires them.
package chatops

import (
	"context"

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
	// Unauthorized says the request carried a button key that is not
	// klaxon's (forged or from another installation): platforms whose
	// requests are otherwise unauthenticated (Mattermost actions) answer
	// 401.
	Unauthorized bool
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
