// Package webhook reads any monitor's JSON webhook into an incidents.Batch
// through a mapping the operator writes in config: each field (title,
// status, fingerprint, group key, severity, summary, runbook, links,
// labels, ...) is a small Go template evaluated over the JSON body.
//
// One request is one alert. Requests that share a group key make one
// incident; an alert is matched to the one before by its fingerprint, so a
// "resolved" request for the same fingerprint resolves it.
//
// In a template, a missing key or a JSON null is empty, never the text
// "<no value>"; the functions (funcs.go) take it as empty too, and compare
// numbers by value whatever their JSON type. Loops (range) and nested
// templates are refused: a mapping picks fields, it does not iterate over
// the body, so its cost is bounded by the body's size.
//
// Title, status, fingerprint and group key decide what the alert is: one
// of them failing on a body refuses it (400). Any other field that fails
// is left out and the alert kept, with the reason in its
// incidents.AnnotationParseWarnings annotation.
package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
)

// SourcePrefix starts the source name of every generic webhook: the hook
// named "uptime" is the source "webhook/uptime", served at
// POST /hooks/webhook/uptime.
const SourcePrefix = "webhook/"

// Fields is a mapping as written in config. Every string is a Go template
// over the decoded JSON body; an empty one is not mapped.
type Fields struct {
	// Title names the incident (required).
	Title string
	// Status tells firing from resolved: its output is compared, trimmed
	// and in any case, with Resolved (default ["resolved"]), Ignore
	// (accepted and dropped) and Firing. With Firing empty, any other
	// output fires; with Firing given, any other output is refused (400).
	// With no Status, every request fires.
	Status   string
	Resolved []string
	Firing   []string
	Ignore   []string
	// Severity's output goes to the severity label (incidents.severity),
	// which maps it: critical, high, warning, info, 1..4, sev1, p1, ...
	Severity string
	// Fingerprint identifies the alert across requests (default: the group
	// key, else the title). GroupKey puts alerts in one incident (default:
	// the fingerprint, else the title).
	Fingerprint string
	GroupKey    string
	// Summary, Description and Runbook become the annotations the card
	// reads (summary, description, runbook_url).
	Summary     string
	Description string
	Runbook     string
	// StartsAt is when the problem began: RFC 3339, or Unix seconds or
	// milliseconds. Default: unset.
	StartsAt string
	// Links by kind: dashboard, panel, graph, silence, source.
	Links map[string]string
	// Labels route the incident to a team (routes[].match) and show on the
	// card; Annotations are free text the card templates may read (value,
	// threshold, what_to_do, ...). Empty outputs are dropped.
	Labels      map[string]string
	Annotations map[string]string
}

// LinkKinds are the keys Fields.Links accepts, and where each goes.
var LinkKinds = map[string]string{
	"dashboard": "annotation dashboard_url",
	"panel":     "annotation panel_url",
	"silence":   "annotation silence_url",
	"graph":     "the alert's generator URL",
	"source":    "the monitor's own page (the card's Source link)",
}

// Options are what a mapping needs from the rest of the config.
type Options struct {
	// SeverityLabel is the label the severity goes to (default "severity").
	SeverityLabel string
}

// FieldError is a problem with one field of a mapping, for check-config:
// Field is its path under fields ("title", "labels.team").
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return "fields." + e.Field + ": " + e.Msg }

// FieldErrors are every problem found in a mapping, ordered by field.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Limits on what a mapping produces from one body.
const (
	// maxOutput bounds one field's output; more is cut, ending in "…".
	maxOutput = 16 << 10
	// maxKey is the longest fingerprint or group key kept as given;
	// longer ones are replaced by their SHA-256.
	maxKey = 200
)

// Mapping is a compiled Fields: Parse turns bodies into batches.
type Mapping struct {
	name, source string
	sevLabel     string

	title, status, severity, fingerprint, groupKey *template.Template
	startsAt                                       *template.Template
	annotations, links, labels                     []field

	resolved, firing, ignore []string
}

type field struct {
	key  string
	tmpl *template.Template
}

// namePattern is what a hook's name may be: it is part of a URL path, a
// metric label and a store key.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// labelPattern is a Prometheus-style label name.
var labelPattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ValidName reports whether name can name a hook.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Compile checks f and prepares it. Its error is FieldErrors when the
// mapping is wrong, naming each field.
func Compile(name string, f Fields, o Options) (*Mapping, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("name %q: want 1 to 63 of a-z, 0-9, _ and -, starting with a letter or digit", name)
	}
	if o.SeverityLabel == "" {
		o.SeverityLabel = "severity"
	}
	m := &Mapping{name: name, source: SourcePrefix + name, sevLabel: o.SeverityLabel}
	var errs FieldErrors
	fail := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Field: path, Msg: fmt.Sprintf(format, args...)})
	}
	one := func(path, src string) *template.Template {
		if strings.TrimSpace(src) == "" {
			return nil
		}
		t, err := compileField(path, src)
		if err != nil {
			fail(path, "%s", err)
		}
		return t
	}

	if strings.TrimSpace(f.Title) == "" {
		fail("title", "is required: a template naming the incident, such as '{{ .monitor.name }} is down'")
	}
	m.title = one("title", f.Title)
	m.status = one("status", f.Status)
	m.severity = one("severity", f.Severity)
	m.fingerprint = one("fingerprint", f.Fingerprint)
	m.groupKey = one("group_key", f.GroupKey)
	m.startsAt = one("starts_at", f.StartsAt)
	for _, a := range []struct{ path, key, src string }{
		{"summary", "summary", f.Summary},
		{"description", "description", f.Description},
		{"runbook", "runbook_url", f.Runbook},
	} {
		if t := one(a.path, a.src); t != nil {
			m.annotations = append(m.annotations, field{a.key, t})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Annotations)) {
		switch {
		case strings.TrimSpace(k) == "" || !utf8.ValidString(k):
			fail("annotations", "a key is empty or not UTF-8")
		case k == "summary" || k == "description" || k == "runbook_url":
			fail("annotations."+k, "set it with fields.%s instead", map[string]string{"summary": "summary", "description": "description", "runbook_url": "runbook"}[k])
		default:
			if t := one("annotations."+k, f.Annotations[k]); t != nil {
				m.annotations = append(m.annotations, field{k, t})
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Links)) {
		if _, ok := LinkKinds[k]; !ok {
			hint := ""
			if k == "runbook" {
				hint = " (the runbook is fields.runbook)"
			}
			fail("links."+k, "unknown link kind%s: want one of %s", hint, strings.Join(slices.Sorted(maps.Keys(LinkKinds)), ", "))
			continue
		}
		if t := one("links."+k, f.Links[k]); t != nil {
			m.links = append(m.links, field{k, t})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		if !labelPattern.MatchString(k) {
			fail("labels."+k, "a label name is letters, digits and _, not starting with a digit")
			continue
		}
		if k == o.SeverityLabel && m.severity != nil {
			fail("labels."+k, "the severity label is set by fields.severity; give one of them")
			continue
		}
		if t := one("labels."+k, f.Labels[k]); t != nil {
			m.labels = append(m.labels, field{k, t})
		}
	}

	// Status values.
	norm := func(path string, vs []string) []string {
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			n := strings.ToLower(strings.TrimSpace(v))
			if slices.Contains(out, n) {
				fail(path, "lists %q twice", v)
			}
			out = append(out, n)
		}
		return out
	}
	m.resolved, m.firing, m.ignore = norm("resolved", f.Resolved), norm("firing", f.Firing), norm("ignore", f.Ignore)
	if m.status == nil {
		for path, vs := range map[string][]string{"resolved": f.Resolved, "firing": f.Firing, "ignore": f.Ignore} {
			if len(vs) > 0 {
				fail(path, "means nothing without fields.status")
			}
		}
	} else if len(m.resolved) == 0 {
		m.resolved = []string{"resolved"}
	}
	lists := []struct {
		path string
		vs   []string
	}{{"resolved", m.resolved}, {"firing", m.firing}, {"ignore", m.ignore}}
	for i, a := range lists {
		for _, b := range lists[i+1:] {
			for _, v := range a.vs {
				if slices.Contains(b.vs, v) {
					fail(b.path, "%q is also in fields.%s", v, a.path)
				}
			}
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, errs
	}
	return m, nil
}

// Name is the hook's name; Source is its source name ("webhook/<name>").
func (m *Mapping) Name() string   { return m.name }
func (m *Mapping) Source() string { return m.source }

// compileField parses one template, refusing what a field mapping does not
// need and what would make its cost depend on more than the body's size.
func compileField(name, src string) (*template.Template, error) {
	if s := strings.TrimSpace(src); !strings.Contains(s, "{{") && strings.HasPrefix(s, ".") && !strings.ContainsAny(s, " \t") {
		return nil, fmt.Errorf("%q looks like a field path without {{ }}: write '{{ %s }}' to read it", s, s)
	}
	t, err := template.New(name).Funcs(funcs).Parse(src)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "template: ")
		if rest, ok := strings.CutPrefix(msg, name+":"); ok {
			msg = "at " + rest
		}
		return nil, errors.New(msg)
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("define and block are not allowed in a field")
	}
	if n := forbidden(t.Tree.Root); n != "" {
		return nil, fmt.Errorf("%s is not allowed in a field: pick values with if, with, or, index and the functions", n)
	}
	return t, nil
}

// forbidden names the first loop or template call under n, or "".
func forbidden(n parse.Node) string {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Nodes {
			if s := forbidden(c); s != "" {
				return s
			}
		}
	case *parse.RangeNode:
		return "range"
	case *parse.TemplateNode:
		return "template"
	case *parse.BreakNode, *parse.ContinueNode:
		return "break/continue"
	case *parse.IfNode:
		return firstOf(n.List, n.ElseList)
	case *parse.WithNode:
		return firstOf(n.List, n.ElseList)
	}
	return ""
}

func firstOf(a, b *parse.ListNode) string {
	if s := forbidden(a); s != "" {
		return s
	}
	if b == nil {
		return ""
	}
	return forbidden(b)
}

// decode reads exactly one JSON value: objects lose their null members (so
// a null reads as missing), integral numbers become int64, others float64.
func decode(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the body is empty: want a JSON value")
		}
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value in the body")
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
				continue
			}
			v[k] = normalize(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalize(x)
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if !strings.ContainsAny(string(v), ".eE") {
			return v // an integer past int64 (an ID): kept exactly, as text
		}
		if f, err := v.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
	}
	return v
}

// Parse decodes a body and maps it. It returns (nil, nil) when the status
// is one to ignore. Its errors are of kind Invalid and name what is wrong,
// for a 400 answer.
func (m *Mapping) Parse(body []byte) (*incidents.Batch, error) {
	data, err := decode(body)
	if err != nil {
		return nil, decodeError(err)
	}
	e := evaluator{data: data}

	status := incidents.AlertFiring
	if m.status != nil {
		v, err := e.run("status", m.status)
		v = strings.ToLower(v)
		switch {
		case err != nil:
			return nil, err
		case slices.Contains(m.ignore, v):
			return nil, nil
		case slices.Contains(m.resolved, v):
			status = incidents.AlertResolved
		case len(m.firing) > 0 && !slices.Contains(m.firing, v):
			return nil, incidents.Errorf(incidents.Invalid, "fields.status gave %q, which is in none of fields.firing, fields.resolved and fields.ignore", clip(v))
		}
	}
	fp, err := e.run("fingerprint", m.fingerprint)
	if err != nil {
		return nil, err
	}
	gk, err := e.run("group_key", m.groupKey)
	if err != nil {
		return nil, err
	}
	// A title that fails on this body falls back to the default unless the
	// keys come from it: the alert is kept, with a warning.
	title, err := e.run("title", m.title)
	if err != nil {
		if m.fingerprint == nil && m.groupKey == nil {
			return nil, err
		}
		e.warn(err)
	}
	if title == "" {
		title = "Alert from " + m.source
	}
	switch {
	case m.fingerprint == nil && m.groupKey == nil:
		fp, gk = title, title
	case m.fingerprint == nil:
		fp = gk
	case m.groupKey == nil:
		gk = fp
	}
	if fp == "" {
		return nil, incidents.Errorf(incidents.Invalid, "fields.%s gave an empty value for this body: it identifies the alert", keyField(m.fingerprint != nil, "fingerprint", "group_key"))
	}
	if gk == "" {
		return nil, incidents.Errorf(incidents.Invalid, "fields.%s gave an empty value for this body: it groups alerts into an incident", keyField(m.groupKey != nil, "group_key", "fingerprint"))
	}

	// The other fields are optional: one that fails on this body is left
	// out, and the alert is kept with a warning (a lost page is worse than
	// a card without its runbook link).
	a := incidents.Alert{Source: m.source, Fingerprint: key(fp), Status: status}
	a.Labels = e.optionalAll("labels.", m.labels, 2)
	if sev := e.optional("severity", m.severity); sev != "" {
		a.Labels[m.sevLabel] = sev
	}
	if _, ok := a.Labels["alertname"]; !ok {
		a.Labels["alertname"] = title
	}
	a.Annotations = e.optionalAll("", m.annotations, 1)
	links := e.optionalAll("links.", m.links, 0)
	if s := e.optional("starts_at", m.startsAt); s != "" {
		if t, err := parseTime(s); err != nil {
			e.warn(incidents.Errorf(incidents.Invalid, "fields.starts_at gave %q: %v", clip(s), err))
		} else {
			a.StartsAt = t
		}
	}
	for _, k := range []string{"dashboard", "panel", "silence"} {
		if v := links[k]; v != "" {
			a.Annotations[k+"_url"] = v
		}
	}
	a.GeneratorURL = links["graph"]
	if len(e.warnings) > 0 {
		a.Annotations[incidents.AnnotationParseWarnings] = clip(strings.Join(e.warnings, "; "))
	}
	if len(a.Annotations) == 0 {
		a.Annotations = nil
	}
	return &incidents.Batch{
		Source:      m.source,
		GroupKey:    key(gk),
		Title:       title,
		ExternalURL: links["source"],
		Alerts:      []incidents.Alert{a},
	}, nil
}

func keyField(set bool, own, other string) string {
	if set {
		return own
	}
	return other
}

// key keeps a fingerprint or group key as given unless it is too long (or
// not UTF-8) for a store key and a log line.
func key(s string) string {
	if len(s) <= maxKey && utf8.ValidString(s) {
		return s
	}
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// parseTime reads RFC 3339, or Unix seconds (or milliseconds, for numbers
// past the year 5138 in seconds), possibly with a fraction.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}, errors.New("want RFC 3339 or Unix seconds")
	}
	if f >= 1e11 {
		f /= 1000
	}
	if f >= 1<<40 {
		return time.Time{}, errors.New("want RFC 3339 or Unix seconds")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// evaluator runs templates over one body, collecting the warnings of
// optional fields.
type evaluator struct {
	data     any
	buf      bytes.Buffer
	warnings []string
}

// run executes t (nil gives "") and returns its trimmed output, with the
// "<no value>" text/template prints for a missing value taken out (and so
// the same text in the body: a missing value must never show as text). An
// output past maxOutput bytes is cut and ends with "…".
func (e *evaluator) run(name string, t *template.Template) (string, error) {
	if t == nil {
		return "", nil
	}
	e.buf.Reset()
	w := &limited{w: &e.buf, n: maxOutput}
	if err := t.Execute(w, e.data); err != nil {
		return "", incidents.Errorf(incidents.Invalid, "fields.%s: %s", name, execMessage(name, err))
	}
	out := bytes.ReplaceAll(e.buf.Bytes(), []byte("<no value>"), nil)
	s := strings.TrimSpace(strings.ToValidUTF8(string(out), "\uFFFD"))
	if w.cut {
		s += "…"
	}
	return s, nil
}

func (e *evaluator) warn(err error) {
	e.warnings = append(e.warnings, incidents.ErrorMessage(err))
}

// optional runs an optional field: on error it warns and gives "".
func (e *evaluator) optional(name string, t *template.Template) string {
	s, err := e.run(name, t)
	if err != nil {
		e.warn(err)
	}
	return s
}

// optionalAll runs optional fields into a map, leaving out empty outputs.
func (e *evaluator) optionalAll(prefix string, fs []field, extra int) map[string]string {
	out := make(map[string]string, len(fs)+extra)
	for _, f := range fs {
		if v := e.optional(prefix+f.key, f.tmpl); v != "" {
			out[f.key] = v
		}
	}
	return out
}

// execMessage shortens text/template's execution error to what the sender
// and the operator need: where in the field and what.
func execMessage(name string, err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "template: ")
	if rest, ok := strings.CutPrefix(s, name+":"); ok {
		s = "at " + rest
	}
	if i := strings.Index(s, ": executing "); i >= 0 {
		if j := strings.Index(s[i+len(": executing "):], ": "); j >= 0 {
			s = s[:i] + s[i+len(": executing ")+j:]
		}
	}
	return clip(s)
}

// limited writes at most n bytes to w and drops the rest (noting that it
// did): a field's output is bounded whatever the body holds.
type limited struct {
	w   *bytes.Buffer
	n   int
	cut bool
}

func (l *limited) Write(p []byte) (int, error) {
	if len(p) > l.n {
		l.cut = true
		k := l.n
		for k > 0 && k < len(p) && !utf8.RuneStart(p[k]) {
			k--
		}
		l.w.Write(p[:k])
		l.n = 0
		return len(p), nil
	}
	l.n -= len(p)
	return l.w.Write(p)
}

func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// decodeError names what is wrong with a body that is not JSON.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return incidents.Errorf(incidents.Invalid, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return incidents.Errorf(incidents.Invalid, "malformed JSON: the body ends too soon")
	}
	return incidents.Errorf(incidents.Invalid, "%s", err.Error())
}
