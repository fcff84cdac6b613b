package twiliofake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/twilio"
)

func post(t *testing.T, s *Server, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+s.AccountSID()+"/Calls.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestServerValidates(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ok := url.Values{"To": {"+14155550199"}, "From": {"+14155550100"}, "Twiml": {"<Response/>"}}

	if code, body := post(t, s, s.AccountSID(), "nope", ok); code != 401 || body["code"] != float64(20003) {
		t.Errorf("bad token: %d %v", code, body)
	}
	if code, body := post(t, s, s.AccountSID(), s.AuthToken(), ok); code != 201 || !strings.HasPrefix(body["sid"].(string), "CA") || body["status"] != "queued" {
		t.Errorf("good call: %d %v", code, body)
	}
	if len(s.Violations()) != 0 {
		t.Errorf("violations %v", s.Violations())
	}
	for name, edit := range map[string]func(url.Values){
		"bad to":        func(f url.Values) { f.Set("To", "12345") },
		"no from":       func(f url.Values) { f.Del("From") },
		"long twiml":    func(f url.Values) { f.Set("Twiml", strings.Repeat("x", twilio.MaxTwiml+1)) },
		"url and twiml": func(f url.Values) { f.Set("Url", "https://x.example/") },
		"bad timeout":   func(f url.Values) { f.Set("Timeout", "ten") },
		"bad event":     func(f url.Values) { f.Add("StatusCallbackEvent", "hungup") },
	} {
		f := url.Values{}
		for k, v := range ok {
			f[k] = append([]string(nil), v...)
		}
		edit(f)
		n := len(s.Violations())
		if code, body := post(t, s, s.AccountSID(), s.AuthToken(), f); code != 400 || body["code"] == nil || body["message"] == "" {
			t.Errorf("%s: %d %v", name, code, body)
		}
		if len(s.Violations()) != n+1 {
			t.Errorf("%s: not recorded as a violation", name)
		}
	}
	if n := len(s.Calls()); n != 1 {
		t.Errorf("%d calls recorded", n)
	}

	s.Fail(2, 503, 20503)
	for range 2 {
		if code, _ := post(t, s, s.AccountSID(), s.AuthToken(), ok); code != 503 {
			t.Errorf("Fail: %d", code)
		}
	}
	if code, _ := post(t, s, s.AccountSID(), s.AuthToken(), ok); code != 201 {
		t.Errorf("after Fail: %d", code)
	}
}

func TestCallbackSigns(t *testing.T) {
	s := New(Options{AccountSID: "AC" + strings.Repeat("a", 32), AuthToken: "tok"})
	defer s.Close()
	var got url.Values
	var verr error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got, verr = twilio.VerifyRequest("tok", "", r, body)
	}))
	defer hook.Close()
	resp, err := s.Callback(context.Background(), hook.URL+"/g?x=1", url.Values{"Digits": {"1"}, "CallSid": {"CA1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if verr != nil || got.Get("Digits") != "1" {
		t.Errorf("%v %v", got, verr)
	}
}
