package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// Webhook endpoints are configuration, not business events: changing
// them writes no event to the outbox.

const endpointColumns = `id, program_id, url, description, events, active, disabled_reason,
	secret, previous_secret, secret_rotated_at, created_at, updated_at`

func scanEndpoint(row scanner) (*webhooks.Endpoint, error) {
	var e webhooks.Endpoint
	var events string
	var reason, previous sql.NullString
	var rotated sql.NullInt64
	var created, updated int64
	err := row.Scan(&e.ID, &e.ProgramID, &e.URL, &e.Description, &events, &e.Active, &reason,
		&e.Secret, &previous, &rotated, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: events: %w", e.ID, err)
	}
	e.DisabledReason, e.PreviousSecret = reason.String, previous.String
	if rotated.Valid {
		e.SecretRotatedAt = fromMicros(rotated.Int64)
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}

func eventsJSON(events []string) string {
	b, _ := json.Marshal(events)
	return string(b)
}

// CreateWebhookEndpoint adds an endpoint with a new secret, active, to a
// program that has fewer than webhooks.MaxEndpoints. The result is the
// only place its secret is shown to the client.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, programID string, in webhooks.EndpointInput) (*webhooks.Endpoint, error) {
	e, err := webhooks.Apply(webhooks.Endpoint{ProgramID: programID, Active: true}, in)
	if err != nil {
		return nil, err
	}
	if e.Secret, err = webhooks.NewSecret(); err != nil {
		return nil, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return run(ctx, db, func(tx *Tx) (*webhooks.Endpoint, error) {
		e := e // fn may run again: start from the same endpoint each time
		return &e, tx.createWebhookEndpoint(ctx, &e)
	})
}

func (tx *Tx) createWebhookEndpoint(ctx context.Context, e *webhooks.Endpoint) error {
	// Locking the program row serializes its creations on PostgreSQL, so
	// that two at once cannot both pass the count (SQLite has one writer).
	if err := tx.tx.QueryRowContext(ctx, `SELECT id FROM programs WHERE id = $1`+tx.db.forUpdate(), e.ProgramID).Scan(new(string)); err != nil {
		return fmt.Errorf("create webhook endpoint: program: %w", err)
	}
	var n int
	if err := tx.tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE program_id = $1 AND deleted_at IS NULL`,
		e.ProgramID).Scan(&n); err != nil {
		return fmt.Errorf("create webhook endpoint: count: %w", err)
	}
	if n >= webhooks.MaxEndpoints {
		return webhooks.ErrTooManyEndpoints
	}
	e.ID = id.New("we", tx.now)
	e.CreatedAt, e.UpdatedAt = tx.now, tx.now
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, program_id, url, description, events, active,
		secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ID, e.ProgramID, e.URL, e.Description, eventsJSON(e.Events), e.Active, e.Secret, micros(e.CreatedAt), micros(e.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create webhook endpoint: %w", err)
	}
	return nil
}

// UpdateWebhookEndpoint changes an endpoint's URL, events, description or
// state (see webhooks.Apply); its secret changes only by rotation.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, programID, endpointID string, in webhooks.EndpointInput) (*webhooks.Endpoint, error) {
	return run(ctx, db, func(tx *Tx) (*webhooks.Endpoint, error) {
		old, err := webhookEndpoint(ctx, tx.tx, programID, endpointID, tx.db.forUpdate())
		if err != nil {
			return nil, err
		}
		e, err := webhooks.Apply(*old, in)
		if err != nil {
			return nil, err
		}
		e.UpdatedAt = tx.now
		_, err = tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4, events = $5,
			active = $6, disabled_reason = $7, updated_at = $8 WHERE id = $1 AND program_id = $2`,
			e.ID, e.ProgramID, e.URL, e.Description, eventsJSON(e.Events), e.Active, nullString(e.DisabledReason), micros(e.UpdatedAt))
		if err != nil {
			return nil, fmt.Errorf("update webhook endpoint: %w", err)
		}
		return &e, nil
	})
}

// DeleteWebhookEndpoint deletes an endpoint: nothing is delivered to it
// any more, and it no longer counts towards the program's limit.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, programID, endpointID string) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		res, err := tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_at = $3, active = FALSE, updated_at = $3
			WHERE id = $1 AND program_id = $2 AND deleted_at IS NULL`, endpointID, programID, micros(tx.now))
		if err != nil {
			return struct{}{}, fmt.Errorf("delete webhook endpoint: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, webhooks.ErrEndpointNotFound
		}
		return struct{}{}, nil
	})
	return err
}

// RotateWebhookSecret gives an endpoint a new secret and keeps the current
// one as the previous, which signs deliveries too for webhooks.SecretGrace
// (see Endpoint.LiveSecrets). A second rotation within the grace period
// drops the oldest secret. The result is the only place the new secret is
// shown to the client.
func (db *DB) RotateWebhookSecret(ctx context.Context, programID, endpointID string) (*webhooks.Endpoint, error) {
	secret, err := webhooks.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("rotate webhook secret: %w", err)
	}
	return run(ctx, db, func(tx *Tx) (*webhooks.Endpoint, error) {
		res, err := tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET previous_secret = secret, secret = $3,
			secret_rotated_at = $4, updated_at = $4 WHERE id = $1 AND program_id = $2 AND deleted_at IS NULL`,
			endpointID, programID, secret, micros(tx.now))
		if err != nil {
			return nil, fmt.Errorf("rotate webhook secret: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, webhooks.ErrEndpointNotFound
		}
		return webhookEndpoint(ctx, tx.tx, programID, endpointID, "")
	})
}

// WebhookEndpoint returns a live endpoint.
func (db *DB) WebhookEndpoint(ctx context.Context, programID, endpointID string) (*webhooks.Endpoint, error) {
	return webhookEndpoint(ctx, db.read, programID, endpointID, "")
}

func webhookEndpoint(ctx context.Context, q querier, programID, endpointID, suffix string) (*webhooks.Endpoint, error) {
	e, err := scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE id = $1 AND program_id = $2 AND deleted_at IS NULL`+suffix, endpointID, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, webhooks.ErrEndpointNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook endpoint: %w", err)
	}
	return e, nil
}

// WebhookEndpoints lists a program's live endpoints, newest first, and
// says whether there are more.
func (db *DB) WebhookEndpoints(ctx context.Context, programID string, p Page) ([]*webhooks.Endpoint, bool, error) {
	w := where{}
	w.add("program_id = ", programID)
	w.cond("deleted_at IS NULL")
	page := p.keyset(&w, "id")
	out, err := queryAll(ctx, db.read, "list webhook endpoints", scanEndpoint,
		`SELECT `+endpointColumns+` FROM webhook_endpoints`+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(p, out)
	return out, more, nil
}
