package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

var (
	handlerRE  = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	textareaRE = regexp.MustCompile(`(?s)<textarea id="pm-text" name="text"[^>]*>(.*?)</textarea>`)
	baseRE     = regexp.MustCompile(`name="base" value="(\d+)"`)
)

// editor reads the postmortem page's textarea and base version.
func editor(t *testing.T, page string) (text, base string) {
	t.Helper()
	m, b := textareaRE.FindStringSubmatch(page), baseRE.FindStringSubmatch(page)
	if m == nil || b == nil {
		t.Fatalf("no editor on the page:\n%.3000s", page)
	}
	return html.UnescapeString(m[1]), b[1]
}

// Read the draft, preview an edit (nothing saved), save it twice, read
// an old version, download each.
func TestPostmortemEditSaveVersions(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "payments", incidents.AlertFiring))
	c, csrf := e.signIn("alice")
	base := "/ui/incidents/" + inc.ID + "/postmortem"

	res, page := e.do(c, "GET", base, nil)
	must(t, res.StatusCode == 200, "postmortem page: %s", res.Status)
	for _, want := range []string{"<h1>" + inc.ID + ": disk full</h1>", "nobody saved a version yet", "Save as version 1", `href="` + base + `.md"`, "<table>"} {
		must(t, strings.Contains(page, want), "the draft page lacks %q:\n%s", want, page)
	}
	draft, b := editor(t, page)
	must(t, strings.HasPrefix(draft, "# "+inc.ID+": disk full\n") && b == "0", "the editor holds %q from %s", draft[:min(80, len(draft))], b)

	// Preview: rendered, kept in the editor, not saved.
	edited := "# " + inc.ID + ": disk full\r\n\r\nThe disk *filled* up.\r\n\r\n- rotate logs\r\n"
	res, page = e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"0"}, "do": {"preview"}, "text": {edited}})
	must(t, res.StatusCode == 200 && strings.Contains(page, "Preview") && strings.Contains(page, "The disk <em>filled</em> up.") && strings.Contains(page, "<li>rotate logs</li>"),
		"preview: %s\n%s", res.Status, page)
	got, _ := editor(t, page)
	must(t, got == strings.ReplaceAll(edited, "\r\n", "\n"), "the preview's editor holds %q", got)
	vs, _ := e.b.PostmortemVersions(context.Background(), inc.ID)
	must(t, len(vs) == 0, "a preview saved %d versions", len(vs))

	// Save: version 1 by alice, every line ending a newline.
	res, _ = e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"0"}, "do": {"save"}, "text": {edited}})
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == base+"?saved=1", "save: %s %s", res.Status, res.Header.Get("Location"))
	v1, err := e.b.Postmortem(context.Background(), inc.ID, 1)
	must(t, err == nil && v1.By == "alice" && v1.Text == strings.ReplaceAll(edited, "\r\n", "\n") && v1.At.Equal(e.clock.Now()), "version 1: %+v %v", v1, err)
	_, page = e.do(c, "GET", base+"?saved=1", nil)
	for _, want := range []string{"Saved as version 1.", "Version 1, saved by alice", "The disk <em>filled</em> up.", "Save as version 2", `value="1"`} {
		must(t, strings.Contains(page, want), "after the save the page lacks %q:\n%s", want, page)
	}

	e.clock.Add(time.Hour)
	res, _ = e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"1"}, "do": {"save"}, "text": {"# v2\n"}})
	must(t, res.StatusCode == http.StatusSeeOther, "second save: %s", res.Status)
	_, page = e.do(c, "GET", base, nil)
	must(t, strings.Contains(page, "<h1>v2</h1>") && strings.Contains(page, base+"/1") && strings.Contains(page, "<strong>Version 2</strong>"),
		"versions list:\n%s", page)

	// An old version.
	res, page = e.do(c, "GET", base+"/1", nil)
	must(t, res.StatusCode == 200 && strings.Contains(page, "An older version") && strings.Contains(page, "The disk <em>filled</em> up.") &&
		strings.Contains(page, "version 2</a>"), "version 1's page: %s\n%s", res.Status, page)
	for _, p := range []string{base + "/3", base + "/0", base + "/x"} {
		res, _ = e.do(c, "GET", p, nil)
		must(t, res.StatusCode == http.StatusNotFound, "%s: %s", p, res.Status)
	}

	// Downloads.
	for _, tc := range []struct{ q, name, body string }{
		{"", inc.ID + "-postmortem.md", "# v2\n"},
		{"?v=1", inc.ID + "-postmortem-v1.md", v1.Text},
	} {
		res, body := e.do(c, "GET", base+".md"+tc.q, nil)
		must(t, res.StatusCode == 200 && res.Header.Get("Content-Type") == "text/markdown; charset=utf-8" &&
			res.Header.Get("Content-Disposition") == `attachment; filename="`+tc.name+`"` && body == tc.body,
			"download %q: %s %v %q", tc.q, res.Status, res.Header, body)
	}
	// Before any save, the download is the draft.
	other := e.b.ingest(t, batch("g2", "slow", "web", incidents.AlertFiring))
	_, body := e.do(c, "GET", "/ui/incidents/"+other.ID+"/postmortem.md", nil)
	must(t, strings.HasPrefix(body, "# "+other.ID+": slow"), "the draft's download: %q", body)
	// Signed out, nothing.
	res, _ = e.do(e.client(), "GET", base+".md", nil)
	must(t, res.StatusCode == http.StatusSeeOther, "a download without a session: %s", res.Status)
}

// Two people edit from the same version: the second save is refused,
// says who saved and when, keeps the text on the page, stores nothing.
func TestPostmortemStaleSaveRefused(t *testing.T) {
	e := newEnv(t)
	e.clock.now = time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	inc := e.b.ingest(t, batch("g1", "slow pages", "web", incidents.AlertFiring))
	alice, acsrf := e.signIn("alice")
	bob, bcsrf := e.signIn("bob")
	base := "/ui/incidents/" + inc.ID + "/postmortem"
	_, page := e.do(alice, "GET", base, nil)
	_, from := editor(t, page)
	e.clock.now = time.Date(2026, 3, 2, 14, 2, 0, 0, time.UTC)
	res, _ := e.do(bob, "POST", base, url.Values{"csrf": {bcsrf}, "base": {from}, "do": {"save"}, "text": {"bob's version"}})
	must(t, res.StatusCode == http.StatusSeeOther, "bob's save: %s", res.Status)

	e.clock.Add(5 * time.Minute)
	res, page = e.do(alice, "POST", base, url.Values{"csrf": {acsrf}, "base": {from}, "do": {"save"}, "text": {"alice's version"}})
	must(t, res.StatusCode == http.StatusConflict, "alice's stale save: %s", res.Status)
	must(t, strings.Contains(page, "bob saved a newer version (1) at 14:02 UTC — reload"), "the refusal does not say who and when:\n%s", page)
	text, b := editor(t, page)
	must(t, text == "alice's version" && b == "0", "alice's text is lost: %q from %s", text, b)
	vs, _ := e.b.PostmortemVersions(context.Background(), inc.ID)
	latest, _ := e.b.Postmortem(context.Background(), inc.ID, 0)
	must(t, len(vs) == 1 && latest.Text == "bob's version", "stored: %d versions, latest %q", len(vs), latest.Text)

	// Reloading edits bob's version.
	_, page = e.do(alice, "GET", base, nil)
	text, b = editor(t, page)
	must(t, text == "bob's version" && b == "1", "after a reload: %q from %s", text, b)
}

// The blameless hint on the edited text: on preview and after a save,
// naming the phrases; an empty text is not saved.
func TestPostmortemBlamelessHint(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "web", incidents.AlertFiring))
	c, csrf := e.signIn("alice")
	base := "/ui/incidents/" + inc.ID + "/postmortem"
	_, page := e.do(c, "GET", base, nil)
	must(t, !strings.Contains(page, "Blameless notes help us learn"), "a hint on the draft")
	res, page := e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"0"}, "do": {"preview"}, "text": {"It was human error."}})
	must(t, res.StatusCode == 200 && strings.Contains(page, "Blameless notes help us learn") && strings.Contains(page, "“human error”"), "preview hint:\n%s", page)
	res, page = e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"0"}, "do": {"save"}, "text": {"It was bob's fault."}})
	must(t, res.StatusCode == 200 && strings.Contains(page, "Saved as version 1.") && strings.Contains(page, "“fault”"), "save with a hint: %s\n%s", res.Status, page)
	res, page = e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"1"}, "do": {"save"}, "text": {"  \n "}})
	must(t, res.StatusCode == 400 && strings.Contains(page, "The postmortem is empty"), "an empty save: %s", res.Status)
	res, _ = e.do(c, "POST", base, url.Values{"csrf": {csrf}, "do": {"save"}, "text": {"x"}})
	must(t, res.StatusCode == 400, "a save without its base: %s", res.Status)
}

// Only the team's responders edit; everybody reads; forms need the CSRF
// token.
func TestPostmortemOnlyResponders(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "disk full", "payments", incidents.AlertFiring))
	bob, bcsrf := e.signIn("bob")
	base := "/ui/incidents/" + inc.ID + "/postmortem"
	res, page := e.do(bob, "GET", base, nil)
	must(t, res.StatusCode == 200 && !strings.Contains(page, "<textarea") && strings.Contains(page, "Only the payments team's responders (alice) can edit"),
		"bob's page: %s\n%s", res.Status, page)
	res, page = e.do(bob, "POST", base, url.Values{"csrf": {bcsrf}, "base": {"0"}, "do": {"save"}, "text": {"mine"}})
	must(t, res.StatusCode == http.StatusForbidden && strings.Contains(page, "only alice may change"), "bob's save: %s\n%s", res.Status, page)
	alice, _ := e.signIn("alice")
	for _, form := range []url.Values{
		{"base": {"0"}, "do": {"save"}, "text": {"no token"}},
		{"csrf": {bcsrf}, "base": {"0"}, "do": {"save"}, "text": {"bob's token"}},
	} {
		res, _ = e.do(alice, "POST", base, form)
		must(t, res.StatusCode == http.StatusForbidden, "%q: %s", form.Get("text"), res.Status)
	}
	vs, _ := e.b.PostmortemVersions(context.Background(), inc.ID)
	must(t, len(vs) == 0, "saved: %+v", vs)
}

// A postmortem that tries to script, load or link anywhere renders inert,
// in the document, the preview, the editor and an old version's page.
func TestPostmortemHostileInert(t *testing.T) {
	e := newEnv(t)
	inc := e.b.ingest(t, batch("g1", "<script>alert(0)</script>", "web", incidents.AlertFiring))
	c, csrf := e.signIn("alice")
	base := "/ui/incidents/" + inc.ID + "/postmortem"
	text := strings.Join([]string{"# <script>alert(1)</script>", "<img src=x onerror=alert(2)>", "[a](javascript:alert(3))", "![b](data:image/png;base64,xx)",
		"</textarea><script>alert(4)</script>", "\"'><svg onload=alert(5)>", "\u202Egnp.exe", "[ok](https://example.com/x)"}, "\n\n")
	res, _ := e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"0"}, "do": {"save"}, "text": {text}})
	must(t, res.StatusCode == http.StatusSeeOther, "save: %s", res.Status)
	_, preview := e.do(c, "POST", base, url.Values{"csrf": {csrf}, "base": {"1"}, "do": {"preview"}, "text": {text}})
	_, page := e.do(c, "GET", base, nil)
	_, old := e.do(c, "GET", base+"/1", nil)
	for name, p := range map[string]string{"page": page, "preview": preview, "version": old} {
		// Tags and handlers that would run; the text shows as text (in
		// the editor and the raw Markdown, escaped).
		for _, bad := range []string{"<script>", "<img", "<svg", "\u202E"} {
			if i := strings.Index(p, bad); i >= 0 {
				t.Errorf("the %s shows %q: …%s…", name, bad, p[max(0, i-80):min(len(p), i+80)])
			}
		}
		if m := handlerRE.FindString(p); m != "" {
			t.Errorf("the %s has an event handler: %s", name, m)
		}
		for _, m := range hrefRE.FindAllStringSubmatch(p, -1) {
			if !strings.HasPrefix(m[1], "/") && !strings.HasPrefix(m[1], "https://") && !strings.HasPrefix(m[1], "#") {
				t.Errorf("the %s links to %q", name, m[1])
			}
		}
		must(t, strings.Contains(p, `href="https://example.com/x"`), "the %s lost the good link", name)
	}
	got, _ := editor(t, page)
	must(t, strings.Contains(got, "</textarea><script>alert(4)</script>") && strings.Contains(got, "[a](javascript:alert(3))"),
		"the editor does not hold the text as it was saved: %q", got)
}
