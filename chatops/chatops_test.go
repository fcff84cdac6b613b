package chatops_test

import (
	"testing"

	"github.com/klaxonbot/klaxon/chatops"
)

func TestLinkUnder(t *testing.T) {
	cases := []struct {
		base, u string
		want    bool
	}{
		{"https://klaxon.example.com", "https://klaxon.example.com/api/v1/incidents/INC-1/postmortem.md", true},
		{"https://klaxon.example.com/", "https://klaxon.example.com/api/v1/incidents/INC-1/postmortem.md", true},
		{"https://klaxon.example.com/k", "https://klaxon.example.com/k/api/v1/incidents?state=open&team=a", true},
		{"https://klaxon.example.com/k/", "https://klaxon.example.com/k", true},
		{"https://KLAXON.example.com/k", "https://klaxon.example.com/k/api", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/incidents", true},
		{"", "https://klaxon.example.com/api", false},
		{"https://klaxon.example.com", "", false},
		{"https://klaxon.example.com/k", "https://klaxon.example.com/kk/api", false},         // next door
		{"https://klaxon.example.com/k", "https://klaxon.example.com/k/../admin", false},     // climbing out
		{"https://klaxon.example.com/k", "https://klaxon.example.com/k/%2e%2e/admin", false}, // the same, encoded
		{"https://klaxon.example.com", "http://klaxon.example.com/api", false},               // another scheme
		{"https://klaxon.example.com", "https://klaxon.example.com:8443/api", false},         // another port
		{"https://klaxon.example.com", "https://klaxon.example.com.evil.net/api", false},     // a look-alike
		{"https://klaxon.example.com", "https://user@klaxon.example.com/api", false},         // credentials
		{"https://klaxon.example.com", "https://klaxon.example.com/a b", false},              // a space
		{"https://klaxon.example.com", "https://klaxon.example.com/a>b", false},              // ends a link
		{"https://klaxon.example.com", "https://klaxon.example.com/a|b", false},              // ends a Slack link
		{"https://klaxon.example.com", "https://klaxon.example.com/a\\b", false},             // a backslash
		{"https://klaxon.example.com", "javascript://klaxon.example.com/%0aalert(1)", false}, // not http
		{"https://klaxon.example.com?x=1", "https://klaxon.example.com/api", false},          // a base with a query
		{"ftp://klaxon.example.com", "ftp://klaxon.example.com/api", false},                  // not http
		{"https://klaxon.example.com", "https://klaxon.example.com/api#frag", true},
	}
	for _, c := range cases {
		if got := chatops.LinkUnder(c.base, c.u); got != c.want {
			t.Errorf("LinkUnder(%q, %q) = %v, want %v", c.base, c.u, got, c.want)
		}
	}
}

func FuzzLinkUnder(f *testing.F) {
	f.Add("https://klaxon.example.com/k", "https://klaxon.example.com/k/api")
	f.Add("https://klaxon.example.com/k", "https://klaxon.example.com/k/../x")
	f.Fuzz(func(t *testing.T, base, u string) {
		if !chatops.LinkUnder(base, u) {
			return
		}
		// Whatever passes is an http(s) URL on base's host without the
		// characters that end a link on some platform.
		for _, r := range u {
			switch r {
			case ' ', '<', '>', '|', '"', '\\', '`', '\n', '\r', '\t':
				t.Fatalf("LinkUnder(%q, %q): %q in the URL", base, u, r)
			}
		}
		if !chatops.LinkUnder(base, u) {
			t.Fatal("not deterministic")
		}
	})
}
