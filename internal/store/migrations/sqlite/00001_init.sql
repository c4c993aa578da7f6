-- +goose Up
CREATE TABLE programs (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    currency        TEXT NOT NULL,
    website_url     TEXT NOT NULL,
    allowed_domains TEXT NOT NULL DEFAULT '[]',
    ref_param       TEXT NOT NULL DEFAULT 'ref',
    cookie_days     INTEGER NOT NULL DEFAULT 30,
    attribution     TEXT NOT NULL DEFAULT 'first_click',
    widget_secret   TEXT NOT NULL,
    require_hash    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    kind         TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_program ON api_keys (program_id, id);

CREATE TABLE customers (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    key            TEXT,
    email          TEXT,
    email_key      TEXT,
    email_identity TEXT,
    name           TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',
    referral_code  TEXT NOT NULL,
    referred_by    TEXT,
    referrer_id    TEXT REFERENCES customers(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE UNIQUE INDEX customers_program_key ON customers (program_id, key);
CREATE UNIQUE INDEX customers_program_email ON customers (program_id, email_key);
CREATE INDEX customers_program_id ON customers (program_id, id);
CREATE INDEX customers_referrer ON customers (referrer_id, id);

CREATE TABLE referral_links (
    id              TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL REFERENCES programs(id),
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    code            TEXT NOT NULL,
    destination_url TEXT,
    is_default      BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE UNIQUE INDEX referral_links_program_code ON referral_links (program_id, code);
CREATE INDEX referral_links_customer ON referral_links (customer_id, id);

CREATE TABLE idempotency_keys (
    program_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    body          TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (program_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_program ON events (program_id, id);

CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    created_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE admins;
DROP TABLE events;
DROP TABLE idempotency_keys;
DROP TABLE referral_links;
DROP TABLE customers;
DROP TABLE api_keys;
DROP TABLE programs;
