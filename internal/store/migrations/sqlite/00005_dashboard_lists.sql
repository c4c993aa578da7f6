-- +goose Up
-- The reward queue lists and counts a program's rewards by status, newest
-- first; the customer list filters on customers with pending rewards.
CREATE INDEX rewards_program_status ON rewards (program_id, status, id);

-- +goose Down
DROP INDEX rewards_program_status;
