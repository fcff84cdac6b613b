package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klaxonbot/klaxon/incidents"
)

// verifyHMAC checks the HMAC-SHA256 signature a signed webhook carries in
// h.Header against the body (and the timestamp, when h has a timestamp
// header, which must then be within h's window of now). On success it
// returns the key under which the signature is spent (empty without a
// timestamp: a sender retrying sends the same signature, and the alert is
// idempotent anyway). Errors are Unauthorized and say what is wrong,
// never what was expected.
func verifyHMAC(hdr http.Header, body []byte, h *HMACAuth, now time.Time) (string, error) {
	got, ts, err := precheckHMAC(hdr, h, now)
	if err != nil {
		return "", err
	}
	return checkMAC(h, got, ts, body)
}

// checkMAC finishes verifyHMAC once the body is read: got and ts are what
// precheckHMAC returned.
func checkMAC(h *HMACAuth, got []byte, ts string, body []byte) (string, error) {
	mac := hmac.New(sha256.New, []byte(h.Secret.Reveal()))
	writeSigned(mac, h.signed(), body, ts)
	if !hmac.Equal(mac.Sum(nil), got) {
		return "", incidents.Errorf(incidents.Unauthorized, "signature does not match the body")
	}
	if ts == "" {
		return "", nil
	}
	return hex.EncodeToString(got), nil
}

// precheckHMAC checks what can be checked before the body is read: the
// signature is there and well-formed, and the timestamp (when h has a
// timestamp header) is within h's window of now. It returns the decoded
// signature and the timestamp's text.
func precheckHMAC(hdr http.Header, h *HMACAuth, now time.Time) ([]byte, string, error) {
	raw := strings.TrimSpace(hdr.Get(h.Header))
	if raw == "" {
		return nil, "", incidents.Errorf(incidents.Unauthorized, "signature header %s is missing", h.Header)
	}
	sig := raw
	if h.Prefix != "" {
		if len(sig) < len(h.Prefix) || !strings.EqualFold(sig[:len(h.Prefix)], h.Prefix) {
			return nil, "", incidents.Errorf(incidents.Unauthorized, "signature in %s does not start with %q", h.Header, h.Prefix)
		}
		sig = sig[len(h.Prefix):]
	}
	got, ok := decodeSignature(sig, h.Encoding)
	if !ok || len(got) != sha256.Size {
		return nil, "", incidents.Errorf(incidents.Unauthorized, "signature in %s is not a %s-encoded HMAC-SHA256", h.Header, encodingName(h.Encoding))
	}
	var ts string
	if h.TimestampHeader != "" {
		ts = strings.TrimSpace(hdr.Get(h.TimestampHeader))
		if ts == "" {
			return nil, "", incidents.Errorf(incidents.Unauthorized, "timestamp header %s is missing", h.TimestampHeader)
		}
		at, ok := parseTimestamp(ts)
		if !ok {
			return nil, "", incidents.Errorf(incidents.Unauthorized, "timestamp in %s is not Unix seconds, milliseconds or RFC 3339", h.TimestampHeader)
		}
		if d := now.Sub(at); d > h.window() || d < -h.window() {
			off := "more than a day"
			if d.Abs() < 24*time.Hour {
				off = d.Abs().Round(time.Second).String()
			}
			return nil, "", incidents.Errorf(incidents.Unauthorized, "timestamp in %s is %s away from klaxon's clock, beyond the %s window", h.TimestampHeader, off, h.window())
		}
	}
	return got, ts, nil
}

// writeSigned writes what the signature covers: tmpl with {body} and
// {timestamp} put in (config checks that it holds nothing else in braces).
func writeSigned(w hash.Hash, tmpl string, body []byte, ts string) {
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			w.Write([]byte(tmpl))
			return
		}
		w.Write([]byte(tmpl[:i]))
		tmpl = tmpl[i:]
		switch {
		case strings.HasPrefix(tmpl, "{body}"):
			w.Write(body)
			tmpl = tmpl[len("{body}"):]
		case strings.HasPrefix(tmpl, "{timestamp}"):
			w.Write([]byte(ts))
			tmpl = tmpl[len("{timestamp}"):]
		default:
			w.Write([]byte{'{'})
			tmpl = tmpl[1:]
		}
	}
}

func encodingName(e string) string {
	if strings.EqualFold(e, "base64") {
		return "base64"
	}
	return "hex"
}

// decodeSignature reads hex (any case) or base64 (standard or URL
// alphabet, padded or not).
func decodeSignature(s, encoding string) ([]byte, bool) {
	if encodingName(encoding) == "hex" {
		b, err := hex.DecodeString(s)
		return b, err == nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// parseTimestamp reads Unix seconds (with a fraction or not), Unix
// milliseconds (13 digits) or RFC 3339.
func parseTimestamp(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= 1e15 {
		return time.Time{}, false
	}
	if f >= 1e11 { // milliseconds: seconds this large are past the year 5000
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// replayCache remembers spent signatures until they expire: the timestamp
// window makes an older replay fail anyway. It serves a store that has no
// incidents.Once (the embedded one, which runs one replica); Redis
// remembers them for every replica.
type replayCache struct {
	mu        sync.Mutex
	m         map[string]time.Time // spent key → expiry
	inflight  map[string]bool      // keys of requests being handled
	nextSweep time.Time            // when add next drops expired keys
}

// replaySweepEvery is how often expired signatures are dropped.
const replaySweepEvery = time.Minute

// claimResult is what claim found.
type claimResult int

const (
	replayNew   claimResult = iota // new: the caller must add or release it
	replaySpent                    // accepted already, within its window
	replayBusy                     // a request with this key is being handled
)

// claim reserves key for a request about to be handled, unless a request
// with it was accepted (spent) or is being handled (busy). Check and
// reservation are one step, so two copies sent at once do not both pass.
func (c *replayCache) claim(key string, now time.Time) claimResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.m[key]; ok && now.Before(exp) {
		return replaySpent
	}
	if c.inflight[key] {
		return replayBusy
	}
	if c.inflight == nil {
		c.inflight = map[string]bool{}
	}
	c.inflight[key] = true
	return replayNew
}

// release gives a claimed key back: its request was not accepted, and
// the sender may send it again.
func (c *replayCache) release(key string) {
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
}

// add spends key from now for ttl, dropping expired keys once a minute.
func (c *replayCache) add(key string, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, key)
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	if !now.Before(c.nextSweep) {
		for k, e := range c.m {
			if !now.Before(e) {
				delete(c.m, k)
			}
		}
		c.nextSweep = now.Add(replaySweepEvery)
	}
	c.m[key] = now.Add(ttl)
}

// memoryOnce is incidents.Once on a replayCache, on the server's clock.
type memoryOnce struct {
	c   *replayCache
	now func() time.Time
}

func (m memoryOnce) ClaimOnce(_ context.Context, key string, _ time.Duration) (incidents.OnceState, error) {
	switch m.c.claim(key, m.now()) {
	case replaySpent:
		return incidents.OnceSpent, nil
	case replayBusy:
		return incidents.OnceBusy, nil
	}
	return incidents.OnceNew, nil
}

func (m memoryOnce) SpendOnce(_ context.Context, key string, ttl time.Duration) error {
	m.c.add(key, m.now(), ttl)
	return nil
}

func (m memoryOnce) ReleaseOnce(_ context.Context, key string) error {
	m.c.release(key)
	return nil
}
