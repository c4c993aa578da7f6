package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/referral"
)

// ErrUnsubscribeLinkInvalid is an unsubscribe link that is forged,
// damaged, or names a customer who no longer exists.
var ErrUnsubscribeLinkInvalid = referral.Errorf(referral.KindNotFound, "unsubscribe_link_invalid",
	"This unsubscribe link is not valid. Use the link of a recent email, or ask the sender to stop.")

// Unsubscription is what an unsubscribe link names.
type Unsubscription struct {
	ProgramName string
	Email       string
	OptedOut    bool
}

// UnsubscribeLink checks an unsubscribe link's token and says what it
// names, changing nothing (the confirmation page).
func (db *DB) UnsubscribeLink(ctx context.Context, token string) (*Unsubscription, error) {
	return checkUnsubscribe(ctx, db.read, token)
}

func checkUnsubscribe(ctx context.Context, q querier, token string) (*Unsubscription, error) {
	programID, customerID, err := email.ParseUnsubscribeToken(token)
	if err != nil {
		return nil, ErrUnsubscribeLinkInvalid
	}
	s, err := emailSettings(ctx, q, programID)
	if err != nil {
		return nil, err
	}
	if s.unsubscribeKey == nil || email.VerifyUnsubscribeToken(s.unsubscribeKey, token) != nil {
		return nil, ErrUnsubscribeLinkInvalid
	}
	var u Unsubscription
	var addr sql.NullString
	err = q.QueryRowContext(ctx, `SELECT p.name, c.email, c.email_opt_out FROM customers c JOIN programs p ON p.id = c.program_id
		WHERE c.id = $1 AND c.program_id = $2 AND c.deleted_at IS NULL`, customerID, programID).Scan(&u.ProgramName, &addr, &u.OptedOut)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnsubscribeLinkInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("unsubscribe: %w", err)
	}
	u.Email = addr.String
	return &u, nil
}

// Unsubscribe opts the customer an unsubscribe link names out of all the
// program's emails (RFC 8058 one-click). Using a link again changes
// nothing and succeeds; a forged one is ErrUnsubscribeLinkInvalid.
func (db *DB) Unsubscribe(ctx context.Context, token string) (*Unsubscription, error) {
	return run(ctx, db, func(tx *Tx) (*Unsubscription, error) {
		u, err := checkUnsubscribe(ctx, tx.tx, token)
		if err != nil || u.OptedOut {
			return u, err
		}
		programID, customerID, _ := email.ParseUnsubscribeToken(token)
		var key sql.NullString
		if err := tx.tx.QueryRowContext(ctx, `UPDATE customers SET email_opt_out = TRUE, updated_at = $2 WHERE id = $1
			RETURNING key`, customerID, micros(tx.now)).Scan(&key); err != nil {
			return nil, fmt.Errorf("unsubscribe: %w", err)
		}
		u.OptedOut = true
		return u, tx.AddEvent(ctx, programID, "customer.updated", map[string]any{"customer_id": customerID, "customer_key": key.String})
	})
}
