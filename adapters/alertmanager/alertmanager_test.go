package alertmanager

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFiring(t *testing.T) {
	b, err := Parse(read(t, "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != "alertmanager" || b.GroupKey != `{}/{severity="critical"}:{alertname="HighLatency", service="payments"}` ||
		b.Title != "Payments p99 latency above 2s" || b.ExternalURL != "http://alertmanager:9093" || len(b.Alerts) != 2 {
		t.Fatalf("batch = %+v", b)
	}
	a := b.Alerts[0]
	if a.Fingerprint != "6e4ac9bdb1c5b9a1" || a.Status != incidents.AlertFiring || !a.EndsAt.IsZero() ||
		!a.StartsAt.Equal(time.Date(2026, 3, 1, 11, 58, 30, 123e6, time.UTC)) || a.Labels["instance"] != "pay-1:9100" ||
		a.Annotations["runbook_url"] == "" || !strings.HasPrefix(a.GeneratorURL, "http://prometheus:9090/") {
		t.Fatalf("alert = %+v", a)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseResolved(t *testing.T) {
	b, err := Parse(read(t, "resolved.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b.FiringBeyond { // status "resolved": nothing fires beyond the alerts sent
		t.Fatal("FiringBeyond set for a resolved group")
	}
	if b.Truncated != 3 || b.Alerts[0].Status != incidents.AlertResolved || b.Alerts[0].EndsAt.IsZero() || b.Title != "Disk almost full on db-1" {
		t.Fatalf("batch = %+v", b)
	}
}

func TestParseErrors(t *testing.T) {
	valid := string(read(t, "firing.json"))
	for _, c := range []struct {
		name, body, want string
	}{
		{"empty", ``, "malformed JSON at byte 0: unexpected end of JSON input"},
		{"not json", `hello`, "malformed JSON at byte 1: invalid character 'h' looking for beginning of value"},
		{"array", `[]`, "field body: want alertmanager.Message, got JSON array"},
		{"trailing", valid + `x`, "malformed JSON at byte"},
		{"wrong version", strings.Replace(valid, `"version": "4"`, `"version": "3"`, 1), `version is "3": klaxon reads Alertmanager webhook version "4"`},
		{"no version", `{"groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, `version is "": klaxon reads`},
		{"no group key", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, "groupKey is missing"},
		{"no alerts", `{"version":"4","groupKey":"g","alerts":[]}`, "alerts is empty"},
		{"bad status", `{"version":"4","groupKey":"g","alerts":[{"status":"burning","labels":{"a":"b"}}]}`, `alerts[0].status is "burning": want firing or resolved`},
		{"no labels", `{"version":"4","groupKey":"g","alerts":[{"status":"firing"}]}`, "alerts[0].labels is empty"},
		{"label type", `{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"a":1}}]}`, "field alerts.labels: want string, got JSON number"},
		{"bad time", `{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`, `bad time "yesterday": want RFC 3339`},
		{"duplicate", `{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"},"fingerprint":"f"},{"status":"firing","labels":{"a":"c"},"fingerprint":"f"}]}`, `alerts[1] repeats fingerprint "f"`},
		{"negative truncated", `{"version":"4","groupKey":"g","truncatedAlerts":-1,"alerts":[{"status":"firing","labels":{"a":"b"}}]}`, "truncatedAlerts is negative"},
	} {
		_, err := Parse([]byte(c.body))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(incidents.ErrorMessage(err), c.want) {
			t.Errorf("%s: error %q (kind %v), want it to contain %q", c.name, incidents.ErrorMessage(err), incidents.ErrorKind(err), c.want)
		}
	}
}

func TestFingerprintFallbackIsStable(t *testing.T) {
	body := `{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"X","b":"2","a":"1"}}]}`
	b1, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Parse([]byte(`{"version":"4","groupKey":"g","alerts":[{"status":"resolved","labels":{"a":"1","alertname":"X","b":"2"}}]}`))
	if b1.Alerts[0].Fingerprint == "" || b1.Alerts[0].Fingerprint != b2.Alerts[0].Fingerprint {
		t.Fatalf("fingerprints %q, %q: want equal and set", b1.Alerts[0].Fingerprint, b2.Alerts[0].Fingerprint)
	}
	if Fingerprint(map[string]string{"a": "b\xffc"}) == Fingerprint(map[string]string{"a": "b", "c": ""}) {
		t.Fatal("fingerprint is ambiguous")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(read(f, "firing.json"))
	f.Add(read(f, "resolved.json"))
	f.Add([]byte(`{"version":"4","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":"4","groupKey":"g","truncatedAlerts":-5,"alerts":[null]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := Parse(body)
		if err != nil {
			if incidents.ErrorKind(err) != incidents.Invalid || incidents.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not a described Invalid", err)
			}
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("accepted payload makes an invalid batch: %v", err)
		}
		if b.Title == "" {
			t.Fatal("accepted payload has no title")
		}
	})
}

func TestFiringBeyondTruncation(t *testing.T) {
	b, err := Parse([]byte(`{"version":"4","groupKey":"g","status":"firing","truncatedAlerts":2,"alerts":[{"status":"resolved","labels":{"a":"b"}}]}`))
	if err != nil || !b.FiringBeyond {
		t.Fatalf("FiringBeyond = %v (%v), want true for a firing group with truncated alerts", b != nil && b.FiringBeyond, err)
	}
}
