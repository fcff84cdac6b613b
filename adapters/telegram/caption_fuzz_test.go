package telegram

import (
	"strings"
	"testing"
)

// FuzzCaptionHTML: a photo's caption is well-formed Telegram HTML within
// 1024 units as shown, on one line, showing nothing Telegram would turn
// into a mention or link, and as much of the text as fits.
func FuzzCaptionHTML(f *testing.F) {
	for _, s := range []string{"", "p99 latency", "@channel /resolve https://evil.example", strings.Repeat("😀&<>", 400),
		strings.Repeat("é", 1023) + "😀", "a\nb\r\nc\u202e", strings.Repeat("x ", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := CaptionHTML(text)
		plain, tags, err := parseHTML(c)
		if err != nil {
			t.Fatalf("%v in %q", err, c)
		}
		if n := u16(plain); n > MaxCaption {
			t.Fatalf("%d UTF-16 units shown", n)
		}
		if tags > 0 || strings.Contains(plain, "\n") {
			t.Fatalf("formatting or a line break in %q", c)
		}
		if err := checkPlain(plain); err != nil {
			t.Fatalf("%v", err)
		}
		if strings.TrimSpace(text) != "" && !isBlank(text) && plain == "" {
			t.Fatalf("nothing shown of %q", text)
		}
	})
}
