package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/klaxonbot/klaxon/adapters/ntfy/ntfyfake"
	"github.com/klaxonbot/klaxon/adapters/twilio/twiliofake"
)

// smtpSink is a real SMTP server (go-smtp) on loopback that keeps what
// arrives: a relay klaxon reaches with tls: none.
type smtpSink struct {
	mu    sync.Mutex
	mails [][]byte
	port  int
}

func (s *smtpSink) list() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.mails...)
}

type sinkSession struct{ s *smtpSink }

func (x sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x sinkSession) Reset()                               {}
func (x sinkSession) Logout() error                        { return nil }
func (x sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err == nil {
		x.s.mu.Lock()
		x.s.mails = append(x.s.mails, b)
		x.s.mu.Unlock()
	}
	return err
}

func newSMTPSink(t *testing.T) *smtpSink {
	sink := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{sink}, nil }))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return sink
}

// mailParts returns a mail's text parts by content type, decoded.
func mailParts(t *testing.T, raw []byte) (*mail.Message, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	var walk func(ct string, r io.Reader, enc string)
	walk = func(ct string, r io.Reader, enc string) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding"))
			}
		}
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, _ := io.ReadAll(r)
		parts[mt] = string(b)
	}
	walk(m.Header.Get("Content-Type"), m.Body, m.Header.Get("Content-Transfer-Encoding"))
	return m, parts
}

// A page step through the real adapters: an e-mail over SMTP (both parts,
// the thread's Message-ID, an acknowledge link that acts only on POST), a
// push to (fake) ntfy with an Acknowledge action, and an SMS through
// (fake) Twilio.
func TestPagingEndToEnd(t *testing.T) {
	tw := twiliofake.New(twiliofake.Options{})
	defer tw.Close()
	nf := ntfyfake.New(ntfyfake.Options{Token: "tk_e2e_token_0123"})
	defer nf.Close()
	sink := newSMTPSink(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: %q, public_url: "http://%s", shutdown_timeout: 5s, api_open: true}
sources: {alertmanager: {allow_unauthenticated: true}}
store: {data_dir: %q}
console: {secret: "e2e-console-secret-0123456789abcdef"}
people:
  - name: alice
    phone: "+15551230001"
    email: alice@example.com
    push: %q
    rules: [{email: 0m}, {push: 0m}, {sms: 0m}]
policies:
  - name: page
    steps: [{page: alice}]
teams: [{name: ops, policy: page}]
default_team: ops
twilio: {account_sid: %s, auth_token: %s, from: "+15550000000", api_url: %q}
smtp: {host: 127.0.0.1, port: %d, from: "klaxon <klaxon@example.com>", tls: none}
ntfy: {token: tk_e2e_token_0123}
`, addr, addr, filepath.Join(t.TempDir(), "data"), nf.TopicURL("alice-pager"), tw.AccountSID(), tw.AuthToken(), tw.URL(), sink.port))
	base, _, stop := startServe(t, cfg)
	defer stop()
	// ntfy is rate limited and Twilio unavailable at first: both are
	// retried after their Retry-After.
	nf.Fail(1, 429, time.Second)
	tw.Fail(1, 503, 0)
	if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the mail, the push and the SMS", func() bool {
		return len(sink.list()) == 1 && len(nf.Messages()) == 1 && len(tw.Messages()) == 1
	})
	if v := nf.Violations(); len(v) != 0 {
		t.Fatalf("ntfy violations %+v", v)
	}
	if v := tw.Violations(); len(v) != 0 {
		t.Fatalf("twilio violations %+v", v)
	}
	if nf.Requests() != 2 {
		t.Errorf("%d requests to ntfy, want 2 (a 429, then the push)", nf.Requests())
	}
	var paged []string
	waitUntil(t, 10*time.Second, "three pages on the timeline", func() bool {
		var timeline struct{ Timeline []struct{ Text string } }
		getJSON(t, base+"/api/v1/incidents/INC-1", &timeline)
		paged = nil
		for _, ev := range timeline.Timeline {
			if strings.Contains(ev.Text, "alice") && !strings.HasPrefix(ev.Text, "Escalation") {
				paged = append(paged, ev.Text)
			}
		}
		return len(paged) >= 3
	})
	if len(paged) != 3 || strings.Contains(strings.Join(paged, "\n"), "failed") {
		t.Errorf("timeline: %q", paged)
	}
	sms := tw.Messages()[0]
	if sms.To != "+15551230001" || !strings.HasPrefix(sms.Body, "klaxon SEV") || !strings.Contains(sms.Body, "INC-1") || sms.Segments > 3 {
		t.Fatalf("SMS %+v", sms)
	}
	push := nf.Messages()[0]
	var pushAck string
	for _, a := range push.Actions {
		if a.Action == "http" {
			pushAck = a.URL
		}
	}
	if push.Topic != "alice-pager" || !strings.HasPrefix(pushAck, base+"/page/ack/INC-1.alice.push.") || push.Click != base+"/ui/incidents/INC-1" {
		t.Fatalf("push %+v", push)
	}
	m, parts := mailParts(t, sink.list()[0])
	if m.Header.Get("To") == "" || !strings.Contains(m.Header.Get("Message-Id"), "INC-1.") || parts["text/plain"] == "" || parts["text/html"] == "" {
		t.Fatalf("mail %v, parts %v", m.Header, parts)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/page/ack/INC-1\.alice\.email\.[A-Za-z0-9._-]+`).FindString(parts["text/plain"])
	if link == "" {
		t.Fatalf("no acknowledge link in %q", parts["text/plain"])
	}
	// A scanner fetching the link acknowledges nothing.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Acknowledge as alice") {
		t.Fatalf("GET: %d %s", resp.StatusCode, page)
	}
	var inc struct{ State, AckedBy string }
	getJSON(t, base+"/api/v1/incidents/INC-1", &inc)
	if inc.State != "triggered" {
		t.Fatalf("after GET: %+v", inc)
	}
	if code, body := post(t, link, "application/x-www-form-urlencoded", nil, nil); code != 200 || !strings.Contains(body, "acknowledged by alice (email)") {
		t.Fatalf("POST: %d %s", code, body)
	}
	getJSON(t, base+"/api/v1/incidents/INC-1", &inc)
	if inc.State != "acknowledged" || inc.AckedBy != "alice (email)" {
		t.Fatalf("after POST: %+v", inc)
	}
	if code, _ := post(t, link, "application/x-www-form-urlencoded", nil, nil); code != 410 {
		t.Fatalf("reused link: %d", code)
	}
}

// check-config names each paging mistake by its path and line, and never
// prints a secret.
func TestCheckConfigPaging(t *testing.T) {
	cfg := writeFile(t, "klaxon.yaml", `people:
  - name: alice
    sms: "555-1234"
    push: https://ntfy.example.com/a/b
    push_token: tk_secret_value_0123
    rules: [{email: 0m}, {sms: 2m, call: 5m}]
smtp: {host: mail.example.com, from: klaxon@example.com, tls: none, username: k, password: smtp-secret-0123}
`)
	var out bytes.Buffer
	err := run(context.Background(), []string{"check-config", "-c", cfg}, &out, &bytes.Buffer{})
	if err == nil {
		t.Fatal("check-config passed")
	}
	for _, want := range []string{
		`people[0].sms (line 3): want an E.164 number such as +15551230001, got "555-1234"`,
		`people[0].push (line 4): want one topic after the server`,
		`people[0].rules[0].email (line 6): alice has no email`,
		`people[0].rules[1] (line 6): give exactly one of dm, push, email, sms, call`,
		`smtp.tls (line 7): none sends mail and password in plain text: only to a relay on loopback`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out.String())
		}
	}
	for _, secret := range []string{"tk_secret_value_0123", "smtp-secret-0123"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("check-config printed %q", secret)
		}
	}
}

// A reply to the page's text acts: Twilio (fake) posts the signed
// Messaging webhook for alice's "1", and klaxon answers with TwiML and
// acknowledges as "alice (sms)"; a text from a number of nobody is not
// answered.
func TestSMSReplyEndToEnd(t *testing.T) {
	tw := twiliofake.New(twiliofake.Options{})
	defer tw.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeFile(t, "klaxon.yaml", fmt.Sprintf(`
server: {listen: %q, public_url: "http://%s", shutdown_timeout: 5s, api_open: true}
sources: {alertmanager: {allow_unauthenticated: true}}
store: {data_dir: %q}
people:
  - {name: alice, sms: "+15551230001", rules: [{sms: 0m}]}
policies:
  - name: page
    steps: [{page: alice}]
teams: [{name: ops, policy: page}]
default_team: ops
twilio: {account_sid: %s, auth_token: %s, from: "+15550000000", api_url: %q}
`, addr, addr, filepath.Join(t.TempDir(), "data"), tw.AccountSID(), tw.AuthToken(), tw.URL()))
	base, _, stop := startServe(t, cfg)
	defer stop()
	if err := run(context.Background(), []string{"fire", "--url", base}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the SMS, recorded", func() bool {
		var inc struct{ Pages []struct{ Kind string } }
		getJSON(t, base+"/api/v1/incidents/INC-1", &inc)
		return len(tw.Messages()) == 1 && len(inc.Pages) == 1
	})
	reply := func(from, body string) string {
		t.Helper()
		resp, _, err := tw.InboundSMS(context.Background(), base+"/twilio/sms", "", from, "+15550000000", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
			t.Fatalf("%s %q: %d %s", from, body, resp.StatusCode, b)
		}
		return string(b)
	}
	if sms := tw.Messages()[0]; !strings.Contains(sms.Body, "\nReply 1 to ack, 2 to escalate. Ack: "+base+"/page/ack/INC-1.alice.sms.") || sms.Segments > 3 {
		t.Fatalf("SMS %+v", sms)
	} else {
		t.Logf("the page's text, %d segment(s) %s: %q", sms.Segments, sms.Encoding, sms.Body)
	}
	const head = `<?xml version="1.0" encoding="UTF-8"?>`
	if got := reply("+15559999999", "1"); got != head+`<Response/>` {
		t.Fatalf("unknown number: %s", got)
	}
	if got := reply("+15551230001", "1"); got != head+`<Response><Message>INC-1 acknowledged by alice</Message></Response>` {
		t.Fatalf("reply: %s", got)
	}
	var inc struct{ State, AckedBy string }
	getJSON(t, base+"/api/v1/incidents/INC-1", &inc)
	if inc.State != "acknowledged" || inc.AckedBy != "alice (sms)" {
		t.Fatalf("after the reply: %+v", inc)
	}
	if v := tw.Violations(); len(v) != 0 {
		t.Fatalf("twilio violations %+v", v)
	}
}
