-- The web list and GET /api/v1/incidents read a page of incidents, newest
-- first, with LIMIT: through incidents_declared_at_idx, read backwards, or
-- with a severity through incidents_list_idx, the read stops once the page is
-- full. A service filter had no such index: the read walked every incident's
-- row, back to the first ever declared, to find a quiet service's few. This
-- one reads just that service's, newest first. Incidents are few rows (tens
-- of thousands after years), so building it holds writes back only briefly.

-- +goose Up
CREATE INDEX incidents_service_declared_at_idx ON incidents (service, declared_at, id);

-- +goose Down
DROP INDEX incidents_service_declared_at_idx;
