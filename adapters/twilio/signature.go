package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader is the header carrying a webhook's signature.
const SignatureHeader = "X-Twilio-Signature"

// Errors of VerifyRequest. They name no secret and no signature.
var (
	ErrMissingSignature = errors.New("twilio: missing signature")
	ErrBadSignature     = errors.New("twilio: bad signature")
)

// Signature is Twilio's signature of a webhook request: base64 of
// HMAC-SHA1, keyed with authToken, of fullURL (scheme, host, path and query,
// exactly as Twilio requested it) followed by each POST parameter's name and
// value, sorted by name (byte order; the values of a repeated name sorted
// too), with no separators.
func Signature(authToken, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		for _, v := range values {
			mac.Write([]byte(name))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyRequest checks the X-Twilio-Signature of webhook request r, whose
// body (read by the caller) is body, and returns its POST parameters.
//
// The signed URL is publicURL (the scheme and host, and a path prefix if
// any, under which Twilio reaches this server, e.g.
// "https://klaxon.example.com") followed by r.URL.RequestURI(). When
// publicURL is "", it is made from r: https if r came over TLS, else http,
// and r.Host (wrong behind a proxy: set it). Like Twilio's own validators,
// it also accepts the signature of that URL with the default port (443,
// 80) added or removed.
//
// A form body (application/x-www-form-urlencoded, or no Content-Type) is
// parsed and signed as parameters. Any other body (JSON) is signed by its
// SHA-256 in the URL's bodySHA256 parameter, which must match; the
// parameters returned are then empty.
//
// Errors are ErrMissingSignature, ErrBadSignature, or one about the body
// or publicURL; none holds a secret.
func VerifyRequest(authToken, publicURL string, r *http.Request, body []byte) (url.Values, error) {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, ErrMissingSignature
	}
	base := strings.TrimRight(publicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	} else if !httpURL(base) {
		return nil, errors.New("twilio: public URL is not an http(s) URL")
	}
	full := base + r.URL.RequestURI()

	form := url.Values{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "" || ct == "application/x-www-form-urlencoded" {
		var err error
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, errors.New("twilio: webhook body is not a form")
		}
	} else {
		want := r.URL.Query().Get("bodySHA256")
		sum := sha256.Sum256(body)
		if want == "" || !hmac.Equal([]byte(strings.ToLower(want)), []byte(hex.EncodeToString(sum[:]))) {
			return nil, ErrBadSignature
		}
		form = url.Values{}
	}

	ok := false
	for _, u := range urlVariants(full) {
		// Constant time, and every variant tried.
		if hmac.Equal([]byte(Signature(authToken, u, form)), []byte(sig)) {
			ok = true
		}
	}
	if !ok {
		return nil, ErrBadSignature
	}
	return form, nil
}

// urlVariants is full, then full with its scheme's default port removed
// (if present) or added (if absent).
func urlVariants(full string) []string {
	u, err := url.Parse(full)
	if err != nil || u.Host == "" {
		return []string{full}
	}
	prefix := u.Scheme + "://" + u.Host
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" || !strings.HasPrefix(full, prefix) {
		return []string{full}
	}
	rest := full[len(prefix):]
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	switch u.Port() {
	case "":
		return []string{full, u.Scheme + "://" + host + ":" + def + rest}
	case def:
		return []string{full, u.Scheme + "://" + host + rest}
	}
	return []string{full}
}
