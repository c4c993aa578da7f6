package stripe

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// TestPlanActions: each path of the decision, as a named case stating the
// reward, what is queued, and the actions planned ("kind amount status").
func TestPlanActions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	credit := func(status string, reversed int64) RewardState {
		return RewardState{RewardID: "rwd_1", ProgramID: "prg_1", Type: rewards.Credit, Status: status,
			Amount: 1000, Reversed: reversed, Currency: "USD", StripeCustomerID: "cus_1", Now: now}
	}
	code := func(mod func(*rewards.DiscountCode)) *rewards.DiscountCode {
		dc := &rewards.DiscountCode{Code: "GIFT-ABCDEFGH", PercentOff: 2000}
		if mod != nil {
			mod(dc)
		}
		return dc
	}
	discount := func(status string, dc *rewards.DiscountCode) RewardState {
		return RewardState{RewardID: "rwd_2", ProgramID: "prg_1", Type: rewards.Discount, Status: status,
			Amount: 2000, Code: dc, StripeCustomerID: "cus_1", Now: now}
	}
	unbound := func(r RewardState) RewardState { r.StripeCustomerID = ""; return r }
	q := func(kind string, amount int64, status string) Action {
		return Action{Kind: kind, Amount: amount, Status: status}
	}
	tests := []struct {
		name   string
		reward RewardState
		queued []Action
		want   []string
	}{
		{"credit available: credit its value", credit(rewards.Available, 0), nil, []string{"credit 1000 USD pending"}},
		{"credit paid counts as released", credit(rewards.Paid, 0), nil, []string{"credit 1000 USD pending"}},
		{"credit available, partly reversed first: credit the net", credit(rewards.Available, 400), nil, []string{"credit 600 USD pending"}},
		{"credit pending: nothing yet", credit(rewards.Pending, 0), nil, nil},
		{"credit already queued: nothing again", credit(rewards.Available, 0),
			[]Action{q(ActionCredit, 1000, ActionPending)}, nil},
		{"credit done: nothing again", credit(rewards.Available, 0),
			[]Action{q(ActionCredit, 1000, ActionDone)}, nil},
		{"credit partly reversed after being applied: debit the part", credit(rewards.Available, 250),
			[]Action{q(ActionCredit, 1000, ActionDone)}, []string{"debit 250 USD pending"}},
		{"credit reversed after being applied: debit it all", credit(rewards.Reversed, 1000),
			[]Action{q(ActionCredit, 1000, ActionDone)}, []string{"debit 1000 USD pending"}},
		{"credit reversed while its credit is still pending: debit after it", credit(rewards.Reversed, 1000),
			[]Action{q(ActionCredit, 1000, ActionPending)}, []string{"debit 1000 USD pending"}},
		{"credit reversed in two steps: debit the rest", credit(rewards.Reversed, 1000),
			[]Action{q(ActionCredit, 1000, ActionDone), q(ActionDebit, 250, ActionDone)}, []string{"debit 750 USD pending"}},
		{"credit reversed and taken back: nothing", credit(rewards.Reversed, 1000),
			[]Action{q(ActionCredit, 1000, ActionDone), q(ActionDebit, 1000, ActionPending)}, nil},
		{"credit reversed while pending: never credited, nothing", credit(rewards.Reversed, 1000), nil, nil},
		{"credit rejected while pending: nothing", credit(rewards.Rejected, 1000), nil, nil},
		{"credit whose credit failed, then reversed: nothing to take back", credit(rewards.Reversed, 1000),
			[]Action{q(ActionCredit, 1000, ActionFailed)}, nil},
		{"credit skipped earlier, customer since bound: credit now", credit(rewards.Available, 0),
			[]Action{{Kind: ActionCredit, Amount: 1000, Status: ActionSkipped, Error: NoStripeCustomer}}, []string{"credit 1000 USD pending"}},
		{"credit without a Stripe customer: skipped, says why", unbound(credit(rewards.Available, 0)), nil,
			[]string{"credit 1000 USD skipped (no customer)"}},
		{"credit without a Stripe customer, skipped before: once only", unbound(credit(rewards.Available, 300)),
			[]Action{{Kind: ActionCredit, Amount: 1000, Status: ActionSkipped, Error: NoStripeCustomer}}, nil},
		{"credit without a Stripe customer, nothing to do: no row", unbound(credit(rewards.Pending, 0)), nil, nil},
		{"cash: never in Stripe", RewardState{RewardID: "rwd_3", Type: rewards.Cash, Status: rewards.Available, Amount: 500,
			Currency: "USD", StripeCustomerID: "cus_1"}, nil, nil},

		{"discount available with a code: promotion code", discount(rewards.Available, code(nil)), nil,
			[]string{"discount GIFT-ABCDEFGH 2000bp pending"}},
		{"discount amount off: amount and currency", discount(rewards.Available, code(func(dc *rewards.DiscountCode) {
			dc.PercentOff, dc.AmountOff, dc.Currency = 0, 500, "EUR"
		})), nil, []string{"discount GIFT-ABCDEFGH 500 EUR pending"}},
		{"discount with an expiry to come: promotion code until then", discount(rewards.Available, code(func(dc *rewards.DiscountCode) {
			dc.ExpiresAt = &later
		})), nil, []string{"discount GIFT-ABCDEFGH 2000bp expires pending"}},
		{"discount expired: nothing", discount(rewards.Available, code(func(dc *rewards.DiscountCode) { dc.ExpiresAt = &earlier })), nil, nil},
		{"discount already used here: nothing", discount(rewards.Available, code(func(dc *rewards.DiscountCode) { dc.RedeemedAt = &earlier })), nil, nil},
		{"discount pending, no code yet: nothing", discount(rewards.Pending, nil), nil, nil},
		{"discount queued: nothing again", discount(rewards.Available, code(nil)),
			[]Action{q(ActionDiscount, 0, ActionDone)}, nil},
		{"discount failed: not again", discount(rewards.Available, code(nil)),
			[]Action{q(ActionDiscount, 0, ActionFailed)}, nil},
		{"discount voided after its promotion code: void", discount(rewards.Reversed, code(func(dc *rewards.DiscountCode) { dc.VoidedAt = &now })),
			[]Action{q(ActionDiscount, 0, ActionDone)}, []string{"void pending"}},
		{"discount voided while its promotion code is queued: void after it", discount(rewards.Reversed, code(nil)),
			[]Action{q(ActionDiscount, 0, ActionPending)}, []string{"void pending"}},
		{"discount voided twice: one void", discount(rewards.Reversed, code(func(dc *rewards.DiscountCode) { dc.VoidedAt = &now })),
			[]Action{q(ActionDiscount, 0, ActionDone), q(ActionVoid, 0, ActionPending)}, nil},
		{"discount voided before any promotion code: nothing", discount(rewards.Reversed, code(func(dc *rewards.DiscountCode) { dc.VoidedAt = &now })), nil, nil},
		{"discount voided, its promotion code skipped: nothing", discount(rewards.Reversed, code(func(dc *rewards.DiscountCode) { dc.VoidedAt = &now })),
			[]Action{{Kind: ActionDiscount, Status: ActionSkipped, Error: NoStripeCustomer}}, nil},
		{"discount rejected while pending: nothing", discount(rewards.Rejected, nil), nil, nil},
		{"discount without a Stripe customer: skipped, says why", unbound(discount(rewards.Available, code(nil))), nil,
			[]string{"discount GIFT-ABCDEFGH 2000bp skipped (no customer)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range PlanActions(tt.reward, tt.queued) {
				if a.RewardID != tt.reward.RewardID || a.ProgramID != tt.reward.ProgramID || a.StripeCustomerID != tt.reward.StripeCustomerID {
					t.Errorf("action %+v does not name the reward and its customer", a)
				}
				got = append(got, describe(a))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("planned (-want +got):\n%s", diff)
			}
		})
	}
}

// describe writes an action as "kind [code] [amount currency|percent] status".
func describe(a Action) string {
	s := a.Kind
	if a.Code != "" {
		s += " " + a.Code
	}
	switch {
	case a.PercentOff != 0:
		s += fmt.Sprintf(" %dbp", a.PercentOff)
	case a.Amount != 0:
		s += fmt.Sprintf(" %d %s", a.Amount, a.Currency)
	}
	if a.ExpiresAt != nil {
		s += " expires"
	}
	s += " " + a.Status
	if a.Error == NoStripeCustomer {
		s += " (no customer)"
	} else if a.Error != "" {
		s += " (" + a.Error + ")"
	}
	return s
}

// TestActionLedger: a done credit spends the customer's available credit
// into the program's billing account, a debit moves it back, and nothing
// else posts.
func TestActionLedger(t *testing.T) {
	tests := []struct {
		kind string
		want []ledger.Posting // nil: no ledger transaction
		lk   string
	}{
		{ActionCredit, []ledger.Posting{{Owner: "cus_a", Account: ledger.CreditAvailable, Amount: -700, Currency: "USD"},
			{Owner: ledger.ProgramOwner, Account: ledger.Billing, Amount: 700, Currency: "USD"}}, ledger.KindAppliedInBilling},
		{ActionDebit, []ledger.Posting{{Owner: ledger.ProgramOwner, Account: ledger.Billing, Amount: -700, Currency: "USD"},
			{Owner: "cus_a", Account: ledger.CreditAvailable, Amount: 700, Currency: "USD"}}, ledger.KindClawedBackInBilling},
		{ActionDiscount, nil, ""},
		{ActionVoid, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			lt, ok := Action{RewardID: "rwd_1", Kind: tt.kind, Amount: 700, Currency: "USD"}.Ledger("cus_a")
			if ok != (tt.want != nil) {
				t.Fatalf("posts: %t, want %t", ok, tt.want != nil)
			}
			if !ok {
				return
			}
			if err := lt.Validate(); err != nil {
				t.Fatal(err)
			}
			if lt.Kind != tt.lk || lt.RewardID != "rwd_1" {
				t.Errorf("kind %s reward %s, want %s rwd_1", lt.Kind, lt.RewardID, tt.lk)
			}
			if diff := cmp.Diff(tt.want, lt.Postings); diff != "" {
				t.Errorf("postings (-want +got):\n%s", diff)
			}
		})
	}
}
