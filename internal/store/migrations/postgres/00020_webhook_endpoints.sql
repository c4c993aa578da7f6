-- +goose Up
-- Where a program's events are delivered (issue 17). events is a JSON
-- array of event types, or ["*"] for all of them. The secret signs every
-- delivery, so it is stored as it is, like the widget secret; after a
-- rotation previous_secret keeps signing too until secret_rotated_at plus
-- webhooks.SecretGrace. disabled_reason says why the system turned the
-- endpoint off (such as "410 Gone"); it is NULL when the endpoint is
-- active or a person paused it. Times are Unix microseconds.
CREATE TABLE webhook_endpoints (
    id                TEXT PRIMARY KEY,
    program_id        TEXT NOT NULL REFERENCES programs(id),
    url               TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    events            TEXT NOT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason   TEXT,
    secret            TEXT NOT NULL,
    previous_secret   TEXT,
    secret_rotated_at BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    deleted_at        BIGINT
);
CREATE INDEX webhook_endpoints_program ON webhook_endpoints (program_id, id);

-- +goose Down
DROP TABLE webhook_endpoints;
