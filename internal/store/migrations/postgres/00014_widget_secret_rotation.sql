-- +goose Up
-- A rotated widget secret keeps verifying customer_hash for a grace period
-- (referral.WidgetSecretGrace), so that backends can switch without a
-- window in which every widget is refused. rotated_at is Unix microseconds,
-- 0 when the secret was never rotated.
ALTER TABLE programs ADD COLUMN previous_widget_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE programs ADD COLUMN widget_secret_rotated_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE programs DROP COLUMN widget_secret_rotated_at;
ALTER TABLE programs DROP COLUMN previous_widget_secret;
