-- Status-update nags on incidents, and the pages, rollbacks and postmortem
-- exports an incident accumulates. The conventions of 00001 hold: "none" is
-- '' except under a unique rule (pages.dedup_key), where it is NULL; JSON is
-- text checked by json_valid; times are "datetime" written in UTC.

-- +goose Up

-- Existing incidents start with no update posted, no nag sent and no snooze.
ALTER TABLE incidents ADD COLUMN last_update_at datetime;
ALTER TABLE incidents ADD COLUMN nag_count integer NOT NULL DEFAULT 0 CHECK (nag_count >= 0);
ALTER TABLE incidents ADD COLUMN snoozed_until datetime;

CREATE TABLE pages (
    id              integer PRIMARY KEY,
    incident_id     integer NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    provider        text NOT NULL CHECK (provider <> ''),
    external_id     text NOT NULL DEFAULT '',
    dedup_key       text CHECK (dedup_key <> ''),
    service         text NOT NULL DEFAULT '',
    url             text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT '',
    assignees       text NOT NULL DEFAULT '[]' CHECK (json_valid(assignees) AND json_type(assignees) = 'array'),
    created_at      datetime NOT NULL,
    acknowledged_at datetime,
    acknowledged_by text NOT NULL DEFAULT '',
    resolved_at     datetime,
    -- A retried page carries the same dedup key and must not page twice.
    CONSTRAINT pages_provider_dedup_key_key UNIQUE (provider, dedup_key)
);
CREATE INDEX pages_incident_created_idx ON pages (incident_id, created_at, id);
-- FindPage: webhooks name a page by the provider's id or by the dedup key.
CREATE INDEX pages_provider_external_id_idx ON pages (provider, external_id);

CREATE TABLE rollbacks (
    id           integer PRIMARY KEY,
    incident_id  integer NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (key <> ''),
    plan         text NOT NULL CHECK (json_valid(plan) AND json_type(plan) = 'object'),
    -- The domain owns the rollback states; a new one needs no migration.
    status       text NOT NULL CHECK (status <> ''),
    requested_by text NOT NULL DEFAULT '',
    approved_by  text NOT NULL DEFAULT '',
    external_id  text NOT NULL DEFAULT '',
    url          text NOT NULL DEFAULT '',
    detail       text NOT NULL DEFAULT '',
    created_at   datetime NOT NULL,
    updated_at   datetime NOT NULL,
    -- One rollback per plan: a double-clicked confirm rolls back once.
    CONSTRAINT rollbacks_key_key UNIQUE (key)
);
CREATE INDEX rollbacks_incident_created_idx ON rollbacks (incident_id, created_at, id);

-- exports remembers where a postmortem went, so a re-export updates it. The
-- primary key also serves lookups by incident.
CREATE TABLE exports (
    incident_id integer NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target      text NOT NULL CHECK (target <> ''),
    external_id text NOT NULL DEFAULT '',
    url         text NOT NULL DEFAULT '',
    version     integer NOT NULL DEFAULT 0,
    exported_at datetime NOT NULL,
    PRIMARY KEY (incident_id, target)
);

-- +goose Down
DROP TABLE exports;
DROP TABLE rollbacks;
DROP TABLE pages;
ALTER TABLE incidents DROP COLUMN snoozed_until;
ALTER TABLE incidents DROP COLUMN nag_count;
ALTER TABLE incidents DROP COLUMN last_update_at;
