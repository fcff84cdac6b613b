package charts

import (
	"math"
	"strconv"
	"strings"
)

// Unit says what a series' values measure, and so how an axis and a
// threshold label print them. The names are those of Prometheus's metric
// naming conventions, as klaxon's Prometheus data source reports them.
// Any other string is printed after the number as it is (see FormatValue).
type Unit string

// The units charts knows how to scale.
const (
	UnitNone           Unit = ""        // plain numbers, SI prefixes from 1000 up (1.5k, 20M)
	UnitBytes          Unit = "bytes"   // 1024-based: B, KiB, MiB, GiB, TiB, PiB, EiB
	UnitBytesPerSecond Unit = "bytes/s" // as UnitBytes, with "/s"
	UnitSeconds        Unit = "seconds" // ns, µs, ms, s, min, h, d
	UnitPercent        Unit = "percent" // values 0..100, printed "90 %"
	UnitRatio          Unit = "ratio"   // values 0..1, printed as percent: 0.9 is "90 %"
	UnitCelsius        Unit = "celsius" // "21.5 °C"
	UnitPerSecond      Unit = "/s"      // a rate without a unit: "1.5k/s"
)

// maxUnitRunes caps a unit charts does not know, as printed after a number.
const maxUnitRunes = 16

// minSpan is the narrowest value range an axis spans: a range below it
// (between subnormal numbers) has no step that float64 can add to a tick.
const minSpan = 1e-290

// maxMagnitude bounds the values charts plots: beyond it the axis arithmetic
// (max − min, a nice step above max) would overflow float64, so such values
// are treated like NaN, as gaps. No monitored quantity comes near 1e300.
const maxMagnitude = 1e300

// finite reports whether v can be plotted.
func finite(v float64) bool {
	return !math.IsNaN(v) && v >= -maxMagnitude && v <= maxMagnitude
}

// scale is how a unit prints around a magnitude: values are divided by div
// and followed by suffix.
type scale struct {
	div    float64
	suffix string
}

var (
	byteSuffixes = []string{" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"}
	siSuffixes   = []string{"", "k", "M", "G", "T", "P", "E"}
)

// scaleFor is the scale that prints magnitude m (≥ 0) of unit u with at most
// three digits before the point where the unit has prefixes.
func scaleFor(u Unit, m float64) scale {
	switch u {
	case UnitBytes, UnitBytesPerSecond:
		per := ""
		if u == UnitBytesPerSecond {
			per = "/s"
		}
		i, div := 0, 1.0
		for i < len(byteSuffixes)-1 && m >= div*1024 {
			i++
			div *= 1024
		}
		return scale{div, byteSuffixes[i] + per}
	case UnitSeconds:
		switch {
		case m == 0:
			return scale{1, " s"}
		case m < 1e-6:
			return scale{1e-9, " ns"}
		case m < 1e-3:
			return scale{1e-6, " µs"}
		case m < 1:
			return scale{1e-3, " ms"}
		case m < 60:
			return scale{1, " s"}
		case m < 3600:
			return scale{60, " min"}
		case m < 2*86400:
			return scale{3600, " h"}
		default:
			return scale{86400, " d"}
		}
	case UnitPercent:
		return scale{1, " %"}
	case UnitRatio:
		return scale{0.01, " %"}
	case UnitCelsius:
		return scale{1, " °C"}
	default:
		per := ""
		switch u {
		case UnitNone:
		case UnitPerSecond:
			per = "/s"
		default:
			per = " " + clean(string(u), maxUnitRunes)
		}
		i, div := 0, 1.0
		for i < len(siSuffixes)-1 && m >= div*1000 {
			i++
			div *= 1000
		}
		return scale{div, siSuffixes[i] + per}
	}
}

// FormatValue prints v in unit u with at most three significant digits and
// the largest prefix that keeps a digit before the point: 1536 bytes is
// "1.5 KiB", 0.25 seconds "250 ms", ratio 0.9 "90 %", 12345 plain "12.3k".
// NaN prints "NaN" and infinities "+Inf" and "-Inf", as Prometheus does.
// A unit charts does not know follows the number: (3, "widgets") is "3 widgets"
// (cleaned of control characters and cut to 16 characters).
func FormatValue(v float64, u Unit) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	s := scaleFor(u, math.Abs(v))
	x := v / s.div
	if math.IsInf(x, 0) { // v/1e-9 overflows only beyond maxMagnitude
		return strconv.FormatFloat(v, 'g', 3, 64) + s.suffix
	}
	return formatSig(x, 3) + s.suffix
}

// formatSig prints x with sig significant digits but all of its integer
// part (1023, not 1.02e3), in plain notation where that stays short, without
// trailing zeros.
func formatSig(x float64, sig int) string {
	ax := math.Abs(x)
	if ax == 0 {
		return "0"
	}
	if ax >= 1e6 || ax < 1e-4 { // only plain units beyond their prefixes get here
		return strconv.FormatFloat(x, 'g', sig, 64)
	}
	mag := int(math.Floor(math.Log10(ax)))
	return trimZeros(strconv.FormatFloat(x, 'f', max(sig-1-mag, 0), 64))
}

// trimZeros drops the trailing zeros of a decimal fraction, and the point.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// axis is a value axis: the range it spans and its labelled ticks.
type axis struct {
	lo, hi float64   // the range, lo < hi
	ticks  []float64 // from lo to hi, at one nice step
	labels []string  // one per tick, all in one scale with one number of decimals
}

// niceStep is the 1, 2 or 5 × 10^k nearest to raw (> 0).
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; { // the nearest on a log scale
	case f < math.Sqrt2:
		return p
	case f < math.Sqrt(10):
		return 2 * p
	case f < math.Sqrt(50):
		return 5 * p
	default:
		return 10 * p
	}
}

// niceAxis spans [dmin, dmax] (finite, dmin ≤ dmax) with about n ticks at a
// nice step of unit u. A span of zero (a constant series) is widened around
// the value; data that never goes below zero starts at zero when zero is near
// (closer than the data's span); percentages and ratios that stay within
// 0..100 % keep their axis within it.
func niceAxis(dmin, dmax float64, n int, u Unit) axis {
	n = max(n, 1)
	mid := dmin/2 + dmax/2
	// A constant, or differences lost in rounding or too small to step
	// through (subnormal numbers): a range around the value, or 0..1 for a
	// value indistinguishable from zero.
	if dmax-dmin <= math.Max(math.Abs(mid)*1e-9, minSpan) {
		if math.Abs(mid) < minSpan {
			dmin, dmax = 0, 1
			if u == UnitRatio {
				dmax = 0.01
			}
		} else {
			d := math.Abs(mid) * 0.1
			dmin, dmax = mid-d, mid+d
		}
	}
	if dmin > 0 && dmin < dmax-dmin {
		dmin = 0
	}
	s := scaleFor(u, math.Max(math.Abs(dmin), math.Abs(dmax)))
	lo, hi := dmin/s.div, dmax/s.div
	step := niceStep((hi - lo) / float64(n))
	a := math.Floor(lo/step) * step
	b := math.Ceil(hi/step) * step
	if b-a < step/2 { // lo and hi fell on one step
		b = a + step
	}
	if u == UnitPercent || u == UnitRatio { // lo and hi are in percent here
		if hi <= 100 && b > 100 {
			b = math.Max(100, a+step)
		}
		if lo >= 0 && a < 0 {
			a = 0
		}
	}
	// Labels in plain notation with the decimals the step needs, or in
	// exponent notation with the digits it needs where plain would be too
	// long: numbers far beyond the prefixes, or all of them far below 1.
	big := math.Max(math.Abs(a), math.Abs(b))
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	format := func(t float64) string { return strconv.FormatFloat(t, 'f', dec, 64) }
	if big >= 1e6 || big < 1e-3 || dec > 9 {
		sig := int(math.Floor(math.Log10(big))-math.Floor(math.Log10(step))) + 1
		sig = min(max(sig, 1), 17)
		format = func(t float64) string { return strconv.FormatFloat(t, 'g', sig, 64) }
	}
	zeroSuffix := s.suffix
	switch u {
	case UnitBytes, UnitBytesPerSecond, UnitSeconds, UnitPercent, UnitRatio, UnitCelsius:
	default:
		zeroSuffix = scaleFor(u, 0).suffix
	}
	// The range covers the data even where a·div rounds the other way.
	ax := axis{lo: math.Min(a*s.div, dmin), hi: math.Max(b*s.div, dmax)}
	count := int(math.Round((b-a)/step)) + 1
	for i := range min(count, 50) {
		t := a + float64(i)*step
		ax.ticks = append(ax.ticks, t*s.div)
		if math.Abs(t) < step/2 { // zero, not -0 nor 1e-17; "0k/s" reads oddly, "0/s"
			ax.labels = append(ax.labels, "0"+zeroSuffix)
			continue
		}
		ax.labels = append(ax.labels, format(t)+s.suffix)
	}
	return ax
}
