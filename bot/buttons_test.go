package bot

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents/boltstore"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

var signer = NewButtonSigner([]byte("0123456789abcdef0123456789abcdef"))

func TestButtonKeyRoundTrip(t *testing.T) {
	for _, a := range []templates.Action{{ID: templates.ActAck}, {ID: templates.ActSnooze, Arg: "1h"}, {ID: templates.ActReopen}} {
		key := signer.Sign(Telegram, "INC-9999999999", a)
		if key == "" || len(key) > MaxButtonKey || !strings.HasPrefix(key, "k2.t.9999999999.") {
			t.Fatalf("Sign(%v) = %q", a, key)
		}
		id, got, err := signer.Verify(Telegram, key)
		if err != nil || id != "INC-9999999999" || got.ID != a.ID || got.Arg != a.Arg {
			t.Fatalf("Verify(%q) = %s %+v %v", key, id, got, err)
		}
	}
}

func TestButtonKeyRejects(t *testing.T) {
	good := signer.Sign(Telegram, "INC-42", templates.Action{ID: templates.ActAck})
	other := NewButtonSigner([]byte("another secret, another klaxon!!"))
	forged := strings.Replace(good, ".42.", ".43.", 1)
	for _, key := range []string{
		"", "k2", good + "x", forged, other.Sign(Telegram, "INC-42", templates.Action{ID: templates.ActAck}),
		strings.Replace(good, "k2.", "k1.", 1), strings.Repeat("a", 65), "k2.t.42.ack.x.y.z",
		signer.Sign(Slack, "INC-42", templates.Action{ID: templates.ActAck}), // a Slack user read it off their card
		signer.SignBound(Mattermost, mmChannel, "INC-42", templates.Action{ID: templates.ActAck}, signedAt),
	} {
		if _, _, err := signer.Verify(Telegram, key); incidents.ErrorKind(err) != incidents.Unauthorized || incidents.ErrorMessage(err) != "this button is not valid" {
			t.Errorf("Verify(%q) = %v, want Unauthorized", key, err)
		}
	}
	for _, a := range []templates.Action{{ID: "ACK"}, {ID: "ack", Arg: "1 h"}, {ID: "a.b"}, {ID: ""}} {
		if key := signer.Sign(Slack, "INC-1", a); key != "" {
			t.Errorf("Sign(%+v) = %q, want refused", a, key)
		}
	}
	if key := signer.Sign(Slack, "not-an-id", templates.Action{ID: templates.ActAck}); key != "" {
		t.Errorf("Sign(bad id) = %q", key)
	}
	if key := signer.Sign("irc", "INC-1", templates.Action{ID: templates.ActAck}); key != "" {
		t.Errorf("Sign(unknown platform) = %q", key)
	}
}

// Button keys arrive from anyone (Mattermost actions are unauthenticated):
// Verify never panics and accepts only what Sign made.
func FuzzVerifyButtonKey(f *testing.F) {
	f.Add(signer.Sign(Slack, "INC-42", templates.Action{ID: templates.ActAck}))
	f.Add(signer.Sign(Slack, "INC-7", templates.Action{ID: templates.ActSnooze, Arg: "1h"}))
	f.Add("k2.s.42.ack.AAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, key string) {
		id, a, err := signer.Verify(Slack, key)
		if err != nil {
			return
		}
		if again := signer.Sign(Slack, id, a); again != key {
			t.Fatalf("Verify accepted %q, which Sign makes as %q", key, again)
		}
	})
}

const (
	mmChannel = "paymentschannel0000000000a"
	mmOther   = "otherchannel00000000000000"
)

var signedAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Mattermost keys are bound: to a channel, until an expiry, within 64
// bytes for every action a card has (the longest incident ID too).
func TestBoundKeyRoundTrip(t *testing.T) {
	exp := signedAt.Add(ButtonKeyTTL)
	for _, a := range []templates.Action{{ID: templates.ActAck}, {ID: templates.ActEscalate}, {ID: templates.ActSnooze, Arg: "1h"}, {ID: templates.ActReopen}} {
		key := signer.SignBound(Mattermost, mmChannel, "INC-9999999999", a, exp)
		if key == "" || len(key) > MaxButtonKey || !strings.HasPrefix(key, "k3.m.9999999999.") {
			t.Fatalf("SignBound(%v) = %q (%d bytes)", a, key, len(key))
		}
		id, got, err := signer.VerifyBound(Mattermost, mmChannel, key, exp)
		if err != nil || id != "INC-9999999999" || got.ID != a.ID || got.Arg != a.Arg {
			t.Fatalf("VerifyBound(%q) = %s %+v %v", key, id, got, err)
		}
		// The handler's own check: the key is klaxon's, and what it names.
		if id, got, err := signer.Verify(Mattermost, key); err != nil || id != "INC-9999999999" || got != a {
			t.Fatalf("Verify(%q) = %s %+v %v", key, id, got, err)
		}
	}
	if key := signer.Sign(Mattermost, "INC-1", templates.Action{ID: templates.ActAck}); key != "" {
		t.Errorf("Sign(Mattermost) = %q: Mattermost keys must name their channel", key)
	}
	sign := signer.ForChannel(Mattermost, func() time.Time { return signedAt })
	key := sign(mmChannel, "INC-7", templates.Action{ID: templates.ActAck})
	if _, _, err := signer.VerifyBound(Mattermost, mmChannel, key, signedAt.Add(ButtonKeyTTL)); err != nil {
		t.Errorf("ForChannel's key on its last second: %v", err)
	}
	if _, _, err := signer.VerifyBound(Mattermost, mmChannel, key, signedAt.Add(ButtonKeyTTL+time.Second)); !expired(err) {
		t.Errorf("ForChannel's key a second later: %v", err)
	}
}

func expired(err error) bool {
	return incidents.ErrorKind(err) == incidents.Unauthorized && strings.Contains(incidents.ErrorMessage(err), "expired")
}

func TestBoundKeyRejects(t *testing.T) {
	exp := signedAt.Add(ButtonKeyTTL)
	ack := templates.Action{ID: templates.ActAck}
	good := signer.SignBound(Mattermost, mmChannel, "INC-42", ack, exp)
	other := NewButtonSigner([]byte("another secret, another klaxon!!"))
	f := strings.Split(good, ".")
	later := strings.Join(append(append([]string{}, f[:5]...), strconv.FormatInt(exp.Add(time.Hour).Unix(), 36), f[6]), ".")
	for name, c := range map[string]struct{ channel, key string }{
		"another channel":        {mmOther, good},
		"another klaxon":         {mmChannel, other.SignBound(Mattermost, mmChannel, "INC-42", ack, exp)},
		"another incident":       {mmChannel, strings.Replace(good, ".42.", ".43.", 1)},
		"a later expiry":         {mmChannel, later},
		"a Slack key":            {mmChannel, signer.Sign(Slack, "INC-42", ack)},
		"a Telegram-bound key":   {mmChannel, signer.SignBound(Telegram, mmChannel, "INC-42", ack, exp)},
		"no channel":             {"", good},
		"too long":               {mmChannel, good + strings.Repeat("x", 64)},
		"a channel tag of 5":     {mmChannel, strings.Replace(good, "."+f[4]+".", "."+f[4][:5]+".", 1)},
		"empty":                  {mmChannel, ""},
		"version k3 on k2 shape": {mmChannel, strings.Replace(signer.Sign(Slack, "INC-42", ack), "k2.s.", "k3.m.", 1)},
	} {
		if _, _, err := signer.VerifyBound(Mattermost, c.channel, c.key, signedAt); incidents.ErrorKind(err) != incidents.Unauthorized || incidents.ErrorMessage(err) != "this button is not valid" {
			t.Errorf("%s: VerifyBound(%q) = %v, want not valid", name, c.key, err)
		}
	}
	// Expired: klaxon's own key, said so, with the command to use.
	_, _, err := signer.VerifyBound(Mattermost, mmChannel, good, exp.Add(time.Second))
	if !expired(err) || incidents.ErrorMessage(err) != "This button has expired; use /incident ack INC-42." {
		t.Errorf("expired: %v", err)
	}
	// A Mattermost key from before keys were bound has expired too.
	if _, _, err := signer.VerifyBound(Mattermost, mmChannel, "k2.m.42.ack."+signer.mac("k2.m.42.ack"), signedAt); !expired(err) {
		t.Errorf("an unbound Mattermost key: %v", err)
	}
	snooze := signer.SignBound(Mattermost, mmChannel, "INC-42", templates.Action{ID: templates.ActSnooze, Arg: "1h"}, exp)
	if _, _, err := signer.VerifyBound(Mattermost, mmChannel, snooze, exp.Add(time.Second)); incidents.ErrorMessage(err) != "This button has expired; use /incident snooze INC-42 1h." {
		t.Errorf("expired snooze: %v", err)
	}
	// Slack and Telegram keys are as they were: no channel, no expiry.
	if _, _, err := signer.VerifyBound(Slack, "C0123", signer.Sign(Slack, "INC-42", ack), signedAt.Add(100*ButtonKeyTTL)); err != nil {
		t.Errorf("a Slack key: %v", err)
	}
}

// Bound keys arrive from anyone too: VerifyBound never panics and accepts
// only what SignBound made, for that channel, before its expiry.
func FuzzVerifyBoundKey(f *testing.F) {
	exp := signedAt.Add(ButtonKeyTTL)
	f.Add(signer.SignBound(Mattermost, mmChannel, "INC-42", templates.Action{ID: templates.ActAck}, exp))
	f.Add(signer.SignBound(Mattermost, mmChannel, "INC-7", templates.Action{ID: templates.ActSnooze, Arg: "1h"}, exp))
	f.Add("k3.m.42.ack.AAAAAA.zzzzzz.AAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, key string) {
		id, a, err := signer.VerifyBound(Mattermost, mmChannel, key, signedAt)
		if err != nil {
			return
		}
		k, ok := parseKey(key)
		if !ok || k.expires.Before(signedAt) {
			t.Fatalf("VerifyBound accepted %q", key)
		}
		if again := signer.SignBound(Mattermost, mmChannel, id, a, k.expires); again != key {
			t.Fatalf("VerifyBound accepted %q, which SignBound makes as %q", key, again)
		}
	})
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// nopChat is a platform that is never called in these tests.
type nopChat struct{}

func (nopChat) Post(context.Context, string, *templates.Card) (string, error) {
	return "", errors.New("not here")
}
func (nopChat) Update(context.Context, string, *templates.Card) error { return errors.New("not here") }
func (nopChat) Reply(context.Context, string, []incidents.Event) error {
	return errors.New("not here")
}
func (nopChat) Find(context.Context, string, string, time.Time) (string, error) { return "", nil }

// refStore is a store whose card references can fail.
type refStore struct {
	*boltstore.Store
	fail bool
}

func (s *refStore) RefIncident(ctx context.Context, dest, ref string) (string, error) {
	if s.fail {
		return "", incidents.Errorf(incidents.Unavailable, "store down")
	}
	return s.Store.RefIncident(ctx, dest, ref)
}

// CheckButton vouches for a Mattermost click before it is handled: the
// key is klaxon's, for this channel, not expired, and the post is the
// key's incident's card in that channel.
func TestCheckButton(t *testing.T) {
	bs, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	store := &refStore{Store: bs}
	cfg := DefaultConfig()
	cfg.Mattermost = &MattermostConfig{URL: "https://mm.invalid", BotToken: "mm-token"}
	cfg.Teams = []TeamConfig{{Name: "payments", Mattermost: &MattermostDest{Channel: mmChannel}}}
	cfg.DefaultTeam = "payments"
	clock := &testClock{t: signedAt}
	srv, err := New(cfg, Deps{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), Chats: map[string]Chat{Mattermost: nopChat{}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const card1, card2, chatter = "cardofinc1000000000000000a", "cardofinc2000000000000000a", "someoneelsespost0000000000"
	for id, ref := range map[string]string{"INC-1": card1, "INC-2": card2} {
		if err := store.SaveDelivery(ctx, id, "mattermost:"+mmChannel, incidents.Delivery{Ref: ref, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s := NewButtonSigner(cfg.ButtonKeySecret())
	sign := s.ForChannel(Mattermost, clock.Now)
	ack := sign(mmChannel, "INC-1", templates.Action{ID: templates.ActAck})
	press := func(channel, post, key string) chatops.Request {
		return chatops.Request{Platform: "mattermost", UserID: "alicemattermostid000000000", Channel: channel, Thread: post, Button: key}
	}
	if reason, _ := srv.CheckButton(ctx, press(mmChannel, card1, ack)); reason != "" {
		t.Fatalf("a good press refused: %s", reason)
	}
	for name, c := range map[string]struct {
		r            chatops.Request
		reason, text string
		forged       bool
	}{
		"forged key":           {press(mmChannel, card1, strings.Replace(ack, ".1.", ".2.", 1)), "bad key", "", true},
		"another channel":      {press(mmOther, card1, ack), "bad key", "", true},
		"another card":         {press(mmChannel, card2, ack), "not the key's card", "", true},
		"no post":              {press(mmChannel, "", ack), "not the key's card", "", true},
		"a post that no card":  {press(mmChannel, chatter, ack), "not a card", "not INC-1's card here", false},
		"a Slack key":          {press(mmChannel, card1, s.Sign(Slack, "INC-1", templates.Action{ID: templates.ActAck})), "bad key", "", true},
		"an old unbound key":   {press(mmChannel, card1, "k2.m.1.ack."+s.mac("k2.m.1.ack")), "expired key", "This button has expired; use /incident ack INC-1.", false},
		"no key":               {press(mmChannel, card1, ""), "bad key", "", true},
		"another platform's r": {chatops.Request{Platform: "slack", Channel: mmChannel, Thread: card1, Button: ack}, "bad key", "", true},
	} {
		reason, rep := srv.CheckButton(ctx, c.r)
		if reason != c.reason || rep.Unauthorized != c.forged || !strings.Contains(rep.Text, c.text) || (!c.forged && !rep.Ephemeral) {
			t.Errorf("%s: %q %+v; want %q, forged %v, text %q", name, reason, rep, c.reason, c.forged, c.text)
		}
	}
	store.fail = true
	if reason, rep := srv.CheckButton(ctx, press(mmChannel, card1, ack)); reason != "store unavailable" || rep.Unauthorized || !strings.Contains(rep.Text, "Try again") {
		t.Errorf("store down: %q %+v", reason, rep)
	}
	store.fail = false
	clock.add(ButtonKeyTTL + time.Second)
	if reason, rep := srv.CheckButton(ctx, press(mmChannel, card1, ack)); reason != "expired key" || rep.Text != "This button has expired; use /incident ack INC-1." {
		t.Errorf("a week later: %q %+v", reason, rep)
	}
	if reason, _ := srv.CheckButton(ctx, press(mmChannel, card1, sign(mmChannel, "INC-1", templates.Action{ID: templates.ActAck}))); reason != "" {
		t.Errorf("a key signed again (the card edited): %q", reason)
	}
}

// FuzzVerifyCoverKey: a cover button's key is accepted only as SignCover
// makes it, for its platform (and on Mattermost its channel, unexpired).
func FuzzVerifyCoverKey(f *testing.F) {
	exp := signedAt.Add(time.Hour)
	f.Add(signer.SignCover(Mattermost, mmChannel, "abc123xyz0", true, exp), true)
	f.Add(signer.SignCover(Slack, "", "abc123xyz0", false, exp), false)
	f.Add("c1.s.abc.a.AAAAAAAAAAAAAAAA", false)
	f.Add("c1.m.abc.d.AAAAAA.zzzzzz.AAAAAAAAAAAAAAAA", true)
	f.Fuzz(func(t *testing.T, key string, mm bool) {
		platform, channel := Slack, ""
		if mm {
			platform, channel = Mattermost, mmChannel
		}
		id, accept, err := signer.VerifyCover(platform, channel, key, signedAt)
		if err != nil {
			return
		}
		if !isCoverKey(key) || !keyWord(id) {
			t.Fatalf("VerifyCover accepted %q as %q", key, id)
		}
		if !mm {
			if again := signer.SignCover(platform, channel, id, accept, time.Time{}); again != key {
				t.Fatalf("VerifyCover accepted %q, which SignCover makes as %q", key, again)
			}
		}
	})
}
