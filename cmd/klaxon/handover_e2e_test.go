package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/slack/slackfake"
)

// A rotation that starts a minute ago is a handover (from nobody): klaxon
// announces it through the strict fakes in each of the team's channels
// and by direct message to the person on every platform, once.
func TestHandoverEndToEnd(t *testing.T) {
	eachStore(t, "e2e-handover", func(t *testing.T, store string) {
		f := startFakes(t)
		f.mm.AddUser(aliceMM, "alice")
		start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		cfg := strings.Replace(chatConfigYAML(f, store), "    telegram: {chat: ", "    schedule: primary\n    telegram: {chat: ", 1)
		cfg += fmt.Sprintf(`schedules:
  - name: primary
    timezone: Asia/Jakarta
    rotation: {every: 168h, start: %q, people: [alice, bob]}
`, start)
		cfgPath := writeFile(t, "klaxon.yaml", cfg)
		_, logs, _ := startServe(t, cfgPath)
		began := time.Now()
		const want = "alice is now on call for payments (until "
		waitUntil(t, 20*time.Second, "the handover everywhere", func() bool {
			n := 0
			for _, ms := range [][]string{
				texts(f.slack.Messages(e2eSlack)), texts(f.slack.Messages(slackfake.DirectChannel("UALICE"))),
				mmTexts(f, e2eMM), mmTexts(f, f.mm.DirectChannel(aliceMM)),
				tgTexts(f, e2eTG), tgTexts(f, "111"),
			} {
				for _, m := range ms {
					if strings.HasPrefix(m, want) {
						n++
					}
				}
			}
			if n != 6 && time.Since(began) > 15*time.Second {
				t.Logf("slack %q dm %q\nmm %q dm %q\ntg %q dm %q\n%s", texts(f.slack.Messages(e2eSlack)), texts(f.slack.Messages(slackfake.DirectChannel("UALICE"))),
					mmTexts(f, e2eMM), mmTexts(f, f.mm.DirectChannel(aliceMM)), tgTexts(f, e2eTG), tgTexts(f, "111"), logs.String())
				began = time.Now()
			}
			return n == 6
		})
		// Slack and Telegram write the zone as Jakarta's WIB.
		if m := texts(f.slack.Messages(e2eSlack)); len(m) != 1 || !strings.Contains(m[0], " WIB)") || !strings.HasSuffix(m[0], "no incidents open.") {
			t.Errorf("Slack: %q", m)
		}
		if n := len(f.slack.Messages(e2eSlack)) + len(f.tg.Messages(e2eTG)) + len(f.mm.Messages(e2eMM)); n != 3 {
			t.Errorf("%d channel messages, want 3\n%s", n, logs.String())
		}
		if v := f.violations(); len(v) > 0 {
			t.Errorf("violations: %v", v)
		}
	})
}

func texts(ms []slackfake.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func mmTexts(f *fakes, ch string) []string {
	var out []string
	if ch == "" {
		return nil
	}
	for _, m := range f.mm.Messages(ch) {
		// Mattermost's text is Markdown, its punctuation escaped.
		out = append(out, strings.ReplaceAll(m.Text, `\`, ""))
	}
	return out
}

func tgTexts(f *fakes, chat string) []string {
	var out []string
	for _, m := range f.tg.Messages(chat) {
		out = append(out, m.Text)
	}
	return out
}
