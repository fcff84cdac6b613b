package bot

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// RuleConfig is one personal notification rule: exactly one method, with
// the delay after the page step at which it is tried, e.g. {sms: 2m}.
type RuleConfig struct {
	DM    *Duration `yaml:"dm"`    // a direct message on each chat account
	Push  *Duration `yaml:"push"`  // a push to the person's ntfy topic
	Email *Duration `yaml:"email"` // an e-mail
	SMS   *Duration `yaml:"sms"`   // a text message (to sms, else phone)
	Call  *Duration `yaml:"call"`  // a phone call
}

// Rule is a rule as the pager uses it.
type Rule struct {
	Method incidents.PageMethod
	After  time.Duration
}

func (r RuleConfig) rule() (Rule, error) {
	var out []Rule
	for _, m := range []struct {
		d      *Duration
		method incidents.PageMethod
	}{{r.DM, incidents.PageDM}, {r.Push, incidents.PagePush}, {r.Email, incidents.PageEmail}, {r.SMS, incidents.PageSMS}, {r.Call, incidents.PageCall}} {
		if m.d != nil {
			out = append(out, Rule{Method: m.method, After: m.d.D()})
		}
	}
	if len(out) != 1 {
		return Rule{}, fmt.Errorf("give exactly one of dm, push, email, sms, call with its delay, e.g. {sms: 2m}")
	}
	return out[0], nil
}

// maxRuleDelay bounds a rule's delay.
const maxRuleDelay = 24 * time.Hour

// SMTPConfig is the mail server klaxon pages by e-mail through.
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"` // default 587 (starttls), 465 (tls), 25 (none)
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	From     string `yaml:"from"` // "klaxon@example.com" or "klaxon <klaxon@example.com>"
	TLS      string `yaml:"tls"`  // starttls (default), tls, none (a relay on loopback only)
}

func (c *SMTPConfig) setDefaults()               { c.TLS = "starttls" }
func (c *SMTPConfig) Format(f fmt.State, _ rune) { formatPtr(f, c) }

// SMTPPort is the port to connect to: Port, else the TLS mode's default.
func (c *SMTPConfig) SMTPPort() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.TLS {
	case "tls":
		return 465
	case "none":
		return 25
	}
	return 587
}

// NtfyConfig holds what pushes to ntfy need beyond each person's topic:
// the access token of topics whose person gives none.
type NtfyConfig struct {
	Token Secret `yaml:"token"`
}

func (c *NtfyConfig) Format(f fmt.State, _ rune) { formatPtr(f, c) }

// ntfyTopic is the last part of a topic URL.
var ntfyTopic = regexp.MustCompile(`^/[A-Za-z0-9_-]{1,64}$`)

// paging checks contact methods, personal and team rules, smtp and ntfy.
func (v *configValidator) paging(c *Config) {
	for i, p := range c.People {
		path := fmt.Sprintf("people[%d]", i)
		if p.SMS != "" && !phoneRE.MatchString(p.SMS) {
			v.errorf(path+".sms", "want an E.164 number such as +15551230001, got %q", clipValue(p.SMS))
		}
		if p.Push != "" {
			v.pushURL(path+".push", p.Push, p.PushToken != "" || (c.Ntfy != nil && c.Ntfy.Token != ""))
		}
		if p.PushToken != "" {
			if p.Push == "" {
				v.errorf(path+".push_token", "is set but push (the ntfy topic URL) is not")
			}
			v.outboundSecret(path+".push_token", p.PushToken)
		}
		for j, r := range p.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", path, j)
			rule, err := r.rule()
			if err != nil {
				v.errorf(rp, "%v", err)
				continue
			}
			rp += "." + string(rule.Method)
			v.ruleDelay(rp, rule.After)
			if why := p.lacks(rule.Method); why != "" {
				v.errorf(rp, "%s has no %s", p.Name, why)
			} else if why := c.lacksProvider(rule.Method); why != "" {
				v.errorf(rp, "%s", why)
			} else if rule.Method == incidents.PageDM && !c.canDM(p) {
				v.errorf(rp, "dm needs the chat platform of one of %s's accounts configured (slack, mattermost or telegram)", p.Name)
			}
		}
	}
	for i, t := range c.Teams {
		for j, r := range t.Rules {
			rp := fmt.Sprintf("teams[%d].rules[%d]", i, j)
			rule, err := r.rule()
			if err != nil {
				v.errorf(rp, "%v", err)
				continue
			}
			rp += "." + string(rule.Method)
			v.ruleDelay(rp, rule.After)
			if why := c.lacksProvider(rule.Method); why != "" {
				v.errorf(rp, "%s", why)
			}
		}
	}
	if s := c.SMTP; s != nil {
		if s.Host == "" {
			v.errorf("smtp.host", "must be set (the mail server's name or address)")
		} else if strings.ContainsAny(s.Host, " /:@") && net.ParseIP(s.Host) == nil {
			v.errorf("smtp.host", "want a host name or address (the port goes in smtp.port), got %q", clipValue(s.Host))
		}
		if s.Port < 0 || s.Port > 65535 {
			v.errorf("smtp.port", "must be between 1 and 65535, got %d", s.Port)
		}
		switch s.TLS {
		case "starttls", "tls":
		case "none":
			if h := strings.Trim(s.Host, "[]"); h != "" && !loopbackHost(h) {
				v.errorf("smtp.tls", "none sends mail and password in plain text: only to a relay on loopback (localhost, 127.0.0.1, ::1), not %q; use starttls or tls", clipValue(s.Host))
			}
		default:
			v.errorf("smtp.tls", "want starttls, tls or none, got %q", clipValue(s.TLS))
		}
		if a, err := mail.ParseAddress(s.From); s.From == "" || err != nil || !validEmail(a.Address) {
			v.errorf("smtp.from", "want the sender's address, such as klaxon@example.com or \"klaxon <klaxon@example.com>\", got %q", clipValue(s.From))
		}
		if s.Username != "" && s.Password == "" {
			v.errorf("smtp.password", "must be set with smtp.username")
		}
		if s.Password != "" && s.Username == "" {
			v.errorf("smtp.username", "must be set with smtp.password")
		}
		v.outboundSecret("smtp.password", s.Password)
	}
	if n := c.Ntfy; n != nil {
		v.outboundSecret("ntfy.token", n.Token)
	}
}

func (v *configValidator) ruleDelay(path string, d time.Duration) {
	if d < 0 || d > maxRuleDelay {
		v.errorf(path, "want a delay between 0m and 24h, got %s", d)
	}
}

// pushURL checks an ntfy topic URL.
func (v *configValidator) pushURL(path, s string, credentials bool) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.errorf(path, "want the ntfy topic's URL, such as https://ntfy.example.com/alice-pager, got %q", clipValue(s))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		v.errorf(path, "want the topic's URL without credentials, query or fragment (put a token in push_token)")
	case !ntfyTopic.MatchString(u.Path):
		v.errorf(path, "want one topic after the server (letters, digits, - and _, up to 64), got %q", clipValue(u.Path))
	case credentials && u.Scheme == "http" && !loopbackHost(u.Hostname()):
		v.errorf(path, "the ntfy token would travel in plain text: use https (or http to loopback only)")
	}
}

// lacks says which contact method p lacks for m, or "".
func (p PersonConfig) lacks(m incidents.PageMethod) string {
	switch m {
	case incidents.PageDM:
		if p.Slack == "" && p.Mattermost == "" && p.Telegram == "" {
			return "chat account for dm (slack, mattermost or telegram)"
		}
	case incidents.PagePush:
		if p.Push == "" {
			return "push (an ntfy topic URL)"
		}
	case incidents.PageEmail:
		if p.Email == "" {
			return "email"
		}
	case incidents.PageSMS:
		if p.SMSNumber() == "" {
			return "sms or phone number"
		}
	case incidents.PageCall:
		if p.Phone == "" {
			return "phone"
		}
	}
	return ""
}

// SMSNumber is where p's text messages go: sms, else phone.
func (p PersonConfig) SMSNumber() string {
	if p.SMS != "" {
		return p.SMS
	}
	return p.Phone
}

// lacksProvider says what config method m needs and c lacks, or "".
func (c *Config) lacksProvider(m incidents.PageMethod) string {
	switch m {
	case incidents.PageSMS:
		if c.Twilio == nil {
			return "sms needs twilio (account_sid, auth_token, from)"
		}
	case incidents.PageCall:
		if c.Twilio == nil {
			return "call needs twilio (account_sid, auth_token, from)"
		}
	case incidents.PageEmail:
		if c.SMTP == nil {
			return "email needs smtp (host, from)"
		}
	}
	return ""
}

// canDM reports whether klaxon has a chat platform p has an account on.
func (c *Config) canDM(p PersonConfig) bool {
	return (p.Slack != "" && c.Slack != nil) || (p.Mattermost != "" && c.Mattermost != nil) || (p.Telegram != "" && c.Telegram != nil)
}

// defaultRules are the rules of a person with none, in a team with none:
// the chat and push at once, e-mail too, a text after 2 minutes, a call
// after 5, each where the person has the contact and klaxon the provider.
var defaultRules = []Rule{{incidents.PageDM, 0}, {incidents.PagePush, 0}, {incidents.PageEmail, 0}, {incidents.PageSMS, 2 * time.Minute}, {incidents.PageCall, 5 * time.Minute}}

// rulesFor is how person p is paged about an incident of team: their own
// rules, else the team's, else defaultRules; rules whose contact or
// provider is missing are left out (skipped names them).
func (c *Config) rulesFor(p PersonConfig, team TeamConfig) (rules []Rule, skipped []string) {
	var cfg []RuleConfig
	switch {
	case len(p.Rules) > 0:
		cfg = p.Rules
	case len(team.Rules) > 0:
		cfg = team.Rules
	}
	var all []Rule
	for _, rc := range cfg {
		if r, err := rc.rule(); err == nil {
			all = append(all, r)
		}
	}
	if cfg == nil {
		all = defaultRules
	}
	for _, r := range all {
		if p.lacks(r.Method) != "" || c.lacksProvider(r.Method) != "" || (r.Method == incidents.PageDM && !c.canDM(p)) {
			if cfg != nil {
				skipped = append(skipped, string(r.Method))
			}
			continue
		}
		rules = append(rules, r)
	}
	return rules, skipped
}
