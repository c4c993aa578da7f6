package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

// ErrKeyNotFound is returned for an unknown or revoked API key.
var ErrKeyNotFound = errors.New("api key not found")

// CreateAPIKey makes a key of kind for a program and returns its plaintext,
// which is never stored and cannot be shown again.
func (tx *Tx) CreateAPIKey(ctx context.Context, programID, kind string) (string, *referral.APIKey, error) {
	plain, k := referral.NewAPIKey(kind)
	k.ID = id.New("key", tx.now)
	k.ProgramID = programID
	k.CreatedAt = tx.now
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO api_keys (id, program_id, kind, prefix, hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, k.ID, k.ProgramID, k.Kind, k.Prefix, k.Hash, micros(k.CreatedAt))
	if err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	return plain, &k, nil
}

// RevokeAPIKey revokes a key of a program; revoking twice is harmless.
func (tx *Tx) RevokeAPIKey(ctx context.Context, programID, keyID string) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3)
		WHERE id = $1 AND program_id = $2`, keyID, programID, micros(tx.now))
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return referral.Errorf(referral.KindNotFound, "api_key_not_found", "No API key with that id exists in this program.")
	}
	return nil
}

// APIKeyByHash finds an active key by the SHA-256 of its plaintext, with
// its program: every API request needs both, and one statement costs the
// request half of what two did.
func (db *DB) APIKeyByHash(ctx context.Context, hash string) (*referral.APIKey, *referral.Program, error) {
	var k referral.APIKey
	var created int64
	row := db.read.QueryRowContext(ctx, `SELECT k.id, k.program_id, k.kind, k.prefix, k.hash, k.created_at, `+programColumnsOfP+`
		FROM api_keys k JOIN programs p ON p.id = k.program_id WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash)
	p, err := scanProgram(scanAfter{row, []any{&k.ID, &k.ProgramID, &k.Kind, &k.Prefix, &k.Hash, &created}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find api key: %w", err)
	}
	k.CreatedAt = fromMicros(created)
	return &k, p, nil
}

// scanAfter scans a row whose first columns go to dest and the rest to
// what Scan is given, so that a scan function for one table serves a join.
type scanAfter struct {
	row  interface{ Scan(...any) error }
	dest []any
}

func (s scanAfter) Scan(dest ...any) error { return s.row.Scan(append(s.dest, dest...)...) }

// APIKeys lists a program's keys, revoked ones included, oldest first.
func (db *DB) APIKeys(ctx context.Context, programID string) ([]*referral.APIKey, error) {
	return queryAll(ctx, db.read, "list api keys", func(row scanner) (*referral.APIKey, error) {
		var k referral.APIKey
		var created int64
		var revoked, used sql.NullInt64
		err := row.Scan(&k.ID, &k.ProgramID, &k.Kind, &k.Prefix, &k.Hash, &created, &revoked, &used)
		k.CreatedAt, k.RevokedAt, k.LastUsedAt = fromMicros(created), nullMicros(revoked), nullMicros(used)
		return &k, err
	}, `SELECT id, program_id, kind, prefix, hash, created_at, revoked_at, last_used_at
		FROM api_keys WHERE program_id = $1 ORDER BY id`, programID)
}
