package twilio

// This file is text messaging: sending one (Messages.json), reading an
// inbound one from the number's Messaging webhook, answering it with
// TwiML, and telling the carrier keywords (STOP, START, HELP) apart.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSMSBody is the longest Body Twilio sends, in characters; Twilio
// splits it into up to 10 segments (see Segments and FitSMS).
const MaxSMSBody = 1600

// CodeOptedOut is Twilio's error code for a message to a number that
// replied STOP (or another opt-out keyword) to this sender: nothing is sent
// until the person replies START.
const CodeOptedOut = 21610

// SendSMS sends body as a text message to the number to (E.164) and
// returns the message's SID ("SM…") once Twilio has queued it.
// statusCallback, if not "", is where Twilio POSTs the message's delivery
// status (MessageStatus: queued, sent, delivered, undelivered, failed).
//
// Arguments are checked before anything is sent: a To that is not E.164 is
// an *Error "bad_to", a body over MaxSMSBody characters "sms_too_long", an
// empty body or a callback that is no http(s) URL "bad_sms". A person who
// opted out with STOP gets an *Error "twilio_21610" that is not Temp
// (IsOptedOut). 429, 5xx and network errors are Temp; a network error or
// timeout once the request is sent may still have sent the message.
func (c *Client) SendSMS(ctx context.Context, to, body, statusCallback string) (sid string, err error) {
	const op = "SendSMS"
	if err := ValidE164(to); err != nil {
		return "", &Error{Op: op, Code: "bad_to", Err: err}
	}
	switch n := utf8.RuneCountInString(body); {
	case strings.TrimSpace(body) == "":
		return "", &Error{Op: op, Code: "bad_sms", Err: errors.New("twilio: the message body is empty")}
	case !utf8.ValidString(body):
		return "", &Error{Op: op, Code: "bad_sms", Err: errors.New("twilio: the message body is not valid UTF-8")}
	case n > MaxSMSBody:
		return "", &Error{Op: op, Code: "sms_too_long",
			Err: fmt.Errorf("twilio: the message body is %d characters, Twilio sends at most %d (use FitSMS)", n, MaxSMSBody)}
	}
	if statusCallback != "" && !httpURL(statusCallback) {
		return "", &Error{Op: op, Code: "bad_sms", Err: fmt.Errorf("twilio: status callback %q is not an http(s) URL", statusCallback)}
	}
	form := url.Values{"To": {to}, "From": {c.from}, "Body": {body}}
	if statusCallback != "" {
		form.Set("StatusCallback", statusCallback)
	}
	return c.create(ctx, op, "Messages.json", form)
}

// IsOptedOut reports whether err says that the recipient opted out of this
// sender's messages (Twilio error 21610, after they replied STOP): sending
// again fails the same way until they reply START, so page them another
// way and do not retry.
func IsOptedOut(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.TwilioCode == CodeOptedOut
}

// InboundSMS is a text message a person sent to the Twilio number, as its
// Messaging webhook POSTs it.
type InboundSMS struct {
	From       string // the sender's number, E.164
	To         string // the Twilio number it was sent to, E.164
	Body       string // the text, valid UTF-8 (may be "" for a picture message)
	MessageSid string // "SM…" (or "MM…" for MMS)
	AccountSid string // the account the number belongs to
}

var messageSidRE = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)

// ParseInboundSMS reads the parameters of an inbound-message webhook,
// already verified with VerifyRequest (which returns them). From and To
// must be E.164 numbers and MessageSid an SM or MM SID; Body may be empty
// and is made valid UTF-8; it must be at most MaxSMSBody characters.
// Errors name the parameter that is wrong and echo no more than 40
// characters of it.
func ParseInboundSMS(form url.Values) (InboundSMS, error) {
	m := InboundSMS{
		From:       form.Get("From"),
		To:         form.Get("To"),
		Body:       strings.ToValidUTF8(form.Get("Body"), "\uFFFD"),
		MessageSid: form.Get("MessageSid"),
		AccountSid: form.Get("AccountSid"),
	}
	if m.MessageSid == "" {
		m.MessageSid = form.Get("SmsMessageSid") // older webhooks
	}
	switch {
	case ValidE164(m.From) != nil:
		return InboundSMS{}, fmt.Errorf("twilio: inbound message: From %q is not an E.164 number", clip(m.From, 40))
	case ValidE164(m.To) != nil:
		return InboundSMS{}, fmt.Errorf("twilio: inbound message: To %q is not an E.164 number", clip(m.To, 40))
	case !messageSidRE.MatchString(m.MessageSid):
		return InboundSMS{}, fmt.Errorf("twilio: inbound message: MessageSid %q is not SM or MM and 32 hex digits", clip(m.MessageSid, 40))
	case m.AccountSid != "" && !sidRE.MatchString(m.AccountSid):
		return InboundSMS{}, fmt.Errorf("twilio: inbound message: AccountSid %q is not AC and 32 hex digits", clip(m.AccountSid, 40))
	}
	if n := utf8.RuneCountInString(m.Body); n > MaxSMSBody {
		return InboundSMS{}, fmt.Errorf("twilio: inbound message: Body is %d characters, more than %d", n, MaxSMSBody)
	}
	return m, nil
}

// clip is s made printable and cut to n runes (with "…").
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// ReplyTwiML is the answer to an inbound-message webhook: with text,
// Twilio sends it back to the sender —
//
//	<?xml version="1.0" encoding="UTF-8"?><Response><Message>TEXT</Message></Response>
//
// — text XML-escaped (characters XML cannot carry become U+FFFD) and cut
// to MaxSMSBody characters with "…". With text "" (or only spaces) the
// answer is an empty <Response/>: no reply.
func ReplyTwiML(text string) []byte {
	const decl = `<?xml version="1.0" encoding="UTF-8"?>`
	if strings.TrimSpace(text) == "" {
		return []byte(decl + `<Response/>`)
	}
	if utf8.RuneCountInString(text) > MaxSMSBody {
		text = string([]rune(text)[:MaxSMSBody-1]) + "…"
	}
	return []byte(decl + `<Response><Message>` + escape(text) + `</Message></Response>`)
}

// Carrier keyword kinds, as CarrierKeyword reports them.
const (
	KeywordOptOut = "opt-out" // STOP and its synonyms: Twilio stops delivering to the sender
	KeywordOptIn  = "opt-in"  // START, YES, UNSTOP: delivery resumes
	KeywordHelp   = "help"    // HELP, INFO: the sender asks what this number is
)

// carrierKeywords are the keywords Twilio acts on for long codes and
// toll-free numbers ("Twilio support for opt-out keywords (SMS STOP
// filtering)"; REVOKE and OPTOUT since 2025).
var carrierKeywords = map[string]string{
	"STOP": KeywordOptOut, "STOPALL": KeywordOptOut, "UNSUBSCRIBE": KeywordOptOut, "CANCEL": KeywordOptOut,
	"END": KeywordOptOut, "QUIT": KeywordOptOut, "REVOKE": KeywordOptOut, "OPTOUT": KeywordOptOut,
	"START": KeywordOptIn, "YES": KeywordOptIn, "UNSTOP": KeywordOptIn,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// CarrierKeyword reports whether body is one of the keywords Twilio and
// the carriers act on, and which kind: KeywordOptOut (STOP, STOPALL,
// UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT), KeywordOptIn (START,
// YES, UNSTOP) or KeywordHelp (HELP, INFO). Like Twilio, it matches only a
// message that is the keyword alone, in any letter case, with spaces
// around it ignored: "stop" is one, "STOP PLEASE" and "stop." are not.
//
// Only ASCII letters match: "ſtop" (with a long s) is not STOP.
//
// With Twilio's default handling, Twilio has already acted on the keyword
// when the webhook arrives and has answered it itself (the opt-out or
// opt-in confirmation, the help text): record it and answer with an empty
// ReplyTwiML(""), or the person gets two answers. Only where that handling
// is turned off for the account must the application answer.
func CarrierKeyword(body string) (kind string, ok bool) {
	w := strings.TrimSpace(body)
	if len(w) > len("UNSUBSCRIBE") {
		return "", false
	}
	for i := 0; i < len(w); i++ {
		if c := w[i] | 0x20; c < 'a' || c > 'z' {
			return "", false
		}
	}
	kind, ok = carrierKeywords[strings.ToUpper(w)]
	return kind, ok
}
