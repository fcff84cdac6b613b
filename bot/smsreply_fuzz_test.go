package bot

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// The reply parser takes any text: it never panics, understands only the
// three verbs, gives a canonical ID or none, a resolve always has one, and
// what it would answer fits one text.
func FuzzParseSMSReply(f *testing.F) {
	for _, s := range []string{"1", "2", "ack", "Ack INC-42", "1 42", "escalate #7", "resolve INC-3", "resolve", "STOP", " ack. ", "2 inc-9!", "ack INC-99999999999999999999", "resolve ١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := parseSMSReply(body)
		switch c.Verb {
		case "":
			if c.ID != "" || c.Why == "" || utf8.RuneCountInString(c.Why) > smsSegment {
				t.Fatalf("%q: %+v", body, c)
			}
			return
		case VerbAck, VerbEscalate, VerbResolve:
		default:
			t.Fatalf("%q: verb %q", body, c.Verb)
		}
		if c.Verb == VerbResolve && c.ID == "" {
			t.Fatalf("%q: resolve without an ID", body)
		}
		if c.ID != "" {
			if id, _, err := incidents.ParseID(c.ID); err != nil || id != c.ID || !strings.HasPrefix(id, "INC-") {
				t.Fatalf("%q: ID %q", body, c.ID)
			}
		}
		if len(body) > 64 {
			t.Fatalf("%q: a long text understood", body)
		}
	})
}

func TestParseSMSReply(t *testing.T) {
	for body, want := range map[string]smsCommand{
		"1": {Verb: VerbAck}, " ACK ": {Verb: VerbAck}, "acknowledge inc-42.": {Verb: VerbAck, ID: "INC-42"}, "1 42": {Verb: VerbAck, ID: "INC-42"},
		"2": {Verb: VerbEscalate}, "Esc #7": {Verb: VerbEscalate, ID: "INC-7"}, "resolve INC-3!": {Verb: VerbResolve, ID: "INC-3"},
	} {
		if got := parseSMSReply(body); got != want {
			t.Errorf("%q: %+v, want %+v", body, got, want)
		}
	}
	for _, body := range []string{"resolve", "ok", "ack me", "1 2 3", "", "3", "acknowledged"} {
		if got := parseSMSReply(body); got.Verb != "" {
			t.Errorf("%q understood as %+v", body, got)
		}
	}
}
