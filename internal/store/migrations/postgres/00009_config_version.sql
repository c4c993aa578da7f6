-- +goose Up
-- One number that changes whenever programs, API keys or reward rules do,
-- bumped by triggers in the same transaction as the change, whoever makes
-- it (this node, `advocate keys revoke`, another node). The caches of what
-- every request reads (see store.configCache) are checked against it.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);

-- +goose StatementBegin
CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE config_version SET version = version + 1; RETURN NULL; END $$;
-- +goose StatementEnd
CREATE TRIGGER programs_config AFTER INSERT OR UPDATE OR DELETE ON programs
FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER api_keys_config AFTER INSERT OR UPDATE OR DELETE ON api_keys
FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER reward_rules_config AFTER INSERT OR UPDATE OR DELETE ON reward_rules
FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();

-- +goose Down
DROP TRIGGER reward_rules_config ON reward_rules;
DROP TRIGGER api_keys_config ON api_keys;
DROP TRIGGER programs_config ON programs;
DROP FUNCTION bump_config_version();
DROP TABLE config_version;
