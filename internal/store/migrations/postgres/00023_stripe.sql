-- +goose Up
-- Billing sync with Stripe (issue 18). Times are Unix microseconds.

-- A program's connection: its secrets sealed by internal/secrets (never
-- stored in the clear), what it receives, and the state of a sync.
CREATE TABLE stripe_integrations (
    program_id        TEXT PRIMARY KEY REFERENCES programs(id),
    webhook_secret    TEXT NOT NULL,
    secret_key        TEXT NOT NULL DEFAULT '',
    apply_rewards     BOOLEAN NOT NULL DEFAULT FALSE,
    api_base_url      TEXT NOT NULL,
    events_received   BIGINT NOT NULL DEFAULT 0,
    last_event_at     BIGINT,
    last_event_type   TEXT NOT NULL DEFAULT '',
    last_error        TEXT NOT NULL DEFAULT '',
    last_error_at     BIGINT,
    sync_status       TEXT NOT NULL DEFAULT '',
    sync_since        BIGINT,
    sync_done         INTEGER NOT NULL DEFAULT 0,
    sync_total        INTEGER NOT NULL DEFAULT 0,
    sync_error        TEXT NOT NULL DEFAULT '',
    sync_started_at   BIGINT,
    sync_finished_at  BIGINT,
    sync_heartbeat_at BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- Every Stripe event applied, recorded in the transaction that applied it:
-- a redelivery or a replay finds its row and changes nothing.
CREATE TABLE stripe_events (
    program_id  TEXT NOT NULL REFERENCES programs(id),
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (program_id, event_id)
);

-- One Stripe customer is one of ours, and the other way round.
CREATE TABLE stripe_customers (
    program_id         TEXT NOT NULL REFERENCES programs(id),
    stripe_customer_id TEXT NOT NULL,
    customer_id        TEXT NOT NULL UNIQUE REFERENCES customers(id),
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (program_id, stripe_customer_id)
);

-- The Stripe ids that name a payment (PaymentIntent, charge, session,
-- invoice), each to the key of its transaction; a row may come before the
-- transaction does (invoice_payment.paid before invoice.paid).
CREATE TABLE stripe_payments (
    program_id      TEXT NOT NULL REFERENCES programs(id),
    stripe_id       TEXT NOT NULL,
    transaction_key TEXT NOT NULL,
    PRIMARY KEY (program_id, stripe_id)
);

-- A charge's refunded total as last applied: a charge.refunded event
-- refunds only what exceeds it.
CREATE TABLE stripe_charges (
    program_id      TEXT NOT NULL REFERENCES programs(id),
    charge_id       TEXT NOT NULL,
    transaction_key TEXT NOT NULL,
    refunded        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, charge_id)
);

-- Disputes seen, so that a lost one claws back once.
CREATE TABLE stripe_disputes (
    program_id      TEXT NOT NULL REFERENCES programs(id),
    dispute_id      TEXT NOT NULL,
    transaction_key TEXT NOT NULL,
    status          TEXT NOT NULL,
    -- closed: a charge.dispute.closed was applied; a late
    -- charge.dispute.created then holds nothing.
    closed          BOOLEAN NOT NULL DEFAULT FALSE,
    clawed_back     BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (program_id, dispute_id)
);

-- The outbox of calls to make in Stripe for rewards (credits, clawbacks,
-- promotion codes), numbered per reward: (reward_id, seq) is what the
-- Idempotency-Key is derived from.
CREATE TABLE stripe_actions (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs(id),
    reward_id          TEXT NOT NULL REFERENCES rewards(id),
    seq                INTEGER NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('credit', 'debit', 'discount', 'void')),
    stripe_customer_id TEXT NOT NULL,
    amount             BIGINT NOT NULL DEFAULT 0,
    currency           TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    -- When it was first claimed: Stripe keeps an Idempotency-Key for 24
    -- hours, so an action is not sent again later than that.
    first_attempt_at   BIGINT,
    next_attempt_at    BIGINT,
    stripe_ids         TEXT NOT NULL DEFAULT '',
    last_error         TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (reward_id, seq)
);
CREATE INDEX stripe_actions_due ON stripe_actions (next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE stripe_actions;
DROP TABLE stripe_disputes;
DROP TABLE stripe_charges;
DROP TABLE stripe_payments;
DROP TABLE stripe_customers;
DROP TABLE stripe_events;
DROP TABLE stripe_integrations;
