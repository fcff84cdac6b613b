// Package icaltest reads the feeds package ical writes, strictly, for
// tests: it refuses anything a fussy client (Google Calendar drops a feed
// it cannot parse, whole and in silence) could trip on, unfolds lines and
// unescapes text. Only tests import it.
package icaltest

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Prop is one property: its name, its parameters, and its value as
// written (still escaped; see UnescapeText).
type Prop struct {
	Name   string
	Params map[string]string
	Value  string
}

// Component is a BEGIN…END block: its properties and the components in it.
type Component struct {
	Name  string
	Props []Prop
	Subs  []*Component
}

// All returns the properties named name.
func (c *Component) All(name string) []Prop {
	var out []Prop
	for _, p := range c.Props {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// One returns the only property named name, or an error.
func (c *Component) One(name string) (Prop, error) {
	ps := c.All(name)
	if len(ps) != 1 {
		return Prop{}, fmt.Errorf("%s has %d %s, want 1", c.Name, len(ps), name)
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
func parseLine(l string) (Prop, error) {
	i := strings.IndexAny(l, ";:")
	if i <= 0 {
		return Prop{}, fmt.Errorf("no name in %q", l)
	}
	p := Prop{Name: l[:i], Params: map[string]string{}}
	if !propName.MatchString(p.Name) {
		return Prop{}, fmt.Errorf("bad property name %q", p.Name)
	}
	rest := l[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !propName.MatchString(rest[:eq]) {
			return Prop{}, fmt.Errorf("bad parameter in %q", l)
		}
		k := rest[:eq]
		rest = rest[eq+1:]
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return Prop{}, fmt.Errorf("unclosed quote in %q", l)
			}
			v, rest = rest[1:end+1], rest[end+2:]
		} else {
			end := strings.IndexAny(rest, ";:")
			if end < 0 {
				return Prop{}, fmt.Errorf("no value in %q", l)
			}
			v, rest = rest[:end], rest[end:]
		}
		p.Params[k] = v
		if rest == "" {
			return Prop{}, fmt.Errorf("no value in %q", l)
		}
	}
	if rest[0] != ':' {
		return Prop{}, fmt.Errorf("no colon in %q", l)
	}
	p.Value = rest[1:]
	return p, nil
}

// Parse reads a feed strictly and returns its VCALENDAR: CRLF after
// every line and nowhere else, lines of at most 75 octets folded with one
// space and never inside a UTF-8 sequence, no control characters, names
// and parameters well formed, every block closed, one VCALENDAR.
func Parse(b []byte) (*Component, error) {
	lines, err := physicalLines(b)
	if err != nil {
		return nil, err
	}
	logical, err := unfold(lines)
	if err != nil {
		return nil, err
	}
	root := &Component{}
	stack := []*Component{root}
	for _, l := range logical {
		p, err := parseLine(l)
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch p.Name {
		case "BEGIN":
			c := &Component{Name: p.Value}
			top.Subs = append(top.Subs, c)
			stack = append(stack, c)
		case "END":
			if len(stack) == 1 || top.Name != p.Value {
				return nil, fmt.Errorf("END:%s closes %q", p.Value, top.Name)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 1 {
				return nil, fmt.Errorf("%s outside any component", p.Name)
			}
			top.Props = append(top.Props, p)
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("%s is not closed", stack[len(stack)-1].Name)
	}
	if len(root.Subs) != 1 || root.Subs[0].Name != "VCALENDAR" {
		return nil, fmt.Errorf("want one VCALENDAR, got %d components", len(root.Subs))
	}
	return root.Subs[0], nil
}

// UnescapeList reads a TEXT list: values split at unescaped commas, each
// unescaped. A bare ; or an unknown escape is an error.
func UnescapeList(v string) ([]string, error) {
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

// UnescapeText reads one TEXT value: an unescaped comma is an error too.
func UnescapeText(v string) (string, error) {
	l, err := UnescapeList(v)
	if err != nil {
		return "", err
	}
	if len(l) != 1 {
		return "", fmt.Errorf("unescaped , in %q", v)
	}
	return l[0], nil
}

// Text returns the unescaped TEXT value of c's only property name.
func (c *Component) Text(name string) (string, error) {
	p, err := c.One(name)
	if err != nil {
		return "", err
	}
	return UnescapeText(p.Value)
}

// Time returns the UTC DATE-TIME of c's only property name
// (20260105T020000Z, without parameters).
func (c *Component) Time(name string) (time.Time, error) {
	p, err := c.One(name)
	if err != nil {
		return time.Time{}, err
	}
	if len(p.Params) != 0 {
		return time.Time{}, fmt.Errorf("%s has parameters %v", name, p.Params)
	}
	return time.Parse("20060102T150405Z", p.Value)
}
