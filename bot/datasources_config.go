package bot

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DatasourceConfig is a data source klaxon asks for the series an alert
// monitors, to draw them on the incident's cards (graphs.go).
type DatasourceConfig struct {
	Name string `yaml:"name"`
	// Type is the data source's API: prometheus (the default), which
	// Prometheus, Thanos Query, Mimir and VictoriaMetrics all speak.
	Type string `yaml:"type"`
	// URL is the API's base URL, the part before /api/v1/.
	URL string `yaml:"url"`
	// Token is sent as a bearer token; Basic as basic authentication.
	// One of them, or neither.
	Token Secret     `yaml:"token"`
	Basic *BasicAuth `yaml:"basic"`
	// Match picks the alerts this data source draws: those whose
	// generator URL has the host Host, and whose labels have every value
	// of Labels. A data source without a match draws only for the teams
	// that name it (teams[].datasource), or for every alert when it is the
	// only one.
	Match DatasourceMatch `yaml:"match"`
	// Timeout bounds each query; default 2s.
	Timeout Duration `yaml:"timeout"`
	// Window is how much of the past a graph shows, ending when it is
	// drawn; default 1h. The step is chosen for about 300 points (15s
	// for an hour).
	Window Duration `yaml:"window"`
}

// DatasourceMatch says which alerts a data source draws.
type DatasourceMatch struct {
	Host   string            `yaml:"host"`   // host[:port] of the alert's generatorURL, as "prometheus:9090"
	Labels map[string]string `yaml:"labels"` // label values the alert must have
}

// Empty reports whether m matches nothing by itself.
func (m DatasourceMatch) Empty() bool { return m.Host == "" && len(m.Labels) == 0 }

func (c *DatasourceConfig) Format(f fmt.State, _ rune) { formatPtr(f, c) }

// Graph-drawing limits of a data source's timeout.
const (
	defaultDatasourceTimeout = 2 * time.Second
	maxDatasourceTimeout     = 30 * time.Second
)

// QueryTimeout is the data source's timeout, its default filled in.
func (c DatasourceConfig) QueryTimeout() time.Duration {
	if c.Timeout == 0 {
		return defaultDatasourceTimeout
	}
	return c.Timeout.D()
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// GraphWindow is the data source's window, its default filled in.
func (c DatasourceConfig) GraphWindow() time.Duration {
	if c.Window == 0 {
		return time.Hour
	}
	return c.Window.D()
}

// noDatasource is what a team's datasource says to draw no graphs.
const noDatasource = "none"

// datasources checks datasources and the teams' datasource.
func (v *configValidator) datasources(c *Config) {
	seen := map[string]bool{}
	var names []string
	for i, d := range c.Datasources {
		p := fmt.Sprintf("datasources[%d]", i)
		if d.Name == noDatasource {
			v.errorf(p+".name", "%q is reserved: a team's datasource: none turns its graphs off", noDatasource)
		} else {
			v.uniqueName(p+".name", "datasource", d.Name, seen)
		}
		if d.Name != noDatasource && !slices.Contains(names, d.Name) {
			names = append(names, d.Name)
		}
		if d.Type != "" && d.Type != "prometheus" {
			v.errorf(p+".type", "want prometheus (the only type so far), got %q", clipValue(d.Type))
		}
		if d.URL == "" {
			v.errorf(p+".url", "must be set: the API's base URL, such as http://prometheus:9090")
		} else if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(p+".url", "want an absolute http or https URL, got %q", clipValue(d.URL))
		} else if u.User != nil {
			// Never quote it: it holds a password.
			v.errorf(p+".url", "must not hold credentials: give token or basic")
		} else if u.RawQuery != "" || u.Fragment != "" {
			v.errorf(p+".url", "want the base URL, without a query or fragment, got %q", clipValue(d.URL))
		}
		switch {
		case d.Token != "" && d.Basic != nil:
			v.errorf(p, "give token or basic, not both")
		case d.Basic != nil:
			if d.Basic.Username == "" {
				v.errorf(p+".basic.username", "must not be empty")
			}
			if d.Basic.Password == "" {
				v.errorf(p+".basic.password", "must not be empty")
			}
			v.outboundSecret(p+".basic.password", d.Basic.Password)
		default:
			v.outboundSecret(p+".token", d.Token)
		}
		if h := d.Match.Host; h != "" && !matchHost(h) {
			v.errorf(p+".match.host", "want a host or host:port as in the alerts' generator URL (prometheus:9090), got %q", clipValue(h))
		}
		for _, k := range slices.Sorted(maps.Keys(d.Match.Labels)) {
			if !labelName.MatchString(k) {
				v.errorf(p+".match.labels."+k, "is not a label name")
			}
		}
		if t := d.Timeout.D(); t < 0 || t > maxDatasourceTimeout || (t > 0 && t < 100*time.Millisecond) {
			v.errorf(p+".timeout", "must be between 100ms and %s, got %s", shortDuration(maxDatasourceTimeout), d.Timeout)
		}
	}
	for i, d := range c.Datasources {
		if w := d.Window.D(); w != 0 && (w < time.Minute || w > 7*24*time.Hour) {
			v.errorf(fmt.Sprintf("datasources[%d].window", i), "must be between 1m and 168h (a week), got %s", d.Window)
		}
	}
	for i, t := range c.Teams {
		if t.Datasource == "" || t.Datasource == noDatasource || seen[t.Datasource] {
			continue
		}
		v.unknownRef(fmt.Sprintf("teams[%d].datasource", i), "datasource", "datasources", t.Datasource, names)
	}
}

// matchHost reports whether s is a host or host:port, as an URL has it.
func matchHost(s string) bool {
	if strings.ContainsAny(s, "/@?# ") {
		return false
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h != "" && isHostPort(s, true) && p != ""
	}
	u, err := url.Parse("http://" + s)
	return err == nil && u.Host == s && u.Port() == ""
}
