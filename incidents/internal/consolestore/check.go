// Package consolestore holds what redisstore and boltstore share to keep
// the web console's state (incidents/console.go): the checks on what is
// stored, so that both stores refuse the same input with the same
// messages; the hashing of secrets; feed tokens; and the Hub through which
// both deliver incidents.Changes.
package consolestore

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// MaxSessionID bounds a session ID, in bytes; MaxFeedName a feed's name.
const (
	MaxSessionID = 1024
	MaxFeedName  = 256
)

// Secret returns the SHA-256 of a secret (a session ID, a feed token): what
// the stores keep, and look up by, instead of the secret itself.
func Secret(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

// CheckSession returns an Invalid error when s cannot be stored at now.
// The message never holds the session's ID.
func CheckSession(s incidents.Session, now time.Time) error {
	switch {
	case s.ID == "":
		return incidents.Errorf(incidents.Invalid, "a session needs an ID")
	case len(s.ID) > MaxSessionID:
		return incidents.Errorf(incidents.Invalid, "a session ID is at most %d bytes, not %d", MaxSessionID, len(s.ID))
	case s.Person == "":
		return incidents.Errorf(incidents.Invalid, "a session needs the person it signs in")
	case s.CSRF == "":
		return incidents.Errorf(incidents.Invalid, "a session needs a CSRF token")
	case s.ExpiresAt.IsZero():
		return incidents.Errorf(incidents.Invalid, "a session needs an expiry")
	case !s.ExpiresAt.After(now):
		return incidents.Errorf(incidents.Invalid, "the session expired at %s, before it was stored", s.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// ExpiredSession is the error for a session that is gone; the same for an
// unknown, expired or deleted one, so that a caller learns nothing more.
func ExpiredSession() error {
	return incidents.Errorf(incidents.NotFound, "no such session (it expired or was signed out): sign in again")
}

// CheckPostmortem checks a save's input and returns the incident's ID in
// its canonical form and its number. Errors: Invalid.
func CheckPostmortem(incident string, base int, text, by string, at time.Time) (string, int64, error) {
	id, n, err := incidents.ParseID(incident)
	if err != nil {
		return "", 0, err
	}
	switch {
	case base < 0:
		return "", 0, incidents.Errorf(incidents.Invalid, "base version %d: versions count from 1 (0 for the generated draft)", base)
	case by == "":
		return "", 0, incidents.Errorf(incidents.Invalid, "a postmortem version needs its author")
	case at.IsZero():
		return "", 0, incidents.Errorf(incidents.Invalid, "a postmortem version needs the time it was saved")
	case len(text) > incidents.MaxPostmortemLen:
		return "", 0, incidents.Errorf(incidents.Invalid, "the postmortem is %d bytes, more than the %d allowed: shorten it or link to a document", len(text), incidents.MaxPostmortemLen)
	case !utf8.ValidString(text):
		return "", 0, incidents.Errorf(incidents.Invalid, "the postmortem is not valid UTF-8 text")
	}
	return id, n, nil
}

// CheckVersion checks the version asked of Postmortem (0: the latest).
func CheckVersion(version int) error {
	if version < 0 {
		return incidents.Errorf(incidents.Invalid, "version %d: versions count from 1 (0 for the latest)", version)
	}
	return nil
}

// StaleBase is the Conflict of a save from base when the latest version
// is latest.
func StaleBase(id string, base, latest int) error {
	if base > latest {
		return incidents.Errorf(incidents.Conflict, "the postmortem of %s has %d versions, so version %d cannot be the base of a save: reload it", id, latest, base)
	}
	return incidents.Errorf(incidents.Conflict, "the postmortem of %s was saved again (version %d) since you opened version %d: reload it and apply your changes", id, latest, base)
}

// NoPostmortem is the NotFound of a postmortem (version 0: the latest)
// that was never saved.
func NoPostmortem(id string, version int) error {
	if version == 0 {
		return incidents.Errorf(incidents.NotFound, "%s has no saved postmortem", id)
	}
	return incidents.Errorf(incidents.NotFound, "%s has no postmortem version %d", id, version)
}

// CheckFeed checks a feed's name: not empty, at most MaxFeedName bytes of
// UTF-8 text without control characters.
func CheckFeed(feed string) error {
	if feed == "" {
		return incidents.Errorf(incidents.Invalid, "a calendar feed needs a name")
	}
	if len(feed) > MaxFeedName {
		return incidents.Errorf(incidents.Invalid, "a feed's name is at most %d bytes, not %d", MaxFeedName, len(feed))
	}
	if !utf8.ValidString(feed) {
		return incidents.Errorf(incidents.Invalid, "the feed name %s is not valid UTF-8", strconv.QuoteToASCII(feed))
	}
	for _, r := range feed {
		if unicode.IsControl(r) {
			return incidents.Errorf(incidents.Invalid, "the feed name %s holds a control character", strconv.QuoteToASCII(feed))
		}
	}
	return nil
}

// TokenLen is the length of a feed token: 32 bytes in base64url.
var TokenLen = base64.RawURLEncoding.EncodedLen(32)

// NewToken returns a new feed token: 32 random bytes, base64url without
// padding (43 characters that need no escaping in a URL's path).
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// WellFormedToken reports whether tok could be a token NewToken made, so
// that lookups of anything else end before they reach the store.
func WellFormedToken(tok string) bool {
	if len(tok) != TokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == tok
}

// SameToken compares a presented token with the stored one in constant
// time.
func SameToken(presented, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(presented), []byte(stored)) == 1
}

// UnknownToken is the NotFound of a token that names no feed (never
// made, or rotated out).
func UnknownToken() error {
	return incidents.Errorf(incidents.NotFound, "this calendar feed's address is not valid (its token was replaced?): copy the feed's current address from the console")
}
