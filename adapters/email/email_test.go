package email

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/templates"
	"github.com/klaxonbot/klaxon/templates/cardtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	password = "s3cret-smtp-pass"
	instance = "https://klaxon.example.com"
	ackURL   = "https://klaxon.example.com/ack/INC-42/Zm9vYmFy"
	incURL   = "https://klaxon.example.com/ui/incidents/INC-42"
)

var clock = func() time.Time { return cardtest.Now }

func cards(t testing.TB) map[string]*templates.Card {
	t.Helper()
	out := map[string]*templates.Card{}
	for name, inc := range cardtest.Lifecycle() {
		c, err := templates.MustBuiltin().Card(inc, cardtest.Now)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

func page(c *templates.Card) Page {
	return Page{To: "Alice <alice@example.com>", Name: "alice", Card: c, Team: "payments",
		IncidentURL: incURL, AckURL: ackURL, Reason: "You are on call for payments."}
}

// sender is a Sender for ts with o's other fields.
func sender(t testing.TB, ts *testServer, o Options) *Sender {
	t.Helper()
	o.Host, o.Port = ts.host, ts.port
	if o.From == "" {
		o.From = "klaxon <klaxon@example.com>"
	}
	if o.RootCAs == nil {
		o.RootCAs = ts.roots
	}
	o.Instance, o.Now, o.Timeout = instance, clock, 5*time.Second
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parsed is a received mail, decoded.
type parsed struct {
	Header     mail.Header
	Subject    string
	Text, HTML string
	Parts      []string // the parts' media types
}

func parse(t testing.TB, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("unreadable message: %v\n%s", err, data)
	}
	var p parsed
	p.Header = m.Header
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("subject %q: %v", m.Header.Get("Subject"), err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = part
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(part)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) // SMTP's line ends
		pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if pp["charset"] != "UTF-8" && pp["charset"] != "utf-8" {
			t.Errorf("part %s charset %q", pt, pp["charset"])
		}
		p.Parts = append(p.Parts, pt)
		switch pt {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		}
	}
	return p
}

// wantErr checks that err is an *incidents.Error of kind around an *Error
// with code and retryability, showing no password.
func wantErr(t *testing.T, err error, kind incidents.Kind, code string, temp bool) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v (%T) holds no *email.Error", err, err)
	}
	if got := incidents.ErrorKind(err); got != kind {
		t.Errorf("%v: kind %v, want %v", err, got, kind)
	}
	if e.Code != code || e.Temp != temp || e.ErrorCode() != code || e.Retryable() != temp {
		t.Errorf("%v: code %q temp %v, want %q %v", err, e.Code, e.Temp, code, temp)
	}
	if strings.Contains(err.Error(), password) || strings.Contains(incidents.ErrorMessage(err), password) {
		t.Errorf("error %q shows the password", err)
	}
	if msg := incidents.ErrorMessage(err); !strings.Contains(msg, "mail") {
		t.Errorf("user message %q", msg)
	}
	return e
}

func TestSendSTARTTLS(t *testing.T) {
	ts := newServer(t, serverOptions{tls: "starttls", user: "klaxon", password: password})
	s := sender(t, ts, Options{Username: "klaxon", Password: password})
	p := page(cards(t)["triggered"])
	id, err := s.Send(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	mails := ts.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	got := mails[0]
	if !got.TLS || got.User != "klaxon" || got.From != "klaxon@example.com" || strings.Join(got.To, ",") != "alice@example.com" {
		t.Errorf("received tls %v user %q from %q to %q", got.TLS, got.User, got.From, got.To)
	}
	m := parse(t, got.Data)
	want, err := s.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Parts, ",") != "text/plain,text/html" {
		t.Errorf("parts %v", m.Parts)
	}
	if m.Text != want.Text || m.HTML != want.HTML {
		t.Errorf("bodies differ from Render:\ntext:\n%s\nhtml:\n%s", m.Text, m.HTML)
	}
	h := m.Header
	thread := "<" + ThreadID("INC-42", instance, "example.com") + ">"
	for name, want := range map[string]string{
		"Message-Id":               "<" + id + ">",
		"From":                     `"klaxon" <klaxon@example.com>`,
		"To":                       `"Alice" <alice@example.com>`,
		"Auto-Submitted":           "auto-generated",
		"X-Auto-Response-Suppress": "All",
		"X-Klaxon-Incident":        "INC-42",
		"X-Klaxon-Severity":        "SEV1",
		"X-Klaxon-State":           "triggered",
		"Date":                     cardtest.Now.Format(time.RFC1123Z),
		"Precedence":               "",
		"In-Reply-To":              "",
		"User-Agent":               "klaxon",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if h.Get("Message-Id") != thread {
		t.Errorf("first mail's Message-ID %q, want the thread's %q", h.Get("Message-Id"), thread)
	}
	if m.Subject != "[klaxon] SEV1 INC-42 payments: Payments p99 latency above 2s" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, s := range []string{"Acknowledge INC-42 (opens a confirmation page):\n" + ackURL, "Open the incident:\n" + incURL} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q", s)
		}
	}
	if !strings.Contains(m.HTML, `<a href="`+ackURL+`"`) || !strings.Contains(m.HTML, "Acknowledge INC-42</a>") ||
		!strings.Contains(m.HTML, "opens a confirmation page") {
		t.Error("HTML lacks the acknowledge button")
	}
	// No remote images, no script.
	for _, bad := range []string{"<img", "<script", "url(", "@import"} {
		if strings.Contains(strings.ToLower(m.HTML), bad) {
			t.Errorf("HTML holds %q", bad)
		}
	}
}

func TestThreading(t *testing.T) {
	ts := newServer(t, serverOptions{tls: "starttls"})
	s := sender(t, ts, Options{})
	cs := cards(t)
	ctx := context.Background()
	first, err := s.Send(ctx, page(cs["triggered"]))
	if err != nil {
		t.Fatal(err)
	}
	subject := Subject(cs["triggered"], "payments")
	up := page(cs["acknowledged"])
	up.Update, up.Key, up.Subject = true, "outbox-17", subject
	second, err := s.Send(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	up.Key = "outbox-18"
	third, err := s.Send(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	mails := ts.Mails()
	if len(mails) != 3 {
		t.Fatalf("%d mails", len(mails))
	}
	m1, m2, m3 := parse(t, mails[0].Data), parse(t, mails[1].Data), parse(t, mails[2].Data)
	if first != s.ThreadID("INC-42") || m1.Header.Get("Message-Id") != "<"+first+">" {
		t.Errorf("first %q, header %q", first, m1.Header.Get("Message-Id"))
	}
	for i, m := range []parsed{m2, m3} {
		if got := m.Header.Get("In-Reply-To"); got != "<"+first+">" {
			t.Errorf("update %d: In-Reply-To %q, want %q", i, got, "<"+first+">")
		}
		if got := m.Header.Get("References"); got != "<"+first+">" {
			t.Errorf("update %d: References %q", i, got)
		}
		if m.Subject != m1.Subject {
			t.Errorf("update %d: subject %q, first %q", i, m.Subject, m1.Subject)
		}
		if m.Header.Get("X-Klaxon-State") != "acknowledged" {
			t.Errorf("update %d: state %q", i, m.Header.Get("X-Klaxon-State"))
		}
	}
	if second == first || third == first || second == third {
		t.Errorf("Message-IDs not unique: %q %q %q", first, second, third)
	}
	if !strings.HasPrefix(second, "INC-42.") || !strings.HasSuffix(second, "@example.com") {
		t.Errorf("update Message-ID %q", second)
	}
	// The same key is the same Message-ID (a retried send); no key is a
	// new one each time.
	up.Key = "outbox-17"
	if m, _ := s.Render(up); m.MessageID != second {
		t.Errorf("same key: %q, want %q", m.MessageID, second)
	}
	up.Key = ""
	a, _ := s.Render(up)
	b, _ := s.Render(up)
	if a.MessageID == b.MessageID || a.MessageID == second {
		t.Errorf("no key: %q %q", a.MessageID, b.MessageID)
	}
	// Another klaxon's INC-42 is another thread.
	if ThreadID("INC-42", "https://other.example.com", "example.com") == first {
		t.Error("thread IDs of two instances collide")
	}
}

func TestImplicitTLS(t *testing.T) {
	ts := newServer(t, serverOptions{tls: "implicit", user: "klaxon", password: password, mechs: []string{"LOGIN"}})
	s := sender(t, ts, Options{TLS: ImplicitTLS, Username: "klaxon", Password: password})
	if _, err := s.Send(context.Background(), page(cards(t)["resolved"])); err != nil {
		t.Fatal(err)
	}
	if m := ts.Mails(); len(m) != 1 || !m[0].TLS || m[0].User != "klaxon" {
		t.Fatalf("mails %+v", m)
	}

	// STARTTLS to an implicit-TLS port: the greeting never comes in
	// plain text; a timeout, retryable (the port may be right later).
	st := sender(t, ts, Options{TLS: STARTTLS, Timeout: 300 * time.Millisecond})
	st.timeout = 300 * time.Millisecond
	_, err := st.Send(context.Background(), page(cards(t)["resolved"]))
	if err == nil {
		t.Fatal("STARTTLS to an implicit-TLS port sent")
	}
}

func TestTLSModesRefuse(t *testing.T) {
	ctx := context.Background()
	p := page(cards(t)["triggered"])

	// STARTTLS required, the server does not offer it.
	plain := newServer(t, serverOptions{})
	s := sender(t, plain, Options{TLS: STARTTLS})
	_, err := s.Send(ctx, p)
	wantErr(t, err, incidents.Invalid, "no_starttls", false)

	// Implicit TLS to a plain-text server.
	s = sender(t, plain, Options{TLS: ImplicitTLS})
	_, err = s.Send(ctx, p)
	wantErr(t, err, incidents.Invalid, "not_tls", false)
	if n := len(plain.Mails()); n != 0 {
		t.Errorf("%d mails sent in plain text", n)
	}

	// A certificate that does not verify.
	tlsSrv := newServer(t, serverOptions{tls: "starttls"})
	s = sender(t, tlsSrv, Options{RootCAs: x509Pool(t)})
	_, err = s.Send(ctx, p)
	wantErr(t, err, incidents.Invalid, "tls_certificate", false)
	if n := len(tlsSrv.Mails()); n != 0 {
		t.Errorf("%d mails sent to an unverified server", n)
	}
}

func TestAuth(t *testing.T) {
	ctx := context.Background()
	p := page(cards(t)["triggered"])
	ts := newServer(t, serverOptions{tls: "starttls", user: "klaxon", password: password})
	s := sender(t, ts, Options{Username: "klaxon", Password: "wrong-" + password})
	_, err := s.Send(ctx, p)
	if e := wantErr(t, err, incidents.Unauthorized, "auth_failed", false); e.Reply != 535 {
		t.Errorf("reply %d", e.Reply)
	}
	if strings.Contains(err.Error(), "wrong-") {
		t.Errorf("%q shows the password", err)
	}
	// No credentials where the server wants them: the MAIL FROM is
	// refused with 530, a permanent auth failure.
	s = sender(t, ts, Options{})
	_, err = s.Send(ctx, p)
	wantErr(t, err, incidents.Unauthorized, "auth_failed", false)

	// A username for a server without AUTH.
	noAuth := newServer(t, serverOptions{tls: "starttls"})
	s = sender(t, noAuth, Options{Username: "klaxon", Password: password})
	_, err = s.Send(ctx, p)
	wantErr(t, err, incidents.Invalid, "no_auth", false)
	if len(ts.Mails())+len(noAuth.Mails()) != 0 {
		t.Error("a mail was sent")
	}
}

func TestReplies(t *testing.T) {
	ctx := context.Background()
	p := page(cards(t)["triggered"])
	for _, c := range []struct {
		o    serverOptions
		kind incidents.Kind
		code string
		temp bool
	}{
		{serverOptions{failRcpt: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try later"}},
			incidents.Unavailable, "smtp_451", true},
		{serverOptions{failData: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "mailbox full"}},
			incidents.Unavailable, "smtp_452", true},
		{serverOptions{failRcpt: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}},
			incidents.Invalid, "bad_recipient", false},
		{serverOptions{failData: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected as spam"}},
			incidents.Invalid, "smtp_554", false},
	} {
		c.o.tls = "starttls"
		ts := newServer(t, c.o)
		_, err := sender(t, ts, Options{}).Send(ctx, p)
		e := wantErr(t, err, c.kind, c.code, c.temp)
		if e.Reply == 0 {
			t.Errorf("%s: reply %d", c.code, e.Reply)
		}
		if e.RetryAfter() != 0 {
			t.Errorf("RetryAfter %v", e.RetryAfter())
		}
	}
}

func TestNoTLSOnlyLoopback(t *testing.T) {
	for _, host := range []string{"smtp.example.com", "10.0.0.5", "192.168.1.1", "localhost.example.com", "::ffff:10.0.0.1"} {
		_, err := New(Options{Host: host, From: "k@example.com", TLS: NoTLS, Username: "u", Password: password})
		if err == nil || !strings.Contains(err.Error(), "plain text") {
			t.Errorf("none to %s: %v", host, err)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%q shows the password", err)
		}
	}
	for _, host := range []string{"localhost", "LOCALHOST", "127.0.0.1", "127.0.0.53", "::1"} {
		if _, err := New(Options{Host: host, From: "k@example.com", TLS: NoTLS}); err != nil {
			t.Errorf("none to %s: %v", host, err)
		}
	}
	// A loopback relay with AUTH in plain text: allowed there.
	ts := newServer(t, serverOptions{user: "klaxon", password: password})
	s := sender(t, ts, Options{TLS: NoTLS, Username: "klaxon", Password: password})
	if _, err := s.Send(context.Background(), page(cards(t)["triggered"])); err != nil {
		t.Fatal(err)
	}
	if m := ts.Mails(); len(m) != 1 || m[0].TLS || m[0].User != "klaxon" {
		t.Errorf("mails %+v", m)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Options{Host: "smtp.example.com", From: "klaxon@example.com"}
	s, err := New(ok)
	if err != nil || s.port != 587 || s.mode != STARTTLS || s.timeout != DefaultTimeout {
		t.Fatalf("%+v %v", s, err)
	}
	if s, _ := New(Options{Host: "smtp.example.com", From: "k@example.com", TLS: ImplicitTLS}); s.port != 465 {
		t.Errorf("implicit port %d", s.port)
	}
	if s, _ := New(Options{Host: "::1", From: "k@example.com", TLS: NoTLS}); s.port != 25 {
		t.Errorf("none port %d", s.port)
	}
	for name, edit := range map[string]func(*Options){
		"no host":        func(o *Options) { o.Host = "" },
		"host with port": func(o *Options) { o.Host = "smtp.example.com:587" },
		"unix socket":    func(o *Options) { o.Host = "unix:///run/smtp" },
		"host spaces":    func(o *Options) { o.Host = "smtp example" },
		"bad mode":       func(o *Options) { o.TLS = "ssl" },
		"bad port":       func(o *Options) { o.Port = 70000 },
		"no from":        func(o *Options) { o.From = "" },
		"bad from":       func(o *Options) { o.From = "klaxon" },
		"from newline":   func(o *Options) { o.From = "k@example.com\r\nBcc: x@example.com" },
		"idn from":       func(o *Options) { o.From = "k@bücher.example" },
		"password alone": func(o *Options) { o.Password = password },
		"helo spaces":    func(o *Options) { o.HELO = "a b" },
	} {
		o := ok
		edit(&o)
		_, err := New(o)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), password) {
			t.Errorf("%s: %q shows the password", name, err)
		}
	}
}

func TestBadPage(t *testing.T) {
	s, _ := New(Options{Host: "smtp.example.com", From: "klaxon@example.com"})
	c := cards(t)["triggered"]
	for name, p := range map[string]Page{
		"no card":       {To: "a@example.com"},
		"no to":         {Card: c},
		"two to":        {Card: c, To: "a@example.com, b@example.com"},
		"to injection":  {Card: c, To: "a@example.com\r\nBcc: x@example.com"},
		"js ack":        {Card: c, To: "a@example.com", AckURL: "javascript:alert(1)"},
		"creds in link": {Card: c, To: "a@example.com", IncidentURL: "https://u:p@k.example.com/"},
	} {
		_, err := s.Send(context.Background(), p)
		wantErr(t, err, incidents.Invalid, "bad_page", false)
		if _, err := s.Render(p); err == nil {
			t.Errorf("%s: Render accepted", name)
		}
	}
}

func TestNetworkErrors(t *testing.T) {
	ts := newServer(t, serverOptions{tls: "starttls"})
	s := sender(t, ts, Options{})
	p := page(cards(t)["triggered"])
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, p)
	wantErr(t, err, incidents.Unavailable, "canceled", true)

	// A deadline in the middle of DATA ends the send then, not after the
	// server's answer (or the 5 s command timeout).
	slow := newServer(t, serverOptions{tls: "starttls", dataDelay: 3 * time.Second})
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = sender(t, slow, Options{}).Send(ctx, p)
	wantErr(t, err, incidents.Unavailable, "timeout", true)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the send took %v after its deadline of 300ms", d)
	}

	ts.srv.Close()
	_, err = s.Send(context.Background(), p)
	wantErr(t, err, incidents.Unavailable, "network", true)
}

func TestSubject(t *testing.T) {
	c := *cards(t)["triggered"]
	c.Title = strings.Repeat("very long title ", 30)
	s := Subject(&c, "payments\r\nBcc: x@example.com")
	if len([]rune(s)) > MaxSubject || !strings.HasSuffix(s, "…") || strings.ContainsAny(s, "\r\n") {
		t.Errorf("subject %q", s)
	}
	if !strings.HasPrefix(s, "[klaxon] SEV1 INC-42 payments Bcc: x@example.com: very long") {
		t.Errorf("subject %q", s)
	}
}

func TestGolden(t *testing.T) {
	s, err := New(Options{Host: "smtp.example.com", From: "klaxon <klaxon@example.com>", Instance: instance, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range cards(t) {
		p := page(c)
		p.Update = name != "triggered"
		p.Key = "k"
		m, err := s.Render(p)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "mail-"+name+".txt", "Subject: "+m.Subject+"\nMessage-ID: <"+m.MessageID+">\nIn-Reply-To: <"+m.InReplyTo+">\n\n"+m.Text)
		golden(t, "mail-"+name+".html", m.HTML)
	}
	// +N more alerts.
	storm, err := templates.MustBuiltin().Card(cardtest.Storm(25), cardtest.Now)
	if err != nil {
		t.Fatal(err)
	}
	p := page(storm)
	m, err := s.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "\n  +5 more\n") || !strings.Contains(m.HTML, ">+5 more</li>") {
		t.Errorf("no +5 more:\n%s", m.Text)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/email -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from %s (go test ./adapters/email -update rewrites it)\ngot:\n%s", name, path, got)
	}
}
