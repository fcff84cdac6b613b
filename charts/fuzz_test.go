package charts

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"io"
	"math"
	"testing"
	"time"
)

// FuzzPNG draws charts of arbitrary points (any float64 bit pattern: NaN,
// ±Inf, subnormals, 1e308), times, units, thresholds and names, and checks
// that every one is a valid PNG of the chart's width within the budget.
func FuzzPNG(f *testing.F) {
	le := binary.LittleEndian
	seed := func(vals ...float64) []byte {
		var b []byte
		for i, v := range vals {
			b = le.AppendUint16(b, uint16(i*7))
			b = le.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(seed(1, 2, 3), "bytes", 0.5, ">", "{a=\"1\"}", uint8(1), int64(0))
	f.Add(seed(math.NaN(), math.Inf(1), 5, math.Inf(-1)), "seconds", math.Inf(1), ">=", "", uint8(3), int64(3600))
	f.Add(seed(math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64), "ratio", -1e300, "<", "\u202e", uint8(0), int64(-86400))
	f.Add(seed(0.9, 0.9, 0.9, 0.9), "percent", 0.9, "==", "x", uint8(9), int64(1<<40))
	f.Add([]byte{}, "", 0.0, "", "", uint8(255), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, unit string, thr float64, op string, name string, nseries uint8, shift int64) {
		c := fuzzChart(data, unit, thr, op, name, nseries, shift)
		var buf bytes.Buffer
		if err := PNG(&buf, c); err != nil {
			t.Fatal(err)
		}
		if buf.Len() > MaxPNGBytes {
			t.Fatalf("%d bytes, over the %d budget", buf.Len(), MaxPNGBytes)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != width || b.Dy() < 300 || b.Dy() > 800 {
			t.Fatalf("image %v", b)
		}
	})
}

// fuzzChart makes a chart of FuzzPNG's arguments: data is records of a
// uint16 (seconds after the previous point) and a float64 (the value).
func fuzzChart(data []byte, unit string, thr float64, op string, name string, nseries uint8, shift int64) Chart {
	le := binary.LittleEndian
	const rec = 10 // uint16 seconds after the last point, float64 value
	n := int(nseries%8) + 1
	c := Chart{
		Title:      name,
		Unit:       Unit(unit),
		Threshold:  &Threshold{Value: thr, Op: op},
		AlertStart: t0.Add(time.Duration(shift) * time.Second),
		MoreSeries: int(nseries),
		Series:     make([]Series, n),
	}
	at := t0
	for i := 0; i+rec <= len(data) && i < 2000*rec; i += rec {
		at = at.Add(time.Duration(le.Uint16(data[i:])) * time.Second)
		v := math.Float64frombits(le.Uint64(data[i+2:]))
		s := &c.Series[(i/rec)%n]
		s.Name = name
		s.Points = append(s.Points, Point{T: at, V: v})
	}
	if nseries&1 == 1 {
		c.Previous = c.Series
		c.PreviousOffset = time.Duration(shift) * time.Second
	}
	if nseries&2 == 2 {
		c.From, c.To = t0.Add(time.Duration(shift)*time.Second), at
	}
	if nseries&4 == 4 {
		c.Theme = ThemeDark
	}
	return c
}

// FuzzSVG writes bar and line charts of arbitrary labels and values and
// checks that each is well-formed XML with nothing that runs script or
// carries style, whatever the labels hold.
func FuzzSVG(f *testing.F) {
	f.Add("Mon", "<script>alert(1)</script>", "\u202Eevil", 3.0, math.NaN(), "seconds")
	f.Add("", "", "", 0.0, 0.0, "")
	f.Add("\xff\xfe", "]]>", "&amp;", math.Inf(1), -1e308, `"><x`)
	f.Fuzz(func(t *testing.T, a, b, title string, v, w float64, unit string) {
		bars := Bars{Title: title, MarkLabel: b, Unit: Unit(unit), Bars: []Bar{{Label: a, Value: v, Tip: b}, {Label: b, Value: w, Mark: true}}}
		lines := Lines{Title: title, Desc: a, Unit: Unit(unit), X: []string{a, b, title}, Series: []LineSeries{{Name: a, Values: []float64{v, w, v}}, {Name: b, Values: []float64{w}}}}
		for _, draw := range []func(io.Writer) error{
			func(out io.Writer) error { return BarsSVG(out, bars) },
			func(out io.Writer) error { return LinesSVG(out, lines) },
		} {
			var buf bytes.Buffer
			if err := draw(&buf); err != nil {
				t.Fatal(err)
			}
			wellFormed(t, buf.Bytes())
		}
	})
}
