package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/klaxonbot/klaxon/adapters/email"
	"github.com/klaxonbot/klaxon/adapters/ntfy"
	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/bot"
)

// smsPages is the number of segments a page's text message is fitted to.
const smsPages = 3

// twilioSMS sends pages' text messages through Twilio, fitted to at most
// smsPages segments (one where it can).
type twilioSMS struct{ c *twilio.Client }

func (s twilioSMS) SendSMS(ctx context.Context, to, body, statusCallback string) (string, error) {
	sid, err := s.c.SendSMS(ctx, to, twilio.FitSMS(body, smsPages), statusCallback)
	if twilio.IsOptedOut(err) {
		// Said plainly on the timeline; still not worth retrying.
		err = fmt.Errorf("the number opted out of klaxon's texts (replied STOP; replying START opts back in): %w", err)
	}
	return sid, err
}

// twilioInbox reads the texts people send to the Twilio number.
type twilioInbox struct{}

func (twilioInbox) ParseSMS(form url.Values) (bot.InboundText, error) {
	m, err := twilio.ParseInboundSMS(form)
	if err != nil {
		return bot.InboundText{}, err
	}
	t := bot.InboundText{From: m.From, Body: m.Body, ID: m.MessageSid}
	if kind, ok := twilio.CarrierKeyword(m.Body); ok {
		t.Keyword = map[string]string{twilio.KeywordOptOut: bot.KeywordOptOut, twilio.KeywordOptIn: bot.KeywordOptIn, twilio.KeywordHelp: bot.KeywordHelp}[kind]
	}
	return t, nil
}

func (twilioInbox) ReplySMS(text string) []byte { return twilio.ReplyTwiML(text) }

// emailMailer sends pages by e-mail.
type emailMailer struct{ s *email.Sender }

func (m emailMailer) Mail(ctx context.Context, p bot.MailPage) error {
	_, err := m.s.Send(ctx, email.Page{To: p.To, Name: p.Name, Card: p.Card, Team: p.Team, IncidentURL: p.IncidentURL,
		AckURL: p.AckURL, Update: p.Update, Key: p.Key, Reason: p.Reason})
	return err
}

// ntfyPusher pushes pages to ntfy topics.
type ntfyPusher struct{ c *ntfy.Client }

func (n ntfyPusher) Push(ctx context.Context, t bot.PushTarget, p bot.PushPage) error {
	_, err := n.c.Send(ctx, ntfy.Target{URL: t.URL, Token: t.Token.Reveal()},
		ntfy.Push{Card: p.Card, Team: p.Team, IncidentURL: p.IncidentURL, AckURL: p.AckURL, More: p.More})
	return err
}

// pagers are the senders of page steps the config sets up (nil each
// where it does not).
type pagers struct {
	sms    bot.SMSSender
	inbox  bot.SMSInbox // replies to texts
	mailer bot.Mailer
	pusher bot.Pusher
}

// newPagers builds the senders of page steps: SMS through the twilio
// account, e-mail through smtp, pushes to the people's ntfy topics
// (checked here with the adapter's own rules). Errors name the config
// path.
func newPagers(cfg *bot.Config) (pagers, error) {
	var p pagers
	if tw := cfg.Twilio; tw != nil {
		c, err := twilio.New(twilio.Options{AccountSID: tw.AccountSID, AuthToken: tw.AuthToken.Reveal(), From: tw.From, APIURL: tw.APIURL,
			HTTPClient: &http.Client{Timeout: 15 * time.Second}})
		if err != nil {
			return p, fmt.Errorf("twilio: %w", err)
		}
		p.sms, p.inbox = twilioSMS{c}, twilioInbox{}
	}
	if sc := cfg.SMTP; sc != nil {
		s, err := email.New(email.Options{Host: sc.Host, Port: sc.SMTPPort(), Username: sc.Username, Password: sc.Password.Reveal(),
			From: sc.From, TLS: email.TLSMode(sc.TLS), Instance: cfg.Server.PublicURL})
		if err != nil {
			return p, fmt.Errorf("smtp: %w", err)
		}
		p.mailer = emailMailer{s}
	}
	pushes := false
	for i, person := range cfg.People {
		if person.Push == "" {
			continue
		}
		pushes = true
		token := person.PushToken
		if token == "" && cfg.Ntfy != nil {
			token = cfg.Ntfy.Token
		}
		if err := ntfy.ValidTarget(ntfy.Target{URL: person.Push, Token: token.Reveal()}); err != nil {
			return p, fmt.Errorf("people[%d].push: %w", i, err)
		}
	}
	if pushes {
		p.pusher = ntfyPusher{ntfy.New(ntfy.Options{UserAgent: "klaxon/" + versionString()})}
	}
	return p, nil
}
