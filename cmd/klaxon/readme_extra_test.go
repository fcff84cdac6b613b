package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEExtraSnippets checks the YAML blocks of the README-*.md files
// that branches leave for the lead to merge into README.md: each is a
// klaxon config that loads with the real loader, as README.md's are.
func TestREADMEExtraSnippets(t *testing.T) {
	files, _ := filepath.Glob("../../README-*.md")
	n := 0
	defer func() { t.Logf("%d YAML blocks checked in %d README-*.md files", n, len(files)) }()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) != "```yaml" {
				continue
			}
			start := i + 1
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				body = append(body, lines[i])
			}
			n++
			checkREADMEConfig(t, fmt.Sprintf("%s:%d", filepath.Base(f), start), strings.Join(body, "\n")+"\n")
		}
	}
}
