package email_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/email/emailtest"
)

// message is a rendered friend_signed_up email to Jane.
func message(t *testing.T, to string) email.Message {
	t.Helper()
	v := email.Examples(email.FriendSignedUp)
	v["friend_name"] = `<script>alert(1)</script> & "Bob" Ünïcode`
	const unsub = "https://advocate.example/unsubscribe/tok"
	c, err := email.Render(email.Default(email.FriendSignedUp), v, email.Brand{ProgramName: "Acme Rewards", Color: "#0a7"}, unsub)
	if err != nil {
		t.Fatal(err)
	}
	return email.Message{
		FromName: "Acme Rewards", ReplyTo: "support@acme.example",
		To: to, ToName: "Jane Doe",
		Content: c, UnsubscribeURL: unsub, ID: "eml_01jd8xk0000000000000000000",
	}
}

// TestSMTPSend: a message reaches the server over plain SMTP with
// authentication, STARTTLS and implicit TLS, with both parts and its
// headers.
func TestSMTPSend(t *testing.T) {
	tests := []struct {
		name    string
		opts    []emailtest.Option
		wantTLS bool
	}{
		{"plain with auth", nil, false},
		{"STARTTLS", []emailtest.Option{emailtest.StartTLS()}, true},
		{"implicit TLS", []emailtest.Option{emailtest.TLS()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := emailtest.Start(t, tt.opts...)
			var opts []email.SMTPOption
			if c := srv.TLSConfig(); c != nil {
				opts = append(opts, email.WithTLSConfig(c))
			}
			s, err := email.NewSMTP(srv.URL(), "Advocate <notify@advocate.example>", opts...)
			if err != nil {
				t.Fatal(err)
			}
			m := message(t, "jane@example.com")
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.WaitFor(t, 1, 5*time.Second)[0]
			if got.TLS != tt.wantTLS || got.Username != emailtest.User {
				t.Errorf("TLS %v user %q, want %v %q", got.TLS, got.Username, tt.wantTLS, emailtest.User)
			}
			if got.From != "notify@advocate.example" || len(got.To) != 1 || got.To[0] != "jane@example.com" {
				t.Errorf("envelope from %q to %v", got.From, got.To)
			}
			h := got.Header
			for name, want := range map[string]string{
				"List-Unsubscribe":      "<https://advocate.example/unsubscribe/tok>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"Message-Id":            "<eml_01jd8xk0000000000000000000@advocate.example>",
				"Auto-Submitted":        "auto-generated",
			} {
				if h.Get(name) != want {
					t.Errorf("%s: %q, want %q", name, h.Get(name), want)
				}
			}
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != "Acme Rewards" || from[0].Address != "notify@advocate.example" {
				t.Errorf("From %v (%v)", from, err)
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != "Jane Doe" || to[0].Address != "jane@example.com" {
				t.Errorf("To %v (%v)", to, err)
			}
			replyTo, err := h.AddressList("Reply-To")
			if err != nil || len(replyTo) != 1 || replyTo[0].Address != "support@acme.example" {
				t.Errorf("Reply-To %v (%v)", replyTo, err)
			}
			if d, err := h.Date(); err != nil || time.Since(d).Abs() > time.Minute {
				t.Errorf("Date %v (%v)", d, err)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "multipart/alternative") {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			if got.Subject != m.Subject {
				t.Errorf("subject %q, want %q", got.Subject, m.Subject)
			}
			if normalize(got.Text) != normalize(m.Text) || normalize(got.HTML) != normalize(m.HTML) {
				t.Errorf("parts differ from what was sent:\ntext %q\nwant %q\nhtml %q\nwant %q", got.Text, m.Text, got.HTML, m.HTML)
			}
			if !strings.Contains(got.HTML, "&lt;script&gt;") || !strings.Contains(got.Text, "<script>") {
				t.Error("the name is not escaped in HTML and verbatim in text")
			}
		})
	}
}

// normalize undoes the CRLF line ends of the wire.
func normalize(s string) string { return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n") }

// TestSMTPNoOptionalHeaders: without an unsubscribe URL, a Reply-To, an id
// or names, none of their headers is sent; the default From name is used.
func TestSMTPNoOptionalHeaders(t *testing.T) {
	srv := emailtest.Start(t)
	s, err := email.NewSMTP(srv.URL(), "Advocate <notify@advocate.example>")
	if err != nil {
		t.Fatal(err)
	}
	m := email.Message{To: "admin@acme.example", Content: email.Content{Subject: "Hi", Text: "Hello", HTML: "<p>Hello</p>"}}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	h := srv.WaitFor(t, 1, 5*time.Second)[0].Header
	for _, name := range []string{"List-Unsubscribe", "List-Unsubscribe-Post", "Reply-To"} {
		if v, ok := h[name]; ok {
			t.Errorf("%s: %q sent", name, v)
		}
	}
	if h.Get("Message-Id") == "" {
		t.Error("no Message-ID")
	}
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Name != "Advocate" {
		t.Errorf("From %v", from)
	}
}

// TestSMTPFailures: what Permanent says of each failure.
func TestSMTPFailures(t *testing.T) {
	t.Run("refused recipient is permanent", func(t *testing.T) {
		srv := emailtest.Start(t, emailtest.RefuseRecipients("gone@example.com"))
		s := newSMTP(t, srv)
		err := s.Send(t.Context(), message(t, "gone@example.com"))
		if err == nil || !email.Permanent(err) {
			t.Fatalf("Send = %v, Permanent %v; want a permanent error", err, email.Permanent(err))
		}
		if err := s.Send(t.Context(), message(t, "jane@example.com")); err != nil {
			t.Fatalf("another recipient: %v", err)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d messages received, want 1", n)
		}
	})
	t.Run("451 is temporary, then it goes through", func(t *testing.T) {
		srv := emailtest.Start(t, emailtest.FailTemporarily(2))
		s := newSMTP(t, srv)
		for i := range 2 {
			err := s.Send(t.Context(), message(t, "jane@example.com"))
			if err == nil || email.Permanent(err) {
				t.Fatalf("attempt %d: Send = %v, Permanent %v; want a temporary error", i+1, err, email.Permanent(err))
			}
		}
		if err := s.Send(t.Context(), message(t, "jane@example.com")); err != nil {
			t.Fatalf("third attempt: %v", err)
		}
		srv.WaitFor(t, 1, 5*time.Second)
	})
	t.Run("server closed is temporary", func(t *testing.T) {
		srv := emailtest.Start(t)
		s := newSMTP(t, srv)
		srv.Close()
		err := s.Send(t.Context(), message(t, "jane@example.com"))
		if err == nil || email.Permanent(err) {
			t.Fatalf("Send = %v, Permanent %v; want a temporary error", err, email.Permanent(err))
		}
	})
	t.Run("no answer is a temporary timeout", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never greets
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s, err := email.NewSMTP("smtp://"+ln.Addr().String(), "notify@advocate.example", email.WithTimeout(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = s.Send(t.Context(), message(t, "jane@example.com"))
		if err == nil || email.Permanent(err) || time.Since(start) > 5*time.Second {
			t.Fatalf("Send = %v after %v, Permanent %v; want a temporary error soon", err, time.Since(start), email.Permanent(err))
		}
	})
	t.Run("wrong password is temporary", func(t *testing.T) {
		srv := emailtest.Start(t)
		s, err := email.NewSMTP(strings.Replace(srv.URL(), ":pass@", ":wrong@", 1), "notify@advocate.example")
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(t.Context(), message(t, "jane@example.com"))
		if err == nil || email.Permanent(err) {
			t.Fatalf("Send = %v, Permanent %v; want a temporary error", err, email.Permanent(err))
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages received", n)
		}
	})
	t.Run("invalid address is permanent", func(t *testing.T) {
		srv := emailtest.Start(t)
		s := newSMTP(t, srv)
		for _, m := range []email.Message{
			{To: "not an address", Content: email.Content{Subject: "Hi", Text: "x", HTML: "x"}},
			{To: "jane@example.com", ReplyTo: "nope", Content: email.Content{Subject: "Hi", Text: "x", HTML: "x"}},
			{To: "jane@example.com", FromAddress: "bad@", Content: email.Content{Subject: "Hi", Text: "x", HTML: "x"}},
		} {
			if err := s.Send(t.Context(), m); err == nil || !email.Permanent(err) {
				t.Errorf("%+v: Send = %v, Permanent %v; want a permanent error", m, err, email.Permanent(err))
			}
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		srv := emailtest.Start(t)
		s := newSMTP(t, srv)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Send(ctx, message(t, "jane@example.com")); err == nil || email.Permanent(err) {
			t.Fatalf("Send = %v, Permanent %v; want a temporary error", err, email.Permanent(err))
		}
	})
	if email.Permanent(nil) || email.Permanent(errors.New("x")) {
		t.Error("Permanent of nil or a plain error")
	}
}

func newSMTP(t *testing.T, srv *emailtest.Server) *email.SMTP {
	t.Helper()
	s, err := email.NewSMTP(srv.URL(), "notify@advocate.example", email.WithTLSConfig(srv.TLSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSMTPConcurrent: one SMTP sends from many goroutines at once.
func TestSMTPConcurrent(t *testing.T) {
	srv := emailtest.Start(t, emailtest.StartTLS())
	s := newSMTP(t, srv)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := message(t, fmt.Sprintf("friend%d@example.com", i))
			m.ID = fmt.Sprintf("eml_%d", i)
			errs <- s.Send(t.Context(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got := srv.WaitFor(t, n, 10*time.Second)
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.Header.Get("Message-Id")] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct Message-IDs, want %d", len(ids), n)
	}
}

// TestNewSMTP: the URLs and sender it takes, and clear errors for the rest.
func TestNewSMTP(t *testing.T) {
	good := []struct{ url, from, str string }{
		{"smtp://mail.example.com", "a@example.com", "smtp://mail.example.com"},
		{"smtp://u%40x:p%2Fss@mail.example.com:2525", "Acme <a@example.com>", "smtp://u%40x:xxxxx@mail.example.com:2525"},
		{"smtps://user:secret@mail.example.com:465/", "a@example.com", "smtps://user:xxxxx@mail.example.com:465/"},
		{"smtp://user@[::1]:25", "a@example.com", "smtp://user@[::1]:25"},
	}
	for _, g := range good {
		s, err := email.NewSMTP(g.url, g.from)
		if err != nil {
			t.Errorf("NewSMTP(%q, %q): %v", g.url, g.from, err)
			continue
		}
		if s.String() != g.str {
			t.Errorf("String() = %q, want %q", s.String(), g.str)
		}
		if strings.Contains(s.String(), "secret") {
			t.Errorf("String() shows the password: %q", s.String())
		}
	}
	bad := []struct{ url, from, errHas string }{
		{"ftp://mail.example.com", "a@example.com", "scheme"},
		{"mail.example.com:25", "a@example.com", "scheme"},
		{"", "a@example.com", "scheme"},
		{"smtp://", "a@example.com", "host is missing"},
		{"smtp://:25", "a@example.com", "host is missing"},
		{"smtp:mail.example.com", "a@example.com", "smtp://host:port"},
		{"smtp://mail.example.com:notaport", "a@example.com", "port"},
		{"smtp://mail.example.com:0", "a@example.com", "port"},
		{"smtp://mail.example.com:70000", "a@example.com", "port"},
		{"smtp://mail.example.com/path", "a@example.com", "no path"},
		{"smtp://mail.example.com?tls=no", "a@example.com", "no path"},
		{"smtp://user:secret@mail.example.com/x", "a@example.com", "no path"},
		{"smtp://mail.example.com", "not an address", "from address"},
		{"smtp://mail.example.com", "", "from address"},
		{"smtp://mail.example.com", "Acme <a@>", "from address"},
	}
	for _, b := range bad {
		_, err := email.NewSMTP(b.url, b.from)
		if err == nil || !strings.Contains(err.Error(), b.errHas) {
			t.Errorf("NewSMTP(%q, %q) = %v, want an error about %q", b.url, b.from, err, b.errHas)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// TestSMTPHeaderInjection: line breaks in the subject or a name add no
// header and no recipient.
func TestSMTPHeaderInjection(t *testing.T) {
	srv := emailtest.Start(t)
	s := newSMTP(t, srv)
	m := email.Message{
		FromName: "Acme\r\nBcc: thief@evil.example", To: "jane@example.com", ToName: "Jane\r\nX-Evil: 1",
		Content: email.Content{Subject: "Hi\r\nBcc: thief@evil.example", Text: "x", HTML: "<p>x</p>"},
	}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if len(got.To) != 1 || got.To[0] != "jane@example.com" {
		t.Errorf("recipients %v", got.To)
	}
	for _, name := range []string{"Bcc", "X-Evil"} {
		if v, ok := got.Header[name]; ok {
			t.Errorf("header %s: %q injected", name, v)
		}
	}
	if got.Subject != "Hi Bcc: thief@evil.example" {
		t.Errorf("subject %q", got.Subject)
	}
	from, _ := got.Header.AddressList("From")
	to, _ := got.Header.AddressList("To")
	if len(from) != 1 || from[0].Name != "Acme Bcc: thief@evil.example" || len(to) != 1 || to[0].Name != "Jane X-Evil: 1" {
		t.Errorf("From %v To %v", from, to)
	}
}
