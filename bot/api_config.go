package bot

import (
	"fmt"
	"strings"
)

// APITokenConfig is a token machines and people use with the HTTP API and
// the CLI: its name, the person it acts as, and what it may do.
type APITokenConfig struct {
	// Name names the token in logs, and on the timeline when it acts as
	// no one ("ci (api)").
	Name  string `yaml:"name"`
	Token Secret `yaml:"token"`
	// As is the person (people[].name) the token acts as: the timeline
	// says "alice (api)", and a team's responders check applies to alice.
	As string `yaml:"as"`
	// Scope is read (the default, also when empty: look) or write (act as
	// well).
	Scope string `yaml:"scope"`
}

// Token scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// apiTokens checks api_tokens: unique names and tokens, a scope, a person.
func (v *configValidator) apiTokens(c *Config) {
	names, tokens := map[string]bool{}, map[string]string{}
	people := make([]string, 0, len(c.People))
	known := map[string]bool{}
	for _, p := range c.People {
		people = append(people, p.Name)
		known[strings.ToLower(p.Name)] = true
	}
	if c.Server.APIToken != "" {
		v.inboundSecret("server.api_token", c.Server.APIToken)
		tokens[c.Server.APIToken.Reveal()] = "server.api_token"
	}
	for i, t := range c.APITokens {
		path := fmt.Sprintf("api_tokens[%d]", i)
		switch {
		case !personRE.MatchString(t.Name):
			v.errorf(path+".name", "want a name of letters, digits, _ . ' -, got %q", clipValue(t.Name))
		case names[strings.ToLower(t.Name)]:
			v.errorf(path+".name", "%q is defined twice", t.Name)
		}
		names[strings.ToLower(t.Name)] = true
		if t.Token == "" {
			v.errorf(path+".token", "must not be empty")
		} else {
			v.inboundSecret(path+".token", t.Token)
			if other, dup := tokens[t.Token.Reveal()]; dup {
				v.errorf(path+".token", "is the same as %s's: give each token its own", other)
			}
			tokens[t.Token.Reveal()] = path
		}
		switch t.Scope {
		case "", ScopeRead, ScopeWrite:
		default:
			v.errorf(path+".scope", "want read or write, got %q", clipValue(t.Scope))
		}
		if t.As != "" && !known[strings.ToLower(t.As)] {
			v.unknownRef(path+".as", "person", "people", t.As, people)
		}
	}
}
