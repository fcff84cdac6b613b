// Package cardtest holds the realistic incident that the card tests of
// templates and of every chat adapter render, so that their golden files
// show the same incident.
package cardtest

import (
	"fmt"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// T0 is when the incident opened.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Payments returns INC-42 of team payments: two firing alerts and one
// resolved, with a summary, a description, what to do, a runbook, a
// dashboard, a graph and the value against its threshold.
func Payments() *incidents.Incident {
	mk := func(fp, inst string, st incidents.AlertStatus, starts time.Time) incidents.Alert {
		return incidents.Alert{
			Source: "alertmanager", Fingerprint: fp, Status: st, Severity: incidents.Sev1, StartsAt: starts,
			Labels: map[string]string{"alertname": "HighLatency", "instance": inst, "service": "payments", "env": "prod", "severity": "critical"},
			Annotations: map[string]string{
				"summary":       "p99 latency above 2s on " + inst,
				"description":   "Checkout requests are slow: p99 is 3.2s against a 2s objective.\nCustomers see timeouts at payment.",
				"what_to_do":    "Check the payments DB connection pool; scale pay-api if saturated.",
				"runbook_url":   "https://runbooks.example.com/payments/latency",
				"value":         "3.2s",
				"threshold":     "2s",
				"dashboard_url": "https://grafana.example.com/d/pay",
			},
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=histogram_quantile",
		}
	}
	b := &incidents.Batch{Source: "alertmanager", GroupKey: "g", Title: "Payments p99 latency above 2s", ExternalURL: "http://alertmanager:9093",
		Alerts: []incidents.Alert{mk("a", "pay-1:9100", incidents.AlertFiring, T0), mk("b", "pay-2:9100", incidents.AlertFiring, T0.Add(time.Minute)),
			mk("c", "pay-3:9100", incidents.AlertResolved, T0)}}
	inc := incidents.NewIncident(42, b, T0)
	inc.Team = "payments"
	return inc
}

// Storm returns an incident of n firing alerts like Payments' first, for
// benchmarks of big incidents.
func Storm(n int) *incidents.Incident {
	alerts := make([]incidents.Alert, 0, n)
	for i := range n {
		a := Payments().Alerts[0]
		a.Fingerprint = fmt.Sprint(i)
		alerts = append(alerts, a)
	}
	return incidents.NewIncident(1, &incidents.Batch{Source: "alertmanager", GroupKey: "g", Title: "Payments p99 latency above 2s", Alerts: alerts}, T0)
}

// Now is when the golden cards of Lifecycle are rendered: 12 minutes in.
var Now = T0.Add(12 * time.Minute)

// Lifecycle returns Payments in each of its states, by state name:
// "triggered", "acknowledged" (by alice at T0+5m) and "resolved" (by bob
// at T0+10m).
func Lifecycle() map[string]*incidents.Incident {
	inc := Payments()
	acked := inc.Clone()
	must(acked.Apply(incidents.Acknowledge, "alice", "", T0.Add(5*time.Minute)))
	resolved := acked.Clone()
	must(resolved.Apply(incidents.Resolve, "bob", "", T0.Add(10*time.Minute)))
	return map[string]*incidents.Incident{"triggered": inc, "acknowledged": acked, "resolved": resolved}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Holds returns Payments held by something, by name: "maintenance"
// (triggered in window mw-1a2b3c4d until T0+2h, the compact card) and
// "flapping" (its alerts flapped, acknowledged by alice at T0+5m).
func Holds() map[string]*incidents.Incident {
	held := Payments()
	held.Escalation = &incidents.Escalation{Policy: "default", DueAt: T0}
	held.HoldFor(&incidents.Maintenance{ID: "mw-1a2b3c4d", Team: "payments", Start: T0.Add(-time.Hour), End: T0.Add(2 * time.Hour),
		Reason: "pay-db failover drill <@channel>"}, T0)
	flapping := Payments()
	flapping.Flapping = true
	flapping.Flaps = 5
	flapping.FlapTimes = []time.Time{T0.Add(time.Minute), T0.Add(3 * time.Minute), T0.Add(6 * time.Minute), T0.Add(9 * time.Minute)}
	must(flapping.Apply(incidents.Acknowledge, "alice", "", T0.Add(5*time.Minute)))
	return map[string]*incidents.Incident{"maintenance": held, "flapping": flapping}
}

// All returns Lifecycle and Holds together, by name.
func All() map[string]*incidents.Incident {
	all := Lifecycle()
	for name, inc := range Holds() {
		all[name] = inc
	}
	return all
}
