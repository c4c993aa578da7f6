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

-- +goose Down
DROP TABLE sessions;
