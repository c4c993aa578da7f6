package email_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/email/emailtest"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

const base = "https://advocate.example"

// world is a program on a real database whose signups give the referrer
// a credit, with a clock the test moves.
type world struct {
	db        *store.DB
	p         *referral.Program
	mu        sync.Mutex
	t         time.Time
	jane, bob *referral.Customer
}

func (w *world) now() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.t }
func (w *world) jump(d time.Duration) {
	w.mu.Lock()
	w.t = w.t.Add(d)
	w.mu.Unlock()
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{db: db, t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	db.Now, db.Emails = w.now, true
	p, err := referral.NewProgram("Acme", "USD", "https://acme.example")
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	r := rewards.Rule{Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit,
		Unit: rewards.Fixed, Amount: 2000, Currency: "USD", Recurrence: rewards.First, Active: true}
	err = db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return err
		}
		r.ProgramID = p.ID
		if err := tx.CreateRule(ctx, &r); err != nil {
			return err
		}
		_, err := tx.UpdateEmailSettings(ctx, p.ID, store.EmailSettings{SenderName: "Acme Team", ReplyTo: "help@acme.example", BrandColor: "#ff6600"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.jane, err = db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "<b>Jane</b> Doe"}); err != nil {
		t.Fatal(err)
	}
	if w.bob, err = db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "bob", Email: "bob@example.com", Name: "Bob", ReferredBy: w.jane.ReferralCode}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DispatchEvents(ctx, w.now(), 100); err != nil {
		t.Fatal(err)
	}
	return w
}

// run starts a Mailer on w until the test ends.
func (w *world) run(t *testing.T, s email.Sender) *email.Mailer {
	m := &email.Mailer{Store: w.db, Sender: s, BaseURL: base, Now: w.now, Interval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

func smtpSender(t *testing.T, url string) *email.SMTP {
	t.Helper()
	s, err := email.NewSMTP(url, "Advocate <noreply@advocate.example>", email.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// statuses returns the program's emails' statuses, by recipient and kind.
func statuses(t *testing.T, w *world) map[string]string {
	t.Helper()
	ms, err := w.db.EmailMessages(t.Context(), w.p.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.Kind+" "+m.Recipient] = m.Status
	}
	return out
}

// waitStatus waits until every email of w has left pending.
func waitStatus(t *testing.T, w *world, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := statuses(t, w)
		same := len(got) == len(want)
		for k, v := range want {
			same = same && got[k] == v
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMailerSends: an event becomes an email with text and HTML parts,
// the program's sender name, reply-to and colour, a one-click unsubscribe
// link, and the customer's name escaped in the HTML.
func TestMailerSends(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		srv := emailtest.Start(t)
		w.run(t, smtpSender(t, srv.URL()))
		got := srv.WaitFor(t, 2, 10*time.Second)
		waitStatus(t, w, map[string]string{"friend_signed_up jane@example.com": "sent", "reward_earned jane@example.com": "sent"})
		for _, m := range got {
			if len(m.To) != 1 || m.To[0] != "jane@example.com" {
				t.Errorf("to %v", m.To)
			}
			h := m.Header
			if !strings.Contains(h.Get("From"), "Acme Team") || !strings.Contains(h.Get("From"), "noreply@advocate.example") {
				t.Errorf("From: %q", h.Get("From"))
			}
			if !strings.Contains(h.Get("Reply-To"), "help@acme.example") {
				t.Errorf("Reply-To: %q", h.Get("Reply-To"))
			}
			lu := h.Get("List-Unsubscribe")
			if !strings.HasPrefix(lu, "<"+base+"/unsubscribe/") || !strings.HasSuffix(lu, ">") {
				t.Errorf("List-Unsubscribe: %q", lu)
			}
			if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post: %q", h.Get("List-Unsubscribe-Post"))
			}
			if m.Text == "" || m.HTML == "" {
				t.Errorf("text %d bytes, HTML %d bytes; want both", len(m.Text), len(m.HTML))
			}
			if strings.Contains(m.HTML, "<b>Jane</b>") || !strings.Contains(m.HTML, "&lt;b&gt;") {
				t.Errorf("customer name not escaped in the HTML:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, "#ff6600") {
				t.Errorf("brand colour missing from the HTML")
			}
			if !strings.Contains(m.Text, "https://acme.example/?ref="+w.jane.ReferralCode) {
				t.Errorf("referral link missing from the text:\n%s", m.Text)
			}
			token := strings.TrimSuffix(strings.TrimPrefix(lu, "<"+base+"/unsubscribe/"), ">")
			if _, err := db.UnsubscribeLink(t.Context(), token); err != nil {
				t.Errorf("unsubscribe link of the email: %v", err)
			}
		}
		var earned bool
		for _, m := range got {
			earned = earned || strings.Contains(m.Text, "20.00")
		}
		if !earned {
			t.Error("no email names the reward's amount, 20.00")
		}
	})
}

// swap is a Sender whose target the test changes.
type swap struct{ s atomic.Pointer[email.SMTP] }

func (s *swap) Send(ctx context.Context, m email.Message) error { return s.s.Load().Send(ctx, m) }

// TestMailerRetries: while SMTP is down, or answers 451, emails stay
// pending and are sent after their retry delay; nothing is lost.
func TestMailerRetries(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	w := newWorld(t, db)
	// Nothing listens on port 1: every connection is refused.
	var s swap
	s.s.Store(smtpSender(t, "smtp://127.0.0.1:1"))
	w.run(t, &s)
	waitAttempts(t, w, 1)
	if st := statuses(t, w); st["friend_signed_up jane@example.com"] != "pending" {
		t.Fatalf("after SMTP down: %v", st)
	}
	// Back, but failing once more with 451.
	up := emailtest.Start(t, emailtest.FailTemporarily(1))
	s.s.Store(smtpSender(t, up.URL()))
	w.jump(time.Minute)
	waitAttempts(t, w, 2)
	w.jump(5 * time.Minute)
	waitStatus(t, w, map[string]string{"friend_signed_up jane@example.com": "sent", "reward_earned jane@example.com": "sent"})
	if n := len(up.Messages()); n != 2 {
		t.Errorf("received %d emails, want 2", n)
	}
}

// waitAttempts waits until every email was attempted at least n times.
func waitAttempts(t *testing.T, w *world, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, err := w.db.EmailMessages(t.Context(), w.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := len(ms) > 0
		for _, m := range ms {
			done = done && m.Attempts >= n
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("emails not attempted %d times: %+v", n, ms)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMailerRefusedRecipient: a recipient the server refuses (550) fails
// at once and is not retried.
func TestMailerRefusedRecipient(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	w := newWorld(t, db)
	srv := emailtest.Start(t, emailtest.RefuseRecipients("jane@example.com"))
	w.run(t, smtpSender(t, srv.URL()))
	waitStatus(t, w, map[string]string{"friend_signed_up jane@example.com": "failed", "reward_earned jane@example.com": "failed"})
	ms, _ := db.EmailMessages(t.Context(), w.p.ID)
	for _, m := range ms {
		if m.Attempts != 1 || m.LastError == "" {
			t.Errorf("%s: %d attempts, error %q; want 1 and an error", m.Kind, m.Attempts, m.LastError)
		}
	}
}

// TestMailerSkipsDisabled: a kind switched off after it was queued is
// skipped, not sent.
func TestMailerSkipsDisabled(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	w := newWorld(t, db)
	off := email.Default(email.FriendSignedUp)
	off.Enabled = false
	if err := db.InTx(t.Context(), func(tx *store.Tx) error { _, err := tx.SaveEmailTemplate(t.Context(), w.p.ID, off); return err }); err != nil {
		t.Fatal(err)
	}
	srv := emailtest.Start(t)
	w.run(t, smtpSender(t, srv.URL()))
	waitStatus(t, w, map[string]string{"friend_signed_up jane@example.com": "skipped", "reward_earned jane@example.com": "sent"})
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("received %d emails, want 1", n)
	}
}
