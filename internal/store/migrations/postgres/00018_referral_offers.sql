-- +goose Up
-- The offers of issue 16.
-- Milestones: a referrer rule with trigger 'milestone' rewards the referrer
-- once their successful referrals reach milestone_referrals.
ALTER TABLE reward_rules ADD COLUMN milestone_referrals INTEGER;
-- Tiers: a JSON array of {"min_referrals": N, "amount": minor units or
-- basis points}, ascending; the amount follows the referrer's successful
-- referrals at the time of the event.
ALTER TABLE reward_rules ADD COLUMN tiers TEXT NOT NULL DEFAULT '[]';
-- A recurring rule starts after the friend's first skip_count payments.
ALTER TABLE reward_rules ADD COLUMN skip_count INTEGER;
-- Caps per referrer within a calendar period ('month', 'year'; NULL: for
-- ever), by count (max_rewards_per_referrer) and by value in one currency.
ALTER TABLE reward_rules ADD COLUMN max_rewards_period TEXT;
ALTER TABLE reward_rules ADD COLUMN max_amount_per_referrer BIGINT;
ALTER TABLE reward_rules ADD COLUMN max_amount_currency TEXT;
-- A referral is successful (converted_at) once the friend did what the
-- program rewards referrers for; converted_by is the payment that did it
-- (NULL: the signup), so that its full refund can take the referral back
-- to pending. A referral whose referrer reward was rejected counts in
-- neither figure and rewards no one again.
ALTER TABLE customers ADD COLUMN converted_by TEXT;
ALTER TABLE customers ADD COLUMN referral_rejected_at BIGINT;
-- The widget shows the program's leaderboard when this is on.
ALTER TABLE programs ADD COLUMN show_leaderboard BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE programs DROP COLUMN show_leaderboard;
ALTER TABLE customers DROP COLUMN referral_rejected_at;
ALTER TABLE customers DROP COLUMN converted_by;
ALTER TABLE reward_rules DROP COLUMN max_amount_currency;
ALTER TABLE reward_rules DROP COLUMN max_amount_per_referrer;
ALTER TABLE reward_rules DROP COLUMN max_rewards_period;
ALTER TABLE reward_rules DROP COLUMN skip_count;
ALTER TABLE reward_rules DROP COLUMN tiers;
ALTER TABLE reward_rules DROP COLUMN milestone_referrals;
