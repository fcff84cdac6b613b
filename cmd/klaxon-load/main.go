// Command klaxon-load sends Alertmanager webhooks to a running klaxon at a
// fixed rate (or as fast as it can) for a bounded time, and reports the
// throughput klaxon kept and the latency of its answers.
//
//	klaxon-load -rate 1000 -duration 10s              # 1,000 new incidents/s
//	klaxon-load -rate 0 -mode join -alerts 100        # as fast as possible
//
// Pacing is open-loop: request i is due at start + i/rate whatever happened
// to the earlier ones, and its latency runs from that due time, so a slow
// answer that delays later requests (coordinated omission) shows up in the
// percentiles instead of hiding. It talks only to loopback addresses unless
// given -allow-remote.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A first ^C stops sending and drains; a second one kills.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var u usageError
		if !errors.As(err, &u) || u.msg != "" {
			fmt.Fprintln(os.Stderr, "klaxon-load:", err)
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

// config is the parsed command line.
type config struct {
	url         string // the hook's URL
	token       string
	rate        float64 // alerts/s; 0 = as fast as possible
	duration    time.Duration
	concurrency int
	alerts      int
	mode        string
	groups      int
	runID       string
	timeout     time.Duration
	maxPayloads int64
	allowRemote bool
	allowErrors bool
	json        bool
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("klaxon-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: klaxon-load [flags]\n\n"+
			"Sends Alertmanager webhooks to a running klaxon for -duration and reports\n"+
			"throughput and latency. Exit code 1 if any request failed (unless -allow-errors).\n\n")
		fs.PrintDefaults()
	}
	c := &config{}
	base := fs.String("url", "http://127.0.0.1:8080", "klaxon's base `URL` (the load goes to URL/hooks/alertmanager)")
	fs.StringVar(&c.token, "token", "", "bearer `token` (sources.alertmanager.token); default $KLAXON_LOAD_TOKEN")
	fs.Float64Var(&c.rate, "rate", 0, "target `alerts/s`, paced open-loop; 0 = as fast as -concurrency allows")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send; in-flight requests then get up to -timeout to finish")
	fs.IntVar(&c.concurrency, "concurrency", 32, "most requests in flight (and connections)")
	fs.IntVar(&c.alerts, "alerts", 1, "alerts per payload")
	fs.StringVar(&c.mode, "mode", "new", "`mode`: new (each payload a new group: a new incident), join (new alerts\n"+
		"into one of -groups open incidents) or repeat (one of -groups groups' identical\n"+
		"notification again: a duplicate). join and repeat first open the groups, unmeasured")
	fs.IntVar(&c.groups, "groups", 1000, "`number` of groups (incidents) modes join and repeat spread payloads over")
	fs.StringVar(&c.runID, "run-id", "", "`id` put in group keys and fingerprints so that runs do not collide (default random)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Int64Var(&c.maxPayloads, "max-payloads", 1_000_000, "stop after this many payloads even before -duration (0 = no limit)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a target that is not a loopback address (never point load at shared systems)")
	fs.BoolVar(&c.allowErrors, "allow-errors", false, "exit 0 even if some requests failed")
	fs.BoolVar(&c.json, "json", false, "print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, usageError{}
		}
		return nil, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if c.token == "" {
		c.token = os.Getenv("KLAXON_LOAD_TOKEN") // not a flag default: -h would print it
	}
	switch {
	case c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0):
		return nil, usageError{"-rate must be 0 (as fast as possible) or a positive number of alerts/s"}
	case c.duration <= 0:
		return nil, usageError{"-duration must be positive"}
	case c.concurrency < 1 || c.concurrency > 10000:
		return nil, usageError{"-concurrency must be between 1 and 10000"}
	case c.alerts < 1 || c.alerts > 100000:
		return nil, usageError{"-alerts must be between 1 and 100000"}
	case c.mode != "new" && c.mode != "join" && c.mode != "repeat":
		return nil, usageError{fmt.Sprintf("-mode %q: want new, join or repeat", c.mode)}
	case c.groups < 1 || c.groups > 1_000_000:
		return nil, usageError{"-groups must be between 1 and 1000000"}
	case c.timeout <= 0:
		return nil, usageError{"-timeout must be positive"}
	case c.maxPayloads < 0:
		return nil, usageError{"-max-payloads must be 0 (no limit) or positive"}
	}
	if c.runID == "" {
		c.runID = randomID()
	} else if !runIDPattern.MatchString(c.runID) {
		return nil, usageError{fmt.Sprintf("-run-id %q: use 1 to 40 of A-Z a-z 0-9 _ . -", c.runID)}
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Sprintf("-url %q: want http(s)://host:port", *base)}
	}
	if !c.allowRemote && !loopbackHost(u.Hostname()) {
		return nil, usageError{fmt.Sprintf("-url %s: refusing to send load to %q, which is not a loopback address "+
			"(127.0.0.0/8, ::1, localhost); pass -allow-remote only for a system you own and may load", *base, u.Hostname())}
	}
	c.url = strings.TrimRight(*base, "/") + "/hooks/alertmanager"
	return c, nil
}

// loopbackHost reports whether host names this machine's loopback: a
// loopback IP or localhost. (The dialer checks the address it resolves too.)
func loopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// randomID is a short id for -run-id: 8 characters of base 36.
func randomID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [8]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b[:])
}

// run is the whole program; main only adds signals and exit codes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	s, err := newLoad(c, stderr).run(ctx)
	if err != nil {
		return err
	}
	if c.json {
		if err := s.writeJSON(stdout); err != nil {
			return err
		}
	} else {
		s.writeText(stdout)
	}
	if s.Failed > 0 && !c.allowErrors {
		return fmt.Errorf("%d of %d requests failed (pass -allow-errors to exit 0 anyway)", s.Failed, s.Sent)
	}
	return nil
}
