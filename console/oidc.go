package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/klaxonbot/klaxon/incidents"
)

// Sign-in with OpenID Connect: the authorization code flow with PKCE,
// state and nonce. The provider's verified e-mail claim names the person
// (people[].email); nothing else is trusted from it.

// oidcClient is the provider, discovered on first use (klaxon starts
// while the provider is down, and tries again at the next sign-in).
type oidcClient struct {
	opts     OIDCOptions
	redirect string
	hc       *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCClient(o OIDCOptions, redirect string, hc *http.Client) *oidcClient {
	return &oidcClient{opts: o, redirect: redirect, hc: hc}
}

// setup discovers the provider once.
func (o *oidcClient) setup(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		// The provider keeps this context to fetch its keys later: it
		// must outlive the request.
		pctx := oidc.ClientContext(context.Background(), o.hc)
		dctx, cancel := context.WithTimeout(pctx, 10*time.Second)
		defer cancel()
		if _, err := oidc.NewProvider(dctx, o.opts.Issuer); err != nil {
			return nil, nil, incidents.Wrap(incidents.Unavailable, "console.oidc", err)
		}
		p, err := oidc.NewProvider(pctx, o.opts.Issuer) // cached by now, and bound to pctx
		if err != nil {
			return nil, nil, incidents.Wrap(incidents.Unavailable, "console.oidc", err)
		}
		o.provider = p
	}
	return o.provider, &oauth2.Config{ClientID: o.opts.ClientID, ClientSecret: o.opts.ClientSecret, Endpoint: o.provider.Endpoint(),
		RedirectURL: o.redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

// oidcCookie holds a sign-in's state, nonce and PKCE verifier between
// the redirect to the provider and its callback, signed.
const oidcCookie = "klaxon_oidc"

type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Exp      int64  `json:"e"`
}

// seal signs v (JSON) for purpose: what a page or cookie carries and
// gives back.
func (c *Console) seal(purpose string, v any) string {
	b, _ := json.Marshal(v)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(sealMAC(c.o.Secret, purpose, p))
}

// unseal checks what seal made for purpose and decodes it into v.
func (c *Console) unseal(purpose, sealed string, v any) bool {
	p, sig, ok := strings.Cut(sealed, ".")
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	// Only seal's exact spelling: base64 decoding skips CR and LF even
	// when strict, so a value with a line break would pass for another.
	if !ok || err != nil || len(sealed) > 4096 || base64.RawURLEncoding.EncodeToString(mac) != sig ||
		!hmac.Equal(mac, sealMAC(c.o.Secret, purpose, p)) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	return err == nil && json.Unmarshal(b, v) == nil
}

func sealMAC(secret []byte, purpose, p string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("klaxon console " + purpose + "\x00"))
	m.Write([]byte(p))
	return m.Sum(nil)
}

// oidcLogin sends the browser to the provider.
func (c *Console) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.fail(w, r, nil, incidents.Errorf(incidents.NotFound, "Single sign-on is not set up (console.oidc)."))
		return
	}
	if !c.limiter.allow("ip:"+c.o.ClientIP(r), c.clock.Now()) {
		c.fail(w, r, nil, tooMany("Too many sign-in attempts from here: wait a minute and try again."))
		return
	}
	_, cfg, err := c.oidc.setup(r.Context())
	if err != nil {
		c.log.Warn("console: the OIDC provider is unreachable", "issuer", c.oidc.opts.Issuer, "err", err)
		c.fail(w, r, nil, incidents.Errorf(incidents.Unavailable, "The sign-on provider cannot be reached; try again, or ask for a sign-in link."))
		return
	}
	st := oidcState{State: randomToken(24), Nonce: randomToken(24), Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(r.URL.Query().Get("next")), Exp: c.clock.Now().Add(10 * time.Minute).Unix()}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: c.seal("oidc state", st), Path: "/ui/oidc/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(w, r, cfg.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// errOIDC is what a person is told of a sign-on that did not work; the
// log says why.
var errOIDC = incidents.Errorf(incidents.Unauthorized, "Single sign-on did not work. Start again, or ask for a sign-in link.")

// oidcCallback takes the provider's answer: the state must be the one
// this browser was given, the ID token signed by the provider for klaxon
// with this sign-in's nonce, and its e-mail verified and a person's.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.fail(w, r, nil, incidents.Errorf(incidents.NotFound, "Single sign-on is not set up (console.oidc)."))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/ui/oidc/", HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	person, next, err := c.oidcPerson(r)
	if err != nil {
		c.log.Warn("console: OIDC sign-in refused", "err", err, "client", c.o.ClientIP(r))
		if incidents.ErrorKind(err) == incidents.Unavailable {
			c.fail(w, r, nil, incidents.Errorf(incidents.Unavailable, "The sign-on provider cannot be reached; try again."))
			return
		}
		c.fail(w, r, nil, errOIDC)
		return
	}
	if err := c.newSession(r.Context(), w, person, "oidc"); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) oidcPerson(r *http.Request) (person, next string, err error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", "", errors.New("the provider answered " + clip(e, 60))
	}
	ck, err := r.Cookie(oidcCookie)
	if err != nil {
		return "", "", errors.New("no state cookie (expired, or another browser)")
	}
	var st oidcState
	if !c.unseal("oidc state", ck.Value, &st) || c.clock.Now().Unix() >= st.Exp {
		return "", "", errors.New("the state cookie is forged or expired")
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return "", "", errors.New("state mismatch")
	}
	provider, cfg, err := c.oidc.setup(r.Context())
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), c.o.HTTPClient), 15*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", "", errors.New("code exchange: " + clip(err.Error(), 200))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", errors.New("no id_token in the token response")
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.oidc.opts.ClientID, Now: c.clock.Now}).Verify(ctx, raw)
	if err != nil {
		return "", "", errors.New("ID token: " + clip(err.Error(), 200))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return "", "", errors.New("nonce mismatch")
	}
	var claims struct {
		Email    string          `json:"email"`
		Verified json.RawMessage `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", errors.New("claims: " + err.Error())
	}
	// Some providers send "true" as a string.
	if v := strings.Trim(string(claims.Verified), `"`); v != "true" {
		return "", "", errors.New("the e-mail " + clip(claims.Email, 80) + " is not verified")
	}
	email := strings.TrimSpace(claims.Email)
	if email == "" {
		return "", "", errors.New("no e-mail claim (ask for the email scope)")
	}
	p, ok := c.o.Backend.FindPerson(email)
	if !ok || !strings.EqualFold(p.Email, email) {
		return "", "", errors.New("no person has the e-mail " + clip(email, 80))
	}
	return p.Name, st.Next, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
