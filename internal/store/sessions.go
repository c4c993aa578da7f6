package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/advocate-oss/advocate/internal/referral"
)

// Session lifetimes: a session ends after SessionIdle without use, and in
// any case SessionMax after sign-in.
const (
	SessionIdle = 12 * time.Hour
	SessionMax  = 7 * 24 * time.Hour
)

// ErrNoSession is returned for an unknown, expired or signed-out session.
var ErrNoSession = errors.New("no such session")

// ErrBadCredentials is the one answer to a wrong email or a wrong
// password, so that sign-in does not reveal which emails exist.
var ErrBadCredentials = referral.Errorf(referral.KindUnauthorized, "invalid_credentials", "Wrong email or password.")

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// dummyHashes make a sign-in with an unknown email cost as much as one
// with a wrong password: one hash per bcrypt cost, made on first use.
var dummyHashes sync.Map

func dummyHash() []byte {
	cost := PasswordCost
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("advocate-dummy-password"), cost)
	dummyHashes.Store(cost, h)
	return h
}

// SignIn checks an admin's password and opens a session, returning the
// token for the cookie.
func (db *DB) SignIn(ctx context.Context, email, password string) (string, *Admin, error) {
	a, err := db.adminByEmail(ctx, email)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return "", nil, ErrBadCredentials
	}
	if err != nil {
		return "", nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) != nil {
		return "", nil, ErrBadCredentials
	}
	token := rand.Text() + rand.Text()
	err = db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, admin_id, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $3, $4)`, hashToken(token), a.ID, micros(tx.now), micros(tx.now.Add(SessionMax)))
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("open session: %w", err)
	}
	return token, a, nil
}

// SessionAdmin returns the admin of a live session and keeps it alive.
// The last-seen time is written at most once a minute.
func (db *DB) SessionAdmin(ctx context.Context, token string) (*Admin, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	var a Admin
	var lastSeen, expires, created int64
	err := db.read.QueryRowContext(ctx, `SELECT a.id, a.email, a.role, a.password_hash, a.created_at, s.last_seen_at, s.expires_at
		FROM sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = $1`, hashToken(token)).
		Scan(&a.ID, &a.Email, &a.Role, &a.PasswordHash, &created, &lastSeen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	a.CreatedAt = fromMicros(created)
	now := db.Now()
	if now.After(fromMicros(expires)) || now.Sub(fromMicros(lastSeen)) > SessionIdle {
		return nil, ErrNoSession
	}
	if now.Sub(fromMicros(lastSeen)) > time.Minute {
		err := db.InTx(ctx, func(tx *Tx) error {
			_, err := tx.tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`, hashToken(token), micros(tx.now))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return &a, nil
}

// SignOut ends a session.
func (db *DB) SignOut(ctx context.Context, token string) error {
	return db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token))
		return err
	})
}

func (db *DB) adminByEmail(ctx context.Context, email string) (*Admin, error) {
	var a Admin
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, email, role, password_hash, created_at FROM admins WHERE email_key = $1`,
		strings.ToLower(strings.TrimSpace(email))).Scan(&a.ID, &a.Email, &a.Role, &a.PasswordHash, &created)
	if err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// Admins lists every admin, oldest first.
func (db *DB) Admins(ctx context.Context) ([]*Admin, error) {
	return queryAll(ctx, db.read, "list admins", func(row scanner) (*Admin, error) {
		var a Admin
		var created int64
		err := row.Scan(&a.ID, &a.Email, &a.Role, &created)
		a.CreatedAt = fromMicros(created)
		return &a, err
	}, `SELECT id, email, role, created_at FROM admins ORDER BY id`)
}

// DeleteAdmin removes an admin and their sessions. The last owner cannot
// be removed: someone must be able to change settings.
func (tx *Tx) DeleteAdmin(ctx context.Context, adminID string) error {
	var role string
	err := tx.tx.QueryRowContext(ctx, `SELECT role FROM admins WHERE id = $1`, adminID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return referral.Errorf(referral.KindNotFound, "admin_not_found", "No such admin.")
	}
	if err != nil {
		return fmt.Errorf("delete admin: %w", err)
	}
	if role == RoleOwner {
		// Lock every owner (in id order, so that two removals wait for each
		// other rather than deadlock): two owners removing each other at
		// once must not both succeed and leave no owner.
		owners, err := queryAll(ctx, tx.tx, "delete admin", scanString, `SELECT id FROM admins WHERE role = 'owner' ORDER BY id`+tx.db.forUpdate())
		if err != nil {
			return err
		}
		if len(owners) <= 1 {
			return referral.Errorf(referral.KindConflict, "last_owner", "The last owner cannot be removed.")
		}
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions WHERE admin_id = $1`, adminID); err != nil {
		return fmt.Errorf("delete admin: %w", err)
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM admins WHERE id = $1`, adminID); err != nil {
		return fmt.Errorf("delete admin: %w", err)
	}
	return nil
}
