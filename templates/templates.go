// Package templates turns incidents into what people read: the
// platform-neutral Card that the chat adapters compile for Slack, Mattermost
// and Telegram. Its wording comes from text/templates embedded in the binary
// (card.tmpl); users may override any of them from a directory, and a
// broken override is an error when the templates are loaded (klaxon
// check-config), never at 3 a.m.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

//go:embed card.tmpl postmortem.md.tmpl phone.tmpl
var builtin embed.FS

// Files are the template files a templates_dir may hold.
var Files = []string{"card.tmpl", "postmortem.md.tmpl", "phone.tmpl"}

// parts are the named templates a card needs.
var parts = []string{"title", "status", "owner", "notice", "summary", "what_to_do", "alert"}

// Set is a loaded, checked set of templates. It is safe for concurrent use.
type Set struct {
	card       *template.Template
	postmortem *template.Template
	phone      *template.Template
	// silences are the incident sources whose open incidents get a
	// Silence button (WithSilences).
	silences []string
}

// WithSilences returns a copy of s whose cards offer Silence buttons (1h,
// 4h, 24h) on the open incidents of these sources (those klaxon can
// silence at).
func (s *Set) WithSilences(sources ...string) *Set {
	c := *s
	c.silences = append([]string(nil), sources...)
	return &c
}

// Load parses the built-in templates and then, when dir is not empty, the
// files of dir named in Files, whose {{define}}s replace the built-in ones.
// It renders every part against sample incidents, so that an error (a bad
// field, a bad function call) is reported now with its file and line.
func Load(dir string) (*Set, error) {
	trees := map[string]*template.Template{}
	for _, name := range Files {
		t := docFuncs(template.New(name).Funcs(funcs(time.Now()))).Option("missingkey=zero")
		src, err := fs.ReadFile(builtin, name)
		if err != nil {
			return nil, err
		}
		if _, err := t.Parse(string(src)); err != nil {
			return nil, fmt.Errorf("built-in %s: %w", name, err)
		}
		trees[name] = t
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("templates_dir: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
				continue
			}
			t := trees[e.Name()]
			if t == nil {
				return nil, fmt.Errorf("templates_dir: %s is not a klaxon template (known: %s)", e.Name(), strings.Join(Files, ", "))
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("templates_dir: %w", err)
			}
			if e.Name() == "postmortem.md.tmpl" {
				// The whole document: the file replaces the built-in one.
				if _, err := t.Parse(string(b)); err != nil {
					return nil, fmt.Errorf("templates_dir: %w", err)
				}
				continue
			}
			if _, err := t.New(filepath.Join(dir, e.Name())).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("templates_dir: %w", err)
			}
		}
	}
	s := &Set{card: trees["card.tmpl"], postmortem: trees["postmortem.md.tmpl"], phone: trees["phone.tmpl"]}
	for _, inc := range samples() {
		now := inc.CreatedAt.Add(90 * time.Minute)
		if _, err := s.render(inc, now); err != nil {
			return nil, err
		}
		if _, err := s.Postmortem(inc, now); err != nil {
			return nil, fmt.Errorf("postmortem.md.tmpl: %w", err)
		}
		if _, err := s.CallText(inc, now); err != nil {
			return nil, fmt.Errorf("phone.tmpl: %w", err)
		}
	}
	return s, nil
}

// MustBuiltin returns the built-in templates; it panics only if the binary's
// own templates are broken (a test catches that).
func MustBuiltin() *Set {
	s, err := Load("")
	if err != nil {
		panic(err)
	}
	return s
}

// maxPart bounds what one template may render, whatever a user template
// does (a card shows far less).
const maxPart = 64 << 10

// limitWriter fails writes beyond max bytes (maxPart when zero).
type limitWriter struct {
	bytes.Buffer
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	max := w.max
	if max == 0 {
		max = maxPart
	}
	if w.Len()+len(p) > max {
		return 0, fmt.Errorf("renders more than %d KiB", max>>10)
	}
	return w.Buffer.Write(p)
}

// exec renders one named part of t with data.
func exec(t *template.Template, name string, data any) (string, error) {
	var w limitWriter
	if err := t.ExecuteTemplate(&w, name, data); err != nil {
		return "", fmt.Errorf("template %q: %w", name, err)
	}
	return w.String(), nil
}

// funcs are the functions templates may call; since and ago count from now.
func funcs(now time.Time) template.FuncMap {
	return template.FuncMap{
		"since":     func(t time.Time) string { return Duration(now.Sub(t)) },
		"ago":       func(t time.Time) string { return Duration(now.Sub(t)) + " ago" },
		"duration":  func(from, to time.Time) string { return Duration(to.Sub(from)) },
		"stateWord": StateWord,
		"clock":     func(t time.Time) string { return t.UTC().Format("Mon 15:04 UTC") },
	}
}

// StateWord is how cards and replies name a state: "Triggered".
func StateWord(s incidents.State) string {
	switch s {
	case incidents.Triggered:
		return "Triggered"
	case incidents.Acknowledged:
		return "Acknowledged"
	case incidents.Resolved:
		return "Resolved"
	}
	return string(s)
}

// Duration renders d as people say it on call: "45s", "12m", "3h 5m", "2d 4h".
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %dh", days, h)
}

// samples are incidents in every state, used to check templates at load.
func samples() []*incidents.Incident {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := &incidents.Batch{Source: "alertmanager", GroupKey: "sample", Title: "Sample alert", ExternalURL: "http://alertmanager:9093",
		Alerts: []incidents.Alert{{
			Fingerprint: "f1", Status: incidents.AlertFiring, Severity: incidents.Sev2, StartsAt: t0,
			Labels:      map[string]string{"alertname": "Sample", "instance": "host-1", "service": "api"},
			Annotations: map[string]string{"summary": "Sample summary", "description": "Sample description", "runbook_url": "https://runbooks.example.com/sample"},
		}, {
			Fingerprint: "f2", Status: incidents.AlertResolved, Severity: incidents.Sev3, StartsAt: t0, EndsAt: t0.Add(time.Minute),
			Labels: map[string]string{"alertname": "Other"},
		}}}
	triggered := incidents.NewIncident(1, b, t0)
	acked := triggered.Clone()
	_ = acked.Apply(incidents.Acknowledge, "alice", "", t0.Add(time.Minute))
	resolved := acked.Clone()
	_ = resolved.Apply(incidents.Resolve, "bob", "", t0.Add(time.Hour))
	bare := incidents.NewIncident(2, &incidents.Batch{Source: "webhook", GroupKey: "bare",
		Alerts: []incidents.Alert{{Fingerprint: "x", Status: incidents.AlertFiring}}}, t0)
	return []*incidents.Incident{triggered, acked, resolved, bare}
}
