package console

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

var fuzzSecret = []byte("0123456789abcdef0123456789abcdef-fuzz")

// FuzzVerifyLink: a token from a URL never panics the check, and only a
// token signed with the secret (the seeds') is accepted.
func FuzzVerifyLink(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good := SignLink(fuzzSecret, "alice", now.Add(LinkTTL))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add("")
	f.Add(".")
	f.Add("YWxpY2UKMQp4.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		person, key, err := VerifyLink(fuzzSecret, token, now)
		if err != nil {
			return
		}
		// Accepted: it is exactly what SignLink makes of its payload (no
		// other spelling of the same MAC or payload passes).
		p, _, _ := strings.Cut(token, ".")
		if token != p+"."+base64.RawURLEncoding.EncodeToString(linkMAC(fuzzSecret, p)) || person != "alice" || !strings.HasPrefix(key, "console-link:") {
			t.Fatalf("accepted %q as %q", token, person)
		}
	})
}

// FuzzSafeNext: whatever a URL asks to go to next, the redirect stays in
// the console.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/ui/incidents/INC-1", "//evil.example/ui/", "/ui/\\\\evil", "https://evil.example", "/ui/../../x", "/ui//evil.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/ui/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}

// FuzzUnseal: what a page or a cookie gives back never panics the check,
// and a change to a sealed value is refused.
func FuzzUnseal(f *testing.F) {
	c := &Console{o: Options{Secret: fuzzSecret, Clock: incidents.SystemClock{}}}
	sealed := c.seal("request", signInReq{Who: "alice", Nonce: "n", Exp: 1})
	f.Add(sealed)
	f.Add(sealed + "x")
	f.Add("e30.")
	f.Fuzz(func(t *testing.T, s string) {
		var req signInReq
		if c.unseal("request", s, &req) && s != sealed {
			t.Fatalf("accepted %q", s)
		}
		var st oidcState
		if c.unseal("oidc state", s, &st) {
			t.Fatalf("a request was taken for an OIDC state: %q", s)
		}
	})
}

// FuzzCode: a typed code is read without panic, and only the sent code
// (in any case, with or without its dash and spaces) matches it.
func FuzzCode(f *testing.F) {
	code := signInCode(fuzzSecret, "nonce", "alice")
	f.Add(code)
	f.Add(strings.ToLower(code))
	f.Add("ABCD EFGH")
	f.Fuzz(func(t *testing.T, typed string) {
		got := normCode(typed)
		if got == code && strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(typed)) != strings.ReplaceAll(code, "-", "") {
			t.Fatalf("%q read as the code", typed)
		}
	})
}
