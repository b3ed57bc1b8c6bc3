-- Alerts that matched a policy rule and what became of them, postmortem
-- reviews, and the record of follow-through notices already sent. The
-- conventions of 00001 hold: "none" is '', JSON is text checked by
-- json_valid, times are "datetime" written in UTC.

-- +goose Up

CREATE TABLE alerts (
    id          integer PRIMARY KEY,
    source      text NOT NULL CHECK (source <> ''),
    fingerprint text NOT NULL CHECK (fingerprint <> ''),
    status      text NOT NULL CHECK (status <> ''),
    title       text NOT NULL DEFAULT '',
    summary     text NOT NULL DEFAULT '',
    url         text NOT NULL DEFAULT '',
    labels      text NOT NULL DEFAULT '{}' CHECK (json_valid(labels) AND json_type(labels) = 'object'),
    rule        text NOT NULL DEFAULT '',
    service     text NOT NULL DEFAULT '',
    severity    integer NOT NULL CHECK (severity BETWEEN 1 AND 4),
    state       text NOT NULL CHECK (state <> ''),
    incident_id integer REFERENCES incidents (id) ON DELETE SET NULL,
    channel_id  text NOT NULL DEFAULT '',
    message_ts  text NOT NULL DEFAULT '',
    decided_by  text NOT NULL DEFAULT '',
    count       integer NOT NULL DEFAULT 1 CHECK (count >= 0),
    first_at    datetime NOT NULL,
    last_at     datetime NOT NULL,
    resolved_at datetime,
    CONSTRAINT alerts_source_fingerprint_key UNIQUE (source, fingerprint)
);
CREATE INDEX alerts_incident_idx ON alerts (incident_id, first_at, id) WHERE incident_id IS NOT NULL;

CREATE TABLE reviews (
    incident_id integer PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    state       text NOT NULL CHECK (state <> ''),
    due_on      datetime NOT NULL,
    owner       text NOT NULL DEFAULT '',
    updated_by  text NOT NULL DEFAULT '',
    created_at  datetime NOT NULL,
    updated_at  datetime NOT NULL
);
CREATE INDEX reviews_open_due_idx ON reviews (due_on) WHERE state <> 'published';

CREATE INDEX action_items_open_idx ON action_items (due_on, id) WHERE NOT done;

CREATE TABLE notices (
    key     text PRIMARY KEY CHECK (key <> ''),
    sent_at datetime NOT NULL
);

-- +goose Down
DROP TABLE notices;
DROP INDEX action_items_open_idx;
DROP TABLE reviews;
DROP TABLE alerts;
