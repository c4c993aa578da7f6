-- +goose Up
-- Email notifications (issue 17, email part), read from the same outbox as
-- webhooks. Times are Unix microseconds.

-- A program's sender and look, and the key its unsubscribe links are
-- signed with (32 random bytes, base64, made by the store on first use).
CREATE TABLE email_settings (
    program_id      TEXT PRIMARY KEY REFERENCES programs(id),
    sender_name     TEXT NOT NULL DEFAULT '',
    reply_to        TEXT NOT NULL DEFAULT '',
    brand_color     TEXT NOT NULL DEFAULT '',
    unsubscribe_key TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- A program's version of one kind of email; no row means the default,
-- sent. A NULL subject or body is the default's.
CREATE TABLE email_templates (
    program_id TEXT NOT NULL REFERENCES programs(id),
    kind       TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    subject    TEXT,
    body       TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (program_id, kind)
);

-- A customer who unsubscribed gets none of the program's emails.
ALTER TABLE customers ADD COLUMN email_opt_out BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per event, kind and recipient (the UNIQUE makes dispatching
-- twice harmless); claimed, sent and retried like webhook_deliveries.
-- customer_id is NULL for emails to admins.
CREATE TABLE email_messages (
    id              TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    customer_id     TEXT REFERENCES customers(id),
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    sent_at         BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_id, kind, recipient),
    FOREIGN KEY (program_id, event_id) REFERENCES events (program_id, id)
);
CREATE INDEX email_messages_due ON email_messages (next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE email_messages;
ALTER TABLE customers DROP COLUMN email_opt_out;
DROP TABLE email_templates;
DROP TABLE email_settings;
