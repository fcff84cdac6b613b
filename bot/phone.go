package bot

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Phone callbacks: the digit pressed during an escalation call, and the
// call's progress, posted by the phone provider and verified by it
// (Twilio: X-Twilio-Signature over server.public_url).

func (s *Server) phoneCallback(verify func(*http.Request, []byte) (url.Values, error), h func(http.ResponseWriter, *http.Request, url.Values)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPhoneBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		form, err := verify(r, body)
		if err != nil {
			s.Rejected("twilio", err.Error())
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
			return
		}
		h(w, r, form)
	})
}

// maxPhoneBody bounds a Twilio callback's body.
const maxPhoneBody = 64 << 10

func twiml(w http.ResponseWriter, inner string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response>`+inner+`</Response>`)
}

func say(text string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(text))
	return "<Say>" + b.String() + "</Say>"
}

// expired reports whether a callback URL's exp (Unix seconds, signed with
// the rest of the URL) has passed.
func (s *Server) expired(q url.Values) bool {
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	return err != nil || s.clock.Now().Unix() > exp
}

// gather acts on the digit pressed: 1 acknowledges, 2 escalates, anything
// else asks again.
func (s *Server) gather(w http.ResponseWriter, r *http.Request, form url.Values) {
	q := r.URL.Query()
	id, person := q.Get("incident"), clip(q.Get("person"), 64)
	if s.expired(q) {
		twiml(w, say("This call has expired. Please use chat."))
		return
	}
	if sid, d := form.Get("CallSid"), form.Get("Digits"); sid != "" && (d == "1" || d == "2") && s.escalator != nil {
		// Each key of each call acts once (a replayed callback does not).
		if first, err := s.escalator.box.StepOnce(r.Context(), id, "digits-"+sid+"-"+d, 24*time.Hour); err == nil && !first {
			twiml(w, say("Already done. Thank you."))
			return
		}
	}
	// The person klaxon called (the URL is signed with the rest of the
	// callback) acts: a key acknowledges or escalates, the same as a button.
	who := Actor{Name: person, Known: true, Via: ViaPhone, Called: true}
	var err error
	var reply string
	switch form.Get("Digits") {
	case "1":
		if _, _, err = s.Act(r.Context(), id, Command{Verb: VerbAck}, who); err == nil {
			s.metrics.phoneCalls.WithLabelValues("acknowledged").Inc()
			reply = "Acknowledged. Thank you."
		}
	case "2":
		if _, _, err = s.Act(r.Context(), id, Command{Verb: VerbEscalate}, who); err == nil {
			s.metrics.phoneCalls.WithLabelValues("escalated").Inc()
			reply = "Escalating to the next step."
		}
	default:
		action := strings.TrimRight(s.cfg.Server.PublicURL, "/") + r.URL.RequestURI()
		var b strings.Builder
		xml.EscapeText(&b, []byte(action))
		twiml(w, `<Gather numDigits="1" method="POST" timeout="8" action="`+b.String()+`">`+say("Press 1 to acknowledge. Press 2 to escalate.")+`</Gather>`+say("Goodbye."))
		return
	}
	if err != nil {
		reply = incidents.ErrorMessage(err)
		if k := incidents.ErrorKind(err); k == incidents.Unavailable || k == incidents.Internal {
			reply = "klaxon could not record that. Please use chat."
		}
	}
	twiml(w, say(reply))
}

// callStatus records calls that found nobody: busy, no answer, failed.
// Each status of each call is acted on once, within the callback's
// expiry: a replayed callback (Twilio's signature holds for any copy)
// records nothing more.
func (s *Server) callStatus(w http.ResponseWriter, r *http.Request, form url.Values) {
	q := r.URL.Query()
	id, person := q.Get("incident"), clip(q.Get("person"), 64)
	status := form.Get("CallStatus")
	if s.expired(q) {
		s.Rejected("twilio", "expired callback")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch status {
	case "busy", "no-answer", "failed", "completed":
		if s.escalator == nil {
			break
		}
		sid := form.Get("CallSid")
		if sid == "" {
			s.Rejected("twilio", "status callback without CallSid")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		first, err := s.escalator.box.StepOnce(r.Context(), id, "status-"+sid+"-"+status, 24*time.Hour)
		if err != nil {
			s.log.Warn("a call status not checked for replay; acting on it", "incident", id, "err", err)
		} else if !first {
			s.Rejected("twilio", "replayed status callback")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	switch status {
	case "busy", "no-answer", "failed":
		outcome := map[string]string{"busy": "busy", "no-answer": "no_answer", "failed": "call_failed"}[status]
		s.metrics.phoneCalls.WithLabelValues(outcome).Inc()
		now := s.clock.Now()
		text := "Escalation: " + person + " did not answer the call (" + status + ")"
		called := ""
		if q.Get("oncall") == "1" && q.Get("fallback") == "" && s.escalator != nil {
			if next, who := s.escalator.noAnswer(r.Context(), id, person, form.Get("CallSid"), now); next != "" {
				text, called = next, who
			}
		}
		_, err := s.store.Update(r.Context(), id, func(inc *incidents.Incident) error {
			inc.AddEvent(now, incidents.EventEscalated, "klaxon", text)
			if called != "" {
				inc.RecordPage(now, "call", called)
			}
			return nil
		})
		if err != nil {
			s.log.Warn("recording an unanswered call failed", "incident", id, "err", err)
		}
	case "completed":
		s.metrics.phoneCalls.WithLabelValues("completed").Inc()
	}
	w.WriteHeader(http.StatusNoContent)
}

// firstAck reports whether the incident's acknowledgement is its first
// (MTTA counts from opening to the first).
func firstAck(inc *incidents.Incident) bool {
	n := 0
	for _, e := range inc.Timeline {
		if e.Kind == incidents.EventAcknowledged {
			n++
		}
	}
	return n == 1
}
