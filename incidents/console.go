package incidents

import (
	"context"
	"time"
)

// What the web console keeps in the store, shared by every replica:
// people's sessions, postmortems as the team edits them (every version
// kept), the secret tokens of calendar feeds, and the news that an
// incident changed (for live pages on every replica).

// Session is a person signed in to the console. Its ID is the secret the
// browser's cookie holds; stores keep only a hash of it, so that a copy of
// the store opens no session.
type Session struct {
	ID        string    `json:"-"`
	Person    string    `json:"person"` // people[].name
	Method    string    `json:"method"` // how they signed in: "link" or "oidc"
	CSRF      string    `json:"csrf"`   // the token every form of the session carries
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Sessions keeps console sessions until they expire or are deleted.
// Errors: NotFound (no such session, or expired), Invalid, Unavailable.
type Sessions interface {
	// PutSession stores s, which expires at s.ExpiresAt.
	PutSession(ctx context.Context, s Session) error
	// GetSession returns the session whose ID is id, unless it expired.
	GetSession(ctx context.Context, id string) (Session, error)
	// DeleteSession ends the session (sign-out); deleting one that is gone
	// is not an error.
	DeleteSession(ctx context.Context, id string) error
}

// PostmortemVersion is one saved version of an incident's postmortem.
type PostmortemVersion struct {
	Incident string    `json:"incident"`
	Version  int       `json:"version"` // 1, 2, ... in the order saved
	Text     string    `json:"text,omitempty"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// MaxPostmortemLen bounds a postmortem's text, in bytes.
const MaxPostmortemLen = 256 << 10

// Postmortems keeps every version of the postmortems people edit.
// Errors: NotFound, Invalid, Conflict, Unavailable.
type Postmortems interface {
	// SavePostmortem stores text as the next version of the incident's
	// postmortem, by by at at. base is the version the editor started
	// from (0 for the generated draft): when another version was saved
	// since, nothing is stored and the error is Conflict, so that two
	// people editing at once never silently overwrite each other.
	SavePostmortem(ctx context.Context, incident string, base int, text, by string, at time.Time) (PostmortemVersion, error)
	// Postmortem returns a version with its text; version 0 means the
	// latest. NotFound when the incident has no saved postmortem (or no
	// such version).
	Postmortem(ctx context.Context, incident string, version int) (PostmortemVersion, error)
	// PostmortemVersions lists the versions without their text, newest
	// first.
	PostmortemVersions(ctx context.Context, incident string) ([]PostmortemVersion, error)
}

// Feeds keeps the secret tokens of calendar feeds (a schedule's, a
// person's): a feed's URL holds its token, and rotating the token revokes
// every copy of the old URL. Errors: NotFound, Invalid, Unavailable.
type Feeds interface {
	// FeedToken returns the feed's token, making one the first time.
	FeedToken(ctx context.Context, feed string) (string, error)
	// RotateFeedToken replaces the feed's token and returns the new one.
	RotateFeedToken(ctx context.Context, feed string) (string, error)
	// FeedOf returns the feed a token belongs to (NotFound when none).
	FeedOf(ctx context.Context, token string) (string, error)
}

// Changes tells every replica that incidents changed, so that their
// console pages update live. Delivery is best effort: a page that missed
// a change sees it at its next one, or when it reloads.
// Errors: Unavailable.
type Changes interface {
	// PublishChange announces that the incident changed.
	PublishChange(ctx context.Context, id string) error
	// SubscribeChanges delivers the IDs of changed incidents, from every
	// replica, until ctx ends (then the channel closes).
	SubscribeChanges(ctx context.Context) (<-chan string, error)
}

// OverrideRemover removes an on-call override before its end.
// Errors: NotFound, Unavailable.
type OverrideRemover interface {
	// RemoveOverride deletes the override of o.Schedule that matches o's
	// Person, From and Until.
	RemoveOverride(ctx context.Context, o OnCallOverride) error
}
