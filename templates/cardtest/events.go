package cardtest

import (
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Events builds n%700 events from fuzzed text, as notes and actors people
// type in chat (and alert names) would make them: the input of the
// adapters' thread-reply fuzz targets.
func Events(text, actor, kind string, n uint16) []incidents.Event {
	evs := make([]incidents.Event, int(n%700))
	for i := range evs {
		evs[i] = incidents.Event{At: T0.Add(time.Duration(i) * time.Second), Kind: incidents.EventKind(kind), Actor: actor, Text: strings.Repeat(text, 1+i%3)}
	}
	return evs
}

// EventSeeds adds the seed corpus of those fuzz targets (text, actor,
// kind, n).
func EventSeeds(f *testing.F) {
	f.Add("Acknowledged", "alice", "acknowledged", uint16(1))
	f.Add("<!channel> @here @all <@U123> https://evil.example/x *b* _i_ [x](http://y) &amp; <b>", "@channel", "note", uint16(500))
	f.Add(strings.Repeat("🔥", 4000), "\u202e\xff\xfe", "", uint16(3))
	f.Add("", "", "resolved", uint16(0))
}
