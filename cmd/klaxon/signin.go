package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/internal/suggest"
)

// signinLink prints a one-time console sign-in link for a person: the way
// in for the first person, and for people without chat. It needs only the
// config (its secret and public URL): the link is checked by its signature
// and used once, so no running klaxon is asked.
func signinLink(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("signin-link", stderr)
	path := configFlag(fs)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cfg, err := bot.LoadConfig(*path, nil)
	if err != nil {
		return fmt.Errorf("config %s:\n%w", *path, err)
	}
	who := strings.TrimPrefix(strings.TrimSpace(pos[0]), "@")
	name := ""
	var names []string
	for _, p := range cfg.People {
		names = append(names, p.Name)
		if strings.EqualFold(p.Name, who) {
			name = p.Name
		}
	}
	if name == "" {
		if len(names) == 0 {
			return usageError{fmt.Sprintf("%q is not in people: the config names nobody (add people: [{name: %s, ...}])", who, who)}
		}
		return usageError{fmt.Sprintf("%q is not in people%s", who, suggest.Hint(who, names))}
	}
	secret, err := consoleSecret(cfg)
	if err != nil {
		return err
	}
	base := cfg.Server.PublicURL
	if base == "" {
		base = "http://" + cfg.Server.Listen
		fmt.Fprintf(stderr, "server.public_url is not set: the link uses server.listen (%s)\n", cfg.Server.Listen)
	}
	fmt.Fprintln(stdout, console.SignInLink(secret, base, name, time.Now()))
	fmt.Fprintf(stderr, "The link signs %s in once, within %s; do not share it.\n", name, console.LinkTTL)
	return nil
}

// consoleSecret is the key that signs sign-in links (bot.Config.ConsoleSecret);
// with nothing in the config to derive it from, the embedded store's
// klaxon (one process) keeps a random one in <data_dir>/console.secret.
func consoleSecret(cfg *bot.Config) ([]byte, error) {
	secret, err := cfg.ConsoleSecret()
	if !errors.Is(err, bot.ErrNoConsoleSecret) || cfg.Store.Redis != nil {
		return secret, err
	}
	return secretFile(filepath.Join(cfg.Store.DataDir, "console.secret"))
}

// secretFile reads the random secret kept at path, making it the first
// time (readable by klaxon's user only).
func secretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("console secret: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("console secret: %w", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it meanwhile.
		if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
			return b, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("console secret: %w", err)
	}
	if _, err := f.Write(secret); err != nil {
		f.Close()
		return nil, fmt.Errorf("console secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("console secret: %w", err)
	}
	return secret, nil
}
