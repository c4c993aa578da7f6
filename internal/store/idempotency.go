package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Idempotency-Key, as the API offers it: the first request with a key runs
// and its response is stored; a retry with the same key and request gets
// that response again.
//
// A request that changes something stores its key and response in the
// same transaction as the change (see run): one commit, as without the
// header, and never a stored response for a change that did not commit nor
// a change without its response. A request that fails before it changes
// anything stores its response on its own (SaveIdempotentResponse), so
// that a retry hears the same answer.

// IdempotentRequest is a request made with an Idempotency-Key, carried in
// its context to the operation that serves it.
type IdempotentRequest struct {
	ProgramID   string
	Key         string
	RequestHash string
	// Respond renders the response to the request from the operation's
	// result. It runs inside the transaction, and may run more than once;
	// an error fails the operation.
	Respond func(result any) (status int, contentType string, body []byte, err error)

	mu sync.Mutex
	// response is the response stored with the change, once committed.
	response *IdempotentResponse
	pending  *IdempotentResponse // rendered in the transaction, not yet committed
	raced    bool                // another request with the key committed first
}

// IdempotentResponse is the stored outcome of a request made with an
// Idempotency-Key. Done is false only for a claim an older version left
// unfinished (it stored claims before running the request).
type IdempotentResponse struct {
	RequestHash string
	Done        bool
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

type idempotencyKey struct{}

// WithIdempotency makes the operation that serves ctx's request store its
// response with its change.
func WithIdempotency(ctx context.Context, req *IdempotentRequest) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, req)
}

// IdempotentRequestOf returns the Idempotency-Key request ctx carries, or
// nil: a handler sets its Respond before calling its operation.
func IdempotentRequestOf(ctx context.Context) *IdempotentRequest {
	req, _ := ctx.Value(idempotencyKey{}).(*IdempotentRequest)
	return req
}

func idempotencyFrom(ctx context.Context) *IdempotentRequest {
	req, _ := ctx.Value(idempotencyKey{}).(*IdempotentRequest)
	if req == nil || req.Respond == nil {
		return nil
	}
	req.mu.Lock()
	defer req.mu.Unlock()
	if req.response != nil {
		return nil // a second operation of the same request: already stored
	}
	return req
}

// Stored returns the response committed with the request's change, if one
// was.
func (req *IdempotentRequest) Stored() *IdempotentResponse {
	req.mu.Lock()
	defer req.mu.Unlock()
	return req.response
}

// Raced reports whether another request with the same key committed
// first: this one changed nothing, and the stored response answers it.
func (req *IdempotentRequest) Raced() bool {
	req.mu.Lock()
	defer req.mu.Unlock()
	return req.raced
}

func (req *IdempotentRequest) committed() {
	req.mu.Lock()
	defer req.mu.Unlock()
	req.response, req.pending = req.pending, nil
}

func (req *IdempotentRequest) race() {
	req.mu.Lock()
	defer req.mu.Unlock()
	req.raced = true
}

// storeResponseSQL stores a key with its response. A claim an older
// version left unfinished (status NULL) is taken over; a finished record
// is left alone, and no row is affected.
const storeResponseSQL = `INSERT INTO idempotency_keys (program_id, key, request_hash, status, content_type, body, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (program_id, key) DO UPDATE SET request_hash = excluded.request_hash,
	status = excluded.status, content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at
	WHERE idempotency_keys.status IS NULL`

// errIdempotencyRace means the key was stored by another request while
// this one ran; its transaction is rolled back.
var errIdempotencyRace = errors.New("idempotency key stored by a concurrent request")

// ErrIdempotencyRace is what an operation returns when another request
// with the same Idempotency-Key committed first (IdempotentRequest.Raced).
var ErrIdempotencyRace = errIdempotencyRace

// keepResponse stores the request's key and the response rendered from
// result in the transaction. A claim an older version left unfinished is
// taken over; a finished one means another request won: roll back.
func (tx *Tx) keepResponse(ctx context.Context, req *IdempotentRequest, result any) error {
	status, ctype, body, err := req.Respond(result)
	if err != nil {
		return fmt.Errorf("render idempotent response: %w", err)
	}
	res, err := tx.tx.ExecContext(ctx, storeResponseSQL, req.ProgramID, req.Key, req.RequestHash, status, ctype, string(body), micros(tx.now))
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	} else if n == 0 {
		return errIdempotencyRace
	}
	req.mu.Lock()
	req.pending = &IdempotentResponse{RequestHash: req.RequestHash, Done: true, Status: status, ContentType: ctype, Body: body, CreatedAt: tx.now}
	req.mu.Unlock()
	return nil
}

// IdempotentResponse reads what is stored for a key, or nil. It reads
// without a transaction: a request that finds nothing runs, and its own
// transaction settles a race (keepResponse).
func (db *DB) IdempotentResponse(ctx context.Context, programID, key string) (*IdempotentResponse, error) {
	var r IdempotentResponse
	var status sql.NullInt64
	var ctype, body sql.NullString
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT request_hash, status, content_type, body, created_at
		FROM idempotency_keys WHERE program_id = $1 AND key = $2`, programID, key).
		Scan(&r.RequestHash, &status, &ctype, &body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	r.Done, r.Status, r.ContentType, r.Body, r.CreatedAt = status.Valid, int(status.Int64), ctype.String, []byte(body.String), fromMicros(created)
	return &r, nil
}

// SaveIdempotentResponse stores the response of a request that changed
// nothing (a client error found before any change), in a transaction of
// its own. It reports false when another request stored the key first.
func (db *DB) SaveIdempotentResponse(ctx context.Context, req *IdempotentRequest, status int, contentType string, body []byte) (bool, error) {
	ctx = context.WithValue(ctx, idempotencyKey{}, (*IdempotentRequest)(nil)) // this is not the request's change
	return run(ctx, db, func(tx *Tx) (bool, error) {
		res, err := tx.tx.ExecContext(ctx, storeResponseSQL, req.ProgramID, req.Key, req.RequestHash, status, contentType, string(body), micros(tx.now))
		if err != nil {
			return false, fmt.Errorf("store idempotent response: %w", err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
}

// PurgeIdempotencyKeys deletes records older than before and says how many.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	n, err := run(ctx, db, func(tx *Tx) (int64, error) {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, micros(before))
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, err
}
