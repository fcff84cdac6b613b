package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// A button key is what a card's button carries back to klaxon when pressed:
// "k2.<platform>.<incident number>.<action>[.<arg>].<mac>", at most 64
// bytes (Telegram's callback_data limit), where platform is s, m or t and
// mac is the first 12 bytes of HMAC-SHA256(secret, everything before it),
// base64url. Mattermost calls actions without authentication and Telegram
// callback data can be forged by any client, so a key is trusted only
// after Verify; and since Slack and Telegram users can read the keys on
// their cards, a key is good only on the platform it was made for (a
// Slack key sent to Mattermost's unauthenticated endpoint does nothing).
const (
	keyVersion = "k2"
	macBytes   = 12
	// MaxButtonKey is the longest key Sign makes.
	MaxButtonKey = 64
)

// platformTags name the platforms inside keys.
var platformTags = map[string]string{Slack: "s", Mattermost: "m", Telegram: "t"}

// ButtonSigner signs and verifies button keys with a secret shared by
// every replica.
type ButtonSigner struct{ secret []byte }

// NewButtonSigner returns a signer; the secret should hold at least 32
// random bytes.
func NewButtonSigner(secret []byte) *ButtonSigner {
	return &ButtonSigner{secret: append([]byte(nil), secret...)}
}

func (s *ButtonSigner) mac(payload string) string {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:macBytes])
}

// For returns the signing function of one platform's cards (what the
// adapters' Options.Sign take).
func (s *ButtonSigner) For(platform string) func(id string, a templates.Action) string {
	return func(id string, a templates.Action) string { return s.Sign(platform, id, a) }
}

// Sign returns the key of action on the incident id ("INC-42") for a card
// on platform, or "" when it would not fit in MaxButtonKey bytes or cannot
// be parsed back.
func (s *ButtonSigner) Sign(platform, id string, a templates.Action) string {
	tag, ok := platformTags[platform]
	_, n, err := incidents.ParseID(id)
	if !ok || err != nil || !keyWord(string(a.ID)) || (a.Arg != "" && !keyWord(a.Arg)) {
		return ""
	}
	payload := keyVersion + "." + tag + "." + strings.TrimPrefix(incidents.FormatID(n), "INC-") + "." + string(a.ID)
	if a.Arg != "" {
		payload += "." + a.Arg
	}
	key := payload + "." + s.mac(payload)
	if len(key) > MaxButtonKey {
		return ""
	}
	return key
}

// keyWord reports whether s may be a field of a key: 1 to 16 of a-z 0-9.
func keyWord(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Verify checks a key pressed on platform and returns the incident ID and
// the action it names. Every failure — a forgery, another klaxon's key, a
// key made for another platform — is Unauthorized with the same message,
// telling a forger nothing.
func (s *ButtonSigner) Verify(platform, key string) (string, templates.Action, error) {
	bad := incidents.Errorf(incidents.Unauthorized, "this button is not valid")
	if len(key) > MaxButtonKey {
		return "", templates.Action{}, bad
	}
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", templates.Action{}, bad
	}
	payload, mac := key[:i], key[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.mac(payload))) {
		return "", templates.Action{}, bad
	}
	f := strings.Split(payload, ".")
	if len(f) < 4 || len(f) > 5 || f[0] != keyVersion || f[1] != platformTags[platform] || !keyWord(f[3]) {
		return "", templates.Action{}, bad
	}
	id, _, err := incidents.ParseID(f[2])
	if err != nil {
		return "", templates.Action{}, bad
	}
	a := templates.Action{ID: templates.ActionID(f[3])}
	if len(f) == 5 {
		if !keyWord(f[4]) {
			return "", templates.Action{}, bad
		}
		a.Arg = f[4]
	}
	return id, a, nil
}
