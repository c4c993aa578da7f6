package rewards

import (
	"time"

	"github.com/advocate-oss/advocate/internal/money"
)

// Event is something a referred friend did that may fire rules.
type Event struct {
	Trigger    string
	Amount     int64  // transaction amount, minor units (0 for signup)
	Currency   string // transaction currency ("" for signup)
	OccurredAt time.Time
	// FirstAt is when the friend's first transaction of this type
	// happened (OccurredAt itself for the first); max_months counts from it.
	FirstAt time.Time
	// Repeat says the friend had paid this way before (a transaction of
	// the same type recorded earlier, whether or not they were referred
	// then): a rule given "first" is for the friend's first payment ever.
	Repeat bool
	// Prior is how many payments of this type the friend made before
	// this one (read for rules with a skip_count).
	Prior int
	// Successful is the referrer's successful referrals once this event
	// is counted (read for tiered and milestone rules).
	Successful int
}

// History is what was already given under a rule; rewards that were
// reversed or rejected do not count.
type History struct {
	ForFriend   int // rewards of this rule for this friend's actions
	ForReferrer int // rewards of this rule through this referrer's friends (within the cap's period)
	// AmountForReferrer is the value of those rewards by currency, net of
	// what was clawed back (read for rules with an amount cap).
	AmountForReferrer map[string]int64
}

// Grant is a reward a rule gives for an event.
type Grant struct {
	Amount   int64  // minor units of Currency, or basis points for a percent-off discount
	Currency string // "" for a percent-off discount
	Unit     string
}

// CountsHistory reports whether Fire looks at the History: a rule given
// every time without a cap never does, and its store need not count.
func (r *Rule) CountsHistory() bool {
	return r.Recurrence == First || r.MaxCount > 0 || r.CountsReferrer()
}

// CountsReferrer reports whether Fire looks at what the rule gave through
// the referrer: for a cap, or for a milestone, given once.
func (r *Rule) CountsReferrer() bool {
	return r.MaxRewardsPerReferrer > 0 || r.Trigger == Milestone || r.amountCapped()
}

// CountsWithinPeriod reports whether the referrer's history is counted in
// the current calendar period, or with amounts: the store then counts
// rewards instead of reading the kept lifetime count.
func (r *Rule) CountsWithinPeriod() bool {
	return r.MaxRewardsPeriod != "" || r.amountCapped()
}

func (r *Rule) amountCapped() bool {
	if r.MaxAmountPerReferrer > 0 {
		return true
	}
	for _, o := range r.CurrencyOptions {
		if o.MaxAmountPerReferrer > 0 {
			return true
		}
	}
	return false
}

// PeriodStart is when the calendar period of the rule's referrer caps
// that holds now began (UTC); the zero time for a lifetime cap.
func (r *Rule) PeriodStart(now time.Time) time.Time {
	now = now.UTC()
	switch r.MaxRewardsPeriod {
	case Month:
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	case Year:
		return time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// NeedsSuccessful reports whether Fire reads the referrer's successful
// referrals.
func (r *Rule) NeedsSuccessful() bool {
	return len(r.Tiers) > 0 || r.Trigger == Milestone
}

// Qualifies says whether ev is what the rule rewards referrers for: its
// trigger, at its minimum. Caps and recurrence do not matter: a referral
// is successful once the friend did what the program rewards, whether or
// not a cap stopped the reward.
func (r *Rule) Qualifies(ev Event) bool {
	return r.Active && r.Recipient == Referrer && r.Trigger == ev.Trigger && r.belowMinimum(ev) == ""
}

// option is the fixed rule's currency option for a payment in currency.
func (r *Rule) option(currency string) (CurrencyOption, bool) {
	opt, ok := r.CurrencyOptions[currency]
	return opt, ok && r.Unit == Fixed
}

// belowMinimum says why ev is below the rule's minimum payment, or "": a
// currency option's own minimum in its currency, else the rule's.
func (r *Rule) belowMinimum(ev Event) string {
	if opt, ok := r.option(ev.Currency); ok {
		if ev.Amount < opt.MinAmount {
			return "below the currency option's min_amount"
		}
		return ""
	}
	// Amounts in different currencies are never compared: nothing is
	// converted silently, so the minimum is not met.
	if r.MinAmount > 0 && (ev.Currency != r.MinAmountCurrency || ev.Amount < r.MinAmount) {
		return "below min_amount"
	}
	return ""
}

// tierAmount is the amount of a tiered rule for a referrer with n
// successful referrals; false below the first tier.
func (r *Rule) tierAmount(n int) (int64, bool) {
	amount, ok := int64(0), false
	for _, t := range r.Tiers {
		if n >= t.MinReferrals {
			amount, ok = t.Amount, true
		}
	}
	return amount, ok
}

// Fire decides whether rule r gives a reward for ev, and how much. The
// reason says why not, for logs and tests.
func (r *Rule) Fire(ev Event, h History) (g Grant, ok bool, reason string) {
	switch {
	case !r.Active:
		return g, false, "rule inactive"
	case r.Trigger != ev.Trigger:
		return g, false, "other trigger"
	case r.Trigger == Milestone && ev.Successful < r.MilestoneReferrals:
		return g, false, "milestone not reached"
	case r.Trigger == Milestone && h.ForReferrer > 0:
		return g, false, "milestone already rewarded"
	case r.Trigger == Milestone:
		if r.Unit == Percentage {
			return Grant{Amount: r.Amount, Unit: Percentage}, true, ""
		}
		return Grant{Amount: r.Amount, Currency: r.Currency, Unit: Fixed}, true, ""
	case r.SkipCount > 0 && ev.Prior < r.SkipCount:
		return g, false, "within skip_count"
	case r.Recurrence == First && h.ForFriend > 0:
		return g, false, "already rewarded for this friend"
	case r.Recurrence == First && ev.Repeat:
		return g, false, "not the friend's first payment"
	case r.Recurrence == Every && r.MaxCount > 0 && h.ForFriend >= r.MaxCount:
		return g, false, "max_count reached"
	case r.MaxRewardsPerReferrer > 0 && h.ForReferrer >= r.MaxRewardsPerReferrer:
		return g, false, "max_rewards_per_referrer reached"
	case r.Recurrence == Every && r.MaxMonths > 0 && !ev.OccurredAt.Before(ev.FirstAt.AddDate(0, r.MaxMonths, 0)):
		return g, false, "max_months passed"
	}
	opt, inOption := r.option(ev.Currency)
	if reason := r.belowMinimum(ev); reason != "" {
		return g, false, reason
	}
	amount := r.Amount
	if len(r.Tiers) > 0 {
		var ok bool
		if amount, ok = r.tierAmount(ev.Successful); !ok {
			return g, false, "below the first tier"
		}
	}
	switch {
	case inOption:
		g = Grant{Amount: opt.Amount, Currency: ev.Currency, Unit: Fixed}
	case r.Unit == Fixed:
		g = Grant{Amount: amount, Currency: r.Currency, Unit: Fixed}
	case r.RewardType == Discount: // percent off
		g = Grant{Amount: amount, Unit: Percentage}
	default: // a percentage of the transaction, in its currency
		g = Grant{Amount: money.Percent(ev.Amount, amount), Currency: ev.Currency, Unit: Percentage}
		if g.Amount <= 0 {
			return g, false, "percentage rounds to zero"
		}
	}
	if r.amountCapped() {
		limit := r.MaxAmountPerReferrer
		if inOption {
			limit = opt.MaxAmountPerReferrer
		} else if g.Currency != r.MaxAmountCurrency {
			// A cap in one currency says nothing of another: nothing is
			// converted, so a reward the cap cannot bound is not given.
			limit = 0
		}
		if limit == 0 {
			return Grant{}, false, "max_amount_per_referrer is in another currency"
		}
		left := limit - h.AmountForReferrer[g.Currency]
		if left <= 0 {
			return Grant{}, false, "max_amount_per_referrer reached"
		}
		// The last reward under the cap is cut to what is left.
		g.Amount = min(g.Amount, left)
	}
	return g, true, ""
}

// AvailableAt is when a reward made at now leaves its holding period.
func (r *Rule) AvailableAt(now time.Time) time.Time {
	return now.AddDate(0, 0, r.HoldingDays)
}

// ClawbackTarget is how much of a reward should stand reversed once
// refunded of a transaction of total has been refunded. Percentage
// rewards shrink in proportion; fixed rewards stand until the whole
// transaction is refunded.
func ClawbackTarget(rewardAmount int64, unit, rewardType string, refunded, total int64) int64 {
	if refunded >= total {
		return rewardAmount
	}
	if unit == Percentage && rewardType != Discount {
		return money.Prorate(rewardAmount, refunded, total)
	}
	return 0
}
