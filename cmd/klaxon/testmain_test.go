package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the tests, and the klaxon processes they start, a config
// directory of their own: serve keeps its local token there
// (internal/localtrust), never in the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "klaxon-test-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
