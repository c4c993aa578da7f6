-- +goose Up
-- Milestone rules (00018) are stored with trigger_type 'milestone', which
-- the CHECK of 00002 refused.
ALTER TABLE reward_rules DROP CONSTRAINT reward_rules_trigger_type_check;
ALTER TABLE reward_rules ADD CONSTRAINT reward_rules_trigger_type_check
    CHECK (trigger_type IN ('signup', 'purchase', 'subscription', 'milestone'));

-- +goose Down
-- Fails while milestone rules exist: delete them first.
ALTER TABLE reward_rules DROP CONSTRAINT reward_rules_trigger_type_check;
ALTER TABLE reward_rules ADD CONSTRAINT reward_rules_trigger_type_check
    CHECK (trigger_type IN ('signup', 'purchase', 'subscription'));
