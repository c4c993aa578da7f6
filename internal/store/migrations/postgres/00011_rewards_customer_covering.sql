-- +goose Up
-- One index per reward's owner instead of two: listing a customer's
-- rewards newest first needs (customer_id, id), and summing them for
-- stats needs recipient, currency, status and amounts without reading the
-- table (00006). Both are served by one index with the listing's order
-- first and the sum's columns after it. Every payment writes two rewards
-- for two customers (the referrer and the friend), so this is two random
-- index pages and two B-tree inserts fewer per payment.
DROP INDEX rewards_customer_totals;
DROP INDEX rewards_customer;
CREATE INDEX rewards_customer ON rewards (customer_id, id, recipient, currency, status, amount, reversed_amount);

-- +goose Down
DROP INDEX rewards_customer;
CREATE INDEX rewards_customer ON rewards (customer_id, id);
CREATE INDEX rewards_customer_totals ON rewards (customer_id, recipient, currency, status, amount, reversed_amount);
