package telegramfake

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// entity is a formatting entity of a parsed text, offsets in UTF-16 units.
type entity struct {
	Type   string
	Offset int
	Length int
	URL    string
}

// tagTypes are the tags of Telegram's parse_mode HTML and their entity types.
var tagTypes = map[string]string{
	"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "code": "code", "pre": "pre",
	"a": "text_link", "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
}

type open struct {
	name   string
	typ    string
	url    string
	offset int
}

// parseHTML parses text like Telegram's parse_mode HTML, strictly: only the
// tags Telegram knows (a with href, span only with class="tg-spoiler"),
// balanced and closed in order, nothing but <code> inside <pre> and nothing
// inside <code>; only the entities &lt; &gt; &amp; &quot; and numeric ones
// (a bare "&" is an error too). It returns the text shown and the entities.
func parseHTML(s string) (string, []entity, error) {
	var out strings.Builder
	var ents []entity
	var stack []open
	units := 0
	emit := func(r rune) {
		out.WriteRune(r)
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '<':
			start := i
			i++
			closing := false
			if i < len(s) && s[i] == '/' {
				closing = true
				i++
			}
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '-') {
				j++
			}
			name := strings.ToLower(s[i:j])
			if name == "" {
				return "", nil, fmt.Errorf("Unsupported start tag at byte offset %d", start)
			}
			attrs, end, err := parseAttrs(s, j)
			if err != nil {
				return "", nil, fmt.Errorf("%s in tag %q at byte offset %d", err, name, start)
			}
			i = end
			if closing {
				if len(attrs) > 0 {
					return "", nil, fmt.Errorf("Unexpected attributes in end tag at byte offset %d", start)
				}
				if len(stack) == 0 {
					return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", start)
				}
				top := stack[len(stack)-1]
				if top.name != name {
					return "", nil, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", start, top.name, name)
				}
				stack = stack[:len(stack)-1]
				if n := units - top.offset; n > 0 && top.typ != "" {
					ents = append(ents, entity{Type: top.typ, Offset: top.offset, Length: n, URL: top.url})
				}
				continue
			}
			typ, ok := tagTypes[name]
			if !ok {
				return "", nil, fmt.Errorf("Unsupported start tag \"%s\" at byte offset %d", name, start)
			}
			o := open{name: name, typ: typ, offset: units}
			switch name {
			case "a":
				href, ok := attrs["href"]
				if !ok || strings.TrimSpace(href) == "" {
					return "", nil, fmt.Errorf("Tag \"a\" must have attribute \"href\" at byte offset %d", start)
				}
				o.url = href
			case "span":
				if attrs["class"] != "tg-spoiler" {
					return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", start)
				}
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1].name
				if parent == "code" || (parent == "pre" && name != "code") {
					return "", nil, fmt.Errorf("Unsupported tag \"%s\" inside \"%s\" at byte offset %d", name, parent, start)
				}
				if parent == "pre" && name == "code" {
					o.typ = "" // the language of the pre
				}
			}
			stack = append(stack, o)
		case '&':
			j := strings.IndexByte(s[i:], ';')
			if j < 0 || j > 12 {
				return "", nil, fmt.Errorf("Character entity expected at byte offset %d", i)
			}
			ent := s[i+1 : i+j]
			var r rune
			switch {
			case ent == "lt":
				r = '<'
			case ent == "gt":
				r = '>'
			case ent == "amp":
				r = '&'
			case ent == "quot":
				r = '"'
			case strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X"):
				n, err := strconv.ParseUint(ent[2:], 16, 32)
				if err != nil || !validCode(n) {
					return "", nil, fmt.Errorf("Invalid numeric entity at byte offset %d", i)
				}
				r = rune(n)
			case strings.HasPrefix(ent, "#"):
				n, err := strconv.ParseUint(ent[1:], 10, 32)
				if err != nil || !validCode(n) {
					return "", nil, fmt.Errorf("Invalid numeric entity at byte offset %d", i)
				}
				r = rune(n)
			default:
				return "", nil, fmt.Errorf("Unsupported HTML entity \"&%s;\" at byte offset %d", ent, i)
			}
			emit(r)
			i += j + 1
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", nil, fmt.Errorf("Invalid UTF-8 at byte offset %d", i)
			}
			emit(r)
			i += size
		}
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name)
	}
	return out.String(), ents, nil
}

func validCode(n uint64) bool {
	return n > 0 && n <= utf8.MaxRune && !(n >= 0xD800 && n <= 0xDFFF)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parseAttrs reads attributes from s[i:] up to and including ">"; it
// returns them and the index after ">".
func parseAttrs(s string, i int) (map[string]string, int, error) {
	attrs := map[string]string{}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("Unclosed tag")
		}
		if s[i] == '>' {
			return attrs, i + 1, nil
		}
		j := i
		for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == '_') {
			j++
		}
		if j == i {
			return nil, 0, fmt.Errorf("Expected an attribute name, found %q", s[i])
		}
		name := strings.ToLower(s[i:j])
		i = j
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			attrs[name] = ""
			continue
		}
		i++
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("Unclosed tag")
		}
		var val string
		if q := s[i]; q == '"' || q == '\'' {
			k := strings.IndexByte(s[i+1:], q)
			if k < 0 {
				return nil, 0, fmt.Errorf("Unclosed attribute value")
			}
			val = s[i+1 : i+1+k]
			i += k + 2
		} else {
			k := i
			for k < len(s) && s[k] != ' ' && s[k] != '>' && s[k] != '\t' && s[k] != '\n' {
				k++
			}
			val = s[i:k]
			i = k
		}
		attrs[name] = html.UnescapeString(val)
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
