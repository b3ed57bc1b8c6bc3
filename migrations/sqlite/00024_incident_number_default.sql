-- On PostgreSQL a new incident's number is now the column's default (see
-- the PostgreSQL migration of the same number). SQLite keeps numbering from
-- the incident_counters row; this migration keeps the two dialects'
-- versions in step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
