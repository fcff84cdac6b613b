package alertmanager_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/incidents"
)

type labels = map[string]string

func eq(pairs ...string) []alertmanager.Matcher {
	var ms []alertmanager.Matcher
	for i := 0; i < len(pairs); i += 2 {
		ms = append(ms, alertmanager.Matcher{Name: pairs[i], Value: pairs[i+1]})
	}
	return ms
}

func TestMatchersFor(t *testing.T) {
	db1 := labels{"alertname": "DiskFull", "service": "db", "instance": "db-1", "severity": "warning", "job": "node"}
	db2 := labels{"alertname": "DiskFull", "service": "db", "instance": "db-2", "severity": "warning", "job": "node"}
	for _, tc := range []struct {
		name   string
		alerts []labels
		extra  labels
		want   []alertmanager.Matcher
	}{
		{"one alert: all its labels, alertname first", []labels{db1}, nil,
			eq("alertname", "DiskFull", "instance", "db-1", "job", "node", "service", "db", "severity", "warning")},
		{"two alerts: what they share", []labels{db1, db2}, nil,
			eq("alertname", "DiskFull", "job", "node", "service", "db", "severity", "warning")},
		{"extra overrides and adds", []labels{db1, db2}, labels{"severity": "critical", "instance": "db-3"},
			eq("alertname", "DiskFull", "instance", "db-3", "job", "node", "service", "db", "severity", "critical")},
		{"empty values and bad names are no labels", []labels{{"alertname": "A", "empty": "", "bad-name": "x", "0x": "y"}}, nil,
			eq("alertname", "A")},
		{"a label missing from one alert is not shared", []labels{{"alertname": "A", "pod": "p"}, {"alertname": "A"}}, nil,
			eq("alertname", "A")},
		{"a host without alertname is specific enough", []labels{{"alertname": "A", "instance": "h"}, {"alertname": "B", "instance": "h"}}, nil,
			eq("instance", "h")},
		{"no alerts, a typed alertname", nil, labels{"alertname": "Manual"}, eq("alertname", "Manual")},
		{"values are literal, never regular expressions", []labels{{"alertname": ".*", "path": "/a|b"}}, nil,
			eq("alertname", ".*", "path", "/a|b")},
		{"the typed label chooses between alerts", []labels{db1, {"alertname": "Other", "severity": "warning"}}, labels{"alertname": "DiskFull"},
			eq("alertname", "DiskFull", "severity", "warning")},
		{"UTF-8 values", []labels{{"alertname": "Ünïcode 🔥", "note": "a\"b\\c\nd"}}, nil,
			eq("alertname", "Ünïcode 🔥", "note", "a\"b\\c\nd")},
	} {
		got, err := alertmanager.MatchersFor(tc.alerts, tc.extra)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

func TestMatchersForRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alerts []labels
		extra  labels
		says   []string // the message contains each
	}{
		{"nothing at all", nil, nil, []string{"no alerts to silence"}},
		{"alerts sharing nothing", []labels{{"alertname": "A"}, {"alertname": "B"}}, nil,
			[]string{"share no label", "differ between the alerts: alertname"}},
		{"alerts with no labels", []labels{{}}, nil, []string{"share no label"}},
		{"only severity", []labels{{"alertname": "A", "severity": "critical"}, {"alertname": "B", "severity": "critical", "instance": "x"}}, nil,
			[]string{`share only severity="critical"`, "hide every alert", "alertname, instance"}},
		{"only area labels", []labels{
			{"alertname": "A", "team": "payments", "env": "prod", "cluster": "eu", "namespace": "pay", "job": "api", "severity": "page"},
			{"alertname": "B", "team": "payments", "env": "prod", "cluster": "eu", "namespace": "pay", "job": "api", "severity": "page"},
		}, nil, []string{`cluster="eu", env="prod", job="api", namespace="pay", severity="page", team="payments"`}},
		{"a typed area label is not enough", nil, labels{"team": "payments"}, []string{`share only team="payments"`}},
		{"bad typed name", []labels{{"alertname": "A"}}, labels{"bad-name": "x"}, []string{`"bad-name" is not valid`}},
		{"typed name with a digit first", []labels{{"alertname": "A"}}, labels{"1st": "x"}, []string{"not valid"}},
		{"typed empty value", []labels{{"alertname": "A", "instance": "db-1"}}, labels{"instance": ""}, []string{"instance has no value", "instance=db-1"}},
		{"typed value not UTF-8", []labels{{"alertname": "A"}}, labels{"x": "\xff"}, []string{"not valid UTF-8"}},
	} {
		got, err := alertmanager.MatchersFor(tc.alerts, tc.extra)
		if err == nil {
			t.Errorf("%s: accepted %v", tc.name, got)
			continue
		}
		if got != nil || incidents.ErrorKind(err) != incidents.Invalid {
			t.Errorf("%s: %v, %v; want nil and an Invalid error", tc.name, got, err)
		}
		msg := incidents.ErrorMessage(err)
		for _, s := range tc.says {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: message %q does not say %q", tc.name, msg, s)
			}
		}
	}
}

func TestMatcherPolicy(t *testing.T) {
	p := alertmanager.MatcherPolicy{Ignore: []string{"prometheus_replica"}, Broad: []string{"severity", "service"}}
	a := labels{"alertname": "A", "prometheus_replica": "r1", "service": "db"}
	got, err := p.Matchers([]labels{a}, nil)
	if err != nil || !slices.Equal(got, eq("alertname", "A", "service", "db")) {
		t.Errorf("Ignore: %v, %v", got, err)
	}
	got, err = p.Matchers([]labels{a}, labels{"prometheus_replica": "r2"})
	if err != nil || !slices.Equal(got, eq("alertname", "A", "prometheus_replica", "r2", "service", "db")) {
		t.Errorf("a typed ignored label: %v, %v", got, err)
	}
	if got, err := p.Matchers([]labels{{"service": "db", "severity": "x"}}, nil); err == nil {
		t.Errorf("a policy's own broad labels: accepted %v", got)
	}
	// The default policy's lists are fresh each time: no caller can change another's.
	d := alertmanager.DefaultMatcherPolicy()
	d.Broad[0] = "alertname"
	if alertmanager.DefaultMatcherPolicy().Broad[0] == "alertname" {
		t.Error("DefaultMatcherPolicy shares its slices")
	}
	// alertname is never broad, whatever the policy says.
	if _, err := (alertmanager.MatcherPolicy{Broad: []string{"alertname"}}).Matchers([]labels{{"alertname": "A"}}, nil); err != nil {
		t.Errorf("alertname under a policy that lists it as broad: %v", err)
	}
}

func TestMatcherString(t *testing.T) {
	for _, tc := range []struct {
		m    alertmanager.Matcher
		want string
	}{
		{alertmanager.Matcher{Name: "alertname", Value: "DiskFull"}, `alertname="DiskFull"`},
		{alertmanager.Matcher{Name: "a", Value: `q"b\n` + "\n", Type: alertmanager.MatchNotEqual}, `a!="q\"b\\n\n"`},
		{alertmanager.Matcher{Name: "job", Value: "api|web", Type: alertmanager.MatchRegexp}, `job=~"api|web"`},
		{alertmanager.Matcher{Name: "job", Value: "", Type: alertmanager.MatchNotRegexp}, `job!~""`},
		{alertmanager.Matcher{Name: "x", Value: "新 🔥\t"}, "x=\"新 🔥\t\""},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%#v: %s, want %s", tc.m, got, tc.want)
		}
	}
}

func TestMatcherMatches(t *testing.T) {
	for _, tc := range []struct {
		m    alertmanager.Matcher
		v    string
		want bool
	}{
		{alertmanager.Matcher{Name: "a", Value: "x"}, "x", true},
		{alertmanager.Matcher{Name: "a", Value: "x"}, "xy", false},
		{alertmanager.Matcher{Name: "a", Value: "x"}, "", false},
		{alertmanager.Matcher{Name: "a", Value: ""}, "", true},
		{alertmanager.Matcher{Name: "a", Value: "x", Type: alertmanager.MatchNotEqual}, "", true},
		{alertmanager.Matcher{Name: "a", Value: "db-.*", Type: alertmanager.MatchRegexp}, "db-1", true},
		{alertmanager.Matcher{Name: "a", Value: "db", Type: alertmanager.MatchRegexp}, "db-1", false}, // anchored
		{alertmanager.Matcher{Name: "a", Value: "db-.*", Type: alertmanager.MatchNotRegexp}, "web-1", true},
		{alertmanager.Matcher{Name: "a", Value: "(", Type: alertmanager.MatchRegexp}, "(", false}, // invalid matches nothing
	} {
		if got := tc.m.Matches(tc.v); got != tc.want {
			t.Errorf("%v.Matches(%q) = %v", tc.m, tc.v, got)
		}
	}
}

// FuzzMatchersFor: no panic; never an empty or all-broad set without an
// error; every matcher an equality on a valid name with a non-empty UTF-8
// value; sorted, unique; and without extra, the silence covers every alert.
func FuzzMatchersFor(f *testing.F) {
	f.Add("alertname=DiskFull\ninstance=db-1\nseverity=warning", "alertname=DiskFull\ninstance=db-2\nseverity=warning", "", "")
	f.Add("severity=critical", "severity=critical", "", "")
	f.Add("", "", "alertname", "Manual")
	f.Add("team=a\nenv=prod", "", "team", "b")
	f.Add("bad-name=x\n=y\nx=", "a=\xff", "0", "\xff")
	f.Add("alertname=\"q\\\"\nnote=a,b;c", "alertname=\"q\\\"", "note", "🔥")
	broad := alertmanager.DefaultMatcherPolicy().Broad
	f.Fuzz(func(t *testing.T, a, b, extraName, extraValue string) {
		var alerts []map[string]string
		for _, s := range []string{a, b} {
			if s == "" {
				continue
			}
			l := map[string]string{}
			for _, line := range strings.Split(s, "\n") {
				k, v, _ := strings.Cut(line, "=")
				l[k] = v
			}
			alerts = append(alerts, l)
		}
		var extra map[string]string
		if extraName != "" || extraValue != "" {
			extra = map[string]string{extraName: extraValue}
		}
		ms, err := alertmanager.MatchersFor(alerts, extra)
		if err != nil {
			if ms != nil || incidents.ErrorKind(err) != incidents.Invalid || incidents.ErrorMessage(err) == "" {
				t.Fatalf("error %v with %v: want nil and an Invalid error with a message", err, ms)
			}
			return
		}
		if len(ms) == 0 {
			t.Fatal("an empty matcher set without an error")
		}
		specific := false
		for i, m := range ms {
			if !alertmanager.ValidLabelName(m.Name) || m.Value == "" || !utf8.ValidString(m.Value) || m.Type != alertmanager.MatchEqual {
				t.Fatalf("matcher %d: %#v", i, m)
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("matcher %v does not validate: %v", m, err)
			}
			if i > 0 && ms[i-1].Name == m.Name {
				t.Fatalf("label %s twice: %v", m.Name, ms)
			}
			if i > 1 && ms[i-1].Name > m.Name {
				t.Fatalf("not sorted: %v", ms)
			}
			if m.Name == "alertname" && i != 0 {
				t.Fatalf("alertname not first: %v", ms)
			}
			specific = specific || m.Name == "alertname" || !slices.Contains(broad, m.Name)
		}
		if !specific {
			t.Fatalf("only broad labels: %v", ms)
		}
		if extra == nil {
			s := alertmanager.Silence{Matchers: ms}
			for _, l := range alerts {
				if !s.Covers(l) {
					t.Fatalf("%v does not cover the alert %q", ms, l)
				}
			}
		}
	})
}
