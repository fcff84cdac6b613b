package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/internal/localtrust"
)

// Sign-in without a password store: a one-time link sent by direct
// message on the person's chat accounts (or printed by `klaxon
// signin-link`), or OIDC. Either ends in a session kept in the store,
// whose ID the browser holds in an HttpOnly cookie.

// SessionCookie is the cookie that holds a session's ID.
const SessionCookie = "klaxon_session"

// LinkTTL is how long a sign-in link works.
const LinkTTL = 15 * time.Minute

// handler is a page that needs a signed-in person.
type handler func(w http.ResponseWriter, r *http.Request, s *incidents.Session)

// authed serves h to a signed-in person: others are sent to sign in (a
// page) or answered 401 (the event stream). A POST must carry the
// session's CSRF token and come from this origin.
func (c *Console) authed(h handler) http.Handler { return c.authedLimit(h, maxForm) }

// authedLimit is authed with a POST's body bounded by limit bytes.
func (c *Console) authedLimit(h handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil && incidents.ErrorKind(err) == incidents.NotFound {
			if _, ok := c.localSession(w, r); ok {
				// Signed in: the same page again, without the token in
				// its address.
				u := *r.URL
				q := u.Query()
				q.Del("local")
				u.RawQuery = q.Encode()
				http.Redirect(w, r, safeNext(u.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		if err != nil {
			if incidents.ErrorKind(err) != incidents.NotFound {
				c.log.Warn("console: reading a session failed", "err", err)
				c.fail(w, r, nil, err)
				return
			}
			if r.Method != http.MethodGet || r.URL.Path == "/ui/events" {
				c.fail(w, r, nil, incidents.Errorf(incidents.Unauthorized, "Your sign-in has ended: sign in again."))
				return
			}
			http.Redirect(w, r, "/ui/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if _, ok := c.o.Backend.FindPerson(s.Person); !ok && !(c.o.LocalToken != "" && s.Method == "local") {
			// Removed from people since: the session ends.
			_ = c.sessions.DeleteSession(r.Context(), s.ID)
			c.fail(w, r, nil, incidents.Errorf(incidents.Forbidden, "klaxon does not know %s any more.", s.Person))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := c.checkPost(r, s.CSRF); err != nil {
				c.fail(w, r, &s, err)
				return
			}
		}
		h(w, r, &s)
	})
}

// session returns the request's session. Errors: NotFound (none, or
// expired), Unavailable.
func (c *Console) session(r *http.Request) (incidents.Session, error) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return incidents.Session{}, incidents.Errorf(incidents.NotFound, "no session")
	}
	s, err := c.sessions.GetSession(r.Context(), ck.Value)
	if err != nil {
		return s, err
	}
	if !c.clock.Now().Before(s.ExpiresAt) {
		return s, incidents.Errorf(incidents.NotFound, "session expired")
	}
	s.ID = ck.Value
	return s, nil
}

// maxForm bounds a form's body.
const maxForm = 64 << 10

// checkPost refuses a POST from another origin, or without the token.
func (c *Console) checkPost(r *http.Request, token string) error {
	if !c.sameOrigin(r) {
		return incidents.Errorf(incidents.Forbidden, "This form was sent from another site; klaxon refused it.")
	}
	if err := r.ParseForm(); err != nil {
		return incidents.Errorf(incidents.Invalid, "The form could not be read.")
	}
	got := r.PostForm.Get("csrf")
	if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return incidents.Errorf(incidents.Forbidden, "This form has expired (or did not come from this page): reload the page and try again.")
	}
	return nil
}

// sameOrigin reports whether a POST came from a page of this site, by
// Sec-Fetch-Site or Origin when the browser sends them.
func (c *Console) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	if c.base != "" {
		if b, err := url.Parse(c.base); err == nil && strings.EqualFold(b.Host, u.Host) {
			return true
		}
	}
	return strings.EqualFold(u.Host, r.Host)
}

// newSession signs person in: a session in the store and its cookie.
func (c *Console) newSession(ctx context.Context, w http.ResponseWriter, person, method string) error {
	_, err := c.startSession(ctx, w, person, method)
	return err
}

// startSession is newSession, returning the session.
func (c *Console) startSession(ctx context.Context, w http.ResponseWriter, person, method string) (incidents.Session, error) {
	now := c.clock.Now()
	s := incidents.Session{ID: randomToken(32), Person: person, Method: method, CSRF: randomToken(32),
		CreatedAt: now.UTC(), ExpiresAt: now.Add(c.o.SessionTTL).UTC()}
	if err := c.sessions.PutSession(ctx, s); err != nil {
		return s, err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.ID, Path: "/ui/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(c.o.SessionTTL / time.Second)})
	c.log.Info("console: signed in", "person", person, "method", method)
	return s, nil
}

// LocalPerson is who uses the console of a klaxon that listens on
// loopback and knows no people yet (Options.Local).
const LocalPerson = "local"

// localSession signs in, as LocalPerson, a GET from this machine that
// carries the local token (Options.LocalToken). ok is false when the
// request may not.
func (c *Console) localSession(w http.ResponseWriter, r *http.Request) (incidents.Session, bool) {
	if c.o.LocalToken == "" || r.Method != http.MethodGet || !localtrust.Request(r) ||
		!localtrust.Equal(r.URL.Query().Get("local"), c.o.LocalToken) {
		return incidents.Session{}, false
	}
	s, err := c.startSession(r.Context(), w, LocalPerson, "local")
	if err != nil {
		c.log.Warn("console: a local session could not be stored", "err", err)
		return incidents.Session{}, false
	}
	return s, true
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *incidents.Session) {
	if err := c.sessions.DeleteSession(r.Context(), s.ID); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/ui/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/signin?out=1", http.StatusSeeOther)
}

// randomToken is n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// --- sign-in links ---

// SignLink returns the token of a one-time sign-in link for person,
// valid until exp: the person, the expiry and a nonce, and an HMAC over
// them with secret.
func SignLink(secret []byte, person string, exp time.Time) string {
	var nonce [12]byte
	rand.Read(nonce[:])
	payload := person + "\n" + strconv.FormatInt(exp.Unix(), 10) + "\n" + hex.EncodeToString(nonce[:])
	p := base64.RawURLEncoding.EncodeToString([]byte(payload))
	return p + "." + base64.RawURLEncoding.EncodeToString(linkMAC(secret, p))
}

// SignInLink is the URL of a one-time sign-in link for person under base
// (the public URL), valid for LinkTTL from now.
func SignInLink(secret []byte, base, person string, now time.Time) string {
	return strings.TrimRight(base, "/") + "/ui/signin/link?t=" + SignLink(secret, person, now.Add(LinkTTL))
}

func linkMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("klaxon console sign-in link\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// errBadLink is what a person is told of any link that does not work:
// the same words for a forged, expired or used one.
var errBadLink = incidents.Errorf(incidents.Unauthorized, "This sign-in link does not work: it has expired, was used already, or was cut short. Ask for a new one.")

// VerifyLink checks a sign-in token's signature and expiry at now and
// returns the person it is for and the key that makes it work once.
func VerifyLink(secret []byte, token string, now time.Time) (person, key string, err error) {
	if len(token) > 600 {
		return "", "", errBadLink
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", errBadLink
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, linkMAC(secret, p)) {
		return "", "", errBadLink
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return "", "", errBadLink
	}
	parts := strings.Split(string(raw), "\n")
	if len(parts) != 3 {
		return "", "", errBadLink
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Unix() >= exp || time.Unix(exp, 0).Sub(now) > LinkTTL+time.Minute {
		return "", "", errBadLink
	}
	return parts[0], "console-link:" + hex.EncodeToString(mac[:16]), nil
}

type signInView struct {
	Next      string
	Sent      bool
	SignedOut bool
	OIDC      bool
	Local     bool   // this machine's user may come in with serve's link
	Token     string // the link's token, on the confirmation page
	Person    string
	Request   string // the sealed request a code is typed against
}

// signInPage asks for a name or handle.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", c.view(r, nil, "Sign in", signInView{Next: safeNext(r.URL.Query().Get("next")),
		SignedOut: r.URL.Query().Get("out") != "", OIDC: c.oidc != nil, Local: c.o.LocalToken != ""}))
}

// signInRequest sends a link and a code to whoever the name names, and
// says the same thing whether or not it names anyone: the page always
// holds a signed request the code can be typed against.
func (c *Console) signInRequest(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, nil, incidents.Errorf(incidents.Forbidden, "This form was sent from another site; klaxon refused it."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, incidents.Errorf(incidents.Invalid, "The form could not be read."))
		return
	}
	if !c.limiter.allow("ip:"+c.o.ClientIP(r), c.clock.Now()) {
		w.Header().Set("Retry-After", "60")
		c.fail(w, r, nil, tooMany("Too many sign-in requests from here: wait a minute and try again."))
		return
	}
	who := strings.TrimSpace(r.PostForm.Get("who"))
	if len(who) > 320 {
		who = who[:320]
	}
	next := safeNext(r.PostForm.Get("next"))
	req := signInReq{Who: who, Nonce: randomToken(12), Exp: c.clock.Now().Add(LinkTTL).Unix()}
	if p, ok := c.o.Backend.FindPerson(who); ok && who != "" {
		if c.limiter.allowPerson(p.Name, c.clock.Now()) {
			c.sendLink(p, next, signInCode(c.o.Secret, req.Nonce, p.Name))
		} else {
			c.log.Info("console: sign-in link not sent: too many asked for this person", "person", p.Name)
		}
	}
	c.render(w, r, http.StatusOK, "signin", c.view(r, nil, "Sign in", signInView{Next: next, Sent: true, OIDC: c.oidc != nil,
		Request: c.seal("request", req)}))
}

// sendLink sends p a sign-in link and code in the background: the page
// answers at once, the same whoever was named, and a slow chat cannot
// hold it.
func (c *Console) sendLink(p Person, next, code string) {
	base := c.base
	if base == "" {
		c.log.Warn("console: cannot send a sign-in link: server.public_url is not set (use klaxon signin-link)")
		return
	}
	link := SignInLink(c.o.Secret, base, p.Name, c.clock.Now())
	if next != "/ui/" {
		link += "&next=" + url.QueryEscape(next)
	}
	select {
	case c.sendSem <- struct{}{}:
	default:
		c.log.Warn("console: too many sign-in messages in flight; this one was dropped", "person", p.Name)
		return
	}
	c.sends.Add(1)
	go func() {
		defer c.sends.Done()
		defer func() { <-c.sendSem }()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		text := "Sign in to klaxon as " + p.Name + " with the link below, or type the code " + code +
			" on the sign-in page. Either works once, for 15 minutes. If you did not ask for it, ignore this message."
		if err := c.o.Backend.SendSignIn(ctx, p, text, link); err != nil {
			c.log.Warn("console: sign-in link not sent", "person", p.Name, "err", err)
			return
		}
		c.log.Info("console: sign-in link sent", "person", p.Name)
	}()
}

// signInReq is a sign-in request, sealed into the page that asks for the
// code: whom it named, and the nonce the code was made from.
type signInReq struct {
	Who   string `json:"w"`
	Nonce string `json:"n"`
	Exp   int64  `json:"e"`
}

// signInCode is the code sent with a link: 8 letters and digits (40
// bits) from the request's nonce and the person, "ABCD-EFGH". Guessing
// one takes a trillion tries; a client gets 5 a minute.
func signInCode(secret []byte, nonce, person string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("klaxon console sign-in code\x00" + nonce + "\x00" + person))
	s := base32.StdEncoding.EncodeToString(m.Sum(nil))[:8]
	return s[:4] + "-" + s[4:]
}

// normCode reads a typed code: any case, with or without the dash or
// spaces.
func normCode(s string) string {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != 8 {
		return ""
	}
	return s[:4] + "-" + s[4:]
}

// codeSignIn signs in with the code typed against a sealed request.
func (c *Console) codeSignIn(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, nil, incidents.Errorf(incidents.Forbidden, "This form was sent from another site; klaxon refused it."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, incidents.Errorf(incidents.Invalid, "The form could not be read."))
		return
	}
	if !c.limiter.allow("ip:"+c.o.ClientIP(r), c.clock.Now()) {
		w.Header().Set("Retry-After", "60")
		c.fail(w, r, nil, tooMany("Too many sign-in attempts from here: wait a minute and try again."))
		return
	}
	var req signInReq
	bad := incidents.Errorf(incidents.Unauthorized, "That code does not work: check it, or ask for a new one (a code works once, for 15 minutes).")
	if !c.unseal("request", r.PostForm.Get("r"), &req) || c.clock.Now().Unix() >= req.Exp {
		c.fail(w, r, nil, bad)
		return
	}
	p, ok := c.o.Backend.FindPerson(req.Who)
	code := normCode(r.PostForm.Get("code"))
	if !ok || req.Who == "" || code == "" || !hmac.Equal([]byte(code), []byte(signInCode(c.o.Secret, req.Nonce, p.Name))) {
		c.log.Warn("console: a wrong sign-in code", "client", c.o.ClientIP(r))
		c.fail(w, r, nil, bad)
		return
	}
	c.spendAndSignIn(w, r, p.Name, "console-code:"+req.Nonce, "link", bad, r.PostForm.Get("next"))
}

// linkPage asks the person to confirm: a link preview or a mail scanner
// that fetches the link does not use it up.
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	t := r.URL.Query().Get("t")
	person, _, err := VerifyLink(c.o.Secret, t, c.clock.Now())
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.render(w, r, http.StatusOK, "signin", c.view(r, nil, "Sign in", signInView{Token: t, Person: person, Next: safeNext(r.URL.Query().Get("next"))}))
}

// linkSignIn uses the link: once, across replicas.
func (c *Console) linkSignIn(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, nil, incidents.Errorf(incidents.Forbidden, "This form was sent from another site; klaxon refused it."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, incidents.Errorf(incidents.Invalid, "The form could not be read."))
		return
	}
	if !c.limiter.allow("ip:"+c.o.ClientIP(r), c.clock.Now()) {
		w.Header().Set("Retry-After", "60")
		c.fail(w, r, nil, tooMany("Too many sign-in attempts from here: wait a minute and try again."))
		return
	}
	person, key, err := VerifyLink(c.o.Secret, r.PostForm.Get("t"), c.clock.Now())
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	p, ok := c.o.Backend.FindPerson(person)
	if !ok || p.Name != person {
		c.fail(w, r, nil, errBadLink)
		return
	}
	c.spendAndSignIn(w, r, p.Name, key, "link", errBadLink, r.PostForm.Get("next"))
}

// spendAndSignIn uses key once, across replicas, and signs person in.
func (c *Console) spendAndSignIn(w http.ResponseWriter, r *http.Request, person, key, method string, used error, next string) {
	ctx := r.Context()
	st, err := c.once.ClaimOnce(ctx, key, 30*time.Second)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if st != incidents.OnceNew {
		c.log.Warn("console: a used sign-in link or code was tried again", "person", person, "client", c.o.ClientIP(r))
		c.fail(w, r, nil, used)
		return
	}
	if err := c.newSession(ctx, w, person, method); err != nil {
		_ = c.once.ReleaseOnce(context.WithoutCancel(ctx), key)
		c.fail(w, r, nil, err)
		return
	}
	if err := c.once.SpendOnce(context.WithoutCancel(ctx), key, LinkTTL+2*time.Minute); err != nil {
		c.log.Warn("console: marking a sign-in link used failed; it stays held for 30 s", "err", err)
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// safeNext keeps a redirect target within the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") || len(next) > 1000 {
		return "/ui/"
	}
	return next
}
