// Package rewards decides who is rewarded for what: reward rules, the
// triggers that fire them, the amounts they give, holding periods and how
// refunds claw rewards back. It is pure logic; the store applies it inside
// database transactions.
package rewards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
)

// Triggers, recipients, reward types, units and recurrences.
const (
	Signup       = "signup"
	Purchase     = "purchase"
	Subscription = "subscription"
	// Milestone rules reward a referrer once their successful referrals
	// reach MilestoneReferrals.
	Milestone = "milestone"

	Referrer = "referrer"
	Friend   = "friend"

	Credit   = "credit"
	Discount = "discount"
	Cash     = "cash"

	Fixed      = "fixed"
	Percentage = "percentage"

	First = "first"
	Every = "every"

	// Periods of a referrer cap; "" is for ever.
	Month = "month"
	Year  = "year"
)

// Reward statuses.
const (
	Pending   = "pending"
	Available = "available"
	Paid      = "paid"
	Reversed  = "reversed"
	Rejected  = "rejected"
)

// Rule says when a reward is given, to whom and how much.
type Rule struct {
	ID                string
	ProgramID         string
	Name              string
	Trigger           string
	Recipient         string
	RewardType        string
	Unit              string
	Amount            int64  // minor units of Currency (fixed), or basis points (percentage)
	Currency          string // fixed rules only
	Recurrence        string
	MaxCount          int // with Every: most rewards per friend (0: no limit)
	MaxMonths         int // with Every: only within this many months of the friend's first transaction
	MinAmount         int64
	MinAmountCurrency string
	// CurrencyOptions are a fixed rule's amounts in other currencies, as
	// Stripe coupons have them: a payment in one of these currencies is
	// rewarded with its amount, in that currency, and meets the option's
	// own minimum. One rule serves a multi-currency store, instead of a
	// rule per currency that would each pay on every payment.
	CurrencyOptions       map[string]CurrencyOption
	HoldingDays           int
	MaxRewardsPerReferrer int // 0: no limit
	// MaxRewardsPeriod is the calendar period (UTC) the referrer caps
	// count within: Month, Year or "" (for ever).
	MaxRewardsPeriod string
	// MaxAmountPerReferrer caps the value of the rule's rewards through one
	// referrer within the period, in MaxAmountCurrency (0: no cap); the
	// last reward under it is cut to what is left.
	MaxAmountPerReferrer int64
	MaxAmountCurrency    string
	// MilestoneReferrals is a milestone rule's number of successful
	// referrals.
	MilestoneReferrals int
	// Tiers, ascending, set the amount by the referrer's successful
	// referrals at the time of the event; Amount is then the first tier's.
	Tiers []Tier
	// SkipCount starts a recurring rule after the friend's first SkipCount
	// payments of its type.
	SkipCount           int
	DiscountExpiresDays int // discount codes expire this many days after issue (0: never)
	PayoutMethod        string
	// RequireApproval holds every reward of the rule for a person's
	// approval (true) or never (false); nil follows the program's
	// require_approval. So a program that reviews referrer rewards can
	// still give the friend's welcome code at once.
	RequireApproval *bool
	Active          bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// RuleInput is a rule as a client sends it. Pointers tell absent fields
// (which take defaults, or keep their value on update) from given ones.
type RuleInput struct {
	Name       *string       `json:"name"`
	Trigger    *string       `json:"trigger"`
	Recipient  *string       `json:"recipient"`
	RewardType *string       `json:"reward_type"`
	Amount     *money.Number `json:"amount"`
	Unit       *string       `json:"unit"`
	Currency   *string       `json:"currency"`
	Recurrence *string       `json:"recurrence"`
	MaxCount   *int          `json:"max_count"`
	MaxMonths  *int          `json:"max_months"`
	MinAmount  *money.Number `json:"min_amount"`
	// CurrencyOptions replaces the rule's options when given; null or {}
	// removes them.
	CurrencyOptions       CurrencyOptionsInput   `json:"currency_options"`
	HoldingDays           *int                   `json:"holding_days"`
	MaxRewardsPerReferrer *int                   `json:"max_rewards_per_referrer"`
	MaxRewardsPeriod      Optional[string]       `json:"max_rewards_period"`
	MaxAmountPerReferrer  Optional[money.Number] `json:"max_amount_per_referrer"`
	MilestoneReferrals    *int                   `json:"milestone_referrals"`
	// Tiers replaces the rule's tiers when given; null or [] removes them.
	Tiers           Optional[[]TierInput] `json:"tiers"`
	SkipCount       *int                  `json:"skip_count"`
	ExpiresInDays   *int                  `json:"expires_in_days"`
	PayoutMethod    *string               `json:"payout_method"`
	RequireApproval OptionalBool          `json:"require_approval"`
	Active          *bool                 `json:"active"`
}

// CurrencyOption is a fixed rule's amount, and optional minimum payment
// and cap per referrer, in one more currency (minor units of it).
type CurrencyOption struct {
	Amount               int64
	MinAmount            int64
	MaxAmountPerReferrer int64
}

// CurrencyOptionInput is a currency option as a client sends it, in major
// units of its currency.
type CurrencyOptionInput struct {
	Amount               *money.Number `json:"amount"`
	MinAmount            *money.Number `json:"min_amount"`
	MaxAmountPerReferrer *money.Number `json:"max_amount_per_referrer"`
}

// Tier is one step of a tiered rule: from MinReferrals successful
// referrals on, the rule gives Amount (minor units of the rule's currency,
// or basis points).
type Tier struct {
	MinReferrals int   `json:"min_referrals"`
	Amount       int64 `json:"amount"`
}

// TierInput is a tier as a client sends it, its amount in major units or
// percent.
type TierInput struct {
	MinReferrals *int          `json:"min_referrals"`
	Amount       *money.Number `json:"amount"`
}

// Optional is a field that may be absent (Set false), null (Set, Value
// nil: back to the default) or a value.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON reads null or a T, as strictly as the body around it.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set, o.Value = true, nil
	if string(b) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var v T
	if err := dec.Decode(&v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// CurrencyOptionsInput is the currency_options field: absent (Set false),
// null or an object.
type CurrencyOptionsInput struct {
	Set     bool
	Options map[string]CurrencyOptionInput
}

// UnmarshalJSON reads null or an object of options.
func (o *CurrencyOptionsInput) UnmarshalJSON(b []byte) error {
	o.Set, o.Options = true, nil
	if string(b) == "null" {
		return nil
	}
	// As strict as the body around it: an unknown field is refused.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&o.Options)
}

// maxCurrencyOptions bounds a rule's currency options: more currencies than
// a store sells in is a mistake.
const maxCurrencyOptions = 50

// applyCurrencyOptions reads given options into r, naming each bad one as
// currency_options.<CODE>.amount or .min_amount.
func applyCurrencyOptions(r *Rule, given map[string]CurrencyOptionInput, v *referral.Validation) {
	r.CurrencyOptions = nil
	if len(given) > maxCurrencyOptions {
		v.Add("currency_options", fmt.Sprintf("At most %d currency options.", maxCurrencyOptions))
		return
	}
	for code, in := range given {
		cur := referral.NormalizeCurrency(code)
		field := "currency_options." + code
		if referral.ValidCurrency(cur) != nil {
			v.Add(field, "Currency options are keyed by ISO 4217 codes such as EUR.")
			continue
		}
		if cur == r.Currency {
			v.Add(field, "The rule's own currency takes amount and min_amount, not an option.")
			continue
		}
		if _, dup := r.CurrencyOptions[cur]; dup {
			v.Add(field, "Each currency may have one option.")
			continue
		}
		var opt CurrencyOption
		if in.Amount == nil {
			v.Add(field+".amount", "Amount is required and must be more than 0.")
			continue
		}
		amount, err := money.ParseAmount(json.Number(*in.Amount), cur)
		if code, msg := amountProblem(amount, err, cur); msg != "" {
			v.AddCode(field+".amount", code, msg)
			continue
		}
		opt.Amount = amount
		if in.MinAmount != nil {
			min, err := money.ParseAmount(json.Number(*in.MinAmount), cur)
			if code, msg := amountProblem(min, err, cur); msg != "" && !(err == nil && min == 0) {
				v.AddCode(field+".min_amount", code, msg)
				continue
			}
			opt.MinAmount = min
		}
		if in.MaxAmountPerReferrer != nil {
			max, err := money.ParseAmount(json.Number(*in.MaxAmountPerReferrer), cur)
			if code, msg := amountProblem(max, err, cur); msg != "" && !(err == nil && max == 0) {
				v.AddCode(field+".max_amount_per_referrer", code, msg)
				continue
			}
			opt.MaxAmountPerReferrer = max
		}
		if r.CurrencyOptions == nil {
			r.CurrencyOptions = map[string]CurrencyOption{}
		}
		r.CurrencyOptions[cur] = opt
	}
}

// OptionalBool is a field that may be absent (Set false), null (Set, Value
// nil: back to the default) or true or false.
type OptionalBool struct {
	Set   bool
	Value *bool
}

// UnmarshalJSON reads null, true or false; anything else is a
// *json.UnmarshalTypeError, which encoding/json completes with the field.
func (o *OptionalBool) UnmarshalJSON(b []byte) error {
	o.Set, o.Value = true, nil
	switch string(b) {
	case "null":
		return nil
	case "true", "false":
		v := string(b) == "true"
		o.Value = &v
		return nil
	}
	return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[bool]()}
}

// NeedsApproval says whether the rule's rewards wait for a person, given
// the program's setting.
func (r *Rule) NeedsApproval(program bool) bool {
	if r.RequireApproval != nil {
		return *r.RequireApproval
	}
	return program
}

// Apply builds a rule from in over base (a new rule's defaults, or the
// stored rule on update) and validates the result, naming every bad field.
//
// Defaults, so that the seed's three reward objects are accepted as they
// are: trigger purchase, recipient referrer, unit fixed (percentage when no
// currency is given and the unit says so), currency the program's,
// recurrence first, holding 0 days, active.
func Apply(base Rule, in RuleInput, programCurrency string) (Rule, error) {
	r := base
	var v referral.Validation
	setStr(&r.Name, in.Name)
	setStr(&r.Trigger, in.Trigger)
	setStr(&r.Recipient, in.Recipient)
	setStr(&r.RewardType, in.RewardType)
	setStr(&r.Unit, in.Unit)
	setStr(&r.Recurrence, in.Recurrence)
	setStr(&r.PayoutMethod, in.PayoutMethod)
	setInt(&r.MaxCount, in.MaxCount)
	setInt(&r.MaxMonths, in.MaxMonths)
	setInt(&r.HoldingDays, in.HoldingDays)
	setInt(&r.MaxRewardsPerReferrer, in.MaxRewardsPerReferrer)
	setInt(&r.DiscountExpiresDays, in.ExpiresInDays)
	setInt(&r.MilestoneReferrals, in.MilestoneReferrals)
	setInt(&r.SkipCount, in.SkipCount)
	if in.MaxRewardsPeriod.Set {
		r.MaxRewardsPeriod = ""
		if in.MaxRewardsPeriod.Value != nil {
			r.MaxRewardsPeriod = *in.MaxRewardsPeriod.Value
		}
	}
	if in.Active != nil {
		r.Active = *in.Active
	}
	if in.RequireApproval.Set {
		r.RequireApproval = in.RequireApproval.Value
	}
	if in.Currency != nil {
		r.Currency = referral.NormalizeCurrency(*in.Currency)
	} else if in.Unit != nil && *in.Unit == Percentage {
		// A fixed rule turned percentage drops its currency: a percentage
		// is paid in the transaction's.
		r.Currency = ""
	}
	if r.Unit == "" {
		r.Unit = Fixed
	}
	if r.Unit == Fixed && r.Currency == "" {
		r.Currency = programCurrency
	}
	if len(r.Name) > 100 {
		v.Add("name", "Name must be at most 100 characters.")
	}
	if !oneOf(r.Trigger, Signup, Purchase, Subscription, Milestone) {
		v.Add("trigger", "Trigger must be signup, purchase, subscription or milestone.")
	}
	if !oneOf(r.Recipient, Referrer, Friend) {
		v.Add("recipient", "Recipient must be referrer or friend.")
	}
	if !oneOf(r.RewardType, Credit, Discount, Cash) {
		v.Add("reward_type", "Reward type must be credit, discount or cash.")
	}
	if !oneOf(r.Recurrence, First, Every) {
		v.Add("recurrence", "Recurrence must be first or every.")
	}
	switch r.Unit {
	case Fixed:
		if err := referral.ValidCurrency(r.Currency); err != nil {
			e, _ := referral.AsError(err)
			v.Add("currency", e.Message)
		} else if in.Amount != nil {
			amount, err := money.ParseAmount(json.Number(*in.Amount), r.Currency)
			if code, msg := amountProblem(amount, err, r.Currency); msg != "" {
				v.AddCode("amount", code, msg)
			} else {
				r.Amount = amount
			}
		}
	case Percentage:
		if r.Currency != "" {
			v.Add("currency", "A percentage reward takes the currency of the transaction; leave currency out.")
		}
		// A percent-off code needs no amount to take a share of; credit
		// and cash do, and a signup has none.
		if (r.Trigger == Signup || r.Trigger == Milestone) && r.RewardType != Discount {
			v.Add("unit", "A "+r.Trigger+" has no amount to take a percentage of; use a fixed amount, or a percent-off discount.")
		}
		if in.Amount != nil {
			bp, err := money.ParsePercent(json.Number(*in.Amount))
			switch {
			case errors.Is(err, money.ErrTooPrecise):
				v.Add("amount", "A percentage may have at most 2 decimals.")
			case err != nil || bp <= 0:
				v.Add("amount", "A percentage must be more than 0 and at most 100.")
			default:
				r.Amount = bp
			}
		}
	default:
		v.Add("unit", "Unit must be fixed or percentage.")
	}
	applyTiers(&r, base, in, &v)
	if r.Amount <= 0 {
		v.Add("amount", "Amount is required and must be more than 0.")
	}
	if in.CurrencyOptions.Set {
		applyCurrencyOptions(&r, in.CurrencyOptions.Options, &v)
	}
	if len(r.CurrencyOptions) > 0 {
		switch {
		case r.Unit != Fixed:
			v.Add("currency_options", "Currency options are amounts in other currencies; a percentage is paid in the payment's currency already.")
		case r.CurrencyOptions[r.Currency] != (CurrencyOption{}):
			v.Add("currency_options", "The rule's own currency takes amount and min_amount, not an option.")
		case r.Trigger == Signup || r.Trigger == Milestone:
			v.Add("currency_options", "A "+r.Trigger+" has no currency; currency options apply to purchases and subscriptions.")
		case len(r.Tiers) > 0:
			v.Add("currency_options", "Tiers are amounts in the rule's currency; a tiered rule has no currency options.")
		}
	}
	// The stored amount means minor units of one currency or basis points:
	// changing what it means needs a new amount.
	if base.ID != "" && in.Amount == nil && !in.Tiers.Set && (r.Unit != base.Unit || r.Currency != base.Currency) {
		v.Add("amount", "Give the amount again when changing unit or currency.")
	}
	if r.Recurrence == First && (r.MaxCount != 0 || r.MaxMonths != 0) {
		v.Add("recurrence", "max_count and max_months apply only to recurrence every.")
	}
	if r.MaxCount < 0 || r.MaxCount > 1000 {
		v.Add("max_count", "max_count must be 1 to 1000.")
	}
	if r.MaxMonths < 0 || r.MaxMonths > 120 {
		v.Add("max_months", "max_months must be 1 to 120.")
	}
	if r.Trigger == Signup && r.Recurrence == Every {
		v.Add("recurrence", "A friend signs up once; signup rules fire once.")
	}
	if r.Trigger == Milestone && r.Recurrence == Every {
		v.Add("recurrence", "A milestone is reached once; milestone rules fire once per referrer.")
	}
	// The minimum is in the rule's currency (the program's for a
	// percentage rule): a transaction in another never meets it.
	minCurrency := r.Currency
	if minCurrency == "" {
		minCurrency = programCurrency
	}
	if in.MinAmount != nil {
		r.MinAmountCurrency = minCurrency
		min, err := money.ParseAmount(json.Number(*in.MinAmount), r.MinAmountCurrency)
		if code, msg := amountProblem(min, err, r.MinAmountCurrency); msg != "" && !(err == nil && min == 0) {
			v.AddCode("min_amount", code, msg)
		} else {
			r.MinAmount = min
		}
	} else if r.MinAmount > 0 && r.MinAmountCurrency != minCurrency {
		v.Add("min_amount", "Give min_amount again (or 0) when changing the rule's currency.")
	}
	// Checked on the resulting rule, so that an update cannot make a
	// signup rule with a minimum that no signup could ever meet.
	if (r.Trigger == Signup || r.Trigger == Milestone) && r.MinAmount > 0 {
		v.Add("min_amount", "A "+r.Trigger+" has no amount; min_amount applies to purchases and subscriptions.")
	}
	applyOffers(&r, in, minCurrency, &v)
	if r.HoldingDays < 0 || r.HoldingDays > 365 {
		v.Add("holding_days", "holding_days must be 0 to 365.")
	}
	if r.MaxRewardsPerReferrer < 0 {
		v.Add("max_rewards_per_referrer", "max_rewards_per_referrer must be at least 1.")
	}
	if r.DiscountExpiresDays != 0 && r.RewardType != Discount {
		v.Add("expires_in_days", "expires_in_days applies only to discount rewards.")
	}
	if r.DiscountExpiresDays < 0 || r.DiscountExpiresDays > 3650 {
		v.Add("expires_in_days", "expires_in_days must be 1 to 3650.")
	}
	if r.PayoutMethod != "" {
		if r.RewardType != Cash {
			v.Add("payout_method", "payout_method applies only to cash rewards.")
		} else if !oneOf(r.PayoutMethod, "paypal", "wise") {
			v.Add("payout_method", "payout_method must be paypal or wise.")
		}
	}
	return r, v.Err("invalid_reward_rule")
}

// maxTiers bounds a rule's tiers: more steps than anyone reads is a mistake.
const maxTiers = 20

// applyTiers reads given tiers into r in its unit, ascending and without
// overlap, each named tiers.<i>.min_referrals or .amount. A tiered rule's
// amount is its first tier's.
func applyTiers(r *Rule, base Rule, in RuleInput, v *referral.Validation) {
	if !in.Tiers.Set {
		if len(r.Tiers) > 0 && (r.Unit != base.Unit || r.Currency != base.Currency) {
			v.Add("tiers", "Give the tiers again when changing unit or currency.")
		} else if len(r.Tiers) > 0 && in.Amount != nil {
			v.Add("amount", "A tiered rule's amounts are its tiers'; give tiers, or tiers: null to use one amount.")
		}
		return
	}
	r.Tiers = nil
	if in.Tiers.Value == nil || len(*in.Tiers.Value) == 0 {
		return
	}
	given := *in.Tiers.Value
	if in.Amount != nil {
		v.Add("amount", "A tiered rule's amounts are its tiers'; leave amount out.")
	}
	if len(given) > maxTiers {
		v.Add("tiers", fmt.Sprintf("At most %d tiers.", maxTiers))
		return
	}
	ok := true
	for i, t := range given {
		field := fmt.Sprintf("tiers.%d", i)
		switch {
		case t.MinReferrals == nil || *t.MinReferrals < 1:
			v.Add(field+".min_referrals", "min_referrals is required and must be at least 1.")
			ok = false
			continue
		case i > 0 && given[i-1].MinReferrals != nil && *t.MinReferrals <= *given[i-1].MinReferrals:
			v.Add(field+".min_referrals", "Tiers must be in ascending order of min_referrals, without two tiers starting at the same count.")
			ok = false
			continue
		case t.Amount == nil:
			v.Add(field+".amount", "Amount is required and must be more than 0.")
			ok = false
			continue
		}
		var amount int64
		var err error
		if r.Unit == Percentage {
			amount, err = money.ParsePercent(json.Number(*t.Amount))
			if errors.Is(err, money.ErrTooPrecise) {
				v.Add(field+".amount", "A percentage may have at most 2 decimals.")
				ok = false
				continue
			} else if err != nil || amount <= 0 {
				v.Add(field+".amount", "A percentage must be more than 0 and at most 100.")
				ok = false
				continue
			}
		} else {
			amount, err = money.ParseAmount(json.Number(*t.Amount), r.Currency)
			if code, msg := amountProblem(amount, err, r.Currency); msg != "" {
				v.AddCode(field+".amount", code, msg)
				ok = false
				continue
			}
		}
		r.Tiers = append(r.Tiers, Tier{MinReferrals: *t.MinReferrals, Amount: amount})
	}
	if ok {
		r.Amount = r.Tiers[0].Amount
	} else {
		r.Tiers = nil
	}
}

// applyOffers checks milestones, tiers, skip counts and the caps per
// referrer, and reads the amount cap in the minimum's currency.
func applyOffers(r *Rule, in RuleInput, capCurrency string, v *referral.Validation) {
	if r.Trigger == Milestone {
		switch {
		case r.Recipient != Referrer:
			v.Add("recipient", "A milestone rewards the referrer who reached it.")
		case r.MilestoneReferrals < 1 || r.MilestoneReferrals > 100000:
			v.Add("milestone_referrals", "milestone_referrals is required with trigger milestone and must be 1 to 100000.")
		}
	} else if r.MilestoneReferrals != 0 {
		v.Add("milestone_referrals", "milestone_referrals applies only to trigger milestone.")
	}
	if len(r.Tiers) > 0 {
		switch {
		case r.Recipient != Referrer:
			v.Add("tiers", "Tiers follow the referrer's successful referrals; they apply to referrer rules.")
		case r.Trigger == Milestone:
			v.Add("tiers", "A milestone is one step; make a ladder of several milestone rules instead of tiers.")
		}
	}
	switch {
	case r.SkipCount < 0 || r.SkipCount > 1000:
		v.Add("skip_count", "skip_count must be 0 to 1000.")
	case r.SkipCount > 0 && r.Recurrence != Every:
		v.Add("skip_count", "skip_count starts a recurring rule later; it applies only to recurrence every.")
	}
	if !oneOf(r.MaxRewardsPeriod, "", Month, Year) {
		v.Add("max_rewards_period", "max_rewards_period must be month, year, or null for the referrer's lifetime.")
	}
	if in.MaxAmountPerReferrer.Set {
		r.MaxAmountPerReferrer, r.MaxAmountCurrency = 0, ""
		if n := in.MaxAmountPerReferrer.Value; n != nil {
			max, err := money.ParseAmount(json.Number(*n), capCurrency)
			if code, msg := amountProblem(max, err, capCurrency); msg != "" && !(err == nil && max == 0) {
				v.AddCode("max_amount_per_referrer", code, msg)
			} else if max > 0 {
				r.MaxAmountPerReferrer, r.MaxAmountCurrency = max, capCurrency
			}
		}
	} else if r.MaxAmountPerReferrer > 0 && r.MaxAmountCurrency != capCurrency {
		v.Add("max_amount_per_referrer", "Give max_amount_per_referrer again (or null) when changing the rule's currency.")
	}
	// A cap in one currency says nothing of another: with a cap, each
	// currency the rule pays in needs its own.
	capped := r.MaxAmountPerReferrer > 0
	for cur, o := range r.CurrencyOptions {
		switch {
		case capped && o.MaxAmountPerReferrer == 0:
			v.Add("currency_options."+cur+".max_amount_per_referrer", "The rule caps the value per referrer; give each currency option its cap too.")
		case !capped && o.MaxAmountPerReferrer > 0:
			v.Add("max_amount_per_referrer", "A currency option has a cap per referrer; give the rule's own currency one too.")
		}
	}
	if capped && r.RewardType == Discount && r.Unit == Percentage {
		v.Add("max_amount_per_referrer", "A percent-off code has no value to add up; cap it with max_rewards_per_referrer.")
	}
	if r.MaxRewardsPeriod != "" && r.MaxRewardsPerReferrer == 0 && !capped {
		v.Add("max_rewards_period", "A period caps something: give max_rewards_per_referrer or max_amount_per_referrer with it.")
	}
	if r.Trigger == Milestone && (r.MaxRewardsPerReferrer > 0 || capped) {
		v.Add("max_rewards_per_referrer", "A milestone rewards each referrer once; it takes no caps.")
	}
}

// NewRule returns the defaults of a new rule.
func NewRule() Rule {
	return Rule{Trigger: Purchase, Recipient: Referrer, Recurrence: First, Active: true}
}

// amountProblem says what is wrong with a parsed amount, with a code of its
// own where the problem has one, or "" if nothing is.
func amountProblem(amount int64, err error, currency string) (code, msg string) {
	switch {
	case errors.Is(err, money.ErrTooLarge):
		return "amount_too_large", money.TooLargeMessage(currency)
	case errors.Is(err, money.ErrTooPrecise):
		return "", "The amount has more decimals than the currency has."
	case err != nil:
		return "", "The amount must be a number."
	case amount <= 0:
		return "", "The amount must be more than 0."
	}
	return "", ""
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func setStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}
