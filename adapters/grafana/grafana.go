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
		return nil, alertmanager.DecodeError(err)
	}
	return m.Batch()
}

// Batch checks m and turns it into a batch: Grafana's payload is
// Alertmanager's with more fields, so its checks and grouping are
// Alertmanager's, with Grafana's value and links as annotations.
func (m *Message) Batch() (*incidents.Batch, error) {
	if m.Version != "1" {
		return nil, incidents.Errorf(incidents.Invalid, "version is %q: klaxon reads Grafana webhook version \"1\"", m.Version)
	}
	am := alertmanager.Message{
		Version: "4", GroupKey: m.GroupKey, TruncatedAlerts: m.TruncatedAlerts, Status: m.Status, Receiver: m.Receiver,
		GroupLabels: m.GroupLabels, CommonLabels: m.CommonLabels, CommonAnnotations: m.CommonAnnotations, ExternalURL: m.ExternalURL,
		Alerts: make([]alertmanager.Alert, len(m.Alerts)),
	}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		am.Alerts[i] = alertmanager.Alert{Status: a.Status, Labels: a.Labels, Annotations: a.annotations(),
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint}
	}
	b, err := am.Batch()
	if err != nil {
		return nil, err
	}
	b.Source = Source
	for i := range b.Alerts {
		b.Alerts[i].Source = Source
	}
	// Grafana's own title comes after the alerts' summary and name.
	if t := strings.TrimSpace(statusPrefix.ReplaceAllString(strings.TrimSpace(m.Title), "")); t != "" && b.Title == "Alert from "+m.Receiver {
		b.Title = t
	}
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

// statusPrefix is the "[FIRING:2] " or "[RESOLVED] " that Grafana's default
// title starts with: it changes with every notification.
var statusPrefix = regexp.MustCompile(`^\[(?i:firing(?::\d+)?|resolved)\]\s*`)
