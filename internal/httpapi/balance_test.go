package httpapi_test

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// keysOf returns the sorted keys of a JSON object, descending into the
// objects named in nested.
func keysOf(t *testing.T, resp *response, nested ...string) []string {
	t.Helper()
	var m map[string]any
	resp.json(t, &m)
	var out []string
	for k, v := range m {
		out = append(out, k)
		for _, n := range nested {
			if k == n {
				for sub := range v.(map[string]any) {
					out = append(out, k+"."+sub)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestStats checks GET /v1/customers/{key}/stats against the seed's exact
// shape and against what happened.
func TestStats(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.createRule(`{"recipient": "friend", "reward_type": "credit", "amount": 5, "currency": "USD"}`)
		e.createRule(`{"reward_type": "cash", "amount": 10, "unit": "percentage"}`)
		e.referrer("ann")
		e.createCustomer(map[string]any{"key": "loner", "email": "loner@example.com"})
		for _, f := range []string{"bob", "cat", "dan", "eve", "fay"} {
			e.friend(f, "ann")
		}
		e.purchase("bob", "o1", "100")     // ann: 10 credit + 10 cash
		e.purchase("cat", "o2", "50")      // ann: 10 credit + 5 cash
		e.purchase("dan", "o3", "200 EUR") // ann: 10 USD credit + 20 EUR cash
		e.purchase("eve", "o4", "30")      // ann: 10 credit + 3 cash, refunded below
		e.refund("o4", "")

		resp := e.do(req{method: "GET", path: "/v1/customers/ann/stats", key: e.sk})
		e.want(resp, 200, "stats")
		want := []string{"currency", "pending_referrals", "successful_referrals", "total_referrals", "total_rewards"}
		if diff := cmp.Diff(want, keysOf(t, resp)); diff != "" {
			t.Errorf("stats fields (-seed +got):\n%s", diff)
		}
		if !bytes.Contains(resp.Body, []byte(`"total_rewards":45.00`)) {
			t.Errorf("body %s: want total_rewards as the number 45.00, like the seed's 30.00", resp.Body)
		}

		tests := []struct {
			name, key, currency string
			want                stats
		}{
			// Five friends, four of whom bought; eve's purchase was refunded
			// in full, which takes her referral back to pending, and fay has
			// not bought: pending. Rewards: USD credit 10+10+10 and cash
			// 10+5; eve's were reversed.
			{"referrer", "ann", "", stats{5, 3, 2, "45.00", "USD"}},
			{"referrer in EUR", "ann", "EUR", stats{5, 3, 2, "20.00", "EUR"}},
			{"referrer in yen", "ann", "JPY", stats{5, 3, 2, "0", "JPY"}},
			// A friend's own rewards are not referral rewards.
			{"friend", "bob", "", stats{0, 0, 0, "0.00", "USD"}},
			{"not referred", "loner", "", stats{0, 0, 0, "0.00", "USD"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, e.in(t).stats(tc.key, tc.currency)); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
			})
		}

		t.Run("bad input", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/ann/stats?currency=XYZ", key: e.sk}), 422, "invalid_currency", "currency")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/ann/stats?currency=XXX", key: e.sk}), 422, "invalid_currency", "currency")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/nobody/stats", key: e.sk}), 404, "customer_not_found", "")
		})
	})
}

// TestBalance checks GET /v1/customers/{key}/balance: the seed's fields,
// the breakdown, and one currency at a time.
func TestBalance(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.createRule(`{"reward_type": "cash", "amount": 25, "currency": "USD", "holding_days": 30}`)
		e.createRule(`{"reward_type": "cash", "amount": 10, "unit": "percentage"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.friend("cat", "ann")
		e.purchase("bob", "o1", "100")     // 10 credit, 25 cash pending, 10 cash
		e.purchase("cat", "o2", "150 EUR") // 10 USD credit, 25 USD cash pending, 15 EUR cash

		resp := e.do(req{method: "GET", path: "/v1/customers/ann/balance", key: e.sk})
		e.want(resp, 200, "balance")
		want := []string{"balance", "cash", "cash.available", "cash.paid", "cash.pending", "credit", "credit.available",
			"credit.pending", "currency", "pending"}
		if diff := cmp.Diff(want, keysOf(t, resp, "credit", "cash")); diff != "" {
			t.Errorf("balance fields (-want +got):\n%s", diff)
		}
		if !bytes.Contains(resp.Body, []byte(`"balance":30.00,"currency":"USD","pending":50.00`)) {
			t.Errorf("body %s: want the seed's fields first, as numbers with the currency's decimals", resp.Body)
		}

		tests := []struct {
			name, key, query string
			want             bal
			currency         string
		}{
			{"program currency", "ann", "", bal{"30.00", "50.00", "20.00/0.00", "10.00/50.00/0.00"}, "USD"},
			{"USD by name", "ann", "USD", bal{"30.00", "50.00", "20.00/0.00", "10.00/50.00/0.00"}, "USD"},
			{"EUR", "ann", "EUR", bal{"15.00", "0.00", "0.00/0.00", "15.00/0.00/0.00"}, "EUR"},
			{"yen", "ann", "JPY", bal{"0", "0", "0/0", "0/0/0"}, "JPY"},
			{"nothing yet", "bob", "", bal{"0.00", "0.00", "0.00/0.00", "0.00/0.00/0.00"}, "USD"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := e.in(t).balance(tc.key, tc.query)
				if diff := cmp.Diff(tc.want, b.short()); diff != "" {
					t.Errorf("balance (-want +got):\n%s", diff)
				}
				if b.Currency != tc.currency {
					t.Errorf("currency %q, want %q", b.Currency, tc.currency)
				}
			})
		}

		t.Run("bad input", func(t *testing.T) {
			e := e.in(t)
			for _, cur := range []string{"XYZ", "uSx", "XXX", "US", "EURO"} {
				e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/ann/balance?currency=" + cur, key: e.sk}), 422, "invalid_currency", "currency")
			}
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/nobody/balance", key: e.sk}), 404, "customer_not_found", "")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/nobody/ledger", key: e.sk}), 404, "customer_not_found", "")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/nobody/discount_codes", key: e.sk}), 404, "customer_not_found", "")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/customers/nobody/transactions", key: e.sk}), 404, "customer_not_found", "")
		})
	})
}

// TestCreditAndDebit covers manual credit (the seed's request as written)
// and debit at checkout, which may never take credit below zero.
func TestCreditAndDebit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane Doe"})
		move := func(e *env, action, body string) *response {
			return e.do(req{method: "POST", path: "/v1/customers/cust_123/balance/" + action, key: e.sk, body: body})
		}

		t.Run("seed credit", func(t *testing.T) {
			e := e.in(t)
			resp := move(e, "credit", `{
"amount": 10,
"currency": "USD",
"note": "Referral bonus"
}`)
			e.want(resp, 200, "credit")
			var b balance
			resp.json(t, &b)
			if diff := cmp.Diff(bal{"10.00", "0.00", "10.00/0.00", "0.00/0.00/0.00"}, b.short()); diff != "" || b.Currency != "USD" {
				t.Errorf("new balance %s (-want +got):\n%s", b.Currency, diff)
			}
			if diff := cmp.Diff(b, e.balance("cust_123", "")); diff != "" {
				t.Errorf("GET differs from the credit's answer (-credit +get):\n%s", diff)
			}
			entries := e.ledger("cust_123")
			if len(entries) != 1 {
				t.Fatalf("ledger %+v, want one entry", entries)
			}
			got := entries[0]
			want := ledgerEntry{ID: got.ID, LedgerTransactionID: got.LedgerTransactionID, Kind: "manual_credit", Account: "credit_available",
				Amount: "10.00", Currency: "USD", Note: "Referral bonus", CreatedAt: got.CreatedAt}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ledger entry (-want +got):\n%s", diff)
			}
		})

		t.Run("debit within the balance", func(t *testing.T) {
			e := e.in(t)
			resp := move(e, "debit", `{"amount": 4, "note": "order 77"}`)
			e.want(resp, 200, "debit")
			var b balance
			resp.json(t, &b)
			if b.Balance != "6.00" || b.Credit.Available != "6.00" {
				t.Errorf("balance %+v, want 6.00", b.short())
			}
			if le := e.ledger("cust_123")[0]; le.Kind != "debit" || le.Amount != "-4.00" || le.Note != "order 77" {
				t.Errorf("newest ledger entry %+v", le)
			}
		})

		e.want(move(e, "credit", `{"amount": 100, "currency": "EUR"}`), 200, "credit EUR")
		tests := []struct {
			name, action, body string
			status             int
			code, field        string
		}{
			{"debit above the balance", "debit", `{"amount": 6.01}`, 422, "insufficient_balance", "amount"},
			{"debit above it in its currency", "debit", `{"amount": 7, "currency": "USD"}`, 422, "insufficient_balance", "amount"},
			{"debit of a currency never credited", "debit", `{"amount": 1, "currency": "GBP"}`, 422, "insufficient_balance", "amount"},
			{"credit of 0", "credit", `{"amount": 0, "currency": "USD"}`, 422, "invalid_amount", "amount"},
			{"negative credit", "credit", `{"amount": -10, "currency": "USD"}`, 422, "invalid_amount", "amount"},
			{"credit of a tenth of a cent", "credit", `{"amount": 10.001, "currency": "USD"}`, 422, "amount_too_precise", "amount"},
			{"credit of half a yen", "credit", `{"amount": 0.5, "currency": "JPY"}`, 422, "amount_too_precise", "amount"},
			{"credit without amount", "credit", `{"currency": "USD"}`, 422, "invalid_amount", "amount"},
			{"credit in an unknown currency", "credit", `{"amount": 10, "currency": "ABC"}`, 422, "invalid_currency", "currency"},
			{"credit with an unknown field", "credit", `{"amount": 10, "reason": "x"}`, 422, "unknown_field", "reason"},
			{"credit with a long note", "credit", fmt.Sprintf(`{"amount": 10, "note": %q}`, bytes.Repeat([]byte("n"), 501)), 422, "invalid_note", "note"},
			{"debit of 0", "debit", `{"amount": 0}`, 422, "invalid_amount", "amount"},
			{"negative debit", "debit", `{"amount": -1}`, 422, "invalid_amount", "amount"},
			{"debit of a tenth of a cent", "debit", `{"amount": 0.001}`, 422, "amount_too_precise", "amount"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				e.wantProblem(move(e, tc.action, tc.body), tc.status, tc.code, tc.field)
				e.same(before)
			})
		}
		for _, action := range []string{"credit", "debit"} {
			t.Run(action+" of an unknown customer", func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				resp := e.do(req{method: "POST", path: "/v1/customers/nobody/balance/" + action, key: e.sk, body: `{"amount": 1, "currency": "USD"}`})
				e.wantProblem(resp, 404, "customer_not_found", "")
				e.same(before)
			})
		}

		t.Run("the whole balance", func(t *testing.T) {
			e := e.in(t)
			e.want(move(e, "debit", `{"amount": 6}`), 200, "debit everything")
			if got := e.balance("cust_123", "").short(); got != (bal{"0.00", "0.00", "0.00/0.00", "0.00/0.00/0.00"}) {
				t.Errorf("balance %+v", got)
			}
			if got := e.balance("cust_123", "EUR").Balance; got != "100.00" {
				t.Errorf("EUR balance %s, want 100.00 untouched", got)
			}
		})

		t.Run("concurrent debits never overdraw", func(t *testing.T) {
			e := e.in(t)
			e.want(move(e, "credit", `{"amount": 10, "currency": "USD"}`), 200, "credit")
			const n = 10
			resps := make([]*response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range resps {
				wg.Go(func() {
					<-start
					resps[i] = move(e, "debit", `{"amount": 3}`)
				})
			}
			close(start)
			wg.Wait()
			statuses := map[int]int{}
			for _, r := range resps {
				statuses[r.Status]++
			}
			if diff := cmp.Diff(map[int]int{200: 3, 422: 7}, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if got := e.balance("cust_123", "").Balance; got != "1.00" {
				t.Errorf("balance %s, want 1.00", got)
			}
		})
	})
}
