-- +goose Up
-- A program's own accounts keep no cached balance any more (every reward
-- updated the rewards expense row; see store.Tx.Post): their balance is the
-- sum of their entries.
UPDATE ledger_accounts SET balance = 0 WHERE owner = '';

-- Every reward row is written on the hot path of POST /v1/transactions, and
-- each index is one more B-tree insert, most of them on a random page:
-- keep only the indexes reads need.

-- (friend_id, rule_id) lookups are served by the unique rewards_rule_source
-- (rule_id, friend_id, source).
DROP INDEX rewards_friend_rule;

-- The holding job only looks for pending rewards: a partial index leaves
-- out every reward that is available at once, and shrinks as rewards are
-- released instead of growing forever.
DROP INDEX rewards_due;
CREATE INDEX rewards_due ON rewards (available_at) WHERE status = 'pending';

-- Ids begin with their creation time, so the overview's "rewards since"
-- ranges over rewards_program (program_id, id) instead.
DROP INDEX rewards_program_created;

-- +goose Down
CREATE INDEX rewards_program_created ON rewards (program_id, created_at);
DROP INDEX rewards_due;
CREATE INDEX rewards_due ON rewards (status, available_at);
CREATE INDEX rewards_friend_rule ON rewards (friend_id, rule_id);
UPDATE ledger_accounts SET balance = (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries
    WHERE account_id = ledger_accounts.id) WHERE owner = '';
