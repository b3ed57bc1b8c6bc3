-- The installation: one row naming this database's installation of the bot
-- with a random id, made by the store the first time it is asked for it
-- (ADR 0059). The id is part of every page key the bot sends PagerDuty
-- (firebreak-<installation>-<incident>-<service>), so that two
-- installations on one PagerDuty account (staging and production), or the
-- same bot on a database made anew, never send the same key: PagerDuty
-- refuses a second open incident under a key, and the bot would take the
-- other one's incident for its own page. Pages sent before this migration
-- keep their keys (firebreak-<incident>-<service>).
--
-- The id cannot be made again: rolling this migration back and forward
-- must not make the bot another installation, whose keys PagerDuty's
-- reports of the pages sent before no longer match. So Down keeps the id
-- in incident_counters (a table every release has, and reads only by
-- name), as the row 'installation:<id>', and Up takes it back from there.
-- Only rolling back 00001 too, which empties the database, forgets it.

-- +goose Up
CREATE TABLE installation (
    singleton integer PRIMARY KEY CHECK (singleton = 1),
    id        text NOT NULL CHECK (id <> '')
);
INSERT INTO installation (singleton, id)
SELECT 1, substr(name, 14) FROM incident_counters WHERE name LIKE 'installation:%' AND length(name) > 13 LIMIT 1;
DELETE FROM incident_counters WHERE name LIKE 'installation:%';

-- +goose Down
INSERT INTO incident_counters (name, value)
SELECT 'installation:' || id, 0 FROM installation WHERE true
ON CONFLICT (name) DO NOTHING;
DROP TABLE installation;
