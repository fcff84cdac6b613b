package ical

import (
	"testing"
	"time"
)

// TestDuration checks RFC 5545's dur-value grammar: dur-time is hours,
// then minutes, then seconds, with no gap (PT1H0M5S, never PT1H5S).
func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                              "P0D",
		-time.Hour:                     "P0D",
		time.Second:                    "PT1S",
		90 * time.Second:               "PT1M30S",
		time.Hour:                      "PT1H",
		time.Hour + 5*time.Second:      "PT1H0M5S",
		time.Hour + 30*time.Minute:     "PT1H30M",
		24 * time.Hour:                 "P1D",
		36 * time.Hour:                 "P1DT12H",
		7*24*time.Hour + time.Minute:   "P7DT1M",
		2*24*time.Hour + 3*time.Second: "P2DT3S",
		1500 * time.Millisecond:        "PT1S",
		30 * time.Minute:               "PT30M",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %s, want %s", d, got, want)
		}
	}
}
