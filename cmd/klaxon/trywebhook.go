package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// tryWebhook runs a generic webhook's mapping over a sample body and
// prints the alert it makes, storing nothing: for writing a mapping.
//
//	klaxon try-webhook uptime-kuma payload.json -c klaxon.yaml
func tryWebhook(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("try-webhook", stderr)
	path := configFlag(fs)
	pos, err := parseArgs(fs, args, 1, 2) // NAME and FILE may come before or after the flags
	if err != nil {
		return err
	}
	cfg, err := bot.LoadConfig(*path, nil)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	sources, err := newSources(cfg)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	parse := sources[bot.WebhookSourcePrefix+pos[0]]
	if parse == nil {
		var names []string
		for _, w := range cfg.Sources.Webhook {
			names = append(names, w.Name)
		}
		return fmt.Errorf("config %s has no sources.webhook named %q (it has: %s)", *path, pos[0], strings.Join(names, ", "))
	}
	var body []byte
	if len(pos) == 2 && pos[1] != "-" {
		body, err = os.ReadFile(pos[1])
	} else {
		body, err = io.ReadAll(io.LimitReader(stdin, cfg.Server.MaxBodyBytes+1))
	}
	if err != nil {
		return err
	}
	if int64(len(body)) > cfg.Server.MaxBodyBytes {
		return fmt.Errorf("the body is larger than server.max_body_bytes (%d): klaxon would answer 413", cfg.Server.MaxBodyBytes)
	}
	b, err := parse(body)
	if err != nil {
		return fmt.Errorf("klaxon would answer 400: %s", incidents.ErrorMessage(err))
	}
	out := map[string]any{"source": bot.WebhookSourcePrefix + pos[0]}
	if b == nil {
		out["status"] = "ignored"
	} else {
		a := b.Alerts[0]
		annotations := map[string]string{}
		for k, v := range a.Annotations {
			if k != incidents.AnnotationParseWarnings {
				annotations[k] = v
			}
		}
		out["status"] = a.Status
		out["title"] = b.Title
		out["group_key"] = b.GroupKey
		out["fingerprint"] = a.Fingerprint
		out["severity"] = cfg.Incidents.Severity.Of(a.Labels).String()
		out["labels"] = a.Labels
		out["annotations"] = annotations
		if !a.StartsAt.IsZero() {
			out["starts_at"] = a.StartsAt
		}
		if a.GeneratorURL != "" {
			out["graph_url"] = a.GeneratorURL
		}
		if b.ExternalURL != "" {
			out["source_url"] = b.ExternalURL
		}
		if w := a.Annotations[incidents.AnnotationParseWarnings]; w != "" {
			out["warnings"] = w
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
