package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
)

func TestPagingConfig(t *testing.T) {
	cfg, err := bot.LoadConfig("testdata/config/paging.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.People[0]
	if len(a.Rules) != 4 || a.Rules[2].SMS == nil || a.Rules[2].SMS.D() != 2*time.Minute || a.SMSNumber() != "+15551230001" {
		t.Errorf("alice = %+v", a)
	}
	if cfg.People[1].SMSNumber() != "+15551230003" {
		t.Errorf("bob's sms = %q", cfg.People[1].SMSNumber())
	}
	if cfg.SMTP.TLS != "starttls" || cfg.SMTP.SMTPPort() != 587 {
		t.Errorf("smtp defaults = %+v", cfg.SMTP)
	}
	for _, s := range []string{fmt.Sprintf("%v %+v %s", cfg.People, cfg.SMTP, cfg.Ntfy), fmt.Sprintf("%#v", cfg.People[0])} {
		for _, secret := range []string{"tk_alice0123456789", "smtp-password-0123", "tk_default0123456789"} {
			if strings.Contains(s, secret) {
				t.Errorf("printed config shows %q: %s", secret, s)
			}
		}
	}
}

func TestPagingConfigErrors(t *testing.T) {
	base := "default_team: t\n#\n#\n"
	twilio := "twilio: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token: tok-0123456789, from: '+15550000000'}\nserver: {public_url: https://k.example.com}\n"
	for yaml, want := range map[string]string{
		"people: [{name: carol, sms: '555'}]\n":                                                                       `people[0].sms (line 4): want an E.164 number such as +15551230001, got "555"`,
		"people: [{name: carol, push: 'ntfy.example.com/c'}]\n":                                                       `people[0].push (line 4): want the ntfy topic's URL, such as https://ntfy.example.com/alice-pager, got "ntfy.example.com/c"`,
		"people: [{name: carol, push: 'https://u:p@ntfy.example.com/c'}]\n":                                           `people[0].push (line 4): want the topic's URL without credentials, query or fragment`,
		"people: [{name: carol, push: 'https://ntfy.example.com/a/b'}]\n":                                             `people[0].push (line 4): want one topic after the server`,
		"people: [{name: carol, push: 'http://ntfy.example.com/c', push_token: tk_x1}]\n":                             `people[0].push (line 4): the ntfy token would travel in plain text`,
		"people: [{name: carol, push_token: tk_x1}]\n":                                                                `people[0].push_token (line 4): is set but push (the ntfy topic URL) is not`,
		"people: [{name: carol, push: 'https://n.example.com/c', push_token: 'your_token'}]\n":                        `people[0].push_token (line 4): holds "your_", so it is a placeholder`,
		"people: [{name: carol, rules: [{sms: 2m, call: 5m}]}]\n":                                                     `people[0].rules[0] (line 4): give exactly one of dm, push, email, sms, call with its delay, e.g. {sms: 2m}`,
		"people: [{name: carol, rules: [{page: 2m}]}]\n":                                                              `people[0].rules[0].page (line 4): unknown key (known keys: dm, push, email, sms, call)`,
		"people: [{name: carol, rules: [{sms: 2}]}]\n":                                                                `people[0].rules[0].sms (line 4): want a duration with a unit`,
		"people: [{name: carol, rules: [{dm: 0m}]}]\n":                                                                `people[0].rules[0].dm (line 4): carol has no chat account for dm (slack, mattermost or telegram)`,
		"people: [{name: carol, telegram: '42', rules: [{dm: 0m}]}]\n":                                                `people[0].rules[0].dm (line 4): dm needs the chat platform of one of carol's accounts configured (slack, mattermost or telegram)`,
		"people: [{name: carol, rules: [{push: 0m}]}]\n":                                                              `people[0].rules[0].push (line 4): carol has no push (an ntfy topic URL)`,
		"people: [{name: carol, rules: [{email: 0m}]}]\n":                                                             `people[0].rules[0].email (line 4): carol has no email`,
		"people: [{name: carol, rules: [{sms: 0m}]}]\n":                                                               `people[0].rules[0].sms (line 4): carol has no sms or phone number`,
		"people: [{name: carol, rules: [{call: 0m}]}]\n":                                                              `people[0].rules[0].call (line 4): carol has no phone`,
		"people: [{name: carol, phone: '+15551230009', rules: [{sms: 0m}]}]\n":                                        `people[0].rules[0].sms (line 4): sms needs twilio (account_sid, auth_token, from)`,
		"people: [{name: carol, email: c@example.com, rules: [{email: 0m}]}]\n":                                       `people[0].rules[0].email (line 4): email needs smtp (host, from)`,
		"people: [{name: carol, slack: U9, rules: [{dm: 25h}]}]\nslack: {bot_token: xoxb-1-paging-test-0123456789}\n": `people[0].rules[0].dm (line 4): want a delay between 0m and 24h, got 25h0m0s`,
		"people: [{name: carol, slack: U9, rules: [{dm: -1m}]}]\nslack: {bot_token: xoxb-1-paging-test-0123456789}\n": `people[0].rules[0].dm (line 4): want a delay between 0m and 24h, got -1m0s`,
		"smtp: {from: k@example.com}\n":                                                                               `smtp.host (line 4): must be set`,
		"smtp: {host: 'smtp.example.com:587', from: k@example.com}\n":                                                 `smtp.host (line 4): want a host name or address (the port goes in smtp.port)`,
		"smtp: {host: smtp.example.com, port: 70000, from: k@example.com}\n":                                          `smtp.port (line 4): must be between 1 and 65535, got 70000`,
		"smtp: {host: smtp.example.com, from: k@example.com, tls: ssl}\n":                                             `smtp.tls (line 4): want starttls, tls or none, got "ssl"`,
		"smtp: {host: smtp.example.com, from: k@example.com, tls: none}\n":                                            `smtp.tls (line 4): none sends mail and password in plain text: only to a relay on loopback`,
		"smtp: {host: smtp.example.com, from: klaxon}\n":                                                              `smtp.from (line 4): want the sender's address`,
		"smtp: {host: smtp.example.com, from: k@example.com, username: k}\n":                                          `smtp.password (line 4): must be set with smtp.username`,
		"smtp: {host: smtp.example.com, from: k@example.com, password: secret-0123}\n":                                `smtp.username (line 4): must be set with smtp.password`,
		"smtp: {host: smtp.example.com, from: k@example.com, user: k}\n":                                              `smtp.user (line 4): unknown key (known keys: host, port, username, password, password_file, from, tls)`,
		"ntfy: {token: 'your_token'}\n":                                                                               `ntfy.token (line 4): holds "your_", so it is a placeholder`,
		"ntfy: {tokn: x}\n":                                                                                           `ntfy.tokn (line 4): unknown key (did you mean "token"?)`,
		"teams: [{name: t, rules: [{sms: 1m}]}]\n":                                                                    `teams[0].rules[0].sms (line 4): sms needs twilio`,
		"teams: [{name: t, rules: [{}]}]\n":                                                                           `teams[0].rules[0] (line 4): give exactly one of dm, push, email, sms, call`,
		"policies: [{name: p, steps: [{page: zed}]}]\nteams: [{name: t}]\n":                                           `policies[0].steps[0].page (line 4): want oncall, a person or a team, got "zed"`,
		"policies: [{name: p, steps: [{page: oncall, wait: 1m}]}]\nteams: [{name: t}]\n":                              `policies[0].steps[0] (line 4): give exactly one of notify, mention, call, page, wait`,
		"policies: [{name: p, steps: [{page: oncall}]}]\nteams: [{name: t, policy: p}]\n":                             `teams[0].schedule (line 5): policy p warns, calls or pages oncall: the team needs a schedule`,
	} {
		_, err := loadYAML(t, base+yaml, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %q", yaml, err, want)
		}
	}
	// What loads.
	base += "teams: [{name: t}]\n"
	for _, yaml := range []string{
		"smtp: {host: 127.0.0.1, from: k@example.com, tls: none}\n",
		"smtp: {host: localhost, port: 2525, from: k@example.com, tls: none}\n",
		"people: [{name: carol, push: 'http://127.0.0.1:8090/c', push_token: tk_x1}]\n",
		twilio + "people: [{name: carol, phone: '+15551230009', rules: [{sms: 0m}, {call: 5m}]}]\npolicies: [{name: p, steps: [{page: carol}, {page: t}]}]\n",
		"smtp: {host: smtp.example.com, from: k@example.com}\npeople: [{name: carol, email: c@example.com, rules: [{email: 0m}]}]\n",
	} {
		if _, err := loadYAML(t, base+yaml, nil); err != nil {
			t.Errorf("%q: %v", yaml, err)
		}
	}
}
