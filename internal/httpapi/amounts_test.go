package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

// TestAmountLimits: no amount above 10^12 minor units (USD
// 10,000,000,000.00) enters, on any endpoint that takes one, and no balance
// grows beyond it; both are a 422 that changes nothing. Crediting the
// int64 maximum twice used to overflow the cached balance: a 500.
func TestAmountLimits(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.purchase("bob", "o1", "100")
		credit := func(amount string) req {
			return req{method: "POST", path: "/v1/customers/ann/balance/credit", key: e.sk, body: `{"amount": ` + amount + `}`}
		}
		e.want(e.do(credit("9000000000")), http.StatusOK, "credit 9 billion")
		tests := []struct {
			name   string
			r      req
			status int
			code   string
			field  string
		}{
			{"credit int64 max", credit("92233720368547758.07"), 422, "amount_too_large", "amount"},
			{"credit above int64", credit("92233720368547758.08"), 422, "amount_too_large", "amount"},
			{"credit 1e400", credit("1e400"), 422, "amount_too_large", "amount"},
			{"credit just above the max", credit("10000000000.01"), 422, "amount_too_large", "amount"},
			{"credit beyond the balance limit", credit("1000000000.01"), 422, "balance_limit_exceeded", "amount"},
			{"debit above the max", req{method: "POST", path: "/v1/customers/ann/balance/debit", key: e.sk,
				body: `{"amount": 92233720368547758.07}`}, 422, "amount_too_large", "amount"},
			{"transaction above the max", req{method: "POST", path: "/v1/transactions", key: e.sk,
				body: `{"customer_key": "bob", "key": "big", "amount": 92233720368547758.07}`}, 422, "amount_too_large", "amount"},
			{"transaction in yen above the max", req{method: "POST", path: "/v1/transactions", key: e.sk,
				body: `{"customer_key": "bob", "key": "big", "amount": 1000000000001, "currency": "JPY"}`}, 422, "amount_too_large", "amount"},
			{"refund above the max", req{method: "POST", path: "/v1/transactions/o1/refund", key: e.sk,
				body: `{"amount": 92233720368547758.07}`}, 422, "amount_too_large", "amount"},
			{"rule above the max", req{method: "POST", path: "/v1/reward_rules", key: e.sk,
				body: `{"reward_type": "credit", "amount": 92233720368547758.07, "currency": "USD"}`}, 422, "amount_too_large", "amount"},
			{"rule minimum above the max", req{method: "POST", path: "/v1/reward_rules", key: e.sk,
				body: `{"reward_type": "credit", "amount": 10, "currency": "USD", "min_amount": 1e13}`}, 422, "amount_too_large", "min_amount"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				e.wantProblem(e.do(tc.r), tc.status, tc.code, tc.field)
				e.same(before)
			})
		}
		t.Run("up to the limit", func(t *testing.T) {
			e := e.in(t)
			e.want(e.do(credit("999999990")), http.StatusOK, "credit up to the limit") // 9,000,000,000 + 999,999,990 + 10 reward
			if got := e.balance("ann", "USD").Balance; got != "10000000000.00" {
				t.Errorf("balance %s, want 10000000000.00", got)
			}
			e.wantProblem(e.do(credit("0.01")), 422, "balance_limit_exceeded", "amount")
			e.want(e.do(req{method: "POST", path: "/v1/customers/ann/balance/debit", key: e.sk, body: `{"amount": 10000000000}`}),
				http.StatusOK, "debit the whole limit")
			e.want(e.do(req{method: "POST", path: "/v1/transactions", key: e.sk,
				body: `{"customer_key": "bob", "key": "max", "amount": 10000000000}`}), http.StatusCreated, "a payment of the maximum")
		})
	})
}

// TestAmountTypes: amounts are JSON numbers; a string such as "10" is a
// 422 naming the field, like every other field of the wrong type. It used
// to be accepted because json.Number takes strings.
func TestAmountTypes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.purchase("bob", "o1", "100")
		tests := []struct {
			name, method, path, body, field string
		}{
			{"transaction amount string", "POST", "/v1/transactions", `{"customer_key": "bob", "key": "o2", "amount": "10"}`, "amount"},
			{"transaction amount true", "POST", "/v1/transactions", `{"customer_key": "bob", "key": "o2", "amount": true}`, "amount"},
			{"transaction amount object", "POST", "/v1/transactions", `{"customer_key": "bob", "key": "o2", "amount": {"v": 10}}`, "amount"},
			{"transaction amount array", "POST", "/v1/transactions", `{"customer_key": "bob", "key": "o2", "amount": [10]}`, "amount"},
			{"refund amount string", "POST", "/v1/transactions/o1/refund", `{"amount": "10"}`, "amount"},
			{"credit amount string", "POST", "/v1/customers/ann/balance/credit", `{"amount": "10"}`, "amount"},
			{"debit amount string", "POST", "/v1/customers/ann/balance/debit", `{"amount": "1"}`, "amount"},
			{"rule amount string", "POST", "/v1/reward_rules", `{"reward_type": "credit", "amount": "10", "currency": "USD"}`, "amount"},
			{"rule min_amount string", "POST", "/v1/reward_rules", `{"reward_type": "credit", "amount": 10, "currency": "USD", "min_amount": "5"}`, "min_amount"},
			{"rule update amount string", "PUT", "/v1/reward_rules/" + e.createRule(`{"reward_type": "credit", "amount": 5}`).ID, `{"amount": "10"}`, "amount"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				e.wantProblem(e.do(req{method: tc.method, path: tc.path, key: e.sk, body: tc.body}), 422, "invalid_field_type", tc.field)
				e.same(before)
			})
		}
		t.Run("null amount is absent", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.postTransaction(`{"customer_key": "bob", "key": "o2", "amount": null}`), 422, "invalid_amount", "amount")
		})
	})
}

// TestBalanceLimitHoldsRelease: a reward whose release would take the
// referrer's available balance beyond the limit is held for approval
// instead of failing the release of every reward due with it (it used to
// be first in line for ever); approving it is a 422 until the balance
// has room, and then works.
func TestBalanceLimitHoldsRelease(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		ctx := t.Context()
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD", "holding_days": 30}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.referrer("cat")
		e.friend("dan", "cat")
		full := e.purchase("bob", "o1", "100").Rewards[0] // first in line
		other := e.purchase("dan", "o2", "100").Rewards[0]
		e.want(e.do(req{method: "POST", path: "/v1/customers/ann/balance/credit", key: e.sk,
			body: `{"amount": 9999999995}`}), http.StatusOK, "credit ann nearly to the limit")

		n, err := e.db.ReleaseDueRewards(ctx, e.db.Now().Add(31*24*time.Hour), 10)
		if err != nil || n != 1 {
			t.Fatalf("ReleaseDueRewards = %d, %v; want 1 released (cat's)", n, err)
		}
		if got := e.reward(other.ID); got.Status != "available" {
			t.Errorf("cat's reward is %s, want available", got.Status)
		}
		if got := e.reward(full.ID); got.Status != "pending" || !got.NeedsApproval {
			t.Errorf("ann's reward is %s (needs approval %v), want pending and held for approval", got.Status, got.NeedsApproval)
		}
		approve := req{method: "POST", path: "/v1/rewards/" + full.ID + "/approve", key: e.sk}
		before := e.snapshot()
		e.wantProblem(e.do(approve), 422, "balance_limit_exceeded", "amount")
		e.same(before)
		e.want(e.do(req{method: "POST", path: "/v1/customers/ann/balance/debit", key: e.sk, body: `{"amount": 100}`}),
			http.StatusOK, "make room")
		e.want(e.do(approve), http.StatusOK, "approve once there is room")
		if got := e.balance("ann", "USD").Balance; got != "9999999905.00" {
			t.Errorf("ann's balance %s, want 9999999905.00", got)
		}
	})
}

// TestBalanceBeyondLimitFromOlderVersions: a cached balance that an older
// version let grow beyond the limit (here near the int64 maximum, where
// one more credit overflowed) refuses a posting that grows it with a 422
// instead of a 500, takes every posting toward zero (a debit, a refund's
// claw-back) so that it can come back within the limit, and still reads.
func TestBalanceBeyondLimitFromOlderVersions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		ann := e.referrer("ann")
		e.friend("bob", "ann")
		e.purchase("bob", "o1", "100") // ann's reward opens the account
		if _, err := e.db.WriteStats().Exec(`UPDATE ledger_accounts SET balance = 9223372036854775000
			WHERE type = 'credit_available' AND owner = (SELECT id FROM customers WHERE key = $1)`, ann.Key); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name    string
			r       req
			status  int
			balance string
		}{
			{"credit", req{method: "POST", path: "/v1/customers/ann/balance/credit", body: `{"amount": 10000}`}, 422, "92233720368547750.00"},
			{"debit", req{method: "POST", path: "/v1/customers/ann/balance/debit", body: `{"amount": 10000}`}, 200, "92233720368537750.00"},
			{"refund claws the reward back", req{method: "POST", path: "/v1/transactions/o1/refund", body: `{"amount": 100}`}, 200, "92233720368537740.00"},
			{"credit again", req{method: "POST", path: "/v1/customers/ann/balance/credit", body: `{"amount": 1}`}, 422, "92233720368537740.00"},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				e := e.in(t)
				s.r.key = e.sk
				before := e.snapshot()
				res := e.do(s.r)
				if s.status == 422 {
					e.wantProblem(res, 422, "balance_limit_exceeded", "amount")
					e.same(before)
				} else {
					e.want(res, s.status, s.name)
				}
				if got := string(e.balance("ann", "USD").Balance); got != s.balance {
					t.Errorf("ann's balance %s, want %s", got, s.balance)
				}
			})
		}
	})
}
