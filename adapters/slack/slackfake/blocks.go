package slackfake

import (
	"fmt"
	"unicode/utf16"
)

// units counts s in UTF-16 code units, never fewer than its characters.
func units(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// checker collects the Block Kit problems of one message.
type checker struct {
	probs     []string
	blockIDs  map[string]bool
	actionIDs map[string]bool
}

func (c *checker) bad(where, format string, args ...any) {
	if len(c.probs) < 20 {
		c.probs = append(c.probs, where+": "+fmt.Sprintf(format, args...))
	}
}

// checkBlocks returns what Slack would refuse in blocks (decoded JSON).
func checkBlocks(blocks []any) []string {
	c := &checker{blockIDs: map[string]bool{}, actionIDs: map[string]bool{}}
	if len(blocks) > MaxBlocks {
		c.bad("blocks", "%d blocks (> %d)", len(blocks), MaxBlocks)
	}
	for i, b := range blocks {
		c.block(fmt.Sprintf("block %d", i), b)
	}
	return c.probs
}

func str(o map[string]any, k string) (string, bool) {
	v, ok := o[k].(string)
	return v, ok
}

func (c *checker) block(where string, v any) {
	b, ok := v.(map[string]any)
	if !ok {
		c.bad(where, "not an object")
		return
	}
	typ, _ := str(b, "type")
	where += " (" + typ
	if id, ok := b["block_id"]; ok {
		s, isStr := id.(string)
		switch {
		case !isStr || s == "":
			c.bad(where+")", "block_id must be a non-empty string")
		case units(s) > MaxBlockIDLen:
			c.bad(where+")", "block_id is %d characters (> %d)", units(s), MaxBlockIDLen)
		case c.blockIDs[s]:
			c.bad(where+")", "block_id %q repeats", s)
		default:
			c.blockIDs[s] = true
		}
		where += " " + fmt.Sprintf("%q", truncate(s, 40))
	}
	where += ")"
	switch typ {
	case "header":
		c.text(where+" text", b["text"], MaxHeaderLen, true)
	case "section":
		_, hasText := b["text"]
		fields, hasFields := b["fields"]
		if !hasText && !hasFields {
			c.bad(where, "a section needs text or fields")
		}
		if hasText {
			c.text(where+" text", b["text"], MaxTextObjectLen, false)
		}
		if hasFields {
			fs, ok := fields.([]any)
			switch {
			case !ok || len(fs) == 0:
				c.bad(where, "fields must be a non-empty array")
			case len(fs) > MaxFields:
				c.bad(where, "%d fields (> %d)", len(fs), MaxFields)
			}
			for j, f := range fs {
				c.text(fmt.Sprintf("%s field %d", where, j), f, MaxFieldLen, false)
			}
		}
		if acc, ok := b["accessory"]; ok {
			c.element(where+" accessory", acc)
		}
	case "actions":
		els, ok := b["elements"].([]any)
		switch {
		case !ok || len(els) == 0:
			c.bad(where, "elements must be a non-empty array")
		case len(els) > MaxElements:
			c.bad(where, "%d elements (> %d)", len(els), MaxElements)
		}
		for j, e := range els {
			c.element(fmt.Sprintf("%s element %d", where, j), e)
		}
	case "context":
		els, ok := b["elements"].([]any)
		switch {
		case !ok || len(els) == 0:
			c.bad(where, "elements must be a non-empty array")
		case len(els) > MaxContext:
			c.bad(where, "%d elements (> %d)", len(els), MaxContext)
		}
		for j, e := range els {
			w := fmt.Sprintf("%s element %d", where, j)
			if o, ok := e.(map[string]any); ok && o["type"] == "image" {
				c.image(w, o)
				continue
			}
			c.text(w, e, MaxTextObjectLen, false)
		}
	case "divider":
	case "image":
		c.image(where, b)
	case "rich_text", "input", "file", "video", "markdown":
		// accepted, not checked further
	default:
		c.bad(where, "unknown block type %q", typ)
	}
}

// text checks a text object of at most max units.
func (c *checker) text(where string, v any, max int, plainOnly bool) {
	o, ok := v.(map[string]any)
	if !ok {
		c.bad(where, "not a text object")
		return
	}
	typ, _ := str(o, "type")
	switch {
	case typ != "plain_text" && typ != "mrkdwn":
		c.bad(where, "text object type %q", typ)
	case plainOnly && typ != "plain_text":
		c.bad(where, "must be plain_text")
	}
	if _, ok := o["emoji"]; ok && typ == "mrkdwn" {
		c.bad(where, "emoji is only for plain_text")
	}
	t, ok := str(o, "text")
	switch {
	case !ok || t == "":
		c.bad(where, "text must be a non-empty string")
	case units(t) > max:
		c.bad(where, "text is %d characters (> %d)", units(t), max)
	}
}

func (c *checker) image(where string, o map[string]any) {
	u, _ := str(o, "image_url")
	alt, _ := str(o, "alt_text")
	if u == "" || units(u) > MaxURLLen {
		c.bad(where, "image_url must be 1..%d characters", MaxURLLen)
	}
	if alt == "" || units(alt) > 2000 {
		c.bad(where, "alt_text must be 1..2000 characters")
	}
}

func (c *checker) element(where string, v any) {
	o, ok := v.(map[string]any)
	if !ok {
		c.bad(where, "not an object")
		return
	}
	typ, _ := str(o, "type")
	if id, ok := o["action_id"]; ok {
		s, isStr := id.(string)
		switch {
		case !isStr || s == "":
			c.bad(where, "action_id must be a non-empty string")
		case units(s) > MaxActionIDLen:
			c.bad(where, "action_id is %d characters (> %d)", units(s), MaxActionIDLen)
		case c.actionIDs[s]:
			c.bad(where, "action_id %q repeats", s)
		default:
			c.actionIDs[s] = true
		}
	}
	switch typ {
	case "button":
		c.text(where+" text", o["text"], MaxButtonTextLen, true)
		if val, ok := o["value"]; ok {
			s, isStr := val.(string)
			if !isStr || units(s) > MaxValueLen {
				c.bad(where, "value must be a string of at most %d characters", MaxValueLen)
			}
		}
		if u, ok := o["url"]; ok {
			s, isStr := u.(string)
			if !isStr || s == "" || units(s) > MaxURLLen {
				c.bad(where, "url must be a string of 1..%d characters", MaxURLLen)
			}
		}
		if st, ok := o["style"]; ok && st != "primary" && st != "danger" {
			c.bad(where, "style %v is neither primary nor danger", st)
		}
	case "static_select", "external_select", "users_select", "conversations_select", "channels_select",
		"overflow", "datepicker", "timepicker", "datetimepicker", "checkboxes", "radio_buttons", "image",
		"multi_static_select", "multi_users_select", "multi_conversations_select", "multi_channels_select":
		// accepted, not checked further
	default:
		c.bad(where, "unknown element type %q", typ)
	}
}
