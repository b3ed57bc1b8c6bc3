// Package pagerduty pages on-call responders through PagerDuty. It
// implements incident.Pager with the go-pagerduty SDK and receives
// PagerDuty's v3 webhooks.
//
// A service is paged through the REST API when the bot has a REST API token
// and the service has a PagerDuty service id: the incident is attributed to
// the declaring person (the From header) and comes back with an id, so it
// can be acknowledged as the person who clicked in Slack. A service that
// only has an Events API v2 routing key is paged with a trigger event
// instead, for teams that cannot hand the bot a REST token.
//
// Both paths are idempotent on PageRequest.DedupKey: it is the REST
// incident_key and the Events v2 dedup_key, and PagerDuty itself refuses (or
// merges) a second open incident with the same key, so a retried job never
// pages twice.
//
// Every request goes through the *http.Client the caller hands to New,
// normally from integrations/outbound, which owns timeouts, retries and the
// circuit breaker. This package turns PagerDuty's answers into domain
// errors: 429 into an error with RetryAfter (so durable jobs snooze), 5xx and
// timeouts into incident.EUNAVAILABLE, other 4xx into EINVALID, EFORBIDDEN or
// ENOTFOUND with PagerDuty's own message.
//
// The pdfake sub-package is an httptest server that behaves like the parts of
// PagerDuty used here, for tests and for the demo mode.
package pagerduty
