-- replay_batches shares the signatures of the Slack requests each process
-- accepted, one row per batch, so that a process refuses a replay of a
-- request accepted before it restarted. It replaces one deliveries row per
-- signature.

-- +goose Up
CREATE TABLE replay_batches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance    text NOT NULL CHECK (instance <> ''),
    recorded_at datetime NOT NULL,
    keys        text NOT NULL CHECK (keys <> '')
);
CREATE INDEX replay_batches_recorded_at_idx ON replay_batches (recorded_at);

-- +goose Down
DROP TABLE replay_batches;
