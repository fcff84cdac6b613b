package console

import (
	"context"
	"net/http"
	"strconv"

	"github.com/klaxonbot/klaxon/incidents"
)

// GraphBackend is a Backend that keeps incidents' graphs: the chart of
// what the incident's alert monitors, as its chat cards show it. It is
// optional; without it the incident page shows no graph.
type GraphBackend interface {
	// GraphVersion is the version of the incident's newest graph; 0
	// when it has none.
	GraphVersion(ctx context.Context, id string) (int64, error)
	// Graph returns the incident's newest graph.
	// Errors: NotFound when it has none, Unavailable.
	Graph(ctx context.Context, id string) (incidents.Graph, error)
}

// graphVersion is the incident's graph version for its page (0: none, or
// no graphs kept).
func (c *Console) graphVersion(ctx context.Context, id string) int64 {
	gb, ok := c.o.Backend.(GraphBackend)
	if !ok {
		return 0
	}
	v, err := gb.GraphVersion(ctx, id)
	if err != nil {
		c.log.Warn("console: reading an incident's graph failed", "incident", id, "err", err)
		return 0
	}
	return v
}

// graphImage serves the incident's newest graph, a PNG, for the <img> of
// its page (same origin: the CSP's img-src 'self' lets it in).
func (c *Console) graphImage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	gb, ok := c.o.Backend.(GraphBackend)
	if !ok {
		c.fail(w, r, s, incidents.Errorf(incidents.NotFound, "%s has no graph.", id))
		return
	}
	g, err := gb.Graph(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	h := w.Header()
	etag := `"graph-` + strconv.FormatInt(g.Version, 10) + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(g.PNG)))
	w.Write(g.PNG)
}
