package bot

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// What GET /api/v1/incidents/{id} shows of an incident's alerts and
// timeline; the rest pages at the alerts and timeline endpoints.
const (
	incidentAlerts   = 100
	incidentEvents   = 200
	defaultPageLimit = 100
)

// summaryJSON is an incident in a list: every field but its alerts and
// timeline, whose counts (alertsFiring, alertsResolved, events) say how
// many it has.
type summaryJSON struct {
	*incidents.Incident
	Alerts   []incidents.Alert `json:"alerts,omitempty"`
	Timeline []incidents.Event `json:"timeline,omitempty"`
}

// listIncidents serves GET /api/v1/incidents?state=open|triggered|acknowledged|resolved[,...]&team=T&since=T&until=T&limit=N&before=N:
// summaries, newest first.
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var opts incidents.ListOptions
	for _, v := range q["state"] {
		for _, name := range strings.Split(v, ",") {
			switch name = strings.TrimSpace(name); name {
			case "", "all":
			case "open":
				opts.States = append(opts.States, incidents.OpenStates...)
			default:
				st, err := incidents.ParseState(name)
				if err != nil {
					writeError(w, incidents.Errorf(incidents.Invalid, "state %q is unknown (want open, triggered, acknowledged or resolved)", name))
					return
				}
				opts.States = append(opts.States, st)
			}
		}
	}
	opts.Team = strings.TrimSpace(q.Get("team"))
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &opts.Since}, {"until", &opts.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, incidents.Errorf(incidents.Invalid, "%s must be a time like 2026-03-01T12:00:00Z (RFC 3339)", p.name))
				return
			}
			*p.dst = t
		}
	}
	if v := q.Get("before"); v != "" {
		_, n, err := incidents.ParseID(v)
		if err != nil {
			writeError(w, incidents.Errorf(incidents.Invalid, "before must be an incident ID or number"))
			return
		}
		opts.Before = n
	}
	opts.Limit = incidents.DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > incidents.MaxListLimit {
			writeError(w, incidents.Errorf(incidents.Invalid, "limit must be a number from 1 to %d", incidents.MaxListLimit))
			return
		}
		opts.Limit = n
	}
	list, err := s.store.List(r.Context(), opts)
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	out := make([]summaryJSON, len(list))
	for i, inc := range list {
		out[i] = summaryJSON{Incident: inc}
	}
	body := map[string]any{"incidents": out}
	if len(list) == opts.Limit {
		// There may be more: the caller pages with ?before=<this>.
		body["next_before"] = list[len(list)-1].ID
	}
	writeJSONIndented(w, http.StatusOK, body)
}

// incidentJSON is one incident with the first of its alerts in the card's
// order and the last events of its timeline; the totals and URLs say
// where the rest is.
type incidentJSON struct {
	*incidents.Incident
	Alerts      []incidents.Alert `json:"alerts"`
	AlertsTotal int               `json:"alertsTotal"`
	AlertsURL   string            `json:"alertsURL"`
	// AlertsNext is the page after Alerts, when there is one.
	AlertsNext    string            `json:"alertsNext,omitempty"`
	Timeline      []incidents.Event `json:"timeline"`
	TimelineTotal int               `json:"timelineTotal"`
	// TimelineOffset is the offset of Timeline's first event: the events
	// before it page at TimelineURL.
	TimelineOffset int    `json:"timelineOffset"`
	TimelineURL    string `json:"timelineURL"`
}

// getIncident serves GET /api/v1/incidents/{id}: the incident with at
// most its first 100 alerts (firing first) and its last 200 events, read
// in three steps whose cost does not grow with the incident.
func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sum, err := s.store.Summary(ctx, r.PathValue("id"))
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	out := incidentJSON{Incident: sum, AlertsURL: pageURL(sum.ID, "alerts", -1, 0), TimelineURL: pageURL(sum.ID, "timeline", -1, 0)}
	if out.Alerts, out.AlertsTotal, err = s.store.Alerts(ctx, sum.ID, 0, incidentAlerts); err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	if len(out.Alerts) < out.AlertsTotal {
		out.AlertsNext = pageURL(sum.ID, "alerts", len(out.Alerts), defaultPageLimit)
	}
	if out.Timeline, out.TimelineTotal, err = s.store.Events(ctx, sum.ID, -incidentEvents, incidentEvents); err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	out.TimelineOffset = out.TimelineTotal - len(out.Timeline)
	writeJSONIndented(w, http.StatusOK, out)
}

// pageURL is the path of a page of an incident's alerts or timeline
// (offset below 0: the endpoint without a query).
func pageURL(id, what string, offset, limit int) string {
	u := "/api/v1/incidents/" + url.PathEscape(id) + "/" + what
	if offset < 0 {
		return u
	}
	return u + "?offset=" + strconv.Itoa(offset) + "&limit=" + strconv.Itoa(limit)
}

// pageParams reads ?offset= (0 or more, default 0) and ?limit= (1 to
// incidents.MaxPageLimit, default 100).
func pageParams(r *http.Request) (offset, limit int, err error) {
	q := r.URL.Query()
	offset, limit = 0, defaultPageLimit
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, incidents.Errorf(incidents.Invalid, "offset must be a number, 0 or more")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > incidents.MaxPageLimit {
			return 0, 0, incidents.Errorf(incidents.Invalid, "limit must be a number from 1 to %d", incidents.MaxPageLimit)
		}
	}
	return offset, limit, nil
}

// pageJSON is a page of an incident's alerts or timeline.
type pageJSON struct {
	Incident string             `json:"incident"`
	Alerts   *[]incidents.Alert `json:"alerts,omitempty"`
	Timeline *[]incidents.Event `json:"timeline,omitempty"`
	Offset   int                `json:"offset"`
	Limit    int                `json:"limit"`
	Total    int                `json:"total"`
	// Next is the following page, when there is one.
	Next string `json:"next,omitempty"`
}

// getAlerts serves GET /api/v1/incidents/{id}/alerts?offset=&limit=: a
// page of the incident's alerts, firing first, each part in the order
// the incident first saw them (the card's order).
func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "alerts")
}

// getTimeline serves GET /api/v1/incidents/{id}/timeline?offset=&limit=:
// a page of the incident's timeline, oldest first. An event keeps its
// offset for good, so a poller asks for offset=<total it has seen>.
func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "timeline")
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, what string) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	offset, limit, err := pageParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out := pageJSON{Incident: id, Offset: offset, Limit: limit}
	n := 0
	if what == "alerts" {
		var alerts []incidents.Alert
		alerts, out.Total, err = s.store.Alerts(r.Context(), id, offset, limit)
		out.Alerts, n = &alerts, len(alerts)
	} else {
		var events []incidents.Event
		events, out.Total, err = s.store.Events(r.Context(), id, offset, limit)
		out.Timeline, n = &events, len(events)
	}
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	if offset+n < out.Total {
		out.Next = pageURL(id, what, offset+n, limit)
	}
	writeJSONIndented(w, http.StatusOK, out)
}

// routeIncidentPages serves the alerts and timeline pages of an incident.
// New calls it next to the other /api/v1/incidents routes.
func (s *Server) routeIncidentPages() {
	s.route("GET", "/api/v1/incidents/{id}/alerts", s.apiRead(s.getAlerts))
	s.route("GET", "/api/v1/incidents/{id}/timeline", s.apiRead(s.getTimeline))
}

// savedPostmortem returns the latest postmortem version saved for the
// incident, if the store keeps them and one was saved.
func (s *Server) savedPostmortem(ctx context.Context, id string) (incidents.PostmortemVersion, bool, error) {
	pm, ok := s.store.(incidents.Postmortems)
	if !ok {
		return incidents.PostmortemVersion{}, false, nil
	}
	v, err := pm.Postmortem(ctx, id, 0)
	if incidents.ErrorKind(err) == incidents.NotFound {
		return v, false, nil
	}
	return v, err == nil, err
}

func (s *Server) logStoreError(r *http.Request, err error) {
	if k := incidents.ErrorKind(err); k == incidents.Unavailable || k == incidents.Internal {
		s.log.Error("store error", "path", logPath(r), "err", err)
	}
}

// getPostmortem serves the incident's postmortem as Markdown: the latest
// version the team saved (in the console), or, when none was saved or
// with ?draft=1, the draft made from the incident, which reads the whole
// incident: the draft tells its whole story. X-Klaxon-Postmortem-Version
// says which (0: the draft).
func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	if r.URL.Query().Get("draft") == "" {
		v, ok, err := s.savedPostmortem(ctx, id)
		if err != nil {
			s.logStoreError(r, err)
			writeError(w, err)
			return
		}
		if ok {
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			w.Header().Set("Content-Disposition", `inline; filename="`+v.Incident+`-postmortem.md"`)
			w.Header().Set("X-Klaxon-Postmortem-Version", strconv.Itoa(v.Version))
			io.WriteString(w, v.Text)
			return
		}
	}
	inc, err := s.store.Get(ctx, id)
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	w.Header().Set("X-Klaxon-Postmortem-Version", "0")
	md, err := s.tmpl.Postmortem(inc, s.clock.Now())
	if err != nil {
		s.log.Error("postmortem template failed", "incident", inc.ID, "err", err)
		writeError(w, incidents.Wrap(incidents.Internal, "postmortem", err))
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+inc.ID+`-postmortem.md"`)
	io.WriteString(w, md)
}
