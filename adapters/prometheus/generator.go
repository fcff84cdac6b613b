package prometheus

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// ExprFromGeneratorURL returns the PromQL expression an alert's
// generatorURL links to. Prometheus (and Thanos Ruler, which links to its
// query frontend the same way) builds it as
//
//	<external URL>/graph?g0.expr=<URL-encoded expression>&g0.tab=1
//
// and vmalert, configured with -external.alert.source='vmui/#/?g0.expr=…',
// puts the same parameter in the URL's fragment. Any URL with a non-empty
// g0.expr in its query, or in a query inside its fragment, is accepted,
// whatever its path (a path prefix behind a proxy is common); ok is false
// for anything else: other schemes than http and https, Grafana's
// alert-rule links, vmalert's default links, malformed URLs, expressions
// that are not valid UTF-8.
func ExprFromGeneratorURL(u string) (expr string, ok bool) {
	pu, ok := parseGeneratorURL(u)
	if !ok {
		return "", false
	}
	q, _ := url.ParseQuery(pu.RawQuery) // keeps the pairs that parse
	expr = q.Get("g0.expr")
	if strings.TrimSpace(expr) == "" {
		frag := pu.EscapedFragment()
		if i := strings.IndexByte(frag, '?'); i >= 0 {
			fq, _ := url.ParseQuery(frag[i+1:])
			expr = fq.Get("g0.expr")
		}
	}
	expr = strings.TrimSpace(expr)
	if expr == "" || !utf8.ValidString(expr) {
		return "", false
	}
	return expr, true
}

// GeneratorHost returns the host of an alert's generatorURL as written
// there, with its port if it has one, in lower case ("prometheus:9090"):
// what a data source's match.host is compared with. ok is false when u is
// not an absolute http or https URL.
func GeneratorHost(u string) (host string, ok bool) {
	pu, ok := parseGeneratorURL(u)
	if !ok || pu.Host == "" {
		return "", false
	}
	return strings.ToLower(pu.Host), true
}

func parseGeneratorURL(u string) (*url.URL, bool) {
	pu, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return nil, false
	}
	switch strings.ToLower(pu.Scheme) {
	case "http", "https", "":
	default:
		return nil, false
	}
	if pu.Scheme == "" && pu.Host != "" {
		return nil, false // "//host/graph?…": not what Prometheus sends
	}
	return pu, true
}
