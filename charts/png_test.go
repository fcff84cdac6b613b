package charts

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// render draws c the way PNG does and also returns the layout it used.
func render(t testing.TB, c Chart) (*image.RGBA, *layout) {
	t.Helper()
	d := prepare(c)
	l := d.layout()
	return d.draw(l), l
}

// near reports whether two colours differ by at most tol in each channel.
func near(a color.Color, b color.RGBA, tol int) bool {
	r, g, bl, _ := a.RGBA()
	d := func(x uint32, y uint8) bool { return math.Abs(float64(x>>8)-float64(y)) <= float64(tol) }
	return d(r, b.R) && d(g, b.G) && d(bl, b.B)
}

// rowShare is the share of the plot area's pixels on row y that are near col.
func rowShare(img *image.RGBA, l *layout, y int, col color.RGBA) float64 {
	n, hit := 0, 0
	for x := int(l.left) + 2; x < int(l.right)-2; x++ {
		n++
		if near(img.At(x, y), col, 8) {
			hit++
		}
	}
	return float64(hit) / float64(n)
}

// steady is n points a minute apart ending at t0, each v, with NaN where nan says.
func steady(n int, v float64, nan func(i int) bool) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{T: t0.Add(-time.Duration(n-1-i) * time.Minute), V: v}
		if nan != nil && nan(i) {
			pts[i].V = math.NaN()
		}
	}
	return pts
}

// TestPNGDecodes draws the sample charts; with -samples it also writes them
// to testdata/out/ to look at.
func TestPNGDecodes(t *testing.T) {
	if *samples {
		if err := os.MkdirAll(filepath.Join("testdata", "out"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range sampleCharts() {
		var buf bytes.Buffer
		if err := PNG(&buf, c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if buf.Len() > MaxPNGBytes {
			t.Errorf("%s: %d bytes, over the %d budget", name, buf.Len(), MaxPNGBytes)
		}
		if *samples {
			if err := os.WriteFile(filepath.Join("testdata", "out", name+".png"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := img.Bounds()
		if b.Dx() != 720 || b.Dy() < 420 || b.Dy() > 700 {
			t.Errorf("%s: %v, want 720 wide and 420 to 700 high", name, b)
		}
	}
}

func TestPNGHeightFollowsLegend(t *testing.T) {
	one := Chart{Series: []Series{{Name: "a", Points: steady(10, 1, nil)}}}
	_, l1 := render(t, one)
	five := Chart{MoreSeries: 2}
	for i := range 7 {
		five.Series = append(five.Series, Series{Name: fmt.Sprint("s", i), Points: steady(10, float64(i), nil)})
	}
	d := prepare(five)
	if d.more != 4 || len(d.legend) != 5 {
		t.Errorf("7 series and MoreSeries 2: %d legend entries and +%d more, want 5 and +4", len(d.legend), d.more)
	}
	_, l5 := render(t, five)
	// Five entries and the "+4 more" row against one entry.
	if got, want := l5.h-l1.h, 5*legendRow; got != want {
		t.Errorf("7 series are %d px higher than 1, want %d (5 more legend rows)", got, want)
	}
}

func TestPNGThresholdLine(t *testing.T) {
	for _, theme := range []Theme{ThemeLight, ThemeDark} {
		c := Chart{
			Unit:      UnitRatio,
			Series:    []Series{{Name: "cpu", Points: steady(120, 0.3, nil)}},
			Threshold: &Threshold{Value: 0.9, Op: ">"},
			Theme:     theme,
		}
		img, l := render(t, c)
		pal := theme.palette()
		row := int(math.Floor(l.yOf(0.9) + 0.25))
		if s := rowShare(img, l, row, pal.threshold); s < 0.95 {
			t.Errorf("theme %d: row %d (y of 0.9) is %.0f%% threshold colour, want the whole line", theme, row, 100*s)
		}
		// The line is the only one: no other row of the plot has the colour,
		// and the shaded side is above it (">"), not below.
		for y := int(l.top); y < int(l.bottom); y++ {
			if y >= row-2 && y <= row+2 {
				continue
			}
			if s := rowShare(img, l, y, pal.threshold); s > 0.05 {
				t.Errorf("theme %d: row %d is %.0f%% threshold colour, the line is on %d", theme, y, 100*s, row)
			}
		}
		above, below := img.At(int(l.left)+20, row-10), img.At(int(l.left)+20, row+10)
		if near(above, pal.bg, 2) || !near(below, pal.bg, 2) {
			t.Errorf("theme %d: above the line %v, below %v; want the shade above and the background below", theme, above, below)
		}
	}
}

func TestPNGThresholdOffChart(t *testing.T) {
	c := Chart{
		Series:    []Series{{Name: "x", Points: steady(60, 1, func(i int) bool { return false })}},
		Threshold: &Threshold{Value: 1000, Op: ">"},
	}
	c.Series[0].Points[30].V = 2
	img, l := render(t, c)
	if l.y.hi > 10 {
		t.Errorf("a threshold 1000× the data stretches the axis to %v", l.y.hi)
	}
	pal := c.Theme.palette()
	for y := int(l.top); y < int(l.bottom); y++ {
		if s := rowShare(img, l, y, pal.threshold); s > 0.05 {
			t.Errorf("row %d of the plot has the threshold colour; the threshold is off the axis", y)
		}
	}
	if got := prepare(c); got.thresholdLabel(l) != "> 1k ↑" {
		t.Errorf("off-chart threshold label %q, want %q", got.thresholdLabel(l), "> 1k ↑")
	}
}

func TestPNGPreviousDashed(t *testing.T) {
	c := Chart{
		Series:   []Series{{Name: "x", Points: steady(120, 10, nil)}},
		Previous: []Series{{Name: "x", Points: steady(120, 5, nil)}},
		From:     t0.Add(-119 * time.Minute), To: t0,
	}
	for i := range c.Previous[0].Points {
		c.Previous[0].Points[i].T = c.Previous[0].Points[i].T.Add(-24 * time.Hour) // as the source returns them
	}
	img, l := render(t, c)
	pal := c.Theme.palette()
	prev := faded(pal.series[0], pal.bg, 0.6)
	row := int(math.Floor(l.yOf(5) + 0.25))
	on, runs := 0, 0
	was := false
	for x := int(l.left) + 2; x < int(l.right)-2; x++ {
		is := near(img.At(x, row), prev, 10)
		if is {
			on++
		}
		if is && !was {
			runs++
		}
		was = is
	}
	span := int(l.right-l.left) - 4
	if runs < 20 || on < span/3 || on > span*3/4 {
		t.Errorf("the previous day's row %d has %d dashes covering %d of %d px, want a dashed line (>= 20 dashes, a third to three quarters)", row, runs, on, span)
	}
	// Without the shift the previous day would be outside the window.
	if s := rowShare(img, l, int(math.Floor(l.yOf(10)+0.25)), pal.series[0]); s < 0.95 {
		t.Errorf("the series row is %.0f%% its colour", 100*s)
	}
}

func TestPNGPreviousPairing(t *testing.T) {
	c := Chart{
		Series:   []Series{{Name: "a"}, {Name: "b"}, {Name: "b"}},
		Previous: []Series{{Name: "b"}, {Name: "zzz"}, {Name: "b"}, {Name: "a"}},
	}
	d := prepare(c)
	pal := c.Theme.palette()
	var got []color.RGBA
	for _, p := range d.prev {
		got = append(got, p.color)
	}
	want := []color.RGBA{faded(pal.series[1], pal.bg, 0.6), faded(pal.series[2], pal.bg, 0.6), faded(pal.series[0], pal.bg, 0.6)}
	// The first "b" pairs with the first b; "zzz" has no series of its name
	// and the one at its index (the first b) is taken, so it is not drawn;
	// the second "b" pairs with the second b, "a" with a.
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("previous colours %v, want %v", got, want)
	}
}

func TestPNGGaps(t *testing.T) {
	c := Chart{Series: []Series{{Name: "x", Points: steady(300, 10, func(i int) bool { return i >= 100 && i < 150 })}}}
	c.Series[0].Points[200].V = math.Inf(1)
	c.Series[0].Points[201].V = 2e300 // beyond maxMagnitude: a gap too
	img, l := render(t, c)
	col := c.Theme.palette().series[0]
	row := int(math.Floor(l.yOf(10) + 0.25))
	pts := c.Series[0].Points
	for _, k := range []struct {
		i    int
		want bool
	}{{50, true}, {98, true}, {110, false}, {125, false}, {140, false}, {152, true}, {250, true}} {
		x := int(l.xOf(pts[k.i].T))
		if got := near(img.At(x, row), col, 8); got != k.want {
			t.Errorf("point %d (x %d): line drawn %v, want %v", k.i, x, got, k.want)
		}
	}
	// Time gaps: a missed hour of scrapes among minutely points is a gap too.
	var gappy []Point
	for i, p := range steady(300, 10, nil) {
		if i < 100 || i >= 160 {
			gappy = append(gappy, p)
		}
	}
	img, l = render(t, Chart{Series: []Series{{Name: "x", Points: gappy}}})
	if near(img.At(int(l.xOf(pts[130].T)), row), col, 8) {
		t.Error("an hour without points is bridged by a line")
	}
}

func TestPNGNoData(t *testing.T) {
	for _, c := range []Chart{
		{},
		{Title: "empty series", Series: []Series{{Name: "x"}}},
		{Title: "all NaN", Series: []Series{{Name: "x", Points: steady(50, math.NaN(), nil)}}},
		{Title: "outside the window", Series: []Series{{Name: "x", Points: steady(50, 1, nil)}}, From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)},
	} {
		img, l := render(t, c)
		if l.hasData {
			t.Errorf("%q: has data", c.Title)
		}
		pal := c.Theme.palette()
		var text, series int
		for y := int(l.top); y < int(l.bottom)-2; y++ {
			for x := int(l.left); x < int(l.right); x++ {
				p := img.At(x, y)
				if near(p, pal.muted, 30) {
					text++
				}
				if near(p, pal.series[0], 20) {
					series++
				}
			}
		}
		if text < 200 || series > 0 {
			t.Errorf("%q: %d px of text (want the \"No data\" message) and %d of a line in the plot", c.Title, text, series)
		}
	}
}

func TestPNGSinglePoint(t *testing.T) {
	c := Chart{Unit: UnitPercent, Series: []Series{{Name: "x", Points: []Point{{T: t0, V: 42}}}}}
	img, l := render(t, c)
	x, y := l.xOf(t0), l.yOf(42)
	if !near(img.At(int(x), int(y)), c.Theme.palette().series[0], 8) {
		t.Errorf("no dot at (%v, %v) for the one point", x, y)
	}
	if x <= l.left || x >= l.right || y <= l.top || y >= l.bottom {
		t.Errorf("the one point at (%v, %v) is not inside the plot", x, y)
	}
}

func TestPNGAlertMarker(t *testing.T) {
	c := Chart{Series: []Series{{Name: "x", Points: steady(120, 1, nil)}}, AlertStart: t0.Add(-30 * time.Minute)}
	img, l := render(t, c)
	x := int(math.Round(l.xOf(c.AlertStart)))
	pal := c.Theme.palette()
	marks := 0
	for y := int(l.top); y < int(l.bottom); y++ {
		if near(img.At(x, y), pal.marker, 40) || near(img.At(x-1, y), pal.marker, 40) {
			marks++
		}
	}
	if marks < int(l.bottom-l.top)/5 {
		t.Errorf("the alert's column %d has %d marker pixels", x, marks)
	}
	_, without := render(t, Chart{Series: c.Series})
	if l.top <= without.top {
		t.Error("no room above the plot for the alert label")
	}
}

func TestPNGEdgeCases(t *testing.T) {
	many := make([]Series, 50)
	for i := range many {
		many[i] = Series{Name: strings.Repeat("n", i), Points: steady(30, float64(i), nil)}
	}
	huge := steady(100, 1e15, nil)
	huge[50].V = -1e300
	tiny := steady(100, 1e-12, nil)
	tiny[3].V = 3e-12
	unsorted := steady(100, 1, nil)
	for i := range unsorted {
		unsorted[i].V = float64(i % 7)
	}
	unsorted[0], unsorted[99] = unsorted[99], unsorted[0]
	tenK := make([]Point, 10000)
	for i := range tenK {
		tenK[i] = Point{T: t0.Add(time.Duration(i) * time.Second), V: math.Sin(float64(i) / 50)}
	}
	for name, c := range map[string]Chart{
		"zero":          {},
		"nil threshold": {Series: []Series{{Points: steady(10, 1, nil)}}, Threshold: &Threshold{Value: math.NaN(), Op: "?"}},
		"huge":          {Unit: UnitBytes, Series: []Series{{Name: "h", Points: huge}}},
		"tiny":          {Unit: UnitSeconds, Series: []Series{{Name: "t", Points: tiny}}},
		"extremes":      {Series: []Series{{Points: []Point{{T: t0, V: math.MaxFloat64}, {T: t0.Add(time.Minute), V: -math.MaxFloat64}, {T: t0.Add(2 * time.Minute), V: math.SmallestNonzeroFloat64}}}}},
		"subnormal":     {Series: []Series{{Points: []Point{{T: t0, V: 5e-324}, {T: t0.Add(time.Minute), V: 1e-323}, {T: t0.Add(2 * time.Minute), V: 5e-324}}}}},
		"huge outside":  {Series: []Series{{Points: []Point{{T: t0, V: 0}, {T: t0.Add(time.Minute), V: 1e-300}, {T: t0.Add(3 * time.Hour), V: 1e300}}}}, From: t0, To: t0.Add(2 * time.Minute)},
		"inf":           {Series: []Series{{Points: []Point{{T: t0, V: math.Inf(1)}, {T: t0.Add(time.Minute), V: math.Inf(-1)}}}}},
		"unsorted":      {Series: []Series{{Points: unsorted}}},
		"same time":     {Series: []Series{{Points: []Point{{T: t0, V: 1}, {T: t0, V: 2}, {T: t0, V: 3}}}}},
		"10k":           {Series: []Series{{Name: "a", Points: tenK}, {Name: "a", Points: tenK}}},
		"50 series":     {Series: many, MoreSeries: 1000},
		"from after to": {Series: []Series{{Points: steady(10, 1, nil)}}, From: t0, To: t0.Add(-time.Hour)},
		"only from":     {Series: []Series{{Points: steady(10, 1, nil)}}, From: t0.Add(-time.Hour)},
		"only to":       {To: t0},
		"far times":     {Series: []Series{{Points: []Point{{T: time.Unix(-1<<40, 0), V: 1}, {T: time.Unix(1<<40, 0), V: 2}}}}},
		"alert before":  {Series: []Series{{Points: steady(10, 1, nil)}}, AlertStart: t0.Add(-48 * time.Hour)},
		"alert after":   {Series: []Series{{Points: steady(10, 1, nil)}}, AlertStart: t0.Add(48 * time.Hour)},
		"hostile names": {Title: "\u202Eevil\x00 " + strings.Repeat("long ", 100), Series: []Series{{Name: "\xff\xfe<script>", Points: steady(5, 1, nil)}, {Name: "{a=\"\u202E\"}", Points: steady(5, 2, nil)}}},
		"below zero":    {Unit: UnitRatio, Series: []Series{{Points: steady(10, -0.5, nil)}}, Threshold: &Threshold{Value: -0.9, Op: "<="}},
		"negative":      {Unit: UnitSeconds, Series: []Series{{Points: steady(10, -5, nil)}}, Threshold: &Threshold{Value: 0, Op: "<"}, Location: time.FixedZone("", -9*3600-30*60)},
		"offset":        {Series: []Series{{Name: "x", Points: steady(10, 1, nil)}}, Previous: []Series{{Name: "x", Points: steady(10, 2, nil)}}, PreviousOffset: -90 * time.Minute},
	} {
		var buf bytes.Buffer
		if err := PNG(&buf, c); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if buf.Len() > MaxPNGBytes {
			t.Errorf("%s: %d bytes", name, buf.Len())
		}
		if _, err := png.Decode(&buf); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPNGThemes(t *testing.T) {
	c := sampleCharts()["cpu-light"]
	light, _ := render(t, c)
	c.Theme = ThemeDark
	dark, _ := render(t, c)
	if !near(light.At(1, 1), rgb(0xffffff), 0) || !near(dark.At(1, 1), ThemeDark.palette().bg, 0) {
		t.Errorf("backgrounds %v and %v", light.At(1, 1), dark.At(1, 1))
	}
	// Both opaque: the image carries its own background in any chat theme.
	for _, img := range []*image.RGBA{light, dark} {
		for i := 3; i < len(img.Pix); i += 4 {
			if img.Pix[i] != 0xff {
				t.Fatal("a pixel is not opaque")
			}
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPNGWriteError(t *testing.T) {
	err := PNG(failWriter{}, Chart{})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "charts: ") {
		t.Errorf("PNG to a failing writer: %v", err)
	}
}

func TestThresholdLabel(t *testing.T) {
	for _, c := range []struct {
		th   Threshold
		u    Unit
		want string
	}{
		{Threshold{0.9, ">"}, UnitRatio, "> 90 %"},
		{Threshold{4 << 30, ">="}, UnitBytes, "≥ 4 GiB"},
		{Threshold{0.5, "<="}, UnitSeconds, "≤ 500 ms"},
		{Threshold{0, "=="}, UnitNone, "= 0"},
		{Threshold{1, "!="}, UnitNone, "≠ 1"},
		{Threshold{3, "~"}, UnitNone, "3"},
	} {
		if got := thresholdLabel(c.th, c.u); got != c.want {
			t.Errorf("thresholdLabel(%v, %q) = %q, want %q", c.th, c.u, got, c.want)
		}
	}
	// The Go fonts have the symbols: none draws as the missing-glyph box.
	f := fonts()[1]
	for _, r := range "≥≤≠↑↓←µ°…" {
		if i, err := f.GlyphIndex(nil, r); err != nil || i == 0 {
			t.Errorf("the bold Go font has no %q", r)
		}
	}
}

func TestEarlierLabel(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:     "1 day earlier",
		7 * 24 * time.Hour: "1 week earlier",
		48 * time.Hour:     "2 days earlier",
		6 * time.Hour:      "6 h earlier",
		90 * time.Minute:   "1h30m earlier",
		10 * time.Second:   "10s earlier",
	} {
		if got := earlierLabel(d); got != want {
			t.Errorf("earlierLabel(%v) = %q, want %q", d, got, want)
		}
	}
}

// noise is n series of pts uniformly random values over 3 hours, with the
// previous day as noisy: the worst case for PNG compression.
func noise(seed uint64, n, pts int) Chart {
	r := rand.New(rand.NewPCG(seed, 2))
	c := Chart{Title: "noise", MoreSeries: 3, Threshold: &Threshold{Value: 0.5, Op: ">"}, AlertStart: t0.Add(-time.Hour)}
	for range n {
		var s, p Series
		for k := range pts {
			t := t0.Add(time.Duration(k-pts) * 3 * time.Hour / time.Duration(pts))
			s.Points = append(s.Points, Point{T: t, V: r.Float64()})
			p.Points = append(p.Points, Point{T: t.Add(-24 * time.Hour), V: r.Float64()})
		}
		c.Series = append(c.Series, s)
		c.Previous = append(c.Previous, p)
	}
	return c
}

func TestPNGNoiseWithinBudget(t *testing.T) {
	for _, k := range []struct {
		n, pts int
		theme  Theme
	}{{5, 300, ThemeLight}, {50, 600, ThemeDark}} {
		{
			c := noise(uint64(k.n), k.n, k.pts)
			theme := k.theme
			c.Theme = theme
			var buf bytes.Buffer
			if err := PNG(&buf, c); err != nil {
				t.Fatal(err)
			}
			if buf.Len() > MaxPNGBytes {
				t.Errorf("%d × %d points of noise (theme %d): %d bytes", k.n, k.pts, theme, buf.Len())
			}
			if _, err := png.Decode(&buf); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestEncodeWithin(t *testing.T) {
	c := noise(1, 1, 300)
	d := prepare(c)
	// A part of the chart, noise all over: compression is slow under -race.
	img := d.draw(d.layout()).SubImage(image.Rect(100, 100, 340, 260)).(*image.RGBA)
	fast := len(encodePNG(img, png.BestSpeed))
	best := len(encodePNG(img, png.DefaultCompression))
	if best >= fast {
		t.Fatalf("DefaultCompression %d bytes, BestSpeed %d", best, fast)
	}
	for _, k := range []struct {
		budget   int
		paletted bool
		size     int
	}{{fast, false, fast}, {fast - 1, false, best}, {best - 1, true, 0}} {
		data := encodeWithin(img, d.pal, k.budget)
		got, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		p, paletted := got.(*image.Paletted)
		if paletted != k.paletted || k.size > 0 && len(data) != k.size || len(data) > k.budget {
			t.Errorf("budget %d: %d bytes, paletted %v; want %d bytes, paletted %v", k.budget, len(data), paletted, k.size, k.paletted)
		}
		if paletted && len(p.Palette) > 16 {
			t.Errorf("budget %d: %d colours", k.budget, len(p.Palette))
		}
	}
}

func TestQuantize(t *testing.T) {
	for _, theme := range []Theme{ThemeLight, ThemeDark} {
		c := sampleCharts()["memory-light"]
		c.Theme = theme
		img, _ := render(t, c)
		q := theme.palette().quantize(img)
		if len(q.Palette) > 16 {
			t.Errorf("theme %d: %d colours", theme, len(q.Palette))
		}
		// The background stays the background, a series keeps its colour.
		pal := theme.palette()
		if !near(q.At(1, 1), pal.bg, 0) {
			t.Errorf("theme %d: background %v", theme, q.At(1, 1))
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, q); err != nil || buf.Len() > MaxPNGBytes/2 {
			t.Errorf("theme %d: 16 colours: %d bytes, %v", theme, buf.Len(), err)
		}
	}
}
