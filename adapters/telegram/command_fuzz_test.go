package telegram

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseCommand: any message text is a command or not; a command's text
// never keeps the slash or a bot's @name, and valid text stays valid.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/ack", "/ack@klaxon_bot INC-1", "/incident sev 1", "/start", "/Status@KLAXON_BOT", "hello", "/", "/@", "/incident@other_bot ack", "/note\u00a0x", "\xff/ack"} {
		f.Add(s, "klaxon_bot")
	}
	f.Fuzz(func(t *testing.T, text, bot string) {
		out, ok := ParseCommand(text, bot)
		if !ok {
			if out != "" {
				t.Fatalf("not a command, but %q", out)
			}
			return
		}
		// After "/incident" the words are the person's (bot parses them);
		// a short form's command word loses its slash and bot name.
		word := text
		if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
			word = word[:i]
		}
		word, _, _ = strings.Cut(word, "@")
		if !strings.EqualFold(word, "/incident") {
			if strings.HasPrefix(out, "/") {
				t.Fatalf("%q kept its slash: %q", text, out)
			}
			if first, _, _ := strings.Cut(out, " "); strings.Contains(first, "@") {
				t.Fatalf("%q kept a bot name: %q", text, out)
			}
		}
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("%q became invalid UTF-8: %q", text, out)
		}
	})
}
