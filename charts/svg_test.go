package charts

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./charts -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test ./charts -update rewrites it)\ngot:\n%s", name, path, got)
	}
}

// sampleBars are incidents per day over n days up to 14 March 2026, weekends
// marked.
func sampleBars(n int) Bars {
	b := Bars{Title: fmt.Sprintf("Incidents per day, last %d days", n), MarkLabel: "weekend"}
	end := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for i := range n {
		d := end.AddDate(0, 0, i-n+1)
		v := math.Max(float64((i*7+3)%11)-2, 0) // some days without incidents
		wd := d.Weekday()
		b.Bars = append(b.Bars, Bar{Label: d.Format("Jan 2"), Value: v, Mark: wd == time.Saturday || wd == time.Sunday})
	}
	return b
}

func sampleHours() Bars {
	b := Bars{Title: "Pages by hour of day", MarkLabel: "after hours", LabelEvery: 3}
	for h := range 24 {
		v := 2 + 10*math.Exp(-math.Pow(float64(h)-14, 2)/18) + float64(h%3)
		b.Bars = append(b.Bars, Bar{Label: fmt.Sprint(h), Value: math.Round(v), Mark: h < 9 || h >= 18})
	}
	return b
}

func sampleLines() Lines {
	l := Lines{Title: "Time to acknowledge and resolve, per week", Unit: UnitSeconds}
	p50a, p90a, p50r, p90r := LineSeries{Name: "MTTA p50"}, LineSeries{Name: "MTTA p90"}, LineSeries{Name: "MTTR p50"}, LineSeries{Name: "MTTR p90"}
	start := time.Date(2025, 12, 22, 0, 0, 0, 0, time.UTC)
	for w := range 12 {
		l.X = append(l.X, start.AddDate(0, 0, 7*w).Format("Jan 2"))
		f := float64(w)
		p50a.Values = append(p50a.Values, 120+30*math.Sin(f))
		p90a.Values = append(p90a.Values, 600+200*math.Cos(f))
		p50r.Values = append(p50r.Values, 1800+600*math.Sin(f/2))
		v := 5400 - 200*f
		if w == 5 {
			v = math.NaN() // a week without resolved incidents
		}
		p90r.Values = append(p90r.Values, v)
	}
	l.Series = []LineSeries{p50a, p90a, p50r, p90r}
	return l
}

func svgOf(t *testing.T, draw func(io.Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := draw(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, buf.Bytes())
	return buf.Bytes()
}

// wellFormed parses svg as XML and checks what the console relies on: one
// svg element with role="img", a title and a desc first, and no element or
// attribute that runs script or carries style.
func wellFormed(t *testing.T, svg []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	depth, first := 0, []string{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if e.Name.Local != "svg" || attr(e, "role") != "img" {
					t.Errorf("root %v", e)
				}
			}
			if depth == 2 && len(first) < 2 {
				first = append(first, e.Name.Local)
			}
			switch e.Name.Local {
			case "script", "style", "foreignObject", "a", "image", "use", "iframe":
				t.Errorf("element <%s> in the SVG", e.Name.Local)
			}
			for _, a := range e.Attr {
				n := strings.ToLower(a.Name.Local)
				if n == "style" || strings.HasPrefix(n, "on") || n == "href" {
					t.Errorf("attribute %s=%q on <%s>", a.Name.Local, a.Value, e.Name.Local)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if strings.Join(first, ",") != "title,desc" {
		t.Errorf("the svg's first children are %v, want title and desc", first)
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestBarsSVGGolden(t *testing.T) {
	golden(t, "bars-30d.svg", svgOf(t, func(w io.Writer) error { return BarsSVG(w, sampleBars(30)) }))
	golden(t, "bars-hours.svg", svgOf(t, func(w io.Writer) error { return BarsSVG(w, sampleHours()) }))
	golden(t, "bars-empty.svg", svgOf(t, func(w io.Writer) error { return BarsSVG(w, Bars{Title: "Nothing"}) }))
}

func TestLinesSVGGolden(t *testing.T) {
	golden(t, "lines-weekly.svg", svgOf(t, func(w io.Writer) error { return LinesSVG(w, sampleLines()) }))
	golden(t, "lines-empty.svg", svgOf(t, func(w io.Writer) error { return LinesSVG(w, Lines{Title: "Nothing"}) }))
}

func TestBarsSVGSize(t *testing.T) {
	for _, n := range []int{7, 30, 90} {
		svg := svgOf(t, func(w io.Writer) error { return BarsSVG(w, sampleBars(n)) })
		if n == 90 && len(svg) > 10<<10 {
			t.Errorf("90 bars: %d bytes, over 10 KB", len(svg))
		}
		if got := strings.Count(string(svg), "<rect"); got > n+1 {
			t.Errorf("%d bars: %d rects", n, got)
		}
		t.Logf("%d bars: %d bytes", n, len(svg))
	}
}

func TestSVGHostileLabels(t *testing.T) {
	hostile := []string{
		`<script>alert(1)</script>`,
		`"><svg onload=alert(1)>`,
		`' onmouseover='alert(1)`,
		`&amp; &lt;`,
		"\u202Egnp.exe\u202C",
		"\u2067rtl\u2069 \u200F",
		"]]><!-- --><![CDATA[",
		"\x00\x1b[31m\xff",
		`</title><script>x</script>`,
	}
	var bars Bars
	lines := Lines{Unit: Unit(`"><script>`)}
	for i, h := range hostile {
		bars.Bars = append(bars.Bars, Bar{Label: h, Value: float64(i + 1), Tip: h, Mark: i%2 == 0})
		lines.X = append(lines.X, h)
		lines.Series = append(lines.Series, LineSeries{Name: h, Values: []float64{1, 2, 3}})
	}
	bars.Title, bars.Desc, bars.MarkLabel = hostile[0], hostile[1], hostile[8]
	lines.Title = hostile[4]
	for _, svg := range [][]byte{
		svgOf(t, func(w io.Writer) error { return BarsSVG(w, bars) }),
		svgOf(t, func(w io.Writer) error { return LinesSVG(w, lines) }),
		svgOf(t, func(w io.Writer) error { return LinesSVG(w, Lines{Title: "t", Series: lines.Series, X: lines.X}) }), // default desc
	} {
		s := string(svg)
		for _, bad := range []string{"<script", "<svg onload", "onmouseover='", "\u202E", "\u202C", "\u2067", "\u200F", "\x00", "\x1b", "<!--", "<![CDATA["} {
			if strings.Contains(s, bad) {
				t.Errorf("%q is in the SVG", bad)
			}
		}
		if !strings.Contains(s, "&lt;script&gt;") || !strings.Contains(s, "&amp;amp;") || !strings.Contains(s, "&#34;&gt;") {
			t.Errorf("hostile labels are not shown escaped:\n%s", s)
		}
		if !strings.Contains(s, "gnp.exe") {
			t.Error("the text around a bidi override is lost")
		}
	}
}

func TestSVGWriteError(t *testing.T) {
	big := sampleBars(90)
	for _, err := range []error{BarsSVG(failWriter{}, big), LinesSVG(failWriter{}, sampleLines())} {
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("SVG to a failing writer: %v", err)
		}
	}
}

func TestBarsDesc(t *testing.T) {
	b := Bars{Bars: []Bar{{Label: "Mon", Value: 2}, {Label: "Tue", Value: math.NaN()}, {Label: "Wed", Value: 5}, {Label: "Thu", Value: -1}}}
	if got, want := barsDesc(b), "4 bars from Mon to Thu, 7 in all; the highest is 5 at Wed."; got != want {
		t.Errorf("barsDesc = %q, want %q", got, want)
	}
	l := sampleLines()
	if got, want := linesDesc(l), "12 points from Dec 22 to Mar 9; latest: MTTA p50 1.5 min, MTTA p90 10 min, MTTR p50 22.9 min, MTTR p90 53.3 min."; got != want {
		t.Errorf("linesDesc = %q, want %q", got, want)
	}
}

func TestCSS(t *testing.T) {
	// Every class the charts use has a colour or a rule in CSS.
	var all bytes.Buffer
	all.Write(svgOf(t, func(w io.Writer) error { return BarsSVG(w, sampleBars(30)) }))
	all.Write(svgOf(t, func(w io.Writer) error { return LinesSVG(w, sampleLines()) }))
	for _, m := range strings.Split(all.String(), `class="`)[1:] {
		for _, class := range strings.Fields(m[:strings.IndexByte(m, '"')]) {
			if !strings.Contains(CSS, "."+class) {
				t.Errorf("class %q has no rule in CSS", class)
			}
		}
	}
	if !strings.Contains(CSS, "prefers-color-scheme:dark") {
		t.Error("CSS has no dark variant")
	}
}
