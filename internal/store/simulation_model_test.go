package store_test

// The simulation's model (see simulation_test.go): the types that mirror
// customers, rules, transactions, rewards and discount codes; rule
// definitions as a client sends them; and the model's reading of issue 4:
// which rewards a trigger gives (expectFire), what a refund claws back.

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// ---------------------------------------------------------------------------
// The model: what issue 4 says should exist, kept by plain code from the
// operations the walk performed. It never asks the engine how to compute
// anything; it only learns the ids and codes the engine chose.

type mCustomer struct {
	id, key, email, code string
	referrer             *mCustomer
	referrals            []*mCustomer
	converted            bool       // a reward was ever given for this friend
	received             []*mReward // rewards this customer receives
	asFriend             []*mReward // rewards given for this customer's actions
	asReferrer           []*mReward // rewards given through this customer's friends
	txns                 []*mTxn
	deleted              bool
	// paidBeforeReferral: referred later, having paid already; the
	// program rewards new customers only (the default), so nobody earns.
	paidBeforeReferral bool
}

// ruleDef is a reward rule as the walk defined it.
type ruleDef struct {
	Trigger, Recipient, RewardType, Unit string
	Amount                               int64
	Currency                             string
	Recurrence                           string
	MaxCount, MaxMonths                  int
	MinAmount                            int64
	MinCurrency                          string
	HoldingDays                          int
	MaxPerReferrer                       int
	ExpiresDays                          int
	PayoutMethod                         string
	Approval                             *bool // nil: as the program
	Active                               bool
}

// same compares two definitions by value.
func (d ruleDef) same(o ruleDef) bool {
	if (d.Approval == nil) != (o.Approval == nil) || (d.Approval != nil && *d.Approval != *o.Approval) {
		return false
	}
	d.Approval, o.Approval = nil, nil
	return d == o
}

// needsApproval says whether the rule's rewards wait for a person now.
func (d ruleDef) needsApproval(program bool) bool {
	if d.Approval != nil {
		return *d.Approval
	}
	return program
}

type mRule struct {
	id      string
	def     ruleDef
	deleted bool
}

type mTxn struct {
	in       store.NewTransaction // as first delivered, for replays
	id       string
	cust     *mCustomer
	occurred time.Time
	refunded int64
	rewards  []*mReward
}

type mReward struct {
	id                         string
	rule                       *mRule
	recipient, friend, referer *mCustomer
	txn                        *mTxn // nil for a signup
	trigger, role, typ, unit   string
	amount                     int64
	currency                   string
	reversed                   int64
	status                     string
	needsApproval              bool
	availableAt                time.Time
	code                       *mCode
}

// live rewards count towards a rule's limits and a referrer's total.
func (rw *mReward) live() bool { return rw.status != rewards.Reversed && rw.status != rewards.Rejected }

type mCode struct {
	code             string
	percentOff       int64
	amountOff        int64
	currency         string
	expires          time.Time // zero: never
	redeemed, voided bool
	reward           *mReward
}

type model struct {
	customers []*mCustomer // every customer ever created
	live      []*mCustomer // those not deleted
	byKey     map[string]*mCustomer
	rules     []*mRule // in creation (= id) order
	txns      []*mTxn
	txnByKey  map[string]*mTxn
	rewards   []*mReward
	byID      map[string]*mReward
	codes     []*mCode
	manual    map[string]int64 // customer id + currency → credits minus debits
	credited  map[string]int64 // currency → all manual credits
	debited   map[string]int64 // currency → all debits
	worth     map[string]int64 // currency → what credit and cash rewards are still worth
	approval  bool             // the program requires approval
}

// ---------------------------------------------------------------------------
// Rule definitions, as a client sends them and as the engine reads them back.

func percentNumber(bp int64) json.Number {
	return json.Number(fmt.Sprintf("%d.%02d", bp/100, bp%100))
}

func (d ruleDef) amountNumber() json.Number {
	if d.Unit == rewards.Percentage {
		return percentNumber(d.Amount)
	}
	return money.Format(d.Amount, d.Currency)
}

// input is the rule as a client would send it. full sends every field, as
// a replacing update must (absent fields keep their value).
func (d ruleDef) input(full, defaultCurrency bool) rewards.RuleInput {
	name := "rule " + d.Trigger + " " + d.RewardType
	amount := money.Number(d.amountNumber())
	in := rewards.RuleInput{Name: &name, Trigger: &d.Trigger, Recipient: &d.Recipient, RewardType: &d.RewardType,
		Amount: &amount, Unit: &d.Unit, Recurrence: &d.Recurrence, HoldingDays: &d.HoldingDays, Active: &d.Active}
	switch {
	case d.Unit == rewards.Fixed && (full || !defaultCurrency):
		in.Currency = &d.Currency
	case d.Unit == rewards.Percentage && full:
		none := ""
		in.Currency = &none
	}
	if d.MaxCount != 0 || full {
		in.MaxCount = &d.MaxCount
	}
	if d.MaxMonths != 0 || full {
		in.MaxMonths = &d.MaxMonths
	}
	if d.MinAmount > 0 {
		n := money.Number(money.Format(d.MinAmount, d.MinCurrency))
		in.MinAmount = &n
	} else if full && d.Trigger != rewards.Signup {
		zero := money.Number("0")
		in.MinAmount = &zero
	}
	if d.MaxPerReferrer != 0 || full {
		in.MaxRewardsPerReferrer = &d.MaxPerReferrer
	}
	if d.ExpiresDays != 0 || full {
		in.ExpiresInDays = &d.ExpiresDays
	}
	if d.PayoutMethod != "" || full {
		in.PayoutMethod = &d.PayoutMethod
	}
	if d.Approval != nil || full {
		in.RequireApproval = rewards.OptionalBool{Set: true, Value: d.Approval}
	}
	return in
}

func defOf(r *rewards.Rule) ruleDef {
	d := ruleDef{Trigger: r.Trigger, Recipient: r.Recipient, RewardType: r.RewardType, Unit: r.Unit, Amount: r.Amount,
		Currency: r.Currency, Recurrence: r.Recurrence, MaxCount: r.MaxCount, MaxMonths: r.MaxMonths, MinAmount: r.MinAmount,
		HoldingDays: r.HoldingDays, MaxPerReferrer: r.MaxRewardsPerReferrer, ExpiresDays: r.DiscountExpiresDays,
		PayoutMethod: r.PayoutMethod, Approval: r.RequireApproval, Active: r.Active}
	if r.MinAmount > 0 {
		d.MinCurrency = r.MinAmountCurrency
	}
	return d
}

// ---------------------------------------------------------------------------
// Firing rules: the model's own reading of issue 4.

// paidBefore says whether the friend recorded another transaction of txn's
// type before it (referred or not at the time).
func paidBefore(friend *mCustomer, txn *mTxn) bool {
	for _, o := range friend.txns {
		if o != txn && o.in.Type == txn.in.Type {
			return true
		}
	}
	return false
}

// expectFire returns the rewards the live rules should give for trigger by
// friend (txn is nil for a signup). They are not in the model yet.
func (s *sim) expectFire(trigger string, friend *mCustomer, txn *mTxn) []*mReward {
	if friend.referrer == nil {
		return nil // not referred: recorded, never rewarded
	}
	if friend.paidBeforeReferral {
		return nil // an existing customer, not one the referral brought
	}
	now := s.clock()
	var out []*mReward
	for _, r := range s.m.rules {
		d := r.def
		if r.deleted || !d.Active || d.Trigger != trigger {
			continue
		}
		forFriend, forReferrer := 0, 0
		for _, rw := range friend.asFriend {
			if rw.rule == r && rw.live() {
				forFriend++
			}
		}
		for _, rw := range friend.referrer.asReferrer {
			if rw.rule == r && rw.live() {
				forReferrer++
			}
		}
		if d.Recurrence == rewards.First && forFriend > 0 {
			continue // "first": once per friend, unless that reward was clawed back
		}
		if d.Recurrence == rewards.First && txn != nil && paidBefore(friend, txn) {
			continue // "first" payment means the friend's first of its type ever recorded
		}
		if d.Recurrence == rewards.Every && d.MaxCount > 0 && forFriend >= d.MaxCount {
			continue
		}
		if d.MaxPerReferrer > 0 && forReferrer >= d.MaxPerReferrer {
			continue
		}
		if d.Recurrence == rewards.Every && d.MaxMonths > 0 && txn != nil {
			first := txn.occurred
			for _, o := range friend.txns {
				if o.in.Type == txn.in.Type && o.occurred.Before(first) {
					first = o.occurred
				}
			}
			if !txn.occurred.Before(first.AddDate(0, d.MaxMonths, 0)) {
				continue
			}
		}
		// A minimum in another currency is never met: nothing is converted.
		if d.MinAmount > 0 && (txn.in.Currency != d.MinCurrency || txn.in.Amount < d.MinAmount) {
			continue
		}
		rw := &mReward{rule: r, friend: friend, referer: friend.referrer, txn: txn, trigger: d.Trigger, role: d.Recipient,
			typ: d.RewardType, status: rewards.Pending, needsApproval: d.needsApproval(s.m.approval), availableAt: now.AddDate(0, 0, d.HoldingDays)}
		rw.recipient = friend
		if d.Recipient == rewards.Referrer {
			rw.recipient = friend.referrer
		}
		switch {
		case d.Unit == rewards.Fixed: // in the rule's currency, whatever the payment's
			rw.unit, rw.amount, rw.currency = rewards.Fixed, d.Amount, d.Currency
		case d.RewardType == rewards.Discount: // percent off, no currency
			rw.unit, rw.amount = rewards.Percentage, d.Amount
		default: // a share of the payment, in its currency, half away from zero
			rw.unit, rw.currency = rewards.Percentage, txn.in.Currency
			rw.amount = (2*txn.in.Amount*d.Amount + 10000) / 20000
			if rw.amount == 0 {
				continue
			}
		}
		if !rw.needsApproval && d.HoldingDays == 0 {
			s.makeAvailable(rw, d)
		}
		out = append(out, rw)
	}
	return out
}

// makeAvailable is a reward leaving its holding period (or approved):
// discounts get their code, which expires per the rule as it is now.
func (s *sim) makeAvailable(rw *mReward, d ruleDef) {
	rw.status = rewards.Available
	if rw.typ != rewards.Discount {
		return
	}
	c := &mCode{reward: rw}
	if rw.unit == rewards.Percentage {
		c.percentOff = rw.amount
	} else {
		c.amountOff, c.currency = rw.amount, rw.currency
	}
	if d.ExpiresDays > 0 {
		c.expires = s.clock().AddDate(0, 0, d.ExpiresDays)
	}
	rw.code = c
}

// matchNew checks the rewards the engine created against the model's and
// adds them to the model, learning their ids and codes.
func (s *sim) matchNew(want []*mReward, got []*rewards.Reward) {
	s.t.Helper()
	if len(got) != len(want) {
		s.fatalf("%d rewards created, want %d:\n got  %s\n want %s", len(got), len(want), describeGot(got), s.describeWant(want))
	}
	byRule := map[string]*rewards.Reward{}
	for _, g := range got {
		if byRule[g.RuleID] != nil {
			s.fatalf("rule %s gave two rewards for one event", g.RuleID)
		}
		byRule[g.RuleID] = g
	}
	for _, w := range want {
		g := byRule[w.rule.id]
		if g == nil {
			s.fatalf("no reward from rule %s (%+v):\n got  %s\n want %s", w.rule.id, w.rule.def, describeGot(got), s.describeWant(want))
		}
		w.id = g.ID
		s.learnCode(w, g)
		s.compareReward(w, g)
		s.m.rewards = append(s.m.rewards, w)
		s.m.byID[w.id] = w
		if w.typ != rewards.Discount {
			s.m.worth[w.currency] += w.amount
		}
		w.recipient.received = append(w.recipient.received, w)
		w.friend.asFriend = append(w.friend.asFriend, w)
		w.referer.asReferrer = append(w.referer.asReferrer, w)
		if w.txn != nil {
			w.txn.rewards = append(w.txn.rewards, w)
		}
		s.touch(w.recipient, w.currency)
		if !w.friend.converted {
			s.touch(w.referer, "") // a successful referral now
		}
		w.friend.converted = true
		s.friends[w.friend.id] = true
	}
}

// learnCode: when the model gives rw a discount code (it is available),
// the engine must have issued one (g is rw as the engine returned it); the
// model learns the code the engine chose, and counts it among the codes.
func (s *sim) learnCode(rw *mReward, g *rewards.Reward) {
	s.t.Helper()
	if rw.code == nil {
		return
	}
	if g.DiscountCode == nil {
		s.fatalf("discount reward %s (%s) has no code", rw.id, rw.status)
	}
	rw.code.code = g.DiscountCode.Code
	s.m.codes = append(s.m.codes, rw.code)
}

func describeGot(got []*rewards.Reward) string {
	var parts []string
	for _, g := range got {
		parts = append(parts, fmt.Sprintf("{rule %s %s %s %s %d %s %s}", g.RuleID, g.Recipient, g.RewardType, g.Unit, g.Amount, g.Currency, g.Status))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (s *sim) describeWant(want []*mReward) string {
	var parts []string
	for _, w := range want {
		parts = append(parts, fmt.Sprintf("{rule %s %s %s %s %d %s %s}", w.rule.id, w.role, w.typ, w.unit, w.amount, w.currency, w.status))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// ---------------------------------------------------------------------------
// Refunds: what issue 4 claws back.

// clawback is issue 4's refund rule: once refunded of the payment is
// refunded, a percentage reward stands reversed in proportion (rounded half
// away from zero); a fixed reward or a discount stands until the whole
// payment is refunded, then is reversed whole.
func (s *sim) clawback(mt *mTxn) {
	for _, rw := range mt.rewards {
		if !rw.live() {
			continue
		}
		var target int64
		switch {
		case mt.refunded >= mt.in.Amount:
			target = rw.amount
		case rw.unit == rewards.Percentage && rw.typ != rewards.Discount:
			target = (2*rw.amount*mt.refunded + mt.in.Amount) / (2 * mt.in.Amount)
		}
		if delta := target - rw.reversed; delta > 0 {
			s.reverse(rw, delta, rewards.Reversed)
		}
	}
}

func (s *sim) reverse(rw *mReward, delta int64, status string) {
	rw.reversed += delta
	if rw.typ != rewards.Discount {
		s.m.worth[rw.currency] -= delta
	}
	if rw.code != nil && !rw.code.redeemed {
		rw.code.voided = true
	}
	if rw.reversed == rw.amount {
		rw.status = status
	}
	s.touch(rw.recipient, rw.currency)
}
