package twilio

// This file counts SMS segments (GSM 03.38 7-bit or UCS-2) and fits a page
// into as few as it can.

import (
	"strings"
)

// Encodings Segments reports.
const (
	GSM7 = "GSM-7" // the GSM 03.38 default alphabet, 7 bits a character
	UCS2 = "UCS-2" // UTF-16, for text with any character outside GSM-7
)

// Segment sizes: one segment holds 160 GSM-7 or 70 UCS-2 characters; a
// message of several segments holds 153 or 67 in each (the rest carries
// the header that joins them).
const (
	gsmSingle, gsmMulti = 160, 153
	ucsSingle, ucsMulti = 70, 67
)

// MaxSegments is the most segments FitSMS fits a text into: 10, 1,530
// GSM-7 or 670 UCS-2 characters, within Twilio's MaxSMSBody.
const MaxSegments = 10

// gsmBasic is the GSM 03.38 default alphabet, without the escape (0x1B).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension are the characters of the extension table: each is sent as
// the escape and a second septet, so it counts 2.
const gsmExtension = "\f^{}\\[~]|€"

// gsmCost is how many septets r takes in GSM-7, 0 when GSM-7 cannot
// carry it.
func gsmCost(r rune) int {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ':
		return 1 // the common case, checked first
	case strings.ContainsRune(gsmBasic, r):
		return 1
	case strings.ContainsRune(gsmExtension, r):
		return 2
	}
	return 0
}

// ucsCost is how many UTF-16 units r takes.
func ucsCost(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// IsGSM7 reports whether GSM-7 can carry every character of text.
func IsGSM7(text string) bool {
	for _, r := range text {
		if gsmCost(r) == 0 {
			return false
		}
	}
	return true
}

// Segments is how many segments text is sent in, and in which encoding:
// GSM7 when every character is in the GSM 03.38 alphabet (those of its
// extension table, such as € [ ] { } ~ ^ | \, count 2), else UCS2 (UTF-16:
// an emoji counts 2). One segment holds 160 GSM-7 or 70 UCS-2 units;
// longer text is split into segments of 153 or 67, and a character that
// takes 2 units is never split between segments. "" is one segment.
func Segments(text string) (n int, encoding string) {
	if IsGSM7(text) {
		return count(text, gsmCost, gsmSingle, gsmMulti), GSM7
	}
	return count(text, ucsCost, ucsSingle, ucsMulti), UCS2
}

func count(text string, cost func(rune) int, single, multi int) int {
	total := 0
	for _, r := range text {
		total += cost(r)
	}
	if total <= single {
		return 1
	}
	n, used := 1, 0
	for _, r := range text {
		c := cost(r)
		if used+c > multi {
			n, used = n+1, 0
		}
		used += c
	}
	return n
}

// lookalikes are characters outside GSM-7 that have a plain GSM-7 stand-in,
// so that typography in a title does not halve what a segment holds.
var lookalikes = strings.NewReplacer(
	"\r\n", "\n",
	"‘", "'", "’", "'", "‚", "'", "‛", "'", "′", "'", "´", "'", "`", "'",
	"“", `"`, "”", `"`, "„", `"`, "‟", `"`, "″", `"`, "«", `"`, "»", `"`,
	"‐", "-", "‑", "-", "‒", "-", "–", "-", "—", "-", "―", "-", "−", "-",
	"…", "...", "·", "-", "•", "-", "→", "->", "←", "<-", "×", "x",
	"\t", " ", "\u00a0", " ", "\u2002", " ", "\u2003", " ", "\u2009", " ", "\u202f", " ",
	"\u200b", "", "\ufeff", "", "\u200e", "", "\u200f", "",
)

// minMiddle is how much of the middle FitSMS keeps, at least, before it
// takes another segment.
const minMiddle = 30

// cutMark ends what FitSMS shortened: three dots, as "…" is not GSM-7.
const cutMark = "..."

// FitSMS returns text made to fit in as few SMS segments as it sensibly
// can, and never more than maxSegments (clamped to 1..MaxSegments).
//
// First, characters with a GSM-7 look-alike are replaced (curly quotes,
// dashes, "…" → "...", "·" → "-", odd spaces; "\r\n" → "\n"), so that the
// text stays GSM-7 where it can: one character outside GSM-7, such as an
// emoji, sends the whole message as UCS-2, 70 characters a segment instead
// of 160.
//
// Text that then fits in one segment is returned as it is. Otherwise the
// first line (what it is) and the last line (what to do, e.g. the
// acknowledge link) are kept whole, and the lines between are shortened
// from their end, marked "...": into one segment if that keeps at least 30
// characters of them, else into the fewest segments that do (or all of
// them). A text of one line, or whose first and last lines do not fit
// together, is cut at its end. Whatever is cut, the result is valid UTF-8
// and Segments(result) <= maxSegments.
func FitSMS(text string, maxSegments int) string {
	maxSegments = min(max(maxSegments, 1), MaxSegments)
	text = lookalikes.Replace(strings.ToValidUTF8(text, "?"))
	fits := func(s string, n int) bool { m, _ := Segments(s); return m <= n }
	if fits(text, 1) {
		return text
	}
	var head, middle, tail string
	if i, j := strings.IndexByte(text, '\n'), strings.LastIndexByte(text, '\n'); i >= 0 && j > i {
		head, middle, tail = text[:i+1], text[i+1:j+1], text[j+1:]
	}
	if middle != "" {
		mid := []rune(middle)
		build := func(k int) string {
			return head + strings.TrimRight(string(mid[:k]), " \n") + cutMark + "\n" + tail
		}
		for n := 1; n <= maxSegments; n++ {
			if fits(text, n) {
				return text // all of the middle fits
			}
			// The most of the middle that fits in n segments.
			k := largest(len(mid)-1, func(k int) bool { return fits(build(k), n) })
			if k >= 0 && (k >= minMiddle || n == maxSegments) {
				if w := wordEnd(mid, k); w != k && fits(build(w), n) {
					k = w
				}
				return build(k)
			}
		}
	}
	if fits(text, maxSegments) {
		return text
	}
	// One line, or first and last lines that do not fit together: cut the
	// text at its end.
	all := []rune(text)
	k := max(largest(len(all)-1, func(k int) bool { return fits(cutEnd(all, k), maxSegments) }), 0)
	if w := wordEnd(all, k); w != k && fits(cutEnd(all, w), maxSegments) {
		k = w
	}
	return cutEnd(all, k)
}

// wordEnd is where to cut r before index k so as not to cut a word: k
// when r[k] starts a word (or k is the end), else the last space within
// the 20 runes before k, else k.
func wordEnd(r []rune, k int) int {
	if k >= len(r) || r[k] == ' ' || r[k] == '\n' {
		return k
	}
	for i := k - 1; i >= 0 && i >= k-20; i-- {
		if r[i] == ' ' || r[i] == '\n' {
			return i
		}
	}
	return k
}

// cutEnd is the first k runes of r, without the spaces they end with,
// and cutMark.
func cutEnd(r []rune, k int) string {
	return strings.TrimRight(string(r[:k]), " \n") + cutMark
}

// largest is the largest k in 0..n for which ok(k) holds, ok being
// monotone (true up to some k, false beyond), or -1 when ok(0) is false.
func largest(n int, ok func(int) bool) int {
	if n < 0 || !ok(0) {
		return -1
	}
	lo, hi := 0, n // ok(lo) holds
	for lo < hi {
		m := (lo + hi + 1) / 2
		if ok(m) {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return lo
}
