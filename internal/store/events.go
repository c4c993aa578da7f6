package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// AddEvent records an event in the same transaction as the change it
// announces, so that webhooks and integrations reading this outbox never
// announce what did not commit and never miss what did. Events are kept in
// the transaction and written together when it ends (see flushEvents): one
// statement for a payment's five events instead of five.
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
	tx.events = append(tx.events, tx.ids.New("evt", tx.now), programID, typ, string(data), micros(tx.now))
}

// eventColumns is how many values one event row has in Tx.events.
const eventColumns = 5

// maxEventsPerInsert bounds one INSERT's rows, and so the number of
// distinct statement texts the writer keeps prepared.
const maxEventsPerInsert = 16

// flushEvents writes the events the transaction added, in their order, and
// is called once fn has succeeded, before COMMIT.
func (tx *Tx) flushEvents(ctx context.Context) error {
	for len(tx.events) > 0 {
		n := min(len(tx.events)/eventColumns, maxEventsPerInsert)
		q := insertRowsSQL("events", "id, program_id, type, data, created_at", eventColumns, n)
		if _, err := tx.tx.ExecContext(ctx, q, tx.events[:n*eventColumns]...); err != nil {
			return fmt.Errorf("write events: %w", err)
		}
		tx.events = tx.events[n*eventColumns:]
	}
	return nil
}

// insertRowsSQL is an INSERT of rows rows of cols values each into table.
// The texts are few and built once: they key the prepared statements.
func insertRowsSQL(table, columns string, cols, rows int) string {
	key := insertKey{table, rows}
	if q, ok := insertSQL.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", r*cols+c+1)
		}
		b.WriteByte(')')
	}
	insertSQL.Store(key, b.String())
	return b.String()
}

type insertKey struct {
	table string
	rows  int
}

var insertSQL sync.Map // insertKey → string

// Event is one row of the outbox.
type Event struct {
	ID   string
	Type string
	Data map[string]any
}

// Events lists a program's events, oldest first, after the given id.
func (db *DB) Events(ctx context.Context, programID, after string, limit int) ([]Event, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, type, data FROM events
		WHERE program_id = $1 AND id > $2 ORDER BY id LIMIT $3`, programID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var data string
		if err := rows.Scan(&e.ID, &e.Type, &data); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, fmt.Errorf("event %s: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
