package twiliofake

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/twilio"
)

// RecordedSMS is a text message the fake accepted.
type RecordedSMS struct {
	SID            string // "SM" and 32 hex digits
	To, From       string
	Body           string
	StatusCallback string
	Segments       int    // as twilio.Segments counts them
	Encoding       string // twilio.GSM7 or twilio.UCS2
	At             time.Time
	Form           url.Values // the whole form as received
}

// Messages are the text messages accepted so far, oldest first.
func (s *Server) Messages() []RecordedSMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedSMS, len(s.messages))
	for i, m := range s.messages {
		m.Form = cloneValues(m.Form)
		out[i] = m
	}
	return out
}

// Stop marks number as having replied STOP: messages to it are refused
// with HTTP 400 and error 21610, as Twilio refuses them, until Start.
func (s *Server) Stop(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped[number] = true
}

// Start undoes Stop, as the person replying START does.
func (s *Server) Start(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.stopped, number)
}

// message serves Messages.json after authentication and injected failures.
func (s *Server) message(w http.ResponseWriter, f url.Values) {
	to, from, body, cb := f.Get("To"), f.Get("From"), f.Get("Body"), f.Get("StatusCallback")
	switch {
	case to == "":
		s.violation(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case twilio.ValidE164(to) != nil:
		s.violation(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+to)
		return
	case from == "" && f.Get("MessagingServiceSid") == "":
		s.violation(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
		return
	case from != "" && twilio.ValidE164(from) != nil:
		s.violation(w, http.StatusBadRequest, 21212, "Invalid 'From' Phone Number: "+from)
		return
	case body == "" && f.Get("MediaUrl") == "":
		s.violation(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case !utf8.ValidString(body):
		s.violation(w, http.StatusBadRequest, 21602, "Message body is not valid UTF-8.")
		return
	case utf8.RuneCountInString(body) > twilio.MaxSMSBody:
		s.violation(w, http.StatusBadRequest, 21617,
			fmt.Sprintf("The concatenated message body exceeds the %d character limit: %d", twilio.MaxSMSBody, utf8.RuneCountInString(body)))
		return
	case cb != "" && !httpURL(cb):
		s.violation(w, http.StatusBadRequest, 21609, "Invalid StatusCallback URL: "+cb)
		return
	}
	s.mu.Lock()
	stopped := s.stopped[to]
	s.mu.Unlock()
	if stopped {
		// Not a violation: the client could not know.
		writeError(w, http.StatusBadRequest, twilio.CodeOptedOut, "Attempt to send to unsubscribed recipient")
		return
	}
	now := time.Now()
	n, enc := twilio.Segments(body)
	m := RecordedSMS{SID: newSID("SM"), To: to, From: from, Body: body, StatusCallback: cb,
		Segments: n, Encoding: enc, At: now, Form: cloneValues(f)}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid":          m.SID,
		"account_sid":  s.sid,
		"to":           to,
		"from":         from,
		"body":         body,
		"status":       "queued",
		"num_segments": fmt.Sprint(n),
		"num_media":    "0",
		"direction":    "outbound-api",
		"api_version":  "2010-04-01",
		"date_created": now.UTC().Format(time.RFC1123Z),
		"uri":          "/2010-04-01/Accounts/" + s.sid + "/Messages/" + m.SID + ".json",
	})
}

// SMSParams are the parameters Twilio POSTs to a number's Messaging
// webhook for a text message body from the number from to the Twilio
// number to, with a new MessageSid.
func (s *Server) SMSParams(from, to, body string) url.Values {
	sid := newSID("SM")
	n, _ := twilio.Segments(body)
	return url.Values{
		"AccountSid":    {s.sid},
		"MessageSid":    {sid},
		"SmsMessageSid": {sid},
		"SmsSid":        {sid},
		"SmsStatus":     {"received"},
		"From":          {from},
		"To":            {to},
		"Body":          {body},
		"NumMedia":      {"0"},
		"NumSegments":   {fmt.Sprint(n)},
		"ApiVersion":    {"2010-04-01"},
	}
}

// InboundSMS POSTs to target the webhook of a text message body sent from
// the number from to the Twilio number to (SMSParams), as Twilio does:
// signed with X-Twilio-Signature over publicURL — the URL Twilio is
// configured with, e.g. "https://klaxon.example.com/twilio/sms", which
// behind a proxy differs from target, where the test server listens — or
// over target when publicURL is "". It returns the answer (the caller
// closes its body) and the parameters sent.
func (s *Server) InboundSMS(ctx context.Context, target, publicURL, from, to, body string) (*http.Response, url.Values, error) {
	params := s.SMSParams(from, to, body)
	if publicURL == "" {
		publicURL = target
	}
	resp, err := s.post(ctx, target, publicURL, params)
	return resp, params, err
}

// post POSTs params as a form to target, signed over signedURL.
func (s *Server) post(ctx context.Context, target, signedURL string, params url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set(twilio.SignatureHeader, twilio.Signature(s.token, signedURL, params))
	return callbackClient.Do(req)
}
