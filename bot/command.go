package bot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/oncall"
)

// Verb is what a command asks for.
type Verb string

const (
	VerbHelp       Verb = "help"
	VerbList       Verb = "list"
	VerbShow       Verb = "show"
	VerbDeclare    Verb = "declare"
	VerbAck        Verb = "ack"
	VerbUnack      Verb = "unack"
	VerbResolve    Verb = "resolve"
	VerbReopen     Verb = "reopen"
	VerbEscalate   Verb = "escalate"
	VerbSnooze     Verb = "snooze"
	VerbSev        Verb = "sev"
	VerbLead       Verb = "lead"
	VerbRole       Verb = "role"
	VerbNote       Verb = "note"
	VerbTimeline   Verb = "timeline"
	VerbPostmortem Verb = "postmortem"
	VerbOncall     Verb = "oncall"
	// VerbMaintenance lists, opens and ends maintenance windows.
	VerbMaintenance Verb = "maintenance"
	VerbReport      Verb = "report"
)

// verbAliases maps what people type to a verb.
var verbAliases = map[string]Verb{
	"help": VerbHelp, "?": VerbHelp, "start": VerbHelp,
	"list": VerbList, "ls": VerbList, "open": VerbList,
	"show": VerbShow, "status": VerbShow, "info": VerbShow,
	"declare": VerbDeclare, "new": VerbDeclare,
	"ack": VerbAck, "acknowledge": VerbAck,
	"unack": VerbUnack, "unacknowledge": VerbUnack,
	"resolve": VerbResolve, "close": VerbResolve,
	"reopen":   VerbReopen,
	"escalate": VerbEscalate,
	"snooze":   VerbSnooze,
	"sev":      VerbSev, "severity": VerbSev,
	"lead": VerbLead, "commander": VerbLead, "ic": VerbLead,
	"role":       VerbRole,
	"note":       VerbNote,
	"timeline":   VerbTimeline,
	"postmortem": VerbPostmortem, "pm": VerbPostmortem,
	"oncall": VerbOncall, "who": VerbOncall,
	"silence": VerbSilence, "mute": VerbSilence,
	"unsilence": VerbUnsilence, "unmute": VerbUnsilence,
	"silences":    VerbSilences,
	"maintenance": VerbMaintenance, "maint": VerbMaintenance,
	"feedback": VerbFeedback, "actionable": VerbFeedback,
	"report": VerbReport, "noise": VerbReport,
}

// Command is a parsed chat command, the same from every platform.
type Command struct {
	Verb     Verb
	ID       string             // the incident ("INC-42"); "" when left to the context
	Severity incidents.Severity // sev, declare
	Duration time.Duration      // snooze
	Person   string             // lead, role: as typed ("@alice", "<@U123|alice>")
	Role     string             // role: scribe or comms
	NoteKind string             // note: "" or one of incidents.NoteKinds
	Text     string             // note text, resolve summary, declare title
	Team     string             // declare, oncall
	Override bool               // oncall override
	// Cover is oncall cover: when Person is asked to cover (Person and,
	// for the duration form, Duration hold the rest).
	Cover *CoverWhen
	// Actionable is feedback's answer: was the incident worth acting on?
	Actionable bool
	// Labels are the label=value a silence adds to its matchers, or a
	// new maintenance window matches.
	Labels map[string]string
	// SilenceID names one silence to unsilence (its start will do).
	SilenceID string
	// Maintenance: what to do (MaintList, MaintOpen, MaintEnd) and the
	// window to end ("" when left to the context). Team is then a team
	// only if one is named so (else it starts the reason, in Text).
	Maint  MaintAction
	Window string
	// Once is set on feedback from a card's buttons, which ask once: it is
	// refused (Conflict) when the incident has an answer already, so a
	// second press on a card not yet updated does not overwrite the
	// first. A typed command (or the console, the API) replaces it.
	Once bool
	// Days is report's period: 7 or 30 (0: 7).
	Days int
}

// MaintAction is what a maintenance command does.
type MaintAction string

const (
	MaintList MaintAction = "list"
	MaintOpen MaintAction = "open"
	MaintEnd  MaintAction = "end"
)

// maxCommandLen bounds a command's text (bytes).
const maxCommandLen = 8000

// usage is the help text, one line per verb.
const usage = `/incident <verb> [INC-ID] ...  (the ID may be left out in a card's thread, or where one incident is open)
  list                          open incidents of this channel's teams
  show [ID]                     state, severity, people, alerts
  declare <title> [sev N] [team T]   open an incident by hand
  ack [ID] · unack [ID] · reopen [ID]
  resolve [ID] [summary]        resolve, saying what happened
  escalate [ID]                 the next escalation step, now
  snooze [ID] <duration>        pause escalation (30m, 2h, 1d)
  sev [ID] <1-4>                set the severity (1 is worst)
  lead [ID] @person             name the incident commander
  role [ID] <scribe|comms> @person
  note [ID] [factor:|action:|went-well:|went-wrong:|lucky:] <text>
  timeline [ID] · postmortem [ID] · help
  feedback [ID] <yes|no> [why]  was it actionable? (a new answer replaces the last)
  report [7d|30d]               the noise report of this channel's team
  oncall [team]                 who is on call now, and next
  oncall override @person <duration> [team]   put someone on call for a while
  oncall cover @person <Sat 09:00-18:00|duration> [team]   ask someone to cover for you (they accept or decline)
  silence [ID] <duration> [label=value …]   silence the alerts at their source (1h, 4h, 24h)
  unsilence [ID] [silence-id]   expire the incident's silences
  silences [team]               the team's active silences made from klaxon
  maintenance [<duration> [team] [label=value ...] [reason]]   list or open a maintenance window (no escalation)
  maintenance end [window]      end a maintenance window early`

// usageFor returns the usage line of one verb.
func usageFor(v Verb) string {
	for _, line := range strings.Split(usage, "\n") {
		if strings.Contains(line, " "+string(v)+" ") || strings.HasPrefix(strings.TrimSpace(line), string(v)+" ") {
			return strings.TrimSpace(line)
		}
	}
	return "/incident help"
}

// ParseCommand reads a command's text (without "/incident"). Errors are
// Invalid, with a message that says how to use the verb.
func ParseCommand(text string) (Command, error) {
	if len(text) > maxCommandLen {
		return Command{}, incidents.Errorf(incidents.Invalid, "that command is %d bytes long; keep it under %d", len(text), maxCommandLen)
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	word, rest := nextWord(text)
	if word == "" {
		return Command{Verb: VerbHelp}, nil
	}
	verb, ok := verbAliases[strings.ToLower(word)]
	if !ok {
		if _, _, err := incidents.ParseID(word); err == nil && strings.HasPrefix(strings.ToUpper(word), "INC-") {
			// "/incident INC-42" shows it.
			return Command{Verb: VerbShow, ID: canonicalID(word)}, nil
		}
		return Command{}, incidents.Errorf(incidents.Invalid, "unknown command %q; try: /incident help", clip(word, 30))
	}
	c := Command{Verb: verb}
	bad := func(why string) (Command, error) {
		msg := "usage: " + usageFor(verb)
		if why != "" {
			msg = why + "; " + msg
		}
		return Command{}, incidents.Errorf(incidents.Invalid, "%s", msg)
	}
	switch verb {
	case VerbHelp, VerbList:
		return c, nil
	case VerbShow, VerbAck, VerbUnack, VerbReopen, VerbEscalate, VerbTimeline, VerbPostmortem:
		// [ID]; a bare number is an ID here.
		w, r := nextWord(rest)
		if w != "" {
			if !isID(w, true) {
				return bad("")
			}
			c.ID = canonicalID(w)
			if strings.TrimSpace(r) != "" {
				return bad("too many words")
			}
		}
		return c, nil
	case VerbResolve:
		c.ID, rest = takeID(rest, true)
		c.Text = strings.TrimSpace(rest)
		return c, nil
	case VerbSnooze:
		c.ID, rest = takeID(rest, false)
		w, r := nextWord(rest)
		if w == "" || strings.TrimSpace(r) != "" {
			return bad("")
		}
		d, err := parseDuration(w)
		if err != nil {
			return bad(err.Error())
		}
		c.Duration = d
		return c, nil
	case VerbSev:
		words := strings.Fields(rest)
		switch len(words) {
		case 1:
		case 2:
			if !isID(words[0], true) {
				return bad("")
			}
			c.ID = canonicalID(words[0])
			words = words[1:]
		default:
			return bad("")
		}
		sev, err := parseSeverity(words[0])
		if err != nil {
			return bad(err.Error())
		}
		c.Severity = sev
		return c, nil
	case VerbLead:
		c.ID, rest = takeID(rest, true)
		w, r := nextWord(rest)
		if w == "" || strings.TrimSpace(r) != "" {
			return bad("name one person")
		}
		c.Person = w
		return c, nil
	case VerbRole:
		c.ID, rest = takeID(rest, true)
		role, r := nextWord(rest)
		person, r2 := nextWord(r)
		role = strings.ToLower(role)
		if (role != incidents.RoleScribe && role != incidents.RoleComms) || person == "" || strings.TrimSpace(r2) != "" {
			return bad("")
		}
		c.Role, c.Person = role, person
		return c, nil
	case VerbNote:
		c.ID, rest = takeID(rest, true)
		c.NoteKind, c.Text = noteKind(strings.TrimSpace(rest))
		if c.Text == "" {
			return bad("the note is empty")
		}
		return c, nil
	case VerbDeclare:
		return parseDeclare(strings.TrimSpace(rest), bad)
	case VerbFeedback:
		c.ID, rest = takeID(rest, true)
		w, r := nextWord(rest)
		switch strings.ToLower(w) {
		case "yes", "y", "actionable":
			c.Actionable = true
		case "no", "n", "not", "noise":
			if strings.EqualFold(w, "not") {
				// "not actionable"
				if w2, r2 := nextWord(r); strings.EqualFold(w2, "actionable") {
					r = r2
				}
			}
		default:
			return bad("say yes or no")
		}
		c.Text = strings.TrimSpace(r)
		return c, nil
	case VerbReport:
		c.Days = 7
		words := strings.Fields(rest)
		switch {
		case len(words) == 0:
		case len(words) == 1 && (strings.EqualFold(words[0], "7d") || words[0] == "7" || strings.EqualFold(words[0], "week")):
		case len(words) == 1 && (strings.EqualFold(words[0], "30d") || words[0] == "30" || strings.EqualFold(words[0], "month")):
			c.Days = 30
		default:
			return bad("the period is 7d or 30d")
		}
		return c, nil
	case VerbSilence:
		return parseSilence(rest, bad)
	case VerbMaintenance:
		return parseMaintenance(rest, bad)
	case VerbUnsilence:
		c.ID, rest = takeID(rest, true)
		words := strings.Fields(rest)
		switch {
		case len(words) > 1:
			return bad("too many words")
		case len(words) == 1:
			if !silenceIDRE.MatchString(words[0]) {
				return bad(fmt.Sprintf("%q is not a silence ID (4 to 36 of 0-9 a-f and -)", clip(words[0], 40)))
			}
			c.SilenceID = strings.ToLower(words[0])
		}
		return c, nil
	case VerbSilences:
		words := strings.Fields(rest)
		switch len(words) {
		case 0:
		case 1:
			c.Team = words[0]
		default:
			return bad("")
		}
		return c, nil
	case VerbOncall:
		words := strings.Fields(rest)
		if len(words) > 0 && strings.EqualFold(words[0], "cover") {
			if len(words) < 3 {
				return bad("")
			}
			when, n, err := parseCoverWhen(words[2:])
			if err != nil {
				return bad(err.Error())
			}
			c.Cover, c.Person, c.Duration = &when, words[1], when.Duration
			words = words[2+n:]
		} else if len(words) > 0 && strings.EqualFold(words[0], "override") {
			if len(words) < 3 || len(words) > 4 {
				return bad("")
			}
			d, err := parseDuration(words[2])
			if err != nil {
				return bad(err.Error())
			}
			c.Override, c.Person, c.Duration = true, words[1], d
			words = words[3:]
		}
		switch len(words) {
		case 0:
		case 1:
			c.Team = words[0]
		default:
			return bad("")
		}
		return c, nil
	}
	return bad("")
}

var (
	silenceIDRE = regexp.MustCompile(`^[0-9a-fA-F][0-9a-fA-F-]{3,35}$`)
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseMaintenance reads "", "end [window]" or "<duration> [team]
// [label=value ...] [reason]".
func parseMaintenance(rest string, bad func(string) (Command, error)) (Command, error) {
	c := Command{Verb: VerbMaintenance, Maint: MaintList}
	w, r := nextWord(rest)
	switch {
	case w == "" || strings.EqualFold(w, "list"):
		if strings.TrimSpace(r) != "" {
			return bad("too many words")
		}
		return c, nil
	case strings.EqualFold(w, "end") || strings.EqualFold(w, "stop"):
		c.Maint = MaintEnd
		id, r2 := nextWord(r)
		if strings.TrimSpace(r2) != "" || len(id) > 64 {
			return bad("name one window, such as mw-1a2b3c4d")
		}
		c.Window = id
		return c, nil
	}
	d, err := parseDuration(w)
	if err != nil {
		return bad(err.Error())
	}
	c.Maint, c.Duration = MaintOpen, d
	rest = r
	if w, r := nextWord(rest); w != "" && !strings.Contains(w, "=") {
		c.Team, rest = w, r // a team, if one is named so (see Command)
	}
	for {
		w, r := nextWord(rest)
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			break
		}
		k, v = strings.TrimSpace(k), strings.Trim(v, `"'`)
		if k == "" || v == "" || strings.ContainsAny(k, "\"{}") {
			return bad(fmt.Sprintf("%q is not label=value", clip(w, 40)))
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if len(c.Labels) == 20 {
			return bad("at most 20 labels")
		}
		c.Labels[k] = v
		rest = r
	}
	c.Text = strings.TrimSpace(rest)
	return c, nil
}

// parseSilence reads "[ID] [duration] [label=value …]": no duration asks
// how long (a choice of buttons).
func parseSilence(s string, bad func(string) (Command, error)) (Command, error) {
	c := Command{Verb: VerbSilence}
	c.ID, s = takeID(s, false)
	words := strings.Fields(s)
	if len(words) > 0 && !strings.Contains(words[0], "=") {
		d, err := parseDuration(words[0])
		if err != nil {
			return bad(err.Error())
		}
		if d < MinSilence || d > MaxSilence {
			return bad("silence for 1m to 7d")
		}
		c.Duration, words = d, words[1:]
	}
	if len(words) > maxSilenceLabels {
		return bad(fmt.Sprintf("at most %d labels", maxSilenceLabels))
	}
	for _, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		switch {
		case !ok || value == "":
			return bad(fmt.Sprintf("%q is not label=value", clip(w, 40)))
		case !labelNameRE.MatchString(name):
			return bad(fmt.Sprintf("label name %q is not valid (letters, digits and _)", clip(name, 40)))
		case c.Labels[name] != "":
			return bad(fmt.Sprintf("label %s is given twice", name))
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[name] = value
	}
	if c.Duration == 0 && len(c.Labels) > 0 {
		return bad("say for how long, e.g. 4h")
	}
	return c, nil
}

// parseDeclare reads "<title> [sev N] [team T]" (the options at the end,
// in either order).
func parseDeclare(s string, bad func(string) (Command, error)) (Command, error) {
	c := Command{Verb: VerbDeclare}
	words := strings.Fields(s)
	for len(words) >= 2 {
		k, v := strings.ToLower(words[len(words)-2]), words[len(words)-1]
		switch {
		case (k == "sev" || k == "severity") && c.Severity == 0:
			sev, err := parseSeverity(v)
			if err != nil {
				return bad(err.Error())
			}
			c.Severity = sev
		case k == "team" && c.Team == "":
			c.Team = v
		default:
			goto title
		}
		words = words[:len(words)-2]
	}
title:
	c.Text = strings.Join(words, " ")
	if c.Text == "" {
		return bad("give the incident a title")
	}
	return c, nil
}

func noteKind(s string) (kind, text string) {
	head, tail, ok := strings.Cut(s, ":")
	if !ok {
		return "", s
	}
	k := strings.ToLower(strings.Join(strings.Fields(head), "-"))
	switch k {
	case "factor", "contributing-factor", "cause":
		k = "factor"
	case "action", "action-item", "todo":
		k = "action"
	case "went-well", "good", "well":
		k = "went-well"
	case "went-wrong", "bad", "wrong":
		k = "went-wrong"
	case "lucky", "luck":
		k = "lucky"
	default:
		return "", s
	}
	return k, strings.TrimSpace(tail)
}

// nextWord splits off the first whitespace-separated word.
func nextWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// takeID splits off a leading incident ID when there is one; bare numbers
// count only when numbers is true.
func takeID(s string, numbers bool) (string, string) {
	w, r := nextWord(s)
	if w != "" && isID(w, numbers) {
		return canonicalID(w), r
	}
	return "", s
}

func isID(w string, numbers bool) bool {
	w = strings.TrimPrefix(w, "#")
	if _, _, err := incidents.ParseID(w); err != nil {
		return false
	}
	return numbers || strings.HasPrefix(strings.ToUpper(w), "INC-")
}

func canonicalID(w string) string {
	id, _, _ := incidents.ParseID(strings.TrimPrefix(w, "#"))
	return id
}

func parseSeverity(s string) (incidents.Severity, error) {
	t := strings.TrimPrefix(strings.ToLower(s), "sev")
	n, err := strconv.Atoi(t)
	if err != nil || !incidents.Severity(n).Valid() {
		return 0, incidents.Errorf(incidents.Invalid, "severity %q is not 1 to 4", clip(s, 20))
	}
	return incidents.Severity(n), nil
}

// parseDuration reads 30m, 2h, 1h30m or 1d.
// CoverWhen is the time a cover request asks for: a duration from now, or
// a day and a range of wall-clock time in the team's schedule's zone.
type CoverWhen struct {
	// Duration is the duration form's ("4h"); 0 for a day and range.
	Duration time.Duration
	// Day is "today", "tomorrow" or a weekday ("mon" … "sun"): the next
	// such day whose range has not ended.
	Day string
	// From and To are minutes after midnight; To <= From wraps past
	// midnight (Fri 22:00-06:00).
	From, To int
}

var coverDays = map[string]string{
	"today": "today", "tomorrow": "tomorrow",
	"mon": "mon", "monday": "mon", "tue": "tue", "tues": "tue", "tuesday": "tue", "wed": "wed", "wednesday": "wed",
	"thu": "thu", "thur": "thu", "thurs": "thu", "thursday": "thu", "fri": "fri", "friday": "fri",
	"sat": "sat", "saturday": "sat", "sun": "sun", "sunday": "sun",
}

// parseCoverWhen reads "<duration>", "<day> HH:MM-HH:MM" (an en dash or
// spaces around the dash will do) from words and says how many it used.
func parseCoverWhen(words []string) (CoverWhen, int, error) {
	if day, ok := coverDays[strings.ToLower(words[0])]; ok {
		// The range is one word ("09:00-18:00"), or up to three
		// ("09:00 - 18:00"); a dash may be an en or em dash.
		for n := 1; n <= 3 && n < len(words); n++ {
			rng := strings.Join(words[1:1+n], "")
			rng = strings.ReplaceAll(strings.ReplaceAll(rng, "–", "-"), "—", "-")
			a, b, ok := strings.Cut(rng, "-")
			if !ok {
				continue
			}
			from, err1 := oncall.ParseClock(a)
			to, err2 := oncall.ParseClock(b)
			if err1 != nil || err2 != nil || from >= 24*60 || from == to {
				continue
			}
			if to == 24*60 {
				to = 0 // the end of the day: the next midnight
			}
			return CoverWhen{Day: day, From: from, To: to}, 1 + n, nil
		}
		return CoverWhen{}, 0, incidents.Errorf(incidents.Invalid, "cover when? such as Sat 09:00-18:00 or 4h")
	}
	d, err := parseDuration(words[0])
	if err != nil {
		return CoverWhen{}, 0, incidents.Errorf(incidents.Invalid, "cover when? such as Sat 09:00-18:00 or 4h")
	}
	return CoverWhen{Duration: d}, 1, nil
}

func parseDuration(s string) (time.Duration, error) {
	t := strings.ToLower(s)
	if n, ok := strings.CutSuffix(t, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > 0 && days <= 7 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil || d <= 0 {
		return 0, incidents.Errorf(incidents.Invalid, "%q is not a duration such as 30m, 2h or 1d", clip(s, 20))
	}
	return d, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
