package slack

import (
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/templates/cardtest"
)

// FuzzReplyText: a thread reply fits Slack's section limit and, as mrkdwn,
// can mention or link nothing (every <, > and & is escaped).
func FuzzReplyText(f *testing.F) {
	cardtest.EventSeeds(f)
	f.Fuzz(func(t *testing.T, text, actor, kind string, n uint16) {
		evs := cardtest.Events(text, actor, kind, n)
		r := ReplyText(evs)
		if len(evs) == 0 {
			return
		}
		if u16(r) > MaxReplyLen || r == "" {
			t.Fatalf("reply of %d units (max %d), empty=%v", u16(r), MaxReplyLen, r == "")
		}
		if strings.ContainsAny(r, "<>") {
			t.Fatalf("unescaped < or > in %q", r)
		}
		for i := strings.IndexByte(r, '&'); i >= 0; i = next(r, i) {
			if !strings.HasPrefix(r[i:], "&amp;") && !strings.HasPrefix(r[i:], "&lt;") && !strings.HasPrefix(r[i:], "&gt;") {
				t.Fatalf("bare & in %q", r)
			}
		}
	})
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '&')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}
