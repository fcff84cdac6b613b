package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/chatops"
)

// FuzzVerify: whatever headers and body arrive, Verify accepts only the
// signature the secret makes over them, within the window.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1531420618, 0)
	f.Add("1531420618", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", []byte("token=x"))
	f.Add("", "", []byte{})
	f.Add("99999999999999999999", "v0=", []byte("a"))
	f.Add("-1", "v1=zz", []byte("\x00"))
	f.Add("1531420618", "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503", []byte("token=x"))
	f.Add("01531420618", "V0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", []byte("token=x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify("secret", h, body, now)
		if err != nil {
			return
		}
		mac := hmac.New(sha256.New, []byte("secret"))
		mac.Write([]byte("v0:" + ts + ":" + string(body)))
		hexSig, ok := strings.CutPrefix(sig, "v0=")
		if !ok || !strings.EqualFold(hexSig, hex.EncodeToString(mac.Sum(nil))) {
			t.Fatalf("accepted a signature the secret did not make: ts %q sig %q", ts, sig)
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || now.Sub(time.Unix(n, 0)).Abs() > MaxSkew {
			t.Fatalf("accepted timestamp %q outside the window", ts)
		}
		if strconv.FormatInt(n, 10) != ts {
			t.Fatalf("accepted timestamp %q, not the number's one spelling", ts)
		}
		// The replay guard's key is the MAC, whatever the hex's case.
		got, err := VerifySignature("secret", h, body, now)
		if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
			t.Fatalf("VerifySignature = %x, %v; Verify accepted", got, err)
		}
	})
}

// FuzzInteractions: any signed payload is answered 200 or 400, never
// panics, and a handler sees only requests with a button key.
func FuzzInteractions(f *testing.F) {
	f.Add(`{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"container":{"message_ts":"1.2"},"actions":[{"value":"k1.1.ack.x"}]}`)
	f.Add(`{"type":"block_actions","actions":[]}`)
	f.Add(`{"type":"view_submission"}`)
	f.Add(`[1,2`)
	f.Fuzz(func(t *testing.T, payload string) {
		var got []chatops.Request
		in, err := NewInbound(InboundOptions{SigningSecret: "secret", Handler: chatops.HandlerFunc(func(_ context.Context, r chatops.Request) chatops.Reply {
			got = append(got, r)
			return chatops.Reply{}
		}), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		body := url.Values{"payload": {payload}}.Encode()
		now := time.Now()
		req := httptest.NewRequest("POST", "/slack/interactions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(HeaderSignature, signBody("secret", now.Unix(), body))
		w := httptest.NewRecorder()
		in.Interactions().ServeHTTP(w, req)
		in.Wait()
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("status %d for %q", w.Code, payload)
		}
		for _, r := range got {
			if r.Button == "" || r.Platform != "slack" {
				t.Fatalf("handler got %+v", r)
			}
		}
	})
}
