package charts

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"testing"
	"time"
)

// benchChart is n series of 300 points (30 s apart, 2.5 h), with the
// previous day, a threshold and an alert: a full card chart.
func benchChart(n int) Chart {
	c := Chart{
		Title:      "PodMemoryHigh: payments/api working set",
		Unit:       UnitBytes,
		Threshold:  &Threshold{Value: 4 << 30, Op: ">"},
		AlertStart: t0.Add(-30 * time.Minute),
		From:       t0.Add(-150 * time.Minute),
		To:         t0,
	}
	for i := range n {
		name := fmt.Sprintf(`{pod="api-%d", namespace="payments"}`, i)
		c.Series = append(c.Series, Series{Name: name, Points: wave(300, 30*time.Second, t0, float64((1+i)*700<<20), 80<<20, float64(i*200<<20), uint64(i))})
		c.Previous = append(c.Previous, Series{Name: name, Points: wave(300, 30*time.Second, t0.Add(-24*time.Hour), float64((1+i)*700<<20), 80<<20, 0, uint64(i+50))})
	}
	return c
}

// BenchmarkPNG draws and encodes a chart; it reports the PNG's size.
func BenchmarkPNG(b *testing.B) {
	tenK := benchChart(1)
	tenK.Series[0].Points = wave(10000, time.Second, t0, 1<<30, 100<<20, 1<<30, 9)
	tenK.Previous, tenK.From = nil, time.Time{}
	for _, bc := range []struct {
		name string
		c    Chart
	}{{"1x300", benchChart(1)}, {"5x300", benchChart(5)}, {"1x10000", tenK}} {
		b.Run(bc.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				var buf bytes.Buffer
				if err := PNG(&buf, bc.c); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size), "bytes/png")
			if size > MaxPNGBytes {
				b.Errorf("%d bytes, over the budget", size)
			}
		})
	}
}

// BenchmarkDraw draws without encoding: what drawing and encoding each cost.
func BenchmarkDraw(b *testing.B) {
	c := benchChart(5)
	for b.Loop() {
		Image(c)
	}
}

var _ = io.Discard
var _ = math.Pi
