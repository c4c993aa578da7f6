package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

func (tx *Tx) insertLink(ctx context.Context, l *referral.Link) error {
	l.ID = id.New("rl", tx.now)
	l.CreatedAt = tx.now
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO referral_links (id, program_id, customer_id, code, destination_url, is_default, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		l.ID, l.ProgramID, l.CustomerID, l.Code, nullString(l.DestinationURL), l.Default, micros(l.CreatedAt))
	if _, ok := uniqueViolation(err); ok {
		return referral.ErrReferralCodeTaken
	}
	if err != nil {
		return fmt.Errorf("create referral link: %w", err)
	}
	return nil
}

// CreateLink adds an extra referral link for a customer, with a custom code
// or one derived from the customer's name.
func (tx *Tx) CreateLink(ctx context.Context, p *referral.Program, customerKey, destination, code string) (*referral.Link, error) {
	var v referral.Validation
	if msg := p.CheckDestination(destination); msg != "" {
		v.Add("destination_url", msg)
	}
	if code != "" {
		code = referral.NormalizeCode(code)
		if msg := referral.ValidCode(code); msg != "" {
			v.Add("code", msg)
		}
	}
	if err := v.Err("invalid_referral_link"); err != nil {
		return nil, err
	}
	c, err := tx.Customer(ctx, p.ID, customerKey)
	if err != nil {
		if errors.Is(err, referral.ErrCustomerNotFound) {
			return nil, referral.FieldError("customer_not_found", "customer_key", "No customer with that key exists in this program.")
		}
		return nil, err
	}
	if code == "" {
		if code, err = tx.freeCode(ctx, referral.CodeStem(c.Name, c.Email)); err != nil {
			return nil, err
		}
	}
	l := &referral.Link{ProgramID: p.ID, CustomerID: c.ID, CustomerKey: c.Key, Code: code, DestinationURL: destination}
	if err := tx.insertLink(ctx, l); err != nil {
		if errors.Is(err, referral.ErrReferralCodeTaken) {
			return nil, &referral.Error{Kind: referral.KindConflict, Code: "referral_code_taken",
				Message: "This referral code is already in use.", Fields: map[string]string{"code": "This referral code is already in use."}}
		}
		return nil, err
	}
	return l, nil
}

// DeleteLink removes an extra link. Its code stays reserved so that a link
// already shared can never start pointing at somebody else.
// It returns the link's code.
func (tx *Tx) DeleteLink(ctx context.Context, programID, linkID string) (string, error) {
	var isDefault bool
	var code string
	err := tx.tx.QueryRowContext(ctx, `SELECT l.is_default, l.code FROM referral_links l JOIN customers c ON c.id = l.customer_id
		WHERE l.id = $1 AND l.program_id = $2 AND l.deleted_at IS NULL AND c.deleted_at IS NULL`, linkID, programID).Scan(&isDefault, &code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", referral.ErrLinkNotFound
	}
	if err != nil {
		return "", fmt.Errorf("delete referral link: %w", err)
	}
	if isDefault {
		return "", referral.Errorf(referral.KindInvalid, "default_link_not_deletable", "A customer's default referral link cannot be deleted.")
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE referral_links SET deleted_at = $2 WHERE id = $1`, linkID, micros(tx.now)); err != nil {
		return "", fmt.Errorf("delete referral link: %w", err)
	}
	return code, nil
}

const linkColumns = `l.id, l.program_id, l.customer_id, c.key, l.code, l.destination_url, l.is_default,
	l.clicks, l.unique_clicks, l.created_at`

func scanLink(row scanner) (*referral.Link, error) {
	var l referral.Link
	var key, dest sql.NullString
	var created int64
	if err := row.Scan(&l.ID, &l.ProgramID, &l.CustomerID, &key, &l.Code, &dest, &l.Default,
		&l.Clicks, &l.UniqueClicks, &created); err != nil {
		return nil, err
	}
	l.CustomerKey, l.DestinationURL, l.CreatedAt = key.String, dest.String, fromMicros(created)
	return &l, nil
}

// CustomerLinks lists a customer's live links, the default one first.
func (db *DB) CustomerLinks(ctx context.Context, programID, customerKey string) ([]*referral.Link, error) {
	c, err := db.Customer(ctx, programID, customerKey)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, db.read, "list referral links", scanLink, `SELECT `+linkColumns+` FROM referral_links l
		JOIN customers c ON c.id = l.customer_id
		WHERE l.customer_id = $1 AND l.deleted_at IS NULL ORDER BY l.is_default DESC, l.id`, c.ID)
}

// LinkByCode finds the live link that owns a code, for short links.
func (db *DB) LinkByCode(ctx context.Context, programID, code string) (*referral.Link, error) {
	l, err := scanLink(db.read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM referral_links l
		JOIN customers c ON c.id = l.customer_id
		WHERE l.program_id = $1 AND l.code = $2 AND l.deleted_at IS NULL AND c.deleted_at IS NULL`,
		programID, referral.NormalizeCode(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrLinkNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find referral link: %w", err)
	}
	return l, nil
}
