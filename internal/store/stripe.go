package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/secrets"
)

// Stripe integration errors a client can cause.
var (
	ErrStripeNotConnected = referral.Errorf(referral.KindNotFound, "integration_not_found",
		"Stripe is not connected to this program.")
	ErrEncryptionKeyRequired = referral.Errorf(referral.KindConflict, "encryption_key_required",
		"This server has no encryption key for integration secrets: start it with --encryption-key (the same on every node).")
	// ErrStripeAwaitingCheckout: a subscription's first invoice came
	// before the Checkout session that may name the referrer (awaitCheckout).
	ErrStripeAwaitingCheckout = referral.Errorf(referral.KindConflict, "awaiting_checkout_session",
		"This subscription's first invoice came before its Checkout session, which may name a referrer; Stripe sends it again shortly.")
	ErrEncryptionKeyMismatch = referral.Errorf(referral.KindConflict, "encryption_key_mismatch",
		"The Stripe secrets were sealed with another encryption key than this server's: start it with the key it had (--encryption-key, or the encryption.key file beside the database), or connect Stripe again.")
	ErrStripeSyncRunning = referral.Errorf(referral.KindConflict, "sync_running",
		"A Stripe sync is already running for this program.")
	// ErrStripePaymentUnknown: a refund or dispute names a payment not yet
	// received. The webhook answers 409 so that Stripe sends it again later.
	ErrStripePaymentUnknown = referral.Errorf(referral.KindConflict, "payment_not_received",
		"The payment this event refers to has not been received yet; Stripe will send the event again.")
)

// StripeSettings is a connect or update request; a nil field keeps the
// stored value. An empty SecretKey removes the key.
type StripeSettings struct {
	WebhookSecret *string
	SecretKey     *string
	ApplyRewards  *bool
	APIBaseURL    *string
}

// DefaultStripeAPIBaseURL is where Stripe's API is unless a program says otherwise.
const DefaultStripeAPIBaseURL = "https://api.stripe.com"

// StripeIntegration is a program's Stripe connection with its secrets
// opened. Handlers never render the secrets.
type StripeIntegration struct {
	ProgramID      string
	WebhookSecret  string
	SecretKey      string
	ApplyRewards   bool
	APIBaseURL     string
	EventsReceived int64
	LastEventAt    *time.Time
	LastEventType  string
	LastError      string
	LastErrorAt    *time.Time
	Sync           StripeSync
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// StripeSync is the state of the latest reconcile run.
type StripeSync struct {
	Status     string // "", "running", "done", "failed"
	Since      *time.Time
	Done       int
	Total      int
	Error      string
	StartedAt  *time.Time
	FinishedAt *time.Time

	heartbeat *time.Time // the running sync's last sign of life
}

// StripeApplied is what applying an event did.
type StripeApplied struct {
	// Replay: the event was applied before; nothing changed.
	Replay bool
	// Outcome is a short machine word recorded with the event: "applied",
	// or the Change's Ignore reason.
	Outcome string
	// TransactionKey and CustomerKey name what it touched, when it did.
	TransactionKey string
	CustomerKey    string
}

// Outcomes recorded with an event besides a Change's Ignore reason.
const (
	stripeApplied = "applied"
	// stripeDuplicate: the payment was already recorded, under this key or
	// another of its Stripe ids (a second event for one payment).
	stripeDuplicate = "already_recorded"
	// stripeNothingNew: a refund or dispute already applied as far as
	// this event goes (a cumulative figure seen before, a dispute closed).
	stripeNothingNew = "nothing_new"
	// stripeCurrencyMismatch: a refund or dispute in another currency than
	// its payment; its amount cannot be applied.
	stripeCurrencyMismatch = "currency_mismatch"
	stripeInvalidPayment   = "invalid_payment"
	stripeNoCustomer       = "no_customer"
)

// stripeSyncStale is how old a running sync's heartbeat may be before the
// sync counts as dead: another may then start.
const stripeSyncStale = 2 * time.Minute

// ConnectStripe connects (or updates) a program's Stripe integration.
func (db *DB) ConnectStripe(ctx context.Context, programID string, in StripeSettings) (*StripeIntegration, error) {
	box := db.Secrets
	if box == nil {
		return nil, ErrEncryptionKeyRequired
	}
	if err := in.normalize(); err != nil {
		return nil, err
	}
	return run(ctx, db, func(tx *Tx) (*StripeIntegration, error) {
		cur, sealed, err := stripeIntegrationRow(ctx, tx.tx, programID, tx.db.forUpdate())
		first := errors.Is(err, ErrStripeNotConnected)
		if err != nil && !first {
			return nil, err
		}
		next := StripeIntegration{ProgramID: programID, APIBaseURL: DefaultStripeAPIBaseURL}
		webhook, key := "", ""
		if !first {
			next.ApplyRewards, next.APIBaseURL = cur.ApplyRewards, cur.APIBaseURL
			webhook, key = sealed.webhook, sealed.key
		}
		// Secrets are sealed as they come in; kept ones stay as stored.
		if in.WebhookSecret != nil {
			webhook = box.Seal(*in.WebhookSecret)
		}
		if in.SecretKey != nil {
			key = box.Seal(*in.SecretKey)
		}
		if in.ApplyRewards != nil {
			next.ApplyRewards = *in.ApplyRewards
		}
		if in.APIBaseURL != nil {
			next.APIBaseURL = *in.APIBaseURL
		}
		if webhook == "" {
			return nil, referral.FieldError("invalid_webhook_secret", "webhook_secret",
				"Enter the signing secret (whsec_…) of the webhook endpoint you added in Stripe.")
		}
		if next.ApplyRewards && key == "" {
			return nil, referral.FieldError("secret_key_required", "secret_key",
				"Applying rewards in Stripe needs a secret key (sk_…) or a restricted key (rk_…).")
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO stripe_integrations (program_id, webhook_secret, secret_key,
			apply_rewards, api_base_url, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (program_id) DO UPDATE SET webhook_secret = excluded.webhook_secret, secret_key = excluded.secret_key,
			apply_rewards = excluded.apply_rewards, api_base_url = excluded.api_base_url, updated_at = excluded.updated_at`,
			programID, webhook, key, next.ApplyRewards, next.APIBaseURL, micros(tx.now)); err != nil {
			return nil, fmt.Errorf("connect stripe: %w", err)
		}
		return stripeIntegration(ctx, tx.tx, box, programID, tx.now)
	})
}

// normalize trims the settings given and checks each, naming every bad one.
func (in *StripeSettings) normalize() error {
	var v referral.Validation
	if in.WebhookSecret != nil {
		s := strings.TrimSpace(*in.WebhookSecret)
		in.WebhookSecret = &s
		if !strings.HasPrefix(s, "whsec_") || len(s) == len("whsec_") || !printableASCII(s) {
			v.AddCode("webhook_secret", "invalid_webhook_secret",
				"The webhook signing secret starts with whsec_: copy it from the endpoint's page in Stripe.")
		}
	}
	if in.SecretKey != nil {
		s := strings.TrimSpace(*in.SecretKey)
		in.SecretKey = &s
		switch {
		case s == "": // removes the key
		case strings.HasPrefix(s, "pk_"):
			v.AddCode("secret_key", "invalid_secret_key",
				"This is a publishable key (pk_…), which cannot change anything in Stripe: use a secret key (sk_…) or a restricted key (rk_…).")
		case !(strings.HasPrefix(s, "sk_") || strings.HasPrefix(s, "rk_")) || len(s) == 3 || len(s) > 500 || !printableASCII(s):
			v.AddCode("secret_key", "invalid_secret_key", "A Stripe secret key starts with sk_ (or rk_ for a restricted key).")
		}
	}
	if in.APIBaseURL != nil {
		s := strings.TrimRight(strings.TrimSpace(*in.APIBaseURL), "/")
		if s == "" {
			s = DefaultStripeAPIBaseURL
		}
		in.APIBaseURL = &s
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || len(s) > 500 {
			v.AddCode("api_base_url", "invalid_api_base_url",
				"The API base URL must be an absolute http(s) URL without a query, such as "+DefaultStripeAPIBaseURL+".")
		}
	}
	return v.Err("invalid_stripe_settings")
}

// printableASCII says whether s has only printable ASCII characters and no
// spaces, as Stripe's secrets do.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// StripeIntegration reads a program's integration, secrets opened.
// Not connected is ErrStripeNotConnected whether or not the server has an
// encryption key; connected, it needs the key the secrets were sealed with.
func (db *DB) StripeIntegration(ctx context.Context, programID string) (*StripeIntegration, error) {
	return stripeIntegration(ctx, db.read, db.Secrets, programID, db.Now())
}

// sealedSecrets are a row's secrets as stored.
type sealedSecrets struct{ webhook, key string }

const stripeIntegrationColumns = `program_id, webhook_secret, secret_key, apply_rewards, api_base_url, events_received,
	last_event_at, last_event_type, last_error, last_error_at, sync_status, sync_since, sync_done, sync_total, sync_error,
	sync_started_at, sync_finished_at, sync_heartbeat_at, created_at, updated_at`

// stripeIntegrationRow reads a program's integration with its secrets
// still sealed; lock is a row lock clause (forUpdate) or "".
func stripeIntegrationRow(ctx context.Context, q querier, programID, lock string) (*StripeIntegration, sealedSecrets, error) {
	var s StripeIntegration
	var sealed sealedSecrets
	var lastEvent, lastError, since, started, finished, heartbeat sql.NullInt64
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT `+stripeIntegrationColumns+` FROM stripe_integrations WHERE program_id = $1`+lock, programID).
		Scan(&s.ProgramID, &sealed.webhook, &sealed.key, &s.ApplyRewards, &s.APIBaseURL, &s.EventsReceived,
			&lastEvent, &s.LastEventType, &s.LastError, &lastError, &s.Sync.Status, &since, &s.Sync.Done, &s.Sync.Total,
			&s.Sync.Error, &started, &finished, &heartbeat, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sealed, ErrStripeNotConnected
	}
	if err != nil {
		return nil, sealed, fmt.Errorf("get stripe integration: %w", err)
	}
	s.LastEventAt, s.LastErrorAt = nullMicros(lastEvent), nullMicros(lastError)
	s.Sync.Since, s.Sync.StartedAt, s.Sync.FinishedAt = nullMicros(since), nullMicros(started), nullMicros(finished)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	s.Sync.heartbeat = nullMicros(heartbeat)
	return &s, sealed, nil
}

// stripeIntegration reads a program's integration and opens its secrets.
// A sync whose process died (its heartbeat is older than stripeSyncStale
// at now) reads as failed.
func stripeIntegration(ctx context.Context, q querier, box *secrets.Box, programID string, now time.Time) (*StripeIntegration, error) {
	s, sealed, err := stripeIntegrationRow(ctx, q, programID, "")
	if err != nil {
		return nil, err
	}
	if box == nil {
		return nil, ErrEncryptionKeyRequired
	}
	if s.WebhookSecret, err = box.Open(sealed.webhook); err != nil {
		return nil, ErrEncryptionKeyMismatch
	}
	if s.SecretKey, err = box.Open(sealed.key); err != nil {
		return nil, ErrEncryptionKeyMismatch
	}
	if s.Sync.stale(now) {
		s.Sync.Status, s.Sync.Error = "failed", "The sync stopped without finishing (was the server stopped?); start it again."
	}
	return s, nil
}

// stale says whether a running sync stopped sending heartbeats.
func (s StripeSync) stale(now time.Time) bool {
	return s.Status == "running" && (s.heartbeat == nil || now.Sub(*s.heartbeat) > stripeSyncStale)
}

// DisconnectStripe removes a program's integration (bindings and history stay).
func (db *DB) DisconnectStripe(ctx context.Context, programID string) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM stripe_integrations WHERE program_id = $1`, programID)
		return struct{}{}, oneRow(res, err, "disconnect stripe")
	})
	return err
}

// oneRow turns an UPDATE or DELETE of a program's integration that found
// no row into ErrStripeNotConnected.
func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return ErrStripeNotConnected
	}
	return nil
}

// RecordStripeError keeps the latest error for the dashboard.
func (db *DB) RecordStripeError(ctx context.Context, programID, msg string) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		res, err := tx.tx.ExecContext(ctx, `UPDATE stripe_integrations SET last_error = $2, last_error_at = $3 WHERE program_id = $1`,
			programID, clip(msg, 1000), micros(tx.now))
		return struct{}{}, oneRow(res, err, "record stripe error")
	})
	return err
}

// StartStripeSync marks a sync running (ErrStripeSyncRunning if one is and
// its heartbeat is fresh).
func (db *DB) StartStripeSync(ctx context.Context, programID string, since time.Time) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		s, _, err := stripeIntegrationRow(ctx, tx.tx, programID, tx.db.forUpdate())
		if err != nil {
			return struct{}{}, err
		}
		if s.Sync.Status == "running" && !s.Sync.stale(tx.now) {
			return struct{}{}, ErrStripeSyncRunning
		}
		_, err = tx.tx.ExecContext(ctx, `UPDATE stripe_integrations SET sync_status = 'running', sync_since = $2,
			sync_done = 0, sync_total = 0, sync_error = '', sync_started_at = $3, sync_finished_at = NULL,
			sync_heartbeat_at = $3 WHERE program_id = $1`, programID, micros(since), micros(tx.now))
		if err != nil {
			return struct{}{}, fmt.Errorf("start stripe sync: %w", err)
		}
		return struct{}{}, nil
	})
	return err
}

// StripeSyncProgress records a sync's progress; status "running", "done"
// or "failed" (with errMsg).
func (db *DB) StripeSyncProgress(ctx context.Context, programID string, done, total int, status, errMsg string) error {
	if status != "running" && status != "done" && status != "failed" {
		return fmt.Errorf("stripe sync progress: unknown status %q", status)
	}
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		var finished sql.NullInt64
		if status != "running" {
			finished = sql.NullInt64{Int64: micros(tx.now), Valid: true}
		}
		res, err := tx.tx.ExecContext(ctx, `UPDATE stripe_integrations SET sync_status = $2, sync_done = $3, sync_total = $4,
			sync_error = $5, sync_heartbeat_at = $6, sync_finished_at = $7 WHERE program_id = $1`,
			programID, status, done, total, clip(errMsg, 1000), micros(tx.now), finished)
		return struct{}{}, oneRow(res, err, "stripe sync progress")
	})
	return err
}

// ApplyStripeEvent applies one verified, decoded event in one database
// transaction that also records its id: an event applied before changes
// nothing (Replay). Payments, refunds and customers go through the same
// steps as the API's (tx.CreateCustomer, tx.RecordTransaction, tx.Refund),
// so the rules, the ledger and the outbox see no difference. A refund or
// dispute of a payment not received yet is ErrStripePaymentUnknown, and
// then nothing is recorded, the event id neither: Stripe's retry applies it.
func (db *DB) ApplyStripeEvent(ctx context.Context, p *referral.Program, ev *stripe.Event, ch stripe.Change) (StripeApplied, error) {
	// A redelivery (or a signed delivery replayed within its five
	// minutes) is answered from a read: it takes no write transaction, so
	// it cannot queue behind SQLite's single writer.
	var outcome string
	err := db.read.QueryRowContext(ctx, `SELECT outcome FROM stripe_events WHERE program_id = $1 AND event_id = $2`, p.ID, ev.ID).Scan(&outcome)
	if err == nil {
		return StripeApplied{Replay: true, Outcome: outcome}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return StripeApplied{}, fmt.Errorf("read stripe event: %w", err)
	}
	for attempt := 0; ; attempt++ {
		out, err := run(ctx, db, func(tx *Tx) (StripeApplied, error) { return tx.applyStripeEvent(ctx, p, ev, ch) })
		// A concurrent request inserted the same payment, customer or
		// generated code first: again from the start finds it.
		if attempt < 4 && (errors.Is(err, errTransactionRace) || errors.Is(err, errGeneratedCodeTaken) ||
			errors.Is(err, referral.ErrCustomerKeyTaken) || errors.Is(err, referral.ErrCustomerEmailTaken)) {
			continue
		}
		return out, err
	}
}

func (tx *Tx) applyStripeEvent(ctx context.Context, p *referral.Program, ev *stripe.Event, ch stripe.Change) (StripeApplied, error) {
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO stripe_events (program_id, event_id, type, outcome, received_at)
		VALUES ($1, $2, $3, '', $4) ON CONFLICT (program_id, event_id) DO NOTHING`, p.ID, ev.ID, ev.Type, micros(tx.now))
	if err != nil {
		return StripeApplied{}, fmt.Errorf("record stripe event: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return StripeApplied{}, fmt.Errorf("record stripe event: %w", err)
	} else if n == 0 {
		out := StripeApplied{Replay: true}
		err := tx.tx.QueryRowContext(ctx, `SELECT outcome FROM stripe_events WHERE program_id = $1 AND event_id = $2`,
			p.ID, ev.ID).Scan(&out.Outcome)
		if err != nil {
			return StripeApplied{}, fmt.Errorf("read stripe event: %w", err)
		}
		return out, nil
	}
	var out StripeApplied
	switch {
	case ch.Ignore != "":
		out.Outcome = ch.Ignore
	case ch.Customer != nil:
		out, err = tx.stripeCustomer(ctx, p, *ch.Customer)
	case ch.Signup != nil:
		out, err = tx.stripeCustomer(ctx, p, *ch.Signup)
	case ch.Payment != nil:
		out, err = tx.stripePayment(ctx, p, ev, ch.Payment)
	case ch.Link != nil:
		out.Outcome, out.TransactionKey = stripeApplied, ch.Link.Key
		err = tx.linkStripePayment(ctx, p.ID, ch.Link.Key, ch.Link.Aliases)
	case ch.Refund != nil:
		out, err = tx.stripeRefund(ctx, p, ch.Refund)
	case ch.Dispute != nil:
		out, err = tx.stripeDispute(ctx, p, ch.Dispute)
	default:
		out.Outcome = "unhandled_type"
	}
	if err != nil {
		return StripeApplied{}, err
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_events SET outcome = $3 WHERE program_id = $1 AND event_id = $2`,
		p.ID, ev.ID, out.Outcome); err != nil {
		return StripeApplied{}, fmt.Errorf("record stripe event: %w", err)
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_integrations SET events_received = events_received + 1,
		last_event_at = $2, last_event_type = $3 WHERE program_id = $1`, p.ID, micros(tx.now), ev.Type); err != nil {
		return StripeApplied{}, fmt.Errorf("record stripe event: %w", err)
	}
	return out, nil
}

// stripeCustomer applies customer.created/updated and a subscription
// checkout: the customer is found or created, and their name and email
// follow Stripe's.
func (tx *Tx) stripeCustomer(ctx context.Context, p *referral.Program, party stripe.Party) (StripeApplied, error) {
	c, err := tx.stripeParty(ctx, p, party, true)
	if errors.Is(err, errStripeNoCustomer) {
		return StripeApplied{Outcome: stripeNoCustomer}, nil
	}
	if err != nil {
		return StripeApplied{}, err
	}
	return StripeApplied{Outcome: stripeApplied, CustomerKey: c.Key}, nil
}

// errStripeNoCustomer: a Stripe object names no one (no Stripe customer,
// no key, no fallback): there is nobody to create.
var errStripeNoCustomer = errors.New("stripe: the event names no customer")

// stripeParty finds who a Stripe object names (issue 18 §4), in order: the
// customer its metadata keys (created with that key when missing); the
// customer its Stripe customer is bound to; a live customer with the same
// email; a customer keyed by the Stripe customer id. Failing all, a
// customer is created, keyed by Party.Key(), referred by the party's code
// when that code resolves and is not their own. A customer found without a
// referrer gets the code's owner as one, as the API's update allows. An
// email Stripe accepted and we do not, or one another customer has, is
// left out rather than failing the event; a long name is cut. With
// details, a found customer's name and email follow the party's. The
// Stripe customer is then bound to the customer if neither is bound yet.
func (tx *Tx) stripeParty(ctx context.Context, p *referral.Program, party stripe.Party, details bool) (*referral.Customer, error) {
	email := stripeEmail(party.Email)
	name := stripeName(party.Name)
	code := referral.NormalizeCode(party.ReferralCode)
	if len(code) > referral.MaxCodeLen {
		code = ""
	}
	var c *referral.Customer
	var err error
	key := party.CustomerKey
	if referral.ValidKey(key) != "" {
		key = ""
	}
	if key != "" {
		if c, err = tx.stripeFound(tx.Customer(ctx, p.ID, key)); err != nil {
			return nil, err
		}
	}
	if c == nil && key == "" && party.StripeCustomerID != "" {
		if c, err = tx.boundCustomer(ctx, p.ID, party.StripeCustomerID); err != nil {
			return nil, err
		}
	}
	if c == nil && key == "" && email != "" {
		c, err = tx.stripeFound(scanCustomer(tx.tx.QueryRowContext(ctx, `SELECT `+customerColumns+customerFrom+`
			WHERE c.program_id = $1 AND c.email_key = $2 AND c.deleted_at IS NULL`+tx.db.forUpdate("c"),
			p.ID, referral.EmailKey(email))))
		if err != nil {
			return nil, err
		}
	}
	if c == nil && key == "" {
		if key = party.Key(); referral.ValidKey(key) != "" {
			return nil, errStripeNoCustomer
		}
		if c, err = tx.stripeFound(tx.Customer(ctx, p.ID, key)); err != nil {
			return nil, err
		}
	}
	if c == nil {
		if c, err = tx.createStripeCustomer(ctx, p, key, email, name, code); err != nil {
			return nil, err
		}
	} else if c, err = tx.updateStripeCustomer(ctx, p, c, email, name, code, details); err != nil {
		return nil, err
	}
	if party.StripeCustomerID != "" {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO stripe_customers (program_id, stripe_customer_id, customer_id, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, p.ID, party.StripeCustomerID, c.ID, micros(tx.now)); err != nil {
			return nil, fmt.Errorf("bind stripe customer: %w", err)
		}
	}
	return c, nil
}

// stripeFound turns "no such customer" into a nil customer.
func (tx *Tx) stripeFound(c *referral.Customer, err error) (*referral.Customer, error) {
	if errors.Is(err, referral.ErrCustomerNotFound) || errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find customer: %w", err)
	}
	return c, nil
}

// boundCustomer returns the live customer a Stripe customer is bound to,
// or nil. A binding to a deleted customer is dropped, so that the Stripe
// customer can be bound again.
func (tx *Tx) boundCustomer(ctx context.Context, programID, stripeID string) (*referral.Customer, error) {
	var deleted bool
	c, err := tx.stripeFound(scanCustomer(extraScan{tx.tx.QueryRowContext(ctx, `SELECT `+customerColumns+`, c.deleted_at IS NOT NULL`+
		customerFrom+` JOIN stripe_customers s ON s.customer_id = c.id
		WHERE s.program_id = $1 AND s.stripe_customer_id = $2`+tx.db.forUpdate("c"), programID, stripeID), []any{&deleted}}))
	if err != nil || c == nil || !deleted {
		return c, err
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM stripe_customers WHERE program_id = $1 AND stripe_customer_id = $2`,
		programID, stripeID); err != nil {
		return nil, fmt.Errorf("unbind stripe customer: %w", err)
	}
	return nil, nil
}

// createStripeCustomer creates a customer as the API does (default link,
// referral, signup rules), without a referrer when the code is unknown or
// their own, and without the email when another customer has it or there
// is none.
func (tx *Tx) createStripeCustomer(ctx context.Context, p *referral.Program, key, email, name, code string) (*referral.Customer, error) {
	if email != "" {
		taken, err := tx.emailTaken(ctx, p.ID, email, "")
		if err != nil {
			return nil, err
		}
		if taken {
			email = ""
		}
	}
	in := referral.NewCustomer{Key: key, Email: email, Name: name, ReferredBy: code}
	// The API requires an email; Stripe does not, so neither does a
	// customer made from Stripe (see createCustomer).
	if err := in.Normalize(); err != nil && !(email == "" && onlyField(err, "email")) {
		return nil, err
	}
	c, err := tx.createCustomer(ctx, p, in)
	if errors.Is(err, referral.ErrUnknownReferralCode) || errors.Is(err, referral.ErrSelfReferral) {
		// Refused before anything was written: again, unreferred.
		in.ReferredBy = ""
		c, err = tx.createCustomer(ctx, p, in)
	}
	return c, err
}

// onlyField says whether err is a validation error of field alone.
func onlyField(err error, field string) bool {
	e, ok := referral.AsError(err)
	return ok && len(e.Fields) == 1 && e.Fields[field] != ""
}

// updateStripeCustomer gives a found customer the referrer the code names
// when they have none, and, with details, Stripe's name and email.
func (tx *Tx) updateStripeCustomer(ctx context.Context, p *referral.Program, c *referral.Customer, email, name, code string, details bool) (*referral.Customer, error) {
	var u referral.CustomerUpdate
	change := false
	if code != "" && c.ReferrerID == "" {
		u.ReferredBy, change = &code, true
	}
	if details && name != "" && name != c.Name {
		u.Name, change = &name, true
	}
	if details && email != "" && email != c.Email {
		taken, err := tx.emailTaken(ctx, p.ID, email, c.ID)
		if err != nil {
			return nil, err
		}
		if !taken {
			u.Email, change = &email, true
		}
	}
	if !change {
		return c, nil
	}
	updated, err := tx.UpdateCustomer(ctx, p, c.Key, u)
	if u.ReferredBy != nil && (errors.Is(err, referral.ErrUnknownReferralCode) || errors.Is(err, referral.ErrSelfReferral)) {
		// Refused before anything was written: the rest of the change alone.
		u.ReferredBy = nil
		if u.Name == nil && u.Email == nil {
			return c, nil
		}
		updated, err = tx.UpdateCustomer(ctx, p, c.Key, u)
	}
	return updated, err
}

// emailTaken says whether a live customer other than exceptID has email.
func (tx *Tx) emailTaken(ctx context.Context, programID, email, exceptID string) (bool, error) {
	return exists(ctx, tx.tx, "customer email", `SELECT 1 FROM customers WHERE program_id = $1 AND email_key = $2 AND id <> $3`,
		programID, referral.EmailKey(email), exceptID)
}

// stripeEmail is a party's email as we store one, or "" when we would
// refuse it: Stripe accepts addresses we do not.
func stripeEmail(s string) string {
	email, msg := referral.NormalizeEmail(s)
	if msg != "" {
		return ""
	}
	return email
}

// stripeName is a party's name made storable: valid UTF-8 without control
// characters, cut to referral.MaxNameLen characters.
func stripeName(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(clip(strings.TrimSpace(s), referral.MaxNameLen))
}

// clip cuts s to at most n characters, never inside one.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// stripePayment records a paid checkout or invoice as a transaction of its
// payer, keyed Payment.Key, and files its Stripe ids under that key. A
// payment already recorded under another of its ids (an invoice of a paid
// checkout), or under its key by another event for it, is not recorded
// again.
func (tx *Tx) stripePayment(ctx context.Context, p *referral.Program, ev *stripe.Event, pay *stripe.Payment) (StripeApplied, error) {
	out := StripeApplied{TransactionKey: pay.Key}
	switch {
	case referral.ValidKey(pay.Key) != "", pay.Type != rewards.Purchase && pay.Type != rewards.Subscription,
		pay.Amount <= 0, pay.Amount > money.MaxAmount:
		out.Outcome = stripeInvalidPayment
		return out, nil
	case referral.ValidCurrency(pay.Currency) != nil:
		out.Outcome = "unsupported_currency"
		return out, nil
	}
	ids := append([]string{pay.Key}, pay.Aliases...)
	other, err := tx.recordedPayment(ctx, p.ID, ids)
	if err != nil {
		return out, err
	}
	if other != "" {
		out.Outcome, out.TransactionKey = stripeDuplicate, other
		return out, tx.linkStripePayment(ctx, p.ID, other, ids)
	}
	c, err := tx.stripeParty(ctx, p, pay.Party, false)
	if errors.Is(err, errStripeNoCustomer) {
		out.Outcome = stripeNoCustomer
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.CustomerKey = c.Key
	if wait, err := tx.awaitCheckout(ctx, ev, pay, c); err != nil || wait {
		if err == nil {
			err = ErrStripeAwaitingCheckout
		}
		return out, err
	}
	meta := map[string]any{"stripe_event": clip(ev.ID, referral.MaxMetadataStringLen), "source": "stripe"}
	if pay.BillingReason != "" {
		meta["billing_reason"] = clip(pay.BillingReason, referral.MaxMetadataStringLen)
	}
	if pay.SubscriptionID != "" {
		meta["stripe_subscription"] = clip(pay.SubscriptionID, referral.MaxMetadataStringLen)
	}
	in := NewTransaction{CustomerKey: c.Key, Key: pay.Key, Type: pay.Type, Amount: pay.Amount, Currency: pay.Currency, Metadata: meta}
	if !pay.OccurredAt.IsZero() {
		at := pay.OccurredAt
		in.OccurredAt = &at
	}
	_, created, err := tx.RecordTransaction(ctx, p, in)
	switch {
	case errors.Is(err, ErrTransactionKeyReuse):
		// Another event for this payment recorded it since recordedPayment
		// looked (a concurrent delivery on PostgreSQL).
		out.Outcome = stripeDuplicate
	case err != nil:
		return out, err
	case created:
		out.Outcome = stripeApplied
	default:
		out.Outcome = stripeDuplicate
	}
	return out, tx.linkStripePayment(ctx, p.ID, pay.Key, ids)
}

// stripeCheckoutWait is how long a subscription's first invoice waits for
// the Checkout session that may name its referrer.
const stripeCheckoutWait = 10 * time.Minute

// awaitCheckout says whether a subscription's first invoice should wait:
// Stripe does not promise order, and the Checkout session that carries the
// referral code (client_reference_id) often comes after customer.created
// and invoice.paid. Applied first, the invoice would make an unreferred
// customer's first payment, and the referral that arrives a moment later
// would earn nothing. So while the invoice is recent, names no code, and
// its customer is new, has no referrer and has paid nothing, the event is
// refused (and Stripe sends it again); after stripeCheckoutWait it is
// applied as it is. A sync replays old events, which never wait.
func (tx *Tx) awaitCheckout(ctx context.Context, ev *stripe.Event, pay *stripe.Payment, c *referral.Customer) (bool, error) {
	if pay.Type != rewards.Subscription || pay.BillingReason != "subscription_create" || pay.Party.ReferralCode != "" ||
		c.ReferrerID != "" || ev.Created.IsZero() || tx.now.Sub(ev.Created) > stripeCheckoutWait ||
		tx.now.Sub(c.CreatedAt) > stripeCheckoutWait {
		return false, nil
	}
	paid, err := tx.hasTransactions(ctx, c.ID)
	return !paid, err
}

// recordedPayment returns the key of a transaction that one of a
// payment's Stripe ids names, as its key or through stripe_payments: the
// same payment recorded from another event (invoice.paid and
// invoice.payment_succeeded, a checkout and its invoice). "" when there is
// none.
func (tx *Tx) recordedPayment(ctx context.Context, programID string, ids []string) (string, error) {
	ids = stripeIDs(ids)
	if len(ids) == 0 {
		return "", nil
	}
	args := []any{programID}
	in := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		in[i] = fmt.Sprintf("$%d", len(args))
	}
	list := strings.Join(in, ", ")
	// Two lookups by unique index (a single query with OR made SQLite
	// walk the program's transactions in id order: slower with each one).
	for _, q := range []string{
		`SELECT t.key FROM transactions t WHERE t.program_id = $1 AND t.key IN (` + list + `) LIMIT 1`,
		`SELECT t.key FROM stripe_payments s JOIN transactions t ON t.program_id = s.program_id AND t.key = s.transaction_key
			WHERE s.program_id = $1 AND s.stripe_id IN (` + list + `) LIMIT 1`,
	} {
		var other string
		err := tx.tx.QueryRowContext(ctx, q, args...).Scan(&other)
		if err == nil {
			return other, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("find stripe payment: %w", err)
		}
	}
	return "", nil
}

// linkStripePayment files Stripe ids under a transaction key; an id filed
// before keeps its key.
func (tx *Tx) linkStripePayment(ctx context.Context, programID, key string, ids []string) error {
	for _, id := range stripeIDs(append([]string{key}, ids...)) {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO stripe_payments (program_id, stripe_id, transaction_key)
			VALUES ($1, $2, $3) ON CONFLICT (program_id, stripe_id) DO NOTHING`, programID, id, key); err != nil {
			return fmt.Errorf("link stripe payment: %w", err)
		}
	}
	return nil
}

// stripeIDs drops empty and repeated ids, keeping the order.
func stripeIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// stripeTransaction finds the transaction that the first of ids naming
// one stands for: through stripe_payments, else as its own key (a payment
// the business recorded through the API keyed by a Stripe id).
func (tx *Tx) stripeTransaction(ctx context.Context, programID string, ids ...string) (*rewards.Transaction, error) {
	for _, id := range stripeIDs(ids) {
		keys := []string{id}
		var key string
		err := tx.tx.QueryRowContext(ctx, `SELECT transaction_key FROM stripe_payments WHERE program_id = $1 AND stripe_id = $2`,
			programID, id).Scan(&key)
		if err == nil && key != id {
			keys = []string{key, id}
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("find stripe payment: %w", err)
		}
		for _, k := range keys {
			t, err := tx.transactionByKey(ctx, programID, k, false)
			if err == nil {
				return t, nil
			}
			if !errors.Is(err, ErrTransactionNotFound) {
				return nil, err
			}
		}
	}
	return nil, ErrStripePaymentUnknown
}

// stripeRefund refunds what a charge.refunded reports newly refunded:
// amount_refunded is the charge's total, so only what exceeds the total
// last applied to the charge is refunded here.
func (tx *Tx) stripeRefund(ctx context.Context, p *referral.Program, r *stripe.Refund) (StripeApplied, error) {
	t, err := tx.stripeTransaction(ctx, p.ID, r.ChargeID, r.PaymentIntentID, r.InvoiceID)
	if err != nil {
		return StripeApplied{}, err
	}
	out := StripeApplied{TransactionKey: t.Key, CustomerKey: t.CustomerKey}
	if r.Currency != t.Currency {
		out.Outcome = stripeCurrencyMismatch
		return out, nil
	}
	charge := r.ChargeID
	if charge == "" {
		charge = r.PaymentIntentID
	}
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO stripe_charges (program_id, charge_id, transaction_key, refunded)
		VALUES ($1, $2, $3, 0) ON CONFLICT (program_id, charge_id) DO NOTHING`, p.ID, charge, t.Key); err != nil {
		return out, fmt.Errorf("stripe charge: %w", err)
	}
	var seen int64
	if err := tx.tx.QueryRowContext(ctx, `SELECT refunded FROM stripe_charges WHERE program_id = $1 AND charge_id = $2`+
		tx.db.forUpdate(), p.ID, charge).Scan(&seen); err != nil {
		return out, fmt.Errorf("stripe charge: %w", err)
	}
	out.Outcome = stripeNothingNew
	delta := r.AmountRefunded - seen
	if delta <= 0 {
		return out, nil // redelivered, or an older figure arriving late
	}
	if amount := min(delta, t.Amount-t.Refunded); amount > 0 {
		reason := "stripe refund of " + charge
		if len(r.RefundIDs) > 0 {
			reason += " (" + strings.Join(r.RefundIDs, ", ") + ")"
		}
		if _, err := tx.Refund(ctx, p, t.Key, amount, clip(reason, 500)); err != nil {
			return out, err
		}
		out.Outcome = stripeApplied
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_charges SET refunded = $3 WHERE program_id = $1 AND charge_id = $2`,
		p.ID, charge, r.AmountRefunded); err != nil {
		return out, fmt.Errorf("stripe charge: %w", err)
	}
	return out, nil
}

// stripeDispute applies a dispute. Opened, it holds the payment's pending
// rewards for a person's review (the holding job skips rewards that need
// approval) and announces transaction.disputed. Lost, it claws back the
// disputed amount as a refund, once per dispute. Won, it changes nothing:
// the held rewards wait for a person to approve or reject them.
func (tx *Tx) stripeDispute(ctx context.Context, p *referral.Program, d *stripe.Dispute) (StripeApplied, error) {
	t, err := tx.stripeTransaction(ctx, p.ID, d.ChargeID, d.PaymentIntentID)
	if err != nil {
		return StripeApplied{}, err
	}
	out := StripeApplied{Outcome: stripeNothingNew, TransactionKey: t.Key, CustomerKey: t.CustomerKey}
	var closed, seen bool
	var clawedBack int64
	err = tx.tx.QueryRowContext(ctx, `SELECT closed, clawed_back FROM stripe_disputes WHERE program_id = $1 AND dispute_id = $2`+
		tx.db.forUpdate(), p.ID, d.ID).Scan(&closed, &clawedBack)
	switch {
	case err == nil:
		seen = true
	case !errors.Is(err, sql.ErrNoRows):
		return out, fmt.Errorf("stripe dispute: %w", err)
	}
	if !d.Closed {
		if closed {
			return out, nil // a late charge.dispute.created: the dispute is over
		}
		held, err := tx.holdTransactionRewards(ctx, p.ID, t)
		if err != nil {
			return out, err
		}
		if !seen {
			if err := tx.AddEvent(ctx, p.ID, "transaction.disputed", map[string]any{"transaction_id": t.ID, "key": t.Key,
				"dispute_id": d.ID, "amount": d.Amount, "currency": d.Currency}); err != nil {
				return out, err
			}
		}
		if held > 0 || !seen {
			out.Outcome = stripeApplied
		}
	} else if d.Lost && clawedBack == 0 {
		if d.Currency != t.Currency {
			out.Outcome = stripeCurrencyMismatch
		} else if amount := min(d.Amount, t.Amount-t.Refunded); amount > 0 {
			if _, err := tx.Refund(ctx, p, t.Key, amount, clip("dispute lost: "+d.ID, 500)); err != nil {
				return out, err
			}
			clawedBack = d.Amount
			out.Outcome = stripeApplied
		}
	}
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO stripe_disputes (program_id, dispute_id, transaction_key, status, closed,
		clawed_back, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (program_id, dispute_id) DO UPDATE SET
		status = CASE WHEN stripe_disputes.closed THEN stripe_disputes.status ELSE excluded.status END,
		closed = stripe_disputes.closed OR excluded.closed,
		clawed_back = CASE WHEN excluded.clawed_back > stripe_disputes.clawed_back THEN excluded.clawed_back ELSE stripe_disputes.clawed_back END,
		updated_at = excluded.updated_at`,
		p.ID, d.ID, t.Key, clip(d.Status, 100), closed || d.Closed, clawedBack, micros(tx.now))
	if err != nil {
		return out, fmt.Errorf("stripe dispute: %w", err)
	}
	return out, nil
}

// holdTransactionRewards makes the pending rewards of a payment wait for a
// person's approval, and returns how many it held.
func (tx *Tx) holdTransactionRewards(ctx context.Context, programID string, t *rewards.Transaction) (int, error) {
	rws, err := tx.db.queryRewards(ctx, tx.tx, `SELECT `+rewardColumns+rewardFrom+transactionRewardsWhere+
		` AND r.status = 'pending' AND r.needs_approval = FALSE ORDER BY r.id`+tx.db.forUpdate("r"), t.CustomerID, t.ID)
	if err != nil {
		return 0, err
	}
	for _, rw := range rws {
		plan := tx.env().Hold(rw)
		if err := tx.apply(ctx, programID, &plan); err != nil {
			return 0, err
		}
	}
	return len(rws), nil
}
