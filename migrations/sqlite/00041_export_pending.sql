-- What an exporter is about to write, recorded before the write: for
-- GitHub, the blob sha of the postmortem file it commits, or a hash of the
-- issue body it sets, as exports.digest names what it last wrote. A write
-- that took effect but whose answer was lost (a 5xx, a process that
-- stopped) is then still the bot's own on the retry, not taken for an edit
-- people made (ADR 0055). Empty once the export is recorded whole.

-- +goose Up
ALTER TABLE exports ADD COLUMN pending text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE exports DROP COLUMN pending;
