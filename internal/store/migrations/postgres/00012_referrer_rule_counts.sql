-- +goose Up
-- How many of a rule's rewards went through each referrer (not reversed or
-- rejected), for max_rewards_per_referrer. It was counted from an index of
-- rewards on (referrer_id, rule_id), which every reward added to at a random
-- place: a fifth of the pages a payment wrote to SQLite's log once the
-- database had grown. One row per rule and referrer instead, kept by a
-- trigger in the same statement as the change of rewards. It is derived
-- data: `advocate verify` recounts it from the rewards. Two payments through
-- one referrer already wait for each other (fire locks the referral pair),
-- so its rows add no waiting.
CREATE TABLE referrer_rule_rewards (
    rule_id      TEXT NOT NULL,
    referrer_id  TEXT NOT NULL,
    reward_count BIGINT NOT NULL,
    PRIMARY KEY (rule_id, referrer_id)
);
INSERT INTO referrer_rule_rewards (rule_id, referrer_id, reward_count)
    SELECT rule_id, referrer_id, COUNT(*) FROM rewards
    WHERE status NOT IN ('reversed', 'rejected') GROUP BY rule_id, referrer_id;

-- +goose StatementBegin
CREATE FUNCTION count_referrer_rule_rewards() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counted_before BOOLEAN := TG_OP = 'UPDATE' AND OLD.status NOT IN ('reversed', 'rejected');
    counted_after BOOLEAN := NEW.status NOT IN ('reversed', 'rejected');
BEGIN
    IF counted_after AND NOT counted_before THEN
        INSERT INTO referrer_rule_rewards (rule_id, referrer_id, reward_count) VALUES (NEW.rule_id, NEW.referrer_id, 1)
        ON CONFLICT (rule_id, referrer_id) DO UPDATE SET reward_count = referrer_rule_rewards.reward_count + 1;
    ELSIF counted_before AND NOT counted_after THEN
        UPDATE referrer_rule_rewards SET reward_count = reward_count - 1
        WHERE rule_id = NEW.rule_id AND referrer_id = NEW.referrer_id;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER rewards_count AFTER INSERT OR UPDATE OF status ON rewards
FOR EACH ROW EXECUTE FUNCTION count_referrer_rule_rewards();
DROP INDEX rewards_referrer_rule;

-- +goose Down
CREATE INDEX rewards_referrer_rule ON rewards (referrer_id, rule_id);
DROP TRIGGER rewards_count ON rewards;
DROP FUNCTION count_referrer_rule_rewards();
DROP TABLE referrer_rule_rewards;
