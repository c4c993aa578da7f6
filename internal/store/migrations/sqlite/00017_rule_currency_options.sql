-- +goose Up
-- A fixed rule's amounts in other currencies: a JSON object from currency
-- code to {"amount": minor units, "min_amount": minor units}.
ALTER TABLE reward_rules ADD COLUMN currency_options TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE reward_rules DROP COLUMN currency_options;
