package bot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
	"github.com/klaxonbot/klaxon/internal/suggest"
)

// twilioSID is an account SID: AC and 32 hex digits.
var twilioSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// PolicyConfig is an escalation policy: ordered steps, each one of
// notify, mention, call or wait; repeated; started later in its steps by
// severity; holding all but notify for min_firing.
type PolicyConfig struct {
	Name      string         `yaml:"name"`
	Steps     []StepConfig   `yaml:"steps"`
	Repeat    int            `yaml:"repeat"`
	StartAt   map[string]int `yaml:"start_at"` // severity ("1".."4") → step number (from 1)
	MinFiring Duration       `yaml:"min_firing"`
}

// StepConfig is one step: exactly one of its keys.
type StepConfig struct {
	Notify  string   `yaml:"notify"`  // "channel"
	Mention string   `yaml:"mention"` // "oncall", a person or a team
	Call    string   `yaml:"call"`    // "oncall" or a person
	Page    string   `yaml:"page"`    // "oncall", a person or a team: through their rules
	Wait    Duration `yaml:"wait"`
}

// ScheduleConfig is an on-call schedule: one rotation, or layers where a
// later one wins where it covers the time.
type ScheduleConfig struct {
	Name     string           `yaml:"name"`
	Timezone string           `yaml:"timezone"` // IANA name; default UTC
	Rotation *RotationConfig  `yaml:"rotation"`
	Layers   []RotationConfig `yaml:"layers"`
}

// RotationConfig is people taking turns.
type RotationConfig struct {
	Every  Duration `yaml:"every"`  // shift length, e.g. 168h
	Start  string   `yaml:"start"`  // RFC 3339: when the first person's first shift starts
	People []string `yaml:"people"` // names from people
	From   string   `yaml:"from"`   // optional daily window, "09:00"
	To     string   `yaml:"to"`     // "17:00"
}

// TwilioConfig places escalation phone calls.
type TwilioConfig struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  Secret `yaml:"auth_token"`
	From       string `yaml:"from"`    // E.164 caller id
	APIURL     string `yaml:"api_url"` // default https://api.twilio.com
}

func (c *TwilioConfig) setDefaults() { c.APIURL = "https://api.twilio.com" }

func (c *TwilioConfig) Format(f fmt.State, _ rune) { formatPtr(f, c) }

// step turns a step's config into the domain's step.
func (s StepConfig) step() (incidents.Step, error) {
	var out []incidents.Step
	if s.Notify != "" {
		out = append(out, incidents.Step{Kind: incidents.StepNotify, Target: s.Notify})
	}
	if s.Mention != "" {
		out = append(out, incidents.Step{Kind: incidents.StepMention, Target: s.Mention})
	}
	if s.Call != "" {
		out = append(out, incidents.Step{Kind: incidents.StepCall, Target: s.Call})
	}
	if s.Page != "" {
		out = append(out, incidents.Step{Kind: incidents.StepPage, Target: s.Page})
	}
	if s.Wait != 0 {
		out = append(out, incidents.Step{Kind: incidents.StepWait, Wait: s.Wait.D()})
	}
	if len(out) != 1 {
		return incidents.Step{}, fmt.Errorf("give exactly one of notify, mention, call, page, wait")
	}
	return out[0], nil
}

// Policy returns the domain policy of p (call Validate first).
func (p PolicyConfig) Policy() *incidents.Policy {
	out := &incidents.Policy{Name: p.Name, Repeat: p.Repeat, MinFiring: p.MinFiring.D(), StartAt: map[incidents.Severity]int{}}
	for _, s := range p.Steps {
		st, _ := s.step()
		out.Steps = append(out.Steps, st)
	}
	for k, v := range p.StartAt {
		if n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(k), "sev")); err == nil && incidents.Severity(n).Valid() {
			out.StartAt[incidents.Severity(n)] = v - 1
		}
	}
	return out
}

// Schedule returns the on-call schedule of c (call Validate first).
func (c ScheduleConfig) Schedule() *oncall.Schedule {
	loc, _ := time.LoadLocation(c.Timezone)
	s := &oncall.Schedule{Name: c.Name}
	layers := c.Layers
	if c.Rotation != nil {
		layers = append([]RotationConfig{*c.Rotation}, layers...)
	}
	for _, r := range layers {
		start, _ := time.Parse(time.RFC3339, r.Start)
		rot := oncall.Rotation{People: r.People, Every: r.Every.D(), Start: start, Location: loc}
		if r.From != "" || r.To != "" {
			rot.WindowFrom, _ = oncall.ParseClock(r.From)
			rot.WindowTo, _ = oncall.ParseClock(r.To)
		}
		s.Layers = append(s.Layers, rot)
	}
	return s
}

// escalation checks policies, schedules, twilio and the teams' use of them.
func (v *configValidator) escalation(c *Config) {
	people := map[string]PersonConfig{}
	personNames := make([]string, 0, len(c.People))
	for _, p := range c.People {
		people[strings.ToLower(p.Name)] = p
		personNames = append(personNames, p.Name)
	}
	teams := map[string]bool{}
	teamNames := make([]string, 0, len(c.Teams))
	for _, t := range c.Teams {
		teams[t.Name] = true
		teamNames = append(teamNames, t.Name)
	}
	calls := false
	policies := map[string]bool{}
	for i, p := range c.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		v.uniqueName(path+".name", "policy", p.Name, policies)
		for j, s := range p.Steps {
			sp := fmt.Sprintf("%s.steps[%d]", path, j)
			st, err := s.step()
			if err != nil {
				v.errorf(sp, "%v", err)
				continue
			}
			switch st.Kind {
			case incidents.StepNotify:
				if st.Target != "channel" {
					v.errorf(sp+".notify", "the only target is channel (the team's cards), got %q%s", clipValue(st.Target), suggest.Hint(st.Target, []string{"channel"}))
				}
			case incidents.StepMention, incidents.StepCall, incidents.StepPage:
				t := st.Target
				_, person := people[strings.ToLower(t)]
				if t != "oncall" && !person && !(st.Kind != incidents.StepCall && teams[t]) {
					want, names := "want oncall or a person", append([]string{"oncall"}, personNames...)
					if st.Kind != incidents.StepCall {
						want, names = "want oncall, a person or a team", append(names, teamNames...)
					}
					v.refs[len(v.errs)] = "people"
					v.errorf(sp+"."+string(st.Kind), "%s, got %q%s", want, clipValue(t), suggest.Hint(t, names))
				}
				if st.Kind == incidents.StepCall {
					calls = true
					if pc, ok := people[strings.ToLower(t)]; ok && pc.Phone == "" {
						v.errorf(sp+".call", "%s has no phone in people", pc.Name)
					}
				}
			}
		}
		for k, step := range p.StartAt {
			if n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(k), "sev")); err != nil || !incidents.Severity(n).Valid() {
				v.errorf(path+".start_at."+k, "want a severity 1 to 4")
			} else if step >= 1 && step <= len(p.Steps) && p.Steps[step-1].Wait != 0 {
				v.errorf(path+".start_at."+k, "step %d is a wait: start at a step that acts", step)
			}
		}
		if err := p.Policy().Validate(); err != nil && len(p.Steps) > 0 {
			v.errorf(path, "%s", incidents.ErrorMessage(err))
		} else if len(p.Steps) == 0 {
			v.errorf(path+".steps", "a policy needs steps")
		}
	}
	schedules := map[string]bool{}
	scheduleNames := make([]string, 0, len(c.Schedules))
	for _, sc := range c.Schedules {
		scheduleNames = append(scheduleNames, sc.Name)
	}
	for i, sc := range c.Schedules {
		path := fmt.Sprintf("schedules[%d]", i)
		v.uniqueName(path+".name", "schedule", sc.Name, schedules)
		if _, err := time.LoadLocation(sc.Timezone); err != nil {
			v.errorf(path+".timezone", "unknown time zone %q (an IANA name such as Europe/Berlin)", clipValue(sc.Timezone))
			continue
		}
		if sc.Rotation == nil && len(sc.Layers) == 0 {
			v.errorf(path, "give a rotation or layers")
			continue
		}
		bad := false
		layers := sc.Layers
		if sc.Rotation != nil {
			layers = append([]RotationConfig{*sc.Rotation}, layers...)
		}
		for j, r := range layers {
			rp := path + ".rotation"
			if sc.Rotation == nil || j > 0 {
				rp = fmt.Sprintf("%s.layers[%d]", path, j-map[bool]int{true: 1}[sc.Rotation != nil])
			}
			if _, err := time.Parse(time.RFC3339, r.Start); err != nil {
				v.errorf(rp+".start", "want a time such as 2026-01-05T09:00:00+07:00, got %q", clipValue(r.Start))
				bad = true
			}
			for k, p := range r.People {
				if _, ok := people[strings.ToLower(p)]; !ok {
					v.unknownRef(fmt.Sprintf("%s.people[%d]", rp, k), "person", "people", p, personNames)
				}
			}
			for _, w := range []struct{ key, val string }{{"from", r.From}, {"to", r.To}} {
				if w.val != "" {
					if _, err := oncall.ParseClock(w.val); err != nil {
						v.errorf(rp+"."+w.key, "want a clock time such as 09:00, got %q", clipValue(w.val))
						bad = true
					}
				}
			}
		}
		if !bad {
			if err := sc.Schedule().Validate(); err != nil {
				v.errorf(path, "%v", err)
			}
		}
	}
	usesOncall := map[string]bool{}
	for _, p := range c.Policies {
		for _, s := range p.Steps {
			if s.Mention == "oncall" || s.Call == "oncall" || s.Page == "oncall" {
				usesOncall[p.Name] = true
			}
		}
	}
	policyNames := make([]string, 0, len(c.Policies))
	for _, p := range c.Policies {
		policyNames = append(policyNames, p.Name)
	}
	for i, t := range c.Teams {
		if t.Policy != "" && !policies[t.Policy] {
			v.unknownRef(fmt.Sprintf("teams[%d].policy", i), "policy", "policies", t.Policy, policyNames)
		}
		if usesOncall[t.Policy] && t.Schedule == "" {
			v.errorf(fmt.Sprintf("teams[%d].schedule", i), "policy %s warns, calls or pages oncall: the team needs a schedule", t.Policy)
		}
		if t.Handover != nil && *t.Handover && t.Schedule == "" {
			v.errorf(fmt.Sprintf("teams[%d].handover", i), "announces who comes on call: the team needs a schedule (teams[].schedule)")
		}
		if t.Schedule != "" && !schedules[t.Schedule] {
			v.unknownRef(fmt.Sprintf("teams[%d].schedule", i), "schedule", "schedules", t.Schedule, scheduleNames)
		}
	}
	if tw := c.Twilio; tw != nil {
		if !twilioSID.MatchString(tw.AccountSID) {
			what := "got %q"
			if placeholderProblem(tw.AccountSID) != "" {
				what = "got the placeholder %q"
			}
			v.errorf("twilio.account_sid", "want AC followed by 32 hex digits (Twilio console → Account Info), "+what, clipValue(tw.AccountSID))
		}
		if tw.AuthToken == "" {
			v.errorf("twilio.auth_token", "must be set")
		}
		v.outboundSecret("twilio.auth_token", tw.AuthToken)
		if !phoneRE.MatchString(tw.From) {
			v.errorf("twilio.from", "want an E.164 number such as +15551230001, got %q", clipValue(tw.From))
		}
		v.baseURL("twilio.api_url", tw.APIURL)
		if c.Server.PublicURL == "" {
			v.errorf("twilio", "needs server.public_url: Twilio calls klaxon back there with the keys pressed")
		}
	} else if calls {
		v.errorf("twilio", "policies have call steps: configure twilio (account_sid, auth_token, from)")
	}
}
