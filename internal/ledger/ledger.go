// Package ledger describes Advocate's double-entry ledger: every change of
// value is a transaction of two or more postings whose amounts sum to zero
// in each currency. Entries are never changed; a correction is a new
// transaction. Balances are sums of entries, so every figure the API shows
// can be recomputed and proven.
package ledger

import (
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/money"
)

// Account types. Customer accounts hold what the program owes a customer
// (positive = owed); program accounts are the other side of each posting.
const (
	CreditPending   = "credit_pending"
	CreditAvailable = "credit_available"
	CashPending     = "cash_pending"
	CashAvailable   = "cash_available"
	CashPaid        = "cash_paid"

	RewardsExpense = "rewards_expense" // program: value given as rewards
	Adjustments    = "adjustments"     // program: manual credits
	Redemptions    = "redemptions"     // program: credit spent at checkout
	Billing        = "billing"         // program: credit applied in the billing system (Stripe)
)

// ProgramOwner is the owner of a program's own accounts.
const ProgramOwner = ""

// Kinds of ledger transaction.
const (
	KindRewardEarned   = "reward_earned"
	KindRewardReleased = "reward_released"
	KindRewardReversed = "reward_reversed"
	KindManualCredit   = "manual_credit"
	KindDebit          = "debit"
	// KindAppliedInBilling moves a reward's credit from the customer's
	// available credit to Billing once the billing system (Stripe) holds it
	// as a balance credit: it is spent there, not here.
	KindAppliedInBilling = "applied_in_billing"
	// KindClawedBackInBilling moves it back when the billing system took
	// the credit back (a clawback of a reversed reward).
	KindClawedBackInBilling = "clawed_back_in_billing"
)

// Posting moves Amount (minor units, signed) into one account.
type Posting struct {
	Owner    string // customer id, or ProgramOwner
	Account  string
	Amount   int64
	Currency string
}

// Transaction is one atomic, balanced change.
type Transaction struct {
	Kind     string
	RewardID string
	Reverses string // id of the ledger transaction this one undoes, if any
	Note     string
	Postings []Posting
}

// ErrUnbalanced is returned for a transaction whose postings do not sum to
// zero in some currency.
var ErrUnbalanced = errors.New("ledger transaction does not balance")

// ErrTooLarge is returned for a posting whose magnitude is above
// money.MaxAmount: no amount that large can enter, and keeping each posting
// within it is what keeps balances and their sums from overflowing.
var ErrTooLarge = errors.New("ledger posting above the maximum amount")

// Validate checks the double-entry rule and the size of each posting.
func (t *Transaction) Validate() error {
	if len(t.Postings) < 2 {
		return fmt.Errorf("%w: %s has %d postings, needs at least 2", ErrUnbalanced, t.Kind, len(t.Postings))
	}
	sums := map[string]int64{}
	for _, p := range t.Postings {
		if p.Amount == 0 {
			return fmt.Errorf("%w: %s has a zero posting to %s", ErrUnbalanced, t.Kind, p.Account)
		}
		if p.Amount > money.MaxAmount || p.Amount < -money.MaxAmount {
			return fmt.Errorf("%w: %s posts %d %s to %s", ErrTooLarge, t.Kind, p.Amount, p.Currency, p.Account)
		}
		sums[p.Currency] += p.Amount
	}
	for cur, sum := range sums {
		if sum != 0 {
			return fmt.Errorf("%w: %s sums to %d %s", ErrUnbalanced, t.Kind, sum, cur)
		}
	}
	return nil
}

// Move returns the two postings that move amount from one account to
// another.
func Move(fromOwner, from, toOwner, to string, amount int64, currency string) []Posting {
	return []Posting{
		{Owner: fromOwner, Account: from, Amount: -amount, Currency: currency},
		{Owner: toOwner, Account: to, Amount: amount, Currency: currency},
	}
}

// PendingAccount and AvailableAccount name where a reward type's value sits
// before and after its holding period. Discounts are codes, not balances,
// and have no accounts.
func PendingAccount(rewardType string) string {
	if rewardType == "cash" {
		return CashPending
	}
	return CreditPending
}

// AvailableAccount: see PendingAccount.
func AvailableAccount(rewardType string) string {
	if rewardType == "cash" {
		return CashAvailable
	}
	return CreditAvailable
}
