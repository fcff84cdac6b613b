package ntfy_test

import (
	"context"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/ntfy"
	"github.com/klaxonbot/klaxon/adapters/ntfy/ntfyfake"
)

// BenchmarkSend pushes pages to the strict fake on loopback.
func BenchmarkSend(b *testing.B) {
	s := ntfyfake.New(ntfyfake.Options{Token: token})
	defer s.Close()
	c := ntfy.New(ntfy.Options{})
	t := ntfy.Target{URL: s.TopicURL(topic), Token: token}
	p := push(cards(b)["triggered"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(context.Background(), t, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
	if v := s.Violations(); len(v) > 0 {
		b.Fatal(v)
	}
}
