-- +goose Up
-- How many of a rule's rewards went through each referrer (not reversed or
-- rejected), for max_rewards_per_referrer. It was counted from an index of
-- rewards on (referrer_id, rule_id), which every reward added to at a random
-- place: a fifth of the pages a payment wrote to the log once the database
-- had grown. One row per rule and referrer instead, kept by triggers in the
-- same statement as the change of rewards, stays small and stays cached.
-- It is derived data: `advocate verify` recounts it from the rewards.
CREATE TABLE referrer_rule_rewards (
    rule_id      TEXT NOT NULL,
    referrer_id  TEXT NOT NULL,
    reward_count BIGINT NOT NULL,
    PRIMARY KEY (rule_id, referrer_id)
) WITHOUT ROWID;
INSERT INTO referrer_rule_rewards (rule_id, referrer_id, reward_count)
    SELECT rule_id, referrer_id, COUNT(*) FROM rewards
    WHERE status NOT IN ('reversed', 'rejected') GROUP BY rule_id, referrer_id;

-- +goose StatementBegin
CREATE TRIGGER rewards_count_insert AFTER INSERT ON rewards
WHEN NEW.status NOT IN ('reversed', 'rejected')
BEGIN
    INSERT INTO referrer_rule_rewards (rule_id, referrer_id, reward_count) VALUES (NEW.rule_id, NEW.referrer_id, 1)
    ON CONFLICT (rule_id, referrer_id) DO UPDATE SET reward_count = reward_count + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rewards_count_uncount AFTER UPDATE OF status ON rewards
WHEN OLD.status NOT IN ('reversed', 'rejected') AND NEW.status IN ('reversed', 'rejected')
BEGIN
    UPDATE referrer_rule_rewards SET reward_count = reward_count - 1
    WHERE rule_id = NEW.rule_id AND referrer_id = NEW.referrer_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rewards_count_recount AFTER UPDATE OF status ON rewards
WHEN OLD.status IN ('reversed', 'rejected') AND NEW.status NOT IN ('reversed', 'rejected')
BEGIN
    INSERT INTO referrer_rule_rewards (rule_id, referrer_id, reward_count) VALUES (NEW.rule_id, NEW.referrer_id, 1)
    ON CONFLICT (rule_id, referrer_id) DO UPDATE SET reward_count = reward_count + 1;
END;
-- +goose StatementEnd
DROP INDEX rewards_referrer_rule;

-- +goose Down
CREATE INDEX rewards_referrer_rule ON rewards (referrer_id, rule_id);
DROP TRIGGER rewards_count_recount;
DROP TRIGGER rewards_count_uncount;
DROP TRIGGER rewards_count_insert;
DROP TABLE referrer_rule_rewards;
