package telegram

import (
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/templates/cardtest"
)

// FuzzReplyText: a thread reply is well-formed Telegram HTML within 4096
// units, showing nothing Telegram would turn into a mention or link.
func FuzzReplyText(f *testing.F) {
	cardtest.EventSeeds(f)
	f.Fuzz(func(t *testing.T, text, actor, kind string, n uint16) {
		evs := cardtest.Events(text, actor, kind, n)
		if len(evs) == 0 {
			return
		}
		// Telegram counts 4096 characters after entities parsing: what
		// shows, not the HTML sent.
		r := ReplyText(evs)
		plain, tags, err := parseHTML(r)
		if err != nil {
			t.Fatalf("%v in %q", err, r)
		}
		if n := u16(plain); n > MaxText || strings.TrimSpace(plain) == "" {
			t.Fatalf("%d UTF-16 units shown", n)
		}
		if tags > 100 {
			t.Fatalf("%d entities", tags)
		}
		if err := checkPlain(plain); err != nil {
			t.Fatalf("%v", err)
		}
	})
}
