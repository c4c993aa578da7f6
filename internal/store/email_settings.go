package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/referral"
)

// EmailSettings is how a program's emails look and who they are from.
type EmailSettings struct {
	ProgramID  string
	SenderName string // "" means the --email-from name
	ReplyTo    string // "" for none
	BrandColor string // "#rrggbb", "" for the default
	UpdatedAt  time.Time

	unsubscribeKey []byte
}

// MaxSenderNameLen bounds a sender name, which goes into a header.
const MaxSenderNameLen = 100

// EmailSettings returns a program's email settings; a program that never
// set them has the defaults.
func (db *DB) EmailSettings(ctx context.Context, programID string) (*EmailSettings, error) {
	return emailSettings(ctx, db.read, programID)
}

func emailSettings(ctx context.Context, q querier, programID string) (*EmailSettings, error) {
	s := &EmailSettings{ProgramID: programID}
	var key string
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT sender_name, reply_to, brand_color, unsubscribe_key, updated_at
		FROM email_settings WHERE program_id = $1`, programID).Scan(&s.SenderName, &s.ReplyTo, &s.BrandColor, &key, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get email settings: %w", err)
	}
	s.UpdatedAt = fromMicros(updated)
	if s.unsubscribeKey, err = base64.StdEncoding.DecodeString(key); err != nil {
		return nil, fmt.Errorf("get email settings: unsubscribe key: %w", err)
	}
	return s, nil
}

// UpdateEmailSettings validates and saves a program's sender name,
// reply-to address and brand colour.
func (tx *Tx) UpdateEmailSettings(ctx context.Context, programID string, in EmailSettings) (*EmailSettings, error) {
	var v referral.Validation
	in.SenderName = strings.TrimSpace(in.SenderName)
	if len(in.SenderName) > MaxSenderNameLen || strings.ContainsAny(in.SenderName, "\r\n\"<>") {
		v.Add("sender_name", fmt.Sprintf("Sender name must be at most %d characters, without quotes, angle brackets or line breaks.", MaxSenderNameLen))
	}
	if in.ReplyTo = strings.TrimSpace(in.ReplyTo); in.ReplyTo != "" {
		addr, msg := referral.NormalizeEmail(in.ReplyTo)
		if msg != "" {
			v.Add("reply_to", msg)
		}
		in.ReplyTo = addr
	}
	if in.BrandColor = strings.TrimSpace(in.BrandColor); in.BrandColor != "" && !email.ValidColor(in.BrandColor) {
		v.Add("brand_color", "Brand colour must be a hex colour such as #1a73e8.")
	}
	if err := v.Err("invalid_email_settings"); err != nil {
		return nil, err
	}
	if _, err := tx.unsubscribeKey(ctx, programID); err != nil {
		return nil, err
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE email_settings SET sender_name = $2, reply_to = $3, brand_color = $4,
		updated_at = $5 WHERE program_id = $1`, programID, in.SenderName, in.ReplyTo, in.BrandColor, micros(tx.now)); err != nil {
		return nil, fmt.Errorf("update email settings: %w", err)
	}
	return emailSettings(ctx, tx.tx, programID)
}

// EmailTemplate returns a program's template of one kind: its own subject
// and body where it set them, else the defaults.
func (db *DB) EmailTemplate(ctx context.Context, programID, kind string) (email.Template, error) {
	return emailTemplate(ctx, db.read, programID, kind)
}

func emailTemplate(ctx context.Context, q querier, programID, kind string) (email.Template, error) {
	if _, ok := email.KindByName(kind); !ok {
		return email.Template{}, ErrUnknownEmailKind
	}
	t := email.Default(kind)
	var subject, body sql.NullString
	err := q.QueryRowContext(ctx, `SELECT enabled, subject, body FROM email_templates WHERE program_id = $1 AND kind = $2`,
		programID, kind).Scan(&t.Enabled, &subject, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("get email template: %w", err)
	}
	if subject.Valid {
		t.Subject = subject.String
	}
	if body.Valid {
		t.Body = body.String
	}
	return t, nil
}

// EmailTemplates returns a program's template of every kind, in
// email.Kinds order.
func (db *DB) EmailTemplates(ctx context.Context, programID string) ([]email.Template, error) {
	var out []email.Template
	for _, k := range email.Kinds {
		t, err := db.EmailTemplate(ctx, programID, k.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ErrUnknownEmailKind is a kind of email that does not exist.
var ErrUnknownEmailKind = referral.Errorf(referral.KindNotFound, "email_kind_not_found", "There is no such kind of email.")

// SaveEmailTemplate validates and saves a program's template of one kind.
// A subject or body equal to the default is stored as the default, so
// that a later change of the default reaches it.
func (tx *Tx) SaveEmailTemplate(ctx context.Context, programID string, t email.Template) (email.Template, error) {
	if _, ok := email.KindByName(t.Kind); !ok {
		return email.Template{}, ErrUnknownEmailKind
	}
	if err := t.Validate(); err != nil {
		return email.Template{}, err
	}
	def := email.Default(t.Kind)
	subject, body := nullString(t.Subject), nullString(t.Body)
	if t.Subject == def.Subject {
		subject = sql.NullString{}
	}
	if t.Body == def.Body {
		body = sql.NullString{}
	}
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO email_templates (program_id, kind, enabled, subject, body, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (program_id, kind) DO UPDATE SET enabled = excluded.enabled,
		subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at`,
		programID, t.Kind, t.Enabled, subject, body, micros(tx.now)); err != nil {
		return email.Template{}, fmt.Errorf("save email template: %w", err)
	}
	return emailTemplate(ctx, tx.tx, programID, t.Kind)
}

// ResetEmailTemplate puts a kind's subject and body back to the defaults,
// keeping whether it is sent.
func (tx *Tx) ResetEmailTemplate(ctx context.Context, programID, kind string) (email.Template, error) {
	if _, ok := email.KindByName(kind); !ok {
		return email.Template{}, ErrUnknownEmailKind
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE email_templates SET subject = NULL, body = NULL, updated_at = $3
		WHERE program_id = $1 AND kind = $2`, programID, kind, micros(tx.now)); err != nil {
		return email.Template{}, fmt.Errorf("reset email template: %w", err)
	}
	return emailTemplate(ctx, tx.tx, programID, kind)
}

// SetEmailEnabled switches a program's emails of one kind on or off,
// keeping their subject and body.
func (tx *Tx) SetEmailEnabled(ctx context.Context, programID, kind string, enabled bool) (email.Template, error) {
	if _, ok := email.KindByName(kind); !ok {
		return email.Template{}, ErrUnknownEmailKind
	}
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO email_templates (program_id, kind, enabled, subject, body, updated_at)
		VALUES ($1, $2, $3, NULL, NULL, $4) ON CONFLICT (program_id, kind) DO UPDATE SET enabled = excluded.enabled,
		updated_at = excluded.updated_at`, programID, kind, enabled, micros(tx.now)); err != nil {
		return email.Template{}, fmt.Errorf("set email enabled: %w", err)
	}
	return emailTemplate(ctx, tx.tx, programID, kind)
}
