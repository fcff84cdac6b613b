package twilio_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/twilio"
)

func TestSegmentsBoundaries(t *testing.T) {
	r := strings.Repeat
	for _, c := range []struct {
		name string
		text string
		n    int
		enc  string
	}{
		{"empty", "", 1, twilio.GSM7},
		{"gsm 160", r("a", 160), 1, twilio.GSM7},
		{"gsm 161", r("a", 161), 2, twilio.GSM7},
		{"gsm 306", r("a", 306), 2, twilio.GSM7},
		{"gsm 307", r("a", 307), 3, twilio.GSM7},
		{"gsm 459", r("a", 459), 3, twilio.GSM7},
		{"gsm 460", r("a", 460), 4, twilio.GSM7},
		{"basic set", "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà", 1, twilio.GSM7},
		{"euro counts 2: 80", r("€", 80), 1, twilio.GSM7},
		{"euro counts 2: 81", r("€", 81), 2, twilio.GSM7},
		{"bracket counts 2", r("a", 158) + "[", 1, twilio.GSM7},
		{"bracket counts 2 over", r("a", 159) + "[", 2, twilio.GSM7},
		{"every extension char", "\f^{}\\[~]|€", 1, twilio.GSM7},
		// An escape pair is never split: 152 + a 2-septet char does not
		// fit the first segment's 153.
		{"escape not split", r("a", 152) + "€" + r("a", 7), 2, twilio.GSM7},
		{"escape not split over", r("a", 152) + "€" + r("a", 152), 3, twilio.GSM7},
		{"escape fills", r("a", 151) + "€" + r("a", 153), 2, twilio.GSM7},
		{"backtick is not gsm", "`", 1, twilio.UCS2},
		{"ucs 70", r("ж", 70), 1, twilio.UCS2},
		{"ucs 71", r("ж", 71), 2, twilio.UCS2},
		{"ucs 134", r("ж", 134), 2, twilio.UCS2},
		{"ucs 135", r("ж", 135), 3, twilio.UCS2},
		{"emoji switches all", "🔴" + r("a", 68), 1, twilio.UCS2},
		{"emoji counts 2", "🔴" + r("a", 69), 2, twilio.UCS2},
		{"surrogates not split", r("a", 66) + "🔴" + r("a", 60), 2, twilio.UCS2},
		{"surrogates not split over", r("a", 66) + "🔴" + r("a", 66), 3, twilio.UCS2},
		{"lowercase c cedilla is not gsm", "ç", 1, twilio.UCS2},
		{"curly quote is not gsm", r("a", 100) + "’", 2, twilio.UCS2},
	} {
		n, enc := twilio.Segments(c.text)
		if n != c.n || enc != c.enc {
			t.Errorf("%s: Segments = %d %s, want %d %s", c.name, n, enc, c.n, c.enc)
		}
	}
}

func TestFitSMSLookalikes(t *testing.T) {
	in := "INC-42 · SEV1 “Disk full” on db‑1 – it’s 99%…"
	want := `INC-42 - SEV1 "Disk full" on db-1 - it's 99%...`
	if got := twilio.FitSMS(in, 3); got != want {
		t.Errorf("FitSMS = %q, want %q", got, want)
	}
	if n, enc := twilio.Segments(want); n != 1 || enc != twilio.GSM7 {
		t.Errorf("%d %s", n, enc)
	}
	// An emoji stays (and the text is UCS-2).
	if got := twilio.FitSMS("🔥 hot", 1); got != "🔥 hot" {
		t.Errorf("emoji: %q", got)
	}
}

func TestFitSMSKeepsHeadAndTail(t *testing.T) {
	head := "klaxon SEV1 INC-42 payments: Disk full on db-1"
	tail := "Ack: https://k.example.com/a/Zm9vYmFy"
	middle := strings.Repeat("Check the payments DB connection pool. ", 10)
	in := head + "\n" + middle + "\n" + tail
	got := twilio.FitSMS(in, 3)
	if n, enc := twilio.Segments(got); n != 1 || enc != twilio.GSM7 {
		t.Errorf("%d %s segments: %q", n, enc, got)
	}
	if !strings.HasPrefix(got, head+"\nCheck the") || !strings.HasSuffix(got, "...\n"+tail) {
		t.Errorf("FitSMS = %q", got)
	}
	if len(got) < 140 {
		t.Errorf("only %d characters of 160 used: %q", len(got), got)
	}

	// A middle that keeps fewer than 30 characters in one segment takes
	// a second.
	longHead := head + strings.Repeat(" and more", 9)
	got = twilio.FitSMS(longHead+"\n"+middle+"\n"+tail, 3)
	if n, _ := twilio.Segments(got); n != 2 {
		t.Errorf("%d segments: %q", n, got)
	}
	if !strings.HasPrefix(got, longHead+"\n") || !strings.HasSuffix(got, "...\n"+tail) {
		t.Errorf("FitSMS = %q", got)
	}

	// With one segment allowed, and first and last lines that do not
	// fit together in it, the text is cut at its end (at a word).
	got = twilio.FitSMS(longHead+"\n"+middle+"\n"+tail, 1)
	if n, _ := twilio.Segments(got); n != 1 || !strings.HasPrefix(got, longHead+"\nCheck") || !strings.HasSuffix(got, " DB...") {
		t.Errorf("max 1: %q", got)
	}

	// An emoji in the cut part does not make the rest UCS-2.
	got = twilio.FitSMS(head+"\n"+middle+"🔥\n"+tail, 3)
	if n, enc := twilio.Segments(got); n != 1 || enc != twilio.GSM7 {
		t.Errorf("emoji cut: %d %s: %q", n, enc, got)
	}
}

func TestFitSMSFitsAsIs(t *testing.T) {
	for _, in := range []string{"", "short", strings.Repeat("b", 160), "a\nb\nc"} {
		if got := twilio.FitSMS(in, 3); got != in {
			t.Errorf("FitSMS(%q) = %q", in, got)
		}
	}
	// Two lines too long for one segment: no middle to cut, so both kept
	// in the segments they need.
	in := strings.Repeat("h", 150) + "\n" + strings.Repeat("t", 100)
	if got := twilio.FitSMS(in, 3); got != in {
		t.Errorf("two lines: %q", got)
	}
	// Three lines that fit in two segments only when the middle of 20
	// is kept whole (fewer than 30 characters: not cut).
	in = strings.Repeat("h", 100) + "\n" + strings.Repeat("m", 20) + "\n" + strings.Repeat("t", 60)
	if got := twilio.FitSMS(in, 3); got != in {
		t.Errorf("short middle: %q", got)
	}
}

func TestFitSMSCutsOneLine(t *testing.T) {
	in := strings.Repeat("word ", 200)
	for maxSeg, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 3, 99: 7} {
		got := twilio.FitSMS(in, maxSeg)
		n, _ := twilio.Segments(got)
		if maxSeg == 99 {
			// 1000 characters: 7 segments, within the cap of 10, uncut.
			if got != in {
				t.Errorf("max 99: cut to %d characters", len(got))
			}
		} else if !strings.HasSuffix(got, "word...") {
			t.Errorf("max %d: %q", maxSeg, got)
		}
		if n != want {
			t.Errorf("max %d: %d segments", maxSeg, n)
		}
	}
	if got := twilio.FitSMS(strings.Repeat("a", 2000), 99); len(got) != 10*153 || !strings.HasSuffix(got, "...") {
		t.Errorf("capped at 10 segments: %d characters", len(got))
	}
}

func FuzzFitSMS(f *testing.F) {
	f.Add("klaxon SEV1 INC-42 payments: Disk full\nCheck the pool.\nAck: https://k.example/a/x", 1)
	f.Add(strings.Repeat("€", 200), 2)
	f.Add(strings.Repeat("a", 152)+"€\n🔥\n"+strings.Repeat("b", 300), 3)
	f.Add("\xff\xfe\n\n\n", 0)
	f.Fuzz(func(t *testing.T, text string, maxSeg int) {
		got := twilio.FitSMS(text, maxSeg)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		limit := min(max(maxSeg, 1), twilio.MaxSegments)
		if n, _ := twilio.Segments(got); n > limit {
			t.Fatalf("FitSMS(%q, %d) = %q: %d segments", text, maxSeg, got, n)
		}
		if n, _ := twilio.Segments(text); n == 1 && utf8.ValidString(text) && twilio.IsGSM7(text) && !strings.Contains(text, "\r\n") && got != text {
			t.Fatalf("a one-segment GSM-7 text changed: %q → %q", text, got)
		}
	})
}
