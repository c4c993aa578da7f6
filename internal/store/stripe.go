package store

// SKELETON (issue 18): signatures agreed in /work/briefs/stripe-api.md;
// the bodies are being written. Replace every errStripeTODO.

import (
	"context"
	"errors"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
)

var errStripeTODO = errors.New("stripe: not written yet")

// Stripe integration errors a client can cause.
var (
	ErrStripeNotConnected = referral.Errorf(referral.KindNotFound, "integration_not_found",
		"Stripe is not connected to this program.")
	ErrEncryptionKeyRequired = referral.Errorf(referral.KindConflict, "encryption_key_required",
		"This server has no encryption key for integration secrets: start it with --encryption-key (the same on every node).")
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

// ConnectStripe connects (or updates) a program's Stripe integration.
func (db *DB) ConnectStripe(ctx context.Context, programID string, in StripeSettings) (*StripeIntegration, error) {
	return nil, errStripeTODO
}

// StripeIntegration reads a program's integration, secrets opened.
func (db *DB) StripeIntegration(ctx context.Context, programID string) (*StripeIntegration, error) {
	return nil, errStripeTODO
}

// DisconnectStripe removes a program's integration (bindings and history stay).
func (db *DB) DisconnectStripe(ctx context.Context, programID string) error {
	return errStripeTODO
}

// ApplyStripeEvent applies one verified, decoded event in one database
// transaction that also records its id.
func (db *DB) ApplyStripeEvent(ctx context.Context, p *referral.Program, ev *stripe.Event, ch stripe.Change) (StripeApplied, error) {
	return StripeApplied{}, errStripeTODO
}

// RecordStripeError keeps the latest error for the dashboard.
func (db *DB) RecordStripeError(ctx context.Context, programID, msg string) error {
	return errStripeTODO
}

// StartStripeSync marks a sync running (ErrStripeSyncRunning if one is and
// its heartbeat is fresh).
func (db *DB) StartStripeSync(ctx context.Context, programID string, since time.Time) error {
	return errStripeTODO
}

// StripeSyncProgress records a sync's progress; status "running", "done"
// or "failed" (with errMsg).
func (db *DB) StripeSyncProgress(ctx context.Context, programID string, done, total int, status, errMsg string) error {
	return errStripeTODO
}
