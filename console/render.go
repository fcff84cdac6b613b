package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/charts"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// view is what the layout and every page template see.
type view struct {
	Title  string
	Person string // "" when signed out
	CSRF   string
	Nav    []navItem
	Active string // the path of the menu entry to mark
	// Live is what the page's script listens for: "list" (any change),
	// "incident" (the one in Incident), or "" (nothing).
	Live     string
	Incident string
	Asset    string // the assets' version, for cache busting
	// Pages links pages.css: the postmortem, on-call, teams and insights
	// pages' styles, which the incidents pages do without.
	Pages  bool
	Error  string // shown above the page
	Notice string
	Now    time.Time
	Data   any
}

// view builds the view of a page for the session s (nil: signed out).
func (c *Console) view(r *http.Request, s *incidents.Session, title string, data any) *view {
	v := &view{Title: title, Nav: nav, Asset: c.assetTag, Now: c.clock.Now(), Data: data}
	if s != nil {
		v.Person, v.CSRF = s.Person, s.CSRF
	}
	v.Active = r.URL.Path
	return v
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes the page name with v, framed by the layout.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := c.pages[name]
	if t == nil {
		c.log.Error("console: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error("console: page template failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// statusError is an error with its own status and words (429).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func tooMany(msg string) error { return &statusError{http.StatusTooManyRequests, msg} }

// fail shows err as a page with the status its kind means; the event
// stream gets a plain status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *incidents.Session, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		c.log.Warn("console: request failed", "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if r.URL.Path == "/ui/events" {
		http.Error(w, msg, status)
		return
	}
	c.render(w, r, status, "message", c.view(r, s, "Sorry", msg))
}

// statusOf maps an error to its HTTP status and what a person is told.
func statusOf(err error) (int, string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.msg
	}
	switch incidents.ErrorKind(err) {
	case incidents.Invalid:
		return http.StatusBadRequest, incidents.ErrorMessage(err)
	case incidents.NotFound:
		return http.StatusNotFound, incidents.ErrorMessage(err)
	case incidents.Conflict:
		return http.StatusConflict, incidents.ErrorMessage(err)
	case incidents.Unauthorized:
		return http.StatusUnauthorized, incidents.ErrorMessage(err)
	case incidents.Forbidden:
		return http.StatusForbidden, incidents.ErrorMessage(err)
	case incidents.Unavailable:
		return http.StatusServiceUnavailable, "klaxon cannot reach its store right now, so nothing changed. Try again in a moment."
	}
	return http.StatusInternalServerError, "Something went wrong inside klaxon; it is in klaxon's log."
}

// loadStatic reads the embedded assets; the stylesheet of the pages with
// charts gets their colours (charts.CSS: the charts carry classes only).
func loadStatic() (map[string][]byte, error) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		out[p] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	out["pages.css"] = append(append(out["pages.css"], '\n'), charts.CSS...)
	return out, nil
}

// serveStatic serves the embedded CSS and JS, cached for a year under
// the version the pages link (?v=).
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := c.static[name]
	if !ok || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	if r.URL.Query().Get("v") == c.assetTag {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(b)
}

// assetTag is a short hash of the static files: it changes with them.
func assetTag(files map[string][]byte) string {
	h := sha256.New()
	names := slices.Sorted(maps.Keys(files))
	for _, n := range names {
		h.Write([]byte(n))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// sevClass is the CSS class of a severity's badge.
func sevClass(s incidents.Severity) string {
	if !s.Valid() {
		return "sev0"
	}
	return "sev" + s.String()[3:]
}

// funcs are the helpers page templates use. None returns template.HTML:
// whatever incident data they see is escaped by html/template.
var funcs = template.FuncMap{
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return templates.Duration(now.Sub(t))
	},
	"until": func(now, t time.Time) string { return templates.Duration(t.Sub(now)) },
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"hm":        func(t time.Time) string { return t.UTC().Format("Jan 2 15:04") },
	"stateWord": templates.StateWord,
	"sevClass":  sevClass,
	// clean removes control and bidi-override characters (which can make
	// text read otherwise than it is) and bounds the length; escaping is
	// html/template's.
	"clean":  func(s string, max int) string { return templates.Clean(s, max, false) },
	"cleanm": func(s string, max int) string { return templates.Clean(s, max, true) },
	// safeURL is an http(s) URL, or "" (never javascript: or data:).
	"safeURL": func(u string) string {
		s, ok := templates.SafeURL(u)
		if !ok {
			return ""
		}
		return s
	},
	"hasPrefix": strings.HasPrefix,
	"add":       func(a, b int) int { return a + b },
}
