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
type appendRows [len(appendTables)][]any // per table, column values row after row

// The appended tables, in the order they are written: entries refer to
// their ledger transaction.
var appendTables = [...]struct{ name, columns string }{
	appendLedgerTxns: {"ledger_transactions", ledgerTxnColumnNames},
	appendEntries:    {"ledger_entries", entryColumnNames},
	appendEvents:     {"events", eventColumnNames},
}

const (
	appendLedgerTxns = iota
	appendEntries
	appendEvents
)

// maxAppendRows bounds one INSERT's rows. Statements are made for powers
// of two up to it, so each table has a handful of statement texts to keep
// prepared whatever the batch size.
const maxAppendRows = 64

// add takes over o's rows after a's own.
func (a *appendRows) add(o *appendRows) {
	for i := range a {
		a[i] = append(a[i], o[i]...)
	}
}

// reset forgets the rows, keeping the memory for the next batch.
func (a *appendRows) reset() {
	for i := range a {
		clear(a[i]) // let the strings go
		a[i] = a[i][:0]
	}
}

// write inserts the rows and forgets them.
func (a *appendRows) write(ctx context.Context, e Engine, q querier) error {
	for i, t := range appendTables {
		cols, rows := columnCount(t.columns), a[i]
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
