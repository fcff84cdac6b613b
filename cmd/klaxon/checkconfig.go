package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/templates"
)

// checkConfig makes every check of a config that serve makes before it
// listens — the YAML and its keys, bot's validation, the templates, each
// chat platform's and Twilio's client, the generic webhooks' mappings —
// and prints every error of every one at once, sorted by line, as
// "FILE: path (line N): message"; then a note for each webhook that takes
// requests without credentials or answers 401 to everyone; and returns the
// count. Only a file that is not YAML stops the checks, and says so.
func checkConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return usageError{"check-config needs -c FILE (or $KLAXON_CONFIG)"}
	}
	cfg, errs, err := bot.ReadConfig(*path, nil)
	if err != nil {
		return err
	}
	if cfg != nil {
		errs = append(errs, laterChecks(cfg, errs)...)
		bot.SortConfigErrors(errs)
	}
	for _, e := range errs {
		fmt.Fprintf(stdout, "%s: %s\n", *path, e.Error())
	}
	if cfg != nil {
		for _, n := range cfg.Notes() {
			if !errs.About(n.Path) {
				n.Msg = "note: " + n.Msg
				fmt.Fprintf(stdout, "%s: %s\n", *path, n.Error())
			}
		}
	}
	switch {
	case len(errs) == 0:
		fmt.Fprintf(stdout, "%s: ok\n", *path)
		return nil
	case cfg == nil:
		return fmt.Errorf("%s: %s (nothing else is checked until the file parses as YAML)", *path, countErrors(len(errs)))
	}
	return fmt.Errorf("%s: %s", *path, countErrors(len(errs)))
}

func countErrors(n int) string {
	if n == 1 {
		return "1 error"
	}
	return fmt.Sprintf("%d errors", n)
}

// laterChecks makes the checks serve makes after loading the config, on
// what decoded, whatever the earlier errors: each check runs, and what it
// finds at a path an earlier error is about is left out (it would only
// echo that error).
func laterChecks(cfg *bot.Config, earlier bot.ConfigErrors) bot.ConfigErrors {
	var found bot.ConfigErrors
	add := func(e bot.ConfigError) {
		if !earlier.About(e.Path) {
			found = append(found, e)
		}
	}
	// A broken user template must fail here, not at 3 a.m.
	if _, err := templates.Load(cfg.TemplatesDir); err != nil {
		add(cfg.ErrorAt("templates_dir", "%s: %v", cfg.TemplatesDir, err))
	}
	// Each platform on its own, so that one's error hides no other's.
	signer := bot.NewButtonSigner(cfg.ButtonKeySecret())
	for _, platform := range []string{bot.Slack, bot.Mattermost, bot.Telegram} {
		one := *cfg
		if platform != bot.Slack {
			one.Slack = nil
		}
		if platform != bot.Mattermost {
			one.Mattermost = nil
		}
		if platform != bot.Telegram {
			one.Telegram = nil
		}
		if _, err := newChats(&one, signer); err != nil {
			add(cfg.ErrorAt(platform, "%s", strings.TrimPrefix(err.Error(), platform+": ")))
		}
	}
	if _, _, err := newPhone(cfg); err != nil {
		add(cfg.ErrorAt("twilio", "%s", strings.TrimPrefix(err.Error(), "twilio: ")))
	}
	if _, err := newSilencers(cfg, nil); err != nil {
		var es bot.ConfigErrors
		if !errors.As(err, &es) {
			es = bot.ConfigErrors{cfg.ErrorAt("sources", "%v", err)}
		}
		for _, e := range es {
			add(e)
		}
	}
	if _, err := newPagers(cfg); err != nil {
		if path, msg, _ := strings.Cut(err.Error(), ": "); path != "twilio" { // newPhone said so
			add(cfg.ErrorAt(path, "%s", msg))
		}
	}
	if _, err := newSources(cfg); err != nil {
		var es bot.ConfigErrors
		if !errors.As(err, &es) {
			es = bot.ConfigErrors{cfg.ErrorAt("sources", "%v", err)}
		}
		for _, e := range es {
			add(e)
		}
	}
	_, dserrs := newDatasources(cfg)
	for _, e := range dserrs {
		add(e)
	}
	return found
}
