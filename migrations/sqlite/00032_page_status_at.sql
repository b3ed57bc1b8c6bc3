-- PagerDuty does not promise to deliver its webhooks in the order their
-- changes happened: a report delivered late (a redelivery after a failed
-- attempt) must not undo a later one. Each page keeps when, by
-- PagerDuty's clock, the change it last reported happened; none is known
-- for the pages that exist, so the first report after this sets it.

-- +goose Up
ALTER TABLE pages ADD COLUMN status_at datetime;

-- +goose Down
ALTER TABLE pages DROP COLUMN status_at;
