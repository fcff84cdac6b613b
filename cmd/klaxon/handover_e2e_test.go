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
		// alice comes on call in a few seconds (the rotation covers
		// nothing before its start): after the incident below is open.
		start := time.Now().Add(4 * time.Second).UTC().Format(time.RFC3339)
		cfg := strings.Replace(chatConfigYAML(f, store), "    telegram: {chat: ", "    schedule: primary\n    telegram: {chat: ", 1)
		cfg += fmt.Sprintf(`schedules:
  - name: primary
    timezone: Asia/Jakarta
    rotation: {every: 168h, start: %q, people: [alice, bob]}
`, start)
		cfgPath := writeFile(t, "klaxon.yaml", cfg)
		base, logs, _ := startServe(t, cfgPath)
		// An incident whose title tries to mention everyone.
		hostile := `{"version":"4","groupKey":"{}:{alertname=\"X\"}","status":"firing","receiver":"k","groupLabels":{"alertname":"X"},
"alerts":[{"status":"firing","fingerprint":"f1","startsAt":"2026-03-02T11:59:00Z","labels":{"alertname":"X","severity":"critical"},
"annotations":{"summary":"<!channel> @all @here <https://evil.example|x>"}}]}`
		if code, body := post(t, base+"/hooks/alertmanager", "application/json", []byte(hostile), nil); code != 200 {
			t.Fatalf("hook: %d %s", code, body)
		}
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
		var slackNotice string
		for _, m := range f.slack.Messages(e2eSlack) {
			if strings.HasPrefix(m.Text, want) {
				slackNotice = m.Text
			}
		}
		if !strings.Contains(slackNotice, " WIB)") || !strings.HasSuffix(slackNotice, "1 incident open: INC-1 &lt;!channel&gt; @all @here &lt;https://evil.example|x&gt; (triggered)") {
			t.Errorf("Slack: %q", slackNotice)
		}
		for _, m := range tgTexts(f, e2eTG) {
			// Telegram breaks mentions and links with a word joiner.
			if strings.HasPrefix(m, want) && (strings.Contains(m, "@all") || strings.Contains(m, "https://evil") || !strings.Contains(m, "INC-1 <!channel>")) {
				t.Errorf("Telegram: %q", m)
			}
		}
		for _, m := range f.mm.Messages(e2eMM) {
			if strings.HasPrefix(strings.ReplaceAll(m.Text, `\`, ""), want) && (strings.Contains(m.Text, " @all") || strings.Contains(m.Text, " @here")) {
				t.Errorf("Mattermost: a live mention in %q", m.Text)
			}
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
