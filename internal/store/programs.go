package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

const programColumns = `id, name, currency, website_url, allowed_domains, ref_param, cookie_days,
	attribution, widget_secret, require_hash, require_approval, created_at, updated_at,
	previous_widget_secret, widget_secret_rotated_at, new_customers_only, show_leaderboard`

// programColumnsOfP is programColumns of a join's table p.
var programColumnsOfP = qualified("p", programColumns)

// qualified prefixes each of a comma-separated list of columns with a
// table's alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func scanProgram(row scanner) (*referral.Program, error) {
	var p referral.Program
	var domains string
	var created, updated, rotated int64
	err := row.Scan(&p.ID, &p.Name, &p.Currency, &p.WebsiteURL, &domains, &p.RefParam, &p.CookieDays,
		&p.Attribution, &p.WidgetSecret, &p.RequireHash, &p.RequireApproval, &created, &updated,
		&p.PreviousWidgetSecret, &rotated, &p.NewCustomersOnly, &p.ShowLeaderboard)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(domains), &p.AllowedDomains); err != nil {
		return nil, fmt.Errorf("program %s allowed_domains: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	if rotated != 0 {
		p.WidgetSecretRotatedAt = fromMicros(rotated)
	}
	return &p, nil
}

// CreateProgram stores a new program, giving it an id and a widget secret.
func (tx *Tx) CreateProgram(ctx context.Context, p *referral.Program) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.ID = id.New("prg", tx.now)
	if p.WidgetSecret == "" {
		p.WidgetSecret = newWidgetSecret()
	}
	if p.AllowedDomains == nil {
		p.AllowedDomains = []string{}
	}
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	domains, _ := json.Marshal(p.AllowedDomains)
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO programs (`+programColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '', 0, $14, $15)`,
		p.ID, p.Name, p.Currency, p.WebsiteURL, string(domains), p.RefParam, p.CookieDays,
		p.Attribution, p.WidgetSecret, p.RequireHash, p.RequireApproval, micros(p.CreatedAt), micros(p.UpdatedAt), p.NewCustomersOnly, p.ShowLeaderboard)
	if err != nil {
		return fmt.Errorf("create program: %w", err)
	}
	return nil
}

// CreateProgramWithKeys stores a new program and issues its secret and
// publishable API keys, returning their plaintexts, which are shown once.
func (tx *Tx) CreateProgramWithKeys(ctx context.Context, p *referral.Program) (secret, publishable string, err error) {
	if err := tx.CreateProgram(ctx, p); err != nil {
		return "", "", err
	}
	if secret, _, err = tx.CreateAPIKey(ctx, p.ID, referral.SecretKey); err != nil {
		return "", "", err
	}
	if publishable, _, err = tx.CreateAPIKey(ctx, p.ID, referral.PublishableKey); err != nil {
		return "", "", err
	}
	return secret, publishable, nil
}

func newWidgetSecret() string { return "whsec_" + rand.Text() }

// UpdateProgram saves a program's settings. The widget secret is not a
// setting: only RotateWidgetSecret changes it, so that saving settings read
// before a rotation cannot undo it.
func (tx *Tx) UpdateProgram(ctx context.Context, p *referral.Program) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.UpdatedAt = tx.now
	domains, _ := json.Marshal(p.AllowedDomains)
	res, err := tx.tx.ExecContext(ctx, `UPDATE programs SET name = $2, currency = $3, website_url = $4,
		allowed_domains = $5, ref_param = $6, cookie_days = $7, attribution = $8,
		require_hash = $9, require_approval = $10, updated_at = $11, new_customers_only = $12,
		show_leaderboard = $13 WHERE id = $1`,
		p.ID, p.Name, p.Currency, p.WebsiteURL, string(domains), p.RefParam, p.CookieDays,
		p.Attribution, p.RequireHash, p.RequireApproval, micros(p.UpdatedAt), p.NewCustomersOnly, p.ShowLeaderboard)
	if err != nil {
		return fmt.Errorf("update program: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return referral.ErrProgramNotFound
	}
	return nil
}

// RotateWidgetSecret gives a program a new widget secret and keeps the
// current one as the previous, which verifies for referral.WidgetSecretGrace
// more. A second rotation within the grace period drops the oldest secret.
// It returns the program as stored.
func (tx *Tx) RotateWidgetSecret(ctx context.Context, programID string) (*referral.Program, error) {
	res, err := tx.tx.ExecContext(ctx, `UPDATE programs SET previous_widget_secret = widget_secret,
		widget_secret = $2, widget_secret_rotated_at = $3, updated_at = $3 WHERE id = $1`,
		programID, newWidgetSecret(), micros(tx.now))
	if err != nil {
		return nil, fmt.Errorf("rotate widget secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, referral.ErrProgramNotFound
	}
	p, err := scanProgram(tx.tx.QueryRowContext(ctx, `SELECT `+programColumns+` FROM programs WHERE id = $1`, programID))
	if err != nil {
		return nil, fmt.Errorf("rotate widget secret: %w", err)
	}
	return p, nil
}

// Program returns one program.
func (db *DB) Program(ctx context.Context, programID string) (*referral.Program, error) {
	p, err := scanProgram(db.read.QueryRowContext(ctx, `SELECT `+programColumns+` FROM programs WHERE id = $1`, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrProgramNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get program: %w", err)
	}
	return p, nil
}

// Programs lists every program, oldest first.
func (db *DB) Programs(ctx context.Context) ([]*referral.Program, error) {
	return queryAll(ctx, db.read, "list programs", scanProgram, `SELECT `+programColumns+` FROM programs ORDER BY id`)
}
