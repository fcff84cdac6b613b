package attack

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A klaxon with no config on loopback trusts "this machine", and reaching
// 127.0.0.1 is not proof of it (found in review after issue 13): a page
// of another site in the user's browser can send a form or a fetch
// there, DNS rebinding lends it the address, and a reverse proxy on the
// same host forwards the internet from loopback. None of them may read,
// send alerts, act, or get into the console; the klaxon command on this
// machine, holding the local token, may act.
func TestThisMachineIsMoreThanLoopback(t *testing.T) {
	home := t.TempDir()
	p := start(t, storeYAML(t, embedded), "XDG_CONFIG_HOME="+home)
	tokens, _ := filepath.Glob(filepath.Join(home, "klaxon", "local-*.token"))
	if len(tokens) != 1 {
		t.Fatalf("serve kept no local token in %s: %v", home, tokens)
	}
	token, err := os.ReadFile(tokens[0])
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(tokens[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("the local token's mode is %v", st.Mode().Perm())
	}
	send := func(method, path, body string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, p.base+path, bytes.NewReader([]byte(body)))
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				req.Host = hdr[i+1]
				continue
			}
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location") + string(b)
	}
	am := string(amBody("LocalTrust", 1))
	attackers := []struct {
		name string
		hdr  []string
	}{
		{"a form on another site", []string{"Content-Type", "text/plain", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"DNS rebinding", []string{"Host", "evil.example"}},
		{"a proxy on this host", []string{"X-Forwarded-For", "203.0.113.7", "Via", "1.1 proxy"}},
	}
	for _, a := range attackers {
		if code, b := send("POST", "/api/v1/incidents", `{"title": "pwned", "severity": 1}`, a.hdr...); code != 401 {
			t.Errorf("%s declared an incident: %d %s", a.name, code, b)
		}
		if code, b := send("GET", "/api/v1/incidents", "", a.hdr...); code != 401 {
			t.Errorf("%s read the incidents: %d %.200s", a.name, code, b)
		}
		if code, b := send("POST", "/hooks/alertmanager", am, a.hdr...); code != 401 {
			t.Errorf("%s sent an alert: %d %.200s", a.name, code, b)
		}
		if code, b := send("GET", "/ui/?local="+strings.TrimSpace(string(token)), "", a.hdr...); code != http.StatusSeeOther || !strings.HasPrefix(b, "/ui/signin") {
			t.Errorf("%s with serve's console link got in: %d %.200s", a.name, code, b)
		}
	}
	// Without the token, this machine reads but does not act; naming a
	// person is not a credential.
	if code, b := send("POST", "/api/v1/incidents", `{"title": "x"}`, "X-Klaxon-As", "alice"); code != 401 {
		t.Errorf("a change without the local token: %d %s", code, b)
	}
	if code, b := send("GET", "/ui/", ""); code != http.StatusSeeOther || !strings.HasPrefix(b, "/ui/signin") {
		t.Errorf("the console without serve's link: %d %.200s", code, b)
	}
	// The klaxon command on this machine: the local token acts.
	if code, b := send("POST", "/api/v1/incidents", `{"title": "Checkout slow"}`, "Authorization", "Bearer "+strings.TrimSpace(string(token)), "X-Klaxon-As", "alice", "X-Klaxon-Via", "cli"); code != 201 {
		t.Fatalf("the local token: %d %s", code, b)
	}
	if !regexp.MustCompile(`console \(this machine's user\): http://\S+/ui/\?local=[0-9a-f]{64}`).MatchString(p.logs.String()) {
		t.Errorf("serve printed no console link:\n%s", p.logs)
	}
}
