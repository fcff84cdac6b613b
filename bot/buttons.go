package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// A button key is what a card's button carries back to klaxon when pressed,
// at most 64 bytes (Telegram's callback_data limit), in one of two forms:
//
//	k2.<platform>.<incident number>.<action>[.<arg>].<mac>
//	k3.<platform>.<incident number>.<action>[.<arg>].<channel>.<expiry>.<mac>
//
// platform is s, m or t; mac is the first 12 bytes of HMAC-SHA256(secret,
// everything before it), base64url. A k3 key is bound: channel is a tag of
// the channel the card was posted in (the first 6 base64url characters of
// HMAC-SHA256(secret, "klaxon channel\x00" + channel id): only klaxon can
// make one, and one channel's tag says nothing about another's), and expiry
// the Unix second, base 36, after which the key is refused.
//
// Slack signs its requests and Telegram's come through its own API: who
// pressed is known, and their keys are k2 as they always were. Mattermost
// calls actions without authentication, so its keys are k3: a key read off
// one card (or taken from a log) works for that channel only, for a week
// at most, and the Mattermost adapter has the API confirm that the acting
// user is a member of that channel (see CheckButton). Since Slack and
// Telegram users can read the keys on their cards, a key is good only on
// the platform it was made for (a Slack key sent to Mattermost's
// unauthenticated endpoint does nothing).
const (
	keyVersion   = "k2"
	boundVersion = "k3"
	macBytes     = 12
	tagChars     = 6
	// MaxButtonKey is the longest key Sign and SignBound make.
	MaxButtonKey = 64
	// ButtonKeyTTL is how long a bound (Mattermost) key holds after it
	// was signed. The outbox signs a card's keys again on every edit, so
	// the keys of a card that changes keep working; a card untouched for
	// a week has buttons that answer "This button has expired; use
	// /incident ack INC-42", and a key someone kept is worth nothing
	// after a week. A week outlasts a weekend and a holiday's quiet
	// incident, yet bounds what a leaked key can do.
	ButtonKeyTTL = 7 * 24 * time.Hour
)

// platformTags name the platforms inside keys.
var platformTags = map[string]string{Slack: "s", Mattermost: "m", Telegram: "t"}

// boundPlatforms are the platforms whose requests prove nothing of who
// made them: they accept k3 keys only.
var boundPlatforms = map[string]bool{Mattermost: true}

// ErrButtonExpired is in the chain of the error VerifyBound returns for a
// key of klaxon's that has expired (or predates bound keys).
var ErrButtonExpired = errors.New("button key expired")

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

// channelTag is the channel's tag in bound keys.
func (s *ButtonSigner) channelTag(channel string) string {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte("klaxon channel\x00" + channel))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:tagChars]
}

// For returns the signing function of one platform's cards (what the
// Slack and Telegram adapters' Options.Sign take). A platform whose keys
// are bound (Mattermost) needs ForChannel: its function here makes no key.
func (s *ButtonSigner) For(platform string) func(id string, a templates.Action) string {
	return func(id string, a templates.Action) string { return s.Sign(platform, id, a) }
}

// ForChannel returns the signing function of one platform's cards whose
// keys are bound to the channel the card is posted in (what the Mattermost
// adapter's Options.Sign takes): each key expires ButtonKeyTTL after now.
func (s *ButtonSigner) ForChannel(platform string, now func() time.Time) func(channel, id string, a templates.Action) string {
	return func(channel, id string, a templates.Action) string {
		return s.SignBound(platform, channel, id, a, now().Add(ButtonKeyTTL))
	}
}

// Sign returns the key of action on the incident id ("INC-42") for a card
// on platform, or "" when it would not fit in MaxButtonKey bytes or cannot
// be parsed back, and for a platform whose keys must be bound (SignBound).
func (s *ButtonSigner) Sign(platform, id string, a templates.Action) string {
	if boundPlatforms[platform] {
		return ""
	}
	payload, ok := keyPayload(keyVersion, platform, id, a)
	if !ok {
		return ""
	}
	return s.seal(payload)
}

// SignBound returns the key of action on the incident id for a card on
// platform in channel, good until expires (to the second), or "" when it
// would not fit in MaxButtonKey bytes, cannot be parsed back or names no
// channel.
func (s *ButtonSigner) SignBound(platform, channel, id string, a templates.Action, expires time.Time) string {
	payload, ok := keyPayload(boundVersion, platform, id, a)
	if !ok || channel == "" || expires.Unix() < 0 {
		return ""
	}
	return s.seal(payload + "." + s.channelTag(channel) + "." + strconv.FormatInt(expires.Unix(), 36))
}

// seal appends the MAC, or returns "" when the key would be too long.
func (s *ButtonSigner) seal(payload string) string {
	key := payload + "." + s.mac(payload)
	if len(key) > MaxButtonKey {
		return ""
	}
	return key
}

// keyPayload is the start of a key, up to its action's argument.
func keyPayload(version, platform, id string, a templates.Action) (string, bool) {
	tag, ok := platformTags[platform]
	_, n, err := incidents.ParseID(id)
	if !ok || err != nil || !keyWord(string(a.ID)) || (a.Arg != "" && !keyWord(a.Arg)) {
		return "", false
	}
	payload := version + "." + tag + "." + strings.TrimPrefix(incidents.FormatID(n), "INC-") + "." + string(a.ID)
	if a.Arg != "" {
		payload += "." + a.Arg
	}
	return payload, true
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

// buttonKey is a key's fields.
type buttonKey struct {
	version, platform string // "k2" or "k3"; the platform's tag
	id                string // "INC-42"
	action            templates.Action
	channel           string    // the channel tag (k3)
	expires           time.Time // (k3)
	payload, mac      string
}

// parseKey splits key into its fields; ok is false when it is not shaped
// like a key. It does not check the MAC.
func parseKey(key string) (k buttonKey, ok bool) {
	if len(key) > MaxButtonKey {
		return k, false
	}
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return k, false
	}
	k.payload, k.mac = key[:i], key[i+1:]
	f := strings.Split(k.payload, ".")
	if len(f) < 4 {
		return k, false
	}
	k.version, k.platform = f[0], f[1]
	switch k.version {
	case keyVersion:
		if len(f) > 5 {
			return k, false
		}
	case boundVersion:
		if len(f) < 6 || len(f) > 7 {
			return k, false
		}
		k.channel = f[len(f)-2]
		exp, err := strconv.ParseInt(f[len(f)-1], 36, 64)
		if err != nil || exp < 0 || strconv.FormatInt(exp, 36) != f[len(f)-1] || len(k.channel) != tagChars {
			return k, false
		}
		k.expires = time.Unix(exp, 0)
		f = f[:len(f)-2]
	default:
		return k, false
	}
	id, _, err := incidents.ParseID(f[2])
	if err != nil || !keyWord(f[3]) {
		return k, false
	}
	k.id, k.action = id, templates.Action{ID: templates.ActionID(f[3])}
	if len(f) == 5 {
		if !keyWord(f[4]) {
			return k, false
		}
		k.action.Arg = f[4]
	}
	return k, true
}

// errBadKey is every refusal of a key that is not klaxon's for the press:
// the same message whatever is wrong, telling a forger nothing.
func errBadKey() error { return incidents.Errorf(incidents.Unauthorized, "this button is not valid") }

// check verifies key's MAC and that it is of platform in the form platform
// takes.
func (s *ButtonSigner) check(platform, key string) (buttonKey, error) {
	k, ok := parseKey(key)
	if !ok || !hmac.Equal([]byte(k.mac), []byte(s.mac(k.payload))) || k.platform != platformTags[platform] || k.platform == "" {
		return k, errBadKey()
	}
	if k.version == keyVersion && boundPlatforms[platform] {
		// klaxon's own key from before keys were bound: expired.
		return k, expiredError(k)
	}
	return k, nil
}

func expiredError(k buttonKey) error {
	cmd := string(k.action.ID) + " " + k.id
	if k.action.Arg != "" {
		cmd += " " + k.action.Arg
	}
	return &incidents.Error{Kind: incidents.Unauthorized, Message: "This button has expired; use /incident " + cmd + ".", Err: ErrButtonExpired}
}

// Verify checks a key pressed on platform and returns the incident ID and
// the action it names: it is klaxon's (its MAC), made for platform, in the
// form platform takes (bound for Mattermost). It does not check a bound
// key's channel and expiry: VerifyBound does, and the Mattermost adapter
// has CheckButton call it before a press is handled. Every failure — a
// forgery, another klaxon's key, a key made for another platform — is
// Unauthorized with the same message, telling a forger nothing.
func (s *ButtonSigner) Verify(platform, key string) (string, templates.Action, error) {
	k, err := s.check(platform, key)
	if err != nil {
		return "", templates.Action{}, errBadKey()
	}
	return k.id, k.action, nil
}

// VerifyBound is Verify for a press in channel at now: a bound key must
// also have been made for that channel and not have expired. An expired
// key of klaxon's (or a Mattermost key from before keys were bound) is
// Unauthorized with ErrButtonExpired in its chain and a message that
// names the command to use instead ("This button has expired; use
// /incident ack INC-42."); every other failure is Verify's. Slack and
// Telegram keys are not bound: channel and now are not looked at.
func (s *ButtonSigner) VerifyBound(platform, channel, key string, now time.Time) (string, templates.Action, error) {
	k, err := s.check(platform, key)
	if err != nil {
		return "", templates.Action{}, err
	}
	if k.version == boundVersion {
		if channel == "" || !hmac.Equal([]byte(k.channel), []byte(s.channelTag(channel))) {
			return "", templates.Action{}, errBadKey()
		}
		if now.After(k.expires) {
			return "", templates.Action{}, expiredError(k)
		}
	}
	return k.id, k.action, nil
}

// CheckButton vouches for a button press that its platform does not
// (Mattermost's action calls, which anyone can make) before it reaches
// Handle. It returns "" when the press may go on; otherwise a short reason
// (for the rejection count: "bad key", "expired key", "not a card", "not
// the key's card", "store unavailable") and the reply to give instead:
// Unauthorized (answer 401) when the press is no genuine click — a key
// that is not klaxon's, not for this channel, or pressed on another
// incident's card or on no post at all; else a message for the person —
// the key expired, the post is not the incident's current card, the store
// cannot say.
//
// It checks the key with VerifyBound at the server's clock, then that the
// post the press came from (Request.Thread) is the card the outbox
// recorded for the key's incident in that channel. It does not know who
// pressed: the adapter asks its platform whether the user is a member of
// the channel.
func (s *Server) CheckButton(ctx context.Context, r chatops.Request) (reason string, refusal chatops.Reply) {
	forged := func(why string) (string, chatops.Reply) {
		s.log.Warn("a button press is not a click on a card of klaxon's", "platform", r.Platform, "user", r.UserID,
			"channel", r.Channel, "post", r.Thread, "why", why)
		return why, chatops.Reply{Text: "This button is not valid (is it from another klaxon?).", Ephemeral: true, Unauthorized: true}
	}
	if isCoverKey(r.Button) {
		// A cover request's buttons are on no card: the key is bound to
		// the channel and expires with the request; who may answer is
		// checked when the press is handled.
		_, _, err := s.signer.VerifyCover(r.Platform, r.Channel, r.Button, s.clock.Now())
		switch {
		case errors.Is(err, ErrButtonExpired):
			return "expired key", ephemeral(incidents.ErrorMessage(err))
		case err != nil:
			return forged("bad key")
		}
		return "", chatops.Reply{}
	}
	id, a, err := s.signer.VerifyBound(r.Platform, r.Channel, r.Button, s.clock.Now())
	switch {
	case errors.Is(err, ErrButtonExpired):
		return "expired key", ephemeral(incidents.ErrorMessage(err))
	case err != nil:
		return forged("bad key")
	case r.Thread == "" || s.outbox == nil:
		return forged("not the key's card")
	}
	dest := r.Platform + ":" + r.Channel
	card, err := s.outbox.box.RefIncident(ctx, dest, r.Thread)
	// Pressed the moment the card appeared: the platform has it, and the
	// outbox is about to record its reference. Wait for that, briefly.
	for wait := 0; err == nil && card == "" && wait < 40 && s.cardBeingPosted(ctx, id, dest); wait++ {
		select {
		case <-ctx.Done():
			return "store unavailable", ephemeral(chatError(incidents.Wrap(incidents.Unavailable, "check button", ctx.Err())))
		case <-time.After(50 * time.Millisecond):
		}
		card, err = s.outbox.box.RefIncident(ctx, dest, r.Thread)
	}
	switch {
	case err != nil:
		s.log.Warn("cannot check a button press's card", "platform", r.Platform, "err", err)
		return "store unavailable", ephemeral(chatError(err))
	case card == "":
		cmd := string(a.ID) + " " + id
		if a.Arg != "" {
			cmd += " " + a.Arg
		}
		return "not a card", ephemeral("This message is not " + id + "'s card here (an old copy?); use /incident " + cmd + ".")
	case card != id:
		return forged("not the key's card")
	}
	return "", chatops.Reply{}
}

// cardBeingPosted reports whether the incident's card in dest is posted
// but not yet recorded (a click can outrun the outbox by milliseconds):
// its delivery has a Posting mark and no reference.
func (s *Server) cardBeingPosted(ctx context.Context, id, dest string) bool {
	dl, err := s.outbox.box.Deliveries(ctx, id)
	if err != nil {
		return false
	}
	d, ok := dl[dest]
	return ok && d.Ref == "" && !d.Posting.IsZero()
}
