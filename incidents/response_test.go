package incidents

import (
	"strings"
	"testing"
	"time"
)

func openIncident() *Incident {
	return &Incident{ID: "INC-7", State: Triggered, Severity: Sev3}
}

func TestResponse(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inc := openIncident()
	steps := []struct {
		name    string
		do      func() error
		kind    Kind // 0: success
		text    string
		wantMsg string
	}{
		{"sev", func() error { return inc.SetSeverity(Sev1, "alice", now) }, 0, "Severity SEV3 → SEV1 (set by alice)", ""},
		{"same sev", func() error { return inc.SetSeverity(Sev1, "alice", now) }, Conflict, "", "INC-7 is already SEV1"},
		{"bad sev", func() error { return inc.SetSeverity(5, "alice", now) }, Invalid, "", "severity must be 1 (worst) to 4"},
		{"lead", func() error { return inc.SetLead("bob", "alice", now) }, 0, "bob is incident commander (named by alice)", ""},
		{"same lead", func() error { return inc.SetLead("bob", "alice", now) }, Conflict, "", "bob already leads INC-7"},
		{"scribe", func() error { return inc.SetRole("Scribe", "carol", "bob", now) }, 0, "carol is scribe (named by bob)", ""},
		{"bad role", func() error { return inc.SetRole("boss", "carol", "bob", now) }, Invalid, "", "the roles are scribe and comms"},
		{"note", func() error { return inc.AddNote("factor", "  pool too small ", "carol", now) }, 0, "pool too small", ""},
		{"bad note kind", func() error { return inc.AddNote("blame", "x", "carol", now) }, Invalid, "", `unknown note kind "blame"`},
		{"empty note", func() error { return inc.AddNote("", " ", "carol", now) }, Invalid, "", "the note is empty"},
		{"long note", func() error { return inc.AddNote("", strings.Repeat("x", MaxNoteLen+1), "carol", now) }, Invalid, "", "keep it under 4000"},
		{"snooze", func() error { return inc.Snooze(90*time.Minute, "bob", now) }, 0, "Escalation snoozed for 1h30m, until 2026-03-01 13:30 UTC (by bob)", ""},
		{"bad snooze", func() error { return inc.Snooze(25*time.Hour, "bob", now) }, Invalid, "", "snooze for 1m to 24h"},
		{"escalate", func() error { return inc.Escalate("bob", now) }, 0, "Escalation to the next step asked for by bob", ""},
	}
	for _, s := range steps {
		n := len(inc.Timeline)
		err := s.do()
		if s.kind == 0 {
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if len(inc.Timeline) != n+1 || inc.Timeline[n].Text != s.text {
				t.Fatalf("%s: timeline %+v, want %q", s.name, inc.Timeline[n:], s.text)
			}
			continue
		}
		if ErrorKind(err) != s.kind || !strings.Contains(ErrorMessage(err), s.wantMsg) || len(inc.Timeline) != n {
			t.Fatalf("%s: %v (kind %v), want %q and no event", s.name, err, ErrorKind(err), s.wantMsg)
		}
	}
	if inc.Severity != Sev1 || inc.SeveritySetBy != "alice" || inc.Lead != "bob" || inc.Roles["scribe"] != "carol" || !inc.SnoozedUntil.IsZero() {
		t.Fatalf("incident %+v", inc)
	}
	if e := inc.Timeline[3]; e.Kind != EventNote || e.Tag != "factor" || e.Actor != "carol" {
		t.Fatalf("note event %+v", e)
	}
	c := inc.Clone()
	c.Roles["comms"] = "dan"
	if inc.Roles["comms"] != "" {
		t.Fatal("Clone shares Roles")
	}
	inc.State = Resolved
	if err := inc.Snooze(time.Hour, "x", now); ErrorKind(err) != Conflict {
		t.Fatalf("snooze of a resolved incident: %v", err)
	}
	if err := inc.Escalate("x", now); ErrorKind(err) != Conflict {
		t.Fatalf("escalate of a resolved incident: %v", err)
	}
}
