package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// summary is a run's result; -json prints it as is.
type summary struct {
	URL              string  `json:"url"`
	RunID            string  `json:"run_id"`
	Mode             string  `json:"mode"`
	AlertsPerPayload int     `json:"alerts_per_payload"`
	Groups           int     `json:"groups,omitempty"` // modes join and repeat
	Concurrency      int     `json:"concurrency"`
	DurationS        float64 `json:"duration_s"`
	TargetAlertsPerS float64 `json:"target_alerts_per_s"` // 0: as fast as possible
	SeedRequests     int     `json:"seed_requests"`       // groups opened before the clock, unmeasured
	SeedS            float64 `json:"seed_s"`
	StoppedBy        string  `json:"stopped_by"` // duration, max-payloads or interrupted

	Sent       int64            `json:"sent"`
	OK         int64            `json:"ok"`
	Failed     int64            `json:"failed"`
	Errors     map[string]int64 `json:"errors"` // "status 503", "timeout", "connection refused", ...
	FirstError string           `json:"first_error,omitempty"`

	// ElapsedS runs from the start to when sending stopped or, if later,
	// the end of the last request; the rates are ok answers over it.
	SendWindowS  float64 `json:"send_window_s"` // start to when sending stopped
	ElapsedS     float64 `json:"elapsed_s"`
	PayloadsPerS float64 `json:"payloads_per_s"`
	AlertsPerS   float64 `json:"alerts_per_s"`
	// LatencyMs is of ok answers, from each request's due time (open loop)
	// to its answer's end; exact order statistics of every sample.
	LatencyMs   percentiles `json:"latency_ms"`
	SampleCount int64       `json:"latency_samples"`

	// Paced runs only: payloads due within the run, those never sent, how
	// late requests started, how far behind the schedule was at the end.
	Scheduled      int64        `json:"scheduled,omitempty"`
	Missed         int64        `json:"missed"`
	StartLagMs     *percentiles `json:"start_lag_ms,omitempty"`
	BehindAtEndS   float64      `json:"behind_at_end_s"`
	RateKept       *bool        `json:"rate_kept,omitempty"`
	lagTolerance   time.Duration
	payloadsTarget float64
}

type percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

// percentilesOf sorts d and takes nearest-rank percentiles, in ms.
func percentilesOf(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(d)))) - 1
		i = min(max(i, 0), len(d)-1)
		return ms(d[i])
	}
	return percentiles{P50: at(50), P90: at(90), P99: at(99), P999: at(99.9), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// summarize merges the workers' tallies.
func (l *load) summarize(tallies []*tally, start, stopAt time.Time, dispatched int64) *summary {
	c := l.c
	s := &summary{
		URL: c.url, RunID: c.runID, Mode: c.mode, AlertsPerPayload: c.alerts,
		Concurrency: c.concurrency, DurationS: c.duration.Seconds(), TargetAlertsPerS: c.rate,
		Errors: map[string]int64{},
	}
	if c.mode != "new" {
		s.Groups = c.groups
	}
	var lat, lag []time.Duration
	last := stopAt // a paced run lasts its window even if the last answer came early
	for _, t := range tallies {
		lat = append(lat, t.lat...)
		lag = append(lag, t.lag...)
		for k, n := range t.errs {
			s.Errors[k] += n
		}
		if s.FirstError == "" {
			s.FirstError = t.firstErr
		}
		if t.last.After(last) {
			last = t.last
		}
	}
	s.Sent, s.OK, s.Failed = l.sent.Load(), l.ok.Load(), l.failed.Load()
	s.SampleCount = int64(len(lat))
	s.SendWindowS = stopAt.Sub(start).Seconds()
	s.ElapsedS = last.Sub(start).Seconds()
	if s.ElapsedS > 0 {
		s.PayloadsPerS = float64(s.OK) / s.ElapsedS
		s.AlertsPerS = s.PayloadsPerS * float64(c.alerts)
	}
	s.LatencyMs = percentilesOf(lat)
	if c.rate > 0 {
		interval := l.interval()
		s.payloadsTarget = c.rate / float64(c.alerts)
		s.Scheduled = l.scheduledBefore(start, stopAt)
		s.Missed = s.Scheduled - dispatched
		if s.Missed > 0 {
			s.BehindAtEndS = stopAt.Sub(due(start, interval, dispatched)).Seconds()
		}
		p := percentilesOf(lag)
		s.StartLagMs = &p
		// Timer wake-ups and the odd GC pause make starts a little late;
		// more than that, in the run or at its end, is a rate not kept.
		s.lagTolerance = max(10*time.Millisecond, time.Duration(interval))
		kept := p.P99 <= ms(s.lagTolerance) && s.BehindAtEndS <= s.lagTolerance.Seconds()
		s.RateKept = &kept
	}
	return s
}

func (s *summary) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func (s *summary) writeText(w io.Writer) {
	target := "as fast as possible"
	if s.TargetAlertsPerS > 0 {
		target = fmt.Sprintf("target %g alerts/s", s.TargetAlertsPerS)
	}
	fmt.Fprintf(w, "klaxon-load run %s: mode %s, %d alert(s)/payload, %s, concurrency %d, %gs -> %s\n",
		s.RunID, s.Mode, s.AlertsPerPayload, target, s.Concurrency, s.DurationS, s.URL)
	if s.SeedRequests > 0 {
		fmt.Fprintf(w, "  setup:      opened %d groups first in %.2fs (not measured)\n", s.SeedRequests, s.SeedS)
	}
	fmt.Fprintf(w, "  requests:   %d sent, %d ok (200), %d failed; stopped by %s\n", s.Sent, s.OK, s.Failed, s.StoppedBy)
	if len(s.Errors) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
			parts = append(parts, fmt.Sprintf("%s: %d", k, s.Errors[k]))
		}
		fmt.Fprintf(w, "  errors:     %s\n", strings.Join(parts, ", "))
		fmt.Fprintf(w, "  first:      %s\n", s.FirstError)
	}
	fmt.Fprintf(w, "  throughput: %.1f payloads/s, %.1f alerts/s (ok answers over %.3fs)\n", s.PayloadsPerS, s.AlertsPerS, s.ElapsedS)
	p := s.LatencyMs
	fmt.Fprintf(w, "  latency:    p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms (%d ok answers, from due time)\n",
		p.P50, p.P90, p.P99, p.P999, p.Max, s.SampleCount)
	if s.RateKept == nil {
		return
	}
	lag := s.StartLagMs
	if *s.RateKept {
		fmt.Fprintf(w, "  rate:       kept %g alerts/s (%.4g payloads/s); starts lagged the schedule p99 %.2fms, max %.2fms\n",
			s.TargetAlertsPerS, s.payloadsTarget, lag.P99, lag.Max)
		if s.Missed > 0 {
			fmt.Fprintf(w, "              (%d payload(s) due in the last %.1fms were not sent)\n", s.Missed, s.BehindAtEndS*1000)
		}
		return
	}
	sentRate := 0.0
	if s.SendWindowS > 0 {
		sentRate = float64(s.Sent) * float64(s.AlertsPerPayload) / s.SendWindowS
	}
	fmt.Fprintf(w, "  rate:       NOT KEPT: %g alerts/s (%.4g payloads/s) wanted, %.1f alerts/s sent\n",
		s.TargetAlertsPerS, s.payloadsTarget, sentRate)
	fmt.Fprintf(w, "              %d of %d payloads due were never sent; %.3fs behind schedule at the end;\n",
		s.Missed, s.Scheduled, s.BehindAtEndS)
	fmt.Fprintf(w, "              starts lagged the schedule p50 %.2fms, p99 %.2fms, max %.2fms (tolerance %s)\n",
		lag.P50, lag.P99, lag.Max, fmtDur(s.lagTolerance))
	fmt.Fprintf(w, "              (klaxon did not answer fast enough for %d requests in flight: it is saturated, or raise -concurrency)\n",
		s.Concurrency)
}
