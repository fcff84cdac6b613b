package bot

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Replies to texts: POST /twilio/sms is the Twilio number's Messaging
// webhook, verified like the voice callbacks (VerifyPhone: the
// X-Twilio-Signature over server.public_url). A text from a person's
// number (people[].sms, else phone) acts through Act as "alice (sms)":
//
//	1, ack, ack INC-42        acknowledge
//	2, escalate [INC-42]      escalate
//	resolve INC-42            resolve (the ID is required)
//
// Without an ID, 1 and 2 act on the open incident the person was most
// recently texted about (the incidents' recorded pages in the store, so
// any replica finds it, after a restart too). The answer is TwiML, one SMS
// segment where it can be. Each message acts once (its MessageSid is spent
// across replicas): a replayed webhook does nothing. Unknown numbers get no
// answer. Carrier keywords: Twilio answers STOP and START itself (and stops
// or resumes delivery); klaxon logs and counts them and answers nothing.
// HELP gets klaxon's short help.

// ViaSMS is Actor.Via of a person replying to a text.
const ViaSMS = "sms"

// SMSInbox reads the inbound text messages of the phone provider
// (adapters/twilio, wrapped in cmd) after VerifyPhone has verified them.
type SMSInbox interface {
	// ParseSMS reads a verified webhook's parameters.
	ParseSMS(form url.Values) (InboundText, error)
	// ReplySMS is the webhook's answer: text sent back to the sender,
	// or no answer for "".
	ReplySMS(text string) []byte
}

// InboundText is a text message a person sent to klaxon's number.
type InboundText struct {
	From string // E.164
	Body string
	ID   string // the provider's message ID (Twilio MessageSid)
	// Keyword is the carrier keyword the text is, if any: KeywordOptOut
	// (STOP…), KeywordOptIn (START…), KeywordHelp (HELP, INFO), or "".
	Keyword string
}

// Carrier keyword kinds of InboundText.Keyword.
const (
	KeywordOptOut = "opt-out"
	KeywordOptIn  = "opt-in"
	KeywordHelp   = "help"
)

// smsReplyTTL is how long a message's ID stays spent: a webhook replayed
// within it does nothing. Texts are few; the keys are small.
const smsReplyTTL = 30 * 24 * time.Hour

// The answers klaxon texts back; each fits one GSM-7 segment.
const (
	smsUsage = "klaxon: reply 1 to ack, 2 to escalate, or ack INC-42, resolve INC-42."
	smsHelp  = "klaxon incident paging. Reply 1 to ack, 2 to escalate, ack INC-42, resolve INC-42. Reply STOP to stop texts."
	// smsSegment is one GSM-7 segment's characters.
	smsSegment = 160
)

// smsCommand is what a reply asks for.
type smsCommand struct {
	Verb Verb   // VerbAck, VerbEscalate, VerbResolve; "" when not understood
	ID   string // canonical ("INC-42"), or "" for the latest paged
	Why  string // when Verb is "": what to answer
}

// parseSMSReply reads a reply: "1", "2", "ack", "ack INC-42", "1 42",
// "escalate", "2 INC-42", "resolve INC-42", in any letter case, with
// spaces and a trailing full stop or exclamation mark ignored. Anything
// else is not understood (Verb "").
func parseSMSReply(body string) smsCommand {
	if len(body) > 64 {
		return smsCommand{Why: smsUsage}
	}
	words := strings.Fields(strings.ToLower(strings.TrimRight(strings.TrimSpace(body), ".!")))
	if len(words) == 0 || len(words) > 2 {
		return smsCommand{Why: smsUsage}
	}
	var c smsCommand
	switch words[0] {
	case "1", "ack", "acknowledge":
		c.Verb = VerbAck
	case "2", "escalate", "esc":
		c.Verb = VerbEscalate
	case "resolve":
		c.Verb = VerbResolve
	default:
		return smsCommand{Why: smsUsage}
	}
	if len(words) == 2 {
		if !isID(words[1], true) {
			return smsCommand{Why: smsUsage}
		}
		c.ID = canonicalID(words[1])
	}
	if c.Verb == VerbResolve && c.ID == "" {
		return smsCommand{Why: "klaxon: resolve needs the incident, e.g. resolve INC-42."}
	}
	return c
}

// personByNumber is the person whose sms (else phone) number is number.
func (s *Server) personByNumber(number string) (PersonConfig, bool) {
	if number == "" {
		return PersonConfig{}, false
	}
	for _, p := range s.cfg.People {
		if p.SMSNumber() == number {
			return p, true
		}
	}
	for _, p := range s.cfg.People { // a separate sms number: the phone counts too
		if p.Phone == number {
			return p, true
		}
	}
	return PersonConfig{}, false
}

// textedAbout is an open incident a person was texted about.
type textedAbout struct {
	id        string
	at        time.Time // the latest text
	triggered bool
}

// textedIncidents are the open incidents person was paged about by SMS,
// latest text first, the triggered ones before the acknowledged.
func (s *Server) textedIncidents(ctx context.Context, person string) ([]textedAbout, error) {
	open, err := s.store.List(ctx, incidents.ListOptions{States: []incidents.State{incidents.Triggered, incidents.Acknowledged}, Limit: incidents.MaxListLimit})
	if err != nil {
		return nil, err
	}
	var out []textedAbout
	for _, inc := range open {
		var at time.Time
		for _, p := range inc.Pages {
			if p.Kind == string(incidents.PageSMS) && strings.EqualFold(p.Person, person) && p.At.After(at) {
				at = p.At
			}
		}
		if !at.IsZero() {
			out = append(out, textedAbout{id: inc.ID, at: at, triggered: inc.State == incidents.Triggered})
		}
	}
	slices.SortFunc(out, func(a, b textedAbout) int {
		if a.triggered != b.triggered {
			if a.triggered {
				return -1
			}
			return 1
		}
		return b.at.Compare(a.at)
	})
	return out, nil
}

// pagedAbout reports whether klaxon paged person about inc in any way.
func pagedAbout(inc *incidents.Incident, person string) bool {
	for _, p := range inc.Pages {
		if strings.EqualFold(p.Person, person) {
			return true
		}
	}
	return false
}

// smsReply answers one inbound text (its form verified).
func (s *Server) smsReply(w http.ResponseWriter, r *http.Request, form url.Values) {
	reply := func(result, text string) {
		s.metrics.smsInbound.WithLabelValues(result).Inc()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(s.inbox.ReplySMS(text))
	}
	m, err := s.inbox.ParseSMS(form)
	if err != nil {
		s.metrics.smsInbound.WithLabelValues("invalid").Inc()
		s.Rejected("twilio", "bad inbound message")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	pc, ok := s.personByNumber(m.From)
	if !ok {
		s.log.Info("a text from a number of nobody in people; ignored", "from", lastDigits(m.From))
		reply("unknown_number", "")
		return
	}
	ctx := r.Context()
	key := "sms:" + m.ID
	switch state, err := s.once.ClaimOnce(ctx, key, time.Minute); {
	case err != nil:
		reply("failed", "klaxon could not read this just now. Try again in a moment.")
		return
	case state != incidents.OnceNew:
		s.Rejected("twilio", "replayed message")
		reply("replay", "")
		return
	}
	spend := func() { _ = s.once.SpendOnce(context.WithoutCancel(ctx), key, smsReplyTTL) }
	log := s.log.With("person", pc.Name)
	switch m.Keyword {
	case KeywordOptOut:
		// Twilio has stopped delivering to them and told them so: texts
		// to them fail (the timeline says so) until they reply START.
		log.Warn("a person opted out of klaxon's texts (STOP); their SMS pages fail until they reply START")
		spend()
		reply("opt_out", "")
		return
	case KeywordOptIn:
		log.Info("a person opted back in to klaxon's texts (START)")
		spend()
		reply("opt_in", "")
		return
	case KeywordHelp:
		spend()
		reply("help", smsHelp)
		return
	}
	c := parseSMSReply(m.Body)
	if c.Verb == "" {
		spend()
		reply("usage", c.Why)
		return
	}
	note := ""
	if c.ID == "" {
		texted, err := s.textedIncidents(ctx, pc.Name)
		if err != nil {
			_ = s.once.ReleaseOnce(context.WithoutCancel(ctx), key)
			log.Warn("finding the incidents texted to a person failed", "err", err)
			reply("failed", "klaxon could not record that. Try again or use chat.")
			return
		}
		if len(texted) == 0 {
			spend()
			reply("no_incident", "klaxon: no open incident was texted to you. Reply with its ID, e.g. ack INC-42.")
			return
		}
		c.ID = texted[0].id
		var others []string
		for _, t := range texted[1:] {
			if t.triggered {
				others = append(others, t.id)
			}
		}
		if n := len(others); n > 3 { // one segment
			others = append(others[:3], "+"+itoa(n-3)+" more")
		}
		if len(others) > 0 {
			note = " (the latest texted; also open: " + strings.Join(others, ", ") + ")"
		}
	}
	who := Actor{Name: pc.Name, Known: true, Via: ViaSMS}
	if inc, err := s.store.Get(ctx, c.ID); err == nil {
		who.Called = pagedAbout(inc, pc.Name)
	}
	_, _, err = s.Act(ctx, c.ID, Command{Verb: c.Verb, ID: c.ID}, who)
	if err != nil {
		if k := incidents.ErrorKind(err); k == incidents.Unavailable || k == incidents.Internal {
			_ = s.once.ReleaseOnce(context.WithoutCancel(ctx), key)
			log.Warn("a text's action failed", "incident", c.ID, "err", err)
			reply("failed", "klaxon could not record that. Try again or use chat.")
			return
		}
		spend()
		reply("refused", fitSMS(refusal(c.ID, incidents.ErrorMessage(err))))
		return
	}
	spend()
	done := map[Verb]string{VerbAck: "acknowledged", VerbEscalate: "escalated", VerbResolve: "resolved"}[c.Verb]
	reply(done, fitSMS(c.ID+" "+done+" by "+pc.Name+note))
}

// refusal is a refused action's answer: msg, naming the incident, without
// the chat commands it suggests.
func refusal(id, msg string) string {
	if i := strings.Index(msg, " You can still look: /incident"); i > 0 {
		msg = msg[:i]
	}
	if !strings.Contains(msg, id) {
		msg = id + ": " + msg
	}
	return msg
}

// fitSMS cuts text to one segment's characters.
func fitSMS(text string) string {
	return clip(text, smsSegment)
}

// lastDigits is the end of a phone number, for logs.
func lastDigits(number string) string {
	if len(number) <= 4 {
		return number
	}
	return "…" + number[len(number)-4:]
}
