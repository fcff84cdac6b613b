package prometheus

// This file is a PromQL tokenizer: enough of Prometheus's lexer to find an
// expression's top-level operators without being fooled by brackets,
// strings, comments, durations or label matchers. It is not a parser: it
// checks only that brackets match and that every character belongs to a
// token, and gives up (an error) on anything else it does not understand.

import (
	"errors"
	"strings"
)

// maxNesting bounds how deep brackets may nest before the tokenizer gives
// up; real rules nest a handful of levels.
const maxNesting = 200

// maxExprLen bounds the expressions Analyze reads (bytes).
const maxExprLen = 64 << 10

type tokKind uint8

const (
	tIdent    tokKind = iota + 1 // metric, label or function name, keyword
	tNumber                      // 1, 1.5e3, 0x1f, 1_000 (Inf and NaN are tIdent)
	tDuration                    // 5m, 1h30m, 500ms
	tString                      // "…", '…', `…`
	tOp                          // + - * / % ^ == != < <= > >= = =~ !~ , : @
	tOpen                        // ( [ {
	tClose                       // ) ] }
)

type token struct {
	kind       tokKind
	start, end int    // byte offsets in the source
	depth      int    // brackets open around the token (a bracket counts as outside itself)
	idx        int    // index in lex's output
	match      int    // for tOpen and tClose: idx of the matching bracket
	text       string // the token's source text
}

var errLex = errors.New("not an expression the tokenizer understands")

// lex splits src into tokens, dropping white space and comments.
func lex(src string) ([]token, error) {
	if len(src) > maxExprLen {
		return nil, errLex
	}
	var toks []token
	var stack []int // indexes of open brackets
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		}
		t := token{start: i, depth: len(stack), idx: len(toks), match: -1}
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' {
					j++
				} else if src[j] == '\n' {
					return nil, errLex // PromQL strings do not span lines
				}
			}
			if j >= len(src) {
				return nil, errLex
			}
			t.kind, i = tString, j+1
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, errLex
			}
			t.kind, i = tString, i+1+j+1
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			kind, n := lexNumber(src[i:])
			if n == 0 {
				return nil, errLex
			}
			t.kind, i = kind, i+n
		case isIdentStart(c) && !(c == ':' && inBrackets(toks, stack)):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			t.kind, i = tIdent, j
		case c == '(' || c == '[' || c == '{':
			if len(stack) >= maxNesting {
				return nil, errLex
			}
			t.kind, i = tOpen, i+1
			stack = append(stack, len(toks))
		case c == ')' || c == ']' || c == '}':
			if len(stack) == 0 {
				return nil, errLex
			}
			o := stack[len(stack)-1]
			if closer(src[toks[o].start]) != c {
				return nil, errLex
			}
			stack = stack[:len(stack)-1]
			t.kind, t.depth, t.match, i = tClose, len(stack), o, i+1
			toks[o].match = len(toks)
		default:
			n := opLen(src[i:])
			if n == 0 {
				return nil, errLex
			}
			t.kind, i = tOp, i+n
		}
		t.end = i
		t.text = src[t.start:t.end]
		toks = append(toks, t)
	}
	if len(stack) != 0 {
		return nil, errLex
	}
	return toks, nil
}

// inBrackets reports whether the innermost open bracket is '[' (a range or
// subquery, where ':' separates the range from the resolution).
func inBrackets(toks []token, stack []int) bool {
	return len(stack) > 0 && toks[stack[len(stack)-1]].text == "["
}

func closer(open byte) byte {
	switch open {
	case '(':
		return ')'
	case '[':
		return ']'
	}
	return '}'
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
func isLetter(c byte) bool     { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isIdentStart(c byte) bool { return isLetter(c) || c == '_' || c == ':' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// isWordChar: a character that may not directly follow a number.
func isWordChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// opLen is the length of the operator at the start of s, 0 if none.
func opLen(s string) int {
	if len(s) >= 2 {
		switch s[:2] {
		case "==", "!=", "<=", ">=", "=~", "!~":
			return 2
		}
	}
	switch s[0] {
	case '+', '-', '*', '/', '%', '^', '<', '>', '=', ',', ':', '@':
		return 1
	}
	return 0
}

// lexNumber reads a number or a duration at the start of s and returns its
// kind and length (0 when s does not start with a valid one).
func lexNumber(s string) (tokKind, int) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHex(s[2]) {
		i := 2
		for i < len(s) && isHex(s[i]) {
			i++
		}
		if i < len(s) && isWordChar(s[i]) {
			return 0, 0
		}
		return tNumber, i
	}
	// A duration: one or more <digits><unit>, units ms s m h d w y.
	if n := durationLen(s); n > 0 {
		return tDuration, n
	}
	i := digits(s, 0)
	if i < len(s) && s[i] == '.' {
		i = digits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if k := digits(s, j); k > j {
			i = k
		} else {
			return 0, 0
		}
	}
	if i < len(s) && (isWordChar(s[i]) || s[i] == '.') {
		return 0, 0 // "5x", "1.2.3"
	}
	return tNumber, i
}

// digits skips decimal digits, with single underscores between them, from i.
func digits(s string, i int) int {
	for i < len(s) {
		if isDigit(s[i]) {
			i++
		} else if s[i] == '_' && i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1]) {
			i++
		} else {
			break
		}
	}
	return i
}

// durationLen is the length of the Prometheus duration at the start of s
// (like 5m, 1h30m, 500ms), 0 if there is none.
func durationLen(s string) int {
	i, parts := 0, 0
	for i < len(s) && isDigit(s[i]) {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		u := unitLen(s[j:])
		if u == 0 {
			break
		}
		i, parts = j+u, parts+1
	}
	if parts == 0 || (i < len(s) && (isWordChar(s[i]) || s[i] == '.')) {
		return 0
	}
	return i
}

func unitLen(s string) int {
	if strings.HasPrefix(s, "ms") {
		return 2
	}
	if len(s) > 0 && strings.IndexByte("smhdwy", s[0]) >= 0 {
		return 1
	}
	return 0
}
