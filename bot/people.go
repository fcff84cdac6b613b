package bot

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
)

// PersonConfig is one person and their accounts: whichever platform they
// act from, the timeline and the cards name them the same.
type PersonConfig struct {
	Name       string `yaml:"name"`       // how klaxon names them (also @name in commands)
	Slack      string `yaml:"slack"`      // Slack user id (U…)
	Mattermost string `yaml:"mattermost"` // Mattermost user id
	Telegram   string `yaml:"telegram"`   // Telegram user id (numeric)
	Phone      string `yaml:"phone"`      // E.164, for escalation calls
	Email      string `yaml:"email"`      // e-mail address: console single sign-on, e-mail pages
	SMS        string `yaml:"sms"`        // E.164, for text messages; default phone
	Push       string `yaml:"push"`       // ntfy topic URL, for pushes
	PushToken  Secret `yaml:"push_token"` // ntfy access token of the topic; default ntfy.token
	// Rules are how a page step reaches them, e.g. [{dm: 0m}, {sms: 2m}];
	// default the team's rules (see rulesFor).
	Rules []RuleConfig `yaml:"rules"`
}

var (
	phoneRE  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	personRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_.'-]{0,63}$`)
)

// people checks people and the teams' responders.
func (v *configValidator) people(c *Config) {
	names := map[string]bool{}
	ids := map[string]string{}
	for i, p := range c.People {
		path := fmt.Sprintf("people[%d]", i)
		switch {
		case !personRE.MatchString(p.Name):
			v.errorf(path+".name", "want a name of letters, digits, _ . ' -, got %q", clipValue(p.Name))
		case names[strings.ToLower(p.Name)]:
			v.errorf(path+".name", "%q is defined twice", p.Name)
		}
		names[strings.ToLower(p.Name)] = true
		for _, acc := range []struct{ platform, id string }{{Slack, p.Slack}, {Mattermost, p.Mattermost}, {Telegram, p.Telegram}} {
			if acc.id == "" {
				continue
			}
			k := acc.platform + ":" + acc.id
			if other, dup := ids[k]; dup {
				v.errorf(path+"."+acc.platform, "%s account %q is also %s's", acc.platform, clipValue(acc.id), other)
			}
			ids[k] = p.Name
		}
		if p.Telegram != "" && !telegramChat.MatchString(p.Telegram) {
			v.errorf(path+".telegram", "want a numeric Telegram user id, got %q", clipValue(p.Telegram))
		}
		if p.Email != "" {
			if !validEmail(p.Email) {
				v.errorf(path+".email", "want an e-mail address such as alice@example.com, got %q", clipValue(p.Email))
			} else if other, dup := ids["email:"+strings.ToLower(p.Email)]; dup {
				v.errorf(path+".email", "%q is also %s's", clipValue(p.Email), other)
			}
			ids["email:"+strings.ToLower(p.Email)] = p.Name
		}
		if p.Phone != "" && !phoneRE.MatchString(p.Phone) {
			v.errorf(path+".phone", "want an E.164 number such as +15551230001, got %q", clipValue(p.Phone))
		}
	}
	all := make([]string, 0, len(c.People))
	for _, p := range c.People {
		all = append(all, p.Name)
	}
	for i, t := range c.Teams {
		for j, r := range t.Responders {
			if !names[strings.ToLower(r)] {
				v.unknownRef(fmt.Sprintf("teams[%d].responders[%d]", i, j), "person", "people", r, all)
			}
		}
	}
}

// validEmail accepts one address (local@domain), as mail.ParseAddress
// does, without a display name, spaces or angle brackets.
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// directory finds people by account and by name.
type directory struct {
	byAccount map[string]string // "slack:U123" → name
	byName    map[string]string // lower-case name → name
}

func newDirectory(c *Config) *directory {
	d := &directory{byAccount: map[string]string{}, byName: map[string]string{}}
	for _, p := range c.People {
		d.byName[strings.ToLower(p.Name)] = p.Name
		for platform, id := range map[string]string{Slack: p.Slack, Mattermost: p.Mattermost, Telegram: p.Telegram} {
			if id != "" {
				d.byAccount[platform+":"+id] = p.Name
			}
		}
	}
	return d
}

// actor names who made a request: the person their account belongs to;
// else the name they chose on their platform, marked with the platform so
// that nobody passes for a person klaxon knows ("alice (Telegram)").
func (d *directory) actor(platform, userID, userName string) (name string, known bool) {
	if n, ok := d.byAccount[platform+":"+userID]; ok {
		return n, true
	}
	if userName = strings.TrimSpace(userName); userName == "" {
		userName = "user " + userID
	}
	return clip(userName, 48) + " (" + platformTitle(platform) + ")", false
}

// blameRE matches any of phrases as whole words, ignoring case.
func blameRE(phrases []string) *regexp.Regexp {
	var alts []string
	for _, p := range phrases {
		if p = strings.TrimSpace(p); p != "" {
			alts = append(alts, regexp.QuoteMeta(p))
		}
	}
	if len(alts) == 0 {
		return nil
	}
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(alts, "|") + `)\b`)
}

// mention reads a person as typed in a command: "@alice", "alice",
// Slack's "<@U123|alice>" or "<@U123>", Mattermost's "@alice".
func (d *directory) mention(platform, s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">") {
		id, label, _ := strings.Cut(s[2:len(s)-1], "|")
		if n, ok := d.byAccount[Slack+":"+id]; ok {
			return n
		}
		if label != "" {
			return clip(label, 64)
		}
		return clip(id, 64)
	}
	s = strings.TrimPrefix(s, "@")
	if n, ok := d.byName[strings.ToLower(s)]; ok {
		return n
	}
	return clip(s, 64)
}
