// Package alertmanager reads Prometheus Alertmanager's webhook (version 4)
// into an incidents.Batch: one batch per notification, one incident per
// Alertmanager group.
package alertmanager

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Source is the name alerts from Alertmanager carry.
const Source = "alertmanager"

// Message is Alertmanager's webhook body. Unknown fields (newer releases add
// some) are ignored.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
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
}

// Parse decodes and checks a webhook body. Its errors are of kind Invalid
// and name what is wrong, for a 400 answer.
func Parse(body []byte) (*incidents.Batch, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, DecodeError(err)
	}
	return m.Batch()
}

// DecodeError turns a JSON decoding error into an Invalid error naming
// what is wrong (the field, the offset, the time), for a 400 answer.
func DecodeError(err error) error {
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
	if m.Version != "4" {
		return nil, incidents.Errorf(incidents.Invalid, "version is %q: klaxon reads Alertmanager webhook version \"4\"", m.Version)
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
			fp = Fingerprint(a.Labels)
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
			Labels: a.Labels, Annotations: a.Annotations,
			StartsAt: zeroYearOne(a.StartsAt), EndsAt: ends, GeneratorURL: a.GeneratorURL,
		})
	}
	b.Title = m.title()
	return b, nil
}

func zeroYearOne(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// title prefers the summary all alerts share, then their common alertname,
// then the first alert's summary or name.
func (m *Message) title() string {
	for _, s := range []string{
		m.CommonAnnotations["summary"], m.CommonLabels["alertname"],
		m.Alerts[0].Annotations["summary"], m.Alerts[0].Labels["alertname"],
	} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return "Alert from " + m.Receiver
}

// Fingerprint identifies a label set when a sender leaves the fingerprint
// out (hand-written payloads, very old Alertmanagers).
func Fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, k := range names {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
