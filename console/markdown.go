package console

import (
	"bytes"
	"html/template"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/klaxonbot/klaxon/templates"
)

// Postmortems are Markdown that people write, rendered in the console.
// goldmark (CommonMark, maintained, no dependencies) does the parsing
// rather than a renderer of our own: the draft's escapes (\*, &lt;),
// tables and nesting are where hand-made renderers go wrong, and getting
// them wrong here is getting escaping wrong. What makes its HTML safe to
// put in a page:
//
//   - raw HTML is never passed through: goldmark's renderer leaves it
//     out unless told otherwise (html.WithUnsafe), and we never do;
//   - safeLinks keeps a link only to an absolute http(s) URL (no
//     javascript:, data:, mailto:, relative or protocol-relative URLs),
//     marked rel="nofollow noopener noreferrer"; other links and every
//     image become their text (an image would load from anywhere);
//   - no attribute syntax ({#id .class}) and no heading IDs: nothing in
//     the text names an attribute;
//   - table cells align with the align attribute, not a style (the
//     Content-Security-Policy allows no inline style);
//   - control and bidi-override characters are removed first.
//
// Tests (and FuzzMarkdown) check that <script>, raw HTML, javascript:
// links and event handlers stay inert.
var markdown = goldmark.New(
	goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
	),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 1000))),
)

// renderMarkdown renders md as HTML fit for a page (see markdown).
func renderMarkdown(md string) template.HTML {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(cleanMarkdown(md)), &b); err != nil {
		// goldmark fails only when its writer does; a bytes.Buffer does
		// not. Show the text as text rather than nothing.
		return template.HTML("<pre>" + template.HTMLEscapeString(md) + "</pre>")
	}
	return template.HTML(b.String()) // safe: see markdown
}

// cleanMarkdown removes control characters but newlines and tabs, and the
// bidi controls that can make text read otherwise than it is.
func cleanMarkdown(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
}

// safeLinks keeps links to absolute http(s) URLs only, and turns images
// into their text (or a link to the image).
type safeLinks struct{}

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	var unwrap []ast.Node
	var links []*ast.Link
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if safeURL(n.Destination) {
				links = append(links, n)
			} else {
				unwrap = append(unwrap, n)
			}
		case *ast.Image:
			unwrap = append(unwrap, n)
		case *ast.AutoLink:
			if !safeURL(n.URL(src)) || n.AutoLinkType != ast.AutoLinkURL {
				unwrap = append(unwrap, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, l := range links {
		l.Title = nil
		l.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
	}
	for _, n := range unwrap {
		parent := n.Parent()
		if parent == nil {
			continue
		}
		var repl []ast.Node
		if a, ok := n.(*ast.AutoLink); ok {
			repl = []ast.Node{ast.NewString(a.Label(src))}
		} else if img, ok := n.(*ast.Image); ok && safeURL(img.Destination) {
			// An image from outside: a link to it, never loaded.
			l := ast.NewLink()
			l.Destination = img.Destination
			l.SetAttributeString("rel", []byte("nofollow noopener noreferrer"))
			for c := img.FirstChild(); c != nil; {
				next := c.NextSibling()
				l.AppendChild(l, c)
				c = next
			}
			if l.ChildCount() == 0 {
				l.AppendChild(l, ast.NewString([]byte("image")))
			}
			repl = []ast.Node{l}
		} else {
			for c := n.FirstChild(); c != nil; c = c.NextSibling() {
				repl = append(repl, c)
			}
		}
		for _, c := range repl {
			if c.Parent() != nil {
				c.Parent().RemoveChild(c.Parent(), c)
			}
			parent.InsertBefore(parent, n, c)
		}
		parent.RemoveChild(parent, n)
	}
}

// safeURL says whether u is an absolute http(s) URL without credentials.
func safeURL(u []byte) bool {
	_, ok := templates.SafeURL(string(u))
	return ok
}
