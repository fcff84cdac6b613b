// Package slowtest is the switch for klaxon's slow tests: end-to-end runs
// against real peers, storms, the attack suite. They run in CI (CI=true)
// and wherever KLAXON_SLOW_TESTS=1 is set; elsewhere they skip, saying
// how to run them, so that `go test ./...` stays quick on a laptop.
package slowtest

import (
	"os"
	"testing"
)

// Enabled reports whether slow tests run here.
func Enabled() bool {
	return os.Getenv("KLAXON_SLOW_TESTS") == "1" || os.Getenv("CI") == "true"
}

// Need skips t unless slow tests run here.
func Need(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("slow test: set KLAXON_SLOW_TESTS=1 to run it (CI=true runs it)")
	}
}
