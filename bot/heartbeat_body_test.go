package bot

import (
	"strings"
	"testing"
)

func TestBeatBody(t *testing.T) {
	for _, tt := range []struct {
		body string
		beat bool
	}{
		{"", true},
		{"  \n", true},
		{"ok", true},
		{"status=resolved", true}, // not JSON: read loosely
		{`{}`, true},
		{`{"status":"firing"}`, true},
		{`{"status":"resolved"}`, false},
		{`{"status":" Resolved "}`, false},
		{`{"status":5}`, true},
		{`{"status":"resolved"`, true}, // broken JSON: read loosely
		{`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Watchdog"}}]}`, true},
		{`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"Watchdog"}}]}`, false},
		{`{"alerts":[{"status":"resolved"},{"status":"resolved"}]}`, false},
		{`{"alerts":[{"status":"resolved"},{"status":"firing"}]}`, true},
		{`{"alerts":[]}`, true},
		{`[{"status":"resolved"}]`, true},
	} {
		beat, why := beatBody([]byte(tt.body))
		if beat != tt.beat || (beat != (why == "")) {
			t.Errorf("beatBody(%q) = %v, %q; want %v", tt.body, beat, why, tt.beat)
		}
	}
}

// A heartbeat's body is outside input: any body is answered, a beat or
// not, with a reason exactly when it is not one; the answer does not
// depend on surrounding space.
func FuzzBeatBody(f *testing.F) {
	for _, s := range []string{"", "ok", `{"status":"resolved"}`, `{"status":"firing"}`,
		`{"version":"4","status":"resolved","alerts":[{"status":"resolved"}]}`, `{"alerts":[{"status":"resolved"}]}`, `{"status":"\u0072esolved"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		beat, why := beatBody(body)
		if beat != (why == "") {
			t.Fatalf("beatBody(%q) = %v, %q", body, beat, why)
		}
		if b2, _ := beatBody([]byte(" \n" + string(body) + "\t")); b2 != beat {
			t.Fatalf("surrounding space changes the answer for %q", body)
		}
		if !beat && !strings.Contains(strings.ToLower(string(body)), "status") && !strings.Contains(string(body), `\u`) {
			t.Fatalf("%q is no beat, yet says no status", body)
		}
	})
}
