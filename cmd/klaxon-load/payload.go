package main

import (
	"strconv"
	"strings"
)

// payloads renders Alertmanager webhook (version 4) notifications from a
// template whose constant parts are rendered once, so that a body costs a
// few appends: the generator must not be the bottleneck. Every group key and
// fingerprint carries the run id, so reruns never touch an earlier run's
// incidents.
//
// Names that vary (group, alert tag) are made by the generator from the run
// id ([A-Za-z0-9_.-]) and numbers, so nothing needs JSON escaping.
type payloads struct {
	alerts int // alerts per payload
	// The body is head1 G head2 G head3 G head4 then, per alert,
	// alert1 G alert2 TAG-J alert3 TAG-J alert4, then tail.
	head1, head2, head3, head4 string
	alert1, alert2, alert3     string
	alert4, tail               string
	size                       int // a body's length, roughly, for preallocation
}

func newPayloads(runID, startsAt string, alerts int) *payloads {
	r := strings.NewReplacer("RUN", runID, "STARTS", startsAt)
	p := &payloads{
		alerts: alerts,
		head1: r.Replace(`{"version":"4","status":"firing","receiver":"klaxon","truncatedAlerts":0,` +
			`"groupKey":"{}:{alertname=\"KlaxonLoad\", load_group=\"`),
		head2: r.Replace(`\", load_run=\"RUN\"}",` +
			`"groupLabels":{"alertname":"KlaxonLoad","load_run":"RUN","load_group":"`),
		head3: r.Replace(`"},"commonLabels":{"alertname":"KlaxonLoad","load_run":"RUN","load_group":"`),
		head4: r.Replace(`","job":"klaxon-load","service":"loadtest","severity":"critical"},` +
			`"commonAnnotations":{"summary":"klaxon-load: synthetic alert (run RUN)"},` +
			`"externalURL":"http://alertmanager.example:9093","alerts":[`),
		alert1: r.Replace(`{"status":"firing","labels":{"alertname":"KlaxonLoad","load_run":"RUN","load_group":"`),
		alert2: r.Replace(`","job":"klaxon-load","service":"loadtest","severity":"critical","instance":"load-`),
		alert3: r.Replace(`:9100"},"annotations":{"summary":"klaxon-load: synthetic alert (run RUN)",` +
			`"description":"Sent by klaxon-load to measure klaxon's webhook ingest; safe to resolve."},` +
			`"startsAt":"STARTS","endsAt":"0001-01-01T00:00:00Z",` +
			`"generatorURL":"http://prometheus.example:9090/graph?g0.expr=up%3D%3D0","fingerprint":"RUN-`),
		alert4: `"}`,
		tail:   `]}`,
	}
	head := len(p.head1) + len(p.head2) + len(p.head3) + len(p.head4) + 3*24
	per := len(p.alert1) + len(p.alert2) + len(p.alert3) + len(p.alert4) + 3*32
	p.size = head + alerts*per + len(p.tail)
	return p
}

// body renders a notification for group with p.alerts alerts whose
// fingerprints are RUN-<tag><n>-<j>, j = 0 .. alerts-1.
func (p *payloads) body(group string, tag byte, n int64) []byte {
	b := make([]byte, 0, p.size)
	b = append(b, p.head1...)
	b = append(b, group...)
	b = append(b, p.head2...)
	b = append(b, group...)
	b = append(b, p.head3...)
	b = append(b, group...)
	b = append(b, p.head4...)
	for j := range p.alerts {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, p.alert1...)
		b = append(b, group...)
		b = append(b, p.alert2...)
		b = appendAlertID(b, tag, n, j)
		b = append(b, p.alert3...)
		b = appendAlertID(b, tag, n, j)
		b = append(b, p.alert4...)
	}
	return append(b, p.tail...)
}

func appendAlertID(b []byte, tag byte, n int64, j int) []byte {
	b = append(b, tag)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '-')
	return strconv.AppendInt(b, int64(j), 10)
}

// groupName names group g of a mode: "n<i>" for mode new (one group per
// payload), "g<i>" for the -groups groups of join and repeat.
func groupName(prefix byte, i int64) string {
	return string(strconv.AppendInt([]byte{prefix}, i, 10))
}
