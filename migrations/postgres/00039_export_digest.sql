-- What an exporter last wrote where the target keeps no history that says
-- who wrote what: for GitHub, the blob sha of the postmortem file it
-- committed, or a hash of the issue body it set. A re-export compares it
-- with what is there now and leaves alone a file or issue people edited
-- since (ADR 0055). Exports recorded before this migration have none.

-- +goose Up
ALTER TABLE exports ADD COLUMN digest text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE exports DROP COLUMN digest;
