package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
	"github.com/klaxonbot/klaxon/bot"
)

// A text to a person who replied STOP fails saying so, and is still not
// worth retrying.
func TestTwilioSMSOptedOut(t *testing.T) {
	tw := twiliofake.New(twiliofake.Options{})
	defer tw.Close()
	c, err := twilio.New(twilio.Options{AccountSID: tw.AccountSID(), AuthToken: tw.AuthToken(), From: "+15550000000", APIURL: tw.URL()})
	if err != nil {
		t.Fatal(err)
	}
	tw.Stop("+15551230001")
	_, err = twilioSMS{c}.SendSMS(context.Background(), "+15551230001", "klaxon SEV1 INC-1 ops: Disk full", "")
	var te *twilio.Error
	if !strings.HasPrefix(fmt.Sprint(err), "the number opted out of klaxon's texts (replied STOP") || !errors.As(err, &te) || te.Retryable() {
		t.Fatalf("err %v", err)
	}
}

// The inbox reads Twilio's parameters and tells the carrier keywords.
func TestTwilioInbox(t *testing.T) {
	form := url.Values{"From": {"+15551230001"}, "To": {"+15550000000"}, "MessageSid": {"SM0123456789abcdef0123456789abcdef"}}
	for body, kw := range map[string]string{"1": "", " stop ": bot.KeywordOptOut, "START": bot.KeywordOptIn, "Help": bot.KeywordHelp, "stop please": ""} {
		form.Set("Body", body)
		m, err := twilioInbox{}.ParseSMS(form)
		if err != nil || m.Keyword != kw || m.From != "+15551230001" || m.ID != "SM0123456789abcdef0123456789abcdef" {
			t.Errorf("%q: %+v %v", body, m, err)
		}
	}
	form.Set("From", "alice")
	if _, err := (twilioInbox{}).ParseSMS(form); err == nil {
		t.Error("a From that is no number was read")
	}
}
