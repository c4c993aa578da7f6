package store

import (
	"context"
	"fmt"
)

// appendRows holds new rows of the append-only tables that no write
// transaction reads: the outbox's events and the ledger's transactions and
// entries (they are read only through the read pool, once committed).
// A transaction adds them as it goes and they are written when it ends, a
// table at a time in multi-row INSERTs: on PostgreSQL when fn has
// succeeded, before COMMIT (see DB.inTx); on SQLite once per group-commit
// batch, for every member that succeeded (see groupCommit.runBatch). A
// payment adds a ledger transaction, two entries and five events: written
// one statement per table per payment they cost the single writer more in
// statement overhead than in B-tree work.
type appendRows struct {
	ledgerTxns, entries, events []any // column values, row after row
}

// The appended tables, in the order they are written: entries refer to
// their ledger transaction.
var appendTables = [...]struct {
	name, columns string
	cols          int
	rows          func(*appendRows) *[]any
}{
	{"ledger_transactions", ledgerTxnColumnNames, ledgerTxnColumns, func(a *appendRows) *[]any { return &a.ledgerTxns }},
	{"ledger_entries", entryColumnNames, entryColumns, func(a *appendRows) *[]any { return &a.entries }},
	{"events", eventColumnNames, eventColumns, func(a *appendRows) *[]any { return &a.events }},
}

// maxAppendRows bounds one INSERT's rows. Statements are made for powers
// of two up to it, so each table has a handful of statement texts to keep
// prepared whatever the batch size.
const maxAppendRows = 64

// add takes over o's rows after a's own.
func (a *appendRows) add(o *appendRows) {
	for _, t := range appendTables {
		dst, src := t.rows(a), t.rows(o)
		*dst = append(*dst, *src...)
	}
}

// reset forgets the rows, keeping the memory for the next batch.
func (a *appendRows) reset() {
	for _, t := range appendTables {
		rows := t.rows(a)
		clear(*rows) // let the strings go
		*rows = (*rows)[:0]
	}
}

// write inserts the rows and forgets them.
func (a *appendRows) write(ctx context.Context, e Engine, q querier) error {
	for _, t := range appendTables {
		cols, rows := t.cols, *t.rows(a)
		for len(rows) > 0 {
			n := maxAppendRows
			for n*cols > len(rows) {
				n /= 2
			}
			if _, err := q.ExecContext(ctx, insertRowsSQL(e, t.name, t.columns, n), rows[:n*cols]...); err != nil {
				return fmt.Errorf("write %s: %w", t.name, err)
			}
			rows = rows[n*cols:]
		}
	}
	a.reset()
	return nil
}
