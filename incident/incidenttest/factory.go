// Package incidenttest holds test helpers for code built on package incident:
// an in-memory Store, a settable clock, factories with sensible defaults, and
// the conformance suite every Store implementation must pass.
package incidenttest

import (
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Epoch returns the time factories and NewClock use unless told otherwise: a
// fixed instant, so tests are repeatable.
func Epoch() time.Time { return time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC) }

// NewIncident returns an incident ready for Store.CreateIncident: a P2
// "checkout is down" declared by U0DECLARER at Epoch(), with no ID or Number.
// Each option edits it in order.
func NewIncident(opts ...func(*incident.Incident)) *incident.Incident {
	inc := &incident.Incident{
		Title:       "checkout is down",
		Description: "Customers see a 500 at the payment step.",
		Severity:    incident.P2,
		Status:      incident.StatusDeclared,
		Service:     "checkout",
		DeclaredBy:  "U0DECLARER",
		DeclaredAt:  Epoch(),
		UpdatedAt:   Epoch(),
	}
	for _, o := range opts {
		o(inc)
	}
	return inc
}

// NewTimelineEvent returns a note by U0AUTHOR at Epoch() for the incident.
func NewTimelineEvent(incidentID int64, opts ...func(*incident.TimelineEvent)) *incident.TimelineEvent {
	ev := &incident.TimelineEvent{
		IncidentID: incidentID,
		Kind:       incident.EventNote,
		Actor:      "U0AUTHOR",
		At:         Epoch(),
		Text:       "rolled back the last deploy",
	}
	for _, o := range opts {
		o(ev)
	}
	return ev
}

// NewChangeEvent returns a GitHub deploy of "checkout" at Epoch() with the
// given external id.
func NewChangeEvent(externalID string, opts ...func(*incident.ChangeEvent)) *incident.ChangeEvent {
	c := &incident.ChangeEvent{
		Source:      "github",
		ExternalID:  externalID,
		Kind:        incident.ChangeDeploy,
		Service:     "checkout",
		Summary:     "Deploy checkout@abc123 to production",
		Actor:       "octocat",
		URL:         "https://github.com/acme/checkout/deployments/" + externalID,
		Environment: "production",
		Ref:         "abc123",
		OccurredAt:  Epoch(),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewPage returns a triggered PagerDuty page of "checkout" for the incident,
// created at Epoch(), with the given dedup key (also its ExternalID, as
// Events v2 does).
func NewPage(incidentID int64, dedupKey string, opts ...func(*incident.Page)) *incident.Page {
	p := &incident.Page{
		IncidentID: incidentID,
		Provider:   "pagerduty",
		ExternalID: dedupKey,
		DedupKey:   dedupKey,
		Service:    "checkout",
		URL:        "https://acme.pagerduty.com/incidents/" + dedupKey,
		Status:     "triggered",
		Assignees:  []string{"Ada Lovelace"},
		CreatedAt:  Epoch(),
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// NewRollback returns a rollback awaiting approval, requested by U0IC, of a
// GitHub deploy of acme/checkout, with key as both Key and Plan.Key.
func NewRollback(incidentID int64, key string, opts ...func(*incident.Rollback)) *incident.Rollback {
	r := &incident.Rollback{
		IncidentID: incidentID,
		Key:        key,
		Plan: incident.RollbackPlan{
			Key:         key,
			Kind:        incident.ChangeDeploy,
			Source:      "github",
			Description: "Redeploy acme/checkout to production at 9f8e7d6 (from 1a2b3c4).",
			Repo:        "acme/checkout",
			Environment: "production",
			FromRef:     "1a2b3c4",
			ToRef:       "9f8e7d6",
			Method:      "workflow",
			Workflow:    "deploy.yml",
			ChangeID:    "github:d1",
		},
		Status:      incident.RollbackAwaitingApproval,
		RequestedBy: "U0IC",
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Clock is a settable incident.Clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t (Epoch() when t is zero).
func NewClock(t time.Time) *Clock {
	if t.IsZero() {
		t = Epoch()
	}
	return &Clock{now: t}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
