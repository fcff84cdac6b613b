package bot_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/bot"
	"github.com/klaxonbot/klaxon/incidents"
)

// webhookParser reads a tiny monitor payload, {"id": "x", "status": s}: s
// is down (firing), up (resolved) or ignore (nothing to do).
func webhookParser(source string) bot.Parser {
	return func(body []byte) (*incidents.Batch, error) {
		var p struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, incidents.Errorf(incidents.Invalid, "body is not JSON")
		}
		var st incidents.AlertStatus
		switch p.Status {
		case "ignore":
			return nil, nil
		case "down":
			st = incidents.AlertFiring
		case "up":
			st = incidents.AlertResolved
		default:
			return nil, incidents.Errorf(incidents.Invalid, "status %q is not down, up or ignore", p.Status)
		}
		if p.ID == "" {
			return nil, incidents.Errorf(incidents.Invalid, "id is missing")
		}
		return &incidents.Batch{
			Source:   source,
			GroupKey: source + "/" + p.ID,
			Title:    p.ID + " is down",
			Alerts: []incidents.Alert{{
				Source: source, Fingerprint: p.ID, Status: st,
				Labels: map[string]string{"alertname": p.ID},
			}},
		}, nil
	}
}

// newWebhookEnv serves sources, each with webhookParser unless parsers
// has its own, on a bolt store.
func newWebhookEnv(t testing.TB, parsers map[string]bot.Parser, sources ...bot.WebhookSource) *env {
	t.Helper()
	cfg := bot.DefaultConfig()
	cfg.Sources.Webhook = sources
	return newWebhookEnvConfig(t, cfg, parsers)
}

func newWebhookEnvConfig(t testing.TB, cfg *bot.Config, parsers map[string]bot.Parser, stores ...incidents.Store) *env {
	t.Helper()
	deps := map[string]bot.Parser{}
	for _, s := range cfg.Sources.Webhook {
		name := bot.WebhookSourcePrefix + s.Name
		deps[name] = webhookParser(name)
		if p, ok := parsers[name]; ok {
			deps[name] = p
		}
	}
	if len(stores) > 0 {
		return newEnvSources(t, stores[0], cfg, deps)
	}
	return newEnvSources(t, boltStore(t), cfg, deps)
}

const (
	kumaSecret   = "kuma-hmac-secret-0123456789"
	kumaSigHdr   = "X-Kuma-Signature"
	kumaStampHdr = "X-Kuma-Timestamp"
	kumaPath     = "/hooks/webhook/kuma"
	kumaDown     = `{"id":"x","status":"down"}`
)

// kumaSigned signs the body alone, as GitHub does.
func kumaSigned() bot.WebhookSource {
	return bot.WebhookSource{Name: "kuma", HMAC: &bot.HMACAuth{Secret: kumaSecret, Header: kumaSigHdr, Prefix: "sha256="}}
}

// kumaStamped signs "{timestamp}:{body}" (the default with a timestamp
// header), window 5m.
func kumaStamped() bot.WebhookSource {
	return bot.WebhookSource{Name: "kuma", HMAC: &bot.HMACAuth{Secret: kumaSecret, Header: kumaSigHdr, Prefix: "sha256=", TimestampHeader: kumaStampHdr}}
}

// hmacHex is HMAC-SHA256(secret, msg) in hex.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// kumaHeaders are the headers of body signed with secret, with the
// timestamp stamp when it is not empty.
func kumaHeaders(secret, body, stamp string) []string {
	if stamp == "" {
		return []string{kumaSigHdr, "sha256=" + hmacHex(secret, body)}
	}
	return []string{kumaSigHdr, "sha256=" + hmacHex(secret, stamp+":"+body), kumaStampHdr, stamp}
}

func unixStamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// counter returns the value of a metric series in /metrics, 0 if absent.
func counter(e *env, series string) float64 {
	e.t.Helper()
	for line := range strings.SplitSeq(e.do("GET", "/metrics", "").body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric line %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

const (
	kumaAuthFailures = `klaxon_webhook_auth_failures_total{source="webhook/kuma"}`
	kumaReplays      = `klaxon_webhook_replays_total{source="webhook/kuma"}`
)

// wantDuplicate checks that a replayed signed request was answered 200
// duplicate: done already, nothing to do.
func wantDuplicate(t *testing.T, r response) {
	t.Helper()
	if r.code != 200 || r.json(t)["status"] != "duplicate" {
		t.Fatalf("replay: %d %s, want 200 duplicate", r.code, r.body)
	}
}

func storedCount(e *env) int {
	e.t.Helper()
	l, err := e.store.List(context.Background(), incidents.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(l)
}

func wantError(t *testing.T, r response, code int, msg string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	if got, _ := r.json(t)["error"].(string); !strings.Contains(got, msg) {
		t.Fatalf("error %q, want it to contain %q", got, msg)
	}
}

func wantStored(t *testing.T, r response, created bool) {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("status %d, want 200; body %s", r.code, r.body)
	}
	if m := r.json(t); m["status"] != "stored" || m["incident"] != "INC-1" || m["created"] != created {
		t.Fatalf("body %v, want INC-1 stored, created %v", m, created)
	}
}

func TestWebhookHMAC(t *testing.T) {
	t.Run("right signature", func(t *testing.T) {
		e := newWebhookEnv(t, nil, kumaSigned())
		wantStored(t, e.do("POST", kumaPath, kumaDown, kumaHeaders(kumaSecret, kumaDown, "")...), true)
		inc, err := e.store.Get(context.Background(), "INC-1")
		if err != nil {
			t.Fatalf("200 answered but not stored: %v", err)
		}
		if inc.Title != "x is down" {
			t.Errorf("title %q: not the body that was signed", inc.Title)
		}
		if n := counter(e, kumaAuthFailures); n != 0 {
			t.Errorf("auth failures = %v after a good signature", n)
		}
		// Without a timestamp a signature is not spent: a sender's retry
		// is the same request, and the alert is idempotent.
		r := e.do("POST", kumaPath, kumaDown, kumaHeaders(kumaSecret, kumaDown, "")...)
		wantStored(t, r, false)
		if m := r.json(t); m["changed"] != false {
			t.Errorf("retry changed the incident: %v", m)
		}
	})
	for _, tt := range []struct {
		name string
		hdr  []string
		msg  string
	}{
		{"wrong secret", kumaHeaders("kuma-hmac-secret-0123456780", kumaDown, ""), "signature does not match the body"},
		{"signature of another body", kumaHeaders(kumaSecret, `{"id":"y","status":"down"}`, ""), "signature does not match the body"},
		{"signature of the body with a timestamp", []string{kumaSigHdr, "sha256=" + hmacHex(kumaSecret, "1772366400:"+kumaDown), kumaStampHdr, "1772366400"}, "signature does not match the body"},
		{"no signature", nil, "signature header X-Kuma-Signature is missing"},
		{"bearer token instead of a signature", []string{"Authorization", "Bearer " + kumaSecret}, "signature header X-Kuma-Signature is missing"},
		{"no prefix", []string{kumaSigHdr, hmacHex(kumaSecret, kumaDown)}, `does not start with "sha256="`},
		{"truncated signature", []string{kumaSigHdr, "sha256=" + hmacHex(kumaSecret, kumaDown)[:62]}, "is not a hex-encoded HMAC-SHA256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newWebhookEnv(t, nil, kumaSigned())
			r := e.do("POST", kumaPath, kumaDown, tt.hdr...)
			wantError(t, r, 401, tt.msg)
			if n := storedCount(e); n != 0 {
				t.Errorf("refused request stored %d incidents", n)
			}
			if n := counter(e, kumaAuthFailures); n != 1 {
				t.Errorf("%s = %v, want 1", kumaAuthFailures, n)
			}
			if want := hmacHex(kumaSecret, kumaDown); strings.Contains(r.body, kumaSecret) || strings.Contains(r.body, want) {
				t.Errorf("401 body %s shows the secret or the expected signature", r.body)
			}
		})
	}
	t.Run("bad body signed right", func(t *testing.T) {
		e := newWebhookEnv(t, nil, kumaSigned())
		body := `{"id":"x","status":"sideways"}`
		wantError(t, e.do("POST", kumaPath, body, kumaHeaders(kumaSecret, body, "")...), 400, `status "sideways" is not down, up or ignore`)
		if n := counter(e, kumaAuthFailures); n != 0 {
			t.Errorf("a bad body counted as an auth failure (%v)", n)
		}
	})
	t.Run("bad body signed wrong", func(t *testing.T) {
		// The signature is checked before the body is parsed: a stranger
		// learns nothing of the mapping.
		e := newWebhookEnv(t, nil, kumaSigned())
		wantError(t, e.do("POST", kumaPath, "not json", kumaHeaders("wrong", "not json", "")...), 401, "signature does not match the body")
	})
}

func TestWebhookHMACReplay(t *testing.T) {
	e := newWebhookEnv(t, nil, kumaStamped())
	t0 := e.clock.Now()
	hdr := kumaHeaders(kumaSecret, kumaDown, unixStamp(t0))
	wantStored(t, e.do("POST", kumaPath, kumaDown, hdr...), true)

	// The very same request again: done already (200 duplicate, nothing
	// changes), whether at once or later within the window.
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, hdr...))
	e.clock.Add(4*time.Minute + 59*time.Second)
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, hdr...))
	// The same signature written in upper case is the same signature.
	upper := []string{kumaSigHdr, "sha256=" + strings.ToUpper(strings.TrimPrefix(hdr[1], "sha256=")), kumaStampHdr, hdr[3]}
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, upper...))
	if n, f := counter(e, kumaReplays), counter(e, kumaAuthFailures); n != 3 || f != 0 {
		t.Errorf("%s = %v, want 3 (the replays); %s = %v, want 0", kumaReplays, n, kumaAuthFailures, f)
	}

	// A new signature (a new timestamp) of the same body is a new request.
	fresh := kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now()))
	if r := e.do("POST", kumaPath, kumaDown, fresh...); r.code != 200 || r.json(t)["changed"] != false {
		t.Fatalf("freshly signed repeat: %d %s", r.code, r.body)
	}
	if n := storedCount(e); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}

	// Past twice the window the replay cache has let the signature go;
	// the window refuses it.
	e.clock.Add(2*5*time.Minute + time.Second - (4*time.Minute + 59*time.Second))
	if got := e.clock.Now().Sub(t0); got <= 10*time.Minute {
		t.Fatalf("clock moved %s, want past 10m", got)
	}
	r := e.do("POST", kumaPath, kumaDown, hdr...)
	wantError(t, r, 401, "timestamp in X-Kuma-Timestamp is 10m1s away from klaxon's clock, beyond the 5m0s window")
	if strings.Contains(r.body, "duplicate") {
		t.Errorf("refused as a replay, want the window: %s", r.body)
	}
}

// A window set in config bounds the timestamp and the replay cache alike.
func TestWebhookHMACReplayCustomWindow(t *testing.T) {
	src := kumaStamped()
	src.HMAC.Window = bot.Duration(time.Minute)
	e := newWebhookEnv(t, nil, src)
	hdr := kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now()))
	wantStored(t, e.do("POST", kumaPath, kumaDown, hdr...), true)
	e.clock.Add(59 * time.Second)
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, hdr...))
	e.clock.Add(2 * time.Second)
	wantError(t, e.do("POST", kumaPath, kumaDown, hdr...), 401, "beyond the 1m0s window")
	// A request signed a little ahead of klaxon's clock (within the window)
	// is accepted once, too.
	ahead := kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now().Add(30*time.Second)))
	if r := e.do("POST", kumaPath, kumaDown, ahead...); r.code != 200 {
		t.Fatalf("signed 30s ahead: %d %s", r.code, r.body)
	}
	e.clock.Add(80 * time.Second) // 50s past the timestamp: still within the window
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, ahead...))
}

// A signature is spent only by a 2xx answer: a request that failed may be
// sent again as it was.
func TestWebhookHMACFailedRequestNotSpent(t *testing.T) {
	var calls atomic.Int32
	good := webhookParser("webhook/kuma")
	flaky := func(body []byte) (*incidents.Batch, error) {
		if calls.Add(1) == 1 {
			return nil, incidents.Errorf(incidents.Invalid, "mapping failed this once")
		}
		return good(body)
	}
	e := newWebhookEnv(t, map[string]bot.Parser{"webhook/kuma": flaky}, kumaStamped())
	hdr := kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now()))
	wantError(t, e.do("POST", kumaPath, kumaDown, hdr...), 400, "mapping failed this once")
	if n := storedCount(e); n != 0 {
		t.Fatalf("400 stored %d incidents", n)
	}
	e.clock.Add(time.Second)
	wantStored(t, e.do("POST", kumaPath, kumaDown, hdr...), true)
	// Now it is spent.
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, hdr...))
	if n := calls.Load(); n != 2 {
		t.Errorf("parser called %d times, want 2 (never for the replay)", n)
	}

	// A body that is bad for good stays a 400, however often it comes.
	bad := `{"id":"x","status":"sideways"}`
	badHdr := kumaHeaders(kumaSecret, bad, unixStamp(e.clock.Now()))
	for i := range 3 {
		if r := e.do("POST", kumaPath, bad, badHdr...); r.code != 400 {
			t.Fatalf("bad body, try %d: %d %s", i+1, r.code, r.body)
		}
	}
	if n := counter(e, kumaReplays); n != 1 {
		t.Errorf("%s = %v, want 1 (the one replay)", kumaReplays, n)
	}
}

func TestWebhookIgnoredStatus(t *testing.T) {
	const ignore = `{"id":"x","status":"ignore"}`
	e := newWebhookEnv(t, nil, kumaStamped())
	hdr := kumaHeaders(kumaSecret, ignore, unixStamp(e.clock.Now()))
	r := e.do("POST", kumaPath, ignore, hdr...)
	if r.code != 200 {
		t.Fatalf("status %d, want 200; body %s", r.code, r.body)
	}
	if m := r.json(t); len(m) != 1 || m["status"] != "ignored" {
		t.Fatalf(`body %s, want {"status":"ignored"}`, r.body)
	}
	if n := storedCount(e); n != 0 {
		t.Fatalf("ignored status stored %d incidents", n)
	}
	// Answered 2xx: spent.
	wantDuplicate(t, e.do("POST", kumaPath, ignore, hdr...))
	if n := counter(e, `klaxon_alerts_ignored_total{source="webhook/kuma"}`); n != 1 {
		t.Errorf("alerts ignored = %v, want 1", n)
	}
	// The source still works for what is not ignored.
	wantStored(t, e.do("POST", kumaPath, kumaDown, kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now()))...), true)
}

func TestWebhookToken(t *testing.T) {
	const token = "cron-token-0123456789"
	cron := bot.WebhookSource{Name: "cron", Token: token}
	uptime := bot.WebhookSource{Name: "uptime", Basic: &bot.BasicAuth{Username: "uptime", Password: "uptime-pass-0123456789"}}
	e := newWebhookEnv(t, nil, kumaSigned(), cron, uptime)
	const path = "/hooks/webhook/cron"

	r := e.do("POST", path, kumaDown)
	wantError(t, r, 401, "bearer token required")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="klaxon"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	wantError(t, e.do("POST", path, kumaDown, "Authorization", "Bearer "+token+"x"), 401, "wrong credentials")
	// kuma's signature is no credential for cron.
	wantError(t, e.do("POST", path, kumaDown, kumaHeaders(kumaSecret, kumaDown, "")...), 401, "bearer token required")
	if n := storedCount(e); n != 0 {
		t.Fatalf("refused requests stored %d incidents", n)
	}
	if n := counter(e, `klaxon_webhook_auth_failures_total{source="webhook/cron"}`); n != 3 {
		t.Errorf("cron auth failures = %v, want 3", n)
	}
	// The token is checked before the body is read: a bad body with a
	// wrong token is a 401, with the right one a 400.
	wantError(t, e.do("POST", path, "not json", "Authorization", "Bearer nope"), 401, "wrong credentials")
	wantError(t, e.do("POST", path, "not json", "Authorization", "Bearer "+token), 400, "body is not JSON")

	wantStored(t, e.do("POST", path, kumaDown, "Authorization", "Bearer "+token), true)
	inc, err := e.store.Get(context.Background(), "INC-1")
	if err != nil || inc.Alerts[0].Source != "webhook/cron" {
		t.Fatalf("INC-1 = %+v, %v; want an alert of webhook/cron", inc, err)
	}
	// The cron token is no credential for kuma.
	wantError(t, e.do("POST", kumaPath, kumaDown, "Authorization", "Bearer "+token), 401, "signature header X-Kuma-Signature is missing")
	// Token-authenticated requests are not replay-checked.
	if r := e.do("POST", path, kumaDown, "Authorization", "Bearer "+token); r.code != 200 {
		t.Fatalf("second request with the token: %d %s", r.code, r.body)
	}
	// Basic auth works on a webhook source as well.
	wantError(t, e.do("POST", "/hooks/webhook/uptime", kumaDown, "Authorization", "Basic dXB0aW1lOm5vcGU="), 401, "wrong credentials")
	if r := e.do("POST", "/hooks/webhook/uptime", `{"id":"u","status":"down"}`, "Authorization", "Basic dXB0aW1lOnVwdGltZS1wYXNzLTAxMjM0NTY3ODk="); r.code != 200 || r.json(t)["incident"] != "INC-2" {
		t.Fatalf("basic: %d %s", r.code, r.body)
	}
	// Only the configured names are served.
	if r := e.do("POST", "/hooks/webhook/nope", kumaDown); r.code != 404 {
		t.Errorf("unknown webhook: %d %s", r.code, r.body)
	}
	if r := e.do("GET", path, ""); r.code != 405 {
		t.Errorf("GET: %d %s", r.code, r.body)
	}
}

// webhookYAML is a config whose sources.webhook are items, one a line,
// from line 3.
func webhookYAML(items ...string) string {
	var b strings.Builder
	b.WriteString("sources:\n  webhook:\n")
	for _, it := range items {
		b.WriteString("    - " + it + "\n")
	}
	return b.String()
}

func TestWebhookConfigErrors(t *testing.T) {
	const (
		tok    = "token: kuma-token-0123456789"
		secret = "kuma-hmac-secret-0123"
	)
	hmacItem := func(fields string) string {
		return "{name: kuma, hmac: {secret: " + secret + ", " + fields + "}}"
	}
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"duplicate names", webhookYAML("{name: kuma, "+tok+"}", "{name: cron, "+tok+"}", "{name: kuma, "+tok+"}"),
			`sources.webhook[2].name (line 5): "kuma" is also sources.webhook[0]`},
		{"empty name", webhookYAML("{name: cron, "+tok+"}", `{name: "", `+tok+"}"),
			"sources.webhook[1].name (line 4): must not be empty: it names the hook's URL, /hooks/webhook/<name>"},
		{"no name", webhookYAML("{" + tok + "}"),
			"sources.webhook[0].name (line 3): must not be empty: it names the hook's URL, /hooks/webhook/<name>"},
		{"token and hmac", webhookYAML("{name: kuma, " + tok + ", hmac: {secret: " + secret + ", header: X-Sig}}"),
			"sources.webhook[0] (line 3): give one of token, basic and hmac, not more"},
		{"basic and hmac", webhookYAML("{name: kuma, basic: {username: u, password: kuma-pass-0123456789}, hmac: {secret: " + secret + ", header: X-Sig}}"),
			"sources.webhook[0] (line 3): give one of token, basic and hmac, not more"},
		{"empty token", webhookYAML(`{name: kuma, token: "${KUMA_TOKEN:-}"}`),
			"sources.webhook[0] (line 3): give token, basic or hmac (an empty token is not allowed)"},
		{"empty hmac", webhookYAML("{name: kuma, hmac: }"),
			"sources.webhook[0] (line 3): give token, basic or hmac (an empty token is not allowed)"},
		{"basic without password", webhookYAML("{name: kuma, basic: {username: u}}"),
			"sources.webhook[0].basic.password (line 3): must not be empty"},
		{"hmac without header", webhookYAML("{name: kuma, hmac: {secret: " + secret + "}}"),
			"sources.webhook[0].hmac.header (line 3): name the header that carries the signature (e.g. X-Hub-Signature-256)"},
		{"hmac header not a header name", webhookYAML(hmacItem("header: 'X Sig'")),
			`sources.webhook[0].hmac.header (line 3): "X Sig" is not an HTTP header name`},
		{"hmac without secret", webhookYAML("{name: kuma, hmac: {header: X-Sig}}"),
			"sources.webhook[0].hmac.secret (line 3): must not be empty"},
		{"hmac short secret", webhookYAML("{name: kuma, hmac: {secret: sh0rt-s3cret, header: X-Sig}}"),
			"sources.webhook[0].hmac.secret (line 3): is 12 characters long: at least 16, or anyone could guess it"},
		{"hmac placeholder secret", webhookYAML("{name: kuma, hmac: {secret: changeme, header: X-Sig}}"),
			"sources.webhook[0].hmac.secret (line 3): is a placeholder: set the real one"},
		{"hmac encoding", webhookYAML(hmacItem("header: X-Sig, encoding: base32")),
			`sources.webhook[0].hmac.encoding (line 3): want hex or base64, got "base32"`},
		{"signed without body", webhookYAML(hmacItem(`header: X-Sig, timestamp_header: X-Ts, signed: "{timestamp}"`)),
			`sources.webhook[0].hmac.signed (line 3): must contain {body} once, got "{timestamp}"`},
		{"signed with body twice", webhookYAML(hmacItem(`header: X-Sig, signed: "{body}{body}"`)),
			`sources.webhook[0].hmac.signed (line 3): must contain {body} once, got "{body}{body}"`},
		{"signed with unknown", webhookYAML(hmacItem(`header: X-Sig, signed: "{body}:{nonce}"`)),
			`sources.webhook[0].hmac.signed (line 3): knows only {body} and {timestamp}, got "{body}:{nonce}"`},
		{"signed with a stray brace", webhookYAML(hmacItem(`header: X-Sig, signed: "{body}}"`)),
			`sources.webhook[0].hmac.signed (line 3): knows only {body} and {timestamp}, got "{body}}"`},
		{"timestamp header but signed lacks timestamp", webhookYAML(hmacItem(`header: X-Sig, timestamp_header: X-Ts, signed: "{body}"`)),
			"sources.webhook[0].hmac.signed (line 3): must contain {timestamp}: a timestamp the signature does not cover proves nothing"},
		{"timestamp without timestamp header", webhookYAML(hmacItem(`header: X-Sig, signed: "{timestamp}.{body}"`)),
			"sources.webhook[0].hmac.timestamp_header (line 3): must be set when signed contains {timestamp}"},
		{"timestamp header not a header name", webhookYAML(hmacItem("header: X-Sig, timestamp_header: 'X:Ts'")),
			`sources.webhook[0].hmac.timestamp_header (line 3): "X:Ts" is not an HTTP header name`},
		{"window without timestamp header", webhookYAML(hmacItem("header: X-Sig, window: 1m")),
			"sources.webhook[0].hmac.window (line 3): needs timestamp_header: without a timestamp there is no window"},
		{"window 2h", webhookYAML(hmacItem("header: X-Sig, timestamp_header: X-Ts, window: 2h")),
			"sources.webhook[0].hmac.window (line 3): must be between 1s and 1h0m0s, got 2h0m0s"},
		{"window 500ms", webhookYAML(hmacItem("header: X-Sig, timestamp_header: X-Ts, window: 500ms")),
			"sources.webhook[0].hmac.window (line 3): must be between 1s and 1h0m0s, got 500ms"},
		{"window negative", webhookYAML(hmacItem("header: X-Sig, timestamp_header: X-Ts, window: -1m")),
			"sources.webhook[0].hmac.window (line 3): must be between 1s and 1h0m0s, got -1m0s"},
		{"hmac unknown key", webhookYAML(hmacItem("header: X-Sig, timestamp_header: X-Ts, windw: 1m")),
			`sources.webhook[0].hmac.windw (line 3): unknown key (did you mean "window"?)`},
		{"second source is checked too", webhookYAML("{name: cron, "+tok+"}", "{name: kuma, hmac: {secret: "+secret+"}}"),
			"sources.webhook[1].hmac.header (line 4): name the header that carries the signature (e.g. X-Hub-Signature-256)"},
		{"block style lines", `sources:
  webhook:
    - name: kuma
      hmac:
        secret: ` + secret + `
        header: X-Kuma-Signature
        signed: "{body}"
        timestamp_header: X-Kuma-Timestamp
        window: 2h
`, "sources.webhook[0].hmac.signed (line 7): must contain {timestamp}: a timestamp the signature does not cover proves nothing\n" +
			"sources.webhook[0].hmac.window (line 9): must be between 1s and 1h0m0s, got 2h0m0s"},
		{"block style, header missing", `sources:
  webhook:
    - name: kuma
      token: kuma-token-0123456789
    - name: other
      hmac:
        secret: ` + secret + `
`, "sources.webhook[1].hmac.header (line 6): name the header that carries the signature (e.g. X-Hub-Signature-256)"},
		{"alertmanager hmac", "sources:\n  alertmanager: {hmac: {secret: " + secret + "}}\n",
			"sources.alertmanager.hmac.header (line 2): name the header that carries the signature (e.g. X-Hub-Signature-256)"},
		{"alertmanager token and hmac", "sources:\n  alertmanager: {token: am-token-0123456789, hmac: {secret: " + secret + ", header: X-Sig}}\n",
			"sources.alertmanager (line 2): give one of token, basic and hmac, not more"},
		{"grafana hmac window", "sources:\n  grafana: {hmac: {secret: " + secret + ", header: X-Grafana-Alerting-Signature, timestamp_header: X-Grafana-Alerting-Timestamp, window: 2h}}\n",
			"sources.grafana.hmac.window (line 2): must be between 1s and 1h0m0s, got 2h0m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadYAML(t, tt.yaml, nil)
			if err == nil {
				t.Fatalf("loaded; want\n%s", tt.want)
			}
			if cfg != nil {
				t.Error("a config returned with an error")
			}
			var ce bot.ConfigErrors
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not ConfigErrors: %v", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, tt.want)
			}
			for _, s := range []string{secret, "kuma-token-0123456789", "kuma-pass-0123456789", "sh0rt-s3cret"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows the secret %q", s)
				}
			}
		})
	}
}

func TestWebhookConfigValid(t *testing.T) {
	cfg, err := loadYAML(t, `
sources:
  webhook:
    - name: kuma
      hmac:
        secret: ${KUMA_SECRET}
        header: X-Kuma-Signature
        prefix: sha256=
        timestamp_header: X-Kuma-Timestamp
        window: 2m
        signed: "v1:{timestamp}:{body}"
      fields:
        title: "{{ .monitor.name }} is down"
        status: "{{ .heartbeat.status }}"
        resolved: ["1"]
    - name: cron
      token: cron-token-0123456789
      fields:
        title: "{{ .job }} failed"
`, map[string]string{"KUMA_SECRET": kumaSecret})
	if err != nil {
		t.Fatal(err)
	}
	ws := cfg.Sources.Webhook
	if len(ws) != 2 || ws[0].Name != "kuma" || ws[1].Name != "cron" {
		t.Fatalf("webhooks = %+v", ws)
	}
	h := ws[0].HMAC
	if h == nil || h.Secret.Reveal() != kumaSecret || h.Header != "X-Kuma-Signature" || h.Prefix != "sha256=" ||
		h.TimestampHeader != "X-Kuma-Timestamp" || h.Window.D() != 2*time.Minute || h.Signed != "v1:{timestamp}:{body}" || h.Encoding != "" {
		t.Fatalf("kuma hmac = %+v", h)
	}
	if ws[0].Token != "" || ws[0].Basic != nil {
		t.Errorf("kuma has other credentials: %+v", ws[0])
	}
	if f := ws[0].Fields; f.Title != "{{ .monitor.name }} is down" || f.Status != "{{ .heartbeat.status }}" || len(f.Resolved) != 1 || f.Resolved[0] != "1" {
		t.Errorf("kuma fields = %+v", f)
	}
	if ws[1].Token.Reveal() != "cron-token-0123456789" || ws[1].HMAC != nil || ws[1].Fields.Title != "{{ .job }} failed" {
		t.Errorf("cron = %+v", ws[1])
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	// ErrorAt finds the line of a path in the loaded file, or of its
	// nearest ancestor.
	if e := cfg.ErrorAt("sources.webhook[1].fields.title", "bad %s", "template"); e.Line != 19 || e.Error() != "sources.webhook[1].fields.title (line 19): bad template" {
		t.Errorf("ErrorAt = %#v", e)
	}
	if e := cfg.ErrorAt("sources.webhook[0].fields.severity", "x"); e.Line != 12 {
		t.Errorf("ErrorAt of a path not in the file = %#v, want the line of fields (12)", e)
	}

	// The loaded config serves: its signed template and window are used.
	e := newWebhookEnvConfig(t, cfg, nil)
	stamp := unixStamp(e.clock.Now())
	sig := func(msg string) []string {
		return []string{kumaSigHdr, "sha256=" + hmacHex(kumaSecret, msg), kumaStampHdr, stamp}
	}
	wantError(t, e.do("POST", kumaPath, kumaDown, sig(stamp+":"+kumaDown)...), 401, "signature does not match the body")
	wantStored(t, e.do("POST", kumaPath, kumaDown, sig("v1:"+stamp+":"+kumaDown)...), true)
	if r := e.do("POST", "/hooks/webhook/cron", `{"id":"c","status":"down"}`, "Authorization", "Bearer cron-token-0123456789"); r.code != 200 {
		t.Fatalf("cron: %d %s", r.code, r.body)
	}
	e.clock.Add(2*time.Minute + time.Second)
	wantError(t, e.do("POST", kumaPath, kumaDown, sig("v1:"+stamp+":"+kumaDown)...), 401, "beyond the 2m0s window")
}

// Two copies of one signed request at once: the second is told to retry
// (503) while the first is handled, and is a replay (401) once the first
// is accepted. A copy of a request that failed may be sent again.
func TestWebhookHMACConcurrentCopies(t *testing.T) {
	entered, unblock := make(chan struct{}), make(chan struct{})
	good := webhookParser("webhook/kuma")
	var calls atomic.Int32
	slow := func(body []byte) (*incidents.Batch, error) {
		if calls.Add(1) == 1 {
			close(entered)
			<-unblock
		}
		return good(body)
	}
	e := newWebhookEnv(t, map[string]bot.Parser{"webhook/kuma": slow}, kumaStamped())
	hdr := kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now()))
	first := make(chan response, 1)
	go func() { first <- e.do("POST", kumaPath, kumaDown, hdr...) }()
	<-entered
	r := e.do("POST", kumaPath, kumaDown, hdr...)
	wantError(t, r, 503, "being handled")
	close(unblock)
	wantStored(t, <-first, true)
	wantDuplicate(t, e.do("POST", kumaPath, kumaDown, hdr...))
	if n := calls.Load(); n != 1 {
		t.Fatalf("parser ran %d times, want 1", n)
	}
}

// An alert its parser accepted with part of the body left out is stored,
// counted and logged.
func TestWebhookParseWarnings(t *testing.T) {
	good := webhookParser("webhook/kuma")
	partial := func(body []byte) (*incidents.Batch, error) {
		b, err := good(body)
		if b != nil {
			b.Alerts[0].Annotations = map[string]string{incidents.AnnotationParseWarnings: "fields.runbook: at 1:9: boom"}
		}
		return b, err
	}
	e := newWebhookEnv(t, map[string]bot.Parser{"webhook/kuma": partial}, kumaStamped())
	wantStored(t, e.do("POST", kumaPath, kumaDown, kumaHeaders(kumaSecret, kumaDown, unixStamp(e.clock.Now()))...), true)
	if n := counter(e, `klaxon_webhook_parse_warnings_total{source="webhook/kuma"}`); n != 1 {
		t.Fatalf("parse warnings counted %v, want 1", n)
	}
}

// On Redis a signature spent on one replica is spent on every replica:
// a replay sent to the other is answered duplicate and does nothing.
func TestWebhookReplayAcrossReplicas(t *testing.T) {
	store := redisStore(t)
	cfg := func() *bot.Config {
		c := bot.DefaultConfig()
		c.Sources.Webhook = []bot.WebhookSource{kumaStamped()}
		return c
	}
	a := newWebhookEnvConfig(t, cfg(), nil, store)
	b := newWebhookEnvConfig(t, cfg(), nil, store)
	hdr := kumaHeaders(kumaSecret, kumaDown, unixStamp(a.clock.Now()))
	wantStored(t, a.do("POST", kumaPath, kumaDown, hdr...), true)
	wantDuplicate(t, b.do("POST", kumaPath, kumaDown, hdr...))
	if n := counter(b, kumaReplays); n != 1 {
		t.Fatalf("replays on the other replica: %v, want 1", n)
	}
	// A request that failed on one replica may be resent to the other.
	bad := `{"id":"x","status":"sideways"}`
	badHdr := kumaHeaders(kumaSecret, bad, unixStamp(a.clock.Now()))
	if r := a.do("POST", kumaPath, bad, badHdr...); r.code != 400 {
		t.Fatalf("bad body: %d %s", r.code, r.body)
	}
	if r := b.do("POST", kumaPath, bad, badHdr...); r.code != 400 {
		t.Fatalf("bad body resent to the other replica: %d %s (its claim was not released)", r.code, r.body)
	}
}
