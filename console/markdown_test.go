package console

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

func TestMarkdownRenders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# INC-1: disk full", "<h1>INC-1: disk full</h1>"},
		{"## Summary", "<h2>Summary</h2>"},
		{"- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"},
		{"1. first\n2. second", "<ol>\n<li>first</li>\n<li>second</li>\n</ol>"},
		{"*em* _em_ **strong**", "<p><em>em</em> <em>em</em> <strong>strong</strong></p>"},
		{"`code <b>`", "<p><code>code &lt;b&gt;</code></p>"},
		{"```\nx < y\n```", "<pre><code>x &lt; y\n</code></pre>"},
		{"[runbook](https://wiki.example.com/rb?a=1&b=2)", `<p><a href="https://wiki.example.com/rb?a=1&amp;b=2" rel="nofollow noopener noreferrer">runbook</a></p>`},
		{"<https://example.com/x>", `<a href="https://example.com/x">https://example.com/x</a>`},
		{"~~gone~~", "<del>gone</del>"},
		// The draft's escapes read as the characters.
		{`a \* b \_ c &lt;d&gt; \| e`, "<p>a * b _ c &lt;d&gt; | e</p>"},
		{"| a | b |\n| --- | :-: |\n| 1 | 2 |", `<th>a</th>`},
		{"| a | b |\n| --- | :-: |\n| 1 | 2 |", `<td align="center">2</td>`},
	} {
		if got := string(renderMarkdown(tc.in)); !strings.Contains(got, tc.want) {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// The draft klaxon generates renders: its headings, table and lists.
func TestMarkdownRendersTheDraft(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inc := &incidents.Incident{ID: "INC-7", Number: 7, Title: "disk <full> *now*", Severity: incidents.Sev2, State: incidents.Resolved,
		Team: "payments", CreatedAt: t0, ResolvedAt: t0.Add(time.Hour), ResolvedBy: "alice",
		Timeline: []incidents.Event{{At: t0, Kind: incidents.EventNote, Tag: "action", Actor: "alice", Text: "@bob add an alert"}}}
	md, err := templates.MustBuiltin().Postmortem(inc, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := string(renderMarkdown(md))
	for _, want := range []string{"<h1>INC-7: disk &lt;full&gt; *now*</h1>", "<h2>Summary</h2>", "<table>", "<td>Severity</td>", "<h2>Action items</h2>", "<td>add an alert</td>"} {
		if !strings.Contains(got, want) {
			t.Errorf("the rendered draft lacks %s:\n%s", want, got)
		}
	}
}

// hostile is Markdown that tries to run script, load from outside or
// link anywhere but http(s).
var hostile = []string{
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(2)>",
	"x <b onmouseover=alert(3)>bold</b> y",
	"[click](javascript:alert(4))",
	"[click](JaVaScRiPt:alert(4))",
	"[click](  javascript:alert(4) )",
	"[click](jav&#x61;script:alert(4))",
	"[click](data:text/html,<script>alert(5)</script>)",
	"[click](vbscript:msgbox(6))",
	"[mail](mailto:a@example.com)",
	"[rel](/ui/signout)",
	"[proto](//evil.example/x)",
	"![img](https://evil.example/track.png)",
	"![img](javascript:alert(7))",
	"<javascript:alert(8)>",
	"<a@example.com>",
	"[ref][r]\n\n[r]: javascript:alert(9)",
	"<div onclick=alert(10)>\n\nhi\n\n</div>",
	"<!-- comment --><style>body{display:none}</style>",
	"[x](https://ok.example \"title\\\" onmouseover=alert(11)\")",
	"{#id .cls onclick=alert(12)}\n# Heading {onclick=alert(12)}",
	"<iframe src=https://evil.example></iframe>",
	"\u202Egnp.exe\u2066rtl\u2069",
}

var (
	hrefAttr  = regexp.MustCompile(`(?i)\b(href|src)\s*=\s*"([^"]*)"`)
	tagRE     = regexp.MustCompile(`(?i)<\s*/?\s*([a-z0-9]+)`)
	safeTags  = map[string]bool{"p": true, "a": true, "em": true, "strong": true, "code": true, "pre": true, "ul": true, "ol": true, "li": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "blockquote": true, "hr": true, "br": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "del": true}
	eventAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
)

// inert reports what in out could run, load or link outside http(s).
func inert(out string) string {
	for _, m := range tagRE.FindAllStringSubmatch(out, -1) {
		if !safeTags[strings.ToLower(m[1])] {
			return "tag " + m[0]
		}
	}
	if m := eventAttr.FindString(out); m != "" {
		return "event handler " + m
	}
	for _, m := range hrefAttr.FindAllStringSubmatch(out, -1) {
		if strings.ToLower(m[1]) == "src" || !strings.HasPrefix(m[2], "https://") && !strings.HasPrefix(m[2], "http://") {
			return "link " + m[0]
		}
	}
	if strings.Contains(out, "style=") {
		return "a style attribute"
	}
	for _, r := range []string{"\u202E", "\u2066", "\u2069"} {
		if strings.Contains(out, r) {
			return "a bidi control"
		}
	}
	return ""
}

func TestMarkdownHostileInert(t *testing.T) {
	for _, in := range hostile {
		out := string(renderMarkdown(in))
		if bad := inert(out); bad != "" {
			t.Errorf("%q renders %s:\n%s", in, bad, out)
		}
	}
	// The words stay, as text.
	if out := string(renderMarkdown("[click](javascript:alert(4)) and ![chart](https://grafana.example.com/x.png)")); !strings.Contains(out, "click and ") ||
		!strings.Contains(out, `<a href="https://grafana.example.com/x.png" rel="nofollow noopener noreferrer">chart</a>`) {
		t.Errorf("unsafe links keep their text, images become links: %s", out)
	}
	if out := string(renderMarkdown("x <script>alert(1)</script> y")); strings.Contains(out, "<script") {
		t.Errorf("inline raw HTML: %s", out)
	}
}

// FuzzMarkdown: whatever a postmortem says, its HTML runs nothing, loads
// nothing and links only to http(s).
func FuzzMarkdown(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("# h\n\n| a |\n| - |\n| [x](https://e.example) |\n\n- *a* `b`")
	f.Fuzz(func(t *testing.T, in string) {
		out := string(renderMarkdown(in))
		if bad := inert(out); bad != "" {
			t.Fatalf("%q renders %s:\n%s", in, bad, out)
		}
	})
}
