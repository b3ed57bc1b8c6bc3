-- The incident tables. Empty optional text is stored as '' except where a
-- unique rule applies (declare_key, channel_id, source_id): there "none" is
-- NULL, because NULLs never collide in a unique index.
--
-- Timestamps are declared "datetime": the driver writes a time.Time as
-- "YYYY-MM-DD HH:MM:SS.fffffffff+00:00" (the store always passes UTC) and
-- parses columns declared DATE, DATETIME or TIMESTAMP back into a time.Time.
-- With one fixed offset that text also sorts in time order, so range queries
-- and ORDER BY work on it.

-- +goose Up

-- incident_counters hands out human incident numbers (INC-<n>); SQLite's
-- single writer makes the increment race-free, and a rolled-back declare
-- leaves no gap.
CREATE TABLE incident_counters (
    name  text PRIMARY KEY,
    value integer NOT NULL DEFAULT 0 CHECK (value >= 0)
);
INSERT INTO incident_counters (name, value) VALUES ('incident_number', 0);

CREATE TABLE incidents (
    id              integer PRIMARY KEY,
    number          integer NOT NULL CHECK (number > 0),
    title           text NOT NULL CHECK (title <> ''),
    description     text NOT NULL DEFAULT '',
    severity        integer NOT NULL CHECK (severity BETWEEN 1 AND 4),
    status          text NOT NULL CHECK (status IN ('declared', 'investigating', 'mitigated', 'resolved', 'closed')),
    service         text NOT NULL DEFAULT '',
    private         boolean NOT NULL DEFAULT false,
    declare_key     text CHECK (declare_key <> ''),
    declared_by     text NOT NULL DEFAULT '',
    commander       text NOT NULL DEFAULT '',
    roles           text NOT NULL DEFAULT '{}' CHECK (json_valid(roles) AND json_type(roles) = 'object'),
    channel_id      text CHECK (channel_id <> ''),
    channel_name    text NOT NULL DEFAULT '',
    panel_ts        text NOT NULL DEFAULT '',
    broadcast_channel text NOT NULL DEFAULT '',
    broadcast_ts    text NOT NULL DEFAULT '',
    summary         text NOT NULL DEFAULT '',
    declared_at     datetime NOT NULL,
    acknowledged_at datetime,
    mitigated_at    datetime,
    resolved_at     datetime,
    closed_at       datetime,
    updated_at      datetime NOT NULL,
    CONSTRAINT incidents_number_key UNIQUE (number),
    CONSTRAINT incidents_declare_key_key UNIQUE (declare_key),
    CONSTRAINT incidents_channel_id_key UNIQUE (channel_id)
);
-- ListIncidents: most severe first, then newest first.
CREATE INDEX incidents_list_idx ON incidents (severity, declared_at DESC, id DESC);

CREATE TABLE timeline_events (
    id          integer PRIMARY KEY,
    incident_id integer NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind <> ''),
    actor       text NOT NULL DEFAULT '',
    at          datetime NOT NULL,
    text        text NOT NULL DEFAULT '',
    key_event   boolean NOT NULL DEFAULT false,
    source_id   text CHECK (source_id <> ''),
    data        text NOT NULL DEFAULT '{}' CHECK (json_valid(data) AND json_type(data) = 'object'),
    -- Captured Slack messages are redelivered; the source id stores each once.
    CONSTRAINT timeline_events_source_key UNIQUE (incident_id, source_id)
);
CREATE INDEX timeline_events_incident_at_idx ON timeline_events (incident_id, at, id);

CREATE TABLE status_updates (
    id                integer PRIMARY KEY,
    incident_id       integer NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    author            text NOT NULL DEFAULT '',
    status            text NOT NULL CHECK (status IN ('declared', 'investigating', 'mitigated', 'resolved', 'closed')),
    text              text NOT NULL DEFAULT '',
    -- A Go time.Duration in nanoseconds, so it round-trips exactly.
    next_update_in_ns integer NOT NULL DEFAULT 0 CHECK (next_update_in_ns >= 0),
    posted_at         datetime NOT NULL
);
CREATE INDEX status_updates_incident_posted_idx ON status_updates (incident_id, posted_at, id);

CREATE TABLE action_items (
    id           integer PRIMARY KEY,
    incident_id  integer NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    text         text NOT NULL CHECK (text <> ''),
    owner        text NOT NULL DEFAULT '',
    due_on       datetime,
    done         boolean NOT NULL DEFAULT false,
    created_by   text NOT NULL DEFAULT '',
    created_at   datetime NOT NULL,
    external_url text NOT NULL DEFAULT ''
);
CREATE INDEX action_items_incident_created_idx ON action_items (incident_id, created_at, id);

CREATE TABLE change_events (
    id          integer PRIMARY KEY,
    source      text NOT NULL CHECK (source <> ''),
    external_id text NOT NULL CHECK (external_id <> ''),
    kind        text NOT NULL CHECK (kind <> ''),
    service     text NOT NULL DEFAULT '',
    summary     text NOT NULL DEFAULT '',
    actor       text NOT NULL DEFAULT '',
    url         text NOT NULL DEFAULT '',
    environment text NOT NULL DEFAULT '',
    ref         text NOT NULL DEFAULT '',
    occurred_at datetime NOT NULL,
    data        text NOT NULL DEFAULT '{}' CHECK (json_valid(data) AND json_type(data) = 'object'),
    CONSTRAINT change_events_source_external_id_key UNIQUE (source, external_id)
);
CREATE INDEX change_events_occurred_at_idx ON change_events (occurred_at);
CREATE INDEX change_events_service_occurred_at_idx ON change_events (service, occurred_at);

-- deliveries remembers inbound deliveries so a redelivery changes nothing.
CREATE TABLE deliveries (
    source      text NOT NULL CHECK (source <> ''),
    id          text NOT NULL CHECK (id <> ''),
    received_at datetime NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX deliveries_received_at_idx ON deliveries (received_at);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE change_events;
DROP TABLE action_items;
DROP TABLE status_updates;
DROP TABLE timeline_events;
DROP TABLE incidents;
DROP TABLE incident_counters;
