-- +goose Up
-- The two tables every payment appends to most (five events, two ledger
-- entries) are keyed by what owns them: one index insert per row fewer.
-- Ids are unique by construction (80 random bits per millisecond), and
-- nothing looks a row up by its id alone. (On SQLite these tables are also
-- WITHOUT ROWID.)
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (program_id, id);
DROP INDEX events_program;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey;
ALTER TABLE ledger_entries ADD PRIMARY KEY (ledger_transaction_id, id);
DROP INDEX ledger_entries_transaction;

-- +goose Down
CREATE INDEX ledger_entries_transaction ON ledger_entries (ledger_transaction_id);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey;
ALTER TABLE ledger_entries ADD PRIMARY KEY (id);
CREATE INDEX events_program ON events (program_id, id);
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (id);
