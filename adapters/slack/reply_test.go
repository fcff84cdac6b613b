package slack

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
		t.Fatalf("%v (run go test ./adapters/slack -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from %s (go test ./adapters/slack -update rewrites it)\ngot:\n%s", name, path, got)
	}
}

var mrkdwnLink = regexp.MustCompile(`<([^<>|]*)\|([^<>]*)>`)

// A Reply's links are mrkdwn links when they are klaxon's own (under the
// public URL), text otherwise; its choices are buttons carrying their
// keys; pressing one replaces the ephemeral message that offered them.
func TestReplyLinksAndChoices(t *testing.T) {
	h := &recorder{reply: chatops.Reply{Ephemeral: true,
		Text: "2 incidents are open here (INC-2, INC-1): which one? <!channel> https://evil.example.com/x",
		Links: []chatops.Link{
			{Text: "INC-1-postmortem.md (the latest draft)", URL: testPublicURL + "/api/v1/incidents/INC-1/postmortem.md"},
			{Text: "elsewhere", URL: "https://evil.example.com/k/api"},
			{Text: "climbing out", URL: testPublicURL + "/../admin"},
			{Text: "<!here> & co|x", URL: testPublicURL + "/api/v1/incidents?state=open&team=a"},
		},
		Choices: []chatops.Choice{
			{Label: "INC-2 · <!channel> & co " + strings.Repeat("long ", 30), Key: "k2.s.2.ack.mac2"},
			{Label: "INC-1 · Disk full", Key: "k2.s.1.ack.mac1"},
			{Label: "INC-0 · a key with a space", Key: "k2 s"},
		}}}
	e := newInbound(t, h)
	e.in.publicURL = testPublicURL
	w := send(t, e.in.Commands(), testSecret, testNow.Unix(), commandForm("ack", e.fake.ResponseURL()))
	a := decodeAnswer(t, w)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, w.Body.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	goldenBytes(t, "answer-links-choices", pretty.Bytes())
	checkWithFake(t, e.fake, w.Body.Bytes())

	var links, buttons []string
	plainLinks := 0
	for _, raw := range a.Blocks {
		var b struct {
			Type     string
			BlockID  string `json:"block_id"`
			Text     struct{ Type, Text string }
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string
				Text     struct{ Type, Text string }
			}
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		switch b.BlockID {
		case BlockLinks:
			if b.Text.Type != "mrkdwn" {
				t.Errorf("links block %s", raw)
			}
			for _, m := range mrkdwnLink.FindAllStringSubmatch(b.Text.Text, -1) {
				links = append(links, m[1])
			}
			if strings.Contains(b.Text.Text, "<!") || strings.Contains(b.Text.Text, "evil.example.com") {
				t.Errorf("links text %q", b.Text.Text)
			}
		case BlockChoices:
			for _, el := range b.Elements {
				if el.Text.Type != "plain_text" || len([]rune(el.Text.Text)) > MaxButtonTextLen || !strings.HasPrefix(el.ActionID, ChoiceActionIDPrefix) {
					t.Errorf("choice button %+v", el)
				}
				buttons = append(buttons, el.Value)
			}
		default:
			if strings.Contains(string(raw), "mrkdwn") {
				t.Errorf("the reply's text is not plain_text: %s", raw)
			}
			if strings.Contains(string(raw), "evil.example.com/k/api") {
				plainLinks++
			}
		}
	}
	want := []string{testPublicURL + "/api/v1/incidents/INC-1/postmortem.md", testPublicURL + "/api/v1/incidents?state=open&amp;team=a"}
	if strings.Join(links, " ") != strings.Join(want, " ") {
		t.Errorf("links to %q, want %q", links, want)
	}
	if plainLinks != 1 {
		t.Error("a link that is not klaxon's is not shown as plain text")
	}
	if strings.Join(buttons, " ") != "k2.s.2.ack.mac2 k2.s.1.ack.mac1" {
		t.Errorf("choice buttons %q", buttons)
	}
	// Without a public URL, no link.
	e.in.publicURL = ""
	if w := send(t, e.in.Commands(), testSecret, testNow.Unix()-1, commandForm("ack", e.fake.ResponseURL())); mrkdwnLink.MatchString(w.Body.String()) {
		t.Errorf("a link without a public URL: %s", w.Body)
	}

	// A choice pressed: its answer replaces the message that offered it.
	h.mu.Lock()
	h.reply = chatops.Reply{Text: "INC-2: Acknowledged by bob.", Ephemeral: true}
	h.mu.Unlock()
	respURL := e.fake.ResponseURL()
	p := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U0BOB", "username": "bob"},
		"channel": map[string]any{"id": testCh}, "container": map[string]any{"type": "message", "message_ts": "1712345678.000300", "is_ephemeral": true},
		"response_url": respURL,
		"actions":      []any{map[string]any{"action_id": ChoiceActionIDPrefix + "1", "block_id": BlockChoices, "value": "k2.s.2.ack.mac2", "type": "button"}},
	}
	send(t, e.in.Interactions(), testSecret, testNow.Unix(), interactionForm(p))
	e.in.Wait()
	rs := e.fake.WaitResponses(2, 3*time.Second)
	if len(rs) != 2 || rs[1].ReplaceOriginal == nil || !*rs[1].ReplaceOriginal || rs[1].Text != "INC-2: Acknowledged by bob." {
		t.Fatalf("responses %+v", rs)
	}
	if got := h.requests(); got[len(got)-1].Button != "k2.s.2.ack.mac2" {
		t.Errorf("request %+v", got[len(got)-1])
	}
	// A card's button keeps its card: replace_original false.
	p["actions"] = []any{map[string]any{"action_id": "klaxon:ack", "value": "k2.s.2.ack.mac2", "type": "button"}}
	p["response_url"] = e.fake.ResponseURL()
	send(t, e.in.Interactions(), testSecret, testNow.Unix()-2, interactionForm(p))
	e.in.Wait()
	if rs := e.fake.WaitResponses(3, 3*time.Second); len(rs) != 3 || rs[2].ReplaceOriginal == nil || *rs[2].ReplaceOriginal {
		t.Fatalf("responses %+v", rs)
	}
	if v := e.fake.Violations(); len(v) != 0 {
		t.Error(v)
	}
}
