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
	Amount    json.Number  `json:"amount"`
	MinAmount *json.Number `json:"min_amount"`
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
		ExpiresInDays: optInt(r.DiscountExpiresDays), PayoutMethod: optString(r.PayoutMethod), Active: r.Active,
		RequireApproval: r.RequireApproval,
		CreatedAt:       r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.Unit == rewards.Percentage {
		out.Amount = money.FormatPercent(r.Amount)
	} else {
		out.Amount = money.Format(r.Amount, r.Currency)
	}
	if r.MinAmount > 0 {
		m := money.Format(r.MinAmount, r.MinAmountCurrency)
		out.MinAmount = &m
	}
	out.CurrencyOptions = make(map[string]currencyOptionJSON, len(r.CurrencyOptions))
	for cur, o := range r.CurrencyOptions {
		opt := currencyOptionJSON{Amount: money.Format(o.Amount, cur)}
		if o.MinAmount > 0 {
			m := money.Format(o.MinAmount, cur)
			opt.MinAmount = &m
		}
		out.CurrencyOptions[cur] = opt
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
