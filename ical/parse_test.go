package ical_test

// A strict reader of the feeds Encode writes, for the tests only: it
// refuses anything a fussy client could trip on, unfolds, and unescapes.

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

type prop struct {
	name   string
	params map[string]string
	value  string // as written: still escaped
}

type component struct {
	name  string
	props []prop
	subs  []*component
}

// all returns the props named name.
func (c *component) all(name string) []prop {
	var out []prop
	for _, p := range c.props {
		if p.name == name {
			out = append(out, p)
		}
	}
	return out
}

// one returns the only prop named name, or an error.
func (c *component) one(name string) (prop, error) {
	ps := c.all(name)
	if len(ps) != 1 {
		return prop{}, fmt.Errorf("%s has %d %s, want 1", c.name, len(ps), name)
	}
	return ps[0], nil
}

var propName = regexp.MustCompile(`^[A-Z][A-Z0-9-]*$`)

// physicalLines checks the octets: CRLF after every line and nowhere
// else, at most 75 octets a line, each line valid UTF-8 on its own (no
// fold inside a character), no empty line, no control character but tab.
func physicalLines(b []byte) ([]string, error) {
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		return nil, fmt.Errorf("the feed does not end in CRLF")
	}
	lines := strings.Split(string(b[:len(b)-2]), "\r\n")
	for i, l := range lines {
		switch {
		case strings.ContainsAny(l, "\r\n"):
			return nil, fmt.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		case len(l) > 75:
			return nil, fmt.Errorf("line %d is %d octets: %q", i+1, len(l), l)
		case l == "":
			return nil, fmt.Errorf("line %d is empty", i+1)
		case !utf8.ValidString(l):
			return nil, fmt.Errorf("line %d is not valid UTF-8 on its own (a fold split a character?): %q", i+1, l)
		case strings.ContainsFunc(l, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) }):
			return nil, fmt.Errorf("line %d has a control character: %q", i+1, l)
		}
	}
	return lines, nil
}

// unfold joins continuation lines (those starting with one space) to the
// line before, dropping the CRLF and the space (RFC 5545 3.1).
func unfold(lines []string) ([]string, error) {
	var out []string
	for i, l := range lines {
		if l[0] == ' ' || l[0] == '\t' {
			if len(out) == 0 {
				return nil, fmt.Errorf("line %d continues nothing", i+1)
			}
			if l[0] == '\t' {
				return nil, fmt.Errorf("line %d continues with a tab; Encode folds with a space", i+1)
			}
			out[len(out)-1] += l[1:]
			continue
		}
		out = append(out, l)
	}
	return out, nil
}

// parseLine splits name *(";" param) ":" value.
func parseLine(l string) (prop, error) {
	i := strings.IndexAny(l, ";:")
	if i <= 0 {
		return prop{}, fmt.Errorf("no name in %q", l)
	}
	p := prop{name: l[:i], params: map[string]string{}}
	if !propName.MatchString(p.name) {
		return prop{}, fmt.Errorf("bad property name %q", p.name)
	}
	rest := l[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !propName.MatchString(rest[:eq]) {
			return prop{}, fmt.Errorf("bad parameter in %q", l)
		}
		k := rest[:eq]
		rest = rest[eq+1:]
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return prop{}, fmt.Errorf("unclosed quote in %q", l)
			}
			v, rest = rest[1:end+1], rest[end+2:]
		} else {
			end := strings.IndexAny(rest, ";:")
			if end < 0 {
				return prop{}, fmt.Errorf("no value in %q", l)
			}
			v, rest = rest[:end], rest[end:]
		}
		p.params[k] = v
		if rest == "" {
			return prop{}, fmt.Errorf("no value in %q", l)
		}
	}
	if rest[0] != ':' {
		return prop{}, fmt.Errorf("no colon in %q", l)
	}
	p.value = rest[1:]
	return p, nil
}

// parseFeed reads a feed into its components.
func parseFeed(b []byte) (*component, error) {
	lines, err := physicalLines(b)
	if err != nil {
		return nil, err
	}
	logical, err := unfold(lines)
	if err != nil {
		return nil, err
	}
	root := &component{}
	stack := []*component{root}
	for _, l := range logical {
		p, err := parseLine(l)
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch p.name {
		case "BEGIN":
			c := &component{name: p.value}
			top.subs = append(top.subs, c)
			stack = append(stack, c)
		case "END":
			if len(stack) == 1 || top.name != p.value {
				return nil, fmt.Errorf("END:%s closes %q", p.value, top.name)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 1 {
				return nil, fmt.Errorf("%s outside any component", p.name)
			}
			top.props = append(top.props, p)
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("%s is not closed", stack[len(stack)-1].name)
	}
	if len(root.subs) != 1 || root.subs[0].name != "VCALENDAR" {
		return nil, fmt.Errorf("want one VCALENDAR, got %d components", len(root.subs))
	}
	return root.subs[0], nil
}

// unescapeList reads a TEXT list: values split at unescaped commas, each
// unescaped. A bare ; or an unknown escape is an error.
func unescapeList(v string) ([]string, error) {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 == len(v) {
				return nil, fmt.Errorf("a lone backslash ends %q", v)
			}
			i++
			switch v[i] {
			case '\\', ';', ',':
				b.WriteByte(v[i])
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				return nil, fmt.Errorf("unknown escape \\%c in %q", v[i], v)
			}
		case ';':
			return nil, fmt.Errorf("unescaped ; in %q", v)
		case ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String()), nil
}

// unescapeText reads one TEXT value: an unescaped comma is an error too.
func unescapeText(v string) (string, error) {
	l, err := unescapeList(v)
	if err != nil {
		return "", err
	}
	if len(l) != 1 {
		return "", fmt.Errorf("unescaped , in %q", v)
	}
	return l[0], nil
}
