-- Drills: practice incidents that run like real ones but stay out of the
-- metrics, and out of lists unless asked for.

-- +goose Up
-- A column with a constant default rewrites no rows (Postgres 11+).
ALTER TABLE incidents ADD COLUMN drill boolean NOT NULL DEFAULT false;
-- Metrics and the web list read incidents by declaration time.
CREATE INDEX incidents_declared_at_idx ON incidents (declared_at, id);

-- +goose Down
DROP INDEX incidents_declared_at_idx;
ALTER TABLE incidents DROP COLUMN drill;
