package telegram

import (
	"context"
	"slices"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// BotCommand is a command of the bot's menu, as Telegram shows it when
// someone types "/": the command without "/" (1–32 of a-z, 0-9 and _) and
// what it does (1–256 characters).
type BotCommand struct {
	Command     string
	Description string
}

// commands is the menu klaxon registers, in the order Telegram shows it.
// Every command here is one ParseCommand understands: "incident" takes any
// verb, "status" is show, the rest are verbs of /incident (shortCommands).
var commands = []BotCommand{
	{"ack", "Acknowledge an incident: /ack [INC-42]"},
	{"unack", "Take back an acknowledgement: /unack [INC-42]"},
	{"resolve", "Resolve, saying what happened: /resolve [INC-42] [summary]"},
	{"reopen", "Reopen a resolved incident: /reopen [INC-42]"},
	{"escalate", "Run the next escalation step now: /escalate [INC-42]"},
	{"snooze", "Pause escalation: /snooze [INC-42] 30m|2h|1d"},
	{"sev", "Set the severity, 1 is worst: /sev [INC-42] 1-4"},
	{"lead", "Name the incident commander: /lead [INC-42] @person"},
	{"role", "Name the scribe or comms person: /role [INC-42] scribe|comms @person"},
	{"note", "Add a note for the postmortem: /note [INC-42] [factor:|action:|lucky:] text"},
	{"status", "Show an incident: state, severity, people, alerts: /status [INC-42]"},
	{"list", "Open incidents of this chat's teams"},
	{"timeline", "The incident's last 30 events: /timeline [INC-42]"},
	{"postmortem", "The postmortem draft as a document: /postmortem [INC-42]"},
	{"feedback", "Was it actionable? /feedback [INC-42] yes|no [why]"},
	{"report", "The noise report of this chat's team: /report [7d|30d]"},
	{"declare", "Open an incident by hand: /declare title [sev N] [team T]"},
	{"oncall", "Who is on call now, and who is next: /oncall [team]"},
	{"silence", "Silence the alerts at their source: /silence [INC-42] 1h|4h|24h [label=value ...]"},
	{"unsilence", "Expire the incident's silences: /unsilence [INC-42] [silence-id]"},
	{"silences", "The team's active silences made from klaxon: /silences [team]"},
	{"maintenance", "Maintenance windows: /maintenance [2h [team] [label=value] [reason] | end [id]]"},
	{"help", "What klaxon understands"},
	{"incident", "Any of the above as a verb: /incident ack INC-42"},
}

// shortCommands are the commands that are a verb of /incident.
var shortCommands = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range commands {
		if c.Command != "incident" && c.Command != "status" {
			m[c.Command] = true
		}
	}
	return m
}()

// Commands returns the menu RegisterCommands sets, in order.
func Commands() []BotCommand { return slices.Clone(commands) }

// RegisterCommands sets the bot's command menu (setMyCommands, for every
// chat and language) to Commands, so that Telegram suggests them when
// someone types "/". It first reads the menu (getMyCommands) and sets it
// only when it differs: calling it at every start, from every replica, is
// harmless. Errors are *Error; the caller should log one and go on, since
// commands work without the menu.
func (in *Inbound) RegisterCommands(ctx context.Context) error {
	want := make([]tgbotapi.BotCommand, len(commands))
	for i, c := range commands {
		want[i] = tgbotapi.BotCommand{Command: c.Command, Description: c.Description}
	}
	var have []tgbotapi.BotCommand
	err := in.client.do(ctx, "getMyCommands", func(bot *tgbotapi.BotAPI) (err error) {
		have, err = bot.GetMyCommands()
		return err
	})
	if err == nil && slices.Equal(have, want) {
		return nil
	}
	return in.client.do(ctx, "setMyCommands", func(bot *tgbotapi.BotAPI) error {
		_, err := bot.Request(tgbotapi.NewSetMyCommands(want...))
		return err
	})
}
