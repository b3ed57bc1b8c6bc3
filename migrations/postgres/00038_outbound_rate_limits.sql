-- The rate limits a provider imposed (a 429's Retry-After), per provider
-- and rate-limit key (a Slack method, or chat.postMessage and a channel):
-- a provider limits the app, not the replica, so every replica honours a
-- 429 any of them received. A replica records one here and NOTIFYs
-- firebreak_outbound_rate_limits; the others apply it on the notification,
-- and read the rows in force when they start or listen again. Rows are
-- pruned an hour after they lapse. See ADR 0052.

-- +goose Up
CREATE TABLE outbound_rate_limits (
    provider text NOT NULL,
    rate_key text NOT NULL,
    until_ms bigint NOT NULL, -- Unix milliseconds
    PRIMARY KEY (provider, rate_key)
);

-- +goose Down
DROP TABLE outbound_rate_limits;
