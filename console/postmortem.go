package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// The postmortem: the draft klaxon generates, or the latest version
// saved, rendered; edited in a textarea with a preview (Markdown rendered
// here, see markdown.go) and the blameless hint; every version kept, none
// overwritten; downloaded as .md.

// maxPostmortemForm bounds the postmortem form: the longest text, every
// byte of it percent-encoded, and the rest of the form.
const maxPostmortemForm = 3*incidents.MaxPostmortemLen + 64<<10

type postmortemView struct {
	Inc *incidents.Incident
	// Shown is the version shown (Version 0: the generated draft), HTML
	// its text rendered.
	Shown incidents.PostmortemVersion
	HTML  template.HTML
	// Latest is the latest saved version (0: none).
	Latest   int
	Versions []incidents.PostmortemVersion
	// The editor: its text (without control and bidi-override
	// characters, which make text read otherwise than it is), the version
	// it started from, and, after Preview, the text rendered.
	Text       string
	Base       int
	Preview    template.HTML
	Previewing bool
	Hint       string
	Phrases    []string
	CanEdit    bool
	Responders []string
	// Old is true on the page of a version that is not the latest.
	Old bool
	// Stale is the newer version a save ran into.
	Stale *incidents.PostmortemVersion
}

// pmBase is the path of an incident's postmortem pages.
func pmBase(id string) string { return "/ui/incidents/" + url.PathEscape(id) + "/postmortem" }

// latestPostmortem returns the latest saved version of the incident's
// postmortem, or the draft klaxon generates (Version 0) when none was
// saved.
func (c *Console) latestPostmortem(r *http.Request, id string) (incidents.PostmortemVersion, error) {
	v, err := c.o.Backend.Postmortem(r.Context(), id, 0)
	if err == nil || incidents.ErrorKind(err) != incidents.NotFound {
		return v, err
	}
	inc, err := c.o.Backend.Get(r.Context(), id)
	if err != nil {
		return v, err
	}
	md, err := c.o.Templates.Postmortem(inc, c.clock.Now())
	if err != nil {
		return v, incidents.Wrap(incidents.Internal, "console: the postmortem template", err)
	}
	return incidents.PostmortemVersion{Incident: inc.ID, Text: md}, nil
}

// postmortemPage shows the latest version (or the draft) and the editor.
func (c *Console) postmortemPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	notice := ""
	if n := atoiOr(r.URL.Query().Get("saved"), 0); n > 0 {
		notice = "Saved as version " + strconv.Itoa(n) + "."
	}
	c.showPostmortem(w, r, s, http.StatusOK, nil, notice, "")
}

// edit is what the person typed, when the page shows it back.
type edit struct {
	text    string
	base    int
	preview bool
	stale   *incidents.PostmortemVersion
}

// showPostmortem renders the postmortem page; e, when set, is the
// person's edit (a preview, or a save that could not be stored).
func (c *Console) showPostmortem(w http.ResponseWriter, r *http.Request, s *incidents.Session, status int, e *edit, notice, errMsg string) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	inc, err := c.o.Backend.Summary(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	shown, err := c.latestPostmortem(r, inc.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	pv := postmortemView{Inc: inc, Shown: shown, HTML: renderMarkdown(shown.Text), Latest: shown.Version,
		Text: cleanMarkdown(shown.Text), Base: shown.Version}
	if pv.Versions, err = c.o.Backend.PostmortemVersions(r.Context(), inc.ID); err != nil {
		c.fail(w, r, s, err)
		return
	}
	pv.CanEdit, pv.Responders = c.mayAct(s.Person, inc.Team)
	if e != nil {
		pv.Text, pv.Base, pv.Stale = cleanMarkdown(e.text), e.base, e.stale
		if e.preview {
			pv.Previewing, pv.Preview = true, renderMarkdown(e.text)
		}
		pv.Hint, pv.Phrases = c.o.Backend.BlameHint(e.text)
	}
	v := c.view(r, s, "Postmortem: "+inc.ID+" "+templates.Clean(inc.Title, 80, false), pv)
	v.Notice, v.Error, v.Active = notice, errMsg, "/ui/"
	v.Pages = true
	c.render(w, r, status, "postmortem", v)
}

// postmortemPost previews or saves an edit.
func (c *Console) postmortemPost(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	f := r.PostForm
	e := &edit{text: strings.ReplaceAll(f.Get("text"), "\r\n", "\n"), base: atoiOr(f.Get("base"), -1), preview: f.Get("do") == "preview"}
	if e.base < 0 {
		c.fail(w, r, s, incidents.Errorf(incidents.Invalid, "The form lost the version it started from: reload the page."))
		return
	}
	if e.preview {
		c.showPostmortem(w, r, s, http.StatusOK, e, "", "")
		return
	}
	if strings.TrimSpace(e.text) == "" {
		c.showPostmortem(w, r, s, http.StatusBadRequest, e, "", "The postmortem is empty: write it first (nothing was saved).")
		return
	}
	saved, err := c.o.Backend.SavePostmortem(r.Context(), id, e.base, e.text, s.Person)
	if err != nil {
		status, msg := statusOf(err)
		switch incidents.ErrorKind(err) {
		case incidents.NotFound:
			c.fail(w, r, s, err)
			return
		case incidents.Conflict:
			// Somebody saved meanwhile: say who and when, and keep the
			// person's text on the page; their save stored nothing.
			if latest, lerr := c.o.Backend.Postmortem(r.Context(), id, 0); lerr == nil && latest.Version > e.base {
				e.stale = &latest
				msg = templates.Clean(latest.By, 60, false) + " saved a newer version (" + strconv.Itoa(latest.Version) + ") at " + when(latest.At, c.clock.Now()) +
					" — reload to see it. Your text was not saved: it is below, to copy."
			}
		}
		c.showPostmortem(w, r, s, status, e, "", msg)
		return
	}
	c.log.Info("console: postmortem saved", "incident", id, "version", saved.Version, "by", s.Person)
	if hint, _ := c.o.Backend.BlameHint(e.text); hint != "" {
		c.showPostmortem(w, r, s, http.StatusOK, &edit{text: saved.Text, base: saved.Version}, "Saved as version "+strconv.Itoa(saved.Version)+".", "")
		return
	}
	http.Redirect(w, r, pmBase(id)+"?saved="+strconv.Itoa(saved.Version), http.StatusSeeOther)
}

// when says when t was, for a person: the time today, the date before.
func when(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04 UTC")
	}
	return t.Format("Jan 2 15:04 UTC")
}

// postmortemVersionPage shows one saved version.
func (c *Console) postmortemVersionPage(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		c.fail(w, r, s, incidents.Errorf(incidents.NotFound, "There is no such version of %s's postmortem.", id))
		return
	}
	inc, err := c.o.Backend.Summary(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	pv := postmortemView{Inc: inc}
	if pv.Shown, err = c.o.Backend.Postmortem(r.Context(), inc.ID, n); err != nil {
		c.fail(w, r, s, err)
		return
	}
	if pv.Versions, err = c.o.Backend.PostmortemVersions(r.Context(), inc.ID); err != nil {
		c.fail(w, r, s, err)
		return
	}
	if len(pv.Versions) > 0 {
		pv.Latest = pv.Versions[0].Version
	}
	pv.HTML, pv.Text, pv.Old = renderMarkdown(pv.Shown.Text), cleanMarkdown(pv.Shown.Text), pv.Shown.Version != pv.Latest
	v := c.view(r, s, "Postmortem: "+inc.ID+", version "+strconv.Itoa(n), pv)
	v.Pages = true
	v.Active = "/ui/"
	c.render(w, r, http.StatusOK, "postmortem_version", v)
}

// postmortemDownload sends a version (?v=N; by default the latest, or
// the draft) as a Markdown file.
func (c *Console) postmortemDownload(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	id, _, err := incidents.ParseID(r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var pm incidents.PostmortemVersion
	name := id + "-postmortem.md"
	if q := r.URL.Query().Get("v"); q != "" && q != "0" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			c.fail(w, r, s, incidents.Errorf(incidents.NotFound, "There is no such version of %s's postmortem.", id))
			return
		}
		if pm, err = c.o.Backend.Postmortem(r.Context(), id, n); err != nil {
			c.fail(w, r, s, err)
			return
		}
		name = id + "-postmortem-v" + strconv.Itoa(n) + ".md"
	} else if pm, err = c.latestPostmortem(r, id); err != nil {
		c.fail(w, r, s, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/markdown; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.Write([]byte(pm.Text))
}
