-- The rate limits a provider imposed, shared by the replicas on
-- PostgreSQL (see the PostgreSQL migration and ADR 0052). SQLite runs one
-- process, whose own gate holds its limits: the table stays empty and
-- exists so that both dialects have the same schema.

-- +goose Up
CREATE TABLE outbound_rate_limits (
    provider text NOT NULL,
    rate_key text NOT NULL,
    until_ms bigint NOT NULL, -- Unix milliseconds
    PRIMARY KEY (provider, rate_key)
);

-- +goose Down
DROP TABLE outbound_rate_limits;
