package templates

import (
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// PostmortemData is what postmortem.md.tmpl renders.
type PostmortemData struct {
	Incident   *incidents.Incident
	Now        time.Time
	Duration   string    // opened → resolved (or now)
	TimeToAck  string    // opened → first acknowledgement; "" when none
	FirstAlert time.Time // when the first alert started
	Firing     int
	Resolved   int
	AlertNames string   // the alerts' names, most frequent first, "+N more"
	Responders []string // everyone who acted, in order of first action
	Timeline   []incidents.Event
	Factors    []incidents.Event
	WentWell   []incidents.Event
	WentWrong  []incidents.Event
	Lucky      []incidents.Event
	Notes      []incidents.Event // plain notes
	Actions    []ActionItem
}

// ActionItem is an "action:" note: an owner when the note starts with
// @person, the text, and who noted it when.
type ActionItem struct {
	Owner, Text, By string
	At              time.Time
}

// Postmortem renders inc's blameless postmortem as Markdown, as of now.
func (s *Set) Postmortem(inc *incidents.Incident, now time.Time) (string, error) {
	t, err := s.postmortem.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(funcs(now))
	var w limitWriter
	w.max = maxDocument
	if err := t.ExecuteTemplate(&w, "postmortem.md.tmpl", postmortemData(inc, now)); err != nil {
		return "", err
	}
	return w.String(), nil
}

// maxDocument bounds a rendered postmortem.
const maxDocument = 4 << 20

func postmortemData(inc *incidents.Incident, now time.Time) *PostmortemData {
	d := &PostmortemData{Incident: inc, Now: now, Timeline: inc.Timeline}
	end := now
	if !inc.ResolvedAt.IsZero() {
		end = inc.ResolvedAt
	}
	d.Duration = Duration(end.Sub(inc.CreatedAt))
	d.FirstAlert = inc.CreatedAt
	names := map[string]int{}
	for _, a := range inc.Alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(d.FirstAlert) {
			d.FirstAlert = a.StartsAt
		}
		names[a.Name()]++
	}
	d.Firing, d.Resolved = inc.Counts()
	d.AlertNames = topNames(names, 5)
	seen := map[string]bool{}
	for _, e := range inc.Timeline {
		if e.Actor != "" && e.Actor != "klaxon" && !seen[e.Actor] && e.Kind != incidents.EventTriggered && e.Kind != incidents.EventAlertsFiring && e.Kind != incidents.EventAlertsResolved {
			seen[e.Actor] = true
			d.Responders = append(d.Responders, e.Actor)
		}
		if e.Kind == incidents.EventAcknowledged && d.TimeToAck == "" {
			d.TimeToAck = Duration(e.At.Sub(inc.CreatedAt))
		}
		if e.Kind != incidents.EventNote {
			continue
		}
		switch e.Tag {
		case "factor":
			d.Factors = append(d.Factors, e)
		case "went-well":
			d.WentWell = append(d.WentWell, e)
		case "went-wrong":
			d.WentWrong = append(d.WentWrong, e)
		case "lucky":
			d.Lucky = append(d.Lucky, e)
		case "action":
			d.Actions = append(d.Actions, actionItem(e))
		default:
			d.Notes = append(d.Notes, e)
		}
	}
	return d
}

// actionItem reads "@bob add an alert on pool saturation".
func actionItem(e incidents.Event) ActionItem {
	a := ActionItem{Text: e.Text, By: e.Actor, At: e.At}
	if strings.HasPrefix(e.Text, "@") {
		owner, rest, ok := strings.Cut(e.Text[1:], " ")
		if ok && owner != "" && strings.TrimSpace(rest) != "" {
			a.Owner, a.Text = owner, strings.TrimSpace(rest)
		}
	}
	return a
}

func topNames(counts map[string]int, n int) string {
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if counts[names[i]] != counts[names[j]] {
			return counts[names[i]] > counts[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > n {
		return strings.Join(names[:n], ", ") + ", +" + strconv.Itoa(len(names)-n) + " more"
	}
	return strings.Join(names, ", ")
}

// markdownEscaper escapes what Markdown would read as markup in inline
// text; line breaks become spaces (a table cell, a list item).
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;",
	"#", `\#`, "|", `\|`, "~", `\~`, "\r\n", " ", "\n", " ", "\r", " ",
)

// markdown escapes s for inline use; a list marker or a numbered-list
// start at its beginning is escaped too (a summary starts a paragraph),
// and @ cannot mention anyone where the document is rendered (GitHub).
func markdown(s string) string {
	s = strings.ReplaceAll(markdownEscaper.Replace(strings.TrimSpace(s)), "@", "@\u200b")
	switch {
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "+"), strings.HasPrefix(s, "="):
		return `\` + s
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return s[:i] + `\` + s[i:]
	}
	return s
}

func docFuncs(t *template.Template) *template.Template {
	return t.Funcs(template.FuncMap{
		"spell": func(id string) string {
			// "INC-42" → "I N C 42": read letter by letter, then the number.
			head, num, _ := strings.Cut(id, "-")
			return strings.Join(strings.Split(head, ""), " ") + " " + num
		},
		"md":   markdown,
		"time": func(t time.Time) string { return t.UTC().Format("15:04") },
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	})
}
