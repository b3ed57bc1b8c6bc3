-- The standings Slack reports as they change (user_change, team_join): a
-- member made a guest, or deactivated. Each replica reads the workspace's
-- people every 15 minutes; the one that takes a change records it here, and
-- every replica reads the rows changed in the last minutes every few
-- seconds, so a member made a guest loses a member's rights in the bot
-- within seconds on every replica. One row a person, the latest change.

-- +goose Up
CREATE TABLE people_standings (
    user_id     text NOT NULL PRIMARY KEY CHECK (user_id <> ''),
    guest       boolean NOT NULL,
    deactivated boolean NOT NULL,
    changed_at  timestamptz NOT NULL
);
CREATE INDEX people_standings_changed_at_idx ON people_standings (changed_at);

-- +goose Down
DROP TABLE people_standings;
