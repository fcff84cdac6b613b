package email

// A real SMTP server (github.com/emersion/go-smtp) on loopback, for the
// sender's tests: it records what arrives, can require STARTTLS or
// implicit TLS with a certificate made here, AUTH PLAIN or LOGIN, and can
// answer a command with an error.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one mail the server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	User string // who authenticated, "" if nobody
	TLS  bool   // whether the session was encrypted
}

type serverOptions struct {
	tls      string // "" (none offered), "starttls" (offered), "implicit"
	user     string // required AUTH user, "" = no AUTH offered
	password string
	mechs    []string // AUTH mechanisms offered; default PLAIN, LOGIN
	// failRcpt and failData, when not nil, are answered to RCPT TO and
	// DATA.
	failRcpt, failData *smtp.SMTPError
	// dataDelay holds the answer to DATA this long.
	dataDelay time.Duration
}

type testServer struct {
	addr  string
	host  string
	port  int
	roots *x509.CertPool
	srv   *smtp.Server

	mu       sync.Mutex
	mails    []received
	sessions int
}

func (s *testServer) Mails() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

func (s *testServer) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// newServer starts a server on 127.0.0.1; it stops with the test.
func newServer(t testing.TB, o serverOptions) *testServer {
	t.Helper()
	ts := &testServer{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		ts.sessions++
		ts.mu.Unlock()
		_, isTLS := c.TLSConnectionState()
		return &session{ts: ts, o: o, tls: isTLS}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	// Without TLS, AUTH is offered only when the test says so (the
	// loopback relay case).
	srv.AllowInsecureAuth = o.tls == ""
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.tls != "" {
		cert, roots := selfSigned(t)
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ts.roots = roots
		if o.tls == "implicit" {
			l = tls.NewListener(l, cfg)
		} else {
			srv.TLSConfig = cfg
		}
	}
	ts.srv, ts.addr = srv, l.Addr().String()
	ts.host = "127.0.0.1"
	ts.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ts
}

type session struct {
	ts   *testServer
	o    serverOptions
	tls  bool
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.o.user == "" {
		return nil
	}
	if s.o.mechs != nil {
		return s.o.mechs
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.o.user || pass != s.o.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.o.user != "" && s.user == "" {
		// As Postfix and Exim answer (go-smtp's own ErrAuthRequired is 502).
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.o.failRcpt != nil {
		return s.o.failRcpt
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(s.o.dataDelay)
	if s.o.failData != nil {
		return s.o.failData
	}
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.mails = append(s.ts.mails, received{From: s.from, To: s.to, Data: data, User: s.user, TLS: s.tls})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client): it asks for the user name, then the password.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected response")
}

// selfSigned is a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "klaxon test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// x509Pool trusts another certificate than the server's.
func x509Pool(t testing.TB) *x509.CertPool {
	_, pool := selfSigned(t)
	return pool
}
