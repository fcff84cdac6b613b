package consolestore

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewToken()
		if len(tok) != 43 || !WellFormedToken(tok) || seen[tok] {
			t.Fatalf("NewToken = %q (well formed %v, seen %v)", tok, WellFormedToken(tok), seen[tok])
		}
		seen[tok] = true
	}
	tok := NewToken()
	for _, bad := range []string{"", tok[:42], tok + "A", strings.Repeat("+", 43), tok[:42] + "=", base64.URLEncoding.EncodeToString(make([]byte, 32))} {
		if WellFormedToken(bad) {
			t.Errorf("WellFormedToken(%q) = true", bad)
		}
	}
	// 43 characters carry 258 bits: the last two must be zero.
	if WellFormedToken(strings.Repeat("A", 42) + "B") {
		t.Error("a token whose last character has bits beyond the 32 bytes is accepted")
	}
	if !WellFormedToken(strings.Repeat("A", 42) + "E") {
		t.Error("a canonical token of zeros and a final 4 is refused")
	}
	if !SameToken(tok, tok) || SameToken(tok, NewToken()) || SameToken(tok, "") {
		t.Error("SameToken")
	}
}

func TestChecksNeverEchoTheSessionID(t *testing.T) {
	now := time.Now()
	id := "secret-session-id-1234"
	for _, s := range []incidents.Session{
		{ID: id, Person: "", CSRF: "c", ExpiresAt: now.Add(time.Hour)},
		{ID: id, Person: "a", CSRF: "", ExpiresAt: now.Add(time.Hour)},
		{ID: id, Person: "a", CSRF: "c"},
		{ID: id, Person: "a", CSRF: "c", ExpiresAt: now.Add(-time.Hour)},
		{ID: strings.Repeat(id, 100), Person: "a", CSRF: "c", ExpiresAt: now.Add(time.Hour)},
	} {
		err := CheckSession(s, now)
		if incidents.ErrorKind(err) != incidents.Invalid || strings.Contains(err.Error(), id) {
			t.Errorf("CheckSession = %v", err)
		}
	}
}

// FuzzWellFormedToken: a feed token arrives in a URL. Whatever it is,
// the check does not panic, and what it accepts is exactly the canonical
// base64url of 32 bytes.
func FuzzWellFormedToken(f *testing.F) {
	f.Add(NewToken())
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("_", 43))
	f.Add(strings.Repeat("A", 42) + "B")
	f.Fuzz(func(t *testing.T, tok string) {
		if !WellFormedToken(tok) {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != tok {
			t.Fatalf("accepted %q: %d bytes, %v", tok, len(b), err)
		}
	})
}
