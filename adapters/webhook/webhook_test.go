package webhook

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

func compile(t testing.TB, f Fields) *Mapping {
	t.Helper()
	m, err := Compile("test", f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mapOK(t testing.TB, m *Mapping, body string) *incidents.Batch {
	t.Helper()
	b, err := m.Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	if b == nil {
		t.Fatalf("Parse(%s) ignored the body", body)
	}
	if err := b.Validate(); err != nil {
		t.Fatalf("batch is invalid: %v", err)
	}
	return b
}

// kuma is the Uptime Kuma mapping the README shows.
var kuma = Fields{
	Title:       `Uptime Kuma: {{ or .monitor.name "test notification" }}`,
	Status:      `{{ .heartbeat.status }}`,
	Firing:      []string{"0", ""},
	Resolved:    []string{"1"},
	Ignore:      []string{"2", "3"},
	Fingerprint: `monitor-{{ or .monitor.id "test" }}`,
	Severity:    "critical",
	Summary:     `{{ or .heartbeat.msg .msg }}`,
	Links:       map[string]string{"graph": "{{ .monitor.url }}"},
	Labels: map[string]string{
		"service": "{{ .monitor.name }}",
		"team":    `{{ with .monitor.tags }}{{ with index . 0 }}{{ if eq .name "team" }}{{ .value }}{{ end }}{{ end }}{{ end }}`,
	},
}

func TestUptimeKuma(t *testing.T) {
	m := compile(t, kuma)
	if m.Source() != "webhook/test" || m.Name() != "test" {
		t.Fatalf("source %q name %q", m.Source(), m.Name())
	}
	down := mapOK(t, m, string(read(t, "kuma-down.json")))
	if down.Source != "webhook/test" || down.GroupKey != "monitor-29" || down.Title != "Uptime Kuma: Shop checkout" || len(down.Alerts) != 1 {
		t.Fatalf("batch = %+v", down)
	}
	a := down.Alerts[0]
	if a.Status != incidents.AlertFiring || a.Fingerprint != "monitor-29" || a.Source != "webhook/test" ||
		a.GeneratorURL != "https://shop.example.com/checkout" {
		t.Fatalf("alert = %+v", a)
	}
	wantLabels := map[string]string{"alertname": "Uptime Kuma: Shop checkout", "service": "Shop checkout", "team": "payments", "severity": "critical"}
	if len(a.Labels) != len(wantLabels) {
		t.Fatalf("labels = %v, want %v", a.Labels, wantLabels)
	}
	for k, v := range wantLabels {
		if a.Labels[k] != v {
			t.Fatalf("labels[%s] = %q, want %q (all: %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Annotations["summary"] != "getaddrinfo ENOTFOUND shop.example.com" || len(a.Annotations) != 1 {
		t.Fatalf("annotations = %v", a.Annotations)
	}

	up := mapOK(t, m, string(read(t, "kuma-up.json")))
	if up.Alerts[0].Status != incidents.AlertResolved || up.Alerts[0].Fingerprint != "monitor-29" || up.GroupKey != down.GroupKey {
		t.Fatalf("up = %+v", up)
	}

	// The Test button: no heartbeat, no monitor. Missing keys are empty,
	// never "<no value>" and never an error; "" is listed as firing.
	test := mapOK(t, m, string(read(t, "kuma-test.json")))
	if test.Title != "Uptime Kuma: test notification" || test.Alerts[0].Fingerprint != "monitor-test" ||
		test.Alerts[0].Annotations["summary"] != "Uptime Kuma Testing" || test.Alerts[0].Status != incidents.AlertFiring {
		t.Fatalf("test = %+v", test)
	}
	if _, ok := test.Alerts[0].Labels["service"]; ok {
		t.Fatalf("an empty label was kept: %v", test.Alerts[0].Labels)
	}
	for _, v := range test.Alerts[0].Labels {
		if strings.Contains(v, "no value") {
			t.Fatalf("labels = %v", test.Alerts[0].Labels)
		}
	}

	// Maintenance is ignored: accepted, nothing to do.
	if b, err := m.Parse(read(t, "kuma-maintenance.json")); b != nil || err != nil {
		t.Fatalf("maintenance = %+v, %v", b, err)
	}
	// A status in no list is refused, naming the field and the value.
	_, err := m.Parse([]byte(`{"heartbeat":{"status":7},"monitor":{"id":1}}`))
	if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(err.Error(), `fields.status gave "7"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestSNSCloudWatch(t *testing.T) {
	m := compile(t, Fields{
		Title:       `{{ (fromjson .Message).AlarmName }}`,
		Status:      `{{ (fromjson .Message).NewStateValue }}`,
		Firing:      []string{"ALARM"},
		Resolved:    []string{"OK"},
		Ignore:      []string{"INSUFFICIENT_DATA"},
		Fingerprint: `{{ (fromjson .Message).AlarmArn }}`,
		Summary:     `{{ (fromjson .Message).NewStateReason }}`,
		Description: `{{ (fromjson .Message).AlarmDescription }}`,
		Annotations: map[string]string{"threshold": `{{ (fromjson .Message).Trigger.Threshold }}`},
		Labels:      map[string]string{"region": `{{ (fromjson .Message).Region }}`},
	})
	b := mapOK(t, m, string(read(t, "sns-alarm.json")))
	a := b.Alerts[0]
	if b.Title != "api-5xx-rate" || a.Status != incidents.AlertFiring || a.Fingerprint != "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx-rate" ||
		a.Annotations["threshold"] != "2" || a.Labels["region"] != "EU (Ireland)" ||
		!strings.HasPrefix(a.Annotations["summary"], "Threshold Crossed") || a.Annotations["description"] != "5xx rate above 2% for 5 minutes" {
		t.Fatalf("batch = %+v, alert = %+v", b, a)
	}
	ok := mapOK(t, m, string(read(t, "sns-ok.json")))
	if ok.Alerts[0].Status != incidents.AlertResolved || ok.GroupKey != b.GroupKey {
		t.Fatalf("ok = %+v", ok)
	}
	// A Message that is not JSON reads as missing: this mapping's status
	// is then "", which is in no list: a described 400.
	_, err := m.Parse([]byte(`{"Message":"not json"}`))
	if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(err.Error(), `fields.status gave ""`) {
		t.Fatalf("err = %v", err)
	}
}

func TestValuesInTemplates(t *testing.T) {
	m := compile(t, Fields{
		Title:  `{{ .name }}`,
		Status: `{{ if eq .code 0 }}resolved{{ else }}firing{{ end }}`,
		Labels: map[string]string{
			"big":    "{{ .big }}",
			"float":  "{{ .f }}",
			"flag":   "{{ .flag }}",
			"list":   `{{ join "," .tags }}`,
			"obj":    "{{ json .obj }}",
			"nested": "{{ .a.b.c.d }}",
			"nul":    "{{ .nul.x }}",
			"upper":  "{{ upper .name }}",
			"cut":    `{{ replace "-" "_" .name }}`,
			"has":    `{{ if contains "db" .name }}yes{{ end }}`,
			"id":     "{{ .id }}",
		},
	})
	b := mapOK(t, m, `{"name":"db-down","code":0,"big":12345678901234,"f":0.25,"flag":true,"tags":["a",1,"b"],"obj":{"k":"v"},"nul":null,"id":98765432109876543210}`)
	want := map[string]string{
		"alertname": "db-down", "big": "12345678901234", "float": "0.25", "flag": "true", "list": "a,1,b",
		"obj": `{"k":"v"}`, "upper": "DB-DOWN", "cut": "db_down", "has": "yes", "id": "98765432109876543210",
	}
	a := b.Alerts[0]
	if a.Status != incidents.AlertResolved {
		t.Fatalf("eq with an integral number: status %s", a.Status)
	}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("labels[%s] = %q, want %q", k, a.Labels[k], v)
		}
	}
	if len(a.Labels) != len(want) {
		t.Errorf("labels = %v", a.Labels)
	}
	if mapOK(t, m, `{"name":"x","code":1}`).Alerts[0].Status != incidents.AlertFiring {
		t.Fatal("code 1 did not fire")
	}
}

func TestKeysAndDefaults(t *testing.T) {
	// Neither fingerprint nor group key: both are the title.
	b := mapOK(t, compile(t, Fields{Title: "{{ .t }}"}), `{"t":"disk full"}`)
	if b.GroupKey != "disk full" || b.Alerts[0].Fingerprint != "disk full" || b.Alerts[0].Status != incidents.AlertFiring {
		t.Fatalf("batch = %+v", b)
	}
	// A group key alone is the fingerprint too; a fingerprint alone is the group key.
	b = mapOK(t, compile(t, Fields{Title: "x", GroupKey: "{{ .g }}"}), `{"g":"grp"}`)
	if b.GroupKey != "grp" || b.Alerts[0].Fingerprint != "grp" {
		t.Fatalf("batch = %+v", b)
	}
	m := compile(t, Fields{Title: "x", Fingerprint: "{{ .f }}", GroupKey: "{{ .g }}"})
	b = mapOK(t, m, `{"f":"one","g":"grp"}`)
	if b.GroupKey != "grp" || b.Alerts[0].Fingerprint != "one" {
		t.Fatalf("batch = %+v", b)
	}
	// Empty keys are refused, naming the field.
	if _, err := m.Parse([]byte(`{"g":"grp"}`)); err == nil || !strings.Contains(err.Error(), "fields.fingerprint gave an empty value") {
		t.Fatalf("err = %v", err)
	}
	if _, err := compile(t, Fields{Title: "x", Fingerprint: "{{ .f }}"}).Parse([]byte(`{}`)); err == nil || !strings.Contains(err.Error(), "fields.fingerprint") {
		t.Fatalf("err = %v", err)
	}
	// An empty title falls back to the source's name.
	b = mapOK(t, compile(t, Fields{Title: "{{ .t }}", Fingerprint: "f"}), `{}`)
	if b.Title != "Alert from webhook/test" {
		t.Fatalf("title %q", b.Title)
	}
	// A key too long for a store key is hashed, the same way each time.
	long := strings.Repeat("k", 300)
	b1 := mapOK(t, compile(t, Fields{Title: "x", Fingerprint: "{{ .k }}"}), `{"k":"`+long+`"}`)
	b2 := mapOK(t, compile(t, Fields{Title: "x", Fingerprint: "{{ .k }}"}), `{"k":"`+long+`"}`)
	if !strings.HasPrefix(b1.Alerts[0].Fingerprint, "sha256:") || b1.Alerts[0].Fingerprint != b2.Alerts[0].Fingerprint || len(b1.GroupKey) > 80 {
		t.Fatalf("fingerprint %q group %q", b1.Alerts[0].Fingerprint, b1.GroupKey)
	}
	// Resolved defaults to "resolved" when a status is mapped.
	b = mapOK(t, compile(t, Fields{Title: "x", Status: "{{ .s }}"}), `{"s":" Resolved "}`)
	if b.Alerts[0].Status != incidents.AlertResolved {
		t.Fatalf("status %s", b.Alerts[0].Status)
	}
}

func TestLinksSeverityAndTime(t *testing.T) {
	m, err := Compile("mon", Fields{
		Title:    "x",
		Severity: "{{ .sev }}",
		Runbook:  "{{ .rb }}",
		StartsAt: "{{ .at }}",
		Links: map[string]string{
			"dashboard": "https://d.example.com/{{ .id }}", "panel": "https://p.example.com", "silence": "https://s.example.com",
			"graph": "https://g.example.com", "source": "https://mon.example.com/{{ .id }}",
		},
		Annotations: map[string]string{"value": "{{ .v }}"},
	}, Options{SeverityLabel: "priority"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   string
		want time.Time
	}{
		{`"2026-03-01T11:58:30Z"`, time.Date(2026, 3, 1, 11, 58, 30, 0, time.UTC)},
		{`1772366310`, time.Date(2026, 3, 1, 11, 58, 30, 0, time.UTC)},
		{`1772366310500`, time.Date(2026, 3, 1, 11, 58, 30, 5e8, time.UTC)},
		{`"1772366310"`, time.Date(2026, 3, 1, 11, 58, 30, 0, time.UTC)},
	} {
		b := mapOK(t, m, `{"sev":"P1","rb":"https://rb.example.com","id":7,"v":"97%","at":`+c.at+`}`)
		a := b.Alerts[0]
		if !a.StartsAt.Equal(c.want) {
			t.Errorf("starts_at %s: got %v, want %v", c.at, a.StartsAt, c.want)
		}
		if a.Labels["priority"] != "P1" || a.Annotations["runbook_url"] != "https://rb.example.com" || a.Annotations["value"] != "97%" ||
			a.Annotations["dashboard_url"] != "https://d.example.com/7" || a.Annotations["panel_url"] != "https://p.example.com" ||
			a.Annotations["silence_url"] != "https://s.example.com" || a.GeneratorURL != "https://g.example.com" || b.ExternalURL != "https://mon.example.com/7" {
			t.Fatalf("batch = %+v alert = %+v", b, a)
		}
	}
	// A time klaxon cannot read is left out, with a warning: the alert stays.
	b := mapOK(t, m, `{"at":"yesterday"}`)
	if a := b.Alerts[0]; !a.StartsAt.IsZero() || !strings.Contains(a.Annotations[incidents.AnnotationParseWarnings], `fields.starts_at gave "yesterday": want RFC 3339`) {
		t.Fatalf("alert = %+v", a)
	}
}

func TestParseErrors(t *testing.T) {
	m := compile(t, Fields{Title: "{{ .t }}", Fingerprint: "{{ .id.x }}"})
	for _, c := range []struct{ body, want string }{
		{``, "the body is empty"},
		{`{"t":`, "malformed JSON"},
		{`{"t":"a"} {"t":"b"}`, "more than one JSON value"},
		// The keys are required: one that fails on this body is a 400.
		{`{"t":"a","id":"text"}`, "fields.fingerprint: at 1:6: can't evaluate field x in type interface {}"},
		{`{"t":"a"}`, "fields.fingerprint gave an empty value"},
	} {
		_, err := m.Parse([]byte(c.body))
		if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%.40q) = %v, want Invalid containing %q", c.body, err, c.want)
		}
	}
}

// An optional field that fails on a body, or gives too much, never costs
// the alert: it is left out or cut, and the alert says what happened.
func TestOptionalFieldsNeverLoseTheAlert(t *testing.T) {
	m := compile(t, Fields{
		Title:       "{{ .t.name }}", // fails when .t is text: falls back, the keys do not come from it
		Fingerprint: "{{ .id }}",
		Description: "{{ .big }}",
		Labels:      map[string]string{"x": "{{ .host.name }}", "y": "{{ index .list 5 }}", "z": "ok"},
		Severity:    `{{ printf "%s" .sev.level }}`,
	})
	big := strings.Repeat("é", maxOutput) // 2 bytes a rune: cut mid-way, on a rune boundary
	b := mapOK(t, m, `{"t":"text","id":"i1","host":"h","list":[1],"sev":"x","big":"`+big+`"}`)
	a := b.Alerts[0]
	if b.Title != "Alert from webhook/test" || a.Labels["z"] != "ok" || a.Labels["x"] != "" || a.Labels["y"] != "" {
		t.Fatalf("batch = %+v, alert = %+v", b, a)
	}
	d := a.Annotations["description"]
	if !strings.HasSuffix(d, "…") || len(d) > maxOutput+len("…") || !utf8.ValidString(d) {
		t.Fatalf("description: %d bytes, valid %v, ends %q", len(d), utf8.ValidString(d), d[len(d)-8:])
	}
	w := a.Annotations[incidents.AnnotationParseWarnings]
	for _, want := range []string{"fields.title: at 1:5: can't evaluate field name", "fields.labels.x: ", "fields.severity: "} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
	if strings.Contains(w, "labels.y") || strings.Contains(w, "description") {
		t.Errorf("warnings %q name a field that did not fail", w)
	}
	// With neither fingerprint nor group key the title is the key: then it
	// must not fail.
	if _, err := compile(t, Fields{Title: "{{ .t.name }}"}).Parse([]byte(`{"t":"text"}`)); err == nil || !strings.Contains(err.Error(), "fields.title") {
		t.Fatalf("err = %v", err)
	}
}

// The functions treat decoded JSON as JSON: missing is empty, numbers
// compare by value.
func TestFuncs(t *testing.T) {
	body := `{"i":2,"f":2.0,"s":"2","z":"01","half":0.5,"list":["a","b"],"obj":{"k":"v"},"msg":"{\"a\":1}","bad":"{nope"}`
	for src, want := range map[string]string{
		`{{ eq .i 2 }} {{ eq .f 2 }} {{ eq .s 2 }} {{ eq .i .f }} {{ eq .z "1" }} {{ eq .z 1 }}`:       "true true true true false true",
		`{{ eq .missing 0 }} {{ eq .missing "" }} {{ ne .missing "x" }} {{ eq .i 1 2 3 }}`:             "false true true true",
		`{{ gt .half 0.25 }} {{ lt .i 2.5 }} {{ ge .s 2 }} {{ le .missing 0 }} {{ gt .f 1 }}`:          "true true true false true",
		`{{ len .missing }} {{ len .list }} {{ len .obj }} {{ len "héllo" }}`:                          "0 2 1 5",
		`[{{ index .list 5 }}][{{ index .missing "k" }}][{{ index .obj "k" }}][{{ index .list 1 }}]`:   "[][][v][b]",
		`[{{ printf "%s-%d" .missing .i }}][{{ print .missing }}][{{ .obj }}]`:                         "[-2][][map[k:v]]",
		`{{ (fromjson .msg).a }} [{{ fromjson .bad }}] [{{ with fromjson .missing }}x{{ end }}]`:       "1 [] []",
		`{{ replace "a" "b" .missing }}|{{ contains "b" .list }}|{{ json .obj }}|{{ join "," .list }}`: `|true|{"k":"v"}|a,b`,
	} {
		m := compile(t, Fields{Title: "x", Labels: map[string]string{"v": src}})
		a := mapOK(t, m, body).Alerts[0]
		if a.Labels["v"] != want || a.Annotations[incidents.AnnotationParseWarnings] != "" {
			t.Errorf("%s\n  = %q (warnings %q), want %q", src, a.Labels["v"], a.Annotations[incidents.AnnotationParseWarnings], want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name   string
		f      Fields
		fields []string // FieldError.Field, in order
		msg    string   // part of the first message
	}{
		{"no title", Fields{}, []string{"title"}, "is required"},
		{"syntax", Fields{Title: "{{ .a "}, []string{"title"}, "unclosed action"},
		{"unknown function", Fields{Title: "{{ nope .a }}"}, []string{"title"}, `function "nope" not defined`},
		{"range", Fields{Title: "{{ range .a }}{{ . }}{{ end }}"}, []string{"title"}, "range is not allowed"},
		{"range in if", Fields{Title: "x", Summary: "{{ if .a }}{{ range .a }}{{ end }}{{ end }}"}, []string{"summary"}, "range is not allowed"},
		{"define", Fields{Title: `{{ define "x" }}y{{ end }}`}, []string{"title"}, "define and block"},
		{"bare path", Fields{Title: ".monitor.name"}, []string{"title"}, "looks like a field path without {{ }}: write '{{ .monitor.name }}'"},
		{"unknown link", Fields{Title: "x", Links: map[string]string{"runbook": "{{ .r }}"}}, []string{"links.runbook"}, "fields.runbook"},
		{"bad label", Fields{Title: "x", Labels: map[string]string{"1bad": "x"}}, []string{"labels.1bad"}, "label name"},
		{"severity twice", Fields{Title: "x", Severity: "high", Labels: map[string]string{"severity": "x"}}, []string{"labels.severity"}, "give one"},
		{"lists without status", Fields{Title: "x", Resolved: []string{"ok"}}, []string{"resolved"}, "without fields.status"},
		{"overlap", Fields{Title: "x", Status: "{{ .s }}", Resolved: []string{"OK"}, Ignore: []string{"ok"}}, []string{"ignore"}, `"ok" is also in fields.resolved`},
		{"twice", Fields{Title: "x", Status: "{{ .s }}", Firing: []string{"a", "A"}}, []string{"firing"}, "twice"},
		{"annotation owned by a field", Fields{Title: "x", Annotations: map[string]string{"runbook_url": "y"}}, []string{"annotations.runbook_url"}, "fields.runbook"},
		{"several", Fields{Title: "{{", Summary: "{{ range . }}{{ end }}"}, []string{"summary", "title"}, "range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile("n", c.f, Options{})
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			if len(fe) != len(c.fields) {
				t.Fatalf("errors = %v, want fields %v", fe, c.fields)
			}
			for i, f := range c.fields {
				if fe[i].Field != f {
					t.Fatalf("errors = %v, want fields %v", fe, c.fields)
				}
			}
			if !strings.Contains(fe[0].Msg, c.msg) {
				t.Fatalf("message %q lacks %q", fe[0].Msg, c.msg)
			}
		})
	}
	for _, name := range []string{"", "Upper", "has space", "a/b", "-x", strings.Repeat("a", 64)} {
		if _, err := Compile(name, Fields{Title: "x"}, Options{}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	for _, name := range []string{"a", "uptime-kuma", "zabbix_prod", "0day"} {
		if _, err := Compile(name, Fields{Title: "x"}, Options{}); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

// FuzzParse feeds any body to a mapping that uses every kind of field:
// Parse must never panic, and it either refuses with a described Invalid
// error, ignores, or returns a batch every store accepts.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"kuma-down.json", "kuma-up.json", "kuma-test.json", "kuma-maintenance.json", "sns-alarm.json", "zabbix-problem.json", "cron-failed.json"} {
		f.Add(read(f, name))
	}
	f.Add([]byte(`{"heartbeat":{"status":1.5},"monitor":{"id":"` + strings.Repeat("x", 300) + `","tags":[null]}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"Message":"{\"a\":null}"}`))
	f.Add([]byte("{\"monitor\":{\"name\":\"\xff\xfe\"}}"))
	fields := kuma
	fields.Annotations = map[string]string{"sns": `{{ with .Message }}{{ (fromjson .).AlarmName }}{{ end }}`}
	fields.StartsAt = `{{ .heartbeat.time_unix }}`
	m := compile(f, fields)
	f.Fuzz(func(t *testing.T, body []byte) {
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", body)) })
		defer tm.Stop()
		b, err := m.Parse(body)
		if err != nil {
			if incidents.ErrorKind(err) != incidents.Invalid || incidents.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not a described Invalid", err)
			}
			return
		}
		if b == nil {
			return // ignored status
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("accepted body makes an invalid batch: %v", err)
		}
		if b.Title == "" || len(b.GroupKey) > 80 && !strings.HasPrefix(b.GroupKey, "sha256:") && len(b.GroupKey) > maxKey {
			t.Fatalf("batch = %+v", b)
		}
		for k, v := range b.Alerts[0].Labels {
			if v == "" || strings.Contains(v, "<no value>") {
				t.Fatalf("labels[%s] = %q", k, v)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	m := compile(b, kuma)
	body := read(b, "kuma-down.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := m.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
