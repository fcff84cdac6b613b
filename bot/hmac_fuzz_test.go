package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// FuzzVerifyHMAC feeds any signature, timestamp and body to the check of a
// signed webhook: it never panics, refuses with a described Unauthorized
// error, and accepts only what the secret really signed.
func FuzzVerifyHMAC(f *testing.F) {
	now := time.Unix(1772366310, 0)
	auth := &HMACAuth{Secret: "fuzz-secret-0123456789", Header: "X-Sig", Prefix: "sha256=", TimestampHeader: "X-Ts", Signed: "v0:{timestamp}:{body}"}
	sign := func(ts, body string) string {
		m := hmac.New(sha256.New, []byte(auth.Secret))
		m.Write([]byte("v0:" + ts + ":" + body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	f.Add(sign("1772366310", `{"a":1}`), "1772366310", `{"a":1}`)
	f.Add(sign("1772366310000", `{}`), "1772366310000", `{}`)
	f.Add("sha256=zz", "2026-03-01T11:58:30Z", "")
	f.Add("", "", "x")
	f.Add("SHA256="+strings.Repeat("0", 64), "-1", "")
	f.Fuzz(func(t *testing.T, sig, ts, body string) {
		h := http.Header{}
		h.Set("X-Sig", sig)
		h.Set("X-Ts", ts)
		key, err := verifyHMAC(h, []byte(body), auth, now)
		if err != nil {
			if incidents.ErrorKind(err) != incidents.Unauthorized || incidents.ErrorMessage(err) == "" || strings.Contains(err.Error(), string(auth.Secret)) {
				t.Fatalf("error %v is not a described Unauthorized", err)
			}
			return
		}
		// Accepted: the header (trimmed, as klaxon reads it) must be the
		// true signature, and the request within the window.
		want := sign(strings.TrimSpace(h.Get("X-Ts")), body)
		if !strings.EqualFold(strings.TrimSpace(h.Get("X-Sig")), want) || key == "" {
			t.Fatalf("accepted sig %q ts %q body %q (want %q), key %q", sig, ts, body, want, key)
		}
	})
}
