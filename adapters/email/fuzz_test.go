package email

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/templates"
)

// The headers a page has; anything else was injected.
var pageHeaders = []string{"Auto-Submitted", "Content-Type", "Date", "From", "In-Reply-To", "Message-Id", "Mime-Version",
	"References", "Subject", "To", "User-Agent", "X-Auto-Response-Suppress", "X-Klaxon-Incident", "X-Klaxon-Severity",
	"X-Klaxon-State", "X-Mailer"}

// The tags of mail.html.tmpl; any other came from the card.
var htmlTags = []string{"html", "head", "meta", "title", "body", "div", "p", "span", "strong", "h1", "table", "tr", "td", "a", "ul", "li"}

var tagRE = regexp.MustCompile(`<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)`)

// FuzzRender renders pages of hostile card text into whole messages: no
// header can be injected (CR/LF in a title, a team, a name), the subject
// reads back as rendered, and the HTML part holds only the template's tags
// and no link that is not http(s).
func FuzzRender(f *testing.F) {
	f.Add("Disk full on db-1", "payments", "<script>alert(1)</script>", "a\r\nBcc: x@example.com", "javascript:alert(1)", "alice")
	f.Add("=?utf-8?q?x?=\r\n\r\n<html>", "t\nX-Evil: 1", "\"><img src=x onerror=alert(1)>", "</p><a href=//evil>", "https://ok.example/\"onmouseover=x", "a\r\nb")
	f.Add(strings.Repeat("Zahlungsverkehr ausgefallen — ", 20), "zählung", "é\u202e\x00", "{{.}}", "http://x.example/{{", "Ölaf")
	base := cards(f)["triggered"]
	s, err := New(Options{Host: "smtp.example.com", From: "klaxon <klaxon@example.com>", Instance: instance, Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, team, summary, value, link, name string) {
		c := *base
		// What templates.Card guarantees of a card's text.
		c.Title = templates.Clean(title, templates.MaxTitle, false)
		if c.Title == "" {
			c.Title = "INC-42"
		}
		c.Summary = templates.Clean(summary, templates.MaxSummary, true)
		c.WhatToDo = templates.Clean(value, templates.MaxWhatToDo, true)
		c.Facts = []templates.Fact{{Name: templates.Clean(name, templates.MaxName, false), Value: templates.Clean(value, templates.MaxValue, false)}}
		c.Alerts = []string{templates.Clean(summary, templates.MaxLine, false)}
		// Links and the page's other fields are not cleaned.
		c.Links = []templates.Link{{Kind: templates.LinkRunbook, Text: value, URL: link}}
		p := Page{To: "alice@example.com", Name: name, Card: &c, Team: team, Reason: summary, Update: true, Key: value}
		msg, m, err := s.message(p)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		head, _, _ := bytes.Cut(buf.Bytes(), []byte("\r\n\r\n"))
		for _, line := range bytes.Split(head, []byte("\r\n")) {
			if len(line) > 998 || bytes.ContainsAny(line, "\r\n\x00") {
				t.Fatalf("header line of %d bytes: %q", len(line), line)
			}
		}
		got := parse(t, buf.Bytes())
		for k := range got.Header {
			if !slices.Contains(pageHeaders, k) {
				t.Fatalf("header %q injected:\n%s", k, buf.Bytes())
			}
		}
		if got.Subject != m.Subject || strings.ContainsAny(got.Subject, "\r\n") {
			t.Fatalf("subject %q read back as %q", m.Subject, got.Subject)
		}
		if got.Header.Get("In-Reply-To") != "<"+s.ThreadID("INC-42")+">" {
			t.Fatalf("In-Reply-To %q", got.Header.Get("In-Reply-To"))
		}
		for _, tag := range tagRE.FindAllStringSubmatch(got.HTML, -1) {
			if !slices.Contains(htmlTags, strings.ToLower(tag[1])) {
				t.Fatalf("tag %q in the HTML:\n%s", tag[0], got.HTML)
			}
		}
		for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(got.HTML, -1) {
			if !strings.HasPrefix(href[1], "https://") && !strings.HasPrefix(href[1], "http://") {
				t.Fatalf("link %q in the HTML", href[1])
			}
		}
		if strings.Contains(strings.ToLower(got.HTML), "javascript:") && !strings.Contains(strings.ToLower(c.Title+c.Summary+value+name+summary+team), "javascript:") {
			t.Fatal("javascript: appeared from nowhere")
		}
		if !strings.Contains(got.Text, c.Title) {
			t.Fatalf("text part lacks the title %q", c.Title)
		}
	})
}
