package charts

import (
	"slices"
	"testing"
)

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, "plain"},
		{"  two\t\nlines  ", 20, "two lines"},
		{"evil\u202Egnp.exe", 20, "evilgnp.exe"},                     // right-to-left override
		{"\u2066iso\u2069late \u200Fmark\u200E", 20, "isolate mark"}, // isolates and marks
		{"zero\u200Bwidth\uFEFF", 20, "zerowidth"},
		{"bell\x07 \x1b[31mred", 20, "bell [31mred"},
		{"bad \xff utf8", 20, "bad \uFFFD utf8"},
		{"abcdefghij", 5, "abcd…"},
		{"ünïcödé ok", 7, "ünïcöd…"},
	} {
		if got := clean(c.in, c.max); got != c.want {
			t.Errorf("clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestLegendNames(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		// Labels every series shares tell nothing apart: left out.
		{[]string{`{instance="db-1:9100", job="node", mode="idle"}`, `{instance="db-2:9100", job="node", mode="idle"}`},
			[]string{"instance=db-1:9100", "instance=db-2:9100"}},
		{[]string{`up{job="a"}`, `up{job="b"}`}, []string{"job=a", "job=b"}},
		{[]string{`http_requests_total{code="500"}`, `http_errors_total{code="500"}`},
			[]string{"http_requests_total", "http_errors_total"}},
		// One series keeps all its labels.
		{[]string{`{instance="db-1:9100", job="node"}`}, []string{"instance=db-1:9100, job=node"}},
		// Escapes in values.
		{[]string{`{path="/a\"b"}`, `{path="c,d"}`}, []string{`path=/a"b`, "path=c,d"}},
		// Not label sets: as they are, equal names numbered.
		{[]string{"p99", "p99", "p50", "p99"}, []string{"p99", "p99 #2", "p50", "p99 #3"}},
		{[]string{`{a="1"}`, `{a="1"}`}, []string{`{a="1"}`, `{a="1"} #2`}},
		{[]string{`{a="1"}`, "plain"}, []string{`{a="1"}`, "plain"}},
		{[]string{"{broken", `{a=1}`}, []string{"{broken", "{a=1}"}},
		{nil, []string{}},
	} {
		if got := legendNames(c.in); !slices.Equal(got, c.want) {
			t.Errorf("legendNames(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
