// The secret rule, and which webhooks take requests without credentials.

package bot

import (
	"fmt"
	"net"
	"strings"
	"unicode/utf8"
)

// MinSecretLength is the least number of characters of a secret that
// authenticates requests to klaxon (webhook tokens, passwords and HMAC
// secrets, API tokens, Slack's signing secret, Mattermost's command token,
// Telegram's webhook secret, server.button_secret): a shorter one could be
// guessed.
const MinSecretLength = 16

// placeholderWords are whole values people leave in by mistake (compared
// in any case, also after a token's own prefix such as xoxb-).
var placeholderWords = []string{
	"change-me", "changeme", "change_me", "change-this", "replace-me", "replaceme", "replace_me",
	"secret", "password", "passwd", "pass", "token", "key", "apikey", "api-key", "api_key",
	"todo", "tbd", "fixme", "xxx", "test", "testing", "example", "sample", "dummy", "placeholder",
	"default", "none", "null", "nil", "empty", "redacted", "mysecret", "my-secret", "mytoken", "my-token",
}

// placeholderMarks give a placeholder away wherever they are in a value:
// "xoxb-change-me", "AC…", "xoxb-...", "your-token-here".
var placeholderMarks = []string{
	"change-me", "changeme", "change_me", "change-this", "changethis", "replace-me", "replaceme", "replace_me",
	"…", "...", "your-", "your_", "-here", "_here", "example", "placeholder", "xxxx",
}

// tokenPrefixes start real tokens; what follows one is checked as a whole
// value too ("xoxb-token" is a placeholder).
var tokenPrefixes = []string{"xoxb-", "xoxp-", "xapp-", "xoxe-", "bearer ", "basic "}

// placeholderProblem says why s looks like a value left in a config by
// mistake, or "" when it does not. It never quotes s.
func placeholderProblem(s string) string {
	l := strings.ToLower(strings.TrimSpace(s))
	core := l
	for _, p := range tokenPrefixes {
		core = strings.TrimPrefix(core, p)
	}
	if i := strings.IndexByte(core, ':'); i > 0 && strings.Trim(core[:i], "0123456789") == "" {
		core = core[i+1:] // a Telegram bot token: 123456:<secret part>
	}
	for _, w := range placeholderWords {
		if l == w || core == w {
			return "is a placeholder: set the real one"
		}
	}
	if strings.Contains(l, "${") {
		return `holds "${", a variable that was not expanded (a value read from a file or from another variable is not expanded again): set the real one`
	}
	if strings.HasPrefix(l, "<") && strings.HasSuffix(l, ">") {
		return `is a placeholder ("<…>"): set the real one`
	}
	for _, m := range placeholderMarks {
		if strings.Contains(l, m) {
			return fmt.Sprintf("holds %q, so it is a placeholder: set the real one", m)
		}
	}
	if r, _ := utf8.DecodeRuneInString(l); len(l) > 1 && strings.Trim(l, string(r)) == "" {
		return "is one character repeated: set the real one"
	}
	return ""
}

// inboundSecret checks a secret that authenticates requests to klaxon: not
// a placeholder and at least MinSecretLength characters, or anyone could
// act as anyone. An empty one is left to the caller.
func (v *configValidator) inboundSecret(path string, s Secret) {
	w := s.Reveal()
	if w == "" {
		return
	}
	if msg := placeholderProblem(w); msg != "" {
		v.errorf(path, "%s", msg)
		return
	}
	if n := utf8.RuneCountInString(w); n < MinSecretLength {
		v.errorf(path, "is %s long: at least %d, or anyone could guess it", plural(n, "character"), MinSecretLength)
	}
}

// outboundSecret checks a credential a platform gave (a bot token,
// Twilio's auth token): its length is the platform's business, but a
// placeholder would only fail at the first call.
func (v *configValidator) outboundSecret(path string, s Secret) {
	if w := s.Reveal(); w != "" {
		if msg := placeholderProblem(w); msg != "" {
			v.errorf(path, "%s", msg)
		} else if strings.ContainsFunc(w, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			v.errorf(path, "holds spaces or control characters: copy the token again, without its quotes or line breaks")
		}
	}
}

// hasCredentials reports whether h holds a token, basic credentials or an
// HMAC secret.
func (h *HookAuth) hasCredentials() bool {
	return h != nil && (h.Token != "" || h.Basic != nil || h.HMAC != nil)
}

// hookSource is one webhook klaxon serves, as the config has it.
type hookSource struct {
	name  string    // the source: alertmanager, grafana, webhook/<name>
	path  string    // in the config: sources.alertmanager, sources.webhook[0]
	auth  *HookAuth // nil when the source has none
	allow bool      // allow_unauthenticated
	given bool      // the config has a section for it (a generic webhook always has)
}

// hooks returns every webhook klaxon serves: Alertmanager's and Grafana's
// (always served, configured or not) and the generic ones.
func (c SourcesConfig) hooks() []hookSource {
	hs := []hookSource{
		{name: "alertmanager", path: "sources.alertmanager", auth: c.Alertmanager.inbound(), given: c.Alertmanager.inbound() != nil},
		{name: "grafana", path: "sources.grafana", auth: c.Grafana.inbound(), given: c.Grafana.inbound() != nil},
	}
	for i := range 2 {
		if hs[i].auth != nil {
			hs[i].allow = hs[i].auth.AllowUnauthenticated
		}
	}
	for i := range c.Webhook {
		w := &c.Webhook[i]
		hs = append(hs, hookSource{name: WebhookSourcePrefix + w.Name, path: fmt.Sprintf("sources.webhook[%d]", i),
			auth: w.auth(), allow: w.AllowUnauthenticated, given: true})
	}
	return hs
}

// HookPath is the URL path of a source's webhook: /hooks/alertmanager,
// /hooks/grafana, /hooks/webhook/<name>.
func HookPath(source string) string { return "/hooks/" + source }

// Open reports whether the webhook of the source name (alertmanager,
// grafana or webhook/<name>) takes requests without credentials, and why
// (for a log line at start and for check-config). A source with
// credentials is not open and why is "". One without is open when it says
// allow_unauthenticated: true, or when no source has credentials and
// klaxon listens on loopback only (loopback: where the listener is bound);
// otherwise its hook must answer 401 to everyone, and why says what to set.
// An unknown name is not open.
func (c SourcesConfig) Open(name string, loopback bool) (open bool, why string) {
	return openAmong(c.hooks(), name, loopback)
}

// hooks returns every hook klaxon serves: the sources' (SourcesConfig.hooks)
// and the heartbeats'.
func (c *Config) hooks() []hookSource {
	return append(c.Sources.hooks(), c.heartbeatHooks()...)
}

// HookOpen is SourcesConfig.Open over every hook klaxon serves, the
// heartbeats' (heartbeat/<name>) too: a credential on any of them closes
// the others that have none.
func (c *Config) HookOpen(name string, loopback bool) (open bool, why string) {
	return openAmong(c.hooks(), name, loopback)
}

func openAmong(hs []hookSource, name string, loopback bool) (open bool, why string) {
	var h *hookSource
	withCredentials := "" // the first hook with credentials
	for i := range hs {
		if hs[i].name == name && h == nil {
			h = &hs[i]
		}
		if withCredentials == "" && hs[i].auth.hasCredentials() {
			withCredentials = hs[i].path
		}
	}
	const fix = "set a token, basic or hmac, or allow_unauthenticated: true"
	switch {
	case h == nil:
		return false, fmt.Sprintf("no source %q", name)
	case h.auth.hasCredentials():
		return false, ""
	case h.allow:
		return true, "allow_unauthenticated is true: anyone who reaches klaxon may send alerts here"
	case withCredentials != "":
		return false, fmt.Sprintf("has no credentials while %s has: %s", withCredentials, fix)
	case !loopback:
		return false, "has no credentials and klaxon is reachable beyond this machine (server.listen beyond loopback, or server.public_url or trusted_proxies set): " + fix
	}
	return true, "no source has credentials and klaxon listens on loopback only: requests from this machine only (not through a proxy, not from a web page)"
}

// allows reports whether the hook name says allow_unauthenticated.
func (c *Config) allows(name string) bool {
	for _, h := range c.hooks() {
		if h.name == name {
			return h.allow
		}
	}
	return false
}

// LocalOnly reports whether klaxon is reachable from this machine only:
// it listens on loopback, and no public URL or trusted proxy says that
// something forwards requests to it from elsewhere. Only then does it let
// in, without credentials, what comes from this machine (see
// internal/localtrust).
func (c *Config) LocalOnly() bool {
	return listensOnLoopback(c.Server.Listen) && c.Server.PublicURL == "" && len(c.Server.TrustedProxies) == 0
}

// listensOnLoopback reports whether the listen address is on loopback
// only: localhost or a loopback IP (":8080" is every interface).
func listensOnLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// unauthenticated checks that a generic webhook without credentials is
// served open, not closed by accident: one that would answer 401 to
// everyone is an error, saying why. (Alertmanager's and Grafana's
// sections need credentials or allow_unauthenticated: hookAuth.)
func (v *configValidator) unauthenticated(c *Config) {
	loopback := c.LocalOnly()
	hs := c.hooks()
	for _, h := range hs[2:] {
		if h.auth.hasCredentials() || v.given(h.path+".token") || v.given(h.path+".basic") || v.given(h.path+".hmac") {
			continue // checked by hookAuth, or an empty credential (webhooks)
		}
		if open, why := openAmong(hs, h.name, loopback); !open {
			v.errorf(h.path, "%s", why)
		}
	}
}

// Notes returns what check-config tells besides errors: each webhook that
// takes requests without credentials, and each that answers 401 to
// everyone although the config leaves it out (Alertmanager's or Grafana's,
// while another source has credentials or klaxon listens beyond
// loopback). Loopback is judged by server.listen, server.public_url and
// server.trusted_proxies (LocalOnly).
func (c *Config) Notes() ConfigErrors {
	loopback := c.LocalOnly()
	var notes ConfigErrors
	hs := c.hooks()
	for _, h := range hs {
		if h.auth.hasCredentials() {
			continue
		}
		open, why := openAmong(hs, h.name, loopback)
		if !open && h.given {
			continue // an error already
		}
		what := " answers 401 to everyone: "
		if open {
			what = " takes requests without credentials: "
		}
		line := 0 // the line of the source, not of sources when it is left out
		if c.lines != nil {
			line = c.lines.m[h.path]
		}
		notes = append(notes, ConfigError{Path: h.path, Line: line, Msg: HookPath(h.name) + what + why})
	}
	return notes
}

// plural returns "1 character", "2 characters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
