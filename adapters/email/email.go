// Package email pages people by e-mail over SMTP: one mail per page or
// update, with a plain-text and an HTML part rendered from the incident's
// card, threaded per incident (a stable Message-ID for the first mail,
// In-Reply-To and References on the rest).
//
// It sends with github.com/wneessen/go-mail (MIME, header encoding and
// folding, STARTTLS, AUTH), one connection per mail. The sender neither
// retries nor rate-limits: every failure is an *incidents.Error around an
// *Error that says whether a retry may help.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/klaxonbot/klaxon/incidents"
)

// TLSMode is how the connection to the SMTP server is secured.
type TLSMode string

const (
	// STARTTLS connects in plain text and upgrades with STARTTLS before
	// anything else, refusing a server that does not offer it (submission
	// on port 587, the default).
	STARTTLS TLSMode = "starttls"
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS TLSMode = "tls"
	// NoTLS sends in plain text: only to a relay on a loopback address or
	// localhost, such as a local Postfix (port 25).
	NoTLS TLSMode = "none"
)

// DefaultTimeout bounds connecting and each SMTP command.
const DefaultTimeout = 15 * time.Second

// Options configure a Sender; they are the smtp section of klaxon's
// config.
type Options struct {
	// Host is the SMTP server's name or address. Required.
	Host string
	// Port defaults to 587 for STARTTLS, 465 for ImplicitTLS, 25 for NoTLS.
	Port int
	// Username, if set, is sent with Password by AUTH PLAIN or LOGIN
	// (whichever the server offers, PLAIN first), after TLS is up.
	Username, Password string
	// From is the sender, "klaxon@example.com" or "klaxon
	// <klaxon@example.com>"; its domain ends every Message-ID. Required.
	From string
	// TLS is STARTTLS (""), ImplicitTLS or NoTLS.
	TLS TLSMode
	// Timeout bounds connecting and each SMTP command; 0 = DefaultTimeout.
	Timeout time.Duration
	// HELO is the name klaxon gives in EHLO; "" = this machine's host name.
	HELO string
	// Instance names this klaxon, e.g. its public URL; it goes into the
	// thread Message-IDs (see ThreadID).
	Instance string
	// RootCAs verify the server's certificate; nil = the system's.
	RootCAs *x509.CertPool
	// Now is the clock for the Date header; nil = time.Now.
	Now func() time.Time
}

// Sender sends pages by e-mail. It is safe for concurrent use.
type Sender struct {
	host, password, helo, instance, domain string
	port                                   int
	username                               string
	from                                   *mail.Address
	mode                                   TLSMode
	timeout                                time.Duration
	roots                                  *x509.CertPool
	now                                    func() time.Time
}

// New checks o and returns a Sender. It does not connect. Errors say what
// is wrong and never show the password.
func New(o Options) (*Sender, error) {
	s := &Sender{host: o.Host, port: o.Port, username: o.Username, password: o.Password, helo: o.HELO,
		instance: o.Instance, mode: o.TLS, timeout: o.Timeout, roots: o.RootCAs, now: o.Now}
	if s.host == "" {
		return nil, errors.New("email: smtp.host is empty")
	}
	if strings.ContainsFunc(s.host, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' || r == '@' }) ||
		(strings.Contains(s.host, ":") && net.ParseIP(s.host) == nil) {
		return nil, fmt.Errorf("email: smtp.host %q is not a host name or address (give the port as smtp.port)", s.host)
	}
	if s.mode == "" {
		s.mode = STARTTLS
	}
	switch s.mode {
	case STARTTLS:
		s.port = cmp(s.port, 587)
	case ImplicitTLS:
		s.port = cmp(s.port, 465)
	case NoTLS:
		s.port = cmp(s.port, 25)
		if !loopback(s.host) {
			return nil, fmt.Errorf("email: smtp.tls none sends mail (and any password) in plain text, so klaxon allows it only to a relay on this machine (localhost, 127.0.0.1, ::1), not to %q: use starttls or tls", s.host)
		}
	default:
		return nil, fmt.Errorf("email: smtp.tls %q is not starttls, tls or none", string(s.mode))
	}
	if s.port < 1 || s.port > 65535 {
		return nil, fmt.Errorf("email: smtp.port %d is not a port", s.port)
	}
	if s.password != "" && s.username == "" {
		return nil, errors.New("email: smtp.password is set without smtp.username")
	}
	if strings.ContainsFunc(s.username+s.password, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, errors.New("email: smtp.username or smtp.password holds control characters")
	}
	if s.helo != "" && strings.ContainsFunc(s.helo, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return nil, fmt.Errorf("email: smtp.helo %q is not a host name", s.helo)
	}
	from, err := parseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("email: smtp.from: %w", err)
	}
	s.from = from
	_, s.domain, _ = strings.Cut(from.Address, "@")
	s.domain = strings.Trim(s.domain, "[]")
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// encodeWords is s as RFC 2047 base64 encoded words of whole characters,
// one a line (folded), each line within 78 characters.
func encodeWords(s string) string {
	const chunk = 42 // bytes: 56 in base64, 68 with "=?UTF-8?B?…?="
	var words []string
	for s != "" {
		n := min(len(s), chunk)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// loopback reports whether host is localhost or a loopback address, by
// name: nothing is resolved.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ThreadID is the Message-ID of the first mail about incidentID (see the
// package function ThreadID).
func (s *Sender) ThreadID(incidentID string) string {
	return ThreadID(incidentID, s.instance, s.domain)
}

// Render renders p as Send would send it.
func (s *Sender) Render(p Page) (*Mail, error) {
	to, err := checkPage(p)
	if err != nil {
		return nil, err
	}
	return render(p, s.ThreadID(p.Card.IncidentID), recipient(p, to))
}

func recipient(p Page, to *mail.Address) string {
	if p.Name != "" {
		return p.Name + " <" + to.Address + ">"
	}
	return to.Address
}

// message builds the MIME message of p.
func (s *Sender) message(p Page) (*gomail.Msg, *Mail, error) {
	to, err := checkPage(p)
	if err != nil {
		return nil, nil, err
	}
	m, err := render(p, s.ThreadID(p.Card.IncidentID), recipient(p, to))
	if err != nil {
		return nil, nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	if strings.Contains(m.Subject, "=?") {
		// Text that reads like an encoded word would be decoded by the
		// reader: encode it all, so that it reads back as written.
		msg.SetGenHeaderPreformatted(gomail.HeaderSubject, encodeWords(m.Subject))
	} else {
		msg.Subject(m.Subject) // go-mail encodes non-ASCII text and folds
	}
	msg.SetMessageIDWithValue(m.MessageID)
	if m.InReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+m.InReplyTo+">")
		msg.SetGenHeader(gomail.HeaderReferences, "<"+m.InReplyTo+">")
	}
	msg.SetDateWithValue(s.now())
	// An automatic message (RFC 3834): vacation responders stay quiet,
	// and Exchange sends no out-of-office or read receipts. No
	// "Precedence: bulk": it is not a standard, and some providers file
	// bulk mail away from the inbox, where a page must land.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Auto-Response-Suppress", "All")
	msg.SetGenHeader("X-Klaxon-Incident", idPart(p.Card.IncidentID))
	msg.SetGenHeader("X-Klaxon-Severity", p.Card.Severity.String())
	msg.SetGenHeader("X-Klaxon-State", string(p.Card.State))
	msg.SetUserAgent("klaxon")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, m, nil
}

// Send mails p and returns its Message-ID (without angle brackets).
//
// Errors are *incidents.Error: Unavailable (retryable) for network errors,
// timeouts, cancellation and 4xx SMTP replies; Unauthorized for refused
// credentials (535 and the like); Invalid for the rest — a bad page or
// recipient, 5xx replies, a server without STARTTLS or AUTH, a
// certificate that does not verify. Each wraps an *Error with the details;
// none holds the password. A mail whose final reply was lost may have been
// delivered: a retry with the same Page.Key sends the same Message-ID,
// which mail clients show once.
func (s *Sender) Send(ctx context.Context, p Page) (messageID string, err error) {
	msg, m, err := s.message(p)
	if err != nil {
		return "", wrap(&Error{Code: "bad_page", Err: err})
	}
	if err := ctx.Err(); err != nil {
		return "", wrap(ctxError(err))
	}
	var release []func() bool
	defer func() {
		for _, stop := range release {
			stop()
		}
	}()
	c, err := s.client(ctx, &release)
	if err != nil {
		return "", wrap(&Error{Code: "bad_config", Err: s.redact(err)})
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return "", wrap(s.classify(ctx, err))
	}
	return m.MessageID, nil
}

// client is a go-mail client for one mail. Its connection is closed when
// ctx ends, so that a cancelled send stops at once; the caller calls the
// functions added to release when done, so that a long-lived ctx keeps no
// closed connection.
func (s *Sender) client(ctx context.Context, release *[]func() bool) (*gomail.Client, error) {
	cfg := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12, RootCAs: s.roots}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: s.timeout}
		var conn net.Conn
		var err error
		if s.mode == ImplicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		// Closing on ctx's end; the conn stays a *tls.Conn, which
		// go-mail's PLAIN and LOGIN check for.
		*release = append(*release, context.AfterFunc(ctx, func() { conn.Close() }))
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(cfg),
		gomail.WithDialContextFunc(dial),
	}
	switch s.mode {
	case STARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.helo != "" {
		opts = append(opts, gomail.WithHELO(s.helo))
	}
	if s.username != "" {
		plain, login := gomail.SMTPAuthPlain, gomail.SMTPAuthLogin
		if s.mode == NoTLS { // only ever to loopback (New)
			plain, login = gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(plain, login),
			gomail.WithUsername(s.username), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// classify reads a failed send.
func (s *Sender) classify(ctx context.Context, err error) *Error {
	if cerr := ctx.Err(); cerr != nil {
		return ctxError(cerr)
	}
	e := &Error{Err: s.redact(err)}
	var tp *textproto.Error
	var se *gomail.SendError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ne net.Error
	var rh tls.RecordHeaderError
	msg := err.Error()
	switch {
	case errors.As(err, &tp):
		e.Reply = tp.Code
	case errors.As(err, &se) && se.ErrorCode() >= 400:
		e.Reply = se.ErrorCode()
		if se.Reason == gomail.ErrSMTPRcptTo && e.Reply >= 500 {
			e.Code = "bad_recipient"
		}
	case errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci):
		e.Code = "tls_certificate"
		return e
	case strings.Contains(msg, "does not support STARTTLS"):
		e.Code = "no_starttls"
		return e
	case strings.Contains(msg, "does not support SMTP AUTH") || errors.Is(err, gomail.ErrNoSupportedAuthDiscovered):
		e.Code = "no_auth"
		return e
	case errors.As(err, &rh):
		e.Code = "not_tls" // implicit TLS to a plain-text port
		return e
	case errors.Is(err, gosmtp.ErrUnencrypted):
		e.Code = "insecure_auth"
		return e
	case errors.As(err, &ne) && ne.Timeout():
		e.Code, e.Temp = "timeout", true
		return e
	default:
		// Refused connections, resets, EOF, TLS handshakes cut short.
		e.Code, e.Temp = "network", true
		return e
	}
	switch {
	case e.Code != "":
	case e.Reply == 530 || e.Reply == 534 || e.Reply == 535 || e.Reply == 538:
		e.Code = "auth_failed"
	default:
		e.Code = "smtp_" + strconv.Itoa(e.Reply)
	}
	e.Temp = e.Reply >= 400 && e.Reply < 500
	return e
}

func ctxError(err error) *Error {
	code := "canceled"
	if errors.Is(err, context.DeadlineExceeded) {
		code = "timeout"
	}
	return &Error{Code: code, Temp: true, Err: err}
}

// redact removes the password from err's text, should it appear there.
func (s *Sender) redact(err error) error {
	if err == nil || len(s.password) < 2 || !strings.Contains(err.Error(), s.password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.password, "<password>"))
}

// Error is a failed send. It never holds the password.
type Error struct {
	Code  string // see below
	Reply int    // the SMTP reply code, e.g. 451 or 550; 0 when none
	Temp  bool   // worth retrying: 4xx replies, network errors, timeouts, cancellation
	Err   error  // cause
}

// Codes of Error: "smtp_<reply>" for an SMTP reply (4xx Temp, 5xx not),
// "auth_failed" (530, 534, 535, 538: the credentials), "bad_recipient" (a
// 5xx reply to RCPT TO), "no_starttls" (STARTTLS mode, and the server
// does not offer it), "no_auth" (a username is set, and the server offers
// no AUTH klaxon speaks), "insecure_auth" (AUTH would go in plain text),
// "tls_certificate" (the server's certificate does not verify),
// "not_tls" (tls mode, and the server speaks plain text: the wrong port?),
// "network", "timeout", "canceled", and before sending "bad_page",
// "bad_config".
//
// Error reads e.g. "email send: smtp_550: 5.1.1 no such user".
func (e *Error) Error() string {
	s := "email send: " + e.Code
	if e.Err != nil {
		s += ": " + strings.TrimPrefix(e.Err.Error(), "email: ")
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns Code.
func (e *Error) ErrorCode() string { return e.Code }

// Retryable reports whether retrying may succeed (Temp).
func (e *Error) Retryable() bool { return e.Temp }

// RetryAfter is 0: SMTP servers do not say when to retry.
func (e *Error) RetryAfter() time.Duration { return 0 }

// Kind is the incidents.Kind of e: Unavailable when Temp, Unauthorized
// for "auth_failed", else Invalid.
func (e *Error) Kind() incidents.Kind {
	switch {
	case e.Temp:
		return incidents.Unavailable
	case e.Code == "auth_failed":
		return incidents.Unauthorized
	}
	return incidents.Invalid
}

// wrap is e inside an *incidents.Error of its Kind, with a message that is
// safe to show.
func wrap(e *Error) error {
	msg := "the mail server refused the mail"
	switch {
	case e.Temp:
		msg = "the mail server is unavailable; the mail will be retried"
	case e.Code == "auth_failed":
		msg = "the mail server refused klaxon's smtp.username and smtp.password"
	case e.Code == "bad_recipient":
		msg = "the mail server refused the recipient's address"
	case e.Code == "bad_page" || e.Code == "bad_config":
		msg = "the mail is misconfigured"
	case e.Code == "no_starttls" || e.Code == "no_auth" || e.Code == "insecure_auth" || e.Code == "tls_certificate" || e.Code == "not_tls":
		msg = "klaxon cannot talk securely with the mail server (check smtp.tls and smtp.host)"
	}
	return &incidents.Error{Kind: e.Kind(), Message: msg, Err: e}
}
