package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

// Admin roles: owners change anything, viewers only look.
const (
	RoleOwner  = "owner"
	RoleViewer = "viewer"
)

// PasswordCost is the bcrypt cost of admin passwords. Tests lower it
// (storetest does) because the race detector makes each hash take seconds.
var PasswordCost = bcrypt.DefaultCost

// Admin is a person who signs in to the dashboard.
type Admin struct {
	ID           string
	Email        string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
}

// CreateAdmin stores an admin with a bcrypt hash of password.
func (tx *Tx) CreateAdmin(ctx context.Context, email, password, role string) (*Admin, error) {
	var v referral.Validation
	email, msg := referral.NormalizeEmail(email)
	if msg != "" {
		v.Add("email", msg)
	}
	if len(password) < 12 || len(password) > 72 {
		v.Add("password", "Password must be 12 to 72 characters.")
	}
	if role != RoleOwner && role != RoleViewer {
		v.Add("role", "Role must be owner or viewer.")
	}
	if err := v.Err("invalid_admin"); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	a := &Admin{ID: id.New("adm", tx.now), Email: email, Role: role, PasswordHash: string(hash), CreatedAt: tx.now}
	_, err = tx.tx.ExecContext(ctx, `INSERT INTO admins (id, email, email_key, password_hash, role, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, a.Email, strings.ToLower(a.Email), a.PasswordHash, a.Role, micros(a.CreatedAt))
	if _, ok := uniqueViolation(err); ok {
		return nil, referral.Errorf(referral.KindConflict, "admin_exists", "An admin with this email already exists.")
	}
	if err != nil {
		return nil, fmt.Errorf("create admin: %w", err)
	}
	return a, nil
}

// AdminCount says how many admins exist; serve uses it to spot an empty
// database.
func (db *DB) AdminCount(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}
