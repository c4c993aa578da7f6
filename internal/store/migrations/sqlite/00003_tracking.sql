-- +goose Up
-- Codes become unique across programs so that /r/{code} needs no program
-- in its path and can never be ambiguous.
DROP INDEX referral_links_program_code;
CREATE UNIQUE INDEX referral_links_code ON referral_links (code);
CREATE INDEX referral_links_program_code ON referral_links (program_id, code);

-- Cached click counters, updated with each batch of clicks.
ALTER TABLE referral_links ADD COLUMN clicks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE referral_links ADD COLUMN unique_clicks BIGINT NOT NULL DEFAULT 0;

CREATE TABLE clicks (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    link_id     TEXT NOT NULL REFERENCES referral_links(id),
    source      TEXT NOT NULL CHECK (source IN ('short_link', 'sdk')),
    visitor     TEXT NOT NULL,
    landing_url TEXT NOT NULL DEFAULT '',
    referrer    TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    is_unique   BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX clicks_link ON clicks (link_id, id);
CREATE INDEX clicks_program ON clicks (program_id, id);

-- One row per link, visitor and hour: a click is unique when it adds one.
CREATE TABLE click_uniques (
    link_id TEXT NOT NULL,
    visitor TEXT NOT NULL,
    hour    BIGINT NOT NULL,
    PRIMARY KEY (link_id, visitor, hour)
);

-- +goose Down
DROP TABLE click_uniques;
DROP TABLE clicks;
ALTER TABLE referral_links DROP COLUMN unique_clicks;
ALTER TABLE referral_links DROP COLUMN clicks;
DROP INDEX referral_links_program_code;
DROP INDEX referral_links_code;
CREATE UNIQUE INDEX referral_links_program_code ON referral_links (program_id, code);
