package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

const codeColumns = `d.id, d.program_id, d.customer_id, c.key, d.reward_id, d.code, d.percent_off, d.amount_off, d.currency,
	d.expires_at, d.redeemed_at, d.voided_at, d.created_at`

const codeFrom = ` FROM discount_codes d JOIN customers c ON c.id = d.customer_id`

func scanCode(row scanner) (*rewards.DiscountCode, error) {
	var dc rewards.DiscountCode
	var key, cur sql.NullString
	var pct, off, expires, redeemed, voided sql.NullInt64
	var created int64
	if err := row.Scan(&dc.ID, &dc.ProgramID, &dc.CustomerID, &key, &dc.RewardID, &dc.Code, &pct, &off, &cur,
		&expires, &redeemed, &voided, &created); err != nil {
		return nil, err
	}
	dc.CustomerKey, dc.Currency, dc.PercentOff, dc.AmountOff = key.String, cur.String, pct.Int64, off.Int64
	dc.ExpiresAt, dc.RedeemedAt, dc.VoidedAt, dc.CreatedAt = nullMicros(expires), nullMicros(redeemed), nullMicros(voided), fromMicros(created)
	return &dc, nil
}

func queryCodes(ctx context.Context, q querier, query string, args ...any) ([]*rewards.DiscountCode, error) {
	return queryAll(ctx, q, "list discount codes", scanCode, query, args...)
}

// insertDiscountCode writes a code the workflow issued, picking its text:
// the prefix and eight characters that cannot be misread.
func (tx *Tx) insertDiscountCode(ctx context.Context, dc *rewards.DiscountCode) error {
	var expires sql.NullInt64
	if dc.ExpiresAt != nil {
		expires = sql.NullInt64{Int64: micros(*dc.ExpiresAt), Valid: true}
	}
	// A taken code (one in 10^12) makes the INSERT do nothing; try another.
	for attempt := 0; ; attempt++ {
		dc.Code = "GIFT-" + referral.RandomCode(8)
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO discount_codes (id, program_id, customer_id, reward_id, code, percent_off,
			amount_off, currency, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (program_id, code) DO NOTHING`,
			dc.ID, dc.ProgramID, dc.CustomerID, dc.RewardID, dc.Code, nullInt(dc.PercentOff), nullInt(dc.AmountOff),
			nullString(dc.Currency), expires, micros(dc.CreatedAt))
		if err != nil {
			return fmt.Errorf("issue discount code: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("issue discount code: %w", err)
		} else if n == 1 {
			return nil
		}
		if attempt == 10 {
			return errors.New("no free discount code after 10 attempts")
		}
	}
}

// CustomerDiscountCodes lists a customer's codes, newest first.
func (db *DB) CustomerDiscountCodes(ctx context.Context, programID, customerID string) ([]*rewards.DiscountCode, error) {
	return queryCodes(ctx, db.read, `SELECT `+codeColumns+codeFrom+` WHERE d.program_id = $1 AND d.customer_id = $2
		ORDER BY d.id DESC`, programID, customerID)
}

// Discount code errors a client can cause.
var (
	ErrDiscountCodeNotFound = rewards.ErrDiscountCodeNotFound
	ErrDiscountCodeRedeemed = rewards.ErrDiscountCodeRedeemed
	ErrDiscountCodeVoid     = rewards.ErrDiscountCodeVoid
	ErrDiscountCodeExpired  = rewards.ErrDiscountCodeExpired
)

// RedeemDiscountCode marks a code used, once.
func (tx *Tx) RedeemDiscountCode(ctx context.Context, programID, code string) (*rewards.DiscountCode, error) {
	dc, err := scanCode(tx.tx.QueryRowContext(ctx, `SELECT `+codeColumns+codeFrom+` WHERE d.program_id = $1 AND d.code = $2`+
		tx.db.forUpdate("d"), programID, referral.NormalizeCode(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrDiscountCodeNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redeem discount code: %w", err)
	}
	plan, err := tx.env().Redeem(dc)
	if err != nil {
		return nil, err
	}
	return dc, tx.apply(ctx, programID, &plan)
}
