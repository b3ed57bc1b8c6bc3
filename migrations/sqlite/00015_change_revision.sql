-- A change that moves through states under one id (a GitHub deployment's
-- pending, in_progress, success) is stored once and replaced by each later
-- report; revision orders the reports (the deployment status id, a run's
-- attempt and status), so a late delivery of an earlier state never
-- overwrites a later one. Existing rows start at 0, the revision of a change
-- that never moves.

-- +goose Up
ALTER TABLE change_events ADD COLUMN revision integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE change_events DROP COLUMN revision;
