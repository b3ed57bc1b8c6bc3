-- On PostgreSQL incident numbers now come from a sequence (see the
-- PostgreSQL migration of the same number). SQLite has one writer, so the
-- incident_counters row costs no waiting there and stays; this migration
-- keeps the two dialects' versions in step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
