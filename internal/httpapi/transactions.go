package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// transactionJSON is a payment on the wire, with the rewards it gave.
type transactionJSON struct {
	Key            string         `json:"key"`
	CustomerKey    string         `json:"customer_key"`
	Type           string         `json:"type"`
	Amount         json.Number    `json:"amount"`
	Currency       string         `json:"currency"`
	RefundedAmount json.Number    `json:"refunded_amount"`
	Status         string         `json:"status"`
	Metadata       map[string]any `json:"metadata"`
	Rewards        []rewardJSON   `json:"rewards"`
	CreatedAt      time.Time      `json:"created_at"`
	RecordedAt     time.Time      `json:"recorded_at"`
}

func (s *Server) transactionJSON(t *rewards.Transaction) transactionJSON {
	out := transactionJSON{
		Key: t.Key, CustomerKey: t.CustomerKey, Type: t.Type, Amount: amountJSON(t.Amount, t.Currency), Currency: t.Currency,
		RefundedAmount: amountJSON(t.Refunded, t.Currency), Status: t.Status(), Metadata: t.Metadata,
		Rewards: make([]rewardJSON, 0, len(t.Rewards)), CreatedAt: t.OccurredAt, RecordedAt: t.CreatedAt,
	}
	for _, rw := range t.Rewards {
		out.Rewards = append(out.Rewards, s.rewardJSON(rw))
	}
	return out
}

type transactionEnvelope struct {
	Transaction transactionJSON `json:"transaction"`
}

// maxFutureSkew tolerates clocks a little ahead of ours in created_at.
const maxFutureSkew = time.Hour

func (s *Server) CreateTransaction(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		CustomerKey string          `json:"customer_key"`
		Key         string          `json:"key"`
		Type        string          `json:"type"`
		Amount      money.Number    `json:"amount"`
		Currency    string          `json:"currency"`
		CreatedAt   *time.Time      `json:"created_at"`
		Metadata    json.RawMessage `json:"metadata"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	p := program(r)
	var v referral.Validation
	if in.CustomerKey == "" {
		v.Add("customer_key", "Customer key is required.")
	}
	if msg := referral.ValidKey(in.Key); msg != "" {
		v.Add("key", msg)
	}
	if in.Type == "" {
		in.Type = rewards.Purchase
	}
	if in.Type != rewards.Purchase && in.Type != rewards.Subscription {
		v.Add("type", "Type must be purchase or subscription.")
	}
	if in.CreatedAt != nil && in.CreatedAt.After(s.now().Add(maxFutureSkew)) {
		v.Add("created_at", "created_at is in the future.")
	}
	meta, dels, err := referral.ParseMetadata(in.Metadata)
	v.AddError(err)
	if len(dels) > 0 {
		v.Add("metadata", "Metadata values may not be null.")
	}
	if err := v.Err("invalid_transaction"); err != nil {
		return err
	}
	cur, err := currencyOr(in.Currency, p.Currency)
	if err != nil {
		return err
	}
	amount, err := store.ParseAmount("amount", in.Amount, cur)
	if err != nil {
		return err
	}
	nt := store.NewTransaction{CustomerKey: in.CustomerKey, Key: in.Key, Type: in.Type, Amount: amount, Currency: cur,
		OccurredAt: in.CreatedAt, Metadata: meta}
	return respond(w, r, func(ctx context.Context) (store.Recorded, error) {
		t, created, err := s.DB.RecordTransaction(ctx, p, nt)
		return store.Recorded{Transaction: t, Created: created}, err
	}, func(rec store.Recorded) (int, any) {
		status := http.StatusCreated
		if !rec.Created {
			status = http.StatusOK // the same payment again: the original result
		}
		return status, transactionEnvelope{s.transactionJSON(rec.Transaction)}
	})
}

func (s *Server) GetTransaction(w http.ResponseWriter, r *http.Request) error {
	t, err := s.DB.Transaction(r.Context(), program(r).ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, transactionEnvelope{s.transactionJSON(t)})
	return nil
}

func (s *Server) ListTransactions(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "txn")
	if err != nil {
		return err
	}
	return s.writeTransactions(w, r, store.TransactionFilter{Page: pg})
}

func (s *Server) ListCustomerTransactions(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "txn")
	if err != nil {
		return err
	}
	c, err := s.DB.Customer(r.Context(), program(r).ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	return s.writeTransactions(w, r, store.TransactionFilter{Page: pg, CustomerID: c.ID})
}

func (s *Server) writeTransactions(w http.ResponseWriter, r *http.Request, f store.TransactionFilter) error {
	ts, more, err := s.DB.Transactions(r.Context(), program(r).ID, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(ts, more, s.transactionJSON, func(t *rewards.Transaction) string { return t.ID }))
	return nil
}

// RefundTransaction refunds all or part of a payment and claws back its
// rewards. DELETE /v1/transactions/{key} is the same as a full refund.
func (s *Server) RefundTransaction(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Amount money.Number `json:"amount"`
		Reason string       `json:"reason"`
	}
	// DELETE is the full-refund alias: any body is ignored.
	if len(body) > 0 && r.Method != http.MethodDelete {
		if err := decode(body, &in); err != nil {
			return err
		}
	}
	req := store.RefundRequest{Key: r.PathValue("key"), Amount: in.Amount, Reason: in.Reason}
	return respond(w, r, func(ctx context.Context) (*rewards.Transaction, error) {
		return s.DB.Refund(ctx, program(r), req)
	}, func(t *rewards.Transaction) (int, any) {
		return http.StatusOK, transactionEnvelope{s.transactionJSON(t)}
	})
}
