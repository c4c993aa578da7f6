package stripe_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
)

// memStore is an in-memory outbox that records as the store does: done,
// skipped, failed for good, or due again after RetryDelay.
type memStore struct {
	mu      sync.Mutex
	now     time.Time
	actions []*memAction
}

type memAction struct {
	stripe.Action
	status   string
	due      time.Time
	outcomes []stripe.ActionOutcome
}

func newMemStore() *memStore {
	return &memStore{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (m *memStore) clock() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return m.now }
func (m *memStore) jump(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

func (m *memStore) add(a stripe.Action) *memAction {
	m.mu.Lock()
	defer m.mu.Unlock()
	ma := &memAction{Action: a, status: stripe.ActionPending, due: m.now}
	m.actions = append(m.actions, ma)
	return ma
}

func (m *memStore) ClaimStripeActions(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]stripe.Action, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []stripe.Action
	for _, a := range m.actions {
		if len(out) < limit && a.status == stripe.ActionPending && !a.due.After(now) {
			a.due = now.Add(lease)
			out = append(out, a.Action)
		}
	}
	return out, nil
}

func (m *memStore) RecordStripeAction(ctx context.Context, id string, o stripe.ActionOutcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.actions {
		if a.ID != id || a.status != stripe.ActionPending {
			continue
		}
		a.outcomes = append(a.outcomes, o)
		switch {
		case o.Done:
			a.status = stripe.ActionDone
		case o.Skipped != "":
			a.status = stripe.ActionSkipped
		case o.Permanent:
			a.status = stripe.ActionFailed
		default:
			a.Attempts++
			d, ok := stripe.RetryDelay(a.Attempts)
			if !ok {
				a.status = stripe.ActionFailed
			}
			a.due = m.now.Add(d)
		}
	}
	return nil
}

func (m *memStore) get(a *memAction) memAction {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *a
	c.outcomes = append([]stripe.ActionOutcome(nil), a.outcomes...)
	return c
}

// setup is a fake Stripe with Jane's Stripe customer, an outbox and an
// Applier on it.
func setup(t *testing.T) (*stripetest.Server, *memStore, *stripe.Applier) {
	fake := stripetest.NewServer(t)
	fake.AddCustomer("cus_jane", "usd")
	m := newMemStore()
	fake.SetNow(m.clock)
	return fake, m, &stripe.Applier{Store: m, Now: m.clock}
}

func credit(fake *stripetest.Server, id string, amount int64) stripe.Action {
	return stripe.Action{ID: id, ProgramID: "prg_1", RewardID: "rw_" + id, Seq: 1, Kind: stripe.ActionCredit,
		StripeCustomerID: "cus_jane", Amount: amount, Currency: "USD", SecretKey: stripetest.SecretKey, APIBaseURL: fake.URL}
}

// runUntilSettled runs the Applier, moving the clock to each retry, until
// no action is pending; it returns how many passes it took.
func runUntilSettled(t *testing.T, m *memStore, ap *stripe.Applier) int {
	t.Helper()
	for pass := 1; pass <= 10; pass++ {
		if _, err := ap.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		pending := false
		m.mu.Lock()
		for _, a := range m.actions {
			pending = pending || a.status == stripe.ActionPending
		}
		m.mu.Unlock()
		if !pending {
			return pass
		}
		// Beyond the first four retry delays, and well within the 24 hours
		// the fake keeps an Idempotency-Key.
		m.jump(time.Hour)
	}
	t.Fatal("actions still pending after 10 passes")
	return 0
}

// TestApplierCreditOnce: a credit lands once in Stripe whatever is lost
// or refused on the way, and is recorded done with its transaction's id.
func TestApplierCreditOnce(t *testing.T) {
	tests := []struct {
		name   string
		faults []stripetest.Fault
		passes int // attempts the outbox makes; 0: any (the HTTP transport may retry a lost response itself)
	}{
		{"no fault", nil, 1},
		{"response lost after applying (hang-up)", []stripetest.Fault{stripetest.HangUpAfterApply}, 0},
		{"response lost after applying (500)", []stripetest.Fault{stripetest.ErrorAfterApply}, 2},
		{"429 twice", []stripetest.Fault{stripetest.RateLimit, stripetest.RateLimit}, 3},
		{"500", []stripetest.Fault{stripetest.ServerError}, 2},
		{"lost twice, then 429", []stripetest.Fault{stripetest.ErrorAfterApply, stripetest.ErrorAfterApply, stripetest.RateLimit}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, m, ap := setup(t)
			for _, f := range tt.faults {
				fake.Inject(stripetest.RouteBalanceTransactions, 1, f)
			}
			a := m.add(credit(fake, "act_1", 2000))
			passes := runUntilSettled(t, m, ap)
			if tt.passes != 0 && passes != tt.passes {
				t.Errorf("%d passes, want %d", passes, tt.passes)
			}
			got := m.get(a)
			bts := fake.BalanceTransactions("cus_jane")
			if got.status != stripe.ActionDone || len(bts) != 1 || fake.Balance("cus_jane") != -2000 {
				t.Fatalf("status %s, outcomes %+v, balance transactions %+v", got.status, got.outcomes, bts)
			}
			if ids := got.outcomes[len(got.outcomes)-1].StripeIDs; len(ids) != 1 || ids[0] != bts[0].ID {
				t.Errorf("StripeIDs = %v, want [%s]", ids, bts[0].ID)
			}
			for _, o := range got.outcomes[:len(got.outcomes)-1] {
				if o.Permanent || o.Error == "" {
					t.Errorf("a failed attempt's outcome = %+v, want a retryable error", o)
				}
			}
			bt := bts[0]
			if bt.Amount != -2000 || bt.Currency != "usd" || bt.Description != "Referral reward" ||
				bt.Metadata["advocate_reward_id"] != "rw_act_1" || bt.Metadata["advocate_action"] != "credit-1" {
				t.Errorf("balance transaction = %+v", bt)
			}
			for _, c := range fake.Calls(stripetest.RouteBalanceTransactions) {
				if k := c.Header.Get("Idempotency-Key"); k != "advocate-rw_act_1-credit-1" {
					t.Errorf("Idempotency-Key = %q", k)
				}
			}
		})
	}
}

// TestApplierTimeout: a call Stripe applies after the Applier gave up on
// it is not applied again: the retry meets the same key still in flight
// (409, retried later), then its result.
func TestApplierTimeout(t *testing.T) {
	fake, m, ap := setup(t)
	ap.HTTP = &http.Client{Timeout: 100 * time.Millisecond}
	fake.Inject(stripetest.RouteBalanceTransactions, 1, stripetest.Slow(400*time.Millisecond))
	a := m.add(credit(fake, "act_1", 2000))

	ap.RunOnce(t.Context())
	if o := m.get(a).outcomes; len(o) != 1 || o[0].Permanent || !strings.Contains(o[0].Error, "no answer in time") {
		t.Fatalf("first attempt: %+v, want a timeout to retry", o)
	}
	m.jump(time.Minute)
	ap.RunOnce(t.Context())
	if o := m.get(a).outcomes; len(o) != 2 || o[1].Permanent || !strings.Contains(o[1].Error, "idempotency_key_in_use") {
		t.Fatalf("second attempt: %+v, want the key in use, to retry", o)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(fake.BalanceTransactions("cus_jane")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	m.jump(3 * time.Minute)
	ap.RunOnce(t.Context())
	got := m.get(a)
	calls := fake.Calls(stripetest.RouteBalanceTransactions)
	if got.status != stripe.ActionDone || len(fake.BalanceTransactions("cus_jane")) != 1 || !calls[len(calls)-1].Replayed {
		t.Errorf("status %s, outcomes %+v, %d balance transactions", got.status, got.outcomes, len(fake.BalanceTransactions("cus_jane")))
	}
}

// TestApplierPermanent: what retrying cannot fix fails at once, with a
// message saying what to do.
func TestApplierPermanent(t *testing.T) {
	fake, m, ap := setup(t)
	fake.AddKey("rk_test_coupons_only", stripetest.PermCouponWrite)
	noPermission := credit(fake, "act_1", 2000)
	noPermission.SecretKey = "rk_test_coupons_only"
	a := m.add(noPermission)
	unknownCustomer := credit(fake, "act_2", 2000)
	unknownCustomer.StripeCustomerID = "cus_gone"
	b := m.add(unknownCustomer)
	badCurrency := credit(fake, "act_3", 2000)
	badCurrency.Currency = "XYZ"
	c := m.add(badCurrency)

	if n, err := ap.RunOnce(t.Context()); n != 3 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	for _, tt := range []struct {
		a    *memAction
		want string
	}{
		{a, `give the restricted key write access to Customers ("Customers: write")`},
		{b, "No such customer: 'cus_gone'"},
		{c, "cannot send 2000 XYZ to Stripe"},
	} {
		got := m.get(tt.a)
		if got.status != stripe.ActionFailed || len(got.outcomes) != 1 || !got.outcomes[0].Permanent ||
			!strings.Contains(got.outcomes[0].Error, tt.want) {
			t.Errorf("%s: status %s, outcomes %+v; want failed with %q", got.ID, got.status, got.outcomes, tt.want)
		}
	}
	if n := len(fake.Calls(stripetest.RouteBalanceTransactions)); n != 2 {
		t.Errorf("%d calls, want 2 (no call for an unsupported currency)", n)
	}
}

// TestApplierRetriesThenFails: an action Stripe keeps refusing with 500
// fails after MaxAttempts attempts.
func TestApplierRetriesThenFails(t *testing.T) {
	fake, m, ap := setup(t)
	fake.Inject(stripetest.RouteBalanceTransactions, 100, stripetest.ServerError)
	a := m.add(credit(fake, "act_1", 2000))
	for range stripe.MaxAttempts + 2 {
		ap.RunOnce(t.Context())
		m.jump(13 * time.Hour)
	}
	got := m.get(a)
	if got.status != stripe.ActionFailed || len(got.outcomes) != stripe.MaxAttempts {
		t.Errorf("status %s after %d attempts, want failed after %d", got.status, len(got.outcomes), stripe.MaxAttempts)
	}
}

// TestApplierDiscountAndVoid: a discount is a single-use coupon and a
// promotion code with the reward's code, restricted to the customer; a
// failure between the two calls creates no second coupon; a void
// deactivates the code.
func TestApplierDiscountAndVoid(t *testing.T) {
	fake, m, ap := setup(t)
	expires := m.clock().Add(30 * 24 * time.Hour)
	fake.Inject(stripetest.RoutePromotionCodes, 1, stripetest.ServerError)
	disc := m.add(stripe.Action{ID: "act_1", RewardID: "rw_1", Seq: 1, Kind: stripe.ActionDiscount,
		StripeCustomerID: "cus_jane", Code: "GIFT-ABCD2345", PercentOff: 1500, ExpiresAt: &expires,
		SecretKey: stripetest.SecretKey, APIBaseURL: fake.URL})
	amount := m.add(stripe.Action{ID: "act_2", RewardID: "rw_2", Seq: 1, Kind: stripe.ActionDiscount,
		StripeCustomerID: "cus_jane", Code: "GIFT-EFGH6789", Amount: 500, Currency: "USD",
		SecretKey: stripetest.SecretKey, APIBaseURL: fake.URL})
	runUntilSettled(t, m, ap)

	coupons := fake.Coupons()
	promos := fake.PromotionCodes()
	if len(coupons) != 2 || len(promos) != 2 {
		t.Fatalf("coupons %+v, promotion codes %+v; want 2 of each", coupons, promos)
	}
	for _, tt := range []struct {
		a          *memAction
		percentOff string
		amountOff  int64
		redeemBy   int64
	}{{disc, "15", 0, expires.Unix()}, {amount, "", 500, 0}} {
		got := m.get(tt.a)
		if got.status != stripe.ActionDone {
			t.Fatalf("%s: status %s, outcomes %+v", got.ID, got.status, got.outcomes)
		}
		ids := got.outcomes[len(got.outcomes)-1].StripeIDs
		c, ok := coupons[ids[0]]
		if !ok || c.PercentOff != tt.percentOff || c.AmountOff != tt.amountOff || c.Duration != "once" ||
			c.MaxRedemptions != 1 || c.RedeemBy != tt.redeemBy || c.Metadata["advocate_reward_id"] != got.RewardID {
			t.Errorf("%s: coupon %+v", got.ID, c)
		}
		if tt.amountOff != 0 && c.Currency != "usd" {
			t.Errorf("%s: coupon currency %q", got.ID, c.Currency)
		}
		var p stripetest.PromotionCode
		for _, pc := range promos {
			if pc.ID == ids[1] {
				p = pc
			}
		}
		if p.Code != got.Code || p.Coupon != c.ID || p.Customer != "cus_jane" || p.MaxRedemptions != 1 || !p.Active ||
			p.ExpiresAt != tt.redeemBy {
			t.Errorf("%s: promotion code %+v", got.ID, p)
		}
	}
	if n := len(m.get(disc).outcomes) + len(m.get(amount).outcomes); n != 3 {
		t.Errorf("%d attempts, want 3 (one promotion code refused once)", n)
	}
	replays := 0
	for _, c := range fake.Calls(stripetest.RouteCoupons) {
		if c.Replayed {
			replays++
		}
	}
	if replays != 1 {
		t.Errorf("%d coupon calls replayed, want 1 (the retry of the discount whose promotion code failed)", replays)
	}

	promoID := m.get(disc).outcomes[len(m.get(disc).outcomes)-1].StripeIDs[1]
	void := m.add(stripe.Action{ID: "act_3", RewardID: "rw_1", Seq: 2, Kind: stripe.ActionVoid,
		StripeCustomerID: "cus_jane", PromotionCodeID: promoID, SecretKey: stripetest.SecretKey, APIBaseURL: fake.URL})
	runUntilSettled(t, m, ap)
	if got := m.get(void); got.status != stripe.ActionDone {
		t.Errorf("void: status %s, outcomes %+v", got.status, got.outcomes)
	}
	for _, p := range fake.PromotionCodes() {
		if p.Active == (p.ID == promoID) {
			t.Errorf("promotion code %s active = %v", p.ID, p.Active)
		}
	}
	calls := fake.Calls(stripetest.RoutePromotionCode)
	if len(calls) != 1 || calls[0].Header.Get("Idempotency-Key") != "advocate-rw_1-void-2" {
		t.Errorf("void calls = %+v", calls)
	}
}

// TestApplierSkips: an action that cannot be made says why, and calls
// nothing.
func TestApplierSkips(t *testing.T) {
	fake, m, ap := setup(t)
	noCustomer := credit(fake, "act_1", 100)
	noCustomer.StripeCustomerID = ""
	noKey := credit(fake, "act_2", 100)
	noKey.SecretKey = ""
	past := m.clock().Add(-time.Hour)
	expired := stripe.Action{ID: "act_3", RewardID: "rw_3", Seq: 1, Kind: stripe.ActionDiscount, StripeCustomerID: "cus_jane",
		Code: "GIFT-X", PercentOff: 1000, ExpiresAt: &past, SecretKey: stripetest.SecretKey, APIBaseURL: fake.URL}
	noPromo := stripe.Action{ID: "act_4", RewardID: "rw_4", Seq: 2, Kind: stripe.ActionVoid, StripeCustomerID: "cus_jane",
		SecretKey: stripetest.SecretKey, APIBaseURL: fake.URL}
	want := map[*memAction]string{m.add(noCustomer): "no_stripe_customer", m.add(noKey): "no_secret_key",
		m.add(expired): "expired", m.add(noPromo): "no_promotion_code"}
	runUntilSettled(t, m, ap)
	for a, reason := range want {
		if got := m.get(a); got.status != stripe.ActionSkipped || got.outcomes[0].Skipped != reason {
			t.Errorf("%s: status %s, outcomes %+v; want skipped %s", got.ID, got.status, got.outcomes, reason)
		}
	}
	if n := len(fake.Calls("")); n != 0 {
		t.Errorf("%d calls to Stripe, want none", n)
	}
}

// TestApplierRun: a running Applier applies credits and debits (a
// clawback) in parallel, in Stripe's minor units of each currency.
func TestApplierRun(t *testing.T) {
	fake, m, ap := setup(t)
	fake.AddCustomer("cus_taro", "jpy")
	ap.Interval, ap.Concurrency = 5*time.Millisecond, 2
	fake.Inject(stripetest.RouteBalanceTransactions, 2, stripetest.RateLimit)
	m.add(credit(fake, "act_1", 2000))
	debit := credit(fake, "act_2", 500)
	debit.RewardID, debit.Kind = "rw_act_1", stripe.ActionDebit
	m.add(debit)
	yen := credit(fake, "act_3", 1500)
	yen.StripeCustomerID, yen.Currency = "cus_taro", "JPY"
	m.add(yen)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { ap.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.jump(time.Minute) // make retries due
		ap.Notify()
		m.mu.Lock()
		settled := 0
		for _, a := range m.actions {
			if a.status == stripe.ActionDone {
				settled++
			}
		}
		m.mu.Unlock()
		if settled == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 actions done", settled)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := fake.Balance("cus_jane"); got != -1500 {
		t.Errorf("Jane's balance = %d, want -1500 (credit 2000, debit 500)", got)
	}
	if got := fake.Balance("cus_taro"); got != -1500 {
		t.Errorf("Taro's balance = %d yen, want -1500", got)
	}
	for _, bt := range fake.BalanceTransactions("cus_jane") {
		if bt.Amount > 0 && bt.Description != "Referral reward reversed" {
			t.Errorf("debit %+v", bt)
		}
	}
}
