package ntfyfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxActions is how many action buttons ntfy takes.
const MaxActions = 3

var keyRE = regexp.MustCompile(`^([-.\w]+)\s*=\s*`)

// ParseActions parses an Actions header as ntfy documents it
// (https://docs.ntfy.sh/publish/#action-buttons): actions separated by
// ";", each a list of "key=value" parts separated by ",", where the keys
// action, label and (for view and http) url may be left out of the first
// three parts; a value that holds "," or ";" is quoted with " or ' (a
// backslash escapes the quote inside). A JSON array is accepted too. It
// checks what ntfy checks — at most 3 actions, a known action, a label, an
// URL for view and http, no body with GET or HEAD, clear a boolean, no
// unknown key — and more: an http action's URL is http(s), its method
// GET, POST, PUT, PATCH or DELETE.
func ParseActions(s string) ([]Action, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return nil, errors.New("not UTF-8")
	}
	var acts []Action
	if strings.HasPrefix(s, "[") {
		var raw []struct {
			Action, Label, URL, Method, Body string
			Clear                            bool
			Headers                          map[string]string
		}
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, err
		}
		for _, a := range raw {
			acts = append(acts, Action{Action: a.Action, Label: a.Label, URL: a.URL, Method: a.Method, Body: a.Body, Clear: a.Clear, Headers: a.Headers})
		}
	} else {
		p := &parser{in: s}
		for !p.eof() {
			a, err := p.action()
			if err != nil {
				return nil, err
			}
			acts = append(acts, a)
		}
	}
	if len(acts) == 0 {
		return nil, errors.New("no action")
	}
	if len(acts) > MaxActions {
		return nil, fmt.Errorf("%d actions, at most %d allowed", len(acts), MaxActions)
	}
	for i := range acts {
		a := &acts[i]
		a.Action = strings.ToLower(a.Action)
		a.Method = strings.ToUpper(a.Method)
		switch {
		case a.Action != "view" && a.Action != "http" && a.Action != "broadcast":
			return nil, fmt.Errorf("action %q unknown", a.Action)
		case a.Label == "":
			return nil, errors.New("a label is required")
		case a.Action != "broadcast" && a.URL == "":
			return nil, fmt.Errorf("an url is required for action %q", a.Action)
		}
		if a.Action == "http" {
			if !httpURL(a.URL) {
				return nil, fmt.Errorf("url %q of an http action is not an http(s) URL", a.URL)
			}
			switch a.Method {
			case "", "POST", "PUT", "PATCH", "DELETE":
			case "GET", "HEAD":
				if a.Body != "" {
					return nil, fmt.Errorf("a body cannot be sent with %s", a.Method)
				}
			default:
				return nil, fmt.Errorf("method %q unknown", a.Method)
			}
		}
		if a.Action == "view" {
			if u, err := url.Parse(a.URL); err != nil || u.Scheme == "" {
				return nil, fmt.Errorf("url %q of a view action is not an absolute URL", a.URL)
			}
		}
	}
	return acts, nil
}

type parser struct {
	in  string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.in) }

func (p *parser) skipSpace() {
	for !p.eof() && strings.IndexByte(" \t", p.in[p.pos]) >= 0 {
		p.pos++
	}
}

// action reads one action, through its ";" or the end.
func (p *parser) action() (Action, error) {
	a := Action{Headers: map[string]string{}}
	for part := 0; ; part++ {
		p.skipSpace()
		key := ""
		if m := keyRE.FindStringSubmatch(p.in[p.pos:]); m != nil {
			key, p.pos = strings.ToLower(m[1]), p.pos+len(m[0])
		}
		value, end, err := p.value()
		if err != nil {
			return Action{}, err
		}
		if key == "" {
			switch {
			case part == 0:
				key = "action"
			case part == 1:
				key = "label"
			case part == 2 && (strings.EqualFold(a.Action, "view") || strings.EqualFold(a.Action, "http")):
				key = "url"
			default:
				return Action{}, fmt.Errorf("part %q has no key", value)
			}
		}
		switch {
		case key == "action":
			a.Action = value
		case key == "label":
			a.Label = value
		case key == "url":
			a.URL = value
		case key == "method":
			a.Method = value
		case key == "body":
			a.Body = value
		case key == "clear":
			switch strings.ToLower(value) {
			case "true", "yes", "1":
				a.Clear = true
			case "false", "no", "0":
			default:
				return Action{}, fmt.Errorf("clear=%q is not a boolean", value)
			}
		case strings.HasPrefix(key, "headers.") && len(key) > len("headers."):
			a.Headers[key[len("headers."):]] = value
		case strings.HasPrefix(key, "extras.") || key == "intent":
		default:
			return Action{}, fmt.Errorf("key %q unknown", key)
		}
		if end != ',' {
			return a, nil
		}
	}
}

// value reads a value, quoted or not, and the "," or ";" after it (0 at
// the end).
func (p *parser) value() (string, byte, error) {
	p.skipSpace()
	var v string
	if !p.eof() && (p.in[p.pos] == '"' || p.in[p.pos] == '\'') {
		q := p.in[p.pos]
		start := p.pos + 1
		i := start
		for ; i < len(p.in); i++ {
			if p.in[i] == q && p.in[i-1] != '\\' {
				break
			}
		}
		if i >= len(p.in) {
			return "", 0, fmt.Errorf("quote opened at %d is not closed", start-1)
		}
		v = strings.ReplaceAll(p.in[start:i], `\`+string(q), string(q))
		p.pos = i + 1
		p.skipSpace()
		if !p.eof() && p.in[p.pos] != ',' && p.in[p.pos] != ';' {
			return "", 0, fmt.Errorf("unexpected %q after a quoted value", p.in[p.pos])
		}
	} else {
		start := p.pos
		for !p.eof() && p.in[p.pos] != ',' && p.in[p.pos] != ';' {
			p.pos++
		}
		v = strings.TrimSpace(p.in[start:p.pos])
	}
	if p.eof() {
		return v, 0, nil
	}
	end := p.in[p.pos]
	p.pos++
	if end == ';' {
		p.skipSpace()
	}
	return v, end, nil
}
