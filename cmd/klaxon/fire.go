package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
)

// fire posts a realistic Alertmanager notification, so that a new user sees
// an incident open (and, with -resolve, resolve) in seconds.
func fire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fire", stderr)
	url := fs.String("url", firstNonEmpty(os.Getenv("KLAXON_URL"), "http://127.0.0.1:8080"), "klaxon's base `URL`; default $KLAXON_URL, else http://127.0.0.1:8080")
	token := fs.String("token", os.Getenv("KLAXON_FIRE_TOKEN"), "bearer `token` (sources.alertmanager.token); default $KLAXON_FIRE_TOKEN")
	name := fs.String("alertname", "HighLatency", "the alert's `name`")
	service := fs.String("service", "checkout", "the service label")
	severity := fs.String("severity", "critical", "the severity label")
	summary := fs.String("summary", "", "summary annotation (default: made from the other flags)")
	resolve := fs.Bool("resolve", false, "send the alert as resolved")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *summary == "" {
		*summary = fmt.Sprintf("%s: p99 latency is 2.7s, above the 2s objective", *service)
	}
	labels := map[string]string{
		"alertname": *name, "service": *service, "severity": *severity,
		"instance": *service + "-1:9100", "job": *service,
	}
	// Within the hour, firing again is the same occurrence (a duplicate
	// klaxon ignores) and -resolve resolves it, as with a real Alertmanager.
	now := time.Now().UTC()
	startsAt := now.Truncate(time.Hour)
	status, endsAt := "firing", "0001-01-01T00:00:00Z"
	if *resolve {
		status, endsAt = "resolved", now.Format(time.RFC3339)
	}
	msg := map[string]any{
		"version": "4", "status": status, "receiver": "klaxon", "truncatedAlerts": 0,
		"groupKey":          fmt.Sprintf(`{}:{alertname=%q, service=%q}`, *name, *service),
		"groupLabels":       map[string]string{"alertname": *name, "service": *service},
		"commonLabels":      labels,
		"commonAnnotations": map[string]string{"summary": *summary},
		"externalURL":       "http://alertmanager.example:9093",
		"alerts": []map[string]any{{
			"status": status, "labels": labels,
			"annotations": map[string]string{
				"summary":     *summary,
				"description": "The 99th percentile of request latency has been above 2s for 5 minutes.",
				"runbook_url": "https://runbooks.example.com/" + *service + "/high-latency",
				"value":       "2.7s", "threshold": "2s",
			},
			"startsAt": startsAt.Format(time.RFC3339), "endsAt": endsAt,
			"generatorURL": "http://prometheus.example:9090/graph?g0.expr=histogram_quantile(0.99%2C+rate(http_request_duration_seconds_bucket%5B5m%5D))+%3E+2",
			"fingerprint":  alertmanager.Fingerprint(labels),
		}},
	}
	body, _ := json.Marshal(msg)
	hook := strings.TrimRight(*url, "/") + "/hooks/alertmanager"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return usageError{fmt.Sprintf("-url: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("could not reach klaxon at %s (is `klaxon serve` running?): %w", hook, err)
	}
	defer resp.Body.Close()
	var out struct {
		Error    string `json:"error"`
		Status   string `json:"status"`
		Incident string `json:"incident"`
		State    string `json:"state"`
		Created  bool   `json:"created"`
		Reopened bool   `json:"reopened"`
		Changed  bool   `json:"changed"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("%s answered %s: %s", hook, resp.Status, strings.TrimSpace(string(raw)))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%s answered 401: %s\nGive the Alertmanager hook's token (sources.alertmanager.token) with --token or $KLAXON_FIRE_TOKEN", hook, out.Error)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", hook, resp.Status, out.Error)
	}
	if out.Incident == "" {
		fmt.Fprintf(stdout, "klaxon had no incident for this alert: nothing to resolve\n")
		return nil
	}
	what := "updated"
	switch {
	case out.Created:
		what = "opened"
	case out.Reopened:
		what = "reopened"
	case !out.Changed:
		what = "unchanged (a duplicate)"
	}
	fmt.Fprintf(stdout, "%s %s, now %s\n", out.Incident, what, out.State)
	fmt.Fprintf(stdout, "see: klaxon show %s (or %s/api/v1/incidents/%s)\n", out.Incident, strings.TrimRight(*url, "/"), out.Incident)
	return nil
}
