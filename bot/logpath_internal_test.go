package bot

import (
	"net/http/httptest"
	"testing"
)

// Logged paths never carry a credential: an acknowledge link's token or a
// calendar feed's.
func TestLogPath(t *testing.T) {
	for path, want := range map[string]string{
		"/page/ack/INC-2.alice.sms.tbbo00.PFl3TPSbNdMf1CWZ5nyDFA": "/page/ack/…",
		"/ical/s/Zm9vYmFyYmF6.ics":                                "/ical/…",
		"/hooks/alertmanager":                                     "/hooks/alertmanager",
		"/api/v1/incidents/INC-1":                                 "/api/v1/incidents/INC-1",
	} {
		if got := logPath(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("logPath(%s) = %q, want %q", path, got, want)
		}
	}
}
