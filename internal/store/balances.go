package store

import (
	"context"
	"fmt"

	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// Balance reads a customer's cached balances in one currency: one indexed
// query, however long the ledger grows.
func (db *DB) Balance(ctx context.Context, programID, customerID, currency string) (*rewards.Balance, error) {
	return balance(ctx, db.read, programID, customerID, currency)
}

// Balance reads balances inside the transaction, seeing its own changes.
func (tx *Tx) Balance(ctx context.Context, programID, customerID, currency string) (*rewards.Balance, error) {
	return balance(ctx, tx.tx, programID, customerID, currency)
}

func balance(ctx context.Context, q querier, programID, customerID, currency string) (*rewards.Balance, error) {
	b := &rewards.Balance{Currency: currency}
	err := eachRow(ctx, q, "read balance", func(row scanner) error {
		var typ string
		var amount int64
		err := row.Scan(&typ, &amount)
		setBalance(b, typ, amount)
		return err
	}, `SELECT type, balance FROM ledger_accounts WHERE program_id = $1 AND owner = $2 AND currency = $3`, programID, customerID, currency)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// setBalance puts one account's balance into its place in b.
func setBalance(b *rewards.Balance, account string, amount int64) {
	switch account {
	case ledger.CreditAvailable:
		b.CreditAvailable = amount
	case ledger.CreditPending:
		b.CreditPending = amount
	case ledger.CashAvailable:
		b.CashAvailable = amount
	case ledger.CashPending:
		b.CashPending = amount
	case ledger.CashPaid:
		b.CashPaid = amount
	}
}

// Stats computes a customer's referral figures from indexed counts. A
// referral is successful once the friend did what the program rewards
// referrers for (rewards.Firing.Qualifies), pending until then or again
// after that payment's full refund, and in neither figure once rejected.
// total_rewards sums the referrer rewards earned in currency that were not
// reversed or rejected (after partial clawbacks); percent-off discounts
// have no amount and are not in it.
func (db *DB) Stats(ctx context.Context, programID, customerID, currency string) (*rewards.Stats, error) {
	s := &rewards.Stats{Currency: currency}
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(converted_at) FROM customers WHERE referrer_id = $1
		AND referral_rejected_at IS NULL`, customerID).Scan(&s.TotalReferrals, &s.SuccessfulReferrals)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	s.PendingReferrals = s.TotalReferrals - s.SuccessfulReferrals
	err = db.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount - reversed_amount), 0) FROM rewards
		WHERE customer_id = $1 AND recipient = 'referrer' AND currency = $2 AND status NOT IN ('reversed', 'rejected')`,
		customerID, currency).Scan(&s.TotalRewards)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return s, nil
}

var (
	errAmountNotPositive   = rewards.ErrAmountNotPositive
	ErrInsufficientBalance = rewards.ErrInsufficientBalance
)

// ErrAmountTooLarge is returned for an amount above money.MaxAmount that
// reached the ledger; the API refuses such amounts before, with the same code.
var ErrAmountTooLarge = referral.FieldError("amount_too_large", "amount", "The amount is above the largest amount Advocate holds (10^12 minor units).")

// ErrBalanceLimit is returned when a change would take a customer's balance
// beyond money.MaxAmount. Nothing is changed.
var ErrBalanceLimit = referral.FieldError("balance_limit_exceeded", "amount",
	"This would take a balance beyond the largest amount Advocate holds (10^12 minor units, such as USD 10,000,000,000.00).")

// Credit adds a manual credit to a customer's available credit.
func (tx *Tx) Credit(ctx context.Context, programID string, c *referral.Customer, amount int64, currency, note string) error {
	plan, err := tx.env().Credit(c.ID, amount, currency, note)
	if err != nil {
		return err
	}
	return tx.apply(ctx, programID, &plan)
}

// Debit spends a customer's available credit (at checkout), never below
// zero: the balance is read in the same transaction, with the account row
// locked on PostgreSQL.
func (tx *Tx) Debit(ctx context.Context, programID string, c *referral.Customer, amount int64, currency, note string) error {
	if amount <= 0 {
		return errAmountNotPositive
	}
	avail, err := tx.accountBalance(ctx, programID, c.ID, ledger.CreditAvailable, currency)
	if err != nil {
		return err
	}
	plan, err := tx.env().Debit(c.ID, avail, amount, currency, note)
	if err != nil {
		return err
	}
	return tx.apply(ctx, programID, &plan)
}
