package localtrust

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequest(t *testing.T) {
	for _, c := range []struct {
		name   string
		remote string
		host   string
		header map[string]string
		want   bool
	}{
		{"the CLI on this machine", "127.0.0.1:50000", "127.0.0.1:8080", nil, true},
		{"localhost and IPv6", "[::1]:50000", "localhost:8080", nil, true},
		{"a browser typing the address", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"the console's own form", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, true},
		{"another machine", "192.0.2.7:50000", "127.0.0.1:8080", nil, false},
		{"a proxy on this machine (X-Forwarded-For)", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"X-Forwarded-For": "203.0.113.9"}, false},
		{"a proxy on this machine (Forwarded)", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Forwarded": "for=203.0.113.9"}, false},
		{"a proxy on this machine (Via)", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Via": "1.1 nginx"}, false},
		{"a proxy on this machine (X-Real-IP)", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"X-Real-IP": "203.0.113.9"}, false},
		{"DNS rebinding", "127.0.0.1:50000", "evil.example:8080", nil, false},
		{"a page of another site", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Origin": "https://evil.example"}, false},
		{"a sandboxed page", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Origin": "null"}, false},
		{"cross-site without Origin", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same-site (another port of this machine)", "127.0.0.1:50000", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"no peer address", "", "127.0.0.1:8080", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/incidents", nil)
			r.RemoteAddr, r.Host = c.remote, c.host
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			if got := Request(r); got != c.want {
				t.Errorf("Request = %v, want %v", got, c.want)
			}
		})
	}
}

func TestTwoOrigins(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1:8080"
	r.Header.Add("Origin", "http://127.0.0.1:8080")
	r.Header.Add("Origin", "https://evil.example")
	if Request(r) {
		t.Error("two Origin headers, one of another site, were let in")
	}
}

func TestEnsureAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon", "local-8080.token")
	tok, err := Ensure(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != tokenLen {
		t.Fatalf("token %q", tok)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	again, err := Ensure(path)
	if err != nil || again != tok {
		t.Errorf("Ensure again = %q, %v; want the same token", again, err)
	}
	if got, err := Read(path); err != nil || got != tok {
		t.Errorf("Read = %q, %v", got, err)
	}
	if !Equal(tok, tok) || Equal("x"+tok[1:], tok) || Equal("", "") {
		t.Error("Equal")
	}

	// A file others may read proves nothing: refused, not replaced.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "other users") {
		t.Errorf("Read of a 0644 file = %v", err)
	}
	if _, err := Ensure(path); err == nil {
		t.Error("Ensure replaced a token file others could read")
	}

	// A truncated file (a crash mid-write by hand) is made again.
	if err := os.WriteFile(path, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := Ensure(path)
	if err != nil || fresh == tok || len(fresh) != tokenLen {
		t.Errorf("Ensure over a malformed file = %q, %v", fresh, err)
	}
}

func TestTokenPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/cfg")
	p, err := TokenPath("8080")
	if err != nil || p != "/tmp/cfg/klaxon/local-8080.token" {
		t.Errorf("TokenPath = %q, %v", p, err)
	}
	for _, bad := range []string{"", "../x", "80/80"} {
		if _, err := TokenPath(bad); err == nil {
			t.Errorf("TokenPath(%q) accepted", bad)
		}
	}
}
