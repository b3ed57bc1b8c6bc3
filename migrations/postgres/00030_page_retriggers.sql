-- An acknowledgement from Slack is keyed by how many times PagerDuty put
-- the page back to triggered (an acknowledgement that timed out, or the
-- incident reopened): a click in a later round is a new acknowledgement,
-- not a double click. The count was read from the incident's whole
-- timeline on every click; it is kept on the page instead, counted from
-- the timeline once here for the pages that exist.

-- +goose Up
ALTER TABLE pages ADD COLUMN retriggers bigint NOT NULL DEFAULT 0 CHECK (retriggers >= 0);
UPDATE pages SET retriggers = (
    SELECT count(*) FROM timeline_events e
    WHERE e.incident_id = pages.incident_id AND e.kind = 'paged' AND e.actor = 'pagerduty'
      AND e.data->>'page' = pages.dedup_key AND e.data->>'event' IN ('unacknowledged', 'reopened'))
WHERE pages.dedup_key IS NOT NULL;

-- +goose Down
ALTER TABLE pages DROP COLUMN retriggers;
