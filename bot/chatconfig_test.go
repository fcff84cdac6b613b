package bot_test

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
)

func loadYAML(t *testing.T, yaml string, env map[string]string) (*bot.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return bot.LoadConfig(path, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func TestChatConfig(t *testing.T) {
	cfg, err := loadYAML(t, `
slack: {bot_token: "${SLACK}", signing_secret: 0123456789abcdef0123}
mattermost: {url: https://chat.example.com, bot_token: m}
telegram: {bot_token: t, group_interval: 5s}
outbox: {workers: 3}
teams:
  - name: payments
    slack: {channel: C0123ABCD}
    mattermost: {channel: abcdefghijklmnopqrstuvwxyz}
    telegram: {chat: -1001234567890}
default_team: payments
`, map[string]string{"SLACK": "xoxb-1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.BotToken.Reveal() != "xoxb-1" || cfg.Slack.APIURL != "https://slack.com/api/" || cfg.Slack.ChannelInterval.D() != time.Second {
		t.Errorf("slack = %+v", cfg.Slack)
	}
	if got := cfg.Slack.ResponseURLPrefixes; len(got) != 1 || got[0] != "https://hooks.slack.com/" {
		t.Errorf("slack.response_url_prefixes = %q, want Slack's hooks host", got)
	}
	if cfg.Telegram.APIEndpoint != "https://api.telegram.org/bot%s/%s" || cfg.Telegram.GroupInterval.D() != 5*time.Second || cfg.Telegram.ChatInterval.D() != time.Second {
		t.Errorf("telegram = %+v", cfg.Telegram)
	}
	if cfg.Outbox.Workers != 3 || cfg.Outbox.Lease.D() != time.Minute {
		t.Errorf("outbox = %+v", cfg.Outbox)
	}
	tm := cfg.Teams[0]
	if tm.Slack.Channel != "C0123ABCD" || tm.Mattermost.Channel != "abcdefghijklmnopqrstuvwxyz" || tm.Telegram.Chat != "-1001234567890" {
		t.Errorf("team = %+v", tm)
	}
}

func TestChatConfigErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"slack: {api_url: 'https://slack.com/api'}\n":                                               "slack.api_url (line 1): must end with a slash, got \"https://slack.com/api\"\nslack.bot_token (line 1): must be set (a bot token, xoxb-…)",
		"slack: {bot_token: x, api_url: 'ftp://x/'}\n":                                              "slack.api_url (line 1): want an absolute http or https URL",
		"mattermost: {bot_token: x}\n":                                                              `mattermost.url (line 1): want an absolute http or https URL, got ""`,
		"mattermost: {url: 'http://m'}\n":                                                           "mattermost.bot_token (line 1): must be set",
		"telegram: {bot_token: x, api_endpoint: 'http://t/bot%s'}\n":                                "telegram.api_endpoint (line 1): must hold %s twice",
		"telegram: {bot_token: x, chat_interval: -1s}\n":                                            "telegram.chat_interval (line 1): must be between 0 (no limit) and 1h, got -1s",
		"outbox: {workers: 0, lease: 1s}\n":                                                         "outbox.lease (line 1): must be at least 10s (a claim must outlast a slow platform call), got 1s\noutbox.workers (line 1): must be between 1 and 1000, got 0",
		"telegram: {bot_token: x}\nteams: [{name: a, telegram: {chat: '@ops'}}]\ndefault_team: a\n": `teams[0].telegram.chat (line 2): want a numeric Telegram chat id such as -1001234567890, got "@ops"`,
		"teams: [{name: a, mattermost: {channel: Town-Square}}]\ndefault_team: a\n":                 "teams[0].mattermost (line 1): needs the mattermost section (url, bot_token)\nteams[0].mattermost.channel (line 1): want a Mattermost channel id (26 lowercase letters and digits; View Info in the channel menu), got \"Town-Square\"",
		"slack: {bot_token: x}\nteams: [{name: a, slack: {chanel: C0123}}]\ndefault_team: a\n":      `teams[0].slack.chanel (line 2): unknown key (did you mean "channel"?)`,
	} {
		_, err := loadYAML(t, yaml, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %q", yaml, err, want)
		}
	}
}

// slack.response_url_prefixes lists where klaxon may post a reply that
// came late: Slack's hosts (GovSlack, Enterprise Grid), https only, and a
// test's fake on 127.0.0.1.
func TestSlackResponseURLPrefixes(t *testing.T) {
	cfg, err := loadYAML(t, "slack: {bot_token: x, response_url_prefixes: ['https://hooks.slack-gov.com/', 'http://127.0.0.1:8099/response/']}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Slack.ResponseURLPrefixes; len(got) != 2 || got[0] != "https://hooks.slack-gov.com/" || got[1] != "http://127.0.0.1:8099/response/" {
		t.Errorf("response_url_prefixes = %q: the list replaces the default", got)
	}
	for prefix, want := range map[string]string{
		"'http://hooks.slack.com/'":      "must be https (http only to 127.0.0.1 with a port, for tests)",
		"'http://127.0.0.1/'":            "must be https (http only to 127.0.0.1 with a port, for tests)",
		"'http://localhost:8080/'":       "must be https (http only to 127.0.0.1 with a port, for tests)",
		"'https://hooks.slack.com'":      "must end with a slash",
		"'https://u@hooks.slack.com/'":   "must not hold a user, a query or a fragment",
		"'https://hooks.slack.com/?a=b'": "must not hold a user, a query or a fragment",
		"'hooks.slack.com/'":             "want an absolute URL such as https://hooks.slack.com/",
		"''":                             "want an absolute URL such as https://hooks.slack.com/",
	} {
		_, err := loadYAML(t, "slack: {bot_token: x, response_url_prefixes: ["+prefix+"]}\n", nil)
		if err == nil || !strings.Contains(err.Error(), "slack.response_url_prefixes[0] (line 1): "+want) {
			t.Errorf("%s:\n got %v\nwant %q", prefix, err, want)
		}
	}
}

// Tokens never print, whatever prints the config.
func TestChatSecretsNeverPrint(t *testing.T) {
	cfg, err := loadYAML(t, "slack: {bot_token: xoxb-S3CRET-0123, signing_secret: SIGNSECRET0123456789}\nmattermost: {url: 'http://m', bot_token: MMSECRET, command_token: CMDSECRET0123456789}\ntelegram: {bot_token: TGSECRET, webhook_secret: HOOKSECRET0123456789}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{dumpAll(cfg)} {
		for _, secret := range []string{"xoxb-S3CRET-0123", "SIGNSECRET0123456789", "MMSECRET", "CMDSECRET0123456789", "TGSECRET", "HOOKSECRET0123456789"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s printed in %s", secret, s)
			}
		}
	}
}

func dumpAll(c *bot.Config) string {
	var b strings.Builder
	for _, v := range []any{c, *c, c.Slack, c.Mattermost, c.Telegram, *c.Slack, *c.Mattermost, *c.Telegram} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			fmt.Fprintf(&b, verb+"\n", v)
		}
		j, _ := json.Marshal(v)
		y, _ := yaml.Marshal(v)
		b.Write(j)
		b.Write(y)
	}
	return b.String()
}

func TestPeopleConfig(t *testing.T) {
	_, err := loadYAML(t, `
people:
  - {name: alice, slack: U1, mattermost: abc, telegram: "42", phone: "+15551230001"}
  - {name: bob, slack: U2}
teams: [{name: a, responders: [alice, Bob]}]
default_team: a
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for yaml, want := range map[string]string{
		"people: [{name: a}, {name: A}]\n":                                                    `people[1].name (line 1): "A" is defined twice`,
		"people: [{name: 'a b'}]\n":                                                           "people[0].name (line 1): want a name of letters",
		"people: [{name: a, slack: U1}, {name: b, slack: U1}]\n":                              `people[1].slack (line 1): slack account "U1" is also a's`,
		"people: [{name: a, phone: '555-1234'}]\n":                                            "people[0].phone (line 1): want an E.164 number",
		"people: [{name: a, telegram: '@a'}]\n":                                               "people[0].telegram (line 1): want a numeric Telegram user id",
		"teams: [{name: t, responders: [zed]}]\ndefault_team: t\n":                            `teams[0].responders[0] (line 1): no person "zed" (there are no people)`,
		"people: [{name: alice}]\nteams: [{name: t, responders: [alcie]}]\ndefault_team: t\n": `teams[0].responders[0] (line 2): no person "alcie" (did you mean "alice"?)`,
	} {
		_, err := loadYAML(t, yaml, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %q", yaml, err, want)
		}
	}
}

func TestEscalationConfigErrors(t *testing.T) {
	base := "people: [{name: alice, phone: '+15551230001'}, {name: bob}]\nteams: [{name: t}]\ndefault_team: t\n"
	for yaml, want := range map[string]string{
		"policies: [{name: p, steps: [{notify: channel, wait: 1m}]}]\n":                                                         "policies[0].steps[0] (line 4): give exactly one of notify, mention, call, page, wait",
		"policies: [{name: p, steps: [{notify: everyone}]}]\n":                                                                  `policies[0].steps[0].notify (line 4): the only target is channel (the team's cards), got "everyone"`,
		"policies: [{name: p, steps: [{call: zed}]}]\n":                                                                         `policies[0].steps[0].call (line 4): want oncall or a person, got "zed" (choose from oncall, alice, bob)`,
		"policies: [{name: p, steps: [{call: oncal}]}]\n":                                                                       `policies[0].steps[0].call (line 4): want oncall or a person, got "oncal" (did you mean "oncall"?)`,
		"policies: [{name: p, steps: [{mention: alcie}]}]\n":                                                                    `policies[0].steps[0].mention (line 4): want oncall, a person or a team, got "alcie" (did you mean "alice"?)`,
		"policies: [{name: p, steps: [{mention: T}]}]\n":                                                                        `policies[0].steps[0].mention (line 4): want oncall, a person or a team, got "T" (did you mean "t"?)`,
		"policies: [{name: p, steps: [{notify: chanel}]}]\n":                                                                    `policies[0].steps[0].notify (line 4): the only target is channel (the team's cards), got "chanel" (did you mean "channel"?)`,
		"policies: [{name: p, steps: [{call: bob}]}]\n":                                                                         "policies[0].steps[0].call (line 4): bob has no phone in people",
		"policies: [{name: p, steps: [{call: alice}]}]\n":                                                                       "twilio: policies have call steps: configure twilio",
		"policies: [{name: p, steps: [{notify: channel}], start_at: {'9': 1}}]\n":                                               "policies[0].start_at.9 (line 4): want a severity 1 to 4",
		"schedules: [{name: s, timezone: Mars/Base, rotation: {every: 24h, start: '2026-01-01T00:00:00Z', people: [alice]}}]\n": `schedules[0].timezone (line 4): unknown time zone "Mars/Base"`,
		"schedules: [{name: s, rotation: {every: 24h, start: 'monday', people: [alice]}}]\n":                                    `schedules[0].rotation.start (line 4): want a time such as 2026-01-05T09:00:00+07:00, got "monday"`,
		"schedules: [{name: s, rotation: {every: 24h, start: '2026-01-01T00:00:00Z', people: [zed]}}]\n":                        `schedules[0].rotation.people[0] (line 4): no person "zed" (choose from alice, bob)`,
		"schedules: [{name: s, layers: [{every: 24h, start: '2026-01-01T00:00:00Z', people: [alice, Bbo]}]}]\n":                 `schedules[0].layers[0].people[1] (line 4): no person "Bbo" (did you mean "bob"?)`,
		"twilio: {account_sid: AC1, auth_token: x, from: '555'}\n":                                                              `twilio.account_sid (line 4): want AC followed by 32 hex digits (Twilio console → Account Info), got "AC1"`,
		"twilio: {account_sid: AC…, auth_token: x, from: '+15550000000'}\n":                                                     `twilio.account_sid (line 4): want AC followed by 32 hex digits (Twilio console → Account Info), got the placeholder "AC…"`,
		"twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: your_auth_token, from: '+15550000000'}\n":        `twilio.auth_token (line 4): holds "your_", so it is a placeholder: set the real one`,
	} {
		_, err := loadYAML(t, base+yaml, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %q", yaml, err, want)
		}
	}
	for yaml, want := range map[string]string{
		"teams: [{name: t, policy: nope}]\ndefault_team: t\n":                                                             `teams[0].policy (line 1): no policy "nope" (there are no policies)`,
		"policies: [{name: default, steps: [{notify: channel}]}]\nteams: [{name: t, policy: defualt}]\ndefault_team: t\n": `teams[0].policy (line 2): no policy "defualt" (did you mean "default"?)`,
		"teams: [{name: t, schedule: nope}]\ndefault_team: t\n":                                                           `teams[0].schedule (line 1): no schedule "nope" (there are no schedules)`,
		"schedules: [{name: payments-primary, rotation: {every: 24h, start: '2026-01-01T00:00:00Z', people: []}}]\nteams: [{name: t, schedule: payments-primary2}]\ndefault_team: t\n": `teams[0].schedule (line 2): no schedule "payments-primary2" (did you mean "payments-primary"?)`,
		"policies: [{name: p, steps: [{mention: oncall}]}]\nteams: [{name: t, policy: p}]\ndefault_team: t\n":                                                                          "teams[0].schedule (line 2): policy p warns, calls or pages oncall: the team needs a schedule",
		"policies: [{name: p, steps: [{wait: 1m}, {notify: channel}], start_at: {'1': 1}}]\n":                                                                                          "policies[0].start_at.1 (line 1): step 1 is a wait",
	} {
		_, err := loadYAML(t, yaml, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %q", yaml, err, want)
		}
	}
}
