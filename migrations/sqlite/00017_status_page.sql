-- Where an incident is on the public status page. The conventions of 00001
-- hold: "none" is ''. The communication clock keeps its other state on the
-- timeline (one event per step, unique by source id), so it needs no table.

-- +goose Up
ALTER TABLE incidents ADD COLUMN public_provider text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN public_id text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN public_url text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE incidents DROP COLUMN public_url;
ALTER TABLE incidents DROP COLUMN public_id;
ALTER TABLE incidents DROP COLUMN public_provider;
