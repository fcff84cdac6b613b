package webhook

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"text/template"
)

// funcs are the functions a field may call. They replace text/template's
// index, len, print, printf, println and comparisons with ones made for
// decoded JSON: a missing value (nil) is empty and never an error, numbers
// compare by value whatever their type (2 = 2.0 = "2"), and anything else
// compares as text. and, or, not, html, js, urlquery and call are
// text/template's own.
var funcs = template.FuncMap{
	"lower":     func(s any) string { return strings.ToLower(str(s)) },
	"upper":     func(s any) string { return strings.ToUpper(str(s)) },
	"trim":      func(s any) string { return strings.TrimSpace(str(s)) },
	"replace":   func(old, new, s any) string { return strings.ReplaceAll(str(s), str(old), str(new)) },
	"contains":  func(sub, s any) bool { return strings.Contains(str(s), str(sub)) },
	"hasPrefix": func(prefix, s any) bool { return strings.HasPrefix(str(s), str(prefix)) },
	"hasSuffix": func(suffix, s any) bool { return strings.HasSuffix(str(s), str(suffix)) },
	"join": func(sep, list any) string {
		xs, _ := list.([]any)
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = str(x)
		}
		return strings.Join(s, str(sep))
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// fromjson reads JSON inside a string (AWS SNS puts the CloudWatch
	// alarm in .Message as a string): {{ (fromjson .Message).AlarmName }}.
	// Text that is not JSON (or missing) gives nil, so that
	// {{ with fromjson .Message }}…{{ else }}…{{ end }} can tell.
	"fromjson": func(s any) any {
		v, err := decode([]byte(str(s)))
		if err != nil {
			return nil
		}
		return v
	},
	"index": index,
	"len": func(v any) int {
		switch v := v.(type) {
		case nil:
			return 0
		case []any:
			return len(v)
		case map[string]any:
			return len(v)
		}
		return len([]rune(str(v)))
	},
	"print":   func(args ...any) string { return fmt.Sprint(texts(args)...) },
	"println": func(args ...any) string { return fmt.Sprintln(texts(args)...) },
	"printf":  func(format string, args ...any) string { return fmt.Sprintf(format, printfArgs(args)...) },
	"eq": func(a any, bs ...any) bool {
		for _, b := range bs {
			if compare(a, b) == 0 {
				return true
			}
		}
		return len(bs) == 0 && a == nil
	},
	"ne": func(a, b any) bool { return compare(a, b) != 0 },
	// An order with a missing value is false, either way round.
	"lt": func(a, b any) bool { return a != nil && b != nil && compare(a, b) < 0 },
	"le": func(a, b any) bool { return a != nil && b != nil && compare(a, b) <= 0 },
	"gt": func(a, b any) bool { return a != nil && b != nil && compare(a, b) > 0 },
	"ge": func(a, b any) bool { return a != nil && b != nil && compare(a, b) >= 0 },
}

// index looks keys up in objects (by name) and arrays (by position); a
// missing key, a position out of range or a lookup in something else gives
// nil.
func index(v any, keys ...any) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[str(k)]
		case []any:
			f, ok := number(k)
			if !ok || f != math.Trunc(f) || f < 0 || f >= float64(len(x)) {
				return nil
			}
			v = x[int(f)]
		default:
			return nil
		}
	}
	return v
}

// texts are args with nil as "" and objects and arrays as JSON.
func texts(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = str(a)
	}
	return out
}

// printfArgs keeps numbers and booleans (for %d, %.1f, %t) and turns the
// rest into text.
func printfArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case int, int64, float64, bool:
			out[i] = a
		default:
			out[i] = str(a)
		}
	}
	return out
}

// number reads v as a number: JSON numbers, template constants, and text
// that is a number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f)
	case bool, nil:
		return 0, false
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return float64(rv.Int()), true
	case rv.CanUint():
		return float64(rv.Uint()), true
	case rv.CanFloat():
		return rv.Float(), true
	}
	return 0, false
}

// compare orders a and b: by value when both are numbers (or one is and
// the other is text that reads as one), else as text. A missing value is
// "" and so equals only "" (and nil).
func compare(a, b any) int {
	_, aText := a.(string)
	_, bText := b.(string)
	if !aText || !bText { // two texts compare as text: "01" ≠ "1"
		if x, ok := number(a); ok {
			if y, ok := number(b); ok {
				switch {
				case x < y:
					return -1
				case x > y:
					return 1
				}
				return 0
			}
		}
	}
	return strings.Compare(str(a), str(b))
}

// str renders a decoded JSON value as text: strings as they are, numbers
// without exponents, null as empty, objects and arrays as JSON.
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}
