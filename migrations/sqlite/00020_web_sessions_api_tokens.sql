-- The web view's sessions and the API's bearer tokens. Both store only the
-- SHA-256 of their secret, so the database alone signs nobody in.

-- +goose Up
CREATE TABLE web_sessions (
    id         text NOT NULL PRIMARY KEY CHECK (length(id) = 64),
    user_id    text NOT NULL CHECK (user_id <> ''),
    team_id    text NOT NULL CHECK (team_id <> ''),
    name       text NOT NULL DEFAULT '',
    csrf_token text NOT NULL CHECK (csrf_token <> ''),
    created_at datetime NOT NULL,
    expires_at datetime NOT NULL
);
-- PurgeSessions deletes by expiry.
CREATE INDEX web_sessions_expires_at_idx ON web_sessions (expires_at);

CREATE TABLE api_tokens (
    id           integer PRIMARY KEY,
    name         text NOT NULL CHECK (name <> ''),
    hash         text NOT NULL CHECK (length(hash) = 64),
    prefix       text NOT NULL DEFAULT '',
    scope        text NOT NULL CHECK (scope IN ('read', 'write')),
    act_as       text NOT NULL CHECK (act_as <> ''),
    created_by   text NOT NULL DEFAULT '',
    created_at   datetime NOT NULL,
    last_used_at datetime,
    revoked_at   datetime,
    CONSTRAINT api_tokens_hash_key UNIQUE (hash)
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE web_sessions;
