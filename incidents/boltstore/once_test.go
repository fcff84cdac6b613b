package boltstore_test

import (
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/boltstore"
)

// A spent key survives a restart (a weekly report posted before a crash is
// not posted again after it); a held one lapses with its hold.
func TestOnceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if st, err := s.ClaimOnce(ctx, "report:payments:2026-W10", time.Minute); err != nil || st != incidents.OnceNew {
		t.Fatalf("claim: %v %v", st, err)
	}
	if err := s.SpendOnce(ctx, "report:payments:2026-W10", 8*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if st, err := s.ClaimOnce(ctx, "held", time.Minute); err != nil || st != incidents.OnceNew {
		t.Fatalf("claim: %v %v", st, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.ClaimOnce(ctx, "report:payments:2026-W10", time.Minute); err != nil || st != incidents.OnceSpent {
		t.Fatalf("after a restart: %v %v; want spent", st, err)
	}
	if st, err := s.ClaimOnce(ctx, "held", time.Minute); err != nil || st != incidents.OnceBusy {
		t.Fatalf("a held key after a restart: %v %v; want busy until its hold ends", st, err)
	}
}
