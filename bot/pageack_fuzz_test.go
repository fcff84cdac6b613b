package bot

import (
	"strings"
	"testing"
	"time"
)

// FuzzPageAckToken feeds any token to the check of a page's acknowledge
// link: it never panics, and accepts only tokens the key signed, before
// they expire, reading back what was signed.
func FuzzPageAckToken(f *testing.F) {
	now := time.Unix(1772366310, 0)
	cfg := DefaultConfig()
	cfg.Server.PublicURL = "https://k.example.com"
	s := &Server{cfg: cfg, ackKey: []byte("fuzz-key-0123456789abcdef0123456789")}
	good := strings.TrimPrefix(s.ackURL("INC-42", "alice", "email", now), "https://k.example.com/page/ack/")
	f.Add(strings.TrimPrefix(s.ackURL("INC-7", "zoë", "push", now), "https://k.example.com/page/ack/"))
	f.Add(good)
	f.Add("INC-42.alice.email.zz.AAAA")
	f.Add("....")
	f.Add(strings.Repeat("a.", 300))
	f.Fuzz(func(t *testing.T, token string) {
		tk, err := s.checkPageAck(token, now)
		if err != nil {
			return
		}
		if tk.expires.Before(now) || !pageAckVias[tk.via] && token != good {
			t.Fatalf("accepted %q: %+v", token, tk)
		}
		payload := tk.id + "." + tk.person + "." + tk.via + "." + token[strings.LastIndex(token[:strings.LastIndex(token, ".")], ".")+1:strings.LastIndex(token, ".")]
		if s.pageAckMAC(payload) != tk.mac {
			t.Fatalf("accepted %q, which the key did not sign", token)
		}
	})
}
