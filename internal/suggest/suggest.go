// Package suggest finds what a person probably meant: the name nearest to
// a typo ("did you mean ...?") among the names that exist.
package suggest

import "strings"

// Hint returns ` (did you mean "x"?)` naming the closest of names
// to s, or ` (choose from a, b, c)` when none is close; "" when names is
// empty.
func Hint(s string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	if best := Closest(s, names); best != "" {
		return " (did you mean " + `"` + best + `"?)`
	}
	if len(names) > 8 {
		return " (choose from " + strings.Join(names[:8], ", ") + ", …)"
	}
	return " (choose from " + strings.Join(names, ", ") + ")"
}

// Closest returns the name nearest to s by edit distance, ignoring case,
// when it is near enough to be a typo (at most a third of its length, and
// 3); "" otherwise.
func Closest(s string, names []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, n := range names {
		d := editDistance(ls, strings.ToLower(n))
		if d < bestD {
			best, bestD = n, d
		}
	}
	if bestD == 0 || (bestD <= 3 && bestD*3 <= max(len([]rune(s)), len([]rune(best)))) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in runes,
// with a transposition of neighbours counting one (typos).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20 // not a typo of anything
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
