// Config: klaxon's YAML configuration, parsed strictly (every unknown key is
// an error), with ${ENV} expansion in values, <key>_file for every secret,
// defaults filled before validation, and every error naming its dotted path
// and line.

package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/admission"
	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/suggest"
	"go.yaml.in/yaml/v3"
)

// Config is klaxon's whole configuration. Build one with DefaultConfig or
// LoadConfig; a Config built by hand should be checked with Validate.
type Config struct {
	Server    ServerConfig    `yaml:"server"`
	Store     StoreConfig     `yaml:"store"`
	Sources   SourcesConfig   `yaml:"sources"`
	Incidents IncidentsConfig `yaml:"incidents"`
	// TemplatesDir holds card.tmpl overriding the built-in card templates.
	TemplatesDir string `yaml:"templates_dir"`
	// Teams own incidents; Routes pick an incident's team from its alerts'
	// labels, first match wins; DefaultTeam takes what no route matches.
	Teams       []TeamConfig  `yaml:"teams"`
	Routes      []RouteConfig `yaml:"routes"`
	DefaultTeam string        `yaml:"default_team"`
	// People map platform accounts to one person each.
	People []PersonConfig `yaml:"people"`
	// APITokens are the tokens of the HTTP API and the CLI, each with a
	// scope and the person it acts as (server.api_token is a read token).
	APITokens []APITokenConfig `yaml:"api_tokens"`
	// Escalation: policies, on-call schedules, and phone calls.
	Policies  []PolicyConfig   `yaml:"policies"`
	Schedules []ScheduleConfig `yaml:"schedules"`
	Twilio    *TwilioConfig    `yaml:"twilio"`
	// Paging by e-mail and push (people[].email, people[].push).
	SMTP *SMTPConfig `yaml:"smtp"`
	Ntfy *NtfyConfig `yaml:"ntfy"`
	// Paging tunes the page step: its throttles per person and method.
	Paging PagingConfig `yaml:"paging"`
	// Chat platforms (each optional) and the outbox that syncs their cards.
	Slack      *SlackConfig      `yaml:"slack"`
	Mattermost *MattermostConfig `yaml:"mattermost"`
	Telegram   *TelegramConfig   `yaml:"telegram"`
	Outbox     OutboxConfig      `yaml:"outbox"`
	// Console is the web UI at /ui/: sign-in and sessions.
	Console ConsoleConfig `yaml:"console"`
	// Heartbeats are dead man's switches, each at /hooks/heartbeat/<name>.
	Heartbeats []HeartbeatConfig `yaml:"heartbeats"`
	// Maintenance are weekly maintenance windows (maintenance.go).
	Maintenance []MaintenanceConfig `yaml:"maintenance"`
	// Datasources are asked for the series an alert monitors, drawn as a
	// graph on the incident's cards.
	Datasources []DatasourceConfig `yaml:"datasources"`

	lines *lineIndex // dotted path → line in the loaded file; nil if built in Go
}

// ServerConfig is the HTTP server.
type ServerConfig struct {
	Listen          string   `yaml:"listen"`           // host:port; default 127.0.0.1:8080
	PublicURL       string   `yaml:"public_url"`       // optional absolute http(s) URL
	MaxBodyBytes    int64    `yaml:"max_body_bytes"`   // 1 .. 1 GiB; default 4 MiB
	MaxWebhooks     int      `yaml:"max_webhooks"`     // webhooks handled at once; default 64
	ShutdownTimeout Duration `yaml:"shutdown_timeout"` // > 0; default 25s
	APIToken        Secret   `yaml:"api_token"`        // optional bearer token for /api/
	// APIOpen serves /api/ without a token although klaxon listens beyond
	// loopback: incident data is not public, so this is an explicit choice
	// (logged at start). On loopback the API is open without it.
	APIOpen bool `yaml:"api_open"`
	// TrustedProxies are the reverse proxies (addresses or CIDRs) whose
	// X-Forwarded-For names the client, for the per-client limits.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Limits bound what klaxon takes in at once (see package admission).
	Limits LimitsConfig `yaml:"limits"`
	// ButtonSecret signs the keys card buttons carry; every replica needs
	// the same. Default: derived from the chat bot tokens.
	ButtonSecret Secret `yaml:"button_secret"`
}

// LimitsConfig bounds the requests klaxon handles at once, so that
// neither a caller without credentials nor a storm of large webhooks can
// starve authenticated senders or push klaxon past its memory limit.
type LimitsConfig struct {
	// WebhookMemory is the memory, in bytes, that authenticated webhooks
	// may hold at once (their bodies and what is parsed from them); 0
	// means 40% of GOMEMLIMIT when it is set, else 256 MiB.
	WebhookMemory int64 `yaml:"webhook_memory"`
	// Unauthenticated is how many requests may be read at once before
	// they are authenticated (signed webhooks, Slack, Mattermost,
	// Telegram and Twilio calls); UnauthenticatedPerClient how many of
	// them from one client address.
	Unauthenticated          int `yaml:"unauthenticated"`
	UnauthenticatedPerClient int `yaml:"unauthenticated_per_client"`
	// UnauthenticatedMemory is the memory, in bytes, those requests may
	// hold at once.
	UnauthenticatedMemory int64 `yaml:"unauthenticated_memory"`
	// UnauthenticatedBodyTimeout is how long a caller may take to send a
	// body klaxon reads before knowing who sent it.
	UnauthenticatedBodyTimeout Duration `yaml:"unauthenticated_body_timeout"`
}

// StoreConfig picks the store: Redis when Redis is set, else the embedded
// store in DataDir.
type StoreConfig struct {
	Redis   *RedisConfig `yaml:"redis"`
	DataDir string       `yaml:"data_dir"` // default ./data
}

// RedisConfig reaches Redis through exactly one of URL, Sentinel or Cluster.
// Username and Password apply to the data nodes in every mode.
type RedisConfig struct {
	URL       Secret          `yaml:"url"` // redis:// or rediss://; may embed a password
	Sentinel  *SentinelConfig `yaml:"sentinel"`
	Cluster   *ClusterConfig  `yaml:"cluster"`
	Username  string          `yaml:"username"`
	Password  Secret          `yaml:"password"`
	KeyPrefix string          `yaml:"key_prefix"` // [A-Za-z0-9_.-]{1,64}; default klaxon
}

// SentinelConfig reaches a Redis master through Sentinel.
type SentinelConfig struct {
	Master           string   `yaml:"master"`
	Addrs            []string `yaml:"addrs"`
	Password         Secret   `yaml:"password"`
	SentinelPassword Secret   `yaml:"sentinel_password"`
	DB               int      `yaml:"db"`
}

// ClusterConfig reaches a Redis Cluster through any of its seed nodes.
type ClusterConfig struct {
	Addrs []string `yaml:"addrs"`
}

// SourcesConfig authenticates the inbound webhooks.
type SourcesConfig struct {
	Alertmanager *HookAuth `yaml:"alertmanager"`
	Grafana      *HookAuth `yaml:"grafana"`
	// Webhook are the generic JSON webhooks, each at
	// POST /hooks/webhook/<name>, mapped by its fields.
	Webhook []WebhookSource `yaml:"webhook"`
}

// HookAuth is how a webhook caller proves itself: a bearer Token, Basic
// auth or an HMAC signature of the body; one of them. For Alertmanager
// and Grafana it also says how klaxon reaches their API, to silence
// alerts at the source: APIURL with APIToken or APIBasic.
type HookAuth struct {
	Token Secret     `yaml:"token"`
	Basic *BasicAuth `yaml:"basic"`
	HMAC  *HMACAuth  `yaml:"hmac"`
	// AllowUnauthenticated, instead of credentials, serves the hook to
	// anyone: an explicit choice, logged at start. Without credentials
	// and without it, a hook is served only when no source has
	// credentials and klaxon listens on loopback (see SourcesConfig.Open).
	AllowUnauthenticated bool `yaml:"allow_unauthenticated"`

	// APIURL is the base URL of the source's API klaxon calls to create
	// and expire silences: Alertmanager's (http://alertmanager:9093, the
	// URL of its web UI), or Grafana's own (https://grafana.example.com),
	// whose built-in Alertmanager klaxon then uses. Empty: no silences.
	APIURL string `yaml:"api_url"`
	// APIToken is sent as a bearer token to APIURL (a proxy's, or a
	// Grafana service account's with the Editor role); APIBasic is basic
	// auth instead (Alertmanager's web.config.file basic_auth_users).
	APIToken Secret     `yaml:"api_token"`
	APIBasic *BasicAuth `yaml:"api_basic"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// IncidentsConfig tunes how alerts become incidents.
type IncidentsConfig struct {
	ReopenWindow Duration       `yaml:"reopen_window"` // >= 0; default 1h
	Severity     SeverityConfig `yaml:"severity"`
	// BlamePhrases in a note earn its author a gentle hint toward systems
	// language (the note is kept). A given list replaces the default one.
	BlamePhrases []string `yaml:"blame_phrases"`
	// Flapping says when an incident is flapping (maintenance.go).
	Flapping FlappingConfig `yaml:"flapping"`
}

// SeverityConfig maps the value of an alert label to a severity.
type SeverityConfig struct {
	Label   string                        `yaml:"label"`   // default "severity"
	Default incidents.Severity            `yaml:"default"` // 1..4; default 3
	Map     map[string]incidents.Severity `yaml:"map"`     // lower-case keys; a given map replaces the defaults
}

// Of returns the severity that labels[c.Label] maps to (trimmed, any case),
// or c.Default.
func (c SeverityConfig) Of(labels map[string]string) incidents.Severity {
	v := strings.ToLower(strings.TrimSpace(labels[c.Label]))
	if v == "" {
		return c.Default
	}
	if s, ok := c.Map[v]; ok {
		return s
	}
	for k, s := range c.Map { // a map built in Go may have keys in any case
		if strings.EqualFold(strings.TrimSpace(k), v) {
			return s
		}
	}
	return c.Default
}

// Secret is a string that never prints: String, GoString and every
// marshaller show "<secret>" (or "" when it is empty). Use Reveal to use it.
type Secret string

const secretMask = "<secret>"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// Format prints the mask whatever the verb: without it, fmt would print the
// raw value for verbs that String does not serve, such as %d or %t.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb != 'q' {
		verb = 's'
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

func (s Secret) GoString() string             { return s.String() }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
func (s Secret) MarshalYAML() (any, error)    { return s.String(), nil }

// formatPtr prints the config struct that p points to as %v would, whatever
// the verb. Each pointer type that holds a Secret has a Format method that
// calls it: for a pointer field and a verb such as %s, fmt would otherwise
// print the struct raw, bypassing Secret's own methods.
func formatPtr[T any](f fmt.State, p *T) {
	if p == nil {
		io.WriteString(f, "<nil>")
		return
	}
	fmt.Fprintf(f, "&"+fmt.FormatString(f, 'v'), *p)
}

func (r *RedisConfig) Format(f fmt.State, _ rune)    { formatPtr(f, r) }
func (s *SentinelConfig) Format(f fmt.State, _ rune) { formatPtr(f, s) }
func (h *HookAuth) Format(f fmt.State, _ rune)       { formatPtr(f, h) }
func (b *BasicAuth) Format(f fmt.State, _ rune)      { formatPtr(f, b) }

// Duration is a time.Duration written in Go syntax: "90s", "5m", "1h30m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration              { return time.Duration(d) }
func (d Duration) String() string                { return time.Duration(d).String() }
func (d Duration) MarshalYAML() (any, error)     { return d.String(), nil }
func (d Duration) MarshalJSON() ([]byte, error)  { return json.Marshal(d.String()) }
func (d *Duration) UnmarshalText(b []byte) error { return d.set(string(b)) }

func (d *Duration) set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return durationError(strings.TrimSpace(s))
	}
	*d = Duration(v)
	return nil
}

var (
	durationPart = regexp.MustCompile(`([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([a-zµμ]+)`)
	bareNumber   = regexp.MustCompile(`^[-+]?[0-9]+(?:\.[0-9]*)?$`)
)

// durationError says what a duration Go cannot parse should be, with the
// usual mistakes spelled out: days and weeks, which Go durations lack
// ("1d": want "24h"), and a number without a unit.
func durationError(s string) error {
	if bareNumber.MatchString(s) {
		return fmt.Errorf("want a duration with a unit, such as \"%ss\" or \"%sm\", got %q", s, s, s)
	}
	var total time.Duration
	var units []string
	rest := strings.TrimPrefix(s, "-")
	for rest != "" {
		m := durationPart.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			break
		}
		num, unit := rest[m[2]:m[3]], rest[m[4]:m[5]]
		per := map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[unit]
		if per == 0 {
			p, err := time.ParseDuration(num + unit)
			if err != nil {
				break
			}
			total += p
		} else {
			f, _ := strconv.ParseFloat(num, 64)
			total += time.Duration(f * float64(per))
			if !slices.Contains(units, `"`+unit+`"`) {
				units = append(units, `"`+unit+`"`)
			}
		}
		rest = rest[m[1]:]
	}
	if rest == "" && len(units) > 0 {
		if strings.HasPrefix(s, "-") {
			total = -total
		}
		return fmt.Errorf("want a duration such as %q (Go durations have no %s: %s is %s)", shortDuration(total), strings.Join(units, " or "), s, shortDuration(total))
	}
	return fmt.Errorf("want a duration such as \"30s\" or \"1h30m\", got %q", clipValue(s))
}

// shortDuration writes d as Go does, without the zero minutes and seconds
// Go adds after hours: 24h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// ConfigError is one problem in a config: where (dotted path such as
// "store.redis.cluster.addrs[1]", and the line when loaded from a file) and what.
type ConfigError struct {
	Path string
	Line int
	Msg  string
}

func (e ConfigError) Error() string {
	switch {
	case e.Path != "" && e.Line > 0:
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	case e.Path != "":
		return e.Path + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// ConfigErrors is every problem found in a config, one per line.
type ConfigErrors []ConfigError

func (es ConfigErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// About reports whether es holds an error at path, at a path within it
// ("teams[0]" is within "teams") or at one that path is within. A check
// made after es was found skips an error es is about: it would only echo
// one already reported.
func (es ConfigErrors) About(path string) bool {
	return slices.ContainsFunc(es, func(e ConfigError) bool {
		return e.Path != "" && (within(e.Path, path) || within(path, e.Path))
	})
}

// namesBroken reports whether es holds an error at the list list, at one
// of its items, or at an item's name: the names a reference into list may
// name are then not all known.
func (es ConfigErrors) namesBroken(list string) bool {
	return slices.ContainsFunc(es, func(e ConfigError) bool {
		rest, ok := strings.CutPrefix(e.Path, list)
		if !ok {
			return false
		}
		rest = strings.TrimSuffix(rest, ".name")
		return rest == "" || (strings.HasPrefix(rest, "[") && strings.IndexByte(rest, ']') == len(rest)-1)
	})
}

// within reports whether path is dir or lies within it.
func within(path, dir string) bool {
	rest, ok := strings.CutPrefix(path, dir)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// SortConfigErrors sorts es by line, then by path (teams[2] before
// teams[10]); errors with no line (about what the file leaves out) come
// last. Errors with the same line and path keep their order.
func SortConfigErrors(es ConfigErrors) {
	slices.SortStableFunc(es, func(a, b ConfigError) int {
		if a.Line != b.Line {
			switch {
			case a.Line == 0:
				return 1
			case b.Line == 0:
				return -1
			}
			return a.Line - b.Line
		}
		return comparePaths(a.Path, b.Path)
	})
}

// comparePaths compares dotted paths, list indexes by their number.
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			i, j := digits(a), digits(b)
			na, _ := strconv.Atoi(a[:i])
			nb, _ := strconv.Atoi(b[:j])
			if na != nb {
				return na - nb
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

const (
	defaultKeyPrefix = "klaxon"
	maxBodyLimit     = 1 << 30
)

// DefaultConfig returns the configuration used when no file is given:
// embedded store in ./data, listening on 127.0.0.1:8080.
func DefaultConfig() *Config {
	m := map[string]incidents.Severity{
		"critical": 1, "page": 1, "emergency": 1, "fatal": 1,
		"high": 2, "error": 2, "major": 2,
		"warning": 3, "warn": 3, "medium": 3, "minor": 3,
		"info": 4, "low": 4, "informational": 4, "none": 4,
		"p5": 4,
	}
	for i := 1; i <= 4; i++ {
		n := strconv.Itoa(i)
		m[n], m["sev"+n], m["p"+n] = incidents.Severity(i), incidents.Severity(i), incidents.Severity(i)
	}
	return &Config{
		Server: ServerConfig{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    4 << 20,
			MaxWebhooks:     64,
			ShutdownTimeout: Duration(25 * time.Second),
			Limits: LimitsConfig{
				Unauthenticated: 64, UnauthenticatedPerClient: 8,
				UnauthenticatedMemory:      16 << 20,
				UnauthenticatedBodyTimeout: Duration(5 * time.Second),
			},
		},
		Store:  StoreConfig{DataDir: "./data"},
		Outbox: OutboxConfig{Workers: 8, Lease: Duration(time.Minute), MaxBackoff: Duration(5 * time.Minute)},
		Paging: PagingConfig{Throttle: defaultThrottles()},
		Incidents: IncidentsConfig{
			ReopenWindow: Duration(time.Hour),
			BlamePhrases: []string{"fault", "human error", "careless", "should have known", "should have checked",
				"blame", "screwed up", "messed up", "negligent", "incompetent", "stupid", "his mistake", "her mistake", "their mistake"},
			Severity: SeverityConfig{Label: "severity", Default: incidents.Sev3, Map: m},
			Flapping: FlappingConfig{Count: 4, Within: Duration(30 * time.Minute)},
		},
	}
}

// setDefaults fills a RedisConfig that the file creates.
func (r *RedisConfig) setDefaults() { r.KeyPrefix = defaultKeyPrefix }

// LoadConfig reads the YAML file at path over DefaultConfig and validates
// the result; path "" returns DefaultConfig(). getenv (os.LookupEnv when nil)
// serves ${VAR} and ${VAR:-default} in values; "$$" is a literal "$".
// A relative <secret>_file path is taken from the config file's directory.
// A file that cannot be read returns the *fs.PathError; every other problem
// comes back at once as ConfigErrors, sorted by line and path
// (SortConfigErrors). ReadConfig also returns what decoded.
func LoadConfig(path string, getenv func(string) (string, bool)) (*Config, error) {
	if path == "" {
		return DefaultConfig(), nil
	}
	if getenv == nil {
		getenv = os.LookupEnv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(data, filepath.Dir(path), getenv)
}

// ReadConfig is LoadConfig for check-config: it returns the config as far
// as it decoded together with every problem found in it, so that the checks
// made outside bot (templates, chat clients, webhook mappings) can still run
// on it and report their own problems in the same run. The config is nil
// when the file is not YAML (problems says where) or cannot be read (err,
// an *fs.PathError); otherwise it holds the defaults wherever the file did
// not decode. problems is sorted as SortConfigErrors sorts.
func ReadConfig(path string, getenv func(string) (string, bool)) (cfg *Config, problems ConfigErrors, err error) {
	if path == "" {
		return DefaultConfig(), nil, nil
	}
	if getenv == nil {
		getenv = os.LookupEnv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	cfg, problems = readConfig(data, filepath.Dir(path), getenv)
	return cfg, problems, nil
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parseConfig(data []byte, dir string, getenv func(string) (string, bool)) (*Config, error) {
	cfg, errs := readConfig(data, dir, getenv)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// readConfig decodes data over DefaultConfig and validates it; see
// ReadConfig.
func readConfig(data []byte, dir string, getenv func(string) (string, bool)) (*Config, ConfigErrors) {
	var doc, extra yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, ConfigErrors{yamlError(data, err)}
	}
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, ConfigErrors{{Line: extra.Line, Msg: "want one YAML document, found more"}}
	}
	cfg := DefaultConfig()
	d := &configDecoder{getenv: getenv, dir: dir, lines: map[string]int{}}
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
	}
	d.foldSeverityKeys(&cfg.Incidents.Severity)
	cfg.lines = &lineIndex{d.lines}
	errs := d.errs
	v := cfg.validate()
	for i, e := range v.errs {
		// Skip what only echoes a decode error: one at, above or below
		// e.Path, or one in the names that e.Path refers to.
		if !d.errs.About(e.Path) && (v.refs[i] == "" || !d.errs.namesBroken(v.refs[i])) {
			errs = append(errs, e)
		}
	}
	SortConfigErrors(errs)
	return cfg, errs
}

// yamlError turns the YAML parser's error into a ConfigError with its line
// and, for the usual causes, what to do.
func yamlError(data []byte, err error) ConfigError {
	e := ConfigError{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	switch {
	case strings.Contains(e.Msg, "tab character") || strings.Contains(e.Msg, "cannot start any token"):
		// The parser reports a tab at the line before it, or at the
		// mapping it breaks: name the line that has it.
		if n := tabIndentedLine(data, e.Line); n > 0 {
			return ConfigError{Line: n, Msg: "has a tab: YAML indents with spaces only"}
		}
		if strings.Contains(e.Msg, "cannot start any token") {
			e.Msg += " (a value that starts with @ or ` must be quoted)"
		}
	case bytes.Contains(data, []byte("${")) && strings.Contains(e.Msg, "did not find expected ',' or '}'"):
		// An unquoted ${VAR} inside a {flow: mapping} is the usual cause.
		e.Msg += ` (a ${VAR} inside { } must be quoted: {token: "${VAR}"})`
	}
	return e
}

// tabIndentedLine returns the number of the first line whose indentation
// holds a tab, among the lines around line (the parser reports the line
// before the tab, or the tab's), or anywhere when line is 0; 0 if none.
// (A tab inside a block scalar is text, and may be anywhere else.)
func tabIndentedLine(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	from, to := 1, len(lines)
	if line > 0 {
		from, to = max(line, 1), min(line+2, len(lines))
	}
	for i := from; i <= to; i++ {
		l := lines[i-1]
		if indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]; strings.Contains(indent, "\t") && strings.TrimSpace(l) != "" {
			return i
		}
	}
	return 0
}

// configDecoder walks a yaml.Node tree into Go values by their yaml tags,
// collecting every error rather than stopping at the first.
type configDecoder struct {
	getenv func(string) (string, bool)
	dir    string
	lines  map[string]int
	errs   ConfigErrors
}

var (
	secretType   = reflect.TypeFor[Secret]()
	durationType = reflect.TypeFor[Duration]()
	severityType = reflect.TypeFor[incidents.Severity]()
)

func (d *configDecoder) errorf(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, ConfigError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *configDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // keep the default
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
			if s, ok := v.Interface().(interface{ setDefaults() }); ok {
				s.setDefaults()
			}
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if kind, what := wantNode(t); n.Kind != kind {
		d.errorf(path, n.Line, "want %s, got %s", what, describeNode(n))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		m := reflect.MakeMap(t) // a given map replaces the default one
		for _, kv := range d.entries(n, path) {
			p := path + "." + kv[0].Value
			d.lines[p] = kv[0].Line
			e, before := reflect.New(t.Elem()).Elem(), len(d.errs)
			if d.decode(kv[1], e, p); len(d.errs) == before {
				m.SetMapIndex(reflect.ValueOf(kv[0].Value).Convert(t.Key()), e)
			}
		}
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	default:
		s, err := expandEnv(n.Value, d.getenv)
		if err == nil {
			err = setScalar(v, s)
		}
		if err != nil {
			d.errorf(path, n.Line, "%v", err)
		}
	}
}

func (d *configDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	fields, names := map[string]int{}, []string{}
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = i
			names = append(names, name)
			if t.Field(i).Type == secretType {
				names = append(names, name+"_file")
			}
		}
	}
	entries, given := d.entries(n, path), map[string]bool{}
	for _, kv := range entries {
		given[kv[0].Value] = true
	}
	for _, kv := range entries {
		key, line, p := kv[0].Value, kv[0].Line, joinPath(path, kv[0].Value)
		d.lines[p] = line
		if i, ok := fields[key]; ok {
			d.decode(kv[1], v.Field(i), p)
			continue
		}
		if base, ok := strings.CutSuffix(key, "_file"); ok {
			if i, ok := fields[base]; ok && t.Field(i).Type == secretType {
				if given[base] {
					d.errorf(p, line, "give either %s or %s, not both", base, key)
				} else if s, ok := d.readSecret(kv[1], p, line); ok {
					d.lines[joinPath(path, base)] = line
					v.Field(i).SetString(s)
				}
				continue
			}
		}
		if s := suggest.Closest(key, names); s != "" {
			d.errorf(p, line, "unknown key (did you mean %q?)", s)
		} else {
			d.errorf(p, line, "unknown key (known keys: %s)", strings.Join(names, ", "))
		}
	}
}

// entries returns a mapping's key/value pairs, those merged in with "<<"
// first so that the mapping's own keys override them.
func (d *configDecoder) entries(n *yaml.Node, path string) [][2]*yaml.Node {
	var merged, own [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge":
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				if s = resolveAlias(s); s.Kind == yaml.MappingNode {
					merged = append(merged, d.entries(s, path)...)
				} else {
					d.errorf(joinPath(path, "<<"), k.Line, "want a mapping to merge, got %s", describeNode(s))
				}
			}
		case k.Kind != yaml.ScalarNode:
			d.errorf(path, k.Line, "want a string key, got %s", describeNode(k))
		case seen[k.Value]:
			d.errorf(joinPath(path, k.Value), k.Line, "duplicate key")
		default:
			seen[k.Value] = true
			own = append(own, [2]*yaml.Node{k, v})
		}
	}
	return append(merged, own...)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// readSecret reads the secret file that n names, relative to the config's
// directory. Errors may name the file, never its content.
func (d *configDecoder) readSecret(n *yaml.Node, path string, line int) (string, bool) {
	var name string
	before := len(d.errs)
	if d.decode(n, reflect.ValueOf(&name).Elem(), path); len(d.errs) > before {
		return "", false
	}
	if name == "" {
		d.errorf(path, line, "want a file path, got nothing")
		return "", false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(d.dir, name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		d.errorf(path, line, "cannot read secret file: %v", err)
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
}

// foldSeverityKeys lower-cases and trims the severity map's keys.
func (d *configDecoder) foldSeverityKeys(c *SeverityConfig) {
	if c.Map == nil {
		return
	}
	const path = "incidents.severity.map."
	folded := make(map[string]incidents.Severity, len(c.Map))
	for _, k := range slices.Sorted(maps.Keys(c.Map)) {
		f := strings.ToLower(strings.TrimSpace(k))
		if s, dup := folded[f]; dup && s != c.Map[k] {
			d.errorf(path+k, d.lines[path+k], "maps to %d, but a key that differs only in case maps to %d", c.Map[k], s)
		}
		if _, ok := d.lines[path+f]; !ok {
			d.lines[path+f] = d.lines[path+k]
		}
		folded[f] = c.Map[k]
	}
	c.Map = folded
}

func setScalar(v reflect.Value, s string) error {
	switch t := v.Type(); {
	case t == durationType:
		return v.Addr().Interface().(*Duration).set(s)
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return fmt.Errorf("want true or false, got %q", clipValue(s))
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, t.Bits())
		if err != nil {
			_, what := wantNode(t)
			return fmt.Errorf("want %s, got %q", what, clipValue(s))
		}
		v.SetInt(i)
	default:
		return fmt.Errorf("cannot decode into %s", t) // a bug: a type this decoder lacks
	}
	return nil
}

// want returns the node kind that t decodes from and its description.
func wantNode(t reflect.Type) (yaml.Kind, string) {
	switch {
	case t == durationType:
		return yaml.ScalarNode, `a duration such as "30s" or "1h30m"`
	case t == severityType:
		return yaml.ScalarNode, "a severity 1..4"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		return yaml.MappingNode, "a mapping"
	case t.Kind() == reflect.Slice:
		return yaml.SequenceNode, "a sequence"
	case t.Kind() == reflect.String:
		return yaml.ScalarNode, "a string"
	case t.Kind() == reflect.Bool:
		return yaml.ScalarNode, "true or false"
	}
	return yaml.ScalarNode, "an integer"
}

// describe names n's kind but never quotes a value: a scalar where a
// mapping belongs may be a secret in the wrong place.
func describeNode(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a sequence"
	case n.ShortTag() == "!!int" || n.ShortTag() == "!!float":
		return "a number"
	case n.ShortTag() == "!!bool":
		return "a boolean"
	}
	return "a string"
}

func clipValue(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

const badEnvRef = `"${" must be followed by a variable name and "}" (write "$$" for a literal "$")`

// expand replaces ${VAR} and ${VAR:-default} (default when VAR is unset or
// empty) in s; "$$" is a literal "$", and any other "$" stays as it is.
// Errors never quote s, which may be a secret.
func expandEnv(s string, getenv func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) || (s[i+1] != '$' && s[i+1] != '{') {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", errors.New(badEnvRef)
		}
		name, def, hasDef := strings.Cut(s[i+2:i+2+end], ":-")
		if !envNameRE.MatchString(name) {
			return "", errors.New(badEnvRef)
		}
		val, ok := getenv(name)
		if hasDef && val == "" {
			val, ok = def, true
		}
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set (give a default with ${%s:-default})", name, name)
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), nil
}

var (
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	keyPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// lineIndex remembers where each dotted path was in the loaded file. It is
// behind a pointer so that printing a Config shows an address, not the map.
type lineIndex struct{ m map[string]int }

// line returns the line of path, or of its nearest ancestor that has one.
func (x *lineIndex) line(path string) int {
	for x != nil {
		if l, ok := x.m[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

// Validate checks c and returns every problem as ConfigErrors, or nil.
// It works on a Config built in Go too; errors then have no line.
func (c *Config) Validate() error {
	if v := c.validate(); len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

func (c *Config) validate() *configValidator {
	v := &configValidator{lines: c.lines, refs: map[int]string{}}
	s := c.Server
	if !isHostPort(s.Listen, false) {
		v.errorf("server.listen", "want host:port, got %q", clipValue(s.Listen))
	}
	if s.PublicURL != "" {
		if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf("server.public_url", "want an absolute http or https URL, got %q", clipValue(s.PublicURL))
		}
	}
	if s.MaxBodyBytes <= 0 || s.MaxBodyBytes > maxBodyLimit {
		v.errorf("server.max_body_bytes", "must be between 1 and %d (1 GiB), got %d", maxBodyLimit, s.MaxBodyBytes)
	}
	if s.MaxWebhooks < 1 || s.MaxWebhooks > 100000 {
		v.errorf("server.max_webhooks", "must be between 1 and 100000, got %d", s.MaxWebhooks)
	}
	if s.ShutdownTimeout <= 0 {
		v.errorf("server.shutdown_timeout", "must be positive, got %s", s.ShutdownTimeout)
	}
	if _, err := admission.ParseProxies(s.TrustedProxies); err != nil {
		v.errorf("server.trusted_proxies", "want IP addresses or CIDRs such as 10.0.0.0/8: %v", err)
	}
	l := s.Limits
	if l.WebhookMemory != 0 && (l.WebhookMemory < 1<<20 || l.WebhookMemory > 1<<40) {
		v.errorf("server.limits.webhook_memory", "must be 0 (automatic) or between 1 MiB and 1 TiB, in bytes, got %d", l.WebhookMemory)
	}
	if l.Unauthenticated < 1 || l.Unauthenticated > 100000 {
		v.errorf("server.limits.unauthenticated", "must be between 1 and 100000, got %d", l.Unauthenticated)
	}
	if l.UnauthenticatedPerClient < 1 || l.UnauthenticatedPerClient > l.Unauthenticated {
		v.errorf("server.limits.unauthenticated_per_client", "must be between 1 and server.limits.unauthenticated (%d), got %d", l.Unauthenticated, l.UnauthenticatedPerClient)
	}
	if l.UnauthenticatedMemory < 1<<20 || l.UnauthenticatedMemory > 1<<40 {
		v.errorf("server.limits.unauthenticated_memory", "must be between 1 MiB and 1 TiB, in bytes, got %d", l.UnauthenticatedMemory)
	}
	if d := l.UnauthenticatedBodyTimeout.D(); d < 100*time.Millisecond || d > time.Minute {
		v.errorf("server.limits.unauthenticated_body_timeout", "must be between 100ms and 1m, got %s", l.UnauthenticatedBodyTimeout)
	}

	if r := c.Store.Redis; r != nil {
		v.redis(r)
	} else if c.Store.DataDir == "" {
		v.errorf("store.data_dir", "must not be empty when store.redis is not set")
	}
	if h := c.Sources.Alertmanager; h != nil {
		if v.inboundGiven("sources.alertmanager", h) {
			v.hookAuth("sources.alertmanager", h)
		}
		v.sourceAPI("sources.alertmanager", h)
	}
	if h := c.Sources.Grafana; h != nil {
		if v.inboundGiven("sources.grafana", h) {
			v.hookAuth("sources.grafana", h)
		}
		v.sourceAPI("sources.grafana", h)
	}
	v.webhooks(c.Sources.Webhook)
	v.heartbeats(c)
	v.unauthenticated(c)
	v.inboundSecret("server.button_secret", s.ButtonSecret)

	if c.Incidents.ReopenWindow < 0 {
		v.errorf("incidents.reopen_window", "must not be negative, got %s", c.Incidents.ReopenWindow)
	}
	sev := c.Incidents.Severity
	if sev.Label == "" {
		v.errorf("incidents.severity.label", "must not be empty")
	}
	if !sev.Default.Valid() {
		v.errorf("incidents.severity.default", "must be between 1 and 4, got %d", sev.Default)
	}
	for _, k := range slices.Sorted(maps.Keys(sev.Map)) {
		if !sev.Map[k].Valid() {
			v.errorf("incidents.severity.map."+k, "must be between 1 and 4, got %d", sev.Map[k])
		}
	}
	v.routing(c)
	v.chats(c)
	v.people(c)
	v.apiTokens(c)
	v.escalation(c)
	v.paging(c)
	v.throttles(c)
	v.console(c)
	v.maintenance(c)
	v.datasources(c)
	return v
}

// ErrorAt is a ConfigError at path, with the line path was on in the
// loaded file: for checks made outside bot (cmd compiles the webhook
// mappings).
func (c *Config) ErrorAt(path, format string, args ...any) ConfigError {
	return ConfigError{Path: path, Line: c.lines.line(path), Msg: fmt.Sprintf(format, args...)}
}

type configValidator struct {
	lines *lineIndex
	errs  ConfigErrors
	refs  map[int]string // index in errs → the list an unknown name was looked up in
}

func (v *configValidator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, ConfigError{Path: path, Line: v.lines.line(path), Msg: fmt.Sprintf(format, args...)})
}

// unknownRef reports that name, at path, is none of the names of the list
// (teams, policies, schedules, people) it refers to: `no policy "defualt"
// (did you mean "default"?)`.
func (v *configValidator) unknownRef(path, kind, list, name string, names []string) {
	hint := suggest.Hint(name, names)
	if len(names) == 0 {
		hint = " (there are no " + list + ")"
	}
	v.refs[len(v.errs)] = list
	v.errorf(path, "no %s %q%s", kind, clipValue(name), hint)
}

func (v *configValidator) redis(r *RedisConfig) {
	const p = "store.redis"
	var modes []string
	if r.URL != "" {
		modes = append(modes, "url")
	}
	if r.Sentinel != nil {
		modes = append(modes, "sentinel")
	}
	if r.Cluster != nil {
		modes = append(modes, "cluster")
	}
	switch len(modes) {
	case 0:
		v.errorf(p, "give one of url, sentinel or cluster")
	case 1:
	default:
		v.errorf(p, "give only one of url, sentinel or cluster, not %s", strings.Join(modes, " and "))
	}
	if r.URL != "" {
		// Never quote the URL: it may hold a password.
		u, err := url.Parse(r.URL.Reveal())
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Opaque != "" || u.Host == "" {
			v.errorf(p+".url", "want redis://[user:password@]host[:port][/db] or rediss://...")
		} else if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				v.errorf(p+".url", "the path must be a database number, got %q", clipValue(u.Path))
			}
		}
	}
	if s := r.Sentinel; s != nil {
		if s.Master == "" {
			v.errorf(p+".sentinel.master", "must not be empty")
		}
		v.addrs(p+".sentinel.addrs", s.Addrs)
		if s.DB < 0 {
			v.errorf(p+".sentinel.db", "must not be negative, got %d", s.DB)
		}
	}
	if c := r.Cluster; c != nil {
		v.addrs(p+".cluster.addrs", c.Addrs)
	}
	if !keyPrefixRE.MatchString(r.KeyPrefix) {
		v.errorf(p+".key_prefix", "must be 1 to 64 of A-Z a-z 0-9 _ . -, got %q", clipValue(r.KeyPrefix))
	}
}

func (v *configValidator) addrs(path string, addrs []string) {
	if len(addrs) == 0 {
		v.errorf(path, "give at least one host:port")
	}
	for i, a := range addrs {
		if !isHostPort(a, true) {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "want host:port, got %q", clipValue(a))
		}
	}
}

func (v *configValidator) hookAuth(path string, h *HookAuth) {
	n := 0
	for _, set := range []bool{h.Token != "", h.Basic != nil, h.HMAC != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		v.errorf(path, "give one of token, basic and hmac, not more")
	case n == 1 && h.AllowUnauthenticated:
		v.errorf(path+".allow_unauthenticated", "give credentials or allow_unauthenticated: true, not both")
	case n == 0 && h.AllowUnauthenticated:
	case n == 0:
		v.errorf(path, "give token, basic or hmac, or allow_unauthenticated: true (an empty token is not allowed)")
	case h.Basic != nil:
		if h.Basic.Username == "" {
			v.errorf(path+".basic.username", "must not be empty")
		}
		if h.Basic.Password == "" {
			v.errorf(path+".basic.password", "must not be empty")
		}
		v.inboundSecret(path+".basic.password", h.Basic.Password)
	case h.HMAC != nil:
		v.hmac(path+".hmac", h.HMAC)
	default:
		v.inboundSecret(path+".token", h.Token)
	}
}

// hostPort reports whether s is host:port with a numeric port; a listen
// address may leave out the host and use port 0.
func isHostPort(s string, needHost bool) bool {
	h, p, err := net.SplitHostPort(s)
	if err != nil || (needHost && h == "") {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n <= 65535 && (n > 0 || (n == 0 && !needHost))
}
