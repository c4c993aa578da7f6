package rewards

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
)

// input decodes a rule as a client sends it.
func input(t *testing.T, body string) RuleInput {
	t.Helper()
	var in RuleInput
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return in
}

func TestApply(t *testing.T) {
	stored := NewRule()
	stored.ID, stored.RewardType, stored.Amount, stored.Currency, stored.Unit = "rule_1", Credit, 1000, "USD", Fixed
	tests := []struct {
		name     string
		base     Rule
		body     string
		currency string // the program's
		want     Rule
	}{
		// The seed's three reward objects, exactly as it shows them.
		{"seed credit", NewRule(), `{"reward_type": "credit", "amount": 10, "currency": "USD"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD", Recurrence: First, Active: true}},
		{"seed discount", NewRule(), `{"reward_type": "discount", "amount": 20, "unit": "percentage"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Discount, Unit: Percentage, Amount: 2000, Recurrence: First, Active: true}},
		{"seed cash", NewRule(), `{"reward_type": "cash", "amount": 25, "currency": "USD"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Cash, Unit: Fixed, Amount: 2500, Currency: "USD", Recurrence: First, Active: true}},

		{"currency defaults to the program's", NewRule(), `{"reward_type": "credit", "amount": 10}`, "EUR",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "EUR", Recurrence: First, Active: true}},
		{"lower-case currency, as billing systems send it", NewRule(), `{"reward_type": "credit", "amount": 10, "currency": "eur"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "EUR", Recurrence: First, Active: true}},
		{"currency options", NewRule(), `{"reward_type": "credit", "amount": 10, "currency": "USD",
			"currency_options": {"EUR": {"amount": 9, "min_amount": 40}, "jpy": {"amount": 1000}}}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD", Recurrence: First, Active: true,
				CurrencyOptions: map[string]CurrencyOption{"EUR": {Amount: 900, MinAmount: 4000}, "JPY": {Amount: 1000}}}},
		{"zero-digit currency", NewRule(), `{"reward_type": "credit", "amount": 500, "currency": "JPY"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 500, Currency: "JPY", Recurrence: First, Active: true}},
		// "Give 20 % off, get $20": the friend's percent-off code at signup
		// needs no amount to take a share of.
		{"friend's percent-off code at signup", NewRule(), `{"trigger": "signup", "recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`, "USD",
			Rule{Trigger: Signup, Recipient: Friend, RewardType: Discount, Unit: Percentage, Amount: 2000, Recurrence: First, Active: true}},
		{"percentage of the payment", NewRule(), `{"reward_type": "cash", "amount": 12.5, "unit": "percentage"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Cash, Unit: Percentage, Amount: 1250, Recurrence: First, Active: true}},
		{"every field", NewRule(), `{"name": "Monthly", "trigger": "subscription", "recipient": "friend", "reward_type": "discount",
			"amount": 5, "currency": "EUR", "recurrence": "every", "max_count": 12, "max_months": 6, "min_amount": 20.5,
			"holding_days": 30, "max_rewards_per_referrer": 3, "expires_in_days": 90, "active": false}`, "USD",
			Rule{Name: "Monthly", Trigger: Subscription, Recipient: Friend, RewardType: Discount, Unit: Fixed, Amount: 500, Currency: "EUR",
				Recurrence: Every, MaxCount: 12, MaxMonths: 6, MinAmount: 2050, MinAmountCurrency: "EUR", HoldingDays: 30,
				MaxRewardsPerReferrer: 3, DiscountExpiresDays: 90, Active: false}},
		{"min_amount of a percentage rule is in the program's currency", NewRule(),
			`{"reward_type": "credit", "amount": 10, "unit": "percentage", "min_amount": 50}`, "EUR",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Percentage, Amount: 1000, MinAmount: 5000,
				MinAmountCurrency: "EUR", Recurrence: First, Active: true}},
		{"cash with a payout method", NewRule(), `{"reward_type": "cash", "amount": 25, "payout_method": "wise"}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Cash, Unit: Fixed, Amount: 2500, Currency: "USD", Recurrence: First,
				PayoutMethod: "wise", Active: true}},
		{"signup, fixed", NewRule(), `{"trigger": "signup", "recipient": "friend", "reward_type": "credit", "amount": 5}`, "USD",
			Rule{Trigger: Signup, Recipient: Friend, RewardType: Credit, Unit: Fixed, Amount: 500, Currency: "USD", Recurrence: First, Active: true}},

		// The offers of issue 16.
		{"milestone", NewRule(), `{"trigger": "milestone", "reward_type": "credit", "amount": 50, "milestone_referrals": 10}`, "USD",
			Rule{Trigger: Milestone, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 5000, Currency: "USD", Recurrence: First,
				MilestoneReferrals: 10, Active: true}},
		{"tiers, in minor units, the first tier's amount as the rule's", NewRule(), `{"reward_type": "cash", "recurrence": "every",
			"tiers": [{"min_referrals": 1, "amount": 10}, {"min_referrals": 11, "amount": 15}, {"min_referrals": 51, "amount": 20}]}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Cash, Unit: Fixed, Amount: 1000, Currency: "USD", Recurrence: Every, Active: true,
				Tiers: []Tier{{1, 1000}, {11, 1500}, {51, 2000}}}},
		{"percentage tiers, in basis points", NewRule(), `{"reward_type": "credit", "unit": "percentage",
			"tiers": [{"min_referrals": 1, "amount": 20}, {"min_referrals": 5, "amount": 25.5}]}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Percentage, Amount: 2000, Recurrence: First, Active: true,
				Tiers: []Tier{{1, 2000}, {5, 2550}}}},
		{"then 20 %: skip_count", NewRule(), `{"trigger": "subscription", "reward_type": "cash", "unit": "percentage", "amount": 20,
			"recurrence": "every", "skip_count": 3}`, "USD",
			Rule{Trigger: Subscription, Recipient: Referrer, RewardType: Cash, Unit: Percentage, Amount: 2000, Recurrence: Every, SkipCount: 3, Active: true}},
		{"caps per month, by count and value, the value in the program's currency for a percentage", NewRule(), `{"reward_type": "cash",
			"unit": "percentage", "amount": 10, "recurrence": "every", "max_rewards_per_referrer": 5, "max_rewards_period": "month",
			"max_amount_per_referrer": 250}`, "EUR",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Cash, Unit: Percentage, Amount: 1000, Recurrence: Every, Active: true,
				MaxRewardsPerReferrer: 5, MaxRewardsPeriod: Month, MaxAmountPerReferrer: 25000, MaxAmountCurrency: "EUR"}},
		{"a cap per currency option", NewRule(), `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": 100, "max_rewards_period": "year",
			"currency_options": {"EUR": {"amount": 9, "max_amount_per_referrer": 90}}}`, "USD",
			Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD", Recurrence: First, Active: true,
				MaxRewardsPeriod: Year, MaxAmountPerReferrer: 10000, MaxAmountCurrency: "USD",
				CurrencyOptions: map[string]CurrencyOption{"EUR": {Amount: 900, MaxAmountPerReferrer: 9000}}}},
		{"update: tiers null goes back to one amount", func() Rule { r := stored; r.Tiers = []Tier{{1, 1000}, {5, 2000}}; return r }(),
			`{"tiers": null, "amount": 12}`, "USD",
			Rule{ID: "rule_1", Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1200, Currency: "USD",
				Recurrence: First, Active: true}},
		{"update: the period back to lifetime with null", func() Rule {
			r := stored
			r.MaxRewardsPerReferrer, r.MaxRewardsPeriod = 3, Month
			return r
		}(), `{"max_rewards_period": null}`, "USD",
			Rule{ID: "rule_1", Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
				Recurrence: First, MaxRewardsPerReferrer: 3, Active: true}},

		// Updates start from the stored rule; absent fields keep their value.
		{"update keeps absent fields", stored, `{"holding_days": 14}`, "USD",
			Rule{ID: "rule_1", Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
				Recurrence: First, HoldingDays: 14, Active: true}},
		{"update pauses", stored, `{"active": false}`, "USD",
			Rule{ID: "rule_1", Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
				Recurrence: First, Active: false}},
		{"update to a percentage clears the currency", stored, `{"unit": "percentage", "currency": "", "amount": 15}`, "USD",
			Rule{ID: "rule_1", Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Percentage, Amount: 1500,
				Recurrence: First, Active: true}},
		{"update clears min_amount with 0", func() Rule { r := stored; r.MinAmount, r.MinAmountCurrency = 5000, "USD"; return r }(),
			`{"min_amount": 0}`, "USD",
			Rule{ID: "rule_1", Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
				MinAmountCurrency: "USD", Recurrence: First, Active: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply(tt.base, input(t, tt.body), tt.currency)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	stored := NewRule()
	stored.ID, stored.RewardType, stored.Amount, stored.Currency, stored.Unit = "rule_1", Credit, 1000, "USD", Fixed
	long := strings.Repeat("x", 101)
	tests := []struct {
		name  string
		base  Rule
		body  string
		field string
		msg   string
	}{
		{"name too long", NewRule(), `{"name": "` + long + `", "reward_type": "credit", "amount": 1}`, "name", "Name must be at most 100 characters."},
		{"unknown trigger", NewRule(), `{"trigger": "click", "reward_type": "credit", "amount": 1}`, "trigger", "Trigger must be signup, purchase, subscription or milestone."},
		{"unknown recipient", NewRule(), `{"recipient": "both", "reward_type": "credit", "amount": 1}`, "recipient", "Recipient must be referrer or friend."},
		{"missing reward type", NewRule(), `{"amount": 1}`, "reward_type", "Reward type must be credit, discount or cash."},
		{"unknown reward type", NewRule(), `{"reward_type": "points", "amount": 1}`, "reward_type", "Reward type must be credit, discount or cash."},
		{"unknown recurrence", NewRule(), `{"reward_type": "credit", "amount": 1, "recurrence": "twice"}`, "recurrence", "Recurrence must be first or every."},
		{"unknown unit", NewRule(), `{"reward_type": "credit", "amount": 1, "unit": "points"}`, "unit", "Unit must be fixed or percentage."},
		{"unknown currency", NewRule(), `{"reward_type": "credit", "amount": 1, "currency": "ABC"}`, "currency", "Currency must be an ISO 4217 code such as USD."},
		{"more decimals than the currency", NewRule(), `{"reward_type": "credit", "amount": 10.005, "currency": "USD"}`, "amount", "The amount has more decimals than the currency has."},
		{"decimals in yen", NewRule(), `{"reward_type": "credit", "amount": 10.5, "currency": "JPY"}`, "amount", "The amount has more decimals than the currency has."},
		{"zero amount", NewRule(), `{"reward_type": "credit", "amount": 0}`, "amount", "The amount must be more than 0."},
		{"negative amount", NewRule(), `{"reward_type": "credit", "amount": -5}`, "amount", "The amount must be more than 0."},
		{"missing amount", NewRule(), `{"reward_type": "credit"}`, "amount", "Amount is required and must be more than 0."},
		{"percentage over 100", NewRule(), `{"reward_type": "discount", "unit": "percentage", "amount": 100.01}`, "amount", "A percentage must be more than 0 and at most 100."},
		{"zero percent", NewRule(), `{"reward_type": "discount", "unit": "percentage", "amount": 0}`, "amount", "A percentage must be more than 0 and at most 100."},
		{"percentage too precise", NewRule(), `{"reward_type": "discount", "unit": "percentage", "amount": 12.345}`, "amount", "A percentage may have at most 2 decimals."},
		{"percentage with a currency", NewRule(), `{"reward_type": "credit", "unit": "percentage", "amount": 10, "currency": "USD"}`, "currency",
			"A percentage reward takes the currency of the transaction; leave currency out."},
		{"currency option in an unknown currency", NewRule(), `{"reward_type": "credit", "amount": 1, "currency_options": {"ABC": {"amount": 1}}}`,
			"currency_options.ABC", "Currency options are keyed by ISO 4217 codes such as EUR."},
		{"currency option with too many decimals", NewRule(), `{"reward_type": "credit", "amount": 1, "currency_options": {"JPY": {"amount": 1.5}}}`,
			"currency_options.JPY.amount", "The amount has more decimals than the currency has."},
		{"currency option without an amount", NewRule(), `{"reward_type": "credit", "amount": 1, "currency_options": {"EUR": {"min_amount": 5}}}`,
			"currency_options.EUR.amount", "Amount is required and must be more than 0."},
		{"currency option in the rule's currency", NewRule(), `{"reward_type": "credit", "amount": 1, "currency": "USD", "currency_options": {"USD": {"amount": 2}}}`,
			"currency_options.USD", "The rule's own currency takes amount and min_amount, not an option."},
		{"currency options on a percentage", NewRule(), `{"reward_type": "credit", "amount": 1, "unit": "percentage", "currency_options": {"EUR": {"amount": 2}}}`,
			"currency_options", "Currency options are amounts in other currencies; a percentage is paid in the payment's currency already."},
		{"percentage on signup", NewRule(), `{"trigger": "signup", "reward_type": "credit", "unit": "percentage", "amount": 10}`, "unit",
			"A signup has no amount to take a percentage of; use a fixed amount, or a percent-off discount."},
		{"percentage cash on signup", NewRule(), `{"trigger": "signup", "reward_type": "cash", "unit": "percentage", "amount": 10}`, "unit",
			"A signup has no amount to take a percentage of; use a fixed amount, or a percent-off discount."},
		{"changing the unit without the amount", stored, `{"unit": "percentage", "currency": ""}`, "amount", "Give the amount again when changing unit or currency."},
		{"changing the currency without the amount", stored, `{"currency": "EUR"}`, "amount", "Give the amount again when changing unit or currency."},
		{"max_count on first", NewRule(), `{"reward_type": "credit", "amount": 1, "max_count": 2}`, "recurrence", "max_count and max_months apply only to recurrence every."},
		{"max_months on first", NewRule(), `{"reward_type": "credit", "amount": 1, "max_months": 2}`, "recurrence", "max_count and max_months apply only to recurrence every."},
		{"negative max_count", NewRule(), `{"reward_type": "credit", "amount": 1, "recurrence": "every", "max_count": -1}`, "max_count", "max_count must be 1 to 1000."},
		{"max_count too big", NewRule(), `{"reward_type": "credit", "amount": 1, "recurrence": "every", "max_count": 1001}`, "max_count", "max_count must be 1 to 1000."},
		{"negative max_months", NewRule(), `{"reward_type": "credit", "amount": 1, "recurrence": "every", "max_months": -1}`, "max_months", "max_months must be 1 to 120."},
		{"max_months too big", NewRule(), `{"reward_type": "credit", "amount": 1, "recurrence": "every", "max_months": 121}`, "max_months", "max_months must be 1 to 120."},
		{"signup every time", NewRule(), `{"trigger": "signup", "reward_type": "credit", "amount": 1, "recurrence": "every"}`, "recurrence", "A friend signs up once; signup rules fire once."},
		{"min_amount on signup", NewRule(), `{"trigger": "signup", "reward_type": "credit", "amount": 1, "min_amount": 10}`, "min_amount",
			"A signup has no amount; min_amount applies to purchases and subscriptions."},
		{"min_amount too precise", NewRule(), `{"reward_type": "credit", "amount": 1, "min_amount": 10.001}`, "min_amount", "The amount has more decimals than the currency has."},
		{"negative min_amount", NewRule(), `{"reward_type": "credit", "amount": 1, "min_amount": -10}`, "min_amount", "The amount must be more than 0."},
		{"negative holding", NewRule(), `{"reward_type": "credit", "amount": 1, "holding_days": -1}`, "holding_days", "holding_days must be 0 to 365."},
		{"holding over a year", NewRule(), `{"reward_type": "credit", "amount": 1, "holding_days": 366}`, "holding_days", "holding_days must be 0 to 365."},
		{"negative max per referrer", NewRule(), `{"reward_type": "credit", "amount": 1, "max_rewards_per_referrer": -1}`, "max_rewards_per_referrer",
			"max_rewards_per_referrer must be at least 1."},
		{"expiry on credit", NewRule(), `{"reward_type": "credit", "amount": 1, "expires_in_days": 30}`, "expires_in_days", "expires_in_days applies only to discount rewards."},
		{"negative expiry", NewRule(), `{"reward_type": "discount", "amount": 1, "expires_in_days": -1}`, "expires_in_days", "expires_in_days must be 1 to 3650."},
		{"expiry too long", NewRule(), `{"reward_type": "discount", "amount": 1, "expires_in_days": 3651}`, "expires_in_days", "expires_in_days must be 1 to 3650."},
		{"discount with a cash payout field", NewRule(), `{"reward_type": "discount", "amount": 20, "unit": "percentage", "payout_method": "paypal"}`,
			"payout_method", "payout_method applies only to cash rewards."},
		{"unknown payout method", NewRule(), `{"reward_type": "cash", "amount": 25, "payout_method": "cheque"}`, "payout_method", "payout_method must be paypal or wise."},
		// The offers of issue 16.
		{"unordered tiers", NewRule(), `{"reward_type": "credit", "tiers": [{"min_referrals": 11, "amount": 15}, {"min_referrals": 1, "amount": 10}]}`,
			"tiers.1.min_referrals", "Tiers must be in ascending order of min_referrals, without two tiers starting at the same count."},
		{"overlapping tiers", NewRule(), `{"reward_type": "credit", "tiers": [{"min_referrals": 1, "amount": 10}, {"min_referrals": 1, "amount": 15}]}`,
			"tiers.1.min_referrals", "Tiers must be in ascending order of min_referrals, without two tiers starting at the same count."},
		{"a tier from 0", NewRule(), `{"reward_type": "credit", "tiers": [{"min_referrals": 0, "amount": 10}]}`,
			"tiers.0.min_referrals", "min_referrals is required and must be at least 1."},
		{"a tier without an amount", NewRule(), `{"reward_type": "credit", "tiers": [{"min_referrals": 1}]}`,
			"tiers.0.amount", "Amount is required and must be more than 0."},
		{"a tier too precise", NewRule(), `{"reward_type": "credit", "currency": "JPY", "tiers": [{"min_referrals": 1, "amount": 10.5}]}`,
			"tiers.0.amount", "The amount has more decimals than the currency has."},
		{"a percentage tier over 100", NewRule(), `{"reward_type": "credit", "unit": "percentage", "tiers": [{"min_referrals": 1, "amount": 101}]}`,
			"tiers.0.amount", "A percentage must be more than 0 and at most 100."},
		{"tiers and an amount", NewRule(), `{"reward_type": "credit", "amount": 5, "tiers": [{"min_referrals": 1, "amount": 10}]}`,
			"amount", "A tiered rule's amounts are its tiers'; leave amount out."},
		{"tiers on a friend rule", NewRule(), `{"reward_type": "credit", "recipient": "friend", "tiers": [{"min_referrals": 1, "amount": 10}]}`,
			"tiers", "Tiers follow the referrer's successful referrals; they apply to referrer rules."},
		{"tiers with currency options", NewRule(), `{"reward_type": "credit", "tiers": [{"min_referrals": 1, "amount": 10}], "currency_options": {"EUR": {"amount": 9}}}`,
			"currency_options", "Tiers are amounts in the rule's currency; a tiered rule has no currency options."},
		{"a milestone of 0", NewRule(), `{"trigger": "milestone", "reward_type": "credit", "amount": 10, "milestone_referrals": 0}`,
			"milestone_referrals", "milestone_referrals is required with trigger milestone and must be 1 to 100000."},
		{"a milestone without its count", NewRule(), `{"trigger": "milestone", "reward_type": "credit", "amount": 10}`,
			"milestone_referrals", "milestone_referrals is required with trigger milestone and must be 1 to 100000."},
		{"a milestone for the friend", NewRule(), `{"trigger": "milestone", "recipient": "friend", "reward_type": "credit", "amount": 10, "milestone_referrals": 3}`,
			"recipient", "A milestone rewards the referrer who reached it."},
		{"milestone_referrals on a purchase rule", NewRule(), `{"reward_type": "credit", "amount": 10, "milestone_referrals": 3}`,
			"milestone_referrals", "milestone_referrals applies only to trigger milestone."},
		{"a milestone every time", NewRule(), `{"trigger": "milestone", "reward_type": "credit", "amount": 10, "milestone_referrals": 3, "recurrence": "every"}`,
			"recurrence", "A milestone is reached once; milestone rules fire once per referrer."},
		{"a percentage of a milestone", NewRule(), `{"trigger": "milestone", "reward_type": "credit", "unit": "percentage", "amount": 10, "milestone_referrals": 3}`,
			"unit", "A milestone has no amount to take a percentage of; use a fixed amount, or a percent-off discount."},
		{"a capped milestone", NewRule(), `{"trigger": "milestone", "reward_type": "credit", "amount": 10, "milestone_referrals": 3, "max_rewards_per_referrer": 1}`,
			"max_rewards_per_referrer", "A milestone rewards each referrer once; it takes no caps."},
		{"skip_count with recurrence first", NewRule(), `{"reward_type": "credit", "amount": 10, "skip_count": 3}`,
			"skip_count", "skip_count starts a recurring rule later; it applies only to recurrence every."},
		{"negative skip_count", NewRule(), `{"reward_type": "credit", "amount": 10, "recurrence": "every", "skip_count": -1}`,
			"skip_count", "skip_count must be 0 to 1000."},
		{"a period cap without a count", NewRule(), `{"reward_type": "credit", "amount": 10, "max_rewards_period": "month"}`,
			"max_rewards_period", "A period caps something: give max_rewards_per_referrer or max_amount_per_referrer with it."},
		{"an unknown period", NewRule(), `{"reward_type": "credit", "amount": 10, "max_rewards_per_referrer": 3, "max_rewards_period": "week"}`,
			"max_rewards_period", "max_rewards_period must be month, year, or null for the referrer's lifetime."},
		{"an amount cap too precise", NewRule(), `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": 100.001}`,
			"max_amount_per_referrer", "The amount has more decimals than the currency has."},
		{"an amount cap on a percent-off code", NewRule(), `{"reward_type": "discount", "unit": "percentage", "amount": 10, "max_amount_per_referrer": 100}`,
			"max_amount_per_referrer", "A percent-off code has no value to add up; cap it with max_rewards_per_referrer."},
		{"an amount cap without one per currency option", NewRule(), `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": 100, "currency_options": {"EUR": {"amount": 9}}}`,
			"currency_options.EUR.max_amount_per_referrer", "The rule caps the value per referrer; give each currency option its cap too."},
		{"a currency option's cap without the rule's", NewRule(), `{"reward_type": "credit", "amount": 10, "currency_options": {"EUR": {"amount": 9, "max_amount_per_referrer": 90}}}`,
			"max_amount_per_referrer", "A currency option has a cap per referrer; give the rule's own currency one too."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(tt.base, input(t, tt.body), "USD")
			e, ok := referral.AsError(err)
			if !ok {
				t.Fatalf("got %v, want a validation error", err)
			}
			if e.Kind != referral.KindInvalid {
				t.Errorf("kind %v, want KindInvalid", e.Kind)
			}
			if got := e.Fields[tt.field]; got != tt.msg {
				t.Errorf("%s: got %q, want %q (all: %v)", tt.field, got, tt.msg, e.Fields)
			}
			if len(e.Fields) == 1 && e.Code != "invalid_reward_rule" {
				t.Errorf("code %q for one bad field, want invalid_reward_rule", e.Code)
			}
		})
	}
}

// TestApplyRefusesNonNumbers covers amounts that strict JSON decoding
// would already refuse, for callers that build a RuleInput themselves.
func TestApplyRefusesNonNumbers(t *testing.T) {
	ten, lots, one, credit := money.Number("ten"), money.Number("lots"), money.Number("1"), Credit
	tests := []struct {
		name  string
		in    RuleInput
		field string
	}{
		{"amount", RuleInput{RewardType: &credit, Amount: &ten}, "amount"},
		{"min_amount", RuleInput{RewardType: &credit, Amount: &one, MinAmount: &lots}, "min_amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(NewRule(), tt.in, "USD")
			e, ok := referral.AsError(err)
			if !ok || e.Fields[tt.field] != "The amount must be a number." {
				t.Errorf("got %v, want %s: The amount must be a number.", err, tt.field)
			}
		})
	}
}

// TestApplyNamesEveryField checks that one response names every bad field,
// with the general code.
func TestApplyNamesEveryField(t *testing.T) {
	_, err := Apply(NewRule(), input(t, `{"trigger": "click", "recipient": "both", "reward_type": "points", "holding_days": -1}`), "USD")
	e, ok := referral.AsError(err)
	if !ok {
		t.Fatalf("got %v, want a validation error", err)
	}
	for _, f := range []string{"trigger", "recipient", "reward_type", "amount", "holding_days"} {
		if e.Fields[f] == "" {
			t.Errorf("no message for %s: %v", f, e.Fields)
		}
	}
	if e.Code != "validation_failed" {
		t.Errorf("code %q, want validation_failed", e.Code)
	}
}

// TestApplyApproval: a rule holds its rewards for approval, never does, or
// follows the program (null, the default); an update without the field
// keeps the rule's setting.
func TestApplyApproval(t *testing.T) {
	yes, no := true, false
	held := NewRule()
	held.ID, held.RewardType, held.Unit, held.Amount, held.Currency, held.RequireApproval = "rule_1", Credit, Fixed, 1000, "USD", &yes
	tests := []struct {
		name string
		base Rule
		body string
		want *bool
	}{
		{"new rule follows the program", NewRule(), `{"reward_type": "credit", "amount": 10}`, nil},
		{"always", NewRule(), `{"reward_type": "credit", "amount": 10, "require_approval": true}`, &yes},
		{"never", NewRule(), `{"reward_type": "credit", "amount": 10, "require_approval": false}`, &no},
		{"update without the field keeps it", held, `{"amount": 12}`, &yes},
		{"null follows the program again", held, `{"require_approval": null}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Apply(tt.base, input(t, tt.body), "USD")
			if err != nil {
				t.Fatal(err)
			}
			if (r.RequireApproval == nil) != (tt.want == nil) || (r.RequireApproval != nil && *r.RequireApproval != *tt.want) {
				t.Errorf("require_approval %v, want %v", r.RequireApproval, tt.want)
			}
			for _, program := range []bool{false, true} {
				want := program
				if tt.want != nil {
					want = *tt.want
				}
				if got := r.NeedsApproval(program); got != want {
					t.Errorf("with the program's setting %v: needs approval %v, want %v", program, got, want)
				}
			}
		})
	}
	var in RuleInput
	if err := json.Unmarshal([]byte(`{"require_approval": "yes"}`), &in); err == nil {
		t.Error(`require_approval "yes" was accepted`)
	}
}
