// Package stripe is Advocate's billing sync with Stripe: it verifies the
// events Stripe sends (Stripe-Signature), reads what they mean in both
// payload shapes Stripe has used (before and since the 2025-03-31 "basil"
// API version), and applies rewards inside Stripe (customer balance
// credits, promotion codes) through an outbox worker that never applies
// one twice. It holds the domain decisions; the store applies them in one
// database transaction per event.
package stripe

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event is a Stripe event as received: its envelope, with its object raw.
type Event struct {
	ID         string
	Type       string
	Created    time.Time
	Livemode   bool
	APIVersion string
	// Object is data.object, decoded by Decode.
	Object json.RawMessage
	// Raw is the whole event as sent (for the record and for replays).
	Raw json.RawMessage
}

// Change is what an event means to Advocate: exactly one field is set, or
// Ignore says why the event changes nothing.
type Change struct {
	Customer *Party   // customer.created / customer.updated: bind or update
	Signup   *Party   // checkout in subscription mode: bind or create the customer (the invoice is the payment)
	Payment  *Payment // a paid checkout (purchase) or a paid invoice (subscription)
	Link     *Link    // invoice_payment.paid: the payment ids that name an invoice
	Refund   *Refund  // charge.refunded
	Dispute  *Dispute // charge.dispute.created / charge.dispute.closed
	// Ignore is a machine reason when nothing is to be done:
	// "unhandled_type", "mode_setup", "unpaid", "zero_amount",
	// "unsupported_currency", "not_a_subscription".
	Ignore string
	// Detail is a human sentence for Ignore (shown in the dashboard).
	Detail string
}

// Party is who a Stripe object names as the customer.
type Party struct {
	// StripeCustomerID is cus_…; empty for a guest checkout.
	StripeCustomerID string
	// CustomerKey is metadata.advocate_customer_key of the session,
	// subscription or customer, when set: it names our customer.
	CustomerKey string
	// ReferralCode is client_reference_id or metadata.advocate_referral_code:
	// the referrer of a customer created from this event.
	ReferralCode string
	Email, Name  string
	// FallbackKey keys a new customer when there is no Stripe customer id
	// (a guest checkout: the session id).
	FallbackKey string
}

// Key is the key a new customer gets: the Stripe customer id, else the
// fallback.
func (p Party) Key() string {
	if p.StripeCustomerID != "" {
		return p.StripeCustomerID
	}
	return p.FallbackKey
}

// Payment is a paid checkout or invoice, as one transaction.
type Payment struct {
	Party Party
	// Key is the transaction key: the PaymentIntent id of a checkout (the
	// session id when there is none), or the invoice id.
	Key string
	// Aliases are the other Stripe ids that name this payment (the session
	// id, the PaymentIntent and charge of an invoice), so that a refund or
	// dispute naming any of them finds it.
	Aliases []string
	// Type is "purchase" or "subscription" (rewards.Purchase, rewards.Subscription).
	Type string
	// Amount is in Advocate's minor units of Currency (see FromStripeAmount).
	Amount   int64
	Currency string // upper-case ISO 4217
	// OccurredAt is when it was paid.
	OccurredAt time.Time
	// SubscriptionID and BillingReason are set for invoices
	// (subscription_create, subscription_cycle, …).
	SubscriptionID string
	BillingReason  string
}

// Link says that Stripe ids (a PaymentIntent, a charge) belong to the
// payment keyed Key (an invoice id); the basil shape names an invoice's
// payment only in invoice_payment objects.
type Link struct {
	Key     string
	Aliases []string
}

// Refund is a charge's refunded total, as charge.refunded reports it.
type Refund struct {
	ChargeID        string
	PaymentIntentID string
	InvoiceID       string // the charge's invoice (pre-basil payloads only)
	// AmountRefunded is cumulative over the charge's refunds, in our
	// minor units; the newly refunded part is what exceeds what was seen.
	AmountRefunded int64
	Amount         int64 // the charge's amount
	Currency       string
	// RefundIDs are the refunds listed on the charge, when the payload has them.
	RefundIDs []string
}

// Dispute is a dispute of a charge, opened or closed.
type Dispute struct {
	ID              string
	ChargeID        string
	PaymentIntentID string
	Amount          int64 // our minor units
	Currency        string
	Status          string // Stripe's: needs_response, won, lost, …
	Closed          bool   // the event was charge.dispute.closed
	Lost            bool   // closed with status lost
}

// Action kinds: what the reward outbox asks of Stripe.
const (
	// ActionCredit adds Amount to the customer's Stripe balance as a
	// credit (a balance transaction with a negative amount).
	ActionCredit = "credit"
	// ActionDebit takes Amount back (a positive balance transaction): a
	// clawback of an earlier credit.
	ActionDebit = "debit"
	// ActionDiscount creates a coupon and a promotion code with the
	// reward's code, restricted to the customer, single use.
	ActionDiscount = "discount"
	// ActionVoid deactivates the promotion code of an earlier ActionDiscount.
	ActionVoid = "void"
)

// Action statuses.
const (
	ActionPending = "pending"
	ActionDone    = "done"
	ActionFailed  = "failed"
	ActionSkipped = "skipped"
)

// Action is one call (or, for a discount, two) to make in Stripe for a
// reward, claimed from the outbox by an Applier.
type Action struct {
	ID, ProgramID, RewardID string
	Seq                     int // the action's number among its reward's: 1, 2, …
	Kind                    string
	StripeCustomerID        string
	// Amount is in Advocate's minor units of Currency (credit, debit and an
	// amount-off discount).
	Amount   int64
	Currency string
	// Discount: the code, and percent off in basis points or amount off.
	Code       string
	PercentOff int64
	ExpiresAt  *time.Time
	// PromotionCodeID is, for ActionVoid, the promotion code to deactivate.
	PromotionCodeID string
	Attempts        int
	// The program's credentials, read at claim.
	SecretKey, APIBaseURL string
	// Status is the action's state in the outbox (ActionPending, …) and
	// Error its last error or why it was skipped; PlanActions reads them
	// of the actions already queued.
	Status, Error string
}

// IdempotencyKey is the Idempotency-Key of an action's call: derived from
// the reward and the action, so a retry after a lost response never applies
// twice. step tells the two calls of a discount apart ("coupon",
// "promotion_code"); "" for single-call actions.
func (a Action) IdempotencyKey(step string) string {
	k := "advocate-" + a.RewardID + "-" + a.Kind + "-" + strconv.Itoa(a.Seq)
	if step != "" {
		k += "-" + step
	}
	return k
}

// ActionOutcome is the result of one attempt at an action.
type ActionOutcome struct {
	Done bool
	// StripeIDs are the objects made: the balance transaction, or the
	// coupon and the promotion code.
	StripeIDs []string
	// Skipped is why the action is not made and never will be.
	Skipped string
	Error   string
	// Permanent says retrying cannot help (a 4xx other than 409/429, a key
	// without permission): the action fails now.
	Permanent bool
}

// HandledTypes are the event types Advocate applies: the ones to enable on
// the Stripe endpoint, and the ones a sync asks Stripe's events API for.
var HandledTypes = []string{
	"customer.created",
	"customer.updated",
	"checkout.session.completed",
	"checkout.session.async_payment_succeeded",
	"invoice.paid",
	"invoice_payment.paid",
	"charge.refunded",
	"charge.dispute.created",
	"charge.dispute.closed",
}

// WebhookPath is the path of a program's Stripe webhook endpoint on the
// server: the URL to paste into Stripe is the server's base URL and this.
func WebhookPath(programID string) string { return "/integrations/stripe/webhook/" + programID }
