package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/templates"
)

func checkConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return usageError{"check-config needs -c FILE (or $KLAXON_CONFIG)"}
	}
	cfg, err := bot.LoadConfig(*path, nil)
	if err != nil {
		var errs bot.ConfigErrors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintf(stdout, "%s: %s\n", *path, e.Error())
			}
			return fmt.Errorf("%s: %d error(s)", *path, len(errs))
		}
		return err
	}
	// A broken user template must fail here, not at 3 a.m.
	if _, err := templates.Load(cfg.TemplatesDir); err != nil {
		fmt.Fprintf(stdout, "%s: templates_dir %s: %v\n", *path, cfg.TemplatesDir, err)
		return fmt.Errorf("%s: 1 error(s)", *path)
	}
	if _, err := newChats(cfg, bot.NewButtonSigner(cfg.ButtonKeySecret())); err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", *path, err)
		return fmt.Errorf("%s: 1 error(s)", *path)
	}
	if _, _, err := newPhone(cfg); err != nil {
		fmt.Fprintf(stdout, "%s: twilio: %v\n", *path, err)
		return fmt.Errorf("%s: 1 error(s)", *path)
	}
	if _, err := newSources(cfg); err != nil {
		var errs bot.ConfigErrors
		errors.As(err, &errs)
		for _, e := range errs {
			fmt.Fprintf(stdout, "%s: %s\n", *path, e.Error())
		}
		return fmt.Errorf("%s: %d error(s)", *path, len(errs))
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return nil
}
