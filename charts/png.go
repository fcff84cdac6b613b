package charts

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Point is one sample of a series.
type Point struct {
	T time.Time
	V float64 // NaN, ±Inf and magnitudes beyond 1e300 are gaps in the line
}

// Series is one line of a chart.
type Series struct {
	// Name tells the line apart in the legend: any text, often a
	// Prometheus label set such as {instance="db-1:9100", job="node"}.
	Name   string
	Points []Point // in any order; charts sorts a copy
}

// Threshold is the constant an alert rule compares the metric with, as in
// "metric > 0.9": Op is one of > >= < <= == != and says on which side of
// Value the alert fires.
type Threshold struct {
	Value float64
	Op    string
}

// Chart is a line chart of the metric an incident's alert watches, drawn for
// a chat card by PNG.
type Chart struct {
	Title string // what the metric is, e.g. the alert's name or query
	Unit  Unit   // how the y axis and the threshold print values

	// Series are the lines. The first five have legend entries and colours;
	// the next fifteen are drawn thin and grey, without their previous day;
	// those and any more are counted in the legend's "+N more".
	Series []Series
	// Previous are the same series over the window PreviousOffset earlier,
	// as the data source returned them: with their own times, a day before
	// Series'. PNG shifts them forward by PreviousOffset and draws each
	// dashed in a lighter shade of its series' colour. A previous series
	// belongs to the series of the same Name (the k-th of a name to the k-th
	// of that name), else to the series at its own index.
	Previous []Series
	// PreviousOffset is how much earlier Previous is; zero means 24 hours.
	PreviousOffset time.Duration

	Threshold  *Threshold // nil when the rule has none
	AlertStart time.Time  // when the alert started firing: a vertical "alert" marker; zero for none
	// MoreSeries counts series the data source had but did not return
	// (it caps how many it fetches); the legend adds them to "+N more".
	MoreSeries int

	// From and To are the window the time axis spans; zero values mean the
	// data's first and last times.
	From, To time.Time
	// Location is the time zone of the time axis; nil means UTC.
	Location *time.Location
	Theme    Theme
}

// The chart's geometry, in pixels. The image is 720 px wide, twice the
// width a phone shows it at (about 360 px), so that it is sharp on phone
// screens and its 22 px text reads as 11 px there.
const (
	width        = 720
	pad          = 24
	titleSize    = 30
	tickSize     = 22
	legendSize   = 22
	legendRow    = 34
	plotHeight   = 300
	maxLegend    = 5  // series with a legend entry and a colour
	maxDrawn     = 20 // series drawn: the legend's and 15 grey ones; the rest are counted
	lineWidth    = 3
	prevWidth    = 2.5
	otherWidth   = 1.5
	dotRadius    = 5
	maxNameRune  = 200 // a legend name is cut to this before it is measured
	maxAxisWidth = 220 // the value axis's labels are cut to this
)

// MaxPNGBytes is the size the PNG of any chart stays under: the budget the
// tests and the fuzz target check, well within every chat platform's limit
// for an inline image.
const MaxPNGBytes = 200 << 10

// layout is where a chart's parts go: the plot area and the two axes'
// mappings. Tests use it to find the pixel row of a value.
type layout struct {
	w, h                     int
	left, right, top, bottom float64 // the plot area
	from, to                 time.Time
	y                        axis
	hasData                  bool
}

// xOf is the pixel column of time t.
func (l *layout) xOf(t time.Time) float64 {
	span := l.to.Sub(l.from)
	return l.left + float64(t.Sub(l.from))/float64(span)*(l.right-l.left)
}

// yOf is the pixel row (from the top) of value v.
func (l *layout) yOf(v float64) float64 {
	return l.bottom - (v-l.y.lo)/(l.y.hi-l.y.lo)*(l.bottom-l.top)
}

// PNG draws c as a PNG image to w: 720 pixels wide, 400 to 680 high (with a
// title, the alert label and up to six legend rows), under MaxPNGBytes. Whatever the data (none, NaN, one point,
// 10,000 points a series, equal names), it draws a chart, "No data" when no
// point can be plotted; the only errors are w's.
func PNG(w io.Writer, c Chart) error {
	d := prepare(c)
	img := d.draw(d.layout())
	if _, err := w.Write(encodeWithin(img, d.pal, MaxPNGBytes)); err != nil {
		return fmt.Errorf("charts: writing the PNG: %w", err)
	}
	return nil
}

// encodeWithin encodes img as a PNG of at most budget bytes if it can.
// Lines of noise, thousands of zigzags, compress badly: uniform noise in five
// series of 300 points is 200 KB at BestSpeed (17 ms), 174 KB at the default
// level (83 ms; BestCompression saves 6 KB more in 570 ms), 23 KB in the
// theme's 16 colours (4 bits a pixel, edges no longer smoothed), the last
// resort.
func encodeWithin(img *image.RGBA, pal palette, budget int) []byte {
	data := encodePNG(img, png.BestSpeed)
	if len(data) > budget {
		data = encodePNG(img, png.DefaultCompression)
		if len(data) > budget {
			data = encodePNG(pal.quantize(img), png.DefaultCompression)
		}
	}
	return data
}

// encodePNG encodes img at a compression level. BestSpeed, the first try,
// takes a quarter less CPU than the default level for 8 % more bytes (85 KB
// against 78 KB for a busy 300-point line).
func encodePNG(img image.Image, level png.CompressionLevel) []byte {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: level}
	if err := enc.Encode(&buf, img); err != nil {
		// Encoding an in-memory RGBA or paletted image into a buffer
		// cannot fail.
		panic("charts: encoding a PNG: " + err.Error())
	}
	return buf.Bytes()
}

// Image draws c as PNG does, as an image to encode in another format or to
// compose.
func Image(c Chart) image.Image {
	d := prepare(c)
	l := d.layout()
	return d.draw(l)
}

// line is a series ready to draw: its cleaned legend name, its colour and
// its runs of finite points, split at gaps.
type line struct {
	name  string
	color color.RGBA
	width float64
	dash  []vg.Length
	runs  [][]Point
}

// drawing is a chart with its data cleaned, sorted and split into runs.
type drawing struct {
	c          Chart
	pal        palette
	loc        *time.Location
	title      string
	lines      []line // legend series first, then the others
	prev       []line
	legend     []int // indexes into lines with a legend entry
	more       int   // the "+N more" count
	offset     time.Duration
	from, to   time.Time
	dmin, dmax float64 // the finite values within the window, dmin > dmax when none
	thrShown   bool    // the threshold is within the y axis
}

// prepare cleans c's data: sorts points, drops what cannot be plotted,
// splits lines at gaps and works out the window and the values' range.
func prepare(c Chart) *drawing {
	d := &drawing{c: c, pal: c.Theme.palette(), loc: c.Location, offset: c.PreviousOffset}
	if d.loc == nil {
		d.loc = time.UTC
	}
	if d.offset == 0 {
		d.offset = 24 * time.Hour
	}
	d.title = clean(c.Title, 300)

	drawn := c.Series[:min(len(c.Series), maxDrawn)]
	names := make([]string, len(drawn))
	for i, s := range drawn {
		names[i] = clean(s.Name, maxNameRune)
	}
	names = legendNames(names)
	for i, s := range drawn {
		ln := line{name: names[i], runs: runs(s.Points, 0)}
		if i < maxLegend {
			ln.color, ln.width = d.pal.series[i], lineWidth
			d.legend = append(d.legend, i)
		} else {
			ln.color, ln.width = d.pal.other, otherWidth
		}
		d.lines = append(d.lines, ln)
	}
	d.more = max(len(c.Series)-maxLegend, 0) + max(c.MoreSeries, 0)

	// Pair each previous series with its series: by name, then by index.
	byName := map[string][]int{}
	for i, s := range c.Series {
		byName[s.Name] = append(byName[s.Name], i)
	}
	taken := make([]bool, len(c.Series))
	for i, p := range c.Previous {
		j := -1
		if idx := byName[p.Name]; len(idx) > 0 {
			j, byName[p.Name] = idx[0], idx[1:]
		} else if i < len(c.Series) && !taken[i] {
			j = i
		}
		if j < 0 || taken[j] || j >= maxLegend { // the grey lines have no previous day
			continue
		}
		taken[j] = true
		ln := d.lines[j]
		d.prev = append(d.prev, line{
			color: faded(ln.color, d.pal.bg, 0.6),
			width: prevWidth,
			dash:  []vg.Length{10, 7},
			runs:  runs(p.Points, d.offset),
		})
	}

	// The window: From and To, else the data's extent.
	d.from, d.to = c.From, c.To
	if d.from.IsZero() || d.to.IsZero() {
		var lo, hi time.Time
		for _, ls := range [][]line{d.lines, d.prev} {
			for _, ln := range ls {
				for _, r := range ln.runs {
					if lo.IsZero() || r[0].T.Before(lo) {
						lo = r[0].T
					}
					if hi.IsZero() || r[len(r)-1].T.After(hi) {
						hi = r[len(r)-1].T
					}
				}
			}
		}
		if d.from.IsZero() {
			d.from = lo
		}
		if d.to.IsZero() {
			d.to = hi
		}
	}
	switch {
	case d.from.IsZero() && d.to.IsZero():
		d.to = time.Unix(0, 0)
		d.from = d.to.Add(-time.Hour)
	case d.from.IsZero():
		d.from = d.to.Add(-time.Hour)
	case d.to.IsZero():
		d.to = d.from.Add(time.Hour)
	}
	if !d.to.After(d.from) { // one instant, or From after To: five minutes either side
		mid := d.from
		d.from, d.to = mid.Add(-5*time.Minute), mid.Add(5*time.Minute)
	}

	// The values in the window.
	d.dmin, d.dmax = math.Inf(1), math.Inf(-1)
	for _, ls := range [][]line{d.lines, d.prev} {
		for _, ln := range ls {
			for _, r := range ln.runs {
				for _, p := range r {
					if p.T.Before(d.from) || p.T.After(d.to) {
						continue
					}
					d.dmin, d.dmax = math.Min(d.dmin, p.V), math.Max(d.dmax, p.V)
				}
			}
		}
	}
	return d
}

// runs sorts a copy of pts by time, shifted by shift, and splits it into
// runs of finite values. A run also ends where the time to the next point is
// more than three times the series' usual step (its median), so that missed
// scrapes show as gaps rather than as a straight line across them.
func runs(pts []Point, shift time.Duration) [][]Point {
	sorted := make([]Point, len(pts))
	for i, p := range pts {
		sorted[i] = Point{T: p.T.Add(shift), V: p.V}
	}
	slices.SortStableFunc(sorted, func(a, b Point) int { return a.T.Compare(b.T) })
	var steps []time.Duration
	for i := 1; i < len(sorted); i++ {
		if finite(sorted[i].V) && finite(sorted[i-1].V) {
			if s := sorted[i].T.Sub(sorted[i-1].T); s > 0 {
				steps = append(steps, s)
			}
		}
	}
	gap := time.Duration(math.MaxInt64)
	if len(steps) >= 4 {
		slices.Sort(steps)
		if m := steps[len(steps)/2]; m < gap/3 {
			gap = 3 * m
		}
	}
	var out [][]Point
	var cur []Point
	for _, p := range sorted {
		if !finite(p.V) {
			if len(cur) > 0 {
				out, cur = append(out, cur), nil
			}
			continue
		}
		if len(cur) > 0 && p.T.Sub(cur[len(cur)-1].T) > gap {
			out, cur = append(out, cur), nil
		}
		cur = append(cur, p)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// layout places the plot area and works out the y axis.
func (d *drawing) layout() *layout {
	l := &layout{w: width, from: d.from, to: d.to, hasData: d.dmin <= d.dmax}
	lo, hi := d.dmin, d.dmax
	if !l.hasData {
		lo, hi = 0, 1
	}
	if t := d.c.Threshold; t != nil && finite(t.Value) && l.hasData {
		// Show the threshold unless it is so far from the data that the
		// data would be squashed flat; then its label points off the chart.
		span := hi - lo
		if span == 0 || t.Value >= lo-2*span && t.Value <= hi+2*span {
			lo, hi = math.Min(lo, t.Value), math.Max(hi, t.Value)
			d.thrShown = true
		}
	}
	l.y = niceAxis(lo, hi, 4, d.c.Unit)

	top := float64(pad)
	if d.title != "" {
		top += titleSize + 12
	}
	if d.alertShown(l) {
		top += 38 // the "alert" label above the plot
	} else {
		top += 10
	}
	// The value axis's column fits its labels and the threshold's.
	yw := 0.0
	tf := face(false, tickSize)
	for _, s := range l.y.labels {
		yw = math.Max(yw, float64(tf.Width(s)))
	}
	if label := d.thresholdLabel(l); label != "" {
		bold := face(true, tickSize)
		yw = math.Max(yw, float64(bold.Width(label))+12)
	}
	l.left = pad + math.Min(yw, maxAxisWidth) + 12
	l.right = width - pad
	l.top = top
	l.bottom = top + plotHeight
	h := l.bottom + 40 // the time axis's labels
	if rows := d.legendRows(); rows > 0 {
		h += 8 + float64(rows)*legendRow
	}
	l.h = int(h + pad - 4)
	return l
}

// alertShown reports whether the chart has an alert marker: AlertStart is
// set and not after the window.
func (d *drawing) alertShown(l *layout) bool {
	return !d.c.AlertStart.IsZero() && !d.c.AlertStart.After(l.to)
}

// thresholdLabel is the threshold's label on the value axis, with an arrow
// when the threshold is off the axis; "" when there is none to show.
func (d *drawing) thresholdLabel(l *layout) string {
	t := d.c.Threshold
	if t == nil || !finite(t.Value) || !l.hasData {
		return ""
	}
	label := thresholdLabel(*t, d.c.Unit)
	switch {
	case d.thrShown:
		return label
	case t.Value > l.y.hi:
		return label + " ↑"
	default:
		return label + " ↓"
	}
}

// legendRows is the number of rows the legend takes below the time axis.
func (d *drawing) legendRows() int {
	rows := 0
	for _, i := range d.legend {
		if d.lines[i].name != "" {
			rows++
		}
	}
	if d.more > 0 || len(d.prev) > 0 {
		rows++
	}
	return rows
}

// canvas draws on a vgimg canvas in pixel coordinates from the top left.
type canvas struct {
	c *vgimg.Canvas
	h float64
}

func (c canvas) pt(x, y float64) vg.Point { return vg.Point{X: vg.Length(x), Y: vg.Length(c.h - y)} }

// strokeChunk is the most points stroked at once. The rasterizer under gg
// (github.com/golang/freetype/raster) keeps each pixel row's cells in a list
// it searches for every new cell, so one stroke of a line that zigzags over
// the whole plot (noise, thousands of points) takes time quadratic in its
// length: 5 such lines of 2,000 points took 15 s in one stroke each.
const strokeChunk = 32

// stroke draws a polyline, in chunks of strokeChunk points that overlap by a
// segment, so that every join is drawn; a dash pattern runs on across chunks.
func (c canvas) stroke(col color.Color, w float64, dash []vg.Length, pts ...vg.Point) {
	if len(pts) < 2 {
		return
	}
	c.c.SetColor(col)
	c.c.SetLineWidth(vg.Length(w))
	// Chunk k owns the segments from point a = k·strokeChunk and starts a
	// segment earlier, for the join at a; its dashes start where the line
	// has run that far.
	run := 0.0 // the line's length up to pts[a-1]
	for a := 0; a < len(pts)-1; a += strokeChunk {
		from, to := max(a-1, 0), min(a+strokeChunk, len(pts)-1)
		c.c.SetLineDash(dash, vg.Length(run))
		var p vg.Path
		p.Move(pts[from])
		for i := from + 1; i <= to; i++ {
			p.Line(pts[i])
		}
		c.c.Stroke(p)
		for i := from + 1; i < to; i++ { // on to pts[to-1], the next chunk's start
			run += dist(pts[i-1], pts[i])
		}
	}
}

// dist is the distance between two points.
func dist(a, b vg.Point) float64 {
	return math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y))
}

// rect fills the rectangle from (x0, y0) to (x1, y1).
func (c canvas) rect(col color.Color, x0, y0, x1, y1 float64) {
	c.c.SetColor(col)
	var p vg.Path
	p.Move(c.pt(x0, y0))
	p.Line(c.pt(x1, y0))
	p.Line(c.pt(x1, y1))
	p.Line(c.pt(x0, y1))
	p.Close()
	c.c.Fill(p)
}

// pill fills a rounded rectangle: a label's background.
func (c canvas) pill(col color.Color, x0, y0, x1, y1, r float64) {
	c.c.SetColor(col)
	var p vg.Path
	p.Move(c.pt(x0+r, y0))
	p.Line(c.pt(x1-r, y0))
	p.Arc(c.pt(x1-r, y0+r), vg.Length(r), math.Pi/2, -math.Pi/2)
	p.Line(c.pt(x1, y1-r))
	p.Arc(c.pt(x1-r, y1-r), vg.Length(r), 0, -math.Pi/2)
	p.Line(c.pt(x0+r, y1))
	p.Arc(c.pt(x0+r, y1-r), vg.Length(r), -math.Pi/2, -math.Pi/2)
	p.Line(c.pt(x0, y0+r))
	p.Arc(c.pt(x0+r, y0+r), vg.Length(r), math.Pi, -math.Pi/2)
	p.Close()
	c.c.Fill(p)
}

// dot fills a circle.
func (c canvas) dot(col color.Color, x, y, r float64) {
	c.c.SetColor(col)
	var p vg.Path
	p.Move(c.pt(x+r, y))
	p.Arc(c.pt(x, y), vg.Length(r), 0, 2*math.Pi)
	p.Close()
	c.c.Fill(p)
}

// text draws s with its baseline at y; align is 0 to start at x, 0.5 to
// centre on x, 1 to end at x. It returns the text's width.
func (c canvas) text(f font.Face, col color.Color, x, y, align float64, s string) float64 {
	w := float64(f.Width(s))
	if s == "" {
		return 0
	}
	c.c.SetColor(col)
	c.c.FillString(f, c.pt(x-align*w, y), s)
	return w
}

// fit cuts s to at most w pixels wide in face f, ending it with an ellipsis
// when cut.
func fit(f font.Face, s string, w float64) string {
	if float64(f.Width(s)) <= w {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits with "…" is in [lo, hi)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if float64(f.Width(string(r[:mid])+"…")) <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return strings.TrimRight(string(r[:lo]), " ,") + "…"
}

// opSymbol prints a comparison operator as a reader expects it.
func opSymbol(op string) string {
	switch op {
	case ">=":
		return "≥"
	case "<=":
		return "≤"
	case "!=":
		return "≠"
	case "==":
		return "="
	case ">", "<":
		return op
	}
	return ""
}

// thresholdLabel is the threshold's label: "> 90 %".
func thresholdLabel(t Threshold, u Unit) string {
	v := FormatValue(t.Value, u)
	if op := opSymbol(t.Op); op != "" {
		return op + " " + v
	}
	return v
}

// earlierLabel names the previous series' offset: "1 day earlier".
func earlierLabel(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "1 day earlier"
	case d == 7*24*time.Hour:
		return "1 week earlier"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days earlier", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h earlier", d/time.Hour)
	case d%time.Minute == 0:
		return strings.TrimSuffix(d.String(), "0s") + " earlier" // "1h30m"
	default:
		return d.String() + " earlier"
	}
}

// draw renders the chart laid out by l.
func (d *drawing) draw(l *layout) *image.RGBA {
	cv := vgimg.NewWith(
		vgimg.UseWH(vg.Length(l.w), vg.Length(l.h)),
		vgimg.UseDPI(72), // a point is a pixel
		vgimg.UseBackgroundColor(d.pal.bg),
	)
	c := canvas{c: cv, h: float64(l.h)}
	pal := d.pal
	tick := face(false, tickSize)

	if d.title != "" {
		tf := face(true, titleSize)
		c.text(tf, pal.text, pad, pad+titleSize-4, 0, fit(tf, d.title, width-2*pad))
	}

	// The threshold's side: the region where the alert condition holds.
	thr := d.c.Threshold
	if thr != nil && d.thrShown {
		y := l.yOf(thr.Value)
		switch thr.Op {
		case ">", ">=":
			c.rect(pal.zone, l.left, l.top, l.right, y)
		case "<", "<=":
			c.rect(pal.zone, l.left, y, l.right, l.bottom)
		}
	}

	// The threshold's label sits on the value axis at its row (at the top or
	// the bottom with an arrow when it is off the axis), where it never hides
	// the data; the value labels it would cover are left out.
	thrLabel, thrY := d.thresholdLabel(l), math.NaN()
	if thrLabel != "" {
		switch {
		case d.thrShown:
			thrY = l.yOf(d.c.Threshold.Value)
		case d.c.Threshold.Value > l.y.hi:
			thrY = l.top
		default:
			thrY = l.bottom
		}
	}

	// Grid and value labels.
	for i, v := range l.y.ticks {
		y := math.Round(l.yOf(v)) + 0.5
		col := pal.grid
		if i == 0 {
			col = pal.axis
		}
		if !l.hasData && i > 0 {
			continue // no data, no values: only the base line
		}
		c.stroke(col, 1, nil, c.pt(l.left, y), c.pt(l.right, y))
		if !l.hasData || math.Abs(y-thrY) < 28 {
			continue
		}
		c.text(tick, pal.muted, l.left-12, y+8, 1, fit(tick, l.y.labels[i], maxAxisWidth))
	}

	// Time labels, kept within the image, and the time zone under the
	// value labels.
	ticks := timeTicks(l.from, l.to, d.loc, 6)
	lastEnd := math.Inf(-1)
	for _, t := range ticks {
		x := l.xOf(t.t)
		c.stroke(pal.axis, 1, nil, c.pt(math.Round(x)+0.5, l.bottom), c.pt(math.Round(x)+0.5, l.bottom+6))
		w := float64(tick.Width(t.label))
		x0 := math.Min(math.Max(x-w/2, l.left-w/2+4), width-pad-w+8)
		if x0 < lastEnd+12 {
			continue
		}
		c.text(tick, pal.muted, x0, l.bottom+30, 0, t.label)
		lastEnd = x0 + w
	}
	zone := l.to.In(d.loc).Format("MST") // "UTC", "CET", or the offset "+07"
	c.text(face(true, tickSize-2), pal.muted, l.left-12, l.bottom+30, 1, zone)

	if !l.hasData {
		nf := face(true, 26)
		c.text(nf, pal.muted, (l.left+l.right)/2, (l.top+l.bottom)/2+9, 0.5, "No data")
	}

	// Lines: previous day under the others, grey extras under the legend's
	// series, the first series on top.
	clip := draw.NewCanvas(cv, vg.Length(l.w), vg.Length(l.h))
	clip.Rectangle = vg.Rectangle{Min: c.pt(l.left, l.bottom+1), Max: c.pt(l.right, l.top-1)}
	for _, ln := range d.prev {
		d.drawLine(c, clip, l, ln)
	}
	for i := len(d.lines) - 1; i >= maxLegend; i-- {
		d.drawLine(c, clip, l, d.lines[i])
	}
	if thr != nil && d.thrShown {
		y := l.yOf(thr.Value)
		c.stroke(pal.threshold, 2.5, nil, c.pt(l.left, y), c.pt(l.right, y))
	}
	for i := min(len(d.lines), maxLegend) - 1; i >= 0; i-- {
		d.drawLine(c, clip, l, d.lines[i])
	}

	// The alert's start: a dotted line with its label above the plot, or
	// the label alone at the left when the alert started before the window.
	if d.alertShown(l) {
		as := d.c.AlertStart
		af := face(true, 20)
		label := "alert"
		x := l.left
		if !as.Before(l.from) {
			x = l.xOf(as)
			c.stroke(pal.marker, 2, []vg.Length{2, 4}, c.pt(x, l.top-6), c.pt(x, l.bottom))
		} else {
			label = "← alert since " + as.In(d.loc).Format("15:04")
		}
		w := float64(af.Width(label)) + 16
		x0 := x - w/2
		x0 = math.Max(l.left, math.Min(x0, l.right-w))
		c.pill(pal.marker, x0, l.top-34, x0+w, l.top-6, 6)
		c.text(af, pal.bg, x0+8, l.top-13, 0, label)
	}

	if thrLabel != "" {
		tf := face(true, tickSize)
		thrLabel = fit(tf, thrLabel, maxAxisWidth-12)
		w := float64(tf.Width(thrLabel)) + 12
		x1 := l.left - 6
		c.pill(pal.threshold, x1-w, thrY-14, x1, thrY+14, 6)
		c.text(tf, pal.bg, x1-w+6, thrY+8, 0, thrLabel)
	}

	// Legend.
	lf := face(false, legendSize)
	y := l.bottom + 40 + 8
	for _, i := range d.legend {
		ln := d.lines[i]
		if ln.name == "" {
			continue
		}
		cy := y + legendRow/2
		c.stroke(ln.color, 4, nil, c.pt(pad, cy), c.pt(pad+28, cy))
		c.text(lf, pal.text, pad+38, cy+8, 0, fit(lf, ln.name, width-2*pad-38))
		y += legendRow
	}
	if d.more > 0 || len(d.prev) > 0 {
		cy := y + legendRow/2
		x := float64(pad)
		if d.more > 0 {
			x += c.text(lf, pal.muted, x, cy+8, 0, fmt.Sprintf("+%d more", d.more)) + 28
		}
		if len(d.prev) > 0 {
			c.stroke(pal.muted, prevWidth, []vg.Length{10, 7}, c.pt(x, cy), c.pt(x+28, cy))
			c.text(lf, pal.muted, x+38, cy+8, 0, earlierLabel(d.offset))
		}
	}
	return cv.Image().(*image.RGBA)
}

// drawLine draws one series: its runs as polylines clipped to the plot area,
// a run of one point as a dot. Runs wider than the plot in points are
// reduced to each pixel column's first, lowest, highest and last point,
// which draws the same line.
func (d *drawing) drawLine(c canvas, clip draw.Canvas, l *layout, ln line) {
	for _, r := range ln.runs {
		if len(r) == 1 {
			p := r[0]
			if !p.T.Before(l.from) && !p.T.After(l.to) {
				c.dot(ln.color, l.xOf(p.T), l.yOf(p.V), dotRadius)
			}
			continue
		}
		// Only the points in the window and one on each side of it, for
		// the line to leave the plot where it should; their pixels kept
		// within a million of the plot, where the clipping and the
		// rasterizer's fixed-point numbers stay exact (a point hours away
		// would be billions of pixels off, or infinitely when its value is
		// 1e300 on an axis of 1e-300).
		i0, _ := slices.BinarySearchFunc(r, l.from, func(p Point, t time.Time) int { return p.T.Compare(t) })
		i1, _ := slices.BinarySearchFunc(r, l.to, func(p Point, t time.Time) int {
			if p.T.After(t) {
				return 1
			}
			return -1
		})
		r = r[max(i0-1, 0):min(i1+1, len(r))]
		if len(r) < 2 {
			continue
		}
		pt := func(p Point) vg.Point {
			const far = 1e6
			x := math.Max(l.left-far, math.Min(l.xOf(p.T), l.right+far))
			y := math.Max(l.top-far, math.Min(l.yOf(p.V), l.bottom+far))
			return c.pt(x, y)
		}
		pts := make([]vg.Point, 0, min(len(r), 4*int(l.right-l.left)+8))
		col, first := math.MinInt, 0
		flush := func(end int) { // the column of r[first:end]
			if end-first <= 4 {
				for _, p := range r[first:end] {
					pts = append(pts, pt(p))
				}
				return
			}
			lo, hi := first, first
			for k := first; k < end; k++ {
				if r[k].V < r[lo].V {
					lo = k
				}
				if r[k].V > r[hi].V {
					hi = k
				}
			}
			keep := []int{first, lo, hi, end - 1}
			slices.Sort(keep)
			for k, idx := range keep {
				if k == 0 || idx != keep[k-1] {
					pts = append(pts, pt(r[idx]))
				}
			}
		}
		for k, p := range r {
			x := int(math.Floor(l.xOf(p.T)))
			if x != col {
				if k > 0 {
					flush(k)
				}
				col, first = x, k
			}
		}
		flush(len(r))
		for _, part := range clip.ClipLinesXY(pts) {
			c.stroke(ln.color, ln.width, ln.dash, part...)
		}
	}
}
