package email

// This file renders a page: its subject, its plain-text and HTML bodies,
// and the Message-IDs that thread an incident's mails.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
)

// MaxSubject bounds a subject, in runes; longer ones are cut with "…"
// (and folded into lines of at most 78 characters when sent).
const MaxSubject = 200

// Page is one mail to one person about an incident.
type Page struct {
	// To is the recipient, "alice@example.com" or "Alice <alice@example.com>".
	To string
	// Name is the person's name in klaxon, shown in the footer; may be "".
	Name string
	// Card is the incident's card. Required.
	Card *templates.Card
	// Team is the incident's team, in the subject; may be "".
	Team string
	// IncidentURL is the incident's page; http(s), may be "".
	IncidentURL string
	// AckURL is the signed, single-use acknowledge link: it opens a
	// confirmation page whose button acknowledges (a GET never acts, as mail
	// scanners follow links). http(s), may be ""; shown only while the
	// incident is triggered.
	AckURL string
	// Update is false for the first mail about the incident to this
	// person, which carries the incident's stable thread Message-ID; true
	// for the later ones, which answer it (In-Reply-To, References) so
	// that mail clients show one thread.
	Update bool
	// Key identifies an update among the incident's mails (the outbox
	// entry, say): the same Key gives the same Message-ID, so a retried
	// send is a duplicate mail clients recognise. "" = a random one.
	Key string
	// Subject, if set, is the subject instead of Subject(Card, Team): give
	// updates the first mail's subject, as Gmail threads only mails whose
	// subjects match, and the severity or title may have changed since.
	Subject string
	// Reason, if set, is one line on why the person gets this mail, e.g.
	// "You are on call for payments."
	Reason string
}

// Mail is a rendered page.
type Mail struct {
	Subject   string
	Text      string // the text/plain part
	HTML      string // the text/html part
	MessageID string // without the angle brackets
	InReplyTo string // the thread's first Message-ID for an update, else ""
}

// Subject is the subject of mails about card's incident:
// "[klaxon] SEV1 INC-42 payments: Disk full on db-1", on one line, at
// most MaxSubject runes.
func Subject(card *templates.Card, team string) string {
	s := "[klaxon] " + card.Severity.String() + " " + card.IncidentID
	if team = templates.Clean(team, 100, false); team != "" {
		s += " " + team
	}
	return templates.Clean(s+": "+card.Title, MaxSubject, false)
}

// ThreadID is the Message-ID (without angle brackets) of the first mail
// about incident incidentID sent by the klaxon at instance from domain:
// "INC-42.<12 hex digits>@domain", the digits a hash of instance and the
// incident, so that two klaxons' INC-42 never share a thread.
func ThreadID(incidentID, instance, domain string) string {
	sum := sha256.Sum256([]byte(instance + "\x00" + incidentID))
	return idPart(incidentID) + "." + hex.EncodeToString(sum[:6]) + "@" + domain
}

// updateID is the Message-ID of an update with key ("" = random).
func updateID(thread, key string) string {
	local, domain, _ := strings.Cut(thread, "@")
	var suffix string
	if key != "" {
		sum := sha256.Sum256([]byte(thread + "\x00" + key))
		suffix = hex.EncodeToString(sum[:8])
	} else {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		suffix = hex.EncodeToString(b)
	}
	return local + "." + suffix + "@" + domain
}

// idPart is id with anything but letters, digits and "-" made "-", for the
// left of a Message-ID.
func idPart(id string) string {
	out := []byte(id)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			out[i] = '-'
		}
	}
	if len(out) == 0 {
		return "incident"
	}
	if len(out) > 64 {
		out = out[:64]
	}
	return string(out)
}

//go:embed mail.txt.tmpl mail.html.tmpl
var files embed.FS

var (
	textTmpl = texttemplate.Must(texttemplate.New("mail.txt.tmpl").ParseFS(files, "mail.txt.tmpl"))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("mail.html.tmpl").ParseFS(files, "mail.html.tmpl"))
)

// view is what the mail templates see.
type view struct {
	Card        *templates.Card
	Subject     string
	Team        string
	Severity    string // "SEV1"
	State       string // "Triggered"
	Mark        string // 🔴 or ✅
	Accent      htmltemplate.CSS
	AccentText  htmltemplate.CSS
	IncidentURL string
	AckURL      string // "" unless triggered
	Facts       []templates.Fact
	Links       []templates.Link
	Recipient   string
	Reason      string
}

// accent is the severity's colour (the state's once resolved) and the text
// colour that reads on it; fixed colours with their own text colour look
// the same in light and dark mode.
func accent(c *templates.Card) (bg, fg htmltemplate.CSS) {
	if c.State == incidents.Resolved {
		return "#2e7d32", "#ffffff"
	}
	switch c.Severity {
	case incidents.Sev1:
		return "#c62828", "#ffffff"
	case incidents.Sev2:
		return "#e65100", "#ffffff"
	case incidents.Sev3:
		return "#f9a825", "#000000"
	case incidents.Sev4:
		return "#1565c0", "#ffffff"
	}
	return "#616161", "#ffffff"
}

// render renders p, whose card and URLs are checked, for the thread
// thread (a ThreadID).
func render(p Page, thread, recipient string) (*Mail, error) {
	c := p.Card
	subject := p.Subject
	if subject == "" {
		subject = Subject(c, p.Team)
	} else {
		subject = templates.Clean(subject, MaxSubject, false)
	}
	v := view{
		Card: c, Subject: subject, Team: templates.Clean(p.Team, 100, false),
		Severity: c.Severity.String(), State: templates.StateWord(c.State), Mark: templates.SeverityMark(c.Severity),
		IncidentURL: p.IncidentURL, Recipient: recipient, Reason: templates.Clean(p.Reason, 300, false),
	}
	if c.State == incidents.Resolved {
		v.Mark = "✅"
	}
	if c.State == incidents.Triggered {
		v.AckURL = p.AckURL
	}
	v.Accent, v.AccentText = accent(c)
	for _, f := range c.Facts {
		v.Facts = append(v.Facts, templates.Fact{Name: templates.Clean(f.Name, templates.MaxName, false), Value: templates.Clean(f.Value, templates.MaxValue, false)})
	}
	for _, l := range c.Links {
		if u, ok := templates.SafeURL(l.URL); ok {
			v.Links = append(v.Links, templates.Link{Kind: l.Kind, Text: templates.Clean(l.Text, 100, false), URL: u})
		}
	}
	var text, html bytes.Buffer
	if err := textTmpl.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("email: rendering the text part: %w", err)
	}
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("email: rendering the HTML part: %w", err)
	}
	m := &Mail{Subject: subject, Text: text.String(), HTML: html.String(), MessageID: thread}
	if p.Update {
		m.MessageID, m.InReplyTo = updateID(thread, p.Key), thread
	}
	return m, nil
}

// checkPage checks what Send and Render need of p, and returns its parsed
// recipient.
func checkPage(p Page) (*mail.Address, error) {
	if p.Card == nil {
		return nil, errors.New("email: a page needs a card")
	}
	to, err := parseAddress(p.To)
	if err != nil {
		return nil, fmt.Errorf("email: recipient: %w", err)
	}
	for name, u := range map[string]string{"incident URL": p.IncidentURL, "acknowledge URL": p.AckURL} {
		if u == "" {
			continue
		}
		if _, ok := templates.SafeURL(u); !ok {
			return nil, fmt.Errorf("email: the %s is not an http(s) URL without spaces or credentials", name)
		}
	}
	return to, nil
}

// parseAddress parses one address ("a@example.com" or "Name
// <a@example.com>") that can be put in a header as it is: no line breaks
// or control characters, an ASCII domain.
func parseAddress(s string) (*mail.Address, error) {
	if s == "" {
		return nil, errors.New("no address")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("address %q holds control characters", templates.Clean(s, 80, false))
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an e-mail address like alice@example.com", templates.Clean(s, 80, false))
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	for i := 0; i < len(domain); i++ {
		if domain[i] >= 0x7f {
			return nil, fmt.Errorf("address %q: write the domain in its ASCII (xn--) form", templates.Clean(s, 80, false))
		}
	}
	return a, nil
}
