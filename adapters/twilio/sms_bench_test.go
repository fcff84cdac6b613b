package twilio_test

import (
	"context"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
)

// BenchmarkSendSMS sends text messages to the fake on loopback.
func BenchmarkSendSMS(b *testing.B) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c, err := twilio.New(twilio.Options{AccountSID: s.AccountSID(), AuthToken: s.AuthToken(), From: from, APIURL: s.URL()})
	if err != nil {
		b.Fatal(err)
	}
	body := "klaxon SEV1 INC-42 payments: Disk full on db-1\nAck: https://k.example.com/a/x"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.SendSMS(context.Background(), to, body, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
}

// BenchmarkFitSMS fits a page with a long middle into one segment.
func BenchmarkFitSMS(b *testing.B) {
	text := "klaxon SEV1 INC-42 payments: “Disk full” on db-1\n" + strings.Repeat("Check the pool – scale pay-api. ", 20) + "\nAck: https://k.example.com/a/x"
	b.ReportAllocs()
	for b.Loop() {
		twilio.FitSMS(text, 3)
	}
}
