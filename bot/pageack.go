package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// Acknowledge links of pages: a signed, expiring, single-use URL in an
// e-mail, a push or an SMS. GET shows a confirmation page and changes
// nothing (mail scanners and link previews fetch links); its button POSTs
// to the same URL, which acknowledges through Act as the person paged,
// "alice (email)". ntfy's Acknowledge action POSTs directly.
//
// The token is "<incident>.<person>.<via>.<expiry, base 36>.<MAC>", the MAC
// an HMAC-SHA256 (cut to 16 bytes) under a key derived from the console's
// secret; each token acknowledges once (Once), across replicas.

// PageAckTTL is how long an acknowledge link works.
const PageAckTTL = 24 * time.Hour

// pageAckVias are the ways a page carries a link.
var pageAckVias = map[string]bool{"email": true, "push": true, "sms": true}

// pageAckKey derives the links' key from the console's secret (or the one
// cmd keeps), or nil: no links then.
func pageAckKey(cfg *Config, d Deps) []byte {
	secret, err := cfg.ConsoleSecret()
	if err != nil {
		secret = d.Console.Secret
	}
	if len(secret) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("klaxon page acknowledge links"))
	return m.Sum(nil)
}

func (s *Server) pageAckMAC(payload string) string {
	m := hmac.New(sha256.New, s.ackKey)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// ackURL is the signed acknowledge link of a page to person by via, or
// "" when klaxon has no public URL or no key.
func (s *Server) ackURL(id, person, via string, now time.Time) string {
	if s.cfg.Server.PublicURL == "" || s.ackKey == nil || !pageAckVias[via] || !personRE.MatchString(person) || strings.Contains(person, ".") {
		return ""
	}
	payload := id + "." + person + "." + via + "." + strconv.FormatInt(now.Add(PageAckTTL).Unix(), 36)
	return strings.TrimRight(s.cfg.Server.PublicURL, "/") + "/page/ack/" + url.PathEscape(payload+"."+s.pageAckMAC(payload))
}

// pageAckToken is a verified token.
type pageAckToken struct {
	id, person, via string
	expires         time.Time
	mac             string
}

// checkPageAck verifies token; the error says what a person may read.
func (s *Server) checkPageAck(token string, now time.Time) (pageAckToken, error) {
	bad := incidents.Errorf(incidents.NotFound, "This acknowledge link is not valid.")
	parts := strings.Split(token, ".")
	if s.ackKey == nil || len(token) > 256 || len(parts) != 5 {
		return pageAckToken{}, bad
	}
	payload := strings.Join(parts[:4], ".")
	if !hmac.Equal([]byte(s.pageAckMAC(payload)), []byte(parts[4])) {
		return pageAckToken{}, bad
	}
	exp, err := strconv.ParseInt(parts[3], 36, 64)
	if err != nil {
		return pageAckToken{}, bad
	}
	t := pageAckToken{id: parts[0], person: parts[1], via: parts[2], expires: time.Unix(exp, 0), mac: parts[4]}
	if now.After(t.expires) {
		return pageAckToken{}, incidents.Errorf(incidents.Conflict, "This acknowledge link has expired. Use chat or the console.")
	}
	return t, nil
}

var pageAckPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>klaxon: {{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Incident}}<p><strong>{{.Incident.ID}}</strong> ({{.Incident.Severity}}{{if .Incident.Team}}, team {{.Incident.Team}}{{end}}): {{.Incident.Title}}</p>
<p>State: {{.Incident.State}}{{if .Incident.AckedBy}}, by {{.Incident.AckedBy}}{{end}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Confirm}}<form method="post" action="{{.Action}}"><button type="submit">Acknowledge as {{.Person}}</button></form>{{end}}
{{if .IncidentURL}}<p><a href="{{.IncidentURL}}">Open the incident</a></p>{{end}}
</main></body></html>
`))

type pageAckView struct {
	Title, Message, Person, Action, IncidentURL string
	Confirm                                     bool
	Incident                                    *incidents.Incident
}

func (s *Server) renderPageAck(w http.ResponseWriter, status int, v pageAckView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the link is a credential
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageAckPage.Execute(w, v)
}

// pageAck serves GET (the confirmation page) and POST (acknowledge) of
// /page/ack/{token}.
func (s *Server) pageAck(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	t, err := s.checkPageAck(r.PathValue("token"), now)
	if err != nil {
		s.Rejected("page_ack", "bad or expired link")
		s.renderPageAck(w, statusOf(err), pageAckView{Title: "Link not valid", Message: incidents.ErrorMessage(err)})
		return
	}
	inc, err := s.store.Get(r.Context(), t.id)
	if err != nil {
		s.renderPageAck(w, statusOf(err), pageAckView{Title: "Incident not available", Message: incidents.ErrorMessage(err)})
		return
	}
	inc = inc.Outline()
	v := pageAckView{Person: t.person, Incident: inc, IncidentURL: s.incidentURL(t.id), Action: r.URL.Path}
	if r.Method != http.MethodPost {
		v.Title, v.Confirm = "Acknowledge "+inc.ID+"?", inc.State == incidents.Triggered
		if !v.Confirm {
			v.Message = "Nothing to do: the incident is " + string(inc.State) + "."
		}
		s.renderPageAck(w, http.StatusOK, v)
		return
	}
	key := "page-ack:" + t.mac
	switch state, err := s.once.ClaimOnce(r.Context(), key, time.Minute); {
	case err != nil:
		s.renderPageAck(w, http.StatusServiceUnavailable, pageAckView{Title: "Try again", Message: "klaxon could not check the link just now. Try again in a moment."})
		return
	case state == incidents.OnceSpent:
		s.Rejected("page_ack", "link used already")
		v.Title, v.Message = "Link used already", "This acknowledge link was used already."
		s.renderPageAck(w, http.StatusGone, v)
		return
	case state == incidents.OnceBusy:
		v.Title, v.Message = "Being acknowledged", "This link is being used right now."
		s.renderPageAck(w, http.StatusConflict, v)
		return
	}
	who := Actor{Name: t.person, Known: true, Via: t.via, Called: true}
	got, _, err := s.Act(r.Context(), t.id, Command{Verb: VerbAck}, who)
	if k := incidents.ErrorKind(err); err != nil && k != incidents.Conflict {
		_ = s.once.ReleaseOnce(r.Context(), key)
		s.renderPageAck(w, statusOf(err), pageAckView{Title: "Not acknowledged", Message: incidents.ErrorMessage(err), Incident: inc, IncidentURL: v.IncidentURL})
		return
	}
	// Spent until the link expires anyway (and a little after, for clock
	// skew between replicas).
	_ = s.once.SpendOnce(r.Context(), key, max(time.Minute, t.expires.Sub(now)+time.Hour))
	if err != nil { // Conflict: acknowledged or resolved already
		v.Title, v.Message = "Nothing to do", incidents.ErrorMessage(err)
		s.renderPageAck(w, http.StatusOK, v)
		return
	}
	v.Incident = got.Outline()
	v.Title, v.Message = "Acknowledged", inc.ID+" is acknowledged by "+who.Label()+". Thank you."
	s.renderPageAck(w, http.StatusOK, v)
}
