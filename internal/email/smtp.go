package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to send.
type Message struct {
	FromName, FromAddress string // FromAddress from --email-from; FromName the program's sender name
	ReplyTo               string // "" for none
	To, ToName            string
	Content
	// UnsubscribeURL, when set, is sent as List-Unsubscribe: <URL> with
	// List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058).
	UnsubscribeURL string
	// ID is a stable id (the outbox row's id): used to make the Message-ID header,
	// so a retried send has the same Message-ID.
	ID string
}

// Sender sends one message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through an SMTP server. It dials a connection per message,
// which keeps it safe for concurrent use and free of stale connections at
// the rate notifications go out.
type SMTP struct {
	u    *url.URL
	host string
	port int
	ssl  bool
	user string
	pass string
	from *mail.Address
	opts smtpOptions
}

type smtpOptions struct {
	tls     *tls.Config
	timeout time.Duration
}

// SMTPOption changes how an SMTP sends.
type SMTPOption func(*smtpOptions)

// WithTLSConfig sets the TLS configuration (for tests: a self-signed
// certificate). Its ServerName defaults to the URL's host.
func WithTLSConfig(c *tls.Config) SMTPOption { return func(o *smtpOptions) { o.tls = c } }

// WithTimeout sets how long dialling and sending one message may take;
// 30 seconds by default.
func WithTimeout(d time.Duration) SMTPOption { return func(o *smtpOptions) { o.timeout = d } }

// NewSMTP returns an SMTP sending through the server at rawURL:
// "smtp://user:pass@host:587" (STARTTLS when the server offers it, port 587
// by default) or "smtps://user:pass@host:465" (implicit TLS, port 465 by
// default). User and password are optional and percent-decoded; with a
// user, it authenticates with PLAIN or LOGIN, which go-mail sends only over
// TLS or to localhost. from is the default sender, "Name <a@b>" or "a@b".
// Its errors name the problem, for the startup error.
func NewSMTP(rawURL, from string, opts ...SMTPOption) (*SMTP, error) {
	s := &SMTP{opts: smtpOptions{timeout: 30 * time.Second}}
	for _, o := range opts {
		o(&s.opts)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("email URL: %w", errors.Unwrap(err)) // the url.Error would print the password
	}
	s.u = u
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.ssl = 465, true
	default:
		return nil, fmt.Errorf("email URL %s: the scheme must be smtp:// (STARTTLS) or smtps:// (implicit TLS)", s)
	}
	switch {
	case u.Opaque != "":
		return nil, fmt.Errorf("email URL %s: write smtp://host:port", s)
	case u.Hostname() == "":
		return nil, fmt.Errorf("email URL %s: the host is missing", s)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, fmt.Errorf("email URL %s: no path, query or fragment may follow the host and port", s)
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("email URL %s: the port must be a number from 1 to 65535", s)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	s.from, err = mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("email from address %q: %w", from, err)
	}
	if s.opts.tls == nil {
		s.opts.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.opts.tls.ServerName == "" {
		c := s.opts.tls.Clone()
		c.ServerName = s.host
		s.opts.tls = c
	}
	return s, nil
}

// String returns the URL with the password masked, for logs.
func (s *SMTP) String() string { return s.u.Redacted() }

// Send sends m in one SMTP session. Its error says, through Permanent,
// whether trying again can help.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.message(m)
	if err != nil {
		return permanentError{err}
	}
	c, err := gomail.NewClient(s.host, s.clientOptions()...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	// A message the server took is sent, whatever happens at QUIT: sending
	// it again would deliver it twice.
	if err := c.DialAndSendWithContext(ctx, msg); err != nil && !msg.IsDelivered() {
		return fmt.Errorf("send email to %s via %s: %w", m.To, s.u.Host, err)
	}
	return nil
}

func (s *SMTP) clientOptions() []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.opts.timeout),
		gomail.WithTLSConfig(s.opts.tls),
	}
	if s.ssl {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithUsername(s.user), gomail.WithPassword(s.pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	return opts
}

// message builds the MIME message: multipart/alternative text and HTML.
func (s *SMTP) message(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	addr, name := s.from.Address, s.from.Name
	if m.FromAddress != "" {
		addr = m.FromAddress
	}
	if m.FromName != "" {
		name = m.FromName
	}
	if err := msg.FromFormat(name, addr); err != nil {
		return nil, fmt.Errorf("from address %q: %w", addr, err)
	}
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return nil, fmt.Errorf("to address %q: %w", m.To, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to address %q: %w", m.ReplyTo, err)
		}
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(messageID(m.ID, addr))
	}
	// Automatic mail (RFC 3834): auto-responders should not answer it.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.UnsubscribeURL != "" {
		msg.SetListUnsubscribe(m.UnsubscribeURL)
		msg.SetListUnsubscribePost()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// messageID returns the Message-ID (without brackets) of the message with
// the given id sent from addr: the same on every retry.
func messageID(id, addr string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && at < len(addr)-1 {
		domain = addr[at+1:]
	}
	clean := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, id)
	return strings.Trim(clean, ".") + "@" + domain
}

// permanentError is a message that can never be sent, such as one with an
// invalid address.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent reports whether err means retrying cannot help: a 5xx reply
// to MAIL, RCPT or DATA (a refused recipient, a message refused), or an
// invalid address. Connection failures, 4xx replies, failed
// authentication (the operator may fix it) and timeouts are temporary.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.As(err, new(permanentError)) {
		return true
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts:
		return true
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return se.ErrorCode() >= 500 && se.ErrorCode() < 600
	}
	return false
}
