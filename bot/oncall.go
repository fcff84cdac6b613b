package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
)

// schedule returns the named schedule with its stored overrides, as of
// now; nil when there is no such schedule.
func (s *Server) schedule(ctx context.Context, name string, now time.Time) (*oncall.Schedule, error) {
	configured := s.schedules[name]
	if configured == nil {
		return nil, nil
	}
	base := &oncall.Schedule{Name: configured.Name, Layers: configured.Layers}
	if ov, ok := s.store.(incidents.Overrides); ok {
		list, err := ov.Overrides(ctx, name, now)
		if err != nil {
			return nil, err
		}
		for _, o := range list {
			base.Overrides = append(base.Overrides, oncall.Override{Person: o.Person, From: o.From, Until: o.Until, SetBy: o.SetBy, SetAt: o.SetAt})
		}
	}
	return base, nil
}

// oncallHere is /incident oncall [team] and /incident oncall override.
func (s *Server) oncallHere(ctx context.Context, r chatops.Request, actor string, known bool, c Command) (chatops.Reply, error) {
	team := s.teamOf(r, c.Team)
	t, ok := s.teams[team]
	if !ok {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "there is no team %q (teams: %s)", clip(team, 40), strings.Join(s.teamNames(), ", "))
	}
	if t.Schedule == "" {
		return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "team %s has no on-call schedule (teams[].schedule)", t.Name)
	}
	if c.Cover != nil {
		return s.askCover(ctx, r, actor, known, c, t)
	}
	now := s.clock.Now()
	if c.Override {
		if err := s.mayChange(&incidents.Incident{Team: t.Name, ID: "the " + t.Name + " schedule"}, actor, known); err != nil {
			return chatops.Reply{}, err
		}
		person := s.people.mention(r.Platform, c.Person)
		if _, ok := s.people.byName[strings.ToLower(person)]; !ok {
			return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "%s is not in people: klaxon could not call or message them", clip(person, 40))
		}
		if c.Duration < time.Minute || c.Duration > 14*24*time.Hour {
			return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "override for 1m to 14d, e.g. 4h")
		}
		ov, ok := s.store.(incidents.Overrides)
		if !ok {
			return chatops.Reply{}, incidents.Errorf(incidents.Internal, "this store keeps no overrides")
		}
		o := incidents.OnCallOverride{Schedule: t.Schedule, Person: person, From: now, Until: now.Add(c.Duration), SetBy: actor, SetAt: now}
		if err := ov.AddOverride(ctx, o); err != nil {
			return chatops.Reply{}, err
		}
		s.log.Info("on-call override", "schedule", t.Schedule, "person", person, "until", o.Until, "by", actor)
		return chatops.Reply{Text: fmt.Sprintf("%s is on call for %s until %s (override set by %s).", person, t.Name, o.Until.UTC().Format("Mon 15:04 UTC"), actor)}, nil
	}
	sc, err := s.schedule(ctx, t.Schedule, now)
	if err != nil {
		return chatops.Reply{}, err
	}
	lines := []string{}
	if who, until, ok := sc.OnCall(now); ok {
		lines = append(lines, fmt.Sprintf("On call for %s now: %s, until %s.", t.Name, who, until.UTC().Format("Mon 15:04 UTC")))
	} else {
		lines = append(lines, fmt.Sprintf("Nobody is on call for %s now.", t.Name))
	}
	if next, from, ok := sc.Next(now); ok {
		lines = append(lines, fmt.Sprintf("Next: %s, from %s.", next, from.UTC().Format("Mon 15:04 UTC")))
	}
	for _, o := range sc.Overrides {
		lines = append(lines, fmt.Sprintf("Override: %s until %s (set by %s at %s).", o.Person, o.Until.UTC().Format("Mon 15:04 UTC"), o.SetBy, o.SetAt.UTC().Format("Mon 15:04 UTC")))
	}
	return ephemeral(strings.Join(lines, "\n")), nil
}
