package bot

import (
	"strings"
	"testing"

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
	good := signer.Sign(Mattermost, "INC-42", templates.Action{ID: templates.ActAck})
	other := NewButtonSigner([]byte("another secret, another klaxon!!"))
	forged := strings.Replace(good, ".42.", ".43.", 1)
	for _, key := range []string{
		"", "k2", good + "x", forged, other.Sign(Mattermost, "INC-42", templates.Action{ID: templates.ActAck}),
		strings.Replace(good, "k2.", "k1.", 1), strings.Repeat("a", 65), "k2.m.42.ack.x.y.z",
		signer.Sign(Slack, "INC-42", templates.Action{ID: templates.ActAck}), // a Slack user read it off their card
	} {
		if _, _, err := signer.Verify(Mattermost, key); incidents.ErrorKind(err) != incidents.Unauthorized || incidents.ErrorMessage(err) != "this button is not valid" {
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
