package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
)

// TestStripeEndToEnd is the story, through the webhook endpoint and
// a fake of Stripe's API: a referred friend checks out, subscribes, renews
// twice, gets a partial refund and disputes the first payment; the referrer
// is credited inside Stripe. Both payload shapes are used, every event is
// signed by stripe-go, one is delivered twice, and at the end balances,
// stats, Stripe's balance and the ledger agree exactly.
func TestStripeEndToEnd(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fake := stripetest.NewServer(t)
		fake.SetNow(e.clock.Now)
		fake.AddCustomer("cus_alice", "usd")
		path := e.connectStripe(map[string]any{"secret_key": stripetest.SecretKey, "apply_rewards": true, "api_base_url": fake.URL})

		// The first purchase earns the referrer 5.00 after 30 days; each
		// subscription payment (three at most) earns 20 %, at once.
		e.createRule(map[string]any{"name": "First purchase", "trigger": "purchase", "recipient": "referrer", "reward_type": "credit",
			"unit": "fixed", "amount": 5, "currency": "USD", "holding_days": 30})
		e.createRule(map[string]any{"name": "Subscription share", "trigger": "subscription", "recipient": "referrer", "reward_type": "credit",
			"unit": "percentage", "amount": 20, "recurrence": "every", "max_count": 3})

		send := func(what, typ, version string, object map[string]any) string {
			t.Helper()
			resp := e.sendStripe(path, stripeEvent(nextID("evt"), typ, version, object))
			e.want(resp, http.StatusOK, what)
			return resp.outcome(t)
		}
		const legacy, basil = "2024-06-20", "2025-03-31.basil"
		applier := &stripe.Applier{Store: e.db, Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		applyInStripe := func() {
			t.Helper()
			if _, err := e.db.DispatchEvents(ctx, e.clock.Now(), 1000); err != nil {
				t.Fatal(err)
			}
			for range 10 {
				n, err := applier.RunOnce(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return
				}
			}
		}

		// Alice is a Stripe customer who names her key in Advocate.
		send("alice", "customer.created", basil, map[string]any{"id": "cus_alice", "object": "customer", "email": "Alice@Example.com ",
			"name": "Alice", "metadata": map[string]any{"advocate_customer_key": "alice"}})
		alice := e.getCustomer("alice")
		if alice.Email != "Alice@Example.com" {
			t.Fatalf("alice: %+v", alice)
		}

		// Bob arrives through her link and buys (a guest of Stripe until
		// now: a new customer keyed by his Stripe id, referred by Alice).
		if got := send("purchase", "checkout.session.completed", legacy,
			checkoutSession("payment", "paid", "cus_bob", alice.ReferralCode, 5000, "pi_bob")); got != "applied" {
			t.Fatalf("purchase: %q", got)
		}
		bob := e.getCustomer("cus_bob")
		if bob.ReferrerKey == nil || *bob.ReferrerKey != "alice" {
			t.Fatalf("bob is not Alice's referral: %+v", bob)
		}
		// He subscribes: the session makes no second transaction; the
		// invoice is the payment.
		send("subscribe", "checkout.session.completed", basil, checkoutSession("subscription", "paid", "cus_bob", alice.ReferralCode, 2000, ""))
		send("first invoice", "invoice.paid", legacy, invoiceLegacy("in_1", "cus_bob", "sub_bob", "subscription_create", 2000, "pi_in1", "ch_in1"))
		first := stripeEvent(nextID("evt"), "invoice.paid", basil, invoiceBasil("in_2", "cus_bob", "sub_bob", "subscription_cycle", 2000, "pi_in2", "ch_in2"))
		e.want(e.sendStripe(path, first), http.StatusOK, "renewal 1")
		if got := e.sendStripe(path, first).outcome(t); got != "replay" {
			t.Fatalf("a redelivered renewal: %q", got)
		}
		// The second renewal's payment is named only by invoice_payment.paid.
		send("renewal 2", "invoice.paid", basil, invoiceBasil("in_3", "cus_bob", "sub_bob", "subscription_cycle", 2000, "", ""))
		send("renewal 2 payment", "invoice_payment.paid", basil, map[string]any{"id": "inpay_3", "object": "invoice_payment",
			"invoice": "in_3", "status": "paid", "amount_paid": 2000, "currency": "usd",
			"payment": map[string]any{"type": "payment_intent", "payment_intent": "pi_in3"}})
		// The three credits reach Stripe.
		applyInStripe()
		if got := fake.Balance("cus_alice"); got != -1200 {
			t.Fatalf("Alice's Stripe balance after three payments: %d, want -1200", got)
		}
		// Half of it is refunded, in two steps; the redelivered second
		// step changes nothing.
		send("refund 1", "charge.refunded", basil, chargeRefunded("ch_in3", "pi_in3", 2000, 600))
		second := stripeEvent(nextID("evt"), "charge.refunded", basil, chargeRefunded("ch_in3", "pi_in3", 2000, 1000))
		e.want(e.sendStripe(path, second), http.StatusOK, "refund 2")
		e.sendStripe(path, second)
		// Bob disputes his first purchase: its pending reward is held,
		// then the dispute is lost and it is clawed back.
		dispute := map[string]any{"id": "du_1", "object": "dispute", "charge": "ch_bob", "payment_intent": "pi_bob", "amount": 5000,
			"currency": "usd", "status": "needs_response", "reason": "fraudulent"}
		send("dispute", "charge.dispute.created", basil, dispute)
		if n, err := e.db.ReleaseDueRewards(ctx, e.clock.Now().AddDate(0, 0, 31), 100); err != nil || n != 0 {
			t.Fatalf("the holding job released %d rewards of a disputed payment (%v)", n, err)
		}
		dispute["status"] = "lost"
		send("dispute lost", "charge.dispute.closed", basil, dispute)

		// Transactions: exactly one per payment, refunded as Stripe says.
		wantTxn := map[string][2]string{"pi_bob": {"50.00", "refunded"}, "in_1": {"20.00", "paid"}, "in_2": {"20.00", "paid"},
			"in_3": {"20.00", "partially_refunded"}}
		var list struct {
			Data []struct {
				Key            string      `json:"key"`
				Type           string      `json:"type"`
				Amount         json.Number `json:"amount"`
				RefundedAmount json.Number `json:"refunded_amount"`
				Status         string      `json:"status"`
			} `json:"data"`
		}
		e.do(req{method: "GET", path: "/v1/customers/cus_bob/transactions", key: e.sk}).json(t, &list)
		if len(list.Data) != len(wantTxn) {
			t.Fatalf("bob has %d transactions, want %d: %+v", len(list.Data), len(wantTxn), list.Data)
		}
		for _, tx := range list.Data {
			w, ok := wantTxn[tx.Key]
			if !ok || string(tx.Amount) != w[0] || tx.Status != w[1] {
				t.Errorf("transaction %+v, want %v", tx, w)
			}
		}

		// Rewards are applied inside Stripe from the outbox (again: the
		// clawback).
		applyInStripe()
		// 20 % of three payments of 20.00, less 20 % of the 10.00
		// refunded: 10.00 of credit, on Alice's next Stripe invoice
		// (three credits of 4.00 and a clawback of 2.00).
		if got := fake.Balance("cus_alice"); got != -1000 {
			t.Errorf("Alice's Stripe balance %d, want -1000; transactions %+v", got, fake.BalanceTransactions("cus_alice"))
		}
		var stats struct {
			TotalReferrals      int         `json:"total_referrals"`
			SuccessfulReferrals int         `json:"successful_referrals"`
			TotalRewards        json.Number `json:"total_rewards"`
		}
		e.do(req{method: "GET", path: "/v1/customers/alice/stats", key: e.sk}).json(t, &stats)
		if stats.TotalReferrals != 1 || stats.SuccessfulReferrals != 1 || stats.TotalRewards != "10.00" {
			t.Errorf("alice's stats: %+v", stats)
		}
		var bal struct {
			Credit struct {
				Available json.Number `json:"available"`
				Pending   json.Number `json:"pending"`
			} `json:"credit"`
		}
		e.do(req{method: "GET", path: "/v1/customers/alice/balance", key: e.sk}).json(t, &bal)
		// The credit now sits in Stripe: none left to spend here.
		if bal.Credit.Available != "0.00" || bal.Credit.Pending != "0.00" {
			t.Errorf("alice's balance: %+v", bal)
		}
		var rws struct {
			Data []struct {
				Status  string `json:"status"`
				Billing []struct {
					Kind, Status string
					IDs          []string `json:"ids"`
				} `json:"billing"`
			} `json:"data"`
		}
		e.do(req{method: "GET", path: "/v1/rewards?customer_key=alice", key: e.sk}).json(t, &rws)
		done := 0
		for _, rw := range rws.Data {
			for _, b := range rw.Billing {
				if b.Status == "done" && len(b.IDs) > 0 {
					done++
				}
			}
		}
		if bts := fake.BalanceTransactions("cus_alice"); done != len(bts) || done != 4 {
			t.Errorf("%d billing actions shown done, Stripe has %d balance transactions (3 credits, 1 clawback)", done, len(bts))
		}
		if ms, err := e.db.Verify(ctx); err != nil || len(ms) > 0 {
			t.Fatalf("verify: %v %v", ms, err)
		}
		_ = time.Now
	})
}

// TestStripeKeyWithoutPermission: a restricted key that may not write
// customers fails the credit with a message that says what to grant, the
// dashboard's status shows it, the credit stays spendable in Advocate, and
// with a better key the next reward reaches Stripe.
func TestStripeKeyWithoutPermission(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fake := stripetest.NewServer(t)
		fake.SetNow(e.clock.Now)
		fake.AddCustomer("cus_ref", "usd")
		fake.AddKey("rk_test_weak", stripetest.PermCouponWrite, stripetest.PermPromotionCodeWrite)
		fake.AddKey("rk_test_good", stripetest.PermCustomerWrite, stripetest.PermCouponWrite, stripetest.PermPromotionCodeWrite)
		path := e.connectStripe(map[string]any{"secret_key": "rk_test_weak", "apply_rewards": true, "api_base_url": fake.URL})
		e.createRule(map[string]any{"trigger": "purchase", "recipient": "referrer", "reward_type": "credit", "unit": "fixed",
			"amount": 7, "currency": "USD"})
		send := func(typ string, object map[string]any) {
			t.Helper()
			e.want(e.sendStripe(path, stripeEvent(nextID("evt"), typ, "2025-03-31.basil", object)), http.StatusOK, typ)
		}
		send("customer.created", map[string]any{"id": "cus_ref", "object": "customer", "email": "ref@example.com", "metadata": map[string]any{}})
		ref := e.getCustomer("cus_ref")
		send("checkout.session.completed", checkoutSession("payment", "paid", "cus_buyer", ref.ReferralCode, 3000, "pi_buyer"))

		applier := &stripe.Applier{Store: e.db, Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		apply := func() {
			t.Helper()
			if _, err := e.db.DispatchEvents(ctx, e.clock.Now(), 1000); err != nil {
				t.Fatal(err)
			}
			if _, err := applier.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		type billing struct {
			Status string  `json:"status"`
			Error  *string `json:"error"`
		}
		billingOf := func() []billing {
			var rws struct {
				Data []struct {
					Billing []billing `json:"billing"`
				} `json:"data"`
			}
			e.do(req{method: "GET", path: "/v1/rewards?customer_key=cus_ref", key: e.sk}).json(t, &rws)
			if len(rws.Data) == 0 {
				t.Fatal("no rewards")
			}
			return rws.Data[len(rws.Data)-1].Billing // the oldest: the list is newest first
		}
		apply()
		b := billingOf()
		if len(b) != 1 || b[0].Status != "failed" || b[0].Error == nil || !strings.Contains(*b[0].Error, "Customers") {
			t.Fatalf("billing with a weak key: %+v", b)
		}
		var in struct {
			Integration struct {
				LastError *string `json:"last_error"`
			} `json:"integration"`
		}
		e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}).json(t, &in)
		if in.Integration.LastError == nil || !strings.Contains(*in.Integration.LastError, "Customers") {
			t.Fatalf("the integration does not show the permission error: %v", in.Integration.LastError)
		}
		if fake.Balance("cus_ref") != 0 {
			t.Fatal("a refused credit reached Stripe")
		}
		// The failed credit stays in Advocate: it can be spent there.
		var bal struct {
			Credit struct {
				Available json.Number `json:"available"`
			} `json:"credit"`
		}
		e.do(req{method: "GET", path: "/v1/customers/cus_ref/balance", key: e.sk}).json(t, &bal)
		if bal.Credit.Available != "7.00" {
			t.Fatalf("available after the failed credit: %s, want 7.00", bal.Credit.Available)
		}
		// With a key that has the permission, the next reward reaches
		// Stripe; the failed one is not sent again (its state may have
		// changed since, and Stripe forgets an Idempotency-Key in a day).
		e.want(e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: map[string]any{"secret_key": "rk_test_good"}}), 200, "new key")
		send("checkout.session.completed", checkoutSession("payment", "paid", "cus_buyer2", ref.ReferralCode, 3000, "pi_buyer2"))
		apply()
		apply()
		if b := billingOf(); len(b) != 1 || b[0].Status != "failed" {
			t.Fatalf("billing of the first reward after the new key: %+v", b)
		}
		if got := fake.Balance("cus_ref"); got != -700 || len(fake.BalanceTransactions("cus_ref")) != 1 {
			t.Fatalf("Stripe balance %d with %d transactions, want -700 with 1", got, len(fake.BalanceTransactions("cus_ref")))
		}
		e.do(req{method: "GET", path: "/v1/customers/cus_ref/balance", key: e.sk}).json(t, &bal)
		if bal.Credit.Available != "7.00" {
			t.Fatalf("available after the second credit went to Stripe: %s, want 7.00", bal.Credit.Available)
		}
		if ms, err := e.db.Verify(ctx); err != nil || len(ms) > 0 {
			t.Fatalf("verify: %v %v", ms, err)
		}
	})
}

// TestStripeInvoiceBeforeCheckout: Stripe sends customer.created and the
// first invoice before the Checkout session that carries the referral
// code. The invoice waits (409, so Stripe sends it again) instead of
// making an unreferred first payment; once the session has named the
// referrer, the retried invoice rewards them.
func TestStripeInvoiceBeforeCheckout(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		path := e.connectStripe(nil)
		e.createRule(map[string]any{"trigger": "subscription", "recipient": "referrer", "reward_type": "credit", "unit": "fixed",
			"amount": 5, "currency": "USD"})
		ref := e.createCustomer(map[string]any{"key": "ref", "email": "ref@example.com"})
		send := func(body []byte) *response { t.Helper(); return e.sendStripe(path, body) }
		e.want(send(stripeEvent(nextID("evt"), "customer.created", "2025-03-31.basil", map[string]any{"id": "cus_late", "object": "customer",
			"email": "late@example.com", "metadata": map[string]any{}})), http.StatusOK, "customer")
		invoice := stripeEvent(nextID("evt"), "invoice.paid", "2025-03-31.basil",
			invoiceBasil("in_late", "cus_late", "sub_late", "subscription_create", 2000, "pi_late", "ch_late"))
		resp := send(invoice)
		if p := resp.problem(t); resp.Status != http.StatusConflict || p.Code != "awaiting_checkout_session" {
			t.Fatalf("the first invoice before its session: %d %q", resp.Status, p.Code)
		}
		var in struct {
			Integration struct {
				LastError *string `json:"last_error"`
			} `json:"integration"`
		}
		e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}).json(t, &in)
		if in.Integration.LastError != nil {
			t.Errorf("waiting for the session is shown as an error: %s", *in.Integration.LastError)
		}
		e.want(send(stripeEvent(nextID("evt"), "checkout.session.completed", "2025-03-31.basil",
			checkoutSession("subscription", "paid", "cus_late", ref.ReferralCode, 2000, ""))), http.StatusOK, "session")
		resp = send(invoice)
		e.want(resp, http.StatusOK, "the invoice again")
		if got := resp.outcome(t); got != "applied" {
			t.Fatalf("the invoice again: %q", got)
		}
		var rws struct {
			Data []struct {
				Amount json.Number `json:"amount"`
			} `json:"data"`
		}
		e.do(req{method: "GET", path: "/v1/rewards?customer_key=ref", key: e.sk}).json(t, &rws)
		if len(rws.Data) != 1 || rws.Data[0].Amount != "5.00" {
			t.Fatalf("the referrer's rewards: %+v", rws.Data)
		}
		// A first invoice with no session to wait for is applied once it
		// is no longer new.
		e.want(send(stripeEvent(nextID("evt"), "customer.created", "2025-03-31.basil", map[string]any{"id": "cus_api", "object": "customer",
			"email": "api@example.com", "metadata": map[string]any{}})), http.StatusOK, "customer")
		e.clock.set(tickingClock(time.Now().Add(11 * time.Minute)))
		old := stripeEvent(nextID("evt"), "invoice.paid", "2025-03-31.basil",
			invoiceBasil("in_api", "cus_api", "sub_api", "subscription_create", 2000, "pi_api", "ch_api"))
		e.want(send(old), http.StatusOK, "an invoice older than the wait")
	})
}
