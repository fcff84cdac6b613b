package main

import (
	"errors"
	"fmt"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/adapters/grafana"
	"github.com/klaxonbot/klaxon/adapters/webhook"
	"github.com/klaxonbot/klaxon/bot"
)

// Compile-time check: the config's mapping converts to the adapter's.
var _ = webhook.Fields(bot.WebhookFields{})

// newSources returns the parser of every webhook klaxon serves, by source
// name: Alertmanager, Grafana and each generic webhook, whose mapping is
// compiled here so that a broken one fails check-config and serve with the
// path and line of what is wrong.
func newSources(cfg *bot.Config) (map[string]bot.Parser, error) {
	out := map[string]bot.Parser{alertmanager.Source: alertmanager.Parse, grafana.Source: grafana.Parse}
	var errs bot.ConfigErrors
	for i, w := range cfg.Sources.Webhook {
		path := fmt.Sprintf("sources.webhook[%d]", i)
		m, err := webhook.Compile(w.Name, webhook.Fields(w.Fields), webhook.Options{SeverityLabel: cfg.Incidents.Severity.Label})
		var fe webhook.FieldErrors
		switch {
		case errors.As(err, &fe):
			for _, e := range fe {
				errs = append(errs, cfg.ErrorAt(path+".fields."+e.Field, "%s", e.Msg))
			}
		case err != nil:
			errs = append(errs, cfg.ErrorAt(path+".name", "%v", err))
		default:
			out[m.Source()] = m.Parse
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
