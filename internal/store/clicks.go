package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

// InsertClicks stores a batch of clicks in one transaction and bumps the
// counters of their links. A click is unique when it is its visitor's
// first on that link in that clock hour; the click_uniques primary key
// decides, so several nodes agree.
func (db *DB) InsertClicks(ctx context.Context, clicks []referral.Click) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, c := range clicks {
			hour := c.At.Unix() / 3600
			res, err := tx.tx.ExecContext(ctx, `INSERT INTO click_uniques (link_id, visitor, hour) VALUES ($1, $2, $3)
				ON CONFLICT (link_id, visitor, hour) DO NOTHING`, c.LinkID, c.Visitor, hour)
			if err != nil {
				return fmt.Errorf("record click: %w", err)
			}
			n, _ := res.RowsAffected()
			unique := n == 1
			_, err = tx.tx.ExecContext(ctx, `INSERT INTO clicks (id, program_id, link_id, source, visitor, landing_url,
				referrer, user_agent, is_unique, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				id.New("clk", c.At), c.ProgramID, c.LinkID, c.Source, c.Visitor, c.LandingURL, c.Referrer, c.UserAgent, unique, micros(c.At))
			if err != nil {
				return fmt.Errorf("record click: %w", err)
			}
			add := 0
			if unique {
				add = 1
			}
			if _, err := tx.tx.ExecContext(ctx, `UPDATE referral_links SET clicks = clicks + 1, unique_clicks = unique_clicks + $2
				WHERE id = $1`, c.LinkID, add); err != nil {
				return fmt.Errorf("record click: %w", err)
			}
		}
		return nil
	})
}

// ResolveCode finds where a code sends a visitor, in any program: codes
// are unique across programs. Deleted links and deleted customers' links
// resolve to nothing.
func (db *DB) ResolveCode(ctx context.Context, code string) (*referral.LinkTarget, error) {
	var t referral.LinkTarget
	var dest sql.NullString
	var website, param string
	err := db.read.QueryRowContext(ctx, `SELECT l.program_id, l.id, l.code, l.destination_url, p.website_url, p.ref_param
		FROM referral_links l JOIN customers c ON c.id = l.customer_id JOIN programs p ON p.id = l.program_id
		WHERE l.code = $1 AND l.deleted_at IS NULL AND c.deleted_at IS NULL`, referral.NormalizeCode(code)).
		Scan(&t.ProgramID, &t.LinkID, &t.Code, &dest, &website, &param)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrLinkNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("resolve code: %w", err)
	}
	target := website
	if dest.Valid {
		target = dest.String
	}
	t.URL = referral.WithRef(target, param, t.Code)
	return &t, nil
}

// DefaultWebsite is where unknown codes go: the oldest program's website.
func (db *DB) DefaultWebsite(ctx context.Context) (string, error) {
	var u string
	err := db.read.QueryRowContext(ctx, `SELECT website_url FROM programs ORDER BY id LIMIT 1`).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return u, err
}

// ClickCount says how many clicks are stored; load tests count with it.
func (db *DB) ClickCount(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM clicks WHERE created_at >= $1`, micros(since)).Scan(&n)
	return n, err
}
