-- +goose Up
-- Dashboard sign-in sessions. Only the SHA-256 of the cookie's token is
-- stored, so a leaked database does not leak sessions.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    admin_id     TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_admin ON sessions (admin_id);

-- Indexes for the dashboard's period charts.
CREATE INDEX clicks_program_created ON clicks (program_id, created_at);
CREATE INDEX customers_program_created ON customers (program_id, created_at);
CREATE INDEX customers_program_converted ON customers (program_id, converted_at);
CREATE INDEX rewards_program_created ON rewards (program_id, created_at);
CREATE INDEX transactions_program_occurred ON transactions (program_id, occurred_at);

-- +goose Down
DROP INDEX transactions_program_occurred;
DROP INDEX rewards_program_created;
DROP INDEX customers_program_converted;
DROP INDEX customers_program_created;
DROP INDEX clicks_program_created;
DROP TABLE sessions;
