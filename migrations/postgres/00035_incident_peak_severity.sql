-- The most severe an incident has been: a P1 lowered to P3 still needs
-- what a P1 needs to be resolved (the checklist) and to be rolled back from
-- (two people). Existing incidents start from their severity now.

-- +goose Up
ALTER TABLE incidents ADD COLUMN peak_severity smallint NOT NULL DEFAULT 0 CHECK (peak_severity BETWEEN 0 AND 4);
UPDATE incidents SET peak_severity = severity;

-- +goose Down
ALTER TABLE incidents DROP COLUMN peak_severity;
