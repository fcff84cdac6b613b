package mattermost

import (
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/templates/cardtest"
)

// FuzzReplyText: a thread reply fits a Mattermost post and renders with
// nothing but klaxon's own markup: no mention, link or formatting.
func FuzzReplyText(f *testing.F) {
	cardtest.EventSeeds(f)
	f.Fuzz(func(t *testing.T, text, actor, kind string, n uint16) {
		evs := cardtest.Events(text, actor, kind, n)
		r := ReplyText(evs)
		if len(evs) == 0 {
			return
		}
		if c := len([]rune(r)); c > MaxRunes || c == 0 {
			t.Fatalf("reply of %d runes", c)
		}
		for i, line := range strings.Split(r, "\n") {
			if i == len(evs) || strings.HasPrefix(line, `\+`) { // the "+N more events" line
				continue
			}
			checkMarkdown(t, "reply line", line)
		}
	})
}
