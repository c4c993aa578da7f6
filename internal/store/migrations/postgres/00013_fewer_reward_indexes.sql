-- +goose Up
-- Three index inserts fewer per payment. The exactly-once index is keyed
-- (friend_id, source, rule_id): the same columns, so the same guarantee,
-- but a transaction's rewards are now found by its payer and its id
-- (friend_id, source), and rewards (transaction_id) is no longer needed.
-- ledger_transactions (program_id, id) was read by no query.
CREATE UNIQUE INDEX rewards_friend_source ON rewards (friend_id, source, rule_id);
DROP INDEX rewards_friend_rule_source;
DROP INDEX rewards_transaction;
DROP INDEX ledger_transactions_program;

-- +goose Down
CREATE INDEX ledger_transactions_program ON ledger_transactions (program_id, id);
CREATE INDEX rewards_transaction ON rewards (transaction_id);
CREATE UNIQUE INDEX rewards_friend_rule_source ON rewards (friend_id, rule_id, source);
DROP INDEX rewards_friend_source;
