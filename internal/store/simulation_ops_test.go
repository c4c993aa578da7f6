package store_test

// The simulation's ops on customers, referrals, rules and the program (see
// simulation_test.go for the op table). Each op acts through the store,
// updates the model, and compares what the engine returned with it.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// ---------------------------------------------------------------------------
// Customers and referrals.

func (s *sim) opCustomer() {
	n := len(s.m.customers) + 1
	in := referral.NewCustomer{Key: fmt.Sprintf("cus-%d", n), Email: fmt.Sprintf("user%d@example.com", n),
		Name: fmt.Sprintf("%s %d", pick(s, simNames), n)}
	var referrer *mCustomer
	if len(s.m.customers) > 0 && s.chance(0.75) {
		referrer = s.customer()
		in.ReferredBy = referrer.code
		if s.chance(0.3) {
			in.ReferredBy = strings.ToLower(in.ReferredBy) // codes are looked up case-insensitively
		}
	}
	c, err := s.db.CreateCustomer(s.ctx, s.p, in)
	s.must(err, "create customer")
	mc := &mCustomer{id: c.ID, key: c.Key, email: c.Email, code: c.ReferralCode}
	if got, want := c.ReferrerID, idOf(referrer); got != want {
		s.fatalf("customer %s referred by %q, want %q", c.Key, got, want)
	}
	s.m.customers = append(s.m.customers, mc)
	s.m.live = append(s.m.live, mc)
	s.m.byKey[mc.key] = mc
	s.touch(mc, "")
	if referrer != nil {
		s.referred(mc, referrer)
	}
}

func idOf(c *mCustomer) string {
	if c == nil {
		return ""
	}
	return c.id
}

// referred records that friend was referred by referrer now, and checks
// the signup rewards that fired.
func (s *sim) referred(friend, referrer *mCustomer) {
	friend.referrer, friend.status = referrer, referralPending
	referrer.referrals = append(referrer.referrals, friend)
	s.touch(referrer, "")
	want := s.expectFire(rewards.Signup, friend, nil)
	got := s.signupRewards(friend)
	s.matchNew(want, got)
}

// signupRewards reads the rewards a friend's signup gave, with the
// milestones it reached, straight from the table, then each through the
// store (with its discount code).
func (s *sim) signupRewards(friend *mCustomer) []*rewards.Reward {
	return s.sourceRewards(friend, rewards.Signup, rewards.Milestone+":"+rewards.Signup)
}

// sourceRewards reads the rewards of friend with the given sources.
func (s *sim) sourceRewards(friend *mCustomer, sources ...string) []*rewards.Reward {
	var ids []string
	s.query(`SELECT id FROM rewards WHERE friend_id = $1 AND source IN ($2, $3) ORDER BY id`, []any{friend.id, sources[0], sources[len(sources)-1]}, func(row simRow) error {
		var id string
		if err := row.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	var out []*rewards.Reward
	for _, id := range ids {
		rw, err := s.db.Reward(s.ctx, s.p.ID, id)
		s.must(err, "get reward")
		out = append(out, rw)
	}
	return out
}

func (s *sim) opCustomerInvalid() {
	r := s.customer()
	n := len(s.m.customers) + 1
	in := referral.NewCustomer{Key: fmt.Sprintf("cus-%d", n), Email: fmt.Sprintf("user%d@example.com", n), Name: "Mallory"}
	var code string
	switch s.rng.IntN(4) {
	case 0: // the referrer's own address in another spelling
		local, domain, _ := strings.Cut(r.email, "@")
		in.Email = strings.ToUpper(local[:1]) + "." + local[1:] + "+again@" + domain
		in.ReferredBy, code = r.code, "self_referral"
	case 1:
		in.ReferredBy, code = "NOSUCHCODE9", "unknown_referral_code"
		for _, c := range s.m.customers {
			if c.deleted && s.chance(0.5) { // a deleted customer refers no one
				in.ReferredBy = c.code
				break
			}
		}
	case 2:
		in.Key, in.ReferredBy, code = r.key, r.code, "customer_key_taken"
	default:
		in.Email, code = strings.ToUpper(r.email), "customer_email_taken"
	}
	s.wantFail(code, func() error { _, err := s.db.CreateCustomer(s.ctx, s.p, in); return err })
}

// opCustomerDelete erases a customer's personal data. Their referrals,
// rewards, balances and transactions stay; their code refers no one, and
// their key is free.
func (s *sim) opCustomerDelete() {
	if len(s.m.live) < 10 {
		s.opCustomer()
		return
	}
	i := s.rng.IntN(len(s.m.live))
	c := s.m.live[i]
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteCustomer(s.ctx, s.p.ID, c.key)
		return err
	}), "delete customer")
	s.m.live = slices.Delete(s.m.live, i, i+1)
	c.deleted = true
	delete(s.m.byKey, c.key)
	if _, err := s.db.Customer(s.ctx, s.p.ID, c.key); !errors.Is(err, referral.ErrCustomerNotFound) {
		s.fatalf("deleted customer %s reads as %v", c.key, err)
	}
	for _, cur := range simCurrencies {
		s.touch(c, cur) // what they hold stays
	}
}

// opReferLater attaches a referrer to a customer who signed up without one
// (the code arrived later), or tries an invalid change.
func (s *sim) opReferLater() {
	var alone []*mCustomer
	for _, c := range s.m.live {
		if c.referrer == nil {
			alone = append(alone, c)
		}
	}
	c := s.customer()
	update := func(code string) error {
		return s.db.InTx(s.ctx, func(tx *store.Tx) error {
			_, err := tx.UpdateCustomer(s.ctx, s.p, c.key, referral.CustomerUpdate{ReferredBy: &code})
			return err
		})
	}
	switch {
	case len(alone) > 0 && s.chance(0.2):
		c = pick(s, alone)
		s.wantFail("self_referral", func() error { return update(c.code) })
	case c.referrer != nil && s.chance(0.5):
		other := s.customer()
		if other == c.referrer || other == c {
			s.wantFail("already_referred", func() error { return update("NOSUCHCODE9") })
			return
		}
		s.wantFail("already_referred", func() error { return update(other.code) })
	case len(alone) > 0:
		c = pick(s, alone)
		r := s.customer()
		if r == c {
			s.wantFail("unknown_referral_code", func() error { return update("NOSUCHCODE9") })
			return
		}
		c.paidBeforeReferral = len(c.txns) > 0
		s.must(update(r.code), "refer later")
		s.touch(c, "")
		s.referred(c, r)
	default:
		s.wantFail("already_referred", func() error { return update("NOSUCHCODE9") })
	}
}

// ---------------------------------------------------------------------------
// Rules.

func (s *sim) randomRule() (d ruleDef, defaultCurrency bool) {
	d.Trigger = pick(s, []string{rewards.Signup, rewards.Purchase, rewards.Purchase, rewards.Subscription, rewards.Subscription, rewards.Milestone})
	d.Recurrence = rewards.First
	if d.Trigger != rewards.Signup && d.Trigger != rewards.Milestone && s.chance(0.5) {
		d.Recurrence = rewards.Every
	}
	return s.randomDef(d.Trigger, d.Recurrence)
}

// randomDef makes a valid rule for trigger and recurrence.
func (s *sim) randomDef(trigger, recurrence string) (d ruleDef, defaultCurrency bool) {
	d = ruleDef{Trigger: trigger, Recurrence: recurrence, Active: true}
	d.Recipient = rewards.Referrer
	milestone := trigger == rewards.Milestone
	if !milestone && s.chance(0.35) {
		d.Recipient = rewards.Friend
	}
	d.RewardType = pick(s, []string{rewards.Credit, rewards.Credit, rewards.Cash, rewards.Discount})
	d.Unit = rewards.Fixed
	// A percent-off code needs no amount: the friend's "20 % off" at signup.
	amountless := trigger == rewards.Signup || milestone
	if (!amountless || d.RewardType == rewards.Discount) && s.chance(0.45) {
		d.Unit = rewards.Percentage
	}
	if d.Unit == rewards.Fixed {
		d.Currency = s.currency()
		d.Amount = 100 + s.rng.Int64N(4900)
		defaultCurrency = d.Currency == "USD" && s.chance(0.5)
	} else {
		d.Amount = pick(s, []int64{500, 1000, 1250, 2000, 3333, 10000, 1 + s.rng.Int64N(10000)})
	}
	if recurrence == rewards.Every {
		if s.chance(0.5) {
			d.MaxCount = 1 + s.rng.IntN(4)
		}
		if s.chance(0.4) {
			d.MaxMonths = 1 + s.rng.IntN(6)
		}
	}
	capCurrency := d.Currency // the minimum's and the amount cap's
	if d.Unit == rewards.Percentage {
		capCurrency = s.p.Currency
	}
	if !amountless && s.chance(0.3) {
		d.MinCurrency = capCurrency
		d.MinAmount = 500 + s.rng.Int64N(20_000)
	}
	if s.chance(0.5) {
		d.HoldingDays = 1 + s.rng.IntN(30)
	}
	if milestone {
		// Small, so that referrers reach them (and fall back below).
		d.Milestone = 1 + s.rng.IntN(4)
	} else {
		s.randomOffers(&d, capCurrency)
	}
	if d.RewardType == rewards.Discount && s.chance(0.5) {
		d.ExpiresDays = 1 + s.rng.IntN(60)
	}
	if d.RewardType == rewards.Cash && s.chance(0.3) {
		d.PayoutMethod = pick(s, []string{"paypal", "wise"})
	}
	if s.chance(0.3) {
		approval := s.chance(0.5)
		d.Approval = &approval
	}
	return d, defaultCurrency
}

// randomOffers gives a purchase, subscription or signup rule some of
// issue 16's offers: tiers, currency options, a skip count, and caps per
// referrer by count or value, for ever or per month or year.
func (s *sim) randomOffers(d *ruleDef, capCurrency string) {
	if d.Recurrence == rewards.Every && s.chance(0.25) {
		d.SkipCount = 1 + s.rng.IntN(3)
	}
	if d.Recipient == rewards.Referrer && s.chance(0.2) {
		from := 0
		for i := range 1 + s.rng.IntN(3) {
			from += 1 + s.rng.IntN(2)
			d.Tiers[i] = rewards.Tier{MinReferrals: from, Amount: d.Amount}
			if i > 0 {
				d.Tiers[i].Amount = d.Tiers[i-1].Amount + 1 + s.rng.Int64N(2000)
				if d.Unit == rewards.Percentage {
					d.Tiers[i].Amount = min(d.Tiers[i].Amount, 10000)
				}
			}
		}
	}
	capped := d.RewardType != rewards.Discount || d.Unit == rewards.Fixed // a percent-off code has no value to cap
	if capped && s.chance(0.2) {
		d.MaxAmount, d.MaxCurrency = 200+s.rng.Int64N(10_000), capCurrency
	}
	if d.Unit == rewards.Fixed && d.Trigger != rewards.Signup && d.Tiers[0].MinReferrals == 0 && s.chance(0.35) {
		for i, cur := range simCurrencies {
			if cur == d.Currency || s.chance(0.3) {
				continue
			}
			o := rewards.CurrencyOption{Amount: 100 + s.rng.Int64N(4900)}
			if s.chance(0.4) {
				o.MinAmount = 500 + s.rng.Int64N(20_000)
			}
			if d.MaxAmount > 0 {
				o.MaxAmountPerReferrer = 200 + s.rng.Int64N(10_000)
			}
			d.Options[i] = o
		}
	}
	if s.chance(0.25) {
		d.MaxPerReferrer = 1 + s.rng.IntN(5)
	}
	if (d.MaxPerReferrer > 0 || d.MaxAmount > 0) && s.chance(0.6) {
		d.Period = pick(s, []string{rewards.Month, rewards.Year})
	}
}

func (s *sim) opRuleCreate() {
	if s.liveRules() >= 10 {
		s.opRuleDelete()
		return
	}
	d, defCur := s.randomRule()
	base := rewards.NewRule()
	base.ProgramID = s.p.ID
	r, err := rewards.Apply(base, d.input(false, defCur), s.p.Currency)
	s.must(err, fmt.Sprintf("apply rule %+v", d))
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.CreateRule(s.ctx, &r) }), "create rule")
	s.checkRule(&r, d)
	s.m.rules = append(s.m.rules, &mRule{id: r.ID, def: d})
}

// opRuleInvalid sends a rule that issue 4's "bad input" forbids; Apply must
// name the field, and nothing is stored (no store call is made).
func (s *sim) opRuleInvalid() {
	d, _ := s.randomDef(rewards.Purchase, rewards.First)
	in := d.input(false, false)
	var field string
	switch s.rng.IntN(10) {
	case 6: // skip_count on a rule given once
		n := 2
		in.SkipCount, field = &n, "skip_count"
	case 7: // a period that caps nothing
		period, none := rewards.Month, 0
		in.MaxRewardsPeriod, in.MaxRewardsPerReferrer, field = rewards.Optional[string]{Set: true, Value: &period}, &none, "max_rewards_period"
		in.MaxAmountPerReferrer = rewards.Optional[money.Number]{Set: true}
	case 8: // tiers and an amount
		one, n := 1, money.Number("5")
		in.Amount = &n
		in.Tiers, field = rewards.Optional[[]rewards.TierInput]{Set: true, Value: &[]rewards.TierInput{{MinReferrals: &one, Amount: &n}}}, "amount"
	case 9: // a milestone for the friend
		trigger, recipient, n := rewards.Milestone, rewards.Friend, 3
		in.Trigger, in.Recipient, in.MilestoneReferrals, in.MinAmount, field = &trigger, &recipient, &n, nil, "recipient"
	case 0:
		trigger, unit, typ := rewards.Signup, rewards.Percentage, pick(s, []string{rewards.Credit, rewards.Cash})
		in.Trigger, in.Unit, in.Currency, in.MinAmount, in.RewardType = &trigger, &unit, nil, nil, &typ
		n := money.Number("10")
		in.Amount, field = &n, "unit"
	case 1:
		unit, n := rewards.Percentage, money.Number("100.01")
		in.Unit, in.Currency, in.Amount, in.MinAmount, field = &unit, nil, &n, nil, "amount"
	case 2:
		typ, method := rewards.Discount, "paypal"
		in.RewardType, in.PayoutMethod, field = &typ, &method, "payout_method"
	case 3:
		unit, cur, n := rewards.Fixed, "JPY", money.Number("10.5")
		in.Unit, in.Currency, in.Amount, in.MinAmount, field = &unit, &cur, &n, nil, "amount"
	case 4:
		n := money.Number("-5")
		in.Amount, field = &n, "amount"
	default:
		count := 3
		in.MaxCount, field = &count, "recurrence"
	}
	base := rewards.NewRule()
	base.ProgramID = s.p.ID
	_, err := rewards.Apply(base, in, s.p.Currency)
	e, ok := referral.AsError(err)
	if !ok || e.Fields[field] == "" {
		s.fatalf("invalid rule: got %v, want a problem with %s", err, field)
	}
}

func (s *sim) liveRule() *mRule {
	var live []*mRule
	for _, r := range s.m.rules {
		if !r.deleted {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return pick(s, live)
}

func (s *sim) opRuleUpdate() {
	r := s.liveRule()
	if r == nil {
		s.opRuleCreate()
		return
	}
	d := r.def
	var in rewards.RuleInput
	switch s.rng.IntN(4) {
	case 0:
		d.Active = !d.Active
		in.Active = &d.Active
	case 1:
		if len(d.tiers()) > 0 {
			d.Active = !d.Active
			in.Active = &d.Active
			break
		}
		if d.Unit == rewards.Percentage {
			d.Amount = 1 + s.rng.Int64N(10000)
		} else {
			d.Amount = 1 + s.rng.Int64N(5000)
		}
		n := money.Number(d.amountNumber())
		in.Amount = &n
	case 2:
		d.HoldingDays = s.rng.IntN(10)
		in.HoldingDays = &d.HoldingDays
	default: // replace everything but what the rule is about
		d, _ = s.randomDef(r.def.Trigger, r.def.Recurrence)
		d.Active = r.def.Active || s.chance(0.5)
		in = d.input(true, false)
	}
	old, err := s.db.Rule(s.ctx, s.p.ID, r.id)
	s.must(err, "get rule")
	built, err := rewards.Apply(*old, in, s.p.Currency)
	s.must(err, fmt.Sprintf("apply update %+v", d))
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.UpdateRule(s.ctx, &built) }), "update rule")
	s.checkRule(&built, d)
	r.def = d
}

func (s *sim) opRuleDelete() {
	var gone []*mRule
	for _, r := range s.m.rules {
		if r.deleted {
			gone = append(gone, r)
		}
	}
	if len(gone) > 0 && s.chance(0.2) {
		r := pick(s, gone)
		if s.chance(0.5) {
			s.wantFail("reward_rule_not_found", func() error {
				return s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.DeleteRule(s.ctx, s.p.ID, r.id) })
			})
			return
		}
		rule := rewards.Rule{ID: r.id, ProgramID: s.p.ID, Trigger: r.def.Trigger, Recipient: r.def.Recipient, RewardType: r.def.RewardType,
			Unit: r.def.Unit, Amount: r.def.Amount, Currency: r.def.Currency, Recurrence: r.def.Recurrence, Active: true}
		s.wantFail("reward_rule_not_found", func() error { return s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.UpdateRule(s.ctx, &rule) }) })
		return
	}
	r := s.liveRule()
	if r == nil {
		s.opRuleCreate()
		return
	}
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.DeleteRule(s.ctx, s.p.ID, r.id) }), "delete rule")
	if _, err := s.db.Rule(s.ctx, s.p.ID, r.id); !errors.Is(err, store.ErrRuleNotFound) {
		s.fatalf("deleted rule reads as %v", err)
	}
	r.deleted = true
}

func (s *sim) opApprovalToggle() {
	p := *s.p
	p.RequireApproval = !p.RequireApproval
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.UpdateProgram(s.ctx, &p) }), "update program")
	var err error
	s.p, err = s.db.Program(s.ctx, s.p.ID) // as the API's auth does on every request
	s.must(err, "get program")
	if s.p.RequireApproval != p.RequireApproval {
		s.fatalf("require_approval is %v after setting %v", s.p.RequireApproval, p.RequireApproval)
	}
	s.m.approval = s.p.RequireApproval
}
