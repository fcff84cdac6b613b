package bot

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// SlackConfig connects klaxon to a Slack workspace as a bot.
type SlackConfig struct {
	BotToken      Secret `yaml:"bot_token"`      // xoxb-…; required
	SigningSecret Secret `yaml:"signing_secret"` // verifies slash commands and buttons
	APIURL        string `yaml:"api_url"`        // default https://slack.com/api/
	// ChannelInterval is the least time between two messages (cards and
	// thread replies) to one channel: Slack allows about one a second.
	ChannelInterval Duration `yaml:"channel_interval"`
	// UpdateInterval is the least time between two card edits in the
	// workspace (chat.update allows about fifty a minute).
	UpdateInterval Duration `yaml:"update_interval"`
	// ResponseURLPrefixes are where a command's or a button's
	// response_url may point: klaxon posts a reply that came late there,
	// nowhere else. Default (and when empty) ["https://hooks.slack.com/"];
	// GovSlack adds "https://hooks.slack-gov.com/". https only, each
	// ending with a slash (tests may name "http://127.0.0.1:<port>/…").
	ResponseURLPrefixes []string `yaml:"response_url_prefixes"`
}

// MattermostConfig connects klaxon to a Mattermost server as a bot account.
type MattermostConfig struct {
	URL          string `yaml:"url"`           // https://chat.example.com; required
	BotToken     Secret `yaml:"bot_token"`     // the bot account's access token; required
	CommandToken Secret `yaml:"command_token"` // verifies the slash command
	// Interval is the least time between two API calls to the server
	// (its own rate limit, when enabled, defaults to 10 a second).
	Interval Duration `yaml:"interval"`
}

// TelegramConfig connects klaxon to Telegram as a bot.
type TelegramConfig struct {
	BotToken      Secret `yaml:"bot_token"`      // from @BotFather; required
	APIEndpoint   string `yaml:"api_endpoint"`   // default https://api.telegram.org/bot%s/%s
	WebhookSecret Secret `yaml:"webhook_secret"` // verifies updates pushed to /telegram/webhook
	// Least times between two messages to one chat, to one group (chat id
	// below zero) and from the bot overall: Telegram allows about one a
	// second per chat, twenty a minute per group and thirty a second.
	ChatInterval   Duration `yaml:"chat_interval"`
	GroupInterval  Duration `yaml:"group_interval"`
	GlobalInterval Duration `yaml:"global_interval"`
}

// OutboxConfig tunes the workers that keep cards in sync.
type OutboxConfig struct {
	Workers    int      `yaml:"workers"`     // incidents synced at once by this replica; default 8
	Lease      Duration `yaml:"lease"`       // how long a claimed incident is hidden from other workers; default 1m
	MaxBackoff Duration `yaml:"max_backoff"` // longest wait between retries of a failing card; default 5m
}

// Destinations of a team's cards; each is optional.
type SlackDest struct {
	Channel string `yaml:"channel"` // channel id (C0123ABCD), not its name
}

// MattermostDest is a Mattermost channel.
type MattermostDest struct {
	Channel string `yaml:"channel"` // channel id (26 characters)
}

// TelegramDest is a Telegram chat.
type TelegramDest struct {
	Chat string `yaml:"chat"` // chat id, e.g. -1001234567890 for a group
}

func (c *SlackConfig) setDefaults() {
	c.APIURL = "https://slack.com/api/"
	c.ResponseURLPrefixes = []string{"https://hooks.slack.com/"}
	c.ChannelInterval = Duration(time.Second)
	c.UpdateInterval = Duration(1200 * time.Millisecond)
}

func (c *MattermostConfig) setDefaults() { c.Interval = Duration(100 * time.Millisecond) }

func (c *TelegramConfig) setDefaults() {
	c.APIEndpoint = "https://api.telegram.org/bot%s/%s"
	c.ChatInterval = Duration(time.Second)
	c.GroupInterval = Duration(3 * time.Second)
	c.GlobalInterval = Duration(time.Second / 30)
}

var (
	slackChannel      = regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`)
	mattermostChannel = regexp.MustCompile(`^[a-z0-9]{26}$`)
	telegramChat      = regexp.MustCompile(`^-?[1-9][0-9]{0,18}$`)
)

// chats checks the chat platforms and the teams' destinations.
func (v *configValidator) chats(c *Config) {
	if s := c.Slack; s != nil {
		if s.BotToken == "" {
			v.errorf("slack.bot_token", "must be set (a bot token, xoxb-…)")
		}
		v.outboundSecret("slack.bot_token", s.BotToken)
		v.baseURL("slack.api_url", s.APIURL)
		if !strings.HasSuffix(s.APIURL, "/") {
			v.errorf("slack.api_url", "must end with a slash, got %q", clipValue(s.APIURL))
		}
		v.interval("slack.channel_interval", s.ChannelInterval)
		v.interval("slack.update_interval", s.UpdateInterval)
		for i, p := range s.ResponseURLPrefixes {
			if msg := responseURLPrefixProblem(p); msg != "" {
				v.errorf(fmt.Sprintf("slack.response_url_prefixes[%d]", i), "%s, got %q", msg, clipValue(p))
			}
		}
	}
	if m := c.Mattermost; m != nil {
		v.baseURL("mattermost.url", m.URL)
		if m.BotToken == "" {
			v.errorf("mattermost.bot_token", "must be set (the bot account's access token)")
		}
		v.outboundSecret("mattermost.bot_token", m.BotToken)
		v.interval("mattermost.interval", m.Interval)
	}
	if t := c.Telegram; t != nil {
		if t.BotToken == "" {
			v.errorf("telegram.bot_token", "must be set (the token @BotFather gave)")
		}
		v.outboundSecret("telegram.bot_token", t.BotToken)
		if strings.ContainsAny(t.BotToken.Reveal(), "/?#%") {
			v.errorf("telegram.bot_token", "holds / ? # or %%, which no token from @BotFather has (it reads like 123456789:AA…)")
		}
		if strings.Count(t.APIEndpoint, "%s") != 2 || strings.Contains(strings.ReplaceAll(t.APIEndpoint, "%s", ""), "%") {
			v.errorf("telegram.api_endpoint", "must hold %%s twice, for the token and the method (like https://api.telegram.org/bot%%s/%%s), got %q", clipValue(t.APIEndpoint))
		} else {
			v.baseURL("telegram.api_endpoint", fmt.Sprintf(t.APIEndpoint, "TOKEN", "getMe"))
		}
		v.interval("telegram.chat_interval", t.ChatInterval)
		v.interval("telegram.group_interval", t.GroupInterval)
		v.interval("telegram.global_interval", t.GlobalInterval)
	}
	if c.Slack != nil {
		v.inboundSecret("slack.signing_secret", c.Slack.SigningSecret)
	}
	if c.Mattermost != nil {
		v.inboundSecret("mattermost.command_token", c.Mattermost.CommandToken)
		if strings.ContainsFunc(c.Mattermost.CommandToken.Reveal(), func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			v.errorf("mattermost.command_token", "holds spaces or characters that are not printable ASCII: copy the token again")
		}
	}
	if c.Telegram != nil {
		// klaxon's rule (16 or more, no placeholder), then Telegram's
		// own: 1 to 256 of A-Z a-z 0-9 _ -.
		v.inboundSecret("telegram.webhook_secret", c.Telegram.WebhookSecret)
		switch w := c.Telegram.WebhookSecret.Reveal(); {
		case len(w) > 256:
			v.errorf("telegram.webhook_secret", "is %d characters long: Telegram takes at most 256", len(w))
		case w != "" && !telegramSecretChars.MatchString(w):
			v.errorf("telegram.webhook_secret", "holds characters Telegram refuses: it takes only A-Z a-z 0-9 _ and -")
		}
	}
	o := c.Outbox
	if o.Workers < 1 || o.Workers > 1000 {
		v.errorf("outbox.workers", "must be between 1 and 1000, got %d", o.Workers)
	}
	if o.Lease < Duration(10*time.Second) {
		v.errorf("outbox.lease", "must be at least 10s (a claim must outlast a slow platform call), got %s", o.Lease)
	}
	if o.MaxBackoff < Duration(time.Second) {
		v.errorf("outbox.max_backoff", "must be at least 1s, got %s", o.MaxBackoff)
	}
	for i, t := range c.Teams {
		p := fmt.Sprintf("teams[%d]", i)
		if d := t.Slack; d != nil {
			if !slackChannel.MatchString(d.Channel) {
				v.errorf(p+".slack.channel", "want a Slack channel id such as C0123ABCD (channel details → About → Channel ID), got %q", clipValue(d.Channel))
			}
			if c.Slack == nil {
				v.errorf(p+".slack", "needs the slack section (bot_token)")
			}
		}
		if d := t.Mattermost; d != nil {
			if !mattermostChannel.MatchString(d.Channel) {
				v.errorf(p+".mattermost.channel", "want a Mattermost channel id (26 lowercase letters and digits; View Info in the channel menu), got %q", clipValue(d.Channel))
			}
			if c.Mattermost == nil {
				v.errorf(p+".mattermost", "needs the mattermost section (url, bot_token)")
			}
		}
		if d := t.Telegram; d != nil {
			if !telegramChat.MatchString(d.Chat) {
				v.errorf(p+".telegram.chat", "want a numeric Telegram chat id such as -1001234567890, got %q", clipValue(d.Chat))
			}
			if c.Telegram == nil {
				v.errorf(p+".telegram", "needs the telegram section (bot_token)")
			}
		}
	}
}

// telegramSecretChars is Telegram's alphabet for a webhook's secret_token.
var telegramSecretChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// responseURLPrefixProblem says what is wrong with a response_url prefix
// ("" when nothing is), by the rule of the Slack adapter's
// ValidResponseURLPrefix: an https URL of a host, its path ending in a
// slash, no user, query or fragment; http only to 127.0.0.1 with a port.
func responseURLPrefixProblem(p string) string {
	u, err := url.Parse(p)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "want an absolute URL such as https://hooks.slack.com/"
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(p, "?") || strings.HasSuffix(p, "#"):
		return "must not hold a user, a query or a fragment"
	case !strings.HasSuffix(u.Path, "/"):
		return "must end with a slash (without it, hooks.slack.com would also let hooks.slack.com.example.net in)"
	case u.Scheme == "https", u.Scheme == "http" && u.Hostname() == "127.0.0.1" && u.Port() != "":
		return ""
	}
	return "must be https (http only to 127.0.0.1 with a port, for tests)"
}

func (v *configValidator) baseURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(path, "want an absolute http or https URL, got %q", clipValue(s))
	}
}

func (v *configValidator) interval(path string, d Duration) {
	if d < 0 || d > Duration(time.Hour) {
		v.errorf(path, "must be between 0 (no limit) and 1h, got %s", d)
	}
}

func (c *SlackConfig) Format(f fmt.State, _ rune)      { formatPtr(f, c) }
func (c *MattermostConfig) Format(f fmt.State, _ rune) { formatPtr(f, c) }
func (c *TelegramConfig) Format(f fmt.State, _ rune)   { formatPtr(f, c) }

// ButtonKeySecret is the secret button keys are signed with:
// server.button_secret, else one derived from the chat bot tokens (the same
// on every replica, and a secret as long as they are).
func (c *Config) ButtonKeySecret() []byte {
	if c.Server.ButtonSecret != "" {
		return []byte(c.Server.ButtonSecret.Reveal())
	}
	h := sha256.New()
	h.Write([]byte("klaxon button keys\x00"))
	if c.Slack != nil {
		h.Write([]byte(c.Slack.BotToken.Reveal() + "\x00" + c.Slack.SigningSecret.Reveal() + "\x00"))
	}
	if c.Mattermost != nil {
		h.Write([]byte(c.Mattermost.BotToken.Reveal() + "\x00"))
	}
	if c.Telegram != nil {
		h.Write([]byte(c.Telegram.BotToken.Reveal() + "\x00"))
	}
	return h.Sum(nil)
}
