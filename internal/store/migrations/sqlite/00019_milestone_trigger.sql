-- +goose Up
-- Milestone rules (00018) are stored with trigger_type 'milestone', which
-- the CHECK of 00002 refused. SQLite cannot alter a CHECK, so the table is
-- rebuilt under the same name (with its index and triggers): the foreign
-- key of rewards.rule_id keeps naming it, and with the check deferred,
-- putting the rows back satisfies it again before the commit.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE reward_rules_00019 AS SELECT * FROM reward_rules;
DROP TABLE reward_rules;
CREATE TABLE reward_rules (
    id                       TEXT PRIMARY KEY,
    program_id               TEXT NOT NULL REFERENCES programs(id),
    name                     TEXT NOT NULL DEFAULT '',
    trigger_type             TEXT NOT NULL CHECK (trigger_type IN ('signup', 'purchase', 'subscription', 'milestone')),
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
    deleted_at               BIGINT,
    require_approval         BOOLEAN,
    currency_options         TEXT NOT NULL DEFAULT '{}',
    milestone_referrals      INTEGER,
    tiers                    TEXT NOT NULL DEFAULT '[]',
    skip_count               INTEGER,
    max_rewards_period       TEXT,
    max_amount_per_referrer  BIGINT,
    max_amount_currency      TEXT
);
INSERT INTO reward_rules SELECT * FROM reward_rules_00019;
DROP TABLE reward_rules_00019;
CREATE INDEX reward_rules_program ON reward_rules (program_id, trigger_type, id);
-- +goose StatementBegin
CREATE TRIGGER reward_rules_config_insert AFTER INSERT ON reward_rules
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER reward_rules_config_update AFTER UPDATE ON reward_rules
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER reward_rules_config_delete AFTER DELETE ON reward_rules
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd

-- +goose Down
-- Fails while milestone rules exist: delete them first.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE reward_rules_00019 AS SELECT * FROM reward_rules;
DROP TABLE reward_rules;
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
    deleted_at               BIGINT,
    require_approval         BOOLEAN,
    currency_options         TEXT NOT NULL DEFAULT '{}',
    milestone_referrals      INTEGER,
    tiers                    TEXT NOT NULL DEFAULT '[]',
    skip_count               INTEGER,
    max_rewards_period       TEXT,
    max_amount_per_referrer  BIGINT,
    max_amount_currency      TEXT
);
INSERT INTO reward_rules SELECT * FROM reward_rules_00019;
DROP TABLE reward_rules_00019;
CREATE INDEX reward_rules_program ON reward_rules (program_id, trigger_type, id);
-- +goose StatementBegin
CREATE TRIGGER reward_rules_config_insert AFTER INSERT ON reward_rules
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER reward_rules_config_update AFTER UPDATE ON reward_rules
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER reward_rules_config_delete AFTER DELETE ON reward_rules
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
