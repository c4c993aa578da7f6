package rewards

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/ledger"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testEnv numbers ids per prefix: rwd_1, dc_1, ref_1…
func testEnv() Env {
	n := map[string]int{}
	return Env{Now: now, NewID: func(prefix string) string { n[prefix]++; return fmt.Sprintf("%s_%d", prefix, n[prefix]) }}
}

// summary writes a plan in a line per change, so that a case states in
// full what a step does.
func summary(p Plan) []string {
	var out []string
	for _, rw := range p.Rewards {
		s := fmt.Sprintf("new %s %s %s %s %d %s %s", rw.ID, rw.Recipient, rw.CustomerID, rw.RewardType, rw.Amount, rw.Currency, rw.Status)
		if rw.NeedsApproval {
			s += " needs-approval"
		}
		out = append(out, s)
	}
	for _, rw := range p.Changed {
		out = append(out, fmt.Sprintf("change %s %s reversed=%d", rw.ID, rw.Status, rw.Reversed))
	}
	for _, dc := range p.Codes {
		s := fmt.Sprintf("code %s for %s", dc.ID, dc.RewardID)
		if dc.ExpiresAt != nil {
			s += " expires " + dc.ExpiresAt.Format(time.DateOnly)
		}
		out = append(out, s)
	}
	for _, id := range p.Voided {
		out = append(out, "void code of "+id)
	}
	if p.Redeemed != nil {
		out = append(out, "redeem "+p.Redeemed.Code)
	}
	if p.Refund != nil {
		out = append(out, fmt.Sprintf("refund %s %d of %s (refunded %d)", p.Refund.ID, p.Refund.Amount, p.Refund.Transaction.Key, p.Refund.Transaction.Refunded))
	}
	for _, lt := range p.Ledger {
		var legs []string
		for _, ps := range lt.Postings {
			owner := ps.Owner
			if owner == ledger.ProgramOwner {
				owner = "program"
			}
			legs = append(legs, fmt.Sprintf("%s:%s%+d", owner, ps.Account, ps.Amount))
		}
		out = append(out, fmt.Sprintf("post %s %s", lt.Kind, strings.Join(legs, " ")))
	}
	for _, ev := range p.Events {
		out = append(out, "event "+ev.Type)
	}
	if r := p.Referral; r != nil {
		switch {
		case r.State == ReferralSuccessful && r.By == "":
			out = append(out, "converted "+r.FriendID)
		case r.State == ReferralSuccessful:
			out = append(out, "converted "+r.FriendID+" by "+r.By)
		default:
			out = append(out, "referral "+r.FriendID+" "+r.State)
		}
	}
	return out
}

func check(t *testing.T, p Plan, want []string) {
	t.Helper()
	got := summary(p)
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, lt := range p.Ledger {
		if err := lt.Validate(); err != nil {
			t.Errorf("unbalanced ledger transaction: %v", err)
		}
	}
}

func rule(id string, mods ...func(*Rule)) RuleState {
	r := &Rule{ID: id, Trigger: Signup, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000,
		Currency: "USD", Recurrence: First, Active: true}
	for _, m := range mods {
		m(r)
	}
	return RuleState{Rule: r}
}

var (
	friend    = FriendState{ID: "cus_f", Key: "f", ReferrerID: "cus_r", ReferrerKey: "r"}
	converted = FriendState{ID: "cus_f", Key: "f", ReferrerID: "cus_r", ReferrerKey: "r", Converted: true}
)

func TestFireRules(t *testing.T) {
	signup := Event{Trigger: Signup, OccurredAt: now}
	tests := []struct {
		name string
		in   Firing
		want []string
	}{
		{"a customer nobody referred earns nothing",
			Firing{Friend: FriendState{ID: "cus_x"}, Event: signup, Rules: []RuleState{rule("r1")}}, nil},
		{"a referrer's credit with nothing holding it back is available at once, in one posting",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{rule("r1")}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD available",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_available+1000",
				"event reward.created", "event reward.available", "event referral.successful", "converted cus_f"}},
		{"a holding period keeps it pending",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{rule("r1", func(r *Rule) { r.HoldingDays = 30 })}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD pending",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_pending+1000",
				"event reward.created", "event referral.successful", "converted cus_f"}},
		{"a program that requires approval holds every reward",
			Firing{Friend: friend, Event: signup, RequireApproval: true, Rules: []RuleState{rule("r1", func(r *Rule) { r.RewardType = Cash })}},
			[]string{"new rwd_1 referrer cus_r cash 1000 USD pending needs-approval",
				"post reward_earned program:rewards_expense-1000 cus_r:cash_pending+1000",
				"event reward.created", "event referral.successful", "converted cus_f"}},
		{"a rule that never needs approval gives the friend's code at once in a program that approves rewards",
			Firing{Friend: friend, Event: signup, RequireApproval: true, Rules: []RuleState{
				rule("r1"),
				rule("r2", func(r *Rule) {
					never := false
					r.Recipient, r.RewardType, r.Unit, r.Amount, r.Currency, r.RequireApproval = Friend, Discount, Percentage, 2000, "", &never
				})}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD pending needs-approval", "new rwd_2 friend cus_f discount 2000  available",
				"code dc_1 for rwd_2",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_pending+1000",
				"event reward.created", "event reward.created", "event reward.available", "event referral.successful", "converted cus_f"}},
		{"a rule that always needs approval holds its rewards in a program that does not",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{rule("r1", func(r *Rule) { always := true; r.RequireApproval = &always })}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD pending needs-approval",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_pending+1000",
				"event reward.created", "event referral.successful", "converted cus_f"}},
		{"a friend's percent-off discount is a code issued at once",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{rule("r1", func(r *Rule) {
				r.Recipient, r.RewardType, r.Unit, r.Amount, r.Currency, r.DiscountExpiresDays = Friend, Discount, Percentage, 2000, "", 30
			})}},
			[]string{"new rwd_1 friend cus_f discount 2000  available", "code dc_1 for rwd_1 expires 2026-03-31",
				"event reward.created", "event reward.available", "event referral.successful", "converted cus_f"}},
		{"a friend already converted stays converted",
			Firing{Friend: FriendState{ID: "cus_f", ReferrerID: "cus_r", Converted: true}, Event: signup, Rules: []RuleState{rule("r1")}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD available",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_available+1000",
				"event reward.created", "event reward.available"}},
		{"a first-only rule that already gave for this friend gives nothing",
			Firing{Friend: converted, Event: signup, Rules: []RuleState{{Rule: rule("r1").Rule, History: History{ForFriend: 1}}}}, nil},
		{"each rule that fires gives its own reward",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{rule("r1"), rule("r2", func(r *Rule) { r.Recipient = Friend; r.Amount = 500 })}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD available", "new rwd_2 friend cus_f credit 500 USD available",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_available+1000",
				"post reward_earned program:rewards_expense-500 cus_f:credit_available+500",
				"event reward.created", "event reward.available", "event reward.created", "event reward.available", "event referral.successful", "converted cus_f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, testEnv().Fire(tt.in), tt.want) })
	}
}

func TestPayment(t *testing.T) {
	txn := &Transaction{ID: "txn_1", Key: "order-1", CustomerID: "cus_f", Type: Purchase, Amount: 8000, Currency: "EUR"}
	tenPercent := rule("r1", func(r *Rule) {
		r.Trigger, r.Unit, r.Amount, r.Currency, r.Recurrence = Purchase, Percentage, 1000, "", Every
	})
	p := testEnv().Payment(Firing{Friend: friend, Event: Event{Trigger: Purchase, Amount: 8000, Currency: "EUR", OccurredAt: now, FirstAt: now},
		Transaction: txn, Rules: []RuleState{tenPercent}})
	check(t, p, []string{"new rwd_1 referrer cus_r credit 800 EUR available",
		"post reward_earned program:rewards_expense-800 cus_r:credit_available+800",
		"event transaction.created", "event reward.created", "event reward.available", "event referral.successful", "converted cus_f by txn_1"})
	if rw := p.Rewards[0]; rw.Source != "txn_1" || rw.TransactionID != "txn_1" || rw.TransactionKey != "order-1" {
		t.Errorf("reward of a payment: source %q, transaction %q %q", rw.Source, rw.TransactionID, rw.TransactionKey)
	}
}

func reward(mods ...func(*Reward)) *Reward {
	rw := &Reward{ID: "rwd_9", CustomerID: "cus_r", RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD", Status: Pending}
	for _, m := range mods {
		m(rw)
	}
	return rw
}

func TestDecisions(t *testing.T) {
	available := func(rw *Reward) { rw.Status = Available }
	discount := func(rw *Reward) { rw.RewardType, rw.Unit, rw.Currency = Discount, Percentage, "" }
	cash := func(rw *Reward) { rw.RewardType = Cash }
	tests := []struct {
		name    string
		step    func(e Env) (Plan, error)
		want    []string
		wantErr error
	}{
		{"release moves the value from pending to available",
			func(e Env) (Plan, error) { return e.Release(reward(), 0), nil },
			[]string{"change rwd_9 available reversed=0",
				"post reward_released cus_r:credit_pending-1000 cus_r:credit_available+1000", "event reward.available"}, nil},
		{"release of a partly clawed back reward moves what is left",
			func(e Env) (Plan, error) {
				return e.Release(reward(cash, func(rw *Reward) { rw.Reversed = 400 }), 0), nil
			},
			[]string{"change rwd_9 available reversed=400",
				"post reward_released cus_r:cash_pending-600 cus_r:cash_available+600", "event reward.available"}, nil},
		{"release of a discount issues its code",
			func(e Env) (Plan, error) { return e.Release(reward(discount), 7), nil },
			[]string{"change rwd_9 available reversed=0", "code dc_1 for rwd_9 expires 2026-03-08", "event reward.available"}, nil},
		{"hold leaves a due reward for a person",
			func(e Env) (Plan, error) { return e.Hold(reward()), nil },
			[]string{"change rwd_9 pending reversed=0"}, nil},
		{"approve releases a pending reward",
			func(e Env) (Plan, error) { return e.Approve(reward(), 0) },
			[]string{"change rwd_9 available reversed=0",
				"post reward_released cus_r:credit_pending-1000 cus_r:credit_available+1000", "event reward.available"}, nil},
		{"approve refuses a reward already decided",
			func(e Env) (Plan, error) { return e.Approve(reward(available), 0) }, nil, ErrRewardNotPending},
		{"reject gives a pending reward's value back",
			func(e Env) (Plan, error) { return e.Reject(reward(), "fraud") },
			[]string{"change rwd_9 rejected reversed=1000",
				"post reward_reversed cus_r:credit_pending-1000 program:rewards_expense+1000", "event reward.rejected"}, nil},
		{"reject of a pending discount has no code to void",
			func(e Env) (Plan, error) { return e.Reject(reward(discount), "fraud") },
			[]string{"change rwd_9 rejected reversed=1000", "event reward.rejected"}, nil},
		{"reject refuses a reward already decided",
			func(e Env) (Plan, error) { return e.Reject(reward(available), "late") }, nil, ErrRewardNotPending},
		{"credit adds to available credit",
			func(e Env) (Plan, error) { return e.Credit("cus_a", 250, "USD", "goodwill") },
			[]string{"post manual_credit program:adjustments-250 cus_a:credit_available+250", "event balance.credited"}, nil},
		{"credit refuses nothing or less",
			func(e Env) (Plan, error) { return e.Credit("cus_a", 0, "USD", "") }, nil, ErrAmountNotPositive},
		{"debit spends available credit",
			func(e Env) (Plan, error) { return e.Debit("cus_a", 300, 300, "USD", "checkout") },
			[]string{"post debit cus_a:credit_available-300 program:redemptions+300", "event balance.debited"}, nil},
		{"debit never goes below zero",
			func(e Env) (Plan, error) { return e.Debit("cus_a", 299, 300, "USD", "") }, nil, ErrInsufficientBalance},
		{"debit refuses a negative amount",
			func(e Env) (Plan, error) { return e.Debit("cus_a", 300, -1, "USD", "") }, nil, ErrAmountNotPositive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.step(testEnv())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			check(t, p, tt.want)
		})
	}
}

func TestRefund(t *testing.T) {
	payment := func() *Transaction {
		return &Transaction{ID: "txn_1", Key: "order-1", Amount: 10000, Currency: "USD"}
	}
	// A 10 % credit (1,000), a fixed cash reward (500) and a discount code.
	rewardsOf := func(statuses ...string) []*Reward {
		out := []*Reward{
			reward(func(rw *Reward) { rw.ID, rw.Unit, rw.Status = "rwd_1", Percentage, Available }),
			reward(func(rw *Reward) { rw.ID, rw.RewardType, rw.Amount = "rwd_2", Cash, 500 }),
			reward(func(rw *Reward) {
				rw.ID, rw.RewardType, rw.Unit, rw.Amount, rw.Currency, rw.Status = "rwd_3", Discount, Percentage, 2000, "", Available
			}),
		}
		for i, s := range statuses {
			if s != "" {
				out[i].Status = s
			}
		}
		return out
	}
	tests := []struct {
		name     string
		refunded int64 // already refunded before
		amount   int64
		rewards  []*Reward
		want     []string
		wantErr  error
	}{
		{"a partial refund shrinks percentage rewards in proportion, not fixed ones or codes", 0, 2500, rewardsOf(),
			[]string{"change rwd_1 available reversed=250", "refund ref_1 2500 of order-1 (refunded 2500)",
				"post reward_reversed cus_r:credit_available-250 program:rewards_expense+250",
				"event reward.reversed", "event transaction.refunded"}, nil},
		{"a full refund reverses everything: pending from pending, available below zero if spent, codes voided", 0, 0, rewardsOf(),
			[]string{"change rwd_1 reversed reversed=1000", "change rwd_2 reversed reversed=500", "change rwd_3 reversed reversed=2000",
				"void code of rwd_3", "refund ref_1 10000 of order-1 (refunded 10000)",
				"post reward_reversed cus_r:credit_available-1000 program:rewards_expense+1000",
				"post reward_reversed cus_r:cash_pending-500 program:rewards_expense+500",
				"event reward.reversed", "event reward.reversed", "event reward.reversed", "event transaction.refunded"}, nil},
		{"the rest of a partly refunded payment reverses what is left", 2500, 0,
			[]*Reward{reward(func(rw *Reward) { rw.ID, rw.Unit, rw.Status, rw.Reversed = "rwd_1", Percentage, Available, 250 })},
			[]string{"change rwd_1 reversed reversed=1000", "refund ref_1 7500 of order-1 (refunded 10000)",
				"post reward_reversed cus_r:credit_available-750 program:rewards_expense+750",
				"event reward.reversed", "event transaction.refunded"}, nil},
		{"rejected and reversed rewards are left alone", 0, 0, rewardsOf("", Rejected, Reversed),
			[]string{"change rwd_1 reversed reversed=1000", "refund ref_1 10000 of order-1 (refunded 10000)",
				"post reward_reversed cus_r:credit_available-1000 program:rewards_expense+1000",
				"event reward.reversed", "event transaction.refunded"}, nil},
		{"nothing left to refund", 10000, 0, rewardsOf(), nil, ErrAlreadyRefunded},
		{"more than what is left", 5000, 5001, rewardsOf(), nil, ErrRefundExceedsTotal},
		{"a negative amount", 0, -1, rewardsOf(), nil, ErrAmountNotPositive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txn := payment()
			txn.Refunded = tt.refunded
			p, err := testEnv().Refund(txn, tt.rewards, tt.amount, "returned")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			check(t, p, tt.want)
			if err != nil && txn.Refunded != tt.refunded {
				t.Errorf("a refused refund changed the transaction: refunded %d", txn.Refunded)
			}
		})
	}
}

func TestRedeem(t *testing.T) {
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	tests := []struct {
		name    string
		code    DiscountCode
		wantErr error
	}{
		{"an active code is used", DiscountCode{Code: "GIFT-1", ExpiresAt: &future}, nil},
		{"a used code", DiscountCode{Code: "GIFT-1", RedeemedAt: &past}, ErrDiscountCodeRedeemed},
		{"a void code", DiscountCode{Code: "GIFT-1", VoidedAt: &past}, ErrDiscountCodeVoid},
		{"an expired code", DiscountCode{Code: "GIFT-1", ExpiresAt: &now}, ErrDiscountCodeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc := tt.code
			p, err := testEnv().Redeem(&dc)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				check(t, p, []string{"redeem GIFT-1", "event discount_code.redeemed"})
				if dc.RedeemedAt == nil || !dc.RedeemedAt.Equal(now) {
					t.Errorf("redeemed at %v", dc.RedeemedAt)
				}
			}
		})
	}
}

// TestReferrals covers when a referral is successful (defect 4 of issue
// 16), milestones, and what undoes them.
func TestReferrals(t *testing.T) {
	signup := Event{Trigger: Signup, OccurredAt: now}
	buy := Event{Trigger: Purchase, Amount: 5000, Currency: "USD", OccurredAt: now, FirstAt: now}
	txn := &Transaction{ID: "txn_1", Key: "order-1", CustomerID: "cus_f", Type: Purchase, Amount: 5000, Currency: "USD"}
	welcome := rule("w", func(r *Rule) {
		r.Recipient, r.RewardType, r.Unit, r.Currency, r.Amount = Friend, Discount, Percentage, "", 2000
	})
	perPurchase := rule("p", func(r *Rule) { r.Trigger = Purchase })
	capped := RuleState{Rule: rule("p", func(r *Rule) { r.Trigger, r.MaxRewardsPerReferrer = Purchase, 1 }).Rule, History: History{ForReferrer: 1}}
	milestone := func(id string, n int, amount int64) RuleState {
		return rule(id, func(r *Rule) { r.Trigger, r.MilestoneReferrals, r.Amount = Milestone, n, amount })
	}
	tests := []struct {
		name string
		in   Firing
		want []string
	}{
		{"the friend's own signup code does not make the referral successful when referrers are rewarded for purchases",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{welcome}, ReferrerTriggers: []string{Purchase}},
			[]string{"new rwd_1 friend cus_f discount 2000  available", "code dc_1 for rwd_1", "event reward.created", "event reward.available"}},
		{"in a program that rewards referrers for nothing, the signup does",
			Firing{Friend: friend, Event: signup, Rules: []RuleState{welcome}},
			[]string{"new rwd_1 friend cus_f discount 2000  available", "code dc_1 for rwd_1", "event reward.created", "event reward.available",
				"event referral.successful", "converted cus_f"}},
		{"the qualifying purchase does, naming itself",
			Firing{Friend: friend, Event: buy, Transaction: txn, Rules: []RuleState{perPurchase}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD available",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_available+1000",
				"event reward.created", "event reward.available", "event referral.successful", "converted cus_f by txn_1"}},
		{"so does a purchase over the referrer's cap, with no reward",
			Firing{Friend: friend, Event: buy, Transaction: txn, Rules: []RuleState{capped}},
			[]string{"event referral.successful", "converted cus_f by txn_1"}},
		{"a purchase below the referrer rule's minimum does not",
			Firing{Friend: friend, Event: Event{Trigger: Purchase, Amount: 100, Currency: "USD", OccurredAt: now}, Transaction: txn,
				Rules: []RuleState{rule("p", func(r *Rule) { r.Trigger, r.MinAmount, r.MinAmountCurrency = Purchase, 4000, "USD" })}}, nil},
		{"a rejected referral rewards no one",
			Firing{Friend: FriendState{ID: "cus_f", ReferrerID: "cus_r", Rejected: true}, Event: buy, Transaction: txn, Rules: []RuleState{perPurchase}}, nil},
		{"the successful referral that reaches a milestone rewards it, with a source of its own and no payment",
			Firing{Friend: friend, Event: buy, Transaction: txn, Rules: []RuleState{capped}, Successful: 2,
				Milestones: []RuleState{milestone("m3", 3, 1000), milestone("m10", 10, 5000)}},
			[]string{"new rwd_1 referrer cus_r credit 1000 USD available",
				"post reward_earned program:rewards_expense-1000 cus_r:credit_available+1000",
				"event referral.successful", "event reward.created", "event reward.available", "converted cus_f by txn_1"}},
		{"a milestone the referrer already has is not given again",
			Firing{Friend: friend, Event: buy, Transaction: txn, Rules: []RuleState{capped}, Successful: 5,
				Milestones: []RuleState{{Rule: milestone("m3", 3, 1000).Rule, History: History{ForReferrer: 1}}}},
			[]string{"event referral.successful", "converted cus_f by txn_1"}},
		{"a friend already counted reaches no milestone",
			Firing{Friend: converted, Event: buy, Transaction: txn, Successful: 3, Milestones: []RuleState{milestone("m3", 3, 1000)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.ProgramID = "prg_1"
			p := testEnv().Fire(tt.in)
			check(t, p, tt.want)
			for _, rw := range p.Rewards {
				if rw.Trigger == Milestone && (rw.Source != "milestone:txn_1" || rw.TransactionID != "") {
					t.Errorf("milestone reward: source %q, transaction %q", rw.Source, rw.TransactionID)
				}
			}
		})
	}

	standing := func(status string) *Reward {
		return &Reward{ID: "rwd_m", RuleID: "m3", Trigger: Milestone, Recipient: Referrer, CustomerID: "cus_r", RewardType: Credit,
			Unit: Fixed, Amount: 1000, Currency: "USD", Status: status}
	}
	loss := func(successful int, rws ...*Reward) Loss {
		return Loss{FriendID: "cus_f", Successful: successful, Milestones: []Standing{{Rule: milestone("m3", 3, 1000).Rule, Rewards: rws}}}
	}
	refunded := &Transaction{ID: "txn_1", Type: Purchase, Amount: 5000, Refunded: 5000, Currency: "USD"}
	other := &Transaction{ID: "txn_2", Type: Purchase, Amount: 5000, Currency: "USD"}
	purchaseRules := []*Rule{perPurchase.Rule}
	steps := []struct {
		name string
		step func(e Env) Plan
		want []string
	}{
		{"another qualifying payment keeps the referral successful",
			func(e Env) Plan {
				return e.Requalify(converted, []*Transaction{other}, purchaseRules, loss(3, standing(Pending)))
			},
			[]string{"converted cus_f by txn_2"}},
		{"a fully refunded other payment does not",
			func(e Env) Plan {
				return e.Requalify(converted, []*Transaction{{ID: "txn_2", Type: Purchase, Amount: 10, Refunded: 10}}, purchaseRules, loss(5))
			},
			[]string{"event referral.pending", "referral cus_f pending"}},
		{"back to pending below a milestone claws back its pending reward",
			func(e Env) Plan { return e.Requalify(converted, nil, purchaseRules, loss(3, standing(Pending))) },
			[]string{"change rwd_m reversed reversed=1000",
				"post reward_reversed cus_r:credit_pending-1000 program:rewards_expense+1000",
				"event reward.reversed", "event referral.pending", "referral cus_f pending"}},
		{"and its available one, the balance going into debt if spent",
			func(e Env) Plan { return e.Requalify(converted, nil, purchaseRules, loss(3, standing(Available))) },
			[]string{"change rwd_m reversed reversed=1000",
				"post reward_reversed cus_r:credit_available-1000 program:rewards_expense+1000",
				"event reward.reversed", "event referral.pending", "referral cus_f pending"}},
		{"but not one paid out",
			func(e Env) Plan { return e.Requalify(converted, nil, purchaseRules, loss(3, standing(Paid))) },
			[]string{"event referral.pending", "referral cus_f pending"}},
		{"a referrer still at the milestone keeps it",
			func(e Env) Plan { return e.Requalify(converted, nil, purchaseRules, loss(4, standing(Pending))) },
			[]string{"event referral.pending", "referral cus_f pending"}},
		{"a rejected successful referral takes the milestone too",
			func(e Env) Plan { return e.RejectReferral(converted, loss(3, standing(Pending))) },
			[]string{"change rwd_m reversed reversed=1000",
				"post reward_reversed cus_r:credit_pending-1000 program:rewards_expense+1000",
				"event reward.reversed", "event referral.rejected", "referral cus_f rejected"}},
		{"a rejected pending referral was not counted: milestones stand",
			func(e Env) Plan { return e.RejectReferral(friend, loss(3, standing(Pending))) },
			[]string{"event referral.rejected", "referral cus_f rejected"}},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.step(testEnv()), tt.want) })
	}
	if !Unconverts(refunded, "txn_1") || Unconverts(refunded, "txn_2") || Unconverts(other, "txn_2") || Unconverts(refunded, "") {
		t.Error("Unconverts: only the full refund of the payment that made the referral successful")
	}
	if !RejectsReferral(&Reward{Recipient: Referrer, Trigger: Purchase}) || RejectsReferral(&Reward{Recipient: Friend}) ||
		RejectsReferral(&Reward{Recipient: Referrer, Trigger: Milestone}) {
		t.Error("RejectsReferral: a referrer reward other than a milestone")
	}
}
