// The APIs of Alertmanager and Grafana that klaxon calls to silence
// alerts at their source: sources.alertmanager.api_url and
// sources.grafana.api_url, with api_token or api_basic.

package bot

import (
	"net/url"
	"strings"
)

// inbound returns h when it says anything of the webhook's own
// credentials (token, basic, hmac, allow_unauthenticated), else nil: a
// section that only gives the API (api_url) leaves the webhook as if the
// section were not there.
func (h *HookAuth) inbound() *HookAuth {
	if h == nil {
		return nil
	}
	own := h.Token != "" || h.Basic != nil || h.HMAC != nil || h.AllowUnauthenticated
	api := h.APIURL != "" || h.APIToken != "" || h.APIBasic != nil
	if !own && api {
		return nil
	}
	return h
}

// inboundGiven reports whether the section at path has the webhook's own
// credentials to check: any of them set or given (an empty token is an
// error), or no API keys either.
func (v *configValidator) inboundGiven(path string, h *HookAuth) bool {
	if h.inbound() != nil {
		return true
	}
	for _, k := range []string{"token", "basic", "hmac", "allow_unauthenticated"} {
		if v.given(path + "." + k) {
			return true
		}
	}
	return false
}

// sourceAPI checks api_url and its credentials.
func (v *configValidator) sourceAPI(path string, h *HookAuth) {
	if h.APIURL == "" {
		switch {
		case h.APIToken != "" || v.given(path+".api_token"):
			v.errorf(path+".api_token", "needs api_url: the API it is for")
		case h.APIBasic != nil:
			v.errorf(path+".api_basic", "needs api_url: the API it is for")
		}
		return
	}
	example := "http://alertmanager:9093"
	if strings.HasSuffix(path, "grafana") {
		example = "https://grafana.example.com"
	}
	u, err := url.Parse(h.APIURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		v.errorf(path+".api_url", "want an absolute http or https URL such as %s, got %q", example, clipValue(redactedURL(h.APIURL)))
		return
	case u.User != nil:
		v.errorf(path+".api_url", "holds credentials: give them as api_basic (or api_token), which are kept secret")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		v.errorf(path+".api_url", "has a query or #fragment: give the base URL only, such as %s", example)
	}
	switch {
	case h.APIToken != "" && h.APIBasic != nil:
		v.errorf(path, "give api_token or api_basic, not both")
	case h.APIBasic != nil:
		if h.APIBasic.Username == "" {
			v.errorf(path+".api_basic.username", "must not be empty")
		} else if strings.ContainsRune(h.APIBasic.Username, ':') {
			v.errorf(path+".api_basic.username", "must not hold a colon")
		}
		if h.APIBasic.Password == "" {
			v.errorf(path+".api_basic.password", "must not be empty")
		}
		v.outboundSecret(path+".api_basic.password", h.APIBasic.Password)
	case h.APIToken == "" && v.given(path+".api_token"):
		v.errorf(path+".api_token", "is empty: give the token, or leave api_token out")
	default:
		v.outboundSecret(path+".api_token", h.APIToken)
	}
}

// redactedURL shows a URL without its password, if it has one.
func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return "…@" + s[i+1:]
	}
	return s
}

// SilenceAPI is how klaxon reaches one source's API for silences.
type SilenceAPI struct {
	URL                string
	Token              string
	Username, Password string
}

// SilenceAPIs returns the APIs configured for silences, by incident
// source ("alertmanager", "grafana").
func (c SourcesConfig) SilenceAPIs() map[string]SilenceAPI {
	out := map[string]SilenceAPI{}
	for name, h := range map[string]*HookAuth{"alertmanager": c.Alertmanager, "grafana": c.Grafana} {
		if h == nil || h.APIURL == "" {
			continue
		}
		api := SilenceAPI{URL: h.APIURL, Token: h.APIToken.Reveal()}
		if b := h.APIBasic; b != nil {
			api.Username, api.Password = b.Username, b.Password.Reveal()
		}
		out[name] = api
	}
	return out
}
