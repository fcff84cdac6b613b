package bot_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// callNow is a policy that calls whoever is on call at once.
func callNow(c *bot.Config) {
	c.Policies = []bot.PolicyConfig{{Name: "default", Steps: []bot.StepConfig{{Call: "oncall"}}}}
}

// callStep is the timeline line of inc's call step, "" until it ran.
func (e *escEnv) callStep(id string) string {
	for _, ev := range e.events(id, incidents.EventEscalated) {
		if strings.Contains(ev, "call") || strings.Contains(ev, "Call") {
			return ev
		}
	}
	return ""
}

func (e *escEnv) throttledCalls() int {
	e.t.Helper()
	body := e.do("GET", "/metrics", "").body
	g := regexp.MustCompile(`klaxon_pages_throttled_total\{method="call"\} (\d+)`).FindStringSubmatch(body)
	if g == nil {
		return 0
	}
	n, _ := strconv.Atoi(g[1])
	return n
}

func callsTo(calls []phoneCall) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		n[c.to]++
	}
	return n
}

// A storm of incidents whose policy calls whoever is on call places at
// most the call throttle's count of calls to each person in its window:
// alice's are held back and roll over to bob (next in the rotation),
// whose are then held back too; each held-back call is on its timeline
// and counted.
func TestCallStepThrottleStorm(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newEscEnv(t, store(t), callNow)
		const n = 20
		var ids []string
		for i := range n {
			ids = append(ids, e.openAt(fmt.Sprintf("storm%d", i)).ID)
		}
		waitFor(t, 20*time.Second, "every call step", func() bool {
			for _, id := range ids {
				if e.callStep(id) == "" {
					return false
				}
			}
			return true
		})
		by := callsTo(e.phone.list())
		if by["+15551230001"] != 3 || by["+15551230002"] != 3 || len(e.phone.list()) != 6 {
			t.Fatalf("calls by number %v, want 3 to alice and 3 to bob (the throttle: 3 in 15m)", by)
		}
		held, rolled, heldBoth := 0, 0, 0
		for _, id := range ids {
			line := e.callStep(id)
			switch {
			case line == "Escalation: calling alice":
			case strings.HasPrefix(line, "Call to alice held back by the throttle (3 in 15m); calling bob (next in the rotation)"):
				held++
				rolled++
			case line == "Call to alice held back by the throttle (3 in 15m); call to bob held back by the throttle (3 in 15m) (next in the rotation)":
				held += 2
				heldBoth++
			default:
				t.Fatalf("%s: call step %q", id, line)
			}
		}
		if rolled != 3 || heldBoth != n-6 {
			t.Fatalf("%d rolled over to bob, %d held back for both; want 3 and %d", rolled, heldBoth, n-6)
		}
		if got := e.throttledCalls(); got != held {
			t.Fatalf("klaxon_pages_throttled_total{method=\"call\"} = %d, want %d", got, held)
		}
		// The window slides: 15 minutes on, alice is called again.
		e.clock.Add(15 * time.Minute)
		id := e.openAt("later").ID
		waitFor(t, 10*time.Second, "the later call step", func() bool { return e.callStep(id) != "" })
		if line := e.callStep(id); line != "Escalation: calling alice" {
			t.Fatalf("after the window: %q", line)
		}
	})
}

// A call that fails gives its place in the window back: two failed calls
// to alice leave room for three placed ones.
func TestCallStepThrottleFailedCall(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		e := newEscEnv(t, store(t), callNow)
		e.phone.mu.Lock()
		e.phone.fail = map[string]int{"+15551230001": 2}
		e.phone.mu.Unlock()
		var lines []string
		for i := range 6 {
			// One at a time: which calls fail is then known.
			id := e.openAt(fmt.Sprintf("g%d", i)).ID
			waitFor(t, 10*time.Second, "the call step", func() bool { return e.callStep(id) != "" })
			lines = append(lines, e.callStep(id))
		}
		for i, want := range []string{"Escalation: calling alice failed (twilio: 500 internal error)", "Escalation: calling alice failed (twilio: 500 internal error)",
			"Escalation: calling alice", "Escalation: calling alice", "Escalation: calling alice",
			"Call to alice held back by the throttle (3 in 15m); calling bob (next in the rotation)"} {
			if lines[i] != want {
				t.Fatalf("call step %d: %q, want %q (all: %q)", i, lines[i], want, lines)
			}
		}
		if by := callsTo(e.phone.list()); by["+15551230001"] != 3 || by["+15551230002"] != 1 {
			t.Fatalf("calls by number %v", by)
		}
		if got := e.throttledCalls(); got != 1 {
			t.Fatalf("throttled calls %d, want 1", got)
		}
	})
}

// A call step's calls count in the window the page step's calls use (the
// store's key "alice/call"): two calls there already leave room for one.
func TestCallStepThrottleSharesPageWindow(t *testing.T) {
	eachStore(t, func(t *testing.T, store func(testing.TB) incidents.Store) {
		st := store(t)
		e := newEscEnv(t, st, callNow)
		limit := incidents.Limit{Count: 3, Per: 15 * time.Minute}
		for _, id := range []string{"INC-900", "INC-901"} {
			if r, err := st.(incidents.Throttles).Throttle(t.Context(), "alice/call", id, t0, limit); err != nil || !r.Admitted {
				t.Fatalf("page step's call %s: %+v %v", id, r, err)
			}
		}
		var lines []string
		for i := range 2 {
			id := e.openAt(fmt.Sprintf("g%d", i)).ID
			waitFor(t, 10*time.Second, "the call step", func() bool { return e.callStep(id) != "" })
			lines = append(lines, e.callStep(id))
		}
		if lines[0] != "Escalation: calling alice" || !strings.HasPrefix(lines[1], "Call to alice held back by the throttle (3 in 15m)") {
			t.Fatalf("call steps %q", lines)
		}
	})
}
