package charts

import (
	"strconv"
	"strings"
	"unicode"
)

// clean makes outside text (series names, titles, labels) safe to draw and to
// put in markup: invalid UTF-8 becomes U+FFFD; control characters and the
// invisible formatting characters that reorder or hide text (bidi overrides,
// embeddings and isolates, zero-width joiners, BOMs) are dropped, so that no
// label can render as something other than what it contains; runs of white
// space become one space; and the result has at most maxRunes runes, the
// last one an ellipsis when it was cut.
func clean(s string, maxRunes int) string {
	out := make([]rune, 0, min(len(s), maxRunes+1))
	space := false
	for _, r := range s { // range yields U+FFFD for each invalid byte
		switch {
		case unicode.IsSpace(r):
			space = len(out) > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) ||
			r == 0xFFFE || r == 0xFFFF:
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
		if len(out) > maxRunes {
			out = append(out[:max(maxRunes-1, 0)], '…')
			break
		}
	}
	return string(out)
}

// labelSet is a series name read as Prometheus prints one: an optional
// metric name and {name="value", ...}.
type labelSet struct {
	metric string
	pairs  [][2]string
}

// parseLabels reads s as a label set; ok is false when it is not one.
func parseLabels(s string) (ls labelSet, ok bool) {
	i := strings.IndexByte(s, '{')
	if i < 0 || !strings.HasSuffix(s, "}") {
		return ls, false
	}
	ls.metric = strings.TrimSpace(s[:i])
	rest := strings.TrimSpace(s[i+1 : len(s)-1])
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return ls, false
		}
		name := strings.TrimSpace(rest[:eq])
		rest = strings.TrimSpace(rest[eq+1:])
		if !strings.HasPrefix(rest, `"`) {
			return ls, false
		}
		// The value is a Go-like quoted string: find its closing quote.
		end := 1
		for end < len(rest) && rest[end] != '"' {
			if rest[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(rest) {
			return ls, false
		}
		value, err := strconv.Unquote(rest[:end+1])
		if err != nil {
			value = rest[1:end]
		}
		ls.pairs = append(ls.pairs, [2]string{name, value})
		rest = strings.TrimSpace(rest[end+1:])
		rest = strings.TrimSpace(strings.TrimPrefix(rest, ","))
	}
	return ls, true
}

// legendNames shortens series names for a legend: when every name is a label
// set, the labels every series shares (job="node" on all of them) and a
// metric name they all have say nothing about which line is which and are
// left out, and the rest print as name=value. Names that end up equal get
// " #2", " #3" so that each legend entry is told apart.
func legendNames(names []string) []string {
	out := make([]string, len(names))
	sets := make([]labelSet, len(names))
	all := len(names) > 0
	for i, n := range names {
		var ok bool
		if sets[i], ok = parseLabels(n); !ok {
			all = false
		}
	}
	for i, n := range names {
		out[i] = n
	}
	if all {
		common := map[[2]string]int{}
		metrics := map[string]int{}
		for _, s := range sets {
			seen := map[[2]string]bool{}
			for _, p := range s.pairs {
				if !seen[p] {
					seen[p] = true
					common[p]++
				}
			}
			metrics[s.metric]++
		}
		for i, s := range sets {
			var parts []string
			if len(names) == 1 || metrics[s.metric] < len(names) {
				if s.metric != "" {
					parts = append(parts, s.metric)
				}
			}
			for _, p := range s.pairs {
				if len(names) == 1 || common[p] < len(names) {
					parts = append(parts, p[0]+"="+p[1])
				}
			}
			if len(parts) > 0 {
				out[i] = strings.Join(parts, ", ")
			}
		}
	}
	seen := map[string]int{}
	for i, n := range out {
		seen[n]++
		if k := seen[n]; k > 1 {
			out[i] = n + " #" + strconv.Itoa(k)
		}
	}
	return out
}
