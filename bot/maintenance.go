package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/chatops"
	"github.com/klaxonbot/klaxon/incidents"
)

// MaintenanceConfig is a weekly maintenance window: while it holds, the
// incidents of Team (every team when empty) whose alerts carry every
// Match label open as usual but do not escalate until it ends.
type MaintenanceConfig struct {
	// Name names the window in chat, the console and timelines; default
	// "config-N" (N counting from 1 in the list).
	Name     string            `yaml:"name"`
	Team     string            `yaml:"team"`
	Match    map[string]string `yaml:"match"`
	Weekly   string            `yaml:"weekly"`   // "Sun 02:00-04:00", "Mon-Fri 22:00-06:00"
	Timezone string            `yaml:"timezone"` // IANA name; default UTC
	Reason   string            `yaml:"reason"`
}

// FlappingConfig says when an incident is flapping: its alerts resolved
// and fired again Count times within Within. Count 0 turns it off.
type FlappingConfig struct {
	Count  int      `yaml:"count"`  // default 4
	Within Duration `yaml:"within"` // default 30m
}

// Rule is the incidents.FlapRule of c.
func (c FlappingConfig) Rule() incidents.FlapRule {
	return incidents.FlapRule{Count: c.Count, Within: c.Within.D()}
}

const maxReason = 200

// weeklyWindow is a config window, compiled.
type weeklyWindow struct {
	cfg MaintenanceConfig
	id  string
	w   incidents.Weekly
}

// windowID is the ID of config window i.
func windowID(c MaintenanceConfig, i int) string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("config-%d", i+1)
}

func (v *configValidator) maintenance(c *Config) {
	f := c.Incidents.Flapping
	if f.Count < 0 || f.Count == 1 || f.Count > 1000 {
		v.errorf("incidents.flapping.count", "must be 0 (off) or between 2 and 1000, got %d", f.Count)
	}
	if f.Count > 0 && (f.Within <= 0 || f.Within.D() > 7*24*time.Hour) {
		v.errorf("incidents.flapping.within", "must be between 1s and 168h, got %s", f.Within)
	}
	teams := make([]string, 0, len(c.Teams))
	for _, t := range c.Teams {
		teams = append(teams, t.Name)
	}
	seen := map[string]bool{}
	for i, m := range c.Maintenance {
		p := fmt.Sprintf("maintenance[%d]", i)
		if m.Name != "" {
			v.uniqueName(p+".name", "maintenance window", m.Name, seen)
			if strings.HasPrefix(m.Name, "mw-") {
				v.errorf(p+".name", "names starting with mw- are for windows opened from chat, got %q", clipValue(m.Name))
			}
		} else {
			seen[windowID(m, i)] = true
		}
		if m.Team != "" && !slices.Contains(teams, m.Team) {
			v.unknownRef(p+".team", "team", "teams", m.Team, teams)
		}
		for _, k := range slices.Sorted(maps.Keys(m.Match)) {
			if strings.TrimSpace(k) == "" {
				v.errorf(p+".match", "a label name must not be empty")
			}
		}
		loc := time.UTC
		if m.Timezone != "" {
			l, err := time.LoadLocation(m.Timezone)
			if err != nil {
				v.errorf(p+".timezone", "unknown time zone %q (an IANA name such as Europe/Berlin)", clipValue(m.Timezone))
			} else {
				loc = l
			}
		}
		if m.Weekly == "" {
			v.errorf(p+".weekly", "must say when, such as \"Sun 02:00-04:00\"")
		} else if _, err := incidents.ParseWeekly(m.Weekly, loc); err != nil {
			v.errorf(p+".weekly", "%s", incidents.ErrorMessage(err))
		}
		if utf8.RuneCountInString(m.Reason) > maxReason {
			v.errorf(p+".reason", "must be at most %d characters", maxReason)
		}
		if m.Team == "" && len(m.Match) == 0 {
			v.errorf(p, "give team, match or both: a window for every alert of every team is too easy to leave on")
		}
	}
}

// compileWeekly compiles the config windows (validated already).
func compileWeekly(cfg *Config) []weeklyWindow {
	var out []weeklyWindow
	for i, m := range cfg.Maintenance {
		loc, err := time.LoadLocation(m.Timezone)
		if err != nil {
			loc = time.UTC
		}
		w, err := incidents.ParseWeekly(m.Weekly, loc)
		if err != nil {
			continue
		}
		out = append(out, weeklyWindow{cfg: m, id: windowID(m, i), w: w})
	}
	return out
}

// window is the config window's occurrence from start to end.
func (ww weeklyWindow) window(start, end time.Time) incidents.Maintenance {
	tz := ww.cfg.Timezone
	if tz == "" {
		tz = "UTC"
	}
	return incidents.Maintenance{ID: ww.id, Team: ww.cfg.Team, Match: maps.Clone(ww.cfg.Match), Start: start.UTC(), End: end.UTC(),
		Reason: ww.cfg.Reason, Weekly: ww.cfg.Weekly, Timezone: tz}
}

// activeWindows are the windows holding at now: the config windows'
// occurrences and the store's ad-hoc windows.
func (s *Server) activeWindows(ctx context.Context, now time.Time) ([]incidents.Maintenance, error) {
	var out []incidents.Maintenance
	for _, ww := range s.weekly {
		if start, end, ok := ww.w.Occurrence(now); ok {
			out = append(out, ww.window(start, end))
		}
	}
	if s.maint != nil {
		ws, err := s.maint.Maintenances(ctx, now)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if w.Active(now) {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// listWindows are the windows to show at now: the ad-hoc ones that have
// not ended, and each config window's current or next occurrence; for
// team, only the windows that can hold its incidents.
func (s *Server) listWindows(ctx context.Context, now time.Time, team string) ([]incidents.Maintenance, error) {
	var out []incidents.Maintenance
	for _, ww := range s.weekly {
		if start, end, ok := ww.w.Next(now); ok {
			out = append(out, ww.window(start, end))
		}
	}
	if s.maint != nil {
		ws, err := s.maint.Maintenances(ctx, now)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	if team != "" {
		out = slices.DeleteFunc(out, func(w incidents.Maintenance) bool { return w.Team != "" && w.Team != team })
	}
	incidents.SortMaintenances(out)
	return out, nil
}

// startFunc is IngestOptions.Start for an ingest at now: a new or
// reopened incident begins its team's policy, held until the end of a
// maintenance window covering it. If the windows cannot be read, the
// incident escalates (paging for planned work beats missing a page).
func (s *Server) startFunc(ctx context.Context, now time.Time) func(*incidents.Incident, time.Time) {
	if s.escalator == nil {
		return nil
	}
	ws, err := s.activeWindows(ctx, now)
	if err != nil {
		s.log.Warn("reading maintenance windows failed; new incidents escalate as usual", "err", err)
	}
	return func(inc *incidents.Incident, at time.Time) {
		s.escalator.start(inc, at)
		if w := incidents.Covering(ws, inc, at); w != nil {
			inc.HoldFor(w, at)
			s.metrics.maintenanceHeld.Inc()
		} else {
			inc.Maintenance = nil // an earlier window's, reopened after it
		}
	}
}

// releaseDue is the escalator's first move on a due incident held by a
// maintenance window: held longer if a window still covers it, else
// released (the timeline says so, once across replicas: the change is
// made only on an incident still held). held says the incident stays held.
func (s *Server) releaseDue(ctx context.Context, inc *incidents.Incident, now time.Time) (cur *incidents.Incident, held bool, err error) {
	ws, err := s.activeWindows(ctx, now)
	if err != nil {
		return nil, false, err
	}
	w := incidents.Covering(ws, inc, now)
	cur, err = s.store.Update(ctx, inc.ID, func(c *incidents.Incident) error {
		if c.Maintenance == nil {
			return nil
		}
		if w != nil {
			c.HoldFor(w, now)
			return nil
		}
		c.ReleaseHold(now, "ended")
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	s.changed(inc.ID)
	return cur, w != nil, nil
}

// newWindowID is "mw-" and 8 random hex digits.
func newWindowID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "mw-" + hex.EncodeToString(b[:])
}

// openMaintenance stores an ad-hoc window from now for d.
func (s *Server) openMaintenance(ctx context.Context, who, team string, match map[string]string, reason string, d time.Duration) (incidents.Maintenance, error) {
	if s.maint == nil {
		return incidents.Maintenance{}, incidents.Errorf(incidents.Invalid, "this klaxon's store keeps no maintenance windows")
	}
	if d < time.Minute || d > 7*24*time.Hour {
		return incidents.Maintenance{}, incidents.Errorf(incidents.Invalid, "a maintenance window lasts 1m to 7d, e.g. 2h")
	}
	if team != "" {
		if _, ok := s.teams[team]; !ok {
			return incidents.Maintenance{}, incidents.Errorf(incidents.Invalid, "no team %q", clip(team, 64))
		}
	}
	if team == "" && len(match) == 0 {
		return incidents.Maintenance{}, incidents.Errorf(incidents.Invalid, "say which team or labels the window is for (a window for everything is too easy to forget)")
	}
	now := s.clock.Now().UTC()
	m := incidents.Maintenance{ID: newWindowID(), Team: team, Match: match, Start: now, End: now.Add(d),
		Reason: clip(strings.TrimSpace(reason), maxReason), CreatedBy: who, CreatedAt: now}
	if err := s.maint.AddMaintenance(ctx, m); err != nil {
		return incidents.Maintenance{}, err
	}
	s.log.Info("maintenance window opened", "window", m.ID, "team", team, "until", m.End, "by", who)
	return m, nil
}

// endMaintenance ends an ad-hoc window now and starts the escalation of
// the incidents it held. A window from config cannot be ended early
// (change the config).
func (s *Server) endMaintenance(ctx context.Context, who, id string) (incidents.Maintenance, int, error) {
	if s.maint == nil {
		return incidents.Maintenance{}, 0, incidents.Errorf(incidents.Invalid, "this klaxon's store keeps no maintenance windows")
	}
	for _, ww := range s.weekly {
		if ww.id == id {
			return incidents.Maintenance{}, 0, incidents.Errorf(incidents.Conflict, "maintenance window %s comes from the config: change the config to end it", id)
		}
	}
	now := s.clock.Now().UTC()
	m, err := s.maint.EndMaintenance(ctx, id, who, now)
	if err != nil {
		return m, 0, err
	}
	released, err := s.releaseWindow(ctx, id, "ended early by "+orSomeone(who), now)
	s.log.Info("maintenance window ended early", "window", id, "by", who, "released", released)
	return m, released, err
}

func orSomeone(who string) string {
	if who == "" {
		return "someone"
	}
	return who
}

// releaseWindow starts the escalation of the triggered incidents window
// id holds. A replica that dies half-way leaves the rest held until the
// window's planned end, when the escalator releases them.
func (s *Server) releaseWindow(ctx context.Context, id, why string, now time.Time) (int, error) {
	n := 0
	for before := int64(0); ; {
		page, err := s.store.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Triggered}, Limit: incidents.MaxListLimit, Before: before})
		if err != nil {
			return n, err
		}
		for _, inc := range page {
			if inc.Maintenance == nil || inc.Maintenance.Window != id {
				continue
			}
			released := false
			_, err := s.store.Update(ctx, inc.ID, func(c *incidents.Incident) error {
				released = c.Maintenance != nil && c.Maintenance.Window == id && c.ReleaseHold(now, why)
				return nil
			})
			if err != nil {
				return n, err
			}
			if released {
				n++
				s.changed(inc.ID)
			}
		}
		if len(page) < incidents.MaxListLimit {
			break
		}
		before = page[len(page)-1].Number
	}
	if n > 0 {
		s.escalator.notify()
	}
	return n, nil
}

// windowText describes w for chat: "mw-1a2b3c4d · team payments ·
// service=db · until 14:30 UTC (2h) · db upgrade · by alice".
func windowText(w incidents.Maintenance, now time.Time) string {
	parts := []string{w.ID}
	if w.Team != "" {
		parts = append(parts, "team "+w.Team)
	}
	for _, k := range slices.Sorted(maps.Keys(w.Match)) {
		parts = append(parts, k+"="+w.Match[k])
	}
	loc := time.UTC
	if w.Timezone != "" {
		if l, err := time.LoadLocation(w.Timezone); err == nil {
			loc = l
		}
	}
	when := ""
	if w.Active(now) {
		when = "until " + w.End.In(loc).Format("Mon 15:04 MST") + " (" + shortDuration(w.End.Sub(now).Round(time.Minute)) + " left)"
	} else {
		when = w.Start.In(loc).Format("Mon 2 Jan 15:04") + "–" + w.End.In(loc).Format("15:04 MST")
	}
	if w.Weekly != "" {
		when += ", weekly " + w.Weekly
	}
	parts = append(parts, when)
	if w.Reason != "" {
		parts = append(parts, w.Reason)
	}
	if w.CreatedBy != "" {
		parts = append(parts, "by "+w.CreatedBy)
	}
	return strings.Join(parts, " · ")
}

// maintenanceHere carries out /incident maintenance: list the windows of
// the channel's teams, open one, or end one early.
func (s *Server) maintenanceHere(ctx context.Context, r chatops.Request, actor string, known bool, c Command) (chatops.Reply, error) {
	now := s.clock.Now()
	switch c.Maint {
	case MaintOpen:
		team, reason := c.Team, c.Text
		if _, ok := s.teams[team]; !ok {
			// Not a team: the reason's first word.
			if team != "" {
				reason = strings.TrimSpace(team + " " + reason)
			}
			team = s.teamOf(r, "")
		}
		if err := s.mayHoldMaintenance(team, actor, known); err != nil {
			return chatops.Reply{}, err
		}
		m, err := s.openMaintenance(ctx, actor, team, c.Labels, reason, c.Duration)
		if err != nil {
			return chatops.Reply{}, err
		}
		return chatops.Reply{Text: "Maintenance window opened by " + orSomeone(actor) + ": " + windowText(m, now) +
			". Matching incidents open and show, but do not escalate until it ends; end it early with /incident maintenance end " + m.ID + "."}, nil
	case MaintEnd:
		id := c.Window
		if id == "" {
			ws, err := s.listWindows(ctx, now, "")
			if err != nil {
				return chatops.Reply{}, err
			}
			here := s.teamsHere(r)
			var adhoc []string
			for _, w := range ws {
				if w.Weekly == "" && (len(here) == 0 || w.Team == "" || slices.Contains(here, w.Team)) {
					adhoc = append(adhoc, w.ID)
				}
			}
			switch len(adhoc) {
			case 0:
				return chatops.Reply{}, incidents.Errorf(incidents.NotFound, "no maintenance window opened from chat is running here")
			case 1:
				id = adhoc[0]
			default:
				return chatops.Reply{}, incidents.Errorf(incidents.Invalid, "say which window to end: %s", strings.Join(adhoc, ", "))
			}
		}
		if s.maint != nil {
			ws, err := s.maint.Maintenances(ctx, now)
			if err != nil {
				return chatops.Reply{}, err // who may end it is unknown: refuse
			}
			for _, w := range ws {
				if w.ID == id {
					if err := s.mayHoldMaintenance(w.Team, actor, known); err != nil {
						return chatops.Reply{}, err
					}
				}
			}
		}
		m, n, err := s.endMaintenance(ctx, actor, id)
		if err != nil {
			return chatops.Reply{}, err
		}
		text := fmt.Sprintf("Maintenance window %s ended early by %s.", m.ID, orSomeone(actor))
		if n > 0 {
			text += fmt.Sprintf(" %d held incident(s) start their escalation now.", n)
		}
		return chatops.Reply{Text: text}, nil
	}
	team := ""
	if here := s.teamsHere(r); len(here) == 1 {
		team = here[0]
	}
	ws, err := s.listWindows(ctx, now, team)
	if err != nil {
		return chatops.Reply{}, err
	}
	if len(ws) == 0 {
		return ephemeral("No maintenance windows. Open one with /incident maintenance 2h [team] [label=value ...] [reason]."), nil
	}
	lines := []string{"Maintenance windows (matching incidents do not escalate while one holds):"}
	for i, w := range ws {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("+%d more (the console lists them all)", len(ws)-20))
			break
		}
		state := "next"
		if w.Active(now) {
			state = "now"
		}
		lines = append(lines, "• "+state+": "+windowText(w, now))
	}
	return ephemeral(strings.Join(lines, "\n")), nil
}

// maintenanceBody is POST /api/v1/maintenance: open a window for
// duration ("2h"), or end one (end: its ID).
type maintenanceBody struct {
	Duration string            `json:"duration"`
	Team     string            `json:"team"`
	Match    map[string]string `json:"match"`
	Reason   string            `json:"reason"`
	End      string            `json:"end"`
}

// getMaintenance is GET /api/v1/maintenance[?team=]: the windows as
// /incident maintenance lists them.
func (s *Server) getMaintenance(w http.ResponseWriter, r *http.Request) {
	team := r.URL.Query().Get("team")
	if team != "" {
		if _, ok := s.teams[team]; !ok {
			writeError(w, incidents.Errorf(incidents.NotFound, "there is no team %q", clip(team, 40)))
			return
		}
	}
	now := s.clock.Now()
	ws, err := s.listWindows(r.Context(), now, team)
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	type window struct {
		incidents.Maintenance
		Active bool `json:"active"`
	}
	out := make([]window, 0, len(ws))
	for _, m := range ws {
		out = append(out, window{Maintenance: m, Active: m.Active(now)})
	}
	writeJSONIndented(w, http.StatusOK, map[string]any{"windows": out})
}

// postMaintenance is POST /api/v1/maintenance: {duration, team, match,
// reason} opens a window (201), {end: ID} ends one early (200).
func (s *Server) postMaintenance(w http.ResponseWriter, r *http.Request) {
	var b maintenanceBody
	if err := readJSON(w, r, &b); err != nil {
		writeError(w, err)
		return
	}
	who := caller(r)
	if b.End != "" {
		if b.Duration != "" || b.Team != "" || len(b.Match) > 0 || b.Reason != "" {
			writeError(w, incidents.Errorf(incidents.Invalid, "end takes a window's ID alone"))
			return
		}
		if s.maint != nil {
			ws, err := s.maint.Maintenances(r.Context(), s.clock.Now())
			if err != nil {
				writeError(w, err) // who may end it is unknown: refuse
				return
			}
			for _, m := range ws {
				if m.ID == b.End {
					if err := s.mayHoldMaintenance(m.Team, who.Name, who.Known); err != nil {
						writeError(w, err)
						return
					}
				}
			}
		}
		m, n, err := s.endMaintenance(r.Context(), who.Name, b.End)
		if err != nil {
			s.logStoreError(r, err)
			writeError(w, err)
			return
		}
		writeJSONIndented(w, http.StatusOK, map[string]any{"window": m, "released": n,
			"message": fmt.Sprintf("Maintenance window %s ended early by %s; %d held incident(s) start their escalation now.", m.ID, orSomeone(who.Name), n)})
		return
	}
	d, err := parseDuration(b.Duration)
	if err != nil {
		writeError(w, incidents.Errorf(incidents.Invalid, "duration: %s", incidents.ErrorMessage(err)))
		return
	}
	if len(b.Match) > 20 {
		writeError(w, incidents.Errorf(incidents.Invalid, "match: at most 20 labels"))
		return
	}
	for k, v := range b.Match {
		if strings.TrimSpace(k) == "" || v == "" {
			writeError(w, incidents.Errorf(incidents.Invalid, "match: label names and values must not be empty"))
			return
		}
	}
	if err := s.mayHoldMaintenance(b.Team, who.Name, who.Known); err != nil {
		writeError(w, err)
		return
	}
	m, err := s.openMaintenance(r.Context(), who.Name, b.Team, b.Match, b.Reason, d)
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/maintenance")
	writeJSONIndented(w, http.StatusCreated, map[string]any{"window": m, "message": "Maintenance window opened: " + windowText(m, s.clock.Now())})
}

// mayHoldMaintenance says whether actor may open or end a maintenance
// window of team: a team's window needs its responders (when it names
// any); a window of no team holds every team's matching incidents, so it
// needs the actor to be a responder of every team that names responders.
func (s *Server) mayHoldMaintenance(team, actor string, known bool) error {
	if team != "" {
		return s.mayChange(&incidents.Incident{Team: team, ID: "the " + team + " team's maintenance"}, actor, known)
	}
	for _, t := range s.cfg.Teams {
		if err := s.mayChange(&incidents.Incident{Team: t.Name, ID: "a maintenance window of every team (name a team)"}, actor, known); err != nil {
			return err
		}
	}
	return nil
}
