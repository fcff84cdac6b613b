package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// GitHub's published example of X-Hub-Signature-256
// (docs.github.com, "Validating webhook deliveries").
const (
	ghSecret = "It's a Secret to Everybody"
	ghBody   = "Hello, World!"
	ghHex    = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	// The same 32 bytes in base64: standard and URL alphabets differ here
	// ('/' against '_').
	ghStd64 = "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc="
	ghURL64 = "dXEH6g6yUJ_CESIczphLijdXC211hsIsRvQ3nIsEPhc="
)

// macOf is HMAC-SHA256(secret, msg), computed here without writeSigned.
func macOf(secret, msg string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func TestHMACGitHubVector(t *testing.T) {
	// The vector itself, so that the table below rests on a known answer.
	if got := hex.EncodeToString(macOf(ghSecret, ghBody)); got != ghHex {
		t.Fatalf("HMAC of GitHub's example = %s, want %s", got, ghHex)
	}
	if got := base64.StdEncoding.EncodeToString(macOf(ghSecret, ghBody)); got != ghStd64 {
		t.Fatalf("base64 = %s, want %s", got, ghStd64)
	}
	h := &HMACAuth{Secret: ghSecret, Header: "X-Hub-Signature-256", Prefix: "sha256="}
	hdr := http.Header{}
	hdr.Set("X-Hub-Signature-256", "sha256="+ghHex)
	key, err := verifyHMAC(hdr, []byte(ghBody), h, time.Now())
	if err != nil || key != "" {
		t.Fatalf("verifyHMAC(GitHub's example) = %q, %v; want no key, no error", key, err)
	}
}

func TestVerifyHMAC(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	unix := strconv.FormatInt(now.Unix(), 10)
	gh := func() *HMACAuth {
		return &HMACAuth{Secret: ghSecret, Header: "X-Hub-Signature-256", Prefix: "sha256="}
	}
	b64 := func() *HMACAuth {
		return &HMACAuth{Secret: ghSecret, Header: "X-Signature", Encoding: "base64"}
	}
	// Grafana's scheme: "{timestamp}:{body}" by default.
	const tsSecret = "grafana-signing-secret-0123"
	ts := func() *HMACAuth {
		return &HMACAuth{Secret: tsSecret, Header: "X-Grafana-Alerting-Signature", TimestampHeader: "X-Grafana-Alerting-Timestamp"}
	}
	// Slack's scheme: "v0:{timestamp}:{body}", prefix "v0=".
	const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slack := func() *HMACAuth {
		return &HMACAuth{Secret: slackSecret, Header: "X-Slack-Signature", Prefix: "v0=",
			TimestampHeader: "X-Slack-Request-Timestamp", Signed: "v0:{timestamp}:{body}"}
	}
	tsSig := func(stamp, body string) string { return hex.EncodeToString(macOf(tsSecret, stamp+":"+body)) }
	body := `{"alerts":[]}`
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	secs := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }

	for _, tt := range []struct {
		name    string
		auth    *HMACAuth
		hdr     []string // name, value, ...
		body    string
		wantErr string // substring; "" means accepted
		wantKey bool
	}{
		// Signature formats.
		{name: "github vector", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex}, body: ghBody},
		{name: "upper-case hex", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + strings.ToUpper(ghHex)}, body: ghBody},
		{name: "upper-case prefix", auth: gh(), hdr: []string{"X-Hub-Signature-256", "SHA256=" + ghHex}, body: ghBody},
		{name: "spaces around the header value", auth: gh(), hdr: []string{"X-Hub-Signature-256", "  sha256=" + ghHex + " "}, body: ghBody},
		{name: "no prefix configured", auth: &HMACAuth{Secret: ghSecret, Header: "X-Sig"}, hdr: []string{"X-Sig", ghHex}, body: ghBody},
		{name: "base64 std padded", auth: b64(), hdr: []string{"X-Signature", ghStd64}, body: ghBody},
		{name: "base64 std unpadded", auth: b64(), hdr: []string{"X-Signature", strings.TrimRight(ghStd64, "=")}, body: ghBody},
		{name: "base64 url padded", auth: b64(), hdr: []string{"X-Signature", ghURL64}, body: ghBody},
		{name: "base64 url unpadded", auth: b64(), hdr: []string{"X-Signature", strings.TrimRight(ghURL64, "=")}, body: ghBody},
		{name: "encoding BASE64 any case", auth: &HMACAuth{Secret: ghSecret, Header: "X-Signature", Encoding: "BASE64"}, hdr: []string{"X-Signature", ghStd64}, body: ghBody},
		{name: "encoding HEX any case", auth: &HMACAuth{Secret: ghSecret, Header: "X-Signature", Encoding: "HEX"}, hdr: []string{"X-Signature", ghHex}, body: ghBody},
		{name: "base64 with prefix", auth: &HMACAuth{Secret: ghSecret, Header: "X-Signature", Prefix: "sha256=", Encoding: "base64"}, hdr: []string{"X-Signature", "sha256=" + ghStd64}, body: ghBody},

		// Refused signatures.
		{name: "missing header", auth: gh(), body: ghBody, wantErr: "signature header X-Hub-Signature-256 is missing"},
		{name: "empty header", auth: gh(), hdr: []string{"X-Hub-Signature-256", "   "}, body: ghBody, wantErr: "signature header X-Hub-Signature-256 is missing"},
		{name: "signature in another header", auth: gh(), hdr: []string{"X-Hub-Signature", "sha256=" + ghHex}, body: ghBody, wantErr: "is missing"},
		{name: "wrong prefix", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha1=" + ghHex}, body: ghBody, wantErr: `signature in X-Hub-Signature-256 does not start with "sha256="`},
		{name: "shorter than the prefix", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha"}, body: ghBody, wantErr: `does not start with "sha256="`},
		{name: "prefix missing", auth: gh(), hdr: []string{"X-Hub-Signature-256", ghHex}, body: ghBody, wantErr: "does not start with"},
		{name: "not hex", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + strings.Repeat("zz", 32)}, body: ghBody, wantErr: "signature in X-Hub-Signature-256 is not a hex-encoded HMAC-SHA256"},
		{name: "base64 where hex is configured", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghStd64}, body: ghBody, wantErr: "is not a hex-encoded HMAC-SHA256"},
		{name: "hex where base64 is configured", auth: b64(), hdr: []string{"X-Signature", ghHex}, body: ghBody, wantErr: "is not a base64-encoded HMAC-SHA256"},
		{name: "not base64", auth: b64(), hdr: []string{"X-Signature", "!!!not*base64!!!"}, body: ghBody, wantErr: "is not a base64-encoded HMAC-SHA256"},
		{name: "odd hex length", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex[:63]}, body: ghBody, wantErr: "is not a hex-encoded"},
		{name: "hex one byte short", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex[:62]}, body: ghBody, wantErr: "is not a hex-encoded"},
		{name: "hex one byte long", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex + "00"}, body: ghBody, wantErr: "is not a hex-encoded"},
		{name: "sha1-sized signature", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex[:40]}, body: ghBody, wantErr: "is not a hex-encoded"},
		{name: "prefix only", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256="}, body: ghBody, wantErr: "is not a hex-encoded"},
		{name: "wrong secret", auth: &HMACAuth{Secret: "It's a Secret to Everybody!", Header: "X-Hub-Signature-256", Prefix: "sha256="}, hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex}, body: ghBody, wantErr: "signature does not match the body"},
		{name: "body changed by one byte", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex}, body: "Hello, World?", wantErr: "signature does not match the body"},
		{name: "body with a byte more", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex}, body: ghBody + "\n", wantErr: "signature does not match the body"},
		{name: "empty body", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + ghHex}, body: "", wantErr: "signature does not match the body"},
		{name: "signature of the empty body", auth: gh(), hdr: []string{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(macOf(ghSecret, ""))}, body: ""},

		// Timestamps: default signed "{timestamp}:{body}", window 5m.
		{name: "timestamp in seconds", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(unix, body), "X-Grafana-Alerting-Timestamp", unix}, body: body, wantKey: true},
		{name: "timestamp in seconds with a fraction", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(unix+".25", body), "X-Grafana-Alerting-Timestamp", unix + ".25"}, body: body, wantKey: true},
		{name: "timestamp in milliseconds", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(unix+"123", body), "X-Grafana-Alerting-Timestamp", unix + "123"}, body: body, wantKey: true},
		{name: "timestamp RFC 3339", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(at(-time.Minute), body), "X-Grafana-Alerting-Timestamp", at(-time.Minute)}, body: body, wantKey: true},
		{name: "timestamp RFC 3339 with offset", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig("2026-03-01T13:02:00+01:00", body), "X-Grafana-Alerting-Timestamp", "2026-03-01T13:02:00+01:00"}, body: body, wantKey: true},
		{name: "timestamp RFC 3339 nano", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig("2026-03-01T11:59:59.123456789Z", body), "X-Grafana-Alerting-Timestamp", "2026-03-01T11:59:59.123456789Z"}, body: body, wantKey: true},
		{name: "timestamp at the window's past edge", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(-5*time.Minute), body), "X-Grafana-Alerting-Timestamp", secs(-5 * time.Minute)}, body: body, wantKey: true},
		{name: "timestamp at the window's future edge", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(5*time.Minute), body), "X-Grafana-Alerting-Timestamp", secs(5 * time.Minute)}, body: body, wantKey: true},
		{name: "timestamp missing", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(unix, body)}, body: body, wantErr: "timestamp header X-Grafana-Alerting-Timestamp is missing"},
		{name: "timestamp empty", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig("", body), "X-Grafana-Alerting-Timestamp", " "}, body: body, wantErr: "timestamp header X-Grafana-Alerting-Timestamp is missing"},
		{name: "timestamp too old", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(-5*time.Minute-time.Second), body), "X-Grafana-Alerting-Timestamp", secs(-5*time.Minute - time.Second)}, body: body,
			wantErr: "timestamp in X-Grafana-Alerting-Timestamp is 5m1s away from klaxon's clock, beyond the 5m0s window"},
		{name: "timestamp too far ahead", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(5*time.Minute+time.Second), body), "X-Grafana-Alerting-Timestamp", secs(5*time.Minute + time.Second)}, body: body,
			wantErr: "is 5m1s away from klaxon's clock, beyond the 5m0s window"},
		{name: "timestamp an hour old in milliseconds", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(-time.Hour)+"000", body), "X-Grafana-Alerting-Timestamp", secs(-time.Hour) + "000"}, body: body,
			wantErr: "is 1h0m0s away"},
		{name: "timestamp RFC 3339 too old", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(at(-10*time.Minute), body), "X-Grafana-Alerting-Timestamp", at(-10 * time.Minute)}, body: body,
			wantErr: "beyond the 5m0s window"},
		{name: "custom window", auth: &HMACAuth{Secret: tsSecret, Header: "X-Grafana-Alerting-Signature", TimestampHeader: "X-Grafana-Alerting-Timestamp", Window: Duration(30 * time.Second)},
			hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(-31*time.Second), body), "X-Grafana-Alerting-Timestamp", secs(-31 * time.Second)}, body: body,
			wantErr: "is 31s away from klaxon's clock, beyond the 30s window"},
		{name: "timestamp unparseable", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig("yesterday", body), "X-Grafana-Alerting-Timestamp", "yesterday"}, body: body,
			wantErr: "timestamp in X-Grafana-Alerting-Timestamp is not Unix seconds, milliseconds or RFC 3339"},
		{name: "timestamp negative", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig("-1", body), "X-Grafana-Alerting-Timestamp", "-1"}, body: body, wantErr: "is not Unix seconds"},
		{name: "timestamp changed after signing", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", tsSig(secs(-time.Second), body), "X-Grafana-Alerting-Timestamp", unix}, body: body,
			wantErr: "signature does not match the body"},
		{name: "signature of the body alone with a timestamp", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", hex.EncodeToString(macOf(tsSecret, body)), "X-Grafana-Alerting-Timestamp", unix}, body: body,
			wantErr: "signature does not match the body"},
		{name: "bad signature is refused before the timestamp is looked at", auth: ts(), hdr: []string{"X-Grafana-Alerting-Signature", "nothex", "X-Grafana-Alerting-Timestamp", "yesterday"}, body: body,
			wantErr: "is not a hex-encoded"},

		// A custom signed template.
		{name: "slack template", auth: slack(), hdr: []string{"X-Slack-Signature", "v0=" + hex.EncodeToString(macOf(slackSecret, "v0:"+unix+":"+body)), "X-Slack-Request-Timestamp", unix}, body: body, wantKey: true},
		{name: "slack template, signed as the default", auth: slack(), hdr: []string{"X-Slack-Signature", "v0=" + hex.EncodeToString(macOf(slackSecret, unix+":"+body)), "X-Slack-Request-Timestamp", unix}, body: body,
			wantErr: "signature does not match the body"},
		{name: "body then timestamp", auth: &HMACAuth{Secret: tsSecret, Header: "X-Sig", TimestampHeader: "X-Ts", Signed: "{body}.{timestamp}"},
			hdr: []string{"X-Sig", hex.EncodeToString(macOf(tsSecret, body+"."+unix)), "X-Ts", unix}, body: body, wantKey: true},
		{name: "body in a template without timestamp", auth: &HMACAuth{Secret: tsSecret, Header: "X-Sig", Signed: "klaxon:{body}"},
			hdr: []string{"X-Sig", hex.EncodeToString(macOf(tsSecret, "klaxon:"+body))}, body: body},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				hdr.Set(tt.hdr[i], tt.hdr[i+1])
			}
			key, err := verifyHMAC(hdr, []byte(tt.body), tt.auth, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tt.wantKey && key == "" {
					t.Error("no replay key for a signature with a timestamp")
				}
				if !tt.wantKey && key != "" {
					t.Errorf("replay key %q without a timestamp header", key)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted (key %q), want an error containing %q", key, tt.wantErr)
			}
			if key != "" {
				t.Errorf("refused with a replay key %q", key)
			}
			if k := incidents.ErrorKind(err); k != incidents.Unauthorized {
				t.Errorf("error kind %v, want Unauthorized", k)
			}
			msg := incidents.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", msg, tt.wantErr)
			}
			// Neither the secret nor the signature klaxon expected.
			stamp := hdr.Get(tt.auth.TimestampHeader)
			signed := strings.NewReplacer("{body}", tt.body, "{timestamp}", strings.TrimSpace(stamp)).Replace(tt.auth.signed())
			want := macOf(tt.auth.Secret.Reveal(), signed)
			for _, leak := range []string{
				tt.auth.Secret.Reveal(),
				hex.EncodeToString(want), strings.ToUpper(hex.EncodeToString(want)),
				base64.StdEncoding.EncodeToString(want), base64.RawURLEncoding.EncodeToString(want),
			} {
				for _, s := range []string{msg, err.Error(), fmt.Sprintf("%+v", err)} {
					if strings.Contains(s, leak) {
						t.Errorf("error %q shows %q", s, leak)
					}
				}
			}
		})
	}
}

func TestVerifyHMACReplayKey(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const secret = "replay-key-secret-0123456789"
	h := &HMACAuth{Secret: secret, Header: "X-Sig", TimestampHeader: "X-Ts"}
	key := func(stamp, body, sig string) string {
		t.Helper()
		hdr := http.Header{}
		hdr.Set("X-Sig", sig)
		hdr.Set("X-Ts", stamp)
		k, err := verifyHMAC(hdr, []byte(body), h, now)
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if k == "" {
			t.Fatal("no replay key")
		}
		return k
	}
	s1 := strconv.FormatInt(now.Unix(), 10)
	s2 := strconv.FormatInt(now.Unix()-1, 10)
	sig := hex.EncodeToString(macOf(secret, s1+":a"))
	k := key(s1, "a", sig)
	// The key is the signature however it was written: a replay with the
	// hex in upper case must not pass as new.
	if k2 := key(s1, "a", strings.ToUpper(sig)); k2 != k {
		t.Errorf("upper-case hex of the same signature: key %q, want %q", k2, k)
	}
	if k2 := key(s1, "b", hex.EncodeToString(macOf(secret, s1+":b"))); k2 == k {
		t.Error("another body has the same replay key")
	}
	if k2 := key(s2, "a", hex.EncodeToString(macOf(secret, s2+":a"))); k2 == k {
		t.Error("another timestamp has the same replay key")
	}
	b := &HMACAuth{Secret: secret, Header: "X-Sig", TimestampHeader: "X-Ts", Encoding: "base64"}
	hdr := http.Header{"X-Sig": {base64.RawURLEncoding.EncodeToString(macOf(secret, s1+":a"))}, "X-Ts": {s1}}
	if k2, err := verifyHMAC(hdr, []byte("a"), b, now); err != nil || k2 != k {
		t.Errorf("base64 of the same signature: key %q, %v; want %q", k2, err, k)
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1772366400", time.Unix(1772366400, 0), true},
		{"1772366400.5", time.Unix(1772366400, 5e8), true},
		{"1772366400123", time.UnixMilli(1772366400123), true},
		{"0", time.Unix(0, 0), true},
		{"99999999999", time.Unix(99999999999, 0), true},     // just below 1e11: still seconds
		{"100000000000", time.UnixMilli(100000000000), true}, // 1e11: milliseconds
		{"999999999999999", time.UnixMilli(999999999999999), true},
		{"2026-03-01T12:00:00Z", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), true},
		{"2026-03-01T13:00:00+01:00", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), true},
		{"2026-03-01T12:00:00.5Z", time.Date(2026, 3, 1, 12, 0, 0, 5e8, time.UTC), true},
		{"1000000000000000", time.Time{}, false}, // 1e15: microseconds are not read
		{"", time.Time{}, false},
		{"-1", time.Time{}, false},
		{"NaN", time.Time{}, false},
		{"Inf", time.Time{}, false},
		{"+Inf", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2026-03-01 12:00:00", time.Time{}, false},
		{"2026-03-01", time.Time{}, false},
	} {
		got, ok := parseTimestamp(tt.in)
		if ok != tt.ok {
			t.Errorf("parseTimestamp(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		// Milliseconds go through a float division: allow a millisecond.
		if d := got.Sub(tt.want).Abs(); ok && d > time.Millisecond {
			t.Errorf("parseTimestamp(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// hashWriter records what writeSigned writes.
type hashWriter struct{ strings.Builder }

func (w *hashWriter) Sum(b []byte) []byte { return append(b, w.String()...) }
func (w *hashWriter) Reset()              { w.Builder.Reset() }
func (w *hashWriter) Size() int           { return 0 }
func (w *hashWriter) BlockSize() int      { return 1 }

func TestWriteSigned(t *testing.T) {
	for _, tt := range []struct{ tmpl, want string }{
		{"{body}", "B{x}"},
		{"{timestamp}:{body}", "T1:B{x}"},
		{"v0:{timestamp}:{body}", "v0:T1:B{x}"},
		{"{body}.{timestamp}.", "B{x}.T1."},
		{"", ""},
		{"plain", "plain"},
		{"{nope}{body}{", "{nope}B{x}{"}, // config refuses these; written as they are
		{"{{body}}", "{B{x}}"},
	} {
		var w hashWriter
		writeSigned(&w, tt.tmpl, []byte("B{x}"), "T1")
		if got := w.String(); got != tt.want {
			t.Errorf("writeSigned(%q) wrote %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

func TestHMACAuthDefaults(t *testing.T) {
	if got := (&HMACAuth{}).signed(); got != "{body}" {
		t.Errorf("signed without timestamp = %q, want {body}", got)
	}
	if got := (&HMACAuth{TimestampHeader: "X-Ts"}).signed(); got != "{timestamp}:{body}" {
		t.Errorf("signed with timestamp = %q, want {timestamp}:{body}", got)
	}
	if got := (&HMACAuth{TimestampHeader: "X-Ts", Signed: "v0:{timestamp}:{body}"}).signed(); got != "v0:{timestamp}:{body}" {
		t.Errorf("signed given = %q", got)
	}
	if got := (&HMACAuth{}).window(); got != 5*time.Minute {
		t.Errorf("default window = %s, want 5m", got)
	}
	if got := (&HMACAuth{Window: Duration(time.Minute)}).window(); got != time.Minute {
		t.Errorf("window = %s, want 1m", got)
	}
}

func TestReplayCache(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var c replayCache // the zero value works
	if c.seen("a", t0) {
		t.Fatal("empty cache has seen a key")
	}
	c.add("a", t0, time.Minute)
	for _, tt := range []struct {
		key  string
		at   time.Time
		want bool
	}{
		{"a", t0, true},
		{"a", t0.Add(59 * time.Second), true},
		{"a", t0.Add(time.Minute - time.Nanosecond), true},
		{"a", t0.Add(time.Minute), false}, // expired
		{"a", t0.Add(time.Hour), false},
		{"b", t0, false},
		{"A", t0, false},
	} {
		if got := c.seen(tt.key, tt.at); got != tt.want {
			t.Errorf("seen(%q, t0+%s) = %v, want %v", tt.key, tt.at.Sub(t0), got, tt.want)
		}
	}
	// Spending a key again moves its expiry.
	c.add("a", t0.Add(time.Hour), time.Minute)
	if !c.seen("a", t0.Add(time.Hour+30*time.Second)) {
		t.Error("key added again is not seen")
	}
}

func TestReplayCachePrune(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var c replayCache
	// 100 keys that live for an hour and 924 that die after a second;
	// add drops expired keys once a minute.
	for i := range 100 {
		c.add(fmt.Sprintf("live-%d", i), t0, time.Hour)
	}
	for i := range 924 {
		c.add(fmt.Sprintf("old-%d", i), t0, time.Second)
	}
	if len(c.m) != 1024 {
		t.Fatalf("%d keys before pruning, want 1024", len(c.m))
	}
	c.add("soon", t0.Add(2*time.Second), time.Hour) // within the minute: no sweep
	if len(c.m) != 1025 {
		t.Fatalf("%d keys, want 1025 (no sweep within a minute)", len(c.m))
	}
	delete(c.m, "soon")
	t1 := t0.Add(replaySweepEvery)
	c.add("new", t1, time.Hour)
	if len(c.m) != 101 {
		t.Errorf("%d keys after pruning, want the 100 live ones and the new one", len(c.m))
	}
	for i := range 100 {
		if k := fmt.Sprintf("live-%d", i); !c.seen(k, t1) {
			t.Fatalf("unexpired %s lost in pruning", k)
		}
	}
	if !c.seen("new", t1) {
		t.Error("the key added while pruning is not seen")
	}
	for i := range 924 {
		if k := fmt.Sprintf("old-%d", i); c.seen(k, t1) {
			t.Fatalf("expired %s seen", k)
		}
	}

	// Many keys, none expired: sweeps must drop none, while time moves on.
	var d replayCache
	const n = 5000
	for i := range n {
		d.add(strconv.Itoa(i), t0.Add(time.Duration(i)*time.Millisecond), time.Hour)
	}
	end := t0.Add(n * time.Millisecond)
	if len(d.m) != n {
		t.Errorf("%d keys kept, want %d", len(d.m), n)
	}
	for i := range n {
		if !d.seen(strconv.Itoa(i), end) {
			t.Fatalf("unexpired key %d lost", i)
		}
	}

	// Keys expiring while many are added: the map stays bounded by what
	// is alive (here 100 at a time), not by all that were ever added.
	var e replayCache
	for i := range 20000 {
		e.add(strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second), 100*time.Second)
	}
	if len(e.m) > 100+int(replaySweepEvery/time.Second) {
		t.Errorf("%d keys kept for 100 alive: expired keys are not pruned", len(e.m))
	}
	last := t0.Add(19999 * time.Second)
	for i := 19900; i < 20000; i++ {
		if !e.seen(strconv.Itoa(i), last) {
			t.Fatalf("unexpired key %d lost", i)
		}
	}
}

func TestReplayCacheConcurrent(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var c replayCache
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprintf("%d-%d", g, i)
				c.add(k, t0, time.Minute)
				if !c.seen(k, t0) {
					t.Errorf("%s not seen right after add", k)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(c.m) != 4000 {
		t.Errorf("%d keys, want 4000", len(c.m))
	}
}

func TestReplayCacheClaim(t *testing.T) {
	var c replayCache
	t0 := time.Unix(1772366310, 0)
	if got := c.claim("k", t0); got != replayNew {
		t.Fatalf("first claim = %v", got)
	}
	if got := c.claim("k", t0); got != replayBusy {
		t.Fatalf("claim while in flight = %v", got)
	}
	c.release("k")
	if got := c.claim("k", t0); got != replayNew {
		t.Fatalf("claim after release = %v", got)
	}
	c.add("k", t0, time.Minute)
	if got := c.claim("k", t0.Add(59*time.Second)); got != replaySpent {
		t.Fatalf("claim of a spent key = %v", got)
	}
	if got := c.claim("k", t0.Add(time.Minute)); got != replayNew {
		t.Fatalf("claim after expiry = %v", got)
	}
	if got := c.claim("other", t0); got != replayNew {
		t.Fatalf("another key = %v", got)
	}
}

// seen reports whether key was spent and has not expired at now.
func (c *replayCache) seen(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[key]
	return ok && now.Before(exp)
}
