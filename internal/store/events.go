package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// AddEvent records an event in the same transaction as the change it
// announces, so that webhooks and integrations reading this outbox never
// announce what did not commit and never miss what did. The row is written
// with the transaction's other appended rows when it ends (see appendRows).
func (tx *Tx) AddEvent(ctx context.Context, programID, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("event %s: %w", typ, err)
	}
	tx.addEventJSON(programID, typ, b)
	return nil
}

// addEventJSON adds an event whose data is already JSON.
func (tx *Tx) addEventJSON(programID, typ string, data []byte) {
	tx.appends[appendEvents] = append(tx.appends[appendEvents], tx.ids.New("evt", tx.now), programID, typ, string(data), micros(tx.now))
}

// addDispatchedEvent writes an event at once, already dispatched, and
// returns its id: for an event whose deliveries the caller writes itself,
// in the same transaction (their rows refer to it, so it cannot wait for
// the appended rows). TestEventTypesListed reads its type argument as it
// reads AddEvent's.
func (tx *Tx) addDispatchedEvent(ctx context.Context, programID, typ string, data any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", typ, err)
	}
	id, at := tx.ids.New("evt", tx.now), micros(tx.now)
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO events (`+eventColumnNames+`, dispatched_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		id, programID, typ, string(b), at); err != nil {
		return "", fmt.Errorf("event %s: %w", typ, err)
	}
	return id, nil
}

// The columns of one event row, in the order appendRows holds their values.
const eventColumnNames = "id, program_id, type, data, created_at"

// Event is one row of the outbox. Data is what the change recorded (ids
// and amounts); the webhook body is rendered from it when it is sent. It is
// defined in package webhooks, whose deliverer reads it and which cannot
// import the store.
type Event = webhooks.Event

// eventColumns are the columns scanEvent reads.
const eventColumns = "id, program_id, type, data, created_at"

func scanEvent(row scanner) (Event, error) {
	var e Event
	var data string
	var created int64
	if err := row.Scan(&e.ID, &e.ProgramID, &e.Type, &data, &created); err != nil {
		return e, err
	}
	e.CreatedAt = fromMicros(created)
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber() // amounts stay exact
	if err := dec.Decode(&e.Data); err != nil {
		return e, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return e, nil
}

// Events lists a program's events, oldest first, after the given id.
func (db *DB) Events(ctx context.Context, programID, after string, limit int) ([]Event, error) {
	return queryAll(ctx, db.read, "list events", scanEvent,
		`SELECT `+eventColumns+` FROM events WHERE program_id = $1 AND id > $2 ORDER BY id LIMIT $3`, programID, after, limit)
}
