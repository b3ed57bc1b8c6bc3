-- An alert storm (one rule firing for many hosts or pods at once, each
-- its own alert) joins the first alert's proposal or incident instead of
-- opening one incident, and paging, per alert. Each alert keeps the alert
-- whose group it joined; 0 for one that leads its own, as every alert
-- that exists does.

-- +goose Up
ALTER TABLE alerts ADD COLUMN group_id bigint NOT NULL DEFAULT 0;
CREATE INDEX alerts_rule_idx ON alerts (rule, service, id) WHERE group_id = 0;

-- +goose Down
DROP INDEX alerts_rule_idx;
ALTER TABLE alerts DROP COLUMN group_id;
