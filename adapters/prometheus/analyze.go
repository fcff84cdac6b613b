package prometheus

import (
	"math"
	"strconv"
	"strings"
)

// Analysis is what Analyze finds in an alerting rule's expression.
type Analysis struct {
	// Query is the expression to plot: the side of a top-level comparison
	// against a constant that is not the constant, or the whole expression
	// when there is no such comparison, trimmed of white space (PromQL's:
	// space, tab, newline, return). It is always a substring of the
	// analyzed expression, and empty only when that is blank.
	Query string
	// Threshold is the constant the rule compares Query with, nil when
	// there is none.
	Threshold *Threshold
	// Unit is the unit of Query's values, from Prometheus's metric naming
	// conventions: one of the Unit constants, "" when unknown.
	Unit string
}

// Threshold is a rule's comparison, normalised so that the plotted
// expression is on the left: the rule fires (or keeps the series) where
// "Query Op Value" holds.
type Threshold struct {
	Op    string // one of > >= < <= == !=
	Value float64
}

// Units Analysis.Unit takes. Ratio values are fractions (0.25 is a
// quarter); percent values are hundredths (25 is a quarter).
const (
	UnitBytes          = "bytes"
	UnitBytesPerSecond = "bytes/s"
	UnitSeconds        = "seconds"
	UnitRatio          = "ratio"
	UnitPercent        = "percent"
	UnitCelsius        = "celsius"
	UnitPerSecond      = "/s" // a rate of a counter without a unit: requests, errors per second
)

// Analyze reads an alerting rule's PromQL expression and says what to plot
// for it, the threshold it compares with and the unit of the plotted values.
//
// When the expression's top level is a comparison of an expression with a
// scalar constant ("x > 0.9", "0.9 < x", with or without bool), Query is
// that expression and Threshold the comparison, normalised so that Query is
// on the left (0.9 < x gives x > 0.9). Plotting the comparison itself would
// show only the points past the threshold.
//
// When the top level is "a and b" or "a unless b" (any chain of them), the
// values of the result are a's: b only decides which series and when. Query
// and Threshold are then a's, analyzed the same way; plotting the whole
// expression would again draw only the moments it fires. When the top level
// is "a or b" the values come from either side, so the whole expression is
// plotted without a threshold. A comparison of two vectors ("x > on(job) y"),
// a chain of comparisons, a comparison of two constants and anything the
// tokenizer does not understand (unbalanced brackets, unterminated strings,
// expressions over 64 KiB) give the whole expression, trimmed, and no
// threshold.
//
// Analyze is a careful tokenizer, not a PromQL parser: it respects
// brackets, string literals with escapes, backquoted strings, comments,
// durations, offset and @ modifiers and operator precedence, and takes an
// expression Prometheus would refuse at face value.
func Analyze(expr string) Analysis {
	whole := trimSpace(expr)
	toks, err := lex(expr)
	if err != nil || len(toks) == 0 {
		return Analysis{Query: whole}
	}
	a, ok := analyze(expr, toks)
	if !ok {
		return Analysis{Query: whole, Unit: unitOf(toks)}
	}
	return a
}

// trimSpace trims PromQL's white space: space, tab, newline, return.
func trimSpace(s string) string { return strings.Trim(s, " \t\n\r") }

// analyze works on a non-empty, bracket-balanced run of tokens. ok is false
// when it found nothing better than the whole expression.
func analyze(src string, toks []token) (Analysis, bool) {
	toks = stripParens(toks)
	if len(toks) == 0 {
		return Analysis{}, false
	}
	base := toks[0].depth
	var cmps []int
	firstSet, hasOr := -1, false
	for i, t := range toks {
		if t.depth != base {
			continue
		}
		switch {
		case t.kind == tIdent && strings.EqualFold(t.text, "or"):
			hasOr = true
		case t.kind == tIdent && (strings.EqualFold(t.text, "and") || strings.EqualFold(t.text, "unless")):
			if firstSet < 0 {
				firstSet = i
			}
		case t.kind == tOp && isComparison(t.text):
			cmps = append(cmps, i)
		}
	}
	switch {
	case hasOr:
		return Analysis{}, false
	case firstSet == 0:
		return Analysis{}, false
	case firstSet > 0:
		left := toks[:firstSet]
		if a, ok := analyze(src, left); ok {
			return a, true
		}
		if left = stripParens(left); len(left) == 0 {
			return Analysis{}, false
		}
		return Analysis{Query: text(src, left), Unit: unitOf(left)}, true
	case len(cmps) != 1:
		return Analysis{}, false
	}
	k := cmps[0]
	lhs, rhs := toks[:k], toks[k+1:]
	if len(rhs) > 0 && rhs[0].kind == tIdent && strings.EqualFold(rhs[0].text, "bool") {
		rhs = rhs[1:]
	}
	if len(lhs) == 0 || len(rhs) == 0 {
		return Analysis{}, false
	}
	if rhs[0].kind == tIdent && isMatchingKeyword(rhs[0].text) {
		return Analysis{}, false // on(…), ignoring(…), group_left…: two vectors
	}
	op := toks[k].text
	lv, lconst := constValue(lhs)
	rv, rconst := constValue(rhs)
	var side []token
	switch {
	case rconst && !lconst:
		side = lhs
	case lconst && !rconst:
		side, rv, op = rhs, lv, flip(op)
	default:
		return Analysis{}, false
	}
	if side = stripParens(side); len(side) == 0 {
		return Analysis{}, false
	}
	return Analysis{Query: text(src, side), Threshold: &Threshold{Op: op, Value: rv}, Unit: unitOf(side)}, true
}

// stripParens removes brackets that enclose the whole run: "((x))" is x.
func stripParens(toks []token) []token {
	for len(toks) >= 2 && toks[0].text == "(" && toks[0].match == toks[len(toks)-1].idx {
		toks = toks[1 : len(toks)-1]
	}
	return toks
}

// text is the source between the first and the last token of run.
func text(src string, run []token) string {
	return src[run[0].start:run[len(run)-1].end]
}

func isComparison(op string) bool {
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func isMatchingKeyword(s string) bool {
	for _, k := range []string{"on", "ignoring", "group_left", "group_right"} {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// flip turns "c op x" into "x flip(op) c".
func flip(op string) string {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	}
	return op
}

// constValue evaluates run when it is a scalar constant: numbers (with
// Inf, NaN, hex, underscores), durations as seconds, unary signs, + - * /
// % ^ and parentheses, with PromQL's precedence.
func constValue(run []token) (float64, bool) {
	e := constEval{toks: run}
	v, ok := e.sum()
	if !ok || e.i != len(run) {
		return 0, false
	}
	return v, true
}

type constEval struct {
	toks []token
	i    int
}

func (e *constEval) peek() string {
	if e.i < len(e.toks) && e.toks[e.i].kind == tOp {
		return e.toks[e.i].text
	}
	return ""
}

func (e *constEval) sum() (float64, bool) {
	v, ok := e.product()
	for ok {
		switch e.peek() {
		case "+":
			e.i++
			var w float64
			w, ok = e.product()
			v += w
		case "-":
			e.i++
			var w float64
			w, ok = e.product()
			v -= w
		default:
			return v, true
		}
	}
	return 0, false
}

func (e *constEval) product() (float64, bool) {
	v, ok := e.unary()
	for ok {
		op := e.peek()
		if op != "*" && op != "/" && op != "%" {
			return v, true
		}
		e.i++
		var w float64
		w, ok = e.unary()
		switch op {
		case "*":
			v *= w
		case "/":
			v /= w
		default:
			v = math.Mod(v, w)
		}
	}
	return 0, false
}

func (e *constEval) unary() (float64, bool) {
	switch e.peek() {
	case "-":
		e.i++
		v, ok := e.unary()
		return -v, ok
	case "+":
		e.i++
		return e.unary()
	}
	return e.power()
}

// power: PromQL's ^ binds tighter than unary minus on its left
// (-2 ^ 2 is -4) and is right-associative.
func (e *constEval) power() (float64, bool) {
	v, ok := e.primary()
	if ok && e.peek() == "^" {
		e.i++
		w, ok := e.unary()
		return math.Pow(v, w), ok
	}
	return v, ok
}

func (e *constEval) primary() (float64, bool) {
	if e.i >= len(e.toks) {
		return 0, false
	}
	t := e.toks[e.i]
	switch t.kind {
	case tNumber, tDuration:
		e.i++
		return parseNumber(t)
	case tIdent:
		switch strings.ToLower(t.text) {
		case "inf":
			e.i++
			return math.Inf(1), true
		case "nan":
			e.i++
			return math.NaN(), true
		}
	case tOpen:
		if t.text != "(" {
			return 0, false
		}
		e.i++
		v, ok := e.sum()
		if !ok || e.i >= len(e.toks) || e.toks[e.i].text != ")" {
			return 0, false
		}
		e.i++
		return v, true
	}
	return 0, false
}

func parseNumber(t token) (float64, bool) {
	s := strings.ReplaceAll(t.text, "_", "")
	if t.kind == tDuration {
		return durationSeconds(s)
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		n, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(n), err == nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Out of range: ParseFloat returns ±Inf, as Prometheus does.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

func durationSeconds(s string) (float64, bool) {
	var total float64
	for s != "" {
		j := 0
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		n, err := strconv.ParseFloat(s[:j], 64)
		if err != nil {
			return 0, false
		}
		u := unitLen(s[j:])
		if u == 0 {
			return 0, false
		}
		switch s[j : j+u] {
		case "ms":
			total += n / 1000
		case "s":
			total += n
		case "m":
			total += n * 60
		case "h":
			total += n * 3600
		case "d":
			total += n * 86400
		case "w":
			total += n * 7 * 86400
		case "y":
			total += n * 365 * 86400
		}
		s = s[j+u:]
	}
	return total, true
}
