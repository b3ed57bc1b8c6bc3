-- The installation: one row naming this database's installation of the bot
-- with a random id, made by the store the first time it is asked for it
-- (ADR 0059). The id is part of every page key the bot sends PagerDuty
-- (firebreak-<installation>-<incident>-<service>), so that two
-- installations on one PagerDuty account (staging and production), or the
-- same bot on a database made anew, never send the same key: PagerDuty
-- refuses a second open incident under a key, and the bot would take the
-- other one's incident for its own page. Pages sent before this migration
-- keep their keys (firebreak-<incident>-<service>).

-- +goose Up
CREATE TABLE installation (
    singleton integer PRIMARY KEY CHECK (singleton = 1),
    id        text NOT NULL CHECK (id <> '')
);

-- +goose Down
DROP TABLE installation;
