package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdempotentResponse is the stored outcome of a request made with an
// Idempotency-Key. Done is false while the first request is in flight.
type IdempotentResponse struct {
	RequestHash string
	Done        bool
	Status      int
	ContentType string
	Body        []byte
}

// ClaimIdempotencyKey claims key for a request. It returns claimed=true when
// the caller should run the request, or the earlier record otherwise. A
// claim left unfinished for longer than stale (its node died) may be taken
// over.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, programID, key, requestHash string, stale time.Duration) (rec *IdempotentResponse, claimed bool, err error) {
	err = db.InTx(ctx, func(tx *Tx) error {
		rec, claimed = nil, false // fn may run again (see InTx)
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (program_id, key, request_hash, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (program_id, key) DO NOTHING`, programID, key, requestHash, micros(tx.now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = true
			return nil
		}
		var r IdempotentResponse
		var status sql.NullInt64
		var ctype, body sql.NullString
		var created int64
		err = tx.tx.QueryRowContext(ctx, `SELECT request_hash, status, content_type, body, created_at
			FROM idempotency_keys WHERE program_id = $1 AND key = $2`+tx.db.forUpdate(), programID, key).
			Scan(&r.RequestHash, &status, &ctype, &body, &created)
		if err != nil {
			return err
		}
		r.Done, r.Status, r.ContentType, r.Body = status.Valid, int(status.Int64), ctype.String, []byte(body.String)
		if !r.Done && r.RequestHash == requestHash && tx.now.Sub(fromMicros(created)) > stale {
			_, err = tx.tx.ExecContext(ctx, `UPDATE idempotency_keys SET created_at = $3 WHERE program_id = $1 AND key = $2`,
				programID, key, micros(tx.now))
			claimed = err == nil
			return err
		}
		rec = &r
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return rec, claimed, nil
}

// CompleteIdempotencyKey stores the response to replay.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, programID, key string, status int, contentType string, body []byte) error {
	return db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5
			WHERE program_id = $1 AND key = $2`, programID, key, status, contentType, string(body))
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		return nil
	})
}

// ReleaseIdempotencyKey forgets a claim whose request failed on our side,
// so that the client's retry runs again.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, programID, key string) error {
	return db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE program_id = $1 AND key = $2`, programID, key)
		if err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		return nil
	})
}

// PurgeIdempotencyKeys deletes records older than before and says how many.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, err
}
