-- Leases: exclusive claims on a name that end by themselves (ADR 0029). A
-- status page post holds its incident's lease from the look for what an
-- earlier attempt posted to the record of the post, so two replicas never
-- post it at once; a holder killed mid-post blocks the others only until
-- expires_at_ms, the writer's clock in Unix milliseconds. A released lease
-- is deleted; one whose holder died is taken over in place.

-- +goose Up
CREATE TABLE leases (
    name          text PRIMARY KEY CHECK (name <> ''),
    holder        text NOT NULL CHECK (holder <> ''),
    expires_at_ms integer NOT NULL
);

-- +goose Down
DROP TABLE leases;
