package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

const customerColumns = `c.id, c.program_id, c.key, c.email, c.name, c.metadata, c.referral_code,
	c.referred_by, c.referrer_id, r.key, c.created_at, c.updated_at, c.paid_before_referral,
	c.converted_at IS NOT NULL, c.referral_rejected_at IS NOT NULL, c.email_opt_out`

const customerFrom = ` FROM customers c LEFT JOIN customers r ON r.id = c.referrer_id`

func scanCustomer(row scanner) (*referral.Customer, error) {
	var c referral.Customer
	var key, email, referredBy, referrerID, referrerKey sql.NullString
	var meta string
	var created, updated int64
	var converted, rejected bool
	err := row.Scan(&c.ID, &c.ProgramID, &key, &email, &c.Name, &meta, &c.ReferralCode,
		&referredBy, &referrerID, &referrerKey, &created, &updated, &c.PaidBeforeReferral, &converted, &rejected, &c.EmailOptOut)
	if err != nil {
		return nil, err
	}
	c.ReferralStatus = referralStatus(referrerID.Valid, converted, rejected)
	c.Key, c.Email = key.String, email.String
	c.ReferredBy, c.ReferrerID, c.ReferrerKey = referredBy.String, referrerID.String, referrerKey.String
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.Metadata = readMetadata(meta)
	return &c, nil
}

// errGeneratedCodeTaken means a generated code was taken by a concurrent
// insert between the check and the insert; the whole transaction is retried.
var errGeneratedCodeTaken = errors.New("generated referral code taken concurrently")

// CreateCustomer creates a customer and their default referral link and
// records the referral, if any, and the events. Nothing is written when any
// check fails.
func (tx *Tx) CreateCustomer(ctx context.Context, p *referral.Program, in referral.NewCustomer) (*referral.Customer, error) {
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	return tx.createCustomer(ctx, p, in)
}

// createCustomer is CreateCustomer of a customer already normalized. Only
// a customer made from a billing system (stripe.go) may have no email, as
// a deleted customer has none: its email columns are NULL.
func (tx *Tx) createCustomer(ctx context.Context, p *referral.Program, in referral.NewCustomer) (*referral.Customer, error) {
	c := &referral.Customer{
		ID: id.New("cus", tx.now), ProgramID: p.ID, Key: in.Key, Email: in.Email, Name: in.Name,
		Metadata: in.Metadata, EmailOptOut: in.EmailOptOut, CreatedAt: tx.now, UpdatedAt: tx.now,
	}
	if in.ReferredBy != "" {
		if err := tx.attachReferrer(ctx, p.ID, c, in.ReferredBy); err != nil {
			return nil, err
		}
	}
	code := in.ReferralCode
	if code == "" {
		var err error
		if code, err = tx.freeCode(ctx, referral.CodeStem(in.Name, in.Email)); err != nil {
			return nil, err
		}
	}
	c.ReferralCode = code
	meta, _ := json.Marshal(c.Metadata)
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO customers (id, program_id, key, email, email_key, email_identity,
		name, metadata, referral_code, referred_by, referrer_id, created_at, updated_at, email_opt_out)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, p.ID, c.Key, nullString(c.Email), nullString(referral.EmailKey(c.Email)), nullString(referral.EmailIdentity(c.Email)),
		c.Name, string(meta), c.ReferralCode, nullString(c.ReferredBy), nullString(c.ReferrerID),
		micros(tx.now), micros(tx.now), c.EmailOptOut)
	if name, ok := uniqueViolation(err); ok {
		if strings.Contains(name, "email") {
			return nil, referral.ErrCustomerEmailTaken
		}
		return nil, referral.ErrCustomerKeyTaken
	}
	if err != nil {
		return nil, fmt.Errorf("create customer: %w", err)
	}
	if err := tx.insertLink(ctx, &referral.Link{ProgramID: p.ID, CustomerID: c.ID, Code: code, Default: true}); err != nil {
		if errors.Is(err, referral.ErrReferralCodeTaken) && in.ReferralCode == "" {
			return nil, errGeneratedCodeTaken
		}
		return nil, err
	}
	if err := tx.AddEvent(ctx, p.ID, "customer.created", map[string]any{"customer_id": c.ID, "customer_key": c.Key}); err != nil {
		return nil, err
	}
	if c.ReferrerID != "" {
		if err := tx.referralCreated(ctx, p, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// referralCreated announces a new referral and fires the signup rules.
func (tx *Tx) referralCreated(ctx context.Context, p *referral.Program, c *referral.Customer) error {
	if err := tx.AddEvent(ctx, p.ID, "referral.created", map[string]any{
		"customer_id": c.ID, "customer_key": c.Key, "referrer_id": c.ReferrerID,
		"referrer_key": c.ReferrerKey, "referral_code": c.ReferredBy,
	}); err != nil {
		return err
	}
	c.ReferralStatus = rewards.ReferralPending
	f, err := tx.firing(ctx, p, c, rewards.Event{Trigger: rewards.Signup, OccurredAt: tx.now}, nil)
	if err != nil {
		return err
	}
	plan := tx.env().Fire(f)
	if plan.Referral != nil {
		c.ReferralStatus = plan.Referral.State
	}
	return tx.apply(ctx, p.ID, &plan)
}

// attachReferrer resolves code to its owner and makes them c's referrer,
// refusing unknown codes and self-referrals (the same customer, or the same
// person by email identity).
func (tx *Tx) attachReferrer(ctx context.Context, programID string, c *referral.Customer, code string) error {
	var referrerID, referrerKey string
	var identity sql.NullString // NULL for a referrer without an email
	// A deleted extra link still attributes: the friend did arrive through
	// the customer's link, and removing a link must not rob the referrer.
	err := tx.tx.QueryRowContext(ctx, `SELECT r.id, r.key, r.email_identity FROM referral_links l
		JOIN customers r ON r.id = l.customer_id
		WHERE l.program_id = $1 AND l.code = $2 AND r.deleted_at IS NULL`, programID, code).
		Scan(&referrerID, &referrerKey, &identity)
	if errors.Is(err, sql.ErrNoRows) {
		return referral.ErrUnknownReferralCode
	}
	if err != nil {
		return fmt.Errorf("find referrer: %w", err)
	}
	if referrerID == c.ID || (identity.String != "" && identity.String == referral.EmailIdentity(c.Email)) {
		return referral.ErrSelfReferral
	}
	c.ReferredBy, c.ReferrerID, c.ReferrerKey = code, referrerID, referrerKey
	return nil
}

// freeCode finds an unused code for stem.
func (tx *Tx) freeCode(ctx context.Context, stem string) (string, error) {
	for attempt := 0; attempt < 20; attempt++ {
		code := referral.CandidateCode(stem, attempt)
		// Codes are unique across programs: /r/{code} carries no program.
		taken, err := exists(ctx, tx.tx, "check referral code", `SELECT 1 FROM referral_links WHERE code = $1`, code)
		if err != nil {
			return "", err
		}
		if !taken {
			return code, nil
		}
	}
	return "", errors.New("no free referral code after 20 attempts")
}

// Customer returns a live customer by the business's key.
func (db *DB) Customer(ctx context.Context, programID, key string) (*referral.Customer, error) {
	return customerByKey(ctx, db.read, programID, key, "")
}

// Customer returns a live customer by key inside the transaction, locking
// its row on PostgreSQL.
func (tx *Tx) Customer(ctx context.Context, programID, key string) (*referral.Customer, error) {
	return customerByKey(ctx, tx.tx, programID, key, tx.db.forUpdate("c"))
}

func customerByKey(ctx context.Context, q querier, programID, key, lock string) (*referral.Customer, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerColumns+customerFrom+`
		WHERE c.program_id = $1 AND c.key = $2 AND c.deleted_at IS NULL`+lock, programID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrCustomerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get customer: %w", err)
	}
	return c, nil
}

// CustomerFilter narrows a customer listing.
type CustomerFilter struct {
	Email    string // exact, case-insensitive
	Referred *bool  // only referred (true) or not referred (false) customers
	Page
}

// Customers lists live customers, newest first.
func (db *DB) Customers(ctx context.Context, programID string, f CustomerFilter) ([]*referral.Customer, bool, error) {
	w := where{}
	w.add("c.program_id = ", programID)
	w.cond("c.deleted_at IS NULL")
	if f.Email != "" {
		w.add("c.email_key = ", referral.EmailKey(f.Email))
	}
	if f.Referred != nil {
		if *f.Referred {
			w.cond("c.referrer_id IS NOT NULL")
		} else {
			w.cond("c.referrer_id IS NULL")
		}
	}
	page := f.Page.keyset(&w, "c.id")
	out, err := queryAll(ctx, db.read, "list customers", scanCustomer, `SELECT `+customerColumns+customerFrom+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(f.Page, out)
	return out, more, nil
}

// UpdateCustomer applies a partial update: name, email, metadata merged key
// by key, and a referrer for a customer who has none yet.
func (tx *Tx) UpdateCustomer(ctx context.Context, p *referral.Program, key string, u referral.CustomerUpdate) (*referral.Customer, error) {
	if err := u.Normalize(); err != nil {
		return nil, err
	}
	c, err := tx.Customer(ctx, p.ID, key)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		c.Name = *u.Name
	}
	if u.Email != nil {
		c.Email = *u.Email
	}
	if u.MetadataSet != nil || u.MetadataDel != nil {
		merged, err := referral.MergeMetadata(c.Metadata, u.MetadataSet, u.MetadataDel)
		if err != nil {
			var v referral.Validation
			v.AddError(err)
			return nil, v.Err("invalid_customer")
		}
		c.Metadata = merged
	}
	if u.EmailOptOut != nil {
		c.EmailOptOut = *u.EmailOptOut
	}
	newReferral := false
	if u.ReferredBy != nil {
		switch {
		case c.ReferrerID == "":
			if err := tx.attachReferrer(ctx, p.ID, c, *u.ReferredBy); err != nil {
				return nil, err
			}
			newReferral = true
			if c.PaidBeforeReferral, err = tx.hasTransactions(ctx, c.ID); err != nil {
				return nil, err
			}
		case c.ReferredBy != *u.ReferredBy:
			return nil, referral.ErrAlreadyReferred
		}
	}
	c.UpdatedAt = tx.now
	meta, _ := json.Marshal(c.Metadata)
	_, err = tx.tx.ExecContext(ctx, `UPDATE customers SET email = $2, email_key = $3, email_identity = $4,
		name = $5, metadata = $6, referred_by = $7, referrer_id = $8, updated_at = $9, paid_before_referral = $10,
		email_opt_out = $11 WHERE id = $1`,
		c.ID, nullString(c.Email), nullString(referral.EmailKey(c.Email)), nullString(referral.EmailIdentity(c.Email)), c.Name, string(meta),
		nullString(c.ReferredBy), nullString(c.ReferrerID), micros(tx.now), c.PaidBeforeReferral, c.EmailOptOut)
	if _, ok := uniqueViolation(err); ok {
		return nil, referral.ErrCustomerEmailTaken
	}
	if err != nil {
		return nil, fmt.Errorf("update customer: %w", err)
	}
	if err := tx.AddEvent(ctx, p.ID, "customer.updated", map[string]any{"customer_id": c.ID, "customer_key": c.Key}); err != nil {
		return nil, err
	}
	if newReferral {
		if err := tx.referralCreated(ctx, p, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// hasTransactions says whether the customer has recorded any payment.
func (tx *Tx) hasTransactions(ctx context.Context, customerID string) (bool, error) {
	return exists(ctx, tx.tx, "customer's transactions", `SELECT 1 FROM transactions WHERE customer_id = $1 LIMIT 1`, customerID)
}

// DeleteCustomer erases a customer's personal data (key, email, name,
// metadata) and hides them from the API, but keeps the row, their code and
// every referral and ledger row that money depends on. The key is freed so
// that the business may create a customer with it again.
// It returns the codes of the customer's links, which stop redirecting.
func (tx *Tx) DeleteCustomer(ctx context.Context, programID, key string) ([]string, error) {
	c, err := tx.Customer(ctx, programID, key)
	if err != nil {
		return nil, err
	}
	_, err = tx.tx.ExecContext(ctx, `UPDATE customers SET key = NULL, email = NULL, email_key = NULL,
		email_identity = NULL, name = '', metadata = '{}', deleted_at = $2, updated_at = $2 WHERE id = $1`,
		c.ID, micros(tx.now))
	if err != nil {
		return nil, fmt.Errorf("delete customer: %w", err)
	}
	codes, err := queryAll(ctx, tx.tx, "delete customer", scanString, `SELECT code FROM referral_links WHERE customer_id = $1`, c.ID)
	if err != nil {
		return nil, err
	}
	return codes, tx.AddEvent(ctx, programID, "customer.deleted", map[string]any{"customer_id": c.ID})
}

// referralStatus names a customer's referral state as the stats count it.
func referralStatus(referred, converted, rejected bool) string {
	switch {
	case !referred:
		return ""
	case rejected:
		return rewards.ReferralRejected
	case converted:
		return rewards.ReferralSuccessful
	}
	return rewards.ReferralPending
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
