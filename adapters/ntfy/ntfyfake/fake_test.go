package ntfyfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func publish(t *testing.T, s *Server, method, path string, h map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServerChecks(t *testing.T) {
	s := New(Options{Token: "tk_good", Limit: 50})
	defer s.Close()
	auth := "Bearer tk_good"
	if code, body := publish(t, s, "POST", "/pager", map[string]string{"Authorization": auth, "Title": "=?UTF-8?Q?=C3=84pfel?=", "Priority": "urgent", "Tags": "warning, skull"}, "hi"); code != 200 || body["id"] == "" {
		t.Fatalf("good publish: %d %v", code, body)
	}
	m := s.Messages()[0]
	if m.Title != "Äpfel" || m.Priority != 5 || strings.Join(m.Tags, "|") != "warning|skull" || m.Body != "hi" || m.Topic != "pager" {
		t.Errorf("recorded %+v", m)
	}
	for name, c := range map[string]struct {
		method, path string
		h            map[string]string
		body         string
		status       int
		violation    bool
	}{
		"no auth":        {"POST", "/pager", nil, "x", 403, false},
		"wrong token":    {"POST", "/pager", map[string]string{"Authorization": "Bearer tk_bad"}, "x", 401, false},
		"bad topic":      {"POST", "/pa.ger", map[string]string{"Authorization": auth}, "x", 404, false},
		"get":            {"GET", "/pager", map[string]string{"Authorization": auth}, "", 405, true},
		"too large":      {"POST", "/pager", map[string]string{"Authorization": auth}, strings.Repeat("x", 51), 413, true},
		"not utf-8":      {"POST", "/pager", map[string]string{"Authorization": auth}, "\xff", 400, true},
		"priority 6":     {"POST", "/pager", map[string]string{"Authorization": auth, "X-Priority": "6"}, "x", 400, true},
		"priority 0":     {"POST", "/pager", map[string]string{"Authorization": auth, "p": "0"}, "x", 400, true},
		"raw utf-8":      {"POST", "/pager", map[string]string{"Authorization": auth, "Title": "Äpfel"}, "x", 400, true},
		"empty tag":      {"POST", "/pager", map[string]string{"Authorization": auth, "Tags": "a,,b"}, "x", 400, true},
		"bad click":      {"POST", "/pager", map[string]string{"Authorization": auth, "Click": "javascript:alert(1)"}, "x", 400, true},
		"bad actions":    {"POST", "/pager", map[string]string{"Authorization": auth, "Actions": "http, Ack"}, "x", 400, true},
		"broken title":   {"POST", "/pager", map[string]string{"Authorization": auth, "Title": "=?utf-8?b?Cg==?="}, "x", 400, true},
		"query priority": {"POST", "/pager?priority=9", map[string]string{"Authorization": auth}, "x", 400, true},
	} {
		n := len(s.Violations())
		code, body := publish(t, s, c.method, c.path, c.h, c.body)
		if code != c.status || body["code"] == nil {
			t.Errorf("%s: %d %v, want %d", name, code, body, c.status)
		}
		if got := len(s.Violations()) - n; got != map[bool]int{true: 1, false: 0}[c.violation] {
			t.Errorf("%s: %d violations recorded", name, got)
		}
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages recorded", n)
	}

	s.Fail(1, 429, 0)
	if code, body := publish(t, s, "PUT", "/pager", map[string]string{"Authorization": auth}, "x"); code != 429 || body["code"] != float64(42901) {
		t.Errorf("Fail: %d %v", code, body)
	}
	s.SetDown(true)
	req, _ := http.NewRequest("POST", s.TopicURL("pager"), strings.NewReader("x"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("down: answered")
	}
	s.SetDown(false)
	if code, _ := publish(t, s, "PUT", "/pager", map[string]string{"Authorization": auth}, "x"); code != 200 {
		t.Errorf("after Fail and down: %d", code)
	}
}

func TestParseActions(t *testing.T) {
	acts, err := ParseActions(`http, Acknowledge, https://k.example/ack?a=1, method=POST, clear=true; view, "Open, now", 'https://k.example/a;b', clear=no; action=http, label=Hook, url=https://k.example/h, headers.X-Token=abc, body="{\"a\": 1}"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 3 {
		t.Fatalf("%+v", acts)
	}
	if a := acts[0]; a.Action != "http" || a.Label != "Acknowledge" || a.URL != "https://k.example/ack?a=1" || a.Method != "POST" || !a.Clear {
		t.Errorf("0: %+v", a)
	}
	if a := acts[1]; a.Action != "view" || a.Label != "Open, now" || a.URL != "https://k.example/a;b" || a.Clear {
		t.Errorf("1: %+v", a)
	}
	if a := acts[2]; a.URL != "https://k.example/h" || a.Headers["x-token"] != "abc" || a.Body != `{"a": 1}` || a.Method != "" {
		t.Errorf("2: %+v", a)
	}
	if acts, err := ParseActions(`[{"action":"view","label":"Open","url":"https://x.example"}]`); err != nil || acts[0].Label != "Open" {
		t.Errorf("JSON: %+v %v", acts, err)
	}
	for _, bad := range []string{
		"", "http, Ack", "http, , https://k.example/", "mail, Ack, https://k.example/",
		"http, Ack, https://k.example/, clear=maybe", "http, Ack, https://k.example/, colour=red",
		"http, Ack, ftp://k.example/", "http, Ack, https://k.example/, method=GET, body=x",
		"http, Ack, https://k.example/, method=BREW", `http, "Ack, https://k.example/`,
		`http, "Ack" x, https://k.example/`, "view, A, https://a.example; view, B, https://b.example; view, C, https://c.example; view, D, https://d.example",
		"view, Open, /relative", "http, Ack, https://k.example/;;",
	} {
		if acts, err := ParseActions(bad); err == nil {
			t.Errorf("%q parsed: %+v", bad, acts)
		}
	}
}
