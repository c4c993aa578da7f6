package httpapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// This file holds the helpers of the issue-4 tests (rules, transactions,
// rewards, balances) and the tests of holding, approval and discount codes.

// rule is a reward rule as the API returns it.
type rule struct {
	ID                    string       `json:"id"`
	Name                  string       `json:"name"`
	Trigger               string       `json:"trigger"`
	Recipient             string       `json:"recipient"`
	RewardType            string       `json:"reward_type"`
	Amount                json.Number  `json:"amount"`
	Unit                  string       `json:"unit"`
	Currency              *string      `json:"currency"`
	Recurrence            string       `json:"recurrence"`
	MaxCount              *int         `json:"max_count"`
	MaxMonths             *int         `json:"max_months"`
	MinAmount             *json.Number `json:"min_amount"`
	HoldingDays           int          `json:"holding_days"`
	MaxRewardsPerReferrer *int         `json:"max_rewards_per_referrer"`
	MaxRewardsPeriod      *string      `json:"max_rewards_period"`
	MaxAmountPerReferrer  *json.Number `json:"max_amount_per_referrer"`
	MilestoneReferrals    *int         `json:"milestone_referrals"`
	Tiers                 []struct {
		MinReferrals int         `json:"min_referrals"`
		Amount       json.Number `json:"amount"`
	} `json:"tiers"`
	SkipCount       int     `json:"skip_count"`
	ExpiresInDays   *int    `json:"expires_in_days"`
	PayoutMethod    *string `json:"payout_method"`
	RequireApproval *bool   `json:"require_approval"`
	CurrencyOptions map[string]struct {
		Amount               json.Number  `json:"amount"`
		MinAmount            *json.Number `json:"min_amount"`
		MaxAmountPerReferrer *json.Number `json:"max_amount_per_referrer"`
	} `json:"currency_options"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// transaction is a payment as the API returns it.
type transaction struct {
	Key            string         `json:"key"`
	CustomerKey    string         `json:"customer_key"`
	Type           string         `json:"type"`
	Amount         json.Number    `json:"amount"`
	Currency       string         `json:"currency"`
	RefundedAmount json.Number    `json:"refunded_amount"`
	Status         string         `json:"status"`
	Metadata       map[string]any `json:"metadata"`
	Rewards        []reward       `json:"rewards"`
	CreatedAt      time.Time      `json:"created_at"`
	RecordedAt     time.Time      `json:"recorded_at"`
}

// reward is a reward as the API returns it.
type reward struct {
	ID             string        `json:"id"`
	CustomerKey    string        `json:"customer_key"`
	FriendKey      string        `json:"friend_key"`
	RuleID         string        `json:"rule_id"`
	TransactionKey *string       `json:"transaction_key"`
	Trigger        string        `json:"trigger"`
	Recipient      string        `json:"recipient"`
	RewardType     string        `json:"reward_type"`
	Unit           string        `json:"unit"`
	Amount         json.Number   `json:"amount"`
	Currency       *string       `json:"currency"`
	ReversedAmount json.Number   `json:"reversed_amount"`
	Status         string        `json:"status"`
	NeedsApproval  bool          `json:"needs_approval"`
	AvailableAt    time.Time     `json:"available_at"`
	RejectReason   *string       `json:"reject_reason"`
	DiscountCode   *discountCode `json:"discount_code"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// discountCode is a discount code as the API returns it.
type discountCode struct {
	Code        string       `json:"code"`
	CustomerKey string       `json:"customer_key"`
	RewardID    string       `json:"reward_id"`
	PercentOff  *json.Number `json:"percent_off"`
	AmountOff   *json.Number `json:"amount_off"`
	Currency    *string      `json:"currency"`
	Status      string       `json:"status"`
	ExpiresAt   *time.Time   `json:"expires_at"`
	RedeemedAt  *time.Time   `json:"redeemed_at"`
	CreatedAt   time.Time    `json:"created_at"`
}

// balance is GET /v1/customers/{key}/balance.
type balance struct {
	Balance  json.Number `json:"balance"`
	Currency string      `json:"currency"`
	Pending  json.Number `json:"pending"`
	Credit   struct {
		Available json.Number `json:"available"`
		Pending   json.Number `json:"pending"`
	} `json:"credit"`
	Cash struct {
		Available json.Number `json:"available"`
		Pending   json.Number `json:"pending"`
		Paid      json.Number `json:"paid"`
	} `json:"cash"`
}

// stats is GET /v1/customers/{key}/stats.
type stats struct {
	TotalReferrals      int         `json:"total_referrals"`
	SuccessfulReferrals int         `json:"successful_referrals"`
	PendingReferrals    int         `json:"pending_referrals"`
	TotalRewards        json.Number `json:"total_rewards"`
	Currency            string      `json:"currency"`
}

// ledgerEntry is one line of GET /v1/customers/{key}/ledger.
type ledgerEntry struct {
	ID                  string      `json:"id"`
	LedgerTransactionID string      `json:"ledger_transaction_id"`
	Kind                string      `json:"kind"`
	Account             string      `json:"account"`
	Amount              json.Number `json:"amount"`
	Currency            string      `json:"currency"`
	RewardID            *string     `json:"reward_id"`
	Note                string      `json:"note"`
	CreatedAt           time.Time   `json:"created_at"`
}

// page is the list envelope.
type page[T any] struct {
	Data       []T     `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
}

// scenario runs fn as a subtest in a program of its own (in currency
// USD), so that scenarios sharing a database start from nothing, and
// checks the whole database's ledger when it ends.
func (e *env) scenario(t *testing.T, name string, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		e := e.inProgram(t, "USD")
		t.Cleanup(e.verifyLedger)
		fn(t, e)
	})
}

// inProgram returns e reporting to t and acting for a new program.
func (e *env) inProgram(t *testing.T, currency string) *env {
	t.Helper()
	c := e.in(t)
	c.program, c.sk, c.pk = c.newProgram("Scenario", currency, "https://yoursite.com")
	return c
}

// verifyLedger fails the test on any mismatch store.DB.Verify finds: a
// ledger transaction that does not sum to zero, a cached balance that is
// not the sum of its entries, a reward whose entries or status disagree.
func (e *env) verifyLedger() {
	e.t.Helper()
	ms, err := e.db.Verify(context.Background())
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	for _, m := range ms {
		e.t.Errorf("ledger mismatch: %s", m)
	}
}

// useClock makes the store and the handlers read the time from a clock
// the test moves. Call it before the first request of the test.
func (e *env) useClock(start time.Time) *fakeClock {
	c := newFakeClock(start)
	e.clock.set(c.Now)
	return c
}

// want fails the test unless resp has the status.
func (e *env) want(resp *response, status int, what string) {
	e.t.Helper()
	if resp.Status != status {
		e.t.Fatalf("%s: status %d, want %d; body %s", what, resp.Status, status, resp.Body)
	}
}

// wantProblem fails the test unless resp is a problem with the status and
// code and, when field is not "", names field in its errors.
func (e *env) wantProblem(resp *response, status int, code, field string) {
	e.t.Helper()
	if resp.Status != status {
		e.t.Fatalf("status %d, want %d %s; body %s", resp.Status, status, code, resp.Body)
	}
	p := resp.problem(e.t)
	if p.Code != code {
		e.t.Errorf("code %q, want %q; body %s", p.Code, code, resp.Body)
	}
	if field != "" && p.Errors[field] == "" {
		e.t.Errorf("errors %v do not name %q", p.Errors, field)
	}
}

// createRule creates a reward rule and fails the test unless that works.
func (e *env) createRule(body any) rule {
	e.t.Helper()
	resp := e.do(req{method: "POST", path: "/v1/reward_rules", key: e.sk, body: body})
	e.want(resp, http.StatusCreated, fmt.Sprintf("create rule %v", body))
	var out struct {
		Rule rule `json:"reward_rule"`
	}
	resp.json(e.t, &out)
	return out.Rule
}

// updateRule changes a rule and fails the test unless that works.
func (e *env) updateRule(id string, body any) rule {
	e.t.Helper()
	resp := e.do(req{method: "PUT", path: "/v1/reward_rules/" + id, key: e.sk, body: body})
	e.want(resp, http.StatusOK, fmt.Sprintf("update rule %v", body))
	var out struct {
		Rule rule `json:"reward_rule"`
	}
	resp.json(e.t, &out)
	return out.Rule
}

// referrer creates a customer who will refer others, with the code
// e.code(key).
func (e *env) referrer(key string) customer {
	e.t.Helper()
	return e.createCustomer(map[string]any{"key": key, "email": key + "@example.com", "name": key, "referral_code": e.code(key)})
}

// code is the referral code e.referrer gives the customer with key:
// readable, and unique across programs as codes must be.
func (e *env) code(key string) string {
	return strings.ToUpper(key + "-" + e.program.ID[len(e.program.ID)-8:])
}

// friend creates a customer referred by the customer with referrerKey
// (made by e.referrer).
func (e *env) friend(key, referrerKey string) customer {
	e.t.Helper()
	return e.createCustomer(map[string]any{"key": key, "email": key + "@example.com", "name": key, "referred_by": e.code(referrerKey)})
}

// postTransaction sends POST /v1/transactions.
func (e *env) postTransaction(body any) *response {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/transactions", key: e.sk, body: body})
}

// pay records a transaction and fails the test unless it is created.
func (e *env) pay(body map[string]any) transaction {
	e.t.Helper()
	resp := e.postTransaction(body)
	e.want(resp, http.StatusCreated, fmt.Sprintf("transaction %v", body))
	return decodeTransaction(e.t, resp)
}

// purchase records a purchase of amount (in the program's currency
// unless amount carries " CUR").
func (e *env) purchase(customerKey, key, amount string) transaction {
	e.t.Helper()
	return e.pay(txnBody(customerKey, key, "purchase", amount))
}

// txnBody builds a transaction body; amount is "10" or "10 EUR".
func txnBody(customerKey, key, typ, amount string) map[string]any {
	value, cur, _ := strings.Cut(amount, " ")
	body := map[string]any{"customer_key": customerKey, "key": key, "type": typ, "amount": json.Number(value)}
	if cur != "" {
		body["currency"] = cur
	}
	return body
}

func decodeTransaction(t *testing.T, resp *response) transaction {
	t.Helper()
	var out struct {
		Transaction transaction `json:"transaction"`
	}
	resp.json(t, &out)
	return out.Transaction
}

// refund refunds a transaction (amount "" for all that remains) and fails
// the test unless that works.
func (e *env) refund(key, amount string) transaction {
	e.t.Helper()
	var body any
	if amount != "" {
		body = map[string]any{"amount": json.Number(amount)}
	}
	resp := e.do(req{method: "POST", path: "/v1/transactions/" + key + "/refund", key: e.sk, body: body})
	e.want(resp, http.StatusOK, "refund "+key)
	return decodeTransaction(e.t, resp)
}

// rewards lists GET /v1/rewards with a query such as "status=pending",
// all pages.
func (e *env) rewards(query string) []reward {
	e.t.Helper()
	var out []reward
	cursor := ""
	for range 100 {
		q := query + "&limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := e.do(req{method: "GET", path: "/v1/rewards?" + q, key: e.sk})
		e.want(resp, http.StatusOK, "list rewards ?"+q)
		var p page[reward]
		resp.json(e.t, &p)
		out = append(out, p.Data...)
		if !p.HasMore {
			return out
		}
		cursor = *p.NextCursor
	}
	e.t.Fatal("the rewards cursor does not advance")
	return nil
}

// reward reads one reward.
func (e *env) reward(id string) reward {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/rewards/" + id, key: e.sk})
	e.want(resp, http.StatusOK, "get reward "+id)
	var out struct {
		Reward reward `json:"reward"`
	}
	resp.json(e.t, &out)
	return out.Reward
}

// balance reads a customer's balance (currency "" for the program's).
func (e *env) balance(key, currency string) balance {
	e.t.Helper()
	path := "/v1/customers/" + key + "/balance"
	if currency != "" {
		path += "?currency=" + currency
	}
	resp := e.do(req{method: "GET", path: path, key: e.sk})
	e.want(resp, http.StatusOK, "balance of "+key)
	var b balance
	resp.json(e.t, &b)
	return b
}

// stats reads a customer's stats (currency "" for the program's).
func (e *env) stats(key, currency string) stats {
	e.t.Helper()
	path := "/v1/customers/" + key + "/stats"
	if currency != "" {
		path += "?currency=" + currency
	}
	resp := e.do(req{method: "GET", path: path, key: e.sk})
	e.want(resp, http.StatusOK, "stats of "+key)
	var s stats
	resp.json(e.t, &s)
	return s
}

// ledger lists a customer's ledger entries, newest first.
func (e *env) ledger(key string) []ledgerEntry {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/customers/" + key + "/ledger?limit=100", key: e.sk})
	e.want(resp, http.StatusOK, "ledger of "+key)
	var p page[ledgerEntry]
	resp.json(e.t, &p)
	return p.Data
}

// discountCodes lists a customer's discount codes.
func (e *env) discountCodes(key string) []discountCode {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/customers/" + key + "/discount_codes", key: e.sk})
	e.want(resp, http.StatusOK, "discount codes of "+key)
	var p page[discountCode]
	resp.json(e.t, &p)
	return p.Data
}

// bal is a balance in short, for comparisons: the seed's balance and
// pending, then credit as "available/pending" and cash as
// "available/pending/paid".
type bal struct{ Balance, Pending, Credit, Cash string }

func (b balance) short() bal {
	return bal{Balance: b.Balance.String(), Pending: b.Pending.String(),
		Credit: b.Credit.Available.String() + "/" + b.Credit.Pending.String(),
		Cash:   b.Cash.Available.String() + "/" + b.Cash.Pending.String() + "/" + b.Cash.Paid.String()}
}

// moneyTables are the tables whose rows a failed request must leave alone.
var moneyTables = []string{"customers", "reward_rules", "transactions", "refunds", "rewards", "discount_codes",
	"ledger_accounts", "ledger_transactions", "ledger_entries", "events"}

// snapshot returns every row of the money tables as text, read below the
// API, so that a test can show that a failed request changed nothing at all.
func (e *env) snapshot() map[string][]string {
	e.t.Helper()
	out := map[string][]string{}
	for _, table := range moneyTables {
		rows, err := e.db.ReadStats().Query("SELECT * FROM " + table + " ORDER BY id")
		if err != nil {
			e.t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatalf("snapshot %s: %v", table, err)
			}
			var b strings.Builder
			for i, v := range vals {
				fmt.Fprintf(&b, "%s=%s ", cols[i], v.String)
			}
			out[table] = append(out[table], b.String())
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			e.t.Fatalf("snapshot %s: %v", table, err)
		}
	}
	return out
}

// same fails the test if the money tables differ from before.
func (e *env) same(before map[string][]string) {
	e.t.Helper()
	if diff := cmp.Diff(before, e.snapshot()); diff != "" {
		e.t.Errorf("a failed request changed data (-before +after):\n%s", diff)
	}
}

// TestHoldingOneDayBoundary: with holding_days 1 a reward is released
// exactly when its day has passed, not a nanosecond before: the release
// job run at available_at - 1ns leaves it pending, run at available_at
// makes it available. The clock starts off a whole second, so that
// rounding of stored times to microseconds would show.
func TestHoldingOneDayBoundary(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		start := time.Date(2026, 3, 28, 12, 0, 0, 123456000, time.UTC)
		clock := e.useClock(start)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD", "holding_days": 1}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		rws := e.purchase("bob", "o1", "50").Rewards
		if len(rws) != 1 {
			t.Fatalf("%d rewards, want 1", len(rws))
		}
		held := rws[0]
		boundary := start.Add(24 * time.Hour)
		if !held.AvailableAt.Equal(boundary) || held.Status != "pending" {
			t.Fatalf("reward %s, available_at %v; want pending until %v", held.Status, held.AvailableAt, boundary)
		}
		for _, tc := range []struct {
			name     string
			at       time.Time
			released int
			status   string
		}{
			{"a microsecond early", boundary.Add(-time.Microsecond), 0, "pending"},
			{"a nanosecond early", boundary.Add(-time.Nanosecond), 0, "pending"},
			{"at the boundary", boundary, 1, "available"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				clock.Add(tc.at.Sub(e.db.Now()))
				// What the release worker does on each tick.
				n, err := e.db.ReleaseDueRewards(t.Context(), e.db.Now(), 100)
				if err != nil || n != tc.released {
					t.Errorf("released %d (%v), want %d", n, err, tc.released)
				}
				if got := e.in(t).reward(held.ID); got.Status != tc.status {
					t.Errorf("status %s at %v, want %s", got.Status, tc.at, tc.status)
				}
			})
		}
	})
}

// TestHoldingPeriod: a reward waits out its holding days as pending, and
// the holding job makes it available once they have passed, not before.
func TestHoldingPeriod(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		ctx := context.Background()
		start := time.Now().UTC().Truncate(time.Second)
		clock := e.useClock(start)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD", "holding_days": 30}`)
		e.createRule(`{"reward_type": "cash", "amount": 5, "currency": "USD"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		rws := e.purchase("bob", "o1", "50").Rewards
		e.wantRewards("purchase", rws,
			rewardLine{"ann", "purchase", "credit", "10.00", "USD", "pending"},
			rewardLine{"ann", "purchase", "cash", "5.00", "USD", "available"})
		var held reward
		for _, rw := range rws {
			if rw.RewardType == "credit" {
				held = rw
			}
		}
		if want := start.AddDate(0, 0, 30); !held.AvailableAt.Equal(want) || held.NeedsApproval {
			t.Errorf("available_at %v, needs_approval %v; want %v, false", held.AvailableAt, held.NeedsApproval, want)
		}
		if got := e.balance("ann", "").short(); got != (bal{"5.00", "10.00", "0.00/10.00", "5.00/0.00/0.00"}) {
			t.Errorf("balance while held: %+v", got)
		}
		if s := e.stats("ann", ""); s.TotalRewards != "15.00" {
			t.Errorf("total_rewards %s, want 15.00: pending rewards are earned", s.TotalRewards)
		}

		for _, tc := range []struct {
			name  string
			after time.Duration
			want  int
		}{
			{"a day early", 29 * 24 * time.Hour, 0},
			{"a second early", 30*24*time.Hour - time.Second, 0},
			{"on the day", 30 * 24 * time.Hour, 1},
			{"nothing left", 31 * 24 * time.Hour, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n, err := e.db.ReleaseDueRewards(ctx, start.Add(tc.after), 100)
				if err != nil || n != tc.want {
					t.Errorf("released %d (%v), want %d", n, err, tc.want)
				}
			})
		}
		clock.Add(30 * 24 * time.Hour)
		got := e.reward(held.ID)
		if got.Status != "available" {
			t.Errorf("status %s after the holding period, want available", got.Status)
		}
		if got := e.balance("ann", "").short(); got != (bal{"15.00", "0.00", "10.00/0.00", "5.00/0.00/0.00"}) {
			t.Errorf("balance after release: %+v", got)
		}
		if avail := e.rewards("status=available&customer_key=ann"); len(avail) != 2 {
			t.Errorf("%d available rewards, want 2", len(avail))
		}
		if pending := e.rewards("status=pending"); len(pending) != 0 {
			t.Errorf("%d pending rewards, want 0", len(pending))
		}
		var moves []string
		for _, le := range e.ledger("ann") {
			if le.RewardID != nil && *le.RewardID == held.ID {
				moves = append(moves, le.Kind+" "+le.Account+" "+le.Amount.String())
			}
		}
		want := []string{"reward_released credit_available 10.00", "reward_released credit_pending -10.00", "reward_earned credit_pending 10.00"}
		if diff := cmp.Diff(want, moves, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("ledger of the held reward (-want +got):\n%s", diff)
		}
	})
}

// TestApproval: a program that requires approval holds every reward until
// a person approves or rejects it.
// TestRuleApproval: approval is per rule. A program that reviews referrer
// rewards still gives the friend's welcome code at once when its rule says
// so; a rule that follows the program (null) changes with it.
func TestRuleApproval(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "the welcome code is not held with the referrer's reward", func(t *testing.T, e *env) {
			e.want(e.do(req{method: "PUT", path: "/v1/program", key: e.sk, body: `{"require_approval": true}`}), 200, "require approval")
			referrer := e.createRule(`{"trigger": "signup", "reward_type": "credit", "amount": 10}`)
			welcome := e.createRule(`{"trigger": "signup", "recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage", "require_approval": false}`)
			if referrer.RequireApproval != nil || welcome.RequireApproval == nil || *welcome.RequireApproval {
				t.Fatalf("require_approval: referrer rule %v, welcome rule %v; want null and false", referrer.RequireApproval, welcome.RequireApproval)
			}
			e.referrer("ann")
			e.friend("bob", "ann")
			for _, rw := range e.rewards("") {
				switch rw.CustomerKey {
				case "ann":
					if rw.Status != "pending" || !rw.NeedsApproval {
						t.Errorf("ann's reward %s %v: want pending, needs approval", rw.Status, rw.NeedsApproval)
					}
				case "bob":
					if rw.Status != "available" || rw.NeedsApproval || rw.DiscountCode == nil {
						t.Errorf("bob's welcome code %s %v %v: want available at once, with its code", rw.Status, rw.NeedsApproval, rw.DiscountCode)
					}
				}
			}
			// Back to the program's setting, which is now off.
			e.want(e.do(req{method: "PUT", path: "/v1/program", key: e.sk, body: `{"require_approval": false}`}), 200, "stop approving")
			if r := e.updateRule(referrer.ID, `{"require_approval": true}`); r.RequireApproval == nil || !*r.RequireApproval {
				t.Errorf("after setting true: %v", r.RequireApproval)
			}
			if r := e.updateRule(welcome.ID, `{"require_approval": null}`); r.RequireApproval != nil {
				t.Errorf("after setting null: %v", *r.RequireApproval)
			}
			e.friend("cat", "ann")
			for _, rw := range e.rewards("") {
				if rw.FriendKey != "cat" {
					continue
				}
				if held := rw.CustomerKey == "ann"; rw.NeedsApproval != held {
					t.Errorf("%s's reward for cat: needs approval %v, want %v", rw.CustomerKey, rw.NeedsApproval, held)
				}
			}
		})
		e.scenario(t, "require_approval must be a boolean or null", func(t *testing.T, e *env) {
			e.wantProblem(e.do(req{method: "POST", path: "/v1/reward_rules", key: e.sk,
				body: `{"reward_type": "credit", "amount": 10, "require_approval": "yes"}`}), 422, "invalid_field_type", "require_approval")
		})
	})
}

func TestApproval(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		ctx := context.Background()
		e.want(e.do(req{method: "PUT", path: "/v1/program", key: e.sk, body: `{"require_approval": true}`}), 200, "require approval")
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.createRule(`{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.friend("cat", "ann")
		first := e.purchase("bob", "o1", "50").Rewards
		second := e.purchase("cat", "o2", "50").Rewards
		for _, rw := range append(first, second...) {
			if rw.Status != "pending" || !rw.NeedsApproval || rw.DiscountCode != nil {
				t.Errorf("reward %+v: want pending, needs_approval, no code yet", rw)
			}
		}
		if n, err := e.db.ReleaseDueRewards(ctx, time.Now().AddDate(1, 0, 0), 100); err != nil || n != 0 {
			t.Errorf("the holding job released %d (%v), want 0: approval is a person's", n, err)
		}
		if got := e.balance("ann", "").short(); got != (bal{"0.00", "20.00", "0.00/20.00", "0.00/0.00/0.00"}) {
			t.Errorf("balance before decisions: %+v", got)
		}
		byCustomer := func(rws []reward) map[string]reward {
			out := map[string]reward{}
			for _, rw := range rws {
				out[rw.CustomerKey] = rw
			}
			return out
		}
		a1, b1 := byCustomer(first)["ann"], byCustomer(first)["bob"]
		a2, c2 := byCustomer(second)["ann"], byCustomer(second)["cat"]

		decide := func(e *env, id, action, body string) *response {
			var b any
			if body != "" {
				b = body
			}
			return e.do(req{method: "POST", path: "/v1/rewards/" + id + "/" + action, key: e.sk, body: b})
		}
		decided := func(e *env, resp *response) reward {
			e.t.Helper()
			e.want(resp, 200, "decision")
			var out struct {
				Reward reward `json:"reward"`
			}
			resp.json(e.t, &out)
			return out.Reward
		}

		t.Run("approve credit", func(t *testing.T) {
			e := e.in(t)
			got := decided(e, decide(e, a1.ID, "approve", ""))
			if got.Status != "available" || got.RejectReason != nil {
				t.Errorf("approved: %+v", got)
			}
			if diff := cmp.Diff(got, e.reward(a1.ID)); diff != "" {
				t.Errorf("GET differs (-approved +got):\n%s", diff)
			}
			if b := e.balance("ann", "").short(); b != (bal{"10.00", "10.00", "10.00/10.00", "0.00/0.00/0.00"}) {
				t.Errorf("balance: %+v", b)
			}
		})

		t.Run("approve discount issues its code", func(t *testing.T) {
			e := e.in(t)
			got := decided(e, decide(e, b1.ID, "approve", "{}"))
			if got.Status != "available" || got.DiscountCode == nil || got.DiscountCode.Status != "active" {
				t.Fatalf("approved discount: %+v", got)
			}
			if codes := e.discountCodes("bob"); len(codes) != 1 || codes[0].Code != got.DiscountCode.Code {
				t.Errorf("bob's codes %+v, want %s", codes, got.DiscountCode.Code)
			}
		})

		t.Run("reject credit", func(t *testing.T) {
			e := e.in(t)
			got := decided(e, decide(e, a2.ID, "reject", `{"reason": "Self-referral by the same household"}`))
			if got.Status != "rejected" || got.RejectReason == nil || *got.RejectReason != "Self-referral by the same household" || got.ReversedAmount != "10.00" {
				t.Errorf("rejected: %+v", got)
			}
			if b := e.balance("ann", "").short(); b != (bal{"10.00", "0.00", "10.00/0.00", "0.00/0.00/0.00"}) {
				t.Errorf("balance: %+v, the rejected value goes back", b)
			}
			if s := e.stats("ann", ""); s.TotalRewards != "10.00" {
				t.Errorf("total_rewards %s, want 10.00 without the rejected reward", s.TotalRewards)
			}
		})

		t.Run("reject discount", func(t *testing.T) {
			e := e.in(t)
			got := decided(e, decide(e, c2.ID, "reject", `{"reason": "fraud"}`))
			if got.Status != "rejected" || got.DiscountCode != nil {
				t.Errorf("rejected discount: %+v", got)
			}
			if codes := e.discountCodes("cat"); len(codes) != 0 {
				t.Errorf("cat has codes %+v, want none", codes)
			}
		})

		for _, tc := range []struct {
			name, id, action, body string
			status                 int
			code, field            string
		}{
			{"approve available", a1.ID, "approve", "", 409, "reward_not_pending", ""},
			{"reject available", a1.ID, "reject", `{"reason": "changed my mind"}`, 409, "reward_not_pending", ""},
			{"approve rejected", a2.ID, "approve", "", 409, "reward_not_pending", ""},
			{"reject rejected", a2.ID, "reject", `{"reason": "again"}`, 409, "reward_not_pending", ""},
			{"reject without reason", a1.ID, "reject", `{}`, 422, "invalid_reason", "reason"},
			{"reject with a blank reason", a1.ID, "reject", `{"reason": "   "}`, 422, "invalid_reason", "reason"},
			{"reject with a long reason", a1.ID, "reject", `{"reason": "` + strings.Repeat("x", 501) + `"}`, 422, "invalid_reason", "reason"},
			{"approve unknown", "rwd_nope", "approve", "", 404, "reward_not_found", ""},
			{"reject unknown", "rwd_nope", "reject", `{"reason": "x"}`, 404, "reward_not_found", ""},
			{"approve with a body", a1.ID, "approve", `{"note": "x"}`, 422, "unknown_field", "note"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				e.wantProblem(decide(e, tc.id, tc.action, tc.body), tc.status, tc.code, tc.field)
				e.same(before)
			})
		}
		t.Run("unknown reward", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.do(req{method: "GET", path: "/v1/rewards/rwd_nope", key: e.sk}), 404, "reward_not_found", "")
		})
		t.Run("another program's reward", func(t *testing.T) {
			o := e.inProgram(t, "USD")
			o.wantProblem(o.do(req{method: "GET", path: "/v1/rewards/" + a1.ID, key: o.sk}), 404, "reward_not_found", "")
			o.wantProblem(decide(o, a1.ID, "approve", ""), 404, "reward_not_found", "")
		})

		t.Run("filters", func(t *testing.T) {
			e := e.in(t)
			e.purchase("bob", "o3", "50") // recurrence first: no reward
			e.friend("dan", "ann")
			pendingDan := e.purchase("dan", "o4", "50").Rewards
			ids := func(rws []reward) []string {
				out := []string{}
				for _, rw := range rws {
					out = append(out, rw.ID)
				}
				sort.Strings(out)
				return out
			}
			tests := []struct {
				query string
				want  []reward
			}{
				{"", append(append(append([]reward{}, first...), second...), pendingDan...)},
				{"status=pending", pendingDan},
				{"status=available", []reward{a1, b1}},
				{"status=rejected", []reward{a2, c2}},
				{"status=reversed", nil},
				{"customer_key=ann", []reward{a1, a2, byCustomer(pendingDan)["ann"]}},
				{"customer_key=ann&status=available", []reward{a1}},
				{"customer_key=cat&status=pending", nil},
				{"customer_key=dan", []reward{byCustomer(pendingDan)["dan"]}},
			}
			for _, tc := range tests {
				if diff := cmp.Diff(ids(tc.want), ids(e.rewards(tc.query))); diff != "" {
					t.Errorf("?%s (-want +got):\n%s", tc.query, diff)
				}
			}
			all := e.rewards("")
			for i := 1; i < len(all); i++ {
				if all[i-1].ID < all[i].ID {
					t.Errorf("rewards not newest first: %s before %s", all[i-1].ID, all[i].ID)
				}
			}
			e.wantProblem(e.do(req{method: "GET", path: "/v1/rewards?status=paid_out", key: e.sk}), 422, "invalid_parameter", "status")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/rewards?customer_key=nobody", key: e.sk}), 404, "customer_not_found", "")

			// Two per page, following the cursor, gives each reward once.
			var paged []reward
			q := "/v1/rewards?limit=2"
			for range 10 {
				var p page[reward]
				e.do(req{method: "GET", path: q, key: e.sk}).json(t, &p)
				paged = append(paged, p.Data...)
				if !p.HasMore {
					break
				}
				q = "/v1/rewards?limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
			}
			if diff := cmp.Diff(ids(all), ids(paged)); diff != "" {
				t.Errorf("paged (-all +paged):\n%s", diff)
			}
		})
	})
}

// TestDiscountCodes: a discount reward's code is used once, and not at all
// once void or expired.
// TestFirstPurchase: "first" means the friend's first purchase ever
// recorded, not the first time a rule fires for them.
func TestFirstPurchase(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const firstPurchase = `{"trigger": "purchase", "reward_type": "credit", "amount": 10}`
		e.scenario(t, "the first purchase pays", func(t *testing.T, e *env) {
			e.createRule(firstPurchase)
			e.referrer("ann")
			e.friend("bob", "ann")
			if rws := e.purchase("bob", "o1", "50").Rewards; len(rws) != 1 {
				t.Errorf("first purchase: %d rewards, want 1", len(rws))
			}
			if rws := e.purchase("bob", "o2", "50").Rewards; len(rws) != 0 {
				t.Errorf("second purchase: %d rewards, want none", len(rws))
			}
		})
		e.scenario(t, "a rule created after the first purchase does not pay on the next", func(t *testing.T, e *env) {
			e.referrer("ann")
			e.friend("bob", "ann")
			e.purchase("bob", "o1", "50")
			e.createRule(firstPurchase)
			if rws := e.purchase("bob", "o2", "50").Rewards; len(rws) != 0 {
				t.Errorf("purchase after the rule: %d rewards, want none (not bob's first purchase)", len(rws))
			}
		})
		e.scenario(t, "a rule re-activated after the first purchase does not pay on the next", func(t *testing.T, e *env) {
			r := e.createRule(`{"trigger": "purchase", "reward_type": "credit", "amount": 10, "active": false}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.purchase("bob", "o1", "50")
			e.updateRule(r.ID, map[string]any{"active": true})
			if rws := e.purchase("bob", "o2", "50").Rewards; len(rws) != 0 {
				t.Errorf("purchase after re-activation: %d rewards, want none", len(rws))
			}
		})
		e.scenario(t, "an existing buyer given a referrer later earns no first purchase", func(t *testing.T, e *env) {
			e.createRule(firstPurchase)
			e.referrer("ann")
			e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com"})
			e.purchase("bob", "o1", "50")
			e.want(e.do(req{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: map[string]any{"referred_by": e.code("ann")}}), 200, "refer bob")
			if rws := e.purchase("bob", "o2", "50").Rewards; len(rws) != 0 {
				t.Errorf("bob's next purchase: %d rewards, want none (bob bought before)", len(rws))
			}
		})
		e.scenario(t, "a subscription's first payment is its own first", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "subscription", "reward_type": "credit", "amount": 10}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			e.purchase("bob", "o1", "50")
			if rws := e.pay(txnBody("bob", "s1", "subscription", "20")).Rewards; len(rws) != 1 {
				t.Errorf("first subscription payment after a purchase: %d rewards, want 1", len(rws))
			}
		})
	})
}

// TestNewCustomersOnly: a friend who had paid before being referred earns
// nobody anything while the program rewards new customers only (the
// default), and the customer says why.
func TestNewCustomersOnly(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "an existing buyer referred later", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "signup", "reward_type": "credit", "amount": 5}`)
			e.createRule(`{"trigger": "purchase", "recurrence": "every", "reward_type": "credit", "amount": 1}`)
			e.referrer("ann")
			e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com"})
			e.purchase("bob", "o1", "50")
			resp := e.do(req{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: map[string]any{"referred_by": e.code("ann")}})
			e.want(resp, 200, "refer bob")
			var got struct{ Customer customer }
			resp.json(t, &got)
			if got.Customer.NotRewarded == nil || *got.Customer.NotRewarded != "paid_before_referral" {
				t.Errorf("not_rewarded_reason %v, want paid_before_referral", got.Customer.NotRewarded)
			}
			if rws := e.purchase("bob", "o2", "50").Rewards; len(rws) != 0 {
				t.Errorf("bob's next purchase: %d rewards, want none", len(rws))
			}
			if n := len(e.rewards("")); n != 0 {
				t.Errorf("%d rewards for bob's referral, want none (not even the signup's)", n)
			}
			// Turned off, the same customer earns on what they do next.
			e.want(e.do(req{method: "PUT", path: "/v1/program", key: e.sk, body: `{"new_customers_only": false}`}), 200, "all customers")
			if rws := e.purchase("bob", "o3", "50").Rewards; len(rws) != 1 {
				t.Errorf("with new_customers_only off: %d rewards, want 1", len(rws))
			}
			resp = e.do(req{method: "GET", path: "/v1/customers/bob", key: e.sk})
			resp.json(t, &got)
			if got.Customer.NotRewarded != nil {
				t.Errorf("not_rewarded_reason %v with the setting off, want null", *got.Customer.NotRewarded)
			}
		})
		e.scenario(t, "a friend referred at signup is new", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "purchase", "reward_type": "credit", "amount": 1}`)
			e.referrer("ann")
			if f := e.friend("bob", "ann"); f.NotRewarded != nil {
				t.Errorf("not_rewarded_reason %v, want null", *f.NotRewarded)
			}
			if rws := e.purchase("bob", "o1", "50").Rewards; len(rws) != 1 {
				t.Errorf("%d rewards, want 1", len(rws))
			}
		})
	})
}

func TestDiscountCodes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		clock := e.useClock(time.Now().UTC().Truncate(time.Second))
		// codeFor makes a referral whose friend buys and gets a discount
		// code under the rule body, and returns the code.
		codeFor := func(e *env, ruleBody string) discountCode {
			e.t.Helper()
			e.createRule(ruleBody)
			e.referrer("ann")
			e.friend("bob", "ann")
			rws := e.purchase("bob", "o1", "50").Rewards
			if len(rws) != 1 || rws[0].DiscountCode == nil {
				e.t.Fatalf("rewards %+v, want one discount with a code", rws)
			}
			return *rws[0].DiscountCode
		}
		redeem := func(e *env, code string) *response {
			return e.do(req{method: "POST", path: "/v1/discount_codes/" + url.PathEscape(code) + "/redeem", key: e.sk})
		}
		const percent = `{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`

		// "Give 20 % off, get $20": the friend's percent-off code is issued
		// when they sign up; there is no amount to take a share of, and
		// none is needed.
		e.scenario(t, "a friend's percent-off code at signup", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "signup", "recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
			e.createRule(`{"trigger": "purchase", "recipient": "referrer", "reward_type": "credit", "amount": 20}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			codes := e.discountCodes("bob")
			if len(codes) != 1 || codes[0].PercentOff == nil || *codes[0].PercentOff != "20" || codes[0].Status != "active" {
				t.Fatalf("bob's codes after signup: %+v, want one active 20 %% code", codes)
			}
			if rws := e.purchase("bob", "o1", "50").Rewards; len(rws) != 1 || rws[0].CustomerKey != "ann" || rws[0].Amount != "20.00" {
				t.Errorf("rewards of bob's purchase %+v, want ann's 20", rws)
			}
		})

		e.scenario(t, "redeemed once", func(t *testing.T, e *env) {
			dc := codeFor(e, percent)
			if !strings.HasPrefix(dc.Code, "GIFT-") || dc.Status != "active" || dc.ExpiresAt != nil || dc.RedeemedAt != nil {
				t.Errorf("code %+v", dc)
			}
			resp := redeem(e, dc.Code)
			e.want(resp, 200, "redeem")
			var out struct {
				Code discountCode `json:"discount_code"`
			}
			resp.json(t, &out)
			want := dc
			want.Status, want.RedeemedAt = "redeemed", out.Code.RedeemedAt
			if diff := cmp.Diff(want, out.Code); diff != "" || out.Code.RedeemedAt == nil {
				t.Errorf("redeemed code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]discountCode{out.Code}, e.discountCodes("bob")); diff != "" {
				t.Errorf("listed (-redeemed +listed):\n%s", diff)
			}
			before := e.snapshot()
			e.wantProblem(redeem(e, dc.Code), 409, "discount_code_redeemed", "")
			e.same(before)
			// A refund after the code was used leaves it used; the reward
			// is reversed all the same.
			e.refund("o1", "")
			if codes := e.discountCodes("bob"); len(codes) != 1 || codes[0].Status != "redeemed" {
				t.Errorf("codes after the refund: %+v", codes)
			}
		})

		e.scenario(t, "lower case", func(t *testing.T, e *env) {
			dc := codeFor(e, `{"recipient": "friend", "reward_type": "discount", "amount": 5, "currency": "USD"}`)
			if dc.AmountOff == nil || *dc.AmountOff != "5.00" || dc.Currency == nil || *dc.Currency != "USD" || dc.PercentOff != nil {
				t.Errorf("fixed discount code %+v, want 5.00 USD off", dc)
			}
			e.want(redeem(e, strings.ToLower(dc.Code)), 200, "redeem in lower case")
			e.wantProblem(redeem(e, dc.Code), 409, "discount_code_redeemed", "")
		})

		e.scenario(t, "void once its transaction is refunded", func(t *testing.T, e *env) {
			dc := codeFor(e, percent)
			e.refund("o1", "25") // a partial refund leaves a percent-off discount alone
			if codes := e.discountCodes("bob"); len(codes) != 1 || codes[0].Status != "active" {
				t.Errorf("codes after a partial refund: %+v", codes)
			}
			rws := e.refund("o1", "").Rewards
			e.wantRewards("after the refund", rws, rewardLine{"bob", "purchase", "discount", "20", "", "reversed"})
			if codes := e.discountCodes("bob"); len(codes) != 1 || codes[0].Status != "void" {
				t.Errorf("codes after the refund: %+v", codes)
			}
			before := e.snapshot()
			e.wantProblem(redeem(e, dc.Code), 409, "discount_code_void", "")
			e.same(before)
		})

		e.scenario(t, "unknown", func(t *testing.T, e *env) {
			before := e.snapshot()
			e.wantProblem(redeem(e, "GIFT-NOPE2345"), 404, "discount_code_not_found", "")
			e.same(before)
		})

		e.scenario(t, "another program's code", func(t *testing.T, e *env) {
			dc := codeFor(e, percent)
			o := e.inProgram(t, "USD")
			o.wantProblem(redeem(o, dc.Code), 404, "discount_code_not_found", "")
			e.want(redeem(e, dc.Code), 200, "in its own program")
		})

		// Last: it moves the clock.
		e.scenario(t, "expired", func(t *testing.T, e *env) {
			dc := codeFor(e, `{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage", "expires_in_days": 1}`)
			if dc.ExpiresAt == nil || !dc.ExpiresAt.Equal(dc.CreatedAt.AddDate(0, 0, 1)) {
				t.Errorf("expires_at %v, want a day after %v", dc.ExpiresAt, dc.CreatedAt)
			}
			clock.Add(2 * 24 * time.Hour)
			if codes := e.discountCodes("bob"); len(codes) != 1 || codes[0].Status != "expired" {
				t.Errorf("codes after two days: %+v", codes)
			}
			before := e.snapshot()
			e.wantProblem(redeem(e, dc.Code), 422, "discount_code_expired", "")
			e.same(before)
		})
	})
}

// TestRewardsNeedSecretKey: a publishable key may call none of the rewards
// endpoints, and changes nothing trying.
func TestRewardsNeedSecretKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.createRule(`{"recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		txn := e.purchase("bob", "o1", "50")
		var rewardID, code string
		for _, rw := range txn.Rewards {
			rewardID = rw.ID
			if rw.DiscountCode != nil {
				code = rw.DiscountCode.Code
			}
		}
		ops := []req{
			{method: "GET", path: "/v1/reward_rules"},
			{method: "POST", path: "/v1/reward_rules", body: `{"reward_type": "credit", "amount": 10, "currency": "USD"}`},
			{method: "GET", path: "/v1/reward_rules/" + r.ID},
			{method: "PUT", path: "/v1/reward_rules/" + r.ID, body: `{"amount": 99}`},
			{method: "DELETE", path: "/v1/reward_rules/" + r.ID},
			{method: "POST", path: "/v1/transactions", body: `{"customer_key": "bob", "key": "o2", "amount": 10}`},
			{method: "GET", path: "/v1/transactions"},
			{method: "GET", path: "/v1/transactions/o1"},
			{method: "POST", path: "/v1/transactions/o1/refund"},
			{method: "DELETE", path: "/v1/transactions/o1"},
			{method: "GET", path: "/v1/customers/bob/transactions"},
			{method: "GET", path: "/v1/rewards"},
			{method: "GET", path: "/v1/rewards/" + rewardID},
			{method: "POST", path: "/v1/rewards/" + rewardID + "/approve"},
			{method: "POST", path: "/v1/rewards/" + rewardID + "/reject", body: `{"reason": "x"}`},
			{method: "GET", path: "/v1/customers/ann/stats"},
			{method: "GET", path: "/v1/customers/ann/balance"},
			{method: "POST", path: "/v1/customers/ann/balance/credit", body: `{"amount": 10, "currency": "USD", "note": "Referral bonus"}`},
			{method: "POST", path: "/v1/customers/ann/balance/debit", body: `{"amount": 1}`},
			{method: "GET", path: "/v1/customers/ann/ledger"},
			{method: "GET", path: "/v1/customers/bob/discount_codes"},
			{method: "POST", path: "/v1/discount_codes/" + code + "/redeem"},
		}
		for _, op := range ops {
			t.Run(op.method+" "+op.path, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				op.key = e.pk
				e.wantProblem(e.do(op), http.StatusForbidden, "secret_key_required", "")
				e.same(before)
			})
		}
		e.verifyLedger()
	})
}
