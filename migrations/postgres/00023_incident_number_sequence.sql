-- Incident numbers on PostgreSQL come from a sequence instead of the
-- incident_counters row. The row's UPDATE locked it until the declare's
-- transaction ended, so every declare, on every replica, waited for the one
-- before it to commit: at 100 declares a second the wait was most of a
-- declare's acknowledgement. nextval takes no lock. The cost: a declare that
-- rolls back after taking its number (the database failing halfway, a crash)
-- leaves that number unused, as PostgreSQL's sequences do.
-- The sequence starts after the last number the counter handed out.

-- +goose Up
CREATE SEQUENCE incident_number_seq AS bigint MINVALUE 1;
SELECT setval('incident_number_seq', (SELECT value + 1 FROM incident_counters WHERE name = 'incident_number'), false);

-- +goose Down
UPDATE incident_counters
SET value = (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM incident_number_seq)
WHERE name = 'incident_number';
DROP SEQUENCE incident_number_seq;
