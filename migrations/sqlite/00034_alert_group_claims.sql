-- An alert storm's first alerts may arrive at the same instant, on two
-- replicas: each would find no group of its rule and service and start
-- one, two proposals or two incidents and two pages. The transaction that
-- stores a new alert in its group first writes the claim row of its rule
-- and service, which holds every other such transaction back until it
-- commits (a row lock on PostgreSQL, the write lock on SQLite), so the
-- second sees the group the first started. The rows only serve as locks.
-- A group's members are counted for its proposal ("3 of 12 still firing").

-- +goose Up
CREATE TABLE alert_group_claims (
    rule    text NOT NULL,
    service text NOT NULL,
    PRIMARY KEY (rule, service)
);
CREATE INDEX alerts_group_idx ON alerts (group_id) WHERE group_id <> 0;

-- +goose Down
DROP INDEX alerts_group_idx;
DROP TABLE alert_group_claims;
