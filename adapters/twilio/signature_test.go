package twilio_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
)

// The worked example of Twilio's "Webhooks security" guide.
var (
	docToken  = "12345"
	docURL    = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docParams = url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
	docSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func TestSignaturePublishedVector(t *testing.T) {
	if got := twilio.Signature(docToken, docURL, docParams); got != docSignature {
		t.Errorf("Signature = %q, want %q", got, docSignature)
	}
	if twilio.Signature("54321", docURL, docParams) == docSignature {
		t.Error("another token gives the same signature")
	}
	// Repeated names: values sorted, so their order does not matter.
	a := twilio.Signature(docToken, docURL, url.Values{"E": {"b", "a"}})
	b := twilio.Signature(docToken, docURL, url.Values{"E": {"a", "b"}})
	if a != b {
		t.Error("the order of a repeated parameter's values matters")
	}
}

// docRequest is the published example as a request reaching our server at
// http://10.0.0.5:8080/myapp.php behind a proxy whose public URL is
// https://mycompany.com.
func docRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://10.0.0.5:8080/myapp.php?foo=1&bar=2", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilio.SignatureHeader, docSignature)
	return r
}

func TestVerifyRequest(t *testing.T) {
	body := "To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234&From=%2B12349013030&Caller=%2B12349013030"
	for _, pub := range []string{"https://mycompany.com", "https://mycompany.com/", "https://mycompany.com:443"} {
		form, err := twilio.VerifyRequest(docToken, pub, docRequest(body), []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", pub, err)
		}
		if form.Get("Digits") != "1234" || form.Get("To") != "+18005551212" {
			t.Errorf("form %v", form)
		}
	}

	bad := func(name string, r *http.Request, pub, body string, want error) {
		t.Helper()
		form, err := twilio.VerifyRequest(docToken, pub, r, []byte(body))
		if !errors.Is(err, want) || form != nil {
			t.Errorf("%s: %v, %v; want %v", name, form, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), docSignature) || strings.Contains(err.Error(), docToken)) {
			t.Errorf("%s: error %q shows a secret", name, err)
		}
	}
	tampered := strings.Replace(body, "Digits=1234", "Digits=1", 1)
	bad("tampered param", docRequest(tampered), "https://mycompany.com", tampered, twilio.ErrBadSignature)
	added := body + "&Extra=1"
	bad("added param", docRequest(added), "https://mycompany.com", added, twilio.ErrBadSignature)
	r := docRequest(body)
	r.URL.RawQuery = "foo=1&bar=3"
	bad("tampered query", r, "https://mycompany.com", body, twilio.ErrBadSignature)
	r = docRequest(body)
	r.URL.Path = "/other.php"
	bad("tampered path", r, "https://mycompany.com", body, twilio.ErrBadSignature)
	bad("other host", docRequest(body), "https://evil.example.com", body, twilio.ErrBadSignature)
	bad("other scheme", docRequest(body), "http://mycompany.com", body, twilio.ErrBadSignature)
	r = docRequest(body)
	r.Header.Del(twilio.SignatureHeader)
	bad("missing header", r, "https://mycompany.com", body, twilio.ErrMissingSignature)
	r = docRequest(body)
	r.Header.Set(twilio.SignatureHeader, docSignature[:len(docSignature)-1])
	bad("short signature", r, "https://mycompany.com", body, twilio.ErrBadSignature)
	if _, err := twilio.VerifyRequest("54321", "https://mycompany.com", docRequest(body), []byte(body)); !errors.Is(err, twilio.ErrBadSignature) {
		t.Errorf("other token: %v", err)
	}
	if err := func() error {
		_, err := twilio.VerifyRequest(docToken, "mycompany.com", docRequest(body), []byte(body))
		return err
	}(); err == nil {
		t.Error("public URL without a scheme accepted")
	}
}

func TestVerifyRequestPathPrefix(t *testing.T) {
	token := "tok"
	params := url.Values{"CallSid": {"CA1"}, "Digits": {"1"}}
	sig := twilio.Signature(token, "https://ops.example.com/klaxon/twilio/gather?i=INC-7", params)
	r := httptest.NewRequest(http.MethodPost, "/twilio/gather?i=INC-7", strings.NewReader(params.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set(twilio.SignatureHeader, sig)
	form, err := twilio.VerifyRequest(token, "https://ops.example.com/klaxon/", r, []byte(params.Encode()))
	if err != nil || form.Get("Digits") != "1" {
		t.Fatalf("%v %v", form, err)
	}
}

func TestVerifyRequestJSONBody(t *testing.T) {
	token := "tok"
	body := []byte(`{"CallSid":"CA1"}`)
	sum := sha256.Sum256(body)
	u := "https://ops.example.com/hook?bodySHA256=" + hex.EncodeToString(sum[:])
	sig := twilio.Signature(token, u, nil)
	req := func(b []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hook?bodySHA256="+hex.EncodeToString(sum[:]), strings.NewReader(string(b)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(twilio.SignatureHeader, sig)
		return r
	}
	if _, err := twilio.VerifyRequest(token, "https://ops.example.com", req(body), body); err != nil {
		t.Fatal(err)
	}
	other := []byte(`{"CallSid":"CA2"}`)
	if _, err := twilio.VerifyRequest(token, "https://ops.example.com", req(other), other); !errors.Is(err, twilio.ErrBadSignature) {
		t.Errorf("tampered JSON body: %v", err)
	}
}

// TestCallbacks drives a gather action and status callbacks from the fake
// into a webhook handler that verifies them.
func TestCallbacks(t *testing.T) {
	api := twiliofake.New(twiliofake.Options{})
	defer api.Close()

	type hit struct {
		path string
		form url.Values
		err  error
	}
	var (
		mu   sync.Mutex
		hits []hit
		pub  string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := twilio.VerifyRequest(api.AuthToken(), pub, r, body)
		mu.Lock()
		hits = append(hits, hit{r.URL.Path, form, err})
		mu.Unlock()
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, twilio.SayTwiml("Acknowledged."))
	}))
	defer hook.Close()
	pub = hook.URL

	c := newClient(t, api)
	ctx := context.Background()
	if _, err := c.Call(ctx, twilio.Call{To: to,
		Twiml:          twilio.GatherTwiml("Incident INC-9.", hook.URL+"/twilio/gather?i=INC-9", ""),
		StatusCallback: hook.URL + "/twilio/status?i=INC-9"}); err != nil {
		t.Fatal(err)
	}
	rc := api.Calls()[0]

	post := func(target string, extra url.Values) int {
		t.Helper()
		resp, err := api.Callback(ctx, target, api.Params(rc, extra))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(hook.URL+"/twilio/gather?i=INC-9", url.Values{"Digits": {"1"}}); code != 200 {
		t.Errorf("gather: %d", code)
	}
	for _, st := range []string{twilio.StatusNoAnswer, twilio.StatusBusy, twilio.StatusCompleted} {
		if code := post(rc.StatusCallback, url.Values{"CallStatus": {st}}); code != 200 {
			t.Errorf("status %s: %d", st, code)
		}
	}
	// Signed for one URL, sent to another.
	resp, err := api.Callback(ctx, hook.URL+"/twilio/status?i=INC-9", api.Params(rc, url.Values{"CallStatus": {"completed"}}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPost, hook.URL+"/twilio/status?i=INC-10", strings.NewReader(api.Params(rc, nil).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Signature(api.AuthToken(), hook.URL+"/twilio/status?i=INC-9", api.Params(rc, nil)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("moved callback: %d", resp.StatusCode)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(hits) != 6 {
		t.Fatalf("%d hits", len(hits))
	}
	if h := hits[0]; h.err != nil || h.path != "/twilio/gather" || h.form.Get("Digits") != "1" || h.form.Get("CallSid") != rc.SID {
		t.Errorf("gather hit %+v", h)
	}
	for i, st := range []string{"no-answer", "busy", "completed"} {
		h := hits[1+i]
		if h.err != nil || h.form.Get("CallStatus") != st || h.form.Get("To") != to {
			t.Errorf("status hit %+v", h)
		}
		if twilio.Answered(st) != (st == "completed") || !twilio.Final(st) {
			t.Errorf("Answered/Final(%q)", st)
		}
	}
	if !errors.Is(hits[5].err, twilio.ErrBadSignature) {
		t.Errorf("moved callback: %v", hits[5].err)
	}
}

func TestStatuses(t *testing.T) {
	for st, answered := range map[string]bool{
		twilio.StatusQueued: false, twilio.StatusRinging: false, twilio.StatusInProgress: true,
		twilio.StatusCompleted: true, twilio.StatusBusy: false, twilio.StatusFailed: false,
		twilio.StatusNoAnswer: false, twilio.StatusCanceled: false, "": false,
	} {
		if twilio.Answered(st) != answered {
			t.Errorf("Answered(%q) = %v", st, !answered)
		}
	}
	if twilio.Final(twilio.StatusRinging) || twilio.Final(twilio.StatusInProgress) || !twilio.Final(twilio.StatusCanceled) {
		t.Error("Final")
	}
}
