package main

import (
	"context"
	"sort"

	"github.com/klaxonbot/klaxon/adapters/alertmanager"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// silencer is bot's Silencer on the Alertmanager adapter's client: the
// matchers come from the adapter's MatchersFor.
type silencer struct{ c *alertmanager.SilenceClient }

var _ bot.Silencer = silencer{}

func (s silencer) Silence(ctx context.Context, r bot.SilenceRequest) (bot.SilenceInfo, error) {
	ms, err := alertmanager.MatchersFor(r.Alerts, r.Extra)
	if err != nil {
		return bot.SilenceInfo{}, err
	}
	sil := alertmanager.Silence{Matchers: ms, EndsAt: r.Ends, CreatedBy: r.CreatedBy, Comment: r.Comment}
	id, err := s.c.Create(ctx, sil)
	if err != nil {
		return bot.SilenceInfo{}, err
	}
	return bot.SilenceInfo{ID: id, Matchers: matcherText(ms), EndsAt: r.Ends, CreatedBy: r.CreatedBy, Comment: r.Comment}, nil
}

func (s silencer) Expire(ctx context.Context, id string) error {
	_, err := s.c.Expire(ctx, id)
	return err
}

func (s silencer) Silences(ctx context.Context) ([]bot.SilenceInfo, error) {
	l, err := s.c.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]bot.SilenceInfo, 0, len(l))
	for _, x := range l {
		out = append(out, bot.SilenceInfo{ID: x.ID, Matchers: matcherText(x.Matchers), StartsAt: x.StartsAt, EndsAt: x.EndsAt,
			CreatedBy: x.CreatedBy, Comment: x.Comment})
	}
	return out, nil
}

// matcherText writes matchers as amtool does: {alertname="X", instance="y"}.
func matcherText(ms []alertmanager.Matcher) string {
	s := "{"
	for i, m := range ms {
		if i > 0 {
			s += ", "
		}
		s += m.String()
	}
	return s + "}"
}

// newSilencers returns a Silencer for each source whose API the config
// gives (sources.alertmanager.api_url, sources.grafana.api_url): for
// Grafana, its built-in Alertmanager. Errors name the config path.
func newSilencers(cfg *bot.Config, clock incidents.Clock) (map[string]bot.Silencer, error) {
	apis := cfg.Sources.SilenceAPIs()
	names := make([]string, 0, len(apis))
	for name := range apis {
		names = append(names, name)
	}
	sort.Strings(names)
	out := map[string]bot.Silencer{}
	var errs bot.ConfigErrors
	for _, name := range names {
		api := apis[name]
		url := api.URL
		if name == "grafana" {
			url = alertmanager.GrafanaAlertmanagerURL(url)
		}
		c, err := alertmanager.NewSilenceClient(alertmanager.SilenceOptions{URL: url, Token: api.Token,
			Username: api.Username, Password: api.Password, Clock: clock})
		if err != nil {
			errs = append(errs, cfg.ErrorAt("sources."+name+".api_url", "%v", err))
			continue
		}
		out[name] = silencer{c}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
