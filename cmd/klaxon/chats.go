package main

import (
	"net/http"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/slack"
	"github.com/klaxonbot/klaxon/adapters/telegram"
	"github.com/klaxonbot/klaxon/bot"
)

// newChats builds a sender for each chat platform the config names, whose
// buttons carry keys signed by signer.
func newChats(cfg *bot.Config, signer *bot.ButtonSigner) (map[string]bot.Chat, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	chats := map[string]bot.Chat{}
	if c := cfg.Slack; c != nil {
		s, err := slack.New(slack.Options{Token: c.BotToken.Reveal(), APIURL: c.APIURL, HTTPClient: hc, Sign: signer.Sign})
		if err != nil {
			return nil, err
		}
		chats[bot.Slack] = s
	}
	if c := cfg.Mattermost; c != nil {
		actionURL := ""
		if cfg.Server.PublicURL != "" {
			actionURL = strings.TrimRight(cfg.Server.PublicURL, "/") + "/mattermost/actions"
		}
		m, err := mattermost.New(mattermost.Options{URL: c.URL, Token: c.BotToken.Reveal(), ActionURL: actionURL, HTTPClient: hc, Sign: signer.Sign})
		if err != nil {
			return nil, err
		}
		chats[bot.Mattermost] = m
	}
	if c := cfg.Telegram; c != nil {
		t, err := telegram.New(telegram.Options{Token: c.BotToken.Reveal(), APIEndpoint: c.APIEndpoint, HTTPClient: hc, Sign: signer.Sign})
		if err != nil {
			return nil, err
		}
		chats[bot.Telegram] = t
	}
	return chats, nil
}
