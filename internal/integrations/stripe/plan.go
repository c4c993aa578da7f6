package stripe

import (
	"time"

	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// RewardState is what deciding a reward's actions in Stripe needs: the
// reward as it is now, its discount code, and its recipient's Stripe
// customer.
type RewardState struct {
	RewardID, ProgramID string
	Type                string // rewards.Credit, rewards.Cash or rewards.Discount
	Status              string // rewards.Pending, rewards.Available, …
	Amount, Reversed    int64
	Currency            string
	// Code is a discount reward's code, once issued.
	Code *rewards.DiscountCode
	// StripeCustomerID is the recipient's bound Stripe customer; "" when
	// they have none.
	StripeCustomerID string
	// Now is when the plan is made: an expired code gets no promotion code.
	Now time.Time
}

// NoStripeCustomer is why a reward's action is skipped when its recipient
// has no Stripe customer: the reward stays in Advocate.
const NoStripeCustomer = "The customer has no Stripe customer bound to them: the reward stays in Advocate."

// PlanActions decides the actions to queue for a reward, given the actions
// already queued for it (any status, oldest first), so that what Stripe
// holds follows the reward:
//
//   - a credit reward's value is in the customer's Stripe balance while the
//     reward is available (or paid), and nothing of it once it is reversed
//     or rejected: the actions not failed or skipped sum to what is there,
//     and the difference is one credit or one debit. A reward reversed or
//     rejected while pending was never credited and gets nothing.
//   - a discount reward that is available with an unused, unexpired code
//     gets a promotion code, once; when the reward is reversed or its code
//     voided, a promotion code made (or to be made) is deactivated, once.
//   - a cash reward is paid out by the business, not in Stripe: nothing.
//
// When there is something to do and the recipient has no Stripe customer,
// it returns one skipped action (NoStripeCustomer), once per reward, so
// that the reward shows why nothing reached Stripe.
func PlanActions(r RewardState, queued []Action) []Action {
	var want []Action
	switch r.Type {
	case rewards.Credit:
		want = planCredit(r, queued)
	case rewards.Discount:
		want = planDiscount(r, queued)
	}
	if len(want) == 0 || r.StripeCustomerID != "" {
		return want
	}
	for _, q := range queued {
		if q.Status == ActionSkipped && q.Error == NoStripeCustomer {
			return nil
		}
	}
	a := want[0]
	a.Status, a.Error = ActionSkipped, NoStripeCustomer
	return []Action{a}
}

// planCredit moves the customer's Stripe balance to the reward's net
// value while it is released, and to nothing otherwise.
func planCredit(r RewardState, queued []Action) []Action {
	var target int64
	if r.Status == rewards.Available || r.Status == rewards.Paid {
		target = max(r.Amount-r.Reversed, 0)
	}
	var applied int64
	for _, q := range queued {
		if q.Status == ActionFailed || q.Status == ActionSkipped {
			continue
		}
		switch q.Kind {
		case ActionCredit:
			applied += q.Amount
		case ActionDebit:
			applied -= q.Amount
		}
	}
	a := newAction(r)
	switch delta := target - applied; {
	case delta > 0:
		a.Kind, a.Amount = ActionCredit, delta
	case delta < 0:
		a.Kind, a.Amount = ActionDebit, -delta
	default:
		return nil
	}
	a.Currency = r.Currency
	return []Action{a}
}

// planDiscount makes the reward's code a promotion code, and deactivates
// it once the reward is cancelled.
func planDiscount(r RewardState, queued []Action) []Action {
	var made, live, voided bool
	for _, q := range queued {
		switch q.Kind {
		case ActionDiscount:
			made = true
			live = live || q.Status == ActionPending || q.Status == ActionDone
		case ActionVoid:
			voided = true
		}
	}
	dc := r.Code
	cancelled := r.Status == rewards.Reversed || r.Status == rewards.Rejected || (dc != nil && dc.VoidedAt != nil)
	a := newAction(r)
	switch {
	case cancelled && live && !voided:
		a.Kind = ActionVoid
	case !cancelled && !made && r.Status == rewards.Available && dc != nil && dc.RedeemedAt == nil &&
		(dc.ExpiresAt == nil || r.Now.Before(*dc.ExpiresAt)):
		a.Kind, a.Code, a.PercentOff, a.Amount, a.Currency, a.ExpiresAt = ActionDiscount, dc.Code, dc.PercentOff, dc.AmountOff, dc.Currency, dc.ExpiresAt
	default:
		return nil
	}
	return []Action{a}
}

func newAction(r RewardState) Action {
	return Action{ProgramID: r.ProgramID, RewardID: r.RewardID, StripeCustomerID: r.StripeCustomerID, Status: ActionPending}
}

// Ledger is what a done credit or debit posts in Advocate's ledger, for
// customerID, the reward's recipient: a credit in the customer's Stripe
// balance is spent there (their available credit here moves to the
// program's Billing account), and a debit brings it back. So a reward
// credited, then reversed and debited, nets to zero in both places. Other
// kinds post nothing (false).
func (a Action) Ledger(customerID string) (ledger.Transaction, bool) {
	lt := ledger.Transaction{RewardID: a.RewardID}
	switch a.Kind {
	case ActionCredit:
		lt.Kind, lt.Note = ledger.KindAppliedInBilling, "credit applied in Stripe"
		lt.Postings = ledger.Move(customerID, ledger.CreditAvailable, ledger.ProgramOwner, ledger.Billing, a.Amount, a.Currency)
	case ActionDebit:
		lt.Kind, lt.Note = ledger.KindClawedBackInBilling, "credit taken back in Stripe"
		lt.Postings = ledger.Move(ledger.ProgramOwner, ledger.Billing, customerID, ledger.CreditAvailable, a.Amount, a.Currency)
	default:
		return ledger.Transaction{}, false
	}
	return lt, true
}
