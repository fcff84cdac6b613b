// Command klaxon is the incident bot: it serves webhooks and the API
// (serve), checks a config file (check-config), sends a sample alert (fire)
// and prints its version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var u usageError
		if !errors.As(err, &u) || u.msg != "" {
			fmt.Fprintln(os.Stderr, "klaxon:", err)
		}
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `klaxon — incident bot: alerts in, actionable chat cards out.

Usage:
  klaxon serve [-c FILE]          run the bot (no config: embedded store in ./data, 127.0.0.1:8080)
  klaxon check-config [-c FILE]   print every config error with its path; exit 1 on any
  klaxon fire [--url URL] [...]   send a sample Alertmanager alert to a running klaxon
  klaxon try-webhook NAME [FILE]  show the alert a generic webhook's mapping makes of a body (stdin without FILE)
  klaxon postmortem ID [-c FILE]  print an incident's blameless postmortem draft (Markdown)
  klaxon probe URL                exit 0 when URL answers 2xx within 3 s (a container health check)
  klaxon setup slack|mattermost   connect a chat platform: a Slack app manifest, or Mattermost's bot and /incident by API
  klaxon version                  print the version

The config file may also be named by $KLAXON_CONFIG. Run "klaxon COMMAND -h" for a command's flags.
`

// run is the whole program; main only adds signals and exit codes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "check-config":
		return checkConfig(rest, stdout, stderr)
	case "fire":
		return fire(ctx, rest, stdout, stderr)
	case "try-webhook":
		return tryWebhook(rest, os.Stdin, stdout, stderr)
	case "postmortem":
		return postmortem(ctx, rest, stdout, stderr)
	case "probe":
		return probe(ctx, rest, stderr)
	case "setup":
		return setup(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "klaxon", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// newFlags returns a FlagSet that reports to stderr and does not exit.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("klaxon "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{}
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("c", os.Getenv("KLAXON_CONFIG"), "config `file` (YAML); default $KLAXON_CONFIG, else built-in defaults")
}
