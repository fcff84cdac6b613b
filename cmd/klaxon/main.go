// Command klaxon is the incident bot: it serves webhooks, chat and the API
// (serve), checks a config file (check-config), sends a sample alert
// (fire), works on incidents from the terminal through a running klaxon
// (list, show, ack, resolve, note, declare, oncall, ...), and prints its
// version. Every verb has its usage with -h and `klaxon help VERB`.
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
	"slices"
	"strings"
	"syscall"

	"github.com/klaxonbot/klaxon/internal/suggest"
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

// errHelp says a verb printed its usage because it was asked to (exit 0).
var errHelp = errors.New("help shown")

// verb is one of klaxon's commands.
type verb struct {
	name    string
	args    string // what follows the name in its usage line
	summary string
	group   string
}

// Groups of verbs in the usage.
const (
	groupRun    = "Run klaxon"
	groupWork   = "Work on incidents, through a running klaxon (--url or $KLAXON_URL, --token or $KLAXON_TOKEN)"
	groupSetup  = "Set up"
	groupOthers = "Other"
)

var verbs = []verb{
	{"serve", "[-c FILE] [--listen ADDR] [--data-dir DIR]", "run klaxon (with no config: the embedded store in ./data, listening on 127.0.0.1:8080)", groupRun},
	{"fire", "[--url URL] [--token TOKEN] [--resolve]", "send a realistic Alertmanager alert to a running klaxon (a first try)", groupRun},
	{"list", "[--state open|triggered|acknowledged|resolved|all] [--limit N]", "incidents, newest first (the open ones by default)", groupWork},
	{"show", "ID", "one incident: state, people, alerts, the end of its timeline", groupWork},
	{"ack", "ID", "acknowledge: you are on it (escalation stops)", groupWork},
	{"unack", "ID", "take back an acknowledgement (escalation resumes)", groupWork},
	{"resolve", "ID [--summary TEXT]", "resolve, saying what happened", groupWork},
	{"reopen", "ID", "reopen a resolved incident", groupWork},
	{"escalate", "ID", "run the next escalation step now", groupWork},
	{"snooze", "ID DURATION", "pause escalation (30m, 2h, 1d)", groupWork},
	{"silence", "ID DURATION [LABEL=VALUE...]", "silence the incident's alerts at their source, Alertmanager or Grafana (1h, 4h, 24h)", groupWork},
	{"unsilence", "ID [SILENCE-ID]", "expire the silences klaxon made for the incident", groupWork},
	{"silences", "[TEAM]", "the active silences klaxon made (of one team)", groupWork},
	{"sev", "ID 1-4", "set the severity (1 is worst)", groupWork},
	{"lead", "ID PERSON", "name the incident commander", groupWork},
	{"note", "ID TEXT [--kind factor|action|went-well|went-wrong|lucky]", "add a note to the timeline (and the postmortem)", groupWork},
	{"feedback", "ID yes|no [WHY]", "say whether an incident was worth acting on (the noise report counts it)", groupWork},
	{"declare", "TITLE [--sev N] [--team TEAM] [--summary TEXT]", "open an incident by hand", groupWork},
	{"oncall", "[TEAM]", "who is on call now and next", groupWork},
	{"postmortem", "ID", "print an incident's blameless postmortem draft (Markdown)", groupWork},
	{"signin-link", "PERSON [-c FILE]", "print a one-time sign-in link to the web console for a person of people (15 minutes)", groupSetup},
	{"check-config", "-c FILE", "print every error of a config file with its path and line; exit 1 on any", groupSetup},
	{"setup", "slack|mattermost|telegram", "connect a chat platform: a Slack app manifest, Mattermost's bot and /incident by API, Telegram's steps", groupSetup},
	{"try-webhook", "NAME [FILE] [-c FILE]", "show the alert a generic webhook's mapping makes of a body (stdin without FILE)", groupSetup},
	{"completion", "bash|zsh|fish", "print a shell completion script", groupOthers},
	{"probe", "URL", "exit 0 when URL answers 2xx within 3 s (a container health check)", groupOthers},
	{"version", "", "print the version", groupOthers},
	{"help", "[VERB]", "print this, or a verb's usage and flags", groupOthers},
}

func findVerb(name string) *verb {
	for i := range verbs {
		if verbs[i].name == name {
			return &verbs[i]
		}
	}
	return nil
}

func verbNames() []string {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = v.name
	}
	return names
}

// usage is the general help.
func usage() string {
	var b strings.Builder
	b.WriteString("klaxon — incident bot: alerts in, actionable chat cards out.\n\nUsage: klaxon VERB [ARGS]\n")
	var group string
	for _, v := range verbs {
		if v.group != group {
			group = v.group
			fmt.Fprintf(&b, "\n%s:\n", group)
		}
		line := "  " + v.name
		if v.args != "" {
			line += " " + v.args
		}
		if len(line) > 44 {
			fmt.Fprintf(&b, "%s\n  %44s%s\n", line, "", v.summary)
		} else {
			fmt.Fprintf(&b, "%-46s%s\n", line, v.summary)
		}
	}
	b.WriteString("\nThe config file may also be named by $KLAXON_CONFIG. \"klaxon help VERB\" or \"klaxon VERB -h\" shows a verb's flags.\n")
	return b.String()
}

// run is the whole program; main only adds signals and exit codes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return usageError{"no verb given"}
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help", "-help":
		if len(rest) == 0 || name != "help" || wantsHelp(rest[:1]) {
			fmt.Fprint(stdout, usage())
			return nil
		}
		if findVerb(rest[0]) == nil || rest[0] == "help" {
			fmt.Fprint(stdout, usage())
			if rest[0] == "help" {
				return nil
			}
			return usageError{fmt.Sprintf("unknown verb %q%s", rest[0], suggest.Hint(rest[0], verbNames()))}
		}
		name, rest = rest[0], []string{"-h"}
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "klaxon", versionString())
		return nil
	}
	if findVerb(name) == nil {
		return usageError{fmt.Sprintf("unknown verb %q%s; \"klaxon help\" lists them", name, suggest.Hint(name, verbNames()))}
	}
	// Asked for help: the verb prints its usage to stdout, and exits 0.
	if wantsHelp(rest) {
		stderr = stdout
	}
	err := dispatch(ctx, name, rest, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	switch name {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "check-config":
		return checkConfig(args, stdout, stderr)
	case "fire":
		return fire(ctx, args, stdout, stderr)
	case "try-webhook":
		return tryWebhook(args, os.Stdin, stdout, stderr)
	case "postmortem":
		return postmortem(ctx, args, stdout, stderr)
	case "signin-link":
		return signinLink(args, stdout, stderr)
	case "probe":
		return probe(ctx, args, stderr)
	case "completion":
		return completion(args, stdout, stderr)
	case "setup":
		return setup(ctx, args, stdout, stderr)
	}
	return clientVerb(ctx, name, args, stdout, stderr)
}

// wantsHelp reports whether args ask for help (-h anywhere before "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v // go install github.com/klaxonbot/klaxon/cmd/klaxon@v1.2.3
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		// go run, and builds with -buildvcs=false, record no revision.
		return "dev (built without version control information: go build or go install record it)"
	}
	v := "dev-" + rev[:min(12, len(rev))]
	if dirty {
		v += "-dirty"
	}
	if at != "" {
		v += " (" + at + ")"
	}
	return v
}

// newFlags returns a verb's FlagSet: it reports to stderr, does not exit,
// and its usage is the verb's usage line, summary and flags.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("klaxon "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		if v := findVerb(name); v != nil {
			fmt.Fprintf(out, "Usage: klaxon %s %s\n\n%s.\n", v.name, v.args, upperFirst(v.summary))
		} else {
			fmt.Fprintf(out, "Usage: klaxon %s\n", name)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(out, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseFlags parses args, turning flag errors into usage errors; it
// allows no positional argument.
func parseFlags(fs *flag.FlagSet, args []string) error {
	_, err := parseArgs(fs, args, 0, 0)
	return err
}

// parseArgs parses flags wherever they stand among the positional
// arguments (klaxon ack INC-1 --token T), and checks that there are
// between min and max of those (max < 0: any number). -h prints the
// verb's usage and returns errHelp.
func parseArgs(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos, tail []string
	if i := slices.Index(args, "--"); i >= 0 { // all after "--" is positional
		args, tail = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	pos = append(pos, tail...)
	switch {
	case len(pos) < min:
		fs.Usage()
		return nil, usageError{fmt.Sprintf("%s needs %d argument(s), got %d", strings.TrimPrefix(fs.Name(), "klaxon "), min, len(pos))}
	case max >= 0 && len(pos) > max:
		fs.Usage()
		return nil, usageError{fmt.Sprintf("unexpected argument %q", pos[max])}
	}
	return pos, nil
}

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("c", os.Getenv("KLAXON_CONFIG"), "config `file` (YAML); default $KLAXON_CONFIG, else built-in defaults")
}
