package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// ruleJSON is a reward rule on the wire.
type ruleJSON struct {
	ID                    string                        `json:"id"`
	Name                  string                        `json:"name"`
	Trigger               string                        `json:"trigger"`
	Recipient             string                        `json:"recipient"`
	RewardType            string                        `json:"reward_type"`
	Amount                json.Number                   `json:"amount"`
	Unit                  string                        `json:"unit"`
	Currency              *string                       `json:"currency"`
	Recurrence            string                        `json:"recurrence"`
	MaxCount              *int                          `json:"max_count"`
	MaxMonths             *int                          `json:"max_months"`
	MinAmount             *json.Number                  `json:"min_amount"`
	HoldingDays           int                           `json:"holding_days"`
	MaxRewardsPerReferrer *int                          `json:"max_rewards_per_referrer"`
	MaxRewardsPeriod      *string                       `json:"max_rewards_period"`
	MaxAmountPerReferrer  *json.Number                  `json:"max_amount_per_referrer"`
	MilestoneReferrals    *int                          `json:"milestone_referrals"`
	Tiers                 []tierJSON                    `json:"tiers"`
	SkipCount             int                           `json:"skip_count"`
	ExpiresInDays         *int                          `json:"expires_in_days"`
	PayoutMethod          *string                       `json:"payout_method"`
	RequireApproval       *bool                         `json:"require_approval"`
	CurrencyOptions       map[string]currencyOptionJSON `json:"currency_options"`
	Active                bool                          `json:"active"`
	CreatedAt             time.Time                     `json:"created_at"`
	UpdatedAt             time.Time                     `json:"updated_at"`
}

// currencyOptionJSON is a rule's amount in one more currency.
type currencyOptionJSON struct {
	Amount               json.Number  `json:"amount"`
	MinAmount            *json.Number `json:"min_amount"`
	MaxAmountPerReferrer *json.Number `json:"max_amount_per_referrer"`
}

// tierJSON is one step of a tiered rule, its amount in the rule's unit.
type tierJSON struct {
	MinReferrals int         `json:"min_referrals"`
	Amount       json.Number `json:"amount"`
}

// optAmount renders minor units of currency in major units, or null for 0
// (no minimum, no cap).
func optAmount(minor int64, currency string) *json.Number {
	if minor <= 0 {
		return nil
	}
	n := money.Format(minor, currency)
	return &n
}

func optInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toRuleJSON(r *rewards.Rule) ruleJSON {
	out := ruleJSON{
		ID: r.ID, Name: r.Name, Trigger: r.Trigger, Recipient: r.Recipient, RewardType: r.RewardType, Unit: r.Unit,
		Currency: optString(r.Currency), Recurrence: r.Recurrence, MaxCount: optInt(r.MaxCount), MaxMonths: optInt(r.MaxMonths),
		HoldingDays: r.HoldingDays, MaxRewardsPerReferrer: optInt(r.MaxRewardsPerReferrer),
		MaxRewardsPeriod: optString(r.MaxRewardsPeriod), MaxAmountPerReferrer: optAmount(r.MaxAmountPerReferrer, r.MaxAmountCurrency),
		MilestoneReferrals: optInt(r.MilestoneReferrals), SkipCount: r.SkipCount,
		ExpiresInDays: optInt(r.DiscountExpiresDays), PayoutMethod: optString(r.PayoutMethod), Active: r.Active,
		RequireApproval: r.RequireApproval,
		CreatedAt:       r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	// A rule's amounts are in its unit: major units of its currency, or
	// percent.
	unitAmount := func(n int64) json.Number {
		if r.Unit == rewards.Percentage {
			return money.FormatPercent(n)
		}
		return money.Format(n, r.Currency)
	}
	out.Amount = unitAmount(r.Amount)
	out.MinAmount = optAmount(r.MinAmount, r.MinAmountCurrency)
	out.Tiers = make([]tierJSON, 0, len(r.Tiers))
	for _, t := range r.Tiers {
		out.Tiers = append(out.Tiers, tierJSON{MinReferrals: t.MinReferrals, Amount: unitAmount(t.Amount)})
	}
	out.CurrencyOptions = make(map[string]currencyOptionJSON, len(r.CurrencyOptions))
	for cur, o := range r.CurrencyOptions {
		out.CurrencyOptions[cur] = currencyOptionJSON{Amount: money.Format(o.Amount, cur),
			MinAmount: optAmount(o.MinAmount, cur), MaxAmountPerReferrer: optAmount(o.MaxAmountPerReferrer, cur)}
	}
	return out
}

type ruleEnvelope struct {
	Rule ruleJSON `json:"reward_rule"`
}

func (s *Server) ListRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.DB.Rules(r.Context(), program(r).ID)
	if err != nil {
		return err
	}
	out := list[ruleJSON]{Data: make([]ruleJSON, 0, len(rules))}
	for _, rule := range rules {
		out.Data = append(out.Data, toRuleJSON(rule))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) GetRule(w http.ResponseWriter, r *http.Request) error {
	rule, err := s.DB.Rule(r.Context(), program(r).ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleEnvelope{toRuleJSON(rule)})
	return nil
}

func (s *Server) CreateRule(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in rewards.RuleInput
	if err := decode(body, &in); err != nil {
		return err
	}
	p := program(r)
	base := rewards.NewRule()
	base.ProgramID = p.ID
	rule, err := rewards.Apply(base, in, p.Currency)
	if err != nil {
		return err
	}
	return respond(w, r, func(ctx context.Context) (*rewards.Rule, error) { return s.DB.CreateRule(ctx, rule) },
		func(rule *rewards.Rule) (int, any) { return http.StatusCreated, ruleEnvelope{toRuleJSON(rule)} })
}

func (s *Server) UpdateRule(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in rewards.RuleInput
	if err := decode(body, &in); err != nil {
		return err
	}
	p := program(r)
	old, err := s.DB.Rule(r.Context(), p.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	rule, err := rewards.Apply(*old, in, p.Currency)
	if err != nil {
		return err
	}
	saved, err := s.DB.UpdateRule(r.Context(), rule)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleEnvelope{toRuleJSON(saved)})
	return nil
}

func (s *Server) DeleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.DB.DeleteRule(r.Context(), program(r).ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
