package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// rewardJSON is a reward on the wire. A percent-off discount's amount is a
// percentage and its currency null.
type rewardJSON struct {
	ID             string            `json:"id"`
	CustomerKey    string            `json:"customer_key"`
	FriendKey      string            `json:"friend_key"`
	RuleID         string            `json:"rule_id"`
	TransactionKey *string           `json:"transaction_key"`
	Trigger        string            `json:"trigger"`
	Recipient      string            `json:"recipient"`
	RewardType     string            `json:"reward_type"`
	Unit           string            `json:"unit"`
	Amount         json.Number       `json:"amount"`
	Currency       *string           `json:"currency"`
	ReversedAmount json.Number       `json:"reversed_amount"`
	Status         string            `json:"status"`
	NeedsApproval  bool              `json:"needs_approval"`
	AvailableAt    time.Time         `json:"available_at"`
	RejectReason   *string           `json:"reject_reason"`
	DiscountCode   *discountCodeJSON `json:"discount_code"`
	Billing        []billingJSON     `json:"billing"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// billingJSON is a change made in the billing system (Stripe) for a reward.
type billingJSON struct {
	Provider string       `json:"provider"`
	Kind     string       `json:"kind"`
	Status   string       `json:"status"`
	Amount   *json.Number `json:"amount"`
	Currency *string      `json:"currency"`
	IDs      []string     `json:"ids"`
	Error    *string      `json:"error"`
}

func toBillingJSON(bs []rewards.BillingAction) []billingJSON {
	out := make([]billingJSON, 0, len(bs))
	for _, b := range bs {
		j := billingJSON{Provider: b.Provider, Kind: b.Kind, Status: b.Status, Currency: optString(b.Currency),
			IDs: b.IDs, Error: optString(b.Error)}
		if b.Currency != "" && b.Amount != 0 {
			n := amountJSON(b.Amount, b.Currency)
			j.Amount = &n
		}
		if j.IDs == nil {
			j.IDs = []string{}
		}
		out = append(out, j)
	}
	return out
}

func toRewardJSON(rw *rewards.Reward, now time.Time) rewardJSON {
	out := rewardJSON{
		ID: rw.ID, CustomerKey: rw.CustomerKey, FriendKey: rw.FriendKey, RuleID: rw.RuleID,
		TransactionKey: optString(rw.TransactionKey), Trigger: rw.Trigger, Recipient: rw.Recipient,
		RewardType: rw.RewardType, Unit: rw.Unit, Amount: amountJSON(rw.Amount, rw.Currency),
		Currency: optString(rw.Currency), ReversedAmount: amountJSON(rw.Reversed, rw.Currency), Status: rw.Status,
		NeedsApproval: rw.NeedsApproval, AvailableAt: rw.AvailableAt, RejectReason: optString(rw.RejectReason),
		Billing: toBillingJSON(rw.Billing), CreatedAt: rw.CreatedAt, UpdatedAt: rw.UpdatedAt,
	}
	if rw.DiscountCode != nil {
		dc := toDiscountCodeJSON(rw.DiscountCode, now)
		out.DiscountCode = &dc
	}
	return out
}

func (s *Server) rewardJSON(rw *rewards.Reward) rewardJSON { return toRewardJSON(rw, s.now()) }

type rewardEnvelope struct {
	Reward rewardJSON `json:"reward"`
}

var rewardStatuses = []string{rewards.Pending, rewards.Available, rewards.Paid, rewards.Reversed, rewards.Rejected}

func (s *Server) ListRewards(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "rwd")
	if err != nil {
		return err
	}
	p := program(r)
	f := store.RewardFilter{Page: pg, Status: r.URL.Query().Get("status")}
	if f.Status != "" && !contains(rewardStatuses, f.Status) {
		return referral.FieldError("invalid_parameter", "status", "Status must be one of "+strings.Join(rewardStatuses, ", ")+".")
	}
	if key := r.URL.Query().Get("customer_key"); key != "" {
		c, err := s.DB.Customer(r.Context(), p.ID, key)
		if err != nil {
			return err
		}
		f.CustomerID = c.ID
	}
	rws, more, err := s.DB.Rewards(r.Context(), p.ID, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(rws, more, s.rewardJSON, func(rw *rewards.Reward) string { return rw.ID }))
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *Server) GetReward(w http.ResponseWriter, r *http.Request) error {
	rw, err := s.DB.Reward(r.Context(), program(r).ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rewardEnvelope{s.rewardJSON(rw)})
	return nil
}

func (s *Server) ApproveReward(w http.ResponseWriter, r *http.Request) error {
	if err := readNoFields(r); err != nil {
		return err
	}
	return s.decideReward(w, r, func(ctx context.Context) (*rewards.Reward, error) {
		return s.DB.ApproveReward(ctx, program(r).ID, r.PathValue("id"))
	})
}

func (s *Server) RejectReward(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	reason := strings.TrimSpace(in.Reason)
	return s.decideReward(w, r, func(ctx context.Context) (*rewards.Reward, error) {
		return s.DB.RejectReward(ctx, program(r).ID, r.PathValue("id"), reason)
	})
}

func (s *Server) decideReward(w http.ResponseWriter, r *http.Request, decide func(context.Context) (*rewards.Reward, error)) error {
	return respond(w, r, decide, func(rw *rewards.Reward) (int, any) { return http.StatusOK, rewardEnvelope{s.rewardJSON(rw)} })
}

// discountCodeJSON is a discount code on the wire.
type discountCodeJSON struct {
	Code        string       `json:"code"`
	CustomerKey string       `json:"customer_key"`
	RewardID    string       `json:"reward_id"`
	PercentOff  *json.Number `json:"percent_off"`
	AmountOff   *json.Number `json:"amount_off"`
	Currency    *string      `json:"currency"`
	Status      string       `json:"status"`
	ExpiresAt   *time.Time   `json:"expires_at"`
	RedeemedAt  *time.Time   `json:"redeemed_at"`
	CreatedAt   time.Time    `json:"created_at"`
}

func toDiscountCodeJSON(dc *rewards.DiscountCode, now time.Time) discountCodeJSON {
	out := discountCodeJSON{Code: dc.Code, CustomerKey: dc.CustomerKey, RewardID: dc.RewardID, Currency: optString(dc.Currency),
		ExpiresAt: dc.ExpiresAt, RedeemedAt: dc.RedeemedAt, CreatedAt: dc.CreatedAt, Status: dc.Status(now)}
	if dc.PercentOff > 0 {
		n := amountJSON(dc.PercentOff, "")
		out.PercentOff = &n
	} else {
		n := amountJSON(dc.AmountOff, dc.Currency)
		out.AmountOff = &n
	}
	return out
}

func (s *Server) ListDiscountCodes(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	c, err := s.DB.Customer(r.Context(), p.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	codes, err := s.DB.CustomerDiscountCodes(r.Context(), p.ID, c.ID)
	if err != nil {
		return err
	}
	out := list[discountCodeJSON]{Data: make([]discountCodeJSON, 0, len(codes))}
	for _, dc := range codes {
		out.Data = append(out.Data, toDiscountCodeJSON(dc, s.now()))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) RedeemDiscountCode(w http.ResponseWriter, r *http.Request) error {
	if err := readNoFields(r); err != nil {
		return err
	}
	return respond(w, r, func(ctx context.Context) (*rewards.DiscountCode, error) {
		return s.DB.RedeemDiscountCode(ctx, program(r).ID, r.PathValue("code"))
	}, func(dc *rewards.DiscountCode) (int, any) {
		return http.StatusOK, map[string]discountCodeJSON{"discount_code": toDiscountCodeJSON(dc, s.now())}
	})
}
