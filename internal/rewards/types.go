package rewards

import "time"

// Transaction is a payment by a customer, keyed by the business's own id
// for it (an invoice or payment id), which makes it exactly-once.
type Transaction struct {
	ID          string
	ProgramID   string
	CustomerID  string
	CustomerKey string
	Key         string
	Type        string
	Amount      int64
	Currency    string
	Refunded    int64
	Metadata    map[string]any
	RequestHash string
	OccurredAt  time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Rewards     []*Reward
}

// Status is paid, partially_refunded or refunded.
func (t *Transaction) Status() string {
	switch {
	case t.Refunded == 0:
		return "paid"
	case t.Refunded < t.Amount:
		return "partially_refunded"
	}
	return "refunded"
}

// Reward is value given to a customer under a rule for a friend's action.
type Reward struct {
	ID             string
	ProgramID      string
	RuleID         string
	CustomerID     string // who receives it
	CustomerKey    string
	ReferrerID     string
	FriendID       string
	FriendKey      string
	TransactionID  string
	TransactionKey string
	Source         string
	Trigger        string
	Recipient      string
	RewardType     string
	Unit           string
	Amount         int64 // minor units, or basis points for a percent-off discount
	Currency       string
	Reversed       int64
	Status         string
	NeedsApproval  bool
	AvailableAt    time.Time
	RejectReason   string
	DiscountCode   *DiscountCode
	// Billing is what the reward became in the billing system (Stripe),
	// one entry per call made or planned, oldest first.
	Billing   []BillingAction
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BillingAction is one change made (or to be made) in the billing system
// for a reward: a balance credit or clawback, a promotion code or its void.
type BillingAction struct {
	Provider string // "stripe"
	Kind     string // credit, debit, discount, void
	Status   string // pending, done, failed, skipped
	Amount   int64
	Currency string
	IDs      []string // the objects made there: cbtxn_…, or the coupon and promo_…
	Error    string
}

// Net is what the reward is still worth after clawbacks.
func (r *Reward) Net() int64 { return r.Amount - r.Reversed }

// DiscountCode is a single-use code issued for a discount reward.
type DiscountCode struct {
	ID          string
	ProgramID   string
	CustomerID  string
	CustomerKey string
	RewardID    string
	Code        string
	PercentOff  int64 // basis points
	AmountOff   int64
	Currency    string
	ExpiresAt   *time.Time
	RedeemedAt  *time.Time
	VoidedAt    *time.Time
	CreatedAt   time.Time
}

// Status is active, redeemed, void (its reward was reversed) or expired.
func (d *DiscountCode) Status(now time.Time) string {
	switch {
	case d.RedeemedAt != nil:
		return "redeemed"
	case d.VoidedAt != nil:
		return "void"
	case d.ExpiresAt != nil && !now.Before(*d.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Stats are a customer's referral figures, as the seed shows them.
type Stats struct {
	TotalReferrals      int
	SuccessfulReferrals int
	PendingReferrals    int
	TotalRewards        int64
	Currency            string
}

// Balance is what a customer holds in one currency.
type Balance struct {
	Currency        string
	CreditAvailable int64
	CreditPending   int64
	CashAvailable   int64
	CashPending     int64
	CashPaid        int64
}
