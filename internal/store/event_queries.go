package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// This file is the read side of the outbox for the API (GET /v1/events)
// and for rendering a webhook body: an event, and the objects its data
// names by id. events.go has the write side.

// ErrEventNotFound is the answer for an id no event of the program has.
var ErrEventNotFound = referral.Errorf(referral.KindNotFound, "event_not_found", "No event with that id exists in this program.")

// EventFilter narrows an event listing.
type EventFilter struct {
	Type string // one event type; "" for all
	Page
}

// EventsPage lists a program's events newest first, as every API listing
// is, and says whether there are more. The primary key (program_id, id)
// serves it; a type filter reads past the other types' rows.
func (db *DB) EventsPage(ctx context.Context, programID string, f EventFilter) ([]Event, bool, error) {
	w := where{}
	w.add("program_id = ", programID)
	if f.Type != "" {
		w.add("type = ", f.Type)
	}
	page := f.Page.keyset(&w, "id")
	out, err := queryAll(ctx, db.read, "list events", scanEvent, `SELECT `+eventColumns+` FROM events`+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(f.Page, out)
	return out, more, nil
}

// Event returns one of a program's events.
func (db *DB) Event(ctx context.Context, programID, eventID string) (Event, error) {
	e, err := scanEvent(db.read.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE program_id = $1 AND id = $2`,
		programID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrEventNotFound
	}
	if err != nil {
		return e, fmt.Errorf("get event: %w", err)
	}
	return e, nil
}

// CustomerByID returns a live customer by id: events name customers by
// id, which outlives the key a deletion erases. A deleted customer is
// referral.ErrCustomerNotFound.
func (db *DB) CustomerByID(ctx context.Context, programID, customerID string) (*referral.Customer, error) {
	c, err := scanCustomer(db.read.QueryRowContext(ctx, `SELECT `+customerColumns+customerFrom+`
		WHERE c.program_id = $1 AND c.id = $2 AND c.deleted_at IS NULL`, programID, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrCustomerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get customer: %w", err)
	}
	return c, nil
}

// TransactionByID returns a transaction by id with its rewards, as
// Transaction does by key.
func (db *DB) TransactionByID(ctx context.Context, programID, transactionID string) (*rewards.Transaction, error) {
	return db.transactionWhere(ctx, "t.id", programID, transactionID)
}

// DiscountCode returns one of a program's discount codes by its text.
func (db *DB) DiscountCode(ctx context.Context, programID, code string) (*rewards.DiscountCode, error) {
	dc, err := scanCode(db.read.QueryRowContext(ctx, `SELECT `+codeColumns+codeFrom+` WHERE d.program_id = $1 AND d.code = $2`,
		programID, referral.NormalizeCode(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrDiscountCodeNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get discount code: %w", err)
	}
	return dc, nil
}
