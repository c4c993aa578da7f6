-- +goose Up
ALTER TABLE programs ADD COLUMN require_approval BOOLEAN NOT NULL DEFAULT FALSE;

-- When a referred friend first fired a reward trigger; stats count these.
ALTER TABLE customers ADD COLUMN converted_at BIGINT;
CREATE INDEX customers_referrer_converted ON customers (referrer_id, converted_at);

CREATE TABLE reward_rules (
    id                       TEXT PRIMARY KEY,
    program_id               TEXT NOT NULL REFERENCES programs(id),
    name                     TEXT NOT NULL DEFAULT '',
    trigger_type             TEXT NOT NULL CHECK (trigger_type IN ('signup', 'purchase', 'subscription')),
    recipient                TEXT NOT NULL CHECK (recipient IN ('referrer', 'friend')),
    reward_type              TEXT NOT NULL CHECK (reward_type IN ('credit', 'discount', 'cash')),
    unit                     TEXT NOT NULL CHECK (unit IN ('fixed', 'percentage')),
    amount                   BIGINT NOT NULL,
    currency                 TEXT,
    recurrence               TEXT NOT NULL CHECK (recurrence IN ('first', 'every')),
    max_count                INTEGER,
    max_months               INTEGER,
    min_amount               BIGINT,
    min_amount_currency      TEXT,
    holding_days             INTEGER NOT NULL DEFAULT 0,
    max_rewards_per_referrer INTEGER,
    discount_expires_days    INTEGER,
    payout_method            TEXT,
    active                   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    deleted_at               BIGINT
);
CREATE INDEX reward_rules_program ON reward_rules (program_id, trigger_type, id);

CREATE TABLE transactions (
    id              TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL REFERENCES programs(id),
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    key             TEXT NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('purchase', 'subscription')),
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    refunded_amount BIGINT NOT NULL DEFAULT 0,
    metadata        TEXT NOT NULL DEFAULT '{}',
    request_hash    TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX transactions_program_key ON transactions (program_id, key);
CREATE INDEX transactions_program_id ON transactions (program_id, id);
CREATE INDEX transactions_customer ON transactions (customer_id, id);

CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    transaction_id TEXT NOT NULL REFERENCES transactions(id),
    amount         BIGINT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);
CREATE INDEX refunds_transaction ON refunds (transaction_id, id);

CREATE TABLE rewards (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs(id),
    rule_id            TEXT NOT NULL REFERENCES reward_rules(id),
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    referrer_id        TEXT NOT NULL REFERENCES customers(id),
    friend_id          TEXT NOT NULL REFERENCES customers(id),
    transaction_id     TEXT REFERENCES transactions(id),
    -- What the reward is for: 'signup' or the transaction id. With the rule,
    -- it makes a reward impossible to create twice.
    source             TEXT NOT NULL,
    trigger_type       TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    reward_type        TEXT NOT NULL,
    unit               TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    currency           TEXT,
    reversed_amount    BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'available', 'paid', 'reversed', 'rejected')),
    needs_approval     BOOLEAN NOT NULL,
    available_at       BIGINT,
    reject_reason      TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX rewards_rule_source ON rewards (rule_id, friend_id, source);
CREATE INDEX rewards_program ON rewards (program_id, id);
CREATE INDEX rewards_customer ON rewards (customer_id, id);
CREATE INDEX rewards_referrer_rule ON rewards (referrer_id, rule_id);
CREATE INDEX rewards_friend_rule ON rewards (friend_id, rule_id);
CREATE INDEX rewards_transaction ON rewards (transaction_id);
CREATE INDEX rewards_due ON rewards (status, available_at);

CREATE TABLE discount_codes (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    reward_id   TEXT NOT NULL UNIQUE REFERENCES rewards(id),
    code        TEXT NOT NULL,
    percent_off BIGINT,
    amount_off  BIGINT,
    currency    TEXT,
    expires_at  BIGINT,
    redeemed_at BIGINT,
    voided_at   BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX discount_codes_program_code ON discount_codes (program_id, code);
CREATE INDEX discount_codes_customer ON discount_codes (customer_id, id);

-- The ledger. Accounts belong to a customer (owner = customer id) or to
-- the program (owner = ''); balance caches the sum of the account's entries
-- and is updated in the same transaction as every entry.
CREATE TABLE ledger_accounts (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    owner      TEXT NOT NULL,
    type       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    balance    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ledger_accounts_owner ON ledger_accounts (program_id, owner, type, currency);

CREATE TABLE ledger_transactions (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    kind       TEXT NOT NULL,
    reward_id  TEXT REFERENCES rewards(id),
    reverses   TEXT REFERENCES ledger_transactions(id),
    note       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_transactions_program ON ledger_transactions (program_id, id);
CREATE INDEX ledger_transactions_reward ON ledger_transactions (reward_id);

CREATE TABLE ledger_entries (
    id                    TEXT PRIMARY KEY,
    ledger_transaction_id TEXT NOT NULL REFERENCES ledger_transactions(id),
    account_id            TEXT NOT NULL REFERENCES ledger_accounts(id),
    amount                BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (ledger_transaction_id);

-- Ledger entries are append-only: a correction is a new transaction.
-- +goose StatementBegin
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$;
-- +goose StatementEnd
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- +goose Down
DROP TRIGGER ledger_entries_no_change ON ledger_entries;
DROP FUNCTION ledger_entries_append_only();
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
DROP TABLE discount_codes;
DROP TABLE rewards;
DROP TABLE refunds;
DROP TABLE transactions;
DROP TABLE reward_rules;
DROP INDEX customers_referrer_converted;
ALTER TABLE customers DROP COLUMN converted_at;
ALTER TABLE programs DROP COLUMN require_approval;
