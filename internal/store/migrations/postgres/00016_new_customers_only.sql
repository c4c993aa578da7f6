-- +goose Up
-- new_customers_only (on by default, as at Friendbuy and Smile.io): a
-- friend who paid before they were referred earns nobody anything.
-- paid_before_referral records that fact when a referrer is attached to a
-- customer who already has transactions; customers referred at creation
-- never have.
ALTER TABLE programs ADD COLUMN new_customers_only BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE customers ADD COLUMN paid_before_referral BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE customers DROP COLUMN paid_before_referral;
ALTER TABLE programs DROP COLUMN new_customers_only;
