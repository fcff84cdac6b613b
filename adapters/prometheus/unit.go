package prometheus

// This file finds the unit of an expression's values from the metric
// names in it (Prometheus's naming conventions: a base-unit suffix, _total
// for counters) and how functions and operators carry units: rate() makes
// a unit per second, a/b of one unit is a ratio, ratio*100 is percent.
// Whatever it cannot follow gives "", never a guess.

import (
	"strings"
)

// uval is what the unit reader knows of a subexpression.
type uval struct {
	unit    string
	bucket  bool    // histogram buckets: unit is their bounds' (le), for histogram_quantile
	isConst bool    // a scalar constant
	c       float64 // its value, when isConst
}

// unitOf returns the unit of the expression toks, "" when unknown.
func unitOf(toks []token) string {
	p := unitReader{toks: toks}
	v, ok := p.expr(0)
	if !ok || p.i != len(toks) || v.isConst || v.bucket {
		return ""
	}
	return v.unit
}

type unitReader struct {
	toks  []token
	i     int
	depth int
}

// maxUnitDepth bounds the reader's recursion (unary minus chains).
const maxUnitDepth = 500

func (p *unitReader) at(s string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind != tString && strings.EqualFold(p.toks[p.i].text, s)
}

// binop returns the binary operator at the reader and its precedence, 0
// if there is none. PromQL, lowest first: or; and unless; comparisons;
// + -; * / % atan2; ^.
func (p *unitReader) binop() (string, int) {
	if p.i >= len(p.toks) {
		return "", 0
	}
	t := p.toks[p.i]
	switch t.kind {
	case tOp:
		switch t.text {
		case "==", "!=", "<", "<=", ">", ">=":
			return t.text, 3
		case "+", "-":
			return t.text, 4
		case "*", "/", "%":
			return t.text, 5
		case "^":
			return t.text, 6
		}
	case tIdent:
		switch s := strings.ToLower(t.text); s {
		case "or":
			return s, 1
		case "and", "unless":
			return s, 2
		case "atan2":
			return s, 5
		}
	}
	return "", 0
}

func (p *unitReader) expr(minPrec int) (uval, bool) {
	if p.depth++; p.depth > maxUnitDepth {
		return uval{}, false
	}
	defer func() { p.depth-- }()
	left, ok := p.unary()
	for ok {
		op, prec := p.binop()
		if prec == 0 || prec < minPrec {
			break
		}
		p.i++
		isBool := p.modifiers()
		next := prec + 1
		if op == "^" {
			next = prec // right-associative
		}
		var right uval
		right, ok = p.expr(next)
		left = combine(op, isBool, left, right)
	}
	return left, ok
}

// modifiers skips bool, on(…), ignoring(…), group_left(…), group_right(…)
// after a binary operator and reports whether bool was among them.
func (p *unitReader) modifiers() (isBool bool) {
	for p.i < len(p.toks) && p.toks[p.i].kind == tIdent {
		switch strings.ToLower(p.toks[p.i].text) {
		case "bool":
			isBool = true
			p.i++
		case "on", "ignoring", "group_left", "group_right":
			p.i++
			p.skipGroup("(")
		default:
			return isBool
		}
	}
	return isBool
}

// skipGroup skips a bracketed group opening with open, if one is next.
func (p *unitReader) skipGroup(open string) bool {
	if p.i < len(p.toks) && p.toks[p.i].kind == tOpen && p.toks[p.i].text == open {
		p.i += p.toks[p.i].match - p.toks[p.i].idx + 1
		return true
	}
	return false
}

func (p *unitReader) unary() (uval, bool) {
	if p.i < len(p.toks) && p.toks[p.i].kind == tOp && (p.toks[p.i].text == "-" || p.toks[p.i].text == "+") {
		neg := p.toks[p.i].text == "-"
		p.i++
		if p.depth++; p.depth > maxUnitDepth {
			return uval{}, false
		}
		v, ok := p.unary()
		p.depth--
		if neg {
			v.c = -v.c
		}
		return v, ok
	}
	return p.postfix()
}

// postfix reads a primary expression and its range, subquery, offset and
// @ modifiers.
func (p *unitReader) postfix() (uval, bool) {
	v, ok := p.primary()
	for ok && p.i < len(p.toks) {
		switch {
		case p.skipGroup("["):
		case p.at("offset"):
			p.i++
			if p.at("-") || p.at("+") {
				p.i++
			}
			if p.i >= len(p.toks) || (p.toks[p.i].kind != tDuration && p.toks[p.i].kind != tNumber) {
				return v, false
			}
			p.i++
		case p.at("@"):
			p.i++
			if p.at("-") || p.at("+") {
				p.i++
			}
			if p.at("start") || p.at("end") {
				p.i++
				if !p.skipGroup("(") {
					return v, false
				}
			} else if p.i < len(p.toks) && p.toks[p.i].kind == tNumber {
				p.i++
			} else {
				return v, false
			}
		default:
			return v, true
		}
	}
	return v, ok
}

func (p *unitReader) primary() (uval, bool) {
	if p.i >= len(p.toks) {
		return uval{}, false
	}
	t := p.toks[p.i]
	switch t.kind {
	case tNumber, tDuration:
		p.i++
		c, ok := parseNumber(t)
		return uval{isConst: true, c: c}, ok
	case tString:
		p.i++
		return uval{}, true
	case tOpen:
		switch t.text {
		case "(":
			p.i++
			v, ok := p.expr(0)
			if !ok || !p.at(")") {
				return uval{}, false
			}
			p.i++
			return v, true
		case "{":
			name := nameMatcher(p.toks[p.i+1 : t.match-t.idx+p.i])
			p.skipGroup("{")
			return metricVal(name), true
		}
		return uval{}, false
	case tIdent:
		name := strings.ToLower(t.text)
		switch name {
		case "inf", "nan":
			p.i++
			c, _ := constValue([]token{t})
			return uval{isConst: true, c: c}, true
		}
		p.i++
		if agg, ok := aggregations[name]; ok && (p.at("(") || p.at("by") || p.at("without")) {
			if p.at("by") || p.at("without") {
				p.i++
				if !p.skipGroup("(") {
					return uval{}, false
				}
			}
			args, ok := p.args()
			if !ok {
				return uval{}, false
			}
			if p.at("by") || p.at("without") {
				p.i++
				if !p.skipGroup("(") {
					return uval{}, false
				}
			}
			return pick(agg, args), true
		}
		if p.at("(") {
			args, ok := p.args()
			if !ok {
				return uval{}, false
			}
			return funcUnit(name, args), true
		}
		p.skipGroup("{")
		return metricVal(t.text), true
	}
	return uval{}, false
}

// args reads a call's parenthesised, comma-separated arguments.
func (p *unitReader) args() ([]uval, bool) {
	if !p.at("(") {
		return nil, false
	}
	p.i++
	var args []uval
	if p.at(")") {
		p.i++
		return args, true
	}
	for {
		v, ok := p.expr(0)
		if !ok {
			return nil, false
		}
		args = append(args, v)
		if p.at(",") {
			p.i++
			continue
		}
		if !p.at(")") {
			return nil, false
		}
		p.i++
		return args, true
	}
}

// nameMatcher finds __name__="x" among a selector's matchers.
func nameMatcher(in []token) string {
	for i := 0; i+2 < len(in); i++ {
		if in[i].kind == tIdent && in[i].text == "__name__" && in[i+1].text == "=" && in[i+2].kind == tString {
			s := in[i+2].text
			return s[1 : len(s)-1]
		}
	}
	return ""
}

// How a function's or aggregation's unit follows from its arguments.
const (
	none      = -1 // no unit
	arg0      = 0  // the first argument's
	arg1      = 1  // the second argument's
	perSecond = -2 // the first argument's per second
	seconds   = -3
	ratio     = -4
	quantile  = -5 // histogram_quantile: the second argument's bucket bounds'
)

var aggregations = map[string]int{
	"sum": arg0, "min": arg0, "max": arg0, "avg": arg0, "stddev": arg0,
	"quantile": arg1, "topk": arg1, "bottomk": arg1, "limitk": arg1, "limit_ratio": arg1,
	"count": none, "count_values": none, "group": none, "stdvar": none,
}

var functions = map[string]int{
	"rate": perSecond, "irate": perSecond, "deriv": perSecond,
	"increase": arg0, "delta": arg0, "idelta": arg0,
	"abs": arg0, "ceil": arg0, "floor": arg0, "round": arg0,
	"clamp": arg0, "clamp_max": arg0, "clamp_min": arg0,
	"sort": arg0, "sort_desc": arg0, "sort_by_label": arg0, "sort_by_label_desc": arg0,
	"label_replace": arg0, "label_join": arg0,
	"avg_over_time": arg0, "min_over_time": arg0, "max_over_time": arg0, "sum_over_time": arg0,
	"last_over_time": arg0, "first_over_time": arg0, "mad_over_time": arg0, "stddev_over_time": arg0,
	"predict_linear": arg0, "holt_winters": arg0, "double_exponential_smoothing": arg0,
	"histogram_avg": arg0, "histogram_sum": arg0,
	"quantile_over_time": arg1, "histogram_quantile": quantile,
	"time": seconds, "timestamp": seconds,
	"histogram_fraction": ratio,
}

func funcUnit(name string, args []uval) uval {
	rule, ok := functions[name]
	if !ok {
		return uval{}
	}
	return pick(rule, args)
}

func pick(rule int, args []uval) uval {
	arg := func(i int) uval {
		if i < len(args) && !args[i].isConst {
			return uval{unit: args[i].unit, bucket: args[i].bucket}
		}
		return uval{}
	}
	switch rule {
	case arg0, arg1:
		return arg(rule)
	case quantile:
		if a := arg(1); a.bucket {
			return uval{unit: a.unit}
		}
		return uval{}
	case perSecond:
		a := arg(0)
		if a.bucket {
			return a // a rate of buckets still has its bounds' unit
		}
		if len(args) == 0 || args[0].isConst {
			return uval{}
		}
		return uval{unit: perSecondOf(a.unit)}
	case seconds:
		return uval{unit: UnitSeconds}
	case ratio:
		return uval{unit: UnitRatio}
	}
	return uval{}
}

func perSecondOf(unit string) string {
	switch unit {
	case UnitBytes:
		return UnitBytesPerSecond
	case UnitSeconds:
		return UnitRatio // seconds spent per second: CPU, busy time
	case "":
		return UnitPerSecond
	}
	return ""
}

// metricVal is what a metric name says of its values.
func metricVal(name string) uval {
	return uval{unit: metricUnit(name), bucket: strings.HasSuffix(name, "_bucket")}
}

// metricUnit is the unit a metric name declares. Recording rules named
// level:metric:operations (kube-prometheus) take the metric part's unit,
// per second when the operations include a rate, and ratio when the
// operations are "ratio".
func metricUnit(name string) string {
	parts := strings.Split(name, ":")
	switch len(parts) {
	case 1:
		return suffixUnit(name)
	case 2:
		return suffixUnit(parts[1])
	case 3:
		ops := parts[2]
		switch {
		case ops == "ratio" || strings.HasSuffix(ops, "_ratio") || strings.HasPrefix(ops, "ratio_"):
			return UnitRatio
		case strings.Contains(ops, "rate"):
			if u := suffixUnit(parts[1]); u != "" {
				return perSecondOf(u)
			}
			return ""
		}
		return suffixUnit(parts[1])
	}
	return ""
}

// suffixUnit reads a metric name's unit suffix after dropping _total (a
// counter), _bucket and _sum (a histogram's, in its observations' unit);
// _count is a number of observations.
func suffixUnit(name string) string {
	name = strings.TrimSuffix(name, "_total")
	if strings.HasSuffix(name, "_count") {
		return ""
	}
	name = strings.TrimSuffix(name, "_bucket")
	name = strings.TrimSuffix(name, "_sum")
	switch {
	case strings.HasSuffix(name, "_bytes"):
		return UnitBytes
	case strings.HasSuffix(name, "_seconds"):
		return UnitSeconds
	case strings.HasSuffix(name, "_ratio"):
		return UnitRatio
	case strings.HasSuffix(name, "_percent"), strings.HasSuffix(name, "_percentage"):
		return UnitPercent
	case strings.HasSuffix(name, "_celsius"):
		return UnitCelsius
	}
	return ""
}

// combine is the unit of "a op b".
func combine(op string, isBool bool, a, b uval) uval {
	if a.isConst && b.isConst {
		c, ok := constOp(op, a.c, b.c)
		return uval{isConst: ok, c: c}
	}
	switch op {
	case "+", "-":
		switch {
		case a.isConst:
			return uval{unit: b.unit}
		case b.isConst, a.unit == b.unit:
			return uval{unit: a.unit}
		}
	case "*":
		k, v := a, b
		if b.isConst {
			k, v = b, a
		}
		if k.isConst {
			switch {
			case k.c == 1:
				return uval{unit: v.unit}
			case k.c == 100 && v.unit == UnitRatio:
				return uval{unit: UnitPercent}
			}
		}
	case "/":
		switch {
		case b.isConst && b.c == 1:
			return uval{unit: a.unit}
		case b.isConst && b.c == 100 && a.unit == UnitPercent:
			return uval{unit: UnitRatio}
		case a.isConst || b.isConst:
		case a.unit != "" && a.unit == b.unit:
			return uval{unit: UnitRatio}
		case a.unit == UnitBytes && b.unit == UnitSeconds:
			return uval{unit: UnitBytesPerSecond}
		}
	case "==", "!=", "<", "<=", ">", ">=":
		switch {
		case isBool:
		case a.isConst:
			return uval{unit: b.unit}
		default:
			return uval{unit: a.unit}
		}
	case "and", "unless":
		return uval{unit: a.unit}
	case "or":
		if a.unit == b.unit {
			return uval{unit: a.unit}
		}
	}
	return uval{}
}

func constOp(op string, a, b float64) (float64, bool) {
	switch op {
	case "+":
		return a + b, true
	case "-":
		return a - b, true
	case "*":
		return a * b, true
	case "/":
		return a / b, true
	}
	return 0, false
}
