// Package emailtest runs an SMTP server in the test process, built on
// github.com/emersion/go-smtp, that keeps what it receives, parsed, and can
// refuse recipients or fail for a while, for tests of code that sends email.
package emailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The credentials URL gives; the server refuses others.
const (
	User     = "user"
	Password = "pass"
)

// Received is a message the server accepted, with its text and HTML parts
// decoded.
type Received struct {
	From string
	To   []string
	Data []byte
	// Header is the message's header; Subject is its decoded Subject.
	Header  mail.Header
	Subject string
	Text    string
	HTML    string
	// Username is who authenticated ("" for nobody); TLS whether the
	// session was encrypted (implicit TLS or STARTTLS).
	Username string
	TLS      bool
}

type config struct {
	refuse    []string
	refuseAll bool
	failTemp  int
	tls       bool
	startTLS  bool
}

// Option changes how the server behaves.
type Option func(*config)

// RefuseRecipients makes the server answer 550 to RCPT TO for addrs, or for
// every recipient when none is given.
func RefuseRecipients(addrs ...string) Option {
	return func(c *config) {
		c.refuse = append(c.refuse, addrs...)
		c.refuseAll = len(addrs) == 0
	}
}

// FailTemporarily makes the server answer 451 at the end of DATA to the
// first n transactions.
func FailTemporarily(n int) Option { return func(c *config) { c.failTemp = n } }

// TLS makes the server speak implicit TLS (smtps) with a self-signed
// certificate; TLSConfig gives a client configuration that trusts it.
func TLS() Option { return func(c *config) { c.tls = true } }

// StartTLS makes the server offer STARTTLS with a self-signed certificate.
func StartTLS() Option { return func(c *config) { c.startTLS = true } }

// Server is a running SMTP server.
type Server struct {
	cfg    config
	srv    *smtp.Server
	addr   string
	client *tls.Config

	mu      sync.Mutex
	msgs    []Received
	txns    int           // transactions that reached the end of DATA
	changed chan struct{} // closed and replaced when a message arrives
	closed  bool
}

// Start starts a server on 127.0.0.1 at a free port; it stops when the test
// ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{changed: make(chan struct{})}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("emailtest: listen: %v", err)
	}
	if s.cfg.tls || s.cfg.startTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			ln.Close()
			t.Fatalf("emailtest: certificate: %v", err)
		}
		serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if s.cfg.tls {
			ln = tls.NewListener(ln, serverTLS)
		} else {
			s.srv.TLSConfig = serverTLS
		}
	}
	s.addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(s.Close)
	return s
}

// URL returns the server's URL with the credentials it accepts:
// "smtp://user:pass@127.0.0.1:port", or smtps:// with TLS.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.cfg.tls {
		scheme = "smtps"
	}
	return scheme + "://" + User + ":" + Password + "@" + s.addr
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// TLSConfig returns a client configuration that trusts the server's
// certificate; nil without TLS or StartTLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.client == nil {
		return nil
	}
	return s.client.Clone()
}

// Messages returns the messages received so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitFor waits until the server has received n messages and returns them;
// it fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		msgs := slices.Clone(s.msgs)
		s.mu.Unlock()
		if got >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("emailtest: received %d messages in %v, want %d", got, timeout, n)
			return nil
		}
	}
}

// Close stops the server now, dropping open sessions (to test "SMTP down").
func (s *Server) Close() {
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if !closed {
		s.srv.Close()
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: s, conn: c, tls: isTLS}, nil
}

// session is one client connection.
type session struct {
	s    *Server
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != User || password != Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.cfg.refuseAll || slices.ContainsFunc(ss.s.cfg.refuse, func(a string) bool { return strings.EqualFold(a, to) }) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txns++
	if s.txns <= s.cfg.failTemp {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	_, isTLS := ss.conn.TLSConnectionState() // after STARTTLS
	rec, err := parse(data)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Unreadable message: " + err.Error()}
	}
	rec.From, rec.To, rec.Username, rec.TLS = ss.from, slices.Clone(ss.to), ss.user, ss.tls || isTLS
	s.msgs = append(s.msgs, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// parse reads a message and its text and HTML parts, at any depth of
// multipart nesting.
func parse(data []byte) (Received, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Received{}, err
	}
	rec := Received{Data: data, Header: m.Header}
	var dec mime.WordDecoder
	if rec.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return Received{}, fmt.Errorf("subject: %w", err)
	}
	err = walk(&rec, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return rec, err
}

func walk(rec *Received, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(rec, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mt, err)
	}
	switch mt {
	case "text/plain":
		rec.Text = string(b)
	case "text/html":
		rec.HTML = string(b)
	}
	return nil
}

// newlineStripper drops the line breaks of base64 text.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "emailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
