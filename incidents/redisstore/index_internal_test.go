package redisstore

import (
	"testing"

	"github.com/klaxonbot/klaxon/incidents"
)

// A team's name never makes the key of another team's set: "ops" in
// state triggered and the team "ops:triggered" are two sets (List would
// still drop the other team's incidents, but after reading them).
func TestTeamKeysDoNotCollide(t *testing.T) {
	s := &Store{kTeam: "{klaxon}:idx:team:"}
	seen := map[string]string{}
	for _, team := range []string{"ops", "ops:triggered", "ops:all", "a b", "a+b", "{x}", "ünï"} {
		for _, st := range append([]incidents.State{""}, incidents.States...) {
			k := s.teamKey(teamName(team), st)
			if other, ok := seen[k]; ok {
				t.Fatalf("team %q state %q and %s share the key %s", team, st, other, k)
			}
			seen[k] = team + "/" + string(st)
		}
	}
}
