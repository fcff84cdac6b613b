package slack

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

// FuzzReplyText: a thread reply fits Slack's section limit and, as mrkdwn,
// can mention or link nothing (every <, > and & is escaped).
func FuzzReplyText(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, actor, kind string, n uint16) {
		evs := fuzzEvents(text, actor, kind, n)
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
