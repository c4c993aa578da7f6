package stripe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// toStripe converts our amounts to Stripe's minor units.
var toStripe = ToStripeAmount

// ActionStore is what the Applier needs of the store (*store.DB).
type ActionStore interface {
	// ClaimStripeActions returns up to limit pending actions due at now
	// and makes them due again only at now+lease.
	ClaimStripeActions(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Action, error)
	// RecordStripeAction records an attempt at an action.
	RecordStripeAction(ctx context.Context, id string, o ActionOutcome) error
}

// Applier makes the reward outbox's actions in Stripe, as email.Mailer
// sends the email outbox. Any number may run on one database: a claimed
// action is another's only after its lease, and every call carries the
// action's Idempotency-Key, so a second attempt (after a lost response,
// or a worker that died mid-call) never applies an action twice.
type Applier struct {
	Store ActionStore
	Now   func() time.Time
	Log   *slog.Logger
	// HTTP is shared by the actions' clients (http.DefaultClient when nil).
	HTTP *http.Client
	// Interval is how often the outbox is polled (default a second).
	Interval time.Duration
	// Lease is how long a claimed action is this Applier's (default two
	// minutes: well beyond a discount's two calls of DefaultTimeout).
	Lease time.Duration
	// Concurrency bounds the actions in flight (default 4).
	Concurrency int

	once sync.Once
	wake chan struct{}
}

func (a *Applier) init() {
	a.once.Do(func() {
		a.wake = make(chan struct{}, 1)
		if a.Concurrency <= 0 {
			a.Concurrency = 4
		}
		if a.Interval <= 0 {
			a.Interval = time.Second
		}
		if a.Lease <= 0 {
			a.Lease = 2 * time.Minute
		}
		if a.Now == nil {
			a.Now = time.Now
		}
		if a.Log == nil {
			a.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Notify asks a running Applier to look for work now; it never blocks.
func (a *Applier) Notify() {
	a.init()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run applies actions until ctx is done, then waits for those in flight,
// which finish and are recorded whatever ctx says.
func (a *Applier) Run(ctx context.Context) {
	a.init()
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	var (
		mu       sync.Mutex
		inFlight int
		applies  sync.WaitGroup
	)
	defer applies.Wait()
	for {
		mu.Lock()
		room := a.Concurrency - inFlight
		mu.Unlock()
		if room > 0 && ctx.Err() == nil {
			as, err := a.Store.ClaimStripeActions(ctx, a.Now(), room, a.Lease)
			if err != nil && ctx.Err() == nil {
				a.Log.Error("claim stripe actions", "err", err)
			}
			mu.Lock()
			inFlight += len(as)
			mu.Unlock()
			for _, act := range as {
				applies.Go(func() {
					a.apply(context.WithoutCancel(ctx), act)
					mu.Lock()
					inFlight--
					mu.Unlock()
					a.Notify()
				})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.wake:
		}
	}
}

// RunOnce claims up to Concurrency due actions, applies them in parallel
// and records them; it returns how many it claimed.
func (a *Applier) RunOnce(ctx context.Context) (int, error) {
	a.init()
	as, err := a.Store.ClaimStripeActions(ctx, a.Now(), a.Concurrency, a.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim stripe actions: %w", err)
	}
	var wg sync.WaitGroup
	for _, act := range as {
		wg.Go(func() { a.apply(ctx, act) })
	}
	wg.Wait()
	return len(as), nil
}

// apply makes one attempt at an action and records it.
func (a *Applier) apply(ctx context.Context, act Action) {
	o := a.attempt(ctx, act)
	if err := a.Store.RecordStripeAction(ctx, act.ID, o); err != nil {
		// The lease runs out and the action is attempted again, with the
		// same Idempotency-Key.
		a.Log.Error("record stripe action", "action", act.ID, "err", err)
		return
	}
	if o.Error != "" {
		a.Log.Info("stripe action not applied", "action", act.ID, "kind", act.Kind, "attempts", act.Attempts+1,
			"permanent", o.Permanent, "err", o.Error)
	}
}

// attempt makes an action's calls to Stripe.
func (a *Applier) attempt(ctx context.Context, act Action) ActionOutcome {
	if act.SecretKey == "" {
		return ActionOutcome{Skipped: "no_secret_key"}
	}
	if act.StripeCustomerID == "" && act.Kind != ActionVoid {
		return ActionOutcome{Skipped: "no_stripe_customer"}
	}
	c := &Client{BaseURL: act.APIBaseURL, SecretKey: act.SecretKey, HTTP: a.HTTP}
	meta := map[string]string{"advocate_reward_id": act.RewardID, "advocate_action": act.Kind + "-" + strconv.Itoa(act.Seq)}
	switch act.Kind {
	case ActionCredit, ActionDebit:
		amount, err := toStripe(act.Amount, act.Currency)
		if err != nil || amount <= 0 {
			return ActionOutcome{Error: fmt.Sprintf("cannot send %d %s to Stripe: %v", act.Amount, act.Currency, err), Permanent: true}
		}
		description := "Referral reward"
		if act.Kind == ActionCredit {
			amount = -amount // a credit is a negative balance
		} else {
			description = "Referral reward reversed"
		}
		id, err := c.CreateBalanceTransaction(ctx, act.StripeCustomerID, amount, strings.ToLower(act.Currency),
			description, act.IdempotencyKey(""), meta)
		if err != nil {
			return failed(err)
		}
		return ActionOutcome{Done: true, StripeIDs: []string{id}}
	case ActionDiscount:
		if act.ExpiresAt != nil && !act.ExpiresAt.After(a.Now()) {
			return ActionOutcome{Skipped: "expired"}
		}
		cp := CouponParams{PercentOff: act.PercentOff, Name: "Referral reward", ExpiresAt: act.ExpiresAt, Metadata: meta}
		if act.PercentOff == 0 {
			amount, err := toStripe(act.Amount, act.Currency)
			if err != nil {
				return ActionOutcome{Error: fmt.Sprintf("cannot send %d %s to Stripe: %v", act.Amount, act.Currency, err), Permanent: true}
			}
			cp.AmountOff, cp.Currency = amount, strings.ToLower(act.Currency)
		}
		coupon, err := c.CreateCoupon(ctx, cp, act.IdempotencyKey("coupon"))
		if err != nil {
			return failed(err)
		}
		promo, err := c.CreatePromotionCode(ctx, coupon, act.Code, act.StripeCustomerID, act.ExpiresAt, act.IdempotencyKey("promotion_code"))
		if err != nil {
			return failed(err)
		}
		return ActionOutcome{Done: true, StripeIDs: []string{coupon, promo}}
	case ActionVoid:
		if act.PromotionCodeID == "" {
			return ActionOutcome{Skipped: "no_promotion_code"}
		}
		if err := c.DeactivatePromotionCode(ctx, act.PromotionCodeID, act.IdempotencyKey("")); err != nil {
			return failed(err)
		}
		return ActionOutcome{Done: true, StripeIDs: []string{act.PromotionCodeID}}
	}
	return ActionOutcome{Error: "unknown action kind " + strconv.Quote(act.Kind), Permanent: true}
}

// failed is the outcome of a call Stripe refused or that got no answer:
// permanent only when Stripe refused it for good (a bad request, a key
// without permission), never for a timeout or a cancelled context.
func failed(err error) ActionOutcome {
	var ae *APIError
	permanent := errors.Is(err, ErrInvalidParams) || errors.As(err, &ae) && !ae.Retryable()
	return ActionOutcome{Error: err.Error(), Permanent: permanent}
}
