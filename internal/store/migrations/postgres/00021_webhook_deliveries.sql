-- +goose Up
-- Webhook deliveries (issue 17): an event of the outbox on its way to one
-- endpoint. The deliverer finds new events by dispatched_at IS NULL, in a
-- small partial index (the events themselves are inserted as before, by
-- the group commit, with a NULL). Events already there are marked
-- dispatched, so that turning webhooks on does not replay the past.
ALTER TABLE events ADD COLUMN dispatched_at BIGINT;
UPDATE events SET dispatched_at = created_at;
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;

-- failing_since is the time of an endpoint's first failed attempt since
-- its last success: after webhooks.FailingLimit of failures it is disabled.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;

-- One row per event and endpoint (the UNIQUE makes dispatching twice
-- harmless). next_attempt_at is when a pending delivery is due, NULL once
-- it is finished; a worker that claims one moves it a lease ahead.
-- last_response is an excerpt of at most 1 KB. Events are keyed by their
-- program and id (00008), hence the two-column reference. Times are Unix
-- microseconds.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    program_id       TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_id         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    last_attempt_at  BIGINT,
    last_status_code INTEGER,
    last_error       TEXT,
    last_response    TEXT,
    last_duration_ms INTEGER,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id),
    FOREIGN KEY (program_id, event_id) REFERENCES events (program_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_endpoints DROP COLUMN failing_since;
DROP INDEX events_undispatched;
ALTER TABLE events DROP COLUMN dispatched_at;
