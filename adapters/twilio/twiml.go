package twilio

import (
	"encoding/xml"
	"strings"
)

// Goodbye is what a call says when no key was pressed in time.
const Goodbye = "We did not get an answer. Goodbye."

// GatherTwiml is the TwiML of a call that reads say (twice, with a pause
// between) and waits for one key, which Twilio POSTs to action as Digits:
//
//	<Response><Gather numDigits="1" action="ACTION" method="POST" timeout="8">
//	<Say voice="VOICE">SAY</Say><Pause length="1"/><Say voice="VOICE">SAY</Say>
//	</Gather><Say voice="VOICE">We did not get an answer. Goodbye.</Say></Response>
//
// (without the line breaks). A key pressed while say is read counts. voice
// "" leaves Twilio's default voice. Every value is XML-escaped. The result
// stays within MaxTwiml bytes (so characters): when say does not fit twice
// it is read once, cut as needed and ended with "…"; if even the action URL
// does not fit, the TwiML is longer and Call refuses it.
func GatherTwiml(say, action, voice string) string {
	sayOpen := "<Say>"
	if voice != "" {
		sayOpen = `<Say voice="` + escape(voice) + `">`
	}
	head := `<Response><Gather numDigits="1" action="` + escape(action) + `" method="POST" timeout="8">`
	tail := `</Gather>` + sayOpen + escape(Goodbye) + `</Say></Response>`
	text := escape(say)
	twice := head + sayOpen + text + `</Say><Pause length="1"/>` + sayOpen + text + "</Say>" + tail
	if len(twice) <= MaxTwiml {
		return twice
	}
	frame := len(head) + len(sayOpen) + len("</Say>") + len(tail)
	return head + sayOpen + cut(say, MaxTwiml-frame) + "</Say>" + tail
}

// SayTwiml is the TwiML of a call that reads say and hangs up:
// <Response><Say>SAY</Say></Response>, escaped, say cut (ending with "…")
// to stay within MaxTwiml bytes.
func SayTwiml(say string) string {
	const head, tail = "<Response><Say>", "</Say></Response>"
	return head + cut(say, MaxTwiml-len(head)-len(tail)) + tail
}

// escape is s XML-escaped (text or attribute value).
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// cut is s escaped, in at most max bytes: whole characters of s, then "…"
// when some were left out. It prefers cutting at a space.
func cut(s string, max int) string {
	if e := escape(s); len(e) <= max {
		return e
	}
	const ellipsis = "…"
	budget := max - len(ellipsis)
	if budget <= 0 {
		return ""
	}
	var b strings.Builder
	lastSpace := -1 // length of b before the last space of s kept
	for _, r := range s {
		e := escape(string(r))
		if b.Len()+len(e) > budget {
			break
		}
		if r == ' ' {
			lastSpace = b.Len()
		}
		b.WriteString(e)
	}
	out := b.String()
	// Cut at a word boundary unless that loses too much.
	if lastSpace > 0 && lastSpace >= len(out)*3/4 {
		out = out[:lastSpace]
	}
	return strings.TrimRight(out, " ") + ellipsis
}
