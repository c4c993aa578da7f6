package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// Operations: each use case is one call that owns its database
// transaction. The API, the dashboard and the command line call these and
// share their validation and errors; none of them opens a transaction
// (TestFrontEndsOpenNoTransaction), so that the group commit and the
// retries behind InTx stay the store's business.

// run runs fn as one write transaction (fn may run more than once, see
// InTx) and returns its result. When ctx carries an Idempotency-Key
// (WithIdempotency), the key and the response rendered from the result
// are stored in the same transaction: a retried request costs no extra
// commit, and no response is ever stored for a change that did not commit.
func run[T any](ctx context.Context, db *DB, fn func(*Tx) (T, error)) (T, error) {
	var out T
	req := idempotencyFrom(ctx)
	err := db.InTx(ctx, func(tx *Tx) error {
		v, err := fn(tx)
		if err != nil {
			return err
		}
		if req != nil {
			if err := tx.keepResponse(ctx, req, v); err != nil {
				return err
			}
		}
		out = v
		return nil
	})
	if err == nil && req != nil {
		req.committed()
	}
	if errors.Is(err, errIdempotencyRace) {
		req.race()
	}
	return out, err
}

// RecordTransaction records a payment and creates the rewards it earns, in
// one database transaction. The key is unique per program: the same key
// and body again returns the original (Created false); the same key with
// another body is a conflict.
// An idempotent response is rendered from a Recorded.
func (db *DB) RecordTransaction(ctx context.Context, p *referral.Program, in NewTransaction) (*rewards.Transaction, bool, error) {
	for attempt := 0; ; attempt++ {
		r, err := run(ctx, db, func(tx *Tx) (Recorded, error) {
			t, created, err := tx.RecordTransaction(ctx, p, in)
			return Recorded{t, created}, err
		})
		if errors.Is(err, errTransactionRace) && attempt < 3 {
			continue
		}
		return r.Transaction, r.Created, err
	}
}

// Recorded is a recorded payment, and whether this call recorded it
// (false: a retry got the original).
type Recorded struct {
	Transaction *rewards.Transaction
	Created     bool
}

// RefundRequest is a refund as a client asks for it. Amount is in major
// units of the transaction's currency, as sent; empty refunds everything
// not yet refunded.
type RefundRequest struct {
	Key    string
	Amount money.Number
	Reason string
}

// Refund refunds all or part of a payment and claws back its rewards.
func (db *DB) Refund(ctx context.Context, p *referral.Program, in RefundRequest) (*rewards.Transaction, error) {
	if len(in.Reason) > 500 {
		return nil, referral.FieldError("invalid_refund", "reason", "Reason must be at most 500 characters.")
	}
	return run(ctx, db, func(tx *Tx) (*rewards.Transaction, error) {
		var amount int64
		if in.Amount != "" {
			// The currency is the transaction's: read in the transaction,
			// so that the amount is parsed with its digits.
			t, err := tx.transactionByKey(ctx, p.ID, in.Key, false)
			if err != nil {
				return nil, err
			}
			if amount, err = ParseAmount("amount", in.Amount, t.Currency); err != nil {
				return nil, err
			}
		}
		return tx.Refund(ctx, p, in.Key, amount, in.Reason)
	})
}

// ParseAmount reads an amount in major units of currency exactly, naming
// field in each way it can be wrong.
func ParseAmount(field string, n money.Number, currency string) (int64, error) {
	if n == "" {
		return 0, referral.FieldError("invalid_amount", field, "Enter an amount, such as 10 or 45.00.")
	}
	v, err := money.ParseAmount(json.Number(n), currency)
	if code, msg := money.Problem(v, err, currency); code != "" {
		return 0, referral.FieldError(code, field, msg)
	}
	return v, nil
}

// BalanceChange is a manual credit or debit as a client asks for it: an
// amount in major units, a currency (empty: the program's) and a note.
type BalanceChange struct {
	CustomerKey string
	Amount      money.Number
	Currency    string
	Note        string
}

// parse validates a balance change, naming each wrong field at once.
func (in BalanceChange) parse(programCurrency string) (amount int64, currency string, err error) {
	var v referral.Validation
	currency = referral.NormalizeCurrency(in.Currency)
	if currency == "" {
		currency = programCurrency
	} else if referral.ValidCurrency(currency) != nil {
		v.AddCode("currency", "invalid_currency", "Currency must be an ISO 4217 code such as "+programCurrency+".")
	}
	if len(in.Note) > 500 {
		v.AddCode("note", "invalid_note", "Note must be at most 500 characters.")
	}
	if err := v.Err("invalid_balance_change"); err != nil {
		return 0, "", err
	}
	amount, err = ParseAmount("amount", in.Amount, currency)
	return amount, currency, err
}

// Credit adds a manual credit to a customer's available credit and
// returns their balance in its currency.
func (db *DB) Credit(ctx context.Context, p *referral.Program, in BalanceChange) (*rewards.Balance, error) {
	return db.moveBalance(ctx, p, in, (*Tx).Credit)
}

// Debit spends a customer's available credit (at checkout), never below
// zero, and returns their balance in its currency.
func (db *DB) Debit(ctx context.Context, p *referral.Program, in BalanceChange) (*rewards.Balance, error) {
	return db.moveBalance(ctx, p, in, (*Tx).Debit)
}

func (db *DB) moveBalance(ctx context.Context, p *referral.Program, in BalanceChange,
	move func(tx *Tx, ctx context.Context, programID string, c *referral.Customer, amount int64, currency, note string) error) (*rewards.Balance, error) {
	in.Note = strings.TrimSpace(in.Note)
	amount, cur, err := in.parse(p.Currency)
	if err != nil {
		return nil, err
	}
	return run(ctx, db, func(tx *Tx) (*rewards.Balance, error) {
		c, err := tx.Customer(ctx, p.ID, in.CustomerKey)
		if err != nil {
			return nil, err
		}
		if err := move(tx, ctx, p.ID, c, amount, cur, in.Note); err != nil {
			return nil, err
		}
		return tx.Balance(ctx, p.ID, c.ID, cur)
	})
}

// ApproveReward makes a pending reward available now.
func (db *DB) ApproveReward(ctx context.Context, programID, rewardID string) (*rewards.Reward, error) {
	return run(ctx, db, func(tx *Tx) (*rewards.Reward, error) { return tx.ApproveReward(ctx, programID, rewardID) })
}

// RejectReward cancels a pending reward with a reason (1 to 500
// characters); its value goes back.
func (db *DB) RejectReward(ctx context.Context, programID, rewardID, reason string) (*rewards.Reward, error) {
	if reason == "" || len(reason) > 500 {
		return nil, referral.FieldError("invalid_reason", "reason", "Give a reason of 1 to 500 characters.")
	}
	return run(ctx, db, func(tx *Tx) (*rewards.Reward, error) { return tx.RejectReward(ctx, programID, rewardID, reason) })
}

// RedeemDiscountCode marks a discount code used, once.
func (db *DB) RedeemDiscountCode(ctx context.Context, programID, code string) (*rewards.DiscountCode, error) {
	return run(ctx, db, func(tx *Tx) (*rewards.DiscountCode, error) { return tx.RedeemDiscountCode(ctx, programID, code) })
}

// CreateCustomer creates a customer with their default referral link,
// records their referral and fires the signup rules, retrying if a
// generated code raced another.
func (db *DB) CreateCustomer(ctx context.Context, p *referral.Program, in referral.NewCustomer) (*referral.Customer, error) {
	for attempt := 0; ; attempt++ {
		c, err := run(ctx, db, func(tx *Tx) (*referral.Customer, error) { return tx.CreateCustomer(ctx, p, in) })
		if errors.Is(err, errGeneratedCodeTaken) && attempt < 5 {
			continue
		}
		return c, err
	}
}

// UpdateCustomer changes a customer's details.
func (db *DB) UpdateCustomer(ctx context.Context, p *referral.Program, key string, u referral.CustomerUpdate) (*referral.Customer, error) {
	return run(ctx, db, func(tx *Tx) (*referral.Customer, error) { return tx.UpdateCustomer(ctx, p, key, u) })
}

// DeleteCustomer deletes a customer and returns the referral codes that
// stopped resolving.
func (db *DB) DeleteCustomer(ctx context.Context, programID, key string) ([]string, error) {
	return run(ctx, db, func(tx *Tx) ([]string, error) { return tx.DeleteCustomer(ctx, programID, key) })
}

// CreateLink adds a referral link for a customer.
func (db *DB) CreateLink(ctx context.Context, p *referral.Program, customerKey, destination, code string) (*referral.Link, error) {
	return run(ctx, db, func(tx *Tx) (*referral.Link, error) { return tx.CreateLink(ctx, p, customerKey, destination, code) })
}

// DeleteLink deletes a referral link and returns its code.
func (db *DB) DeleteLink(ctx context.Context, programID, linkID string) (string, error) {
	return run(ctx, db, func(tx *Tx) (string, error) { return tx.DeleteLink(ctx, programID, linkID) })
}

// CreateRule adds a reward rule (built and checked by rewards.Apply).
func (db *DB) CreateRule(ctx context.Context, r rewards.Rule) (*rewards.Rule, error) {
	return run(ctx, db, func(tx *Tx) (*rewards.Rule, error) {
		r := r // fn may run again: start from the caller's rule each time
		return &r, tx.CreateRule(ctx, &r)
	})
}

// UpdateRule saves a changed reward rule (built and checked by
// rewards.Apply).
func (db *DB) UpdateRule(ctx context.Context, r rewards.Rule) (*rewards.Rule, error) {
	return run(ctx, db, func(tx *Tx) (*rewards.Rule, error) {
		r := r
		return &r, tx.UpdateRule(ctx, &r)
	})
}

// DeleteRule deletes a reward rule; the rewards it gave stay.
func (db *DB) DeleteRule(ctx context.Context, programID, ruleID string) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, tx.DeleteRule(ctx, programID, ruleID) })
	return err
}

// NewProgram is a program created with its API keys.
type NewProgram struct {
	Program                *referral.Program
	SecretKey, Publishable string // shown once
}

// CreateProgram creates a program, a secret and a publishable API key, and
// the given reward rules, at once.
func (db *DB) CreateProgram(ctx context.Context, p *referral.Program, rules []rewards.Rule) (NewProgram, error) {
	return run(ctx, db, func(tx *Tx) (NewProgram, error) {
		sk, pk, err := tx.CreateProgramWithKeys(ctx, p)
		if err != nil {
			return NewProgram{}, err
		}
		for _, r := range rules {
			r.ProgramID = p.ID
			if err := tx.CreateRule(ctx, &r); err != nil {
				return NewProgram{}, err
			}
		}
		return NewProgram{p, sk, pk}, nil
	})
}

// UpdateProgram saves a program's changed settings.
func (db *DB) UpdateProgram(ctx context.Context, p referral.Program) (*referral.Program, error) {
	return run(ctx, db, func(tx *Tx) (*referral.Program, error) { return &p, tx.UpdateProgram(ctx, &p) })
}

// RotateWidgetSecret issues a new widget secret; the previous one keeps
// verifying for referral.WidgetSecretGrace.
func (db *DB) RotateWidgetSecret(ctx context.Context, programID string) (*referral.Program, error) {
	return run(ctx, db, func(tx *Tx) (*referral.Program, error) { return tx.RotateWidgetSecret(ctx, programID) })
}

// NewAPIKey is a created API key with its plain text, shown once.
type NewAPIKey struct {
	Key   *referral.APIKey
	Plain string
}

// CreateAPIKey creates a secret or publishable key for a program.
func (db *DB) CreateAPIKey(ctx context.Context, programID, kind string) (NewAPIKey, error) {
	return run(ctx, db, func(tx *Tx) (NewAPIKey, error) {
		plain, k, err := tx.CreateAPIKey(ctx, programID, kind)
		return NewAPIKey{k, plain}, err
	})
}

// RevokeAPIKey revokes a key: requests with it are refused from now on.
func (db *DB) RevokeAPIKey(ctx context.Context, programID, keyID string) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, tx.RevokeAPIKey(ctx, programID, keyID) })
	return err
}

// CreateAdmin adds a dashboard user.
func (db *DB) CreateAdmin(ctx context.Context, email, password, role string) (*Admin, error) {
	return run(ctx, db, func(tx *Tx) (*Admin, error) { return tx.CreateAdmin(ctx, email, password, role) })
}

// DeleteAdmin removes a dashboard user.
func (db *DB) DeleteAdmin(ctx context.Context, adminID string) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, tx.DeleteAdmin(ctx, adminID) })
	return err
}

// FirstStart creates the first admin, as owner, and, when first is not
// nil, a first program with its keys, at once: a crash between them must
// not leave an install with an admin and no way to learn the keys.
func (db *DB) FirstStart(ctx context.Context, email, password string, first *referral.Program) (NewProgram, error) {
	return run(ctx, db, func(tx *Tx) (NewProgram, error) {
		if _, err := tx.CreateAdmin(ctx, email, password, RoleOwner); err != nil {
			return NewProgram{}, fmt.Errorf("first admin: %w", err)
		}
		if first == nil {
			return NewProgram{}, nil
		}
		sk, pk, err := tx.CreateProgramWithKeys(ctx, first)
		return NewProgram{first, sk, pk}, err
	})
}

// UpdateEmailSettings changes a program's sender name, reply-to address
// and brand colour.
func (db *DB) UpdateEmailSettings(ctx context.Context, programID string, in EmailSettings) (*EmailSettings, error) {
	return run(ctx, db, func(tx *Tx) (*EmailSettings, error) { return tx.UpdateEmailSettings(ctx, programID, in) })
}

// SaveEmailTemplate changes a program's subject and body of one kind of
// email, and whether it is sent.
func (db *DB) SaveEmailTemplate(ctx context.Context, programID string, t email.Template) (email.Template, error) {
	return run(ctx, db, func(tx *Tx) (email.Template, error) { return tx.SaveEmailTemplate(ctx, programID, t) })
}

// ResetEmailTemplate puts a kind's subject and body back to the defaults.
func (db *DB) ResetEmailTemplate(ctx context.Context, programID, kind string) (email.Template, error) {
	return run(ctx, db, func(tx *Tx) (email.Template, error) { return tx.ResetEmailTemplate(ctx, programID, kind) })
}

// SetEmailEnabled switches a kind of email on or off.
func (db *DB) SetEmailEnabled(ctx context.Context, programID, kind string, enabled bool) (email.Template, error) {
	return run(ctx, db, func(tx *Tx) (email.Template, error) { return tx.SetEmailEnabled(ctx, programID, kind, enabled) })
}
