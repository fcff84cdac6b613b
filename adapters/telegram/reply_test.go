package telegram

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/telegram/telegramfake"
	"github.com/klaxonbot/klaxon/chatops"
)

const testPublicURL = "https://klaxon.example.com/k"

func goldenBytes(t *testing.T, name string, got []byte) {
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
		t.Fatalf("%v (run go test ./adapters/telegram -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from %s (go test ./adapters/telegram -update rewrites it)\ngot:\n%s", name, path, got)
	}
}

// A Reply's links are <a href> links when they are klaxon's own (under the
// public URL), neutralised text otherwise; its choices are an inline
// keyboard under the reply whose callback data are their keys.
func TestReplyLinksAndChoices(t *testing.T) {
	s := telegramfake.New(telegramfake.Options{})
	defer s.Close()
	h := &recorder{reply: func(r chatops.Request) chatops.Reply {
		if r.Button != "" {
			return chatops.Reply{Text: "INC-2: Acknowledged by alice."}
		}
		return chatops.Reply{Ephemeral: true,
			Text: "2 incidents are open here (INC-2, INC-1): which one? @channel https://evil.example.com/x",
			Links: []chatops.Link{
				{Text: "INC-1-postmortem.md (the latest draft)", URL: testPublicURL + "/api/v1/incidents/INC-1/postmortem.md"},
				{Text: "elsewhere", URL: "https://evil.example.com/k/api"},
				{Text: "climbing out", URL: testPublicURL + "/../admin"},
				{Text: "<b>x</b> & @all", URL: testPublicURL + "/api/v1/incidents?state=open&team=a"},
			},
			Choices: []chatops.Choice{
				{Label: "INC-2 · <b>Checkout</b> @channel " + strings.Repeat("long ", 30), Key: "k2.t.2.ack.mac2"},
				{Label: "INC-1 · Disk full", Key: "k2.t.1.ack.mac1"},
				{Label: "INC-0 · a key too long", Key: strings.Repeat("k", 65)},
			}}
	}}
	in := newInbound(t, s, h, nil, testSecret)
	in.public = testPublicURL
	if w := deliver(t, in, testSecret, s.UserMessage(chatID, alice, "/ack", 0)); w.Code != http.StatusOK {
		t.Fatal(w.Code)
	}
	m := s.Messages(chat)
	if len(m) != 1 || len(m[0].Replies) != 1 {
		t.Fatalf("messages %+v", m)
	}
	kb, _ := json.MarshalIndent(m[0].ReplyKeys[0], "", "  ")
	goldenBytes(t, "reply-links-choices", []byte(m[0].RepliesHTML[0]+"\n"+string(kb)+"\n"))
	want := []string{testPublicURL + "/api/v1/incidents/INC-1/postmortem.md", testPublicURL + "/api/v1/incidents?state=open&team=a"}
	if links := m[0].ReplyLinks[0]; strings.Join(links, " ") != strings.Join(want, " ") {
		t.Errorf("links to %q, want %q", links, want)
	}
	if shown := m[0].Replies[0]; !strings.Contains(shown, "https:\u2060//evil") || !strings.Contains(shown, "elsewhere: https:\u2060//evil.\u2060example.\u2060com/k/api") {
		t.Errorf("shown %q", shown)
	}
	keys := m[0].ReplyKeys[0]
	if len(keys) != 2 || keys[0][0].CallbackData != "k2.t.2.ack.mac2" || keys[1][0].CallbackData != "k2.t.1.ack.mac1" {
		t.Fatalf("keyboard %+v", keys)
	}
	// Pressing a choice: the key comes back, the answer is a toast.
	deliver(t, in, testSecret, s.Press(chatID, m[0].ReplyIDs[0], alice, keys[0][0].CallbackData))
	if reqs := h.requests(); len(reqs) != 2 || reqs[1].Button != "k2.t.2.ack.mac2" {
		t.Errorf("requests %+v", reqs)
	}
	if a := s.CallbackAnswers(); len(a) != 1 || a[0].Text != "INC-2: Acknowledged by alice." {
		t.Errorf("answers %+v", a)
	}
	// Without a public URL, no link.
	in.public = ""
	deliver(t, in, testSecret, s.UserMessage(chatID, alice, "/ack", 0))
	if m := s.Messages(chat); len(m[len(m)-1].ReplyLinks[0]) != 0 {
		t.Errorf("links without a public URL: %q", m[len(m)-1].ReplyLinks)
	}
	noViolations(t, s)
}
