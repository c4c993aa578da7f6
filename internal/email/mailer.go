package email

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Message statuses in the outbox.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Queued is a message of the email outbox that a Mailer claimed.
type Queued struct {
	ID, ProgramID, EventID, Kind string
	CustomerID                   string // "" for an email to an admin
	Recipient                    string
	Attempts                     int
}

// Prepared is what sending a queued message needs, read when it is sent
// so that a change of template, settings or opt-out since it was queued
// counts.
type Prepared struct {
	// Skip, when set, says why the message is not sent after all (the
	// customer unsubscribed, the kind was switched off).
	Skip                string
	Template            Template
	Values              Values
	Brand               Brand
	ToName              string
	SenderName, ReplyTo string
	// UnsubscribeToken is set for emails to customers.
	UnsubscribeToken string
}

// Outcome is the result of one attempt at a message.
type Outcome struct {
	Sent    bool
	Skipped string // the reason a message was not sent and never will be
	Error   string
	// Permanent says retrying cannot help: the message fails now.
	Permanent bool
}

// Store is what the Mailer needs of the store (*store.DB).
type Store interface {
	// ClaimEmails returns up to limit pending messages due at now and
	// makes them due again only at now+lease.
	ClaimEmails(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Queued, error)
	PrepareEmail(ctx context.Context, q Queued) (*Prepared, error)
	// RecordEmail records an attempt; one at a message no longer pending
	// is ignored.
	RecordEmail(ctx context.Context, id string, o Outcome) error
}

// Mailer sends the email outbox, as webhooks.Deliverer sends webhooks
// (the Deliverer's dispatch also queues the emails). Any number may run on
// one database: a claimed message is another's only after its lease, so
// it is sent once, and again only if its worker died mid-send.
type Mailer struct {
	Store Store
	// Sender sends from --email-from (its address, and its name when a
	// program sets no sender name of its own).
	Sender Sender
	// BaseURL is the server's public URL, for unsubscribe links.
	BaseURL string
	Now     func() time.Time
	Log     *slog.Logger
	// Concurrency bounds the sends in flight (default 4).
	Concurrency int
	// Interval is how often the outbox is polled (default a second).
	Interval time.Duration
	// Lease is how long a claimed message is this Mailer's (default two
	// minutes: well beyond the SMTP timeout).
	Lease time.Duration

	once sync.Once
	wake chan struct{}
}

func (m *Mailer) init() {
	m.once.Do(func() {
		m.wake = make(chan struct{}, 1)
		if m.Concurrency <= 0 {
			m.Concurrency = 4
		}
		if m.Interval <= 0 {
			m.Interval = time.Second
		}
		if m.Lease <= 0 {
			m.Lease = 2 * time.Minute
		}
		if m.Now == nil {
			m.Now = time.Now
		}
		if m.Log == nil {
			m.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Notify asks a running Mailer to look for work now; it never blocks.
func (m *Mailer) Notify() {
	m.init()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx is done, then waits for the sends in flight, which
// finish and are recorded whatever ctx says.
func (m *Mailer) Run(ctx context.Context) {
	m.init()
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	var (
		mu       sync.Mutex
		inFlight int
		sends    sync.WaitGroup
	)
	defer sends.Wait()
	for {
		mu.Lock()
		room := m.Concurrency - inFlight
		mu.Unlock()
		if room > 0 && ctx.Err() == nil {
			qs, err := m.Store.ClaimEmails(ctx, m.Now(), room, m.Lease)
			if err != nil && ctx.Err() == nil {
				m.Log.Error("claim emails", "err", err)
			}
			mu.Lock()
			inFlight += len(qs)
			mu.Unlock()
			for _, q := range qs {
				sends.Go(func() {
					m.send(context.WithoutCancel(ctx), q)
					mu.Lock()
					inFlight--
					mu.Unlock()
					m.Notify()
				})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
	}
}

// send makes one attempt at a message and records it.
func (m *Mailer) send(ctx context.Context, q Queued) {
	o := m.attempt(ctx, q)
	if err := m.Store.RecordEmail(ctx, q.ID, o); err != nil {
		// The lease runs out and the message is sent again.
		m.Log.Error("record email", "message", q.ID, "err", err)
		return
	}
	if o.Error != "" {
		m.Log.Info("email not sent", "message", q.ID, "kind", q.Kind, "permanent", o.Permanent, "err", o.Error)
	}
}

// attempt prepares, renders and sends a message.
func (m *Mailer) attempt(ctx context.Context, q Queued) Outcome {
	p, err := m.Store.PrepareEmail(ctx, q)
	if err != nil {
		return Outcome{Error: "prepare: " + err.Error()}
	}
	if p.Skip != "" {
		return Outcome{Skipped: p.Skip}
	}
	base := strings.TrimRight(m.BaseURL, "/")
	unsubscribe := ""
	if p.UnsubscribeToken != "" {
		unsubscribe = base + "/unsubscribe/" + p.UnsubscribeToken
	}
	// The store knows the dashboard's path, not the server's URL.
	if u := p.Values["dashboard_url"]; strings.HasPrefix(u, "/") {
		p.Values["dashboard_url"] = base + u
	}
	c, err := render(p, unsubscribe)
	if err != nil {
		// Templates are validated when saved and defaults always render:
		// retrying the same template cannot help.
		return Outcome{Error: "render: " + err.Error(), Permanent: true}
	}
	msg := Message{FromName: p.SenderName, ReplyTo: p.ReplyTo,
		To: q.Recipient, ToName: p.ToName, Content: c, UnsubscribeURL: unsubscribe, ID: q.ID}
	if err := m.Sender.Send(ctx, msg); err != nil {
		return Outcome{Error: err.Error(), Permanent: Permanent(err)}
	}
	return Outcome{Sent: true}
}

// render is Render, with a panic turned into an error: one message that
// cannot be rendered must not stop every program's email.
func render(p *Prepared, unsubscribe string) (c Content, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return Render(p.Template, p.Values, p.Brand, unsubscribe)
}
