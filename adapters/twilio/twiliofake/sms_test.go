package twiliofake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/klaxonbot/klaxon/adapters/twilio"
)

func postMessage(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+s.AccountSID()+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.AccountSID(), s.AuthToken())
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

func TestMessagesValidates(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ok := url.Values{"To": {"+14155550199"}, "From": {"+14155550100"}, "Body": {"page"}}
	if code, body := postMessage(t, s, ok); code != 201 || !strings.HasPrefix(body["sid"].(string), "SM") || body["num_segments"] != "1" {
		t.Fatalf("good message: %d %v", code, body)
	}
	for name, c := range map[string]struct {
		edit func(url.Values)
		code float64
	}{
		"no to":        {func(f url.Values) { f.Del("To") }, 21604},
		"bad to":       {func(f url.Values) { f.Set("To", "555") }, 21211},
		"no from":      {func(f url.Values) { f.Del("From") }, 21603},
		"bad from":     {func(f url.Values) { f.Set("From", "klaxon") }, 21212},
		"no body":      {func(f url.Values) { f.Del("Body") }, 21602},
		"long body":    {func(f url.Values) { f.Set("Body", strings.Repeat("a", twilio.MaxSMSBody+1)) }, 21617},
		"bad callback": {func(f url.Values) { f.Set("StatusCallback", "nope") }, 21609},
	} {
		f := url.Values{}
		for k, v := range ok {
			f[k] = append([]string(nil), v...)
		}
		c.edit(f)
		n := len(s.Violations())
		if code, body := postMessage(t, s, f); code != 400 || body["code"] != c.code {
			t.Errorf("%s: %d %v", name, code, body)
		}
		if len(s.Violations()) != n+1 {
			t.Errorf("%s: not a violation", name)
		}
	}
	// 1600 characters of UCS-2 pass, in 24 segments of 67.
	f := url.Values{"To": {"+14155550199"}, "From": {"+14155550100"}, "Body": {strings.Repeat("ж", twilio.MaxSMSBody)}}
	if code, body := postMessage(t, s, f); code != 201 || body["num_segments"] != "24" {
		t.Errorf("1600 UCS-2: %d %v", code, body)
	}

	s.Stop("+14155550199")
	n := len(s.Violations())
	if code, body := postMessage(t, s, ok); code != 400 || body["code"] != float64(twilio.CodeOptedOut) {
		t.Errorf("stopped: %d %v", code, body)
	}
	if len(s.Violations()) != n {
		t.Error("an opt-out counted as a violation")
	}
	if got := len(s.Messages()); got != 2 {
		t.Errorf("%d messages recorded", got)
	}
}
