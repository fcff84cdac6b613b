package charts

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bars is a bar chart for the web console, drawn by BarsSVG: incidents per
// day over 7, 30 or 90 days; pages by hour of day, after-hours hours marked.
type Bars struct {
	// Title names the chart for screen readers (its <title> and
	// aria-label); the page shows its own heading.
	Title string
	// Desc describes it in a sentence (<desc>); empty means one made from
	// the data: how many bars, from which label to which, the highest.
	Desc string
	Bars []Bar
	Unit Unit // the values' unit; UnitNone for counts
	// MarkLabel is the legend of the marked bars ("after hours"); no legend
	// when empty.
	MarkLabel string
	// LabelEvery labels every n-th bar, from the first; 0 picks the
	// smallest n at which the labels do not overlap.
	LabelEvery int
}

// Bar is one bar.
type Bar struct {
	Label string  // under the bar: "Mar 3", "14"
	Value float64 // NaN, ±Inf and negative values draw no bar
	Mark  bool    // drawn in the marked colour (class kc-mark): after hours, a weekend
	// Tip is the bar's tooltip; empty means "Label: Value".
	Tip string
}

// Lines is a line chart with dots for the web console, drawn by LinesSVG:
// MTTA and MTTR, p50 and p90, per week.
type Lines struct {
	Title string // as Bars.Title
	Desc  string // as Bars.Desc; empty means one made from the data
	// X labels the points along the x axis ("Mar 2" for a week); each
	// series has a value per label.
	X      []string
	Series []LineSeries // the first four have their own colour and dash
	Unit   Unit
}

// LineSeries is one line of a Lines chart.
type LineSeries struct {
	Name   string
	Values []float64 // one per Lines.X; NaN (or a missing value) breaks the line
}

// The SVG charts' geometry, in the viewBox's units: the SVG scales to its
// container's width (see CSS); at its natural width the text is 12 px.
const (
	svgWidth    = 640
	svgHeight   = 220
	svgFont     = 12
	svgCharW    = 7 // an estimate of a character's width at svgFont, for layout
	svgTop      = 10
	svgBottom   = 22 // the x labels
	svgRight    = 8
	svgLegend   = 20 // the legend's row, when there is one
	maxSVGLabel = 24 // runes of a label or legend name; tooltips may have 200
)

// CSS colours the SVG charts: the console puts it in its stylesheet (the
// charts carry only class attributes, no style, so that a strict
// Content-Security-Policy without 'unsafe-inline' styles holds). It follows
// the reader's light or dark preference; the colours are those of the PNG
// charts (Okabe and Ito's, for colour-blind readers), and the second series
// is dashed as well as coloured.
const CSS = `.kc-chart{max-width:100%;height:auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.kc-chart text{fill:#59636e}
.kc-grid{stroke:#dfe3e8;fill:none}
.kc-axis{stroke:#8c959f;fill:none}
.kc-bar{fill:#0072b2}
.kc-bar .kc-mark,.kc-key.kc-mark{fill:#e69f00}
.kc-bar rect:hover,.kc-dot circle:hover{opacity:.7}
.kc-line{fill:none;stroke:currentColor;stroke-width:2;stroke-linejoin:round}
.kc-dot{fill:currentColor}
.kc-s0{color:#0072b2}.kc-s1{color:#d55e00}.kc-s2{color:#009e73}.kc-s3{color:#cc79a7}
.kc-s1 .kc-line{stroke-dasharray:6 3}.kc-s3 .kc-line{stroke-dasharray:2 3}
@media (prefers-color-scheme:dark){
.kc-chart text{fill:#a6adb5}
.kc-grid{stroke:#33383f}
.kc-axis{stroke:#6b737c}
.kc-bar{fill:#56b4e9}
.kc-s0{color:#56b4e9}.kc-s1{color:#ff8c55}.kc-s2{color:#2bc49a}.kc-s3{color:#e08fbf}
}
`

// esc cleans outside text for markup (see clean) and escapes it for both
// element content and attribute values: & < > " ' become entities.
func esc(s string, maxRunes int) string {
	return html.EscapeString(clean(s, maxRunes))
}

// num prints an SVG coordinate: at most one decimal, no trailing zeros.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// svgWriter collects the first write error, so that drawing code reads
// straight through.
type svgWriter struct {
	w   *bufio.Writer
	err error
}

func (s *svgWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

func (s *svgWriter) flush() error {
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err != nil {
		return fmt.Errorf("charts: writing the SVG: %w", s.err)
	}
	return nil
}

// textWidth estimates the width of s at svgFont.
func textWidth(s string) float64 {
	return float64(utf8.RuneCountInString(s)) * svgCharW
}

// open writes the <svg> element with its accessible name and description
// (title and desc are escaped already).
func (s *svgWriter) open(height float64, title, desc string) {
	label := ""
	if title != "" {
		label = ` aria-label="` + title + `"`
	}
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" class="kc-chart" viewBox="0 0 %d %s" width="%d" height="%s" role="img"%s font-size="%d">`,
		svgWidth, num(height), svgWidth, num(height), label, svgFont)
	s.printf(`<title>%s</title><desc>%s</desc>`, title, desc)
}

// yAxis draws the horizontal grid with its value labels, right-aligned left
// of x0, and returns the axis.
func (s *svgWriter) yAxis(ax axis, x0, top, bottom float64) {
	yOf := func(v float64) float64 { return bottom - (v-ax.lo)/(ax.hi-ax.lo)*(bottom-top) }
	s.printf(`<path class="kc-grid" d="`)
	for i, v := range ax.ticks {
		if i > 0 {
			s.printf(`M%s %sH%d`, num(x0), num(yOf(v)), svgWidth-svgRight)
		}
	}
	s.printf(`"/><path class="kc-axis" d="M%s %sH%d"/><g text-anchor="end">`, num(x0), num(bottom), svgWidth-svgRight)
	for i, v := range ax.ticks {
		s.printf(`<text x="%s" y="%s">%s</text>`, num(x0-6), num(yOf(v)+4), html.EscapeString(ax.labels[i]))
	}
	s.printf(`</g>`)
}

// axisWidth is the room the value labels take.
func axisWidth(ax axis) float64 {
	w := 0.0
	for _, l := range ax.labels {
		w = math.Max(w, textWidth(l))
	}
	return w + 10
}

// valueAxis spans values (and zero) for an SVG chart, only the positive
// ones for bars; counts (whole numbers without a unit) get whole-number
// ticks. ok is false when no value can be plotted.
func valueAxis(values []float64, u Unit, positive bool) (ax axis, ok bool) {
	lo, hi, whole := 0.0, 0.0, true
	for _, v := range values {
		if !finite(v) || positive && v <= 0 {
			continue
		}
		ok = true
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		whole = whole && v == math.Trunc(v)
	}
	if whole && u == UnitNone {
		hi = math.Max(hi, 4) // steps of at least 1 for up to 4 ticks
	}
	return niceAxis(lo, hi, 4, u), ok
}

// noData writes "No data" in the middle of the plot, over its base line.
func (s *svgWriter) noData(left, top, bottom float64) {
	right := float64(svgWidth - svgRight)
	s.printf(`<path class="kc-axis" d="M%s %sH%s"/><text x="%s" y="%s" text-anchor="middle">No data</text>`,
		num(left), num(bottom), num(right), num((left+right)/2), num((top+bottom)/2+4))
}

// BarsSVG writes b as an SVG element to inline in an HTML page: classes
// only (colour it with CSS), every label escaped and cleaned of control and
// bidi-override characters, role="img" with a <title> and <desc>. A 90-bar
// chart is under 10 KB.
func BarsSVG(w io.Writer, b Bars) error {
	s := &svgWriter{w: bufio.NewWriter(w)}
	values := make([]float64, len(b.Bars))
	for i, bar := range b.Bars {
		values[i] = bar.Value
	}
	ax, ok := valueAxis(values, b.Unit, true)
	height := float64(svgHeight)
	top := float64(svgTop)
	mark := clean(b.MarkLabel, maxSVGLabel)
	if mark != "" {
		top += svgLegend
	}
	bottom := height - svgBottom
	left := axisWidth(ax) + 4
	right := float64(svgWidth - svgRight)

	desc := b.Desc
	if desc == "" {
		desc = barsDesc(b)
	}
	s.open(height, esc(b.Title, 200), esc(desc, 500))
	if mark != "" {
		x := right - textWidth(mark)
		s.printf(`<rect class="kc-key kc-mark" x="%s" y="%s" width="10" height="10"/><text x="%s" y="%s">%s</text>`,
			num(x-16), num(svgTop+1), num(x), num(svgTop+10), html.EscapeString(mark))
	}
	if !ok {
		s.noData(svgRight, top, bottom)
		s.printf("</svg>")
		return s.flush()
	}
	s.yAxis(ax, left, top, bottom)

	n := len(b.Bars)
	if n > 0 {
		slot := (right - left) / float64(n)
		gap := math.Max(1, math.Min(slot*0.2, 8))
		yOf := func(v float64) float64 { return bottom - (v-ax.lo)/(ax.hi-ax.lo)*(bottom-top) }
		s.printf(`<g class="kc-bar">`)
		for i, bar := range b.Bars {
			if !finite(bar.Value) || bar.Value <= 0 {
				continue
			}
			class := ""
			if bar.Mark {
				class = ` class="kc-mark"`
			}
			tip := bar.Tip
			if tip == "" {
				tip = clean(bar.Label, maxSVGLabel) + ": " + FormatValue(bar.Value, b.Unit)
			}
			y := yOf(bar.Value)
			s.printf(`<rect%s x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
				class, num(left+float64(i)*slot+gap/2), num(y), num(slot-gap), num(bottom-y), esc(tip, 200))
		}
		s.printf(`</g>`)

		every := b.LabelEvery
		if every <= 0 {
			widest := 0.0
			for _, bar := range b.Bars {
				widest = math.Max(widest, textWidth(clean(bar.Label, maxSVGLabel)))
			}
			every = max(1, int(math.Ceil((widest+8)/slot)))
		}
		s.printf(`<g text-anchor="middle">`)
		for i := 0; i < n; i += every {
			s.printf(`<text x="%s" y="%s">%s</text>`, num(left+(float64(i)+0.5)*slot), num(bottom+16), esc(b.Bars[i].Label, maxSVGLabel))
		}
		s.printf(`</g>`)
	}
	s.printf("</svg>")
	return s.flush()
}

// barsDesc describes bars for a screen reader.
func barsDesc(b Bars) string {
	n := len(b.Bars)
	if n == 0 {
		return "No data."
	}
	hi, total := -1, 0.0
	for i, bar := range b.Bars {
		if !finite(bar.Value) || bar.Value < 0 {
			continue
		}
		total += bar.Value
		if hi < 0 || bar.Value > b.Bars[hi].Value {
			hi = i
		}
	}
	d := fmt.Sprintf("%d bars from %s to %s", n, clean(b.Bars[0].Label, maxSVGLabel), clean(b.Bars[n-1].Label, maxSVGLabel))
	if hi >= 0 {
		d += fmt.Sprintf(", %s in all; the highest is %s at %s", FormatValue(total, b.Unit), FormatValue(b.Bars[hi].Value, b.Unit), clean(b.Bars[hi].Label, maxSVGLabel))
	}
	return d + "."
}

// LinesSVG writes l as an SVG element to inline in an HTML page, as BarsSVG
// does: a line per series with a dot per value (its tooltip the label, name
// and value), the legend above.
func LinesSVG(w io.Writer, l Lines) error {
	s := &svgWriter{w: bufio.NewWriter(w)}
	var values []float64
	for _, ser := range l.Series {
		values = append(values, ser.Values...)
	}
	ax, ok := valueAxis(values, l.Unit, false)
	height := float64(svgHeight)
	top := float64(svgTop)
	if len(l.Series) > 0 {
		top += svgLegend
	}
	bottom := height - svgBottom
	left := axisWidth(ax) + 4
	right := float64(svgWidth - svgRight)

	desc := l.Desc
	if desc == "" {
		desc = linesDesc(l)
	}
	s.open(height, esc(l.Title, 200), esc(desc, 500))

	// The legend, right-aligned: a stroke of the series' line and its name.
	x := right
	names := make([]string, len(l.Series))
	for i := len(l.Series) - 1; i >= 0; i-- {
		names[i] = clean(l.Series[i].Name, maxSVGLabel)
		x -= textWidth(names[i]) + 40
	}
	x = math.Max(x, 4) // too long for one row: from the left, running off the right
	for i := range l.Series {
		s.printf(`<g class="kc-s%d"><path class="kc-line" d="M%s %sh18"/><text x="%s" y="%s">%s</text></g>`,
			i%4, num(x), num(svgTop+6), num(x+22), num(svgTop+10), html.EscapeString(names[i]))
		x += textWidth(names[i]) + 40
	}
	if !ok || len(l.X) == 0 {
		s.noData(svgRight, top, bottom)
		s.printf("</svg>")
		return s.flush()
	}
	s.yAxis(ax, left, top, bottom)

	n := len(l.X)
	if n > 0 {
		step := (right - left) / float64(n)
		xOf := func(i int) float64 { return left + (float64(i)+0.5)*step }
		yOf := func(v float64) float64 { return bottom - (v-ax.lo)/(ax.hi-ax.lo)*(bottom-top) }
		labels := make([]string, n)
		widest := 0.0
		for i, x := range l.X {
			labels[i] = clean(x, maxSVGLabel)
			widest = math.Max(widest, textWidth(labels[i]))
		}
		for k, ser := range l.Series {
			var d strings.Builder
			move := true
			for i := 0; i < n; i++ {
				if i >= len(ser.Values) || !finite(ser.Values[i]) {
					move = true
					continue
				}
				cmd := "L"
				if move {
					cmd = "M"
				}
				d.WriteString(cmd + num(xOf(i)) + " " + num(yOf(ser.Values[i])))
				move = false
			}
			s.printf(`<g class="kc-s%d">`, k%4)
			if d.Len() > 0 {
				s.printf(`<path class="kc-line" d="%s"/>`, d.String())
			}
			s.printf(`<g class="kc-dot">`)
			for i := 0; i < n && i < len(ser.Values); i++ {
				v := ser.Values[i]
				if !finite(v) {
					continue
				}
				tip := labels[i] + " " + names[k] + ": " + FormatValue(v, l.Unit)
				s.printf(`<circle cx="%s" cy="%s" r="3.5"><title>%s</title></circle>`, num(xOf(i)), num(yOf(v)), html.EscapeString(tip))
			}
			s.printf(`</g></g>`)
		}
		every := max(1, int(math.Ceil((widest+8)/step)))
		s.printf(`<g text-anchor="middle">`)
		for i := 0; i < n; i += every {
			s.printf(`<text x="%s" y="%s">%s</text>`, num(xOf(i)), num(bottom+16), html.EscapeString(labels[i]))
		}
		s.printf(`</g>`)
	}
	s.printf("</svg>")
	return s.flush()
}

// linesDesc describes lines for a screen reader.
func linesDesc(l Lines) string {
	if len(l.Series) == 0 || len(l.X) == 0 {
		return "No data."
	}
	var parts []string
	for _, ser := range l.Series {
		last := math.NaN()
		for i := min(len(ser.Values), len(l.X)) - 1; i >= 0; i-- {
			if finite(ser.Values[i]) {
				last = ser.Values[i]
				break
			}
		}
		if p := clean(ser.Name, maxSVGLabel); !math.IsNaN(last) {
			parts = append(parts, p+" "+FormatValue(last, l.Unit))
		}
	}
	d := fmt.Sprintf("%d points from %s to %s", len(l.X), clean(l.X[0], maxSVGLabel), clean(l.X[len(l.X)-1], maxSVGLabel))
	if len(parts) > 0 {
		d += "; latest: " + strings.Join(parts, ", ")
	}
	return d + "."
}
