package console_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/console"
)

// provider is an OpenID Connect provider for the tests: discovery, a
// JWKS with one RSA key, and a token endpoint that checks the client,
// the code and its PKCE verifier, and issues a signed ID token.
type provider struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey

	mu    sync.Mutex
	codes map[string]grant // code → what it was issued for
	// What the next ID token says (tests change it).
	email     string
	verified  any
	nonceFrom func(asked string) string
	audience  string
}

type grant struct{ challenge, nonce, redirect string }

func newProvider(t *testing.T) *provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{t: t, key: key, codes: map[string]grant{}, email: "alice@example.com", verified: true,
		nonceFrom: func(n string) string { return n }, audience: "klaxon"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		pub := p.key.PublicKey
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// authorize is what the provider does when the browser arrives with
// klaxon's request (a person signs in there): it checks the request and
// returns klaxon's callback URL with a code.
func (p *provider) authorize(t *testing.T, loc string) *url.URL {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, p.srv.URL+"/authorize?") {
		t.Fatalf("not sent to the provider: %q", loc)
	}
	q := u.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": "klaxon", "code_challenge_method": "S256",
		"redirect_uri": "https://klaxon.example.com/ui/oidc/callback"} {
		if q.Get(k) != want {
			t.Fatalf("authorize %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("state") == "" || q.Get("nonce") == "" || len(q.Get("code_challenge")) != 43 || !strings.Contains(q.Get("scope"), "openid") || !strings.Contains(q.Get("scope"), "email") {
		t.Fatalf("authorize lacks state, nonce, PKCE or scopes: %s", u.RawQuery)
	}
	code := b64([]byte(q.Get("state")))[:20]
	p.mu.Lock()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	p.mu.Unlock()
	cb, _ := url.Parse("/ui/oidc/callback?code=" + code + "&state=" + url.QueryEscape(q.Get("state")))
	return cb
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != "klaxon" || sec != "s3cret-of-the-client" {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || b64(sum[:]) != g.challenge || r.PostForm.Get("redirect_uri") != g.redirect {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.srv.URL, "sub": "user-1", "aud": p.audience, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"nonce": p.nonceFrom(g.nonce), "email": p.email, "email_verified": p.verified}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": p.sign(claims)})
}

func (p *provider) sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		p.t.Fatal(err)
	}
	return in + "." + b64(sig)
}

func oidcEnv(t *testing.T) (*env, *provider) {
	p := newProvider(t)
	e := newEnv(t, func(o *console.Options) {
		o.OIDC = &console.OIDCOptions{Issuer: p.srv.URL, ClientID: "klaxon", ClientSecret: "s3cret-of-the-client"}
	})
	return e, p
}

// signOn runs the flow in a browser without JavaScript and returns the
// callback's answer.
func (e *env) signOn(t *testing.T, p *provider, c *http.Client, tamper func(*url.URL)) *http.Response {
	t.Helper()
	res, _ := e.do(c, "GET", "/ui/oidc/login?next=/ui/incidents/INC-3", nil)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("login: %s", res.Status)
	}
	cb := p.authorize(t, res.Header.Get("Location"))
	if tamper != nil {
		tamper(cb)
	}
	res, _ = e.do(c, "GET", cb.String(), nil)
	return res
}

func sessionOf(res *http.Response) bool {
	for _, k := range res.Cookies() {
		if k.Name == console.SessionCookie && k.Value != "" {
			return true
		}
	}
	return false
}

func TestOIDC(t *testing.T) {
	e, p := oidcEnv(t)
	_, page := e.do(e.client(), "GET", "/ui/signin", nil)
	must(t, strings.Contains(page, "/ui/oidc/login"), "no single sign-on button")

	c := e.client()
	res := e.signOn(t, p, c, nil)
	must(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") == "/ui/incidents/INC-3" && sessionOf(res), "sign-on: %s → %s", res.Status, res.Header.Get("Location"))
	res, page = e.do(c, "GET", "/ui/", nil)
	must(t, res.StatusCode == 200 && strings.Contains(page, "<span>alice</span>"), "not signed in as alice: %s", res.Status)

	// The e-mail is matched without regard to case.
	p.email = "BOB@example.com"
	res = e.signOn(t, p, e.client(), nil)
	must(t, res.StatusCode == http.StatusSeeOther && sessionOf(res), "bob: %s", res.Status)
}

func TestOIDCRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(p *provider)
		tamper func(*url.URL)
	}{
		{"unverified e-mail", func(p *provider) { p.verified = false }, nil},
		{"no verified claim", func(p *provider) { p.verified = nil }, nil},
		{"unknown e-mail", func(p *provider) { p.email = "mallory@example.com" }, nil},
		{"a person without e-mail by name", func(p *provider) { p.email = "carol" }, nil},
		{"nonce mismatch", func(p *provider) { p.nonceFrom = func(string) string { return "another-nonce" } }, nil},
		{"token for another client", func(p *provider) { p.audience = "someone-else" }, nil},
		{"state mismatch", nil, func(u *url.URL) {
			q := u.Query()
			q.Set("state", "forged")
			u.RawQuery = q.Encode()
		}},
		{"provider error", nil, func(u *url.URL) { u.RawQuery = "error=access_denied&state=" + url.QueryEscape(u.Query().Get("state")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, p := oidcEnv(t)
			if tc.setup != nil {
				tc.setup(p)
			}
			res := e.signOn(t, p, e.client(), tc.tamper)
			if res.StatusCode != http.StatusUnauthorized || sessionOf(res) {
				t.Errorf("%s: %s, session %v", tc.name, res.Status, sessionOf(res))
			}
		})
	}
	// A callback in a browser that did not start the sign-on (no state
	// cookie: login CSRF) is refused.
	e, p := oidcEnv(t)
	c := e.client()
	res, _ := e.do(c, "GET", "/ui/oidc/login", nil)
	cb := p.authorize(t, res.Header.Get("Location"))
	res, _ = e.do(e.client(), "GET", cb.String(), nil)
	must(t, res.StatusCode == http.StatusUnauthorized && !sessionOf(res), "callback in another browser: %s", res.Status)
}
