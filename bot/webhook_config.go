package bot

import (
	"fmt"
	"strings"
	"time"
)

// WebhookSourcePrefix starts the source name of a generic webhook: the one
// named "uptime" is the source "webhook/uptime" at POST /hooks/webhook/uptime.
const WebhookSourcePrefix = "webhook/"

// WebhookSource is a generic JSON webhook: who may call it and how its body
// maps to an alert. cmd compiles Fields (adapters/webhook) and reports
// their errors at this source's path.
type WebhookSource struct {
	Name  string     `yaml:"name"`
	Token Secret     `yaml:"token"`
	Basic *BasicAuth `yaml:"basic"`
	HMAC  *HMACAuth  `yaml:"hmac"`
	// AllowUnauthenticated serves the hook without credentials although
	// another source has some or klaxon listens beyond loopback (see
	// SourcesConfig.Open): an explicit choice, logged at start.
	AllowUnauthenticated bool          `yaml:"allow_unauthenticated"`
	Fields               WebhookFields `yaml:"fields"`
}

// auth returns the source's credentials, or nil when it has none.
func (w *WebhookSource) auth() *HookAuth {
	if w.Token == "" && w.Basic == nil && w.HMAC == nil {
		return nil
	}
	return &HookAuth{Token: w.Token, Basic: w.Basic, HMAC: w.HMAC}
}

// WebhookFields is the mapping of a generic webhook as written in config:
// Go templates over the JSON body. It converts to webhook.Fields, which
// documents each field, so the two must keep the same fields in the same
// order.
type WebhookFields struct {
	Title       string            `yaml:"title"`
	Status      string            `yaml:"status"`
	Resolved    []string          `yaml:"resolved"`
	Firing      []string          `yaml:"firing"`
	Ignore      []string          `yaml:"ignore"`
	Severity    string            `yaml:"severity"`
	Fingerprint string            `yaml:"fingerprint"`
	GroupKey    string            `yaml:"group_key"`
	Summary     string            `yaml:"summary"`
	Description string            `yaml:"description"`
	Runbook     string            `yaml:"runbook"`
	StartsAt    string            `yaml:"starts_at"`
	Links       map[string]string `yaml:"links"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// HMACAuth checks an HMAC-SHA256 signature of the request body (and of a
// timestamp, when the sender sends one) carried in a header.
type HMACAuth struct {
	Secret Secret `yaml:"secret"`
	// Header carries the signature, e.g. X-Hub-Signature-256 or
	// X-Grafana-Alerting-Signature.
	Header string `yaml:"header"`
	// Prefix comes before the signature in the header ("sha256=").
	Prefix string `yaml:"prefix"`
	// Encoding of the signature: hex (default) or base64.
	Encoding string `yaml:"encoding"`
	// TimestampHeader, when set, carries the time of sending (Unix
	// seconds or milliseconds, or RFC 3339); the request is refused
	// outside Window of now, and a signature is accepted once within it.
	TimestampHeader string   `yaml:"timestamp_header"`
	Window          Duration `yaml:"window"`
	// Signed is what the signature covers, with {body} and {timestamp}
	// standing for the raw body and the timestamp header's value. Default
	// "{body}", or "{timestamp}:{body}" with a timestamp header (Grafana's).
	Signed string `yaml:"signed"`
}

const (
	defaultHMACWindow = 5 * time.Minute
	maxHMACWindow     = time.Hour
)

// signed returns what the signature covers.
func (h *HMACAuth) signed() string {
	switch {
	case h.Signed != "":
		return h.Signed
	case h.TimestampHeader != "":
		return "{timestamp}:{body}"
	}
	return "{body}"
}

func (h *HMACAuth) window() time.Duration {
	if h.Window == 0 {
		return defaultHMACWindow
	}
	return h.Window.D()
}

func (v *configValidator) hmac(path string, h *HMACAuth) {
	if h.Secret == "" {
		v.errorf(path+".secret", "must not be empty")
	}
	v.inboundSecret(path+".secret", h.Secret)
	if h.Header == "" {
		v.errorf(path+".header", "name the header that carries the signature (e.g. X-Hub-Signature-256)")
	} else if !validHeaderName(h.Header) {
		v.errorf(path+".header", "%q is not an HTTP header name", clipValue(h.Header))
	}
	if h.TimestampHeader != "" && !validHeaderName(h.TimestampHeader) {
		v.errorf(path+".timestamp_header", "%q is not an HTTP header name", clipValue(h.TimestampHeader))
	}
	switch strings.ToLower(h.Encoding) {
	case "", "hex", "base64":
	default:
		v.errorf(path+".encoding", "want hex or base64, got %q", clipValue(h.Encoding))
	}
	s := h.signed()
	if rest := strings.NewReplacer("{body}", "", "{timestamp}", "").Replace(s); strings.ContainsAny(rest, "{}") {
		v.errorf(path+".signed", "knows only {body} and {timestamp}, got %q", clipValue(s))
	}
	if strings.Count(s, "{body}") != 1 {
		v.errorf(path+".signed", "must contain {body} once, got %q", clipValue(s))
	}
	hasTS := strings.Contains(s, "{timestamp}")
	switch {
	case h.TimestampHeader != "" && !hasTS:
		v.errorf(path+".signed", "must contain {timestamp}: a timestamp the signature does not cover proves nothing")
	case h.TimestampHeader == "" && hasTS:
		v.errorf(path+".timestamp_header", "must be set when signed contains {timestamp}")
	}
	if h.Window != 0 && h.TimestampHeader == "" {
		v.errorf(path+".window", "needs timestamp_header: without a timestamp there is no window")
	}
	if h.Window < 0 || h.Window.D() > maxHMACWindow {
		v.errorf(path+".window", "must be between 1s and %s, got %s", maxHMACWindow, h.Window)
	} else if h.Window != 0 && h.Window.D() < time.Second {
		v.errorf(path+".window", "must be between 1s and %s, got %s", maxHMACWindow, h.Window)
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// webhooks checks what bot knows of the generic webhooks: unique names and
// credentials. Names and fields are compiled by cmd (adapters/webhook).
func (v *configValidator) webhooks(ws []WebhookSource) {
	seen := map[string]int{}
	for i := range ws {
		w := &ws[i]
		path := fmt.Sprintf("sources.webhook[%d]", i)
		if w.Name == "" {
			v.errorf(path+".name", "must not be empty: it names the hook's URL, /hooks/webhook/<name>")
		} else if j, dup := seen[w.Name]; dup {
			v.errorf(path+".name", "%q is also sources.webhook[%d]", clipValue(w.Name), j)
		} else {
			seen[w.Name] = i
		}
		if h := w.auth(); h != nil {
			h.AllowUnauthenticated = w.AllowUnauthenticated
			v.hookAuth(path, h)
		} else if v.given(path+".token") || v.given(path+".basic") || v.given(path+".hmac") {
			// token: ${UNSET:-} must not leave the hook open.
			v.errorf(path, "give token, basic or hmac (an empty token is not allowed)")
		}
	}
}

// given reports whether path was written in the loaded file, even with an
// empty value.
func (v *configValidator) given(path string) bool {
	if v.lines == nil {
		return false
	}
	_, ok := v.lines.m[path]
	return ok
}
