package store_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// stripeFixture is a program applying rewards in Stripe: a purchase gives
// the referrer 10.00 USD of credit and the friend a 20 % discount code,
// both at once. jane referred bob; both are bound to Stripe customers.
type stripeFixture struct {
	p         *referral.Program
	jane, bob *referral.Customer
	now       func() time.Time
	jump      func(time.Duration)
}

const stripeTestKey = "sk_test_actions"

func newStripeFixture(t *testing.T, db *store.DB) *stripeFixture {
	t.Helper()
	ctx := t.Context()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	box, err := secrets.New(make([]byte, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db.Secrets = box
	f := &stripeFixture{p: newProgram(t, db), now: db.Now}
	f.jump = func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	for _, r := range []rewards.Rule{
		{Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit, Unit: rewards.Fixed, Amount: 1000, Currency: "USD"},
		{Trigger: rewards.Purchase, Recipient: rewards.Friend, RewardType: rewards.Discount, Unit: rewards.Percentage, Amount: 2000},
	} {
		r.ProgramID, r.Recurrence, r.Active = f.p.ID, rewards.First, true
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
	}
	f.jane = newCustomer(t, db, f.p, referral.NewCustomer{Key: "jane", Email: "jane@example.com"})
	f.bob = newCustomer(t, db, f.p, referral.NewCustomer{Key: "bob", Email: "bob@example.com", ReferredBy: f.jane.ReferralCode})
	connectStripe(t, db, f.p.ID, stripeTestKey, true)
	bindStripe(t, db, f.p.ID, f.jane.ID, "cus_jane")
	bindStripe(t, db, f.p.ID, f.bob.ID, "cus_bob")
	return f
}

// connectStripe writes a program's integration as ConnectStripe would,
// the key sealed with db.Secrets.
func connectStripe(t *testing.T, db *store.DB, programID, key string, apply bool) {
	t.Helper()
	sql := `INSERT INTO stripe_integrations (program_id, webhook_secret, secret_key, apply_rewards, api_base_url, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 0, 0) ON CONFLICT (program_id) DO UPDATE SET secret_key = excluded.secret_key,
		apply_rewards = excluded.apply_rewards`
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.ExecRaw(t.Context(), sql, programID, db.Secrets.Seal("whsec_test"), db.Secrets.Seal(key), apply, "http://stripe.test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func bindStripe(t *testing.T, db *store.DB, programID, customerID, stripeID string) {
	t.Helper()
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.ExecRaw(t.Context(), `INSERT INTO stripe_customers (program_id, stripe_customer_id, customer_id, created_at)
			VALUES ($1, $2, $3, 0)`, programID, stripeID, customerID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pay records a purchase of 50.00 USD by the customer keyed customerKey.
func (f *stripeFixture) pay(t *testing.T, db *store.DB, customerKey, key string) {
	t.Helper()
	if _, _, err := db.RecordTransaction(t.Context(), f.p, store.NewTransaction{CustomerKey: customerKey, Key: key,
		Type: rewards.Purchase, Amount: 5000, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
}

func (f *stripeFixture) refund(t *testing.T, db *store.DB, key string) {
	t.Helper()
	if _, err := db.Refund(t.Context(), f.p, store.RefundRequest{Key: key}); err != nil {
		t.Fatal(err)
	}
}

// stripeQueue lists a program's actions as "customer kind amount status",
// each reward's in order.
func stripeQueue(t *testing.T, db *store.DB, programID string) []string {
	t.Helper()
	rows, err := db.StripeActions(t.Context(), programID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		s := fmt.Sprintf("%d %s %s %d %s", r.Seq, r.StripeCustomerID, r.Kind, r.Amount, r.Status)
		if r.Error != "" {
			s += ": " + r.Error
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func claimStripe(t *testing.T, db *store.DB, now time.Time) []stripe.Action {
	t.Helper()
	out, err := db.ClaimStripeActions(t.Context(), now, 50, time.Minute)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return out
}

func recordStripe(t *testing.T, db *store.DB, id string, o stripe.ActionOutcome) {
	t.Helper()
	if err := db.RecordStripeAction(t.Context(), id, o); err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
}

// verifyLedger fails the test on any mismatch store.Verify finds.
func verifyLedger(t *testing.T, db *store.DB) {
	t.Helper()
	ms, err := db.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		t.Errorf("verify: %s", m)
	}
}

func creditAvailable(t *testing.T, db *store.DB, f *stripeFixture, c *referral.Customer) int64 {
	t.Helper()
	b, err := db.Balance(t.Context(), f.p.ID, c.ID, "USD")
	if err != nil {
		t.Fatal(err)
	}
	return b.CreditAvailable
}

// onlyReward returns the customer's one reward, with its billing.
func onlyReward(t *testing.T, db *store.DB, f *stripeFixture, c *referral.Customer) *rewards.Reward {
	t.Helper()
	rws, _, err := db.Rewards(t.Context(), f.p.ID, store.RewardFilter{CustomerID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rws) != 1 {
		t.Fatalf("%s has %d rewards, want 1", c.Key, len(rws))
	}
	return rws[0]
}

// rewardOfType returns the customer's one reward of a type, with its billing.
func rewardOfType(t *testing.T, db *store.DB, f *stripeFixture, c *referral.Customer, typ string) *rewards.Reward {
	t.Helper()
	rws, _, err := db.Rewards(t.Context(), f.p.ID, store.RewardFilter{CustomerID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []*rewards.Reward
	for _, rw := range rws {
		if rw.RewardType == typ {
			out = append(out, rw)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s has %d %s rewards, want 1", c.Key, len(out), typ)
	}
	return out[0]
}

// TestStripeActionsLifecycle: a payment's credit and discount are queued
// at dispatch, once; claimed with the program's key, the code and the
// amounts; done, the credit leaves the referrer's available credit for
// the program's billing account and shows on the reward. A full refund
// then queues the debit and the void (with the promotion code made), and
// once they are done the balance is back where the refund left it before
// Stripe: the sums are zero in Stripe and in the ledger, which verifies.
func TestStripeActionsLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		f := newStripeFixture(t, db)
		f.pay(t, db, "bob", "pay_1")
		dispatch(t, db, f.now())
		dispatch(t, db, f.now())
		want := []string{"1 cus_bob discount 0 pending", "1 cus_jane credit 1000 pending"}
		if diff := cmp.Diff(want, stripeQueue(t, db, f.p.ID)); diff != "" {
			t.Fatalf("queued (-want +got):\n%s", diff)
		}

		got := claimStripe(t, db, f.now())
		if len(got) != 2 {
			t.Fatalf("claimed %d, want 2", len(got))
		}
		slices.SortFunc(got, func(a, b stripe.Action) int { return cmpString(a.Kind, b.Kind) })
		credit, discount := got[0], got[1]
		bobReward := onlyReward(t, db, f, f.bob)
		if bobReward.DiscountCode == nil {
			t.Fatal("bob's discount has no code")
		}
		wantCredit := stripe.Action{ID: credit.ID, ProgramID: f.p.ID, RewardID: onlyReward(t, db, f, f.jane).ID, Seq: 1,
			Kind: stripe.ActionCredit, StripeCustomerID: "cus_jane", Amount: 1000, Currency: "USD",
			SecretKey: stripeTestKey, APIBaseURL: "http://stripe.test", Status: stripe.ActionPending}
		if diff := cmp.Diff(wantCredit, credit); diff != "" {
			t.Errorf("credit (-want +got):\n%s", diff)
		}
		wantDiscount := stripe.Action{ID: discount.ID, ProgramID: f.p.ID, RewardID: bobReward.ID, Seq: 1,
			Kind: stripe.ActionDiscount, StripeCustomerID: "cus_bob", Code: bobReward.DiscountCode.Code, PercentOff: 2000,
			SecretKey: stripeTestKey, APIBaseURL: "http://stripe.test", Status: stripe.ActionPending}
		if diff := cmp.Diff(wantDiscount, discount); diff != "" {
			t.Errorf("discount (-want +got):\n%s", diff)
		}
		if again := claimStripe(t, db, f.now()); len(again) != 0 {
			t.Fatalf("claimed again within the lease: %d", len(again))
		}

		if got := creditAvailable(t, db, f, f.jane); got != 1000 {
			t.Fatalf("jane's credit before Stripe: %d, want 1000", got)
		}
		recordStripe(t, db, credit.ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"cbtxn_1"}})
		recordStripe(t, db, discount.ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"coupon_1", "promo_1"}})
		// A second report of the same attempt changes nothing.
		recordStripe(t, db, credit.ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"cbtxn_1"}})
		if got := creditAvailable(t, db, f, f.jane); got != 0 {
			t.Errorf("jane's credit once applied in Stripe: %d, want 0", got)
		}
		verifyLedger(t, db)
		janeReward := onlyReward(t, db, f, f.jane)
		wantBilling := []rewards.BillingAction{{Provider: "stripe", Kind: "credit", Status: "done", Amount: 1000, Currency: "USD", IDs: []string{"cbtxn_1"}}}
		if diff := cmp.Diff(wantBilling, janeReward.Billing); diff != "" {
			t.Errorf("jane's reward billing (-want +got):\n%s", diff)
		}
		if r, err := db.Reward(ctx, f.p.ID, bobReward.ID); err != nil {
			t.Fatal(err)
		} else if diff := cmp.Diff([]rewards.BillingAction{{Provider: "stripe", Kind: "discount", Status: "done",
			IDs: []string{"coupon_1", "promo_1"}}}, r.Billing); diff != "" {
			t.Errorf("bob's reward billing (-want +got):\n%s", diff)
		}

		// The refund reverses both rewards: a debit and a void follow.
		f.refund(t, db, "pay_1")
		if got := creditAvailable(t, db, f, f.jane); got != -1000 {
			t.Fatalf("jane's credit after the refund: %d, want -1000 (spent in Stripe, then reversed)", got)
		}
		dispatch(t, db, f.now())
		want = []string{"1 cus_bob discount 0 done", "1 cus_jane credit 1000 done", "2 cus_bob void 0 pending", "2 cus_jane debit 1000 pending"}
		if diff := cmp.Diff(want, stripeQueue(t, db, f.p.ID)); diff != "" {
			t.Fatalf("queued after the refund (-want +got):\n%s", diff)
		}
		got = claimStripe(t, db, f.now())
		if len(got) != 2 {
			t.Fatalf("claimed %d, want 2", len(got))
		}
		slices.SortFunc(got, func(a, b stripe.Action) int { return cmpString(a.Kind, b.Kind) })
		debit, void := got[0], got[1]
		if debit.Kind != stripe.ActionDebit || debit.Amount != 1000 || debit.Seq != 2 || debit.StripeCustomerID != "cus_jane" {
			t.Errorf("debit: %+v", debit)
		}
		if void.Kind != stripe.ActionVoid || void.PromotionCodeID != "promo_1" || void.Seq != 2 {
			t.Errorf("void: %+v", void)
		}
		recordStripe(t, db, debit.ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"cbtxn_2"}})
		recordStripe(t, db, void.ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"promo_1"}})
		if got := creditAvailable(t, db, f, f.jane); got != 0 {
			t.Errorf("jane's credit once Stripe took it back: %d, want 0", got)
		}
		verifyLedger(t, db)
		// The billing account nets to zero: what Stripe holds.
		var billing int64
		if err := db.WriteStats().QueryRowContext(ctx, `SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e
			JOIN ledger_accounts a ON a.id = e.account_id WHERE a.program_id = $1 AND a.type = 'billing'`, f.p.ID).Scan(&billing); err != nil {
			t.Fatal(err)
		}
		if billing != 0 {
			t.Errorf("billing account: %d, want 0", billing)
		}
		dispatch(t, db, f.now())
		if n := count(t, db, "stripe_actions"); n != 4 {
			t.Errorf("%d actions after everything, want 4", n)
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestStripeActionsWaitAndRetry: a retryable error makes the credit due
// again after the backoff, until the last attempt fails it; a refund then
// plans nothing to take back, and the referrer keeps nothing in either
// place. (TestStripeActionsLifecycle has a debit waiting for its credit.)
func TestStripeActionsWaitAndRetry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newStripeFixture(t, db)
		f.pay(t, db, "bob", "pay_1")
		dispatch(t, db, f.now())
		want := []string{"1 cus_bob discount 0 pending", "1 cus_jane credit 1000 pending"}
		if diff := cmp.Diff(want, stripeQueue(t, db, f.p.ID)); diff != "" {
			t.Fatalf("queued (-want +got):\n%s", diff)
		}
		got := claimStripe(t, db, f.now())
		kinds := []string{}
		for _, a := range got {
			kinds = append(kinds, a.Kind)
		}
		slices.Sort(kinds)
		if diff := cmp.Diff([]string{"credit", "discount"}, kinds); diff != "" {
			t.Fatalf("claimed (-want +got):\n%s", diff)
		}
		var credit stripe.Action
		for _, a := range got {
			if a.Kind == stripe.ActionCredit {
				credit = a
			} else {
				recordStripe(t, db, a.ID, stripe.ActionOutcome{Error: "card_declined", Permanent: true})
			}
		}
		// The discount failed for good: its void is skipped.
		var delays []time.Duration
		for n := 1; ; n++ {
			d, ok := stripe.RetryDelay(n)
			if !ok {
				break
			}
			delays = append(delays, d)
		}
		if len(delays) != stripe.MaxAttempts-1 {
			t.Fatalf("%d delays for %d attempts", len(delays), stripe.MaxAttempts)
		}
		for i, d := range delays {
			recordStripe(t, db, credit.ID, stripe.ActionOutcome{Error: "Stripe answered 503"})
			if n := len(claimStripe(t, db, f.now().Add(d-time.Second))); n != 0 {
				t.Fatalf("attempt %d: claimed %d before the delay %s", i+1, n, d)
			}
			f.jump(d)
			again := claimStripe(t, db, f.now())
			if len(again) != 1 || again[0].ID != credit.ID || again[0].Attempts != i+1 {
				t.Fatalf("attempt %d: after %s claimed %+v, want the credit with %d attempts", i+1, d, again, i+1)
			}
		}
		recordStripe(t, db, credit.ID, stripe.ActionOutcome{Error: "Stripe answered 503"})
		// The payment is refunded: nothing reached Stripe, so nothing is
		// taken back there.
		f.refund(t, db, "pay_1")
		dispatch(t, db, f.now())
		want = []string{
			"1 cus_bob discount 0 failed: card_declined",
			"1 cus_jane credit 1000 failed: Stripe answered 503",
		}
		if diff := cmp.Diff(want, stripeQueue(t, db, f.p.ID)); diff != "" {
			t.Fatalf("after the last attempt (-want +got):\n%s", diff)
		}
		if n := len(claimStripe(t, db, f.now().Add(48*time.Hour))); n != 0 {
			t.Fatalf("claimed %d after everything failed", n)
		}
		if got := creditAvailable(t, db, f, f.jane); got != 0 {
			t.Errorf("jane's credit: %d, want 0 (earned, reversed, never in Stripe)", got)
		}
		verifyLedger(t, db)
		rows, _ := db.StripeActions(t.Context(), f.p.ID)
		for _, r := range rows {
			if r.Kind == stripe.ActionCredit && r.Attempts != 8 {
				t.Errorf("credit tried %d times, want 8", r.Attempts)
			}
		}
	})
}

// TestStripeActionsNotQueued: nothing is queued for a program without an
// integration, or whose integration does not apply rewards or has no key;
// a recipient without a Stripe customer gets one skipped action that says
// why, shown on the reward, and cash rewards never go to Stripe.
func TestStripeActionsNotQueued(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newStripeFixture(t, db)
		other := newProgram(t, db)
		for _, r := range []rewards.Rule{
			{Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit, Unit: rewards.Fixed, Amount: 1000, Currency: "USD"},
		} {
			r.ProgramID, r.Recurrence, r.Active = other.ID, rewards.First, true
			if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateRule(t.Context(), &r) }); err != nil {
				t.Fatal(err)
			}
		}
		ann := newCustomer(t, db, other, referral.NewCustomer{Key: "ann", Email: "ann@example.com"})
		newCustomer(t, db, other, referral.NewCustomer{Key: "ben", Email: "ben@example.com", ReferredBy: ann.ReferralCode})
		if _, _, err := db.RecordTransaction(t.Context(), other, store.NewTransaction{CustomerKey: "ben", Key: "o_1",
			Type: rewards.Purchase, Amount: 5000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		// The fixture's program: switched off, then without a key.
		connectStripe(t, db, f.p.ID, stripeTestKey, false)
		f.pay(t, db, "bob", "pay_1")
		dispatch(t, db, f.now())
		connectStripe(t, db, f.p.ID, "", true)
		cy := newCustomer(t, db, f.p, referral.NewCustomer{Key: "cy", Email: "cy@example.com", ReferredBy: f.jane.ReferralCode})
		f.pay(t, db, "cy", "pay_2")
		dispatch(t, db, f.now())
		if n := count(t, db, "stripe_actions"); n != 0 {
			t.Fatalf("%d actions queued without an integration applying rewards", n)
		}

		// Applying again: cy has no Stripe customer; jane's reward for
		// cy's next friend's payment is credited.
		connectStripe(t, db, f.p.ID, stripeTestKey, true)
		newCustomer(t, db, f.p, referral.NewCustomer{Key: "di", Email: "di@example.com", ReferredBy: f.jane.ReferralCode})
		f.pay(t, db, "di", "pay_3")
		newCustomer(t, db, f.p, referral.NewCustomer{Key: "ed", Email: "ed@example.com", ReferredBy: cy.ReferralCode})
		f.pay(t, db, "ed", "pay_4")
		dispatch(t, db, f.now())
		dispatch(t, db, f.now())
		want := []string{
			"1  credit 1000 skipped: " + stripe.NoStripeCustomer, // cy's credit for ed
			"1  discount 0 skipped: " + stripe.NoStripeCustomer,  // di's discount
			"1  discount 0 skipped: " + stripe.NoStripeCustomer,  // ed's discount
			"1 cus_jane credit 1000 pending",                     // jane's for di
		}
		if diff := cmp.Diff(want, stripeQueue(t, db, f.p.ID)); diff != "" {
			t.Fatalf("queued (-want +got):\n%s", diff)
		}
		rw := rewardOfType(t, db, f, cy, rewards.Credit)
		if len(rw.Billing) != 1 || rw.Billing[0].Status != "skipped" || rw.Billing[0].Error != stripe.NoStripeCustomer {
			t.Errorf("cy's reward billing: %+v", rw.Billing)
		}
		// Skipped actions are never claimed, and a refund of an unbound
		// customer's reward adds nothing.
		for _, a := range claimStripe(t, db, f.now()) {
			if a.StripeCustomerID != "cus_jane" {
				t.Errorf("claimed %+v", a)
			}
		}
		f.refund(t, db, "pay_4")
		dispatch(t, db, f.now())
		if n := count(t, db, "stripe_actions"); n != 4 {
			t.Errorf("%d actions after refunding an unbound customer's payment, want 4", n)
		}
		verifyLedger(t, db)
	})
}

// TestStripeActionsKeyCannotBeOpened: an action whose program's key cannot
// be opened (the server's encryption key changed) is not handed out; the
// attempt fails with a sentence saying why, and is retried later.
func TestStripeActionsKeyCannotBeOpened(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newStripeFixture(t, db)
		f.pay(t, db, "bob", "pay_1")
		dispatch(t, db, f.now())
		other := make([]byte, secrets.KeySize)
		other[0] = 1
		box, err := secrets.New(other)
		if err != nil {
			t.Fatal(err)
		}
		db.Secrets = box
		if got := claimStripe(t, db, f.now()); len(got) != 0 {
			t.Fatalf("claimed %d with the wrong encryption key", len(got))
		}
		rows, err := db.StripeActions(t.Context(), f.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Status != stripe.ActionPending || r.Attempts != 1 || r.Error == "" || r.NextAttemptAt == nil {
				t.Errorf("action after a key that cannot be opened: %+v", r)
			}
		}
	})
}

// TestClaimStripeActionsConcurrently: claimers racing on one queue never
// hand out one action twice, and between them claim them all.
func TestClaimStripeActionsConcurrently(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newStripeFixture(t, db)
		const friends = 12
		for i := range friends {
			key := fmt.Sprintf("f%d", i)
			newCustomer(t, db, f.p, referral.NewCustomer{Key: key, Email: key + "@example.com", ReferredBy: f.jane.ReferralCode})
			f.pay(t, db, key, "pay_"+key)
		}
		dispatch(t, db, f.now())
		rows, err := db.StripeActions(t.Context(), f.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range rows {
			if r.Status == stripe.ActionPending {
				want++
			}
		}
		if want != friends {
			t.Fatalf("%d pending actions, want %d", want, friends)
		}
		now := f.now()
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					out, err := db.ClaimStripeActions(t.Context(), now, 2, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(out) == 0 {
						return
					}
					mu.Lock()
					for _, a := range out {
						seen[a.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != want {
			t.Errorf("claimed %d actions, want %d", len(seen), want)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("action %s claimed %d times", id, n)
			}
		}
	})
}

// TestStripeActionsHeldRewards: a held credit goes to Stripe when a person
// approves it, and one rejected while pending was never available and
// gives nothing.
func TestStripeActionsHeldRewards(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		f := newStripeFixture(t, db)
		r := rewards.Rule{ProgramID: f.p.ID, Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Unit: rewards.Fixed, Amount: 300, Currency: "USD", HoldingDays: 30, Recurrence: rewards.First, Active: true}
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
		cy := newCustomer(t, db, f.p, referral.NewCustomer{Key: "cy", Email: "cy@example.com", ReferredBy: f.jane.ReferralCode})
		di := newCustomer(t, db, f.p, referral.NewCustomer{Key: "di", Email: "di@example.com", ReferredBy: f.jane.ReferralCode})
		dispatch(t, db, f.now())
		if n := count(t, db, "stripe_actions"); n != 0 {
			t.Fatalf("%d actions for pending rewards", n)
		}
		held := map[string]string{} // friend id → reward id
		rws, _, err := db.Rewards(ctx, f.p.ID, store.RewardFilter{CustomerID: f.jane.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, rw := range rws {
			held[rw.FriendID] = rw.ID
		}
		if _, err := db.RejectReward(ctx, f.p.ID, held[cy.ID], "fraud"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ApproveReward(ctx, f.p.ID, held[di.ID]); err != nil {
			t.Fatal(err)
		}
		dispatch(t, db, f.now())
		rows, err := db.StripeActions(ctx, f.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].RewardID != held[di.ID] || rows[0].Kind != stripe.ActionCredit || rows[0].Amount != 300 ||
			rows[0].Status != stripe.ActionPending {
			t.Fatalf("actions: %+v; want di's approved credit of 300 only", rows)
		}
	})
}

// TestStripeActionsCheckedWhenClaimed: an action planned earlier is not
// sent when the reward or the balance no longer call for it — a credit
// queued while applying was off for a reward refunded since, a credit
// already spent in Advocate, a clawback of a credit that never reached
// Stripe — and the books agree with Stripe afterwards.
func TestStripeActionsCheckedWhenClaimed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		credits := func(f *stripeFixture) []stripe.Action {
			t.Helper()
			var out []stripe.Action
			for _, a := range claimStripe(t, db, f.now()) {
				if a.Kind == stripe.ActionCredit || a.Kind == stripe.ActionDebit {
					out = append(out, a)
				} else {
					recordStripe(t, db, a.ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"coupon_x", "promo_x"}})
				}
			}
			return out
		}
		dispatch := func(f *stripeFixture) {
			t.Helper()
			if _, err := db.DispatchEvents(ctx, f.now(), 1000); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("refunded while applying was off", func(t *testing.T) {
			f := newStripeFixture(t, db)
			f.pay(t, db, "bob", "o1")
			dispatch(f) // credit 1000 queued for jane
			connectStripe(t, db, f.p.ID, stripeTestKey, false)
			f.refund(t, db, "o1")
			dispatch(f) // nothing planned: applying is off
			connectStripe(t, db, f.p.ID, stripeTestKey, true)
			if got := credits(f); len(got) != 0 {
				t.Fatalf("claimed %+v for a reversed reward", got)
			}
			if got := creditAvailable(t, db, f, f.jane); got != 0 {
				t.Errorf("jane's available credit %d, want 0", got)
			}
			verifyLedger(t, db)
		})

		t.Run("spent in Advocate first", func(t *testing.T) {
			f := newStripeFixture(t, db)
			f.pay(t, db, "bob", "o1")
			dispatch(f)
			if _, err := db.Debit(ctx, f.p, store.BalanceChange{CustomerKey: "jane", Amount: "10"}); err != nil {
				t.Fatal(err)
			}
			if got := credits(f); len(got) != 0 {
				t.Fatalf("claimed %+v for credit already spent", got)
			}
			if got := creditAvailable(t, db, f, f.jane); got != 0 {
				t.Errorf("jane's available credit %d, want 0", got)
			}
			verifyLedger(t, db)
		})

		t.Run("clawback of a credit that failed", func(t *testing.T) {
			f := newStripeFixture(t, db)
			f.pay(t, db, "bob", "o1")
			dispatch(f)
			got := credits(f)
			if len(got) != 1 || got[0].Kind != stripe.ActionCredit {
				t.Fatalf("claimed %+v, want jane's credit", got)
			}
			// In flight when the payment is refunded: the debit is queued
			// behind the credit, which then fails for good.
			f.refund(t, db, "o1")
			dispatch(f)
			recordStripe(t, db, got[0].ID, stripe.ActionOutcome{Error: "permission", Permanent: true})
			if got := credits(f); len(got) != 0 {
				t.Fatalf("claimed %+v after the credit failed", got)
			}
			if got := creditAvailable(t, db, f, f.jane); got != 0 {
				t.Errorf("jane's available credit %d, want 0", got)
			}
			verifyLedger(t, db)
		})

		t.Run("not sent again after a day", func(t *testing.T) {
			f := newStripeFixture(t, db)
			f.pay(t, db, "bob", "o1")
			dispatch(f)
			got := credits(f)
			if len(got) != 1 {
				t.Fatalf("claimed %+v", got)
			}
			// Its worker died mid-call (nothing recorded); the integration
			// was off for a day; now it is claimed again.
			f.jump(24 * time.Hour)
			if got := credits(f); len(got) != 0 {
				t.Fatalf("claimed %+v a day after it was first sent", got)
			}
			rows, err := db.StripeActions(ctx, f.p.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Kind == stripe.ActionCredit && (r.Status != stripe.ActionFailed || !strings.Contains(r.Error, "Idempotency-Key")) {
					t.Errorf("the day-old credit: %+v", r)
				}
			}
			if got := creditAvailable(t, db, f, f.jane); got != 1000 {
				t.Errorf("jane's available credit %d, want 1000 (kept in Advocate)", got)
			}
			verifyLedger(t, db)
		})

		t.Run("applied, then clawed back", func(t *testing.T) {
			f := newStripeFixture(t, db)
			f.pay(t, db, "bob", "o1")
			dispatch(f)
			got := credits(f)
			if len(got) != 1 {
				t.Fatalf("claimed %+v", got)
			}
			recordStripe(t, db, got[0].ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"cbtxn_1"}})
			f.refund(t, db, "o1")
			dispatch(f)
			got = credits(f)
			if len(got) != 1 || got[0].Kind != stripe.ActionDebit || got[0].Amount != 1000 {
				t.Fatalf("claimed %+v, want the clawback of 1000", got)
			}
			recordStripe(t, db, got[0].ID, stripe.ActionOutcome{Done: true, StripeIDs: []string{"cbtxn_2"}})
			if got := creditAvailable(t, db, f, f.jane); got != 0 {
				t.Errorf("jane's available credit %d, want 0", got)
			}
			verifyLedger(t, db)
			// Verify notices Stripe and the ledger disagreeing (this subtest
			// is the last: it leaves the database tampered with).
			if err := db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecRaw(ctx, `UPDATE stripe_actions SET amount = amount + 1 WHERE kind = 'credit' AND status = 'done' AND program_id = $1`, f.p.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			ms, err := db.Verify(ctx)
			if err != nil || len(ms) != 1 || ms[0].Check != "credit applied in billing differs from Stripe actions done" {
				t.Errorf("verify after tampering: %+v %v", ms, err)
			}
		})
	})
}
