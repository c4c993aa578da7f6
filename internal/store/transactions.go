package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// NewTransaction is a payment as a client reports it, already parsed.
type NewTransaction struct {
	CustomerKey string
	Key         string
	Type        string
	Amount      int64
	Currency    string
	OccurredAt  *time.Time
	Metadata    map[string]any
}

// readMetadata decodes stored metadata. Numbers stay json.Number, so that
// any number that was ever stored reads back as written (a float64 could
// not hold 1e400, which older versions let in), and a row that is not a
// JSON object reads as empty metadata instead of failing every read that
// touches it.
func readMetadata(s string) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// hash fingerprints what the client sent, so that a retry with the same key
// can be told from a different payment reusing the key.
func (n *NewTransaction) hash() string {
	var occurred int64
	if n.OccurredAt != nil {
		occurred = n.OccurredAt.UnixMicro()
	}
	meta, _ := json.Marshal(n.Metadata) // map keys are sorted: stable
	b, _ := json.Marshal([]any{n.CustomerKey, n.Type, n.Amount, n.Currency, occurred, string(meta)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Transaction errors a client can cause.
var (
	ErrTransactionNotFound = referral.Errorf(referral.KindNotFound, "transaction_not_found", "No transaction with that key exists in this program.")
	ErrTransactionKeyReuse = referral.Errorf(referral.KindConflict, "transaction_key_conflict",
		"A different transaction was already recorded with this key; transaction keys identify one payment.")
	ErrAlreadyRefunded    = rewards.ErrAlreadyRefunded
	ErrRefundExceedsTotal = rewards.ErrRefundExceedsTotal
)

// errTransactionRace means a concurrent request inserted the same key
// first; the caller's retry will find and return it.
var errTransactionRace = errors.New("transaction key inserted concurrently")

// RecordTransaction: see DB.RecordTransaction.
func (tx *Tx) RecordTransaction(ctx context.Context, p *referral.Program, in NewTransaction) (*rewards.Transaction, bool, error) {
	if err := referral.ValidateMetadata(in.Metadata); err != nil {
		var v referral.Validation
		v.AddError(err)
		return nil, false, v.Err("invalid_transaction")
	}
	hash := in.hash()
	c, err := tx.payer(ctx, p.ID, in.CustomerKey)
	if errors.Is(err, referral.ErrCustomerNotFound) {
		// A retry after the customer was deleted still gets its answer.
		if t, err := tx.replayTransaction(ctx, p.ID, in.Key, hash); !errors.Is(err, ErrTransactionNotFound) {
			return t, false, err
		}
		return nil, false, referral.FieldError("customer_not_found", "customer_key", "No customer with that key exists in this program.")
	}
	if err != nil {
		return nil, false, err
	}
	t := &rewards.Transaction{
		ID: id.New("txn", tx.now), ProgramID: p.ID, CustomerID: c.ID, CustomerKey: c.Key, Key: in.Key, Type: in.Type,
		Amount: in.Amount, Currency: in.Currency, Metadata: in.Metadata, RequestHash: hash,
		OccurredAt: tx.now, CreatedAt: tx.now, UpdatedAt: tx.now,
	}
	if in.OccurredAt != nil {
		t.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	if t.Metadata == nil {
		t.Metadata = map[string]any{}
	}
	meta, _ := json.Marshal(t.Metadata)
	// The unique key decides between a new payment and a retry in one
	// statement; on PostgreSQL a concurrent insert of the same key is
	// waited for, and then this one does nothing.
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO transactions (id, program_id, customer_id, key, type, amount, currency,
		metadata, request_hash, occurred_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (program_id, key) DO NOTHING`,
		t.ID, p.ID, c.ID, t.Key, t.Type, t.Amount, t.Currency, string(meta), hash, micros(t.OccurredAt), micros(tx.now), micros(tx.now))
	if err != nil {
		return nil, false, fmt.Errorf("record transaction: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, false, fmt.Errorf("record transaction: %w", err)
	} else if n == 0 {
		t, err := tx.replayTransaction(ctx, p.ID, in.Key, hash)
		if errors.Is(err, ErrTransactionNotFound) {
			return nil, false, errTransactionRace // it was rolled back meanwhile: try again
		}
		return t, false, err
	}
	f, err := tx.firing(ctx, p, c, rewards.Event{Trigger: t.Type, Amount: t.Amount, Currency: t.Currency,
		OccurredAt: t.OccurredAt, FirstAt: t.OccurredAt}, t)
	if err != nil {
		return nil, false, err
	}
	plan := tx.env().Payment(f)
	err = tx.apply(ctx, p.ID, &plan)
	if errors.Is(err, errDuplicateReward) {
		return nil, false, errTransactionRace
	}
	if err != nil {
		return nil, false, err
	}
	// The payment's rewards: a milestone it reached is the referrer's (no
	// transaction_id), and a replay (transactionRewards) must answer the same.
	for _, rw := range plan.Rewards {
		if rw.TransactionID == t.ID {
			t.Rewards = append(t.Rewards, rw)
		}
	}
	return t, true, nil
}

// payer reads what recording a payment needs of the customer who paid:
// who referred them, and whether their referral is already successful.
// It is locked on PostgreSQL, like Customer.
func (tx *Tx) payer(ctx context.Context, programID, key string) (c *referral.Customer, err error) {
	c = &referral.Customer{ProgramID: programID}
	var referrerID, referrerKey sql.NullString
	var converted, rejected bool
	err = tx.tx.QueryRowContext(ctx, `SELECT c.id, c.key, c.referrer_id, r.key, c.converted_at IS NOT NULL, c.paid_before_referral,
		c.referral_rejected_at IS NOT NULL`+customerFrom+`
		WHERE c.program_id = $1 AND c.key = $2 AND c.deleted_at IS NULL`+tx.db.forUpdate("c"), programID, key).
		Scan(&c.ID, &c.Key, &referrerID, &referrerKey, &converted, &c.PaidBeforeReferral, &rejected)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrCustomerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get customer: %w", err)
	}
	c.ReferrerID, c.ReferrerKey = referrerID.String, referrerKey.String
	c.ReferralStatus = referralStatus(referrerID.Valid, converted, rejected)
	return c, nil
}

// replayTransaction answers a retry: the transaction already recorded with
// key and its rewards when the request is the same, a conflict when it is
// another payment reusing the key.
func (tx *Tx) replayTransaction(ctx context.Context, programID, key, hash string) (*rewards.Transaction, error) {
	existing, err := tx.transactionByKey(ctx, programID, key, false)
	if err != nil {
		return nil, err
	}
	if existing.RequestHash != hash {
		return nil, ErrTransactionKeyReuse
	}
	existing.Rewards, err = tx.db.transactionRewards(ctx, tx.tx, existing)
	return existing, err
}

const transactionColumns = `t.id, t.program_id, t.customer_id, c.key, t.key, t.type, t.amount, t.currency,
	t.refunded_amount, t.metadata, t.request_hash, t.occurred_at, t.created_at, t.updated_at`

const transactionFrom = ` FROM transactions t JOIN customers c ON c.id = t.customer_id`

func scanTransaction(row scanner) (*rewards.Transaction, error) {
	var t rewards.Transaction
	var key sql.NullString
	var meta string
	var occurred, created, updated int64
	if err := row.Scan(&t.ID, &t.ProgramID, &t.CustomerID, &key, &t.Key, &t.Type, &t.Amount, &t.Currency,
		&t.Refunded, &meta, &t.RequestHash, &occurred, &created, &updated); err != nil {
		return nil, err
	}
	t.CustomerKey = key.String
	t.OccurredAt, t.CreatedAt, t.UpdatedAt = fromMicros(occurred), fromMicros(created), fromMicros(updated)
	t.Metadata = readMetadata(meta)
	return &t, nil
}

func (tx *Tx) transactionByKey(ctx context.Context, programID, key string, lock bool) (*rewards.Transaction, error) {
	suffix := ""
	if lock {
		suffix = tx.db.forUpdate("t")
	}
	t, err := scanTransaction(tx.tx.QueryRowContext(ctx, `SELECT `+transactionColumns+transactionFrom+
		` WHERE t.program_id = $1 AND t.key = $2`+suffix, programID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTransactionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get transaction: %w", err)
	}
	return t, nil
}

// TransactionCurrency returns the currency of a transaction.
func (tx *Tx) TransactionCurrency(ctx context.Context, programID, key string) (string, error) {
	t, err := tx.transactionByKey(ctx, programID, key, false)
	if err != nil {
		return "", err
	}
	return t.Currency, nil
}

// Transaction returns a transaction by key with its rewards.
func (db *DB) Transaction(ctx context.Context, programID, key string) (*rewards.Transaction, error) {
	return db.transactionWhere(ctx, "t.key", programID, key)
}

// transactionWhere reads a program's transaction by a unique column (its
// key or its id) with its rewards.
func (db *DB) transactionWhere(ctx context.Context, col, programID, value string) (*rewards.Transaction, error) {
	t, err := scanTransaction(db.read.QueryRowContext(ctx, `SELECT `+transactionColumns+transactionFrom+
		` WHERE t.program_id = $1 AND `+col+` = $2`, programID, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTransactionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get transaction: %w", err)
	}
	t.Rewards, err = db.transactionRewards(ctx, db.read, t)
	return t, err
}

// TransactionFilter narrows a transaction listing.
type TransactionFilter struct {
	CustomerID string
	Page
}

// Transactions lists transactions, newest first, with their rewards.
func (db *DB) Transactions(ctx context.Context, programID string, f TransactionFilter) ([]*rewards.Transaction, bool, error) {
	w := where{}
	w.add("t.program_id = ", programID)
	if f.CustomerID != "" {
		w.add("t.customer_id = ", f.CustomerID)
	}
	page := f.Page.keyset(&w, "t.id")
	out, err := queryAll(ctx, db.read, "list transactions", scanTransaction, `SELECT `+transactionColumns+transactionFrom+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(f.Page, out)
	for _, t := range out {
		if t.Rewards, err = db.transactionRewards(ctx, db.read, t); err != nil {
			return nil, false, err
		}
	}
	return out, more, nil
}

// Refund records a refund of amount (0: everything not yet refunded) and
// claws back the transaction's rewards (see rewards.Env.Refund).
func (tx *Tx) Refund(ctx context.Context, p *referral.Program, key string, amount int64, reason string) (*rewards.Transaction, error) {
	t, err := tx.transactionByKey(ctx, p.ID, key, true)
	if err != nil {
		return nil, err
	}
	rws, err := tx.db.queryRewards(ctx, tx.tx, `SELECT `+rewardColumns+rewardFrom+transactionRewardsWhere+` ORDER BY r.id`+
		tx.db.forUpdate("r"), t.CustomerID, t.ID)
	if err != nil {
		return nil, err
	}
	// The payer's referral, locked before any account is (lockReferral).
	friend, by, err := tx.referral(ctx, t.CustomerID)
	if err != nil {
		return nil, err
	}
	if err := tx.lockReferral(ctx, friend.ID, friend.ReferrerID); err != nil {
		return nil, err
	}
	plan, err := tx.env().Refund(t, rws, amount, reason)
	if err != nil {
		return nil, err
	}
	if rewards.Unconverts(t, by) && friend.ReferralStatus == rewards.ReferralSuccessful {
		again, err := tx.requalify(ctx, p.ID, friend, t)
		if err != nil {
			return nil, err
		}
		plan.Add(again)
	}
	if err := tx.apply(ctx, p.ID, &plan); err != nil {
		return nil, err
	}
	t.Rewards, err = tx.db.transactionRewards(ctx, tx.tx, t)
	return t, err
}

// requalify reads what deciding a referral again needs once the payment
// that made it successful (t) was refunded in full, and decides it
// (rewards.Env.Requalify).
func (tx *Tx) requalify(ctx context.Context, programID string, friend *referral.Customer, t *rewards.Transaction) (rewards.Plan, error) {
	others, err := queryAll(ctx, tx.tx, "friend's payments", scanTransaction, `SELECT `+transactionColumns+transactionFrom+
		` WHERE t.customer_id = $1 AND t.id <> $2 AND t.refunded_amount < t.amount ORDER BY t.id`, friend.ID, t.ID)
	if err != nil {
		return rewards.Plan{}, err
	}
	rules, err := tx.activeRulesOf(ctx, programID, rewards.Purchase, rewards.Subscription)
	if err != nil {
		return rewards.Plan{}, err
	}
	l, err := tx.loss(ctx, programID, friend.ID, friend.ReferrerID)
	if err != nil {
		return rewards.Plan{}, err
	}
	return tx.env().Requalify(friendState(friend), others, rules, l), nil
}
