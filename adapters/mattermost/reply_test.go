package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/klaxonbot/klaxon/chatops"
)

const testPublicURL = "https://klaxon.example.com/k"

// goldenText compares got with testdata/name.golden (-update rewrites it).
func goldenText(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/mattermost -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from %s (go test ./adapters/mattermost -update rewrites it)\ngot:\n%s", name, path, got)
	}
}

var markdownLink = regexp.MustCompile(`\]\(([^)]*)\)`)

// klaxon's own links are real links, their URLs as they are; URLs in the
// text, and links that are not under the public URL, stay data.
func TestReplyLinks(t *testing.T) {
	r := chatops.Reply{Text: "Postmortem draft of INC-1: see http://evil.example.com/x @channel", Links: []chatops.Link{
		{Text: "INC-1-postmortem.md (the latest draft)", URL: testPublicURL + "/api/v1/incidents/INC-1/postmortem.md"},
		{Text: "elsewhere", URL: "https://evil.example.com/k/api"},
		{Text: "next door", URL: "https://klaxon.example.com/kk/api"},
		{Text: "climbing out", URL: testPublicURL + "/../admin"},
		{Text: "[x](http://e.com) @all", URL: testPublicURL + "/api/v1/incidents?state=open&team=(a)"},
	}}
	got := replyText(r, testPublicURL)
	goldenText(t, "reply-links", []byte(got+"\n"))
	checkMarkdown(t, "reply", got)
	var urls []string
	for _, m := range markdownLink.FindAllStringSubmatch(got, -1) {
		urls = append(urls, m[1])
	}
	want := []string{testPublicURL + "/api/v1/incidents/INC-1/postmortem.md", testPublicURL + "/api/v1/incidents?state=open&amp;team=%28a%29"}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("links to %q, want %q", urls, want)
	}
	if strings.Contains(strings.Join(urls, ""), string(wordJoiner)) {
		t.Error("a word joiner inside a link's URL")
	}
	if !strings.Contains(got, "http:\u2060//evil") {
		t.Errorf("the text's URL is not neutralised: %q", got)
	}
	// Without klaxon's public URL nothing is trusted.
	if got := replyText(r, ""); markdownLink.MatchString(got) {
		t.Errorf("a link without a public URL: %q", got)
	}
	// With a document, the links come before it, and all fits.
	r.Document = &chatops.Document{Name: "INC-1-postmortem.md", Title: "Postmortem", Content: strings.Repeat("line\n", 10000)}
	got = replyText(r, testPublicURL)
	if n := len([]rune(got)); n > MaxRunes || !strings.Contains(got, "team=%28a%29)\n\n#### Postmortem") {
		t.Errorf("with a document: %d runes: %.600q", n, got)
	}
}

// A command answered with Choices shows a button each, on the ephemeral
// answer: klaxon's key and the incident's card in the context, the label
// as plain text; choices without a card or a usable key are left out.
func TestCommandChoices(t *testing.T) {
	const card1, card2 = "cardpost1aaaaaaaaaaaaaaaaa", "cardpost2aaaaaaaaaaaaaaaaa"
	reply := chatops.Reply{Ephemeral: true,
		Text: "2 incidents are open here (INC-2, INC-1): which one? Choose below, or name it: /incident ack INC-2",
		Choices: []chatops.Choice{
			{Label: "INC-2 · Checkout @channel errors on www.example.com", Key: "k3.m.2.ack.abcdef.t5x.mac", Card: card2},
			{Label: "INC-1 · no card here", Key: "k3.m.1.ack.abcdef.t5x.mac"},
			{Label: "INC-0 · no key", Card: card1},
			{Label: "INC-1 · " + strings.Repeat("long title ", 20), Key: "k3.m.1.ack.abcdef.t5x.mac", Card: card1},
		}}
	in, err := NewInbound(InboundOptions{CommandToken: "tok", ActionURL: testActionURL, PublicURL: testPublicURL,
		Handler:     chatops.HandlerFunc(func(context.Context, chatops.Request) chatops.Reply { return reply }),
		CheckButton: func(context.Context, chatops.Request) (string, chatops.Reply) { return "", chatops.Reply{} },
		Members:     yes{}})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {"tok"}, "channel_id": {"chanaaaaaaaaaaaaaaaaaaaaaa"}, "user_id": {"useraaaaaaaaaaaaaaaaaaaaaa"}, "text": {"ack"}}
	w := httptest.NewRecorder()
	in.Commands().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/mattermost/commands", strings.NewReader(form.Encode())))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, w.Body.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	goldenText(t, "command-choices", append(pretty.Bytes(), '\n'))
	var a model.CommandResponse // as Mattermost reads it
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if a.ResponseType != "ephemeral" || len(a.Attachments) != 1 || len(a.Attachments[0].Actions) != 2 {
		t.Fatalf("answer %s", w.Body)
	}
	for i, act := range a.Attachments[0].Actions {
		checkPlain(t, "choice button", act.Name)
		if len([]rune(act.Name)) > maxChoiceLabel || act.Integration.URL != testActionURL {
			t.Errorf("button %d: %+v", i, act)
		}
		if card := act.Integration.Context["card"]; card != []string{card2, card1}[i] || act.Integration.Context["key"] == "" {
			t.Errorf("button %d context %v", i, act.Integration.Context)
		}
	}
	if err := a.Attachments[0].IsValid(); err != nil {
		t.Error(err)
	}
	// No action URL: the text alone.
	in.actionURL = ""
	w = httptest.NewRecorder()
	in.Commands().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/mattermost/commands", strings.NewReader(form.Encode())))
	if strings.Contains(w.Body.String(), "attachments") || !strings.Contains(w.Body.String(), "which one?") {
		t.Errorf("without an action URL: %s", w.Body)
	}
}

type yes struct{}

func (yes) IsMember(context.Context, string, string) (bool, error) { return true, nil }
