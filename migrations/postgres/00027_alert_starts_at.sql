-- starts_at is when the sender says the alert began firing (Alertmanager's
-- and Grafana's startsAt, a PagerDuty incident's created_at); NULL when it
-- gave none. Alertmanager resends a firing alert every group_interval, and
-- each of its HA peers sends it too, all with the same startsAt: a firing
-- delivery with the stored starts_at is a resend, and only one with a later
-- starts_at is the alert firing again. Existing rows start at NULL, so the
-- next delivery of each is counted and said as before, once. A nullable
-- column with no default rewrites no rows.

-- +goose Up
ALTER TABLE alerts ADD COLUMN starts_at timestamptz;

-- +goose Down
ALTER TABLE alerts DROP COLUMN starts_at;
