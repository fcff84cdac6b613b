package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/adapters/mattermost"
	"github.com/klaxonbot/klaxon/adapters/slack"
	"github.com/klaxonbot/klaxon/adapters/telegram"
	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// The chat adapters announce shift handovers (bot.Announcer) and message
// people directly (bot.Mentioner).
var (
	_ bot.Announcer = (*slack.Client)(nil)
	_ bot.Announcer = (*mattermost.Client)(nil)
	_ bot.Announcer = (*telegram.Client)(nil)
	_ bot.Mentioner = (*slack.Client)(nil)
	_ bot.Mentioner = (*mattermost.Client)(nil)
	_ bot.Mentioner = (*telegram.Client)(nil)
)

// newChats builds a sender for each chat platform the config names, whose
// buttons carry keys signed by signer.
func newChats(cfg *bot.Config, signer *bot.ButtonSigner) (map[string]bot.Chat, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	chats := map[string]bot.Chat{}
	if c := cfg.Slack; c != nil {
		s, err := slack.New(slack.Options{Token: c.BotToken.Reveal(), APIURL: c.APIURL, HTTPClient: hc, Sign: signer.For(bot.Slack)})
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
		m, err := mattermost.New(mattermost.Options{URL: c.URL, Token: c.BotToken.Reveal(), ActionURL: actionURL, HTTPClient: hc,
			Sign: signer.ForChannel(bot.Mattermost, time.Now)})
		if err != nil {
			return nil, err
		}
		chats[bot.Mattermost] = m
	}
	if c := cfg.Telegram; c != nil {
		t, err := telegram.New(telegram.Options{Token: c.BotToken.Reveal(), APIEndpoint: c.APIEndpoint, HTTPClient: hc, Sign: signer.For(bot.Telegram)})
		if err != nil {
			return nil, err
		}
		chats[bot.Telegram] = t
	}
	return chats, nil
}

// inbound is what the chat platforms send klaxon: commands and button
// presses, mounted on srv; run starts what must run beside the server
// (Telegram's long polling), wait waits for work in flight.
type inbound struct {
	run  func(ctx context.Context)
	wait func()
}

// mountInbound serves the chat platforms' requests on srv. once, when the
// store has it, lets every replica refuse a Slack request replayed to it.
// Button keys are checked by srv (the Mattermost adapter asks srv's
// CheckButton first); signer is not needed here any more.
func mountInbound(srv *bot.Server, cfg *bot.Config, signer *bot.ButtonSigner, once incidents.Once, log *slog.Logger) (*inbound, error) {
	in := &inbound{run: func(context.Context) {}, wait: func() {}}
	var waits []func()
	var runs []func(context.Context)
	if c := cfg.Slack; c != nil {
		if c.SigningSecret == "" {
			log.Warn("slack.signing_secret is not set: Slack slash commands and buttons are refused")
		} else {
			s, err := slack.NewInbound(slack.InboundOptions{SigningSecret: c.SigningSecret.Reveal(), Handler: srv, Rejected: srv.Rejected, Log: log, Once: once,
				ResponseURLPrefixes: c.ResponseURLPrefixes, PublicURL: cfg.Server.PublicURL})
			if err != nil {
				return nil, err
			}
			srv.Mount("POST", "/slack/commands", s.Commands())
			srv.Mount("POST", "/slack/interactions", s.Interactions())
			waits = append(waits, s.Wait)
		}
	}
	if c := cfg.Mattermost; c != nil {
		if c.CommandToken == "" {
			log.Warn("mattermost.command_token is not set: the Mattermost slash command is refused (buttons still work)")
		}
		// Action calls are unauthenticated: the key is checked against
		// the channel and the card (CheckButton), and the API says
		// whether the user is a member of the channel (within the
		// handler's 10 s, well inside Mattermost's 30 s for an answer).
		members, err := mattermost.New(mattermost.Options{URL: c.URL, Token: c.BotToken.Reveal(), HTTPClient: &http.Client{Timeout: 5 * time.Second}})
		if err != nil {
			return nil, err
		}
		actionURL := ""
		if cfg.Server.PublicURL != "" {
			actionURL = strings.TrimRight(cfg.Server.PublicURL, "/") + "/mattermost/actions"
		}
		m, err := mattermost.NewInbound(mattermost.InboundOptions{CommandToken: c.CommandToken.Reveal(), Handler: srv, Rejected: srv.Rejected,
			CheckButton: srv.CheckButton, Members: members, Log: log, PublicURL: cfg.Server.PublicURL, ActionURL: actionURL})
		if err != nil {
			return nil, err
		}
		srv.Mount("POST", "/mattermost/commands", m.Commands())
		srv.Mount("POST", "/mattermost/actions", m.Actions())
	}
	if c := cfg.Telegram; c != nil {
		t, err := telegram.NewInbound(telegram.InboundOptions{Token: c.BotToken.Reveal(), APIEndpoint: c.APIEndpoint,
			WebhookSecret: c.WebhookSecret.Reveal(), Handler: srv, Rejected: srv.Rejected, Log: log, PublicURL: cfg.Server.PublicURL})
		if err != nil {
			return nil, err
		}
		srv.Mount("POST", "/telegram/webhook", t.Webhook())
		runs = append(runs, func(ctx context.Context) {
			rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			if err := t.RegisterCommands(rctx); err != nil {
				log.Warn("Telegram setMyCommands failed: chats show no command menu (the commands still work)", "err", err)
				return
			}
			log.Info("Telegram command menu set", "commands", len(telegram.Commands()))
		})
		if c.WebhookSecret != "" && cfg.Server.PublicURL != "" {
			url := strings.TrimRight(cfg.Server.PublicURL, "/") + "/telegram/webhook"
			runs = append(runs, func(ctx context.Context) {
				sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				defer cancel()
				if err := t.SetWebhook(sctx, url); err != nil {
					log.Error("Telegram setWebhook failed: commands and buttons will not arrive until it works (restart klaxon)", "url", url, "err", err)
					return
				}
				log.Info("Telegram sends updates to the webhook", "url", url)
			})
		} else {
			log.Info("Telegram: long polling for commands and buttons (set telegram.webhook_secret and server.public_url for a webhook; with several replicas, use the webhook)")
			runs = append(runs, func(ctx context.Context) {
				if err := t.Poll(ctx); err != nil {
					log.Error("Telegram long polling stopped", "err", err)
				}
			})
		}
	}
	var wg sync.WaitGroup
	in.run = func(ctx context.Context) {
		for _, r := range runs {
			wg.Add(1)
			go func() { defer wg.Done(); r(ctx) }()
		}
	}
	in.wait = func() {
		wg.Wait() // long polling ends with its context, its last update handled and confirmed
		for _, w := range waits {
			w()
		}
	}
	return in, nil
}

// twilioPhone places escalation calls through Twilio.
type twilioPhone struct{ c *twilio.Client }

func (p twilioPhone) Call(ctx context.Context, to, say, gatherURL, statusURL string) (string, error) {
	return p.c.Call(ctx, twilio.Call{To: to, Twiml: twilio.GatherTwiml(say, gatherURL, ""), StatusCallback: statusURL})
}

// newPhone builds the phone provider the config names, and the check of
// its callbacks; nils when none.
func newPhone(cfg *bot.Config) (bot.Phone, func(*http.Request, []byte) (url.Values, error), error) {
	tw := cfg.Twilio
	if tw == nil {
		return nil, nil, nil
	}
	c, err := twilio.New(twilio.Options{AccountSID: tw.AccountSID, AuthToken: tw.AuthToken.Reveal(), From: tw.From, APIURL: tw.APIURL,
		HTTPClient: &http.Client{Timeout: 15 * time.Second}})
	if err != nil {
		return nil, nil, err
	}
	token, public := tw.AuthToken.Reveal(), cfg.Server.PublicURL
	verify := func(r *http.Request, body []byte) (url.Values, error) {
		return twilio.VerifyRequest(token, public, r, body)
	}
	return twilioPhone{c}, verify, nil
}
