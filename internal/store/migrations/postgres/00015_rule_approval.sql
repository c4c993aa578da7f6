-- +goose Up
-- A rule may require approval of its rewards, or not, whatever the
-- program's setting; NULL follows the program's (require_approval on
-- programs), as every rule did before.
ALTER TABLE reward_rules ADD COLUMN require_approval BOOLEAN;

-- +goose Down
ALTER TABLE reward_rules DROP COLUMN require_approval;
