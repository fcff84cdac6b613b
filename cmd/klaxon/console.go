package main

import (
	"encoding/json"
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/slack"
	"github.com/klaxonbot/klaxon/adapters/telegram"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/console"
	"github.com/klaxonbot/klaxon/templates"
)

// What the web console needs of the chat adapters, which only main may
// import: each platform's card as klaxon sends it, and links to cards.

// previewKey stands for a button's signed key in a preview: the page
// shows no key that would work.
func previewKey(a templates.Action) string { return "PREVIEW-" + string(a.ID) }

// consoleDeps wires the adapters' compilers and card links for the
// platforms cfg configures.
func consoleDeps(cfg *bot.Config) bot.ConsoleDeps {
	mmURL := ""
	if cfg.Mattermost != nil {
		mmURL = strings.TrimRight(cfg.Mattermost.URL, "/")
	}
	actionURL := ""
	if cfg.Server.PublicURL != "" {
		actionURL = strings.TrimRight(cfg.Server.PublicURL, "/") + "/mattermost/actions"
	}
	return bot.ConsoleDeps{
		Previews: func(c *templates.Card) []console.Preview {
			var out []console.Preview
			if cfg.Slack != nil {
				out = append(out, slackPreview(slack.Compile(c, previewKey)))
			}
			if cfg.Mattermost != nil {
				out = append(out, mattermostPreview(mattermost.Compile(c, previewKey, actionURL)))
			}
			if cfg.Telegram != nil {
				out = append(out, telegramPreview(telegram.Compile(c, previewKey)))
			}
			return out
		},
		CardURL: func(platform, dest, ref string) string { return cardURL(platform, ref, mmURL) },
	}
}

// cardURL opens a card: Slack's archive link (the workspace follows from
// the signed-in browser), Mattermost's permalink, a Telegram supergroup
// message's link (for its members).
func cardURL(platform, ref, mmURL string) string {
	switch platform {
	case bot.Slack:
		ch, ts, err := slack.ParseRef(ref)
		if err != nil {
			return ""
		}
		return "https://slack.com/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", "")
	case bot.Mattermost:
		if mmURL == "" || !validPostID(ref) {
			return ""
		}
		return mmURL + "/_redirect/pl/" + ref
	case bot.Telegram:
		chat, msg, err := telegram.ParseRef(ref)
		if err != nil {
			return ""
		}
		s := strconv.FormatInt(chat, 10)
		if !strings.HasPrefix(s, "-100") {
			return "" // a private chat or basic group has no message links
		}
		return "https://t.me/c/" + s[4:] + "/" + strconv.Itoa(msg)
	}
	return ""
}

var postIDRE = regexp.MustCompile(`^[a-z0-9]{26}$`)

func validPostID(s string) bool { return postIDRE.MatchString(s) }

// slackPreview renders Block Kit roughly: headers, sections and their
// fields, context lines, buttons.
func slackPreview(m slack.Message) console.Preview {
	payload, _ := json.Marshal(m)
	p := console.Preview{Platform: "Slack", Payload: payload}
	var blocks []map[string]any
	b, _ := json.Marshal(m.Blocks)
	_ = json.Unmarshal(b, &blocks)
	for _, bl := range blocks {
		switch bl["type"] {
		case "header":
			p.Parts = append(p.Parts, console.PreviewPart{Kind: "header", Text: textOf(bl["text"])})
		case "section":
			if t := textOf(bl["text"]); t != "" {
				p.Parts = append(p.Parts, console.PreviewPart{Kind: "text", Text: t})
			}
			if fs, ok := bl["fields"].([]any); ok {
				part := console.PreviewPart{Kind: "fields"}
				for _, f := range fs {
					part.Items = append(part.Items, textOf(f))
				}
				p.Parts = append(p.Parts, part)
			}
		case "context":
			var lines []string
			for _, e := range anySlice(bl["elements"]) {
				lines = append(lines, textOf(e))
			}
			p.Parts = append(p.Parts, console.PreviewPart{Kind: "context", Text: strings.Join(lines, " ")})
		case "actions":
			part := console.PreviewPart{Kind: "buttons"}
			for _, e := range anySlice(bl["elements"]) {
				if em, ok := e.(map[string]any); ok {
					part.Items = append(part.Items, textOf(em["text"]))
				}
			}
			p.Parts = append(p.Parts, part)
		}
	}
	return p
}

// mattermostPreview renders a post roughly: its message, then each
// attachment's title, text, fields and buttons.
func mattermostPreview(post any) console.Preview {
	payload, _ := json.Marshal(post)
	p := console.Preview{Platform: "Mattermost", Payload: payload}
	var v struct {
		Message string `json:"message"`
		Props   struct {
			Attachments []struct {
				Pretext string `json:"pretext"`
				Title   string `json:"title"`
				Text    string `json:"text"`
				Fields  []struct {
					Title string `json:"title"`
					Value any    `json:"value"`
				} `json:"fields"`
				Actions []struct {
					Name string `json:"name"`
				} `json:"actions"`
				Footer string `json:"footer"`
			} `json:"attachments"`
		} `json:"props"`
	}
	_ = json.Unmarshal(payload, &v)
	if v.Message != "" {
		p.Parts = append(p.Parts, console.PreviewPart{Kind: "text", Text: mdPlain(v.Message)})
	}
	for _, a := range v.Props.Attachments {
		if a.Pretext != "" {
			p.Parts = append(p.Parts, console.PreviewPart{Kind: "context", Text: mdPlain(a.Pretext)})
		}
		if a.Title != "" {
			p.Parts = append(p.Parts, console.PreviewPart{Kind: "header", Text: mdPlain(a.Title)})
		}
		if a.Text != "" {
			p.Parts = append(p.Parts, console.PreviewPart{Kind: "text", Text: mdPlain(a.Text)})
		}
		if len(a.Fields) > 0 {
			part := console.PreviewPart{Kind: "fields"}
			for _, f := range a.Fields {
				val, _ := f.Value.(string)
				part.Items = append(part.Items, mdPlain(f.Title)+": "+mdPlain(val))
			}
			p.Parts = append(p.Parts, part)
		}
		if len(a.Actions) > 0 {
			part := console.PreviewPart{Kind: "buttons"}
			for _, b := range a.Actions {
				part.Items = append(part.Items, b.Name)
			}
			p.Parts = append(p.Parts, part)
		}
		if a.Footer != "" {
			p.Parts = append(p.Parts, console.PreviewPart{Kind: "context", Text: mdPlain(a.Footer)})
		}
	}
	return p
}

var (
	tagRE      = regexp.MustCompile(`<[^>]*>`)
	mdEscRE    = regexp.MustCompile("\\\\([!-/:-@\\[-`{-~])")
	mdStrongRE = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// mdPlain is Mattermost markdown as a person reads it, roughly: escapes
// and entities undone, bold marks dropped.
func mdPlain(s string) string {
	return html.UnescapeString(mdStrongRE.ReplaceAllString(mdEscRE.ReplaceAllString(s, "$1"), "$1"))
}

// telegramPreview renders a message roughly: its HTML as text, then its
// keyboard.
func telegramPreview(m telegram.Message) console.Preview {
	payload, _ := json.Marshal(map[string]any{"text": m.Text, "parse_mode": "HTML", "reply_markup": m.Keyboard})
	p := console.Preview{Platform: "Telegram", Payload: payload}
	text := html.UnescapeString(tagRE.ReplaceAllString(m.Text, ""))
	if head, rest, ok := strings.Cut(text, "\n"); ok {
		p.Parts = append(p.Parts, console.PreviewPart{Kind: "header", Text: head}, console.PreviewPart{Kind: "text", Text: rest})
	} else {
		p.Parts = append(p.Parts, console.PreviewPart{Kind: "header", Text: text})
	}
	part := console.PreviewPart{Kind: "buttons"}
	for _, row := range m.Keyboard.InlineKeyboard {
		for _, b := range row {
			part.Items = append(part.Items, b.Text)
		}
	}
	if len(part.Items) > 0 {
		p.Parts = append(p.Parts, part)
	}
	return p
}

func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return html.UnescapeString(t) // mrkdwn escapes & < >
	case map[string]any:
		s, _ := t["text"].(string)
		return html.UnescapeString(s)
	}
	return ""
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}
