package twilio_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
)

func TestSendSMS(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	body := twilio.FitSMS("klaxon SEV1 INC-42 payments: Disk full on db-1\nAck: https://k.example.com/a/x", 3)
	sid, err := c.SendSMS(context.Background(), to, body, "https://klaxon.example.com/twilio/sms-status?i=INC-42")
	if err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.SID != sid || !strings.HasPrefix(sid, "SM") || m.To != to || m.From != from || m.Body != body ||
		m.StatusCallback != "https://klaxon.example.com/twilio/sms-status?i=INC-42" || m.Segments != 1 || m.Encoding != twilio.GSM7 {
		t.Errorf("recorded %+v, sid %q", m, sid)
	}
	if len(s.Calls()) != 0 {
		t.Error("a call was placed")
	}

	// No callback: no StatusCallback parameter.
	if _, err := c.SendSMS(context.Background(), to, "hi", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Messages()[1].Form["StatusCallback"]; ok {
		t.Error("empty StatusCallback sent")
	}
}

func TestSendSMSChecksFirst(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	for _, tc := range []struct{ to, body, cb, code string }{
		{"4155550199", "hi", "", "bad_to"},
		{to, "", "", "bad_sms"},
		{to, " \n ", "", "bad_sms"},
		{to, "\xff", "", "bad_sms"},
		{to, strings.Repeat("a", twilio.MaxSMSBody+1), "", "sms_too_long"},
		{to, "hi", "ftp://x", "bad_sms"},
	} {
		_, err := c.SendSMS(ctx, tc.to, tc.body, tc.cb)
		wantCode(t, err, tc.code, false)
	}
	if _, err := c.SendSMS(ctx, to, strings.Repeat("ж", twilio.MaxSMSBody), ""); err != nil {
		t.Errorf("1600 characters: %v", err)
	}
	if n := s.Requests(); n != 1 {
		t.Errorf("%d requests, want only the valid one", n)
	}
	noViolations(t, s)
}

func TestSendSMSOptedOut(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	s.Stop(to)
	_, err := c.SendSMS(context.Background(), to, "page", "")
	e := wantCode(t, err, "twilio_21610", false)
	if !twilio.IsOptedOut(err) || e.Status != http.StatusBadRequest {
		t.Errorf("IsOptedOut false for %v", err)
	}
	if !twilio.IsOptedOut(fmt.Errorf("outbox: %w", err)) {
		t.Error("IsOptedOut does not see through wrapping")
	}
	if twilio.IsOptedOut(errors.New("twilio_21610")) || twilio.IsOptedOut(nil) {
		t.Error("IsOptedOut of another error")
	}
	s.Start(to)
	if _, err := c.SendSMS(context.Background(), to, "page", ""); err != nil {
		t.Errorf("after START: %v", err)
	}
	noViolations(t, s)
}

func TestSendSMSErrors(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()

	s.Fail(1, http.StatusTooManyRequests, 20429)
	_, err := c.SendSMS(ctx, to, "x", "")
	if e := wantCode(t, err, "twilio_20429", true); e.RetryAfter() != time.Second {
		t.Errorf("Retry-After %v", e.RetryAfter())
	}
	s.Fail(1, http.StatusInternalServerError, 0)
	_, err = c.SendSMS(ctx, to, "x", "")
	wantCode(t, err, "http_500", true)
	if twilio.IsOptedOut(err) {
		t.Error("500 is not an opt-out")
	}

	bad, _ := twilio.New(twilio.Options{AccountSID: s.AccountSID(), AuthToken: "wrong-token", From: from, APIURL: s.URL()})
	_, err = bad.SendSMS(ctx, to, "x", "")
	wantCode(t, err, "twilio_20003", false)

	// The server is gone: a network error, retryable.
	s.Close()
	_, err = c.SendSMS(ctx, to, "x", "")
	wantCode(t, err, "network", true)
}

func TestInboundSMSRoundTrip(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	const public = "https://klaxon.example.com"
	var mu sync.Mutex
	var got twilio.InboundSMS
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := twilio.VerifyRequest(s.AuthToken(), public, r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		m, err := twilio.ParseInboundSMS(form)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = m
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		w.Write(twilio.ReplyTwiML("Acknowledged INC-42 <thanks> & bye"))
	}))
	defer hook.Close()

	resp, params, err := s.InboundSMS(context.Background(), hook.URL+"/twilio/sms", public+"/twilio/sms", "+14155550199", from, "ACK 42 ✅")
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, reply)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.From != "+14155550199" || got.To != from || got.Body != "ACK 42 ✅" || got.MessageSid != params.Get("MessageSid") ||
		!strings.HasPrefix(got.MessageSid, "SM") || got.AccountSid != s.AccountSID() {
		t.Errorf("parsed %+v", got)
	}
	var doc struct {
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal(reply, &doc); err != nil || doc.Message != "Acknowledged INC-42 <thanks> & bye" {
		t.Errorf("reply %s: %q %v", reply, doc.Message, err)
	}

	// Signed over the wrong URL (the listener's, not the public one):
	// refused.
	resp, _, err = s.InboundSMS(context.Background(), hook.URL+"/twilio/sms", "", "+14155550199", from, "ACK")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong signed URL: %d", resp.StatusCode)
	}
}

func TestParseInboundSMS(t *testing.T) {
	ok := url.Values{"From": {"+14155550199"}, "To": {from}, "Body": {"ack"}, "MessageSid": {"SM" + strings.Repeat("a", 32)},
		"AccountSid": {twiliofake.AccountSID}}
	m, err := twilio.ParseInboundSMS(ok)
	if err != nil || m.Body != "ack" || m.From != "+14155550199" {
		t.Fatalf("%+v %v", m, err)
	}
	for name, edit := range map[string]func(url.Values){
		"no from":      func(f url.Values) { f.Del("From") },
		"from short":   func(f url.Values) { f.Set("From", "12345") },
		"bad to":       func(f url.Values) { f.Set("To", "+0") },
		"no sid":       func(f url.Values) { f.Del("MessageSid") },
		"call sid":     func(f url.Values) { f.Set("MessageSid", "CA"+strings.Repeat("a", 32)) },
		"bad account":  func(f url.Values) { f.Set("AccountSid", "AC1") },
		"long body":    func(f url.Values) { f.Set("Body", strings.Repeat("x", twilio.MaxSMSBody+1)) },
		"control from": func(f url.Values) { f.Set("From", "+1415\r\nX: y") },
	} {
		f := url.Values{}
		for k, v := range ok {
			f[k] = append([]string(nil), v...)
		}
		edit(f)
		if _, err := twilio.ParseInboundSMS(f); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s: error %q holds a line break", name, err)
		}
	}
	// Older webhooks, an MMS without text, invalid UTF-8.
	f := url.Values{"From": {"+14155550199"}, "To": {from}, "SmsMessageSid": {"MM" + strings.Repeat("b", 32)}, "Body": {"\xffhi"}}
	m, err = twilio.ParseInboundSMS(f)
	if err != nil || m.MessageSid != "MM"+strings.Repeat("b", 32) || m.Body != "\uFFFDhi" {
		t.Errorf("%+v %v", m, err)
	}
}

func FuzzParseInboundSMS(f *testing.F) {
	f.Add("From=%2B14155550199&To=%2B14155550100&Body=ack+42&MessageSid=SM0123456789abcdef0123456789abcdef")
	f.Add("From=%2B1&To=&Body=%FF&SmsMessageSid=MM0123456789abcdef0123456789abcdef&AccountSid=AC")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		m, err := twilio.ParseInboundSMS(form)
		if err != nil {
			if !utf8.ValidString(err.Error()) || strings.ContainsAny(err.Error(), "\r\n") || len(err.Error()) > 300 {
				t.Fatalf("error %q", err)
			}
			return
		}
		if twilio.ValidE164(m.From) != nil || twilio.ValidE164(m.To) != nil || !utf8.ValidString(m.Body) ||
			utf8.RuneCountInString(m.Body) > twilio.MaxSMSBody || len(m.MessageSid) != 34 {
			t.Fatalf("accepted %+v", m)
		}
		// The reply to anything parsed is well-formed XML.
		if err := xml.Unmarshal(twilio.ReplyTwiML(m.Body), new(struct{})); err != nil {
			t.Fatalf("ReplyTwiML(%q): %v", m.Body, err)
		}
	})
}

func TestReplyTwiML(t *testing.T) {
	const decl = `<?xml version="1.0" encoding="UTF-8"?>`
	for in, want := range map[string]string{
		"":                  decl + `<Response/>`,
		"  \n":              decl + `<Response/>`,
		"Acknowledged.":     decl + `<Response><Message>Acknowledged.</Message></Response>`,
		`<a href="x">&</a>`: decl + `<Response><Message>&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;</Message></Response>`,
		"bell\x07":          decl + "<Response><Message>bell\uFFFD</Message></Response>",
	} {
		if got := string(twilio.ReplyTwiML(in)); got != want {
			t.Errorf("ReplyTwiML(%q) = %s, want %s", in, got, want)
		}
	}
	long := string(twilio.ReplyTwiML(strings.Repeat("x", 2000)))
	var doc struct {
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal([]byte(long), &doc); err != nil || utf8.RuneCountInString(doc.Message) != twilio.MaxSMSBody || !strings.HasSuffix(doc.Message, "…") {
		t.Errorf("long reply: %d characters, %v", utf8.RuneCountInString(doc.Message), err)
	}
}

func TestCarrierKeyword(t *testing.T) {
	for body, want := range map[string]string{
		"STOP": twilio.KeywordOptOut, "stop": twilio.KeywordOptOut, " Stop \n": twilio.KeywordOptOut,
		"STOPALL": twilio.KeywordOptOut, "unsubscribe": twilio.KeywordOptOut, "CANCEL": twilio.KeywordOptOut,
		"end": twilio.KeywordOptOut, "Quit": twilio.KeywordOptOut, "REVOKE": twilio.KeywordOptOut, "optout": twilio.KeywordOptOut,
		"START": twilio.KeywordOptIn, "yes": twilio.KeywordOptIn, "UnStop": twilio.KeywordOptIn,
		"HELP": twilio.KeywordHelp, "info": twilio.KeywordHelp,
		"STOP PLEASE": "", "please stop": "", "stop.": "", "STOP ALL": "", "ſtop": "", "STOPP": "",
		"": "", "1": "", "ack": "", "INC-42": "", "opt-out": "", "ｓｔｏｐ": "",
	} {
		kind, ok := twilio.CarrierKeyword(body)
		if kind != want || ok != (want != "") {
			t.Errorf("CarrierKeyword(%q) = %q %v, want %q", body, kind, ok, want)
		}
	}
}
