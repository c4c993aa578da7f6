-- +goose Up
-- One number that changes whenever programs, API keys or reward rules do,
-- bumped by triggers in the same transaction as the change, whoever makes
-- it (this server, `advocate keys revoke` in another process, another
-- node). The caches of what every request reads (see store.configCache)
-- and of the rules the single writer fires (see store.writerCache) are
-- checked against it.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

-- +goose StatementBegin
CREATE TRIGGER programs_config_insert AFTER INSERT ON programs
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER programs_config_update AFTER UPDATE ON programs
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER programs_config_delete AFTER DELETE ON programs
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER api_keys_config_insert AFTER INSERT ON api_keys
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER api_keys_config_update AFTER UPDATE ON api_keys
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER api_keys_config_delete AFTER DELETE ON api_keys
BEGIN UPDATE config_version SET version = version + 1; END;
-- +goose StatementEnd
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
DROP TRIGGER reward_rules_config_delete;
DROP TRIGGER reward_rules_config_update;
DROP TRIGGER reward_rules_config_insert;
DROP TRIGGER api_keys_config_delete;
DROP TRIGGER api_keys_config_update;
DROP TRIGGER api_keys_config_insert;
DROP TRIGGER programs_config_delete;
DROP TRIGGER programs_config_update;
DROP TRIGGER programs_config_insert;
DROP TABLE config_version;
