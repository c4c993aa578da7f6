package store_test

// The simulation's model (see simulation_test.go): the types that mirror
// customers, rules, transactions, rewards and discount codes; rule
// definitions as a client sends them; and the model's reading of issues 4
// and 16: which rewards a trigger gives (expectFire), when a referral is
// successful, pending or rejected, what a refund or a rejection claws back.

import (
	"encoding/json"
	"fmt"
	"slices"
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
	// status is the referral's, as the stats count it: "" (not referred),
	// pending, successful or rejected; convertedBy is the payment that
	// made it successful (nil: the signup).
	status      string
	convertedBy *mTxn
	received    []*mReward // rewards this customer receives
	asFriend    []*mReward // rewards given for this customer's actions
	asReferrer  []*mReward // rewards given through this customer's friends
	txns        []*mTxn
	deleted     bool
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
	// Issue 16's offers. Arrays keep the definition comparable.
	Milestone   int                       // milestone_referrals
	Tiers       [3]rewards.Tier           // ascending; a zero MinReferrals ends them
	SkipCount   int                       // with recurrence every
	Period      string                    // max_rewards_period: "", month or year
	MaxAmount   int64                     // max_amount_per_referrer, in MaxCurrency
	MaxCurrency string                    // the rule's currency, or the program's for a percentage
	Options     [3]rewards.CurrencyOption // by simCurrencies; a zero Amount: no option
}

// option is the rule's currency option for a payment in cur, if any.
func (d ruleDef) option(cur string) (rewards.CurrencyOption, bool) {
	if d.Unit != rewards.Fixed {
		return rewards.CurrencyOption{}, false
	}
	for i, c := range simCurrencies {
		if c == cur && d.Options[i].Amount > 0 {
			return d.Options[i], true
		}
	}
	return rewards.CurrencyOption{}, false
}

func (d ruleDef) hasOptions() bool {
	_, a := d.option(simCurrencies[0])
	_, b := d.option(simCurrencies[1])
	_, c := d.option(simCurrencies[2])
	return a || b || c
}

func (d ruleDef) tiers() []rewards.Tier {
	var out []rewards.Tier
	for _, t := range d.Tiers {
		if t.MinReferrals > 0 {
			out = append(out, t)
		}
	}
	return out
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
	txn                        *mTxn  // nil for a signup or a milestone
	source                     string // the payment's id, signup, or milestone:<either>
	created                    time.Time
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
	// seen counts issue 16's paths the walk took, for its summary.
	seen map[string]int
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
	if tiers := d.tiers(); len(tiers) > 0 {
		in.Amount = nil // a tiered rule's amounts are its tiers'
		var ts []rewards.TierInput
		for _, t := range tiers {
			n := money.Number(ruleDef{Unit: d.Unit, Currency: d.Currency, Amount: t.Amount}.amountNumber())
			ts = append(ts, rewards.TierInput{MinReferrals: &t.MinReferrals, Amount: &n})
		}
		in.Tiers = rewards.Optional[[]rewards.TierInput]{Set: true, Value: &ts}
	} else if full {
		in.Tiers = rewards.Optional[[]rewards.TierInput]{Set: true}
	}
	if d.Milestone != 0 || full {
		in.MilestoneReferrals = &d.Milestone
	}
	if d.SkipCount != 0 || full {
		in.SkipCount = &d.SkipCount
	}
	if d.Period != "" {
		in.MaxRewardsPeriod = rewards.Optional[string]{Set: true, Value: &d.Period}
	} else if full {
		in.MaxRewardsPeriod = rewards.Optional[string]{Set: true}
	}
	if d.MaxAmount > 0 {
		n := money.Number(money.Format(d.MaxAmount, d.MaxCurrency))
		in.MaxAmountPerReferrer = rewards.Optional[money.Number]{Set: true, Value: &n}
	} else if full {
		in.MaxAmountPerReferrer = rewards.Optional[money.Number]{Set: true}
	}
	if d.hasOptions() {
		in.CurrencyOptions = rewards.CurrencyOptionsInput{Set: true, Options: map[string]rewards.CurrencyOptionInput{}}
		for i, cur := range simCurrencies {
			o := d.Options[i]
			if o.Amount == 0 {
				continue
			}
			a := money.Number(money.Format(o.Amount, cur))
			oi := rewards.CurrencyOptionInput{Amount: &a}
			if o.MinAmount > 0 {
				n := money.Number(money.Format(o.MinAmount, cur))
				oi.MinAmount = &n
			}
			if o.MaxAmountPerReferrer > 0 {
				n := money.Number(money.Format(o.MaxAmountPerReferrer, cur))
				oi.MaxAmountPerReferrer = &n
			}
			key := cur
			if i == 1 {
				key = strings.ToLower(cur) // codes are normalised
			}
			in.CurrencyOptions.Options[key] = oi
		}
	} else if full {
		in.CurrencyOptions = rewards.CurrencyOptionsInput{Set: true}
	}
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
	d.Milestone, d.SkipCount, d.Period = r.MilestoneReferrals, r.SkipCount, r.MaxRewardsPeriod
	d.MaxAmount, d.MaxCurrency = r.MaxAmountPerReferrer, r.MaxAmountCurrency
	for i, t := range r.Tiers {
		if i < len(d.Tiers) {
			d.Tiers[i] = t
		} else {
			d.Tiers[0].MinReferrals = -1 // more tiers than the walk gives: never the same
		}
	}
	for cur, o := range r.CurrencyOptions {
		i := slices.Index(simCurrencies, cur)
		if i < 0 {
			d.Options[0].Amount = -1 // an option the walk never gives
			continue
		}
		d.Options[i] = o
	}
	return d
}

// ---------------------------------------------------------------------------
// Firing rules: the model's own reading of issue 4.

// priorPayments counts the friend's other recorded transactions of txn's
// type (referred or not at the time): all of them were recorded before.
func priorPayments(friend *mCustomer, txn *mTxn) int {
	n := 0
	for _, o := range friend.txns {
		if o != txn && o.in.Type == txn.in.Type {
			n++
		}
	}
	return n
}

// liveRulesOf lists the active rules of trigger, in creation (= id) order.
func (s *sim) liveRulesOf(trigger string) []*mRule {
	var out []*mRule
	for _, r := range s.m.rules {
		if !r.deleted && r.def.Active && r.def.Trigger == trigger {
			out = append(out, r)
		}
	}
	return out
}

// qualifiesFor is issue 16's definition of a successful referral, for one
// rule: the friend did what it rewards referrers for, at its minimum (a
// currency option's own minimum for a payment in its currency). Caps,
// recurrence, skip counts and tiers do not matter.
func qualifiesFor(d ruleDef, trigger string, txn *mTxn) bool {
	if d.Recipient != rewards.Referrer || d.Trigger != trigger {
		return false
	}
	if txn == nil {
		return true // a signup has no minimum
	}
	if o, ok := d.option(txn.in.Currency); ok {
		return txn.in.Amount >= o.MinAmount
	}
	return d.MinAmount == 0 || (txn.in.Currency == d.MinCurrency && txn.in.Amount >= d.MinAmount)
}

// qualifies says whether the friend's action (txn nil: the signup) makes a
// referral successful: an active referrer rule of its trigger rewards it,
// or, for a signup, the program rewards referrers for nothing but
// milestones.
func (s *sim) qualifies(trigger string, txn *mTxn) bool {
	if trigger == rewards.Signup {
		none := true
		for _, t := range []string{rewards.Signup, rewards.Purchase, rewards.Subscription} {
			for _, r := range s.liveRulesOf(t) {
				none = none && r.def.Recipient != rewards.Referrer
			}
		}
		if none {
			return true
		}
	}
	for _, r := range s.liveRulesOf(trigger) {
		if qualifiesFor(r.def, trigger, txn) {
			return true
		}
	}
	return false
}

// successful counts a referrer's successful referrals.
func successful(ref *mCustomer) int {
	n := 0
	for _, f := range ref.referrals {
		if f.status == referralSuccessful {
			n++
		}
	}
	return n
}

// Referral states, as the stats count them.
const (
	referralPending    = "pending"
	referralSuccessful = "successful"
	referralRejected   = "rejected"
)

// setStatus moves a friend's referral, which shows in the referrer's stats.
func (s *sim) setStatus(friend *mCustomer, status string, by *mTxn) {
	if friend.status != status {
		s.touch(friend.referrer, "")
	}
	friend.status, friend.convertedBy = status, by
}

// periodStart is when the calendar period (UTC) of a rule's referrer caps
// that holds now began; the zero time for a lifetime cap.
func periodStart(period string, now time.Time) time.Time {
	now = now.UTC()
	switch period {
	case rewards.Month:
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	case rewards.Year:
		return time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// expectFire returns the rewards the live rules should give for trigger by
// friend (txn is nil for a signup), and moves the friend's referral to
// successful when the action qualifies it, with the milestones that
// reaches. The rewards are not in the model yet.
func (s *sim) expectFire(trigger string, friend *mCustomer, txn *mTxn) []*mReward {
	if friend.referrer == nil || friend.status == referralRejected {
		return nil // not referred, or a rejected referral: recorded, never rewarded
	}
	if friend.paidBeforeReferral {
		return nil // an existing customer, not one the referral brought
	}
	ref := friend.referrer
	converts := friend.status == referralPending && s.qualifies(trigger, txn)
	count := successful(ref) // once this action is counted
	if converts {
		count++
	}
	source := rewards.Signup
	if txn != nil {
		source = txn.id
	}
	var out []*mReward
	for _, r := range s.liveRulesOf(trigger) {
		if rw := s.fireRule(r, friend, txn, count); rw != nil {
			rw.txn, rw.source = txn, source
			out = append(out, rw)
		}
	}
	if !converts {
		return out
	}
	s.setStatus(friend, referralSuccessful, txn)
	for _, r := range s.liveRulesOf(rewards.Milestone) {
		d := r.def
		if count < d.Milestone || s.given(r, ref.received, time.Time{}) > 0 {
			continue // not reached, or given already (and not clawed back)
		}
		s.m.seen["milestone"]++
		rw := s.newReward(r, friend)
		rw.source = rewards.Milestone + ":" + source
		rw.unit, rw.amount, rw.currency = d.Unit, d.Amount, d.Currency
		out = append(out, rw)
	}
	return out
}

// given counts the live rewards of rule r among rws created since start.
func (s *sim) given(r *mRule, rws []*mReward, start time.Time) int {
	n := 0
	for _, rw := range rws {
		if rw.rule == r && rw.live() && !rw.created.Before(start) {
			n++
		}
	}
	return n
}

// newReward is a reward of rule r for friend's action, pending or, when
// nothing holds it back, available; its amount is the caller's to set.
func (s *sim) newReward(r *mRule, friend *mCustomer) *mReward {
	d, now := r.def, s.clock()
	rw := &mReward{rule: r, friend: friend, referer: friend.referrer, trigger: d.Trigger, role: d.Recipient, typ: d.RewardType,
		status: rewards.Pending, needsApproval: d.needsApproval(s.m.approval), availableAt: now.AddDate(0, 0, d.HoldingDays), created: now}
	rw.recipient = friend
	if d.Recipient == rewards.Referrer {
		rw.recipient = friend.referrer
	}
	return rw
}

// fireRule is the model's own reading of issues 4 and 16 for one rule of
// the action's trigger: the reward it gives, or nil. count is the
// referrer's successful referrals with this action counted.
func (s *sim) fireRule(r *mRule, friend *mCustomer, txn *mTxn, count int) *mReward {
	d := r.def
	ref := friend.referrer
	forFriend := s.given(r, friend.asFriend, time.Time{})
	start := periodStart(d.Period, s.clock())
	forReferrer := s.given(r, ref.asReferrer, start)
	switch {
	case d.SkipCount > 0 && txn != nil && priorPayments(friend, txn) < d.SkipCount:
		s.m.seen["skipped"]++
		return nil // the first skip_count payments of its type give nothing
	case d.Recurrence == rewards.First && forFriend > 0:
		return nil // "first": once per friend, unless that reward was clawed back
	case d.Recurrence == rewards.First && txn != nil && priorPayments(friend, txn) > 0:
		return nil // "first" payment means the friend's first of its type ever recorded
	case d.Recurrence == rewards.Every && d.MaxCount > 0 && forFriend >= d.MaxCount:
		return nil
	case d.MaxPerReferrer > 0 && forReferrer >= d.MaxPerReferrer:
		s.m.seen["count cap "+d.Period]++
		return nil // within the period, when the rule has one
	}
	if d.Recurrence == rewards.Every && d.MaxMonths > 0 && txn != nil {
		first := txn.occurred
		for _, o := range friend.txns {
			if o.in.Type == txn.in.Type && o.occurred.Before(first) {
				first = o.occurred
			}
		}
		if !txn.occurred.Before(first.AddDate(0, d.MaxMonths, 0)) {
			return nil
		}
	}
	var cur string
	if txn != nil {
		cur = txn.in.Currency
	}
	opt, inOption := d.option(cur)
	switch {
	case inOption && txn.in.Amount < opt.MinAmount:
		return nil // the option's own minimum, in its currency
	case !inOption && d.MinAmount > 0 && (cur != d.MinCurrency || txn.in.Amount < d.MinAmount):
		return nil // a minimum in another currency is never met: nothing is converted
	}
	amount := d.Amount
	if tiers := d.tiers(); len(tiers) > 0 {
		amount = 0
		for _, t := range tiers {
			if count >= t.MinReferrals {
				amount = t.Amount
			}
		}
		if amount == 0 {
			return nil // below the first tier
		}
		s.m.seen["tier"]++
	}
	rw := s.newReward(r, friend)
	switch {
	case inOption: // the option's amount, in the payment's currency
		s.m.seen["currency option"]++
		rw.unit, rw.amount, rw.currency = rewards.Fixed, opt.Amount, cur
	case d.Unit == rewards.Fixed: // in the rule's currency, whatever the payment's
		rw.unit, rw.amount, rw.currency = rewards.Fixed, amount, d.Currency
	case d.RewardType == rewards.Discount: // percent off, no currency
		rw.unit, rw.amount = rewards.Percentage, amount
	default: // a share of the payment, in its currency, half away from zero
		rw.unit, rw.currency = rewards.Percentage, cur
		rw.amount = (2*txn.in.Amount*amount + 10000) / 20000
		if rw.amount == 0 {
			return nil
		}
	}
	if d.MaxAmount > 0 {
		// The cap is per currency; a reward in a currency without one is
		// not given (nothing is converted). The last one is cut to fit.
		limit := int64(0)
		switch {
		case inOption:
			limit = opt.MaxAmountPerReferrer
		case rw.currency == d.MaxCurrency:
			limit = d.MaxAmount
		}
		var used int64
		for _, o := range ref.asReferrer {
			if o.rule == r && o.live() && o.currency == rw.currency && !o.created.Before(start) {
				used += o.amount - o.reversed
			}
		}
		if limit-used <= 0 {
			s.m.seen["amount cap "+d.Period]++
			return nil
		}
		if rw.amount > limit-used {
			s.m.seen["amount cut"]++
		}
		rw.amount = min(rw.amount, limit-used)
	}
	return rw
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
		if !w.needsApproval && w.rule.def.HoldingDays == 0 {
			s.makeAvailable(w, w.rule.def)
		}
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

// refunded is what follows a refund of mt: clawback, and when mt made its
// payer's referral successful and is now refunded in full, the referral
// is decided again: another payment of the friend's not refunded in full
// that an active referrer rule rewards keeps it successful; otherwise it
// goes back to pending and the referrer loses the milestones they fall
// below.
func (s *sim) refunded(mt *mTxn) {
	s.clawback(mt)
	f := mt.cust
	if mt.refunded < mt.in.Amount || f.status != referralSuccessful || f.convertedBy != mt {
		return
	}
	for _, o := range f.txns {
		if o != mt && o.refunded < o.in.Amount && s.qualifies(o.in.Type, o) {
			f.convertedBy = o
			return
		}
	}
	s.m.seen["back to pending"]++
	s.lose(f.referrer)
	s.setStatus(f, referralPending, nil)
}

// lose claws back, in full, the milestone rewards of active milestone
// rules that ref falls below when one of their successful referrals stops
// counting (before the friend's status changes), unless paid out.
func (s *sim) lose(ref *mCustomer) {
	after := successful(ref) - 1
	for _, r := range s.liveRulesOf(rewards.Milestone) {
		if after >= r.def.Milestone {
			continue
		}
		for _, rw := range ref.received {
			if rw.rule == r && (rw.status == rewards.Pending || rw.status == rewards.Available) && rw.amount > rw.reversed {
				s.m.seen["milestone lost"]++
				s.reverse(rw, rw.amount-rw.reversed, rewards.Reversed)
			}
		}
	}
}

// rejected is what follows a person's rejection of rw: rejecting a
// referrer reward other than a milestone rejects the referral, which then
// counts in neither figure and rewards no one again.
func (s *sim) rejected(rw *mReward) {
	f := rw.friend
	if rw.role != rewards.Referrer || rw.trigger == rewards.Milestone || f.status == referralRejected {
		return
	}
	if f.status == referralSuccessful {
		s.lose(f.referrer)
	}
	s.m.seen["referral rejected"]++
	s.setStatus(f, referralRejected, nil)
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
