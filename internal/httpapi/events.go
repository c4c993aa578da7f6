package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// An event's data holds the object it is about as it is when the event is
// rendered, by the same functions the API's handlers use, so that a
// webhook's reward is byte for byte what GET /v1/rewards/{id} returns. The
// outbox records only ids and amounts: rendering late shows the latest
// state, and the event's type says what happened.

// eventJSON is an event on the wire: GET /v1/events.
type eventJSON struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// webhookBody is what a webhook delivers: the event without its id, which
// travels in the webhook-id header.
type webhookBody struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

type rewardEventData struct {
	Reward rewardJSON `json:"reward"`
	// Amount is what this event reversed (reward.reversed only).
	Amount *json.Number `json:"amount,omitempty"`
}

type transactionEventData struct {
	Transaction transactionJSON `json:"transaction"`
	Refund      *refundJSON     `json:"refund,omitempty"`  // transaction.refunded only
	Dispute     *disputeJSON    `json:"dispute,omitempty"` // transaction.disputed only
}

// disputeJSON is a dispute (chargeback) of a payment in the billing system.
type disputeJSON struct {
	ID       string      `json:"id"`
	Amount   json.Number `json:"amount"`
	Currency string      `json:"currency"`
}

// refundJSON is one refund: its amount, and the payment's refunded total
// after it.
type refundJSON struct {
	Amount         json.Number `json:"amount"`
	Currency       string      `json:"currency"`
	RefundedAmount json.Number `json:"refunded_amount"`
}

type balanceEventData struct {
	CustomerKey string      `json:"customer_key"`
	Amount      json.Number `json:"amount"`
	Currency    string      `json:"currency"`
	Note        string      `json:"note"`
	Balance     balanceJSON `json:"balance"`
}

type discountCodeEventData struct {
	DiscountCode discountCodeJSON `json:"discount_code"`
}

type webhookTestEventData struct {
	Endpoint webhookEndpointJSON `json:"webhook_endpoint"`
	Message  string              `json:"message"`
}

// EventBody is the webhook body of an outbox event: {"type", "timestamp",
// "data"}. A missing object (a deleted customer) is rendered from what the
// event recorded, without personal data; only the database failing is an
// error.
func (s *Server) EventBody(ctx context.Context, ev store.Event) ([]byte, error) {
	p, err := s.DB.Program(ctx, ev.ProgramID)
	if err != nil {
		return nil, err
	}
	data, err := s.eventData(ctx, p, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(webhookBody{Type: ev.Type, Timestamp: ev.CreatedAt.UTC(), Data: data})
}

func (s *Server) eventJSON(ctx context.Context, p *referral.Program, ev store.Event) (eventJSON, error) {
	data, err := s.eventData(ctx, p, ev)
	return eventJSON{ID: ev.ID, Type: ev.Type, Timestamp: ev.CreatedAt.UTC(), Data: data}, err
}

// eventData renders an event's data by its type (see the OpenAPI document's
// event schemas).
func (s *Server) eventData(ctx context.Context, p *referral.Program, ev store.Event) (any, error) {
	rec := recorded{ev.Data}
	var data any
	var err error
	switch ev.Type {
	case "reward.created", "reward.available", "reward.rejected", "reward.reversed":
		data, err = s.rewardEventData(ctx, p, ev.Type, rec)
	case "transaction.created", "transaction.refunded", "transaction.disputed":
		data, err = s.transactionEventData(ctx, p, ev.Type, rec)
	case "customer.created", "customer.updated", "referral.created", "referral.successful", "referral.pending", "referral.rejected":
		var c *referral.Customer
		if c, err = s.DB.CustomerByID(ctx, p.ID, rec.str("customer_id")); err == nil {
			data = map[string]customerJSON{"customer": toCustomerJSON(p, c)}
		}
	case "customer.deleted":
		return rec.withoutPersonalData(), nil
	case "balance.credited", "balance.debited":
		data, err = s.balanceEventData(ctx, p, rec)
	case "discount_code.redeemed":
		data, err = s.discountCodeEventData(ctx, p, rec)
	case "webhook_endpoint.test":
		var e *webhooks.Endpoint
		if e, err = s.DB.WebhookEndpoint(ctx, p.ID, rec.str("webhook_endpoint_id")); err == nil {
			data = webhookTestEventData{Endpoint: toWebhookEndpointJSON(e), Message: rec.str("message")}
		}
	default:
		return ev.Data, nil
	}
	if notFound(err) {
		return rec.withoutPersonalData(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	return data, nil
}

func (s *Server) rewardEventData(ctx context.Context, p *referral.Program, typ string, rec recorded) (any, error) {
	rw, err := s.DB.Reward(ctx, p.ID, rec.str("reward_id"))
	if err != nil {
		return nil, err
	}
	out := rewardEventData{Reward: s.rewardJSON(rw)}
	if typ == "reward.reversed" {
		n := amountJSON(rec.int("reversed"), rw.Currency)
		out.Amount = &n
	}
	return out, nil
}

func (s *Server) transactionEventData(ctx context.Context, p *referral.Program, typ string, rec recorded) (any, error) {
	t, err := s.DB.TransactionByID(ctx, p.ID, rec.str("transaction_id"))
	if err != nil {
		return nil, err
	}
	out := transactionEventData{Transaction: s.transactionJSON(t)}
	if typ == "transaction.refunded" {
		out.Refund = &refundJSON{Amount: amountJSON(rec.int("amount"), t.Currency), Currency: t.Currency,
			RefundedAmount: amountJSON(rec.int("refunded_amount"), t.Currency)}
	}
	if typ == "transaction.disputed" {
		out.Dispute = &disputeJSON{ID: rec.str("dispute_id"), Amount: amountJSON(rec.int("amount"), t.Currency), Currency: t.Currency}
	}
	return out, nil
}

func (s *Server) balanceEventData(ctx context.Context, p *referral.Program, rec recorded) (any, error) {
	c, err := s.DB.CustomerByID(ctx, p.ID, rec.str("customer_id"))
	if err != nil {
		return nil, err
	}
	cur := rec.str("currency")
	b, err := s.DB.Balance(ctx, p.ID, c.ID, cur)
	if err != nil {
		return nil, err
	}
	return balanceEventData{CustomerKey: c.Key, Amount: amountJSON(rec.int("amount"), cur), Currency: cur,
		Note: rec.str("note"), Balance: toBalanceJSON(b)}, nil
}

func (s *Server) discountCodeEventData(ctx context.Context, p *referral.Program, rec recorded) (any, error) {
	dc, err := s.DB.DiscountCode(ctx, p.ID, rec.str("code"))
	if err != nil {
		return nil, err
	}
	return discountCodeEventData{toDiscountCodeJSON(dc, s.now())}, nil
}

// notFound says whether err is an object that is not there: rendered from
// the event's record instead.
func notFound(err error) bool {
	var re *referral.Error
	return errors.As(err, &re) && re.Kind == referral.KindNotFound
}

// recorded is an event's data as the outbox holds it: ids and amounts in
// minor units (json.Number).
type recorded struct{ m map[string]any }

func (r recorded) str(k string) string {
	s, _ := r.m[k].(string)
	return s
}

func (r recorded) int(k string) int64 {
	switch v := r.m[k].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	}
	return 0
}

// recordedAmounts are the fields of recorded data that hold amounts.
var recordedAmounts = []string{"amount", "reversed", "refunded_amount"}

// withoutPersonalData is what an event recorded, for an object that is
// gone: the customers' keys (which a deletion erases) left out, and
// amounts in major units as everywhere in the API.
func (r recorded) withoutPersonalData() map[string]any {
	out := make(map[string]any, len(r.m))
	for k, v := range r.m {
		if k == "customer_key" || k == "referrer_key" {
			continue
		}
		out[k] = v
	}
	for _, k := range recordedAmounts {
		if _, ok := r.m[k].(json.Number); ok {
			out[k] = amountJSON(r.int(k), r.str("currency"))
		}
	}
	return out
}

var eventTypeNames = func() []string {
	var out []string
	for _, t := range webhooks.EventTypes {
		out = append(out, t.Type)
	}
	return out
}()

func (s *Server) ListEvents(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "evt")
	if err != nil {
		return err
	}
	f := store.EventFilter{Page: pg, Type: r.URL.Query().Get("type")}
	if f.Type != "" && !contains(eventTypeNames, f.Type) {
		return referral.FieldError("invalid_parameter", "type", "Type must be one of "+strings.Join(eventTypeNames, ", ")+".")
	}
	p := program(r)
	evs, more, err := s.DB.EventsPage(r.Context(), p.ID, f)
	if err != nil {
		return err
	}
	rendered := make([]eventJSON, 0, len(evs))
	for _, ev := range evs {
		e, err := s.eventJSON(r.Context(), p, ev)
		if err != nil {
			return err
		}
		rendered = append(rendered, e)
	}
	out := newList(rendered, more, func(e eventJSON) eventJSON { return e }, func(e eventJSON) string { return e.ID })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) GetEvent(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	ev, err := s.DB.Event(r.Context(), p.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	e, err := s.eventJSON(r.Context(), p, ev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]eventJSON{"event": e})
	return nil
}
