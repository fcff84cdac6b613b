package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/charts"
	"github.com/klaxonbot/klaxon/incidents"
)

// newDatasources builds a client for each data source of graphs the
// config names; the errors name the data source's path in the config.
func newDatasources(cfg *bot.Config) (map[string]bot.Datasource, bot.ConfigErrors) {
	out := map[string]bot.Datasource{}
	var errs bot.ConfigErrors
	hc := &http.Client{}
	for i, d := range cfg.Datasources {
		o := promds.Options{Name: d.Name, URL: d.URL, Token: d.Token.Reveal(), HTTPClient: hc, Timeout: d.QueryTimeout()}
		if d.Basic != nil {
			o.Basic = &promds.BasicAuth{Username: d.Basic.Username, Password: d.Basic.Password.Reveal()}
		}
		c, err := promds.New(o)
		if err != nil {
			errs = append(errs, cfg.ErrorAt(fmt.Sprintf("datasources[%d]", i), "%s", incidents.ErrorMessage(err)))
			continue
		}
		out[d.Name] = promSource{c}
	}
	return out, errs
}

// promSource is a Prometheus data source as bot draws from it.
type promSource struct{ c *promds.Client }

func (p promSource) Expr(a incidents.Alert) (string, bool) {
	return promds.ExprFromGeneratorURL(a.GeneratorURL)
}

func (p promSource) Plot(ctx context.Context, expr string, start, end time.Time, max int) (*bot.Plot, error) {
	r, err := p.c.Plot(ctx, expr, start, end, max)
	if err != nil {
		return nil, err
	}
	return botPlot(r), nil
}

// botPlot turns the data source's plot into bot's.
func botPlot(r promds.Plot) *bot.Plot {
	out := &bot.Plot{Query: r.Query, Unit: charts.Unit(r.Unit), Step: r.Step, More: r.More, Warnings: r.Warnings}
	if r.Threshold != nil {
		out.Threshold = &charts.Threshold{Op: r.Threshold.Op, Value: r.Threshold.Value}
	}
	conv := func(s promds.Series, name string) bot.PlotSeries {
		ps := bot.PlotSeries{Name: name, Labels: s.Labels, Points: make([]charts.Point, len(s.Points))}
		for i, pt := range s.Points {
			ps.Points[i] = charts.Point{T: pt.T, V: pt.V}
		}
		return ps
	}
	for i, s := range r.Series {
		out.Series = append(out.Series, conv(s, r.Names[i]))
	}
	for i, s := range r.Previous {
		out.Previous = append(out.Previous, conv(s, r.PreviousNames[i]))
	}
	if r.PreviousErr != nil {
		out.PreviousError = incidents.ErrorMessage(r.PreviousErr)
	}
	return out
}
