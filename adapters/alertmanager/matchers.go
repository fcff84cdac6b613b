package alertmanager

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// MatchType is how a Matcher compares a label's value, as in Alertmanager.
// The zero value is equality, so a Matcher written without a Type never
// silences the opposite of what it names.
type MatchType int

const (
	// MatchEqual matches a label whose value is exactly Value ("=").
	MatchEqual MatchType = iota
	// MatchNotEqual matches a label whose value is not Value ("!="). It
	// needs Alertmanager 0.22 or newer (isEqual).
	MatchNotEqual
	// MatchRegexp matches a label whose whole value matches the RE2
	// expression Value ("=~").
	MatchRegexp
	// MatchNotRegexp matches a label whose value does not match Value
	// ("!~"). It needs Alertmanager 0.22 or newer (isEqual).
	MatchNotRegexp
)

// String is the operator as Alertmanager and amtool write it: =, !=, =~, !~.
func (t MatchType) String() string {
	switch t {
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return "="
}

func (t MatchType) regex() bool    { return t == MatchRegexp || t == MatchNotRegexp }
func (t MatchType) negative() bool { return t == MatchNotEqual || t == MatchNotRegexp }

// Matcher is one condition of a silence: label Name compared to Value.
// A label an alert lacks counts as the empty value, as in Alertmanager.
type Matcher struct {
	Name  string
	Value string
	Type  MatchType
}

// String writes m as amtool prints it and as Alertmanager's filter
// parameter takes it: name="value", with \, " and newlines escaped.
func (m Matcher) String() string {
	return m.Name + m.Type.String() + quoteValue(m.Value)
}

// quoteValue quotes v the way Alertmanager's matcher parser unquotes it
// (pkg/labels.ParseMatcher): only \\, \" and \n are escapes there.
func quoteValue(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// labelNameRE is a label name as Alertmanager before 0.27 (and Prometheus
// before 3.0) accepts it. Newer releases take any UTF-8, but a silence
// must work on every Alertmanager klaxon may talk to.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ValidLabelName reports whether name is a label name every Alertmanager
// takes: a letter or _, then letters, digits or _.
func ValidLabelName(name string) bool { return labelNameRE.MatchString(name) }

// Validate checks m as Alertmanager would before it stores a silence: a
// valid label name, a value in valid UTF-8, and for a regular expression
// one that compiles (RE2, anchored at both ends). Its errors are Invalid
// and name the matcher.
func (m Matcher) Validate() error {
	if !ValidLabelName(m.Name) {
		return incidents.Errorf(incidents.Invalid,
			"label name %q is not valid: use letters, digits and _, not starting with a digit (like alertname or instance)", m.Name)
	}
	if !utf8.ValidString(m.Value) {
		return incidents.Errorf(incidents.Invalid, "the value of label %s is not valid UTF-8", m.Name)
	}
	if m.Type < MatchEqual || m.Type > MatchNotRegexp {
		return incidents.Errorf(incidents.Invalid, "matcher for %s has an unknown match type %d", m.Name, int(m.Type))
	}
	if m.Type.regex() {
		if _, err := regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
			return incidents.Errorf(incidents.Invalid, "%s: not a valid regular expression: %s", m, err.Error())
		}
	}
	return nil
}

// Matches reports whether a label with value v (the empty string when the
// alert lacks the label) satisfies m. An m that does not Validate matches
// nothing.
func (m Matcher) Matches(v string) bool {
	var ok bool
	if m.Type.regex() {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return false
		}
		ok = re.MatchString(v)
	} else {
		ok = v == m.Value
	}
	if m.Type.negative() {
		return !ok
	}
	return ok
}

// MatcherPolicy decides which matchers MatchersFor builds from an
// incident's alerts.
type MatcherPolicy struct {
	// Ignore names labels left out of the shared set even when every alert
	// has them with the same value: labels that tell one firing, replica or
	// sender from another rather than the problem. A name the person types
	// in extra is used all the same.
	Ignore []string
	// Broad names labels that select a whole area (a severity, a team, an
	// environment, a cluster, a scrape job) rather than a problem. A
	// silence must carry at least one matcher on a label not in Broad, so
	// that it can never hide every critical alert, or every alert of a
	// team, at once. alertname is never broad.
	Broad []string
}

// DefaultMatcherPolicy is the policy MatchersFor uses.
//
// Ignore is empty: Alertmanager's own Silence button and Grafana's
// silence link fill in every label of the alert, and Prometheus alerts
// carry no label that changes from one firing to the next; HA replica
// labels (prometheus_replica) are dropped before Alertmanager by
// alert_relabel_configs, or Alertmanager could not deduplicate the pair.
//
// Broad lists how bad (severity, priority, urgency), whose (team, owner,
// tenant, tenant_id), where (env, environment, stage, cluster, region,
// zone, datacenter, dc, namespace) and who scrapes (job, prometheus,
// monitor, replica, prometheus_replica).
func DefaultMatcherPolicy() MatcherPolicy {
	return MatcherPolicy{
		Broad: []string{
			"severity", "priority", "urgency",
			"team", "owner", "tenant", "tenant_id",
			"env", "environment", "stage", "cluster", "region", "zone", "datacenter", "dc", "namespace",
			"job", "prometheus", "monitor", "replica", "prometheus_replica",
		},
	}
}

// MatchersFor builds the matchers of a silence for an incident's alerts
// (their label sets) under DefaultMatcherPolicy. See MatcherPolicy.Matchers.
func MatchersFor(alerts []map[string]string, extra map[string]string) ([]Matcher, error) {
	return DefaultMatcherPolicy().Matchers(alerts, extra)
}

// Matchers builds the equality matchers of a silence for an incident's
// alerts: every label all alerts share with the same non-empty value,
// less p.Ignore, then extra (label=value pairs a person typed, which
// override and add). Labels whose name Alertmanager would refuse are left
// out (Alertmanager cannot hold such an alert). Values are taken
// literally: no matcher is ever a regular expression, so a value like
// ".*" silences only that value.
//
// The set is refused (Invalid, with a message that names the labels to
// choose from) when it is empty, which would silence everything, or when
// every matcher is on a label in p.Broad (severity="critical" alone would
// hide every critical alert), or when extra holds a bad name or an empty
// or non-UTF-8 value. The result is sorted: alertname first, then by name.
func (p MatcherPolicy) Matchers(alerts []map[string]string, extra map[string]string) ([]Matcher, error) {
	shared := sharedLabels(alerts)
	for _, name := range p.Ignore {
		delete(shared, name)
	}
	for _, name := range sortedKeys(extra) {
		v := extra[name]
		if !ValidLabelName(name) {
			return nil, incidents.Errorf(incidents.Invalid,
				"label name %q is not valid: use letters, digits and _, not starting with a digit (like alertname or instance)", name)
		}
		if v == "" {
			return nil, incidents.Errorf(incidents.Invalid,
				"label %s has no value: a silence matches label=value, e.g. %s=%s", name, name, exampleValue(alerts, name))
		}
		if !utf8.ValidString(v) {
			return nil, incidents.Errorf(incidents.Invalid, "the value of label %s is not valid UTF-8", name)
		}
		shared[name] = v
	}

	ms := make([]Matcher, 0, len(shared))
	specific := false
	for name, v := range shared {
		ms = append(ms, Matcher{Name: name, Value: v})
		if name == "alertname" || !slices.Contains(p.Broad, name) {
			specific = true
		}
	}
	slices.SortFunc(ms, func(a, b Matcher) int {
		switch {
		case a.Name == b.Name:
			return 0
		case a.Name == "alertname":
			return -1
		case b.Name == "alertname":
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	if specific {
		return ms, nil
	}

	hint := "name what to silence, e.g. alertname=<name>"
	if others := unsharedLabels(alerts, shared); len(others) > 0 {
		hint += "; labels that differ between the alerts: " + strings.Join(others, ", ")
	}
	if len(ms) == 0 {
		if len(alerts) == 0 {
			return nil, incidents.Errorf(incidents.Invalid,
				"there are no alerts to silence: %s", hint)
		}
		return nil, incidents.Errorf(incidents.Invalid,
			"the alerts share no label, and a silence without matchers would hide every alert: %s", hint)
	}
	shown := make([]string, len(ms))
	for i, m := range ms {
		shown[i] = m.String()
	}
	return nil, incidents.Errorf(incidents.Invalid,
		"the alerts share only %s: a silence on that alone would hide every alert with it, real outages included; %s",
		strings.Join(shown, ", "), hint)
}

// sharedLabels returns the labels every alert has with the same value,
// leaving out empty values (the same as no label) and names Alertmanager
// refuses.
func sharedLabels(alerts []map[string]string) map[string]string {
	shared := map[string]string{}
	if len(alerts) == 0 {
		return shared
	}
	for name, v := range alerts[0] {
		if v != "" && ValidLabelName(name) && utf8.ValidString(v) {
			shared[name] = v
		}
	}
	for _, a := range alerts[1:] {
		for name, v := range shared {
			if a[name] != v {
				delete(shared, name)
			}
		}
	}
	return shared
}

// unsharedLabels names the valid labels some alert has that are not in
// shared, sorted, at most 10.
func unsharedLabels(alerts []map[string]string, shared map[string]string) []string {
	seen := map[string]bool{}
	for _, a := range alerts {
		for name, v := range a {
			if _, ok := shared[name]; !ok && v != "" && ValidLabelName(name) {
				seen[name] = true
			}
		}
	}
	names := sortedKeys(seen)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return names
}

// exampleValue is a value of label name from the alerts, for a hint.
func exampleValue(alerts []map[string]string, name string) string {
	for _, a := range alerts {
		if v := a[name]; v != "" && utf8.ValidString(v) && utf8.RuneCountInString(v) <= 40 {
			return v
		}
	}
	return "<value>"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// describe writes matchers for a message: {alertname="X", instance="y"}.
func describe(ms []Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
