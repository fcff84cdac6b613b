package mattermost

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// fuzzEvents builds n events from fuzzed text, as notes and actors people
// type in chat (and alert names) would make them.
func fuzzEvents(text, actor, kind string, n uint16) []incidents.Event {
	evs := make([]incidents.Event, int(n%700))
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = incidents.Event{At: at.Add(time.Duration(i) * time.Second), Kind: incidents.EventKind(kind), Actor: actor, Text: strings.Repeat(text, 1+i%3)}
	}
	return evs
}

func fuzzSeeds(f *testing.F) {
	f.Add("Acknowledged", "alice", "acknowledged", uint16(1))
	f.Add("<!channel> @here @all <@U123> https://evil.example/x *b* _i_ [x](http://y) &amp; <b>", "@channel", "note", uint16(500))
	f.Add(strings.Repeat("🔥", 4000), "\u202e\xff\xfe", "", uint16(3))
	f.Add("", "", "resolved", uint16(0))
}

// FuzzReplyText: a thread reply fits a Mattermost post and renders with
// nothing but klaxon's own markup: no mention, link or formatting.
func FuzzReplyText(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, actor, kind string, n uint16) {
		evs := fuzzEvents(text, actor, kind, n)
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
