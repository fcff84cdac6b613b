// Package grafana reads Grafana unified alerting's webhook (version "1")
// into an incidents.Batch: one batch per notification, one incident per
// notification group, as for Alertmanager, whose payload Grafana's extends.
//
// What Grafana adds per alert is turned into annotations the cards read:
// the evaluated values become "value", and the dashboard, panel and silence
// links become "dashboard_url", "panel_url" and "silence_url". Annotations
// the rule already sets under those keys win.
package grafana

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/incidents"
)

// Source is the name alerts from Grafana carry.
const Source = "grafana"

// Annotation keys Parse fills from Grafana's own alert fields; they are the
// keys the card templates read.
const (
	AnnotationValue     = "value"
	AnnotationDashboard = "dashboard_url"
	AnnotationPanel     = "panel_url"
	AnnotationSilence   = "silence_url"
)

// Message is Grafana's webhook body. Unknown fields are ignored.
type Message struct {
	Version           string            `json:"version"`
	OrgID             int64             `json:"orgId"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	State             string            `json:"state"` // "alerting", "ok", ...: informative only
	Receiver          string            `json:"receiver"`
	Title             string            `json:"title"`
	Message           string            `json:"message"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	SilenceURL   string            `json:"silenceURL"`
	DashboardURL string            `json:"dashboardURL"`
	PanelURL     string            `json:"panelURL"`
	ImageURL     string            `json:"imageURL"` // no card shows images: not kept
	Values       Values            `json:"values"`
	ValueString  string            `json:"valueString"`
}

// Values are the results of an alert's queries and expressions by reference
// ID ("A", "B", ...). JSON null (for the whole map or for one value) is
// accepted, and so are numbers sent as strings ("NaN", "+Inf").
type Values map[string]float64

// UnmarshalJSON reads a JSON object of numbers.
func (v *Values) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*v = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &raw) != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Values]()}
	}
	out := make(Values, len(raw))
	for k, r := range raw {
		r = bytes.TrimSpace(r)
		var f float64
		var s string
		switch {
		case string(r) == "null":
			continue
		case json.Unmarshal(r, &f) == nil:
		case json.Unmarshal(r, &s) == nil:
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: reflect.TypeFor[float64]()}
			}
		default:
			return &json.UnmarshalTypeError{Value: jsonKind(r), Type: reflect.TypeFor[float64]()}
		}
		out[k] = f
	}
	*v = out
	return nil
}

func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// String renders the values compactly, by reference ID: "A=3.2 B=1".
func (v Values) String() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(formatFloat(v[k]))
	}
	return sb.String()
}

// formatFloat shows at most ten significant digits, so that float noise
// (0.30000000000000004) does not reach the card, and no exponent for
// everyday magnitudes.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 10, 64), 64)
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Parse decodes and checks a webhook body. Its errors are of kind Invalid
// and name what is wrong, for a 400 answer.
func Parse(body []byte) (*incidents.Batch, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, jsonError(err)
	}
	return m.Batch()
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tp *time.ParseError
	switch {
	case errors.As(err, &syntax):
		return incidents.Errorf(incidents.Invalid, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return incidents.Errorf(incidents.Invalid, "field %s: want %s, got JSON %s", field, typ.Type, typ.Value)
	case errors.As(err, &tp):
		return incidents.Errorf(incidents.Invalid, "bad time %q: want RFC 3339", tp.Value)
	}
	return incidents.Errorf(incidents.Invalid, "malformed JSON: %s", err.Error())
}

// Batch checks m and turns it into a batch.
func (m *Message) Batch() (*incidents.Batch, error) {
	if m.Version != "1" {
		return nil, incidents.Errorf(incidents.Invalid, "version is %q: klaxon reads Grafana webhook version \"1\"", m.Version)
	}
	if m.GroupKey == "" {
		return nil, incidents.Errorf(incidents.Invalid, "groupKey is missing")
	}
	if len(m.Alerts) == 0 {
		return nil, incidents.Errorf(incidents.Invalid, "alerts is empty")
	}
	if m.TruncatedAlerts < 0 {
		return nil, incidents.Errorf(incidents.Invalid, "truncatedAlerts is negative")
	}
	b := &incidents.Batch{
		Source:      Source,
		GroupKey:    m.GroupKey,
		GroupLabels: m.GroupLabels,
		ExternalURL: m.ExternalURL,
		Truncated:   m.TruncatedAlerts,
		// With max_alerts set, the group's status covers alerts not sent.
		FiringBeyond: m.TruncatedAlerts > 0 && m.Status == "firing",
		Alerts:       make([]incidents.Alert, 0, len(m.Alerts)),
	}
	seen := make(map[string]bool, len(m.Alerts))
	for i := range m.Alerts {
		a := &m.Alerts[i]
		status := incidents.AlertStatus(a.Status)
		if status != incidents.AlertFiring && status != incidents.AlertResolved {
			return nil, incidents.Errorf(incidents.Invalid, "alerts[%d].status is %q: want firing or resolved", i, a.Status)
		}
		if len(a.Labels) == 0 {
			return nil, incidents.Errorf(incidents.Invalid, "alerts[%d].labels is empty", i)
		}
		fp := a.Fingerprint
		if fp == "" {
			fp = alertmanager.Fingerprint(a.Labels)
		}
		if seen[fp] {
			return nil, incidents.Errorf(incidents.Invalid, "alerts[%d] repeats fingerprint %q", i, fp)
		}
		seen[fp] = true
		var ends time.Time
		if status == incidents.AlertResolved && a.EndsAt.Year() > 1 {
			ends = a.EndsAt
		}
		b.Alerts = append(b.Alerts, incidents.Alert{
			Source: Source, Fingerprint: fp, Status: status,
			Labels: a.Labels, Annotations: a.annotations(),
			StartsAt: zeroYearOne(a.StartsAt), EndsAt: ends, GeneratorURL: a.GeneratorURL,
		})
	}
	b.Title = m.title()
	return b, nil
}

// annotations are the alert's own, plus its value and links under the keys
// the cards read, unless the rule already set those.
func (a *Alert) annotations() map[string]string {
	out := a.Annotations
	set := func(key, value string) {
		if value = strings.TrimSpace(value); value == "" || strings.TrimSpace(out[key]) != "" {
			return
		}
		if out == nil {
			out = make(map[string]string, 4)
		}
		out[key] = value
	}
	value := a.ValueString
	if strings.TrimSpace(value) == "" {
		value = a.Values.String()
	}
	set(AnnotationValue, value)
	set(AnnotationDashboard, a.DashboardURL)
	set(AnnotationPanel, a.PanelURL)
	set(AnnotationSilence, a.SilenceURL)
	return out
}

func zeroYearOne(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// statusPrefix is the "[FIRING:2] " or "[RESOLVED] " that Grafana's default
// title starts with: it changes with every notification.
var statusPrefix = regexp.MustCompile(`^\[(?i:firing(?::\d+)?|resolved)\]\s*`)

// title prefers the summary all alerts share, then their common alertname,
// then the first alert's summary or name, then Grafana's title.
func (m *Message) title() string {
	for _, s := range []string{
		m.CommonAnnotations["summary"], m.CommonLabels["alertname"],
		m.Alerts[0].Annotations["summary"], m.Alerts[0].Labels["alertname"],
		statusPrefix.ReplaceAllString(strings.TrimSpace(m.Title), ""),
	} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return "Alert from " + m.Receiver
}
