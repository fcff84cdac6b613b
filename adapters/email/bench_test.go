package email

import (
	"context"
	"testing"
)

// BenchmarkSend sends pages to the loopback SMTP server, one connection
// per mail as Send makes: STARTTLS with AUTH PLAIN, and plain text to a
// loopback relay.
func BenchmarkSend(b *testing.B) {
	p := page(cards(b)["triggered"])
	for _, mode := range []struct {
		name string
		o    serverOptions
		so   Options
	}{
		{"starttls+auth", serverOptions{tls: "starttls", user: "klaxon", password: password}, Options{Username: "klaxon", Password: password}},
		{"none", serverOptions{}, Options{TLS: NoTLS}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ts := newServer(b, mode.o)
			s := sender(b, ts, mode.so)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Send(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
		})
	}
}

// BenchmarkRender renders a page's subject and both parts.
func BenchmarkRender(b *testing.B) {
	s, _ := New(Options{Host: "smtp.example.com", From: "klaxon@example.com"})
	p := page(cards(b)["triggered"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Render(p); err != nil {
			b.Fatal(err)
		}
	}
}
