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
}

// History is what was already given under a rule; rewards that were
// reversed or rejected do not count.
type History struct {
	ForFriend   int // rewards of this rule for this friend's actions
	ForReferrer int // rewards of this rule through this referrer's friends
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
	return r.Recurrence == First || r.MaxCount > 0 || r.MaxRewardsPerReferrer > 0
}

// Fire decides whether rule r gives a reward for ev, and how much. The
// reason says why not, for logs and tests.
func (r *Rule) Fire(ev Event, h History) (g Grant, ok bool, reason string) {
	switch {
	case !r.Active:
		return g, false, "rule inactive"
	case r.Trigger != ev.Trigger:
		return g, false, "other trigger"
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
	opt, inOption := r.CurrencyOptions[ev.Currency]
	inOption = inOption && r.Unit == Fixed
	switch {
	case inOption:
		// The option's own minimum, in the payment's currency.
		if ev.Amount < opt.MinAmount {
			return g, false, "below the currency option's min_amount"
		}
	case r.MinAmount > 0:
		// Amounts in different currencies are never compared: nothing is
		// converted silently, so the minimum is not met.
		if ev.Currency != r.MinAmountCurrency || ev.Amount < r.MinAmount {
			return g, false, "below min_amount"
		}
	}
	switch {
	case inOption:
		g = Grant{Amount: opt.Amount, Currency: ev.Currency, Unit: Fixed}
	case r.Unit == Fixed:
		g = Grant{Amount: r.Amount, Currency: r.Currency, Unit: Fixed}
	case r.RewardType == Discount: // percent off
		g = Grant{Amount: r.Amount, Unit: Percentage}
	default: // a percentage of the transaction, in its currency
		g = Grant{Amount: money.Percent(ev.Amount, r.Amount), Currency: ev.Currency, Unit: Percentage}
		if g.Amount <= 0 {
			return g, false, "percentage rounds to zero"
		}
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
