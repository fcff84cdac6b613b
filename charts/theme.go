package charts

import (
	"image"
	"image/color"
	"image/draw"
	"slices"
	"sync"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// Theme is the colour scheme of a PNG chart. Both are opaque: a chart image
// carries its own background, so that it reads the same in a light and in a
// dark chat theme (the bot posts one image that every reader sees, whatever
// theme each of them chose).
type Theme int

const (
	// ThemeLight is dark text and lines on white, the default.
	ThemeLight Theme = iota
	// ThemeDark is light text and lines on a near-black grey, for teams
	// whose chat is dark.
	ThemeDark
)

// palette is a theme's colours.
type palette struct {
	bg, text, muted, grid, axis color.RGBA
	series                      []color.RGBA // one per legend entry, in order
	other                       color.RGBA   // the series past the legend's
	threshold                   color.RGBA
	zone                        color.RGBA // the region past the threshold, translucent
	marker                      color.RGBA // the alert's vertical line and label
}

// rgb is an opaque colour from its hex triplet.
func rgb(hex uint32) color.RGBA {
	return color.RGBA{uint8(hex >> 16), uint8(hex >> 8), uint8(hex), 0xff}
}

// The series colours are Okabe and Ito's palette for colour-blind readers
// (Color Universal Design, 2008), ordered so that the first colours differ
// most for every kind of colour blindness and stand out on the theme's
// background; vermillion is kept for the threshold. Shapes carry meaning too:
// the previous day is dashed, the threshold has a shaded side and a label.
func (t Theme) palette() palette {
	if t == ThemeDark {
		return palette{
			bg: rgb(0x16191d), text: rgb(0xe8eaed), muted: rgb(0xa6adb5), grid: rgb(0x33383f), axis: rgb(0x6b737c),
			series:    []color.RGBA{rgb(0x56b4e9), rgb(0xe69f00), rgb(0x2bc49a), rgb(0xe08fbf), rgb(0xf0e442)},
			other:     rgb(0x737b85),
			threshold: rgb(0xff6b35),
			zone:      color.RGBA{0x1a, 0x0b, 0x05, 0x1a}, // premultiplied #ff6b35 at 10 %
			marker:    rgb(0xe8eaed),
		}
	}
	return palette{
		bg: rgb(0xffffff), text: rgb(0x1f2328), muted: rgb(0x59636e), grid: rgb(0xdfe3e8), axis: rgb(0x8c959f),
		series:    []color.RGBA{rgb(0x0072b2), rgb(0xe69f00), rgb(0x009e73), rgb(0xcc79a7), rgb(0x56b4e9)},
		other:     rgb(0xaab1b9),
		threshold: rgb(0xd55e00),
		zone:      color.RGBA{0x1b, 0x0c, 0x00, 0x20}, // premultiplied #d55e00 at 12.5 %
		marker:    rgb(0x1f2328),
	}
}

// quantize maps img to at most 16 of the palette's colours, nearest first.
func (p palette) quantize(img *image.RGBA) *image.Paletted {
	cols := []color.RGBA{p.bg, p.text, p.muted, p.grid, p.axis, p.threshold, p.other}
	cols = append(cols, p.series...)
	zone := p.zone // the shade over the background
	cols = append(cols, color.RGBA{
		zone.R + uint8(uint32(p.bg.R)*uint32(255-zone.A)/255),
		zone.G + uint8(uint32(p.bg.G)*uint32(255-zone.A)/255),
		zone.B + uint8(uint32(p.bg.B)*uint32(255-zone.A)/255), 0xff})
	for _, s := range p.series[:3] {
		cols = append(cols, faded(s, p.bg, 0.6))
	}
	var pal color.Palette
	for _, c := range cols {
		if len(pal) < 16 && !slices.ContainsFunc(pal, func(x color.Color) bool { return x == color.Color(c) }) {
			pal = append(pal, c)
		}
	}
	out := image.NewPaletted(img.Bounds(), pal)
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

// faded is c mixed with bg, weight w of c: the previous day's lines.
func faded(c, bg color.RGBA, w float64) color.RGBA {
	mix := func(a, b uint8) uint8 { return uint8(float64(a)*w + float64(b)*(1-w) + 0.5) }
	return color.RGBA{mix(c.R, bg.R), mix(c.G, bg.G), mix(c.B, bg.B), 0xff}
}

// fonts are the Go fonts, regular and bold, parsed once: they are embedded
// in the binary (golang.org/x/image/font/gofont, about 300 KB for the two),
// so charts draws the same text on every machine without reading any file.
// They cover Latin, Greek and Cyrillic scripts; other scripts draw as boxes.
var fonts = sync.OnceValue(func() [2]*opentype.Font {
	var f [2]*opentype.Font
	for i, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		var err error
		if f[i], err = opentype.Parse(ttf); err != nil {
			panic("charts: the embedded Go font does not parse: " + err.Error())
		}
	}
	return f
})

// face is the regular or bold Go font at size px (charts draws at 72 DPI,
// where a point is a pixel).
func face(bold bool, px float64) font.Face {
	f, w := fonts()[0], xfont.WeightNormal
	if bold {
		f, w = fonts()[1], xfont.WeightBold
	}
	return font.Face{Font: font.Font{Typeface: "Go", Weight: w, Size: vg.Length(px)}, Face: f}
}
