-- A new incident takes its number from the sequence in the INSERT itself,
-- as the column's default: a declare no longer asks for the number in a
-- round trip of its own before inserting.

-- +goose Up
ALTER TABLE incidents ALTER COLUMN number SET DEFAULT nextval('incident_number_seq');

-- +goose Down
ALTER TABLE incidents ALTER COLUMN number DROP DEFAULT;
