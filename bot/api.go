package bot

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/klaxonbot/klaxon/incidents"
)

// listIncidents serves GET /api/v1/incidents?state=open|triggered|acknowledged|resolved[,...]&limit=N&before=N.
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
	if list == nil {
		list = []*incidents.Incident{}
	}
	out := map[string]any{"incidents": list}
	if len(list) == opts.Limit {
		// There may be more: the caller pages with ?before=<this>.
		out["next_before"] = list[len(list)-1].ID
	}
	writeJSONIndented(w, http.StatusOK, out)
}

// getIncident serves GET /api/v1/incidents/{id}.
func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
	writeJSONIndented(w, http.StatusOK, inc)
}

func (s *Server) logStoreError(r *http.Request, err error) {
	if k := incidents.ErrorKind(err); k == incidents.Unavailable || k == incidents.Internal {
		s.log.Error("store error", "path", r.URL.Path, "err", err)
	}
}

// getPostmortem serves the incident's postmortem draft as Markdown.
func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) {
	inc, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.logStoreError(r, err)
		writeError(w, err)
		return
	}
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
