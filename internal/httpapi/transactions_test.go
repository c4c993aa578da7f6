package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rewardLine is what a test expects of a reward: who, what, how much.
type rewardLine struct {
	Customer, Trigger, Type, Amount, Currency, Status string
}

func lines(rws []reward) []rewardLine {
	out := make([]rewardLine, 0, len(rws))
	for _, rw := range rws {
		cur := ""
		if rw.Currency != nil {
			cur = *rw.Currency
		}
		out = append(out, rewardLine{rw.CustomerKey, rw.Trigger, rw.RewardType, rw.Amount.String(), cur, rw.Status})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// wantRewards fails the test unless rws are the wanted rewards, in any order.
func (e *env) wantRewards(what string, rws []reward, want ...rewardLine) {
	e.t.Helper()
	if want == nil {
		want = []rewardLine{}
	}
	if diff := cmp.Diff(lines(want2rewards(want)), lines(rws)); diff != "" {
		e.t.Errorf("%s: rewards (-want +got):\n%s", what, diff)
	}
}

func want2rewards(ls []rewardLine) []reward {
	out := make([]reward, 0, len(ls))
	for _, l := range ls {
		rw := reward{CustomerKey: l.Customer, Trigger: l.Trigger, RewardType: l.Type, Amount: json.Number(l.Amount), Status: l.Status}
		if l.Currency != "" {
			rw.Currency = ptr(l.Currency)
		}
		out = append(out, rw)
	}
	return out
}

// TestCurrencyOptions: one rule with amounts per currency pays once, in the
// payment's currency, where rules per currency each paid on every payment.
func TestCurrencyOptions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "a multi-currency store", func(t *testing.T, e *env) {
			r := e.createRule(`{"trigger": "purchase", "recurrence": "every", "reward_type": "credit", "amount": 10, "currency": "USD",
				"currency_options": {"EUR": {"amount": 9, "min_amount": 40}, "jpy": {"amount": 1000}}}`)
			if len(r.CurrencyOptions) != 2 || r.CurrencyOptions["EUR"].Amount != "9.00" || *r.CurrencyOptions["EUR"].MinAmount != "40.00" ||
				r.CurrencyOptions["JPY"].Amount != "1000" || r.CurrencyOptions["JPY"].MinAmount != nil {
				t.Fatalf("currency_options %+v", r.CurrencyOptions)
			}
			e.referrer("ann")
			e.friend("bob", "ann")
			ann := func(cur, amount string) rewardLine {
				return rewardLine{"ann", "purchase", "credit", amount, cur, "available"}
			}
			e.wantRewards("€80", e.purchase("bob", "o1", "80 EUR").Rewards, ann("EUR", "9.00"))
			e.wantRewards("€30, below the option's minimum", e.purchase("bob", "o2", "30 EUR").Rewards)
			e.wantRewards("¥500", e.purchase("bob", "o3", "500 JPY").Rewards, ann("JPY", "1000"))
			e.wantRewards("$20", e.purchase("bob", "o4", "20 USD").Rewards, ann("USD", "10.00"))
			e.wantRewards("£20, no option: the rule's own", e.purchase("bob", "o5", "20 GBP").Rewards, ann("USD", "10.00"))
			// Removing the options.
			if r := e.updateRule(r.ID, `{"currency_options": null}`); len(r.CurrencyOptions) != 0 {
				t.Errorf("after null: %+v", r.CurrencyOptions)
			}
			e.wantRewards("€80 without options", e.purchase("bob", "o6", "80 EUR").Rewards, ann("USD", "10.00"))
		})
		e.scenario(t, "bad options", func(t *testing.T, e *env) {
			for _, tc := range []struct{ body, field string }{
				{`{"reward_type": "credit", "amount": 1, "currency_options": {"XYZ": {"amount": 1}}}`, "currency_options.XYZ"},
				{`{"reward_type": "credit", "amount": 1, "currency_options": {"EUR": {"amount": 1.005}}}`, "currency_options.EUR.amount"},
				{`{"reward_type": "credit", "amount": 1, "currency_options": {"EUR": {"amount": 1, "min_amount": -1}}}`, "currency_options.EUR.min_amount"},
				{`{"reward_type": "credit", "amount": 1, "currency_options": {"EUR": {"amount": 1, "extra": 1}}}`, "extra"},
				{`{"reward_type": "credit", "amount": 1, "currency_options": {"EUR": {"amount": "1"}}}`, "amount"},
				{`{"reward_type": "credit", "amount": 1, "currency_options": ["EUR"]}`, "currency_options"},
			} {
				resp := e.do(req{method: "POST", path: "/v1/reward_rules", key: e.sk, body: tc.body})
				if resp.Status != 422 || !strings.Contains(string(resp.Body), tc.field) {
					t.Errorf("%s: %d %s, want 422 naming %s", tc.body, resp.Status, resp.Body, tc.field)
				}
			}
		})
	})
}

// TestLowerCaseCurrencies: codes as billing systems send them ("usd") are
// accepted everywhere a currency is and kept upper-case.
func TestLowerCaseCurrencies(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "payments, rules and balances", func(t *testing.T, e *env) {
			r := e.createRule(`{"reward_type": "credit", "amount": 9, "currency": "eur"}`)
			if r.Currency == nil || *r.Currency != "EUR" {
				t.Errorf("rule currency %v, want EUR", r.Currency)
			}
			e.referrer("ann")
			e.friend("bob", "ann")
			txn := e.pay(map[string]any{"customer_key": "bob", "key": "o1", "amount": 80, "currency": "eur"})
			if txn.Currency != "EUR" {
				t.Errorf("transaction currency %q, want EUR", txn.Currency)
			}
			e.want(e.do(req{method: "POST", path: "/v1/customers/ann/balance/credit", key: e.sk, body: `{"amount": 1, "currency": "eur"}`}), 200, "credit")
			if b := e.balance("ann", "eur"); b.Currency != "EUR" || b.Credit.Available != "10.00" {
				t.Errorf("ann's EUR balance %+v, want 10.00 EUR", b)
			}
		})
	})
}

// TestTriggers: which events fire which rules, for whom and how much.
func TestTriggers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "signup fires when a referred customer is created", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "signup", "reward_type": "credit", "amount": 5, "currency": "USD"}`)
			e.referrer("ann")
			e.createCustomer(map[string]any{"key": "loner", "email": "loner@example.com"})
			e.wantRewards("before the friend", e.rewards(""))
			e.friend("bob", "ann")
			got := e.rewards("customer_key=ann")
			e.wantRewards("after the friend", got, rewardLine{"ann", "signup", "credit", "5.00", "USD", "available"})
			if len(got) == 1 && (got[0].FriendKey != "bob" || got[0].TransactionKey != nil) {
				t.Errorf("friend_key %q, transaction_key %v: want bob and null", got[0].FriendKey, got[0].TransactionKey)
			}
			if b := e.balance("ann", "").Balance; b != "5.00" {
				t.Errorf("balance %s, want 5.00", b)
			}
		})

		e.scenario(t, "signup fires when referred_by is set later", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "signup", "reward_type": "cash", "amount": 2.5, "currency": "USD"}`)
			e.referrer("ann")
			e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com"})
			e.wantRewards("before referred_by", e.rewards(""))
			resp := e.do(req{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: map[string]any{"referred_by": e.code("ann")}})
			e.want(resp, 200, "set referred_by")
			e.wantRewards("after referred_by", e.rewards(""), rewardLine{"ann", "signup", "cash", "2.50", "USD", "available"})
			// Setting the same referrer again is no new referral.
			e.want(e.do(req{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: map[string]any{"referred_by": e.code("ann")}}), 200, "again")
			if n := len(e.rewards("")); n != 1 {
				t.Errorf("%d rewards after setting referred_by twice, want 1", n)
			}
		})

		e.scenario(t, "purchase and subscription fire only their own rules", func(t *testing.T, e *env) {
			buy := e.createRule(`{"trigger": "purchase", "reward_type": "credit", "amount": 10, "currency": "USD"}`)
			sub := e.createRule(`{"trigger": "subscription", "reward_type": "credit", "amount": 3, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			p := e.purchase("bob", "p-1", "20")
			s := e.pay(txnBody("bob", "s-1", "subscription", "20"))
			e.wantRewards("purchase", p.Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"})
			e.wantRewards("subscription", s.Rewards, rewardLine{"ann", "subscription", "credit", "3.00", "USD", "available"})
			if len(p.Rewards) == 1 && len(s.Rewards) == 1 && (p.Rewards[0].RuleID != buy.ID || s.Rewards[0].RuleID != sub.ID) {
				t.Errorf("rule ids %s, %s; want %s, %s", p.Rewards[0].RuleID, s.Rewards[0].RuleID, buy.ID, sub.ID)
			}
			if p.Type != "purchase" || s.Type != "subscription" || p.Status != "paid" || p.Amount != "20.00" || p.Currency != "USD" {
				t.Errorf("transactions %+v, %+v", p, s)
			}
		})

		e.scenario(t, "non-referred customer recorded with no rewards", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
			e.createCustomer(map[string]any{"key": "loner", "email": "loner@example.com"})
			resp := e.postTransaction(map[string]any{"customer_key": "loner", "key": "order-1", "type": "purchase", "amount": 45.00, "currency": "USD",
				"created_at": "2025-01-02T03:04:05Z", "metadata": map[string]any{"plan": "pro"}})
			e.want(resp, http.StatusCreated, "transaction")
			if !bytes.Contains(resp.Body, []byte(`"rewards":[]`)) {
				t.Errorf("body %s, want \"rewards\":[]", resp.Body)
			}
			got := decodeTransaction(t, resp)
			want := transaction{Key: "order-1", CustomerKey: "loner", Type: "purchase", Amount: "45.00", Currency: "USD",
				RefundedAmount: "0.00", Status: "paid", Metadata: map[string]any{"plan": "pro"}, Rewards: []reward{},
				CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), RecordedAt: got.RecordedAt}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("transaction (-want +got):\n%s", diff)
			}
			resp = e.do(req{method: "GET", path: "/v1/transactions/order-1", key: e.sk})
			e.want(resp, 200, "get")
			if diff := cmp.Diff(got, decodeTransaction(t, resp)); diff != "" {
				t.Errorf("GET differs (-posted +got):\n%s", diff)
			}
			for _, path := range []string{"/v1/transactions", "/v1/customers/loner/transactions"} {
				var p page[transaction]
				e.do(req{method: "GET", path: path, key: e.sk}).json(t, &p)
				if len(p.Data) != 1 || p.Data[0].Key != "order-1" {
					t.Errorf("%s: %+v, want order-1", path, p.Data)
				}
			}
		})

		e.scenario(t, "double-sided", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
			e.createRule(`{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			got := e.purchase("bob", "order-1", "60")
			e.wantRewards("purchase", got.Rewards,
				rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"},
				rewardLine{"bob", "purchase", "discount", "20", "", "available"})
			var code *discountCode
			for _, rw := range got.Rewards {
				if rw.RewardType == "discount" {
					code = rw.DiscountCode
				} else if rw.DiscountCode != nil {
					t.Errorf("credit reward with a discount code: %+v", rw)
				}
			}
			if code == nil {
				t.Fatal("the friend's discount reward has no code")
			}
			codes := e.discountCodes("bob")
			if diff := cmp.Diff([]discountCode{*code}, codes); diff != "" {
				t.Errorf("bob's discount codes (-in the transaction +listed):\n%s", diff)
			}
			if code.PercentOff == nil || *code.PercentOff != "20" || code.AmountOff != nil || code.Status != "active" || code.CustomerKey != "bob" {
				t.Errorf("code %+v, want 20 percent off, active, for bob", code)
			}
			if n := len(e.discountCodes("ann")); n != 0 {
				t.Errorf("ann has %d discount codes, want 0", n)
			}
		})

		// "First purchase" is the friend's first purchase ever: when it is
		// below the minimum, no later purchase is a first one.
		e.scenario(t, "recurrence first rewards the friend's first purchase when it qualifies", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD", "min_amount": 50}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.friend("cat", "ann")
			e.wantRewards("first purchase below minimum", e.purchase("bob", "b-1", "20").Rewards)
			e.wantRewards("second purchase above it", e.purchase("bob", "b-2", "50").Rewards)
			e.wantRewards("another friend's first", e.purchase("cat", "c-1", "80").Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"})
			e.wantRewards("their second", e.purchase("cat", "c-2", "80").Rewards)
		})

		e.scenario(t, "every with max_count", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "subscription", "recurrence": "every", "max_count": 2, "reward_type": "credit", "amount": 5, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			var n []int
			for i := range 3 {
				n = append(n, len(e.pay(txnBody("bob", fmt.Sprintf("sub-%d", i), "subscription", "30")).Rewards))
			}
			if diff := cmp.Diff([]int{1, 1, 0}, n); diff != "" {
				t.Errorf("rewards per payment (-want +got):\n%s", diff)
			}
			if b := e.balance("ann", "").Balance; b != "10.00" {
				t.Errorf("balance %s, want 10.00", b)
			}
		})

		e.scenario(t, "every with max_months", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "subscription", "recurrence": "every", "max_months": 2, "reward_type": "credit", "amount": 5, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			first := time.Now().UTC().AddDate(0, -6, 0).Truncate(time.Second)
			var n []int
			for i := range 4 {
				body := txnBody("bob", fmt.Sprintf("sub-%d", i), "subscription", "30")
				body["created_at"] = first.AddDate(0, i, 0)
				n = append(n, len(e.pay(body).Rewards))
			}
			if diff := cmp.Diff([]int{1, 1, 0, 0}, n); diff != "" {
				t.Errorf("rewards for payments 0, 1, 2, 3 months after the first (-want +got):\n%s", diff)
			}
		})

		e.scenario(t, "min_amount is in the rule's currency", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 5, "currency": "USD", "min_amount": 50}`)
			e.referrer("ann")
			for i, tc := range []struct {
				amount string
				want   int
			}{{"49.99", 0}, {"50", 1}, {"500 EUR", 0}, {"50.00 USD", 1}} {
				friend := fmt.Sprintf("friend-%d", i)
				e.friend(friend, "ann")
				if got := len(e.purchase(friend, "order-"+friend, tc.amount).Rewards); got != tc.want {
					t.Errorf("purchase of %s: %d rewards, want %d", tc.amount, got, tc.want)
				}
			}
		})

		e.scenario(t, "max_rewards_per_referrer", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 5, "currency": "USD", "max_rewards_per_referrer": 2}`)
			e.referrer("ann")
			e.referrer("dan")
			var n []int
			for i := range 3 {
				f := fmt.Sprintf("ann-friend-%d", i)
				e.friend(f, "ann")
				n = append(n, len(e.purchase(f, "order-"+f, "10").Rewards))
			}
			e.friend("dan-friend", "dan")
			n = append(n, len(e.purchase("dan-friend", "order-dan", "10").Rewards))
			if diff := cmp.Diff([]int{1, 1, 0, 1}, n); diff != "" {
				t.Errorf("rewards: ann's three friends, then dan's (-want +got):\n%s", diff)
			}
			// The third friend did what the rule rewards: the cap stops the
			// reward, not the referral's success.
			if s := e.stats("ann", ""); s.TotalRewards != "10.00" || s.SuccessfulReferrals != 3 || s.PendingReferrals != 0 {
				t.Errorf("ann's stats %+v, want 10.00 from 3 successful, 0 pending", s)
			}
		})

		e.scenario(t, "inactive rules do not fire", func(t *testing.T, e *env) {
			r := e.createRule(`{"reward_type": "credit", "amount": 5, "currency": "USD", "active": false}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.friend("cat", "ann")
			e.wantRewards("inactive", e.purchase("bob", "b-1", "10").Rewards)
			e.updateRule(r.ID, `{"active": true}`)
			e.wantRewards("activated", e.purchase("cat", "c-1", "10").Rewards, rewardLine{"ann", "purchase", "credit", "5.00", "USD", "available"})
			e.updateRule(r.ID, `{"active": false}`)
			e.friend("dan", "ann")
			e.wantRewards("deactivated", e.purchase("dan", "d-1", "10").Rewards)
		})

		e.scenario(t, "percentage of the transaction in its currency", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 12.5, "unit": "percentage"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.friend("cat", "ann")
			e.friend("dan", "ann")
			e.wantRewards("USD", e.purchase("bob", "b-1", "80.00").Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"})
			e.wantRewards("EUR", e.purchase("cat", "c-1", "80 EUR").Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "EUR", "available"})
			// 12.5% of ¥999 is ¥124.875: rounded half away from zero to ¥125.
			e.wantRewards("JPY", e.purchase("dan", "d-1", "999 JPY").Rewards, rewardLine{"ann", "purchase", "credit", "125", "JPY", "available"})
			for cur, want := range map[string]string{"USD": "10.00", "EUR": "10.00", "JPY": "125"} {
				if b := e.balance("ann", cur); b.Balance != json.Number(want) || b.Currency != cur {
					t.Errorf("%s balance %s %s, want %s", cur, b.Balance, b.Currency, want)
				}
			}
		})

		e.scenario(t, "fixed rule in its own currency", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.wantRewards("EUR purchase", e.purchase("bob", "b-1", "50 EUR").Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"})
			if b := e.balance("ann", "USD"); b.Balance != "10.00" {
				t.Errorf("USD balance %s, want 10.00", b.Balance)
			}
			if b := e.balance("ann", "EUR"); b.Balance != "0.00" || b.Currency != "EUR" {
				t.Errorf("EUR balance %s %s, want 0.00 EUR: nothing is converted", b.Balance, b.Currency)
			}
			if s := e.stats("ann", "USD"); s.TotalRewards != "10.00" || s.Currency != "USD" {
				t.Errorf("USD stats %+v", s)
			}
			if s := e.stats("ann", "EUR"); s.TotalRewards != "0.00" || s.Currency != "EUR" || s.SuccessfulReferrals != 1 {
				t.Errorf("EUR stats %+v, want 0.00 EUR and the one successful referral", s)
			}
		})
	})
}

// TestTransactionBadInput: each invalid transaction is a 4xx with a code,
// and nothing is written.
func TestTransactionBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		tests := []struct {
			name   string
			body   string
			status int
			code   string
			field  string
		}{
			{"unknown customer", `{"customer_key": "nobody", "key": "o1", "amount": 10}`, 422, "customer_not_found", "customer_key"},
			{"no customer", `{"key": "o1", "amount": 10}`, 422, "invalid_transaction", "customer_key"},
			{"no key", `{"customer_key": "bob", "amount": 10}`, 422, "invalid_transaction", "key"},
			{"zero amount", `{"customer_key": "bob", "key": "o1", "amount": 0}`, 422, "invalid_amount", "amount"},
			{"negative amount", `{"customer_key": "bob", "key": "o1", "amount": -10}`, 422, "invalid_amount", "amount"},
			{"no amount", `{"customer_key": "bob", "key": "o1"}`, 422, "invalid_amount", "amount"},
			{"tenth of a cent", `{"customer_key": "bob", "key": "o1", "amount": 10.001, "currency": "USD"}`, 422, "amount_too_precise", "amount"},
			{"decimals on yen", `{"customer_key": "bob", "key": "o1", "amount": 10.5, "currency": "JPY"}`, 422, "amount_too_precise", "amount"},
			{"unknown currency", `{"customer_key": "bob", "key": "o1", "amount": 10, "currency": "ABC"}`, 422, "invalid_currency", "currency"},
			{"unknown type", `{"customer_key": "bob", "key": "o1", "amount": 10, "type": "refund"}`, 422, "invalid_transaction", "type"},
			{"in the future", `{"customer_key": "bob", "key": "o1", "amount": 10, "created_at": "2999-01-01T00:00:00Z"}`, 422, "invalid_transaction", "created_at"},
			{"unknown field", `{"customer_key": "bob", "key": "o1", "amount": 10, "coupon": "X"}`, 422, "unknown_field", "coupon"},
			{"malformed", `{"customer_key": "bob",`, 400, "malformed_json", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				e.wantProblem(e.postTransaction(tc.body), tc.status, tc.code, tc.field)
				e.same(before)
			})
		}
		if got := e.purchase("bob", "o1", "10").Rewards; len(got) != 1 {
			t.Errorf("after the failures, the first good purchase gave %d rewards, want 1", len(got))
		}
	})
}

// TestTransactionExactlyOnce: a transaction key is one payment. The same
// body again answers the original; another body is a conflict.
func TestTransactionExactlyOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.createRule(`{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.friend("cat", "ann")
		const body = `{"customer_key": "bob", "key": "inv_1", "type": "purchase", "amount": 45.00, "currency": "USD", "metadata": {"plan": "pro"}}`
		first := e.postTransaction(body)
		e.want(first, http.StatusCreated, "first")
		orig := decodeTransaction(t, first)
		if len(orig.Rewards) != 2 {
			t.Fatalf("%d rewards, want 2", len(orig.Rewards))
		}

		t.Run("same body", func(t *testing.T) {
			e := e.in(t)
			before := e.snapshot()
			for _, b := range []string{body, `{"metadata": {"plan": "pro"}, "amount": 45, "currency": "USD", "type": "purchase", "key": "inv_1", "customer_key": "bob"}`} {
				again := e.postTransaction(b)
				e.want(again, http.StatusOK, "again")
				if diff := cmp.Diff(orig, decodeTransaction(t, again)); diff != "" {
					t.Errorf("replay differs from the original (-original +replay):\n%s", diff)
				}
			}
			e.same(before)
			if n := len(e.rewards("")); n != 2 {
				t.Errorf("%d rewards, want 2", n)
			}
		})

		for _, tc := range []struct{ name, body string }{
			{"other amount", `{"customer_key": "bob", "key": "inv_1", "type": "purchase", "amount": 46, "currency": "USD", "metadata": {"plan": "pro"}}`},
			{"other customer", `{"customer_key": "cat", "key": "inv_1", "type": "purchase", "amount": 45, "currency": "USD", "metadata": {"plan": "pro"}}`},
			{"other type", `{"customer_key": "bob", "key": "inv_1", "type": "subscription", "amount": 45, "currency": "USD", "metadata": {"plan": "pro"}}`},
			{"other metadata", `{"customer_key": "bob", "key": "inv_1", "type": "purchase", "amount": 45, "currency": "USD"}`},
			{"other currency", `{"customer_key": "bob", "key": "inv_1", "type": "purchase", "amount": 45, "currency": "EUR", "metadata": {"plan": "pro"}}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				e.wantProblem(e.postTransaction(tc.body), http.StatusConflict, "transaction_key_conflict", "")
				e.same(before)
			})
		}

		t.Run("same key in another program", func(t *testing.T) {
			o := e.inProgram(t, "USD")
			o.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com"})
			o.want(o.postTransaction(body), http.StatusCreated, "other program")
		})

		resp := e.do(req{method: "GET", path: "/v1/transactions/inv_1", key: e.sk})
		if diff := cmp.Diff(orig, decodeTransaction(t, resp)); diff != "" {
			t.Errorf("GET after the conflicts (-original +got):\n%s", diff)
		}
	})
}

// TestTransactionConcurrent sends the same payment from ten clients at
// once, as a webhook sender retrying eagerly would: one transaction and
// one set of rewards, whatever the interleaving.
func TestTransactionConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.createRule(`{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
		e.referrer("ann")
		for i := range 10 {
			e.friend(fmt.Sprintf("f%d", i), "ann")
		}
		const n = 10
		// parallel sends n transactions at once, body(i) for the i-th.
		parallel := func(e *env, body func(i int) string) []*response {
			resps := make([]*response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range resps {
				wg.Go(func() {
					<-start
					resps[i] = e.postTransaction(body(i))
				})
			}
			close(start)
			wg.Wait()
			return resps
		}

		t.Run("same payment", func(t *testing.T) {
			e := e.in(t)
			resps := parallel(e, func(int) string {
				return `{"customer_key": "f0", "key": "inv_1", "type": "purchase", "amount": 45.00, "currency": "USD"}`
			})
			statuses := map[int]int{}
			var first *transaction
			for i, r := range resps {
				statuses[r.Status]++
				if r.Status != 200 && r.Status != 201 {
					t.Errorf("response %d: %d %s", i, r.Status, r.Body)
					continue
				}
				got := decodeTransaction(t, r)
				if first == nil {
					first = &got
				} else if diff := cmp.Diff(*first, got); diff != "" {
					t.Errorf("response %d differs (-first +this):\n%s", i, diff)
				}
			}
			if diff := cmp.Diff(map[int]int{201: 1, 200: n - 1}, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if first != nil && len(first.Rewards) != 2 {
				t.Errorf("%d rewards in the response, want 2", len(first.Rewards))
			}
			var txns page[transaction]
			e.do(req{method: "GET", path: "/v1/transactions", key: e.sk}).json(t, &txns)
			if len(txns.Data) != 1 {
				t.Errorf("%d transactions, want 1", len(txns.Data))
			}
			if got := len(e.rewards("")); got != 2 {
				t.Errorf("%d rewards, want 2", got)
			}
			if b := e.balance("ann", "").Balance; b != "10.00" {
				t.Errorf("balance %s, want 10.00", b)
			}
		})

		t.Run("one friend's payments at once reward once", func(t *testing.T) {
			e := e.in(t)
			resps := parallel(e, func(i int) string {
				return fmt.Sprintf(`{"customer_key": "f1", "key": "f1-%d", "amount": 20}`, i)
			})
			given := 0
			for i, r := range resps {
				e.want(r, http.StatusCreated, fmt.Sprint("payment ", i))
				given += len(decodeTransaction(t, r).Rewards)
			}
			if given != 2 {
				t.Errorf("%d rewards for f1's ten payments, want 2 (recurrence first, double-sided)", given)
			}
			if b := e.balance("ann", "").Balance; b != "20.00" {
				t.Errorf("balance %s, want 20.00", b)
			}
		})

		t.Run("max_rewards_per_referrer holds under concurrency", func(t *testing.T) {
			o := e.inProgram(t, "USD")
			o.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD", "max_rewards_per_referrer": 3}`)
			o.referrer("ann")
			for i := range n {
				o.friend(fmt.Sprintf("g%d", i), "ann")
			}
			resps := parallel(o, func(i int) string {
				return fmt.Sprintf(`{"customer_key": "g%d", "key": "g-%d", "amount": 20}`, i, i)
			})
			given := 0
			for i, r := range resps {
				o.want(r, http.StatusCreated, fmt.Sprint("payment ", i))
				given += len(decodeTransaction(t, r).Rewards)
			}
			if given != 3 {
				t.Errorf("%d rewards, want 3", given)
			}
			if b := o.balance("ann", "").Balance; b != "30.00" {
				t.Errorf("balance %s, want 30.00", b)
			}
		})
	})
}

// TestRefundsWhilePurchasing refunds some of a referrer's rewards while
// others are being earned: the same accounts are debited and credited from
// both sides at once, and every request must still succeed.
func TestRefundsWhilePurchasing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.referrer("ann")
		const n = 6
		for i := range 2 * n {
			e.friend(fmt.Sprintf("f%d", i), "ann")
		}
		// The same work one request at a time is the yardstick for the
		// concurrent run below: PostgreSQL breaks a deadlock only after a
		// second (deadlock_timeout), which shows as a run much slower.
		seq := time.Now()
		for i := range n {
			e.purchase(fmt.Sprintf("f%d", i), fmt.Sprintf("old-%d", i), "20")
		}
		limit := 4*time.Since(seq) + 2*time.Second
		resps := make([]*response, 2*n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				resps[i] = e.do(req{method: "POST", path: fmt.Sprintf("/v1/transactions/old-%d/refund", i), key: e.sk})
			})
			wg.Go(func() {
				<-start
				resps[n+i] = e.postTransaction(fmt.Sprintf(`{"customer_key": "f%d", "key": "new-%d", "amount": 20}`, n+i, i))
			})
		}
		begin := time.Now()
		close(start)
		wg.Wait()
		for i, r := range resps {
			if want := map[bool]int{true: 200, false: 201}[i < n]; r.Status != want {
				t.Errorf("request %d: %d %s, want %d", i, r.Status, r.Body, want)
			}
		}
		if d := time.Since(begin); d > limit {
			t.Errorf("%d requests at once took %v, more than %v: did they deadlock?", 2*n, d, limit)
		}
		if got := e.balance("ann", "").Balance; got != "60.00" {
			t.Errorf("balance %s, want 60.00", got)
		}
	})
}

// TestRefunds: refunds claw rewards back, in proportion for percentages,
// from pending or available value, even into a negative balance.
func TestRefunds(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "partial refund shrinks percentage rewards only", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "unit": "percentage"}`)
			e.createRule(`{"recipient": "friend", "reward_type": "credit", "amount": 5, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.wantRewards("purchase", e.purchase("bob", "o1", "100").Rewards,
				rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"},
				rewardLine{"bob", "purchase", "credit", "5.00", "USD", "available"})

			got := e.refund("o1", "40")
			if got.RefundedAmount != "40.00" || got.Status != "partially_refunded" {
				t.Errorf("after 40: refunded %s, status %s", got.RefundedAmount, got.Status)
			}
			reversed := func(rws []reward) map[string]string {
				out := map[string]string{}
				for _, rw := range rws {
					out[rw.CustomerKey] = rw.ReversedAmount.String() + " " + rw.Status
				}
				return out
			}
			if diff := cmp.Diff(map[string]string{"ann": "4.00 available", "bob": "0.00 available"}, reversed(got.Rewards)); diff != "" {
				t.Errorf("after refunding 40 of 100 (-want +got):\n%s", diff)
			}
			if a, b := e.balance("ann", "").Balance, e.balance("bob", "").Balance; a != "6.00" || b != "5.00" {
				t.Errorf("balances ann %s, bob %s; want 6.00, 5.00", a, b)
			}
			if s := e.stats("ann", ""); s.TotalRewards != "6.00" {
				t.Errorf("total_rewards %s, want 6.00", s.TotalRewards)
			}

			got = e.refund("o1", "")
			if got.RefundedAmount != "100.00" || got.Status != "refunded" {
				t.Errorf("after the rest: refunded %s, status %s", got.RefundedAmount, got.Status)
			}
			if diff := cmp.Diff(map[string]string{"ann": "10.00 reversed", "bob": "5.00 reversed"}, reversed(got.Rewards)); diff != "" {
				t.Errorf("after refunding everything (-want +got):\n%s", diff)
			}
			if a, b := e.balance("ann", "").Balance, e.balance("bob", "").Balance; a != "0.00" || b != "0.00" {
				t.Errorf("balances ann %s, bob %s; want 0.00", a, b)
			}
			if s := e.stats("ann", ""); s.TotalRewards != "0.00" {
				t.Errorf("total_rewards %s, want 0.00", s.TotalRewards)
			}
		})

		e.scenario(t, "several partial refunds add up exactly", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "cash", "amount": 33.33, "unit": "percentage"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			// 33.33% of 100.01 is 33.3333…: 33.33.
			if rws := e.purchase("bob", "o1", "100.01").Rewards; len(rws) != 1 || rws[0].Amount != "33.33" {
				t.Fatalf("rewards %+v, want one of 33.33", rws)
			}
			var steps []string
			for _, amount := range []string{"0.01", "33.33", "0.01", "33.33", "33.33"} {
				rw := e.refund("o1", amount).Rewards[0]
				steps = append(steps, rw.ReversedAmount.String()+" "+rw.Status)
			}
			want := []string{"0.00 available", "11.11 available", "11.11 available", "22.22 available", "33.33 reversed"}
			if diff := cmp.Diff(want, steps); diff != "" {
				t.Errorf("reversed after each refund (-want +got):\n%s", diff)
			}
			if b := e.balance("ann", ""); b.Cash.Available != "0.00" {
				t.Errorf("cash %s, want 0.00", b.Cash.Available)
			}
		})

		e.scenario(t, "full refund by DELETE", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.purchase("bob", "o1", "30")
			resp := e.do(req{method: "DELETE", path: "/v1/transactions/o1", key: e.sk})
			e.want(resp, http.StatusOK, "delete")
			got := decodeTransaction(t, resp)
			if got.Status != "refunded" || got.RefundedAmount != "30.00" {
				t.Errorf("status %s, refunded %s", got.Status, got.RefundedAmount)
			}
			e.wantRewards("after DELETE", got.Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "USD", "reversed"})
			if b := e.balance("ann", "").Balance; b != "0.00" {
				t.Errorf("balance %s, want 0.00", b)
			}
			e.wantProblem(e.do(req{method: "DELETE", path: "/v1/transactions/o1", key: e.sk}), 409, "already_refunded", "")
		})

		e.scenario(t, "pending rewards are reversed from pending", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "cash", "amount": 25, "currency": "USD", "holding_days": 30}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.wantRewards("purchase", e.purchase("bob", "o1", "100").Rewards, rewardLine{"ann", "purchase", "cash", "25.00", "USD", "pending"})
			if got := e.balance("ann", "").short(); got != (bal{"0.00", "25.00", "0.00/0.00", "0.00/25.00/0.00"}) {
				t.Errorf("before: %+v", got)
			}
			e.wantRewards("refund", e.refund("o1", "").Rewards, rewardLine{"ann", "purchase", "cash", "25.00", "USD", "reversed"})
			if got := e.balance("ann", "").short(); got != (bal{"0.00", "0.00", "0.00/0.00", "0.00/0.00/0.00"}) {
				t.Errorf("after: %+v", got)
			}
			if n, err := e.db.ReleaseDueRewards(context.Background(), time.Now().AddDate(0, 0, 31), 100); err != nil || n != 0 {
				t.Errorf("the holding job released %d (%v), want 0", n, err)
			}
			if got := e.rewards("customer_key=ann"); len(got) != 1 || got[0].Status != "reversed" {
				t.Errorf("rewards after the holding job: %+v", got)
			}
		})

		e.scenario(t, "available reward debited into a negative balance", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.friend("cat", "ann")
			e.purchase("bob", "o1", "30")
			resp := e.do(req{method: "POST", path: "/v1/customers/ann/balance/debit", key: e.sk, body: `{"amount": 10, "currency": "USD", "note": "checkout"}`})
			e.want(resp, 200, "spend the credit")
			e.refund("o1", "")
			if got := e.balance("ann", "").short(); got != (bal{"-10.00", "0.00", "-10.00/0.00", "0.00/0.00/0.00"}) {
				t.Errorf("after the refund: %+v, want -10.00 carried", got)
			}
			e.wantProblem(e.do(req{method: "POST", path: "/v1/customers/ann/balance/debit", key: e.sk, body: `{"amount": 1}`}), 422, "insufficient_balance", "amount")
			e.purchase("cat", "o2", "30")
			if got := e.balance("ann", "").Balance; got != "0.00" {
				t.Errorf("after a later reward: %s, want 0.00 (the debt offset)", got)
			}
			kinds := map[string]int{}
			for _, le := range e.ledger("ann") {
				kinds[le.Kind+" "+le.Amount.String()]++
			}
			want := map[string]int{"reward_earned 10.00": 2, "debit -10.00": 1, "reward_reversed -10.00": 1}
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Errorf("ann's ledger (-want +got):\n%s", diff)
			}
		})

		e.scenario(t, "failed refunds change nothing", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "amount": 10, "unit": "percentage"}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.purchase("bob", "o1", "100")
			e.pay(map[string]any{"customer_key": "bob", "key": "yen", "amount": 1000, "currency": "JPY"})
			e.purchase("bob", "gone", "10")
			e.refund("gone", "")
			e.refund("o1", "40")
			tests := []struct {
				name, method, path, body string
				status                   int
				code, field              string
			}{
				{"more than remains", "POST", "/v1/transactions/o1/refund", `{"amount": 60.01}`, 422, "refund_exceeds_amount", "amount"},
				{"more than the payment", "POST", "/v1/transactions/yen/refund", `{"amount": 1001}`, 422, "refund_exceeds_amount", "amount"},
				{"tenth of a cent", "POST", "/v1/transactions/o1/refund", `{"amount": 10.001}`, 422, "amount_too_precise", "amount"},
				{"decimals on yen", "POST", "/v1/transactions/yen/refund", `{"amount": 1.5}`, 422, "amount_too_precise", "amount"},
				{"zero", "POST", "/v1/transactions/o1/refund", `{"amount": 0}`, 422, "invalid_amount", "amount"},
				{"negative", "POST", "/v1/transactions/o1/refund", `{"amount": -5}`, 422, "invalid_amount", "amount"},
				{"unknown field", "POST", "/v1/transactions/o1/refund", `{"amount": 5, "currency": "EUR"}`, 422, "unknown_field", "currency"},
				{"twice", "POST", "/v1/transactions/gone/refund", ``, 409, "already_refunded", ""},
				{"twice, partly", "POST", "/v1/transactions/gone/refund", `{"amount": 1}`, 409, "already_refunded", ""},
				{"twice by DELETE", "DELETE", "/v1/transactions/gone", ``, 409, "already_refunded", ""},
				{"unknown transaction", "POST", "/v1/transactions/nope/refund", ``, 404, "transaction_not_found", ""},
				{"unknown transaction with amount", "POST", "/v1/transactions/nope/refund", `{"amount": 1}`, 404, "transaction_not_found", ""},
				{"unknown transaction by DELETE", "DELETE", "/v1/transactions/nope", ``, 404, "transaction_not_found", ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					e := e.in(t)
					before, ann := e.snapshot(), e.balance("ann", "")
					var body any
					if tc.body != "" {
						body = tc.body
					}
					e.wantProblem(e.do(req{method: tc.method, path: tc.path, key: e.sk, body: body}), tc.status, tc.code, tc.field)
					e.same(before)
					if diff := cmp.Diff(ann, e.balance("ann", "")); diff != "" {
						t.Errorf("balance changed (-before +after):\n%s", diff)
					}
				})
			}
			if got := e.refund("o1", "60"); got.Status != "refunded" {
				t.Errorf("refunding exactly what remains: status %s", got.Status)
			}
		})
	})
}
