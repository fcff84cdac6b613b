package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonbot/klaxon/adapters/twilio"
	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
)

const (
	from = "+14155550100"
	to   = "+14155550199"
)

func newClient(t *testing.T, s *twiliofake.Server) *twilio.Client {
	t.Helper()
	c, err := twilio.New(twilio.Options{AccountSID: s.AccountSID(), AuthToken: s.AuthToken(), From: from, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, code string, temp bool) *twilio.Error {
	t.Helper()
	var e *twilio.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) is no *twilio.Error", err, err)
	}
	if e.Code != code || e.Temp != temp || e.ErrorCode() != code || e.Retryable() != temp {
		t.Errorf("%v: code %q temp %v, want %q %v", err, e.Code, e.Temp, code, temp)
	}
	if strings.Contains(err.Error(), twiliofake.AuthToken) || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error %q shows the token", err)
	}
	return e
}

func noViolations(t *testing.T, s *twiliofake.Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestNewValidates(t *testing.T) {
	ok := twilio.Options{AccountSID: twiliofake.AccountSID, AuthToken: "secret-token", From: from}
	if _, err := twilio.New(ok); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for name, edit := range map[string]func(*twilio.Options){
		"short sid":     func(o *twilio.Options) { o.AccountSID = "AC123" },
		"sid prefix":    func(o *twilio.Options) { o.AccountSID = "XX0123456789abcdef0123456789abcdef" },
		"sid not hex":   func(o *twilio.Options) { o.AccountSID = "AC0123456789abcdef0123456789abcdeg" },
		"no token":      func(o *twilio.Options) { o.AuthToken = "" },
		"token spaces":  func(o *twilio.Options) { o.AuthToken = "secret token" },
		"from not e164": func(o *twilio.Options) { o.From = "4155550100" },
		"from letters":  func(o *twilio.Options) { o.From = "+1415CALLME" },
		"api scheme":    func(o *twilio.Options) { o.APIURL = "ftp://api.twilio.com" },
		"api no host":   func(o *twilio.Options) { o.APIURL = "https://" },
		"api garbage":   func(o *twilio.Options) { o.APIURL = "::" },
	} {
		o := ok
		edit(&o)
		_, err := twilio.New(o)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q shows the token", name, err)
		}
	}
}

func TestCallTwiml(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	twiml := twilio.GatherTwiml("Incident INC-1: disk full. Press 1 to acknowledge.", "https://klaxon.example.com/twilio/gather?i=INC-1&k=abc", "alice")
	sid, err := c.Call(context.Background(), twilio.Call{
		To: to, Twiml: twiml,
		StatusCallback:   "https://klaxon.example.com/twilio/status?i=INC-1",
		MachineDetection: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	calls := s.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls recorded", len(calls))
	}
	rc := calls[0]
	if rc.SID != sid || !strings.HasPrefix(sid, "CA") {
		t.Errorf("sid %q, recorded %q", sid, rc.SID)
	}
	if rc.To != to || rc.From != from || rc.Twiml != twiml || rc.URL != "" || rc.Timeout != twilio.DefaultTimeout ||
		rc.StatusCallback != "https://klaxon.example.com/twilio/status?i=INC-1" || rc.At.IsZero() {
		t.Errorf("recorded %+v", rc)
	}
	f := rc.Form
	if got := f["StatusCallbackEvent"]; !slices.Equal(got, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("StatusCallbackEvent %q", got)
	}
	if f.Get("StatusCallbackMethod") != "POST" || f.Get("Timeout") != "30" || f.Get("MachineDetection") != "Enable" {
		t.Errorf("form %v", f)
	}
}

func TestCallURL(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	if _, err := c.Call(context.Background(), twilio.Call{To: to, URL: "https://klaxon.example.com/twilio/voice?i=INC-2", Timeout: 45}); err != nil {
		t.Fatal(err)
	}
	noViolations(t, s)
	rc := s.Calls()[0]
	if rc.URL != "https://klaxon.example.com/twilio/voice?i=INC-2" || rc.Twiml != "" || rc.Timeout != 45 {
		t.Errorf("recorded %+v", rc)
	}
	for _, k := range []string{"StatusCallback", "StatusCallbackEvent", "StatusCallbackMethod", "MachineDetection", "Twiml"} {
		if _, ok := rc.Form[k]; ok {
			t.Errorf("form has %s: %v", k, rc.Form)
		}
	}
	if rc.Form.Get("Method") != "POST" {
		t.Errorf("Method %q", rc.Form.Get("Method"))
	}
}

func TestCallAuth(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c, err := twilio.New(twilio.Options{AccountSID: s.AccountSID(), AuthToken: "wrong-token", From: from, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(context.Background(), twilio.Call{To: to, Twiml: twilio.SayTwiml("hi")})
	e := wantCode(t, err, "twilio_20003", false)
	if e.Status != http.StatusUnauthorized || e.TwilioCode != 20003 || e.MoreInfo == "" {
		t.Errorf("%+v", e)
	}
	if len(s.Calls()) != 0 {
		t.Error("call recorded")
	}

	// Another account's SID with this token.
	c, _ = twilio.New(twilio.Options{AccountSID: "AC" + strings.Repeat("f", 32), AuthToken: s.AuthToken(), From: from, APIURL: s.URL()})
	_, err = c.Call(context.Background(), twilio.Call{To: to, Twiml: twilio.SayTwiml("hi")})
	wantCode(t, err, "twilio_20003", false)
	noViolations(t, s)
}

func TestCallErrorsMapped(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	call := twilio.Call{To: to, Twiml: twilio.SayTwiml("hi")}
	ctx := context.Background()

	s.Fail(1, http.StatusTooManyRequests, 20429)
	_, err := c.Call(ctx, call)
	e := wantCode(t, err, "twilio_20429", true)
	if e.RetryAfter() != time.Second || e.Status != 429 {
		t.Errorf("%+v", e)
	}

	s.Fail(1, http.StatusServiceUnavailable, 0)
	_, err = c.Call(ctx, call)
	e = wantCode(t, err, "http_503", true)
	if e.RetryAfter() != time.Second {
		t.Errorf("RetryAfter %v", e.RetryAfter())
	}

	s.Fail(1, http.StatusInternalServerError, 20500)
	_, err = c.Call(ctx, call)
	wantCode(t, err, "twilio_20500", true)

	s.Fail(1, http.StatusBadRequest, 21215)
	_, err = c.Call(ctx, call)
	e = wantCode(t, err, "twilio_21215", false)
	if e.RetryAfter() != 0 || e.TwilioCode != 21215 {
		t.Errorf("%+v", e)
	}
	if !strings.HasPrefix(err.Error(), "twilio Call: twilio_21215: ") {
		t.Errorf("error reads %q", err)
	}

	// Failures used up: the next call goes through.
	if _, err := c.Call(ctx, call); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Calls()); n != 1 {
		t.Errorf("%d calls recorded", n)
	}
	noViolations(t, s)

	// A proxy's HTML error page, and a 2xx without a sid.
	for _, tc := range []struct {
		status int
		body   string
		code   string
		temp   bool
	}{
		{http.StatusBadGateway, "<html>bad gateway</html>", "http_502", true},
		{http.StatusForbidden, "nope", "http_403", false},
		{http.StatusCreated, "{}", "bad_response", false},
		{http.StatusCreated, "not json", "bad_response", false},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		c, _ := twilio.New(twilio.Options{AccountSID: twiliofake.AccountSID, AuthToken: twiliofake.AuthToken, From: from, APIURL: hs.URL})
		_, err := c.Call(ctx, call)
		wantCode(t, err, tc.code, tc.temp)
		hs.Close()
	}
}

func TestCallRefusedBeforeSending(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	defer s.Close()
	c := newClient(t, s)
	long := "<Response><Say>" + strings.Repeat("a", twilio.MaxTwiml) + "</Say></Response>"
	for _, tc := range []struct {
		call twilio.Call
		code string
	}{
		{twilio.Call{To: to, Twiml: long}, "twiml_too_long"},
		{twilio.Call{To: "0044123", Twiml: "<Response/>"}, "bad_to"},
		{twilio.Call{To: "", Twiml: "<Response/>"}, "bad_to"},
		{twilio.Call{To: to}, "bad_call"},
		{twilio.Call{To: to, Twiml: "<Response/>", URL: "https://x.example/"}, "bad_call"},
		{twilio.Call{To: to, URL: "/relative"}, "bad_call"},
		{twilio.Call{To: to, Twiml: "<Response/>", StatusCallback: "mailto:x@example.com"}, "bad_call"},
		{twilio.Call{To: to, Twiml: "<Response/>", Timeout: twilio.MaxTimeout + 1}, "bad_call"},
		{twilio.Call{To: to, Twiml: "<Response/>", Timeout: -1}, "bad_call"},
	} {
		_, err := c.Call(context.Background(), tc.call)
		wantCode(t, err, tc.code, false)
	}
	// Exactly MaxTwiml characters (not bytes) is fine.
	exact := strings.Repeat("é", twilio.MaxTwiml)
	if _, err := c.Call(context.Background(), twilio.Call{To: to, Twiml: exact}); err != nil {
		t.Errorf("%d characters: %v", twilio.MaxTwiml, err)
	}
	if n := s.Requests(); n != 1 {
		t.Errorf("%d requests reached the server, want 1", n)
	}
	noViolations(t, s)
}

func TestCallContext(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{Delay: 5 * time.Second})
	defer s.Close()
	c := newClient(t, s)
	call := twilio.Call{To: to, Twiml: twilio.SayTwiml("hi")}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Call(ctx, call)
	wantCode(t, err, "canceled", true)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v is not context.Canceled", err)
	}
	if n := s.Requests(); n != 0 {
		t.Errorf("%d requests with a canceled context", n)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Call(ctx, call)
	wantCode(t, err, "timeout", true)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.Call(ctx, call)
	wantCode(t, err, "canceled", true)
}

func TestCallNetworkError(t *testing.T) {
	s := twiliofake.New(twiliofake.Options{})
	api := s.URL()
	s.Close()
	c, err := twilio.New(twilio.Options{AccountSID: twiliofake.AccountSID, AuthToken: twiliofake.AuthToken, From: from, APIURL: api})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(context.Background(), twilio.Call{To: to, Twiml: twilio.SayTwiml("hi")})
	wantCode(t, err, "network", true)
}
