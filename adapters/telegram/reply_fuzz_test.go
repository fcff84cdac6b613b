package telegram

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

// FuzzReplyText: a thread reply is well-formed Telegram HTML within 4096
// units, showing nothing Telegram would turn into a mention or link.
func FuzzReplyText(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, actor, kind string, n uint16) {
		evs := fuzzEvents(text, actor, kind, n)
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
