-- Each running bot process (job engine) records a heartbeat here every few
-- seconds. A job that River shows as running on an instance whose heartbeat
-- stopped is handed to a live instance at once, instead of waiting for
-- River's rescuer (job timeout plus its rescue window). seen_at_ms is the
-- database's clock in Unix milliseconds (it was each writer's own before the
-- engine stamped heartbeats in the database).

-- +goose Up
CREATE TABLE job_instances (
    id text PRIMARY KEY,
    seen_at_ms bigint NOT NULL,
    started_at_ms bigint NOT NULL,
    CONSTRAINT job_instances_id_length CHECK (char_length(id) > 0 AND char_length(id) < 128)
);

-- +goose Down
DROP TABLE job_instances;
