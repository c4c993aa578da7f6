// Package stripesync joins the Stripe integration to the store: it
// verifies and applies the events Stripe sends to a program's webhook
// endpoint, and replays what was missed from Stripe's events API
// (a reconcile sync, from the dashboard, the API or `advocate stripe
// sync`). The decisions are package stripe's; each event is applied by
// one store operation that also records its id, so a redelivery, a replay
// or a sync overlapping the webhooks applies nothing twice.
package stripesync

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// MaxBody is the largest webhook body read; Stripe's events are a few KB.
const MaxBody = 1 << 20

// Errors a webhook request can get. Unknown programs and programs without
// the integration answer alike, so the endpoint does not tell which
// program ids exist.
var (
	ErrMissingSignature = referral.Errorf(referral.KindMalformed, "missing_signature",
		"The Stripe-Signature header is missing or has no t= and v1= parts.")
	ErrInvalidSignature = referral.Errorf(referral.KindMalformed, "invalid_signature",
		"No v1 signature in Stripe-Signature matches the body with this program's signing secret; copy the endpoint's signing secret (whsec_…) from Stripe into Advocate.")
	ErrStaleSignature = referral.Errorf(referral.KindMalformed, "stale_signature",
		"The Stripe-Signature timestamp is more than 5 minutes from this server's clock; check the server's time.")
	ErrMalformedEvent = referral.Errorf(referral.KindMalformed, "malformed_event",
		"The body is not a Stripe event.")
	// ErrInvalidEvent: a signed event whose object lacks what its type
	// needs (an id, an amount) or has impossible values (a negative
	// amount, more refunded than paid).
	ErrInvalidEvent = referral.Errorf(referral.KindInvalid, "invalid_event",
		"The event's object is not what Stripe sends for its type; nothing was applied.")
	ErrTooLarge = referral.Errorf(referral.KindMalformed, "body_too_large",
		"The body is larger than 1 MiB; Stripe events are far smaller.")
	ErrSyncNeedsKey = referral.FieldError("secret_key_required", "secret_key",
		"A sync reads Stripe's events API: set a secret key (or a restricted key with Events: read) first.")
	ErrSyncSince = referral.FieldError("invalid_since", "since",
		"Since must be a date within the last 30 days: Stripe keeps events for 30 days.")
)

// Result is what a webhook delivery did.
type Result struct {
	EventID string `json:"event_id"`
	// Outcome is "applied", "replay" or the reason it was ignored.
	Outcome        string `json:"outcome"`
	TransactionKey string `json:"transaction_key,omitempty"`
	CustomerKey    string `json:"customer_key,omitempty"`
}

// Service verifies, applies and syncs Stripe events for every program.
type Service struct {
	DB  *store.DB
	Now func() time.Time
	Log *slog.Logger
	// HTTP is the client for Stripe's API (syncs); nil is a default with
	// a 30 s timeout.
	HTTP *http.Client

	mu        sync.Mutex
	errWrites map[string]time.Time // program → when a signature error was last recorded
	syncs     sync.WaitGroup
	base      context.Context // background syncs stop with it (Run)
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Run keeps ctx as the context of background syncs and waits, when ctx
// ends, for them to record where they stopped.
func (s *Service) Run(ctx context.Context) {
	s.mu.Lock()
	s.base = ctx
	s.mu.Unlock()
	<-ctx.Done()
	s.syncs.Wait()
}

// HandleWebhook verifies one delivery to programID's endpoint and applies
// it. It answers a client error (a referral.Error) for a bad, missing or
// stale signature and a body that is no event, before anything is
// written; a refund or dispute whose payment has not arrived yet is a
// conflict, so that Stripe sends it again later.
func (s *Service) HandleWebhook(ctx context.Context, programID, signature string, body []byte) (Result, error) {
	p, in, err := s.connected(ctx, programID)
	if err != nil {
		return Result{}, err
	}
	if err := stripe.VerifySignature(signature, body, in.WebhookSecret, s.now(), stripe.DefaultTolerance); err != nil {
		cerr := signatureError(err)
		s.recordError(ctx, programID, cerr.(*referral.Error).Message, true)
		return Result{}, cerr
	}
	ev, err := stripe.ParseEvent(body)
	if err != nil {
		return Result{}, ErrMalformedEvent
	}
	res, err := s.apply(ctx, p, ev)
	if err != nil {
		var re *referral.Error
		// Waiting for a Checkout session is expected, not a problem.
		if errors.As(err, &re) && !errors.Is(err, store.ErrStripeAwaitingCheckout) {
			s.recordError(ctx, programID, ev.Type+" "+ev.ID+": "+re.Message, false)
		}
		return res, err
	}
	return res, nil
}

// connected reads a program and its integration; either missing is
// ErrStripeNotConnected.
func (s *Service) connected(ctx context.Context, programID string) (*referral.Program, *store.StripeIntegration, error) {
	p, err := s.DB.Program(ctx, programID)
	if errors.Is(err, referral.ErrProgramNotFound) {
		return nil, nil, store.ErrStripeNotConnected
	}
	if err != nil {
		return nil, nil, err
	}
	in, err := s.DB.StripeIntegration(ctx, programID)
	if err != nil {
		return nil, nil, err
	}
	return p, in, nil
}

func signatureError(err error) error {
	switch {
	case errors.Is(err, stripe.ErrNoSignature):
		return ErrMissingSignature
	case errors.Is(err, stripe.ErrStaleSignature):
		return ErrStaleSignature
	}
	return ErrInvalidSignature
}

// apply decodes a verified event and applies it.
func (s *Service) apply(ctx context.Context, p *referral.Program, ev *stripe.Event) (Result, error) {
	// PostgreSQL cannot store a NUL character, which JSON can carry
	// (\u0000); Stripe's text has none in practice, but a signed event is
	// applied, not refused for it: each becomes U+FFFD.
	ev.ID, ev.Type = strings.ReplaceAll(ev.ID, "\x00", "\uFFFD"), strings.ReplaceAll(ev.Type, "\x00", "\uFFFD")
	ev.Object = bytes.ReplaceAll(ev.Object, []byte(`\u0000`), []byte(`\ufffd`))
	res := Result{EventID: ev.ID}
	ch, err := stripe.Decode(ev)
	if err != nil {
		return res, ErrInvalidEvent
	}
	a, err := s.DB.ApplyStripeEvent(ctx, p, ev, ch)
	if err != nil {
		return res, err
	}
	res.Outcome, res.TransactionKey, res.CustomerKey = a.Outcome, a.TransactionKey, a.CustomerKey
	if a.Replay {
		res.Outcome = "replay"
	}
	if ch.Ignore != "" && ch.Detail != "" && !a.Replay && ch.Ignore != "unhandled_type" {
		s.Log.Info("stripe event ignored", "program", p.ID, "event", ev.ID, "type", ev.Type, "reason", ch.Ignore, "detail", ch.Detail)
	}
	return res, nil
}

// recordError keeps an error for the dashboard's status light. Errors
// anyone can cause without the secret (bad signatures) are written at most
// once a minute per program, so that forged requests cannot make the
// endpoint a write load.
func (s *Service) recordError(ctx context.Context, programID, msg string, throttle bool) {
	if throttle {
		s.mu.Lock()
		if s.errWrites == nil {
			s.errWrites = map[string]time.Time{}
		}
		now := s.now()
		last, ok := s.errWrites[programID]
		if ok && now.Sub(last) < time.Minute {
			s.mu.Unlock()
			return
		}
		s.errWrites[programID] = now
		s.mu.Unlock()
	}
	if err := s.DB.RecordStripeError(ctx, programID, msg); err != nil && ctx.Err() == nil {
		s.Log.Warn("record stripe error", "program", programID, "err", err)
	}
}
