package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
	"github.com/klaxonbot/klaxon/templates"
)

// postmortem prints an incident's postmortem draft: from the running
// klaxon's API, or, when none answers and -c names a config, from the
// store itself (read only: it creates nothing).
func postmortem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("postmortem", stderr)
	opts := addClientFlags(fs)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	id, _, err := incidents.ParseID(pos[0])
	if err != nil {
		return usageError{incidents.ErrorMessage(err)}
	}
	c, err := opts.client(stdout)
	if err != nil {
		return err
	}
	var md json.RawMessage // the Markdown, as it came
	err = c.do(ctx, "GET", "/api/v1/incidents/"+id+"/postmortem.md", nil, &md)
	var down *unreachableError
	switch {
	case err == nil:
		_, err = stdout.Write(md)
		return err
	case !errors.As(err, &down) || *opts.config == "":
		return err
	}
	// No klaxon answers there: read the store directly.
	cfg, err := bot.LoadConfig(*opts.config, nil)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *opts.config, err)
	}
	tmpl, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates_dir %s: %w", cfg.TemplatesDir, err)
	}
	var store incidents.Store
	if cfg.Store.Redis == nil {
		s, err := boltstore.OpenReadOnly(cfg.Store.DataDir)
		if err != nil {
			return fmt.Errorf("%v, and %s", down, incidents.ErrorMessage(err))
		}
		defer s.Close()
		store = s
	} else {
		s, closeStore, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			return err
		}
		defer closeStore()
		store = s
	}
	if pm, ok := store.(incidents.Postmortems); ok {
		// The team's saved text, as the API hands out.
		v, err := pm.Postmortem(ctx, id, 0)
		if err == nil {
			_, err = io.WriteString(stdout, v.Text)
			return err
		}
		if incidents.ErrorKind(err) != incidents.NotFound {
			return errors.New(incidents.ErrorMessage(err))
		}
	}
	inc, err := store.Get(ctx, id)
	if err != nil {
		return errors.New(incidents.ErrorMessage(err))
	}
	text, err := tmpl.Postmortem(inc, time.Now())
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, text)
	return err
}
