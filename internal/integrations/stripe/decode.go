package stripe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
)

// ErrMalformed reports an event that is not what Stripe sends: not JSON,
// no id, type or data.object, or an object whose fields have the wrong
// JSON types. A well-formed event Advocate has no use for is not an error
// but a Change with Ignore set.
var ErrMalformed = errors.New("stripe: malformed event")

// Metadata keys a Stripe integration sets to tell Advocate who is who.
const (
	metaCustomerKey  = "advocate_customer_key"
	metaReferralCode = "advocate_referral_code"
)

// ParseEvent reads an event's envelope; Object and Raw keep the JSON as
// sent (Raw is a copy of body). Anything without an id, a type and a
// data.object is ErrMalformed.
func ParseEvent(body []byte) (*Event, error) {
	var env struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Created    int64  `json:"created"`
		Livemode   bool   `json:"livemode"`
		APIVersion string `json:"api_version"`
		Data       struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case env.ID == "":
		return nil, fmt.Errorf("%w: no id", ErrMalformed)
	case env.Type == "":
		return nil, fmt.Errorf("%w: event %s has no type", ErrMalformed, env.ID)
	case len(env.Data.Object) == 0 || env.Data.Object[0] != '{':
		return nil, fmt.Errorf("%w: event %s has no data.object", ErrMalformed, env.ID)
	}
	return &Event{
		ID:         env.ID,
		Type:       env.Type,
		Created:    time.Unix(env.Created, 0).UTC(),
		Livemode:   env.Livemode,
		APIVersion: env.APIVersion,
		Object:     env.Data.Object,
		Raw:        bytes.Clone(body),
	}, nil
}

// Decode says what ev means to Advocate. It reads both payload shapes
// Stripe has used: before the 2025-03-31 "basil" API version (an invoice's
// subscription, payment_intent and charge at its top level, charge.invoice)
// and since (invoice.parent.subscription_details, invoice.payments, no
// charge.invoice). The error is only ever ErrMalformed.
func Decode(ev *Event) (Change, error) {
	if ev == nil {
		return Change{}, fmt.Errorf("%w: no event", ErrMalformed)
	}
	var (
		ch  Change
		err error
	)
	switch ev.Type {
	case "customer.created", "customer.updated":
		ch, err = decodeCustomer(ev)
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		ch, err = decodeCheckout(ev)
	case "invoice.paid", "invoice.payment_succeeded":
		ch, err = decodeInvoice(ev)
	case "invoice_payment.paid":
		ch, err = decodeInvoicePayment(ev)
	case "charge.refunded":
		ch, err = decodeRefund(ev)
	case "charge.dispute.created", "charge.dispute.closed":
		ch, err = decodeDispute(ev)
	default:
		return ignore("unhandled_type", "Advocate does not use %s events.", ev.Type), nil
	}
	var skip ignored
	switch {
	case errors.As(err, &skip):
		return skip.Change, nil
	case err != nil:
		return Change{}, fmt.Errorf("%w: %s %s: %v", ErrMalformed, ev.Type, ev.ID, err)
	}
	return ch, nil
}

func ignore(reason, format string, args ...any) Change {
	return Change{Ignore: reason, Detail: fmt.Sprintf(format, args...)}
}

// ignored is returned by a decoder's helpers when the event is well formed
// but unusable; Decode turns it into its Change.
type ignored struct{ Change }

func (i ignored) Error() string { return i.Detail }

// ref is an expandable field: Stripe sends an id, or the object itself when
// the request expanded it, or null.
type ref struct {
	ID       string
	Email    string
	Name     string
	Metadata map[string]string
}

func (r *ref) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*r = ref{}
		return nil
	case len(b) > 0 && b[0] == '"':
		*r = ref{}
		return json.Unmarshal(b, &r.ID)
	}
	var o struct {
		ID       string            `json:"id"`
		Email    string            `json:"email"`
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	if o.ID == "" {
		return errors.New("an expanded object without an id")
	}
	*r = ref(o)
	return nil
}

// firstMeta is the first non-blank value of key among the metadata maps.
func firstMeta(key string, maps ...map[string]string) string {
	for _, m := range maps {
		if v := strings.TrimSpace(m[key]); v != "" {
			return v
		}
	}
	return ""
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// aliases lists ids without blanks, duplicates or key itself.
func aliases(key string, ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && id != key && !contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// amount converts a Stripe amount of currency into Advocate's and the
// upper-case code. An unknown currency, or an amount with no exact value in
// ours, makes the event ignored ("unsupported_currency"); a negative amount
// or one beyond money.MaxAmount (far above any Stripe limit) is malformed.
func amount(v int64, currency, what string) (int64, string, error) {
	cur := strings.ToUpper(currency)
	if v < 0 {
		return 0, "", fmt.Errorf("negative %s %d", what, v)
	}
	if _, err := money.Digits(cur); err != nil {
		return 0, "", ignored{ignore("unsupported_currency", "Advocate does not support the currency %q.", currency)}
	}
	ours, err := FromStripeAmount(v, cur)
	switch {
	case errors.Is(err, ErrInexact):
		return 0, "", ignored{ignore("unsupported_currency",
			"The %s %d in Stripe's minor units of %s has no exact value in Advocate, which counts %s without Stripe's decimals.", what, v, cur, cur)}
	case err != nil:
		return 0, "", fmt.Errorf("%s: %w", what, err)
	}
	return ours, cur, nil
}

func unixOr(sec int64, fallback time.Time) time.Time {
	if sec > 0 {
		return time.Unix(sec, 0).UTC()
	}
	return fallback
}

func decodeCustomer(ev *Event) (Change, error) {
	var c struct {
		ID       string            `json:"id"`
		Email    string            `json:"email"`
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(ev.Object, &c); err != nil {
		return Change{}, err
	}
	if c.ID == "" {
		return Change{}, errors.New("a customer without an id")
	}
	return Change{Customer: &Party{
		StripeCustomerID: c.ID,
		CustomerKey:      firstMeta(metaCustomerKey, c.Metadata),
		ReferralCode:     firstMeta(metaReferralCode, c.Metadata),
		Email:            strings.TrimSpace(c.Email),
		Name:             strings.TrimSpace(c.Name),
	}}, nil
}

func decodeCheckout(ev *Event) (Change, error) {
	var s struct {
		ID                string            `json:"id"`
		Mode              string            `json:"mode"`
		PaymentStatus     string            `json:"payment_status"`
		AmountTotal       int64             `json:"amount_total"`
		Currency          string            `json:"currency"`
		Customer          ref               `json:"customer"`
		CustomerEmail     string            `json:"customer_email"`
		ClientReferenceID string            `json:"client_reference_id"`
		Metadata          map[string]string `json:"metadata"`
		PaymentIntent     ref               `json:"payment_intent"`
		Invoice           ref               `json:"invoice"`
		CustomerDetails   struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"customer_details"`
	}
	if err := json.Unmarshal(ev.Object, &s); err != nil {
		return Change{}, err
	}
	if s.ID == "" {
		return Change{}, errors.New("a checkout session without an id")
	}
	party := Party{
		StripeCustomerID: s.Customer.ID,
		CustomerKey:      firstMeta(metaCustomerKey, s.Metadata, s.Customer.Metadata),
		// The metadata key says it is Advocate's code; client_reference_id
		// is often an application's own id, so it comes second.
		ReferralCode: firstOf(s.Metadata[metaReferralCode], s.ClientReferenceID, s.Customer.Metadata[metaReferralCode]),
		Email:        firstOf(s.CustomerDetails.Email, s.CustomerEmail, s.Customer.Email),
		Name:         firstOf(s.CustomerDetails.Name, s.Customer.Name),
		FallbackKey:  s.ID,
	}
	switch s.Mode {
	case "setup":
		return ignore("mode_setup", "Checkout session %s is in setup mode: it saves a payment method and charges nothing.", s.ID), nil
	case "payment", "subscription":
	default:
		return ignore("unhandled_type", "Checkout session %s has mode %q, which Advocate does not use.", s.ID, s.Mode), nil
	}
	if s.PaymentStatus == "unpaid" {
		return ignore("unpaid", "Checkout session %s is not paid yet; its checkout.session.async_payment_succeeded event will count it.", s.ID), nil
	}
	if s.Mode == "subscription" {
		// The subscription's first invoice (invoice.paid) is the payment;
		// the session only tells who signed up, and with which code. A
		// trial (no_payment_required) is a signup too.
		return Change{Signup: &party}, nil
	}
	if s.PaymentStatus != "paid" || s.AmountTotal == 0 {
		return ignore("zero_amount", "Checkout session %s charged nothing.", s.ID), nil
	}
	amt, cur, err := amount(s.AmountTotal, s.Currency, "amount_total")
	if err != nil {
		return Change{}, err
	}
	// A session with invoice creation on also sends invoice.paid for the
	// same money: keyed by the invoice, both events name one transaction.
	key := firstOf(s.Invoice.ID, s.PaymentIntent.ID, s.ID)
	return Change{Payment: &Payment{
		Party:      party,
		Key:        key,
		Aliases:    aliases(key, s.ID, s.PaymentIntent.ID),
		Type:       "purchase",
		Amount:     amt,
		Currency:   cur,
		OccurredAt: ev.Created,
	}}, nil
}

func decodeInvoice(ev *Event) (Change, error) {
	type payment struct {
		Status  string `json:"status"`
		Payment struct {
			PaymentIntent ref `json:"payment_intent"`
			Charge        ref `json:"charge"`
		} `json:"payment"`
	}
	type subscriptionDetails struct {
		Subscription ref               `json:"subscription"` // basil only
		Metadata     map[string]string `json:"metadata"`
	}
	var in struct {
		ID            string            `json:"id"`
		AmountPaid    int64             `json:"amount_paid"`
		Currency      string            `json:"currency"`
		BillingReason string            `json:"billing_reason"`
		Customer      ref               `json:"customer"`
		CustomerEmail string            `json:"customer_email"`
		CustomerName  string            `json:"customer_name"`
		Metadata      map[string]string `json:"metadata"`
		// Before basil.
		Subscription        ref                  `json:"subscription"`
		SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
		PaymentIntent       ref                  `json:"payment_intent"`
		Charge              ref                  `json:"charge"`
		// Since basil.
		Parent *struct {
			SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
		} `json:"parent"`
		Payments *struct {
			Data []payment `json:"data"`
		} `json:"payments"`
		StatusTransitions struct {
			PaidAt int64 `json:"paid_at"`
		} `json:"status_transitions"`
	}
	if err := json.Unmarshal(ev.Object, &in); err != nil {
		return Change{}, err
	}
	if in.ID == "" {
		return Change{}, errors.New("an invoice without an id")
	}
	if in.AmountPaid == 0 {
		return ignore("zero_amount", "Invoice %s charged nothing (a trial, or paid from credit).", in.ID), nil
	}
	amt, cur, err := amount(in.AmountPaid, in.Currency, "amount_paid")
	if err != nil {
		return Change{}, err
	}
	sub := in.Subscription
	details := in.SubscriptionDetails
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		details = in.Parent.SubscriptionDetails
		if sub.ID == "" {
			sub = details.Subscription
		}
	}
	var subMeta map[string]string
	if details != nil {
		subMeta = details.Metadata
	}
	ids := []string{in.PaymentIntent.ID, in.Charge.ID}
	if in.Payments != nil {
		for _, p := range in.Payments.Data {
			// A canceled or failed attempt's PaymentIntent never carries
			// this invoice's money.
			if p.Status == "paid" || p.Status == "" {
				ids = append(ids, p.Payment.PaymentIntent.ID, p.Payment.Charge.ID)
			}
		}
	}
	typ := "purchase"
	if sub.ID != "" {
		typ = "subscription"
	}
	return Change{Payment: &Payment{
		Party: Party{
			StripeCustomerID: in.Customer.ID,
			CustomerKey:      firstMeta(metaCustomerKey, subMeta, sub.Metadata, in.Metadata, in.Customer.Metadata),
			ReferralCode:     firstMeta(metaReferralCode, subMeta, sub.Metadata, in.Metadata, in.Customer.Metadata),
			Email:            firstOf(in.CustomerEmail, in.Customer.Email),
			Name:             firstOf(in.CustomerName, in.Customer.Name),
		},
		Key:            in.ID,
		Aliases:        aliases(in.ID, ids...),
		Type:           typ,
		Amount:         amt,
		Currency:       cur,
		OccurredAt:     unixOr(in.StatusTransitions.PaidAt, ev.Created),
		SubscriptionID: sub.ID,
		BillingReason:  in.BillingReason,
	}}, nil
}

func decodeInvoicePayment(ev *Event) (Change, error) {
	var p struct {
		ID      string `json:"id"`
		Invoice ref    `json:"invoice"`
		Payment struct {
			PaymentIntent ref `json:"payment_intent"`
			Charge        ref `json:"charge"`
		} `json:"payment"`
	}
	if err := json.Unmarshal(ev.Object, &p); err != nil {
		return Change{}, err
	}
	if p.Invoice.ID == "" {
		return Change{}, errors.New("an invoice payment without an invoice")
	}
	return Change{Link: &Link{
		Key:     p.Invoice.ID,
		Aliases: aliases(p.Invoice.ID, p.Payment.PaymentIntent.ID, p.Payment.Charge.ID),
	}}, nil
}

func decodeRefund(ev *Event) (Change, error) {
	var c struct {
		ID             string `json:"id"`
		Amount         int64  `json:"amount"`
		AmountRefunded int64  `json:"amount_refunded"`
		Currency       string `json:"currency"`
		PaymentIntent  ref    `json:"payment_intent"`
		Invoice        ref    `json:"invoice"` // before basil
		Refunds        *struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		} `json:"refunds"`
	}
	if err := json.Unmarshal(ev.Object, &c); err != nil {
		return Change{}, err
	}
	if c.ID == "" {
		return Change{}, errors.New("a charge without an id")
	}
	if c.AmountRefunded > c.Amount {
		return Change{}, fmt.Errorf("amount_refunded %d above the charge's amount %d", c.AmountRefunded, c.Amount)
	}
	total, cur, err := amount(c.Amount, c.Currency, "amount")
	if err != nil {
		return Change{}, err
	}
	refunded, _, err := amount(c.AmountRefunded, c.Currency, "amount_refunded")
	if err != nil {
		return Change{}, err
	}
	r := &Refund{
		ChargeID:        c.ID,
		PaymentIntentID: c.PaymentIntent.ID,
		InvoiceID:       c.Invoice.ID,
		AmountRefunded:  refunded,
		Amount:          total,
		Currency:        cur,
	}
	if c.Refunds != nil {
		for _, re := range c.Refunds.Data {
			if re.ID != "" {
				r.RefundIDs = append(r.RefundIDs, re.ID)
			}
		}
	}
	return Change{Refund: r}, nil
}

func decodeDispute(ev *Event) (Change, error) {
	var d struct {
		ID            string `json:"id"`
		Amount        int64  `json:"amount"`
		Currency      string `json:"currency"`
		Status        string `json:"status"`
		Charge        ref    `json:"charge"`
		PaymentIntent ref    `json:"payment_intent"`
	}
	if err := json.Unmarshal(ev.Object, &d); err != nil {
		return Change{}, err
	}
	if d.ID == "" || d.Charge.ID == "" {
		return Change{}, errors.New("a dispute without an id or a charge")
	}
	amt, cur, err := amount(d.Amount, d.Currency, "amount")
	if err != nil {
		return Change{}, err
	}
	closed := ev.Type == "charge.dispute.closed"
	return Change{Dispute: &Dispute{
		ID:              d.ID,
		ChargeID:        d.Charge.ID,
		PaymentIntentID: d.PaymentIntent.ID,
		Amount:          amt,
		Currency:        cur,
		Status:          d.Status,
		Closed:          closed,
		Lost:            closed && d.Status == "lost",
	}}, nil
}
