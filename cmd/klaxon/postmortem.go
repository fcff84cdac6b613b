package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// postmortem prints an incident's postmortem draft: from the running
// klaxon's API, or, when none answers, from the store itself.
func postmortem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("postmortem", stderr)
	path := configFlag(fs)
	url := fs.String("url", "", "a running klaxon's base `URL` (default: from the config's server.listen)")
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{}
		}
		return usageError{err.Error()}
	}
	switch {
	case id == "" && fs.NArg() == 1:
		id = fs.Arg(0)
	case id == "" || fs.NArg() > 0:
		return usageError{"usage: klaxon postmortem INC-42 [-c FILE] [--url URL]"}
	}
	id, _, err := incidents.ParseID(id)
	if err != nil {
		return usageError{incidents.ErrorMessage(err)}
	}
	cfg, err := bot.LoadConfig(*path, nil)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	base := *url
	if base == "" {
		host, port, _ := net.SplitHostPort(cfg.Server.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	md, err := postmortemFromAPI(ctx, strings.TrimRight(base, "/"), id, cfg.Server.APIToken.Reveal())
	if err == nil {
		_, err = io.WriteString(stdout, md)
		return err
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	// No klaxon answers there: read the store directly.
	tmpl, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates_dir %s: %w", cfg.TemplatesDir, err)
	}
	store, closeStore, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer closeStore()
	inc, err := store.Get(ctx, id)
	if err != nil {
		return errors.New(incidents.ErrorMessage(err))
	}
	md, err = tmpl.Postmortem(inc, time.Now())
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, md)
	return err
}

func postmortemFromAPI(ctx context.Context, base, id, token string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/incidents/"+id+"/postmortem.md", nil)
	if err != nil {
		return "", usageError{fmt.Sprintf("--url %q: %v", base, err)}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s: %s", base, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
