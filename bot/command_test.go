package bot

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

func TestParseCommand(t *testing.T) {
	for text, want := range map[string]Command{
		"":                                      {Verb: VerbHelp},
		"  help ":                               {Verb: VerbHelp},
		"list":                                  {Verb: VerbList},
		"show INC-42":                           {Verb: VerbShow, ID: "INC-42"},
		"status 42":                             {Verb: VerbShow, ID: "INC-42"},
		"INC-7":                                 {Verb: VerbShow, ID: "INC-7"},
		"ack":                                   {Verb: VerbAck},
		"ACK inc-3":                             {Verb: VerbAck, ID: "INC-3"},
		"acknowledge #3":                        {Verb: VerbAck, ID: "INC-3"},
		"unack INC-3":                           {Verb: VerbUnack, ID: "INC-3"},
		"resolve":                               {Verb: VerbResolve},
		"resolve INC-3 pool resized,  all good": {Verb: VerbResolve, ID: "INC-3", Text: "pool resized,  all good"},
		"resolve 1 thing fixed":                 {Verb: VerbResolve, ID: "INC-1", Text: "thing fixed"},
		"reopen 9":                              {Verb: VerbReopen, ID: "INC-9"},
		"escalate":                              {Verb: VerbEscalate},
		"snooze 30m":                            {Verb: VerbSnooze, Duration: 30 * time.Minute},
		"snooze INC-2 1d":                       {Verb: VerbSnooze, ID: "INC-2", Duration: 24 * time.Hour},
		"sev 1":                                 {Verb: VerbSev, Severity: 1},
		"sev INC-42 sev2":                       {Verb: VerbSev, ID: "INC-42", Severity: 2},
		"severity 42 3":                         {Verb: VerbSev, ID: "INC-42", Severity: 3},
		"lead @alice":                           {Verb: VerbLead, Person: "@alice"},
		"commander INC-4 <@U123|alice>":         {Verb: VerbLead, ID: "INC-4", Person: "<@U123|alice>"},
		"role scribe @bob":                      {Verb: VerbRole, Role: "scribe", Person: "@bob"},
		"role INC-4 Comms @carol":               {Verb: VerbRole, ID: "INC-4", Role: "comms", Person: "@carol"},
		"note the pool was too small":           {Verb: VerbNote, Text: "the pool was too small"},
		"note INC-4 factor: pool too small":     {Verb: VerbNote, ID: "INC-4", NoteKind: "factor", Text: "pool too small"},
		"note action: @bob add an alert":        {Verb: VerbNote, NoteKind: "action", Text: "@bob add an alert"},
		"note Went Well: paging worked":         {Verb: VerbNote, NoteKind: "went-well", Text: "paging worked"},
		"note went-wrong: dashboards were slow": {Verb: VerbNote, NoteKind: "went-wrong", Text: "dashboards were slow"},
		"note lucky: it was Tuesday":            {Verb: VerbNote, NoteKind: "lucky", Text: "it was Tuesday"},
		"note time: 12:00 it broke":             {Verb: VerbNote, Text: "time: 12:00 it broke"},
		"timeline INC-1":                        {Verb: VerbTimeline, ID: "INC-1"},
		"pm":                                    {Verb: VerbPostmortem},
		"declare Checkout is down":              {Verb: VerbDeclare, Text: "Checkout is down"},
		"declare Checkout is down sev 1 team payments": {Verb: VerbDeclare, Text: "Checkout is down", Severity: 1, Team: "payments"},
		"declare DB slow team ops sev 2":               {Verb: VerbDeclare, Text: "DB slow", Severity: 2, Team: "ops"},
		"oncall":                                       {Verb: VerbOncall},
		"who payments":                                 {Verb: VerbOncall, Team: "payments"},
		"oncall override @bob 4h":                      {Verb: VerbOncall, Override: true, Person: "@bob", Duration: 4 * time.Hour},
		"oncall override @bob 30m ops":                 {Verb: VerbOncall, Override: true, Person: "@bob", Duration: 30 * time.Minute, Team: "ops"},
		"silence 4h":                                   {Verb: VerbSilence, Duration: 4 * time.Hour},
		"silence":                                      {Verb: VerbSilence},
		"silence INC-42":                               {Verb: VerbSilence, ID: "INC-42"},
		"mute INC-42 1d instance=db-1 job=\"node\"":    {Verb: VerbSilence, ID: "INC-42", Duration: 24 * time.Hour, Labels: map[string]string{"instance": "db-1", "job": "node"}},
		"silence 30m path=/a=b":                        {Verb: VerbSilence, Duration: 30 * time.Minute, Labels: map[string]string{"path": "/a=b"}},
		"unsilence":                                    {Verb: VerbUnsilence},
		"unsilence 42":                                 {Verb: VerbUnsilence, ID: "INC-42"},
		"unsilence INC-42 1A2B3C4D":                    {Verb: VerbUnsilence, ID: "INC-42", SilenceID: "1a2b3c4d"},
		"unmute 8f3c2a10-5d1e-4c7b-9a0e-2b6f1d4e8c3a":  {Verb: VerbUnsilence, SilenceID: "8f3c2a10-5d1e-4c7b-9a0e-2b6f1d4e8c3a"},
		"silences":                                     {Verb: VerbSilences},
		"silences payments":                            {Verb: VerbSilences, Team: "payments"},
		"maintenance":                                  {Verb: VerbMaintenance, Maint: MaintList},
		"maint list":                                   {Verb: VerbMaintenance, Maint: MaintList},
		"maintenance end":                              {Verb: VerbMaintenance, Maint: MaintEnd},
		"maintenance end mw-1a2b3c4d":                  {Verb: VerbMaintenance, Maint: MaintEnd, Window: "mw-1a2b3c4d"},
		"maintenance 2h":                               {Verb: VerbMaintenance, Maint: MaintOpen, Duration: 2 * time.Hour},
		"maintenance 2h payments service=db env=prod db upgrade": {Verb: VerbMaintenance, Maint: MaintOpen, Duration: 2 * time.Hour,
			Team: "payments", Labels: map[string]string{"service": "db", "env": "prod"}, Text: "db upgrade"},
		"maintenance 90m service=\"db\" patching": {Verb: VerbMaintenance, Maint: MaintOpen, Duration: 90 * time.Minute,
			Labels: map[string]string{"service": "db"}, Text: "patching"},
		"maintenance 1d kernel upgrades on the fleet": {Verb: VerbMaintenance, Maint: MaintOpen, Duration: 24 * time.Hour,
			Team: "kernel", Text: "upgrades on the fleet"},
	} {
		got, err := ParseCommand(text)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", text, got, err, want)
		}
	}
}

func TestParseCommandErrors(t *testing.T) {
	for text, want := range map[string]string{
		"fly me to the moon":      `unknown command "fly"; try: /incident help`,
		"ack now please":          "usage: ack [ID] · unack [ID] · reopen [ID]",
		"ack INC-1 INC-2":         "too many words; usage:",
		"sev 5":                   `severity "5" is not 1 to 4; usage: sev [ID] <1-4>`,
		"sev":                     "usage: sev [ID] <1-4>",
		"snooze":                  "usage: snooze [ID] <duration>",
		"snooze forever":          `"forever" is not a duration such as 30m, 2h or 1d`,
		"maintenance soon":        `"soon" is not a duration such as 30m, 2h or 1d; usage: maintenance [<duration>`,
		"maintenance end a b":     "name one window, such as mw-1a2b3c4d; usage:",
		"maintenance list all":    "too many words; usage:",
		"maintenance 2h =db":      `"=db" is not label=value`,
		"lead":                    "name one person; usage: lead [ID] @person",
		"lead @a @b":              "name one person",
		"role boss @x":            "usage: role [ID] <scribe|comms> @person",
		"note":                    "the note is empty; usage: note",
		"note factor:   ":         "the note is empty",
		"declare":                 "give the incident a title",
		"declare sev 1":           "give the incident a title",
		"declare x sev 9":         `severity "9" is not 1 to 4`,
		strings.Repeat("x", 9000): "keep it under 8000",
		"silence forever":         `"forever" is not a duration such as 30m, 2h or 1d; usage: silence [ID] <duration> [label=value …]`,
		"silence 30s":             "silence for 1m to 7d",
		"silence 8d":              `"8d" is not a duration`,
		"silence 200h":            "silence for 1m to 7d",
		"silence 1h instance":     `"instance" is not label=value`,
		"silence 1h instance=":    `"instance=" is not label=value`,
		"silence 1h 9x=y":         `label name "9x" is not valid`,
		"silence 1h a=1 a=2":      "label a is given twice",
		"silence instance=db-1":   "say for how long, e.g. 4h",
		"silence 1h a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1": "at most 10 labels",
		"unsilence INC-1 zzzz":    `"zzzz" is not a silence ID`,
		"unsilence INC-1 abcd ef": "too many words",
		"silences a b":            "usage: silences [team]",
	} {
		_, err := ParseCommand(text)
		if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(incidents.ErrorMessage(err), want) {
			t.Errorf("ParseCommand(%.40q) = %v, want Invalid %q", text, err, want)
		}
	}
}

// FuzzParseCommand: any text parses or fails with a clear Invalid error;
// what parses is well-formed.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "ack", "resolve INC-3 done", "sev 42 1", "note factor: x", "declare a b sev 1 team t",
		"snooze 1h30m", "role scribe @x", "lead <@U1|a>", "INC-9", "\xff\xfe", "note \u202e:", "sev sev1", "snooze 8d",
		"silence INC-4 4h instance=db-1", "silence", "unsilence 4 1a2b3c4d", "silences payments", "silence 1h a=\"\"", "mute 1h =x",
		"maintenance 2h payments service=db x", "maint end mw-1", "maintenance 1d a=b=c \"q\"",
		"feedback 4 no it fixed itself", "actionable INC-2 not actionable", "feedback yes", "report 30d", "report week",
		"oncall cover @carol Sat 09:00-18:00", "oncall cover @c sun 09:00 – 18:00 ops", "oncall cover @c 4h", "oncall cover @c fri 22:00-06:00 x",
		"oncall cover @c today 24:00-01:00", "oncall cover @c mon 9:00-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCommand(text)
		if err != nil {
			if incidents.ErrorKind(err) != incidents.Invalid || incidents.ErrorMessage(err) == "" || !utf8.ValidString(incidents.ErrorMessage(err)) {
				t.Fatalf("error %v (kind %v)", err, incidents.ErrorKind(err))
			}
			return
		}
		if _, ok := verbAliases[string(c.Verb)]; !ok {
			t.Fatalf("verb %q", c.Verb)
		}
		if c.ID != "" {
			if id, _, err := incidents.ParseID(c.ID); err != nil || id != c.ID {
				t.Fatalf("ID %q", c.ID)
			}
		}
		switch c.Verb {
		case VerbSev:
			if !c.Severity.Valid() {
				t.Fatalf("severity %d", c.Severity)
			}
		case VerbSnooze:
			if c.Duration <= 0 {
				t.Fatalf("duration %v", c.Duration)
			}
		case VerbSilence:
			if (c.Duration != 0 && (c.Duration < MinSilence || c.Duration > MaxSilence)) || (c.Duration == 0 && len(c.Labels) > 0) || len(c.Labels) > maxSilenceLabels {
				t.Fatalf("silence %+v", c)
			}
			for name, v := range c.Labels {
				if !labelNameRE.MatchString(name) || v == "" || !utf8.ValidString(v) {
					t.Fatalf("label %q=%q", name, v)
				}
			}
		case VerbUnsilence:
			if c.SilenceID != "" && !silenceIDRE.MatchString(c.SilenceID) {
				t.Fatalf("silence ID %q", c.SilenceID)
			}
		case VerbNote, VerbDeclare:
			if strings.TrimSpace(c.Text) == "" {
				t.Fatal("empty text")
			}
		case VerbLead, VerbRole:
			if c.Person == "" {
				t.Fatal("no person")
			}
		case VerbOncall:
			if w := c.Cover; w != nil {
				if c.Person == "" || (w.Duration > 0) == (w.Day != "") || w.From < 0 || w.From >= 1440 || w.To < 0 || w.To >= 1440 || (w.Day != "" && w.From == w.To && w.From != 0) {
					t.Fatalf("cover %+v", c)
				}
			}
		}
		if !utf8.ValidString(c.Text) || !utf8.ValidString(c.Person) {
			t.Fatalf("invalid UTF-8 out: %+v", c)
		}
	})
}

func TestParseWeekly(t *testing.T) {
	for in, want := range map[string]int{"Mon 09:00": 1*10000 + 540, "sunday 0:00": 0, "SAT 23:59": 6*10000 + 1439, "fri 17:30": 5*10000 + 1050} {
		d, m, err := parseWeekly(in)
		if err != nil || int(d)*10000+m != want {
			t.Errorf("parseWeekly(%q) = %v %d %v", in, d, m, err)
		}
	}
	for _, in := range []string{"", "Mon", "09:00", "Mon 9", "Mon 24:00", "Mon 09:60", "Mon 09:00 UTC", "Mo 09:00", "Mon 9:5", "Mon -1:00"} {
		if _, _, err := parseWeekly(in); err == nil {
			t.Errorf("parseWeekly(%q): no error", in)
		}
	}
}

func TestLastSlot(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct{ now, want time.Time }{
		{time.Date(2026, 3, 9, 9, 0, 0, 0, berlin), time.Date(2026, 3, 9, 9, 0, 0, 0, berlin)},       // on the dot
		{time.Date(2026, 3, 9, 8, 59, 59, 0, berlin), time.Date(2026, 3, 2, 9, 0, 0, 0, berlin)},     // a second before: last week's
		{time.Date(2026, 3, 15, 23, 0, 0, 0, berlin), time.Date(2026, 3, 9, 9, 0, 0, 0, berlin)},     // Sunday
		{time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 9, 0, 0, 0, berlin)},   // summer time
		{time.Date(2026, 3, 29, 23, 30, 0, 0, time.UTC), time.Date(2026, 3, 23, 9, 0, 0, 0, berlin)}, // Monday 01:30 in Berlin
	} {
		if got := lastSlot(c.now, time.Monday, 540, berlin); !got.Equal(c.want) {
			t.Errorf("lastSlot(%v) = %v, want %v", c.now, got, c.want)
		}
	}
}

// FuzzParseWeekly: any text is a valid day and minute or an error that
// quotes it safely; what parses, prints back and parses the same.
func FuzzParseWeekly(f *testing.F) {
	for _, s := range []string{"Mon 09:00", "sunday 0:00", "SAT 23:59", "Mon 24:00", "", "\xff 1:00", "Tue  07:05"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, m, err := parseWeekly(s)
		if err != nil {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error %q", err)
			}
			return
		}
		if d < time.Sunday || d > time.Saturday || m < 0 || m >= 1440 {
			t.Fatalf("parseWeekly(%q) = %v %d", s, d, m)
		}
		back := fmt.Sprintf("%s %02d:%02d", d.String()[:3], m/60, m%60)
		if d2, m2, err := parseWeekly(back); err != nil || d2 != d || m2 != m {
			t.Fatalf("%q → %q → %v %d %v", s, back, d2, m2, err)
		}
	})
}

func TestParseCover(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want CoverWhen
		team string
		err  bool
	}{
		{in: "oncall cover @carol Sat 09:00-18:00", want: CoverWhen{Day: "sat", From: 540, To: 1080}},
		{in: "oncall cover @carol saturday 09:00–18:00 payments", want: CoverWhen{Day: "sat", From: 540, To: 1080}, team: "payments"},
		{in: "oncall cover @carol Sat 09:00 - 18:00 payments", want: CoverWhen{Day: "sat", From: 540, To: 1080}, team: "payments"},
		{in: "oncall cover @carol Fri 22:00-06:00", want: CoverWhen{Day: "fri", From: 1320, To: 360}},
		{in: "oncall cover @carol tomorrow 00:00-24:00", want: CoverWhen{Day: "tomorrow", From: 0, To: 0}},
		{in: "who cover <@U1|carol> 4h ops", want: CoverWhen{Duration: 4 * time.Hour}, team: "ops"},
		{in: "oncall cover @carol 1d", want: CoverWhen{Duration: 24 * time.Hour}},
		{in: "oncall cover @carol", err: true},
		{in: "oncall cover @carol Sat", err: true},
		{in: "oncall cover @carol Sat 09:00-09:00", err: true},
		{in: "oncall cover @carol Sat 25:00-26:00", err: true},
		{in: "oncall cover @carol soon", err: true},
		{in: "oncall cover @carol 4h payments extra", err: true},
	} {
		c, err := ParseCommand(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("%q: parsed as %+v", tt.in, c.Cover)
			}
			continue
		}
		if err != nil || c.Cover == nil || *c.Cover != tt.want || c.Team != tt.team || c.Verb != VerbOncall || c.Person == "" {
			t.Errorf("%q: %+v %v (team %q), want %+v", tt.in, c.Cover, err, c.Team, tt.want)
		}
	}
}
